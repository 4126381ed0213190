//! The one pagination loop of the adapters (and of their twins): pages are fetched while
//! the service hands out a next token, but never more than a fixed number of pages, so a
//! service that keeps answering empty pages with a token (or the same token again) cannot
//! keep an invocation looping until its timeout.

use std::future::Future;

use codehooks::Result;
use tracing::warn;

/// Pages of a pull request's comments read at most per search (100 comments a page).
pub const MAX_COMMENT_PAGES: usize = 20;

/// Builds listed a page by CodeBuild's `ListBuildsForProject`.
pub const BUILDS_PER_PAGE: usize = 100;

/// Pages read at most to list `limit` items of `per_page` a page: enough full pages, and two
/// more for empty or short pages.
pub fn pages_for(limit: usize, per_page: usize) -> usize {
    limit.div_ceil(per_page.max(1)) + 2
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The token of the next page; `None` or empty on the last page.
    pub next: Option<String>,
}

/// Collects the items of at most `max_pages` pages (and at most `limit` items), fetching
/// each page with the token the previous one returned. It stops early at the last page,
/// at a token seen before, and when `limit` items are collected.
pub async fn collect<T, F, Fut>(
    operation: &'static str,
    max_pages: usize,
    limit: usize,
    mut fetch: F,
) -> Result<Vec<T>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<T>>>,
{
    let mut items = Vec::new();
    let mut token: Option<String> = None;
    let mut seen: Vec<String> = Vec::new();
    for page in 0..max_pages {
        let p = fetch(token.take()).await?;
        items.extend(p.items);
        if items.len() >= limit {
            items.truncate(limit);
            return Ok(items);
        }
        match p.next {
            Some(t) if !t.is_empty() => {
                if seen.contains(&t) {
                    warn!(
                        operation,
                        page, "the service repeated a page token; listing stopped"
                    );
                    return Ok(items);
                }
                seen.push(t.clone());
                token = Some(t);
            }
            _ => return Ok(items),
        }
    }
    warn!(
        operation,
        max_pages,
        items = items.len(),
        "more pages than the function reads; listing cut"
    );
    Ok(items)
}

#[cfg(test)]
#[path = "paging_test.rs"]
mod tests;
