"""Self-test of the emulator's CloudWatch with its state in moto:
`python3 -m unittest tests/localaws/test_emulator_cloudwatch.py` (run from the repository).

Requests are RPC v2 CBOR as aws-sdk-cloudwatch writes them (indefinite maps, tag 1 timestamps,
`x-amzn-query-mode: true`, a fake SigV4 Authorization header). Covered: load balancer metrics of
two target groups published with PutMetricData and read back with GetMetricData (Sum, p95, p99,
exact dimension sets, namespaces, statistic sets, MaxDatapoints paging); alarms put, set to
ALARM with a reason, described by names, prefix, state, type and page, tagged and deleted; the
seed writing into moto and the reset clearing it; validation errors with their AWS codes.
"""

import gzip
import json
import os
import sys
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cbor  # noqa: E402
import emulator  # noqa: E402

REGION = "us-east-1"
ACCOUNT = emulator.ACCOUNT
ELB = "AWS/ApplicationELB"
LB = "app/shop/50dc6c495c0c9188"
GREEN = "targetgroup/shop-green/6d0ecf831eec9f09"
BLUE = "targetgroup/shop-blue/943f017f100becff"
T0 = 1_760_000_040  # a multiple of 60


def auth(region, service="monitoring"):
    return (f"AWS4-HMAC-SHA256 Credential=AKIDCW/20250101/{region}/{service}/aws4_request, "
            f"SignedHeaders=content-type;host;x-amz-date, Signature={'0' * 64}")


def ts(seconds):
    return cbor.Timestamp(float(seconds))


def dims(tg=None):
    return ([{"Name": "TargetGroup", "Value": tg}] if tg else []) + [{"Name": "LoadBalancer", "Value": LB}]


def query(qid, metric, stat, dimensions, namespace=ELB, period=600):
    return {"Id": qid, "MetricStat": {"Metric": {"Namespace": namespace, "MetricName": metric,
                                                 "Dimensions": dimensions},
                                      "Period": period, "Stat": stat}}


def alarm(name, **extra):
    return {"AlarmName": name, "Namespace": ELB, "MetricName": "HTTPCode_Target_5XX_Count",
            "Dimensions": dims(GREEN), "Statistic": "Sum", "Period": 60, "EvaluationPeriods": 1,
            "Threshold": 5.0, "ComparisonOperator": "GreaterThanThreshold", **extra}


