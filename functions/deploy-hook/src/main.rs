#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    codehooks::harness::run::<deploy_hook::App>().await
}
