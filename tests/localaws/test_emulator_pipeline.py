"""Self-test of the emulator's CodePipeline job answers (`pipeline_jobs.py`) and ECS DescribeServices
(`ecs.py`): `python3 -m unittest tests/localaws/test_emulator_pipeline.py`.

The AWS calls go through botocore clients (the service models the AWS SDKs share, SigV4 signing,
JSON 1.1) pointed at the emulator; the few requests a client would not send (wrong member types)
are built by hand, as in the other emulator tests, with a fake SigV4 Authorization header.
"""

import json
import unittest
import urllib.error
import urllib.request

import emulator
import pipeline_jobs

try:
    import botocore.config
    import botocore.exceptions
    import botocore.session
except ImportError:  # scripts/setup installs it (moto's dependency)
    botocore = None

REGION = "us-east-1"
ACCOUNT = emulator.ACCOUNT
EXECUTION = "0a1b2c3d-0000-4000-8000-000000000001"
JOB = "6f1c0e2a-1b2c-4d5e-8f90-0123456789ab"
OTHER_JOB = "7e2d1f3b-2c3d-4e5f-9a01-123456789abc"
UNKNOWN_JOB = "00000000-0000-4000-8000-000000000000"
CLUSTER = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/prod"
WEB = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/prod/web"
TASK = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/web:8"
OLD_TASK = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/web:7"
T0 = 1_760_000_000


def job(job_id, **over):
    return {"id": job_id, "pipelineName": "release", "stage": "Deploy", "action": "Roll",
            "pipelineExecutionId": EXECUTION, "functionName": "codehooks-deploy-hook",
            "userParameters": '{"cluster":"prod","service":"web"}', **over}


def rollout(state, running):
    """The web service mid-rollout (IN_PROGRESS) or done (COMPLETED)."""
    deployments = [{"id": "ecs-svc/2222222222222222222", "status": "PRIMARY", "taskDefinition": TASK,
                    "desiredCount": 2, "runningCount": running, "pendingCount": 2 - running, "failedTasks": 0,
                    "rolloutState": state, "rolloutStateReason": f"ECS deployment {state}.",
                    "createdAt": T0 + 60, "updatedAt": T0 + 90}]
    if state == "IN_PROGRESS":
        deployments.append({"id": "ecs-svc/1111111111111111111", "status": "ACTIVE", "taskDefinition": OLD_TASK,
                            "desiredCount": 2 - running, "runningCount": 2 - running, "pendingCount": 0,
                            "failedTasks": 0, "rolloutState": "COMPLETED", "rolloutStateReason": "done",
                            "createdAt": T0, "updatedAt": T0 + 10})
    return {"serviceName": "web", "cluster": "prod", "desiredCount": 2, "runningCount": 2, "pendingCount": 0,
            "taskDefinition": TASK, "deployments": deployments, "tags": [{"key": "team", "value": "ops"}]}


SEED = {
    "region": REGION,
    "codepipeline": {"jobs": [job(JOB), job(OTHER_JOB, userParameters=None)]},
    "ecs": {"clusters": ["empty"],
            "services": [rollout("IN_PROGRESS", 1),
                         {"serviceName": "api", "clusterArn": CLUSTER, "desiredCount": 1, "runningCount": 1,
                          "pendingCount": 0, "taskDefinition": "api:3", "deployments": []}]},
}