class CloudWatch(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = emulator.EmulatorServer().start()
        cls.base = f"http://{cls.server.hostport}"

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def setUp(self):
        self.control("reset", {})

    def control(self, path, body=None, method="POST"):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.base}/_emulator/{path}", data=data, method=method)
        with urllib.request.urlopen(req) as r:
            return json.loads(r.read())

    def call(self, op, body, region=REGION, gzipped=False):
        headers = {"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor", "Accept": "application/cbor",
                   "x-amzn-query-mode": "true", "X-Amz-Date": "20250101T000000Z", "Authorization": auth(region)}
        data = cbor.encode(body, indefinite_maps=True)
        if gzipped:  # as the SDK compresses a large PutMetricData
            data, headers["Content-Encoding"] = gzip.compress(data), "gzip"
        req = urllib.request.Request(f"{self.base}/service/GraniteServiceVersion20100801/operation/{op}",
                                     data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req) as r:
                status, raw, rh = r.status, r.read(), r.headers
        except urllib.error.HTTPError as e:
            status, raw, rh = e.code, e.read(), e.headers
        self.assertEqual(rh["smithy-protocol"], "rpc-v2-cbor")
        return status, (cbor.decode(raw) if raw else None), rh

    def ok(self, op, body, region=REGION):
        status, out, _ = self.call(op, body, region)
        self.assertEqual(status, 200, out)
        return out

    def fails(self, code, status_code, op, body):
        status, out, headers = self.call(op, body)
        self.assertEqual(status, status_code, out)
        self.assertTrue(out["__type"].startswith("com.amazonaws.cloudwatch#"), out)
        self.assertEqual(headers["x-amzn-query-error"].split(";")[0], code, out)
        return out

    def data(self, queries, start=T0, end=T0 + 600, **extra):
        out = self.ok("GetMetricData", {"MetricDataQueries": queries, "StartTime": ts(start), "EndTime": ts(end),
                                        **extra})
        return {r["Id"]: r for r in out["MetricDataResults"]}, out

    # -- metrics

    def put_target_group(self, tg, requests, errors, latencies_s, at=T0 + 30, namespace=ELB):
        datum = lambda name, d, **v: {"MetricName": name, "Dimensions": d, "Timestamp": ts(at), **v}  # noqa: E731
        self.ok("PutMetricData", {"Namespace": namespace, "MetricData": [
            datum("RequestCount", dims(tg), Value=requests, Unit="Count"),
            datum("HTTPCode_Target_5XX_Count", dims(tg), Value=errors, Unit="Count"),
            datum("RequestCount", dims(), Value=requests, Unit="Count"),
            datum("TargetResponseTime", dims(tg), Values=latencies_s["values"], Counts=latencies_s["counts"],
                  Unit="Seconds")]})

    def test_target_groups_sum_and_percentiles_with_exact_dimensions_and_namespace(self):
        # green: 20 requests, 19 at 100 ms and one at 1 s; blue: 1..20 ms.
        self.put_target_group(GREEN, 20.0, 3.0, {"values": [0.1, 1.0], "counts": [19.0, 1.0]})
        self.put_target_group(BLUE, 20.0, 1.0, {"values": [i / 1000 for i in range(1, 21)], "counts": [1.0] * 20})
        # The same names in another namespace and with fewer dimensions must not count.
        self.put_target_group(GREEN, 500.0, 500.0, {"values": [9.0], "counts": [1.0]}, namespace="Codehooks/Test")
        self.ok("PutMetricData", {"Namespace": ELB, "MetricData": [
            {"MetricName": "TargetResponseTime", "Dimensions": [{"Name": "TargetGroup", "Value": GREEN}],
             "Timestamp": ts(T0 + 30), "Value": 7.0}]})
        r, out = self.data([
            query("g_req", "RequestCount", "Sum", dims(GREEN)), query("b_req", "RequestCount", "Sum", dims(BLUE)),
            query("g_t5", "HTTPCode_Target_5XX_Count", "Sum", dims(GREEN)),
            query("g_p95", "TargetResponseTime", "p95", dims(GREEN)),
            query("g_p99", "TargetResponseTime", "p99", dims(GREEN)),
            query("b_p95", "TargetResponseTime", "p95", dims(BLUE)),
            query("b_p99_9", "TargetResponseTime", "p99.9", dims(BLUE)),
            query("b_n", "TargetResponseTime", "SampleCount", dims(BLUE)),
            query("lb_req", "RequestCount", "Sum", dims()),
            query("tg_only", "TargetResponseTime", "Maximum", [{"Name": "TargetGroup", "Value": GREEN}]),
            query("swapped", "RequestCount", "Sum", list(reversed(dims(GREEN)))),
            query("none", "RequestCount", "Sum", [{"Name": "LoadBalancer", "Value": "app/other/1"}])])
        self.assertNotIn("NextToken", out)
        values = {k: v["Values"] for k, v in r.items()}
        self.assertEqual(values["g_req"], [20.0])
        self.assertEqual(values["b_req"], [20.0])
        self.assertEqual(values["g_t5"], [3.0])
        self.assertEqual(values["g_p95"], [0.1])
        self.assertEqual(values["g_p99"], [1.0])
        self.assertEqual(values["b_p95"], [0.019])
        self.assertEqual(values["b_p99_9"], [0.02])
        self.assertEqual(values["b_n"], [20.0])
        self.assertEqual(values["lb_req"], [40.0])  # exactly {LoadBalancer}: not the per-target-group data
        self.assertEqual(values["tg_only"], [7.0])
        self.assertEqual(values["swapped"], [20.0])  # a set: order does not matter
        self.assertEqual(values["none"], [])
        self.assertEqual(r["g_req"]["Timestamps"], [ts(T0)])
        self.assertEqual({v["StatusCode"] for v in r.values()}, {"Complete"})

    def test_a_gzipped_put_metric_data_is_read(self):
        values = [float(i) for i in range(1, 151)]
        status, out, _ = self.call("PutMetricData", {"Namespace": "N", "MetricData": [
            {"MetricName": "M", "Timestamp": ts(T0 + 1), "Values": values} for _ in range(20)]}, gzipped=True)
        self.assertEqual((status, out), (200, None))
        r, _ = self.data([query("n", "M", "SampleCount", [], "N"), query("p", "M", "p50", [], "N")])
        self.assertEqual((r["n"]["Values"], r["p"]["Values"]), ([3000.0], [75.0]))

    def test_statistic_sets_have_percentiles_only_when_they_are_raw_values(self):
        put = lambda name, s: self.ok("PutMetricData", {"Namespace": "N", "MetricData": [  # noqa: E731
            {"MetricName": name, "Timestamp": ts(T0 + 5), "StatisticValues": s}]})
        put("spread", {"SampleCount": 4.0, "Sum": 10.0, "Minimum": 1.0, "Maximum": 4.0})
        put("flat", {"SampleCount": 4.0, "Sum": 8.0, "Minimum": 2.0, "Maximum": 2.0})
        r, _ = self.data([query("s_p50", "spread", "p50", [], "N"), query("s_avg", "spread", "Average", [], "N"),
                          query("f_p50", "flat", "p50", [], "N"), query("s_max", "spread", "Maximum", [], "N")])
        self.assertEqual(r["s_p50"]["Values"], [])  # not computable from a spread statistic set
        self.assertEqual((r["s_avg"]["Values"], r["s_max"]["Values"]), ([2.5], [4.0]))
        self.assertEqual(r["f_p50"]["Values"], [2.0])

    def test_max_datapoints_pages_with_next_token(self):
        self.ok("PutMetricData", {"Namespace": "N", "MetricData": [
            {"MetricName": "M", "Timestamp": ts(T0 + 60 * i), "Value": float(i)} for i in range(3)]})
        q = [query("a", "M", "Sum", [], "N", period=60), query("b", "M", "Maximum", [], "N", period=60)]
        r, out = self.data(q, MaxDatapoints=4, ScanBy="TimestampAscending")
        self.assertEqual((r["a"]["Values"], r["a"]["StatusCode"]), ([0.0, 1.0, 2.0], "Complete"))
        self.assertEqual((r["b"]["Values"], r["b"]["StatusCode"]), ([0.0], "PartialData"))
        r, out = self.data(q, MaxDatapoints=4, ScanBy="TimestampAscending", NextToken=out["NextToken"])
        self.assertEqual((r["a"]["Values"], r["b"]["Values"], r["b"]["StatusCode"]), ([], [1.0, 2.0], "Complete"))
        self.assertNotIn("NextToken", out)
        self.fails("InvalidNextToken", 400, "GetMetricData", {
            "MetricDataQueries": q, "StartTime": ts(T0), "EndTime": ts(T0 + 600), "NextToken": "bm9wZXwx"})

    def test_seed_writes_into_moto_and_reset_clears(self):
        self.control("seed", {"region": REGION, "cloudwatch": {"metrics": [
            {"namespace": "AWS/Lambda", "metricName": "Errors", "dimensions": [{"name": "FunctionName", "value": "f"}],
             "points": [{"timestamp": T0 + 1, "value": 2}, {"timestamp": T0 + 2, "value": 3}]}]}})
        q = [query("e", "Errors", "Sum", [{"Name": "FunctionName", "Value": "f"}], "AWS/Lambda")]
        self.assertEqual(self.data(q)[0]["e"]["Values"], [5.0])
        self.ok("PutMetricAlarm", alarm("gone"))
        self.control("seed", {"region": REGION, "cloudwatch": {"metrics": []}})  # a seed copies the region
        state = self.control(f"state?region={REGION}", method="GET")["cloudwatch"]
        self.assertEqual([p["sum"] for p in state["metrics"][0]["points"]], [2.0, 3.0])
        self.assertEqual(state["alarms"][0]["alarmName"], "gone")
        self.control("reset", {})
        self.assertEqual(self.data(q)[0]["e"]["Values"], [])
        self.assertEqual(self.ok("DescribeAlarms", {})["MetricAlarms"], [])

    # -- alarms

    def test_alarms_states_reasons_names_prefix_and_tags(self):
        self.ok("PutMetricAlarm", alarm("shop-5xx", Tags=[{"Key": "codehooks", "Value": "gate"}]))
        self.ok("PutMetricAlarm", alarm("shop-latency", ExtendedStatistic="p95", Statistic=None,
                                        MetricName="TargetResponseTime", Threshold=0.5))
        self.ok("PutMetricAlarm", alarm("other-5xx"))
        self.ok("PutMetricAlarm", alarm("eu-only"), region="eu-west-1")
        self.assertIsNone(self.ok("SetAlarmState", {"AlarmName": "shop-5xx", "StateValue": "ALARM",
                                                    "StateReason": "Threshold Crossed: 1 datapoint [9.0] > 5.0"}))
        self.ok("SetAlarmState", {"AlarmName": "other-5xx", "StateValue": "INSUFFICIENT_DATA", "StateReason": "no data",
                                  "StateReasonData": "{\"version\": \"1.0\"}"})

        out = self.ok("DescribeAlarms", {"AlarmNames": ["shop-5xx", "missing"]})
        (a,) = out["MetricAlarms"]
        self.assertEqual((a["AlarmName"], a["StateValue"]), ("shop-5xx", "ALARM"))
        self.assertEqual(a["StateReason"], "Threshold Crossed: 1 datapoint [9.0] > 5.0")
        self.assertEqual(a["AlarmArn"], f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:shop-5xx")
        self.assertIsInstance(a["StateUpdatedTimestamp"], cbor.Timestamp)
        self.assertLess(abs(a["StateUpdatedTimestamp"].seconds - time.time()), 60)
        self.assertEqual((a["Threshold"], a["Period"], a["Dimensions"]), (5.0, 60, dims(GREEN)))
        self.assertEqual(out["CompositeAlarms"], [])

        names = lambda out: [a["AlarmName"] for a in out["MetricAlarms"]]  # noqa: E731
        self.assertEqual(names(self.ok("DescribeAlarms", {"AlarmNamePrefix": "shop-"})), ["shop-5xx", "shop-latency"])
        self.assertEqual(names(self.ok("DescribeAlarms", {})), ["other-5xx", "shop-5xx", "shop-latency"])
        self.assertEqual(names(self.ok("DescribeAlarms", {"StateValue": "OK"})), ["shop-latency"])
        self.assertEqual(names(self.ok("DescribeAlarms", {"AlarmTypes": ["CompositeAlarm"]})), [])
        self.assertEqual(names(self.ok("DescribeAlarms", {"AlarmNamePrefix": "eu"})), [])
        self.assertEqual(names(self.ok("DescribeAlarms", {}, region="eu-west-1")), ["eu-only"])
        self.assertEqual(self.ok("DescribeAlarms", {"AlarmNames": ["shop-latency"]})["MetricAlarms"][0]
                         ["ExtendedStatistic"], "p95")
        page = self.ok("DescribeAlarms", {"AlarmTypes": ["MetricAlarm", "CompositeAlarm"], "MaxRecords": 2})
        self.assertEqual(names(page), ["other-5xx", "shop-5xx"])
        rest = self.ok("DescribeAlarms", {"AlarmTypes": ["MetricAlarm", "CompositeAlarm"], "MaxRecords": 2,
                                          "NextToken": page["NextToken"]})
        self.assertEqual((names(rest), rest.get("NextToken")), (["shop-latency"], None))

        arn = lambda name: f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}"  # noqa: E731
        self.assertEqual(self.ok("ListTagsForResource", {"ResourceARN": arn("shop-5xx")}),
                         {"Tags": [{"Key": "codehooks", "Value": "gate"}]})
        self.assertEqual(self.ok("ListTagsForResource", {"ResourceARN": arn("other-5xx")}), {"Tags": []})
        # An update keeps the state and ignores Tags, as in CloudWatch.
        self.ok("PutMetricAlarm", alarm("other-5xx", Threshold=9.0, Tags=[{"Key": "ignored", "Value": "update"}]))
        self.assertEqual(self.ok("ListTagsForResource", {"ResourceARN": arn("other-5xx")}), {"Tags": []})
        (a,) = self.ok("DescribeAlarms", {"AlarmNames": ["other-5xx"]})["MetricAlarms"]
        self.assertEqual((a["Threshold"], a["StateValue"], a["StateReason"]), (9.0, "INSUFFICIENT_DATA", "no data"))
        self.ok("TagResource", {"ResourceARN": arn("other-5xx"), "Tags": [{"Key": "team", "Value": "shop"}]})
        self.assertEqual(self.ok("ListTagsForResource", {"ResourceARN": arn("other-5xx")})["Tags"],
                         [{"Key": "team", "Value": "shop"}])
        self.fails("ResourceNotFoundException", 404, "ListTagsForResource", {"ResourceARN": arn("missing")})
        self.fails("ResourceNotFoundException", 404, "ListTagsForResource",
                   {"ResourceARN": f"arn:aws:cloudwatch:eu-west-1:{ACCOUNT}:alarm:eu-only"})
        self.fails("InvalidParameterValue", 400, "ListTagsForResource", {"ResourceARN": "shop-5xx"})

        self.fails("ResourceNotFound", 404, "SetAlarmState",
                   {"AlarmName": "missing", "StateValue": "ALARM", "StateReason": "x"})
        self.fails("InvalidFormat", 400, "SetAlarmState",
                   {"AlarmName": "shop-5xx", "StateValue": "OK", "StateReason": "x", "StateReasonData": "{"})
        self.fails("ResourceNotFound", 404, "DeleteAlarms", {"AlarmNames": ["shop-5xx", "missing"]})
        self.assertIsNone(self.ok("DeleteAlarms", {"AlarmNames": ["shop-5xx", "other-5xx"]}))
        self.assertEqual(names(self.ok("DescribeAlarms", {})), ["shop-latency"])

    # -- validation

    def test_validation_errors_carry_the_aws_codes(self):
        window = {"StartTime": ts(T0), "EndTime": ts(T0 + 600)}
        q = query("a", "RequestCount", "Sum", dims(GREEN))
        self.fails("ValidationError", 400, "GetMetricData", {"MetricDataQueries": [], **window})
        self.fails("ValidationError", 400, "GetMetricData",
                   {"MetricDataQueries": [dict(q, Id=f"q{i}") for i in range(501)], **window})
        self.fails("ValidationError", 400, "GetMetricData",
                   {"MetricDataQueries": [query("a", "RequestCount", "Sum", dims(GREEN), period=90)], **window})
        self.fails("ValidationError", 400, "GetMetricData", {"MetricDataQueries": [q], **window, "MaxDatapoints": 0})
        self.fails("MissingParameter", 400, "GetMetricData", {"MetricDataQueries": [q]})
        self.fails("MissingParameter", 400, "PutMetricAlarm", {k: v for k, v in alarm("a").items()
                                                               if k != "EvaluationPeriods"})
        self.fails("ValidationError", 400, "PutMetricAlarm", alarm("a", ComparisonOperator="Above"))
        self.fails("ValidationError", 400, "PutMetricAlarm", alarm("a" * 256))
        self.fails("InvalidParameterCombination", 400, "PutMetricAlarm", alarm("a", ExtendedStatistic="p99"))
        self.fails("InvalidParameterValue", 400, "PutMetricAlarm",
                   alarm("a", Statistic=None, ExtendedStatistic="median"))
        self.fails("InvalidParameterCombination", 400, "DescribeAlarms", {"AlarmNames": ["a"], "AlarmNamePrefix": "a"})
        self.fails("ValidationError", 400, "DescribeAlarms", {"MaxRecords": 101})
        self.fails("ValidationError", 400, "DescribeAlarms", {"AlarmTypes": ["Alarm"]})
        self.fails("ValidationError", 400, "DescribeAlarms", {"AlarmNames": [f"a{i}" for i in range(101)]})
        self.fails("InvalidNextToken", 400, "DescribeAlarms", {"NextToken": "x"})
        self.fails("ValidationError", 400, "SetAlarmState", {"AlarmName": "a", "StateValue": "BAD", "StateReason": ""})
        self.fails("MissingParameter", 400, "SetAlarmState", {"AlarmName": "a", "StateValue": "OK"})
        self.fails("InvalidParameterValue", 400, "PutMetricData", {"Namespace": "N", "MetricData": [
            {"MetricName": "M", "Values": [1.0], "Counts": [0.5]}]})
        self.fails("ValidationError", 400, "PutMetricData", {"Namespace": "N", "MetricData": [
            {"MetricName": "M", "Value": 1.0, "Unit": "Parsecs"}]})


if __name__ == "__main__":
    unittest.main()
