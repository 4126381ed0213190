"""A local stand-in for CodeCommit's HTTPS git endpoint (standard library and the machine's git).

Serves bare repositories over git's smart HTTP protocol by running `git http-backend` (from
`git --exec-path`) as a CGI program, for several regions at once:

    http://127.0.0.1:<port>/<region>/v1/repos/<repository>[/info/refs | /git-upload-pack | /git-receive-pack]

The repository `<repository>` of `<region>` is the bare repository `<root>/<region>/<repository>`.
Request bodies are read whole, whether sent with Content-Length or chunked (libgit2 sends every
push chunked, which CGI cannot pass on), and handed to the backend with a Content-Length.

Authentication works the way CodeCommit checks it: HTTP Basic, the username is the access key
id (followed by `%` and a session token when there is one), the password is `<YYYYMMDDTHHMMSS>Z`
and the SigV4 signature of a `GIT` request for the repository path on the git host of the
region, service `codecommit`. The server recomputes the signature from its own copy of the
secret key and the request's region and path; the signed host is `--host-template` with
`{region}` filled in (the region's real CodeCommit host by default, since clients connect to
127.0.0.1 but sign for the host they stand in for). No credentials: 401 with a Basic
challenge; a wrong access key, a wrong signature or a timestamp more than 15 minutes off: 403.

Repositories that do not exist answer 404, unless `--emulator` names the local AWS emulator
and its CodeCommit knows the repository (GetRepository in that region): then the empty bare
repository is created on first access. That is how a replica created with CreateRepository
becomes reachable over git, as it does in AWS.

Control API, for tests:
  GET  /_git/requests  the git requests served (region, repository, service, status, bytes in
                       and out, whether the username carried a session token, and `stderr`:
                       the end of what git http-backend wrote there, when it wrote anything)
  POST /_git/reset     clears that list, hooks, settings and the ref-update log; lets every
                       /_git/hold hold go and forgets them
  POST /_git/hook      {"region", "repository", "advertisement": n, "ref", "oid"}: just before
                       serving the n-th (1-based, counted from now) receive-pack advertisement
                       of that repository, set `ref` to `oid` there: another writer moving
                       the ref between a client's listing and its push. With "push": n
                       instead, just before the n-th receive-pack POST: the ref moves after
                       the client's advertisement, so receive-pack's own old-value check
                       must reject the update
  POST /_git/settings  {"bad_signature_status": 401}: answer wrong signatures with 401 instead
                       of 403 (a client that asks again for credentials after every 401 loops)
  POST /_git/faults    a fault for the next `count` git requests of an operation (the shape and
                       kinds of `faultproxy.py`): `upload-pack-refs`, `upload-pack` (a fetch's
                       advertisement and its POST), `receive-pack-refs`, `receive-pack` (a push's),
                       or `*`. throttle answers 429, error5xx 500, error503 503; reset_after runs
                       the backend (a push lands) and then resets. DELETE clears; GET lists
  POST /_git/release   lets held git requests go on
  POST /_git/hold      {"region", "repository", "service", "phase", "timeout_ms"}: arms a one-shot
                       hold of the next request of that repository whose operation is `service`
                       (the fault plan's names: `receive-pack-refs` a push's advertisement GET,
                       `receive-pack` its POST, `upload-pack-refs`, `upload-pack`), once it is
                       authenticated. `phase` "before" (default): it blocks before the backend
                       runs (a held push has not landed); "after": the backend ran (the push
                       landed, the advertisement was computed) and the answer waits. It goes on
                       when released or after `timeout_ms` (60 s by default) -> {"id"}
  GET  /_git/hold      {"holds": [{"id", "region", "repository", "service", "phase", "state"}]};
                       state: armed, held, released, timed_out, done (answered)
  POST /_git/hold/wait {"id", "state": "held", "timeout_ms"}: blocks until the hold reached that
                       state or a later one (or the timeout) -> {"id", "state", "reached"}
  POST /_git/hold/release  {"id"} (or {} for every hold) -> {"released": [ids]}
  GET  /_git/updates?region=R&repository=N  every ref update of that repository, in the order
                       they happened: [{"seq", "ref", "old", "new", "by"}] (old/new null when
                       the ref was absent/deleted; by "push" for receive-pack, "hook" for
                       /_git/hook). The server serialises the receive-pack POSTs of a
                       repository and compares its refs before and after each, so the log
                       is exact even when pushes overlap (receive-pack's own old-value check
                       still decides which updates land)

With `--tls-cert` and `--tls-key` (PEM files) it serves HTTPS instead, as CodeCommit does.

Run alone: `python3 git_server.py --root DIR` prints `{"git": "http://127.0.0.1:<port>"}` (or
`https://...`) and serves until stdin closes.
"""

