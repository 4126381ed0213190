"""AWS Lambda Invoke in the emulator (REST-JSON, signing name `lambda`; fault name `Lambda.Invoke`
or `Invoke`), answering from seeded functions.

  POST /2015-03-31/functions/{FunctionName}/invocations[?Qualifier=Q]
FunctionName is a name, `name:qualifier`, a partial ARN (`123456789012:function:name[:q]`) or a
full ARN; a suffix qualifier that differs from `Qualifier` is InvalidParameterValueException; an
ARN of another region or account, an unknown function, alias or version (`$LATEST` included,
unless seeded) is 404 ResourceNotFoundException. An alias runs the version it points to.
`X-Amz-Invocation-Type`: RequestResponse (200, the version's payload, `X-Amz-Executed-Version`,
`X-Amz-Function-Error` when configured, `X-Amz-Log-Result` (base64 log) with `X-Amz-Log-Type:
Tail`), Event (202, empty; payload at most 1 MB) or DryRun (204). The request payload must be
JSON (InvalidRequestContentException) and at most 6 MB (413 RequestTooLargeException). Errors
carry `x-amzn-ErrorType` and a body `{"Type": "User", "message"|"Message": ...}` (the member
case of the Lambda model). Faults: throttle -> 429 TooManyRequestsException, error5xx and
error503 -> ServiceException (500, 503).

Seed: {"lambda": {"functions": [{"functionName": "orders", "aliases": {"live": "7"},
"versions": {"7": {"payload": any, "functionError": "Unhandled"?, "delayMs": int?,
"responses": [{"when": {"pointer": "/a/b", "equals": any}, "payload": any,
"functionError"?: str}]?}}}]}} (a function replaces one of the same name; the first matching
response wins, else the version's payload). Every invocation of a seeded function and
qualifier (DryRun and Event included) is recorded:
`GET /_emulator/invocations?function=NAME` -> [{functionName, qualifier, executedVersion,
invocationType, payload, region, time}].
"""

import base64
import json
import math
import re
import time
import uuid
from urllib.parse import parse_qs, unquote

import platforms
from emulator import ACCOUNT, AwsError, ControlError, now

PATH_PREFIX = "/2015-03-31/functions/"
PATH_RE = re.compile(r"^/2015-03-31/functions/([^/]+)/invocations$")
TARGET = "Lambda.Invoke"
REGION = r"(?:eusc-)?[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d"
FUNCTION_RE = re.compile(
    rf"^(?:arn:aws[a-zA-Z-]*:lambda:(?P<r1>{REGION}):(?P<a1>\d{{12}}):|(?:(?P<r2>{REGION}):)?(?:(?P<a2>\d{{12}}):)?)"
    r"(?:function:)?(?P<name>[a-zA-Z0-9_.-]+)(?::(?P<q>\$LATEST(?:\.PUBLISHED)?|[a-zA-Z0-9_-]+))?$")
QUALIFIER_RE = re.compile(r"^(?:\$LATEST(?:\.PUBLISHED)?|[a-zA-Z0-9_$-]+)$")
NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
VERSION_RE = re.compile(r"^(?:\$LATEST|[0-9]+)$")
ALIAS_RE = re.compile(r"^(?!^[0-9]+$)[a-zA-Z0-9_-]{1,128}$")
SYNC_LIMIT, EVENT_LIMIT = 6 * 1024 * 1024, 1024 * 1024
INVOCATION_TYPES = {"RequestResponse": 200, "Event": 202, "DryRun": 204}
CAPITAL_MESSAGE = ("ResourceNotFoundException", "ServiceException")


def error_answer(e):
    code, status = e.code, e.status
    if code == "ThrottlingException":
        code, status = "TooManyRequestsException", 429
    elif code in ("InternalFailure", "ServiceUnavailableException"):
        code = "ServiceException"
    body = {"Type": "Service" if status >= 500 else "User",
            ("Message" if code in CAPITAL_MESSAGE else "message"): e.message}
    if code == "TooManyRequestsException":
        body["Reason"] = "ConcurrentInvocationLimitExceeded"
    return platforms.Answer(status, platforms.json_bytes(body), headers={"x-amzn-ErrorType": code})


