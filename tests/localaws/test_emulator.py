"""Self-test of the local AWS servers: `python3 -m unittest discover -s tests/localaws`.

Standard library only (no moto): the emulator is called with urllib/http.client and a fake
SigV4 Authorization header, the Runtime API with a fake function loop on one kept-alive
connection, and serve.py as a child process.
"""

import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

import emulator
import runtime_api

HERE = os.path.dirname(os.path.abspath(__file__))
A, B, C, D = ("a" * 40, "b" * 40, "c" * 40, "d" * 40)
DEPLOYMENT = "d-ABCDEFGH1"
EXECUTION = "11111111-2222-3333-4444-555555555555"


def make_commit(bare):
    """A commit with an empty tree in the bare repository `bare`; returns its id."""
    env = dict(os.environ, GIT_DIR=bare, GIT_AUTHOR_NAME="a", GIT_AUTHOR_EMAIL="a@example.com",
               GIT_COMMITTER_NAME="a", GIT_COMMITTER_EMAIL="a@example.com", GIT_CONFIG_NOSYSTEM="1")
    tree = subprocess.run(["git", "mktree"], input="", capture_output=True, text=True, env=env,
                          check=True).stdout.strip()
    return subprocess.run(["git", "commit-tree", tree, "-m", "first"], capture_output=True, text=True,
                          env=env, check=True).stdout.strip()


def auth(key, region, service):
    return (f"AWS4-HMAC-SHA256 Credential={key}/20250101/{region}/{service}/aws4_request, "
            f"SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature={'0' * 64}")


class EmulatorTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = emulator.EmulatorServer().start()
        cls.base = f"http://{cls.server.hostport}"

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def setUp(self):
        self.control("reset", {})
        self.control("seed", {
            "region": "us-east-1",
            "codecommit": {"repositories": [{"repositoryName": "app", "branches": {"main": A, "feature": B}}]},
            "codebuild": {"projects": [{"name": "app-build", "badgeEnabled": True, "source": {
                "type": "CODECOMMIT", "location": "https://git-codecommit.us-east-1.amazonaws.com/v1/repos/app"}}]},
            "codedeploy": {"deployments": [{"deploymentId": DEPLOYMENT, "status": "InProgress"}],
                           "hooks": {DEPLOYMENT: ["hook-1"]}},
            "codepipeline": {"executions": [{"pipelineName": "pipe", "pipelineExecutionId": EXECUTION}]},
        })

    # -- helpers

    def control(self, path, body=None, method="POST"):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.base}/_emulator/{path}", data=data, method=method)
        with urllib.request.urlopen(req) as r:
            return json.loads(r.read())

    def call(self, target, body, key="AKIDALICE", region="us-east-1", service=None, raw=None, headers=None):
        """(status, parsed body, headers) of one AWS request."""
        prefix = target.split(".")[0]
        h = {"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1", "X-Amz-Date": "20250101T000000Z",
             "Authorization": auth(key, region, service or emulator.SERVICES.get(prefix, "codecommit"))}
        h.update(headers or {})
        h = {k: v for k, v in h.items() if v is not None}
        data = raw if raw is not None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + "/", data=data, headers=h, method="POST")
        try:
            with urllib.request.urlopen(req) as r:
                return r.status, json.loads(r.read()), r.headers
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read()), e.headers

    def ok(self, target, body, **kw):
        status, out, _ = self.call(target, body, **kw)
        self.assertEqual(status, 200, out)
        return out

    def fails(self, code, target, body, status=400, **kw):
        got, out, headers = self.call(target, body, **kw)
        self.assertEqual((got, out.get("__type")), (status, code), out)
        self.assertEqual(headers["x-amzn-ErrorType"], code)
        return out

    def open_pr(self, **kw):
        return self.ok("CodeCommit_20150413.CreatePullRequest", {
            "title": "Add feature", "clientRequestToken": "pr-token",
            "targets": [{"repositoryName": "app", "sourceReference": "feature"}]}, **kw)["pullRequest"]

    def comment(self, pr, **over):
        body = {"pullRequestId": pr["pullRequestId"], "repositoryName": "app", "beforeCommitId": A,
                "afterCommitId": pr["pullRequestTargets"][0]["sourceCommit"], "content": "Build passed",
                "clientRequestToken": "c-1"}
        body.update(over)
        return body

    # -- protocol

    def test_protocol_errors(self):
        self.fails("MissingAuthenticationTokenException", "CodeCommit_20150413.GetPullRequest",
                   {"pullRequestId": "1"}, headers={"Authorization": None})
        self.fails("InvalidSignatureException", "CodeCommit_20150413.GetPullRequest",
                   {"pullRequestId": "1"}, service="codebuild")
        self.fails("IncompleteSignatureException", "CodeCommit_20150413.GetPullRequest",
                   {"pullRequestId": "1"}, headers={"Authorization": "Bearer nope"})
        self.fails("UnknownOperationException", "CodeCommit_20150413.DeleteRepository", {"repositoryName": "app"})
        self.fails("UnknownOperationException", "Nope_20200101.Get", {})
        self.fails("SerializationException", "CodeCommit_20150413.GetPullRequest", None, raw=b"{not json")
        self.fails("SerializationException", "CodeCommit_20150413.GetPullRequest", {"pullRequestId": 1})
        status, out, headers = self.call("CodeCommit_20150413.GetRepository", {"repositoryName": "app"})
        self.assertEqual(status, 200)
        self.assertTrue(headers["x-amzn-RequestId"])
        self.assertEqual(out["repositoryMetadata"]["defaultBranch"], "main")

    def test_keep_alive(self):
        conn = http.client.HTTPConnection(self.server.hostport)
        for _ in range(3):
            body = json.dumps({"repositoryName": "app"})
            conn.request("POST", "/", body, {"X-Amz-Target": "CodeCommit_20150413.GetRepository",
                                             "Content-Type": "application/x-amz-json-1.1", "X-Amz-Date": "x",
                                             "Authorization": auth("AKIDALICE", "us-east-1", "codecommit")})
            r = conn.getresponse()
            data = r.read()
            self.assertEqual(int(r.headers["Content-Length"]), len(data))
            self.assertEqual(r.status, 200)
        conn.close()

    # -- CodeCommit

    def test_pull_request_comments(self):
        pr = self.open_pr()
        self.assertEqual(pr["pullRequestId"], "1")
        self.assertEqual(pr["pullRequestTargets"][0]["sourceReference"], "refs/heads/feature")
        self.assertEqual(self.open_pr()["pullRequestId"], "1")  # same token, same parameters
        first = self.ok("CodeCommit_20150413.PostCommentForPullRequest", self.comment(pr))
        again = self.ok("CodeCommit_20150413.PostCommentForPullRequest", self.comment(pr))
        self.assertEqual(first["comment"]["commentId"], again["comment"]["commentId"])
        self.assertEqual(first["comment"]["authorArn"], "arn:aws:sts::123456789012:assumed-role/AKIDALICE/session")
        self.fails("IdempotencyParameterMismatchException", "CodeCommit_20150413.PostCommentForPullRequest",
                   self.comment(pr, content="Build failed"))
        self.fails("CommentContentSizeLimitExceededException", "CodeCommit_20150413.PostCommentForPullRequest",
                   self.comment(pr, content="x" * 10241, clientRequestToken="c-2"))
        self.ok("CodeCommit_20150413.PostCommentForPullRequest",
                self.comment(pr, content="x" * 10240, clientRequestToken="c-3"))
        self.fails("PullRequestIdRequiredException", "CodeCommit_20150413.PostCommentForPullRequest",
                   self.comment(pr, pullRequestId=None))
        self.fails("InvalidPullRequestIdException", "CodeCommit_20150413.PostCommentForPullRequest",
                   self.comment(pr, pullRequestId="abc"))
        self.fails("PullRequestDoesNotExistException", "CodeCommit_20150413.PostCommentForPullRequest",
                   self.comment(pr, pullRequestId="42"))
        self.fails("InvalidCommitIdException", "CodeCommit_20150413.PostCommentForPullRequest",
                   self.comment(pr, afterCommitId=A, beforeCommitId=B, clientRequestToken="c-4"))
        self.fails("BeforeCommitIdAndAfterCommitIdAreSameException", "CodeCommit_20150413.PostCommentForPullRequest",
                   self.comment(pr, afterCommitId=A, clientRequestToken="c-5"))
        # Only the author may edit a comment.
        cid = first["comment"]["commentId"]
        self.fails("CommentNotCreatedByCallerException", "CodeCommit_20150413.UpdateComment",
                   {"commentId": cid, "content": "hijack"}, key="AKIDBOB")
        edited = self.ok("CodeCommit_20150413.UpdateComment", {"commentId": cid, "content": "Build passed (2)"})
        self.assertEqual(edited["comment"]["content"], "Build passed (2)")
        # GetComment: anyone may read a comment, with its author; strict about the id.
        read = self.ok("CodeCommit_20150413.GetComment", {"commentId": cid}, key="AKIDBOB")
        self.assertEqual(read["comment"]["content"], "Build passed (2)")
        self.assertEqual(read["comment"]["authorArn"], "arn:aws:sts::123456789012:assumed-role/AKIDALICE/session")
        self.fails("CommentIdRequiredException", "CodeCommit_20150413.GetComment", {})
        self.fails("InvalidCommentIdException", "CodeCommit_20150413.GetComment", {"commentId": "nope"})
        self.fails("CommentDoesNotExistException", "CodeCommit_20150413.GetComment",
                   {"commentId": "00000000-0000-4000-8000-000000000000"})
        # Pagination over the comments.
        page = self.ok("CodeCommit_20150413.GetCommentsForPullRequest", {"pullRequestId": "1", "maxResults": 1})
        self.assertEqual(len(page["commentsForPullRequestData"][0]["comments"]), 1)
        rest = self.ok("CodeCommit_20150413.GetCommentsForPullRequest",
                       {"pullRequestId": "1", "nextToken": page["nextToken"]})
        self.assertNotIn("nextToken", rest)
        self.fails("InvalidContinuationTokenException", "CodeCommit_20150413.GetCommentsForPullRequest",
                   {"pullRequestId": "1", "nextToken": "garbage"})
        state = self.control("state?region=us-east-1", method="GET")
        self.assertEqual(len(state["pullRequests"]["1"]["comments"]), 2)

    def test_approvals_and_revisions(self):
        pr = self.open_pr()
        rev = pr["revisionId"]
        approve = {"pullRequestId": "1", "revisionId": rev, "approvalState": "APPROVE"}
        self.fails("PullRequestCannotBeApprovedByAuthorException",
                   "CodeCommit_20150413.UpdatePullRequestApprovalState", approve)
        self.fails("InvalidApprovalStateException", "CodeCommit_20150413.UpdatePullRequestApprovalState",
                   dict(approve, approvalState="LGTM"), key="AKIDBOB")
        self.ok("CodeCommit_20150413.UpdatePullRequestApprovalState", approve, key="AKIDBOB")
        states = self.ok("CodeCommit_20150413.GetPullRequestApprovalStates", {"pullRequestId": "1", "revisionId": rev})
        self.assertEqual(states["approvals"], [{"userArn": "arn:aws:sts::123456789012:assumed-role/AKIDBOB/session",
                                                "approvalState": "APPROVE"}])
        # Moving the source branch makes a new revision.
        moved = self.control("branch", {"region": "us-east-1", "repositoryName": "app", "branch": "feature",
                                        "commitId": C})
        self.assertEqual(moved["updatedPullRequests"], ["1"])
        current = self.ok("CodeCommit_20150413.GetPullRequest", {"pullRequestId": "1"})["pullRequest"]
        self.assertNotEqual(current["revisionId"], rev)
        self.assertEqual(current["pullRequestTargets"][0]["sourceCommit"], C)
        self.fails("RevisionNotCurrentException", "CodeCommit_20150413.UpdatePullRequestApprovalState",
                   approve, key="AKIDBOB")
        self.ok("CodeCommit_20150413.UpdatePullRequestStatus", {"pullRequestId": "1", "pullRequestStatus": "CLOSED"})
        self.fails("PullRequestAlreadyClosedException", "CodeCommit_20150413.UpdatePullRequestApprovalState",
                   dict(approve, revisionId=current["revisionId"]), key="AKIDBOB")
        self.fails("InvalidPullRequestStatusUpdateException", "CodeCommit_20150413.UpdatePullRequestStatus",
                   {"pullRequestId": "1", "pullRequestStatus": "OPEN"})
        # Closed pull requests still take comments (PostCommentForPullRequest has no such error).
        self.ok("CodeCommit_20150413.PostCommentForPullRequest",
                self.comment(current, content="Deployed", clientRequestToken="c-closed"))

    def test_regions_are_separate(self):
        self.control("seed", {"region": "eu-west-1", "codecommit": {"repositories": [
            {"repositoryName": "app", "branches": {"main": C, "feature": D}}]}})
        self.open_pr()
        eu = self.open_pr(region="eu-west-1")
        self.assertEqual(eu["pullRequestId"], "1")
        self.assertEqual(eu["pullRequestTargets"][0]["sourceCommit"], D)
        self.fails("RepositoryDoesNotExistException", "CodeCommit_20150413.GetRepository",
                   {"repositoryName": "app"}, region="ap-south-1")

    def test_update_default_branch_is_strict(self):
        cc = "CodeCommit_20150413."
        update = cc + "UpdateDefaultBranch"
        self.fails("RepositoryNameRequiredException", update, {"defaultBranchName": "main"})
        self.fails("InvalidRepositoryNameException", update, {"repositoryName": "a b", "defaultBranchName": "main"})
        self.fails("BranchNameRequiredException", update, {"repositoryName": "app"})
        self.fails("BranchNameRequiredException", update, {"repositoryName": "app", "defaultBranchName": ""})
        for bad in ("a..b", "-x", "x.lock", "a b", "x/", "a:b", "@", "a/.b", "x" * 257):
            self.fails("InvalidBranchNameException", update, {"repositoryName": "app", "defaultBranchName": bad})
        self.fails("SerializationException", update, {"repositoryName": "app", "defaultBranchName": 7})
        self.fails("RepositoryDoesNotExistException", update, {"repositoryName": "nope", "defaultBranchName": "main"})
        self.fails("BranchDoesNotExistException", update, {"repositoryName": "app", "defaultBranchName": "release"})
        # A branch of another region does not count.
        self.control("seed", {"region": "eu-west-1", "codecommit": {"repositories": [
            {"repositoryName": "app", "branches": {"release": C}}]}})
        self.fails("BranchDoesNotExistException", update, {"repositoryName": "app", "defaultBranchName": "release"})
        # Success answers an empty body, also when nothing changes.
        self.assertEqual(self.ok(update, {"repositoryName": "app", "defaultBranchName": "feature"}), {})
        self.assertEqual(self.ok(update, {"repositoryName": "app", "defaultBranchName": "feature"}), {})
        meta = self.ok(cc + "GetRepository", {"repositoryName": "app"})["repositoryMetadata"]
        self.assertEqual(meta["defaultBranch"], "feature")
        self.assertEqual(self.control("requests?operation=UpdateDefaultBranch", method="GET")[-1]["body"],
                         {"repositoryName": "app", "defaultBranchName": "feature"})

    def test_default_branch_follows_the_linked_git_repositories(self):
        cc = "CodeCommit_20150413."
        with tempfile.TemporaryDirectory() as root:
            self.addCleanup(self.control, "git", {"root": None})
            self.ok(cc + "CreateRepository", {"repositoryName": "replica"}, region="eu-west-2")
            meta = self.ok(cc + "GetRepository", {"repositoryName": "replica"}, region="eu-west-2")["repositoryMetadata"]
            self.assertNotIn("defaultBranch", meta)  # an empty repository has none
            self.fails("BranchDoesNotExistException", cc + "UpdateDefaultBranch",
                       {"repositoryName": "replica", "defaultBranchName": "main"}, region="eu-west-2")
            with self.assertRaises(urllib.error.HTTPError) as bad:
                self.control("git", {"root": os.path.join(root, "missing")})
            self.assertEqual(bad.exception.code, 400)
            self.assertEqual(self.control("git", {"root": root}), {"root": os.path.abspath(root)})
            # The git server creates the bare repository; branches arrive by git push.
            bare = os.path.join(root, "eu-west-2", "replica")
            subprocess.run(["git", "init", "--quiet", "--bare", "-b", "trunk", bare], check=True)
            self.fails("BranchDoesNotExistException", cc + "UpdateDefaultBranch",
                       {"repositoryName": "replica", "defaultBranchName": "main"}, region="eu-west-2")
            commit = make_commit(bare)
            for branch in ("release", "main"):
                subprocess.run(["git", "--git-dir", bare, "update-ref", f"refs/heads/{branch}", commit], check=True)
            meta = self.ok(cc + "GetRepository", {"repositoryName": "replica"}, region="eu-west-2")["repositoryMetadata"]
            self.assertEqual(meta["defaultBranch"], "main")  # pushed together: main before the others
            self.assertEqual(self.ok(cc + "UpdateDefaultBranch", {"repositoryName": "replica",
                                                                  "defaultBranchName": "release"},
                                     region="eu-west-2"), {})
            head = subprocess.run(["git", "--git-dir", bare, "symbolic-ref", "HEAD"],
                                  capture_output=True, text=True, check=True).stdout.strip()
            self.assertEqual(head, "refs/heads/release")  # a clone checks out the default branch
            state = self.control("state?region=eu-west-2", method="GET")["repositories"]["replica"]
            self.assertEqual(state["repositoryMetadata"]["defaultBranch"], "release")
            self.assertEqual(state["branches"], {"main": commit, "release": commit})
            # The link is wiring, not AWS state: it survives a reset.
            self.control("reset", {})
            self.ok(cc + "CreateRepository", {"repositoryName": "replica"}, region="eu-west-2")
            meta = self.ok(cc + "GetRepository", {"repositoryName": "replica"}, region="eu-west-2")["repositoryMetadata"]
            self.assertEqual(meta["defaultBranch"], "release")  # the bare repository's HEAD branch

    # -- CodeBuild

    def test_builds(self):
        start = {"projectName": "app-build", "sourceVersion": B, "idempotencyToken": "t-1",
                 "environmentVariablesOverride": [{"name": "PR", "value": "1", "type": "PLAINTEXT"}]}
        build = self.ok("CodeBuild_20161006.StartBuild", start)["build"]
        self.assertEqual((build["buildNumber"], build["buildStatus"], build["buildComplete"]), (1, "IN_PROGRESS", False))
        self.assertTrue(build["id"].startswith("app-build:"))
        self.assertEqual(build["initiator"], "AKIDALICE/session")
        self.assertEqual(self.ok("CodeBuild_20161006.StartBuild", start)["build"]["id"], build["id"])
        self.fails("IdempotentParameterMismatchException", "CodeBuild_20161006.StartBuild", dict(start, sourceVersion=A))
        self.fails("ResourceNotFoundException", "CodeBuild_20161006.StartBuild", {"projectName": "nope"})
        self.fails("InvalidInputException", "CodeBuild_20161006.StartBuild", {})
        self.fails("InvalidInputException", "CodeBuild_20161006.StartBuild",
                   {"projectName": "app-build", "environmentVariablesOverride": [{"name": "X", "value": "1", "type": "RAW"}]})
        second = self.ok("CodeBuild_20161006.StartBuild", {"projectName": "app-build"})["build"]
        self.assertEqual(second["buildNumber"], 2)
        self.assertEqual(second["resolvedSourceVersion"], A)  # the head of app's default branch
        ids = self.ok("CodeBuild_20161006.ListBuildsForProject", {"projectName": "app-build"})["ids"]
        self.assertEqual(ids, [second["id"], build["id"]])
        done = self.control("build", {"region": "us-east-1", "id": build["id"], "buildStatus": "FAILED"})["build"]
        self.assertTrue(done["buildComplete"])
        stopped = self.ok("CodeBuild_20161006.StopBuild", {"id": build["id"]})["build"]
        self.assertEqual(stopped["buildStatus"], "FAILED")  # finished builds are left alone
        self.assertEqual(self.ok("CodeBuild_20161006.StopBuild", {"id": second["id"]})["build"]["buildStatus"], "STOPPED")
        got = self.ok("CodeBuild_20161006.BatchGetBuilds", {"ids": [build["id"], "app-build:missing"]})
        self.assertEqual(got["buildsNotFound"], ["app-build:missing"])
        self.fails("InvalidInputException", "CodeBuild_20161006.BatchGetBuilds", {"ids": [str(i) for i in range(101)]})
        projects = self.ok("CodeBuild_20161006.BatchGetProjects", {"names": ["app-build", "x"]})
        self.assertTrue(projects["projects"][0]["badge"]["badgeEnabled"])
        self.assertEqual(projects["projectsNotFound"], ["x"])

    # -- CodeDeploy and CodePipeline

    def test_lifecycle_hooks(self):
        put = {"deploymentId": DEPLOYMENT, "lifecycleEventHookExecutionId": "hook-1", "status": "Succeeded"}
        self.fails("InvalidDeploymentIdException", "CodeDeploy_20141006.GetDeployment", {"deploymentId": "d-123"})
        self.fails("DeploymentDoesNotExistException", "CodeDeploy_20141006.GetDeployment", {"deploymentId": "d-ABCDEFGH2"})
        self.fails("InvalidLifecycleEventHookExecutionIdException",
                   "CodeDeploy_20141006.PutLifecycleEventHookExecutionStatus", dict(put, lifecycleEventHookExecutionId="x"))
        self.fails("InvalidLifecycleEventHookExecutionStatusException",
                   "CodeDeploy_20141006.PutLifecycleEventHookExecutionStatus", dict(put, status="Skipped"))
        out = self.ok("CodeDeploy_20141006.PutLifecycleEventHookExecutionStatus", put)
        self.assertEqual(out, {"lifecycleEventHookExecutionId": "hook-1"})
        self.fails("LifecycleEventAlreadyCompletedException",
                   "CodeDeploy_20141006.PutLifecycleEventHookExecutionStatus", dict(put, status="Failed"))
        self.assertEqual(self.control(f"hooks?region=us-east-1&deploymentId={DEPLOYMENT}", method="GET"),
                         {"hook-1": "Succeeded"})

    def test_pipeline(self):
        got = self.ok("CodePipeline_20150709.GetPipelineExecution",
                      {"pipelineName": "pipe", "pipelineExecutionId": EXECUTION})
        self.assertEqual(got["pipelineExecution"]["pipelineName"], "pipe")
        self.fails("ValidationException", "CodePipeline_20150709.GetPipelineExecution",
                   {"pipelineName": "pipe", "pipelineExecutionId": "not-a-uuid"})
        self.fails("PipelineNotFoundException", "CodePipeline_20150709.GetPipelineExecution",
                   {"pipelineName": "other", "pipelineExecutionId": EXECUTION})
        self.fails("PipelineExecutionNotFoundException", "CodePipeline_20150709.ListActionExecutions",
                   {"pipelineName": "pipe", "filter": {"pipelineExecutionId": EXECUTION.replace("1", "9")}})

    def test_pipeline_state_and_declaration(self):
        approval = {"name": "Approve", "actionTypeId": {"category": "Approval", "owner": "AWS",
                                                        "provider": "Manual", "version": "1"},
                    "configuration": {"CustomData": "Look first", "ExternalEntityLink": "https://x.example"}}
        self.control("seed", {"region": "us-east-1", "codepipeline": {
            "pipelineDeclarations": [{"name": "pipe", "roleArn": "arn:aws:iam::123456789012:role/p",
                                      "stages": [{"name": "Build", "actions": [{"name": "Compile"}]},
                                                 {"name": "Prod", "actions": [approval]}]}],
            "actionExecutions": {EXECUTION: [{"stageName": "Build", "actionName": "Compile", "status": "Failed",
                                              "output": {"executionResult": {"externalExecutionId": "b:1"}}}]}}})
        got = self.ok("CodePipeline_20150709.GetPipeline", {"name": "pipe"})
        self.assertEqual(got["pipeline"]["stages"][1]["actions"][0]["configuration"]["CustomData"], "Look first")
        self.fails("PipelineVersionNotFoundException", "CodePipeline_20150709.GetPipeline", {"name": "pipe", "version": 7})
        self.fails("ValidationException", "CodePipeline_20150709.GetPipeline", {"name": "bad name"})
        self.fails("ValidationException", "CodePipeline_20150709.GetPipelineState", {})
        self.fails("PipelineNotFoundException", "CodePipeline_20150709.GetPipelineState", {"name": "other"})
        state = self.ok("CodePipeline_20150709.GetPipelineState", {"name": "pipe"})
        build = state["stageStates"][0]
        self.assertEqual(build["latestExecution"], {"pipelineExecutionId": EXECUTION, "status": "Failed"})
        self.assertEqual(build["actionStates"][0]["latestExecution"]["externalExecutionId"], "b:1")
        self.assertNotIn("latestExecution", state["stageStates"][1])

    # -- control API

    def test_faults_and_request_log(self):
        self.control("faults", {"operation": "CodeDeploy_20141006.GetDeployment", "kind": "throttle", "count": 1})
        self.control("faults", {"operation": "*", "kind": "error5xx", "count": 1})
        body = {"deploymentId": DEPLOYMENT}
        self.fails("ThrottlingException", "CodeDeploy_20141006.GetDeployment", body)
        self.fails("InternalFailure", "CodeDeploy_20141006.GetDeployment", body, status=500)
        self.ok("CodeDeploy_20141006.GetDeployment", body)
        self.control("faults", {"operation": "*", "kind": "latency", "count": 1, "latency_ms": 150})
        t = time.monotonic()
        self.ok("CodeDeploy_20141006.GetDeployment", body)
        self.assertGreaterEqual(time.monotonic() - t, 0.15)
        log = self.control("requests?operation=GetDeployment", method="GET")
        self.assertEqual([r["status"] for r in log], [400, 500, 200, 200])
        self.assertEqual(log[0]["accessKeyId"], "AKIDALICE")
        self.assertEqual(log[0]["body"], body)
        self.assertEqual(log[0]["region"], "us-east-1")

    def test_reset_and_hold_faults(self):
        pr = self.open_pr()
        # reset: no answer, no effect.
        self.control("faults", {"operation": "PostCommentForPullRequest", "kind": "reset", "count": 1})
        with self.assertRaises((ConnectionError, http.client.HTTPException, urllib.error.URLError)):
            self.call("CodeCommit_20150413.PostCommentForPullRequest", self.comment(pr))
        state = self.control("state?region=us-east-1", method="GET")
        self.assertEqual(state["pullRequests"][pr["pullRequestId"]].get("comments", []), [])
        # reset_after: the effect happens, the answer is lost; the same token repeats it once.
        self.control("faults", {"operation": "PostCommentForPullRequest", "kind": "reset_after", "count": 1})
        with self.assertRaises((ConnectionError, http.client.HTTPException, urllib.error.URLError)):
            self.call("CodeCommit_20150413.PostCommentForPullRequest", self.comment(pr))
        self.ok("CodeCommit_20150413.PostCommentForPullRequest", self.comment(pr))
        state = self.control("state?region=us-east-1", method="GET")
        self.assertEqual(len(state["pullRequests"][pr["pullRequestId"]]["comments"]), 1)
        # hold: blocks until released, then applies.
        self.control("faults", {"operation": "GetPullRequest", "kind": "hold", "count": 1})
        out = {}
        t = threading.Thread(target=lambda: out.update(r=self.call(
            "CodeCommit_20150413.GetPullRequest", {"pullRequestId": pr["pullRequestId"]})))
        t.start()
        deadline = time.monotonic() + 5
        while self.control("faults", method="GET")["held"] != 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertNotIn("r", out)
        self.assertEqual(self.control("release", {}), {"released": 1})
        t.join(5)
        self.assertEqual(out["r"][0], 200)


