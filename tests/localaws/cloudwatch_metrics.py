"""CloudWatch metrics for the emulator's CBOR front (`cloudwatch.py`): PutMetricData validated here and
kept by moto (`cloudwatch_moto.py`), GetMetricData evaluated here over moto's stored data points.
The rules (dimension sets, namespaces, periods, statistics, percentiles, statistic sets, paging)
are in `cloudwatch.py`'s docstring; `datum` also checks the control API's seeded points.
"""

import hashlib
import json
import math
import re
import time

import cbor
import cloudwatch_moto as moto
from emulator import AwsError, page_offset, paginate

ID_RE = re.compile(r"^[a-z][a-zA-Z0-9_]*$")
PERCENTILE_RE = re.compile(r"^p(\d{1,2}(?:\.\d{1,2})?|100)$")
STATS = ("Sum", "Average", "Minimum", "Maximum", "SampleCount")
MAX_DATAPOINTS = 100_800
MAX_COUNTS = 100_000


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


# ---------------------------------------------------------------- GetMetricData over moto's points

def metric_query(q, i, seen):
    """(key, period, stat, label, return_data) of one MetricDataQuery; raises on a bad one."""
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
    return qid, key, period, stat, label if isinstance(label, str) else key[1], q.get("ReturnData", True) is not False


def get_metric_data(be, body):
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
    scan = body.get("ScanBy", "TimestampDescending")
    if scan not in ("TimestampDescending", "TimestampAscending"):
        raise validation(f"The value {scan} for parameter ScanBy is not valid.")
    limit = body.get("MaxDatapoints", MAX_DATAPOINTS)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise validation(f"The value {limit} for parameter MaxDatapoints must be an integer >= 1.")
    token = body.get("NextToken")
    if token is not None and not isinstance(token, str):
        raise validation("The value for parameter NextToken must be a string.")
    seen = set()
    parsed = [metric_query(q, i, seen) for i, q in enumerate(queries, 1)]
    series = points_by_metric(be, {key for _, key, *_ in parsed})
    results, flat = [], []
    for qid, key, period, stat, label, shown in parsed:
        if not shown:
            continue
        stamps, values = aggregate(series.get(key, []), start, end, period, stat)
        if scan == "TimestampDescending":
            stamps, values = stamps[::-1], values[::-1]
        flat.extend((len(results), t, v) for t, v in zip(stamps, values))
        results.append({"Id": qid, "Label": label, "Timestamps": [], "Values": [], "StatusCode": "Complete"})
    request = {k: v for k, v in cbor.to_json(body).items() if k != "NextToken"}
    kind = "metricdata:" + hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()[:16]
    offset = page_offset(token, kind, "InvalidNextToken")
    page, nxt = paginate(flat, kind, token, limit, "InvalidNextToken")
    for r, t, v in page:
        results[r]["Timestamps"].append(cbor.Timestamp(float(t)))
        results[r]["Values"].append(float(v))
    for r, _, _ in flat[offset + len(page):]:
        results[r]["StatusCode"] = "PartialData"
    out = {"MetricDataResults": results, "Messages": []}
    if nxt:
        out["NextToken"] = nxt
    return out


def points_by_metric(be, keys):
    """(namespace, name, dimension set) -> [point] of moto's data points, for the keys asked."""
    out = {}
    for d in be.metric_data:
        key = (d.namespace, d.name, frozenset((x.name, x.value) for x in d.dimensions))
        if key not in keys:
            continue
        t = moto.epoch(d.timestamp)
        if hasattr(d, "value"):
            p = {"t": t, "sum": d.value, "count": 1.0, "min": d.value, "max": d.value, "values": [(d.value, 1.0)]}
        else:
            raw = d.min == d.max and math.isclose(d.sum, d.min * d.sample_count, rel_tol=1e-9, abs_tol=1e-12)
            p = {"t": t, "sum": d.sum, "count": d.sample_count, "min": d.min, "max": d.max,
                 "values": [(d.min, d.sample_count)] if raw else None}
        out.setdefault(key, []).append(p)
    return out


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
    if any(p["values"] is None for p in ps):
        return None
    return percentile([vc for p in ps for vc in p["values"]], float(stat[1:]))