def validation(value, name, constraint):
    return AwsError("ValidationException", f"1 validation error detected: Value '{value}' at '{name}' failed to "
                                           f"satisfy constraint: {constraint}")


def function_arn(region, name, qualifier=None):
    return f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}" + (f":{qualifier}" if qualifier else "")


def target(raw_name, query, region):
    """(function name, requested qualifier or None) of the request."""
    name = unquote(raw_name)
    m = FUNCTION_RE.match(name) if 1 <= len(name) <= 256 else None
    if not m:
        raise validation(name, "functionName", "Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?"
                                               ":lambda:)?...(function:)?([a-zA-Z0-9-_.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?")
    qs = parse_qs(query, keep_blank_values=True).get("Qualifier")
    qualifier = qs[-1] if qs else None
    if qualifier is not None and not (1 <= len(qualifier) <= 128 and QUALIFIER_RE.match(qualifier)):
        raise validation(qualifier, "qualifier", "Member must satisfy regular expression pattern: "
                                                 "(|[a-zA-Z0-9$_-]+)")
    if m["q"] and qualifier is not None and m["q"] != qualifier:
        raise AwsError("InvalidParameterValueException",
                       "The derived qualifier from the function name does not match the specified qualifier.")
    qualifier = qualifier if qualifier is not None else m["q"]
    arn_region = m["r1"] or m["r2"]
    if arn_region and arn_region != region:
        raise AwsError("ResourceNotFoundException",
                       f"Functions from '{arn_region}' are not reachable in this region ('{region}')", 404)
    if (m["a1"] or m["a2"] or ACCOUNT) != ACCOUNT:
        raise AwsError("ResourceNotFoundException",
                       f"Function not found: {function_arn(region, m['name'], qualifier)}", 404)
    return m["name"], qualifier


def resolve(st, name, qualifier):
    """(executed version, its spec), or ResourceNotFoundException."""
    fn = st.functions.get(name)
    missing = AwsError("ResourceNotFoundException",
                       f"Function not found: {function_arn(st.name, name, qualifier)}", 404)
    if fn is None:
        raise missing
    q = qualifier or "$LATEST"
    version = fn["aliases"].get(q, q)
    if version not in fn["versions"]:
        raise missing
    return version, fn["versions"][version]


def pointer(doc, ptr):
    """The value at JSON pointer `ptr` in `doc` (RFC 6901); (found, value)."""
    if ptr == "":
        return True, doc
    for part in ptr.split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(doc, dict) and part in doc:
            doc = doc[part]
        elif isinstance(doc, list) and part.isdigit() and int(part) < len(doc):
            doc = doc[int(part)]
        else:
            return False, None
    return True, doc


def outcome(spec, payload):
    """(payload, function error) the version answers to the request payload."""
    for r in spec.get("responses") or []:
        found, value = pointer(payload, r["when"]["pointer"])
        if found and value == r["when"]["equals"]:
            return r.get("payload"), r.get("functionError")
    return spec.get("payload"), spec.get("functionError")


def invoke(emu, caller, record, handler, url, raw):
    kind = handler.headers.get("X-Amz-Invocation-Type") or "RequestResponse"
    if kind not in INVOCATION_TYPES:
        raise validation(kind, "invocationType", "Member must satisfy enum value set: [Event, RequestResponse, DryRun]")
    log_type = handler.headers.get("X-Amz-Log-Type") or "None"
    if log_type not in ("None", "Tail"):
        raise validation(log_type, "logType", "Member must satisfy enum value set: [None, Tail]")
    name, qualifier = target(PATH_RE.match(url.path).group(1), url.query, caller.region)
    limit = EVENT_LIMIT if kind == "Event" else SYNC_LIMIT
    if len(raw) > limit:
        raise AwsError("RequestTooLargeException",
                       f"Request must be smaller than {limit} bytes for the InvokeFunction operation", 413)
    try:
        payload = json.loads(raw) if raw.strip() else None
    except (ValueError, UnicodeDecodeError) as e:
        raise AwsError("InvalidRequestContentException",
                       f"Could not parse request body into json: Could not parse payload into json: {e}") from None
    with emu.lock:
        version, spec = resolve(emu.region(caller.region), name, qualifier)
        emu.invocations.append({"functionName": name, "qualifier": qualifier, "executedVersion": version,
                                "invocationType": kind, "payload": payload, "region": caller.region,
                                "time": now()})
        answer, function_error = outcome(spec, payload)
        delay = spec.get("delayMs", 0) / 1000
    if kind != "RequestResponse":
        return platforms.Answer(INVOCATION_TYPES[kind])
    started = time.monotonic()
    if delay:
        time.sleep(delay)
    headers = {"X-Amz-Executed-Version": version}
    if function_error:
        headers["X-Amz-Function-Error"] = function_error
    if log_type == "Tail":
        rid, ms = uuid.uuid4(), (time.monotonic() - started) * 1000
        log = (f"START RequestId: {rid} Version: {version}\nEND RequestId: {rid}\nREPORT RequestId: {rid}\t"
               f"Duration: {ms:.2f} ms\tBilled Duration: {max(1, math.ceil(ms))} ms\tMemory Size: 128 MB\t"
               "Max Memory Used: 64 MB\t\n")
        headers["X-Amz-Log-Result"] = base64.b64encode(log.encode()).decode()
    return platforms.Answer(200, platforms.json_bytes(answer), headers=headers)


