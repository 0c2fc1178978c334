"""Secrets in server URLs and keys (issue 10, items 13, 14 and 16): a
password in a URL is redacted everywhere it could show (errors, doctor, the
report, the note) yet still sent; a key with a control character stops the
run naming the variable, never the value; one trailing newline is dropped;
a base URL with a query is refused instead of growing '?x=1/models'."""
import base64
import json
import os
import socket
import subprocess
import sys

import gmtest

sys.path.insert(0, os.path.join(gmtest.SOURCE_DIR, "tests", "fakes"))
from fakes import FakeAnthropic, FakeLMStudio  # noqa: E402

PASSWORD = "pw-7c1e-never-shown"
KEY = "sk-ant-test-4b2d-never-shown"
SRC = {"m.py": "def f(a):\n    return a + 1\n"}


def with_userinfo(url, user="alice", password=PASSWORD):
    return url.replace("http://", "http://%s:%s@" % (user, password), 1)


def dead_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class UrlPasswordTest(gmtest.TestCase):
    def setUp(self):
        self.r = self.repo()
        self.r.commit(SRC, "base")

    def files_holding(self, secret):
        """Files under .git (objects uncompressed, the answer cache, config) holding `secret`."""
        found = []
        objects = self.r.git("cat-file", "--batch-all-objects", "--batch-check=%(objectname)").split()
        for oid in objects:
            if secret.encode() in subprocess.run(["git", "cat-file", "-p", oid], cwd=self.r.path,
                                                 capture_output=True).stdout:
                found.append(oid)
        for root, _, names in os.walk(os.path.join(self.r.path, ".git")):
            for n in names:
                with open(os.path.join(root, n), "rb") as f:
                    if secret.encode() in f.read():
                        found.append(os.path.join(root, n))
        return found

    def test_an_unreachable_server_is_named_with_its_password_redacted(self):
        url = "http://alice:%s@127.0.0.1:%d/v1" % (PASSWORD, dead_port())
        p = self.r.run("refactor", "-g", "x", "--local-only", env={"MONITOR_LOCAL_URL": url})
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("alice:<redacted>@127.0.0.1", p.stderr)
        self.assertNotIn(PASSWORD, p.stdout + p.stderr)
        d = self.r.run("doctor", "-v", env={"MONITOR_LOCAL_URL": url}, timeout=120)
        self.assertIn("alice:<redacted>@127.0.0.1", d.stdout + d.stderr)
        self.assertNotIn(PASSWORD, d.stdout + d.stderr)
        dj = self.r.run("doctor", "--json", "-v", env={"MONITOR_LOCAL_URL": url}, timeout=120)
        self.assertNotIn(PASSWORD, dj.stdout + dj.stderr)
        json.loads(dj.stdout)

    def test_a_token_as_user_name_is_redacted_whole(self):
        url = "http://%s@127.0.0.1:%d/v1" % (PASSWORD, dead_port())
        p = self.r.run("refactor", "-g", "x", "--local-only", env={"MONITOR_LOCAL_URL": url})
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("http://<redacted>@127.0.0.1", p.stderr)
        self.assertNotIn(PASSWORD, p.stderr)

    def test_a_run_through_a_url_with_a_password_sends_it_and_records_it_nowhere(self):
        script = [{"match": {"user": "def f("}, "response": {"content": "```python\ndef f(a):\n    return 1 + a\n```"}}]
        with FakeLMStudio(script=script, latency=0.01) as srv:
            url = with_userinfo(srv.url)
            p = self.r.run("refactor", "--json", "-g", "x", "--local-only", env={"MONITOR_LOCAL_URL": url})
            self.assertEqual(p.returncode, 0, p.stderr)
            chats = srv.requests("/v1/chat/completions")
        self.assertTrue(chats)
        auth = chats[0]["headers"].get("authorization", "")
        self.assertEqual(auth, "Basic " + base64.b64encode(("alice:" + PASSWORD).encode()).decode())
        rep = json.loads(p.stdout)
        self.assertEqual(rep["tasks"][0]["status"], "applied")
        self.assertNotIn(PASSWORD, p.stdout + p.stderr)
        note = self.r.git("notes", "--ref=monitor", "show", rep["branch"])
        self.assertNotIn(PASSWORD, note)
        self.assertEqual(self.files_holding(PASSWORD), [])

    def test_a_base_url_with_a_query_is_refused_before_anything_is_sent(self):
        with FakeLMStudio() as srv:
            p = self.r.run("refactor", "-g", "x", "--local-only", env={"MONITOR_LOCAL_URL": srv.url + "?x=1"})
            self.assertEqual(srv.requests(), [])
        self.assertOneLineError(p, 129, "takes no query or fragment ('?x=1')")


class ApiKeyTest(gmtest.TestCase):
    def setUp(self):
        self.r = self.repo()
        self.r.commit({"m.py": "def knotty(a):\n" + "".join(
            "    if a == %d:\n        return %d\n" % (i, i * 2) for i in range(12)) + "    return -1\n"}, "base")

    def test_a_key_with_a_line_break_inside_stops_the_run_naming_the_variable(self):
        with FakeLMStudio(latency=0.01) as ls, FakeAnthropic(api_key=KEY) as an:
            for bad in (KEY[:10] + "\r\nX-Injected: 1\r\n" + KEY[10:], KEY + "\x07"):
                env = {"MONITOR_LOCAL_URL": ls.url, "ANTHROPIC_API_KEY": bad, "ANTHROPIC_BASE_URL": an.url}
                p = self.r.run("refactor", "-g", "x", env=env)
                self.assertOneLineError(p, 129, "ANTHROPIC_API_KEY holds a control character")
                self.assertNotIn(KEY[:10], p.stdout + p.stderr)
                d = self.r.run("doctor", env=env, timeout=120)
                self.assertIn("ANTHROPIC_API_KEY holds a control character", d.stdout + d.stderr)
                self.assertNotIn(KEY[:10], d.stdout + d.stderr)
            self.assertEqual(an.requests("/v1/messages"), [])

    def test_one_trailing_newline_is_dropped_from_the_key(self):
        claude = [{"match": {"path": "/v1/messages"},
                   "response": {"content": json.dumps({"plan": [], "rationale": "fine"})}}]
        with FakeLMStudio(latency=0.01) as ls, FakeAnthropic(script=claude, api_key=KEY) as an:
            env = {"MONITOR_LOCAL_URL": ls.url, "ANTHROPIC_API_KEY": KEY + "\n", "ANTHROPIC_BASE_URL": an.url}
            p = self.r.run("refactor", "--json", "-g", "x", env=env)
            self.assertIn(p.returncode, (0, 1), p.stderr)
            msgs = an.requests("/v1/messages")
        self.assertTrue(msgs, p.stderr)
        self.assertEqual({m["headers"]["x-api-key"] for m in msgs}, {KEY})
        self.assertEqual({m["status"] for m in msgs}, {200})


if __name__ == "__main__":
    gmtest.main()
