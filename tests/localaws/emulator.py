"""A small, strict local emulator of the CodeCommit, CodeBuild, CodeDeploy and CodePipeline
operations codehooks calls, speaking the AWS JSON 1.1 protocol the AWS SDK for Rust uses.
Beside it (`platforms.py`): Amazon ECS services and deployments (`ecs.py`), CodePipeline job
answers (`pipeline_jobs.py`), AWS Lambda Invoke (`lambda_invoke.py`, REST-JSON) and CloudWatch
(`cloudwatch.py`, RPC v2 CBOR, kept in moto); each module's docstring gives its operations, seed
keys and fault names.

AWS requests: `POST /` with `X-Amz-Target: <Prefix>.<Operation>`, a JSON body and a SigV4
`Authorization` header whose credential scope names the region (state is kept per region)
and the service. Signatures are not verified; the access key id names the caller, whose ARN
is `arn:aws:sts::123456789012:assumed-role/<AccessKeyId>/session`. Validation follows the
service models and API references (required members, lengths, enums, id formats, and each
operation's own error codes). Dates are epoch seconds.

Control API (plain JSON, no auth), for tests:
  POST   /_emulator/reset     clear everything
  POST   /_emulator/seed      merge repositories, projects, deployments, executions (see `seed`)
  POST   /_emulator/branch    move a branch (and open pull requests from it)
  POST   /_emulator/build     complete or alter a build
  POST   /_emulator/faults    fail or delay the next N calls of an operation; DELETE clears
                              (kinds: throttle, error5xx, error503, latency, and from
                              `faultproxy.FaultPlan`: reset, reset_after, hold)
  POST   /_emulator/release   lets every held call go on (see `faultproxy.py`); a fault with
                              "userAgent" only matches requests whose User-Agent contains it
  GET    /_emulator/requests  every AWS request received (?operation= filters)
  GET    /_emulator/state     the state of a region (?region=), for assertions
  GET    /_emulator/hooks     ?region=&deploymentId= -> {hookExecutionId: status}
  GET    /_emulator/invocations  Lambda invocations (?function=NAME), see `lambda_invoke.py`
  GET    /_emulator/jobs      CodePipeline jobs (?region=, ?id=); POST adds one, see `pipeline_jobs.py`
  POST   /_emulator/git       {"root": DIR} (or null): link the git server's repositories
                              (`git_server.py --root DIR`, `<DIR>/<region>/<name>`); kept
                              across resets (it is wiring, not AWS state)

CodeCommit branches: a repository's branches are those seeded or moved with the control API,
plus, once linked to the git server, the branches of its bare repository (what was pushed over
git). GetRepository's `defaultBranch` is absent until the repository has a branch; then, as in
AWS where the first branch pushed becomes the default, it is the one branch, or when several
arrived before the repository was looked at (one push) the bare repository's HEAD branch,
`main`, `master` or the first by name; once set it stays.
UpdateDefaultBranch accepts only a branch the repository has (BranchDoesNotExistException
otherwise) and points the bare repository's HEAD at it, as a CodeCommit clone checks it out.

Run alone: `python emulator.py [--verbose]` prints `{"endpoint": "http://127.0.0.1:PORT"}`
and serves until stdin reaches EOF.
"""

import base64
import copy
import json
import os
import re
import secrets
import subprocess
import sys
import threading
import time
import traceback
import uuid
from urllib.parse import parse_qs, urlsplit

import faultproxy
import httpbase

# Run as a script, this module is also `emulator` for the service modules that import it.
sys.modules.setdefault("emulator", sys.modules[__name__])

ACCOUNT = "123456789012"
SERVICES = {
    "CodeCommit_20150413": "codecommit",
    "CodeBuild_20161006": "codebuild",
    "CodeDeploy_20141006": "codedeploy",
    "CodePipeline_20150709": "codepipeline",
    "AmazonEC2ContainerServiceV20141113": "ecs",
}
CONTENT_TYPES = ("application/x-amz-json-1.1", "application/x-amz-json-1.0")
AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256 +Credential=([^/,\s]+)/(\d{8})/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request, *"
    r"SignedHeaders=([a-z0-9;_.-]+), *Signature=([0-9a-f]{64})$"
)
SHA_RE = re.compile(r"^[0-9a-f]{40}$")
REVISION_RE = re.compile(r"^[0-9a-f]{64}$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
REPO_NAME_RE = re.compile(r"^[\w.-]{1,100}$", re.ASCII)
DEPLOYMENT_ID_RE = re.compile(r"^d-[A-Z0-9]{9}$")
CODEDEPLOY_NAME_RE = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,100}$")
PIPELINE_NAME_RE = re.compile(r"^[A-Za-z0-9.@_-]{1,100}$")
COMMENT_LIMIT = 10240
IDEMPOTENCY_WINDOW = 300  # CodeBuild keeps idempotency tokens for 5 minutes.
BUILD_STATUSES = ("SUCCEEDED", "FAILED", "FAULT", "TIMED_OUT", "IN_PROGRESS", "STOPPED")


