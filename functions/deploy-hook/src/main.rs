use lambda_runtime::{run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    codehooks::logging::init();
    // An invalid configuration is logged here and still serves: every hook is reported Failed.
    let service = deploy_hook::Service::from_env().await;
    run(service_fn(|event| service.handle(event))).await
}