import argparse
import base64
import datetime
import hashlib
import hmac
import json
import os
import re
import ssl
import subprocess
import sys
import threading
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import httpbase  # noqa: E402
import faultproxy  # noqa: E402

DEFAULT_ACCESS_KEY = "AKIDCODEHOOKSTEST"
DEFAULT_SECRET_KEY = "codehooks-test-secret-key"
DEFAULT_HOST_TEMPLATE = "git-codecommit.{region}.amazonaws.com"
MAX_SKEW = datetime.timedelta(minutes=15)

PATH_RE = re.compile(
    r"^/(?P<region>[a-z0-9-]+)(?P<repo_path>/v1/repos/(?P<repo>[A-Za-z0-9._-]{1,100}))"
    r"(?P<rest>/info/refs|/git-upload-pack|/git-receive-pack|/HEAD|/objects/.*)?$"
)


def git_exec_path():
    return subprocess.run(["git", "--exec-path"], capture_output=True, text=True, check=True).stdout.strip()


def signature(secret_key, host, path, region, stamp):
    """The signature part of the git password (hex), computed from scratch."""
    canonical = "GIT\n%s\n\nhost:%s\n\nhost\n" % (path, host)
    scope = "%s/%s/codecommit/aws4_request" % (stamp[:8], region)
    to_sign = "AWS4-HMAC-SHA256\n%s\n%s\n%s" % (stamp, scope, hashlib.sha256(canonical.encode()).hexdigest())

    def h(key, msg):
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    key = h(h(h(h(("AWS4" + secret_key).encode(), stamp[:8]), region), "codecommit"), "aws4_request")
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


HOLD_STATES = ("armed", "held", "released", "timed_out", "done")
HOLD_SERVICES = ("receive-pack-refs", "receive-pack", "upload-pack-refs", "upload-pack")
DEFAULT_HOLD_TIMEOUT_MS = 60_000


