//! Unit tests of `load.rs`, against a small HTTP/1.1 server on a local port.

use super::*;

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::checks::Checks;
use crate::policy::Hook;
use crate::probe::Endpoint;

/// How the local server answers.
#[derive(Clone, Copy)]
enum Answer {
    /// This status, a short body.
    Status(u16),
    /// 200 with a body far larger than anyone reads, written until the peer goes away.
    Huge,
    /// Reads the request and never answers.
    Silent,
}

/// What the server saw.
#[derive(Default)]
struct Seen {
    requests: AtomicU64,
    lines: Mutex<Vec<String>>,
}

/// Starts the server; returns its origin and what it sees.
async fn server(answer: Answer) -> (String, Arc<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Seen::default());
    let counted = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let seen = Arc::clone(&counted);
            tokio::spawn(async move {
                let (r, mut w) = stream.into_split();
                let mut r = BufReader::new(r);
                let mut first = true;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    if first {
                        seen.lines.lock().unwrap().push(line.trim_end().to_owned());
                        first = false;
                    }
                    if line != "\r\n" {
                        continue;
                    }
                    first = true;
                    seen.requests.fetch_add(1, Ordering::SeqCst);
                    match answer {
                        Answer::Status(code) => {
                            let head = format!("HTTP/1.1 {code} X\r\nContent-Length: 2\r\n\r\nok");
                            if w.write_all(head.as_bytes()).await.is_err() {
                                return;
                            }
                        }
                        Answer::Huge => {
                            let head = "HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n";
                            if w.write_all(head.as_bytes()).await.is_err() {
                                return;
                            }
                            let chunk = vec![b'x'; 256 * 1024];
                            while w.write_all(&chunk).await.is_ok() {}
                            return;
                        }
                        Answer::Silent => {
                            tokio::time::sleep(Duration::from_secs(60)).await;
                            return;
                        }
                    }
                }
            });
        }
    });
    (origin, seen)
}

/// A client shaped like the probes' (their timeout is longer than the load's).
fn client(origin: &str) -> reqwest::Client {
    let e = Endpoint {
        origin: origin.to_owned(),
        resolve: None,
        connect_to: origin.to_owned(),
    };
    crate::probe::client(&Checks::defaults(Hook::AfterAllowTestTraffic), &e).unwrap()
}

fn after(ms: u64) -> Instant {
    Instant::now() + Duration::from_millis(ms)
}

#[tokio::test]
async fn the_rate_is_kept_and_the_query_is_sent() {
    let (origin, seen) = server(Answer::Status(200)).await;
    let query = vec![
        ("canary".to_owned(), "a b".to_owned()),
        ("x".to_owned(), "1".to_owned()),
    ];
    let url = format!("{origin}/health");
    let r = run(&client(&origin), &url, &query, 20, after(1_000)).await;
    assert!((15..=25).contains(&r.sent), "{r:?}");
    assert_eq!(r.rps, 20);
    assert_eq!(r.answered, r.sent, "{r:?}");
    assert_eq!(r.errors, 0, "{r:?}");
    assert_eq!(r.skipped, 0, "{r:?}");
    assert_eq!(seen.requests.load(Ordering::SeqCst), r.sent);
    let lines = seen.lines.lock().unwrap();
    assert!(
        lines
            .iter()
            .all(|l| l == "GET /health?canary=a%20b&x=1 HTTP/1.1"),
        "{lines:?}"
    );
}

#[tokio::test]
async fn answers_5xx_are_errors_4xx_are_not() {
    let (origin, _) = server(Answer::Status(503)).await;
    let r = run(&client(&origin), &origin, &[], 10, after(500)).await;
    assert!(r.sent >= 3, "{r:?}");
    assert_eq!(r.answered, r.sent, "{r:?}");
    assert_eq!(r.errors, r.sent, "{r:?}");

    let (origin, _) = server(Answer::Status(404)).await;
    let r = run(&client(&origin), &origin, &[], 10, after(500)).await;
    assert!(r.sent >= 3, "{r:?}");
    assert_eq!((r.answered, r.errors), (r.sent, 0), "{r:?}");
}

#[tokio::test]
async fn a_huge_body_is_read_in_part_and_dropped() {
    let (origin, _) = server(Answer::Huge).await;
    let r = run(&client(&origin), &origin, &[], 10, after(500)).await;
    assert!(r.sent >= 3, "{r:?}");
    assert_eq!((r.answered, r.errors), (r.sent, 0), "{r:?}");
}

#[tokio::test]
async fn an_unreachable_port_is_errors_and_the_deadline_holds() {
    let origin = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let began = std::time::Instant::now();
    let r = run(&client(&origin), &origin, &[], 10, after(500)).await;
    assert!(began.elapsed() < Duration::from_millis(800), "{r:?}");
    assert!(r.sent >= 3, "{r:?}");
    assert_eq!(r.answered, 0, "{r:?}");
    assert_eq!(r.errors, r.sent, "{r:?}");
}

#[tokio::test]
async fn a_server_that_never_answers_neither_holds_the_load_nor_gets_more_than_rps_in_flight() {
    let (origin, seen) = server(Answer::Silent).await;
    let began = std::time::Instant::now();
    // Ticks at 0, 250, 500, 750 and 1000 ms: four slots, then none free.
    let r = run(&client(&origin), &origin, &[], 4, after(1_100)).await;
    assert!(began.elapsed() < Duration::from_millis(1_400), "{r:?}");
    assert!(r.ms <= 1_400, "{r:?}");
    assert_eq!(r.sent, 4, "{r:?}");
    assert_eq!(r.skipped, 1, "{r:?}");
    assert_eq!((r.answered, r.errors), (0, 4), "{r:?}");
    assert_eq!(seen.requests.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn no_rate_or_no_time_sends_nothing() {
    let (origin, seen) = server(Answer::Status(200)).await;
    let began = std::time::Instant::now();
    let r = run(&client(&origin), &origin, &[], 0, after(1_000)).await;
    assert_eq!(r, LoadReport::default());
    let r = run(&client(&origin), &origin, &[], 5, Instant::now()).await;
    assert_eq!(
        r,
        LoadReport {
            rps: 5,
            ..LoadReport::default()
        }
    );
    assert!(began.elapsed() < Duration::from_millis(100));
    assert_eq!(seen.requests.load(Ordering::SeqCst), 0);
}

#[test]
fn the_period_is_never_zero() {
    assert_eq!(period(1), Duration::from_secs(1));
    assert_eq!(period(20), Duration::from_millis(50));
    assert_eq!(period(1_000), Duration::from_millis(1));
    assert!(!period(u32::MAX).is_zero());
    assert!(!period(0).is_zero());
}

#[test]
fn outcomes_are_counted() {
    let mut r = LoadReport::default();
    r.record(Ok(Outcome::Answered(200)));
    r.record(Ok(Outcome::Answered(404)));
    r.record(Ok(Outcome::Answered(500)));
    r.record(Ok(Outcome::Answered(599)));
    r.record(Ok(Outcome::NoAnswer));
    assert_eq!((r.answered, r.errors), (4, 3));
}
