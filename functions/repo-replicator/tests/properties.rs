//! Property tests of repo-replicator: its event parser (repository state change and
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

// ---------------------------------------------------------------------------------------------
// The safe plan.
// ---------------------------------------------------------------------------------------------

use repo_replicator::endpoints::GitTarget;
use repo_replicator::plan::{OWN_PREFIX, ObjectId, PlanInput, RefChange, Refs, safe_plan};
use repo_replicator::policy::{BACKUP_PREFIX, Divergence, Policy, RefPattern, SLICE_PREFIX};
use repo_replicator::ports::Relation;

const NAMES: [&str; 6] = [
    "refs/heads/main",
    "refs/heads/dev",
    "refs/heads/release/1",
    "refs/heads/release/1/fix",
    "refs/tags/v1",
    "refs/tags/tmp/x",
];

const OWN: [&str; 5] = [
    "refs/codehooks/backup/20200101T000000Z/refs/heads/main",
    "refs/codehooks/backup/20210101T000000Z/refs/heads/main",
    "refs/codehooks/backup/20200101T000000Z/refs/heads/dev",
    "refs/codehooks/slice/refs/heads/dev",
    "refs/codehooks/something-else",
];

const PATTERNS: [&str; 5] = [
    "refs/heads/*",
    "refs/heads/release/*",
    "refs/tags/**",
    "refs/heads/**",
    "refs/tags/tmp/*",
];

fn oid_of(n: u8) -> ObjectId {
    ObjectId::new(format!("{n:02x}").repeat(20))
}

fn refs_from(names: &[&str]) -> impl Strategy<Value = Refs> {
    let names: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
    prop::collection::vec(prop::option::of(0u8..5), names.len()).prop_map(move |vals| {
        names
            .iter()
            .zip(vals)
            .filter_map(|(n, v)| v.map(|v| (n.clone(), oid_of(v))))
            .collect()
    })
}

fn relation() -> impl Strategy<Value = Relation> {
    prop_oneof![
        Just(Relation::Same),
        Just(Relation::FastForward),
        Just(Relation::Rewind),
        Just(Relation::Diverged),
        Just(Relation::Unknown),
    ]
}

fn policy() -> impl Strategy<Value = Policy> {
    (
        prop::collection::vec(0..PATTERNS.len(), 0..3),
        prop::collection::vec(0..PATTERNS.len(), 0..2),
        0usize..3,
        any::<bool>(),
    )
        .prop_map(|(inc, exc, retention, keep)| Policy {
            include: inc
                .iter()
                .map(|i| RefPattern::new(PATTERNS[*i]).unwrap())
                .collect(),
            exclude: exc
                .iter()
                .map(|i| RefPattern::new(PATTERNS[*i]).unwrap())
                .collect(),
            backup_retention: retention,
            divergence: if keep {
                Divergence::Keep
            } else {
                Divergence::Overwrite
            },
        })
}

fn replica_target() -> GitTarget {
    GitEndpoints::default().target(&"eu-west-2".parse().unwrap(), &"app".parse().unwrap())
}

fn forced(rel: Option<&Relation>) -> bool {
    !matches!(rel, Some(Relation::Same | Relation::FastForward))
}

