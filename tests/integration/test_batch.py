"""Claude's analyses as Message Batches (issue 14): `refactor --batch` and
monitor.claude.batch = auto send them as one batch at half the price; Ctrl-C
cancels it; a run that died while its batch was out is picked up by
`refactor --resume RUN` without sending a second batch."""
import json
import os
import signal
import subprocess
import sys
import time

import gmtest

sys.path.insert(0, os.path.join(gmtest.SOURCE_DIR, "tests", "fakes"))
from fakes import FakeAnthropic, FakeLMStudio  # noqa: E402

KEY = "sk-ant-test-batch-0123456789"
BATCHES = "/v1/messages/batches"
# Every analysis "reads" 20,000 tokens: costs that are easy to compare.
CLAUDE = [{"match": {"path": "/v1/messages"}, "response": {"usage": {"input_tokens": 20000}}}]


def knotty(name):
    return "def %s(a):\n" % name + "".join("    if a == %d:\n        return %d\n" % (i, i * 2)
                                           for i in range(12)) + "    return -1\n"


FILES = {"k%d.py" % i: knotty("knotty%d" % i) for i in range(4)}


def analyses(rep):
    return [t for t in rep["tasks"] if t["kind"] == "analysis"]


def posted_batches(an):
    return [q for q in an.requests() if q["path"] == BATCHES and q["method"] == "POST"]