class Holds:
    """One-shot holds of a repository's next request of one operation (see `/_git/hold`)."""

    def __init__(self):
        self.cond = threading.Condition()
        self.items = []
        self.next_id = 1

    def arm(self, spec):
        if not isinstance(spec, dict):
            raise ValueError("a hold must be a JSON object")
        for key in ("region", "repository"):
            if not isinstance(spec.get(key), str) or not spec[key]:
                raise ValueError(f"{key} must be a non-empty string")
        if spec.get("service") not in HOLD_SERVICES:
            raise ValueError(f"service must be one of {', '.join(HOLD_SERVICES)}")
        phase = spec.get("phase", "before")
        if phase not in ("before", "after"):
            raise ValueError("phase must be before or after")
        timeout_ms = int(spec.get("timeout_ms", DEFAULT_HOLD_TIMEOUT_MS))
        with self.cond:
            hold = {"id": self.next_id, "region": spec["region"], "repository": spec["repository"],
                    "service": spec["service"], "phase": phase, "timeout_ms": timeout_ms,
                    "state": "armed", "released": False}
            self.next_id += 1
            self.items.append(hold)
            return hold["id"]

    def take(self, region, repo, service, phase):
        """The armed hold this request matches (now held), or None."""
        with self.cond:
            for hold in self.items:
                if (hold["state"] == "armed" and hold["region"] == region and hold["repository"] == repo
                        and hold["service"] == service and hold["phase"] == phase):
                    hold["state"] = "held"
                    self.cond.notify_all()
                    return hold
        return None

    def block(self, hold):
        """Blocks the calling request until `hold` is released or times out."""
        with self.cond:
            self.cond.wait_for(lambda: hold["released"], hold["timeout_ms"] / 1000)
            hold["state"] = "released" if hold["released"] else "timed_out"
            self.cond.notify_all()

    def finish(self, hold):
        with self.cond:
            hold["state"] = "done"
            self.cond.notify_all()

    def release(self, hold_id=None):
        with self.cond:
            ids = []
            for hold in self.items:
                if (hold_id is None or hold["id"] == hold_id) and not hold["released"]:
                    hold["released"] = True
                    ids.append(hold["id"])
            self.cond.notify_all()
            return ids

    def wait(self, hold_id, state, timeout_ms):
        if state not in HOLD_STATES:
            raise ValueError(f"state must be one of {', '.join(HOLD_STATES)}")
        with self.cond:
            hold = next((h for h in self.items if h["id"] == hold_id), None)
            if hold is None:
                raise ValueError(f"no hold {hold_id}")

            # released and timed_out are the same step: after held, before done.
            rank = {"armed": 0, "held": 1, "released": 2, "timed_out": 2, "done": 3}
            ok = self.cond.wait_for(lambda: rank[hold["state"]] >= rank[state], timeout_ms / 1000)
            return {"id": hold_id, "state": hold["state"], "reached": bool(ok)}

    def snapshot(self):
        with self.cond:
            return [{k: h[k] for k in ("id", "region", "repository", "service", "phase", "state")}
                    for h in self.items]

    def clear(self):
        self.release()
        with self.cond:
            self.items = []


def read_refs(repo_dir):
    """Every ref of a repository (HEAD aside): name -> object id."""
    out = subprocess.run(["git", "-C", repo_dir, "for-each-ref", "--format=%(refname) %(objectname)"],
                         capture_output=True, text=True, check=True, env=git_env()).stdout
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


def git_env():
    env = dict(os.environ)
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    return env


