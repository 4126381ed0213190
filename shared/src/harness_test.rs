use super::*;
use serde_json::json;

/// A function that answers with what the event asks for.
struct Echo {
    degraded: bool,
}

#[derive(Serialize)]
struct Answer {
    outcome: String,
    degraded: bool,
}

impl Outcome for Answer {
    fn label(&self) -> &str {
        &self.outcome
    }
}

impl Function for Echo {
    const NAME: &'static str = "echo";
    type Config = u64;
    type Output = Answer;

    fn read_config(env: &mut Env<'_>) -> u64 {
        env.u64_in("ECHO_LIMIT", 5, 1..=10)
    }

    fn build(_common: &Common, _config: u64, _sdk: &SdkConfig) -> Self {
        Echo { degraded: false }
    }

    fn handle(&self, event: LambdaEvent<Value>) -> impl Future<Output = Result<Answer>> {
        let degraded = self.degraded;
        async move {
            match event.payload["say"].as_str() {
                Some(s) => Ok(Answer {
                    outcome: s.to_owned(),
                    degraded,
                }),
                None => Err(Error::bad_input("say is missing")),
            }
        }
    }
}

/// The same function with a degraded mode.
struct Tolerant(Echo);

impl Function for Tolerant {
    const NAME: &'static str = "tolerant";
    type Config = u64;
    type Output = Answer;
    fn read_config(env: &mut Env<'_>) -> u64 {
        Echo::read_config(env)
    }
    fn build(common: &Common, config: u64, sdk: &SdkConfig) -> Self {
        Tolerant(Echo::build(common, config, sdk))
    }
    fn degraded(
        _common: &Common,
        _config: u64,
        _error: ConfigError,
        _sdk: &SdkConfig,
    ) -> std::result::Result<Self, ConfigError> {
        Ok(Tolerant(Echo { degraded: true }))
    }
    fn handle(&self, event: LambdaEvent<Value>) -> impl Future<Output = Result<Answer>> {
        self.0.handle(event)
    }
}

fn event(payload: Value) -> LambdaEvent<Value> {
    LambdaEvent::new(payload, lambda_runtime::Context::default())
}

fn sdk() -> SdkConfig {
    SdkConfig::builder().build()
}

fn lookup(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    }
}

#[tokio::test]
async fn the_answer_is_the_serialized_outcome() {
    let (common, f) = build::<Echo>(lookup(&[]), &sdk()).unwrap();
    let v = invoke(&f, &common, event(json!({"say": "published"})))
        .await
        .unwrap();
    assert_eq!(v, json!({"outcome": "published", "degraded": false}));
}

#[tokio::test]
async fn errors_pass_through_with_their_kind() {
    let (common, f) = build::<Echo>(lookup(&[]), &sdk()).unwrap();
    let e = invoke(&f, &common, event(json!({}))).await.unwrap_err();
    assert_eq!(e.kind(), "BadInput");
}

#[test]
fn every_problem_is_reported_together() {
    let e = build::<Echo>(
        lookup(&[("ECHO_LIMIT", "99"), ("AWS_MAX_ATTEMPTS", "0")]),
        &sdk(),
    )
    .err()
    .unwrap();
    let vars: Vec<&str> = e.problems.iter().map(|p| p.variable.as_str()).collect();
    assert_eq!(vars, ["AWS_MAX_ATTEMPTS", "ECHO_LIMIT"]);
}

#[tokio::test]
async fn a_degraded_mode_serves_despite_a_bad_configuration() {
    let (common, f) = build::<Tolerant>(lookup(&[("ECHO_LIMIT", "x")]), &sdk()).unwrap();
    let v = invoke(&f, &common, event(json!({"say": "failed"})))
        .await
        .unwrap();
    assert_eq!(v["degraded"], json!(true));
}

#[test]
fn long_answers_are_cut_in_the_summary() {
    let v = json!({"x": "é".repeat(3000)});
    let s = summary(&v);
    assert!(s.len() < 2100 && s.ends_with("bytes)"), "{}", s.len());
}
