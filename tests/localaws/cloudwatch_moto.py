"""Amazon CloudWatch's state in moto, for the emulator's CBOR front (`cloudwatch.py`).

Each emulator region holds its own moto `CloudWatchBackend` (account `emulator.ACCOUNT`), so
emulators in one process never share alarms or metrics, a reset drops them with the region,
and a seed (applied to a copy of the region) swaps them in whole. Requests reach moto in this
process over the Query protocol: botocore's serializer writes the form body, moto's
`CloudWatchResponse` answers it against the region's backend, botocore's parser reads the XML.

`check(op, body)` validates a decoded CBOR request against the botocore model of CloudWatch
(required members, types, lengths, enums, patterns, list sizes, integer ranges); `call(backend,
op, params)` forwards it; `to_cbor(value)` turns the parsed answer into what the front encodes
(datetimes become tag 1 timestamps). moto's errors come back as `AwsError` named by the model's
error shape (ResourceNotFound, InvalidFormatFault, ...).

The alarm operations live here too: PutMetricAlarm (metric and metric-math alarms; an update
keeps the alarm's state and ignores Tags, as CloudWatch does), DescribeAlarms (moto holds the
alarms, the front filters, sorts by name and pages), SetAlarmState, DeleteAlarms (an unknown
name fails the call: ResourceNotFound), ListTagsForResource, TagResource and UntagResource (an
alarm ARN of this account and region that exists, else ResourceNotFoundException).
"""

import datetime
import functools
import math
import re
import urllib.parse

import cbor
from emulator import ACCOUNT, AwsError, paginate

ENDPOINT = "https://monitoring.{region}.amazonaws.com/"


@functools.lru_cache(maxsize=None)
def model():
    import botocore.session

    return botocore.session.get_session().get_service_model("cloudwatch")


@functools.lru_cache(maxsize=None)
def error_shapes():
    """Query error code -> (shape name, HTTP status), from the model."""
    out = {}
    for shape in model().error_shapes:
        err = shape.metadata.get("error") or {}
        out[err.get("code", shape.name)] = (shape.name, err.get("httpStatusCode", 400))
    return out


def query_code(shape):
    """The Query error code of a model error shape (None for shapes outside the model)."""
    return next((code for code, (name, _) in error_shapes().items() if name == shape), None)


@functools.lru_cache(maxsize=None)
def _response_class():
    from moto.cloudwatch.responses import CloudWatchResponse

    class RegionResponse(CloudWatchResponse):
        """moto's CloudWatch handler, bound to one emulator region's backend."""

        def __init__(self, backend):
            super().__init__()
            self._backend = backend

        @property
        def cloudwatch_backend(self):
            return self._backend

    return RegionResponse


def backend(region):
    from moto.cloudwatch.models import CloudWatchBackend

    return CloudWatchBackend(region, ACCOUNT)


def warm():
    """Imports moto and loads the model once (about a second), so that the first request does not."""
    call(backend("us-east-1"), "DescribeAlarms", {})


# ---------------------------------------------------------------- validation by the model

def _fail(path, what):
    raise AwsError("ValidationError", f"1 validation error detected: Value at '{path}' failed to satisfy "
                                      f"constraint: {what}")


def check(op, body):
    """Raises AwsError when `body` breaks the input shape of `op`."""
    _check(model().operation_model(op).input_shape, body, "")