class BatchTest(gmtest.TestCase):
    def setUp(self):
        self.r = self.repo()
        self.r.commit(FILES, "base")

    def env(self, ls, an):
        return {"MONITOR_LOCAL_URL": ls.url, "ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": an.url}

    def refactor(self, env, *args):
        p = self.r.run("refactor", "--json", "-g", "x", "--no-cache", *args, env=env, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout)

    def records(self):
        out = []
        for d in ("runs", "batches"):
            path = os.path.join(self.r.path, ".git", "monitor", d)
            out += [os.path.join(d, n) for n in (os.listdir(path) if os.path.isdir(path) else [])]
        return out

    def test_a_batched_run_costs_half_the_interactive_one(self):
        with FakeLMStudio(latency=0.01) as ls, FakeAnthropic(script=CLAUDE, api_key=KEY, batch_delay=0.3) as an:
            inter = self.refactor(self.env(ls, an))
            self.assertEqual(posted_batches(an), [])
            n_messages = len(an.requests(path="/v1/messages"))
            batched = self.refactor(self.env(ls, an), "--batch")
            self.assertEqual(len(an.requests(path="/v1/messages")), n_messages)  # none interactive
            posts = posted_batches(an)
        self.assertEqual(n_messages, 4)
        self.assertEqual(len(posts), 1)
        self.assertEqual(batched["batch"]["requests"], 4)
        self.assertFalse(batched["batch"]["resumed"])
        self.assertTrue(batched["batch"]["id"].startswith("msgbatch_"))
        for rep in (inter, batched):
            self.assertEqual(sorted(t["status"] for t in analyses(rep)), ["applied"] * 4, analyses(rep))
            self.assertTrue(all(t["route"] == "claude" for t in analyses(rep)))
        c_inter, c_batch = inter["totals"]["cost_usd"], batched["totals"]["cost_usd"]
        self.assertGreater(c_inter, 0)
        self.assertAlmostEqual(c_batch, c_inter / 2, places=6)
        note = json.loads(self.r.git("notes", "--ref=monitor", "show", batched["branch"]))
        self.assertEqual(note["batch"], batched["batch"])
        self.assertEqual(self.records(), [])
        # The dry run prices the batch the same way.
        p = self.r.run("refactor", "--json", "--dry-run", "--batch", "-g", "x",
                       env={"ANTHROPIC_API_KEY": KEY, "MONITOR_LOCAL_URL": "http://127.0.0.1:9/v1"})
        est_batch = json.loads(p.stdout)["totals"]["cost_usd"]
        p = self.r.run("refactor", "--json", "--dry-run", "-g", "x",
                       env={"ANTHROPIC_API_KEY": KEY, "MONITOR_LOCAL_URL": "http://127.0.0.1:9/v1"})
        self.assertAlmostEqual(est_batch, json.loads(p.stdout)["totals"]["cost_usd"] / 2, places=6)

    def test_the_analyses_share_one_cached_prefix(self):
        # The fake caches prefixes of 50 tokens and more (Claude: 1024 and more).
        with FakeLMStudio(latency=0.01) as ls, \
                FakeAnthropic(api_key=KEY, cache_min_tokens=50, concurrency=1) as an:
            rep = self.refactor(self.env(ls, an))
            msgs = an.requests(path="/v1/messages")
        self.assertEqual(len(msgs), 4)
        totals = rep["totals"]
        self.assertGreater(totals["cache_write_tokens"], 0)
        # Written once by the first request, read by the three after it.
        self.assertEqual(totals["cache_read_tokens"], 3 * totals["cache_write_tokens"])

    def test_auto_batches_only_above_the_threshold(self):
        with FakeLMStudio(latency=0.01) as ls, FakeAnthropic(script=CLAUDE, api_key=KEY, batch_delay=0.2) as an:
            self.r.git("config", "monitor.claude.batch", "auto")
            self.r.git("config", "monitor.claude.batchAbove", "10")
            rep = self.refactor(self.env(ls, an))
            self.assertNotIn("batch", rep)
            self.assertEqual(posted_batches(an), [])
            self.r.git("config", "monitor.claude.batchAbove", "3")
            rep = self.refactor(self.env(ls, an))
            self.assertEqual(rep["batch"]["requests"], 4)
            self.assertEqual(len(posted_batches(an)), 1)

    def start(self, env, *args):
        e = dict(self.r.env, **env)
        return subprocess.Popen([gmtest.GIT_MONITOR, "refactor", "-g", "x", "--no-cache", *args],
                                cwd=self.r.path, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)

    def wait_for_batch(self, an, proc):
        deadline = time.time() + 30
        while not posted_batches(an):
            self.assertIsNone(proc.poll(), "the run ended before sending its batch")
            self.assertLess(time.time(), deadline, "no batch was sent")
            time.sleep(0.05)
        time.sleep(0.3)  # it is polling now

    def test_ctrl_c_cancels_the_batch_and_writes_nothing(self):
        before = self.r.snapshot()
        with FakeLMStudio(latency=0.01) as ls, FakeAnthropic(script=CLAUDE, api_key=KEY, batch_delay=60) as an:
            proc = self.start(self.env(ls, an), "--batch")
            self.wait_for_batch(an, proc)
            t0 = time.time()
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=20)
            self.assertLess(time.time() - t0, 5)
            # The fake logs a request once it has answered it: give the log a moment.
            deadline = time.time() + 5
            while True:
                cancels = [q for q in an.requests() if q["path"].endswith("/cancel")]
                if cancels or time.time() > deadline:
                    break
                time.sleep(0.05)
        self.assertEqual(proc.returncode, 130, err)
        self.assertEqual(len(cancels), 1)
        self.assertRegex(err, r"interrupted; no branch was written; Message Batch msgbatch_\w+ was cancelled")
        self.assertUnchanged(before, self.r)
        self.assertEqual(self.r.git("for-each-ref", "refs/heads/monitor/").strip(), "")
        self.assertEqual(self.records(), [])

    def test_a_run_that_died_is_resumed_with_its_batch(self):
        with FakeLMStudio(latency=0.01) as ls, FakeAnthropic(script=CLAUDE, api_key=KEY, batch_delay=3) as an:
            proc = self.start(self.env(ls, an), "--batch")
            self.wait_for_batch(an, proc)
            proc.kill()
            proc.communicate(timeout=10)
            runs = [n[len("runs/"):-len(".json")] for n in self.records() if n.startswith("runs/")]
            self.assertEqual(len(runs), 1, self.records())
            self.assertEqual(len([n for n in self.records() if n.startswith("batches/")]), 1)
            p = self.r.run("refactor", "--json", "--resume", runs[0], env=self.env(ls, an), timeout=120)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(len(posted_batches(an)), 1)  # picked up, not sent again
        rep = json.loads(p.stdout)
        self.assertEqual(rep["run"], runs[0])
        self.assertTrue(rep["batch"]["resumed"])
        self.assertEqual(sorted(t["status"] for t in analyses(rep)), ["applied"] * 4)
        self.assertTrue(rep["branch"])
        self.assertEqual(self.records(), [])
        # Nothing left to resume: said in one line.
        p = self.r.run("refactor", "--resume", runs[0], env=self.env(ls, an))
        self.assertOneLineError(p, 1, "no batched run '%s' to resume" % runs[0])
        p = self.r.run("refactor", "--resume", runs[0], "-g", "other")
        self.assertOneLineError(p, 129, "--resume runs the run again as it was recorded")


if __name__ == "__main__":
    gmtest.main()