class AwsError(Exception):
    """An AWS error answer: `{"__type": code, "message": ...}` with `status`."""

    def __init__(self, code, message, status=400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


class ControlError(Exception):
    """A bad control API request (answered 400 `{"error": ...}`)."""


class UnknownControl(Exception):
    """A control path that does not exist (answered 404)."""


class ResetConnection(Exception):
    """A fault: the connection is reset instead of answered."""


def now():
    return round(time.time(), 3)


def fingerprint(body, *drop):
    return json.dumps({k: v for k, v in body.items() if k not in drop}, sort_keys=True)


# ---------------------------------------------------------------- member access and checks

TYPES = {str: "string", int: "integer", list: "list", dict: "structure", bool: "boolean"}


def get(body, name, typ=str):
    """`body[name]` if present (None otherwise); a value of the wrong JSON type is a
    SerializationException, as the JSON protocol answers."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
        raise AwsError("SerializationException", f"Member {name} must be a {TYPES[typ]}")
    return value


def need(body, name, error, typ=str):
    """A required member: missing or empty raises `error`."""
    value = get(body, name, typ)
    if value is None or value == "" or value == []:
        raise AwsError(error, f"{name} is required")
    return value


def check_enum(value, allowed, error, name):
    if value is not None and value not in allowed:
        raise AwsError(error, f"Value '{value}' at '{name}' failed to satisfy constraint: "
                              f"Member must satisfy enum value set: [{', '.join(allowed)}]")
    return value


def page_token(kind, offset):
    return base64.urlsafe_b64encode(f"{kind}|{offset}".encode()).decode()


def page_offset(token, kind, error):
    """The offset a token from `page_token(kind, ...)` carries; anything else raises `error`."""
    if token is None:
        return 0
    try:
        k, offset = base64.urlsafe_b64decode(token.encode()).decode().rsplit("|", 1)
        if k == kind and int(offset) >= 0:
            return int(offset)
    except (ValueError, UnicodeError):
        pass
    raise AwsError(error, "The specified continuation token is not valid.")


def paginate(items, kind, token, limit, error):
    offset = page_offset(token, kind, error)
    if offset > len(items):
        raise AwsError(error, "The specified continuation token is not valid.")
    page = items[offset:offset + limit]
    nxt = page_token(kind, offset + limit) if offset + limit < len(items) else None
    return page, nxt


# ---------------------------------------------------------------- state

class Caller:
    def __init__(self, access_key, region):
        self.access_key = access_key
        self.region = region
        self.arn = f"arn:aws:sts::{ACCOUNT}:assumed-role/{access_key}/session"
        self.name = f"{access_key}/session"


class RegionState:
    """Everything the emulator knows about one region."""

    def __init__(self, name):
        self.name = name
        # CodeCommit
        self.repos = {}      # name -> {"metadata", "branches": {branch: sha}, "commits": set}
        self.git_root = None  # the git server's root when linked (see `Emulator.git_root`)
        self.prs = {}        # id -> {"pr", "revisions", "sources", "destinations", "approvals", "comments"}
        self.next_pr = 1
        self.comments = {}   # commentId -> {"comment", "pullRequestId", "repositoryName", ...}
        self.tokens = {}     # (operation, token) -> (fingerprint, result id, time)
        # CodeBuild
        self.projects = {}   # name -> project
        self.builds = {}     # id -> build (insertion order = start order)
        self.build_numbers = {}
        # CodeDeploy
        self.deployments = {}
        self.groups = {}     # (application, group) -> deploymentGroupInfo
        self.targets = {}    # deploymentId -> [deploymentTarget]
        self.hooks = {}      # deploymentId -> {hookExecutionId: status}
        # CodePipeline
        self.pipelines = set()
        self.executions = {}  # pipelineExecutionId -> pipelineExecution
        self.actions = {}     # pipelineExecutionId -> [actionExecutionDetail]
        self.declarations = {}  # pipeline name -> pipeline declaration (GetPipeline)
        platforms.init_region(self)  # ECS, Lambda, CloudWatch

    # -- CodeCommit helpers

    def repo(self, name):
        if name not in self.repos:
            raise AwsError("RepositoryDoesNotExistException", f"{name} does not exist")
        return self.repos[name]

    def add_repo(self, name, description=None, default_branch=None):
        t = now()
        meta = {
            "accountId": ACCOUNT,
            "repositoryId": str(uuid.uuid4()),
            "repositoryName": name,
            "lastModifiedDate": t,
            "creationDate": t,
            "cloneUrlHttp": f"https://git-codecommit.{self.name}.amazonaws.com/v1/repos/{name}",
            "cloneUrlSsh": f"ssh://git-codecommit.{self.name}.amazonaws.com/v1/repos/{name}",
            "Arn": f"arn:aws:codecommit:{self.name}:{ACCOUNT}:{name}",
        }
        if description is not None:
            meta["repositoryDescription"] = description
        if default_branch:
            meta["defaultBranch"] = default_branch
        self.repos[name] = {"metadata": meta, "branches": {}, "commits": set()}
        return self.repos[name]

    def git_dir(self, name):
        """The bare repository the linked git server serves for `name` (None when unlinked)."""
        return os.path.join(self.git_root, self.name, name) if self.git_root else None

    def git(self, name, *args):
        """Runs git in the linked bare repository of `name`: its stdout, or None when there is none."""
        d = self.git_dir(name)
        if d is None or not os.path.isdir(d):
            return None
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GIT_CONFIG_NOSYSTEM": "1",
               "HOME": d, "GIT_DIR": d}
        proc = subprocess.run(["git", *args], capture_output=True, text=True, env=env, check=False)
        return proc.stdout if proc.returncode == 0 else None

    def branches(self, name):
        """Every branch of repository `name`: the emulator's table and the linked git repository's."""
        out = dict(self.repo(name)["branches"])
        listing = self.git(name, "for-each-ref", "--format=%(refname:strip=2) %(objectname)", "refs/heads/")
        for line in (listing or "").splitlines():
            branch, _, sha = line.partition(" ")
            if branch and sha:
                out[branch] = sha
        return out

    def metadata(self, name):
        """GetRepository's metadata: once the repository has a branch it has a default branch."""
        meta = self.repo(name)["metadata"]
        if "defaultBranch" not in meta:
            branches = sorted(self.branches(name))
            if branches:
                head = (self.git(name, "symbolic-ref", "--quiet", "HEAD") or "").strip().removeprefix("refs/heads/")
                meta["defaultBranch"] = next(b for b in (head, "main", "master", branches[0]) if b in branches)
        return meta

    def set_branch(self, repo_name, branch, sha):
        """Moves a branch; open pull requests follow it. Returns the updated PR ids."""
        if repo_name not in self.repos:
            raise ControlError(f"no repository {repo_name} in {self.name}")
        if not isinstance(sha, str) or not SHA_RE.match(sha):
            raise ControlError(f"commitId must be 40 lowercase hex digits: {sha!r}")
        branch = branch.removeprefix("refs/heads/")
        repo = self.repos[repo_name]
        repo["branches"][branch] = sha
        repo["commits"].add(sha)
        repo["metadata"].setdefault("defaultBranch", "main" if "main" in repo["branches"] else branch)
        ref, updated = f"refs/heads/{branch}", []
        for pid, rec in self.prs.items():
            pr = rec["pr"]
            target = pr["pullRequestTargets"][0]
            if pr["pullRequestStatus"] != "OPEN" or target["repositoryName"] != repo_name:
                continue
            if target["sourceReference"] == ref and target["sourceCommit"] != sha:
                target["sourceCommit"] = sha
                rec["sources"].append(sha)
                pr["revisionId"] = secrets.token_hex(32)
                rec["revisions"].append(pr["revisionId"])
                pr["lastActivityDate"] = now()
                updated.append(pid)
            if target["destinationReference"] == ref and target["destinationCommit"] != sha:
                target["destinationCommit"] = sha
                rec["destinations"].append(sha)
                pr["lastActivityDate"] = now()
                updated.append(pid)
        return sorted(set(updated), key=int)

    def pr(self, body):
        """The pull request named by `pullRequestId`, with CodeCommit's checks."""
        pid = need(body, "pullRequestId", "PullRequestIdRequiredException")
        if not re.match(r"^[0-9]{1,20}$", pid):
            raise AwsError("InvalidPullRequestIdException", f"Invalid pull request ID: {pid}")
        if pid not in self.prs:
            raise AwsError("PullRequestDoesNotExistException", f"Pull request {pid} does not exist")
        return self.prs[pid]

    def dump(self):
        prs = {}
        for pid, rec in self.prs.items():
            prs[pid] = {
                "pullRequest": rec["pr"],
                "revisions": rec["revisions"],
                "approvals": rec["approvals"],
                "comments": [self.comment_view(self.comments[c]) for c in rec["comments"]],
            }
        return {
            "region": self.name,
            "repositories": {n: {"repositoryMetadata": self.metadata(n), "branches": self.branches(n)}
                             for n in self.repos},
            "pullRequests": prs,
            "projects": self.projects,
            "builds": self.builds,
            "deployments": self.deployments,
            "hooks": self.hooks,
            "pipelineExecutions": self.executions,
            **platforms.dump(self),
        }

    @staticmethod
    def comment_view(rec):
        out = {k: rec[k] for k in ("pullRequestId", "repositoryName", "beforeCommitId", "afterCommitId")}
        if rec["location"] is not None:
            out["location"] = rec["location"]
        out["comment"] = rec["comment"]
        return out

    def idempotent(self, operation, token, fp, window=None):
        """The id remembered for `token`, if the same parameters came with it before; a
        token reused with other parameters raises IdempotencyParameterMismatchException."""
        seen = self.tokens.get((operation, token))
        if seen is None or (window is not None and time.time() - seen[2] > window):
            return None
        if seen[0] != fp:
            code = ("IdempotentParameterMismatchException" if operation == "StartBuild"
                    else "IdempotencyParameterMismatchException")
            raise AwsError(code, "The client request token was already used with different parameters.")
        return seen[1]

    # -- CodeBuild helpers

    def project(self, name_or_arn):
        name = name_or_arn.split(":project/", 1)[-1] if name_or_arn.startswith("arn:") else name_or_arn
        return self.projects.get(name)

    def add_project(self, spec):
        spec = copy.deepcopy(spec)
        name = spec.get("name")
        if not isinstance(name, str) or not name:
            raise ControlError("a project needs a name")
        enabled = bool(spec.pop("badgeEnabled", False))
        t = now()
        project = {
            "name": name,
            "arn": f"arn:aws:codebuild:{self.name}:{ACCOUNT}:project/{name}",
            "source": {"type": "CODECOMMIT",
                       "location": f"https://git-codecommit.{self.name}.amazonaws.com/v1/repos/{name}"},
            "artifacts": {"type": "NO_ARTIFACTS"},
            "environment": {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                            "computeType": "BUILD_GENERAL1_SMALL", "environmentVariables": [],
                            "privilegedMode": False, "imagePullCredentialsType": "CODEBUILD"},
            "serviceRole": f"arn:aws:iam::{ACCOUNT}:role/codebuild-{name}",
            "timeoutInMinutes": 60,
            "queuedTimeoutInMinutes": 480,
            "encryptionKey": f"arn:aws:kms:{self.name}:{ACCOUNT}:alias/aws/s3",
            "tags": [],
            "created": t,
            "lastModified": t,
            "badge": {"badgeEnabled": enabled},
            "logsConfig": {"cloudWatchLogs": {"status": "ENABLED"}, "s3Logs": {"status": "DISABLED"}},
            "projectVisibility": "PRIVATE",
        }
        if enabled:
            token = base64.b64encode(json.dumps({"project": name, "region": self.name}).encode()).decode()
            project["badge"]["badgeRequestUrl"] = f"https://codebuild.{self.name}.amazonaws.com/badges?uuid={token}"
        project.update(spec)
        self.projects[name] = project

    def build(self, build_id):
        if build_id not in self.builds:
            raise AwsError("ResourceNotFoundException", f"Build {build_id} does not exist")
        return self.builds[build_id]

    def resolve_source(self, project, version):
        """The commit a source version names, from the branch table of the project's repository."""
        m = re.search(r"/v1/repos/([^/]+)$", project.get("source", {}).get("location", ""))
        if version and SHA_RE.match(version):
            return version
        if not m or m.group(1) not in self.repos:
            return None
        repo = self.repos[m.group(1)]
        branch = (version or "").removeprefix("refs/heads/") or repo["metadata"].get("defaultBranch")
        return repo["branches"].get(branch)

    # -- CodeDeploy helpers

    def deployment_known(self, body):
        did = need(body, "deploymentId", "DeploymentIdRequiredException")
        if not DEPLOYMENT_ID_RE.match(did):
            raise AwsError("InvalidDeploymentIdException", f"Specified deploymentId is invalid: {did}")
        if did not in self.deployments and did not in self.targets and did not in self.hooks:
            raise AwsError("DeploymentDoesNotExistException", f"The deployment {did} could not be found.")
        return did

    def started(self, did):
        status = self.deployments.get(did, {}).get("status")
        if status in ("Created", "Queued"):
            raise AwsError("DeploymentNotStartedException", f"The deployment {did} has not started.")

    # -- CodePipeline helpers

    def pipeline(self, body):
        name = get(body, "pipelineName")
        if name is None:
            raise AwsError("ValidationException", "1 validation error detected: Value null at "
                                                  "'pipelineName' failed to satisfy constraint: Member must not be null")
        if not PIPELINE_NAME_RE.match(name):
            raise AwsError("ValidationException", f"1 validation error detected: Value '{name}' at "
                                                  "'pipelineName' failed to satisfy constraint")
        return name


def target_id(target):
    """The targetId of a seeded deploymentTarget (whichever kind it is)."""
    for kind in ("ecsTarget", "cloudFormationTarget", "lambdaTarget", "instanceTarget"):
        if isinstance(target.get(kind), dict):
            return target[kind].get("targetId"), target[kind]
    return None, {}


# ---------------------------------------------------------------- operations

OPERATIONS = {}


def operation(prefix, name):
    def register(fn):
        OPERATIONS[f"{prefix}.{name}"] = fn
        return fn
    return register


CC, CB, CD, CP = "CodeCommit_20150413", "CodeBuild_20161006", "CodeDeploy_20141006", "CodePipeline_20150709"


def repo_name(body, required=True):
    name = need(body, "repositoryName", "RepositoryNameRequiredException") if required else get(body, "repositoryName")
    if name is not None and (not REPO_NAME_RE.match(name) or name.endswith(".git")):
        raise AwsError("InvalidRepositoryNameException", f"Invalid repository name: {name}")
    return name


def commit_id(body, name):
    sha = need(body, name, "CommitIdRequiredException")
    if not SHA_RE.match(sha):
        raise AwsError("InvalidCommitIdException", f"The specified commit ID is not valid: {sha}")
    return sha


def comment_content(body):
    content = need(body, "content", "CommentContentRequiredException")
    if len(content) > COMMENT_LIMIT:
        raise AwsError("CommentContentSizeLimitExceededException",
                       f"Comments are limited to {COMMENT_LIMIT} characters; this one has {len(content)}.")
    return content


def request_token(body):
    token = get(body, "clientRequestToken")
    if token is not None and not (1 <= len(token) <= 64):
        raise AwsError("InvalidClientRequestTokenException", "The client request token is not valid.")
    return token


@operation(CC, "CreateRepository")
def create_repository(st, body, caller):
    name = repo_name(body)
    desc = get(body, "repositoryDescription")
    if desc is not None and len(desc) > 1000:
        raise AwsError("InvalidRepositoryDescriptionException", "The description is longer than 1000 characters.")
    get(body, "tags", dict)
    if name in st.repos:
        raise AwsError("RepositoryNameExistsException", f"Repository named {name} already exists")
    return {"repositoryMetadata": st.add_repo(name, desc)["metadata"]}


@operation(CC, "GetRepository")
def get_repository(st, body, caller):
    return {"repositoryMetadata": st.metadata(repo_name(body))}


@operation(CC, "UpdateDefaultBranch")
def update_default_branch(st, body, caller):
    """Sets the default branch to a branch the repository has; the same name again succeeds."""
    name = repo_name(body)
    branch = need(body, "defaultBranchName", "BranchNameRequiredException")
    if len(branch) > 256 or not branch_name_ok(branch):
        raise AwsError("InvalidBranchNameException", f"The specified reference name is not valid: {branch}")
    meta = st.metadata(name)
    if branch not in st.branches(name):
        raise AwsError("BranchDoesNotExistException", f"Branch {branch} does not exist in {name}")
    if meta.get("defaultBranch") != branch:
        meta["defaultBranch"] = branch
        meta["lastModifiedDate"] = now()
        st.git(name, "symbolic-ref", "HEAD", f"refs/heads/{branch}")
    return {}


@operation(CC, "ListRepositories")
def list_repositories(st, body, caller):
    """Pages of up to 1,000 (name, id) pairs; nextToken is opaque to the caller."""
    sort_by = get(body, "sortBy") or "repositoryName"
    order = get(body, "order") or "ascending"
    if sort_by not in ("repositoryName", "lastModifiedDate"):
        raise AwsError("InvalidSortByException", "The specified sort by value is not valid.")
    if order not in ("ascending", "descending"):
        raise AwsError("InvalidOrderException", "The specified sort order is not valid.")
    metas = sorted((r["metadata"] for r in st.repos.values()), key=lambda m: (m[sort_by], m["repositoryName"]),
                   reverse=order == "descending")
    token = get(body, "nextToken")
    start = 0
    if token is not None:
        if not token.startswith("page-") or not token[5:].isdigit() or int(token[5:]) > len(metas):
            raise AwsError("InvalidContinuationTokenException", "The continuation token is not valid.")
        start = int(token[5:])
    page = metas[start:start + 1000]
    out = {"repositories": [{"repositoryName": m["repositoryName"], "repositoryId": m["repositoryId"]} for m in page]}
    if start + 1000 < len(metas):
        out["nextToken"] = f"page-{start + 1000}"
    return out


def branch_name_ok(branch):
    """A branch name git accepts (`git check-ref-format --branch`), as CodeCommit requires."""
    return not (not branch or re.search(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|//|@\{", branch) or branch == "@"
                or branch.startswith(("-", "/", ".")) or branch.endswith(("/", ".", ".lock"))
                or "/." in branch or ".lock/" in branch)


def reference(value):
    """A branch reference as CodeCommit stores it (`refs/heads/NAME`)."""
    if value.startswith("refs/") and not value.startswith("refs/heads/"):
        raise AwsError("ReferenceTypeNotSupportedException", f"Only branches are supported: {value}")
    branch = value.removeprefix("refs/heads/")
    if (not branch or re.search(r"[\s~^:?*\[\\]|\.\.|//|@\{", branch) or branch.startswith(("-", "/", "."))
            or branch.endswith(("/", ".", ".lock"))):
        raise AwsError("InvalidReferenceNameException", f"Invalid reference name: {value}")
    return branch


@operation(CC, "CreatePullRequest")
def create_pull_request(st, body, caller):
    title = need(body, "title", "TitleRequiredException")
    if len(title) > 150:
        raise AwsError("InvalidTitleException", "The pull request title is longer than 150 characters.")
    desc = get(body, "description")
    if desc is not None and len(desc) > 10240:
        raise AwsError("InvalidDescriptionException", "The description is longer than 10240 characters.")
    targets = need(body, "targets", "TargetsRequiredException", list)
    if not all(isinstance(t, dict) for t in targets):
        raise AwsError("InvalidTargetsException", "Targets must be a list of target objects.")
    if len({t.get("repositoryName") for t in targets}) > 1:
        raise AwsError("MultipleRepositoriesInPullRequestException", "Only one repository per pull request.")
    if len(targets) > 1:
        raise AwsError("InvalidTargetsException", "Only one target is supported.")
    target = targets[0]
    name = repo_name(target)
    source = reference(need(target, "sourceReference", "ReferenceNameRequiredException"))
    dest = get(target, "destinationReference")
    token = request_token(body)
    fp = fingerprint(body, "clientRequestToken")
    if token is not None:
        known = st.idempotent("CreatePullRequest", token, fp)
        if known is not None:
            return {"pullRequest": st.prs[known]["pr"]}
    repo = st.repo(name)
    dest = reference(dest) if dest is not None else repo["metadata"].get("defaultBranch")
    for branch in (source, dest):
        if branch is None or branch not in repo["branches"]:
            raise AwsError("ReferenceDoesNotExistException", f"Reference refs/heads/{branch} does not exist in {name}")
    if source == dest:
        raise AwsError("SourceAndDestinationAreSameException", "The source and destination are the same.")
    pid = str(st.next_pr)
    st.next_pr += 1
    t = now()
    src_sha, dst_sha = repo["branches"][source], repo["branches"][dest]
    pr = {
        "pullRequestId": pid,
        "title": title,
        "lastActivityDate": t,
        "creationDate": t,
        "pullRequestStatus": "OPEN",
        "authorArn": caller.arn,
        "pullRequestTargets": [{
            "repositoryName": name,
            "sourceReference": f"refs/heads/{source}",
            "destinationReference": f"refs/heads/{dest}",
            "destinationCommit": dst_sha,
            "sourceCommit": src_sha,
            "mergeBase": dst_sha,
            "mergeMetadata": {"isMerged": False},
        }],
        "revisionId": secrets.token_hex(32),
        "approvalRules": [],
    }
    if desc is not None:
        pr["description"] = desc
    if token is not None:
        pr["clientRequestToken"] = token
        st.tokens[("CreatePullRequest", token)] = (fp, pid, time.time())
    st.prs[pid] = {"pr": pr, "revisions": [pr["revisionId"]], "sources": [src_sha],
                   "destinations": [dst_sha], "approvals": {}, "comments": []}
    return {"pullRequest": pr}


@operation(CC, "GetPullRequest")
def get_pull_request(st, body, caller):
    return {"pullRequest": st.pr(body)["pr"]}


@operation(CC, "UpdatePullRequestStatus")
def update_pull_request_status(st, body, caller):
    rec = st.pr(body)
    status = need(body, "pullRequestStatus", "PullRequestStatusRequiredException")
    check_enum(status, ("OPEN", "CLOSED"), "InvalidPullRequestStatusException", "pullRequestStatus")
    if rec["pr"]["pullRequestStatus"] != "OPEN" or status != "CLOSED":
        raise AwsError("InvalidPullRequestStatusUpdateException",
                       "The pull request status update is not valid. The only valid update is from OPEN to CLOSED.")
    rec["pr"]["pullRequestStatus"] = "CLOSED"
    rec["pr"]["lastActivityDate"] = now()
    return {"pullRequest": rec["pr"]}


def location(body):
    loc = get(body, "location", dict)
    if loc is None:
        return None
    path = get(loc, "filePath")
    if not path:
        raise AwsError("PathRequiredException", "The filePath of a location is required.")
    if path.startswith("/") or "//" in path or path.endswith("/"):
        raise AwsError("InvalidFileLocationException", f"The location of the file is not valid: {path}")
    pos = get(loc, "filePosition", int)
    if pos is not None and pos < 0:
        raise AwsError("InvalidFilePositionException", f"The position is not valid: {pos}")
    check_enum(get(loc, "relativeFileVersion"), ("BEFORE", "AFTER"),
               "InvalidRelativeFileVersionEnumException", "location.relativeFileVersion")
    return loc


def check_commit_pair(st, rec, name, before, after):
    if before == after:
        raise AwsError("BeforeCommitIdAndAfterCommitIdAreSameException",
                       "The before commit ID and the after commit ID must be different.")
    commits = st.repos[name]["commits"]
    for sha in (before, after):
        if sha not in commits:
            raise AwsError("CommitDoesNotExistException", f"Commit {sha} does not exist in {name}")
    target = rec["pr"]["pullRequestTargets"][0]
    if before not in rec["destinations"] and before != target["mergeBase"]:
        raise AwsError("InvalidCommitIdException",
                       f"beforeCommitId {before} is neither the destination commit nor the merge base "
                       f"of pull request {rec['pr']['pullRequestId']}")
    if after not in rec["sources"]:
        raise AwsError("InvalidCommitIdException",
                       f"afterCommitId {after} is not a source commit of pull request {rec['pr']['pullRequestId']}")


def associated(rec, name):
    if rec["pr"]["pullRequestTargets"][0]["repositoryName"] != name:
        raise AwsError("RepositoryNotAssociatedWithPullRequestException",
                       f"Repository {name} is not associated with pull request {rec['pr']['pullRequestId']}")


@operation(CC, "PostCommentForPullRequest")
def post_comment_for_pull_request(st, body, caller):
    rec = st.pr(body)
    name = repo_name(body)
    before, after = commit_id(body, "beforeCommitId"), commit_id(body, "afterCommitId")
    content = comment_content(body)
    loc = location(body)
    token = request_token(body)
    fp = fingerprint(body, "clientRequestToken")
    if token is not None:
        known = st.idempotent("PostCommentForPullRequest", token, fp)
        if known is not None:
            return st.comment_view(st.comments[known])
    st.repo(name)
    associated(rec, name)
    check_commit_pair(st, rec, name, before, after)
    t = now()
    comment = {
        "commentId": str(uuid.uuid4()),
        "content": content,
        "creationDate": t,
        "lastModifiedDate": t,
        "authorArn": caller.arn,
        "deleted": False,
        "callerReactions": [],
        "reactionCounts": {},
    }
    if token is not None:
        comment["clientRequestToken"] = token
        st.tokens[("PostCommentForPullRequest", token)] = (fp, comment["commentId"], time.time())
    st.comments[comment["commentId"]] = {
        "comment": comment, "pullRequestId": rec["pr"]["pullRequestId"], "repositoryName": name,
        "beforeCommitId": before, "afterCommitId": after, "location": loc,
    }
    rec["comments"].append(comment["commentId"])
    rec["pr"]["lastActivityDate"] = t
    return st.comment_view(st.comments[comment["commentId"]])


@operation(CC, "UpdateComment")
def update_comment(st, body, caller):
    cid = need(body, "commentId", "CommentIdRequiredException")
    if not UUID_RE.match(cid):
        raise AwsError("InvalidCommentIdException", f"The comment ID is not in a valid format: {cid}")
    content = comment_content(body)
    if cid not in st.comments:
        raise AwsError("CommentDoesNotExistException", f"Comment {cid} does not exist")
    comment = st.comments[cid]["comment"]
    if comment["deleted"]:
        raise AwsError("CommentDeletedException", "This comment has already been deleted.")
    if comment["authorArn"] != caller.arn:
        raise AwsError("CommentNotCreatedByCallerException",
                       "You cannot modify or delete this comment. Only comment authors can modify or delete their comments.")
    comment["content"] = content
    comment["lastModifiedDate"] = now()
    return {"comment": comment}


@operation(CC, "GetComment")
def get_comment(st, body, caller):
    cid = need(body, "commentId", "CommentIdRequiredException")
    if not UUID_RE.match(cid):
        raise AwsError("InvalidCommentIdException", f"The comment ID is not in a valid format: {cid}")
    if cid not in st.comments:
        raise AwsError("CommentDoesNotExistException", f"Comment {cid} does not exist")
    comment = st.comments[cid]["comment"]
    if comment["deleted"]:
        raise AwsError("CommentDeletedException", "This comment has already been deleted.")
    return {"comment": comment}


@operation(CC, "GetCommentsForPullRequest")
def get_comments_for_pull_request(st, body, caller):
    rec = st.pr(body)
    name = repo_name(body, required=False)
    before, after = get(body, "beforeCommitId"), get(body, "afterCommitId")
    if name is not None:
        before, after = commit_id(body, "beforeCommitId"), commit_id(body, "afterCommitId")
    elif before is not None or after is not None:
        raise AwsError("RepositoryNameRequiredException",
                       "repositoryName must be specified when beforeCommitId and afterCommitId are included.")
    limit = get(body, "maxResults", int)
    if limit is not None and not 1 <= limit <= 500:
        raise AwsError("InvalidMaxResultsException", f"The specified number of maximum results is not valid: {limit}")
    kind = f"comments:{rec['pr']['pullRequestId']}"
    offset_token = get(body, "nextToken")
    page_offset(offset_token, kind, "InvalidContinuationTokenException")
    items = [st.comments[c] for c in rec["comments"]]
    if name is not None:
        st.repo(name)
        associated(rec, name)
        for sha in (before, after):
            if sha not in st.repos[name]["commits"]:
                raise AwsError("CommitDoesNotExistException", f"Commit {sha} does not exist in {name}")
        items = [c for c in items if c["beforeCommitId"] == before and c["afterCommitId"] == after]
    page, nxt = paginate(items, kind, offset_token, limit or 100, "InvalidContinuationTokenException")
    groups = {}
    for c in page:
        key = (c["repositoryName"], c["beforeCommitId"], c["afterCommitId"], json.dumps(c["location"], sort_keys=True))
        if key not in groups:
            group = {k: c[k] for k in ("pullRequestId", "repositoryName", "beforeCommitId", "afterCommitId")}
            if c["location"] is not None:
                group["location"] = c["location"]
            group["comments"] = []
            groups[key] = group
        groups[key]["comments"].append(c["comment"])
    out = {"commentsForPullRequestData": list(groups.values())}
    if nxt:
        out["nextToken"] = nxt
    return out


def revision(body):
    rev = need(body, "revisionId", "RevisionIdRequiredException")
    if not REVISION_RE.match(rev):
        raise AwsError("InvalidRevisionIdException", f"The revision ID is not valid: {rev}")
    return rev


@operation(CC, "UpdatePullRequestApprovalState")
def update_pull_request_approval_state(st, body, caller):
    rec = st.pr(body)
    rev = revision(body)
    state = need(body, "approvalState", "ApprovalStateRequiredException")
    check_enum(state, ("APPROVE", "REVOKE"), "InvalidApprovalStateException", "approvalState")
    pr = rec["pr"]
    if pr["pullRequestStatus"] == "CLOSED":
        raise AwsError("PullRequestAlreadyClosedException", f"Pull request {pr['pullRequestId']} is already closed.")
    if rev != pr["revisionId"]:
        raise AwsError("RevisionNotCurrentException",
                       "The revision ID provided in the request does not match the current revision ID.")
    if state == "APPROVE" and caller.arn == pr["authorArn"]:
        raise AwsError("PullRequestCannotBeApprovedByAuthorException",
                       "The approval cannot be applied because the user approving the pull request matches "
                       "the user who created the pull request.")
    rec["approvals"].setdefault(rev, {})[caller.arn] = state
    return {}


@operation(CC, "GetPullRequestApprovalStates")
def get_pull_request_approval_states(st, body, caller):
    rec = st.pr(body)
    rev = revision(body)
    if rev not in rec["revisions"]:
        raise AwsError("InvalidRevisionIdException", f"Revision {rev} is not a revision of this pull request.")
    approvals = rec["approvals"].get(rev, {})
    return {"approvals": [{"userArn": arn, "approvalState": s} for arn, s in approvals.items()]}


# -- CodeBuild

def invalid(message):
    return AwsError("InvalidInputException", message)


def non_empty(body, name, required=False):
    value = get(body, name)
    if value is None and required:
        raise invalid(f"1 validation error detected: Value null at '{name}' failed to satisfy "
                      "constraint: Member must not be null")
    if value is not None and value == "":
        raise invalid(f"1 validation error detected: Value '' at '{name}' failed to satisfy "
                      "constraint: Member must have length greater than or equal to 1")
    return value


def id_list(body, name):
    ids = get(body, name, list)
    if ids is None:
        raise invalid(f"1 validation error detected: Value null at '{name}' failed to satisfy "
                      "constraint: Member must not be null")
    if not 1 <= len(ids) <= 100:
        raise invalid(f"1 validation error detected: Value at '{name}' failed to satisfy constraint: "
                      "Member must have length less than or equal to 100 and greater than or equal to 1")
    if not all(isinstance(i, str) and i for i in ids):
        raise invalid(f"1 validation error detected: every member of '{name}' must be a non-empty string")
    return ids


def environment_overrides(body):
    env = get(body, "environmentVariablesOverride", list) or []
    for var in env:
        if not isinstance(var, dict):
            raise AwsError("SerializationException", "environmentVariablesOverride members must be structures")
        name = non_empty(var, "name", required=True)
        if get(var, "value") is None:
            raise invalid(f"Environment variable {name} has no value")
        check_enum(get(var, "type"), ("PLAINTEXT", "PARAMETER_STORE", "SECRETS_MANAGER"),
                   "InvalidInputException", "environmentVariablesOverride.member.type")
        if name.startswith("CODEBUILD_"):
            raise invalid(f"Invalid environment variable name {name}: names starting with CODEBUILD_ are reserved")
    return env


@operation(CB, "StartBuild")
def start_build(st, body, caller):
    name = non_empty(body, "projectName", required=True)
    env = environment_overrides(body)
    for member, lo, hi in (("timeoutInMinutesOverride", 5, 2160), ("queuedTimeoutInMinutesOverride", 5, 480)):
        value = get(body, member, int)
        if value is not None and not lo <= value <= hi:
            raise invalid(f"Value {value} at '{member}' must be between {lo} and {hi}")
    check_enum(get(body, "sourceTypeOverride"), ("CODECOMMIT", "CODEPIPELINE", "GITHUB", "GITLAB",
               "GITLAB_SELF_MANAGED", "S3", "BITBUCKET", "GITHUB_ENTERPRISE", "NO_SOURCE"),
               "InvalidInputException", "sourceTypeOverride")
    for member in ("sourceVersion", "imageOverride", "computeTypeOverride", "buildspecOverride"):
        non_empty(body, member)
    project = st.project(name)
    if project is None:
        raise AwsError("ResourceNotFoundException", f"Project cannot be found: "
                                                    f"arn:aws:codebuild:{st.name}:{ACCOUNT}:project/{name}")
    token = get(body, "idempotencyToken")
    fp = fingerprint(body, "idempotencyToken")
    if token is not None:
        known = st.idempotent("StartBuild", token, fp, window=IDEMPOTENCY_WINDOW)
        if known is not None:
            return {"build": st.builds[known]}
    pname = project["name"]
    number = st.build_numbers.get(pname, 0) + 1
    st.build_numbers[pname] = number
    build_id = f"{pname}:{uuid.uuid4()}"
    stream = build_id.split(":", 1)[1]
    environment = copy.deepcopy(project.get("environment", {}))
    variables = [v for v in environment.get("environmentVariables", [])
                 if v.get("name") not in {e["name"] for e in env}]
    environment["environmentVariables"] = variables + [{"type": "PLAINTEXT", **e} for e in env]
    for member, key in (("imageOverride", "image"), ("computeTypeOverride", "computeType"),
                        ("environmentTypeOverride", "type"), ("privilegedModeOverride", "privilegedMode")):
        if body.get(member) is not None:
            environment[key] = body[member]
    source = copy.deepcopy(project.get("source", {}))
    for member, key in (("sourceTypeOverride", "type"), ("sourceLocationOverride", "location"),
                        ("buildspecOverride", "buildspec")):
        if body.get(member) is not None:
            source[key] = body[member]
    version = body.get("sourceVersion") or project.get("sourceVersion")
    t = now()
    group = f"/aws/codebuild/{pname}"
    build = {
        "id": build_id,
        "arn": f"arn:aws:codebuild:{st.name}:{ACCOUNT}:build/{build_id}",
        "buildNumber": number,
        "startTime": t,
        "currentPhase": "SUBMITTED",
        "buildStatus": "IN_PROGRESS",
        "projectName": pname,
        "phases": [{"phaseType": "SUBMITTED", "startTime": t}],
        "source": source,
        "secondarySources": [],
        "secondarySourceVersions": [],
        "artifacts": {"location": ""},
        "environment": environment,
        "serviceRole": project.get("serviceRole"),
        "logs": {
            "groupName": group,
            "streamName": stream,
            "deepLink": f"https://console.aws.amazon.com/cloudwatch/home?region={st.name}"
                        f"#logEvent:group={group};stream={stream}",
            "cloudWatchLogsArn": f"arn:aws:logs:{st.name}:{ACCOUNT}:log-group:{group}:log-stream:{stream}",
            "cloudWatchLogs": {"status": "ENABLED"},
            "s3Logs": {"status": "DISABLED"},
        },
        "timeoutInMinutes": body.get("timeoutInMinutesOverride") or project.get("timeoutInMinutes", 60),
        "queuedTimeoutInMinutes": body.get("queuedTimeoutInMinutesOverride") or project.get("queuedTimeoutInMinutes", 480),
        "buildComplete": False,
        "initiator": caller.name,
        "encryptionKey": project.get("encryptionKey"),
    }
    if version:
        build["sourceVersion"] = version
    resolved = st.resolve_source(project, version)
    if resolved:
        build["resolvedSourceVersion"] = resolved
    build = {k: v for k, v in build.items() if v is not None}
    st.builds[build_id] = build
    if token is not None:
        st.tokens[("StartBuild", token)] = (fp, build_id, time.time())
    return {"build": build}


def finish_build(build, status, phases=None, current=None):
    t = now()
    build["buildStatus"] = status
    if phases is not None:
        build["phases"] = phases
    if status == "IN_PROGRESS":
        build["buildComplete"] = False
        build.pop("endTime", None)
        if current:
            build["currentPhase"] = current
        return
    build["currentPhase"] = current or "COMPLETED"
    build["buildComplete"] = True
    build["endTime"] = t
    if phases is None:
        for phase in build["phases"]:
            if "endTime" not in phase:
                phase.update({"phaseStatus": status, "endTime": t,
                              "durationInSeconds": int(t - phase.get("startTime", t))})
        build["phases"].append({"phaseType": "COMPLETED", "startTime": t})


@operation(CB, "StopBuild")
def stop_build(st, body, caller):
    build = st.build(non_empty(body, "id", required=True))
    if not build["buildComplete"]:
        finish_build(build, "STOPPED")
    return {"build": build}


@operation(CB, "BatchGetBuilds")
def batch_get_builds(st, body, caller):
    ids = id_list(body, "ids")
    return {"builds": [st.builds[i] for i in ids if i in st.builds],
            "buildsNotFound": [i for i in ids if i not in st.builds]}


@operation(CB, "BatchGetProjects")
def batch_get_projects(st, body, caller):
    names = id_list(body, "names")
    found = [st.project(n) for n in names]
    return {"projects": [p for p in found if p is not None],
            "projectsNotFound": [n for n, p in zip(names, found) if p is None]}


@operation(CB, "ListBuildsForProject")
def list_builds_for_project(st, body, caller):
    name = non_empty(body, "projectName", required=True)
    order = check_enum(get(body, "sortOrder"), ("ASCENDING", "DESCENDING"), "InvalidInputException", "sortOrder")
    token = get(body, "nextToken")
    project = st.project(name)
    if project is None:
        raise AwsError("ResourceNotFoundException", f"The provided project name {name} could not be found")
    builds = sorted((b for b in st.builds.values() if b["projectName"] == project["name"]),
                    key=lambda b: b["buildNumber"], reverse=order != "ASCENDING")
    kind = f"builds:{project['name']}:{order or 'DESCENDING'}"
    page, nxt = paginate([b["id"] for b in builds], kind, token, 100, "InvalidInputException")
    out = {"ids": page}
    if nxt:
        out["nextToken"] = nxt
    return out


# -- CodeDeploy

@operation(CD, "GetDeployment")
def get_deployment(st, body, caller):
    did = need(body, "deploymentId", "DeploymentIdRequiredException")
    if not DEPLOYMENT_ID_RE.match(did):
        raise AwsError("InvalidDeploymentIdException", f"Specified deploymentId is invalid: {did}")
    if did not in st.deployments:
        raise AwsError("DeploymentDoesNotExistException", f"The deployment {did} could not be found.")
    return {"deploymentInfo": st.deployments[did]}


@operation(CD, "GetDeploymentGroup")
def get_deployment_group(st, body, caller):
    app = need(body, "applicationName", "ApplicationNameRequiredException")
    if not CODEDEPLOY_NAME_RE.match(app):
        raise AwsError("InvalidApplicationNameException", f"Invalid application name: {app}")
    group = need(body, "deploymentGroupName", "DeploymentGroupNameRequiredException")
    if not CODEDEPLOY_NAME_RE.match(group):
        raise AwsError("InvalidDeploymentGroupNameException", f"Invalid deployment group name: {group}")
    apps = {a for a, _ in st.groups} | {d.get("applicationName") for d in st.deployments.values()}
    if app not in apps:
        raise AwsError("ApplicationDoesNotExistException", f"No application found for name: {app}")
    if (app, group) not in st.groups:
        raise AwsError("DeploymentGroupDoesNotExistException", f"No Deployment Group found for name: {group}")
    return {"deploymentGroupInfo": st.groups[(app, group)]}


@operation(CD, "ListDeploymentTargets")
def list_deployment_targets(st, body, caller):
    did = st.deployment_known(body)
    filters = get(body, "targetFilters", dict) or {}
    for key, values in filters.items():
        if key not in ("TargetStatus", "ServerInstanceLabel"):
            raise AwsError("InvalidTargetFilterNameException", f"The target filter name {key} is invalid.")
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise AwsError("SerializationException", "targetFilters values must be lists of strings")
    token = get(body, "nextToken")
    page_offset(token, f"targets:{did}", "InvalidNextTokenException")
    st.started(did)
    ids = []
    for target in st.targets.get(did, []):
        tid, inner = target_id(target)
        if "TargetStatus" in filters and inner.get("status") not in filters["TargetStatus"]:
            continue
        if "ServerInstanceLabel" in filters and inner.get("instanceLabel") not in filters["ServerInstanceLabel"]:
            continue
        ids.append(tid)
    page, nxt = paginate(ids, f"targets:{did}", token, 100, "InvalidNextTokenException")
    out = {"targetIds": page}
    if nxt:
        out["nextToken"] = nxt
    return out


@operation(CD, "BatchGetDeploymentTargets")
def batch_get_deployment_targets(st, body, caller):
    did = st.deployment_known(body)
    ids = need(body, "targetIds", "DeploymentTargetIdRequiredException", list)
    if len(ids) > 25:
        raise AwsError("DeploymentTargetListSizeExceededException",
                       "The maximum number of deployment target IDs you can specify is 25.")
    if not all(isinstance(i, str) and i for i in ids):
        raise AwsError("InvalidDeploymentTargetIdException", "The target ID provided was not valid.")
    st.started(did)
    by_id = {target_id(t)[0]: t for t in st.targets.get(did, [])}
    for i in ids:
        if i not in by_id:
            raise AwsError("DeploymentTargetDoesNotExistException",
                           f"The target {i} does not belong to deployment {did}.")
    return {"deploymentTargets": [by_id[i] for i in ids]}


@operation(CD, "PutLifecycleEventHookExecutionStatus")
def put_lifecycle_event_hook_execution_status(st, body, caller):
    did = st.deployment_known(body)
    hook = get(body, "lifecycleEventHookExecutionId")
    status = get(body, "status")
    check_enum(status, ("Pending", "InProgress", "Succeeded", "Failed", "Skipped", "Unknown"),
               "InvalidLifecycleEventHookExecutionStatusException", "status")
    hooks = st.hooks.get(did, {})
    if not hook or hook not in hooks:
        raise AwsError("InvalidLifecycleEventHookExecutionIdException",
                       f"Lifecycle event hook execution {hook} is not valid for deployment {did}.")
    if hooks[hook] in ("Succeeded", "Failed"):
        raise AwsError("LifecycleEventAlreadyCompletedException",
                       f"The lifecycle event hook execution {hook} has already completed ({hooks[hook]}).")
    if status not in ("Succeeded", "Failed"):
        raise AwsError("InvalidLifecycleEventHookExecutionStatusException",
                       f"Invalid status {status!r}: it should be Succeeded or Failed.")
    hooks[hook] = status
    return {"lifecycleEventHookExecutionId": hook}


# -- CodePipeline

def execution_id(value, name):
    if value is not None and not UUID_RE.match(value):
        raise AwsError("ValidationException", f"1 validation error detected: Value '{value}' at '{name}' "
                                              "failed to satisfy constraint: Member must satisfy regular expression "
                                              "pattern: [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
    return value


def find_execution(st, pipeline, eid):
    if pipeline not in st.pipelines:
        raise AwsError("PipelineNotFoundException", f"Account '{ACCOUNT}' does not have a pipeline with name '{pipeline}'")
    execution = st.executions.get(eid)
    if execution is None or execution.get("pipelineName") != pipeline:
        raise AwsError("PipelineExecutionNotFoundException",
                       f"Pipeline execution '{eid}' does not exist in pipeline '{pipeline}'")
    return execution


@operation(CP, "GetPipelineExecution")
def get_pipeline_execution(st, body, caller):
    pipeline = st.pipeline(body)
    eid = execution_id(get(body, "pipelineExecutionId"), "pipelineExecutionId")
    if eid is None:
        raise AwsError("ValidationException", "1 validation error detected: Value null at "
                                              "'pipelineExecutionId' failed to satisfy constraint: Member must not be null")
    return {"pipelineExecution": find_execution(st, pipeline, eid)}


@operation(CP, "ListActionExecutions")
def list_action_executions(st, body, caller):
    pipeline = st.pipeline(body)
    filt = get(body, "filter", dict) or {}
    eid = execution_id(get(filt, "pipelineExecutionId"), "filter.pipelineExecutionId")
    limit = get(body, "maxResults", int)
    if limit is not None and not 1 <= limit <= 100:
        raise AwsError("ValidationException", f"1 validation error detected: Value '{limit}' at 'maxResults' "
                                              "failed to satisfy constraint: Member must have value between 1 and 100")
    token = get(body, "nextToken")
    if token is not None and not 1 <= len(token) <= 2048:
        raise AwsError("ValidationException", "nextToken must have length between 1 and 2048")
    if pipeline not in st.pipelines:
        raise AwsError("PipelineNotFoundException", f"Account '{ACCOUNT}' does not have a pipeline with name '{pipeline}'")
    if eid is not None:
        find_execution(st, pipeline, eid)
        details = st.actions.get(eid, [])
    else:
        details = [d for e, ds in st.actions.items() if st.executions.get(e, {}).get("pipelineName") == pipeline
                   for d in ds]
    page, nxt = paginate(details, f"actions:{pipeline}:{eid}", token, limit or 100, "InvalidNextTokenException")
    out = {"actionExecutionDetails": page}
    if nxt:
        out["nextToken"] = nxt
    return out


def pipeline_name(body):
    """GetPipeline and GetPipelineState name the pipeline `name` (1 to 100 of [A-Za-z0-9.@_-])."""
    name = get(body, "name")
    if name is None:
        raise AwsError("ValidationException", "1 validation error detected: Value null at 'name' "
                                              "failed to satisfy constraint: Member must not be null")
    if not PIPELINE_NAME_RE.match(name):
        raise AwsError("ValidationException", f"1 validation error detected: Value '{name}' at 'name' "
                                              "failed to satisfy constraint: Member must satisfy regular "
                                              "expression pattern: [A-Za-z0-9.@\\-_]+")
    return name


def pipeline_declaration(st, name):
    """The seeded declaration, or one derived from the action runs CodePipeline recorded."""
    if name in st.declarations:
        return st.declarations[name]
    stages = {}
    for eid, details in st.actions.items():
        if st.executions.get(eid, {}).get("pipelineName") != name:
            continue
        for d in details:
            actions = stages.setdefault(d.get("stageName"), {})
            actions.setdefault(d.get("actionName"), {"name": d.get("actionName"),
                                                     "actionTypeId": (d.get("input") or {}).get("actionTypeId"),
                                                     "runOrder": 1, "configuration": {}})
    return {"name": name, "roleArn": f"arn:aws:iam::{ACCOUNT}:role/{name}-pipeline", "version": 1,
            "artifactStore": {"type": "S3", "location": f"codepipeline-{st.name}-{ACCOUNT}"},
            "stages": [{"name": s, "actions": list(a.values())} for s, a in stages.items()]}


@operation(CP, "GetPipeline")
def get_pipeline(st, body, caller):
    name = pipeline_name(body)
    version = get(body, "version", int)
    if version is not None and version < 1:
        raise AwsError("ValidationException", f"1 validation error detected: Value '{version}' at 'version' "
                                              "failed to satisfy constraint: Member must have value greater than or equal to 1")
    if name not in st.pipelines:
        raise AwsError("PipelineNotFoundException", f"Account '{ACCOUNT}' does not have a pipeline with name '{name}'")
    declaration = pipeline_declaration(st, name)
    if version is not None and version != declaration.get("version", 1):
        raise AwsError("PipelineVersionNotFoundException",
                       f"Pipeline '{name}' does not have version '{version}'")
    return {"pipeline": declaration,
            "metadata": {"pipelineArn": f"arn:aws:codepipeline:{st.name}:{ACCOUNT}:{name}"}}


def stage_status(statuses):
    for s in ("Failed", "InProgress", "Stopped", "Cancelled"):
        if s in statuses:
            return s
    return "Succeeded"


@operation(CP, "GetPipelineState")
def get_pipeline_state(st, body, caller):
    """Each stage's latest execution (the last recorded execution that ran it) and the latest run
    of each of its actions, with the build or deployment it started."""
    name = pipeline_name(body)
    if name not in st.pipelines:
        raise AwsError("PipelineNotFoundException", f"Account '{ACCOUNT}' does not have a pipeline with name '{name}'")
    declaration = pipeline_declaration(st, name)
    runs = [(eid, d) for eid, ds in st.actions.items()
            if st.executions.get(eid, {}).get("pipelineName") == name for d in ds]
    stage_states = []
    for stage in declaration.get("stages", []):
        ran = [(eid, d) for eid, d in runs if d.get("stageName") == stage.get("name")]
        state = {"stageName": stage.get("name"), "actionStates": []}
        if ran:
            latest = ran[-1][0]
            state["latestExecution"] = {"pipelineExecutionId": latest,
                                        "status": stage_status([d.get("status") for e, d in ran if e == latest])}
        for action in stage.get("actions", []):
            action_state = {"actionName": action.get("name")}
            mine = [d for eid, d in ran if d.get("actionName") == action.get("name")]
            if mine:
                d = mine[-1]
                result = (d.get("output") or {}).get("executionResult") or {}
                latest_run = {"status": d.get("status"),
                              "actionExecutionId": d.get("actionExecutionId")}
                for key, out in (("externalExecutionId", "externalExecutionId"),
                                 ("externalExecutionUrl", "externalExecutionUrl"),
                                 ("externalExecutionSummary", "summary")):
                    if result.get(key) is not None:
                        latest_run[out] = result[key]
                if (d.get("output") or {}).get("executionResult", {}).get("errorDetails"):
                    latest_run["errorDetails"] = result["errorDetails"]
                action_state["latestExecution"] = {k: v for k, v in latest_run.items() if v is not None}
            state["actionStates"].append(action_state)
        stage_states.append(state)
    return {"pipelineName": name, "pipelineVersion": declaration.get("version", 1), "stageStates": stage_states}


import platforms  # noqa: E402  (registers the ECS and job operations; imports the names above)

# ---------------------------------------------------------------- the emulator

class Emulator:
    """The state of every region, the request log and the armed faults, behind one lock."""

    def __init__(self):
        self.lock = threading.RLock()
        self.reset()

    git_root = None  # the git server's root (`POST /_emulator/git`); survives resets

    def reset(self):
        with self.lock:
            self.regions = {}
            self.requests = []
            self.faults = []
            self.invocations = []  # Lambda Invoke calls (lambda_invoke.py)
            # reset, reset_after and hold: the shared fault plan (it has its own lock).
            if hasattr(self, "plan"):
                self.plan.clear()
            else:
                self.plan = faultproxy.FaultPlan()

    def region(self, name):
        if name not in self.regions:
            self.regions[name] = RegionState(name)
        self.regions[name].git_root = self.git_root
        return self.regions[name]

    # -- AWS requests

    def call(self, headers, raw, record):
        """Answers one AWS request: (status, payload) or raises AwsError."""
        target = headers.get("X-Amz-Target", "")
        prefix, _, op = target.partition(".")
        record.update(service=SERVICES.get(prefix), operation=op or None)
        if prefix not in SERVICES or not op:
            raise AwsError("UnknownOperationException", f"Unknown target: {target!r}")
        caller = self.authenticate(headers, SERVICES[prefix], record)
        handler = OPERATIONS.get(target)
        if handler is None:
            raise AwsError("UnknownOperationException", f"Unknown operation {op} for {prefix}")
        self.inject_faults(target)
        decision = self.plan.decide(target, headers.get("User-Agent", ""))
        if decision.reset:
            raise ResetConnection()
        if decision.error:
            self.raise_fault(decision.error)
        ctype = headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype not in CONTENT_TYPES:
            raise AwsError("SerializationException", f"Unsupported Content-Type: {ctype!r}")
        try:
            body = json.loads(raw) if raw.strip() else {}
        except (ValueError, UnicodeDecodeError):
            raise AwsError("SerializationException", "The request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise AwsError("SerializationException", "The request body must be a JSON object")
        with self.lock:
            # A snapshot, taken while the lock is held.
            out = json.loads(json.dumps(handler(self.region(caller.region), body, caller)))
        if decision.reset_after:
            raise ResetConnection()
        return out

    @staticmethod
    def authenticate(headers, service, record):
        auth = headers.get("Authorization")
        if not auth:
            raise AwsError("MissingAuthenticationTokenException", "Request is missing Authentication Token")
        m = AUTH_RE.match(auth.strip())
        if not m:
            raise AwsError("IncompleteSignatureException",
                           "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' "
                           "parameters of the AWS4-HMAC-SHA256 form.")
        key, _date, region, scope_service, signed, _sig = m.groups()
        record.update(accessKeyId=key, region=region)
        if not headers.get("X-Amz-Date") and not headers.get("Date"):
            raise AwsError("IncompleteSignatureException", "Authorization header requires existence of "
                                                           "either a 'X-Amz-Date' or a 'Date' header.")
        if "host" not in signed.split(";"):
            raise AwsError("InvalidSignatureException", "The host header must be signed.")
        if scope_service != service:
            raise AwsError("InvalidSignatureException",
                           f"Credential should be scoped to correct service: '{service}'.")
        return Caller(key, region)

    def inject_faults(self, target):
        delay, error = 0.0, None
        with self.lock:
            for fault in self.faults:
                if fault["operation"] not in ("*", target, target.split(".", 1)[1]) or fault["count"] <= 0:
                    continue
                if fault["kind"] == "latency":
                    fault["count"] -= 1
                    delay += fault["latency_ms"] / 1000
                elif error is None:
                    fault["count"] -= 1
                    error = fault["kind"]
            self.faults = [f for f in self.faults if f["count"] > 0]
        if delay:
            time.sleep(delay)
        self.raise_fault(error)

    @staticmethod
    def raise_fault(error):
        if error == "throttle":
            raise AwsError("ThrottlingException", "Rate exceeded")
        if error == "error503":
            raise AwsError("ServiceUnavailableException", "Service unavailable", 503)
        if error == "error5xx":
            raise AwsError("InternalFailure", "We encountered an internal error. Please try again.", 500)

    # -- control API

    def seed(self, spec):
        if not isinstance(spec, dict):
            raise ControlError("the seed must be a JSON object")
        with self.lock:
            # Applied to a copy, swapped in only if all of it is valid.
            st = copy.deepcopy(self.region(spec.get("region") or "us-east-1"))
            cc, cb = spec.get("codecommit") or {}, spec.get("codebuild") or {}
            cd, cp = spec.get("codedeploy") or {}, spec.get("codepipeline") or {}
            for repo in cc.get("repositories", []):
                name = repo.get("repositoryName")
                if not isinstance(name, str) or not REPO_NAME_RE.match(name):
                    raise ControlError(f"bad repositoryName: {name!r}")
                branches = repo.get("branches") or {}
                if name not in st.repos:
                    default = repo.get("defaultBranch") or ("main" if "main" in branches else next(iter(branches), None))
                    st.add_repo(name, repo.get("repositoryDescription"), default)
                for branch, sha in branches.items():
                    st.set_branch(name, branch, sha)
            for project in cb.get("projects", []):
                st.add_project(project)
            for info in cd.get("deployments", []):
                did = info.get("deploymentId")
                if not isinstance(did, str) or not DEPLOYMENT_ID_RE.match(did):
                    raise ControlError(f"deploymentId must be d- and 9 uppercase alphanumerics: {did!r}")
                st.deployments[did] = info
            for info in cd.get("deploymentGroups", []):
                key = (info.get("applicationName"), info.get("deploymentGroupName"))
                if not all(isinstance(k, str) for k in key):
                    raise ControlError("a deployment group needs applicationName and deploymentGroupName")
                st.groups[key] = info
            for did, targets in (cd.get("targets") or {}).items():
                if not all(target_id(t)[0] for t in targets):
                    raise ControlError(f"every target of {did} needs a <kind>Target object with a targetId")
                st.targets[did] = targets
            for did, hooks in (cd.get("hooks") or {}).items():
                statuses = hooks if isinstance(hooks, dict) else {h: "Pending" for h in hooks}
                st.hooks.setdefault(did, {}).update(statuses)
            st.pipelines.update(cp.get("pipelines", []))
            for execution in cp.get("executions", []):
                eid, name = execution.get("pipelineExecutionId"), execution.get("pipelineName")
                if not isinstance(eid, str) or not UUID_RE.match(eid) or not isinstance(name, str):
                    raise ControlError("an execution needs pipelineName and a lowercase UUID pipelineExecutionId")
                st.executions[eid] = execution
                st.pipelines.add(name)
            for eid, details in (cp.get("actionExecutions") or {}).items():
                st.actions[eid] = [{"pipelineExecutionId": eid, **d} for d in details]
            for declaration in cp.get("pipelineDeclarations", []):
                name = declaration.get("name") if isinstance(declaration, dict) else None
                if not isinstance(name, str) or not PIPELINE_NAME_RE.match(name):
                    raise ControlError(f"a pipeline declaration needs a valid name: {name!r}")
                for stage in declaration.get("stages") or []:
                    names = [stage.get("name")] + [a.get("name") for a in stage.get("actions") or []]
                    if not stage.get("actions") or not all(isinstance(n, str) and PIPELINE_NAME_RE.match(n)
                                                           for n in names):
                        raise ControlError(f"every stage of {name} needs a valid name and named actions")
                st.declarations[name] = {"version": 1, **declaration}
                st.pipelines.add(name)
            platforms.seed(st, spec)
            self.regions[st.name] = st
            return {"region": st.name}

    def set_build(self, spec):
        with self.lock:
            st = self.region(spec.get("region") or "us-east-1")
            build = st.builds.get(spec.get("id"))
            if build is None:
                raise ControlError(f"no build {spec.get('id')!r} in {st.name}")
            status = spec.get("buildStatus", build["buildStatus"])
            if status not in BUILD_STATUSES:
                raise ControlError(f"buildStatus must be one of {BUILD_STATUSES}")
            extra = {k: v for k, v in spec.items()
                     if k not in ("region", "id", "buildStatus", "phases", "currentPhase")}
            build.update(extra)
            finish_build(build, status, spec.get("phases"), spec.get("currentPhase"))
            return {"build": build}

    def add_fault(self, spec):
        kind = spec.get("kind")
        if kind in ("reset", "reset_after", "hold") or spec.get("userAgent"):
            try:
                self.plan.add(spec)
            except faultproxy.FaultSpecError as e:
                raise ControlError(str(e)) from None
            with self.lock:
                return {"faults": self.faults + self.plan.snapshot()["faults"]}
        if kind not in ("throttle", "error5xx", "error503", "latency"):
            raise ControlError("kind must be throttle, error5xx, error503, latency, reset, reset_after or hold")
        if not isinstance(spec.get("operation"), str):
            raise ControlError("operation must be a target (Prefix.Operation) or '*'")
        fault = {"operation": spec["operation"], "kind": kind,
                 "count": int(spec.get("count", 1)), "latency_ms": int(spec.get("latency_ms", 0))}
        with self.lock:
            self.faults.append(fault)
            return {"faults": self.faults}

    def control(self, method, path, query, body):
        q = {k: v[-1] for k, v in parse_qs(query).items()}
        name = path.removeprefix("/_emulator/")
        if (method, name) == ("POST", "reset"):
            self.reset()
            return {"reset": True}
        if (method, name) == ("POST", "seed"):
            return self.seed(body)
        if (method, name) == ("POST", "branch"):
            with self.lock:
                st = self.region(body.get("region") or "us-east-1")
                if not isinstance(body.get("branch"), str) or not isinstance(body.get("repositoryName"), str):
                    raise ControlError("branch needs repositoryName, branch and commitId")
                return {"updatedPullRequests": st.set_branch(body["repositoryName"], body["branch"],
                                                             body.get("commitId"))}
        if (method, name) == ("POST", "build"):
            return self.set_build(body)
        if (method, name) == ("POST", "git"):
            root = body.get("root")
            if root is not None and (not isinstance(root, str) or not os.path.isdir(root)):
                raise ControlError(f"root must be an existing directory (the git server's --root): {root!r}")
            with self.lock:
                self.git_root = os.path.abspath(root) if root else None
            return {"root": self.git_root}
        if (method, name) == ("POST", "faults"):
            return self.add_fault(body)
        if (method, name) == ("DELETE", "faults"):
            with self.lock:
                self.faults = []
            self.plan.clear()
            return {"faults": []}
        if (method, name) == ("GET", "faults"):
            plan = self.plan.snapshot()
            with self.lock:
                return {"faults": self.faults + plan["faults"], "held": plan["held"]}
        if (method, name) == ("POST", "release"):
            return {"released": self.plan.release()}
        if (method, name) == ("GET", "requests"):
            op = q.get("operation")
            with self.lock:
                return [r for r in self.requests if op is None or op in (r["operation"], r["target"])]
        if (method, name) == ("GET", "state"):
            with self.lock:
                if "region" in q:
                    return self.region(q["region"]).dump()
                return {"regions": {n: self.region(n).dump() for n in list(self.regions)}}
        if (method, name) == ("GET", "hooks"):
            with self.lock:
                st = self.region(q.get("region") or "us-east-1")
                return dict(st.hooks.get(q.get("deploymentId"), {}))
        out = platforms.control(self, method, name, q, body)
        if out is not None:
            return out
        raise UnknownControl(f"{method} {path}")


class EmulatorHandler(httpbase.Handler):
    def do_GET(self):
        self.route()

    def do_POST(self):
        self.route()

    def do_DELETE(self):
        self.route()

    def route(self):
        url = urlsplit(self.path)
        raw = self.read_body()
        emu = self.server.emulator
        if url.path.startswith("/_emulator/"):
            try:
                body = json.loads(raw) if raw.strip() else {}
                if not isinstance(body, dict):
                    raise ControlError("the body must be a JSON object")
                with emu.lock:
                    out = json.dumps(emu.control(self.command, url.path, url.query, body)).encode()
                self.send_bytes(200, out)
            except UnknownControl as e:
                self.send_json(404, {"error": f"unknown control request {e}"})
            except (ControlError, ValueError) as e:
                self.send_json(400, {"error": str(e)})
            except Exception as e:  # noqa: BLE001 - most likely a malformed seed
                traceback.print_exc(file=sys.stderr)
                self.send_json(400, {"error": f"{type(e).__name__}: {e}"})
            return
        if platforms.route(self, url, raw):
            return
        if self.command == "POST" and url.path == "/":
            self.aws(raw)
            return
        self.send_json(404, {"__type": "UnknownOperationException", "message": f"{self.command} {url.path}"})

    def aws(self, raw):
        emu = self.server.emulator
        try:
            parsed = json.loads(raw) if raw.strip() else {}
        except (ValueError, UnicodeDecodeError):
            parsed = raw.decode("utf-8", "replace")
        record = {"target": self.headers.get("X-Amz-Target"), "service": None, "operation": None,
                  "region": None, "accessKeyId": None, "body": parsed, "status": None}
        with emu.lock:
            emu.requests.append(record)
        request_id = str(uuid.uuid4())
        try:
            status, payload, headers = 200, emu.call(self.headers, raw, record), {}
        except ResetConnection:
            record["status"] = "reset"
            faultproxy.reset_connection(self)
            return
        except AwsError as e:
            status, payload = e.status, {"__type": e.code, "message": e.message}
            headers = {"x-amzn-ErrorType": e.code}
        except Exception as e:  # noqa: BLE001 - a bug here must answer, not drop the connection
            traceback.print_exc(file=sys.stderr)
            status, payload = 500, {"__type": "InternalFailure", "message": f"emulator bug: {e}"}
            headers = {"x-amzn-ErrorType": "InternalFailure"}
        record["status"] = status
        headers["x-amzn-RequestId"] = request_id
        self.send_json(status, payload, headers, content_type="application/x-amz-json-1.1")


class EmulatorServer(httpbase.Server):
    def __init__(self, host="127.0.0.1", port=0):
        super().__init__((host, port), EmulatorHandler)
        self.emulator = Emulator()


def main():
    httpbase.VERBOSE = "--verbose" in sys.argv[1:]
    httpbase.run_alone(EmulatorServer())


if __name__ == "__main__":
    main()
