"""git monitor refactor, end to end: real repositories, the real binary, and
the fake LM Studio / Anthropic servers on 127.0.0.1."""
import json
import re
import os
import signal
import socket
import subprocess
import sys
import time

import gmtest

sys.path.insert(0, os.path.join(gmtest.SOURCE_DIR, "tests", "fakes"))
from fakes import FakeAnthropic, FakeLMStudio  # noqa: E402

KEY = "sk-ant-test-0123456789-secret"


def rewrite_rule(lang, header, content, **response):
    """Answer the rewrite of the function whose code starts with `header`."""
    response = dict(response)
    if content is not None:
        response["content"] = content
    # The prompt shows the function as in the file: indented, leading comments first.
    return {"match": {"user_regex": r"The function:\n```%s\n(?:[ \t]*(?:#|//)[^\n]*\n)*[ \t]*%s"
                                    % (re.escape(lang), re.escape(header))},
            "response": response}


def py(code):
    return "```python\n%s\n```" % code


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def chat_requests(srv):
    return [r for r in srv.requests() if r["path"].endswith("/chat/completions")]


def user_text(req):
    return req["body"]["messages"][-1]["content"]


class RefactorTest(gmtest.TestCase):
    def refactor(self, repo, *args, env=None, **kw):
        p = repo.run("refactor", *args, env=env, **kw)
        return p

    def report(self, repo, *args, env=None):
        p = repo.run("refactor", "--json", *args, env=env)
        self.assertIn(p.returncode, (0, 1), p.stderr)
        return p, json.loads(p.stdout)

    def monitor_branches(self, repo):
        out = repo.git("for-each-ref", "--format=%(refname:short)", "refs/heads/monitor/")
        return [l for l in out.splitlines() if l]

    def tasks(self, rep, kind="rewrite"):
        return {t["name"]: t for t in rep["tasks"] if t["kind"] == kind}