def _check(shape, value, path):
    kind, meta = shape.type_name, shape.metadata
    if kind == "structure":
        if not isinstance(value, dict):
            _fail(path or "body", "Member must be a structure")
        for name in shape.required_members:
            if value.get(name) is None:
                raise AwsError("MissingRequiredParameterException", f"The parameter {path}{name} is required.")
        for name, member in shape.members.items():
            if value.get(name) is not None:
                _check(member, value[name], f"{path}{name}" if member.type_name != "structure"
                       else f"{path}{name}.")
        return
    where = path.rstrip(".")
    if kind == "list":
        if not isinstance(value, list):
            _fail(where, "Member must be a list")
        if not meta.get("min", 0) <= len(value) <= meta.get("max", math.inf):
            _fail(where, f"Member must have between {meta.get('min', 0)} and {meta.get('max', 'any')} members")
        for i, item in enumerate(value, 1):
            _check(shape.member, item, f"{where}.member.{i}" + ("." if shape.member.type_name == "structure" else ""))
    elif kind == "string":
        if not isinstance(value, str):
            _fail(where, "Member must be a string")
        if not meta.get("min", 0) <= len(value) <= meta.get("max", math.inf):
            _fail(where, f"Member must have length between {meta.get('min', 0)} and {meta.get('max', 'any')}")
        if getattr(shape, "enum", None) and value not in shape.enum:
            _fail(where, f"Member must satisfy enum value set: [{', '.join(shape.enum)}]")
        if meta.get("pattern") and not re.fullmatch(meta["pattern"], value, re.S):
            _fail(where, f"Member must satisfy regular expression pattern: {meta['pattern']}")
    elif kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(where, "Member must be an integer")
        if not meta.get("min", -math.inf) <= value <= meta.get("max", math.inf):
            _fail(where, f"Member must be between {meta.get('min', '-inf')} and {meta.get('max', 'inf')}")
    elif kind in ("double", "float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            _fail(where, "Member must be a finite number")
    elif kind == "boolean" and not isinstance(value, bool):
        _fail(where, "Member must be a boolean")
    elif kind == "timestamp" and not isinstance(value, cbor.Timestamp):
        _fail(where, "Member must be a timestamp (CBOR tag 1)")
    elif kind == "map" and not isinstance(value, dict):
        _fail(where, "Member must be a map")


# ---------------------------------------------------------------- forwarding

def _to_botocore(value):
    if isinstance(value, cbor.Timestamp):
        return datetime.datetime.fromtimestamp(value.seconds, datetime.timezone.utc)
    if isinstance(value, dict):
        return {k: _to_botocore(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_to_botocore(v) for v in value]
    return value


def to_cbor(value):
    if isinstance(value, datetime.datetime):
        return cbor.Timestamp(epoch(value))
    if isinstance(value, dict):
        return {k: to_cbor(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [to_cbor(v) for v in value]
    return value


def epoch(dt):
    """Epoch seconds of a datetime (naive ones are UTC, as moto stores them)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    return dt.timestamp()


def call(be, op, params):
    """Runs `op` with `params` (CBOR-decoded shapes) against moto's backend `be`; the parsed answer."""
    from botocore import parsers, serialize
    from moto.core.request import Request

    om = model().operation_model(op)
    req = serialize.create_serializer("query").serialize_to_request(_to_botocore(params), om)
    body = urllib.parse.urlencode(req["body"]).encode()
    url = ENDPOINT.format(region=be.region_name)
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
               "Host": urllib.parse.urlsplit(url).netloc,
               "Authorization": f"AWS4-HMAC-SHA256 Credential=AKIDEMULATOR/20250101/{be.region_name}/monitoring/"
                                "aws4_request, SignedHeaders=host, Signature=" + "0" * 64}
    status, _headers, raw = _response_class()(be)._dispatch(Request.from_primitives("POST", url, headers, body))
    raw = raw if isinstance(raw, bytes) else str(raw).encode()
    out = parsers.create_parser("query").parse({"status_code": status, "headers": dict(_headers), "body": raw},
                                               om.output_shape)
    if status >= 300 or "Error" in out:
        err = out.get("Error") or {}
        shape, code_status = error_shapes().get(err.get("Code"), (err.get("Code") or "InternalServiceFault", status))
        raise AwsError(shape, err.get("Message") or shape, code_status)
    return out


# ---------------------------------------------------------------- alarms

def _alarm_exists(be, name):
    if name not in be.alarms:
        raise AwsError("ResourceNotFound", f"Alarm {name} not found", 404)


def _combination(message):
    return AwsError("InvalidParameterCombinationException", message)


def put_metric_alarm(be, body):
    """PutMetricAlarm of a metric or metric-math alarm (PromQL alarms, EvaluationCriteria, are not
    emulated: they fail as neither MetricName nor Metrics)."""
    check("PutMetricAlarm", body)
    for name in ("EvaluationPeriods", "ComparisonOperator"):  # required of metric alarms
        if body.get(name) is None:
            raise AwsError("MissingRequiredParameterException", f"The parameter {name} is required.")
    single = body.get("MetricName") is not None
    if single == (body.get("Metrics") is not None):
        raise _combination("Exactly one of MetricName and Metrics must be specified.")
    stats = [k for k in ("Statistic", "ExtendedStatistic") if body.get(k) is not None]
    if single and len(stats) != 1:
        raise _combination("Exactly one of Statistic and ExtendedStatistic must be specified.")
    if not single and (stats or body.get("Namespace") or body.get("Dimensions") or body.get("Period")):
        raise _combination("Metrics cannot be specified with Statistic, ExtendedStatistic, Namespace, "
                           "Dimensions or Period.")
    if single and body.get("Period") is None:
        raise AwsError("MissingRequiredParameterException", "The parameter Period is required.")
    ext = body.get("ExtendedStatistic")
    if ext is not None and not re.fullmatch(r"p(\d{1,2}(\.\d{1,2})?|100)", ext):
        raise AwsError("InvalidParameterValueException",
                       f"The value {ext} for parameter ExtendedStatistic is not supported.")
    if body.get("Threshold") is None and body.get("ThresholdMetricId") is None:
        raise AwsError("MissingRequiredParameterException", "The parameter Threshold is required.")
    tags = [t["Key"] for t in body.get("Tags") or []]
    if len(tags) > 50 or len(set(tags)) != len(tags):
        raise AwsError("InvalidParameterValueException", "Tags: at most 50, each key once.")
    old = be.alarms.get(body["AlarmName"])
    if old is not None:  # an update ignores Tags (TagResource changes them)
        body = {k: v for k, v in body.items() if k != "Tags"}
    call(be, "PutMetricAlarm", body)
    if old is not None:  # and leaves the state as it was (moto would start over at OK)
        new = be.alarms[body["AlarmName"]]
        for k in ("state_value", "state_reason", "state_reason_data", "state_updated_timestamp", "history"):
            setattr(new, k, getattr(old, k))
    return None


def describe_alarms(be, body):
    """DescribeAlarms: the front filters and pages what moto holds (moto applies one filter only)."""
    check("DescribeAlarms", body)
    if body.get("AlarmNames") is not None and body.get("AlarmNamePrefix") is not None:
        raise _combination("AlarmNames and AlarmNamePrefix cannot be specified together.")
    for k in ("ChildrenOfAlarmName", "ParentsOfAlarmName"):
        if body.get(k) is not None:
            raise AwsError("ValidationError", f"{k}: composite alarm trees are not evaluated by this emulator.")
    for i, t in enumerate(body.get("AlarmTypes") or [], 1):
        if t not in model().shape_for("AlarmType").enum:
            _fail(f"AlarmTypes.member.{i}", "Member must satisfy enum value set: [CompositeAlarm, MetricAlarm, "
                                            "LogAlarm]")
    everything = call(be, "DescribeAlarms", {})
    types = body.get("AlarmTypes") or ["MetricAlarm"]
    alarms = [("MetricAlarm", a) for a in everything.get("MetricAlarms", [])]
    alarms += [("CompositeAlarm", a) for a in everything.get("CompositeAlarms", [])]
    names, prefix = body.get("AlarmNames"), body.get("AlarmNamePrefix")
    state, action = body.get("StateValue"), body.get("ActionPrefix")
    keep = sorted(((t, a) for t, a in alarms
                   if t in types
                   and (names is None or a["AlarmName"] in names)
                   and (prefix is None or a["AlarmName"].startswith(prefix))
                   and (state is None or a.get("StateValue") == state)
                   and (action is None or any(x.startswith(action) for k in ("AlarmActions", "OKActions",
                                                                               "InsufficientDataActions")
                                              for x in a.get(k) or []))),
                  key=lambda ta: ta[1]["AlarmName"])
    page, nxt = paginate(keep, "alarms", body.get("NextToken"), body.get("MaxRecords") or 50, "InvalidNextToken")
    out = {"MetricAlarms": [a for t, a in page if t == "MetricAlarm"],
           "CompositeAlarms": [a for t, a in page if t == "CompositeAlarm"]}
    if nxt:
        out["NextToken"] = nxt
    return to_cbor(out)


def set_alarm_state(be, body):
    check("SetAlarmState", body)
    _alarm_exists(be, body["AlarmName"])
    call(be, "SetAlarmState", body)
    return None


def delete_alarms(be, body):
    """DeleteAlarms: an unknown name fails the call (ResourceNotFound) and nothing is deleted."""
    check("DeleteAlarms", body)
    for name in body["AlarmNames"]:
        _alarm_exists(be, name)
    call(be, "DeleteAlarms", body)
    return None


def _alarm_arn(be, arn):
    m = re.fullmatch(r"arn:aws[a-z-]*:cloudwatch:([a-z0-9-]+):(\d{12}):alarm:(.+)", arn)
    if not m:
        raise AwsError("InvalidParameterValueException", f"Invalid ARN: {arn}")
    region, account, name = m.groups()
    if (region, account) != (be.region_name, ACCOUNT) or name not in be.alarms:
        raise AwsError("ResourceNotFoundException", f"The specified resource {arn} does not exist.", 404)
    return arn


def list_tags_for_resource(be, body):
    check("ListTagsForResource", body)
    _alarm_arn(be, body["ResourceARN"])
    return to_cbor({"Tags": call(be, "ListTagsForResource", body).get("Tags", [])})


def tag_resource(be, body):
    check("TagResource", body)
    _alarm_arn(be, body["ResourceARN"])
    call(be, "TagResource", body)
    return {}


def untag_resource(be, body):
    check("UntagResource", body)
    _alarm_arn(be, body["ResourceARN"])
    call(be, "UntagResource", body)
    return {}
