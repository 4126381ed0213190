use super::*;

#[test]
fn failure_kinds_map_to_the_sdk_types_codepipeline_documents() {
    assert_eq!(
        failure_type(JobFailure::JobFailed),
        cp::FailureType::JobFailed
    );
    assert_eq!(
        failure_type(JobFailure::ConfigurationError),
        cp::FailureType::ConfigurationError
    );
    assert_eq!(failure_type(JobFailure::JobFailed).as_str(), "JobFailed");
}

#[test]
fn only_an_invalid_job_state_means_already_answered() {
    assert!(already_answered(Some("InvalidJobStateException")));
    assert!(!already_answered(Some("JobNotFoundException")));
    assert!(!already_answered(Some("ValidationException")));
    assert!(!already_answered(None));
}
