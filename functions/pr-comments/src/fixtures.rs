//! What the unit tests of pr-comments share: the people and commits of their pull request.

/// The function's own identity (its role session).
pub const ME: &str = "arn:aws:sts::123456789012:assumed-role/pr-role/pr-comments";
/// Who opened the pull request.
pub const AUTHOR: &str = "arn:aws:sts::123456789012:assumed-role/Developer/alice";
/// Somebody with no say over the pull request.
pub const STRANGER: &str = "arn:aws:iam::123456789012:user/mallory";
/// A role allowed to ask for re-runs when the test lists it.
pub const RELEASE: &str = "arn:aws:sts::123456789012:assumed-role/release/ci";
/// The pull request's first source commit.
pub const A: &str = "4c3a9e0f1b2d5c6e7f8091a2b3c4d5e6f7a8b9c0";
/// A later source commit.
pub const B: &str = "9d8c7b6a5f4e3d2c1b0a99887766554433221100";
/// The destination branch's commit.
pub const DEST: &str = "1f2e3d4c5b6a79880716253443526170f8e9dacb";
