"""CodePipeline job answers in the emulator: the jobs CodePipeline gives a Lambda action
(`X-Amz-Target: CodePipeline_20150709.<Op>`, signing name `codepipeline`), from seeded jobs.

Operations (fault names `CodePipeline_20150709.<Op>` or `<Op>`), both answering `{}`:
  PutJobSuccessResult  {jobId, currentRevision?{revision 1..1500, changeIdentifier 1..100,
                       created?, revisionSummary? 1..2048}, continuationToken? 1..2048,
                       executionDetails?{summary? 1..2048, externalExecutionId? 1..1500,
                       percentComplete? 0..100}, outputVariables?{[A-Za-z0-9@\\-_]+: string}}
  PutJobFailureResult  {jobId, failureDetails{type (JobFailed, ConfigurationError,
                       PermissionError, RevisionOutOfSync, RevisionUnavailable,
                       SystemUnavailable), message 1..5000, externalExecutionId? 1..1500}}

Checks, in order: member types (SerializationException), then every constraint of the model at
once (ValidationException, "N validation errors detected: ..."; the jobId must be a lowercase
UUID), outputVariables together with a continuationToken (ValidationException), outputVariables
over 122880 characters in all (OutputVariablesSizeExceededException), a job unknown in the region
(JobNotFoundException), a job already answered (InvalidJobStateException; the refused request is
kept in the job's `refused`). Members the model does not name are ignored.
An accepted answer makes the job Succeeded or Failed; a success with a continuationToken also
creates the next job of the same action (a new id, the token in its event), as CodePipeline
invokes the function again.

Seed (`POST /_emulator/seed`, per region): {"codepipeline": {"jobs": [Job]}}, where Job is
{"id"?: lowercase UUID (a new one), "pipelineName", "stage", "action", "pipelineExecutionId",
"functionName", "userParameters"?, "continuationToken"?, "accountId"?: 12 digits (123456789012)};
a job replaces one of the same id. `POST /_emulator/jobs` with one Job (and "region"?) creates it
and answers its view. `GET /_emulator/jobs[?region=R][&id=ID]` -> [view], where a view is
{id, region, pipelineName, stage, action, pipelineExecutionId, status: InProgress|Succeeded|Failed,
result: the accepted request body or null, refused: [refused request bodies], next: the id of the
job a continuation created or null, event: the Lambda invoke event of the job}. The event is
{"CodePipeline.job": {id, accountId, data: {actionConfiguration: {configuration: {FunctionName,
UserParameters?}}, inputArtifacts: [], outputArtifacts: [], artifactCredentials: {accessKeyId,
secretAccessKey, sessionToken}, continuationToken?}}}; the credentials are the fixed fakes
ARTIFACT_ACCESS_KEY_ID, ARTIFACT_SECRET and ARTIFACT_SESSION_TOKEN, so a test can check that
they never reach a log.
"""

import re
import uuid

from emulator import ACCOUNT, PIPELINE_NAME_RE, UUID_RE, AwsError, ControlError, get, operation

PREFIX = "CodePipeline_20150709"
ARTIFACT_ACCESS_KEY_ID = "AKIACODEHOOKSFAKE001"
ARTIFACT_SECRET = "codehooks/FAKE/artifact+secret/0000000000"
ARTIFACT_SESSION_TOKEN = "codehooks-FAKE-artifact-session-token/do-not-log/0000000000"
FAILURE_TYPES = ("JobFailed", "ConfigurationError", "PermissionError", "RevisionOutOfSync",
                 "RevisionUnavailable", "SystemUnavailable")
STATUSES = ("InProgress", "Succeeded", "Failed")
UUID_PATTERN = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
VARIABLE_KEY_RE = re.compile(r"^[A-Za-z0-9@\-_]+$")
OUTPUT_VARIABLES_LIMIT = 122880  # all output variables of an action together
FUNCTION_NAME_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,170}$")  # a name, partial or full ARN
ACCOUNT_RE = re.compile(r"^\d{12}$")
JOB_KEYS = ("id", "pipelineName", "stage", "action", "pipelineExecutionId", "functionName",
            "userParameters", "continuationToken", "accountId")


# ---------------------------------------------------------------- validation

