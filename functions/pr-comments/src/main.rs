#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    codehooks::harness::run::<pr_comments::App>().await
}
