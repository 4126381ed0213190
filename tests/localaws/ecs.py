"""Amazon ECS in the emulator: the service and service-deployment reads of ECS deployments, over
AWS JSON 1.1 (`X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Op>`, signing name `ecs`), from
seeded state.

Operations (fault names `AmazonEC2ContainerServiceV20141113.<Op>` or `<Op>`):
  DescribeServiceRevisions    {serviceRevisionArns: 1..=20 ARNs} -> {serviceRevisions, failures}
  DescribeServiceDeployments  {serviceDeploymentArns: 1..=20 ARNs} -> {serviceDeployments, failures}
  ListServiceDeployments      {service, cluster?, status?, createdAt?{before, after}, maxResults?
                              1..=100 (20), nextToken?} -> {serviceDeployments (briefs, newest first), nextToken?}
  DescribeServices            {services: 1..=10 names or ARNs, cluster? name or ARN ("default"),
                              include? ["TAGS"]} -> {services, failures}

A missing, empty or too long ARN list and a malformed ARN are InvalidParameterException; an
ARN that is well formed but unknown in the region is a `failures[]` entry {arn, reason: "MISSING"}.
Objects are answered exactly as seeded (timestamps as epoch-second numbers).
DescribeServices: an unknown cluster is ClusterNotFoundException; a service the cluster does not
have (a name, or an ARN of another cluster) is a `failures[]` entry {arn, reason: "MISSING"} with
the service's full ARN; `tags` are answered only with include ["TAGS"].

Seed (`POST /_emulator/seed`, per region): {"ecs": {"serviceRevisions": [ServiceRevision],
"serviceDeployments": [ServiceDeployment], "clusters": [name or ARN], "services": [Service]}};
ARNs must be of the seed's region and account. A Service is {serviceName, clusterArn or cluster
(name or ARN, "default"), desiredCount, runningCount, pendingCount, taskDefinition, status?
(ACTIVE), deployments: [{id?, status PRIMARY|ACTIVE|INACTIVE, taskDefinition, desiredCount,
runningCount, pendingCount, failedTasks, rolloutState? COMPLETED|FAILED|IN_PROGRESS,
rolloutStateReason?, createdAt?, updatedAt?}], tags?, and any other Service member}; the emulator
fills serviceArn, clusterArn, createdAt and the defaults of a Fargate rolling-update service. A
service replaces the one of the same ARN (so a test can move a deployment on between calls). The
clusters of seeded services, revisions and deployments are known, as are those seeded by name.
"""

import re
import secrets

from emulator import ACCOUNT, AwsError, ControlError, get, now, operation, paginate

PREFIX = "AmazonEC2ContainerServiceV20141113"
MAX_ARNS = 20
NAME = r"[A-Za-z0-9_-]{1,255}"
REVISION_ARN = re.compile(rf"^arn:aws[a-z-]*:ecs:([a-z0-9-]+):(\d{{12}}):service-revision/({NAME})/({NAME})/(\d+)$")
DEPLOYMENT_ARN = re.compile(
    rf"^arn:aws[a-z-]*:ecs:([a-z0-9-]+):(\d{{12}}):service-deployment/({NAME})/({NAME})/([A-Za-z0-9_-]+)$")
SERVICE_ARN = re.compile(rf"^arn:aws[a-z-]*:ecs:([a-z0-9-]+):(\d{{12}}):service/({NAME})/({NAME})$")
SHORT_SERVICE_ARN = re.compile(rf"^arn:aws[a-z-]*:ecs:([a-z0-9-]+):(\d{{12}}):service/({NAME})$")  # the old form
CLUSTER_ARN = re.compile(rf"^arn:aws[a-z-]*:ecs:([a-z0-9-]+):(\d{{12}}):cluster/({NAME})$")
STATUSES = ("PENDING", "SUCCESSFUL", "STOPPED", "STOP_REQUESTED", "IN_PROGRESS", "ROLLBACK_REQUESTED",
            "ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")
TIMESTAMPS = ("createdAt", "startedAt", "finishedAt", "stoppedAt", "updatedAt")
MAX_SERVICES = 10
SERVICE_STATUSES = ("ACTIVE", "DRAINING", "INACTIVE")
DEPLOYMENT_STATUSES = ("PRIMARY", "ACTIVE", "INACTIVE")
ROLLOUT_STATES = ("COMPLETED", "FAILED", "IN_PROGRESS")
COUNTS = ("desiredCount", "runningCount", "pendingCount")
BRIEF = ("serviceDeploymentArn", "serviceArn", "clusterArn", "startedAt", "createdAt", "finishedAt",
         "status", "statusReason")


