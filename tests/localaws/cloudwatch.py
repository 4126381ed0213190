"""Amazon CloudWatch in the emulator: GetMetricData and PutMetricData over Smithy RPC v2 CBOR, as
aws-sdk-cloudwatch 1.140 speaks it (signing name `monitoring`; fault names `CloudWatch.<Op>`).

  POST /service/GraniteServiceVersion20100801/operation/<Op>, `smithy-protocol: rpc-v2-cbor`,
  `Content-Type: application/cbor`, a CBOR map body (see `cbor.py`).
Answers carry `smithy-protocol: rpc-v2-cbor` and `Content-Type: application/cbor`; errors are a
CBOR map {"__type": "com.amazonaws.cloudwatch#<Shape>", "message"} and, when the request says
`x-amzn-query-mode: true`, the header `x-amzn-query-error: <QueryCode>;Sender` the SDK reads the
code from (InvalidParameterValue, MissingParameter, InvalidParameterCombination, ValidationError,
InvalidNextToken, Throttling).

GetMetricData: 1..=500 queries with unique Ids matching ^[a-z][a-zA-Z0-9_]*$, each a MetricStat
{Metric {Namespace, MetricName, Dimensions <= 30}, Period (1, 5, 10, 20, 30 or a multiple of
60), Stat (Sum, Average, Minimum, Maximum, SampleCount, pNN[.NN])} (Expression is refused:
not evaluated here); StartTime < EndTime. Points in [StartTime, EndTime) of the metric with
exactly that dimension set are aggregated per period from StartTime; results
[{Id, Label (the query's, else MetricName), Timestamps, Values, StatusCode: Complete}] newest
first (ScanBy TimestampAscending: oldest first); ReturnData false omits a result.
PutMetricData: Namespace (not AWS/...), 1..=1000 MetricData with MetricName, Dimensions <= 30,
one of Value / StatisticValues / Values(+Counts), Timestamp (default now).

Seed: {"cloudwatch": {"metrics": [{"namespace", "metricName", "dimensions": [{"name", "value"}],
"points": [{"timestamp": epoch seconds, "value": number}]}]}} (points are added).
"""

import math
import re
import time

import cbor
import platforms
from emulator import AwsError, ControlError

PATH_PREFIX = "/service/"
PATH_RE = re.compile(r"^/service/GraniteServiceVersion20100801/operation/([A-Za-z]+)$")
NAMESPACE = "com.amazonaws.cloudwatch#"
ID_RE = re.compile(r"^[a-z][a-zA-Z0-9_]*$")
PERCENTILE_RE = re.compile(r"^p(\d{1,2}(?:\.\d{1,2})?|100)$")
STATS = ("Sum", "Average", "Minimum", "Maximum", "SampleCount")
QUERY_CODES = {"InvalidParameterValueException": "InvalidParameterValue",
               "MissingRequiredParameterException": "MissingParameter",
               "InvalidParameterCombinationException": "InvalidParameterCombination",
               "ThrottlingException": "Throttling", "InternalFailure": "InternalServiceError",
               "ServiceUnavailableException": "ServiceUnavailable"}


def bad(message, shape="InvalidParameterValueException"):
    return AwsError(shape, message)


def validation(message):
    return AwsError("ValidationError", message)


def text(d, key, where, required=True, lo=1, hi=255):
    v = d.get(key)
    if v is None:
        if required:
            raise bad(f"The parameter {where}{key} is required.", "MissingRequiredParameterException")
        return None
    if not isinstance(v, str) or not lo <= len(v) <= hi:
        raise validation(f"The value for parameter {where}{key} must be a string of {lo}..{hi} characters.")
    return v


