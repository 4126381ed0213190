//! The in-memory twin of [`Jobs`] (CodePipeline's job answers): each job takes one answer, a
//! second is [`Reported::AlreadyCompleted`] as `InvalidJobStateException` makes it; every
//! call recorded, failures on demand.

use std::sync::Mutex;

use codehooks::Result;

use crate::facts::{JobResult, Reported};
use crate::ports::Jobs;
use crate::twin_faults::{Faults, lock};

#[derive(Debug, Default)]
struct JobsState {
    /// `(job id, answer)`, in the order they were taken.
    answers: Vec<(String, JobResult)>,
    calls: Vec<String>,
    faults: Faults,
}

/// CodePipeline's job answers in memory.
#[derive(Debug, Default)]
pub struct MemoryJobs {
    state: Mutex<JobsState>,
}

impl MemoryJobs {
    pub fn new() -> MemoryJobs {
        MemoryJobs::default()
    }

    /// The answer job `id` took.
    pub fn answer_of(&self, id: &str) -> Option<JobResult> {
        lock(&self.state)
            .answers
            .iter()
            .find(|(j, _)| j == id)
            .map(|(_, r)| r.clone())
    }

    /// Every call, `<operation> <job id>`.
    pub fn calls(&self) -> Vec<String> {
        lock(&self.state).calls.clone()
    }

    /// Makes the next `times` answers fail (`PutJobSuccessResult` or `PutJobFailureResult`).
    pub fn fail(&self, operation: &'static str, times: u32, retryable: bool) {
        lock(&self.state)
            .faults
            .0
            .insert(operation, (times, retryable));
    }
}

impl Jobs for MemoryJobs {
    async fn answer(&self, job_id: &str, result: &JobResult) -> Result<Reported> {
        let operation = match result {
            JobResult::Success { .. } => "PutJobSuccessResult",
            JobResult::Failure { .. } => "PutJobFailureResult",
        };
        let mut s = lock(&self.state);
        s.calls.push(format!("{operation} {job_id}"));
        s.faults.take(operation)?;
        if s.answers.iter().any(|(j, _)| j == job_id) {
            return Ok(Reported::AlreadyCompleted);
        }
        s.answers.push((job_id.to_owned(), result.clone()));
        Ok(Reported::Reported)
    }
}