class Problems:
    """The constraint violations of one request, answered together as AWS does."""

    def __init__(self):
        self.items = []

    def add(self, value, path, constraint):
        shown = "null" if value is None else f"'{value}'" if len(str(value)) <= 256 else "(too long to show)"
        self.items.append(f"Value {shown} at '{path}' failed to satisfy constraint: Member must {constraint}")

    def length(self, value, path, low, high):
        if value is None:
            return
        if len(value) < low:
            self.add(value, path, f"have length greater than or equal to {low}")
        if len(value) > high:
            self.add(value, path, f"have length less than or equal to {high}")

    def required(self, value, path):
        if value is None:
            self.add(None, path, "not be null")
            return False
        return True

    def raise_any(self):
        if self.items:
            n = len(self.items)
            raise AwsError("ValidationException", f"{n} validation error{'s' if n > 1 else ''} detected: "
                                                  + "; ".join(self.items))


def check_job_id(body, p):
    job_id = get(body, "jobId")
    if p.required(job_id, "jobId") and not UUID_RE.match(job_id):
        p.add(job_id, "jobId", f"satisfy regular expression pattern: {UUID_PATTERN}")
    return job_id


def number(obj, name, where):
    value = obj.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise AwsError("SerializationException", f"Member {where}.{name} must be a timestamp")
    return value


def check_success(body):
    p = Problems()
    job_id = check_job_id(body, p)
    revision = get(body, "currentRevision", dict)
    if revision is not None:
        if p.required(get(revision, "revision"), "currentRevision.revision"):
            p.length(revision["revision"], "currentRevision.revision", 1, 1500)
        if p.required(get(revision, "changeIdentifier"), "currentRevision.changeIdentifier"):
            p.length(revision["changeIdentifier"], "currentRevision.changeIdentifier", 1, 100)
        number(revision, "created", "currentRevision")
        p.length(get(revision, "revisionSummary"), "currentRevision.revisionSummary", 1, 2048)
    token = get(body, "continuationToken")
    p.length(token, "continuationToken", 1, 2048)
    details = get(body, "executionDetails", dict)
    if details is not None:
        p.length(get(details, "summary"), "executionDetails.summary", 1, 2048)
        p.length(get(details, "externalExecutionId"), "executionDetails.externalExecutionId", 1, 1500)
        percent = get(details, "percentComplete", int)
        if percent is not None and percent < 0:
            p.add(percent, "executionDetails.percentComplete", "have value greater than or equal to 0")
        if percent is not None and percent > 100:
            p.add(percent, "executionDetails.percentComplete", "have value less than or equal to 100")
    variables = get(body, "outputVariables", dict)
    for key, value in (variables or {}).items():
        if not isinstance(value, str):
            raise AwsError("SerializationException", "Member outputVariables must be a map of strings")
        if not VARIABLE_KEY_RE.match(key):
            p.add(key, "outputVariables", "satisfy regular expression pattern: [A-Za-z0-9@\\-_]+ (map keys)")
    p.raise_any()
    if variables is not None and token is not None:
        raise AwsError("ValidationException",
                       "outputVariables can be included only when there is no continuationToken on the request.")
    if variables and sum(len(k) + len(v) for k, v in variables.items()) > OUTPUT_VARIABLES_LIMIT:
        raise AwsError("OutputVariablesSizeExceededException",
                       f"The output variables exceed the limit of {OUTPUT_VARIABLES_LIMIT} characters in all.")
    return job_id


def check_failure(body):
    p = Problems()
    job_id = check_job_id(body, p)
    details = get(body, "failureDetails", dict)
    if p.required(details, "failureDetails"):
        kind = get(details, "type")
        if p.required(kind, "failureDetails.type") and kind not in FAILURE_TYPES:
            p.add(kind, "failureDetails.type", f"satisfy enum value set: [{', '.join(FAILURE_TYPES)}]")
        if p.required(get(details, "message"), "failureDetails.message"):
            p.length(details["message"], "failureDetails.message", 1, 5000)
        p.length(get(details, "externalExecutionId"), "failureDetails.externalExecutionId", 1, 1500)
    p.raise_any()
    return job_id


# ---------------------------------------------------------------- operations

def answer(st, job_id, body, status):
    job = st.jobs.get(job_id)
    if job is None:
        raise AwsError("JobNotFoundException", f"The job with ID {job_id} was not found.")
    if job["status"] != "InProgress":
        job["refused"].append(body)
        raise AwsError("InvalidJobStateException",
                       f"The job with ID {job_id} is {job['status']}: it already has its answer.")
    job["status"], job["result"] = status, body
    return job


@operation(PREFIX, "PutJobSuccessResult")
def put_job_success_result(st, body, caller):
    job = answer(st, check_success(body), body, "Succeeded")
    token = body.get("continuationToken")
    if token is not None:
        nxt = add(st, {**{k: job[k] for k in JOB_KEYS if k != "id"}, "continuationToken": token})
        job["next"] = nxt["id"]
    return {}


