"""Amazon ECS in the emulator: the service-deployment reads of ECS blue/green, over AWS JSON 1.1
(`X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Op>`, signing name `ecs`), from seeded state.

Operations (fault names `AmazonEC2ContainerServiceV20141113.<Op>` or `<Op>`):
  DescribeServiceRevisions    {serviceRevisionArns: 1..=20 ARNs} -> {serviceRevisions, failures}
  DescribeServiceDeployments  {serviceDeploymentArns: 1..=20 ARNs} -> {serviceDeployments, failures}
  ListServiceDeployments      {service, cluster?, status?, createdAt?{before, after}, maxResults?
                              1..=100 (20), nextToken?} -> {serviceDeployments (briefs, newest first), nextToken?}

A missing, empty or too long ARN list and a malformed ARN are InvalidParameterException; an
ARN that is well formed but unknown in the region is a `failures[]` entry {arn, reason: "MISSING"}.
Objects are answered exactly as seeded (timestamps as epoch-second numbers).

Seed (`POST /_emulator/seed`, per region): {"ecs": {"serviceRevisions": [ServiceRevision],
"serviceDeployments": [ServiceDeployment]}}; ARNs must be of the seed's region and account.
"""

import re

from emulator import ACCOUNT, AwsError, ControlError, get, operation, paginate

PREFIX = "AmazonEC2ContainerServiceV20141113"
MAX_ARNS = 20
NAME = r"[A-Za-z0-9_-]{1,255}"
REVISION_ARN = re.compile(rf"^arn:aws[a-z-]*:ecs:([a-z0-9-]+):(\d{{12}}):service-revision/({NAME})/({NAME})/(\d+)$")
DEPLOYMENT_ARN = re.compile(
    rf"^arn:aws[a-z-]*:ecs:([a-z0-9-]+):(\d{{12}}):service-deployment/({NAME})/({NAME})/([A-Za-z0-9_-]+)$")
SERVICE_ARN = re.compile(rf"^arn:aws[a-z-]*:ecs:([a-z0-9-]+):(\d{{12}}):service/({NAME})/({NAME})$")
CLUSTER_ARN = re.compile(rf"^arn:aws[a-z-]*:ecs:([a-z0-9-]+):(\d{{12}}):cluster/({NAME})$")
STATUSES = ("PENDING", "SUCCESSFUL", "STOPPED", "STOP_REQUESTED", "IN_PROGRESS", "ROLLBACK_REQUESTED",
            "ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")
TIMESTAMPS = ("createdAt", "startedAt", "finishedAt", "stoppedAt", "updatedAt")
BRIEF = ("serviceDeploymentArn", "serviceArn", "clusterArn", "startedAt", "createdAt", "finishedAt",
         "status", "statusReason")


class State:
    def __init__(self):
        self.revisions = {}    # serviceRevisionArn -> ServiceRevision
        self.deployments = {}  # serviceDeploymentArn -> ServiceDeployment


def invalid(message):
    return AwsError("InvalidParameterException", message)


def arn_list(body, name, pattern):
    arns = get(body, name, list)
    if not arns:
        raise invalid(f"{name} can not be empty.")
    if len(arns) > MAX_ARNS:
        raise invalid(f"{name} can not have more than {MAX_ARNS} elements.")
    for arn in arns:
        if not isinstance(arn, str):
            raise AwsError("SerializationException", f"Member {name} must be a list of strings")
        if not pattern.match(arn):
            raise invalid(f"Invalid ARN in {name}: {arn}")
    return arns


def describe(table, arns, key):
    found = [table[a] for a in dict.fromkeys(arns) if a in table]
    failures = [{"arn": a, "reason": "MISSING"} for a in dict.fromkeys(arns) if a not in table]
    return {key: found, "failures": failures}


@operation(PREFIX, "DescribeServiceRevisions")
def describe_service_revisions(st, body, caller):
    arns = arn_list(body, "serviceRevisionArns", REVISION_ARN)
    return describe(st.ecs.revisions, arns, "serviceRevisions")


@operation(PREFIX, "DescribeServiceDeployments")
def describe_service_deployments(st, body, caller):
    arns = arn_list(body, "serviceDeploymentArns", DEPLOYMENT_ARN)
    return describe(st.ecs.deployments, arns, "serviceDeployments")


