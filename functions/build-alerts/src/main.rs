#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    codehooks::harness::run::<build_alerts::App>().await
}
