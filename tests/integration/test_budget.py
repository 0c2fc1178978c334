"""--max-cost can never be passed: every Claude request is checked against
what was spent plus the worst case of the requests in flight; what does not
fit goes to the local model or is not sent, and --dry-run says so.  A local
analysis that cannot fit the context is not sent either (issue 10, items 5
and 16)."""
import json
import os
import sys
import time

import gmtest

sys.path.insert(0, os.path.join(gmtest.SOURCE_DIR, "tests", "fakes"))
from fakes import FakeAnthropic, FakeLMStudio  # noqa: E402

KEY = "sk-ant-test-budget-0123456789"


def knotty(name):
    """A function over the complexity threshold: its cluster is analysed first."""
    return "def %s(a):\n" % name + "".join("    if a == %d:\n        return %d\n" % (i, i * 2)
                                           for i in range(12)) + "    return -1\n"


def complex_repo(testcase, n):
    r = testcase.repo()
    r.commit({"k%02d.py" % i: knotty("knotty%d" % i) for i in range(n)})
    return r


def chat(srv):
    return [q for q in srv.requests() if q["path"].endswith("/chat/completions")]


def analyses(rep):
    return [t for t in rep["tasks"] if t["kind"] == "analysis"]


class BudgetTest(gmtest.TestCase):
    def env(self, ls, an):
        return {"MONITOR_LOCAL_URL": ls.url, "ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": an.url}

    def test_a_budget_smaller_than_any_worst_case_sends_nothing_to_claude(self):
        r = complex_repo(self, 12)
        with FakeLMStudio(latency=0.01) as ls, FakeAnthropic(api_key=KEY) as an:
            p = r.run("refactor", "--json", "-g", "x", "--max-cost", "0.001", env=self.env(ls, an))
            self.assertEqual(p.returncode, 0, p.stderr)
            time.sleep(0.3)
            self.assertEqual(an.requests(path="/v1/messages"), [])
            local_plans = [q for q in chat(ls) if "response_format" in q["body"]]
        rep = json.loads(p.stdout)
        self.assertLessEqual(rep["totals"]["cost_usd"], 0.001)
        self.assertEqual(len(analyses(rep)), 12)
        for a in analyses(rep):
            self.assertEqual(a["route"], "local", a)
            self.assertIn("--max-cost $0.0010 would not cover Claude's worst case", a["route_reason"])
        self.assertEqual(len(local_plans), 12)
        self.assertTrue(rep["analysis_local"])
        self.assertTrue(any("--max-cost" in w for w in rep["warnings"]), rep["warnings"])

    def test_dry_run_says_which_tasks_the_budget_moves(self):
        r = complex_repo(self, 12)
        env = {"MONITOR_LOCAL_URL": "http://127.0.0.1:9/v1", "ANTHROPIC_API_KEY": KEY,
               "ANTHROPIC_BASE_URL": "http://127.0.0.1:9"}
        p = r.run("refactor", "--dry-run", "-g", "x", "--max-cost", "0.001", env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("warning: --max-cost $0.0010: 12 analyses would go to the local model", p.stderr)
        self.assertIn("Claude about $0.0000", p.stderr)
        rows = [l for l in p.stdout.splitlines() if " analysis " in l]
        self.assertEqual(len(rows), 12, p.stdout)
        for row in rows:
            self.assertIn(" local ", row)
            self.assertIn("--max-cost $0.0010 would not cover Claude's worst case", row)
        # Without a budget they would all go to Claude, at a cost.
        p = r.run("refactor", "--dry-run", "--json", "-g", "x", env=env)
        rep = json.loads(p.stdout)
        self.assertEqual({a["route"] for a in analyses(rep)}, {"claude"})
        self.assertGreater(rep["totals"]["cost_usd"], 0.001)
        # A budget over one worst case (about $0.09) by a few estimates (about
        # $0.004 each): the first ones stay on Claude, the rest move.
        p = r.run("refactor", "--dry-run", "--json", "-g", "x", "--max-cost", "0.10", env=env)
        rep = json.loads(p.stdout)
        routes = [a["route"] for a in analyses(rep)]
        self.assertIn("claude", routes)
        self.assertIn("local", routes)
        self.assertEqual(routes, sorted(routes))  # claude... then local...

    def test_a_budget_that_binds_mid_run_is_never_passed(self):
        r = complex_repo(self, 6)
        # Every plan costs about $0.04 (20000 input tokens at $2/M); the worst
        # case of one (8192 tokens out at $10/M) is more than twice that.
        claude = [{"match": {"path": "/v1/messages"}, "response": {"usage": {"input_tokens": 20000}}}]
        budget = 0.20
        with FakeLMStudio(latency=0.01) as ls, FakeAnthropic(script=claude, api_key=KEY, latency=0.4) as an:
            p = r.run("refactor", "--json", "-g", "x", "--max-cost", str(budget), env=self.env(ls, an))
            self.assertEqual(p.returncode, 0, p.stderr)
            time.sleep(0.3)
            sent = an.requests(path="/v1/messages")
            most_at_once = an.max_inflight(path="/v1/messages")
        rep = json.loads(p.stdout)
        spent = rep["totals"]["cost_usd"]
        self.assertLessEqual(spent, budget)
        on_claude = [a for a in analyses(rep) if a["route"] == "claude"]
        moved = [a for a in analyses(rep) if a["route"] == "local"]
        self.assertGreaterEqual(len(sent), 2)
        self.assertLess(len(sent), 6)
        self.assertEqual(len(on_claude), len(sent))
        self.assertEqual(len(on_claude) + len(moved), 6)
        for a in moved:
            self.assertIn("--max-cost $0.2000 would not cover Claude's worst case", a["route_reason"])
        # At most two worst cases fit in the budget at once: never more in flight.
        self.assertLessEqual(most_at_once, 2)
        self.assertAlmostEqual(sum(a["cost_usd"] for a in on_claude), spent, places=9)
        self.assertTrue(all(t["status"] == "applied" for t in rep["tasks"]), rep["tasks"])

    def test_an_escalation_the_budget_cannot_cover_is_not_sent(self):
        r = self.repo()
        r.commit({"m.py": "def f(a):\n    return a + 1\n"})
        local = [{"match": {"user": "def f("}, "response": {"content": "```python\ndef f(a):\n    return (a + 1\n```"}}]
        with FakeLMStudio(script=local, latency=0.01) as ls, FakeAnthropic(api_key=KEY) as an:
            p = r.run("refactor", "--json", "-g", "x", "--max-cost", "0.01", env=self.env(ls, an))
            self.assertEqual(p.returncode, 1, p.stderr)
            time.sleep(0.3)
            self.assertEqual(an.requests(path="/v1/messages"), [])
            self.assertEqual(len(chat(ls)), 3)
        t = json.loads(p.stdout)["tasks"][0]
        self.assertEqual(t["status"], "rejected")
        self.assertIn("does not parse", t["reason"])
        self.assertEqual(t["route"], "local")
        self.assertIn("not escalated: --max-cost $0.0100 would not cover Claude's worst case", t["route_reason"])


class LocalAnalysisContextTest(gmtest.TestCase):
    FILES = {
        "geo.py": "def area(w, h):\n" + "".join("    w = w + %d  # step %d of the width\n" % (i, i) for i in range(40))
                  + "    return w * h\n",
        "use.py": "from geo import area\n\n\ndef report(r):\n"
                  + "".join("    r.h = r.h + %d  # step %d of the height\n" % (i, i) for i in range(40))
                  + "    return area(r.w, r.h)\n",
    }

    def test_a_local_analysis_too_large_for_the_context_is_not_sent(self):
        r = self.repo()
        r.commit(self.FILES)
        # The estimates of the run itself: a context just below the
        # analysis takes the rewrites (and room for their answers), not the
        # analysis.
        p = r.run("refactor", "--dry-run", "--json", "--plan", "-g", "x",
                  env={"MONITOR_LOCAL_URL": "http://127.0.0.1:9/v1"})
        rep = json.loads(p.stdout)
        est = {t["kind"]: 0 for t in rep["tasks"]}
        for t in rep["tasks"]:
            est[t["kind"]] = max(est[t["kind"]], t["estimated_tokens"])
        self.assertGreater(est["analysis"], est["rewrite"] + 20, rep["tasks"])
        ctx = est["analysis"] - 10
        models = {"rules": [], "models": [{"id": "small", "type": "llm", "loaded": True,
                                           "context_length": ctx, "max_context_length": ctx}]}
        with FakeLMStudio(script=models, latency=0.01) as ls:
            p = r.run("refactor", "--json", "--plan", "-g", "x", env={"MONITOR_LOCAL_URL": ls.url})
            self.assertEqual(p.returncode, 0, p.stderr)
            ls.wait_requests(2, path="/v1/chat/completions")
            time.sleep(0.2)
            plans = [q for q in chat(ls) if "response_format" in q["body"]]
            rewrites = [q for q in chat(ls) if "response_format" not in q["body"]]
        rep = json.loads(p.stdout)
        a = analyses(rep)[0]
        self.assertEqual(plans, [], "the analysis was sent although it cannot fit")
        self.assertEqual(a["status"], "skipped")
        self.assertIn("too large for the local model's context", a["reason"])
        self.assertEqual(len(rewrites), 2)
        self.assertEqual(sorted(t["status"] for t in rep["tasks"] if t["kind"] == "rewrite"), ["applied", "applied"])
        self.assertTrue(any("rewritten without a plan" in w for w in rep["warnings"]), rep["warnings"])


if __name__ == "__main__":
    gmtest.main()
