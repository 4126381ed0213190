//! Unit tests of `emf.rs`.

use super::*;

#[test]
fn record_follows_the_emf_specification() {
    let mut m = Metrics::new("codehooks", "deploy-hook");
    m.dimension("Decision", "Failed")
        .millis("DurationMs", 812.0)
        .count("Probes", 40.0)
        .metric("SuccessRate", Unit::Percent, 97.5)
        .property("deploymentId", "d-ABCDEFGHI");
    let v: Value = serde_json::from_str(&m.to_line(1_700_000_000_000)).unwrap();
    assert_eq!(v["Function"], "deploy-hook");
    assert_eq!(v["Decision"], "Failed");
    assert_eq!(v["DurationMs"], 812.0);
    assert_eq!(v["deploymentId"], "d-ABCDEFGHI");
    let aws = &v["_aws"];
    assert_eq!(aws["Timestamp"], 1_700_000_000_000u64);
    let cwm = &aws["CloudWatchMetrics"][0];
    assert_eq!(cwm["Namespace"], "codehooks");
    assert_eq!(
        cwm["Dimensions"],
        serde_json::json!([["Function", "Decision"]])
    );
    assert_eq!(
        cwm["Metrics"][0],
        serde_json::json!({"Name": "DurationMs", "Unit": "Milliseconds"})
    );
    assert_eq!(cwm["Metrics"][2]["Unit"], "Percent");
    // Every declared metric and dimension has its value at the root.
    for d in cwm["Metrics"].as_array().unwrap() {
        assert!(v[d["Name"].as_str().unwrap()].is_number());
    }
}

#[test]
fn drops_non_finite_values_and_replaces_repeats() {
    let mut m = Metrics::new("ns", "f");
    m.count("A", f64::NAN).count("B", 1.0).count("B", 2.0);
    m.dimension("Function", "g");
    let v: Value = serde_json::from_str(&m.to_line(0)).unwrap();
    assert!(v.get("A").is_none());
    assert_eq!(v["B"], 2.0);
    assert_eq!(v["Function"], "g");
    assert_eq!(
        v["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn respects_emf_limits() {
    let mut m = Metrics::new("ns", "f");
    for i in 0..150 {
        m.count(&format!("M{i}"), 1.0);
        m.dimension(&format!("D{i}"), "x");
    }
    let v: Value = serde_json::from_str(&m.to_line(0)).unwrap();
    let cwm = &v["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(cwm["Metrics"].as_array().unwrap().len(), 100);
    assert_eq!(cwm["Dimensions"][0].as_array().unwrap().len(), 30);
}

#[test]
fn properties_are_written_once_and_not_declared() {
    let mut m = Metrics::new("ns", "f");
    m.count("Probes", 3.0)
        .property("attempt", 2)
        .property("ratio", -0.5)
        .property("dryRun", true)
        .property("ids", serde_json::json!(["a", "b"]))
        .property("Probes", "shadowed by the metric")
        .property("Function", "shadowed by the dimension")
        .property("_aws", "never written");
    let line = m.to_line(0);
    assert!(!line.contains('\n'));
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["attempt"], 2);
    assert_eq!(v["ratio"], -0.5);
    assert_eq!(v["dryRun"], "true");
    assert_eq!(v["ids"], r#"["a","b"]"#);
    assert_eq!(v["Probes"], 3);
    assert_eq!(v["Function"], "f");
    assert!(v["_aws"].is_object());
    let declared = &v["_aws"]["CloudWatchMetrics"][0]["Metrics"];
    assert_eq!(
        declared,
        &serde_json::json!([{"Name": "Probes", "Unit": "Count"}])
    );
}