class State:
    def __init__(self):
        self.revisions = {}    # serviceRevisionArn -> ServiceRevision
        self.deployments = {}  # serviceDeploymentArn -> ServiceDeployment
        self.services = {}     # serviceArn -> Service (DescribeServices)
        self.clusters = set()  # cluster ARNs seeded by name


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
    """(cluster ARNs, service ARNs) the seeded clusters, services, revisions and deployments name."""
    objs = list(st.ecs.revisions.values()) + list(st.ecs.deployments.values()) + list(st.ecs.services.values())
    return ({o.get("clusterArn") for o in objs} - {None} | st.ecs.clusters,
            {o.get("serviceArn") for o in objs} - {None})


def cluster_arn(region, cluster):
    """The ARN of a cluster given by name or ARN (any string that is not an ARN is a name)."""
    return cluster if CLUSTER_ARN.match(cluster) else f"arn:aws:ecs:{region}:{ACCOUNT}:cluster/{cluster}"


@operation(PREFIX, "DescribeServices")
def describe_services(st, body, caller):
    names = get(body, "services", list)
    if not names:
        raise invalid("Services cannot be empty.")
    if len(names) > MAX_SERVICES:
        raise invalid(f"services can have at most {MAX_SERVICES} items.")
    for name in names:
        if not isinstance(name, str):
            raise AwsError("SerializationException", "Member services must be a list of strings")
        if name.startswith("arn:") and not (SERVICE_ARN.match(name) or SHORT_SERVICE_ARN.match(name)):
            raise invalid(f"Invalid ARN in services: {name}")
    include = get(body, "include", list) or []
    for field in include:
        if field != "TAGS":
            raise invalid(f"Invalid include value: {field}. Valid values: [TAGS]")
    cluster = cluster_arn(st.name, get(body, "cluster") or "default")
    if cluster not in known(st)[0]:
        raise AwsError("ClusterNotFoundException", "Cluster not found.")
    cluster_name = cluster.rsplit("/", 1)[1]
    found, failures = [], []
    for name in dict.fromkeys(names):
        short = SHORT_SERVICE_ARN.match(name)
        if short and short.group(1, 2) == (st.name, ACCOUNT):  # the old ARN form, without the cluster
            name = short.group(3)
        arn = name if name.startswith("arn:") else f"arn:aws:ecs:{st.name}:{ACCOUNT}:service/{cluster_name}/{name}"
        service = st.ecs.services.get(arn)
        if service is None or service["clusterArn"] != cluster:
            failures.append({"arn": arn, "reason": "MISSING"})
            continue
        found.append(service if "TAGS" in include else {k: v for k, v in service.items() if k != "tags"})
    return {"services": found, "failures": failures}


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
    if not isinstance(spec, dict) or set(spec) - {"serviceRevisions", "serviceDeployments", "clusters", "services"}:
        raise ControlError("ecs takes serviceRevisions, serviceDeployments, clusters and services")
    for rev in spec.get("serviceRevisions") or []:
        st.ecs.revisions[check_arn(rev, "serviceRevisionArn", REVISION_ARN, st.name, "serviceRevision")] = rev
    for dep in spec.get("serviceDeployments") or []:
        arn = check_arn(dep, "serviceDeploymentArn", DEPLOYMENT_ARN, st.name, "serviceDeployment")
        if dep.get("status") is not None and dep["status"] not in STATUSES:
            raise ControlError(f"serviceDeployment {arn}: status must be one of {', '.join(STATUSES)}")
        st.ecs.deployments[arn] = dep
    for cluster in spec.get("clusters") or []:
        st.ecs.clusters.add(check_cluster(cluster, st.name))
    for svc in spec.get("services") or []:
        svc = seed_service(svc, st.name)
        st.ecs.services[svc["serviceArn"]] = svc


def check_cluster(cluster, region):
    """The ARN of a seeded cluster (a name or an ARN of the seed's region and account)."""
    if not isinstance(cluster, str) or not (CLUSTER_ARN.match(cluster) or re.fullmatch(NAME, cluster)):
        raise ControlError(f"a cluster is a name (1-255 of [A-Za-z0-9_-]) or a cluster ARN: {cluster!r}")
    arn = cluster_arn(region, cluster)
    m = CLUSTER_ARN.match(arn)
    if m.group(1) != region or m.group(2) != ACCOUNT:
        raise ControlError(f"cluster {arn} is not of region {region} and account {ACCOUNT}")
    return arn


def count(obj, key, where):
    value = obj.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ControlError(f"{where}: {key} must be a whole number >= 0")
    return value