def serve(handler, url, raw):
    if not PATH_RE.match(url.path):
        body = platforms.json_bytes({"Type": "User", "message": f"Unknown path {url.path}"})
        handler.send_bytes(404, body, headers={"x-amzn-ErrorType": "UnknownOperationException"})
        return
    try:
        parsed = json.loads(raw) if raw.strip() else None
    except (ValueError, UnicodeDecodeError):
        parsed = raw[:4096].decode("utf-8", "replace")
    platforms.serve(handler, TARGET, "lambda", parsed,
                    lambda emu, caller, record: invoke(emu, caller, record, handler, url, raw), error_answer)


def seed(st, spec):
    if spec is None:
        return
    if not isinstance(spec, dict) or set(spec) - {"functions"}:
        raise ControlError("lambda takes functions")
    for fn in spec.get("functions") or []:
        name = fn.get("functionName") if isinstance(fn, dict) else None
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise ControlError(f"functionName must be 1-64 of [a-zA-Z0-9_-]: {name!r}")
        versions, aliases = fn.get("versions"), fn.get("aliases") or {}
        if not isinstance(versions, dict) or not versions or not isinstance(aliases, dict):
            raise ControlError(f"{name}: versions must be a non-empty object, aliases an object")
        for v, spec_v in versions.items():
            check_version(name, v, spec_v)
        for alias, v in aliases.items():
            if not ALIAS_RE.match(alias) or v not in versions:
                raise ControlError(f"{name}: alias {alias!r} must be an alias name pointing to a seeded version")
        st.functions[name] = {"functionName": name, "aliases": dict(aliases), "versions": dict(versions)}


def check_version(name, v, spec):
    where = f"{name}:{v}"
    if not VERSION_RE.match(v) or not isinstance(spec, dict):
        raise ControlError(f"{where}: a version is $LATEST or a number, its spec an object")
    extra = set(spec) - {"payload", "functionError", "delayMs", "responses"}
    if extra:
        raise ControlError(f"{where}: unknown keys {sorted(extra)}")
    if spec.get("functionError") is not None and not isinstance(spec["functionError"], str):
        raise ControlError(f"{where}: functionError must be a string")
    delay = spec.get("delayMs", 0)
    if isinstance(delay, bool) or not isinstance(delay, int) or not 0 <= delay <= 60_000:
        raise ControlError(f"{where}: delayMs must be an integer 0..=60000")
    responses = spec.get("responses") or []
    if not isinstance(responses, list):
        raise ControlError(f"{where}: responses must be a list")
    for r in responses:
        when = r.get("when") if isinstance(r, dict) else None
        if (not isinstance(when, dict) or not isinstance(when.get("pointer"), str) or "equals" not in when
                or not (when["pointer"] == "" or when["pointer"].startswith("/"))):
            raise ControlError(f"{where}: every response needs when {{pointer: \"/...\", equals}}")
        if set(r) - {"when", "payload", "functionError"}:
            raise ControlError(f"{where}: a response takes when, payload and functionError")
        if r.get("functionError") is not None and not isinstance(r["functionError"], str):
            raise ControlError(f"{where}: functionError must be a string")
