"""git monitor doctor: every check against the fake servers, in real
repositories, in each way a set-up goes wrong; the Claude key never shows."""
import json
import os
import re
import socket
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import gmtest  # noqa: E402

sys.path.insert(0, os.path.join(gmtest.SOURCE_DIR, "tests", "fakes"))
from fakes import FakeAnthropic, FakeLMStudio  # noqa: E402

SECRET = "sk-ant-api03-doctor-SECRET-do-not-print-7f3a"


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class DoctorTest(gmtest.TestCase):
    def setUp(self):
        self.r = self.repo()
        self.r.commit({"a.py": "def a():\n    return 1\n"}, "base")
        # Not WSL unless a test says so, whatever machine runs the tests.
        self.proc = tempfile.mkdtemp(prefix="gm-proc-")
        self.addCleanup(lambda: __import__("shutil").rmtree(self.proc, ignore_errors=True))
        self.write_proc("proc/version", "Linux version 6.1.0-generic (gcc) #1 SMP\n")

    def write_proc(self, rel, text):
        p = os.path.join(self.proc, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)

    def doctor(self, *args, env=None, cwd=None):
        e = {"GM_PROC_ROOT": self.proc}
        e.update(env or {})
        return self.r.run("doctor", *args, env=e, cwd=cwd, timeout=120)

    def checks(self, *args, **kw):
        p = self.doctor("--json", *args, **kw)
        data = json.loads(p.stdout)
        return p, {c["check"]: c for c in data}, data

    # --- everything fine ---------------------------------------------------------

    def test_all_ok_against_the_fakes(self):
        with FakeLMStudio() as lm, FakeAnthropic(api_key=SECRET) as an:
            env = {"MONITOR_LOCAL_URL": lm.url, "ANTHROPIC_BASE_URL": an.url,
                   "ANTHROPIC_API_KEY": SECRET}
            p, by, data = self.checks(env=env)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertEqual(p.stderr, "")  # results go to stdout
            self.assertEqual([c["check"] for c in data],
                             ["repository", "grammars", "config", "lmstudio", "model", "claude"])
            for c in data:
                self.assertEqual(set(c), {"check", "status", "detail", "hint"})
                self.assertEqual(c["status"], "ok", c)
                self.assertIsNone(c["hint"])
            self.assertIn("HEAD", by["repository"]["detail"])
            self.assertIn("9 languages", by["grammars"]["detail"])
            nq = int(re.search(r"(\d+) queries compiled", by["grammars"]["detail"]).group(1))
            self.assertGreaterEqual(nq, 9 * 3)  # units, metrics, calls at least, per language
            self.assertIn(lm.url, by["lmstudio"]["detail"])
            self.assertIn("qwen2.5-7b-instruct", by["model"]["detail"])
            self.assertIn("context 32768 tokens", by["model"]["detail"])
            self.assertIn("accepted the key", by["claude"]["detail"])
            # the key went to its own API, and nowhere in our output
            models = [q for q in an.requests() if q["path"] == "/v1/models"]
            self.assertTrue(models)
            self.assertEqual(models[0]["headers"].get("x-api-key"), SECRET)
            self.assertNotIn(SECRET, p.stdout + p.stderr)
            # text form: one line per check, status first
            t = self.doctor(env=env)
            self.assertEqual(t.returncode, 0)
            lines = [l for l in t.stdout.splitlines() if l.strip()]
            self.assertEqual([l.split()[0] for l in lines], ["ok"] * 6)

    def test_configured_model_loaded_and_not_loaded(self):
        with FakeLMStudio() as lm:
            env = {"MONITOR_LOCAL_URL": lm.url}
            self.r.git("config", "monitor.local.model", "qwen2.5-7b-instruct")
            p, by, _ = self.checks(env=env)
            self.assertEqual(p.returncode, 0)
            self.assertEqual(by["model"]["status"], "ok")
            self.assertIn("monitor.local.model", by["model"]["detail"])
            # downloaded but not loaded: JIT loads it, a warning, still usable
            self.r.git("config", "monitor.local.model", "llama-3.2-1b-instruct")
            p, by, _ = self.checks(env=env)
            self.assertEqual(p.returncode, 0)
            self.assertEqual(by["model"]["status"], "warn")
            self.assertIn("not loaded", by["model"]["detail"])
            self.assertIn("lms load llama-3.2-1b-instruct", by["model"]["hint"])
            # doctor itself never loads a model
            self.assertFalse([q for q in lm.requests() if q["path"] == "/v1/chat/completions"])

    def test_configured_model_not_on_the_server(self):
        with FakeLMStudio() as lm:
            self.r.git("config", "monitor.local.model", "no-such-model")
            p, by, _ = self.checks(env={"MONITOR_LOCAL_URL": lm.url})
            self.assertEqual(p.returncode, 1)
            self.assertEqual(by["model"]["status"], "fail")
            self.assertIn("'no-such-model'", by["model"]["detail"])
            self.assertIn("qwen2.5-7b-instruct", by["model"]["detail"])
            self.assertIn(lm.url, by["model"]["detail"])

    # --- LM Studio not there or not ready --------------------------------------

    def test_no_server_names_url_and_cause(self):
        url = "http://127.0.0.1:%d/v1" % closed_port()
        p, by, _ = self.checks(env={"MONITOR_LOCAL_URL": url})
        self.assertEqual(p.returncode, 1)
        self.assertEqual(by["lmstudio"]["status"], "fail")
        self.assertIn(url, by["lmstudio"]["detail"])
        self.assertIn("connection refused", by["lmstudio"]["detail"])
        self.assertIn("lms server start", by["lmstudio"]["hint"])
        self.assertNotIn("Windows", by["lmstudio"]["detail"])
        self.assertEqual(by["model"]["status"], "skip")
        self.assertEqual(by["claude"]["status"], "skip")
        t = self.doctor(env={"MONITOR_LOCAL_URL": url})
        fail = [l for l in t.stdout.splitlines() if l.startswith("fail")]
        self.assertEqual(len(fail), 1)
        self.assertIn(url, fail[0])
        self.assertIn("connection refused", fail[0])

    def test_server_requiring_auth(self):
        with FakeLMStudio(require_auth="tok") as lm:
            p, by, _ = self.checks(env={"MONITOR_LOCAL_URL": lm.url})
            self.assertEqual(p.returncode, 1)
            self.assertEqual(by["lmstudio"]["status"], "fail")
            self.assertTrue(by["lmstudio"]["detail"].startswith("LM Studio at %s: " % lm.url),
                            by["lmstudio"]["detail"])

    def test_not_a_model_list(self):
        with FakeLMStudio(script=[{"match": {"path": "/v1/models"},
                                   "response": {"status": 200, "body": "<html>hello</html>"}}]) as lm:
            p, by, _ = self.checks(env={"MONITOR_LOCAL_URL": lm.url})
            self.assertEqual(p.returncode, 1)
            self.assertEqual(by["lmstudio"]["status"], "fail")
            self.assertIn("without a model list", by["lmstudio"]["detail"])
        with FakeLMStudio() as lm:
            base = lm.url[:-len("/v1")]
            p, by, _ = self.checks(env={"MONITOR_LOCAL_URL": base})
            self.assertEqual(p.returncode, 1)
            self.assertIn("Unexpected endpoint", by["lmstudio"]["detail"])
            self.assertIn("/v1", by["lmstudio"]["hint"])

    def test_small_loaded_context_gets_a_hint(self):
        script = {"rules": [], "models": [
            {"id": "tiny-chat", "loaded": True, "context_length": 4096, "max_context_length": 32768}]}
        with FakeLMStudio(script=script) as lm:
            p, by, _ = self.checks(env={"MONITOR_LOCAL_URL": lm.url})
            self.assertEqual(p.returncode, 0)
            self.assertEqual(by["model"]["status"], "ok")
            self.assertIn("tiny-chat", by["model"]["detail"])
            self.assertIn("context 4096 tokens", by["model"]["detail"])
            self.assertIn("--context-length", by["model"]["hint"])

    def test_no_model_loaded_gives_lm_studios_message(self):
        for jit in ("on", "off"):
            with self.subTest(jit=jit), FakeLMStudio(no_models_loaded=True, jit=jit) as lm:
                p, by, _ = self.checks(env={"MONITOR_LOCAL_URL": lm.url})
                self.assertEqual(p.returncode, 1)
                self.assertEqual(by["lmstudio"]["status"], "ok")
                m = by["model"]
                self.assertEqual(m["status"], "fail")
                self.assertIn("No models loaded. Please load a model", m["detail"])
                self.assertIn(lm.url, m["detail"])
                self.assertIn("lms load qwen2.5-7b-instruct", m["hint"])

    def test_embedding_model_only(self):
        script = {"rules": [], "models": [
            {"id": "text-embedding-nomic-embed-text-v1.5", "type": "embeddings", "loaded": True}]}
        with FakeLMStudio(script=script) as lm:
            p, by, _ = self.checks(env={"MONITOR_LOCAL_URL": lm.url})
            self.assertEqual(p.returncode, 1)
            self.assertEqual(by["model"]["status"], "fail")
            self.assertIn("only embedding models", by["model"]["detail"])
            self.assertIn("No models loaded", by["model"]["detail"])
            self.assertIn("not an embedding model", by["model"]["hint"])

    def test_one_dead_server_next_to_a_live_one_is_a_warning(self):
        dead = "http://127.0.0.1:%d/v1" % closed_port()
        with FakeLMStudio() as lm:
            self.r.git("config", "--add", "monitor.local.url", dead)
            self.r.git("config", "--add", "monitor.local.url", lm.url)
            p, _, data = self.checks()
            self.assertEqual(p.returncode, 0, p.stdout)
            servers = [c for c in data if c["check"] == "lmstudio"]
            self.assertEqual([c["status"] for c in servers], ["warn", "ok"])
            self.assertIn(dead, servers[0]["detail"])

    # --- WSL2 ------------------------------------------------------------------

    def make_wsl(self, gateway_hex="0100007F"):
        self.write_proc("proc/version",
                        "Linux version 5.15.153.1-microsoft-standard-WSL2 (root@1) #1 SMP\n")
        self.write_proc("proc/net/route",
                        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
                        "eth0\t00000000\t%s\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
                        "eth0\t0000FEA9\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n" % gateway_hex)

    def test_wsl2_windows_host_answers(self):
        # "localhost" is 127.0.0.2 (nothing listens there); the Windows host
        # (the default gateway, 127.0.0.1) is the fake.
        self.make_wsl()
        with FakeLMStudio() as lm:
            local = "http://127.0.0.2:%d/v1" % lm.port
            p, by, _ = self.checks(env={"MONITOR_LOCAL_URL": local})
            self.assertEqual(p.returncode, 0, p.stdout)
            s = by["lmstudio"]
            self.assertEqual(s["status"], "ok")
            self.assertIn("Windows host 127.0.0.1", s["detail"])
            self.assertIn(lm.url, s["detail"])
            self.assertIn(local, s["detail"])
            self.assertIn("networkingMode=mirrored", s["hint"])
            self.assertEqual(by["model"]["status"], "ok")

    def test_wsl2_nothing_answers(self):
        self.make_wsl()
        port = closed_port()
        local = "http://localhost:%d/v1" % port
        p, by, _ = self.checks(env={"MONITOR_LOCAL_URL": local})
        self.assertEqual(p.returncode, 1)
        s = by["lmstudio"]
        self.assertEqual(s["status"], "fail")
        self.assertIn(local, s["detail"])
        self.assertIn("Windows host", s["detail"])
        self.assertIn("http://127.0.0.1:%d/v1" % port, s["detail"])
        for words in ("Serve on Local Network", "networkingMode=mirrored", ".wslconfig",
                      "Windows Firewall", "TCP %d" % port):
            self.assertIn(words, s["hint"])

    # --- Claude ------------------------------------------------------------------

    def test_claude_key_rejected_never_printed(self):
        with FakeLMStudio() as lm, FakeAnthropic(api_key="right") as an:
            env = {"MONITOR_LOCAL_URL": lm.url, "ANTHROPIC_BASE_URL": an.url,
                   "ANTHROPIC_API_KEY": SECRET}
            p, by, _ = self.checks(env=env)
            # a local-only run still works
            self.assertEqual(p.returncode, 0)
            c = by["claude"]
            self.assertEqual(c["status"], "fail")
            self.assertIn("the key was rejected", c["detail"])
            self.assertIn("authentication_error", c["detail"])
            self.assertIn(an.url, c["detail"])
            self.assertIn("ANTHROPIC_API_KEY", c["hint"])
            outputs = [p]
            for args in ([], ["-v"], ["--json", "-v"]):
                outputs.append(self.doctor(*args, env=env))
            for o in outputs:
                self.assertNotIn(SECRET, o.stdout + o.stderr)
                self.assertNotIn(SECRET[8:20], o.stdout + o.stderr)

    def test_claude_unreachable(self):
        url = "http://127.0.0.1:%d" % closed_port()
        with FakeLMStudio() as lm:
            p, by, _ = self.checks(env={"MONITOR_LOCAL_URL": lm.url, "ANTHROPIC_BASE_URL": url,
                                        "ANTHROPIC_API_KEY": SECRET})
            self.assertEqual(by["claude"]["status"], "fail")
            self.assertIn(url, by["claude"]["detail"])
            self.assertIn("connection refused", by["claude"]["detail"])
            self.assertNotIn(SECRET, p.stdout + p.stderr)

    # --- repository ----------------------------------------------------------------

    def test_outside_a_repository(self):
        outside = tempfile.mkdtemp(prefix="gm-norepo-")
        self.addCleanup(os.rmdir, outside)
        with FakeLMStudio() as lm:
            p, by, _ = self.checks(env={"MONITOR_LOCAL_URL": lm.url}, cwd=outside)
            self.assertEqual(p.returncode, 1)
            self.assertEqual(by["repository"]["status"], "fail")
            self.assertIn("not a git repository", by["repository"]["detail"])
            self.assertEqual(by["grammars"]["status"], "ok")
            self.assertEqual(by["lmstudio"]["status"], "ok")
            self.assertEqual(by["model"]["status"], "ok")

    def test_empty_repository_is_a_warning(self):
        empty = gmtest.Repo(self)
        with FakeLMStudio() as lm:
            p = empty.run("doctor", "--json", env={"MONITOR_LOCAL_URL": lm.url,
                                                   "GM_PROC_ROOT": self.proc})
            by = {c["check"]: c for c in json.loads(p.stdout)}
            self.assertEqual(p.returncode, 0)
            self.assertEqual(by["repository"]["status"], "warn")
            self.assertIn("no commits yet", by["repository"]["detail"])

    # --- settings ----------------------------------------------------------------------

    def test_bad_settings(self):
        with FakeLMStudio() as lm:
            env = {"MONITOR_LOCAL_URL": lm.url}
            self.r.git("config", "monitor.hook.mode", "loud")
            p, by, _ = self.checks(env=env)
            self.assertEqual(p.returncode, 0)
            self.assertEqual(by["config"]["status"], "warn")
            self.assertIn("monitor.hook.mode = 'loud'", by["config"]["detail"])
            self.assertIn("repository git config", by["config"]["detail"])
            # a value that stops a run wins over the warning, and fails
            self.r.git("config", "--global", "monitor.local.concurrency", "many")
            p, by, _ = self.checks(env=env)
            self.assertEqual(p.returncode, 1)
            self.assertEqual(by["config"]["status"], "fail")
            self.assertIn("monitor.local.concurrency = 'many'", by["config"]["detail"])
            self.assertIn("global git config", by["config"]["detail"])
            self.assertEqual(by["config"]["hint"], "git config monitor.local.concurrency 4")
            self.r.git("config", "--global", "--unset", "monitor.local.concurrency")
            self.r.git("config", "--unset", "monitor.hook.mode")
            self.r.git("config", "monitor.local.url", "localhost:1234")
            p, by, _ = self.checks()
            self.assertEqual(p.returncode, 1)
            self.assertEqual(by["config"]["status"], "ok")
            self.assertIn("invalid LM Studio URL 'localhost:1234'", by["lmstudio"]["detail"])

    # --- -v: where each setting comes from -----------------------------------------

    def test_verbose_shows_origins_and_hides_the_key(self):
        self.r.git("config", "monitor.local.concurrency", "8")
        self.r.git("config", "--global", "monitor.hook.mode", "block")
        self.r.git("config", "--global", "monitor.route.complexity", "20")
        self.r.git("config", "monitor.route.complexity", "12")
        self.r.git("config", "monitor.locl.url", "typo")
        url = "http://127.0.0.1:%d/v1" % closed_port()
        p = self.doctor("-v", env={"MONITOR_LOCAL_URL": url, "ANTHROPIC_API_KEY": SECRET,
                                   "ANTHROPIC_BASE_URL": "http://127.0.0.1:%d" % closed_port()})
        self.assertNotIn(SECRET, p.stdout + p.stderr)
        lines = {l.split()[0]: l for l in p.stdout.splitlines() if l.startswith("  ")}
        self.assertIn("8", lines["monitor.local.concurrency"].split())
        self.assertIn("[repository git config]", lines["monitor.local.concurrency"])
        self.assertIn("block", lines["monitor.hook.mode"].split())
        self.assertIn("[global git config]", lines["monitor.hook.mode"])
        # repository config wins over global
        self.assertIn("12", lines["monitor.route.complexity"].split())
        self.assertIn("[repository git config]", lines["monitor.route.complexity"])
        self.assertIn(url, lines["monitor.local.url"])
        self.assertIn("[environment (MONITOR_LOCAL_URL)]", lines["monitor.local.url"])
        self.assertIn("[default]", lines["monitor.goal"])
        self.assertIn("[environment (ANTHROPIC_BASE_URL)]", lines["monitor.claude.url"])
        self.assertEqual(lines["ANTHROPIC_API_KEY"].split()[1], "set")
        self.assertIn("unknown key", lines["monitor.locl.url"])
        self.assertTrue(any(l.startswith("warn  config") and "monitor.locl.url" in l
                            for l in p.stdout.splitlines()), p.stdout)
        # the same as JSON
        p = self.doctor("--json", "-v", env={"MONITOR_LOCAL_URL": url})
        data = json.loads(p.stdout)
        s = {x["key"]: x for x in data["settings"]}
        self.assertEqual(s["monitor.local.concurrency"]["origin"], "repository git config")
        self.assertEqual(s["ANTHROPIC_API_KEY"]["value"], "unset")
        self.assertTrue(s["ANTHROPIC_API_KEY"]["secret"])
        self.assertEqual(data["checks"][0]["check"], "repository")

    def test_usage(self):
        p = self.doctor("extra")
        self.assertOneLineError(p, 129, "no arguments")
        p = self.doctor("-h")
        self.assertEqual(p.returncode, 129)
        self.assertIn("usage: git monitor doctor", p.stdout)


if __name__ == "__main__":
    gmtest.main()
