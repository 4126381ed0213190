"""Amazon CloudWatch in the emulator over Smithy RPC v2 CBOR, as aws-sdk-cloudwatch 1.140 speaks it
(signing name `monitoring`; fault names `CloudWatch.<Op>`); the state lives in moto
(`cloudwatch_moto.py`: one moto backend per emulator region, reached over the Query protocol;
alarms), the metric operations are `cloudwatch_metrics.py`.

  POST /service/GraniteServiceVersion20100801/operation/<Op>, `smithy-protocol: rpc-v2-cbor`,
  `Content-Type: application/cbor`, a CBOR map body (see `cbor.py`).
Answers carry `smithy-protocol: rpc-v2-cbor` and `Content-Type: application/cbor`; errors are a
CBOR map {"__type": "com.amazonaws.cloudwatch#<Shape>", "message"} and, when the request says
`x-amzn-query-mode: true`, the header `x-amzn-query-error: <QueryCode>;Sender` the SDK reads the
code from (InvalidParameterValue, MissingParameter, InvalidParameterCombination, ValidationError,
InvalidNextToken, ResourceNotFound, ResourceNotFoundException, InvalidFormat, Throttling).

The front validates strictly, then moto keeps the data:
- PutMetricAlarm, DescribeAlarms (AlarmNames | AlarmNamePrefix, AlarmTypes (default MetricAlarm
  only), StateValue, ActionPrefix, MaxRecords 1..100 (default 50), NextToken; sorted by name),
  SetAlarmState, DeleteAlarms, ListTagsForResource, TagResource, UntagResource: validated
  against the botocore model and forwarded to moto (`cloudwatch_moto.py`).
- PutMetricData: Namespace, 1..=1000 MetricData with MetricName, Dimensions <= 30, one of Value /
  StatisticValues / Values(+Counts), Timestamp (default now); forwarded to moto, which keeps
  each of Values `Counts[i]` times (so counts must be whole numbers here, at most 100000 per
  request). Unlike AWS, an `AWS/...` namespace is accepted: tests publish through the SDK what
  the load balancer or Lambda would (`AWS/ApplicationELB` with `Values` for percentiles).
- GetMetricData is evaluated here over moto's stored data points (moto computes no
  percentiles and matches dimensions loosely): 1..=500 queries with unique Ids matching
  ^[a-z][a-zA-Z0-9_]*$, each a MetricStat {Metric {Namespace, MetricName, Dimensions <= 30},
  Period (1, 5, 10, 20, 30 or a multiple of 60), Stat (Sum, Average, Minimum, Maximum,
  SampleCount, pNN[.NN])} (Expression is refused: not evaluated here); StartTime < EndTime.
  Points in [StartTime, EndTime) of the metric with that namespace, name and exactly that
  dimension set are aggregated per period from StartTime. Percentiles are taken over the raw
  values (weighted rank: the smallest value whose cumulative count reaches NN% of the count);
  a statistic set counts as raw values only when Minimum == Maximum and Sum == Minimum x
  SampleCount (as in CloudWatch), otherwise a period holding one, or any negative value, has
  no percentile (the period is left out). Results [{Id, Label (the query's, else MetricName),
  Timestamps, Values, StatusCode}] newest first (ScanBy TimestampAscending: oldest first);
  ReturnData false omits a result. MaxDatapoints (default 100800) caps the points of one
  answer across results; the rest follows with NextToken (results cut short say PartialData).

Seed: {"cloudwatch": {"metrics": [{"namespace", "metricName", "dimensions": [{"name", "value"}],
"points": [{"timestamp": epoch seconds, "value": number}]}]}} (points are added to moto).
"""

import gzip
import re

import cbor
import cloudwatch_metrics as metrics
import cloudwatch_moto as moto
import platforms
from emulator import AwsError, ControlError

PATH_PREFIX = "/service/"
PATH_RE = re.compile(r"^/service/GraniteServiceVersion20100801/operation/([A-Za-z]+)$")
NAMESPACE = "com.amazonaws.cloudwatch#"
# Shapes of the model not listed here take their code from the model (`cloudwatch_moto.query_code`).
QUERY_CODES = {"InvalidParameterValueException": "InvalidParameterValue",
               "MissingRequiredParameterException": "MissingParameter",
               "InvalidParameterCombinationException": "InvalidParameterCombination",
               "ThrottlingException": "Throttling", "InternalFailure": "InternalServiceError",
               "ServiceUnavailableException": "ServiceUnavailable"}