class ParallelTest(RefactorTest):
    FILES = {
        "app/a.py": "".join("def a%d(x):\n    if x > %d:\n        return x - %d\n    return x\n\n\n" % (i, i, i) for i in range(6)),
        "app/b.py": "class Box:\n    def get(self):\n        return self.v\n\n    def put(self, v):\n        self.v = v\n",
        "web/c.js": "function one(a) {\n  return a + 1;\n}\n\nconst two = (b) => {\n  return b * 2;\n};\n",
        "srv/d.go": "package srv\n\nfunc Three(x int) int {\n\treturn x * 3\n}\n\nfunc (s *S) Four() int {\n\treturn 4\n}\n",
        "lib/e.c": "int five(void)\n{\n\treturn 5;\n}\n\nstatic int six(int x)\n{\n\treturn x + 6;\n}\n",
    }

    def test_every_function_rewritten_in_parallel_within_the_cap(self):
        r = self.repo()
        base = r.commit(self.FILES)
        with FakeLMStudio(concurrency=0, latency=0.4) as srv:
            p = self.refactor(r, "-g", "tidy up", "-j", "4", env={"MONITOR_LOCAL_URL": srv.url})
            self.assertEqual(p.returncode, 0, p.stderr)
            srv.wait_requests(14, path="/v1/chat/completions")
            self.assertEqual(srv.max_inflight(path="/v1/chat/completions"), 4)
            self.assertEqual(len(chat_requests(srv)), 14)
        branch = p.stdout.splitlines()[0]
        self.assertTrue(branch.startswith("monitor/"), p.stdout)
        self.assertRegex(branch, r"^monitor/\d{8}-\d{6}-tidy-up$")
        self.assertEqual(r.git("rev-parse", branch + "^").strip(), base)
        # Exactly the expected content: each function got the stand-in's
        # comment as the first line of its body, and nothing else changed.
        for path, text in self.FILES.items():
            new = r.git("show", "%s:%s" % (branch, path))
            marker = "# refactored" if path.endswith(".py") else "// refactored"
            lines = new.split("\n")
            self.assertEqual("\n".join(l for l in lines if l.strip() != marker), text, path)
            expected = {"app/a.py": 6, "app/b.py": 2, "web/c.js": 2, "srv/d.go": 2, "lib/e.c": 2}[path]
            self.assertEqual(sum(1 for l in lines if l.strip() == marker), expected, path)
        self.assertIn("14 applied", p.stderr)
        self.assertEqual(r.git("rev-parse", "HEAD").strip(), base)
        # Metadata: trailers and the note.
        msg = r.git("log", "-1", "--format=%B", branch)
        self.assertTrue(msg.startswith("refactor: tidy up\n"), msg)
        self.assertIn("app/b.py: Box.get (local:qwen2.5-7b-instruct, 1 attempt)", msg)
        self.assertRegex(msg, r"Monitor-Run: \d{8}-\d{6}-[0-9a-f]{6}")
        self.assertIn("Monitor-Models: local:qwen2.5-7b-instruct", msg)
        self.assertIn("Monitor-Cost: $0.0000", msg)
        note = json.loads(r.git("notes", "--ref=monitor", "show", branch))
        self.assertEqual(note["branch"], branch)
        self.assertEqual(len([t for t in note["tasks"] if t["status"] == "applied"]), 14)

    def test_safety_staged_unstaged_untracked_untouched(self):
        r = self.repo()
        r.commit(self.FILES)
        r.git("branch", "feature")
        r.write("app/a.py", "staged content\n")
        r.git("add", "app/a.py")
        r.write("app/a.py", "unstaged content\n")
        r.write("web/c.js", "// unstaged\n")
        r.write("notes.txt", "untracked\n")
        r.write("build/out.o", b"\x00\x01")
        before = r.snapshot()
        with FakeLMStudio(latency=0.05) as srv:
            p = self.refactor(r, "-g", "tidy", env={"MONITOR_LOCAL_URL": srv.url})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertUnchanged_except_new_branch(before, r)
        # A failed run (no server) changes nothing either.
        p = self.refactor(r, "-g", "tidy", env={"MONITOR_LOCAL_URL": "http://127.0.0.1:%d/v1" % closed_port()})
        lines = p.stderr.splitlines()
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(len(lines), 2, p.stderr)
        self.assertTrue(lines[0].startswith("git-monitor: cannot reach LM Studio at http://127.0.0.1:"))
        # the one command that finds out why
        self.assertIn("hint: run 'git monitor doctor'", lines[1])
        self.assertUnchanged_except_new_branch(before, r)

    def assertUnchanged_except_new_branch(self, before, repo):
        after = repo.snapshot()
        self.assertEqual(before["HEAD"], after["HEAD"])
        self.assertEqual(before["index"], after["index"])
        self.assertEqual(before["worktree"], after["worktree"])
        old = set(before["refs"].splitlines())
        new = set(after["refs"].splitlines())
        self.assertTrue(old <= new, "an existing ref changed: %r" % (old - new))
        for ref in new - old:
            self.assertTrue(ref.startswith("refs/heads/monitor/") or ref.startswith("refs/notes/monitor "), ref)

    def test_interrupt_writes_no_branch_and_exits_130(self):
        r = self.repo()
        r.commit(self.FILES)
        before = r.snapshot()
        slow = [{"match": {"path": "/v1/chat/completions"}, "response": {"delay": 30, "content": "late"}}]
        with FakeLMStudio(script=slow) as srv:
            env = dict(r.env, MONITOR_LOCAL_URL=srv.url)
            proc = subprocess.Popen([gmtest.GIT_MONITOR, "refactor", "-g", "x"], cwd=r.path, env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            # Requests are in flight well before this (the server answers in 30 s).
            time.sleep(1.5)
            self.assertIsNone(proc.poll())
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=20)
        self.assertEqual(proc.returncode, 130, err)
        self.assertIn("interrupted", err)
        self.assertEqual(self.monitor_branches(r), [])
        self.assertUnchanged(before, r)

    def test_cache_second_identical_run_sends_nothing(self):
        r = self.repo()
        r.commit(self.FILES)
        with FakeLMStudio(latency=0.05) as srv:
            env = {"MONITOR_LOCAL_URL": srv.url}
            p1 = self.refactor(r, "-g", "tidy", "-b", "first", env=env)
            self.assertEqual(p1.returncode, 0, p1.stderr)
            n = len(srv.wait_requests(14, path="/v1/chat/completions"))
            p2 = self.refactor(r, "-g", "tidy", "-b", "second", "--json", env=env)
            self.assertEqual(p2.returncode, 0, p2.stderr)
            rep = json.loads(p2.stdout)
            self.assertEqual(rep["totals"]["requests"], 0)
            self.assertTrue(all(t["cached"] for t in rep["tasks"]))
            time.sleep(0.3)
            self.assertEqual(len(chat_requests(srv)), n)
            self.assertEqual(r.git("rev-parse", "first^{tree}"), r.git("rev-parse", "second^{tree}"))
            # --no-cache asks again.
            p3 = self.refactor(r, "-g", "tidy", "-b", "third", "--no-cache", env=env)
            self.assertEqual(p3.returncode, 0, p3.stderr)
            srv.wait_requests(2 * n, path="/v1/chat/completions")

    def test_fifo_in_the_cache_is_a_miss_not_a_hang(self):
        r = self.repo()
        r.commit({"m.py": "def f(a):\n    return a\n\n\ndef g(a):\n    return a\n"})
        cache = os.path.join(r.path, ".git", "monitor", "cache")
        with FakeLMStudio(latency=0.01) as srv:
            env = {"MONITOR_LOCAL_URL": srv.url}
            p = self.refactor(r, "-g", "tidy", "-b", "first", env=env)
            self.assertEqual(p.returncode, 0, p.stderr)
            n = len(srv.wait_requests(2, path="/v1/chat/completions"))
            # Every entry (model answers and scanned units) becomes a FIFO with no writer.
            entries = [os.path.join(d, f) for d, _, fs in os.walk(cache) for f in fs]
            self.assertTrue(any("/model/" in e for e in entries), entries)
            self.assertTrue(any("/scan/" in e for e in entries), entries)
            for e in entries:
                os.unlink(e)
                os.mkfifo(e)
            # Opening one for reading would block forever; the run must finish.
            p = self.refactor(r, "-g", "tidy", "-b", "second", "--json", env=env, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            rep = json.loads(p.stdout)
            self.assertEqual(rep["totals"]["requests"], n)
            self.assertFalse(any(t["cached"] for t in rep["tasks"]))
            self.assertEqual(r.git("rev-parse", "first^{tree}"), r.git("rev-parse", "second^{tree}"))

    def test_branch_names_never_overwrite(self):
        r = self.repo()
        r.commit(self.FILES)
        r.git("branch", "feature")
        feature = r.git("rev-parse", "feature")
        with FakeLMStudio(latency=0.01) as srv:
            env = {"MONITOR_LOCAL_URL": srv.url}
            self.assertEqual(self.refactor(r, "-b", "feature", "-f", "one", env=env).stdout.splitlines()[0], "feature-2")
            self.assertEqual(self.refactor(r, "-b", "feature", "-f", "two", env=env).stdout.splitlines()[0], "feature-3")
        self.assertEqual(r.git("rev-parse", "feature"), feature)

    def test_a_branch_that_cannot_be_written_leaves_no_note(self):
        r = self.repo()
        r.commit({"m.py": "def f(a):\n    return a\n"})
        # Another git holds the ref's lock: the note is written, the branch cannot be.
        lock = os.path.join(r.path, ".git", "refs", "heads", "feature.lock")
        os.makedirs(os.path.dirname(lock), exist_ok=True)
        open(lock, "w").close()
        with FakeLMStudio(latency=0.01) as srv:
            p = self.refactor(r, "-q", "-g", "tidy", "-b", "feature", env={"MONITOR_LOCAL_URL": srv.url})
        self.assertOneLineError(p, 1, "cannot create branch 'feature'")
        self.assertEqual(self.monitor_branches(r) + r.git("branch", "--list", "feature").split(), [])
        self.assertEqual(r.git("notes", "--ref=monitor", "list"), "")

    def test_dry_run_calls_nothing_and_writes_nothing(self):
        r = self.repo()
        r.commit(self.FILES)
        before = r.snapshot()
        p = self.refactor(r, "--dry-run", "-g", "tidy", env={"MONITOR_LOCAL_URL": "http://127.0.0.1:%d/v1" % closed_port()})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("planned", p.stdout)
        self.assertIn("app/a.py:1 a0", p.stdout)
        self.assertIn("dry run: 14 rewrites", p.stderr)
        self.assertUnchanged(before, r)
        p = self.refactor(r, "--dry-run", "--json", env={"MONITOR_LOCAL_URL": "http://127.0.0.1:9/v1"})
        rep = json.loads(p.stdout)
        self.assertTrue(rep["dry_run"])
        self.assertEqual(len(rep["tasks"]), 14)
        self.assertTrue(all(t["estimated_tokens"] > 0 for t in rep["tasks"]))

    def test_function_globs_and_pathspecs_select_targets(self):
        r = self.repo()
        r.commit(self.FILES)
        p = self.refactor(r, "--dry-run", "--json", "-f", "Box.*", "-f", "a1",
                          env={"MONITOR_LOCAL_URL": "http://127.0.0.1:9/v1"})
        self.assertEqual(sorted(t["name"] for t in json.loads(p.stdout)["tasks"]), ["Box.get", "Box.put", "a1"])
        p = self.refactor(r, "--dry-run", "--json", "srv/", "lib/", env={"MONITOR_LOCAL_URL": "http://127.0.0.1:9/v1"})
        self.assertEqual(sorted(t["name"] for t in json.loads(p.stdout)["tasks"]),
                         ["(*S).Four", "Three", "five", "six"])


class AnswersTest(RefactorTest):
    SRC = '''def f_syntax(a):
    return a + 1


def f_other(a):
    return a + 2


def f_two(a):
    return a + 3


def f_placeholder(a):
    x = a * 2
    y = x + 1
    return y


def f_truncated(a):
    return a + 5


def f_think(a):
    return a + 6


def f_prose(a):
    return a + 7


def f_empty(a):
    return a + 8


def f_unchanged(a):
    return a + 9


class K:
    def m_indent(self, a):
        if a:
            return 1
        return 2


def f_good(a):
    return a + 10
'''

    def test_each_bad_answer_is_rejected_with_its_reason_and_the_rest_lands(self):
        r = self.repo()
        r.commit({"m.py": self.SRC})
        rules = [
            rewrite_rule("python", "def f_syntax(", py("def f_syntax(a):\n    return (a + 1")),
            rewrite_rule("python", "def f_other(", py("def g_other(a):\n    return a + 2 + 0")),
            rewrite_rule("python", "def f_two(", py("def f_two(a):\n    return a + 3 + 0\n\n\ndef f_extra():\n    pass")),
            rewrite_rule("python", "def f_placeholder(", py("def f_placeholder(a):\n    # ... rest of the code\n    return y")),
            rewrite_rule("python", "def f_truncated(", py("def f_truncated(a):\n    return a + 5 + 0"), finish_reason="length"),
            rewrite_rule("python", "def f_think(", "<think>I should add zero.</think>\n" + py("def f_think(a):\n    return a + 6 + 0")),
            rewrite_rule("python", "def f_prose(", "Here is the cleaner version:\n\n" + py("def f_prose(a):\n    return 7 + a") + "\n\nThis keeps behaviour."),
            rewrite_rule("python", "def f_empty(", ""),
            rewrite_rule("python", "def f_unchanged(", py("def f_unchanged(a):\n    return a + 9")),
            rewrite_rule("python", "def m_indent(", py("def m_indent(self, a):\n    return 1 if a else 2")),
            rewrite_rule("python", "def f_good(", py("def f_good(a):\n    return 10 + a")),
        ]
        with FakeLMStudio(script=rules, latency=0.01) as srv:
            p, rep = self.report(r, "-g", "tidy", env={"MONITOR_LOCAL_URL": srv.url})
        self.assertEqual(p.returncode, 0, p.stderr)
        t = self.tasks(rep)
        self.assertIn("does not parse", t["f_syntax"]["reason"])
        self.assertIn("another function 'g_other'", t["f_other"]["reason"])
        self.assertIn("helper 'f_extra' is never called", t["f_two"]["reason"])
        self.assertIn("placeholder", t["f_placeholder"]["reason"])
        self.assertIn("cut off", t["f_truncated"]["reason"])
        self.assertIn("empty", t["f_empty"]["reason"])
        for name in ("f_syntax", "f_other", "f_two", "f_placeholder", "f_truncated", "f_empty"):
            self.assertEqual(t[name]["status"], "rejected", name)
            self.assertEqual(t[name]["attempts"], 3, name)  # first answer + two retries
        self.assertEqual(t["f_unchanged"]["status"], "unchanged")
        for name in ("f_think", "f_prose", "K.m_indent", "f_good"):
            self.assertEqual(t[name]["status"], "applied", name)
        new = r.git("show", rep["branch"] + ":m.py")
        self.assertIn("def f_think(a):\n    return a + 6 + 0\n", new)
        self.assertIn("def f_prose(a):\n    return 7 + a\n", new)
        self.assertIn("class K:\n    def m_indent(self, a):\n        return 1 if a else 2\n", new)
        self.assertNotIn("I should add zero", new)
        self.assertNotIn("Here is", new)
        self.assertIn("def f_syntax(a):\n    return a + 1\n", new)  # rejected: untouched
        compile(new, "m.py", "exec")
        # The retry carried the reason back to the model.
        retries = [user_text(q) for q in chat_requests(srv) if "def f_syntax(" in user_text(q)]
        self.assertEqual(len(retries), 3)
        self.assertNotIn("rejected", retries[0])
        self.assertIn("does not parse", retries[1])

    def test_no_edit_survived_exits_1(self):
        r = self.repo()
        r.commit({"m.py": "def f(a):\n    return a\n"})
        before = r.snapshot()
        rules = [rewrite_rule("python", "def f(", py("def f(a):\n    return (a"))]
        with FakeLMStudio(script=rules, latency=0.01) as srv:
            p = self.refactor(r, "-g", "x", env={"MONITOR_LOCAL_URL": srv.url})
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("git-monitor: no edit survived: m.py f: answer does not parse", p.stderr)
        self.assertUnchanged(before, r)

    def test_context_too_large_is_not_sent(self):
        r = self.repo()
        big = "def big(a):\n" + "".join("    a = a + %d\n" % i for i in range(400)) + "    return a\n"
        r.commit({"m.py": big + "\n\ndef small(a):\n    return a\n"})
        models = {"rules": [], "models": [{"id": "tiny", "type": "llm", "loaded": True, "context_length": 1024,
                                           "max_context_length": 1024}]}
        with FakeLMStudio(script=models, latency=0.01) as srv:
            p, rep = self.report(r, "-g", "x", env={"MONITOR_LOCAL_URL": srv.url})
            time.sleep(0.2)
            sent = [user_text(q) for q in chat_requests(srv)]
        self.assertEqual(p.returncode, 0, p.stderr)
        t = self.tasks(rep)
        self.assertEqual(t["big"]["status"], "skipped")
        self.assertIn("too large for the local model's context", t["big"]["reason"])
        self.assertEqual(t["small"]["status"], "applied")
        self.assertFalse(any("def big(" in s for s in sent))


class ClaudeTest(RefactorTest):
    COMPLEX = "def knotty(a):\n" + "".join("    if a == %d:\n        return %d\n" % (i, i * 2) for i in range(12)) + "    return -1\n"

    def test_retry_with_feedback_then_escalation_to_claude(self):
        r = self.repo()
        r.commit({"m.py": "def f(a):\n    return a + 1\n"})
        local = [rewrite_rule("python", "def f(", py("def f(a):\n    return (a + 1"))]
        claude = [{"match": {"path": "/v1/messages"}, "response": {"content": py("def f(a):\n    return 1 + a")}}]
        with FakeLMStudio(script=local, latency=0.01) as ls, FakeAnthropic(script=claude, api_key=KEY) as an:
            env = {"MONITOR_LOCAL_URL": ls.url, "ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": an.url}
            p, rep = self.report(r, "-g", "x", env=env)
            self.assertEqual(p.returncode, 0, p.stderr)
            msgs = an.wait_requests(1, path="/v1/messages")
            self.assertEqual(len(chat_requests(ls)), 3)
        t = self.tasks(rep)["f"]
        self.assertEqual(t["status"], "applied")
        self.assertEqual(t["route"], "claude")
        self.assertEqual(t["attempts"], 4)
        self.assertIn("escalated after 3 rejected local answers", t["route_reason"])
        self.assertEqual(len(msgs), 1)
        self.assertEqual(msgs[0]["headers"]["x-api-key"], KEY)
        self.assertIn("return 1 + a", r.git("show", rep["branch"] + ":m.py"))
        self.assertNotIn(KEY, p.stdout + p.stderr)

    def test_local_only_sends_nothing_to_claude(self):
        r = self.repo()
        r.commit({"m.py": self.COMPLEX})
        with FakeLMStudio(latency=0.01) as ls, FakeAnthropic(api_key=KEY) as an:
            env = {"MONITOR_LOCAL_URL": ls.url, "ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": an.url}
            p, rep = self.report(r, "-g", "x", "--local-only", env=env)
            self.assertEqual(p.returncode, 0, p.stderr)
            time.sleep(0.3)
            self.assertEqual(an.requests(), [])
            schema_reqs = [q for q in chat_requests(ls) if "response_format" in q["body"]]
            self.assertEqual(len(schema_reqs), 1)  # the analysis went to the local model
        a = self.tasks(rep, "analysis")["knotty"]
        self.assertEqual(a["route"], "local")
        self.assertIn("--local-only", a["route_reason"])
        self.assertTrue(rep["analysis_local"])
        self.assertEqual(self.tasks(rep)["knotty"]["status"], "applied")

    def test_max_cost_stops_claude_spending(self):
        r = self.repo()
        r.commit({"m.py": self.COMPLEX})
        with FakeLMStudio(latency=0.01) as ls, FakeAnthropic(api_key=KEY) as an:
            env = {"MONITOR_LOCAL_URL": ls.url, "ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": an.url}
            p, rep = self.report(r, "-g", "x", "--max-cost", "0", env=env)
            self.assertEqual(p.returncode, 0, p.stderr)
            time.sleep(0.3)
            self.assertEqual(an.requests(), [])
        self.assertIn("--max-cost", self.tasks(rep, "analysis")["knotty"]["route_reason"])

    def test_cross_file_plan_changes_a_signature_and_its_call_sites(self):
        r = self.repo()
        r.commit({"geo.py": "def area(w, h):\n    return w * h\n",
                  "use.py": "from geo import area\n\n\ndef report(r):\n    return \"area: %d\" % area(r.w, r.h)\n"})
        plan = {"units": [{"path": "geo.py", "name": "area", "action": "rewrite",
                           "instructions": "take one rect argument", "new_signature": "def area(rect):"},
                          {"path": "use.py", "name": "report", "action": "rewrite",
                           "instructions": "pass the rect itself"}],
                "call_sites": [{"path": "use.py", "name": "report", "instructions": "call area(r)"}],
                "rationale": "a rect is one thing"}
        claude = [{"match": {"path": "/v1/messages"}, "response": {"tool_input": plan, "json": plan}}]
        local = [rewrite_rule("python", "def area(", py("def area(rect):\n    return rect.w * rect.h")),
                 rewrite_rule("python", "def report(", py("def report(r):\n    return \"area: %d\" % area(r)"))]
        with FakeLMStudio(script=local, latency=0.01) as ls, FakeAnthropic(script=claude, api_key=KEY) as an:
            env = {"MONITOR_LOCAL_URL": ls.url, "ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": an.url}
            p, rep = self.report(r, "-g", "pass rects", "--plan", env=env)
            self.assertEqual(p.returncode, 0, p.stderr)
            an.wait_requests(1, path="/v1/messages")
            sent = {q["body"]["messages"][-1]["content"] for q in chat_requests(ls)}
        t = self.tasks(rep)
        self.assertEqual(t["area"]["status"], "applied")
        self.assertEqual(t["report"]["status"], "applied")
        self.assertEqual(t["area"]["rationale"], "a rect is one thing")
        self.assertTrue(any("call area(r)" in s and "def report(" in s for s in sent))
        self.assertTrue(any("take one rect argument" in s and "def area(" in s for s in sent))
        geo = r.git("show", rep["branch"] + ":geo.py")
        use = r.git("show", rep["branch"] + ":use.py")
        self.assertIn("def area(rect):", geo)
        self.assertIn("% area(r)", use)
        compile(geo, "geo.py", "exec")
        compile(use, "use.py", "exec")
        self.assertEqual(self.tasks(rep, "analysis")["area (+1)"]["route"], "claude")


class VerifyTest(RefactorTest):
    def test_verify_bisects_and_drops_the_breaking_edit(self):
        r = self.repo()
        src = "".join("def f%d(a):\n    return a + %d\n\n\n" % (i, i) for i in range(6))
        check = "import mod\nassert [getattr(mod, 'f%d' % i)(1) for i in range(6)] == [1 + i for i in range(6)]\n"
        r.commit({"mod.py": src, "check.py": check})
        rules = [rewrite_rule("python", "def f%d(" % i, py("def f%d(a):\n    return %d + a" % (i, i))) for i in range(6)
                 if i != 4]
        rules.append(rewrite_rule("python", "def f4(", py("def f4(a):\n    return a * 4")))
        with FakeLMStudio(script=rules, latency=0.01) as srv:
            p, rep = self.report(r, "-g", "x", "--verify", "python3 check.py", "mod.py", env={"MONITOR_LOCAL_URL": srv.url})
        self.assertEqual(p.returncode, 0, p.stderr)
        t = self.tasks(rep)
        self.assertEqual(t["f4"]["status"], "dropped")
        self.assertIn("--verify", t["f4"]["reason"])
        for i in (0, 1, 2, 3, 5):
            self.assertEqual(t["f%d" % i]["status"], "applied")
        new = r.git("show", rep["branch"] + ":mod.py")
        self.assertIn("def f4(a):\n    return a + 4\n", new)
        self.assertIn("def f5(a):\n    return 5 + a\n", new)
        # The result passes the command.
        ns = {}
        exec(compile(new, "mod.py", "exec"), ns)
        self.assertEqual([ns["f%d" % i](1) for i in range(6)], [1 + i for i in range(6)])


class StagedTest(RefactorTest):
    def test_staged_refactors_only_what_is_staged_on_a_snapshot(self):
        r = self.repo()
        head = r.commit({"m.py": "def a(x):\n    return x\n\n\ndef b(x):\n    return x\n"})
        r.write("m.py", "def a(x):\n    return x\n\n\ndef b(x):\n    y = x\n    return y\n")
        r.git("add", "m.py")
        r.write("m.py", "unstaged\n")
        before = r.snapshot()
        with FakeLMStudio(latency=0.01) as srv:
            p, rep = self.report(r, "--staged", "-g", "x", env={"MONITOR_LOCAL_URL": srv.url})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual([t["name"] for t in rep["tasks"]], ["b"])
        branch = rep["branch"]
        snapshot = r.git("rev-parse", branch + "^").strip()
        self.assertEqual(r.git("rev-parse", snapshot + "^").strip(), head)
        self.assertEqual(r.git("show", snapshot + ":m.py"), "def a(x):\n    return x\n\n\ndef b(x):\n    y = x\n    return y\n")
        self.assertIn("def b(x):\n    # refactored\n    y = x\n", r.git("show", branch + ":m.py"))
        self.assertUnchanged_after(before, r)

    def assertUnchanged_after(self, before, repo):
        after = repo.snapshot()
        for k in ("HEAD", "index", "worktree"):
            self.assertEqual(before[k], after[k], k)


class ErrorsTest(RefactorTest):
    def test_usage_and_repository_errors(self):
        r = self.repo()
        self.assertUsageError(r.run("refactor", "--bogus"), "unknown option '--bogus'", "refactor")
        self.assertUsageError(r.run("refactor", "--max-cost", "lots"), "--max-cost", "refactor")
        self.assertOneLineError(r.run("refactor", "--since", "HEAD", "--staged"), 129)
        self.assertOneLineError(r.run("refactor", "--dry-run"), 128, "no commits yet")
        r.commit({"m.py": "def f():\n    pass\n"})
        self.assertOneLineError(r.run("refactor", "--dry-run", "--base", "nope"), 128, "bad revision 'nope'")
        p = r.run("refactor", "-h")
        self.assertEqual(p.returncode, 129)
        self.assertIn("--local-only", p.stdout)


if __name__ == "__main__":
    gmtest.main()
