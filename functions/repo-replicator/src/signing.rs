//! The CodeCommit git password: the function's own role credentials turned into HTTP Basic
//! credentials for CodeCommit's HTTPS git endpoint, the scheme `git-remote-codecommit` uses.
//!
//! - username: the access key id, followed by `%` and the session token when there is one;
//! - password: the signing time (`YYYYMMDDTHHMMSS`), the letter `Z`, and the hex SigV4 signature
//!   of a request with method `GIT`, the repository path and only the `host` header signed, for
//!   the service `codecommit` in the repository's region. The string to sign carries the time
//!   without the `Z`, as botocore's signer builds it for this request.
//!
//! Neither part is ever logged: both are [`Secret`]s, which print as redacted.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sigv4::sign::v4::{calculate_signature, generate_signing_key};
use codehooks::config::Secret;
use codehooks::idempotency::hex;
use sha2::{Digest, Sha256};

/// The service name CodeCommit's git endpoint signs for.
pub const SERVICE: &str = "codecommit";

/// The HTTP Basic credentials for one repository on one git host (the username carries the
/// session token, so it is as secret as the password).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitCredentials {
    pub username: Secret<String>,
    pub password: Secret<String>,
}

/// AWS credentials as the signer needs them.
#[derive(Debug, Clone)]
pub struct AwsKeys {
    pub access_key_id: String,
    pub secret_access_key: Secret<String>,
    pub session_token: Option<Secret<String>>,
}

/// `time` as `YYYYMMDDTHHMMSS` (UTC, whole seconds).
pub fn timestamp(time: SystemTime) -> String {
    let mut stamp = codehooks::time::basic(codehooks::time::epoch_secs(time));
    stamp.pop(); // the `Z`: the password writes it between the time and the signature
    stamp
}

/// The git credentials for `path` (e.g. `/v1/repos/my-repo`) on `host` in `region`, signed at `time`.
pub fn git_credentials(
    keys: &AwsKeys,
    host: &str,
    path: &str,
    region: &str,
    time: SystemTime,
) -> GitCredentials {
    // Whole seconds: the timestamp and the signing key's date come from the same instant.
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let time = UNIX_EPOCH + Duration::from_secs(secs);
    let stamp = timestamp(time);
    let date = &stamp[..8];
    let canonical = format!("GIT\n{path}\n\nhost:{host}\n\nhost\n");
    let scope = format!("{date}/{region}/{SERVICE}/aws4_request");
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let key = generate_signing_key(keys.secret_access_key.expose(), time, region, SERVICE);
    let signature = calculate_signature(key, string_to_sign.as_bytes());
    let username = match keys.session_token.as_ref().map(Secret::expose) {
        Some(token) if !token.is_empty() => format!("{}%{token}", keys.access_key_id),
        _ => keys.access_key_id.clone(),
    };
    GitCredentials {
        username: Secret::new(username),
        password: Secret::new(format!("{stamp}Z{signature}")),
    }
}

#[cfg(test)]
#[path = "signing_test.rs"]
mod tests;
