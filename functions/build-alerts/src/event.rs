//! Parse and check: an EventBridge event becomes an [`Origin`] and one [`Parsed`] detail, or a
//! `BadInput` error before any side effect.

use codehooks::events::EventBridgeEvent;
use codehooks::names::{is_account, is_region};
use codehooks::prbuild::BuildDetail;
use codehooks::text::cut;
use codehooks::{Error, Result};
use serde_json::Value;

use crate::{codebuild, codedeploy, codepipeline};

/// Where and when an event happened (from its envelope).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub region: String,
    pub account: String,
    pub event_id: String,
    pub time: String,
}

/// One parsed event, ready to act on.
#[derive(Debug, Clone)]
pub enum Parsed {
    Build(BuildDetail),
    Action(codepipeline::PipelineDetail),
    Pipeline(codepipeline::PipelineDetail),
    Deployment(codedeploy::DeploymentDetail),
}

/// Reads and checks the envelope and the detail.
pub fn parse(payload: Value) -> Result<(Origin, Parsed)> {
    let ev = EventBridgeEvent::parse(payload)?;
    if !is_region(&ev.region) {
        return Err(Error::bad_input(format!(
            "event {} has no valid region: {:?}",
            cut(&ev.id, 80),
            cut(&ev.region, 40)
        )));
    }
    if !is_account(&ev.account) {
        return Err(Error::bad_input(format!(
            "event {} has no valid account: {:?}",
            cut(&ev.id, 80),
            cut(&ev.account, 40)
        )));
    }
    if ev.id.is_empty() || ev.id.len() > 128 {
        return Err(Error::bad_input(
            "the event id must have 1 to 128 characters",
        ));
    }
    if !(10..=40).contains(&ev.time.len())
        || !ev
            .time
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-:.+".contains(&b))
    {
        return Err(Error::bad_input(format!(
            "event {} has no valid time (RFC 3339): {:?}",
            cut(&ev.id, 80),
            cut(&ev.time, 40)
        )));
    }
    let parsed = match (ev.source.as_str(), ev.detail_type.as_str()) {
        (codebuild::SOURCE, codebuild::DETAIL_TYPE) => {
            let d: BuildDetail = ev.detail_as()?;
            codebuild::validate(&d)?;
            Parsed::Build(d)
        }
        (codepipeline::SOURCE, codepipeline::ACTION_DETAIL_TYPE) => {
            let d: codepipeline::PipelineDetail = ev.detail_as()?;
            d.validate(true)?;
            Parsed::Action(d)
        }
        (codepipeline::SOURCE, codepipeline::PIPELINE_DETAIL_TYPE) => {
            let d: codepipeline::PipelineDetail = ev.detail_as()?;
            d.validate(false)?;
            Parsed::Pipeline(d)
        }
        (codedeploy::SOURCE, codedeploy::DETAIL_TYPE) => {
            let d: codedeploy::DeploymentDetail = ev.detail_as()?;
            d.validate()?;
            Parsed::Deployment(d)
        }
        (source, detail_type) => {
            return Err(Error::bad_input(format!(
                "build-alerts does not handle {:?} events from {:?}; it handles {:?}, {:?}, {:?} and {:?}",
                cut(detail_type, 80),
                cut(source, 80),
                codebuild::DETAIL_TYPE,
                codepipeline::ACTION_DETAIL_TYPE,
                codepipeline::PIPELINE_DETAIL_TYPE,
                codedeploy::DETAIL_TYPE
            )));
        }
    };
    let origin = Origin {
        region: ev.region,
        account: ev.account,
        event_id: ev.id,
        time: ev.time,
    };
    Ok((origin, parsed))
}