class GitServer(httpbase.Server):
    def __init__(self, addr, root, access_key, secret_key, host_template, emulator):
        super().__init__(addr, GitHandler)
        self.root = root
        self.access_key = access_key
        self.secret_key = secret_key
        self.host_template = host_template
        self.emulator = emulator
        self.backend = os.path.join(git_exec_path(), "git-http-backend")
        self.log = []
        self.lock = threading.Lock()
        self.hooks = []
        self.bad_signature_status = 403
        self.plan = faultproxy.FaultPlan()
        self.holds = Holds()
        self.updates = {}  # (region, repository) -> [update]
        self.update_seq = 0
        self.repo_locks = {}  # (region, repository) -> Lock serialising ref writes

    def repo_lock(self, region, repo):
        with self.lock:
            return self.repo_locks.setdefault((region, repo), threading.Lock())

    def record_updates(self, region, repo, before, after, by):
        """Logs the refs that differ between two `read_refs` snapshots."""
        with self.lock:
            log = self.updates.setdefault((region, repo), [])
            for name in sorted(set(before) | set(after)):
                if before.get(name) != after.get(name):
                    self.update_seq += 1
                    log.append({"seq": self.update_seq, "ref": name, "old": before.get(name),
                                "new": after.get(name), "by": by})

    def record(self, entry):
        with self.lock:
            self.log.append(entry)

    def emulator_knows(self, region, repo):
        """Whether the emulator's CodeCommit has `repo` in `region` (GetRepository)."""
        if not self.emulator:
            return False
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        req = urllib.request.Request(
            self.emulator.rstrip("/") + "/",
            data=json.dumps({"repositoryName": repo}).encode(),
            method="POST",
            headers={
                "Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": "CodeCommit_20150413.GetRepository",
                "X-Amz-Date": stamp,
                "Authorization": "AWS4-HMAC-SHA256 Credential=%s/%s/%s/codecommit/aws4_request, "
                "SignedHeaders=host;x-amz-date, Signature=%s"
                % (self.access_key, stamp[:8], region, "0" * 64),
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                meta = json.loads(resp.read() or b"{}").get("repositoryMetadata") or {}
                return meta.get("repositoryName") == repo
        except Exception:
            return False


class GitHandler(httpbase.Handler):
    server_version = "codehooks-git"

    def do_GET(self):
        self.route()

    def do_POST(self):
        self.route()

    def route(self):
        path, _, query = self.path.partition("?")
        if path == "/_git/requests":
            with self.server.lock:
                return self.send_json(200, list(self.server.log))
        if path == "/_git/reset":
            self.read_body()
            with self.server.lock:
                self.server.log.clear()
                self.server.hooks.clear()
                self.server.bad_signature_status = 403
                self.server.updates.clear()
            self.server.holds.clear()
            return self.send_json(200, {})
        if path.startswith("/_git/hold"):
            return self.hold_control(path)
        if path == "/_git/updates":
            params = urllib.parse.parse_qs(query)
            key = (params.get("region", [""])[0], params.get("repository", [""])[0])
            with self.server.lock:
                return self.send_json(200, [dict(u) for u in self.server.updates.get(key, [])])
        if path == "/_git/hook":
            hook = json.loads(self.read_body() or b"{}")
            hook["seen"] = 0
            with self.server.lock:
                self.server.hooks.append(hook)
            return self.send_json(200, {})
        if path in ("/_git/faults", "/_git/release"):
            return self.fault_control(path)
        if path == "/_git/settings":
            settings = json.loads(self.read_body() or b"{}")
            with self.server.lock:
                self.server.bad_signature_status = int(settings.get("bad_signature_status", 403))
            return self.send_json(200, {})
        body = self.read_body() if self.command == "POST" else b""
        m = PATH_RE.match(path)
        if not m:
            return self.send_bytes(404, b"not a repository path\n", "text/plain")
        entry = {
            "method": self.command,
            "region": m["region"],
            "repository": m["repo"],
            "service": (m["rest"] or "").lstrip("/") + (("?" + query) if query else ""),
            "bytes_in": len(body),
            "bytes_out": 0,
            "token_in_username": False,
        }
        status = self.authenticate(m, entry)
        if status is not None:
            entry["status"] = status
            self.server.record(entry)
            return
        repo_dir = os.path.join(self.server.root, m["region"], m["repo"])
        if not os.path.isdir(repo_dir):
            if self.server.emulator_knows(m["region"], m["repo"]):
                os.makedirs(os.path.dirname(repo_dir), exist_ok=True)
                subprocess.run(["git", "init", "--quiet", "--bare", repo_dir], check=True)
            else:
                entry["status"] = 404
                self.server.record(entry)
                return self.send_bytes(404, b"repository not found\n", "text/plain")
        operation = git_operation(m["rest"], query)
        holds = self.server.holds
        hold = holds.take(m["region"], m["repo"], operation, "before")
        try:
            if hold is not None:
                holds.block(hold)
            self.serve_repo(m, query, body, entry, repo_dir, operation)
        finally:
            if hold is not None:
                holds.finish(hold)

    def serve_repo(self, m, query, body, entry, repo_dir, operation):
        """Serves an authenticated request of an existing repository: hooks, faults, the backend."""
        holds = self.server.holds
        if query == "service=git-receive-pack":
            self.run_hooks(m["region"], m["repo"], repo_dir, "advertisement")
        elif m["rest"] == "/git-receive-pack":
            self.run_hooks(m["region"], m["repo"], repo_dir, "push")
        d = self.server.plan.decide(operation)
        if d.reset:
            entry["status"] = "reset"
            self.server.record(entry)
            return faultproxy.reset_connection(self)
        if d.error:
            entry["status"] = {"throttle": 429, "error5xx": 500, "error503": 503}[d.error]
            self.server.record(entry)
            return self.send_bytes(entry["status"], b"fault injected\n", "text/plain")
        held_after = []

        def before_answer():
            after = holds.take(m["region"], m["repo"], operation, "after")
            if after is not None:
                held_after.append(after)
                holds.block(after)

        if operation == "receive-pack" and self.command == "POST":
            # One push of a repository at a time, its ref changes logged from a before/after
            # comparison (the answer, and an "after" hold, come once the lock is let go).
            with self.server.repo_lock(m["region"], m["repo"]):
                before = read_refs(repo_dir)
                status, out = self.cgi(m, query, body, answer=False)
                self.server.record_updates(m["region"], m["repo"], before, read_refs(repo_dir), "push")
            if not d.reset_after:
                before_answer()
                self.send_bytes(*out)
            out = len(out[1])
        else:
            status, out = self.cgi(m, query, body, answer=not d.reset_after,
                                   before_answer=before_answer)
            if d.reset_after:
                out = len(out[1])
        for h in held_after:
            holds.finish(h)
        if d.reset_after:
            entry["status"] = "reset_after"
            self.server.record(entry)
            return faultproxy.reset_connection(self)
        entry["status"] = status
        entry["bytes_out"] = out
        if getattr(self, "backend_stderr", ""):
            entry["stderr"] = self.backend_stderr
        self.server.record(entry)

    def fault_control(self, path):
        raw = self.read_body()
        plan = self.server.plan
        if path == "/_git/release":
            return self.send_json(200, {"released": plan.release()})
        if self.command == "DELETE":
            plan.clear()
        elif self.command == "POST":
            try:
                plan.add(json.loads(raw or b"{}"))
            except ValueError as e:
                return self.send_json(400, {"error": str(e)})
        return self.send_json(200, plan.snapshot())

    def do_DELETE(self):
        self.route()

    def hold_control(self, path):
        holds = self.server.holds
        try:
            spec = json.loads(self.read_body() or b"{}") if self.command == "POST" else {}
            if path == "/_git/hold" and self.command == "GET":
                return self.send_json(200, {"holds": holds.snapshot()})
            if path == "/_git/hold" and self.command == "POST":
                return self.send_json(200, {"id": holds.arm(spec)})
            if path == "/_git/hold/wait" and self.command == "POST":
                return self.send_json(200, holds.wait(int(spec.get("id", 0)), spec.get("state", "held"),
                                                      int(spec.get("timeout_ms", DEFAULT_HOLD_TIMEOUT_MS))))
            if path == "/_git/hold/release" and self.command == "POST":
                hold_id = spec.get("id")
                return self.send_json(200, {"released": holds.release(None if hold_id is None else int(hold_id))})
        except (ValueError, TypeError, AttributeError) as e:
            return self.send_json(400, {"error": str(e)})
        return self.send_json(404, {"error": f"no {self.command} {path}"})

    def run_hooks(self, region, repo, repo_dir, kind):
        with self.server.lock:
            due = []
            for hook in self.server.hooks:
                if hook.get("region") == region and hook.get("repository") == repo and kind in hook:
                    hook["seen"] += 1
                    if hook["seen"] == int(hook[kind]):
                        due.append(hook)
            self.server.hooks = [h for h in self.server.hooks if h not in due]
        for hook in due:
            with self.server.repo_lock(region, repo):
                before = read_refs(repo_dir)
                subprocess.run(["git", "-C", repo_dir, "update-ref", hook["ref"], hook["oid"]], check=True)
                self.server.record_updates(region, repo, before, read_refs(repo_dir), "hook")

    def authenticate(self, m, entry):
        """None when the request is signed right; otherwise answers and returns the status."""
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            self.send_bytes(401, b"authentication required\n", "text/plain",
                            {"WWW-Authenticate": 'Basic realm="codecommit"'})
            return 401
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except Exception:
            self.send_bytes(403, b"malformed credentials\n", "text/plain")
            return 403
        access_key, sep, token = user.partition("%")
        entry["token_in_username"] = bool(sep and token)
        ok = access_key == self.server.access_key and len(password) == 16 + 64 and password[15] == "Z"
        if ok:
            stamp = password[:15]
            try:
                when = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%S").replace(tzinfo=datetime.timezone.utc)
            except ValueError:
                when = None
            now = datetime.datetime.now(datetime.timezone.utc)
            region = m["region"]
            host = self.server.host_template.format(region=region)
            expected = signature(self.server.secret_key, host, m["repo_path"], region, stamp)
            ok = (when is not None and abs(now - when) <= MAX_SKEW
                  and hmac.compare_digest(expected, password[16:]))
        if not ok:
            if self.server.bad_signature_status == 401:
                self.send_bytes(401, b"The request signature we calculated does not match\n", "text/plain",
                                {"WWW-Authenticate": 'Basic realm="codecommit"'})
                return 401
            self.send_bytes(403, b"The request signature we calculated does not match\n", "text/plain")
            return 403
        return None

    def cgi(self, m, query, body, answer=True, before_answer=None):
        """Runs the backend. With `answer`, answers (after `before_answer()`) and returns
        (status, payload length); otherwise returns (status, (status, payload, type, headers))."""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": os.path.join(self.server.root, m["region"]),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": "/%s%s" % (m["repo"], m["rest"] or ""),
            "REQUEST_METHOD": self.command,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": "codehooks",
            "REMOTE_ADDR": self.client_address[0],
            "SERVER_PROTOCOL": "HTTP/1.1",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "HOME": self.server.root,
            "GIT_CONFIG_NOSYSTEM": "1",
        }
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        proc = subprocess.run([self.server.backend], input=body, env=env, capture_output=True)
        self.backend_stderr = proc.stderr.decode("utf-8", "replace")[-500:]
        head, sep, payload = proc.stdout.partition(b"\r\n\r\n")
        if not sep:
            head, sep, payload = proc.stdout.partition(b"\n\n")
        status = 200
        headers = {}
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name:
                headers[name.strip()] = value.strip()
        if proc.returncode != 0 and not sep:
            status, payload = 500, proc.stderr
        content_type = headers.pop("Content-Type", "application/octet-stream")
        headers.pop("Content-Length", None)
        if not answer:
            return status, (status, payload, content_type, headers)
        if before_answer is not None:
            before_answer()
        self.send_bytes(status, payload, content_type, headers)
        return status, len(payload)


def git_operation(rest, query):
    """The fault plan's name of a git request."""
    service = "receive-pack" if "receive-pack" in (rest or "") + query else "upload-pack"
    return service + "-refs" if rest == "/info/refs" else service


def make_server(root, access_key=DEFAULT_ACCESS_KEY, secret_key=DEFAULT_SECRET_KEY,
                host_template=DEFAULT_HOST_TEMPLATE, emulator=None, port=0, tls=None):
    os.makedirs(root, exist_ok=True)
    server = GitServer(("127.0.0.1", port), root, access_key, secret_key, host_template, emulator)
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*tls)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    return server


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", required=True, help="directory holding <region>/<repository> bare repositories")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--access-key", default=DEFAULT_ACCESS_KEY)
    p.add_argument("--secret-key", default=DEFAULT_SECRET_KEY)
    p.add_argument("--host-template", default=DEFAULT_HOST_TEMPLATE,
                   help="the git host signatures are checked for; {region} is filled in")
    p.add_argument("--emulator", help="emulator URL: create repositories its CodeCommit knows")
    p.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    p.add_argument("--tls-key", help="the certificate's private key (PEM)")
    p.add_argument("--verbose", action="store_true")
    a = p.parse_args()
    httpbase.VERBOSE = a.verbose
    tls = (a.tls_cert, a.tls_key) if a.tls_cert else None
    server = make_server(a.root, a.access_key, a.secret_key, a.host_template, a.emulator, a.port, tls)
    scheme = "https" if tls else "http"
    httpbase.run_alone(server, key="git", value=f"{scheme}://{server.hostport}")


if __name__ == "__main__":
    main()