class FakeFunction(threading.Thread):
    """Polls the Runtime API on one kept-alive connection, as the lambda_runtime crate does."""

    def __init__(self, hostport, handler):
        super().__init__(daemon=True)
        self.conn = http.client.HTTPConnection(hostport)
        self.handler = handler
        self.seen = []

    def run(self):
        try:
            while True:
                self.conn.request("GET", "/2018-06-01/runtime/invocation/next")
                r = self.conn.getresponse()
                event = json.loads(r.read())
                rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
                self.seen.append(dict(r.headers))
                kind, body = self.handler(event, int(r.headers["Lambda-Runtime-Deadline-Ms"]))
                if kind is None:
                    continue
                self.conn.request("POST", f"/2018-06-01/runtime/invocation/{rid}/{kind}", json.dumps(body))
                answer = self.conn.getresponse()
                answer.read()
                assert answer.status == 202, answer.status
        except (OSError, http.client.HTTPException):
            pass


def handler(event, deadline_ms):
    if event.get("fail"):
        return "error", {"errorType": "BadThing", "errorMessage": "it failed"}
    if event.get("hang"):
        return None, None
    return "response", {"echo": event, "remaining_ms": deadline_ms - int(time.time() * 1000)}


class RuntimeApiTest(unittest.TestCase):
    def setUp(self):
        self.server = runtime_api.RuntimeApiServer("deploy-hook").start()
        self.function = FakeFunction(self.server.hostport, handler)
        self.function.start()

    def tearDown(self):
        self.function.conn.close()
        self.server.stop()

    def invoke(self, event, timeout_ms=5000):
        req = urllib.request.Request(f"http://{self.server.hostport}/_invoke", method="POST",
                                     data=json.dumps({"event": event, "timeout_ms": timeout_ms}).encode())
        with urllib.request.urlopen(req) as r:
            return json.loads(r.read())

    def test_round_trip(self):
        out = self.invoke({"n": 1})
        self.assertEqual(out["status"], "ok")
        self.assertEqual(out["response"]["echo"], {"n": 1})
        self.assertTrue(0 < out["response"]["remaining_ms"] <= 5000)
        self.assertIsNone(out["error"])
        headers = self.function.seen[0]
        self.assertEqual(headers["Lambda-Runtime-Aws-Request-Id"], out["request_id"])
        self.assertEqual(headers["Lambda-Runtime-Invoked-Function-Arn"],
                         "arn:aws:lambda:us-east-1:123456789012:function:deploy-hook")
        self.assertTrue(headers["Lambda-Runtime-Trace-Id"].startswith("Root=1-"))
        self.assertEqual(self.invoke({"n": 2})["response"]["echo"], {"n": 2})  # same connection

        err = self.invoke({"fail": True})
        self.assertEqual((err["status"], err["error"]), ("error", {"errorType": "BadThing", "errorMessage": "it failed"}))

        t = time.monotonic()
        late = self.invoke({"hang": True}, timeout_ms=100)
        self.assertEqual(late["status"], "timeout")
        self.assertGreaterEqual(time.monotonic() - t, 2.0)
        with urllib.request.urlopen(f"http://{self.server.hostport}/_status") as r:
            status = json.loads(r.read())
        self.assertEqual((status["invocations"], status["polling"], status["init_error"]), (4, True, None))

    def test_crash_ends_the_running_invocation(self):
        out = {}
        t = threading.Thread(target=lambda: out.update(r=self.invoke({"hang": True}, timeout_ms=60_000)))
        t.start()
        deadline = time.monotonic() + 5
        while not self.function.seen and time.monotonic() < deadline:
            time.sleep(0.01)
        req = urllib.request.Request(f"http://{self.server.hostport}/_crash", method="POST", data=b"{}")
        with urllib.request.urlopen(req) as r:
            self.assertEqual(len(json.loads(r.read())["crashed"]), 1)
        t.join(5)
        self.assertEqual((out["r"]["status"], out["r"]["error"]["errorType"]), ("error", "Runtime.ExitError"))

    def test_init_error(self):
        conn = http.client.HTTPConnection(self.server.hostport)
        conn.request("POST", "/2018-06-01/runtime/init/error",
                     json.dumps({"errorType": "Runtime.InitError", "errorMessage": "missing config"}))
        r = conn.getresponse()
        self.assertEqual((r.status, json.loads(r.read())), (202, {"status": "OK"}))
        conn.close()
        out = self.invoke({"n": 1})
        self.assertEqual(out["status"], "error")
        self.assertEqual(out["error"]["errorMessage"], "missing config")


class LauncherTest(unittest.TestCase):
    def test_serve_prints_one_line_and_exits_on_eof(self):
        proc = subprocess.Popen([sys.executable, os.path.join(HERE, "serve.py"), "--emulator",
                                 "--runtime-api", "pr-comments"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            line = json.loads(proc.stdout.readline())
            self.assertIsNone(line["moto"])
            self.assertTrue(line["emulator"].startswith("http://127.0.0.1:"))
            hostport = line["runtime_apis"]["pr-comments"]
            with urllib.request.urlopen(f"http://{hostport}/_status") as r:
                self.assertEqual(json.loads(r.read())["invocations"], 0)
            proc.stdin.close()
            self.assertEqual(proc.wait(timeout=10), 0)
            self.assertEqual(proc.stdout.read(), b"")
        finally:
            proc.kill()
            proc.wait()
            proc.stdout.close()


if __name__ == "__main__":
    unittest.main()
