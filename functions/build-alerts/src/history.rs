//! The release history port: the read-only lookups that explain a failure (what the actions of
//! a pipeline execution did, what started the execution, what CodeDeploy knows about a
//! deployment), and the plain facts it returns. [`crate::history_aws::AwsReleaseHistory`] is
//! its SDK adapter, [`MemoryReleaseHistory`] its in-memory twin.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Mutex, MutexGuard, PoisonError};

use codehooks::{Error, Result};

/// Where pipeline executions and deployments can be looked up.
pub trait ReleaseHistory: Send + Sync {
    /// The action runs of one pipeline execution (at most 1,000).
    fn action_runs(
        &self,
        pipeline: &str,
        execution_id: &str,
    ) -> impl Future<Output = Result<Vec<ActionRun>>> + Send;

    /// The trigger, status summary and source revisions of a pipeline execution.
    fn execution(
        &self,
        pipeline: &str,
        execution_id: &str,
    ) -> impl Future<Output = Result<ExecutionFacts>> + Send;

    /// What CodeDeploy knows about a deployment: its error, rollback, revision and creator.
    fn deployment(
        &self,
        deployment_id: &str,
    ) -> impl Future<Output = Result<DeploymentFacts>> + Send;

    /// The latest run of every action of a pipeline (`GetPipelineState`).
    fn pipeline_state(
        &self,
        pipeline: &str,
    ) -> impl Future<Output = Result<Vec<ActionState>>> + Send;

    /// The configuration of one action of the pipeline's current declaration (`GetPipeline`);
    /// `None` when the pipeline has no such action.
    fn action_configuration(
        &self,
        pipeline: &str,
        stage: &str,
        action: &str,
    ) -> impl Future<Output = Result<Option<HashMap<String, String>>>> + Send;
}

/// What `GetPipelineState` says about the latest run of one action.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActionState {
    pub stage: String,
    pub action: String,
    /// The pipeline execution the stage ran last.
    pub execution_id: Option<String>,
    pub status: Option<String>,
    /// The build or deployment the action started (`project:uuid`, `d-...`).
    pub external_id: Option<String>,
    pub external_url: Option<String>,
}

/// What `ListActionExecutions` says about one action run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActionRun {
    pub stage: String,
    pub action: String,
    pub status: String,
    pub provider: Option<String>,
    pub summary: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub external_url: Option<String>,
    pub external_id: Option<String>,
}

/// What `GetPipelineExecution` says about the execution.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecutionFacts {
    pub status: Option<String>,
    pub status_summary: Option<String>,
    pub trigger_type: Option<String>,
    pub trigger_detail: Option<String>,
    /// (action name, revision id, summary)
    pub revisions: Vec<(String, String, Option<String>)>,
}

/// What `GetDeployment` says (each field may be missing).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeploymentFacts {
    pub status: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub creator: Option<String>,
    pub description: Option<String>,
    pub compute_platform: Option<String>,
    pub deployment_config: Option<String>,
    pub revision: Option<String>,
    pub rollback_deployment_id: Option<String>,
    pub rollback_triggering_deployment_id: Option<String>,
    pub rollback_message: Option<String>,
    pub created: Option<String>,
    pub duration_secs: Option<u64>,
}

/// The lookups of [`MemoryReleaseHistory`] a failure can be injected into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lookup {
    ActionRuns,
    Execution,
    Deployment,
    PipelineState,
    Pipeline,
}

impl Lookup {
    fn operation(self) -> &'static str {
        match self {
            Lookup::ActionRuns => "ListActionExecutions",
            Lookup::Execution => "GetPipelineExecution",
            Lookup::Deployment => "GetDeployment",
            Lookup::PipelineState => "GetPipelineState",
            Lookup::Pipeline => "GetPipeline",
        }
    }
}

#[derive(Debug, Default)]
struct Memory {
    action_runs: HashMap<(String, String), Vec<ActionRun>>,
    executions: HashMap<(String, String), ExecutionFacts>,
    deployments: HashMap<String, DeploymentFacts>,
    states: HashMap<String, Vec<ActionState>>,
    /// (pipeline, stage, action) -> configuration
    configurations: HashMap<(String, String, String), HashMap<String, String>>,
    failing: Vec<Lookup>,
    calls: Vec<String>,
}

