//! Unit tests of `lib.rs`.

use super::*;
use aws_sdk_codebuild::Client as CodeBuild;
use aws_sdk_codecommit::Client as CodeCommit;
use aws_sdk_codecommit::operation::get_comments_for_pull_request::GetCommentsForPullRequestOutput;
use aws_sdk_codecommit::operation::post_comment_for_pull_request::PostCommentForPullRequestOutput;
use aws_sdk_codecommit::types::{Comment, CommentsForPullRequest};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

const ME: &str = "arn:aws:sts::123456789012:assumed-role/pr-role/pr-comments";

fn aws_error(code: &'static str) -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(400).unwrap(),
        SdkBody::from(format!(r#"{{"__type":"{code}","message":"refused"}}"#)),
    )
}

fn app(cc: CodeCommit, cb: CodeBuild, author: Option<&str>) -> App {
    let mut env = Env::from_pairs([("CODEHOOKS_PR_BUILD_PROJECT", "pr-validate")]);
    let common = Common::read(&mut env);
    let mut config = Config::read(&mut env);
    env.finish().unwrap();
    config.author = author.and_then(Author::parse);
    App::with_clients(common, config, cc, cb)
}

fn link() -> BuildLink {
    BuildLink {
        pull_request_id: "7".into(),
        repository: "app".into(),
        source_commit: "a".repeat(40),
        destination_commit: "b".repeat(40),
        revision_id: "c".repeat(64),
        source_reference: Some("refs/heads/f".into()),
        destination_reference: Some("refs/heads/main".into()),
    }
}

fn no_codebuild() -> CodeBuild {
    mock_client!(aws_sdk_codebuild, Vec::<&aws_smithy_mocks::Rule>::new())
}

#[tokio::test]
async fn a_reused_comment_token_is_handled_not_retried() {
    let post = mock!(CodeCommit::post_comment_for_pull_request)
        .then_http_response(|| aws_error("IdempotencyParameterMismatchException"));
    let cc = mock_client!(aws_sdk_codecommit, [&post]);
    let a = app(cc, no_codebuild(), None);
    let r = a
        .post_comment(&link(), "p:1", State::Started, "hello")
        .await
        .unwrap();
    assert_eq!(r, CommentResult::AlreadyPosted);
    assert_eq!(post.num_calls(), 1);
}

#[tokio::test]
async fn a_forged_marker_by_someone_else_is_skipped_and_a_new_comment_posted() {
    let marker = markdown::build_marker("p:1");
    let forged = format!("fake {marker} state `STARTED`");
    let get = mock!(CodeCommit::get_comments_for_pull_request).then_output(move || {
        GetCommentsForPullRequestOutput::builder()
            .comments_for_pull_request_data(
                CommentsForPullRequest::builder()
                    .comments(
                        Comment::builder()
                            .comment_id("c-1")
                            .content(forged.clone())
                            .author_arn("arn:aws:iam::123456789012:user/mallory")
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let update = mock!(CodeCommit::update_comment)
        .then_http_response(|| aws_error("CommentNotCreatedByCallerException"));
    let post = mock!(CodeCommit::post_comment_for_pull_request).then_output(|| {
        PostCommentForPullRequestOutput::builder()
            .comment(Comment::builder().comment_id("c-2").author_arn(ME).build())
            .build()
    });
    let cc = mock_client!(
        aws_sdk_codecommit,
        RuleMode::MatchAny,
        [&get, &update, &post]
    );
    // The author is not configured: UpdateComment decides, and the function learns its ARN.
    let a = app(cc, no_codebuild(), None);
    let r = a
        .upsert_comment(
            &link(),
            "p:1",
            State::Finished(Outcome::Failed),
            "result",
            true,
        )
        .await
        .unwrap();
    assert_eq!(r, CommentResult::Posted);
    assert_eq!((update.num_calls(), post.num_calls()), (1, 1));
    assert!(a.is_own("arn:aws:sts::123456789012:assumed-role/pr-role/another-session"));
    assert!(!a.is_own("arn:aws:iam::123456789012:user/mallory"));
}

#[tokio::test]
async fn with_a_known_author_other_comments_are_never_touched() {
    let marker = markdown::build_marker("p:1");
    let forged = format!("fake {marker} state `STARTED`");
    let get = mock!(CodeCommit::get_comments_for_pull_request).then_output(move || {
        GetCommentsForPullRequestOutput::builder()
            .comments_for_pull_request_data(
                CommentsForPullRequest::builder()
                    .comments(
                        Comment::builder()
                            .comment_id("c-1")
                            .content(forged.clone())
                            .author_arn("arn:aws:iam::123456789012:user/mallory")
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let update = mock!(CodeCommit::update_comment)
        .then_http_response(|| aws_error("CommentNotCreatedByCallerException"));
    let cc = mock_client!(aws_sdk_codecommit, RuleMode::MatchAny, [&get, &update]);
    let a = app(cc, no_codebuild(), Some(ME));
    let r = a
        .upsert_comment(&link(), "p:1", State::Superseded, "stopped", false)
        .await
        .unwrap();
    assert_eq!(r, CommentResult::NotFound);
    assert_eq!(update.num_calls(), 0);
}

#[tokio::test]
async fn expected_approval_refusals_are_handled_others_fail() {
    let refused = mock!(CodeCommit::update_pull_request_approval_state)
        .then_http_response(|| aws_error("RevisionNotCurrentException"));
    let cc = mock_client!(aws_sdk_codecommit, [&refused]);
    let a = app(cc, no_codebuild(), Some(ME));
    let r = a
        .set_approval(&link(), ApprovalState::Approve)
        .await
        .unwrap();
    assert_eq!(r, "APPROVE: revision-not-current");

    let denied = mock!(CodeCommit::update_pull_request_approval_state)
        .then_http_response(|| aws_error("AccessDeniedException"));
    let cc = mock_client!(aws_sdk_codecommit, [&denied]);
    let a = app(cc, no_codebuild(), Some(ME));
    let e = a
        .set_approval(&link(), ApprovalState::Revoke)
        .await
        .unwrap_err();
    assert_eq!(e.aws_code(), Some("AccessDeniedException"));
}

#[tokio::test]
async fn stopping_an_ended_build_is_fine() {
    let stop =
        mock!(CodeBuild::stop_build).then_http_response(|| aws_error("InvalidInputException"));
    let cb = mock_client!(aws_sdk_codebuild, [&stop]);
    let cc = mock_client!(aws_sdk_codecommit, Vec::<&aws_smithy_mocks::Rule>::new());
    let a = app(cc, cb, Some(ME));
    assert!(!a.stop_build("p:1").await.unwrap());
}

#[tokio::test]
async fn unknown_events_are_bad_input_before_any_call() {
    let cc = mock_client!(aws_sdk_codecommit, Vec::<&aws_smithy_mocks::Rule>::new());
    let a = app(cc, no_codebuild(), Some(ME));
    let e = a
        .dispatch(
            json!({"id": "1", "detail-type": "Object Created", "source": "aws.s3", "detail": {}}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "BadInput");
    let own = a
            .dispatch(json!({"id": "2", "detail-type": "CodeCommit Comment on Pull Request", "source": "aws.codecommit",
                "detail": {"callerUserArn": ME}}))
            .await
            .unwrap();
    assert_eq!(own["reason"], "comment event caused by pr-comments itself");
}