def dimensions(metric, where):
    dims = metric.get("Dimensions") or []
    if not isinstance(dims, list) or len(dims) > 30:
        raise validation(f"The collection {where}Dimensions must have at most 30 members.")
    out = set()
    for i, d in enumerate(dims, 1):
        if not isinstance(d, dict):
            raise validation(f"{where}Dimensions.member.{i} must be a structure")
        pair = (text(d, "Name", f"{where}Dimensions.member.{i}."),
                text(d, "Value", f"{where}Dimensions.member.{i}.", hi=1024))
        if any(n == pair[0] for n, _ in out):
            raise bad(f"The dimension {pair[0]} appears more than once in {where}Dimensions.")
        out.add(pair)
    return frozenset(out)


def number(v, where):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise validation(f"The value for parameter {where} must be a number.")
    if not math.isfinite(v):
        raise bad(f"The value {v} for parameter {where} is not valid.")
    return float(v)


def timestamp(d, key, required=True):
    v = d.get(key)
    if v is None:
        if required:
            raise bad(f"The parameter {key} is required.", "MissingRequiredParameterException")
        return None
    if not isinstance(v, cbor.Timestamp):
        raise validation(f"The value for parameter {key} must be a timestamp (CBOR tag 1).")
    return float(v.seconds)


def get_metric_data(st, body):
    queries = body.get("MetricDataQueries")
    if queries is None:
        raise bad("The parameter MetricDataQueries is required.", "MissingRequiredParameterException")
    if not isinstance(queries, list) or not 1 <= len(queries) <= 500:
        raise validation("The collection MetricDataQueries must have between 1 and 500 members.")
    start, end = timestamp(body, "StartTime"), timestamp(body, "EndTime")
    if start == end:
        raise validation("The parameter StartTime must not equal parameter EndTime.")
    if start > end:
        raise validation("The parameter StartTime must be less than the parameter EndTime.")
    if body.get("NextToken") is not None:
        raise AwsError("InvalidNextToken", "The service returned an invalid next token.")
    scan = body.get("ScanBy", "TimestampDescending")
    if scan not in ("TimestampDescending", "TimestampAscending"):
        raise validation(f"The value {scan} for parameter ScanBy is not valid.")
    seen, results = set(), []
    for i, q in enumerate(queries, 1):
        where = f"MetricDataQueries.member.{i}."
        if not isinstance(q, dict):
            raise validation(f"{where[:-1]} must be a structure")
        qid = text(q, "Id", where)
        if not ID_RE.match(qid):
            raise validation(f"The value {qid} for parameter {where}Id is not valid.")
        if qid in seen:
            raise validation(f"The values for parameter id in MetricDataQueries are not unique: {qid}")
        seen.add(qid)
        if q.get("Expression") is not None:
            raise validation(f"{where}Expression: metric math is not evaluated by this emulator.")
        ms = q.get("MetricStat")
        if not isinstance(ms, dict):
            raise validation(f"Exactly one of {where}MetricStat and {where}Expression must be given.")
        metric = ms.get("Metric")
        if not isinstance(metric, dict):
            raise bad(f"The parameter {where}MetricStat.Metric is required.", "MissingRequiredParameterException")
        mw = f"{where}MetricStat.Metric."
        key = (text(metric, "Namespace", mw), text(metric, "MetricName", mw), dimensions(metric, mw))
        period = ms.get("Period")
        if isinstance(period, bool) or not isinstance(period, int) or period < 1:
            raise validation(f"The value {period} for parameter {where}MetricStat.Period must be an integer >= 1.")
        if period not in (1, 5, 10, 20, 30) and period % 60:
            raise validation(f"The value {period} for parameter {where}MetricStat.Period is not valid: "
                             "1, 5, 10, 20, 30 or a multiple of 60.")
        stat = ms.get("Stat")
        if stat not in STATS and not (isinstance(stat, str) and PERCENTILE_RE.match(stat)):
            raise validation(f"The value {stat} for parameter {where}MetricStat.Stat is not valid.")
        label = q.get("Label")
        if q.get("ReturnData", True) is False:
            continue
        stamps, values = aggregate(st.metrics.get(key, []), start, end, period, stat)
        if scan == "TimestampDescending":
            stamps, values = stamps[::-1], values[::-1]
        results.append({"Id": qid, "Label": label if isinstance(label, str) else key[1],
                        "Timestamps": [cbor.Timestamp(float(t)) for t in stamps],
                        "Values": values, "StatusCode": "Complete"})
    return {"MetricDataResults": results, "Messages": []}


