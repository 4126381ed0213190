//! Property tests of repo-replicator (issue 11): its event parser (repository state change and
//! scheduled events) never panics and hands on only names that are safe in a URL and a path;
//! the replica name map (`CODEHOOKS_REPLICA_NAMES`) and the git host map
//! (`CODEHOOKS_GIT_HOSTS`) accept exactly the pairs their rules allow, and a git URL built from
//! accepted values always goes to the host it names.
//!
//! Each property states its case count; the whole file runs in a few seconds.

use std::collections::BTreeMap;

use codehooks::config::Env;
use codehooks::names::{Region, RepositoryName, is_region, is_repository_name};
use proptest::prelude::*;
use repo_replicator::config::{Config, git_hosts, is_host_name, replica_names};
use repo_replicator::endpoints::GitEndpoints;
use repo_replicator::event::{Trigger, parse, parse_time_ms};
use serde_json::Value;

#[path = "../../../shared/tests/support/generators.rs"]
mod generators;
use generators::*;

const SAMPLES: [&str; 4] = [
    include_str!("../../../events/repo-replicator-reference-created.json"),
    include_str!("../../../events/repo-replicator-reference-deleted.json"),
    include_str!("../../../events/repo-replicator-reference-updated.json"),
    include_str!("../../../events/repo-replicator-scheduled-reconcile.json"),
];

fn near_valid_event() -> impl Strategy<Value = Value> {
    (0..SAMPLES.len(), edits()).prop_map(|(i, e)| mutate(sample(SAMPLES[i]), &e))
}

fn name_like() -> impl Strategy<Value = String> {
    prop_oneof![
        awkward_text(),
        "[a-zA-Z0-9._-]{1,100}",
        "[a-zA-Z0-9._/ -]{0,104}(\\.git)?",
        "\\.{1,3}",
        "[a-z]{2,6}(-[a-z]{2,6}){1,2}-[0-9]{1,2}",
    ]
}

fn host_like() -> impl Strategy<Value = String> {
    prop_oneof![
        awkward_text(),
        "[a-z0-9-]{1,20}(\\.[a-z0-9-]{1,20}){0,4}",
        "[a-z0-9.:/@?# -]{0,40}",
    ]
}

