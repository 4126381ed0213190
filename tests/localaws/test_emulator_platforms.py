"""Self-test of the emulator's ECS, Lambda Invoke and CloudWatch services and of the CBOR codec:
`python3 -m unittest tests/localaws/test_emulator_platforms.py` (standard library only).

Requests are built as the AWS SDK for Rust builds them: JSON 1.1 for ECS, REST-JSON for Lambda
(percent-encoded FunctionName label, `Qualifier` query), RPC v2 CBOR for CloudWatch (indefinite
maps, definite arrays, tag 1 timestamps over doubles), with a fake SigV4 Authorization header.
"""

import base64
import json
import math
import time
import unittest
import urllib.error
import urllib.request
from urllib.parse import quote

import cbor
import emulator

REGION = "us-east-1"
ACCOUNT = emulator.ACCOUNT
SVC = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/prod/web"
CLUSTER = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/prod"
GREEN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-revision/prod/web/9313423515462893900"
BLUE = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-revision/prod/web/1920498462936580504"
DEPLOY = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/prod/web/EZe5RNVLH6PPzHXINuP28"
OLD_DEPLOY = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/prod/web/Abc123"
T0 = 1_760_000_040  # a multiple of 60
ECS_TARGET = "AmazonEC2ContainerServiceV20141113"


def auth(key, region, service):
    return (f"AWS4-HMAC-SHA256 Credential={key}/20250101/{region}/{service}/aws4_request, "
            f"SignedHeaders=content-type;host;x-amz-date, Signature={'0' * 64}")


def revision(arn, tg):
    return {"serviceRevisionArn": arn, "serviceArn": SVC, "clusterArn": CLUSTER,
            "taskDefinition": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/web:7", "createdAt": T0,
            "loadBalancers": [{"targetGroupArn": tg, "containerName": "web", "containerPort": 80,
                               "advancedConfiguration": {"alternateTargetGroupArn": "tg-b",
                                                         "productionListenerRule": "rule-p"}}],
            "resolvedConfiguration": {"loadBalancers": [{"targetGroupArn": tg, "productionListenerRule": "rule-p"}]}}


SEED = {
    "region": REGION,
    "ecs": {
        "serviceRevisions": [revision(GREEN, "tg-a"), revision(BLUE, "tg-b")],
        "serviceDeployments": [
            {"serviceDeploymentArn": DEPLOY, "serviceArn": SVC, "clusterArn": CLUSTER, "createdAt": T0 + 60,
             "startedAt": T0 + 61, "status": "IN_PROGRESS", "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT",
             "sourceServiceRevisions": [{"arn": BLUE, "requestedTaskCount": 2, "runningTaskCount": 2,
                                         "pendingTaskCount": 0, "requestedProductionTrafficWeight": 100.0}],
             "targetServiceRevision": {"arn": GREEN, "requestedTaskCount": 2, "runningTaskCount": 2,
                                       "pendingTaskCount": 0, "requestedTestTrafficWeight": 100.0}},
            {"serviceDeploymentArn": OLD_DEPLOY, "serviceArn": SVC, "clusterArn": CLUSTER, "createdAt": T0,
             "status": "SUCCESSFUL", "targetServiceRevision": {"arn": BLUE}}]},
    "lambda": {"functions": [
        {"functionName": "orders", "aliases": {"live": "7"}, "versions": {
            "7": {"payload": {"ok": True, "version": 7},
                  "responses": [{"when": {"pointer": "/mode", "equals": "boom"},
                                 "payload": {"errorMessage": "boom", "errorType": "Error"},
                                 "functionError": "Unhandled"}]},
            "8": {"payload": {"ok": True, "version": 8}, "delayMs": 120},
            "9": {"payload": {"errorMessage": "bad"}, "functionError": "Unhandled"}}},
        {"functionName": "latest-only", "versions": {"$LATEST": {"payload": "hello"}}}]},
    "cloudwatch": {"metrics": [
        {"namespace": "AWS/Lambda", "metricName": "Errors",
         "dimensions": [{"name": "FunctionName", "value": "orders"}, {"name": "Resource", "value": "orders:live"}],
         "points": [{"timestamp": T0 + 5, "value": 1.0}, {"timestamp": T0 + 30, "value": 2.0},
                    {"timestamp": T0 + 70, "value": 4.0}, {"timestamp": T0 + 200, "value": 8.0}]},
        {"namespace": "AWS/Lambda", "metricName": "Errors",
         "dimensions": [{"name": "FunctionName", "value": "orders"}],
         "points": [{"timestamp": T0 + 5, "value": 100.0}]}]},
}


