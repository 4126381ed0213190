//! Property tests of the shared rules: the parsers of untrusted input (the
//! EventBridge envelope, CodeBuild's build event, the build's pull request variables, ARNs,
//! names) never panic and accept exactly what their rules say, and every limit holds on any
//! input (`text::cut`, the SNS subject, the 256 KB message with its links kept whole).
//!
//! Each property states its case count in its `ProptestConfig`; the whole file runs in a few
//! seconds. A failure prints the input proptest shrank it to.

use std::collections::BTreeMap;

use codehooks::alert::{Alert, MAX_ATTRIBUTES, MESSAGE_LIMIT, Severity};
use codehooks::arn::{Arn, PARTITIONS, Partition};
use codehooks::events::EventBridgeEvent;
use codehooks::names::{AccountId, CommitId, Region, RepositoryName};
use codehooks::prbuild::{BuildDetail, BuildLink, BuildStatus, vars};
use codehooks::text;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

#[path = "support/generators.rs"]
mod generators;
use generators::*;

const SAMPLES: [&str; 6] = [
    include_str!("../../events/pr-comments-build-failed.json"),
    include_str!("../../events/pr-comments-build-in-progress.json"),
    include_str!("../../events/build-alerts-codebuild-failed.json"),
    include_str!("../../events/build-alerts-codebuild-pull-request-failed.json"),
    include_str!("../../events/build-alerts-codedeploy-failure.json"),
    include_str!("../../events/pr-comments-pull-request-created.json"),
];

fn near_valid_event() -> impl Strategy<Value = Value> {
    (0..SAMPLES.len(), edits()).prop_map(|(i, e)| mutate(sample(SAMPLES[i]), &e))
}

// ---------------------------------------------------------------------------------------------
// Independent statements of the name rules (written from AWS's documentation, not the code).
// ---------------------------------------------------------------------------------------------

fn spec_region(s: &str) -> bool {
    // lowercase words joined by '-', at least two of them, then '-' and one or two digits.
    let Some((words, number)) = s.rsplit_once('-') else {
        return false;
    };
    s.len() <= 25
        && (1..=2).contains(&number.len())
        && number.chars().all(|c| c.is_ascii_digit())
        && words.split('-').count() >= 2
        && words
            .split('-')
            .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase()))
}

fn spec_repository(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-')
        && !s.ends_with(".git")
        && s != "."
        && s != ".."
}

fn name_like() -> impl Strategy<Value = String> {
    prop_oneof![
        awkward_text(),
        "[a-zA-Z0-9._/ -]{0,104}",
        "[a-zA-Z0-9._-]{0,98}(\\.git)?",
        "\\.{1,3}",
        "[a-z]{0,6}(-[a-z]{0,6}){0,3}-[0-9]{0,3}",
        "[0-9]{10,14}",
        "[0-9a-fA-FgG]{39,41}",
    ]
}

fn arb_alert() -> impl Strategy<Value = Alert> {
    let pairs = || prop::collection::vec((awkward_text(), awkward_text()), 0..5);
    let url = "https://[a-z0-9.]{1,30}/[a-zA-Z0-9/?=&%._~-]{0,300}";
    (
        (
            awkward_text(),
            awkward_text(),
            awkward_text(),
            awkward_text(),
            awkward_text(),
            awkward_text(),
            awkward_text(),
            awkward_text(),
        ),
        (
            prop::collection::vec(awkward_text(), 0..4),
            pairs(),
            pairs(),
            prop::collection::vec(("[a-zA-Z ]{1,20}", url), 0..6),
            pairs(),
            prop::sample::select(vec![Severity::Error, Severity::Warning, Severity::Info]),
            prop::collection::btree_map("[a-z]{1,8}", arb_json(), 0..3),
        ),
    )
        .prop_map(
            |(
                (source, what, name, state, region, reference, prefix, headline),
                (reasons, facts, sections, links, extra, severity, data),
            )| Alert {
                source,
                what,
                name,
                state,
                severity,
                region,
                account: "123456789012".into(),
                reference,
                subject_prefix: prefix,
                headline,
                reasons,
                facts,
                sections,
                links,
                next_steps: vec!["Open the logs.".into()],
                thread_id: "thread".into(),
                event_type: "CodeBuildBuildFailed".into(),
                event_id: "id".into(),
                sender: "codehooks tests".into(),
                extra_attributes: extra,
                data: data.into_iter().collect::<Map<String, Value>>(),
                ..Alert::default()
            },
        )
}