def known(st):
    """(cluster ARNs, service ARNs) the seeded revisions and deployments name."""
    objs = list(st.ecs.revisions.values()) + list(st.ecs.deployments.values())
    return ({o.get("clusterArn") for o in objs} - {None}, {o.get("serviceArn") for o in objs} - {None})


@operation(PREFIX, "ListServiceDeployments")
def list_service_deployments(st, body, caller):
    service = get(body, "service")
    if not service:
        raise invalid("service can not be blank.")
    cluster = get(body, "cluster") or "default"
    statuses = get(body, "status", list) or []
    for s in statuses:
        if s not in STATUSES:
            raise invalid(f"Invalid status value: {s}")
    created = get(body, "createdAt", dict) or {}
    for k in ("before", "after"):
        if k in created and (isinstance(created[k], bool) or not isinstance(created[k], (int, float))):
            raise AwsError("SerializationException", f"createdAt.{k} must be a timestamp")
    limit = get(body, "maxResults", int)
    if limit is not None and not 1 <= limit <= 100:
        raise invalid("maxResults must be between 1 and 100.")
    clusters, services = known(st)
    m = CLUSTER_ARN.match(cluster)
    cluster_arn = cluster if m else f"arn:aws:ecs:{st.name}:{ACCOUNT}:cluster/{cluster}"
    if cluster_arn not in clusters:
        raise AwsError("ClusterNotFoundException", "Cluster not found.")
    cluster_name = cluster_arn.rsplit("/", 1)[1]
    m = SERVICE_ARN.match(service)
    service_arn = service if m else f"arn:aws:ecs:{st.name}:{ACCOUNT}:service/{cluster_name}/{service}"
    if service_arn not in services:
        raise AwsError("ServiceNotFoundException", "Service not found.")
    rows = []
    for d in st.ecs.deployments.values():
        if d.get("serviceArn") != service_arn or d.get("clusterArn") != cluster_arn:
            continue
        if statuses and d.get("status") not in statuses:
            continue
        t = d.get("createdAt")
        if t is not None and ("before" in created and t >= created["before"]
                              or "after" in created and t <= created["after"]):
            continue
        brief = {k: d[k] for k in BRIEF if k in d}
        if isinstance(d.get("targetServiceRevision"), dict) and "arn" in d["targetServiceRevision"]:
            brief["targetServiceRevisionArn"] = d["targetServiceRevision"]["arn"]
        rows.append(brief)
    rows.sort(key=lambda b: b.get("createdAt") or 0, reverse=True)
    page, nxt = paginate(rows, f"ecs:{service_arn}", get(body, "nextToken"), limit or 20, "InvalidParameterException")
    out = {"serviceDeployments": page}
    if nxt:
        out["nextToken"] = nxt
    return out


def check_arn(obj, key, pattern, region, what):
    arn = obj.get(key) if isinstance(obj, dict) else None
    m = pattern.match(arn) if isinstance(arn, str) else None
    if not m:
        raise ControlError(f"every {what} needs {key}, an ECS ARN: {arn!r}")
    if m.group(1) != region or m.group(2) != ACCOUNT:
        raise ControlError(f"{key} {arn} is not of region {region} and account {ACCOUNT}")
    for k in TIMESTAMPS:
        if k in obj and (isinstance(obj[k], bool) or not isinstance(obj[k], (int, float))):
            raise ControlError(f"{what} {arn}: {k} must be epoch seconds (a number)")
    return arn


def seed(st, spec):
    if spec is None:
        return
    if not isinstance(spec, dict) or set(spec) - {"serviceRevisions", "serviceDeployments"}:
        raise ControlError("ecs takes serviceRevisions and serviceDeployments")
    for rev in spec.get("serviceRevisions") or []:
        st.ecs.revisions[check_arn(rev, "serviceRevisionArn", REVISION_ARN, st.name, "serviceRevision")] = rev
    for dep in spec.get("serviceDeployments") or []:
        arn = check_arn(dep, "serviceDeploymentArn", DEPLOYMENT_ARN, st.name, "serviceDeployment")
        if dep.get("status") is not None and dep["status"] not in STATUSES:
            raise ControlError(f"serviceDeployment {arn}: status must be one of {', '.join(STATUSES)}")
        st.ecs.deployments[arn] = dep