def aggregate(points, start, end, period, stat):
    buckets = {}
    for p in points:
        if start <= p["t"] < end:
            buckets.setdefault(start + (p["t"] - start) // period * period, []).append(p)
    stamps, values = [], []
    for b in sorted(buckets):
        v = statistic(buckets[b], stat)
        if v is not None:
            stamps.append(b)
            values.append(float(v))
    return stamps, values


def statistic(ps, stat):
    count = sum(p["count"] for p in ps)
    if stat == "SampleCount":
        return count
    if stat == "Sum":
        return sum(p["sum"] for p in ps)
    if stat == "Average":
        return sum(p["sum"] for p in ps) / count if count else None
    if stat == "Minimum":
        return min(p["min"] for p in ps)
    if stat == "Maximum":
        return max(p["max"] for p in ps)
    raw = sorted(v for p in ps for v in p["values"])
    if not raw:
        return None
    rank = max(1, math.ceil(float(stat[1:]) / 100 * len(raw)))
    return raw[rank - 1]


def point(t, value=None, stats=None, values=None, counts=None):
    if stats is not None:
        return {"t": t, "sum": stats[1], "count": stats[0], "min": stats[2], "max": stats[3], "values": []}
    if values is not None:
        counts = counts or [1.0] * len(values)
        return {"t": t, "sum": sum(v * c for v, c in zip(values, counts)), "count": sum(counts),
                "min": min(values), "max": max(values), "values": list(values)}
    return {"t": t, "sum": value, "count": 1.0, "min": value, "max": value, "values": [value]}


def put_metric_data(st, body):
    ns = text(body, "Namespace", "")
    if ns.startswith(":") or ns.startswith("AWS/"):
        raise bad(f"The value {ns} for parameter Namespace is not valid.")
    data = body.get("MetricData")
    if data is None:
        raise bad("The parameter MetricData is required.", "MissingRequiredParameterException")
    if not isinstance(data, list) or not 1 <= len(data) <= 1000:
        raise validation("The collection MetricData must have between 1 and 1000 members.")
    adds = []
    for i, d in enumerate(data, 1):
        where = f"MetricData.member.{i}."
        if not isinstance(d, dict):
            raise validation(f"{where[:-1]} must be a structure")
        key = (ns, text(d, "MetricName", where), dimensions(d, where))
        t = timestamp(d, "Timestamp", required=False)
        t = time.time() if t is None else t
        given = [k for k in ("Value", "StatisticValues", "Values") if d.get(k) is not None]
        if len(given) > 1:
            raise bad(f"The parameters {where}{' and '.join(given)} are mutually exclusive.",
                      "InvalidParameterCombinationException")
        if d.get("Counts") is not None and "Values" not in given:
            raise bad(f"The parameter {where}Counts needs {where}Values.", "InvalidParameterCombinationException")
        if not given:
            raise bad(f"One of {where}Value, StatisticValues or Values is required.",
                      "MissingRequiredParameterException")
        if given[0] == "Value":
            adds.append((key, point(t, number(d["Value"], f"{where}Value"))))
        elif given[0] == "StatisticValues":
            s = d["StatisticValues"]
            if not isinstance(s, dict):
                raise validation(f"{where}StatisticValues must be a structure")
            stats = [number(s.get(k), f"{where}StatisticValues.{k}")
                     for k in ("SampleCount", "Sum", "Minimum", "Maximum")]
            adds.append((key, point(t, stats=stats)))
        else:
            values, counts = d["Values"], d.get("Counts")
            if not isinstance(values, list) or not 1 <= len(values) <= 150:
                raise bad(f"The collection {where}Values must have between 1 and 150 members.")
            if counts is not None and (not isinstance(counts, list) or len(counts) != len(values)):
                raise bad(f"The parameters {where}Values and {where}Counts must be of the same size.")
            values = [number(v, f"{where}Values") for v in values]
            counts = None if counts is None else [number(c, f"{where}Counts") for c in counts]
            adds.append((key, point(t, values=values, counts=counts)))
    for key, p in adds:
        st.metrics.setdefault(key, []).append(p)
    return None


OPERATIONS = {"GetMetricData": get_metric_data, "PutMetricData": put_metric_data}


def answer(status, body, query_mode, code=None):
    headers = {"smithy-protocol": "rpc-v2-cbor"}
    if code and query_mode:
        headers["x-amzn-query-error"] = f"{code};{'Sender' if status < 500 else 'Receiver'}"
    return platforms.Answer(status, b"" if body is None else cbor.encode(body), "application/cbor", headers)


def serve(handler, url, raw):
    m = PATH_RE.match(url.path)
    op = m.group(1) if m else None
    query_mode = handler.headers.get("x-amzn-query-mode", "").lower() == "true"

    def error_answer(e):
        shape = "InternalServiceFault" if e.code == "InternalFailure" else e.code
        code = QUERY_CODES.get(e.code, e.code)
        return answer(e.status, {"__type": NAMESPACE + shape, "message": e.message}, query_mode, code)

    if handler.command != "POST" or op not in OPERATIONS:
        a = error_answer(AwsError("UnknownOperationException", f"{handler.command} {url.path}", 404))
        handler.send_bytes(a.status, a.body, a.content_type, a.headers)
        return
    try:
        body = cbor.decode(raw) if raw else {}
        parsed, problem = cbor.to_json(body), None
    except cbor.CborError as e:
        body, parsed, problem = None, raw[:4096].hex(), str(e)

    def run(emu, caller, record):
        if handler.headers.get("smithy-protocol") != "rpc-v2-cbor":
            raise AwsError("SerializationException", "The smithy-protocol header must be rpc-v2-cbor")
        ctype = handler.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if raw and ctype != "application/cbor":
            raise AwsError("SerializationException", f"Unsupported Content-Type: {ctype!r}", 415)
        if problem is not None:
            raise AwsError("SerializationException", f"The request body is not valid CBOR: {problem}")
        if not isinstance(body, dict):
            raise AwsError("SerializationException", "The request body must be a CBOR map")
        with emu.lock:
            out = OPERATIONS[op](emu.region(caller.region), body)
        return answer(200, out, query_mode)

    platforms.serve(handler, f"CloudWatch.{op}", "monitoring", parsed, run, error_answer)


def seed(st, spec):
    if spec is None:
        return
    if not isinstance(spec, dict) or set(spec) - {"metrics"}:
        raise ControlError("cloudwatch takes metrics")
    for i, m in enumerate(spec.get("metrics") or []):
        try:
            if not isinstance(m, dict) or set(m) - {"namespace", "metricName", "dimensions", "points"}:
                raise ValueError("a metric takes namespace, metricName, dimensions and points")
            dims = [{"Name": d["name"], "Value": d["value"]} for d in m.get("dimensions") or []]
            key = (text(m, "namespace", ""), text(m, "metricName", ""), dimensions({"Dimensions": dims}, ""))
            points = [point(number(p["timestamp"], "timestamp"), number(p["value"], "value"))
                      for p in m.get("points") or []]
        except (AwsError, ValueError, KeyError, TypeError) as e:
            raise ControlError(f"cloudwatch.metrics[{i}]: {getattr(e, 'message', None) or e!r}") from None
        st.metrics.setdefault(key, []).extend(points)


def dump(st):
    return [{"namespace": ns, "metricName": name,
             "dimensions": [{"name": n, "value": v} for n, v in sorted(dims)],
             "points": [{"timestamp": p["t"], "sum": p["sum"], "count": p["count"]} for p in ps]}
            for (ns, name, dims), ps in st.metrics.items()]
