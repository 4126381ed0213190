//! Where the probes go: the listener's load balancer (or the configured base URL), with the
//! service's host name for TLS, and the version token the answers must name.

use std::net::{IpAddr, SocketAddr};

use crate::config::{BaseUrlError, parse_base_url};
use crate::plan::{ListenerInfo, Plan};
use crate::probe::Endpoint;

/// Why the probes have nowhere to go.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error("CODEHOOKS_HOOK_BASE_URL {0}")]
    BaseUrl(#[from] BaseUrlError),
    #[error("the load balancer of listener {0} has no DNS name")]
    NoDnsName(String),
    #[error(
        "the {role} listener is HTTPS and its certificate does not name the load balancer {dns}: set the \
         service's host name (CODEHOOKS_HOOK_HOST_NAME or hostName in the policy) so TLS can be verified"
    )]
    HostNameNeeded { role: &'static str, dns: String },
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        host: String,
        source: std::io::Error,
    },
    #[error("{0} resolves to no address")]
    NoAddress(String),
}

/// A version assertion that needs what the deployment does not say.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the version assertion {expected:?} needs the task definition, but deployment {deployment_id} has no \
     AppSpec content naming one"
)]
pub struct VersionError {
    pub expected: String,
    pub deployment_id: String,
}

/// The version token with `{taskDefinition}`, `{taskDefinitionRevision}` and `{deploymentId}` filled in.
pub fn expand_version(expected: &str, plan: &Plan) -> Result<String, VersionError> {
    fill_version(
        expected,
        &plan.deployment_id,
        plan.task_definition.as_deref(),
    )
    .ok_or_else(|| VersionError {
        expected: expected.to_owned(),
        deployment_id: plan.deployment_id.clone(),
    })
}

/// The version token with `{deploymentId}` and the task definition's placeholders filled in;
/// `None` when it names the task definition and there is none.
pub fn fill_version(
    expected: &str,
    deployment_id: &str,
    task_definition: Option<&str>,
) -> Option<String> {
    let mut out = expected.replace("{deploymentId}", deployment_id);
    if out.contains("{taskDefinition") {
        let td = task_definition?;
        let revision = td.rsplit_once(':').map(|(_, r)| r).unwrap_or(td);
        out = out
            .replace("{taskDefinitionRevision}", revision)
            .replace("{taskDefinition}", td);
    }
    Some(out)
}

/// Where probes go for `listener`, with the base URL override and host name applied.
pub async fn endpoint(
    base_url: Option<&str>,
    listener: &ListenerInfo,
    host_name: Option<&str>,
) -> Result<Endpoint, EndpointError> {
    let (scheme, connect_host, port) = match base_url {
        Some(b) => parse_base_url(b, listener.port)?,
        None => {
            if listener.load_balancer_dns.is_empty() {
                return Err(EndpointError::NoDnsName(listener.arn.clone()));
            }
            (
                listener.scheme().to_owned(),
                listener.load_balancer_dns.clone(),
                listener.port,
            )
        }
    };
    let connect_to = format!("{connect_host}:{port}");
    let Some(name) = host_name else {
        if scheme == "https" && base_url.is_none() {
            return Err(EndpointError::HostNameNeeded {
                role: listener.role.as_str(),
                dns: listener.load_balancer_dns.clone(),
            });
        }
        return Ok(Endpoint {
            origin: format!("{scheme}://{connect_host}:{port}"),
            resolve: None,
            connect_to,
        });
    };
    let bare = connect_host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((bare, port))
            .await
            .map_err(|source| EndpointError::Resolve {
                host: bare.to_owned(),
                source,
            })?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(EndpointError::NoAddress(bare.to_owned()));
    }
    Ok(Endpoint {
        origin: format!("{scheme}://{name}:{port}"),
        resolve: Some((name.to_owned(), addrs)),
        connect_to,
    })
}

#[cfg(test)]
#[path = "endpoint_test.rs"]
mod tests;