@unittest.skipIf(botocore is None, "botocore is not installed (scripts/setup installs it)")
class Base(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = emulator.EmulatorServer().start()
        cls.base = f"http://{cls.server.hostport}"
        session = botocore.session.get_session()
        config = botocore.config.Config(retries={"total_max_attempts": 1})
        cls.clients = {name: session.create_client(name, region_name=REGION, endpoint_url=cls.base, config=config,
                                                   aws_access_key_id="AKIDPIPELINE", aws_secret_access_key="x")
                       for name in ("codepipeline", "ecs")}

    @classmethod
    def tearDownClass(cls):
        for client in cls.clients.values():
            client.close()
        cls.server.stop()

    def setUp(self):
        self.control("reset", {})
        self.control("seed", SEED)

    def control(self, path, body=None, method="POST"):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.base}/_emulator/{path}", data=data, method=method)
        with urllib.request.urlopen(req) as r:
            return json.loads(r.read())

    def bad_control(self, path, body):
        with self.assertRaises(urllib.error.HTTPError) as cm:
            self.control(path, body)
        self.assertEqual(cm.exception.code, 400)
        return json.loads(cm.exception.read())["error"]

    def raw(self, target, body, service):
        """(status, parsed body) of a hand-built JSON 1.1 request."""
        auth = (f"AWS4-HMAC-SHA256 Credential=AKIDRAW/20250101/{REGION}/{service}/aws4_request, "
                f"SignedHeaders=content-type;host;x-amz-date, Signature={'0' * 64}")
        req = urllib.request.Request(self.base + "/", data=json.dumps(body).encode(), method="POST", headers={
            "X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Date": "20250101T000000Z", "Authorization": auth})
        try:
            with urllib.request.urlopen(req) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def fails(self, code, client, op, **params):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            getattr(self.clients[client], op)(**params)
        err = cm.exception.response
        self.assertEqual((err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]), (code, 400), err)
        return err["Error"]["Message"]

    def job(self, job_id):
        jobs = self.control(f"jobs?region={REGION}&id={job_id}", method="GET")
        self.assertEqual(len(jobs), 1, jobs)
        return jobs[0]