/// The in-memory twin: what it was given, or nothing (empty facts) for what it was not.
#[derive(Debug, Default)]
pub struct MemoryReleaseHistory {
    inner: Mutex<Memory>,
}

impl MemoryReleaseHistory {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Memory> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn with_action_runs(
        self,
        pipeline: &str,
        execution_id: &str,
        runs: Vec<ActionRun>,
    ) -> Self {
        self.lock()
            .action_runs
            .insert((pipeline.to_owned(), execution_id.to_owned()), runs);
        self
    }

    pub fn with_execution(self, pipeline: &str, execution_id: &str, facts: ExecutionFacts) -> Self {
        self.lock()
            .executions
            .insert((pipeline.to_owned(), execution_id.to_owned()), facts);
        self
    }

    pub fn with_deployment(self, deployment_id: &str, facts: DeploymentFacts) -> Self {
        self.lock()
            .deployments
            .insert(deployment_id.to_owned(), facts);
        self
    }

    pub fn with_pipeline_state(self, pipeline: &str, actions: Vec<ActionState>) -> Self {
        self.lock().states.insert(pipeline.to_owned(), actions);
        self
    }

    pub fn with_action_configuration(
        self,
        pipeline: &str,
        stage: &str,
        action: &str,
        configuration: &[(&str, &str)],
    ) -> Self {
        let c = configuration
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.lock().configurations.insert(
            (pipeline.to_owned(), stage.to_owned(), action.to_owned()),
            c,
        );
        self
    }

    /// Every later `lookup` fails with an access-denied error.
    pub fn fail(&self, lookup: Lookup) {
        self.lock().failing.push(lookup);
    }

    /// The lookups made, as `ListActionExecutions <pipeline> <execution>`...
    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    fn call(&self, lookup: Lookup, args: &str) -> Result<MutexGuard<'_, Memory>> {
        let mut m = self.lock();
        m.calls.push(format!("{} {args}", lookup.operation()));
        if m.failing.contains(&lookup) {
            return Err(Error::Aws {
                operation: lookup.operation(),
                code: "AccessDeniedException".to_owned(),
                message: "injected by MemoryReleaseHistory".to_owned(),
                retryable: false,
            });
        }
        Ok(m)
    }
}

impl ReleaseHistory for MemoryReleaseHistory {
    async fn action_runs(&self, pipeline: &str, execution_id: &str) -> Result<Vec<ActionRun>> {
        let m = self.call(Lookup::ActionRuns, &format!("{pipeline} {execution_id}"))?;
        Ok(m.action_runs
            .get(&(pipeline.to_owned(), execution_id.to_owned()))
            .cloned()
            .unwrap_or_default())
    }

    async fn execution(&self, pipeline: &str, execution_id: &str) -> Result<ExecutionFacts> {
        let m = self.call(Lookup::Execution, &format!("{pipeline} {execution_id}"))?;
        Ok(m.executions
            .get(&(pipeline.to_owned(), execution_id.to_owned()))
            .cloned()
            .unwrap_or_default())
    }

    async fn deployment(&self, deployment_id: &str) -> Result<DeploymentFacts> {
        let m = self.call(Lookup::Deployment, deployment_id)?;
        Ok(m.deployments
            .get(deployment_id)
            .cloned()
            .unwrap_or_default())
    }

    async fn pipeline_state(&self, pipeline: &str) -> Result<Vec<ActionState>> {
        let m = self.call(Lookup::PipelineState, pipeline)?;
        Ok(m.states.get(pipeline).cloned().unwrap_or_default())
    }

    async fn action_configuration(
        &self,
        pipeline: &str,
        stage: &str,
        action: &str,
    ) -> Result<Option<HashMap<String, String>>> {
        let m = self.call(Lookup::Pipeline, &format!("{pipeline} {stage} {action}"))?;
        Ok(m.configurations
            .get(&(pipeline.to_owned(), stage.to_owned(), action.to_owned()))
            .cloned())
    }
}
