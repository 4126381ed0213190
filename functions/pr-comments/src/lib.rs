//! `pr-comments`: placeholder until the function is implemented.

use codehooks::config::{Common, Env};
use codehooks::{Error, Result};
use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};

/// The function's configuration and clients, built once per execution environment.
#[derive(Debug)]
pub struct App {
    pub common: Common,
}

impl App {
    /// Reads and validates the configuration.
    pub async fn from_env() -> Result<Self> {
        let mut env = Env::from_process();
        let common = Common::read(&mut env);
        env.finish()?;
        Ok(Self { common })
    }

    /// Handles one invocation.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value> {
        tracing::info!(function = "pr-comments", "invoked");
        let _ = event;
        Err(Error::bad_input("pr-comments does not handle any event yet"))
    }
}

/// The function's name, as the demo and logs show it.
pub const NAME: &str = "pr-comments";

/// A one-line description of what the function does.
pub fn describe() -> Value {
    json!({"function": NAME, "status": "scaffold"})
}