/// A host name as DNS has it: dot-separated labels of letters, digits and `-`.
fn is_dns_name(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

// ---------------------------------------------------------------------------------------------
// Properties.
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(cases(256))]

    /// The event parser never panics; a change it accepts names a valid repository, a valid
    /// region and one of the three reference events, and its clone URL goes to the region's
    /// `git-codecommit` host.
    #[test]
    fn events_never_panic_and_changes_are_checked(v in prop_oneof![3 => near_valid_event(), 1 => arb_json()]) {
        let Ok(inv) = parse(v) else { return Ok(()) };
        if let Trigger::Change(c) = &inv.trigger {
            prop_assert!(is_repository_name(c.repository.as_str()));
            prop_assert!(matches!(c.kind.as_str(), "referenceCreated" | "referenceUpdated" | "referenceDeleted"));
            if let Some(region) = &c.region {
                prop_assert!(is_region(region.as_str()));
                let url = GitEndpoints::default().target(region, &c.repository).url();
                let host = codehooks::arn::service_host("git-codecommit", region.as_str());
                let expected = format!("https://{host}/v1/repos/{}", c.repository);
                prop_assert_eq!(url, expected);
                prop_assert!(is_dns_name(&host));
            }
        }
    }

    /// RFC 3339 times read to the right millisecond; anything else never panics.
    #[test]
    fn event_times_read_exactly(
        (y, mo, d, h, mi, s, ms) in (1970i64..2200, 1i64..=12, 1i64..=28, 0i64..24, 0i64..60, 0i64..60, 0i64..1000),
        junk in awkward_text(),
    ) {
        let t = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z");
        let want = ((days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s) * 1000 + ms) as u64;
        prop_assert_eq!(parse_time_ms(&t), Some(want), "{}", t);
        let _ = parse_time_ms(&junk);
    }

    /// `CODEHOOKS_REPLICA_NAMES`: a map is accepted exactly when every pair is two
    /// repository names, and then kept whole; otherwise every bad pair is named.
    #[test]
    fn replica_names_accept_exactly_pairs_of_names(raw in prop::collection::btree_map(name_like(), name_like(), 0..6)) {
        let bad = raw.iter().filter(|(f, t)| !(is_repository_name(f) && is_repository_name(t))).count();
        // A second source naming a replica already taken is refused too.
        let mut taken = std::collections::BTreeSet::new();
        let shared = raw
            .iter()
            .filter(|(f, t)| is_repository_name(f) && is_repository_name(t))
            .filter(|(_, t)| !taken.insert(t.as_str()))
            .count();
        let bad = bad + shared;
        match replica_names(raw.clone()) {
            Ok(map) => {
                prop_assert_eq!(bad, 0);
                prop_assert_eq!(map.len(), raw.len());
                for (f, t) in &map {
                    prop_assert_eq!(raw.get(f.as_str()).map(String::as_str), Some(t.as_str()));
                }
            }
            Err(errors) => prop_assert_eq!(errors.len(), bad),
        }
    }

    /// `CODEHOOKS_GIT_HOSTS`: a map is accepted exactly when every key is a region and every
    /// value a host name only (no scheme, port, path or user), and every accepted host is the
    /// host of the URL the function connects to.
    #[test]
    fn git_hosts_accept_region_to_host_and_urls_go_there(
        raw in prop::collection::btree_map(name_like(), host_like(), 0..5),
        repo in "[a-zA-Z0-9_-]{1,40}",
    ) {
        let bad = raw.iter().filter(|(r, h)| !(is_region(r) && is_host_name(h))).count();
        match git_hosts(raw.clone()) {
            Ok(map) => {
                prop_assert_eq!(bad, 0);
                let endpoints = GitEndpoints { hosts: map.clone(), ..GitEndpoints::default() };
                let repo: RepositoryName = repo.parse().map_err(|e| TestCaseError::fail(format!("{e}")))?;
                for (region, host) in &map {
                    prop_assert!(!host.is_empty() && !host.contains(['/', ':', '@']));
                    let url = endpoints.target(region, &repo).url();
                    prop_assert!(url.starts_with(&format!("https://{host}/v1/repos/")), "{}", url);
                }
            }
            Err(errors) => prop_assert_eq!(errors.len(), bad),
        }
    }

    /// The whole configuration read from any JSON text in the two map variables never panics,
    /// and a configuration read without problems holds only valid names.
    #[test]
    fn config_with_any_map_text_never_panics(
        names in prop_oneof![arb_json().prop_map(|v| v.to_string()), awkward_text()],
        hosts in prop_oneof![arb_json().prop_map(|v| v.to_string()), awkward_text()],
    ) {
        let mut env = Env::from_pairs([
            ("AWS_REGION", "us-east-1".to_owned()),
            ("CODEHOOKS_REPLICA_REGIONS", "eu-west-1".to_owned()),
            ("CODEHOOKS_REPOSITORIES", "*".to_owned()),
            ("CODEHOOKS_REPLICA_NAMES", names),
            ("CODEHOOKS_GIT_HOSTS", hosts),
        ]);
        let config = Config::read(&mut env);
        if env.finish().is_ok()
            && let Some(c) = config
        {
            for (f, t) in &c.replica_names {
                prop_assert!(is_repository_name(f.as_str()) && is_repository_name(t.as_str()));
            }
            for h in c.git.hosts.values() {
                prop_assert!(is_host_name(h));
            }
        }
    }
}

proptest! {
    #![proptest_config(cases(256))]

    /// A git host accepted from `CODEHOOKS_GIT_HOSTS` is a DNS name, so it cannot carry a
    /// query, a fragment, spaces or line breaks into the URL the function signs and opens.
    #[test]
    fn accepted_git_hosts_are_dns_names(
        region in "[a-z]{2}-[a-z]{4,7}-[0-9]",
        host in host_like(),
    ) {
        let mut raw = BTreeMap::new();
        raw.insert(region, host.clone());
        if let Ok(map) = git_hosts(raw) {
            let region: Option<&Region> = map.keys().next();
            prop_assert!(region.is_some());
            prop_assert!(is_dns_name(&host), "accepted git host {:?}", host);
        }
    }

    /// Two source repositories never share one replica: each would make the replica equal to
    /// itself in turn, deleting the other's branches.
    #[test]
    fn replica_names_never_merge_two_repositories(
        raw in prop::collection::btree_map("[ab]{1,2}", "[ab]{1,2}", 1..4),
    ) {
        if let Ok(map) = replica_names(raw) {
            let mut seen: BTreeMap<&RepositoryName, &RepositoryName> = BTreeMap::new();
            for (source, replica) in &map {
                if let Some(other) = seen.insert(replica, source) {
                    prop_assert!(false, "{} and {} both replicate to {}", other, source, replica);
                }
            }
        }
    }
}
