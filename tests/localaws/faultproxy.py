"""A fault-injecting HTTP proxy for local AWS endpoints (moto, or any HTTP upstream), and the
fault plan the emulator and the git server share.

    python faultproxy.py --upstream http://127.0.0.1:5001 [--verbose]

prints `{"endpoint": "http://127.0.0.1:<port>"}` and serves until stdin reaches EOF. Every
request that is not a control request is forwarded to the upstream unchanged (method, path,
headers, body) and its answer returned, unless an armed fault matches its operation:

  * the operation is the `X-Amz-Target` header (`DynamoDB_20120810.PutItem`; a fault may name
    the whole target or only `PutItem`), else the `Action` field of a form body or of the query
    string (`Publish`, `DescribeTargetHealth`, the AWS query protocol of SNS and ELBv2).

Control API (the same shape as the emulator's, so `codehooks_tests::Emulator` drives both):
  POST   /_emulator/faults    {"operation": op or "*", "kind", "count": N, "latency_ms": ms,
                              "hold_ms": ms, "then": "apply"|"reset"}; DELETE clears them all
  GET    /_emulator/faults    {"faults": [...], "held": number of requests held right now}
  POST   /_emulator/release   lets every held request go on (as its fault's "then" says)
  GET    /_emulator/requests  every forwarded request: {"operation", "status"} (?operation=)
  POST   /_emulator/reset     forgets faults, holds and the request log

A fault with `"userAgent": "aws-sdk-rust"` only matches requests whose User-Agent contains
that text (the function's SDK, not a test helper calling the same operation).

Fault kinds (each armed fault acts on the next `count` matching requests):
  throttle     an AWS throttling error (`Throttling` in XML for query protocols,
               `ThrottlingException` in JSON otherwise), status 400; never forwarded
  error5xx     `InternalFailure`, status 500; never forwarded
  error503     `ServiceUnavailable`, status 503; never forwarded
  latency      forwarded after `latency_ms` (past the client's read timeout, it is a timeout;
               the upstream still applies the request once it is forwarded)
  reset        the connection is reset (RST) without an answer; never forwarded
  reset_after  forwarded and applied, then the connection is reset instead of answering
               (the effect happened, the client does not know it)
  hold         blocks until `POST /_emulator/release` (or `hold_ms`, 30 s by default), then
               goes on as `then` says: `apply` (forwarded, answered) or `reset` (not forwarded,
               reset). A test holds a call, kills the client while it waits, then releases it:
               a crash just before (`reset`) or just after (`apply`) the call took effect.

`FaultPlan` is the engine: `emulator.py` and `git_server.py` use it for their own requests.
"""

import http.client
import json
import socket
import struct
import sys
import threading
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import httpbase

KINDS = ("throttle", "error5xx", "error503", "latency", "reset", "reset_after", "hold")
ERRORS = ("throttle", "error5xx", "error503")
DEFAULT_HOLD_MS = 30_000


class FaultSpecError(ValueError):
    """A fault that cannot be armed (answered 400)."""


class Decision:
    """What to do with one request: wait `delay` seconds, then fail with `error` (a kind in
    ERRORS), or `reset` before applying it, or apply it and `reset_after`."""

    def __init__(self):
        self.delay, self.error, self.reset, self.reset_after = 0.0, None, False, False

    @property
    def forward(self):
        return self.error is None and not self.reset


class FaultPlan:
    """The armed faults, the held requests, behind one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.faults = []
        self.holds = []  # threading.Event per held request
        self.held = 0

    @staticmethod
    def check(spec):
        if not isinstance(spec, dict):
            raise FaultSpecError("a fault must be a JSON object")
        kind = spec.get("kind")
        if kind not in KINDS:
            raise FaultSpecError(f"kind must be one of {', '.join(KINDS)}")
        if not isinstance(spec.get("operation"), str):
            raise FaultSpecError("operation must be a target (Prefix.Operation), an operation or '*'")
        then = spec.get("then", "apply")
        if then not in ("apply", "reset"):
            raise FaultSpecError("then must be apply or reset")
        return {"operation": spec["operation"], "kind": kind, "count": int(spec.get("count", 1)),
                "latency_ms": int(spec.get("latency_ms", 0)),
                "hold_ms": int(spec.get("hold_ms", DEFAULT_HOLD_MS)), "then": then,
                "userAgent": str(spec.get("userAgent") or "")}

    def add(self, spec):
        fault = self.check(spec)
        with self.lock:
            self.faults.append(fault)
            return list(self.faults)

    def clear(self):
        self.release()
        with self.lock:
            self.faults = []

    def snapshot(self):
        with self.lock:
            return {"faults": [dict(f) for f in self.faults], "held": self.held}

    def release(self):
        with self.lock:
            holds, self.holds = self.holds, []
        for h in holds:
            h.set()
        return len(holds)

    @staticmethod
    def matches(fault, operation, user_agent=""):
        if fault.get("userAgent") and fault["userAgent"] not in (user_agent or ""):
            return False
        if fault["operation"] == "*":
            return True
        return fault["operation"] in (operation, (operation or "").split(".", 1)[-1])

    def decide(self, operation, user_agent=""):
        """Takes the faults due for one request of `operation` and applies latency and holds
        (blocking the caller, never under the lock); returns the Decision."""
        d, hold = Decision(), None
        with self.lock:
            for fault in self.faults:
                if fault["count"] <= 0 or not self.matches(fault, operation, user_agent):
                    continue
                if fault["kind"] == "latency":
                    fault["count"] -= 1
                    d.delay += fault["latency_ms"] / 1000
                elif d.error is None and not d.reset and not d.reset_after and hold is None:
                    fault["count"] -= 1
                    if fault["kind"] in ERRORS:
                        d.error = fault["kind"]
                    elif fault["kind"] == "reset":
                        d.reset = True
                    elif fault["kind"] == "reset_after":
                        d.reset_after = True
                    else:
                        hold = fault
            self.faults = [f for f in self.faults if f["count"] > 0]
            if hold is not None:
                event = threading.Event()
                self.holds.append(event)
                self.held += 1
        if hold is not None:
            event.wait(hold["hold_ms"] / 1000)
            with self.lock:
                self.held -= 1
                if event in self.holds:
                    self.holds.remove(event)
            d.reset = hold["then"] == "reset"
        if d.delay:
            time.sleep(d.delay)
        return d


def reset_connection(handler):
    """Ends the handler's connection with a TCP reset and no answer."""
    handler.close_connection = True
    try:
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.connection.close()
    except OSError:
        pass


