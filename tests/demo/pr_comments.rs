//! The pr-comments part of the demo.

pub async fn run() -> Result<(), String> {
    crate::scaffold("pr-comments").await
}