OPERATIONS = {"GetMetricData": metrics.get_metric_data, "PutMetricData": metrics.put_metric_data,
              "PutMetricAlarm": moto.put_metric_alarm,
              "DescribeAlarms": moto.describe_alarms,
              "SetAlarmState": moto.set_alarm_state, "DeleteAlarms": moto.delete_alarms,
              "ListTagsForResource": moto.list_tags_for_resource, "TagResource": moto.tag_resource,
              "UntagResource": moto.untag_resource}


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
        code = QUERY_CODES.get(e.code) or moto.query_code(e.code) or e.code
        return answer(e.status, {"__type": NAMESPACE + shape, "message": e.message}, query_mode, code)

    if handler.command != "POST" or op not in OPERATIONS:
        a = error_answer(AwsError("UnknownOperationException", f"{handler.command} {url.path}", 404))
        handler.send_bytes(a.status, a.body, a.content_type, a.headers)
        return
    try:
        if raw and handler.headers.get("Content-Encoding", "").strip().lower() == "gzip":
            raw = gzip.decompress(raw)  # the SDK compresses large PutMetricData bodies
        body = cbor.decode(raw) if raw else {}
        parsed, problem = cbor.to_json(body), None
    except (cbor.CborError, OSError, EOFError) as e:
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
            out = OPERATIONS[op](emu.region(caller.region).cloudwatch, body)
        return answer(200, out, query_mode)

    platforms.serve(handler, f"CloudWatch.{op}", "monitoring", parsed, run, error_answer)


def seed(st, spec):
    if spec is None:
        return
    if not isinstance(spec, dict) or set(spec) - {"metrics"}:
        raise ControlError("cloudwatch takes metrics")
    puts = []
    for i, m in enumerate(spec.get("metrics") or []):
        try:
            if not isinstance(m, dict) or set(m) - {"namespace", "metricName", "dimensions", "points"}:
                raise ValueError("a metric takes namespace, metricName, dimensions and points")
            dims = [{"Name": d["name"], "Value": d["value"]} for d in m.get("dimensions") or []]
            ns, name = metrics.text(m, "namespace", ""), metrics.text(m, "metricName", "")
            data = [metrics.datum({"MetricName": name, "Dimensions": dims,
                                   "Timestamp": cbor.Timestamp(metrics.number(p["timestamp"], "timestamp")),
                                   "Value": metrics.number(p["value"], "value")}, "")
                    for p in m.get("points") or []]
        except (AwsError, ValueError, KeyError, TypeError) as e:
            raise ControlError(f"cloudwatch.metrics[{i}]: {getattr(e, 'message', None) or e!r}") from None
        puts.extend((ns, data[j:j + 1000]) for j in range(0, len(data), 1000))
    for ns, data in puts:
        moto.call(st.cloudwatch, "PutMetricData", {"Namespace": ns, "MetricData": data})


def dump(st):
    series = {}
    for d in st.cloudwatch.metric_data:
        key = (d.namespace, d.name, tuple(sorted((x.name, x.value) for x in d.dimensions)))
        value = (d.value, 1.0) if hasattr(d, "value") else (d.sum, d.sample_count)
        series.setdefault(key, []).append({"timestamp": moto.epoch(d.timestamp), "sum": value[0], "count": value[1]})
    return [{"namespace": ns, "metricName": name, "dimensions": [{"name": n, "value": v} for n, v in dims],
             "points": ps} for (ns, name, dims), ps in series.items()]


def dump_alarms(st):
    return [{"alarmName": a.name, "alarmArn": a.alarm_arn, "stateValue": a.state_value,
             "stateReason": a.state_reason, "tags": st.cloudwatch.list_tags_for_resource(a.alarm_arn)}
            for a in sorted(st.cloudwatch.alarms.values(), key=lambda a: a.name)]
