//! The build-alerts part of the demo.

pub async fn run() -> Result<(), String> {
    crate::scaffold("build-alerts").await
}
