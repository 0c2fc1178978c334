"""What can fail cheaply fails before any model call (branch name, identity,
settings, goal), and --verify keeps to its time limit and reports what it
dropped (issue 10, items 4, 8 and 16)."""
import json
import os
import subprocess
import sys
import time

import gmtest

sys.path.insert(0, os.path.join(gmtest.SOURCE_DIR, "tests", "fakes"))
from fakes import FakeLMStudio  # noqa: E402


def chat_requests(srv):
    return [r for r in srv.requests() if r["path"].endswith("/chat/completions")]


def py(code):
    return "```python\n%s\n```" % code


def _zombie(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def rewrite_rule(header, code):
    return {"match": {"user": "The function:\n```python\n" + header}, "response": {"content": py(code)}}


class PreflightTest(gmtest.TestCase):
    SRC = {"m.py": "def f(a):\n    return a\n\n\ndef g(a):\n    return a + 1\n"}

    def setUp(self):
        self.r = self.repo()
        self.r.commit(self.SRC)

    def refuse_before_asking(self, *args, code, fragment, env=None):
        """The run fails with one line, having sent nothing and written nothing."""
        before = self.r.snapshot()
        with FakeLMStudio(latency=0.01) as srv:
            e = {"MONITOR_LOCAL_URL": srv.url}
            e.update(env or {})
            p = self.r.run("refactor", "-q", *args, env=e)
            time.sleep(0.2)
            self.assertEqual(chat_requests(srv), [], "a model was asked before the check")
        self.assertOneLineError(p, code, fragment)
        self.assertUnchanged(before, self.r)
        self.assertEqual(self.r.git("notes", "--ref=monitor", "list"), "")
        return p

    def test_a_branch_where_a_directory_must_go_fails_before_any_model_call(self):
        self.r.git("branch", "monitor")
        self.refuse_before_asking("-g", "tidy", code=129,
                                  fragment="branch 'monitor' exists")
        self.r.git("branch", "-D", "monitor")
        self.r.git("branch", "topic/x")
        self.refuse_before_asking("-g", "tidy", "-b", "topic/x/y", code=129,
                                  fragment="cannot create branch 'topic/x/y': branch 'topic/x' exists")
        self.refuse_before_asking("-g", "tidy", "-b", "a/" + "n" * 300, code=129,
                                  fragment="longer than")
        self.refuse_before_asking("-g", "tidy", "-b", "bad..name", code=129,
                                  fragment="invalid branch name 'bad..name'")
        # Branches beneath the name asked for are no conflict: a suffix is taken.
        self.r.git("branch", "topic/y/z")
        with FakeLMStudio(latency=0.01) as srv:
            p = self.r.run("refactor", "-q", "-g", "tidy", "-b", "topic/y", env={"MONITOR_LOCAL_URL": srv.url})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.splitlines()[0], "topic/y-2")

    def test_no_identity_fails_before_any_model_call(self):
        env = {k: "" for k in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME",
                               "GIT_COMMITTER_EMAIL")}
        env["HOME"] = os.path.join(self.r.tmp, "nowhere")
        env["XDG_CONFIG_HOME"] = os.path.join(self.r.tmp, "nowhere")
        self.refuse_before_asking("-g", "tidy", code=1, fragment="set user.name and user.email", env=env)

    def test_bad_settings_fail_before_any_model_call_as_doctor_says(self):
        self.r.git("config", "monitor.local.concurrency", "-1")
        p = self.refuse_before_asking("-g", "tidy", code=129,
                                      fragment="monitor.local.concurrency = '-1' (from repository git config): "
                                               "not a positive whole number")
        doctor = self.r.run("doctor", env={"MONITOR_LOCAL_URL": "http://127.0.0.1:9/v1"})
        self.assertIn("monitor.local.concurrency = '-1' (from repository git config): not a positive whole number",
                      doctor.stdout + doctor.stderr)
        self.r.git("config", "--unset", "monitor.local.concurrency")
        for key, value, more in (("monitor.route.complexity", "abc", ()), ("monitor.local.timeout", "0", ()),
                                 ("monitor.verify.timeout", "-5", ("--verify", "true")),
                                 ("monitor.claude.concurrency", "x", ())):
            self.r.git("config", key, value)
            self.refuse_before_asking("-g", "tidy", *more, code=129, fragment="%s = '%s'" % (key, value))
            self.r.git("config", "--unset", key)

    def test_a_blank_goal_is_refused(self):
        self.refuse_before_asking("-g", "   ", code=129, fragment="the goal is empty")
        self.r.write("../goal.txt", " \n\t\n")
        self.refuse_before_asking("--goal-file", os.path.join(self.r.tmp, "goal.txt"), code=129,
                                  fragment="the goal is empty")


