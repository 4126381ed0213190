"""Self-test of faultproxy.py: forwarding, each fault kind, holds and the request log."""

import http.client
import json
import os
import subprocess
import sys
import threading
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import faultproxy  # noqa: E402
import httpbase  # noqa: E402


class Upstream(httpbase.Handler):
    def do_POST(self):
        body = self.read_body()
        self.server.seen.append((self.headers.get("X-Amz-Target"), body))
        self.send_json(200, {"echo": body.decode()}, {"x-upstream": "yes"})


class UpstreamServer(httpbase.Server):
    def __init__(self):
        super().__init__(("127.0.0.1", 0), Upstream)
        self.seen = []


class FaultProxyTest(unittest.TestCase):
    def setUp(self):
        self.upstream = UpstreamServer().start()
        self.proxy = faultproxy.FaultProxy(f"http://{self.upstream.hostport}").start()

    def tearDown(self):
        self.proxy.plan.release()
        self.proxy.stop()
        self.upstream.stop()

    def send(self, body=b"Action=Publish&TopicArn=x", target=None, timeout=10):
        conn = http.client.HTTPConnection(self.proxy.hostport, timeout=timeout)
        headers = {"Content-Type": "application/x-amz-json-1.0" if target else "application/x-www-form-urlencoded"}
        if target:
            headers["X-Amz-Target"] = target
        try:
            conn.request("POST", "/", body=body, headers=headers)
            r = conn.getresponse()
            return r.status, r.read(), dict(r.headers)
        finally:
            conn.close()

    def control(self, path, body=None, method="POST"):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"http://{self.proxy.hostport}/_emulator/{path}", data=data, method=method)
        with urllib.request.urlopen(req) as r:
            return json.loads(r.read())

    def test_forwards_unchanged(self):
        status, body, headers = self.send()
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body), {"echo": "Action=Publish&TopicArn=x"})
        self.assertEqual(headers["x-upstream"], "yes")
        self.assertEqual(self.control("requests", method="GET"), [{"operation": "Publish", "status": 200}])

    def test_errors_by_protocol_and_operation(self):
        self.control("faults", {"operation": "Publish", "kind": "throttle", "count": 1})
        self.control("faults", {"operation": "DynamoDB_20120810.PutItem", "kind": "error5xx", "count": 1})
        status, body, _ = self.send(b"Action=Subscribe")  # another operation: forwarded
        self.assertEqual(status, 200)
        status, body, _ = self.send()
        self.assertEqual(status, 400)
        self.assertIn(b"<Code>Throttling</Code>", body)
        status, body, _ = self.send(b"{}", target="DynamoDB_20120810.PutItem")
        self.assertEqual((status, json.loads(body)["__type"]), (500, "InternalFailure"))
        self.assertEqual(self.send()[0], 200)
        self.assertEqual(len(self.upstream.seen), 2)
        self.control("faults", {"operation": "*", "kind": "throttle", "count": 1})
        status, body, _ = self.send(b"{}", target="DynamoDB_20120810.GetItem")
        self.assertEqual(json.loads(body)["__type"], "ThrottlingException")
        with self.assertRaises(urllib.error.HTTPError):
            self.control("faults", {"operation": "*", "kind": "nonsense"})

    def test_user_agent_filter(self):
        self.control("faults", {"operation": "Publish", "kind": "throttle", "count": 1, "userAgent": "aws-sdk-rust"})
        self.assertEqual(self.send()[0], 200)  # http.client's User-Agent: not faulted
        conn = http.client.HTTPConnection(self.proxy.hostport, timeout=10)
        conn.request("POST", "/", body=b"Action=Publish", headers={
            "Content-Type": "application/x-www-form-urlencoded", "User-Agent": "aws-sdk-rust/1.0 os/linux"})
        r = conn.getresponse()
        self.assertEqual(r.status, 400)
        r.read()
        conn.close()

    def test_latency(self):
        self.control("faults", {"operation": "Publish", "kind": "latency", "count": 1, "latency_ms": 200})
        t = time.monotonic()
        self.assertEqual(self.send()[0], 200)
        self.assertGreaterEqual(time.monotonic() - t, 0.2)

    def test_reset_before_and_after(self):
        self.control("faults", {"operation": "Publish", "kind": "reset", "count": 1})
        with self.assertRaises((ConnectionError, http.client.HTTPException)):
            self.send()
        self.assertEqual(self.upstream.seen, [])
        self.control("faults", {"operation": "Publish", "kind": "reset_after", "count": 1})
        with self.assertRaises((ConnectionError, http.client.HTTPException)):
            self.send()
        self.assertEqual(len(self.upstream.seen), 1)  # applied, not answered
        statuses = [r["status"] for r in self.control("requests?operation=Publish", method="GET")]
        self.assertEqual(statuses, ["reset", "reset_after"])

    def test_hold_until_released(self):
        for then in ("apply", "reset"):
            self.upstream.seen.clear()
            self.control("faults", {"operation": "Publish", "kind": "hold", "count": 1, "then": then})
            out = {}

            def call():
                try:
                    out["status"] = self.send()[0]
                except (ConnectionError, http.client.HTTPException) as e:
                    out["error"] = e

            t = threading.Thread(target=call)
            t.start()
            deadline = time.monotonic() + 5
            while self.control("faults", method="GET")["held"] != 1 and time.monotonic() < deadline:
                time.sleep(0.01)
            self.assertEqual(self.control("faults", method="GET")["held"], 1)
            self.assertEqual(self.upstream.seen, [])
            self.assertEqual(self.control("release", {}), {"released": 1})
            t.join(5)
            if then == "apply":
                self.assertEqual((out.get("status"), len(self.upstream.seen)), (200, 1))
            else:
                self.assertIn("error", out)
                self.assertEqual(self.upstream.seen, [])

    def test_run_alone(self):
        proc = subprocess.Popen([sys.executable, os.path.join(HERE, "faultproxy.py"), "--upstream",
                                 f"http://{self.upstream.hostport}"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            endpoint = json.loads(proc.stdout.readline())["endpoint"]
            self.assertTrue(endpoint.startswith("http://127.0.0.1:"))
            proc.stdin.close()
            self.assertEqual(proc.wait(timeout=10), 0)
        finally:
            proc.kill()
            proc.wait()
            proc.stdout.close()


if __name__ == "__main__":
    unittest.main()
