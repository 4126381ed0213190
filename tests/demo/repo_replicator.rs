//! The repo-replicator part of the demo.

pub async fn run() -> Result<(), String> {
    crate::scaffold("repo-replicator").await
}