@operation(PREFIX, "PutJobFailureResult")
def put_job_failure_result(st, body, caller):
    answer(st, check_failure(body), body, "Failed")
    return {}


# ---------------------------------------------------------------- seed and control

def init_region(st):
    st.jobs = {}  # id -> job (insertion order = creation order)


def add(st, spec):
    """Creates (or replaces) one job from its seed form; returns it."""
    if not isinstance(spec, dict):
        raise ControlError("a job must be a JSON object")
    extra = set(spec) - set(JOB_KEYS)
    if extra:
        raise ControlError(f"a job takes {', '.join(JOB_KEYS)}; unknown keys {sorted(extra)}")
    job_id = spec.get("id") or str(uuid.uuid4())
    if not isinstance(job_id, str) or not UUID_RE.match(job_id):
        raise ControlError(f"a job id must be a lowercase UUID: {job_id!r}")
    for key in ("pipelineName", "stage", "action"):
        if not isinstance(spec.get(key), str) or not PIPELINE_NAME_RE.match(spec[key]):
            raise ControlError(f"job {job_id}: {key} must be 1 to 100 of [A-Za-z0-9.@_-]: {spec.get(key)!r}")
    eid = spec.get("pipelineExecutionId")
    if not isinstance(eid, str) or not UUID_RE.match(eid):
        raise ControlError(f"job {job_id}: pipelineExecutionId must be a lowercase UUID: {eid!r}")
    fn = spec.get("functionName")
    if not isinstance(fn, str) or not FUNCTION_NAME_RE.match(fn):
        raise ControlError(f"job {job_id}: functionName must be a Lambda function name or ARN: {fn!r}")
    params = spec.get("userParameters")
    if params is not None and not isinstance(params, str):
        raise ControlError(f"job {job_id}: userParameters must be a string")
    token = spec.get("continuationToken")
    if token is not None and (not isinstance(token, str) or not 1 <= len(token) <= 2048):
        raise ControlError(f"job {job_id}: continuationToken must be a string of 1 to 2048 characters")
    account = spec.get("accountId") or ACCOUNT
    if not isinstance(account, str) or not ACCOUNT_RE.match(account):
        raise ControlError(f"job {job_id}: accountId must be 12 digits: {account!r}")
    job = {"id": job_id, "region": st.name, "pipelineName": spec["pipelineName"], "stage": spec["stage"],
           "action": spec["action"], "pipelineExecutionId": eid, "functionName": fn, "userParameters": params,
           "continuationToken": token, "accountId": account,
           "status": "InProgress", "result": None, "refused": [], "next": None}
    st.jobs.pop(job_id, None)
    st.jobs[job_id] = job
    return job


def seed(st, spec):
    if spec is None:
        return
    jobs = spec.get("jobs") if isinstance(spec, dict) else None
    if jobs is None:
        return
    if not isinstance(jobs, list):
        raise ControlError("codepipeline jobs must be a list")
    for job in jobs:
        add(st, job)


def event(job):
    """The event CodePipeline invokes the job's Lambda function with."""
    configuration = {"FunctionName": job["functionName"]}
    if job["userParameters"] is not None:
        configuration["UserParameters"] = job["userParameters"]
    data = {"actionConfiguration": {"configuration": configuration},
            "inputArtifacts": [], "outputArtifacts": [],
            "artifactCredentials": {"accessKeyId": ARTIFACT_ACCESS_KEY_ID, "secretAccessKey": ARTIFACT_SECRET,
                                    "sessionToken": ARTIFACT_SESSION_TOKEN}}
    if job["continuationToken"] is not None:
        data["continuationToken"] = job["continuationToken"]
    return {"CodePipeline.job": {"id": job["id"], "accountId": job["accountId"], "data": data}}


def view(job):
    out = {k: job[k] for k in ("id", "region", "pipelineName", "stage", "action", "pipelineExecutionId",
                               "status", "result", "refused", "next")}
    out["event"] = event(job)
    return out


def dump(st):
    return [view(j) for j in st.jobs.values()]


def control(emu, method, name, q, body):
    """GET and POST /_emulator/jobs (None for any other control request)."""
    if (method, name) == ("GET", "jobs"):
        regions = [emu.region(q["region"])] if "region" in q else list(emu.regions.values())
        return [view(j) for st in regions for j in st.jobs.values() if q.get("id") in (None, j["id"])]
    if (method, name) == ("POST", "jobs"):
        spec = dict(body)
        region = spec.pop("region", None) or "us-east-1"
        if not isinstance(region, str):
            raise ControlError("region must be a string")
        return view(add(emu.region(region), spec))
    return None