proptest! {
    #![proptest_config(cases(512))]

    /// Whatever the source, replica, relations and policy: every move is to the confirmed
    /// source's value, guarded by the listed value; own refs are touched only as backups
    /// (created) and old backups or slices (deleted); refs the policy does not select are
    /// never touched; every forced update or delete has its backup first (when backups are
    /// on) and never happens in keep mode (forced updates); deletions come last.
    #[test]
    fn the_safe_plan_only_moves_refs_to_confirmed_values(
        source in refs_from(&NAMES),
        mirrored in refs_from(&NAMES),
        own in refs_from(&OWN),
        relations in prop::collection::btree_map(prop::sample::select(NAMES.to_vec()).prop_map(str::to_owned), relation(), 0..6),
        policy in policy(),
        now in 0u64..4_000_000_000,
    ) {
        let mut replica = mirrored.clone();
        replica.extend(own.clone());
        let input = PlanInput { source: &source, replica: &replica, relations: &relations, policy: &policy, now_secs: now };
        let Ok(plan) = safe_plan(input, &replica_target()) else {
            prop_assert!(source.is_empty());
            return Ok(());
        };
        let all: Vec<&RefChange> = plan.backups.iter().chain(&plan.changes).collect();
        for c in &all {
            prop_assert_eq!(c.old.as_ref(), replica.get(&c.name), "{:?} is not guarded by the listed value", c);
            if c.name.starts_with(OWN_PREFIX) {
                let is_backup = c.name.starts_with(BACKUP_PREFIX);
                let is_slice = c.name.starts_with(SLICE_PREFIX);
                match &c.new {
                    Some(_) => prop_assert!(is_backup && c.old.is_none(), "{:?}", c),
                    None => prop_assert!(is_backup || is_slice, "{:?}", c),
                }
                continue;
            }
            prop_assert!(policy.selects(&c.name), "{} is not selected", c.name);
            if let Some(new) = &c.new {
                prop_assert_eq!(Some(new), source.get(&c.name), "moved to a value the source does not have");
            } else {
                prop_assert!(!source.contains_key(&c.name));
            }
        }
        for c in &plan.changes {
            if c.name.starts_with(OWN_PREFIX) {
                continue;
            }
            let Some(old) = &c.old else { continue };
            let is_forced = c.new.is_none() || forced(relations.get(&c.name));
            if !is_forced {
                continue;
            }
            if c.new.is_some() {
                prop_assert!(policy.divergence == Divergence::Overwrite, "keep mode overwrote {}", c.name);
            }
            if policy.backup_retention > 0 {
                let kept = plan.backups.iter().any(|b| b.new.as_ref() == Some(old) && b.name.ends_with(&format!("/{}", c.name)))
                    || replica.iter().any(|(n, v)| v == old && n.starts_with(BACKUP_PREFIX) && n.ends_with(&format!("/{}", c.name))
                        && !plan.changes.iter().any(|d| d.name == *n && d.new.is_none()));
                prop_assert!(kept, "no backup of {} before it was overwritten or deleted", c.name);
            }
        }
        let first_delete = plan.changes.iter().position(|c| c.new.is_none()).unwrap_or(plan.changes.len());
        prop_assert!(plan.changes[first_delete..].iter().all(|c| c.new.is_none()), "deletions are not last");
        // Overwrite mode: applied, the selected refs equal the source's.
        if policy.divergence == Divergence::Overwrite {
            let mut after = replica.clone();
            for c in &all {
                match &c.new {
                    Some(n) => after.insert(c.name.clone(), n.clone()),
                    None => after.remove(&c.name),
                };
            }
            let pick = |r: &Refs| -> Refs { r.iter().filter(|(n, _)| policy.selects(n)).map(|(n, o)| (n.clone(), o.clone())).collect() };
            prop_assert_eq!(pick(&after), pick(&source));
            // Untouched: every other own ref, every unselected ref.
            for (n, v) in &replica {
                if !policy.selects(n) && !n.starts_with(BACKUP_PREFIX) && !n.starts_with(SLICE_PREFIX) {
                    prop_assert_eq!(after.get(n), Some(v));
                }
            }
        }
    }

    /// Backups never pile up past retention for a ref the plan backs up.
    #[test]
    fn backups_stay_within_retention(
        mirrored in refs_from(&NAMES),
        own in refs_from(&OWN),
        source in refs_from(&NAMES),
        retention in 1usize..3,
    ) {
        let policy = Policy { backup_retention: retention, ..Policy::default() };
        let mut replica = mirrored;
        replica.extend(own);
        let input = PlanInput { source: &source, replica: &replica, relations: &BTreeMap::new(), policy: &policy, now_secs: 1_796_101_200 };
        let Ok(plan) = safe_plan(input, &replica_target()) else { return Ok(()) };
        let mut after = replica.clone();
        for c in plan.backups.iter().chain(&plan.changes) {
            match &c.new {
                Some(n) => after.insert(c.name.clone(), n.clone()),
                None => after.remove(&c.name),
            };
        }
        for b in &plan.backups {
            let git_ref = b.name.splitn(5, '/').nth(4).unwrap_or_default();
            let count = after.keys().filter(|n| n.starts_with(BACKUP_PREFIX) && n.ends_with(&format!("/{git_ref}"))).count();
            prop_assert!(count <= retention, "{} backups of {}", count, git_ref);
        }
    }
}

/// The glob rules written as plainly as possible (exponential, fine for short inputs).
fn naive_glob(p: &[u8], s: &[u8]) -> bool {
    match p {
        [] => s.is_empty(),
        [b'*', b'*', b'/', after @ ..] if naive_glob(after, s) => true,
        [b'*', b'*', rest @ ..] => (0..=s.len()).any(|i| naive_glob(rest, &s[i..])),
        [b'*', rest @ ..] => {
            let segment = s.iter().position(|&b| b == b'/').unwrap_or(s.len());
            (0..=segment).any(|i| naive_glob(rest, &s[i..]))
        }
        [c, rest @ ..] => s.first() == Some(c) && naive_glob(rest, &s[1..]),
    }
}

proptest! {
    #![proptest_config(cases(1024))]

    /// Ref patterns match exactly as the rules say (`*` within a segment, `**` across, `**/`
    /// also no directory).
    #[test]
    fn ref_patterns_follow_the_glob_rules(tail in "[ab/*]{0,8}", name in "[ab/]{0,10}") {
        let pattern = format!("refs/{tail}");
        let full = format!("refs/{name}");
        let p = RefPattern::new(&pattern).unwrap();
        prop_assert_eq!(p.matches(&full), naive_glob(pattern.as_bytes(), full.as_bytes()), "{} on {}", pattern, full);
    }
}
