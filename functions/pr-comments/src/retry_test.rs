//! Unit tests of `retry.rs`: which comment bodies are commands.

use super::*;

#[test]
fn only_the_whole_body_is_a_command() {
    assert_eq!(command("/codehooks retry"), Some(Command::Failed));
    assert_eq!(command("  /CODEHOOKS Retry\n"), Some(Command::Failed));
    assert_eq!(
        command("/codehooks retry  unit-tests\t"),
        Some(Command::Check("unit-tests".into()))
    );
    for other in [
        "",
        "/codehooks",
        "/codehooks retryunit",
        "/codehooks retry unit tests",
        "/codehooks retry unit\nthanks",
        "please /codehooks retry",
        "/codehooks  retry",
        "/codehooks retry `unit`",
        "/codehooks retry -unit",
        "/codehooks retryé",
    ] {
        assert_eq!(command(other), None, "{other:?}");
    }
}
