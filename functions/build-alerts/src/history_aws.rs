//! The SDK adapter of [`ReleaseHistory`]: CodePipeline's `ListActionExecutions` and
//! `GetPipelineExecution`, CodeDeploy's `GetDeployment`. The only code that touches these
//! clients; it turns SDK types into the plain facts the alerts use.

use aws_sdk_codedeploy::primitives::DateTime;
use aws_sdk_codepipeline::types::ActionExecutionFilter;
use codehooks::{Error, Result};

use std::collections::HashMap;

use crate::history::{ActionRun, ActionState, DeploymentFacts, ExecutionFacts, ReleaseHistory};

/// CodePipeline and CodeDeploy, read-only.
#[derive(Debug, Clone)]
pub struct AwsReleaseHistory {
    pub codepipeline: aws_sdk_codepipeline::Client,
    pub codedeploy: aws_sdk_codedeploy::Client,
}

impl AwsReleaseHistory {
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self {
            codepipeline: aws_sdk_codepipeline::Client::new(sdk),
            codedeploy: aws_sdk_codedeploy::Client::new(sdk),
        }
    }
}

impl ReleaseHistory for AwsReleaseHistory {
    async fn action_runs(&self, pipeline: &str, execution_id: &str) -> Result<Vec<ActionRun>> {
        action_runs(&self.codepipeline, pipeline, execution_id).await
    }

    async fn execution(&self, pipeline: &str, execution_id: &str) -> Result<ExecutionFacts> {
        execution(&self.codepipeline, pipeline, execution_id).await
    }

    async fn deployment(&self, deployment_id: &str) -> Result<DeploymentFacts> {
        deployment(&self.codedeploy, deployment_id).await
    }

    async fn pipeline_state(&self, pipeline: &str) -> Result<Vec<ActionState>> {
        pipeline_state(&self.codepipeline, pipeline).await
    }

    async fn action_configuration(
        &self,
        pipeline: &str,
        stage: &str,
        action: &str,
    ) -> Result<Option<HashMap<String, String>>> {
        action_configuration(&self.codepipeline, pipeline, stage, action).await
    }
}

/// The latest run of every action of a pipeline, with the execution its stage ran last.
async fn pipeline_state(
    client: &aws_sdk_codepipeline::Client,
    pipeline: &str,
) -> Result<Vec<ActionState>> {
    let out = client
        .get_pipeline_state()
        .name(pipeline)
        .send()
        .await
        .map_err(|e| Error::aws("GetPipelineState", e))?;
    let mut actions = Vec::new();
    for stage in out.stage_states.unwrap_or_default() {
        let execution_id = stage
            .latest_execution
            .as_ref()
            .map(|x| x.pipeline_execution_id.clone());
        let stage_name = stage.stage_name.unwrap_or_default();
        for a in stage.action_states.unwrap_or_default() {
            let latest = a.latest_execution;
            actions.push(ActionState {
                stage: stage_name.clone(),
                action: a.action_name.unwrap_or_default(),
                execution_id: execution_id.clone(),
                status: latest
                    .as_ref()
                    .and_then(|l| l.status.as_ref())
                    .map(|s| s.as_str().to_owned()),
                external_id: latest
                    .as_ref()
                    .and_then(|l| l.external_execution_id.clone()),
                external_url: latest.and_then(|l| l.external_execution_url),
            });
        }
    }
    Ok(actions)
}

/// The configuration of one action of the pipeline's current declaration.
async fn action_configuration(
    client: &aws_sdk_codepipeline::Client,
    pipeline: &str,
    stage: &str,
    action: &str,
) -> Result<Option<HashMap<String, String>>> {
    let out = client
        .get_pipeline()
        .name(pipeline)
        .send()
        .await
        .map_err(|e| Error::aws("GetPipeline", e))?;
    Ok(out
        .pipeline
        .into_iter()
        .flat_map(|p| p.stages)
        .find(|s| s.name == stage)
        .and_then(|s| s.actions.into_iter().find(|a| a.name == action))
        .map(|a| a.configuration.unwrap_or_default()))
}

/// At most this many pages of `ListActionExecutions` (100 action runs each) are read for one
/// alert: a pipeline execution with more action runs than that is explained by its first 1,000.
const MAX_ACTION_PAGES: usize = 10;

/// The failed and other action runs of one pipeline execution (up to 1,000, in pages of 100).
async fn action_runs(
    client: &aws_sdk_codepipeline::Client,
    pipeline: &str,
    execution_id: &str,
) -> Result<Vec<ActionRun>> {
    let mut runs = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_ACTION_PAGES {
        let out = client
            .list_action_executions()
            .pipeline_name(pipeline)
            .filter(
                ActionExecutionFilter::builder()
                    .pipeline_execution_id(execution_id)
                    .build(),
            )
            .max_results(100)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| Error::aws("ListActionExecutions", e))?;
        runs.extend(
            out.action_execution_details
                .unwrap_or_default()
                .into_iter()
                .map(action_run),
        );
        match out.next_token {
            Some(next) if !next.is_empty() => token = Some(next),
            _ => break,
        }
    }
    Ok(runs)
}

