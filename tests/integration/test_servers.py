"""llama.cpp, vLLM and Ollama as first-class servers (PROTOCOLS.md E), against
the fakes' personalities: detection, doctor's figures and their sources,
context admission (Ollama never truncating silently), structured output in
each server's form, their errors as one-line messages, per-URL bearer keys
from a named environment variable that is never printed."""
import json
import os
import sys
import tempfile

import gmtest

sys.path.insert(0, os.path.join(gmtest.SOURCE_DIR, "tests", "fakes"))
from fakes import FakeLlamaCpp, FakeLMStudio, FakeOllama, FakeVLLM  # noqa: E402

KEY = "vllm-secret-key-3f9a1c-do-not-print"
KINDS = [(FakeLlamaCpp, "llamacpp", "llama.cpp"), (FakeVLLM, "vllm", "vLLM"),
         (FakeOllama, "ollama", "Ollama")]
FUNCS = {"m.py": "def one(a):\n    return a + 1\n\n\ndef two(b):\n    return b * 2\n\n\n"
                 "def three(c):\n    return c - 3\n"}


def chats(srv):
    return [q for q in srv.requests() if q["path"] in ("/v1/chat/completions", "/api/chat")]


class ServersTest(gmtest.TestCase):
    def setUp(self):
        self.r = self.repo()
        self.r.commit(FUNCS, "base")
        self.proc = tempfile.mkdtemp(prefix="gm-proc-")
        self.addCleanup(lambda: __import__("shutil").rmtree(self.proc, ignore_errors=True))
        os.makedirs(os.path.join(self.proc, "proc"))
        with open(os.path.join(self.proc, "proc", "version"), "w") as f:
            f.write("Linux version 6.1.0-generic (gcc) #1 SMP\n")

    def env(self, **kw):
        e = {"GM_PROC_ROOT": self.proc}
        e.update(kw)
        return e

    def doctor(self, *args, env=None):
        p = self.r.run("doctor", "--json", "-v", *args, env=env or self.env(), timeout=120)
        data = json.loads(p.stdout)
        return p, data, {c["check"]: c for c in data["checks"]}

    def refactor(self, *args, env=None):
        p = self.r.run("refactor", "--json", *args, env=env or self.env(), timeout=300)
        self.assertIn(p.returncode, (0, 1), p.stderr)
        return p, json.loads(p.stdout)

    def tasks(self, rep, kind="rewrite"):
        return {t["name"]: t for t in rep["tasks"] if t["kind"] == kind}

    # --- detection and doctor's figures -----------------------------------------

    def test_doctor_detects_each_kind_and_says_where_each_figure_came_from(self):
        for cls, slug, name in KINDS:
            with self.subTest(kind=slug), cls(context=6144, concurrency=3) as srv:
                p, data, by = self.doctor(env=self.env(MONITOR_LOCAL_URL=srv.url))
                self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
                row = by[slug]
                self.assertEqual(row["status"], "ok", row)
                self.assertTrue(row["detail"].startswith("%s at %s answered" % (name, srv.url)), row)
                self.assertIn("context 6144 tokens", row["detail"])
                self.assertRegex(row["detail"], r"GET /models in \d+ ms")
                self.assertEqual(by["model"]["status"], "ok", by["model"])
                s = data["servers"][0]
                self.assertEqual(s["kind"], name)
                self.assertIn("detected", s["kind_from"])
                self.assertEqual(s["context"], 6144)
                self.assertTrue(s["context_from"])
                self.assertTrue(s["slots_from"])
                if slug == "llamacpp":
                    self.assertEqual(s["slots"], 3)  # the server's own total_slots
                    self.assertIn("total_slots", s["slots_from"])
                    self.assertIn("/props", s["context_from"])
                elif slug == "vllm":
                    self.assertIn("max_model_len", s["context_from"])
                else:
                    self.assertIn("/api/ps", s["context_from"])
                # the text form says the same
                t = self.r.run("doctor", "-v", env=self.env(MONITOR_LOCAL_URL=srv.url))
                self.assertIn("    kind     %s  [detected" % name, t.stdout)
                self.assertIn("    context  6144 tokens  [", t.stdout)

    def test_lm_studio_rows_read_as_before_and_minus_v_adds_its_figures(self):
        with FakeLMStudio() as srv:
            p, data, by = self.doctor(env=self.env(MONITOR_LOCAL_URL=srv.url))
            self.assertEqual(by["lmstudio"]["detail"], "LM Studio at %s answered (3 models listed)" % srv.url)
            s = data["servers"][0]
            self.assertEqual(s["kind"], "LM Studio")
            self.assertIn("/api/v0/models", s["kind_from"])
            self.assertEqual(s["context"], 32768)
            self.assertEqual(s["slots"], 4)
            self.assertIn("parallel", s["slots_from"])

    def test_kind_from_the_url_entry_or_the_setting(self):
        with FakeVLLM() as v, FakeOllama() as o:
            self.r.git("config", "--add", "monitor.local.url", "kind=vllm " + v.url)
            self.r.git("config", "--add", "monitor.local.url", o.url)
            self.r.git("config", "monitor.local.kind", "ollama")
            p, data, by = self.doctor()
            self.assertEqual([s["kind"] for s in data["servers"]], ["vLLM", "Ollama"])
            self.assertEqual(data["servers"][0]["kind_from"], "kind= in monitor.local.url")
            self.assertEqual(data["servers"][1]["kind_from"], "monitor.local.kind")
            # two models: the fleet row says so
            self.assertEqual(by["fleet"]["status"], "warn")
            self.assertIn("different models", by["fleet"]["detail"])
            self.r.git("config", "--unset-all", "monitor.local.url")
            self.r.git("config", "monitor.local.url", "kind=tgi " + v.url)
            p, data, by = self.doctor()
            self.assertEqual(p.returncode, 1)
            self.assertIn("unknown kind of server 'tgi'", by["lmstudio"]["detail"])

    # --- a run through each kind -----------------------------------------------

    def test_refactor_through_each_kind_in_its_own_form(self):
        for cls, slug, name in KINDS:
            with self.subTest(kind=slug), cls(latency=0.05) as srv:
                p, rep = self.refactor("-g", "tidy", env=self.env(MONITOR_LOCAL_URL=srv.url))
                self.assertEqual(p.returncode, 0, p.stderr)
                t = self.tasks(rep)
                self.assertEqual({n: t[n]["status"] for n in ("one", "two", "three")},
                                 {"one": "applied", "two": "applied", "three": "applied"})
                sent = chats(srv)
                self.assertEqual(len(sent), 3)
                for q in sent:
                    b = q["body"]
                    if slug == "vllm":
                        self.assertIn("max_completion_tokens", b)
                        self.assertNotIn("max_tokens", b)
                        self.assertEqual(b["model"], "Qwen/Qwen2.5-Coder-32B-Instruct")
                    elif slug == "ollama":
                        self.assertEqual(q["path"], "/api/chat")
                        self.assertIs(b["truncate"], False)
                        self.assertIs(b["shift"], False)
                        self.assertEqual(b["options"]["num_ctx"], 4096)
                        self.assertNotIn("loaded", q)  # the loaded model is not reloaded
                    else:
                        self.assertIn("max_tokens", b)

    def test_structured_analysis_in_each_kinds_form(self):
        for cls, slug, name in KINDS:
            with self.subTest(kind=slug), cls() as srv:
                p, rep = self.refactor("-g", "tidy", "--plan", "--local-only",
                                       env=self.env(MONITOR_LOCAL_URL=srv.url))
                self.assertEqual(p.returncode, 0, p.stderr)
                bodies = [q["body"] for q in chats(srv)]
                plans = [b for b in bodies if "format" in b or "response_format" in b]
                self.assertTrue(plans, bodies)
                for b in plans:
                    if slug == "ollama":
                        self.assertEqual(b["format"]["type"], "object")
                    else:
                        self.assertEqual(b["response_format"]["type"], "json_schema")
                        self.assertIn("schema", b["response_format"]["json_schema"])

    # --- context admission --------------------------------------------------------

    def test_ollama_never_truncates_silently(self):
        big = "def big(a):\n" + "".join("    a = a + %d\n" % i for i in range(1500)) + "    return a\n"
        self.r.commit({"big.py": big}, "big")
        # loaded: its context is known and a prompt over it is never sent
        with FakeOllama(context=4096) as srv:
            p, rep = self.refactor("-g", "tidy", env=self.env(MONITOR_LOCAL_URL=srv.url))
            t = self.tasks(rep)
            self.assertEqual(t["big"]["status"], "skipped", t["big"])
            self.assertIn("too large for the local model's context", t["big"]["reason"])
            self.assertEqual(t["one"]["status"], "applied")
            sent = chats(srv)
            self.assertFalse(any("def big(" in q["body"]["messages"][-1]["content"] for q in sent))
            self.assertFalse(any(q.get("truncated") for q in sent))
        # not loaded: the context is unknown, so the server is told not to truncate
        with FakeOllama(context=4096, not_loaded=True) as srv:
            p, rep = self.refactor("-g", "tidy", "--no-cache", env=self.env(MONITOR_LOCAL_URL=srv.url))
            t = self.tasks(rep)
            self.assertEqual(t["big"]["status"], "failed", t["big"])
            self.assertIn("Ollama at %s: prompt too long for the context" % srv.url, t["big"]["reason"])
            sent = chats(srv)
            self.assertTrue(any("def big(" in q["body"]["messages"][-1]["content"] for q in sent))
            self.assertFalse(any(q.get("truncated") for q in sent))
            self.assertTrue(all(q["body"]["truncate"] is False for q in sent))

    def test_llamacpp_and_vllm_context_read_from_the_server(self):
        big = "def big(a):\n" + "".join("    a = a + %d\n" % i for i in range(400)) + "    return a\n"
        self.r.commit({"big.py": big}, "big")
        for cls in (FakeLlamaCpp, FakeVLLM):
            with self.subTest(kind=cls.PERSONALITY), cls(context=1500) as srv:
                p, rep = self.refactor("-g", "tidy", env=self.env(MONITOR_LOCAL_URL=srv.url))
                t = self.tasks(rep)
                self.assertEqual(t["big"]["status"], "skipped", t["big"])
                self.assertEqual(t["one"]["status"], "applied")
                for q in chats(srv):
                    self.assertEqual(q["status"], 200, q)  # nothing over the context was sent

    # --- errors ------------------------------------------------------------------

    def test_errors_are_one_line_messages_that_name_the_server(self):
        with FakeVLLM() as srv:
            self.r.git("config", "monitor.local.model", "nope")
            p, data, by = self.doctor(env=self.env(MONITOR_LOCAL_URL=srv.url))
            self.assertEqual(p.returncode, 1)
            self.assertEqual(by["model"]["status"], "fail")
            self.assertIn("vLLM at %s does not serve monitor.local.model 'nope'" % srv.url,
                          by["model"]["detail"])
            p, rep = self.refactor("-g", "tidy", env=self.env(MONITOR_LOCAL_URL=srv.url))
            t = self.tasks(rep)
            self.assertEqual(t["one"]["status"], "failed")
            self.assertIn("vLLM at %s: unknown model: The model `nope` does not exist." % srv.url,
                          t["one"]["reason"])
            self.assertNotIn("\n", t["one"]["reason"])
            self.r.git("config", "--unset", "monitor.local.model")
        # llama.cpp loading its model answers 503 everywhere: "not ready"
        with FakeLlamaCpp(loading=60) as srv:
            p, data, by = self.doctor(env=self.env(MONITOR_LOCAL_URL=srv.url))
            self.assertEqual(by["lmstudio"]["status"], "fail")
            self.assertIn("not ready: Loading model", by["lmstudio"]["detail"])

    # --- keys -------------------------------------------------------------------

    def test_bearer_key_per_url_from_a_named_variable_never_printed(self):
        with FakeVLLM(api_key=KEY) as srv:
            p, data, by = self.doctor(env=self.env(MONITOR_LOCAL_URL=srv.url))
            self.assertEqual(p.returncode, 1)
            self.assertIn("not authorized", by["lmstudio"]["detail"])
            self.r.git("config", "monitor.local.url", "key=TEAM_VLLM_KEY " + srv.url)
            # named but not set: said so, nothing sent
            p, data, by = self.doctor()
            self.assertEqual(p.returncode, 1)
            self.assertTrue(data["servers"][0]["key_missing"])
            self.assertIn("TEAM_VLLM_KEY", by["lmstudio"]["hint"])
            env = self.env(TEAM_VLLM_KEY=KEY)
            p, data, by = self.doctor(env=env)
            self.assertEqual(p.returncode, 0, p.stdout)
            self.assertEqual(by["vllm"]["status"], "ok")
            self.assertEqual(data["servers"][0]["key_env"], "TEAM_VLLM_KEY")
            p2, rep = self.refactor("-g", "tidy", env=env)
            self.assertEqual(p2.returncode, 0, p2.stderr)
            self.assertEqual(self.tasks(rep)["one"]["status"], "applied")
            for q in chats(srv):
                self.assertEqual(q["headers"].get("authorization"), "Bearer " + KEY)
            outs = [p.stdout + p.stderr, p2.stdout + p2.stderr,
                    self.r.run("doctor", "-v", env=env).stdout]
            notes = self.r.git("log", "--all", "--format=%B")
            for o in outs + [notes]:
                self.assertNotIn(KEY, o)
            # the setting holds a NAME; a key pasted there is refused, not used
            self.r.git("config", "monitor.local.url", srv.url)
            self.r.git("config", "monitor.local.apiKey", "sk-pasted key")
            p, data, by = self.doctor(env=env)
            self.assertEqual(p.returncode, 1)
            self.assertIn("the name of an environment variable", by["lmstudio"]["detail"])


if __name__ == "__main__":
    gmtest.main()
