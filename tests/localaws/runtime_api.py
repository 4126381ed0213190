"""A local AWS Lambda Runtime API, for running a function's real binary in tests.

The function polls it as it polls Lambda (`AWS_LAMBDA_RUNTIME_API=127.0.0.1:PORT`):
  GET  /2018-06-01/runtime/invocation/next           long-polls for the next event
  POST /2018-06-01/runtime/invocation/<id>/response  the function's answer
  POST /2018-06-01/runtime/invocation/<id>/error     {"errorType", "errorMessage"}
  POST /2018-06-01/runtime/init/error                an initialisation failure
Tests drive it with:
  POST /_invoke  {"event": ..., "timeout_ms": N, "function_arn": optional}
                 -> {"status": "ok"|"error"|"timeout", "response", "error", "request_id", "duration_ms"}
                 (blocks until the function answers, or its deadline plus 2 s of grace passes)
  GET  /_status  -> {"init_error", "invocations", "polling", "pending"}
  POST /_reset   forgets the init error and the counters
  POST /_crash   {"errorMessage": optional}: the function's process died (the test killed it):
                 every delivered, unanswered invocation ends as Lambda ends it,
                 `Runtime.ExitError`, at once -> {"crashed": [request ids]}

Run alone: `python runtime_api.py [NAME] [--verbose]` prints `{"endpoint": "127.0.0.1:PORT"}`
and serves until stdin reaches EOF.
"""

import json
import secrets
import select
import socket
import sys
import threading
import time
import uuid
from collections import deque
from urllib.parse import urlsplit

import httpbase

PREFIX = "/2018-06-01/runtime/"
GRACE_S = 2.0
MAX_RESPONSE = 6 * 1024 * 1024  # Lambda's limit for a buffered response.
DEFAULT_TIMEOUT_MS = 30_000


class Invocation:
    def __init__(self, event, timeout_ms, function_arn):
        self.id = str(uuid.uuid4())
        self.event = event
        self.timeout_ms = timeout_ms
        self.deadline_ms = int(time.time() * 1000) + timeout_ms
        self.function_arn = function_arn
        self.trace_id = (f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};"
                         f"Parent={secrets.token_hex(8)};Sampled=0")
        self.queued_at = time.monotonic()
        self.delivered_at = None
        self.done = threading.Event()
        self.result = None  # (status, response, error)
        self._lock = threading.Lock()

    def finish(self, status, response=None, error=None):
        """Records the outcome once; False if it was already decided."""
        with self._lock:
            if self.done.is_set():
                return False
            self.result = (status, response, error)
            self.done.set()
            return True


class RuntimeApi:
    """The invocation queue shared by the function's pollers and the tests."""

    def __init__(self, name="function", region="us-east-1", account="123456789012"):
        self.name = name
        self.function_arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
        self.cond = threading.Condition()
        self.queue = deque()
        self.known = {}  # request id -> Invocation (delivered or timed out)
        self.init_error = None
        self.invocations = 0
        self.pollers = 0

    def invoke(self, event, timeout_ms, function_arn=None):
        inv = Invocation(event, timeout_ms, function_arn or self.function_arn)
        with self.cond:
            self.invocations += 1
            if self.init_error is not None:
                inv.finish("error", error=self.init_error)
            else:
                self.queue.append(inv)
                self.cond.notify_all()
        if not inv.done.wait(timeout_ms / 1000 + GRACE_S):
            with self.cond:
                if inv in self.queue:
                    self.queue.remove(inv)
            inv.finish("timeout", error={"errorType": "Sandbox.Timedout",
                                         "errorMessage": f"Task timed out after {timeout_ms / 1000:.2f} seconds"})
        status, response, error = inv.result
        started = inv.delivered_at or inv.queued_at
        return {
            "status": status,
            "response": response,
            "error": error,
            "request_id": inv.id,
            "duration_ms": round((time.monotonic() - started) * 1000, 3),
        }

    def next(self, alive):
        """Blocks until an invocation is queued and hands it out; None once `alive()` says
        the poller went away (so a killed function's poll cannot take a later event)."""
        with self.cond:
            self.pollers += 1
            try:
                while not self.queue:
                    if not alive():
                        return None
                    self.cond.wait(0.2)
                inv = self.queue.popleft()
            finally:
                self.pollers -= 1
            inv.delivered_at = time.monotonic()
            self.known[inv.id] = inv
            return inv

    def requeue(self, inv):
        """Puts back an invocation whose delivery failed."""
        with self.cond:
            self.known.pop(inv.id, None)
            inv.delivered_at = None
            if not inv.done.is_set():
                self.queue.appendleft(inv)
                self.cond.notify_all()

    def fail_init(self, error):
        with self.cond:
            self.init_error = error
            pending = list(self.queue) + [i for i in self.known.values() if not i.done.is_set()]
            self.queue.clear()
        for inv in pending:
            inv.finish("error", error=error)

    def crash(self, message=None):
        """Ends every delivered, unanswered invocation with `Runtime.ExitError`."""
        with self.cond:
            pending = [i for i in self.known.values() if not i.done.is_set()]
        crashed = []
        for inv in pending:
            error = {"errorType": "Runtime.ExitError",
                     "errorMessage": message or f"RequestId: {inv.id} Error: Runtime exited with error: signal: killed"}
            if inv.finish("error", error=error):
                crashed.append(inv.id)
        return crashed

    def reset(self):
        with self.cond:
            self.init_error = None
            self.invocations = 0

    def status(self):
        with self.cond:
            return {"init_error": self.init_error, "invocations": self.invocations,
                    "polling": self.pollers > 0, "pending": len(self.queue)}


