"""Odd bytes: the JSON we write is valid UTF-8 whatever the repository holds
(names reversibly quoted), a function that is not UTF-8 is not sent to a
model, and control characters never reach the terminal raw (issue 10,
items 12 and 15)."""
import json
import os
import subprocess
import sys

import gmtest

sys.path.insert(0, os.path.join(gmtest.SOURCE_DIR, "tests", "fakes"))
from fakes import FakeLMStudio  # noqa: E402

LATIN1 = b"caf\xe9.py"
GOOD = b"def good(a):\n    return a + 1\n"
BAD = b"def bad(a):\n    return a + '\xe9t\xe9'\n"


def unquote_name(s):
    """The reverse of the documented name form (include/monitor/quote.h)."""
    if not s.startswith('"'):
        return s.encode("utf-8")
    out, i, body = bytearray(), 0, s[1:-1]
    esc = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}
    while i < len(body):
        c = body[i]
        if c != "\\":
            out += c.encode("utf-8")
            i += 1
        elif body[i + 1] in esc:
            out.append(esc[body[i + 1]])
            i += 2
        else:
            out.append(int(body[i + 1:i + 4], 8))
            i += 4
    return bytes(out)


class BytesTest(gmtest.TestCase):
    def setUp(self):
        self.r = self.repo()
        with open(os.path.join(os.fsencode(self.r.path), LATIN1), "wb") as f:
            f.write(GOOD + b"\n\n" + BAD)
        with open(os.path.join(self.r.path, "plain.py"), "wb") as f:
            f.write(GOOD.replace(b"good", b"plain"))
        self.r.git("add", "-A")
        self.r.git("commit", "-qm", "bytes")

    def run_bytes(self, *args, env=None):
        e = dict(self.r.env, **(env or {}))
        return subprocess.run([gmtest.GIT_MONITOR, *args], cwd=self.r.path, env=e, capture_output=True,
                              timeout=120)

    def strict_json(self, raw):
        return json.loads(raw.decode("utf-8", errors="strict"))

    def test_scan_json_is_utf8_and_names_come_back_exactly(self):
        p = self.run_bytes("scan", "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        out = self.strict_json(p.stdout)
        paths = {unquote_name(u["path"]) for u in out["units"]}
        self.assertEqual(paths, {LATIN1, b"plain.py"})
        quoted = [u["path"] for u in out["units"] if u["path"].startswith('"')]
        self.assertIn('"caf\\351.py"', quoted)

    def test_a_function_that_is_not_utf8_is_skipped_and_the_rest_round_trips(self):
        with FakeLMStudio(latency=0.01) as srv:
            p = self.run_bytes("refactor", "--json", "-g", "tidy", env={"MONITOR_LOCAL_URL": srv.url})
            self.assertEqual(p.returncode, 0, p.stderr)
            reqs = [q for q in srv.requests() if q["path"] == "/v1/chat/completions"]
        rep = self.strict_json(p.stdout)
        t = {(unquote_name(x["path"]), x["name"]): x for x in rep["tasks"]}
        self.assertEqual(t[(LATIN1, "bad")]["status"], "skipped")
        self.assertIn("not valid UTF-8 (byte 0xE9 on line 6)", t[(LATIN1, "bad")]["reason"])
        self.assertEqual(t[(LATIN1, "good")]["status"], "applied")
        self.assertEqual(t[(b"plain.py", "plain")]["status"], "applied")
        # Every request the server got was JSON, and the skipped function was not among them.
        self.assertEqual(len(reqs), 2)
        for q in reqs:
            self.assertIsNotNone(q["body"], q.get("body_raw"))
            self.assertNotIn("def bad(", q["body"]["messages"][-1]["content"])
        # The note is valid UTF-8 too, and the file keeps its bytes where nothing was applied.
        branch = rep["branch"]
        note = subprocess.run(["git", "notes", "--ref=monitor", "show", branch], cwd=self.r.path,
                              env=self.r.env, capture_output=True).stdout
        self.assertEqual(self.strict_json(note)["branch"], branch)
        tree = subprocess.run(["git", "ls-tree", "-z", branch], cwd=self.r.path, env=self.r.env,
                              capture_output=True).stdout
        oid = [e.split(b"\t")[0].split()[2] for e in tree.split(b"\0") if e.endswith(b"\t" + LATIN1)][0]
        blob = subprocess.run(["git", "cat-file", "blob", oid.decode()], cwd=self.r.path, env=self.r.env,
                              capture_output=True).stdout
        self.assertTrue(blob.endswith(BAD), blob)
        self.assertIn(b"# refactored", blob)
        # review --json reads the note back: the same names.
        p = self.run_bytes("review", "--json", branch)
        self.assertEqual(p.returncode, 0, p.stderr)
        fns = self.strict_json(p.stdout)["functions"]
        self.assertIn(LATIN1, {unquote_name(f["path"]) for f in fns})


class TerminalTest(gmtest.TestCase):
    EVIL = "evil\x1b[31m.py"

    def setUp(self):
        self.r = self.repo()
        self.r.commit({self.EVIL: "def f(a):\n    return a\n", "caf\u00e9.py": "def g(a):\n    return a\n"})

    def run_bytes(self, *args, env=None):
        e = dict(self.r.env, **(env or {}))
        return subprocess.run([gmtest.GIT_MONITOR, *args], cwd=self.r.path, env=e, capture_output=True,
                              timeout=120)

    def test_control_characters_in_paths_names_and_answers_are_quoted(self):
        p = self.run_bytes("scan")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn(b"\x1b", p.stdout + p.stderr)
        self.assertIn(b'"evil\\033[31m.py":1-2', p.stdout)
        # core.quotePath as git has it: on by default, UTF-8 shown raw when off.
        self.assertIn(b'"caf\\303\\251.py":1-2', p.stdout)
        self.r.git("config", "core.quotePath", "false")
        p = self.run_bytes("scan")
        self.assertIn("café.py:1-2".encode("utf-8"), p.stdout)
        self.assertIn(b'"evil\\033[31m.py":1-2', p.stdout)
        # A model's error text with an escape sequence, as the reason of a failed task.
        rules = [{"match": {"path": "/v1/chat/completions"},
                  "response": {"error": "server_error", "message": "boom \x1b[2J\x1b]0;pwned\x07"}}]
        with FakeLMStudio(script=rules, latency=0.01) as srv:
            p = self.run_bytes("refactor", "-g", "x", env={"MONITOR_LOCAL_URL": srv.url})
        self.assertNotIn(b"\x1b", p.stdout + p.stderr)
        self.assertNotIn(b"\x07", p.stdout + p.stderr)
        self.assertIn(b"boom \\033[2J\\033]0;pwned\\a", p.stdout + p.stderr)
        self.assertIn(b'"evil\\033[31m.py":1 f', p.stdout)

    def test_the_hook_quotes_what_it_reports(self):
        big = "def big(a):\n" + "".join("    if a == %d:\n        return %d\n" % (i, i) for i in range(20)) + "    return -1\n"
        self.r.write("new\x1b[2J.py", big)
        self.r.git("add", "-A")
        p = self.run_bytes("hook", "run", "pre-commit")
        self.assertNotIn(b"\x1b", p.stdout + p.stderr)
        self.assertIn(b'"new\\033[2J.py":1: big: complexity 21', p.stderr)


if __name__ == "__main__":
    gmtest.main()