fn subject_ok(s: &str) -> bool {
    !s.is_empty() && s.chars().count() < 100 && s.chars().all(|c| c.is_ascii_graphic() || c == ' ')
}

// ---------------------------------------------------------------------------------------------
// Properties.
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(cases(256))]

    /// The envelope parser never panics, and whatever it accepts reads back to itself.
    #[test]
    fn envelope_never_panics_and_round_trips(v in prop_oneof![arb_json(), near_valid_event()]) {
        if let Ok(ev) = EventBridgeEvent::parse(v.clone()) {
            let again = serde_json::to_value(&ev).map(EventBridgeEvent::parse);
            prop_assert!(matches!(again, Ok(Ok(ref e)) if *e == ev));
        }
    }

    /// An envelope with string id, detail-type and source and any detail is accepted,
    /// whatever the optional fields hold when they have the right type.
    #[test]
    fn envelope_accepts_every_well_typed_event(
        id in awkward_text(), detail_type in awkward_text(), source in awkward_text(),
        region in awkward_text(), resources in prop::collection::vec(awkward_text(), 0..3),
        detail in arb_json(),
    ) {
        let v = json!({"id": id, "detail-type": detail_type, "source": source,
                       "region": region, "resources": resources, "detail": detail});
        let ev = EventBridgeEvent::parse(v);
        prop_assert!(ev.is_ok(), "{ev:?}");
    }

    /// CodeBuild's build event: reading the detail and everything derived from it never
    /// panics; a link it yields passes every check; numbers are sane.
    #[test]
    fn build_event_never_panics(v in prop_oneof![near_valid_event(), arb_json()]) {
        let Ok(ev) = EventBridgeEvent::parse(v) else { return Ok(()) };
        let Ok(d) = ev.detail_as::<BuildDetail>() else { return Ok(()) };
        let _ = d.status();
        let _ = d.duration_seconds();
        if let Some(n) = d.build_number() {
            prop_assert!(n < 1_000_000_000_000_000);
        }
        prop_assert!(d.build_id.ends_with(d.build_uuid()));
        for p in &d.additional_information.phases {
            for m in p.context_messages() {
                prop_assert!(!m.trim_matches(|c: char| c == ':' || c.is_whitespace()).is_empty());
            }
            let _ = p.duration_seconds();
        }
        if let Ok(Some(link)) = d.link() {
            prop_assert!(codehooks::names::is_repository_name(&link.repository));
            prop_assert!(codehooks::names::is_commit_id(&link.source_commit));
            prop_assert!(codehooks::names::is_commit_id(&link.destination_commit));
            prop_assert!(!link.pull_request_id.is_empty()
                && link.pull_request_id.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    /// The pull request variables: `from_vars(to_vars(link))` is the link for every valid
    /// link, and arbitrary pairs never panic.
    #[test]
    fn build_link_round_trips(
        id in "[0-9]{1,20}", repo in "[a-zA-Z0-9_-]{1,60}", src in "[0-9a-f]{40}",
        dst in "[0-9a-f]{40}", rev in "[a-zA-Z0-9-]{1,128}",
        src_ref in prop::option::of(awkward_text()), dst_ref in prop::option::of(awkward_text()),
        noise in prop::collection::vec((prop::sample::select(vars::ALL.to_vec()),
                                        prop::option::of(awkward_text())), 0..8),
    ) {
        let link = BuildLink {
            pull_request_id: id, repository: repo, source_commit: src, destination_commit: dst,
            revision_id: rev, source_reference: src_ref, destination_reference: dst_ref,
        };
        let pairs = link.to_vars();
        let back = BuildLink::from_vars(pairs.iter().map(|(k, v)| (*k, Some(v.as_str()))));
        prop_assert_eq!(back.ok().flatten(), Some(link));
        let _ = BuildLink::from_vars(noise.iter().map(|(k, v)| (*k, v.as_deref())));
    }

    /// A status reads back to itself; anything else is `None`.
    #[test]
    fn build_status_parse_is_exact(s in prop_oneof![awkward_text(),
            prop::sample::select(vec!["IN_PROGRESS", "SUCCEEDED", "FAILED", "FAULT",
                                      "TIMED_OUT", "STOPPED", "failed"]).prop_map(String::from)]) {
        if let Some(st) = BuildStatus::parse(&s) {
            prop_assert_eq!(st.as_str(), s.as_str());
        }
    }

    /// `text::cut` never exceeds its limit and keeps text that fits.
    #[test]
    fn cut_never_exceeds_its_limit(s in awkward_text(), max in 0usize..3000) {
        let out = text::cut(&s, max);
        prop_assert!(out.chars().count() <= max);
        if s.chars().count() <= max {
            prop_assert_eq!(out, s);
        } else {
            let head = out.split(" [... ").next().unwrap_or_default();
            prop_assert!(s.starts_with(head));
        }
    }

    /// One line: no line break or control character, no double space, trimmed.
    #[test]
    fn one_line_is_one_line(s in awkward_text()) {
        let out = text::one_line(&s);
        prop_assert!(!out.chars().any(|c| c.is_control() || (c.is_whitespace() && c != ' ')));
        prop_assert!(!out.contains("  "));
        prop_assert_eq!(out.trim(), out.as_str());
    }

    /// `middle_cut` never exceeds its limit; `ascii_subject` is always an SNS subject.
    #[test]
    fn middle_cut_and_ascii_subject_hold_their_limits(s in awkward_text(), max in 0usize..200) {
        prop_assert!(text::middle_cut(&s, max).chars().count() <= max);
        prop_assert!(subject_ok(&text::ascii_subject(&s)));
    }

    /// Percent-encoding leaves only unreserved characters and `%XX`, and decodes back.
    #[test]
    fn pct_encodes_reversibly(s in awkward_text()) {
        let e = text::pct(&s);
        prop_assert!(e.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~%".contains(&b)));
        let mut bytes = Vec::new();
        let raw = e.as_bytes();
        let mut i = 0;
        while i < raw.len() {
            if raw[i] == b'%' {
                let hex = std::str::from_utf8(&raw[i + 1..i + 3]).unwrap_or("zz");
                bytes.push(u8::from_str_radix(hex, 16).unwrap_or(0));
                i += 3;
            } else {
                bytes.push(raw[i]);
                i += 1;
            }
        }
        prop_assert_eq!(String::from_utf8(bytes).ok(), Some(s));
    }

    /// Each name type accepts exactly what its rule says, and prints and reads back as itself.
    #[test]
    fn names_accept_exactly_their_rules(s in name_like()) {
        prop_assert_eq!(s.parse::<Region>().is_ok(), spec_region(&s), "region {:?}", s);
        prop_assert_eq!(
            s.parse::<AccountId>().is_ok(),
            s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
        );
        prop_assert_eq!(s.parse::<RepositoryName>().is_ok(), spec_repository(&s),
            "repository {:?}", s);
        prop_assert_eq!(
            s.parse::<CommitId>().ok().map(String::from),
            (s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit()))
                .then(|| s.to_ascii_lowercase())
        );
        if let Ok(r) = s.parse::<RepositoryName>() {
            prop_assert!(!r.as_str().contains('/') && r.as_str() != "." && r.as_str() != "..");
            let j = serde_json::to_value(&r).map(serde_json::from_value::<RepositoryName>);
            prop_assert!(matches!(j, Ok(Ok(ref back)) if *back == r));
        }
        if let Ok(r) = s.parse::<Region>() {
            prop_assert_eq!(r.partition(), Partition::of_region(&s));
            prop_assert_eq!(r.to_string(), s.clone());
        }
        // The serde path says the same as `FromStr`.
        prop_assert_eq!(serde_json::from_value::<Region>(json!(s)).is_ok(), spec_region(&s));
    }

    /// `Arn` formats and parses back to itself; a parsed string prints as it was.
    #[test]
    fn arn_round_trips(
        p in prop::sample::select(PARTITIONS.to_vec()), service in "[a-z0-9-]{1,20}",
        region in "[a-z0-9-]{0,20}", account in "[0-9]{0,12}", resource in ".{1,80}",
        any_text in prop_oneof![awkward_text(), "arn:[a-z-]{0,12}:[a-z:]{0,10}:.{0,20}"],
    ) {
        let arn = Arn { partition: p, service, region, account, resource };
        prop_assert_eq!(Arn::parse(&arn.to_string()), Ok(arn.clone()));
        prop_assert_eq!(Arn::parse_of(&arn.to_string(), &arn.service), Ok(arn.clone()));
        if let Ok(a) = Arn::parse(&any_text) {
            prop_assert_eq!(a.to_string(), any_text);
        }
    }

    /// The partition of a region is the one its ARN names and its service hosts use.
    #[test]
    fn arn_new_uses_the_partition_of_its_region(region in name_like()) {
        let arn = Arn::new(&region, "codebuild", "123456789012", "build/x:1");
        prop_assert_eq!(arn.partition, Partition::of_region(&region));
        prop_assert_eq!(Partition::from_id(arn.partition.id()), Some(arn.partition));
        let host = codehooks::arn::service_host("git-codecommit", &region);
        prop_assert!(host.ends_with(arn.partition.dns_suffix()));
    }

    /// The SNS subject of any alert is printable ASCII and under 100 characters.
    #[test]
    fn alert_subject_is_an_sns_subject(alert in arb_alert()) {
        let s = alert.subject();
        prop_assert!(subject_ok(&s), "{:?}", s);
    }
}

proptest! {
    // Rendering tries several budgets, each writing a message of up to 256 KB: fewer cases.
    #![proptest_config(cases(24))]

    /// The rendered message fits SNS (256 KB), keeps every link whole in both the text and the
    /// chat document, and its attributes follow their one rule.
    #[test]
    fn rendered_alert_fits_and_keeps_its_links(
        mut alert in arb_alert(),
        // Up to 24 blocks of up to 24,000 characters: more than the first budget (16,000 per
        // block) lets through, so the budget has to halve.
        big in prop::collection::vec(("[a-z \n]{1,8}", 0usize..3_000), 0..24),
        big_data in prop::option::of(("[a-z]{1,4}", 1usize..60_000)),
    ) {
        for (i, (unit, n)) in big.into_iter().enumerate() {
            if i % 2 == 0 {
                alert.reasons.push(unit.repeat(n));
            } else {
                alert.sections.push(("Log".into(), unit.repeat(n)));
            }
        }
        if let Some((unit, n)) = big_data {
            alert.data.insert("evidence".into(), json!(unit.repeat(n)));
        }
        // The fields that name the alert are short where the callers build them (validated
        // names, AWS state words); `rendered_alert_fits_whatever_names_it` covers long ones.
        for field in [&mut alert.source, &mut alert.name, &mut alert.state, &mut alert.region] {
            *field = text::cut(field, 256);
        }
        let r = alert.render();
        prop_assert!(r.message.len() <= MESSAGE_LIMIT, "message of {} bytes", r.message.len());
        prop_assert!(subject_ok(&r.subject));
        let doc: BTreeMap<String, String> =
            serde_json::from_str(&r.message).unwrap_or_default();
        prop_assert_eq!(doc.get("default"), Some(&r.text));
        let description = r.chatbot.pointer("/content/description")
            .and_then(Value::as_str).unwrap_or_default();
        for (_, url) in &alert.links {
            prop_assert!(r.text.contains(url.as_str()), "text lost link {}", url);
            prop_assert!(description.contains(url.as_str()), "chat lost link {}", url);
        }
        prop_assert!(r.attributes.len() <= MAX_ATTRIBUTES);
        for (k, v) in &r.attributes {
            prop_assert!(!k.is_empty() && !v.is_empty() && v.chars().count() <= 256);
            prop_assert!(!v.contains('\n'));
        }
    }
}

proptest! {
    #![proptest_config(cases(16))]

    /// The message fits SNS whatever the fields that name the alert hold: the renderer cuts
    /// them as it cuts free text (today the chat document repeats `state`, `source`, `name`
    /// and `region` uncut, once per JSON protocol).
    #[test]
    fn rendered_alert_fits_whatever_names_it(
        field in 0usize..4, n in 0usize..60_000,
    ) {
        let mut alert = Alert {
            source: "codebuild".into(),
            name: "project".into(),
            state: "FAILED".into(),
            region: "eu-west-1".into(),
            headline: "Build failed.".into(),
            ..Alert::default()
        };
        let long = "x".repeat(n);
        match field {
            0 => alert.state = long,
            1 => alert.source = long,
            2 => alert.name = long,
            _ => alert.region = long,
        }
        let r = alert.render();
        prop_assert!(r.message.len() <= MESSAGE_LIMIT, "message of {} bytes", r.message.len());
    }
}