class PipelineJobTest(Base):
    def succeed(self, **params):
        return self.clients["codepipeline"].put_job_success_result(**params)

    def fail(self, **params):
        return self.clients["codepipeline"].put_job_failure_result(**params)

    def test_seeded_job_and_its_event(self):
        got = self.job(JOB)
        self.assertEqual({k: got[k] for k in ("status", "result", "refused", "next", "region")},
                         {"status": "InProgress", "result": None, "refused": [], "next": None, "region": REGION})
        self.assertEqual(got["event"], {"CodePipeline.job": {"id": JOB, "accountId": ACCOUNT, "data": {
            "actionConfiguration": {"configuration": {"FunctionName": "codehooks-deploy-hook",
                                                      "UserParameters": '{"cluster":"prod","service":"web"}'}},
            "inputArtifacts": [], "outputArtifacts": [],
            "artifactCredentials": {"accessKeyId": pipeline_jobs.ARTIFACT_ACCESS_KEY_ID,
                                    "secretAccessKey": pipeline_jobs.ARTIFACT_SECRET,
                                    "sessionToken": pipeline_jobs.ARTIFACT_SESSION_TOKEN}}}})
        other = self.job(OTHER_JOB)["event"]["CodePipeline.job"]["data"]
        self.assertEqual(other["actionConfiguration"]["configuration"], {"FunctionName": "codehooks-deploy-hook"})
        self.assertNotIn("continuationToken", other)
        self.assertEqual(len(self.control("jobs", method="GET")), 2)
        self.assertEqual(self.control("jobs?region=eu-west-1", method="GET"), [])
        state = self.control(f"state?region={REGION}", method="GET")
        self.assertEqual([j["id"] for j in state["codepipeline"]["jobs"]], [JOB, OTHER_JOB])

    def test_success(self):
        params = {"jobId": JOB, "currentRevision": {"revision": "abc", "changeIdentifier": "c1", "created": T0},
                  "executionDetails": {"summary": "web rolled out", "externalExecutionId": "ecs-svc/2",
                                       "percentComplete": 100},
                  "outputVariables": {"ServiceArn": WEB, "task-def@8": TASK}}
        self.succeed(**params)
        got = self.job(JOB)
        self.assertEqual((got["status"], got["next"]), ("Succeeded", None))
        self.assertEqual(got["result"]["executionDetails"], params["executionDetails"])
        self.assertEqual(got["result"]["outputVariables"], params["outputVariables"])
        self.assertEqual(self.job(OTHER_JOB)["status"], "InProgress")
        self.assertEqual(len(self.control("jobs", method="GET")), 2)
        log = self.control("requests?operation=PutJobSuccessResult", method="GET")
        self.assertEqual([(r["service"], r["status"]) for r in log], [("codepipeline", 200)])

    def test_failure(self):
        details = {"type": "JobFailed", "message": "the web deployment failed: 2 tasks stopped",
                   "externalExecutionId": "ecs-svc/2"}
        self.fail(jobId=JOB, failureDetails=details)
        got = self.job(JOB)
        self.assertEqual((got["status"], got["result"]), ("Failed", {"jobId": JOB, "failureDetails": details}))
        for kind in pipeline_jobs.FAILURE_TYPES[1:]:
            self.control("jobs", job(OTHER_JOB))
            self.fail(jobId=OTHER_JOB, failureDetails={"type": kind, "message": "m"})
            self.assertEqual(self.job(OTHER_JOB)["result"]["failureDetails"]["type"], kind)

    def test_continuation_creates_the_next_job(self):
        self.succeed(jobId=JOB, continuationToken="rollout:ecs-svc/2",
                     executionDetails={"summary": "1 of 2 tasks running", "percentComplete": 50})
        first = self.job(JOB)
        self.assertEqual(first["status"], "Succeeded")
        self.assertRegex(first["next"], emulator.UUID_RE)
        second = self.job(first["next"])
        self.assertEqual((second["status"], second["result"], second["next"]), ("InProgress", None, None))
        for key in ("pipelineName", "stage", "action", "pipelineExecutionId"):
            self.assertEqual(second[key], first[key])
        cp_job = second["event"]["CodePipeline.job"]
        self.assertEqual(cp_job["id"], first["next"])
        self.assertEqual(cp_job["data"]["continuationToken"], "rollout:ecs-svc/2")
        self.assertEqual(cp_job["data"]["actionConfiguration"],
                         first["event"]["CodePipeline.job"]["data"]["actionConfiguration"])
        # The next job is answered like any other; without a token the chain ends.
        self.succeed(jobId=second["id"], executionDetails={"summary": "done", "percentComplete": 100})
        self.assertEqual((self.job(second["id"])["status"], self.job(second["id"])["next"]), ("Succeeded", None))
        self.assertEqual(len(self.control(f"jobs?region={REGION}", method="GET")), 3)

    def test_second_answer_is_refused_and_recorded(self):
        self.succeed(jobId=JOB)
        self.fails("InvalidJobStateException", "codepipeline", "put_job_success_result", jobId=JOB,
                   executionDetails={"summary": "again"})
        self.fails("InvalidJobStateException", "codepipeline", "put_job_failure_result", jobId=JOB,
                   failureDetails={"type": "JobFailed", "message": "late"})
        got = self.job(JOB)
        self.assertEqual((got["status"], got["result"]), ("Succeeded", {"jobId": JOB}))
        self.assertEqual(got["refused"], [{"jobId": JOB, "executionDetails": {"summary": "again"}},
                                          {"jobId": JOB, "failureDetails": {"type": "JobFailed", "message": "late"}}])
        self.fail(jobId=OTHER_JOB, failureDetails={"type": "JobFailed", "message": "m"})
        self.fails("InvalidJobStateException", "codepipeline", "put_job_success_result", jobId=OTHER_JOB)
        self.assertEqual(len(self.job(OTHER_JOB)["refused"]), 1)

    def test_job_ids(self):
        for bad in ("not-a-uuid", JOB.upper(), JOB + "0"):
            message = self.fails("ValidationException", "codepipeline", "put_job_success_result", jobId=bad)
            self.assertIn("at 'jobId'", message)
            self.fails("ValidationException", "codepipeline", "put_job_failure_result", jobId=bad,
                       failureDetails={"type": "JobFailed", "message": "m"})
        self.fails("JobNotFoundException", "codepipeline", "put_job_success_result", jobId=UNKNOWN_JOB)
        self.fails("JobNotFoundException", "codepipeline", "put_job_failure_result", jobId=UNKNOWN_JOB,
                   failureDetails={"type": "JobFailed", "message": "m"})
        self.assertEqual(self.raw("CodePipeline_20150709.PutJobSuccessResult", {}, "codepipeline")[1]["__type"],
                         "ValidationException")
        # Jobs are per region.
        self.control("seed", {"region": "eu-west-1", "codepipeline": {"jobs": [job(UNKNOWN_JOB)]}})
        self.fails("JobNotFoundException", "codepipeline", "put_job_success_result", jobId=UNKNOWN_JOB)

    def test_failure_details(self):
        message = self.fails("ValidationException", "codepipeline", "put_job_failure_result", jobId=JOB,
                             failureDetails={"type": "JobFailed", "message": "x" * 5001})
        self.assertIn("failureDetails.message", message)
        self.assertIn("less than or equal to 5000", message)
        message = self.fails("ValidationException", "codepipeline", "put_job_failure_result", jobId=JOB,
                             failureDetails={"type": "Broken", "message": "m"})
        self.assertIn("enum value set", message)
        message = self.fails("ValidationException", "codepipeline", "put_job_failure_result", jobId="bad",
                             failureDetails={"type": "Broken", "message": "m", "externalExecutionId": "e" * 1501})
        self.assertTrue(message.startswith("3 validation errors detected: "), message)
        status, out = self.raw("CodePipeline_20150709.PutJobFailureResult", {"jobId": JOB}, "codepipeline")
        self.assertEqual((status, out["__type"]), (400, "ValidationException"))
        self.assertIn("'failureDetails' failed to satisfy constraint: Member must not be null", out["message"])
        status, out = self.raw("CodePipeline_20150709.PutJobFailureResult",
                               {"jobId": JOB, "failureDetails": {"type": "JobFailed"}}, "codepipeline")
        self.assertIn("failureDetails.message", out["message"])
        status, out = self.raw("CodePipeline_20150709.PutJobFailureResult",
                               {"jobId": JOB, "failureDetails": {"type": "JobFailed", "message": 5}}, "codepipeline")
        self.assertEqual(out["__type"], "SerializationException")
        self.fail(jobId=JOB, failureDetails={"type": "JobFailed", "message": "x" * 5000})
        self.assertEqual(self.job(JOB)["status"], "Failed")

    def test_success_details(self):
        self.fails("ValidationException", "codepipeline", "put_job_success_result", jobId=JOB,
                   continuationToken="t", outputVariables={"a": "b"})
        self.fails("ValidationException", "codepipeline", "put_job_success_result", jobId=JOB,
                   continuationToken="t" * 2049)
        self.fails("ValidationException", "codepipeline", "put_job_success_result", jobId=JOB,
                   executionDetails={"percentComplete": 101})
        self.fails("ValidationException", "codepipeline", "put_job_success_result", jobId=JOB,
                   executionDetails={"summary": "s" * 2049})
        self.fails("ValidationException", "codepipeline", "put_job_success_result", jobId=JOB,
                   executionDetails={"externalExecutionId": "e" * 1501})
        self.fails("ValidationException", "codepipeline", "put_job_success_result", jobId=JOB,
                   outputVariables={"bad key": "v"})
        self.fails("OutputVariablesSizeExceededException", "codepipeline", "put_job_success_result", jobId=JOB,
                   outputVariables={"big": "v" * pipeline_jobs.OUTPUT_VARIABLES_LIMIT})
        status, out = self.raw("CodePipeline_20150709.PutJobSuccessResult",
                               {"jobId": JOB, "currentRevision": {"revision": "r"}}, "codepipeline")
        self.assertIn("currentRevision.changeIdentifier", out["message"])
        status, out = self.raw("CodePipeline_20150709.PutJobSuccessResult",
                               {"jobId": JOB, "executionDetails": {"percentComplete": "50"}}, "codepipeline")
        self.assertEqual(out["__type"], "SerializationException")
        # None of these reached the job.
        got = self.job(JOB)
        self.assertEqual((got["status"], got["refused"]), ("InProgress", []))
        self.succeed(jobId=JOB, outputVariables={})
        self.assertEqual(self.job(JOB)["status"], "Succeeded")

    def test_faults_apply(self):
        self.control("faults", {"operation": "PutJobSuccessResult", "kind": "throttle"})
        self.fails("ThrottlingException", "codepipeline", "put_job_success_result", jobId=JOB)
        self.assertEqual(self.job(JOB)["status"], "InProgress")
        self.succeed(jobId=JOB)

    def test_control_jobs(self):
        created = self.control("jobs", {"region": "eu-west-1", "pipelineName": "p", "stage": "s", "action": "a",
                                        "pipelineExecutionId": EXECUTION, "functionName": "f",
                                        "continuationToken": "t-1", "accountId": "210987654321"})
        self.assertRegex(created["id"], emulator.UUID_RE)
        self.assertEqual((created["region"], created["status"]), ("eu-west-1", "InProgress"))
        cp_job = created["event"]["CodePipeline.job"]
        self.assertEqual((cp_job["accountId"], cp_job["data"]["continuationToken"]), ("210987654321", "t-1"))
        self.assertEqual(self.control(f"jobs?id={created['id']}", method="GET"), [created])
        self.assertIn("pipelineExecutionId", self.bad_control("jobs", job(JOB, pipelineExecutionId="x")))
        self.assertIn("lowercase UUID", self.bad_control("jobs", job("nope")))
        self.assertIn("unknown keys", self.bad_control("jobs", job(JOB, token="t")))
        self.assertIn("accountId", self.bad_control("jobs", job(JOB, accountId="1")))
        self.assertIn("functionName", self.bad_control("jobs", job(JOB, functionName=None)))
        self.assertIn("stage", self.bad_control("seed", {"codepipeline": {"jobs": [job(JOB, stage="a b")]}}))
        # A rejected seed changes nothing.
        self.assertEqual(self.job(JOB)["status"], "InProgress")


