"""Self-test of git_server.py's holds and ref-update log, with the machine's git as the client.

Standard library and git only: the server runs in this process, `git push` runs as a child
process against it with a correctly signed password in the URL.
"""

import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import git_server  # noqa: E402

REGION = "eu-west-2"
REPO = "app"
ZERO = None


def git(cwd, *args, check=True):
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL="/dev/null",
               GIT_AUTHOR_NAME="a", GIT_AUTHOR_EMAIL="a@example.com",
               GIT_COMMITTER_NAME="a", GIT_COMMITTER_EMAIL="a@example.com", GIT_TERMINAL_PROMPT="0")
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=check, env=env)


class GitServerTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="codehooks-gitserver-")
        self.server = git_server.make_server(os.path.join(self.root, "git")).start()
        self.base = f"http://{self.server.hostport}"
        self.bare = os.path.join(self.root, "git", REGION, REPO)
        os.makedirs(os.path.dirname(self.bare))
        git(self.root, "init", "--quiet", "--bare", "-b", "main", self.bare)
        self.work = os.path.join(self.root, "work")
        git(self.root, "init", "--quiet", "-b", "main", self.work)
        self.first = self.commit("one")

    def tearDown(self):
        self.server.holds.clear()
        self.server.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def commit(self, message):
        git(self.work, "commit", "--quiet", "--allow-empty", "-m", message)
        return git(self.work, "rev-parse", "HEAD").stdout.strip()

    def url(self):
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S")
        host = git_server.DEFAULT_HOST_TEMPLATE.format(region=REGION)
        sig = git_server.signature(git_server.DEFAULT_SECRET_KEY, host, f"/v1/repos/{REPO}", REGION, stamp)
        return (f"http://{git_server.DEFAULT_ACCESS_KEY}:{stamp}Z{sig}@{self.server.hostport}"
                f"/{REGION}/v1/repos/{REPO}")

    def push(self, *specs):
        return subprocess.Popen(["git", "push", "--quiet", "--force", self.url(), *specs], cwd=self.work,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL="/dev/null",
                                         GIT_TERMINAL_PROMPT="0"))

    def control(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def arm(self, service, phase="before", timeout_ms=30_000):
        status, answer = self.control("POST", "/_git/hold", {"region": REGION, "repository": REPO,
                                                            "service": service, "phase": phase,
                                                            "timeout_ms": timeout_ms})
        self.assertEqual(status, 200, answer)
        return answer["id"]

    def wait(self, hold_id, state, timeout_ms=20_000):
        status, answer = self.control("POST", "/_git/hold/wait", {"id": hold_id, "state": state,
                                                                 "timeout_ms": timeout_ms})
        self.assertEqual(status, 200, answer)
        return answer

    def updates(self):
        status, answer = self.control("GET", f"/_git/updates?region={REGION}&repository={REPO}")
        self.assertEqual(status, 200, answer)
        return [(u["ref"], u["old"], u["new"], u["by"]) for u in answer]

    def finished(self, proc):
        out, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 0, err)

    def test_a_push_held_before_the_backend_lands_only_once_released(self):
        hold = self.arm("receive-pack")
        proc = self.push("main:main")
        self.assertTrue(self.wait(hold, "held")["reached"])
        self.assertEqual(self.updates(), [])
        self.assertEqual(git_server.read_refs(self.bare), {})
        _, holds = self.control("GET", "/_git/hold")
        self.assertEqual([h["state"] for h in holds["holds"]], ["held"])
        self.assertEqual(self.control("POST", "/_git/hold/release", {"id": hold})[1], {"released": [hold]})
        self.finished(proc)
        self.assertEqual(self.wait(hold, "done")["state"], "done")
        self.assertEqual(self.updates(), [("refs/heads/main", ZERO, self.first, "push")])

    def test_a_hold_is_one_shot_and_other_repositories_or_services_pass(self):
        hold = self.arm("receive-pack-refs")
        # An upload-pack request of the same repository is not held.
        clone = os.path.join(self.root, "clone")
        git(self.root, "clone", "--quiet", "--bare", self.url(), clone)
        self.assertEqual(self.wait(hold, "held", timeout_ms=50)["reached"], False)
        proc = self.push("main:main")
        self.assertTrue(self.wait(hold, "held")["reached"])
        self.control("POST", "/_git/hold/release", {})
        self.finished(proc)
        # The next push is not held.
        second = self.commit("two")
        self.finished(self.push("main:main"))
        self.assertEqual(git_server.read_refs(self.bare), {"refs/heads/main": second})

    def test_a_hold_after_the_backend_has_the_push_landed_and_the_answer_waiting(self):
        hold = self.arm("receive-pack", phase="after")
        proc = self.push("main:main")
        self.assertTrue(self.wait(hold, "held")["reached"])
        self.assertEqual(git_server.read_refs(self.bare), {"refs/heads/main": self.first})
        self.assertIsNone(proc.poll())
        self.control("POST", "/_git/hold/release", {"id": hold})
        self.finished(proc)

    def test_a_forgotten_hold_times_out(self):
        hold = self.arm("receive-pack-refs", timeout_ms=200)
        self.finished(self.push("main:main"))
        self.assertEqual(self.wait(hold, "done")["state"], "done")
        self.assertEqual(git_server.read_refs(self.bare), {"refs/heads/main": self.first})

    def test_the_update_log_keeps_every_change_in_order(self):
        self.finished(self.push("main:main"))
        git(self.work, "tag", "v1")
        git(self.work, "branch", "feature")
        self.finished(self.push("refs/tags/v1:refs/tags/v1", "feature:feature"))
        second = self.commit("two")
        self.finished(self.push("main:main", ":feature"))
        # Another writer through /_git/hook, then a forced rewind by a push.
        self.control("POST", "/_git/hook", {"region": REGION, "repository": REPO, "advertisement": 1,
                                            "ref": "refs/heads/other", "oid": self.first})
        self.finished(self.push(f"{self.first}:refs/heads/main"))
        self.assertEqual(self.updates(), [
            ("refs/heads/main", ZERO, self.first, "push"),
            ("refs/heads/feature", ZERO, self.first, "push"),
            ("refs/tags/v1", ZERO, self.first, "push"),
            ("refs/heads/feature", self.first, ZERO, "push"),
            ("refs/heads/main", self.first, second, "push"),
            ("refs/heads/other", ZERO, self.first, "hook"),
            ("refs/heads/main", second, self.first, "push"),
        ])
        _, raw = self.control("GET", f"/_git/updates?region={REGION}&repository={REPO}")
        seqs = [u["seq"] for u in raw]
        self.assertEqual(seqs, sorted(seqs))
        self.assertEqual(self.control("GET", "/_git/updates?region=x&repository=y")[1], [])
        self.control("POST", "/_git/reset", {})
        self.assertEqual(self.updates(), [])

    def test_bad_hold_requests_are_refused(self):
        for spec in ({"region": REGION, "repository": REPO, "service": "push"},
                     {"region": REGION, "service": "receive-pack"},
                     {"region": REGION, "repository": REPO, "service": "receive-pack", "phase": "during"}):
            status, answer = self.control("POST", "/_git/hold", spec)
            self.assertEqual(status, 400, (spec, answer))
        status, _ = self.control("POST", "/_git/hold/wait", {"id": 999, "state": "held"})
        self.assertEqual(status, 400)
        status, _ = self.control("POST", "/_git/hold/wait", {"id": self.arm("upload-pack"), "state": "gone"})
        self.assertEqual(status, 400)


if __name__ == "__main__":
    unittest.main()