def operation_of(headers, path, body):
    target = headers.get("X-Amz-Target")
    if target:
        return target
    ctype = headers.get("Content-Type", "")
    fields = {}
    if "x-www-form-urlencoded" in ctype:
        fields = parse_qs(body.decode("utf-8", "replace"))
    if "Action" not in fields:
        fields = parse_qs(urlsplit(path).query)
    action = fields.get("Action")
    return action[-1] if action else None


def error_answer(kind, json_protocol):
    """(status, content type, body) of an AWS error for a fault kind."""
    code, status, message = {
        "throttle": ("ThrottlingException" if json_protocol else "Throttling", 400, "Rate exceeded"),
        "error5xx": ("InternalFailure", 500, "We encountered an internal error. Please try again."),
        "error503": ("ServiceUnavailable", 503, "Service unavailable"),
    }[kind]
    if json_protocol:
        return status, "application/x-amz-json-1.0", json.dumps({"__type": code, "message": message}).encode()
    kind_of = "Sender" if status < 500 else "Receiver"
    xml = (f"<ErrorResponse><Error><Type>{kind_of}</Type><Code>{code}</Code><Message>{message}</Message>"
           f"</Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>")
    return status, "text/xml", xml.encode()


HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}


class ProxyHandler(httpbase.Handler):
    server_version = "codehooks-faultproxy"

    def do_GET(self):
        self.route()

    def do_POST(self):
        self.route()

    def do_PUT(self):
        self.route()

    def do_DELETE(self):
        self.route()

    def do_HEAD(self):
        self.route()

    def route(self):
        raw = self.read_body()
        url = urlsplit(self.path)
        if url.path.startswith("/_emulator/"):
            return self.control(url, raw)
        operation = operation_of(self.headers, self.path, raw)
        record = {"operation": operation, "status": None}
        with self.server.lock:
            self.server.log.append(record)
        d = self.server.plan.decide(operation, self.headers.get("User-Agent", ""))
        if d.reset:
            record["status"] = "reset"
            return reset_connection(self)
        if d.error:
            status, ctype, body = error_answer(d.error, self.headers.get("X-Amz-Target") is not None)
            record["status"] = status
            return self.send_bytes(status, body, ctype, {"x-amzn-RequestId": str(uuid.uuid4())})
        status, headers, body = self.forward(raw)
        if d.reset_after:
            record["status"] = "reset_after"
            return reset_connection(self)
        record["status"] = status
        self.send_response(status)
        for k, v in headers:
            if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def forward(self, raw):
        up = urlsplit(self.server.upstream)
        conn = http.client.HTTPConnection(up.hostname, up.port, timeout=60)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            headers["Content-Length"] = str(len(raw))
            conn.request(self.command, self.path, body=raw, headers=headers)
            r = conn.getresponse()
            return r.status, r.getheaders(), r.read()
        finally:
            conn.close()

    def control(self, url, raw):
        name = url.path.removeprefix("/_emulator/")
        plan = self.server.plan
        try:
            body = json.loads(raw) if raw.strip() else {}
            if (self.command, name) == ("POST", "faults"):
                plan.add(body)
                return self.send_json(200, plan.snapshot())
            if (self.command, name) == ("DELETE", "faults"):
                plan.clear()
                return self.send_json(200, plan.snapshot())
            if (self.command, name) == ("GET", "faults"):
                return self.send_json(200, plan.snapshot())
            if (self.command, name) == ("POST", "release"):
                return self.send_json(200, {"released": plan.release()})
            if (self.command, name) == ("POST", "reset"):
                plan.clear()
                with self.server.lock:
                    self.server.log.clear()
                return self.send_json(200, {"reset": True})
            if (self.command, name) == ("GET", "requests"):
                op = parse_qs(url.query).get("operation", [None])[-1]
                with self.server.lock:
                    log = [dict(r) for r in self.server.log
                           if op is None or op in (r["operation"], (r["operation"] or "").split(".", 1)[-1])]
                return self.send_json(200, log)
            return self.send_json(404, {"error": f"unknown control request {self.command} {url.path}"})
        except ValueError as e:
            return self.send_json(400, {"error": str(e)})


class FaultProxy(httpbase.Server):
    def __init__(self, upstream, host="127.0.0.1", port=0):
        super().__init__((host, port), ProxyHandler)
        self.upstream = upstream.rstrip("/")
        self.plan = FaultPlan()
        self.lock = threading.Lock()
        self.log = []


def main():
    args = sys.argv[1:]
    httpbase.VERBOSE = "--verbose" in args
    if "--upstream" not in args or args.index("--upstream") + 1 >= len(args):
        sys.exit("usage: faultproxy.py --upstream URL [--verbose]")
    httpbase.run_alone(FaultProxy(args[args.index("--upstream") + 1]))


if __name__ == "__main__":
    main()
