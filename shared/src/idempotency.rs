//! Deterministic idempotency keys.
//!
//! AWS APIs that accept a client token (CodeBuild `StartBuild`'s `idempotencyToken`,
//! CodeCommit's `clientRequestToken`) do nothing twice when they see the same token again.
//! A key derived from what the call is about (the EventBridge event id, the lifecycle hook
//! execution id, or the repository, pull request, commit and build a comment is about) makes
//! a redelivered event repeat the same call with the same token, and so change nothing twice.

use sha2::{Digest, Sha256};

/// A key of 64 lowercase hex characters from `scope` and `parts`.
///
/// Parts are length-prefixed before hashing, so `["ab", "c"]` and `["a", "bc"]` differ.
/// `scope` names the use (for example `pr-comments/start-build`), so one event gives
/// different keys for different calls.
pub fn key(scope: &str, parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in std::iter::once(&scope).chain(parts.iter()) {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
    }
    hex(&h.finalize())
}

/// A key for an event delivered by EventBridge: its `id` is the same on every delivery.
pub fn event_key(scope: &str, event_id: &str) -> String {
    key(scope, &[event_id])
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_and_distinct() {
        let a = key("scope", &["ab", "c"]);
        assert_eq!(a, key("scope", &["ab", "c"]));
        assert_eq!(a.len(), 64);
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_ne!(a, key("scope", &["a", "bc"]));
        assert_ne!(a, key("other", &["ab", "c"]));
        assert_ne!(event_key("x", "1"), event_key("y", "1"));
    }

    #[test]
    fn known_vector() {
        // sha256 of (u64 len 1, "s") without parts, computed independently.
        assert_eq!(
            key("s", &[]),
            "5cdb4a38438cecd2bd30f7dc699391eab6d9016fb309fc48e63ba21ce7218ae6"
        );
    }

    #[test]
    fn hex_encodes() {
        assert_eq!(hex(&[0x00, 0xab, 0xff]), "00abff");
    }
}
