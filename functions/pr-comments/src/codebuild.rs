//! The CodeBuild adapter of [`BuildRunner`]: the only code that calls CodeBuild. Of a
//! build's environment variables only the `CODEHOOKS_PR_*` ones leave this module.

use aws_sdk_codebuild::Client;
use aws_sdk_codebuild::types::{
    EnvironmentVariable, EnvironmentVariableType, SortOrderType, SourceType,
};
use codehooks::prbuild::vars;
use codehooks::{Error, Result};

use crate::paging::{self, Page};
use crate::ports::{Build, BuildRunner, StartBuild};

/// CodeBuild as the [`BuildRunner`].
#[derive(Debug, Clone)]
pub struct CodeBuildRunner {
    client: Client,
}

impl CodeBuildRunner {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

fn build_of(b: aws_sdk_codebuild::types::Build) -> Build {
    let variables = b
        .environment
        .as_ref()
        .and_then(|e| e.environment_variables.as_deref())
        .unwrap_or_default()
        .iter()
        .filter(|v| vars::ALL.contains(&v.name()))
        .map(|v| (v.name().to_owned(), v.value().to_owned()))
        .collect();
    Build {
        arn: b.arn,
        id: b.id,
        number: b.build_number.and_then(|n| u64::try_from(n).ok()),
        status: b.build_status.map(|s| s.as_str().to_owned()),
        variables,
    }
}

impl BuildRunner for CodeBuildRunner {
    async fn start(&self, build: &StartBuild) -> Result<Build> {
        let mut req = self
            .client
            .start_build()
            .project_name(&build.project)
            .source_type_override(SourceType::Codecommit)
            .source_location_override(&build.source_location)
            .source_version(&build.source_version)
            .idempotency_token(&build.token);
        for (name, value) in &build.variables {
            let var = EnvironmentVariable::builder()
                .name(*name)
                .value(value)
                .r#type(EnvironmentVariableType::Plaintext)
                .build()
                .map_err(|e| Error::internal(format!("environment variable {name}: {e}")))?;
            req = req.environment_variables_override(var);
        }
        let out = req.send().await.map_err(|e| Error::aws("StartBuild", e))?;
        let b = out
            .build_value
            .ok_or_else(|| Error::internal("StartBuild returned no build"))?;
        Ok(build_of(b))
    }

    async fn stop(&self, id: &str) -> Result<bool> {
        match self.client.stop_build().id(id).send().await {
            Ok(_) => Ok(true),
            Err(e) => match e.as_service_error() {
                Some(s)
                    if s.is_invalid_input_exception() || s.is_resource_not_found_exception() =>
                {
                    Ok(false)
                }
                _ => Err(Error::aws("StopBuild", e)),
            },
        }
    }

    async fn recent(&self, project: &str, max: usize) -> Result<Vec<String>> {
        let pages = paging::pages_for(max, paging::BUILDS_PER_PAGE);
        paging::collect("ListBuildsForProject", pages, max, |token| async move {
            let out = self
                .client
                .list_builds_for_project()
                .project_name(project)
                .sort_order(SortOrderType::Descending)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| Error::aws("ListBuildsForProject", e))?;
            Ok(Page {
                items: out.ids.unwrap_or_default(),
                next: out.next_token,
            })
        })
        .await
    }

    async fn batch_get(&self, ids: &[String]) -> Result<Vec<Build>> {
        let mut found = Vec::new();
        for chunk in ids.chunks(100) {
            let out = self
                .client
                .batch_get_builds()
                .set_ids(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| Error::aws("BatchGetBuilds", e))?;
            found.extend(out.builds.unwrap_or_default().into_iter().map(build_of));
        }
        Ok(found)
    }

    async fn badge_url(&self, project: &str) -> Result<Option<String>> {
        let out = self
            .client
            .batch_get_projects()
            .names(project)
            .send()
            .await
            .map_err(|e| Error::aws("BatchGetProjects", e))?;
        Ok(out
            .projects
            .unwrap_or_default()
            .into_iter()
            .find_map(|p| p.badge)
            .filter(|b| b.badge_enabled)
            .and_then(|b| b.badge_request_url))
    }
}
