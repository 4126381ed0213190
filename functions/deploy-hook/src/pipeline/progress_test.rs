use super::*;

#[test]
fn a_token_round_trips() {
    let mut p = Progress::new(1_000);
    p.invocations = 2;
    p.service_done = true;
    p.task_definition = Some("web:7".into());
    p.set_probe_summary("http://x/: 30 of 30 passed");
    let (back, note) = Progress::load(Some(&p.token()), 5_000);
    assert_eq!(back, p);
    assert!(note.is_none());
    assert_eq!(back.elapsed_s(61_000), 60);
}

#[test]
fn no_token_or_a_foreign_one_starts_over() {
    let (p, note) = Progress::load(None, 7);
    assert_eq!((p.started_ms, p.invocations, note), (7, 0, None));
    for foreign in [
        "nope",
        "{\"v\":2,\"startedMs\":1,\"invocations\":1}",
        "{\"v\":1,\"startedMs\":99,\"invocations\":1}",
    ] {
        let (p, note) = Progress::load(Some(foreign), 50);
        assert_eq!(p.started_ms, 50);
        assert!(note.unwrap().contains("starts over"), "{foreign}");
    }
}

#[test]
fn the_token_stays_within_the_limit() {
    let mut p = Progress::new(1);
    p.task_definition = Some("x".repeat(3_000));
    p.set_probe_summary(&"y".repeat(3_000));
    assert!(p.token().chars().count() <= TOKEN_MAX);
}
