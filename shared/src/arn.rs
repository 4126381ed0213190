//! Partitions and ARNs.
//!
//! An AWS region belongs to one partition (`aws`, `aws-cn`, `aws-us-gov`, ...), and the
//! partition decides three things the functions write: the second field of every ARN, the DNS
//! suffix of service hosts (`git-codecommit.cn-north-1.amazonaws.com.cn`), and the console
//! host of deep links. Nothing else in the project spells `arn:aws:` or a console host.
//!
//! ```
//! use codehooks::arn::{Arn, Partition};
//! let p = Partition::of_region("cn-north-1");
//! assert_eq!(p, Partition::AwsCn);
//! let arn = Arn::new("cn-north-1", "codebuild", "123456789012", "build/app:1");
//! assert_eq!(arn.to_string(), "arn:aws-cn:codebuild:cn-north-1:123456789012:build/app:1");
//! assert_eq!(Arn::parse(&arn.to_string())?, arn);
//! # Ok::<(), codehooks::arn::ArnError>(())
//! ```

use std::fmt;

/// The partitions AWS documents, and the region prefixes that belong to each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Partition {
    /// The commercial regions.
    Aws,
    /// China (Beijing and Ningxia): `cn-*`.
    AwsCn,
    /// AWS GovCloud (US): `us-gov-*`.
    AwsUsGov,
    /// `us-iso-*`.
    AwsIso,
    /// `us-isob-*`.
    AwsIsoB,
    /// `eu-isoe-*`.
    AwsIsoE,
    /// `us-isof-*`.
    AwsIsoF,
    /// The AWS European Sovereign Cloud: `eusc-*`.
    AwsEusc,
}

/// Every partition, in the order of [`Partition::id`]s tried by [`Partition::from_id`].
pub const PARTITIONS: [Partition; 8] = [
    Partition::Aws,
    Partition::AwsCn,
    Partition::AwsUsGov,
    Partition::AwsIso,
    Partition::AwsIsoB,
    Partition::AwsIsoE,
    Partition::AwsIsoF,
    Partition::AwsEusc,
];

impl Partition {
    /// The partition a region belongs to; unknown prefixes are the commercial partition.
    pub fn of_region(region: &str) -> Partition {
        // Longest prefixes first: `us-isob-` before `us-iso-`.
        const PREFIXES: [(&str, Partition); 7] = [
            ("us-isob-", Partition::AwsIsoB),
            ("us-isof-", Partition::AwsIsoF),
            ("us-iso-", Partition::AwsIso),
            ("eu-isoe-", Partition::AwsIsoE),
            ("us-gov-", Partition::AwsUsGov),
            ("eusc-", Partition::AwsEusc),
            ("cn-", Partition::AwsCn),
        ];
        PREFIXES
            .iter()
            .find(|(prefix, _)| region.starts_with(prefix))
            .map_or(Partition::Aws, |(_, p)| *p)
    }