class Base(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = emulator.EmulatorServer().start()
        cls.base = f"http://{cls.server.hostport}"

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def setUp(self):
        self.control("reset", {})
        self.control("seed", SEED)

    def control(self, path, body=None, method="POST"):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.base}/_emulator/{path}", data=data, method=method)
        with urllib.request.urlopen(req) as r:
            return json.loads(r.read())

    def bad_seed(self, spec):
        with self.assertRaises(urllib.error.HTTPError) as cm:
            self.control("seed", {"region": REGION, **spec})
        self.assertEqual(cm.exception.code, 400)
        return json.loads(cm.exception.read())["error"]

    def http(self, path, data, headers, method="POST"):
        req = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req) as r:
                return r.status, r.read(), r.headers
        except urllib.error.HTTPError as e:
            return e.code, e.read(), e.headers


class EcsTest(Base):
    def ecs(self, op, body, service="ecs"):
        status, raw, headers = self.http("/", json.dumps(body).encode(), {
            "X-Amz-Target": f"{ECS_TARGET}.{op}", "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Date": "20250101T000000Z", "Authorization": auth("AKIDECS", REGION, service)})
        return status, json.loads(raw), headers

    def fails(self, code, op, body):
        status, out, headers = self.ecs(op, body)
        self.assertEqual((status, out.get("__type")), (400, code), out)
        self.assertEqual(headers["x-amzn-ErrorType"], code)
        return out

    def test_describe_service_revisions_answers_seeded_objects_and_missing(self):
        status, out, _ = self.ecs("DescribeServiceRevisions", {"serviceRevisionArns": [GREEN, GREEN + "1"]})
        self.assertEqual(status, 200)
        self.assertEqual(out["serviceRevisions"], [SEED["ecs"]["serviceRevisions"][0]])
        self.assertEqual(out["failures"], [{"arn": GREEN + "1", "reason": "MISSING"}])
        self.assertIsInstance(out["serviceRevisions"][0]["createdAt"], int)

    def test_describe_service_deployments(self):
        status, out, _ = self.ecs("DescribeServiceDeployments", {"serviceDeploymentArns": [DEPLOY]})
        self.assertEqual(status, 200)
        self.assertEqual(out["serviceDeployments"][0]["targetServiceRevision"]["arn"], GREEN)
        self.assertEqual(out["failures"], [])

    def test_strict_arn_lists(self):
        for op, member, arn in (("DescribeServiceRevisions", "serviceRevisionArns", GREEN),
                                ("DescribeServiceDeployments", "serviceDeploymentArns", DEPLOY)):
            self.fails("InvalidParameterException", op, {})
            self.fails("InvalidParameterException", op, {member: []})
            self.fails("InvalidParameterException", op, {member: [arn] * 21})
            self.fails("InvalidParameterException", op, {member: ["web"]})
            self.fails("SerializationException", op, {member: arn})
        # A deployment ARN is not a revision ARN.
        self.fails("InvalidParameterException", "DescribeServiceRevisions", {"serviceRevisionArns": [DEPLOY]})
        status, out, _ = self.ecs("DescribeServiceRevisions", {"serviceRevisionArns": [GREEN] * 20})
        self.assertEqual((status, len(out["serviceRevisions"])), (200, 1))

    def test_signature_scope_and_unknown_operation(self):
        status, out, _ = self.ecs("DescribeServiceRevisions", {"serviceRevisionArns": [GREEN]}, service="lambda")
        self.assertEqual((status, out["__type"]), (400, "InvalidSignatureException"))
        self.fails("UnknownOperationException", "DescribeTasks", {"tasks": ["t"]})

    def test_list_service_deployments(self):
        status, out, _ = self.ecs("ListServiceDeployments", {"service": "web", "cluster": "prod"})
        self.assertEqual(status, 200)
        self.assertEqual([d["serviceDeploymentArn"] for d in out["serviceDeployments"]], [DEPLOY, OLD_DEPLOY])
        self.assertEqual(out["serviceDeployments"][0]["targetServiceRevisionArn"], GREEN)
        status, out, _ = self.ecs("ListServiceDeployments", {"service": SVC, "cluster": CLUSTER,
                                                             "status": ["SUCCESSFUL"]})
        self.assertEqual([d["serviceDeploymentArn"] for d in out["serviceDeployments"]], [OLD_DEPLOY])
        status, out, _ = self.ecs("ListServiceDeployments", {"service": "web", "cluster": "prod", "maxResults": 1})
        self.assertEqual(len(out["serviceDeployments"]), 1)
        status, out2, _ = self.ecs("ListServiceDeployments", {"service": "web", "cluster": "prod", "maxResults": 1,
                                                              "nextToken": out["nextToken"]})
        self.assertEqual(out2["serviceDeployments"][0]["serviceDeploymentArn"], OLD_DEPLOY)
        self.fails("ClusterNotFoundException", "ListServiceDeployments", {"service": "web"})
        self.fails("ServiceNotFoundException", "ListServiceDeployments", {"service": "api", "cluster": "prod"})
        self.fails("InvalidParameterException", "ListServiceDeployments", {"service": "web", "cluster": "prod",
                                                                          "maxResults": 101})
        self.fails("InvalidParameterException", "ListServiceDeployments", {"service": "web", "cluster": "prod",
                                                                          "status": ["DONE"]})

    def test_faults_and_request_log(self):
        self.control("faults", {"operation": f"{ECS_TARGET}.DescribeServiceRevisions", "kind": "throttle"})
        self.fails("ThrottlingException", "DescribeServiceRevisions", {"serviceRevisionArns": [GREEN]})
        status, _, _ = self.ecs("DescribeServiceRevisions", {"serviceRevisionArns": [GREEN]})
        self.assertEqual(status, 200)
        log = self.control("requests?operation=DescribeServiceRevisions", method="GET")
        self.assertEqual([r["status"] for r in log], [400, 200])

    def test_seed_validation(self):
        self.assertIn("ECS ARN", self.bad_seed({"ecs": {"serviceRevisions": [{"serviceRevisionArn": "x"}]}}))
        other = GREEN.replace(REGION, "eu-west-1")
        self.assertIn("region", self.bad_seed({"ecs": {"serviceRevisions": [{"serviceRevisionArn": other}]}}))
        self.assertIn("epoch seconds", self.bad_seed({"ecs": {"serviceDeployments": [
            {"serviceDeploymentArn": DEPLOY, "createdAt": "2025-01-01"}]}}))
        self.assertIn("status", self.bad_seed({"ecs": {"serviceDeployments": [
            {"serviceDeploymentArn": DEPLOY, "status": "DONE"}]}}))
        self.bad_seed({"ecs": {"tasks": []}})
        state = self.control(f"state?region={REGION}", method="GET")
        self.assertEqual(len(state["ecs"]["serviceRevisions"]), 2)