fn action_run(d: aws_sdk_codepipeline::types::ActionExecutionDetail) -> ActionRun {
    let result = d.output.and_then(|o| o.execution_result);
    let error = result.as_ref().and_then(|r| r.error_details.clone());
    ActionRun {
        stage: d.stage_name.unwrap_or_default(),
        action: d.action_name.unwrap_or_default(),
        status: d.status.map(|s| s.as_str().to_owned()).unwrap_or_default(),
        provider: d.input.and_then(|i| i.action_type_id).map(|t| t.provider),
        summary: result
            .as_ref()
            .and_then(|r| r.external_execution_summary.clone()),
        error_code: error.as_ref().and_then(|e| e.code.clone()),
        error_message: error.and_then(|e| e.message),
        external_url: result
            .as_ref()
            .and_then(|r| r.external_execution_url.clone()),
        external_id: result.and_then(|r| r.external_execution_id),
    }
}

/// The trigger, status summary and source revisions of a pipeline execution.
async fn execution(
    client: &aws_sdk_codepipeline::Client,
    pipeline: &str,
    execution_id: &str,
) -> Result<ExecutionFacts> {
    let out = client
        .get_pipeline_execution()
        .pipeline_name(pipeline)
        .pipeline_execution_id(execution_id)
        .send()
        .await
        .map_err(|e| Error::aws("GetPipelineExecution", e))?;
    let Some(e) = out.pipeline_execution else {
        return Ok(ExecutionFacts::default());
    };
    Ok(ExecutionFacts {
        status: e.status.map(|s| s.as_str().to_owned()),
        status_summary: e.status_summary,
        trigger_type: e
            .trigger
            .as_ref()
            .and_then(|t| t.trigger_type.as_ref())
            .map(|t| t.as_str().to_owned()),
        trigger_detail: e.trigger.and_then(|t| t.trigger_detail),
        revisions: e
            .artifact_revisions
            .unwrap_or_default()
            .into_iter()
            .filter_map(|r| {
                Some((
                    r.name.unwrap_or_default(),
                    r.revision_id?,
                    r.revision_summary,
                ))
            })
            .take(5)
            .collect(),
    })
}

fn secs(t: &DateTime) -> i64 {
    t.secs()
}

/// What CodeDeploy knows about a deployment: its error, rollback, revision and creator.
async fn deployment(client: &aws_sdk_codedeploy::Client, id: &str) -> Result<DeploymentFacts> {
    let out = client
        .get_deployment()
        .deployment_id(id)
        .send()
        .await
        .map_err(|e| Error::aws("GetDeployment", e))?;
    let Some(d) = out.deployment_info else {
        return Ok(DeploymentFacts::default());
    };
    let revision = d.revision.as_ref().and_then(|r| {
        if let Some(s3) = &r.s3_location {
            let mut v = format!(
                "s3://{}/{}",
                s3.bucket.as_deref()?,
                s3.key.as_deref().unwrap_or("")
            );
            if let Some(ver) = &s3.version {
                v.push_str(&format!(" (version {ver})"));
            }
            Some(v)
        } else if let Some(gh) = &r.git_hub_location {
            Some(format!(
                "{}@{}",
                gh.repository.as_deref().unwrap_or("?"),
                gh.commit_id.as_deref().unwrap_or("?")
            ))
        } else {
            r.app_spec_content
                .as_ref()
                .and_then(|a| a.sha256.as_ref())
                .map(|h| format!("AppSpec sha256 {h}"))
        }
    });
    let rollback = d.rollback_info.clone();
    let rb = |f: fn(aws_sdk_codedeploy::types::RollbackInfo) -> Option<String>| {
        rollback.clone().and_then(f)
    };
    let duration_secs = match (&d.create_time, &d.complete_time) {
        (Some(a), Some(b)) if secs(b) >= secs(a) => Some((secs(b) - secs(a)) as u64),
        _ => None,
    };
    Ok(DeploymentFacts {
        status: d.status.map(|s| s.as_str().to_owned()),
        error_code: d
            .error_information
            .as_ref()
            .and_then(|e| e.code.as_ref())
            .map(|c| c.as_str().to_owned()),
        error_message: d.error_information.and_then(|e| e.message),
        creator: d.creator.map(|c| c.as_str().to_owned()),
        description: d.description,
        compute_platform: d.compute_platform.map(|c| c.as_str().to_owned()),
        deployment_config: d.deployment_config_name,
        revision,
        rollback_deployment_id: rb(|r| r.rollback_deployment_id),
        rollback_triggering_deployment_id: rb(|r| r.rollback_triggering_deployment_id),
        rollback_message: rb(|r| r.rollback_message),
        created: d.create_time.and_then(|t| {
            t.fmt(aws_sdk_codedeploy::primitives::DateTimeFormat::DateTime)
                .ok()
        }),
        duration_secs,
    })
}