class DescribeServicesTest(Base):
    def describe(self, **params):
        out = self.clients["ecs"].describe_services(**params)
        out.pop("ResponseMetadata")
        return out

    def test_found_and_missing(self):
        out = self.describe(cluster="prod", services=["web", "nope", WEB])
        self.assertEqual([s["serviceArn"] for s in out["services"]], [WEB, WEB])
        self.assertEqual(out["failures"], [{"arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/prod/nope",
                                            "reason": "MISSING"}])
        web = out["services"][0]
        self.assertEqual((web["serviceName"], web["clusterArn"], web["status"], web["desiredCount"]),
                         ("web", CLUSTER, "ACTIVE", 2))
        self.assertNotIn("tags", web)
        primary, active = web["deployments"]
        self.assertEqual((primary["status"], primary["rolloutState"], primary["runningCount"]),
                         ("PRIMARY", "IN_PROGRESS", 1))
        self.assertEqual((active["status"], active["taskDefinition"]), ("ACTIVE", OLD_TASK))
        self.assertEqual(primary["createdAt"].timestamp(), T0 + 60)  # epoch seconds on the wire
        self.assertIn("deploymentConfiguration", web)
        out = self.describe(cluster=CLUSTER, services=["api", "web"], include=["TAGS"])
        self.assertEqual([s["serviceName"] for s in out["services"]], ["api", "web"])
        self.assertEqual(out["services"][1]["tags"], [{"key": "team", "value": "ops"}])
        self.assertEqual(out["services"][0]["deployments"], [])
        # A cluster with no services, and a service ARN of another cluster.
        out = self.describe(cluster="empty", services=[WEB, "web"])
        self.assertEqual((out["services"], [f["arn"] for f in out["failures"]]),
                         ([], [WEB, f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/empty/web"]))
        # The old ARN form, without the cluster.
        out = self.describe(cluster="prod", services=[f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/web"])
        self.assertEqual([s["serviceArn"] for s in out["services"]], [WEB])

    def test_reseeding_moves_the_rollout_on(self):
        self.control("seed", {"region": REGION, "ecs": {"services": [rollout("COMPLETED", 2)]}})
        (web,) = self.describe(cluster="prod", services=["web"])["services"]
        self.assertEqual([(d["status"], d["rolloutState"], d["runningCount"]) for d in web["deployments"]],
                         [("PRIMARY", "COMPLETED", 2)])
        state = self.control(f"state?region={REGION}", method="GET")
        self.assertEqual(len(state["ecs"]["services"]), 2)
        self.assertIn(f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/empty", state["ecs"]["clusters"])

    def test_unknown_cluster_and_bad_requests(self):
        self.fails("ClusterNotFoundException", "ecs", "describe_services", services=["web"])  # "default"
        self.fails("ClusterNotFoundException", "ecs", "describe_services", cluster="staging", services=["web"])
        self.fails("ClusterNotFoundException", "ecs", "describe_services",
                   cluster=CLUSTER.replace(REGION, "eu-west-1"), services=["web"])
        message = self.fails("InvalidParameterException", "ecs", "describe_services", cluster="prod",
                             services=[f"s{i}" for i in range(11)])
        self.assertIn("10", message)
        self.describe(cluster="prod", services=[f"s{i}" for i in range(10)])
        self.fails("InvalidParameterException", "ecs", "describe_services", cluster="prod", services=[])
        self.fails("InvalidParameterException", "ecs", "describe_services", cluster="prod", services=["arn:aws:x"])
        self.fails("InvalidParameterException", "ecs", "describe_services", cluster="prod", services=["web"],
                   include=["EVENTS"])
        target = "AmazonEC2ContainerServiceV20141113.DescribeServices"
        self.assertEqual(self.raw(target, {"cluster": "prod"}, "ecs")[1]["__type"], "InvalidParameterException")
        self.assertEqual(self.raw(target, {"cluster": "prod", "services": "web"}, "ecs")[1]["__type"],
                         "SerializationException")

    def test_the_other_reads_know_seeded_services(self):
        out = self.clients["ecs"].list_service_deployments(cluster="prod", service="web")
        self.assertEqual(out["serviceDeployments"], [])
        self.fails("ServiceNotFoundException", "ecs", "list_service_deployments", cluster="prod", service="db")

    def test_seed_validation(self):
        def bad(service):
            return self.bad_control("seed", {"region": REGION, "ecs": {"services": [service]}})
        good = rollout("COMPLETED", 2)
        self.assertIn("serviceName", bad({**good, "serviceName": "a b"}))
        self.assertIn("region", bad({**good, "cluster": CLUSTER.replace(REGION, "eu-west-1")}))
        self.assertIn("different clusters", bad({**good, "clusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/x"}))
        self.assertIn("status", bad({**good, "status": "RUNNING"}))
        self.assertIn("desiredCount", bad({**good, "desiredCount": -1}))
        self.assertIn("deployments", bad({**good, "deployments": None}))
        dep = good["deployments"][0]
        self.assertIn("status", bad({**good, "deployments": [{**dep, "status": "DONE"}]}))
        self.assertIn("rolloutState", bad({**good, "deployments": [{**dep, "rolloutState": "DONE"}]}))
        self.assertIn("epoch seconds", bad({**good, "deployments": [{**dep, "createdAt": "2025-01-01"}]}))
        self.assertIn("failedTasks", bad({**good, "deployments": [{**dep, "failedTasks": "0"}]}))
        self.assertIn("cluster", self.bad_control("seed", {"ecs": {"clusters": ["a b"]}}))
        # Defaults: the default cluster, a generated deployment id, now as the timestamps.
        self.control("seed", {"region": REGION, "ecs": {"services": [
            {"serviceName": "solo", "desiredCount": 1, "runningCount": 0, "pendingCount": 1, "taskDefinition": "s:1",
             "deployments": [{"status": "PRIMARY", "taskDefinition": "s:1", "desiredCount": 1}]}]}})
        (solo,) = self.describe(services=["solo"])["services"]
        self.assertEqual(solo["clusterArn"], f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/default")
        self.assertRegex(solo["deployments"][0]["id"], r"^ecs-svc/\d{19}$")
        self.assertEqual(solo["deployments"][0]["failedTasks"], 0)


if __name__ == "__main__":
    unittest.main()
