//! Unit tests of `signing.rs`.

use super::*;
use serde_json::Value;

fn parse_stamp(stamp: &str) -> SystemTime {
    // Inverse of `timestamp` for the test vectors, through the SDK's date parser.
    let rfc3339 = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &stamp[0..4],
        &stamp[4..6],
        &stamp[6..8],
        &stamp[9..11],
        &stamp[11..13],
        &stamp[13..15]
    );
    let t = aws_smithy_types::DateTime::from_str(
        &rfc3339,
        aws_smithy_types::date_time::Format::DateTime,
    )
    .unwrap();
    UNIX_EPOCH + Duration::from_secs(t.secs() as u64)
}

#[test]
fn timestamps_are_utc_basic_format() {
    assert_eq!(timestamp(UNIX_EPOCH), "19700101T000000");
    assert_eq!(
        timestamp(UNIX_EPOCH + Duration::from_secs(951_782_400)),
        "20000229T000000"
    );
    assert_eq!(
        timestamp(UNIX_EPOCH + Duration::from_secs(1_795_394_880)),
        "20261123T004800"
    );
}

/// The vectors come from botocore's SigV4 signer (`testdata/sign_vectors.py`), not from this code.
#[test]
fn matches_botocore_vectors_for_standard_fips_and_vpc_endpoint_hosts() {
    let doc: Value = serde_json::from_str(include_str!("../testdata/sign_vectors.json")).unwrap();
    let vectors = doc["vectors"].as_array().unwrap();
    let mut names = std::collections::BTreeSet::new();
    for v in vectors {
        let keys = AwsKeys {
            access_key_id: v["access_key"].as_str().unwrap().into(),
            secret_access_key: Secret::new(v["secret_key"].as_str().unwrap().into()),
            session_token: v["session_token"]
                .as_str()
                .map(|t| Secret::new(t.to_owned())),
        };
        let time = parse_stamp(v["timestamp"].as_str().unwrap());
        // Sub-second parts do not change the password.
        let time = time + Duration::from_millis(987);
        let got = git_credentials(
            &keys,
            v["host"].as_str().unwrap(),
            v["path"].as_str().unwrap(),
            v["region"].as_str().unwrap(),
            time,
        );
        assert_eq!(
            got.password.expose(),
            v["password"].as_str().unwrap(),
            "{}",
            v["name"]
        );
        assert_eq!(
            got.username.expose(),
            v["username"].as_str().unwrap(),
            "{}",
            v["name"]
        );
        // The session token is in the username only, never in the password.
        if let Some(token) = keys.session_token.as_ref().map(Secret::expose) {
            assert!(got.username.expose().ends_with(&format!("%{token}")));
            assert!(!got.password.expose().contains(token.as_str()));
        }
        names.insert(v["name"].as_str().unwrap().to_owned());
    }
    for needed in [
        "standard",
        "fips",
        "vpc-endpoint",
        "standard-with-token",
        "fips-with-token",
        "vpc-endpoint-with-token",
    ] {
        assert!(names.contains(needed), "missing vector {needed}");
    }
}

#[test]
fn credentials_never_print() {
    let keys = AwsKeys {
        access_key_id: "AKID".into(),
        secret_access_key: Secret::new("very-secret".into()),
        session_token: Some(Secret::new("FwoGZXIvYXdzEXAMPLE".into())),
    };
    let c = git_credentials(&keys, "h", "/v1/repos/r", "us-east-1", SystemTime::now());
    let printed = format!("{c:?} {keys:?}");
    assert_eq!(
        printed,
        "GitCredentials { username: [redacted], password: [redacted] } \
         AwsKeys { access_key_id: \"AKID\", secret_access_key: [redacted], session_token: Some([redacted]) }"
    );
    for secret in [
        "very-secret",
        "FwoGZXIvYXdzEXAMPLE",
        c.password.expose().as_str(),
    ] {
        assert!(!printed.contains(secret), "{secret} printed");
    }
}