class VerifyLimitsTest(gmtest.TestCase):
    def test_verify_false_reports_the_edits_it_dropped_not_applied(self):
        r = self.repo()
        r.commit({"m.py": "def f(a):\n    return a\n"})
        with FakeLMStudio(latency=0.01) as srv:
            p = r.run("refactor", "-g", "tidy", "--verify", "false", env={"MONITOR_LOCAL_URL": srv.url})
            pj = r.run("refactor", "--json", "-g", "tidy", "--verify", "false",
                       env={"MONITOR_LOCAL_URL": srv.url})
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("--verify command fails on the base commit already", p.stderr)
        rows = [l for l in p.stdout.splitlines() if "m.py:1 f" in l]
        self.assertEqual(len(rows), 1, p.stdout)
        self.assertTrue(rows[0].startswith("dropped"), rows[0])
        self.assertNotIn("applied", p.stdout + p.stderr)
        self.assertIn("not committed", rows[0])
        rep = json.loads(pj.stdout)
        self.assertEqual([t["status"] for t in rep["tasks"]], ["dropped"])
        self.assertEqual(r.git("for-each-ref", "refs/heads/monitor/"), "")

    def test_verify_times_out_kills_the_command_and_drops_what_hangs(self):
        r = self.repo()
        src = "".join("def f%d(a):\n    return a + %d\n\n\n" % (i, i) for i in range(4))
        # The check hangs (a child of the shell too) when f2 is broken.
        check = ("import mod, os, subprocess, sys\n"
                 "open(os.environ['PIDS'], 'a').write('%d\\n' % os.getpid())\n"
                 "if mod.f2(1) != 3:\n"
                 "    child = subprocess.Popen(['sleep', '300'])\n"
                 "    open(os.environ['PIDS'], 'a').write('%d\\n' % child.pid)\n"
                 "    child.wait()\n")
        r.commit({"mod.py": src, "check.py": check})
        r.git("config", "monitor.verify.timeout", "2")
        pids = os.path.join(r.tmp, "pids")
        rules = [rewrite_rule("def f%d(" % i, "def f%d(a):\n    return %d + a" % (i, i)) for i in (0, 1, 3)]
        rules.append(rewrite_rule("def f2(", "def f2(a):\n    return a * 2"))
        t0 = time.monotonic()
        with FakeLMStudio(script=rules, latency=0.01) as srv:
            p = r.run("refactor", "--json", "-g", "x", "--verify", "python3 check.py", "mod.py",
                      env={"MONITOR_LOCAL_URL": srv.url, "PIDS": pids}, timeout=120)
        elapsed = time.monotonic() - t0
        self.assertEqual(p.returncode, 0, p.stderr)
        rep = json.loads(p.stdout)
        t = {x["name"]: x for x in rep["tasks"]}
        self.assertEqual(t["f2"]["status"], "dropped")
        self.assertIn("--verify command timed out after 2 s", t["f2"]["reason"])
        for name in ("f0", "f1", "f3"):
            self.assertEqual(t[name]["status"], "applied", name)
        self.assertTrue(any("timed out" in w and "monitor.verify.timeout" in w for w in rep["warnings"]),
                        rep["warnings"])
        self.assertLess(elapsed, 60)
        # Nothing it started is left running: the process group was killed.
        time.sleep(0.5)
        with open(pids) as f:
            started = [int(x) for x in f.read().split()]
        self.assertTrue(started)
        alive = [pid for pid in started if os.path.exists("/proc/%d" % pid)
                 and not _zombie(pid)]
        self.assertEqual(alive, [])
        self.assertIn("def f2(a):\n    return a + 2\n", r.git("show", rep["branch"] + ":mod.py"))

    def test_verify_that_hangs_on_the_base_is_a_clear_error(self):
        r = self.repo()
        r.commit({"m.py": "def f(a):\n    return a\n"})
        r.git("config", "monitor.verify.timeout", "1")
        t0 = time.monotonic()
        with FakeLMStudio(latency=0.01) as srv:
            p = r.run("refactor", "-q", "-g", "tidy", "--verify", "sleep 300",
                      env={"MONITOR_LOCAL_URL": srv.url}, timeout=60)
        self.assertLess(time.monotonic() - t0, 30)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("--verify command timed out after 1 s on the base commit", p.stderr)
        self.assertIn("dropped", p.stdout)
        self.assertEqual(r.git("for-each-ref", "refs/heads/monitor/"), "")


if __name__ == "__main__":
    gmtest.main()