def percentile(weighted, pct):
    """The smallest value whose cumulative count reaches pct% of all; None when not computable."""
    if not weighted or any(v is None or v < 0 for v, _ in weighted):
        return None
    ordered = sorted((v, c) for v, c in weighted if c > 0)
    total = sum(c for _, c in ordered)
    if not total:
        return None
    need, acc = pct / 100 * total, 0.0
    for v, c in ordered:
        acc += c
        if acc >= need - 1e-9 * total:
            return v
    return ordered[-1][0]


# ---------------------------------------------------------------- PutMetricData into moto

def datum(d, where):
    """The moto-bound copy of one MetricDatum (validated; Timestamp defaults to now)."""
    if not isinstance(d, dict):
        raise validation(f"{where[:-1]} must be a structure")
    out = {"MetricName": text(d, "MetricName", where)}
    dims = dimensions(d, where)
    if dims:
        out["Dimensions"] = [{"Name": n, "Value": v} for n, v in sorted(dims)]
    t = timestamp(d, "Timestamp", required=False)
    out["Timestamp"] = cbor.Timestamp(time.time() if t is None else t)
    unit = d.get("Unit")
    if unit is not None:
        if unit not in moto.model().shape_for("StandardUnit").enum:
            raise validation(f"The value {unit} for parameter {where}Unit is not valid.")
        out["Unit"] = unit
    given = [k for k in ("Value", "StatisticValues", "Values") if d.get(k) is not None]
    if len(given) > 1:
        raise bad(f"The parameters {where}{' and '.join(given)} are mutually exclusive.",
                  "InvalidParameterCombinationException")
    if d.get("Counts") is not None and "Values" not in given:
        raise bad(f"The parameter {where}Counts needs {where}Values.", "InvalidParameterCombinationException")
    if not given:
        raise bad(f"One of {where}Value, StatisticValues or Values is required.", "MissingRequiredParameterException")
    if given[0] == "Value":
        out["Value"] = number(d["Value"], f"{where}Value")
    elif given[0] == "StatisticValues":
        s = d["StatisticValues"]
        if not isinstance(s, dict):
            raise validation(f"{where}StatisticValues must be a structure")
        out["StatisticValues"] = {k: number(s.get(k), f"{where}StatisticValues.{k}")
                                  for k in ("SampleCount", "Sum", "Minimum", "Maximum")}
    else:
        values, counts = d["Values"], d.get("Counts")
        if not isinstance(values, list) or not 1 <= len(values) <= 150:
            raise bad(f"The collection {where}Values must have between 1 and 150 members.")
        if counts is not None and (not isinstance(counts, list) or len(counts) != len(values)):
            raise bad(f"The parameters {where}Values and {where}Counts must be of the same size.")
        out["Values"] = [number(v, f"{where}Values") for v in values]
        counts = [1.0] * len(values) if counts is None else [number(c, f"{where}Counts") for c in counts]
        if any(c < 0 or c != int(c) for c in counts):
            raise bad(f"{where}Counts: this emulator keeps whole, non-negative counts only.")
        out["Counts"] = counts
    return out


def put_metric_data(be, body):
    ns = text(body, "Namespace", "")
    if ns.startswith(":"):
        raise bad(f"The value {ns} for parameter Namespace is not valid.")
    data = body.get("MetricData")
    if data is None:
        raise bad("The parameter MetricData is required.", "MissingRequiredParameterException")
    if not isinstance(data, list) or not 1 <= len(data) <= 1000:
        raise validation("The collection MetricData must have between 1 and 1000 members.")
    data = [datum(d, f"MetricData.member.{i}.") for i, d in enumerate(data, 1)]
    if sum(c for d in data for c in d.get("Counts", ())) > MAX_COUNTS:
        raise bad(f"The Counts of one request add up to more than {MAX_COUNTS} (a limit of this emulator).")
    moto.call(be, "PutMetricData", {"Namespace": ns, "MetricData": data})
    return None
