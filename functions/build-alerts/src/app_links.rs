//! The orchestration's links between layers: manual approval notices, the links pipeline
//! action events leave for their builds and deployments, the thread a build or deployment
//! joins, and what a recovered notice says about the run it closes.

use std::time::SystemTime;

use codehooks::Result;
use codehooks::alert::{Alert, AlertPublisher};
use codehooks::idempotency;
use codehooks::logtail::LogReader;
use codehooks::once::{OnceOnlyStore, State};

use super::App;
use crate::approval;
use crate::codebuild;
use crate::codepipeline::PipelineDetail;
use crate::event::Origin;
use crate::history::ReleaseHistory;
use crate::outcome::Outcome;
use crate::threads::{self, Place};

impl<P: AlertPublisher, S: OnceOnlyStore, H: ReleaseHistory, L: LogReader> App<P, S, H, L> {
    /// A manual approval that starts waiting: one notice per pipeline, execution, stage,
    /// action and attempt (when `CODEHOOKS_ALERTS_APPROVALS` is on).
    pub(super) async fn approval(
        &self,
        run: &Origin,
        d: &PipelineDetail,
        lease: SystemTime,
    ) -> Result<Outcome> {
        if !self.config.approvals {
            return Ok(Outcome::ignored(
                "approval notices are off (CODEHOOKS_ALERTS_APPROVALS)",
            ));
        }
        let stage = d.stage.as_deref().unwrap_or("");
        let action = d.action.as_deref().unwrap_or("");
        let attempt = d.attempt().to_string();
        let key = idempotency::key(
            "build-alerts/approval",
            &[&d.pipeline, &d.execution_id, stage, action, &attempt],
        );
        let make = || async {
            let read = self
                .history
                .action_configuration(&d.pipeline, stage, action)
                .await;
            let (configuration, problem) = match read {
                Ok(c) => (c, None),
                Err(e) => {
                    tracing::warn!(error = %e, "GetPipeline failed; the notice goes without the approval's text");
                    (None, Some(e.to_string()))
                }
            };
            threads::with_thread_attribute(approval::notice(
                d,
                run,
                configuration.as_ref(),
                problem.as_deref(),
                &self.config.approvers,
            ))
        };
        self.alert_once(&key, make, None, run, lease).await
    }

    /// Records where the build or deployment of a pipeline action ran (`link/<external id>`),
    /// for its own alert. A failure only logs: that alert then keeps its own thread.
    pub(super) async fn leave_link(&self, run: &Origin, d: &PipelineDetail) {
        let Some(store) = &self.store else {
            return;
        };
        let external = d
            .execution_result
            .as_ref()
            .and_then(|r| r.external_execution_id.as_deref())
            .filter(|e| !e.is_empty());
        let place = Place::new(
            &d.pipeline,
            &d.execution_id,
            d.stage.as_deref().unwrap_or(""),
            d.action.as_deref().unwrap_or(""),
        );
        let (Some(external), Some(place)) = (external, place) else {
            return;
        };
        let link = State {
            state: threads::LINK_STATE.to_owned(),
            at: run.time.clone(),
            detail: Some(place.to_detail()),
            ..State::default()
        };
        let key = threads::link_key(external);
        if let Err(e) = store.record_state(&key, &link, self.config.state_ttl).await {
            tracing::warn!(key, error = %e, "could not record where the action's run belongs");
        }
    }

    /// Where a pipeline action's build or deployment ran, from the link its action event left.
    pub(super) async fn linked(&self, external_id: &str) -> Option<Place> {
        let store = self.store.as_ref()?;
        match store.state(&threads::link_key(external_id)).await {
            Ok(Some(s)) if s.state == threads::LINK_STATE => {
                s.detail.as_deref().and_then(Place::from_detail)
            }
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(error = %e, "could not read where the run belongs");
                None
            }
        }
    }

    /// Where in `pipeline` the build `external_id` ran: its link, else `GetPipelineState`.
    pub(super) async fn place_of(
        &self,
        pipeline: &str,
        external_id: &str,
    ) -> Result<Option<Place>> {
        if let Some(place) = self.linked(external_id).await
            && place.pipeline == pipeline
        {
            return Ok(Some(place));
        }
        let states = self.history.pipeline_state(pipeline).await?;
        Ok(threads::find(&states, pipeline, external_id))
    }

    /// A build alert in its thread: a build a pipeline started joins the execution's thread
    /// (or the pipeline's, saying the execution could not be matched); every alert carries
    /// the `threadId` attribute.
    pub(super) async fn build_thread(
        &self,
        d: &codehooks::prbuild::BuildDetail,
        run: &Origin,
        mut alert: Alert,
    ) -> Alert {
        if let Some(pipeline) = codebuild::pipeline(d) {
            let found = if codehooks::names::is_name(pipeline, 1, 100, ".@-_") {
                self.place_of(pipeline, &threads::build_external_id(d))
                    .await
            } else {
                Ok(None)
            };
            match found {
                Ok(Some(place)) => threads::join(&mut alert, &place, &run.region),
                Ok(None) => threads::unmatched(
                    &mut alert,
                    pipeline,
                    "the pipeline's state does not show this build",
                ),
                Err(e) => {
                    tracing::warn!(error = %e, "GetPipelineState failed; alerting in the pipeline's thread");
                    threads::unmatched(&mut alert, pipeline, &e.to_string());
                }
            }
        }
        threads::with_thread_attribute(alert)
    }

    /// A recovered notice closes the failed run's thread, and says how long it was broken, how
    /// many runs failed, and links the first.
    pub(super) async fn close(&self, alert: &mut Alert, last: &State, run: &Origin) {
        let first = last.first.as_deref().or(last.detail.as_deref());
        let region = run.region.clone();
        let first_link = match alert.source.as_str() {
            "codepipeline" => first
                .filter(|e| Place::new(&alert.name, e, "s", "a").is_some())
                .map(|e| threads::execution_link(&region, &alert.name, e)),
            "codedeploy" | "codebuild" => {
                first.and_then(|id| threads::layer_url(&region, &run.account, threads::run_ref(id)))
            }
            _ => None,
        };
        match alert.source.as_str() {
            "codepipeline" => {
                if let Some(e) = last
                    .detail
                    .as_deref()
                    .filter(|e| Place::new(&alert.name, e, "s", "a").is_some())
                {
                    alert.thread_id = threads::execution_thread(&alert.name, e);
                }
            }
            "codedeploy" => {
                if let Some(id) = &last.detail
                    && let Some(place) = self.linked(id).await
                {
                    alert.thread_id = place.thread();
                }
            }
            _ => {}
        }
        threads::recovered(alert, last, &run.time, first_link);
    }
}

#[cfg(test)]
#[path = "app_links_test.rs"]
mod tests;