def parse(raw):
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return raw.decode("utf-8", "replace")


def error_body(raw, headers, default_type):
    body = parse(raw) if raw else {}
    if not isinstance(body, dict):
        body = {"errorMessage": str(body)}
    return {"errorType": body.get("errorType") or headers.get("Lambda-Runtime-Function-Error-Type") or default_type,
            "errorMessage": body.get("errorMessage", "")}


class RuntimeHandler(httpbase.Handler):
    def do_GET(self):
        self.route()

    def do_POST(self):
        self.route()

    def route(self):
        api = self.server.api
        path = urlsplit(self.path).path
        raw = self.read_body()
        if self.command == "GET" and path == PREFIX + "invocation/next":
            inv = api.next(self.client_alive)
            if inv is None:
                self.close_connection = True
                return
            try:
                self.send_json(200, inv.event, {
                    "Lambda-Runtime-Aws-Request-Id": inv.id,
                    "Lambda-Runtime-Deadline-Ms": str(inv.deadline_ms),
                    "Lambda-Runtime-Invoked-Function-Arn": inv.function_arn,
                    "Lambda-Runtime-Trace-Id": inv.trace_id,
                })
            except OSError:
                api.requeue(inv)
                raise
        elif self.command == "POST" and path.startswith(PREFIX + "invocation/"):
            self.complete(path.removeprefix(PREFIX + "invocation/"), raw)
        elif self.command == "POST" and path == PREFIX + "init/error":
            api.fail_init(error_body(raw, self.headers, "Runtime.InitError"))
            self.send_json(202, {"status": "OK"})
        elif self.command == "POST" and path == "/_invoke":
            self.invoke(raw)
        elif self.command == "GET" and path == "/_status":
            self.send_json(200, api.status())
        elif self.command == "POST" and path == "/_crash":
            body = parse(raw) if raw else {}
            message = body.get("errorMessage") if isinstance(body, dict) else None
            self.send_json(200, {"crashed": self.server.api.crash(message)})
        elif self.command == "POST" and path == "/_reset":
            api.reset()
            self.send_json(200, api.status())
        else:
            self.send_json(404, {"errorType": "NotFound", "errorMessage": f"{self.command} {path}"})

    def client_alive(self):
        """False once the long-polling client closed its connection (it sends nothing else
        while it waits, so a readable socket means end of stream)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return not readable or self.connection.recv(1, socket.MSG_PEEK) != b""
        except OSError:
            return False

    def complete(self, rest, raw):
        request_id, _, kind = rest.partition("/")
        inv = self.server.api.known.get(request_id)
        if kind not in ("response", "error"):
            self.send_json(404, {"errorType": "NotFound", "errorMessage": rest})
            return
        if inv is None:
            self.send_json(400, {"errorType": "InvalidRequestID", "errorMessage": f"unknown request id {request_id}"})
            return
        if kind == "error":
            ok = inv.finish("error", error=error_body(raw, self.headers, "Unhandled"))
        elif len(raw) > MAX_RESPONSE:
            inv.finish("error", error={"errorType": "Function.ResponseSizeTooLarge",
                                       "errorMessage": f"Response payload size ({len(raw)} bytes) exceeded maximum allowed payload size ({MAX_RESPONSE} bytes)."})
            self.send_json(413, {"errorType": "RequestEntityTooLarge",
                                 "errorMessage": f"Exceeded maximum allowed payload size ({MAX_RESPONSE} bytes)."})
            return
        else:
            ok = inv.finish("ok", response=parse(raw) if raw else None)
        # A late answer to a timed-out invocation is accepted (the function moves on) and dropped.
        if not ok and inv.result[0] != "timeout":
            self.send_json(400, {"errorType": "InvalidStateTransition",
                                 "errorMessage": f"invocation {request_id} was already answered"})
            return
        self.send_json(202, {"status": "OK"})

    def invoke(self, raw):
        body = parse(raw) if raw else None
        if not isinstance(body, dict) or "event" not in body:
            self.send_json(400, {"error": 'the body must be {"event": ..., "timeout_ms": N}'})
            return
        timeout_ms = body.get("timeout_ms", DEFAULT_TIMEOUT_MS)
        if not isinstance(timeout_ms, int) or isinstance(timeout_ms, bool) or timeout_ms <= 0:
            self.send_json(400, {"error": "timeout_ms must be a positive integer"})
            return
        self.send_json(200, self.server.api.invoke(body["event"], timeout_ms, body.get("function_arn")))


class RuntimeApiServer(httpbase.Server):
    def __init__(self, name="function", region="us-east-1", host="127.0.0.1", port=0):
        super().__init__((host, port), RuntimeHandler)
        self.api = RuntimeApi(name, region)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    httpbase.VERBOSE = "--verbose" in sys.argv[1:]
    server = RuntimeApiServer(args[0] if args else "function")
    httpbase.run_alone(server, value=server.hostport)


if __name__ == "__main__":
    main()