class LambdaTest(Base):
    def invoke(self, name, payload=b'{"a":1}', qualifier=None, kind=None, log=None, service="lambda", region=REGION):
        path = f"/2015-03-31/functions/{quote(name, safe='')}/invocations"
        if qualifier is not None:
            path += f"?Qualifier={quote(qualifier, safe='')}"
        headers = {"Content-Type": "application/octet-stream", "X-Amz-Date": "20250101T000000Z",
                   "Authorization": auth("AKIDLAMBDA", region, service)}
        if kind:
            headers["X-Amz-Invocation-Type"] = kind
        if log:
            headers["X-Amz-Log-Type"] = log
        return self.http(path, payload, headers)

    def error(self, status, code, *args, **kw):
        got, raw, headers = self.invoke(*args, **kw)
        self.assertEqual((got, headers["x-amzn-ErrorType"]), (status, code), raw)
        body = json.loads(raw)
        self.assertEqual(body["Type"], "User" if status < 500 else "Service")
        return body

    def test_alias_version_and_arn_forms(self):
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders"
        for name, qualifier, version in (("orders", "live", "7"), ("orders:live", None, "7"), ("orders", "8", "8"),
                                         (arn + ":live", None, "7"), (arn, "live", "7"), (arn + ":7", "7", "7"),
                                         (f"{ACCOUNT}:function:orders:8", None, "8")):
            status, raw, headers = self.invoke(name, qualifier=qualifier)
            self.assertEqual((status, headers["X-Amz-Executed-Version"]), (200, version), (name, qualifier))
            self.assertEqual(json.loads(raw)["version"], int(version))
            self.assertIsNone(headers.get("X-Amz-Function-Error"))
        status, raw, headers = self.invoke("latest-only")
        self.assertEqual((status, json.loads(raw), headers["X-Amz-Executed-Version"]), (200, "hello", "$LATEST"))
        status, _, _ = self.invoke("latest-only", qualifier="$LATEST")
        self.assertEqual(status, 200)

    def test_not_found_and_conflicts(self):
        body = self.error(404, "ResourceNotFoundException", "nope")
        self.assertIn(f"function:nope", body["Message"])
        self.error(404, "ResourceNotFoundException", "orders")  # no $LATEST seeded
        self.error(404, "ResourceNotFoundException", "orders", qualifier="99")
        self.error(404, "ResourceNotFoundException", "orders:canary")
        body = self.error(404, "ResourceNotFoundException", f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:orders:7")
        self.assertIn("not reachable", body["Message"])
        body = self.error(400, "InvalidParameterValueException", "orders:live", qualifier="7")
        self.assertIn("derived qualifier", body["message"])
        self.error(400, "ValidationException", "orders/../x")
        self.error(400, "ValidationException", "orders", qualifier="a.b")

    def test_payload_checks(self):
        body = self.error(400, "InvalidRequestContentException", "orders", payload=b"{not json", qualifier="7")
        self.assertIn("Could not parse", body["message"])
        self.error(413, "RequestTooLargeException", "orders", payload=b" " * (6 * 1024 * 1024 + 1), qualifier="7")
        self.error(413, "RequestTooLargeException", "orders", payload=b"1" * (1024 * 1024 + 1), qualifier="7",
                   kind="Event")
        status, _, _ = self.invoke("orders", payload=b"", qualifier="7")
        self.assertEqual(status, 200)
        self.error(400, "ValidationException", "orders", qualifier="7", kind="Async")
        self.error(400, "ValidationException", "orders", qualifier="7", log="All")

    def test_function_errors_and_responses(self):
        status, raw, headers = self.invoke("orders", qualifier="9")
        self.assertEqual((status, headers["X-Amz-Function-Error"]), (200, "Unhandled"))
        status, raw, headers = self.invoke("orders", payload=b'{"mode":"boom"}', qualifier="live")
        self.assertEqual((headers["X-Amz-Function-Error"], json.loads(raw)["errorType"]), ("Unhandled", "Error"))
        status, raw, headers = self.invoke("orders", payload=b'{"mode":"calm"}', qualifier="live")
        self.assertEqual(json.loads(raw), {"ok": True, "version": 7})

    def test_invocation_types_log_delay_and_record(self):
        status, raw, headers = self.invoke("orders", qualifier="7", kind="Event")
        self.assertEqual((status, raw), (202, b""))
        status, raw, _ = self.invoke("orders", qualifier="7", kind="DryRun")
        self.assertEqual((status, raw), (204, b""))
        started = time.monotonic()
        status, raw, headers = self.invoke("orders", qualifier="8", log="Tail")
        self.assertGreaterEqual(time.monotonic() - started, 0.12)
        log = base64.b64decode(headers["X-Amz-Log-Result"]).decode()
        self.assertTrue(log.startswith("START RequestId:") and "Version: 8" in log and "REPORT" in log, log)
        calls = self.control("invocations?function=orders", method="GET")
        self.assertEqual([(c["invocationType"], c["qualifier"], c["executedVersion"]) for c in calls],
                         [("Event", "7", "7"), ("DryRun", "7", "7"), ("RequestResponse", "8", "8")])
        self.assertEqual(calls[0]["payload"], {"a": 1})
        self.assertEqual(self.control("invocations?function=latest-only", method="GET"), [])
        self.control("reset", {})
        self.assertEqual(self.control("invocations", method="GET"), [])

    def test_auth_faults_and_log(self):
        self.error(400, "InvalidSignatureException", "orders", qualifier="7", service="ecs")
        self.control("faults", {"operation": "Lambda.Invoke", "kind": "throttle"})
        body = self.error(429, "TooManyRequestsException", "orders", qualifier="7")
        self.assertIn("Reason", body)
        self.control("faults", {"operation": "Invoke", "kind": "error5xx"})
        self.error(500, "ServiceException", "orders", qualifier="7")
        status, _, _ = self.invoke("orders", qualifier="7")
        self.assertEqual(status, 200)
        log = self.control("requests?operation=Lambda.Invoke", method="GET")
        self.assertEqual([r["status"] for r in log][-3:], [429, 500, 200])
        self.assertEqual(log[-1]["body"], {"a": 1})

    def test_seed_validation(self):
        self.assertIn("functionName", self.bad_seed({"lambda": {"functions": [{"functionName": "a b"}]}}))
        self.assertIn("versions", self.bad_seed({"lambda": {"functions": [{"functionName": "f"}]}}))
        self.assertIn("alias", self.bad_seed({"lambda": {"functions": [
            {"functionName": "f", "aliases": {"live": "2"}, "versions": {"1": {}}}]}}))
        self.assertIn("delayMs", self.bad_seed({"lambda": {"functions": [
            {"functionName": "f", "versions": {"1": {"delayMs": -1}}}]}}))
        self.assertIn("when", self.bad_seed({"lambda": {"functions": [
            {"functionName": "f", "versions": {"1": {"responses": [{"payload": 1}]}}}]}}))
        self.assertIn("$LATEST or a number", self.bad_seed({"lambda": {"functions": [
            {"functionName": "f", "versions": {"live": {}}}]}}))


class CborTest(unittest.TestCase):
    def test_round_trips(self):
        for value in (0, 23, 24, 255, 256, 65535, 65536, 2**32, 2**64 - 1, -1, -24, -25, -(2**64),
                      1.5, -0.0, 1e300, "", "héllo", b"\x00\x01", [], [1, [2, 3]], {},
                      {"a": {"b": [True, False, None]}}, cbor.Timestamp(1760000040.5)):
            for indef in (False, True):
                self.assertEqual(cbor.decode(cbor.encode(value, indef)), value, (value, indef))

    def test_known_encodings(self):
        self.assertEqual(cbor.encode(1000), bytes.fromhex("1903e8"))
        self.assertEqual(cbor.encode(-1000), bytes.fromhex("3903e7"))
        self.assertEqual(cbor.encode("a"), bytes.fromhex("6161"))
        self.assertEqual(cbor.encode({"a": 1}, indefinite_maps=True), bytes.fromhex("bf616101ff"))
        self.assertEqual(cbor.encode(cbor.Timestamp(0)), bytes.fromhex("c1fb0000000000000000"))
        self.assertEqual(cbor.encode(1.0), bytes.fromhex("fb3ff0000000000000"))

    def test_decodes_every_form_the_sdk_may_send(self):
        self.assertEqual(cbor.decode(bytes.fromhex("9f0102ff")), [1, 2])                 # indefinite array
        self.assertEqual(cbor.decode(bytes.fromhex("7f6261626161ff")), "aba")            # indefinite text
        self.assertEqual(cbor.decode(bytes.fromhex("5f41014102ff")), b"\x01\x02")        # indefinite bytes
        self.assertEqual(cbor.decode(bytes.fromhex("f93c00")), 1.0)                      # half
        self.assertEqual(cbor.decode(bytes.fromhex("fa3fc00000")), 1.5)                  # single
        self.assertEqual(cbor.decode(bytes.fromhex("c11a5f5e1000")), cbor.Timestamp(1600000000))
        self.assertEqual(cbor.decode(bytes.fromhex("c249010000000000000000")), 2**64)    # bignum
        self.assertTrue(math.isnan(cbor.decode(bytes.fromhex("f97e00"))))

    def test_rejects_malformed_input(self):
        for hexed in ("", "18", "1c", "ff", "9f01", "bf6161ff", "a1616101616102", "0000", "7f6161410aff",
                      "62c328", "c26161", "d82001", "f7", "1f", "c16161", "a1810101"):
            with self.assertRaises(cbor.CborError, msg=hexed):
                cbor.decode(bytes.fromhex(hexed))
        with self.assertRaises(cbor.CborError):
            cbor.encode(object())
        with self.assertRaises(cbor.CborError):
            cbor.Timestamp(float("nan"))

    def test_to_json(self):
        self.assertEqual(cbor.to_json({"t": cbor.Timestamp(5), "b": b"\x01", "l": [1.5]}),
                         {"t": 5, "b": "AQ==", "l": [1.5]})


def query(qid="errors", dims=(("FunctionName", "orders"), ("Resource", "orders:live")), stat="Sum", period=60,
          **extra):
    # Field order and shapes as aws-sdk-cloudwatch's ser_metric_data_query writes them.
    q = {"Id": qid, "MetricStat": {"Metric": {"Namespace": "AWS/Lambda", "MetricName": "Errors",
                                              "Dimensions": [{"Name": n, "Value": v} for n, v in dims]},
                                   "Period": period, "Stat": stat}}
    q.update(extra)
    return q


class CloudWatchTest(Base):
    def cw(self, op, body, headers=None, raw=None, service="monitoring"):
        h = {"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor", "Accept": "application/cbor",
             "x-amzn-query-mode": "true", "X-Amz-Date": "20250101T000000Z",
             "Authorization": auth("AKIDCW", REGION, service)}
        h.update(headers or {})
        h = {k: v for k, v in h.items() if v is not None}
        data = raw if raw is not None else cbor.encode(body, indefinite_maps=True)
        status, out, rh = self.http(f"/service/GraniteServiceVersion20100801/operation/{op}", data, h)
        self.assertEqual(rh["smithy-protocol"], "rpc-v2-cbor")
        self.assertEqual(rh["Content-Type"], "application/cbor")
        return status, (cbor.decode(out) if out else None), rh

    def data(self, queries, start=T0, end=T0 + 600, **extra):
        return self.cw("GetMetricData", {"MetricDataQueries": queries, "StartTime": cbor.Timestamp(float(start)),
                                         "EndTime": cbor.Timestamp(float(end)), **extra})

    def fails(self, code, status_code, op_status):
        status, out, headers = op_status
        self.assertEqual(status, status_code, out)
        self.assertTrue(out["__type"].startswith("com.amazonaws.cloudwatch#"), out)
        self.assertEqual(headers["x-amzn-query-error"].split(";")[0], code)
        return out

    def test_get_metric_data_aggregates_per_period(self):
        status, out, _ = self.data([query(), query("avg", stat="Average", period=120, Label="mean"),
                                    query("n", stat="SampleCount"), query("hi", stat="Maximum"),
                                    query("p", stat="p50"), query("only", dims=(("FunctionName", "orders"),)),
                                    query("hidden", ReturnData=False)])
        self.assertEqual(status, 200)
        r = {x["Id"]: x for x in out["MetricDataResults"]}
        self.assertNotIn("hidden", r)
        self.assertEqual(r["errors"]["Timestamps"], [cbor.Timestamp(float(T0 + 180)), cbor.Timestamp(float(T0 + 60)),
                                                    cbor.Timestamp(float(T0))])
        self.assertEqual(r["errors"]["Values"], [8.0, 4.0, 3.0])
        self.assertEqual((r["errors"]["Label"], r["errors"]["StatusCode"]), ("Errors", "Complete"))
        self.assertEqual((r["avg"]["Label"], r["avg"]["Values"]), ("mean", [8.0, 7 / 3]))
        self.assertEqual(r["n"]["Values"], [1.0, 1.0, 2.0])
        self.assertEqual(r["hi"]["Values"], [8.0, 4.0, 2.0])
        self.assertEqual(r["p"]["Values"], [8.0, 4.0, 1.0])
        self.assertEqual(r["only"]["Values"], [100.0])  # exactly its dimension set
        status, out, _ = self.data([query()], ScanBy="TimestampAscending", end=T0 + 120)
        self.assertEqual(out["MetricDataResults"][0]["Values"], [3.0, 4.0])
        status, out, _ = self.data([query(dims=())])
        self.assertEqual(out["MetricDataResults"][0]["Values"], [])

    def test_get_metric_data_validation(self):
        for queries in ([], [query()] * 501, [query("Bad")], [query("1a")], [query(), query()],
                        [query(period=90)], [query(period=0)], [query(stat="Median")],
                        [query(dims=[("D", str(i)) for i in range(31)])], [{"Id": "e", "Expression": "SUM(METRICS())"}],
                        [{"Id": "e"}]):
            self.fails("ValidationError", 400, self.data(queries))
        self.fails("ValidationError", 400, self.data([query()], start=T0, end=T0))
        out = self.fails("ValidationError", 400, self.data([query()], start=T0 + 60, end=T0))
        self.assertIn("StartTime", out["message"])
        self.fails("MissingParameter", 400, self.cw("GetMetricData", {"MetricDataQueries": [query()]}))
        self.fails("InvalidNextToken", 400, self.data([query()], NextToken="x"))
        for period in (1, 5, 10, 20, 30, 300):
            self.assertEqual(self.data([query(period=period)])[0], 200, period)
        self.assertEqual(self.data([query(stat="p99.9")])[0], 200)

    def test_put_metric_data_then_read_back(self):
        datum = {"MetricName": "Latency", "Dimensions": [{"Name": "Fn", "Value": "orders"}],
                 "Timestamp": cbor.Timestamp(float(T0 + 10)), "Value": 5.0}
        status, out, _ = self.cw("PutMetricData", {"Namespace": "Codehooks/Test", "MetricData": [
            datum, {**{k: v for k, v in datum.items() if k != "Value"}, "Values": [1.0, 3.0], "Counts": [1.0, 2.0]},
            {**{k: v for k, v in datum.items() if k != "Value"},
             "StatisticValues": {"SampleCount": 2.0, "Sum": 10.0, "Minimum": 4.0, "Maximum": 6.0}}]})
        self.assertEqual((status, out), (200, None))
        q = query(dims=(("Fn", "orders"),))
        q["MetricStat"]["Metric"].update(Namespace="Codehooks/Test", MetricName="Latency")
        _, out, _ = self.data([q, {**q, "Id": "n", "MetricStat": {**q["MetricStat"], "Stat": "SampleCount"}}])
        self.assertEqual([r["Values"] for r in out["MetricDataResults"]], [[22.0], [6.0]])

    def test_put_metric_data_validation(self):
        ok = {"MetricName": "M", "Value": 1.0}
        put = lambda body: self.cw("PutMetricData", body)  # noqa: E731
        self.fails("InvalidParameterValue", 400, put({"Namespace": ":Lambda", "MetricData": [ok]}))
        self.fails("MissingParameter", 400, put({"MetricData": [ok]}))
        self.fails("MissingParameter", 400, put({"Namespace": "N", "MetricData": [{"Value": 1.0}]}))
        self.fails("InvalidParameterCombination", 400, self.cw("PutMetricData", {"Namespace": "N", "MetricData": [
            {**ok, "StatisticValues": {"SampleCount": 1.0, "Sum": 1.0, "Minimum": 1.0, "Maximum": 1.0}}]}))
        self.fails("InvalidParameterValue", 400, self.cw("PutMetricData", {"Namespace": "N", "MetricData": [
            {"MetricName": "M", "Values": [1.0, 2.0], "Counts": [1.0]}]}))
        self.fails("InvalidParameterValue", 400, self.cw("PutMetricData", {"Namespace": "N", "MetricData": [
            {"MetricName": "M", "Value": float("inf")}]}))

    def test_protocol(self):
        self.fails("SerializationException", 400, self.cw("GetMetricData", None, raw=b"\xbf\x61"))
        self.fails("SerializationException", 400, self.cw("GetMetricData", None, raw=cbor.encode([1])))
        self.fails("SerializationException", 400,
                   self.cw("GetMetricData", {"MetricDataQueries": [query()]}, headers={"smithy-protocol": None}))
        self.fails("SerializationException", 415,
                   self.cw("GetMetricData", {"x": 1}, headers={"Content-Type": "application/json"}))
        self.fails("UnknownOperationException", 404, self.cw("ListMetrics", {}))
        status, out, headers = self.cw("GetMetricData", {}, service="cloudwatch")
        self.assertEqual((status, out["__type"]), (400, "com.amazonaws.cloudwatch#InvalidSignatureException"))
        status, out, headers = self.cw("GetMetricData", {"MetricDataQueries": [query()]},
                                       headers={"x-amzn-query-mode": None})
        self.assertNotIn("x-amzn-query-error", headers)
        self.assertEqual(out["__type"], "com.amazonaws.cloudwatch#MissingRequiredParameterException")

    def test_faults_and_log(self):
        self.control("faults", {"operation": "CloudWatch.GetMetricData", "kind": "throttle"})
        self.fails("Throttling", 400, self.data([query()]))
        self.assertEqual(self.data([query()])[0], 200)
        log = self.control("requests?operation=CloudWatch.GetMetricData", method="GET")
        self.assertEqual([r["status"] for r in log], [400, 200])
        self.assertEqual(log[-1]["body"]["StartTime"], T0)

    def test_seed_validation(self):
        self.assertIn("cloudwatch.metrics[0]", self.bad_seed({"cloudwatch": {"metrics": [{"namespace": "N"}]}}))
        self.assertIn("timestamp", self.bad_seed({"cloudwatch": {"metrics": [
            {"namespace": "N", "metricName": "M", "points": [{"timestamp": "now", "value": 1}]}]}}))
        self.bad_seed({"cloudwatch": {"alarms": []}})


if __name__ == "__main__":
    unittest.main()
