"""A fleet of local servers in one run: LM Studio, llama.cpp, vLLM and Ollama
fakes sharing the work, one of them dying mid-run (every task ends applied
or with a reason, no edit applied twice, the branch right), and all of them
dead (a clear error, nothing written).  The speed figure is a benchmark
(tests/bench/bench_fleet.py), not a timed test."""
import json
import os
import socket
import sys

import gmtest

sys.path.insert(0, os.path.join(gmtest.SOURCE_DIR, "tests", "fakes"))
from fakes import FakeLlamaCpp, FakeLMStudio, FakeOllama, FakeVLLM  # noqa: E402

N = 16
FILES = {"pkg/f%d.py" % k: "".join("def f%d_%d(x):\n    return x + %d\n\n\n" % (k, i, i) for i in range(4))
         for k in range(N // 4)}


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def chats(srv):
    return [q for q in srv.requests() if q["path"] in ("/v1/chat/completions", "/api/chat")]


class FleetTest(gmtest.TestCase):
    def setUp(self):
        self.r = self.repo()
        self.base = self.r.commit(FILES, "base")

    def run_fleet(self, servers, *args):
        for s in servers:
            self.r.git("config", "--add", "monitor.local.url", s)
        p = self.r.run("refactor", "--json", "-g", "tidy", *args, env={"GM_PROC_ROOT": "/nonexistent"},
                       timeout=300)
        return p, (json.loads(p.stdout) if p.stdout.strip() else None)

    def assert_each_function_once(self, branch):
        for path, text in FILES.items():
            new = self.r.git("show", "%s:%s" % (branch, path))
            for i in range(4):
                name = "def %s_%d(x):" % (path[4:-3], i)
                body = new.split(name, 1)[1].split("\ndef ", 1)[0]
                self.assertEqual(body.count("# refactored"), 1, (path, name, new))
            self.assertEqual("\n".join(l for l in new.split("\n") if l.strip() != "# refactored"), text)

    def test_four_kinds_share_one_run(self):
        with FakeLMStudio(latency=0.05) as a, FakeLlamaCpp(latency=0.05) as b, \
                FakeVLLM(latency=0.05) as c, FakeOllama(latency=0.05) as d:
            p, rep = self.run_fleet([a.url, b.url, c.url, d.url])
            self.assertEqual(p.returncode, 0, p.stderr)
            tasks = [t for t in rep["tasks"] if t["kind"] == "rewrite"]
            self.assertEqual(len(tasks), N)
            self.assertTrue(all(t["status"] == "applied" for t in tasks), tasks)
            counts = [len(chats(s)) for s in (a, b, c, d)]
            self.assertEqual(sum(counts), N)
            self.assertTrue(all(n > 0 for n in counts), counts)  # every server took a share
            self.assertTrue(all(q["path"] == "/api/chat" for q in chats(d)))
            # The report and the note say what each server did.
            by_url = {s["url"]: s for s in rep["servers"]}
            self.assertEqual(sorted(by_url), sorted(s.url for s in (a, b, c, d)))
            self.assertEqual([by_url[s.url]["answers"] for s in (a, b, c, d)], counts)
            self.assertEqual([by_url[s.url]["kind"] for s in (a, b, c, d)],
                             ["LM Studio", "llama.cpp", "vLLM", "Ollama"])
        branch = rep["branch"]
        note = json.loads(self.r.git("notes", "--ref=monitor", "show", branch))
        self.assertEqual(note["servers"], rep["servers"])
        self.assert_each_function_once(branch)
        self.assertEqual(self.r.git("rev-parse", branch + "^").strip(), self.base)

    def test_a_server_dying_mid_run_loses_and_doubles_nothing(self):
        with FakeLMStudio(latency=0.1, die_after=3) as a, FakeLlamaCpp(latency=0.1) as b, \
                FakeVLLM(latency=0.1) as c:
            p, rep = self.run_fleet([a.url, b.url, c.url])
            self.assertEqual(p.returncode, 0, p.stderr)
            tasks = [t for t in rep["tasks"] if t["kind"] == "rewrite"]
            self.assertEqual(len(tasks), N)
            for t in tasks:
                self.assertTrue(t["status"] == "applied" or t.get("reason"), t)
            self.assertTrue(all(t["status"] == "applied" for t in tasks), tasks)
            self.assertLessEqual(len(chats(a)), 3)
            self.assertGreater(len(chats(b)) + len(chats(c)), N - 3)
            dead = {s["url"]: s for s in rep["servers"]}[a.url]
            self.assertGreaterEqual(dead["outages"], 1, rep["servers"])
            self.assertGreater(dead["down_ms"], 0, rep["servers"])
            self.assertTrue(dead.get("cause"), rep["servers"])
        self.assert_each_function_once(rep["branch"])

    def test_all_servers_dead_is_a_clear_error_and_writes_nothing(self):
        dead = ["http://127.0.0.1:%d/v1" % closed_port() for _ in range(2)]
        before = self.r.snapshot()
        p, rep = self.run_fleet(dead)
        self.assertEqual(p.returncode, 1, p.stderr)
        err = [l for l in p.stderr.splitlines() if l.startswith("git-monitor: ")]
        self.assertEqual(len(err), 1, p.stderr)
        self.assertIn("cannot reach LM Studio at %s: connection refused" % dead[0], err[0])
        self.assertEqual(self.r.git("for-each-ref", "refs/heads/monitor/").strip(), "")
        self.assertUnchanged(before, self.r)


if __name__ == "__main__":
    gmtest.main()