    /// The partition's name as ARNs write it.
    pub fn id(self) -> &'static str {
        match self {
            Partition::Aws => "aws",
            Partition::AwsCn => "aws-cn",
            Partition::AwsUsGov => "aws-us-gov",
            Partition::AwsIso => "aws-iso",
            Partition::AwsIsoB => "aws-iso-b",
            Partition::AwsIsoE => "aws-iso-e",
            Partition::AwsIsoF => "aws-iso-f",
            Partition::AwsEusc => "aws-eusc",
        }
    }

    /// The partition named `id` in an ARN.
    pub fn from_id(id: &str) -> Option<Partition> {
        PARTITIONS.into_iter().find(|p| p.id() == id)
    }

    /// The DNS suffix of the partition's service endpoints.
    pub fn dns_suffix(self) -> &'static str {
        match self {
            Partition::Aws | Partition::AwsUsGov => "amazonaws.com",
            Partition::AwsCn => "amazonaws.com.cn",
            Partition::AwsIso => "c2s.ic.gov",
            Partition::AwsIsoB => "sc2s.sgov.gov",
            Partition::AwsIsoE => "cloud.adc-e.uk",
            Partition::AwsIsoF => "csp.hci.ic.gov",
            Partition::AwsEusc => "amazonaws.eu",
        }
    }

    /// The console host for deep links into `region`.
    pub fn console_host(self, region: &str) -> String {
        match self {
            Partition::AwsCn => "console.amazonaws.cn".to_owned(),
            Partition::AwsUsGov => "console.amazonaws-us-gov.com".to_owned(),
            _ => format!("{region}.console.aws.amazon.com"),
        }
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// The console host for deep links into `region` (its partition's).
pub fn console_host(region: &str) -> String {
    Partition::of_region(region).console_host(region)
}

/// `https://<console host>/<path>` for `region`; `path` starts after the host.
pub fn console_url(region: &str, path: &str) -> String {
    format!(
        "https://{}/{}",
        console_host(region),
        path.trim_start_matches('/')
    )
}

/// A service host name in `region`: `service_host("git-codecommit", "cn-north-1")` is
/// `git-codecommit.cn-north-1.amazonaws.com.cn`.
pub fn service_host(service: &str, region: &str) -> String {
    format!(
        "{service}.{region}.{}",
        Partition::of_region(region).dns_suffix()
    )
}

/// An Amazon Resource Name: `arn:<partition>:<service>:<region>:<account>:<resource>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Arn {
    pub partition: Partition,
    pub service: String,
    /// Empty for global resources (IAM).
    pub region: String,
    /// Empty for some resources (S3 buckets).
    pub account: String,
    /// Everything after the fifth colon (may itself hold `:` and `/`).
    pub resource: String,
}

/// Why a string is not an ARN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArnError {
    #[error(
        "an ARN has six fields separated by ':' (arn:partition:service:region:account:resource)"
    )]
    Shape,
    #[error("an ARN starts with \"arn:\"")]
    Prefix,
    #[error("{0:?} is not an AWS partition")]
    Partition(String),
    #[error("the service field is empty")]
    Service,
    #[error("the resource field is empty")]
    Resource,
    #[error("an ARN of {expected} was expected, this one is of {found}")]
    WrongService { expected: String, found: String },
}

impl Arn {
    /// The ARN of `resource` in `region`, in that region's partition.
    pub fn new(region: &str, service: &str, account: &str, resource: &str) -> Arn {
        Arn {
            partition: Partition::of_region(region),
            service: service.to_owned(),
            region: region.to_owned(),
            account: account.to_owned(),
            resource: resource.to_owned(),
        }
    }

    /// Reads an ARN; the partition must be one AWS has.
    pub fn parse(value: &str) -> Result<Arn, ArnError> {
        let parts: Vec<&str> = value.splitn(6, ':').collect();
        let [prefix, partition, service, region, account, resource] = parts[..] else {
            return Err(ArnError::Shape);
        };
        if prefix != "arn" {
            return Err(ArnError::Prefix);
        }
        let partition = Partition::from_id(partition)
            .ok_or_else(|| ArnError::Partition(partition.chars().take(20).collect()))?;
        if service.is_empty() {
            return Err(ArnError::Service);
        }
        if resource.is_empty() {
            return Err(ArnError::Resource);
        }
        Ok(Arn {
            partition,
            service: service.to_owned(),
            region: region.to_owned(),
            account: account.to_owned(),
            resource: resource.to_owned(),
        })
    }

    /// Reads an ARN that must be of `service`.
    pub fn parse_of(value: &str, service: &str) -> Result<Arn, ArnError> {
        let arn = Arn::parse(value)?;
        if arn.service == service {
            Ok(arn)
        } else {
            Err(ArnError::WrongService {
                expected: service.to_owned(),
                found: arn.service.chars().take(40).collect(),
            })
        }
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:{}:{}:{}:{}",
            self.partition, self.service, self.region, self.account, self.resource
        )
    }
}

/// Whether `value` is an ARN of `service` in a known partition.
pub fn is_arn_of(value: &str, service: &str) -> bool {
    Arn::parse_of(value, service).is_ok()
}

#[cfg(test)]
#[path = "arn_test.rs"]
mod tests;