def timestamps(obj, where, t):
    for k in TIMESTAMPS:
        if k in obj and (isinstance(obj[k], bool) or not isinstance(obj[k], (int, float))):
            raise ControlError(f"{where}: {k} must be epoch seconds (a number)")
    return {"createdAt": obj.get("createdAt", t), "updatedAt": obj.get("updatedAt", obj.get("createdAt", t))}


def seed_service(spec, region):
    """A full Service object from its seed form."""
    name = spec.get("serviceName") if isinstance(spec, dict) else None
    if not isinstance(name, str) or not re.fullmatch(NAME, name):
        raise ControlError(f"every service needs serviceName (1-255 of [A-Za-z0-9_-]): {name!r}")
    arns = {check_cluster(spec[k], region) for k in ("clusterArn", "cluster") if spec.get(k) is not None}
    if len(arns) > 1:
        raise ControlError(f"service {name}: cluster and clusterArn name different clusters")
    cluster = arns.pop() if arns else cluster_arn(region, "default")
    arn = f"arn:aws:ecs:{region}:{ACCOUNT}:service/{cluster.rsplit('/', 1)[1]}/{name}"
    if spec.get("serviceArn") not in (None, arn):
        raise ControlError(f"service {name}: serviceArn must be {arn}")
    status = spec.get("status", "ACTIVE")
    if status not in SERVICE_STATUSES:
        raise ControlError(f"service {name}: status must be one of {', '.join(SERVICE_STATUSES)}")
    task = spec.get("taskDefinition")
    if not isinstance(task, str) or not task:
        raise ControlError(f"service {name}: taskDefinition must be a task definition ARN or family:revision")
    deployments = spec.get("deployments")
    if not isinstance(deployments, list):
        raise ControlError(f"service {name}: deployments must be a list")
    tags = spec.get("tags", [])
    if not (isinstance(tags, list) and all(isinstance(x, dict) and set(x) <= {"key", "value"} for x in tags)):
        raise ControlError(f"service {name}: tags must be a list of {{key, value}}")
    t = now()
    launch = spec.get("launchType", "FARGATE")
    defaults = {
        "loadBalancers": [], "serviceRegistries": [], "launchType": launch,
        **({"platformVersion": "LATEST", "platformFamily": "Linux"} if launch == "FARGATE" else {}),
        "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": True, "rollback": True},
                                    "maximumPercent": 200, "minimumHealthyPercent": 100, "strategy": "ROLLING"},
        "roleArn": f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS",
        "events": [], "placementConstraints": [], "placementStrategy": [], "schedulingStrategy": "REPLICA",
        "deploymentController": {"type": "ECS"}, "createdBy": f"arn:aws:iam::{ACCOUNT}:role/deployer",
        "enableECSManagedTags": False, "propagateTags": "NONE", "enableExecuteCommand": False,
        "availabilityZoneRebalancing": "ENABLED",
    }
    checked = {
        "serviceArn": arn, "serviceName": name, "clusterArn": cluster, "status": status, "taskDefinition": task,
        **{k: count(spec, k, f"service {name}") for k in COUNTS},
        "deployments": [seed_deployment(d, name, launch, t) for d in deployments],
        "createdAt": timestamps(spec, f"service {name}", t)["createdAt"],
    }
    return {**defaults, **{k: v for k, v in spec.items() if k != "cluster"}, **checked}


def seed_deployment(spec, service, launch, t):
    where = f"service {service}: deployment {spec.get('id') if isinstance(spec, dict) else spec!r}"
    if not isinstance(spec, dict):
        raise ControlError(f"{where} must be an object")
    if spec.get("status") not in DEPLOYMENT_STATUSES:
        raise ControlError(f"{where}: status must be one of {', '.join(DEPLOYMENT_STATUSES)}")
    if spec.get("rolloutState") is not None and spec["rolloutState"] not in ROLLOUT_STATES:
        raise ControlError(f"{where}: rolloutState must be one of {', '.join(ROLLOUT_STATES)}")
    if not isinstance(spec.get("taskDefinition"), str) or not spec["taskDefinition"]:
        raise ControlError(f"{where}: taskDefinition must be a task definition ARN or family:revision")
    dep_id = spec.get("id") or f"ecs-svc/{secrets.randbelow(10 ** 19):019d}"
    if not isinstance(dep_id, str):
        raise ControlError(f"{where}: id must be a string")
    defaults = {"launchType": launch, **({"platformVersion": "1.4.0", "platformFamily": "Linux"}
                                         if launch == "FARGATE" else {})}
    checked = {"id": dep_id, "status": spec["status"], "taskDefinition": spec["taskDefinition"],
               **{k: count(spec, k, where) for k in (*COUNTS, "failedTasks")}, **timestamps(spec, where, t)}
    return {**defaults, **spec, **checked}
