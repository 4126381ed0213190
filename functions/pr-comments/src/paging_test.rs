//! Unit tests of `paging.rs`.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

#[tokio::test]
async fn empty_pages_that_carry_a_token_end_after_the_cap() {
    let calls = AtomicUsize::new(0);
    let items: Vec<u32> = collect("List", 5, 100, |_| {
        let n = calls.fetch_add(1, Ordering::SeqCst);
        async move {
            Ok(Page {
                items: vec![],
                next: Some(format!("t-{n}")),
            })
        }
    })
    .await
    .unwrap();
    assert!(items.is_empty());
    assert_eq!(calls.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn a_repeated_token_ends_the_listing() {
    let calls = AtomicUsize::new(0);
    let items: Vec<u32> = collect("List", 50, 100, |_| {
        calls.fetch_add(1, Ordering::SeqCst);
        async move {
            Ok(Page {
                items: vec![1],
                next: Some("same".to_owned()),
            })
        }
    })
    .await
    .unwrap();
    assert_eq!(items, [1, 1]);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn tokens_are_passed_on_and_the_limit_is_kept() {
    let seen = std::sync::Mutex::new(Vec::new());
    let items: Vec<usize> = collect("List", 50, 7, |t| {
        let n = {
            let mut s = seen.lock().unwrap();
            s.push(t.clone());
            s.len()
        };
        async move {
            Ok(Page {
                items: vec![n; 3],
                next: Some(format!("p{n}")),
            })
        }
    })
    .await
    .unwrap();
    assert_eq!(items, [1, 1, 1, 2, 2, 2, 3]);
    assert_eq!(
        *seen.lock().unwrap(),
        [None, Some("p1".to_owned()), Some("p2".to_owned())]
    );
    let last: Vec<u8> = collect("List", 50, 7, |_| async {
        Ok(Page {
            items: vec![9],
            next: Some(String::new()),
        })
    })
    .await
    .unwrap();
    assert_eq!(last, [9]);
}
