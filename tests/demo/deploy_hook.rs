//! The deploy-hook part of the demo.

pub async fn run() -> Result<(), String> {
    crate::scaffold("deploy-hook").await
}
