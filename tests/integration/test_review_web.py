"""The review page: `review --web` serving a real refactor run (against the
fake LM Studio) on 127.0.0.1 behind a token, gone through in Debian's
chromium driven by playwright-core (tests/browser/review_page.js): side by
side panes with highlighting, a filter, two functions dropped (one with the
keyboard, one with the mouse), Apply, and then git says exactly those two
were restored.  Also `review --html`: the same page as one file, whose
command line drops the chosen functions.  Repository and model text that
looks like HTML renders as text everywhere.

Needs chromium (/usr/bin/chromium, or $GM_CHROMIUM), node and the pinned
playwright-core the build unpacks ($GM_NODE_MODULES).  Without them the
browser tests fail, saying what is missing; GM_SKIP_BROWSER_TESTS=1 skips
them instead (for a machine without a browser; CI installs one).
Screenshots go to $GM_ARTIFACTS (<build>/artifacts).
"""
import html.parser
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request
import warnings

sys.path.insert(0, os.path.dirname(__file__))
import gmtest  # noqa: E402

sys.path.insert(0, os.path.join(gmtest.SOURCE_DIR, "tests", "fakes"))
from fakes import FakeLMStudio  # noqa: E402

warnings.simplefilter("ignore", ResourceWarning)

DRIVER = os.path.join(gmtest.SOURCE_DIR, "tests", "browser", "review_page.js")
NODE_MODULES = os.environ.get("GM_NODE_MODULES", "")
CHROMIUM = os.environ.get("GM_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = os.environ.get("GM_ARTIFACTS") or os.path.join(tempfile.gettempdir(), "gm-artifacts")
PWN = "window.__pwned = true"

S_PY = (
    "import os\n"
    "\n"
    "\n"
    "def total(items):\n"
    "    s = 0\n"
    "    for i in items:\n"
    "        if i > 0:\n"
    "            s += i\n"
    "    return s\n"
    "\n"
    "\n"
    "def label(name):\n"
    "    return \"<b>\" + name + \"</b>\"\n"
    "\n"
    "\n"
    "def broken(x):\n"
    "    return x\n"
)
WEB_JS = (
    "function banner(user) {\n"
    "  return \"</script><script>" + PWN + "</script>\" + user;\n"
    "}\n"
    "\n"
    "function add(a, b) {\n"
    "  return a + b;\n"
    "}\n"
)
TOTAL = ("```python\ndef total(items):\n    s = 0\n    for i in items:\n        if i > 0:\n"
         "            s = s + i\n    return s\n```")
BROKEN = "```python\ndef broken(x):\n    return (x <img src=x onerror=\"" + PWN + "\">\n```"
EVIL_NAME = "<script>" + PWN + "</script>"
BRANCH = "monitor/page-</script>-x"


def browser_missing():
    why = []
    if not os.path.exists(CHROMIUM):
        why.append("no chromium at %s (apt-get install chromium)" % CHROMIUM)
    if not shutil.which("node"):
        why.append("no node (apt-get install nodejs)")
    if not NODE_MODULES or not os.path.isdir(os.path.join(NODE_MODULES, "playwright-core")):
        why.append("no playwright-core under %r (configure the build with network once: it "
                   "fetches the version pinned in tests/browser/manifest)" % NODE_MODULES)
    return "; ".join(why)


def needs_browser(test):
    def run(self):
        why = browser_missing()
        if why:
            if os.environ.get("GM_SKIP_BROWSER_TESTS") == "1":
                self.skipTest("GM_SKIP_BROWSER_TESTS=1: " + why)
            self.fail("the browser test cannot run: " + why +
                      " (set GM_SKIP_BROWSER_TESTS=1 to skip it on a machine without a browser)")
        return test(self)
    run.__name__ = test.__name__
    return run


class Scripts(html.parser.HTMLParser):
    """The <script> elements of a page and their text."""

    def __init__(self):
        super().__init__()
        self.scripts, self._in = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self._in = [dict(attrs), ""]

    def handle_data(self, data):
        if self._in is not None:
            self._in[1] += data

    def handle_endtag(self, tag):
        if tag == "script" and self._in is not None:
            self.scripts.append(tuple(self._in))
            self._in = None


class ReviewWebTest(gmtest.TestCase):
    def setUp(self):
        self.r = self.repo()
        self.base = self.r.commit({"s.py": S_PY, "web.js": WEB_JS}, "base")
        script = [{"match": {"user_regex": r"def total\("}, "response": {"content": TOTAL}},
                  {"match": {"user_regex": r"def broken\("}, "response": {"content": BROKEN}}]
        with FakeLMStudio(script=script) as srv:
            p = self.r.run("refactor", "-g", "simplify", "--local-only", "-b", BRANCH,
                           env={"MONITOR_LOCAL_URL": srv.url})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.splitlines()[0].strip(), BRANCH)
        self.run_tip = self.tip()
        # a task whose name is markup (names are repository text)
        note = json.loads(self.r.git("notes", "--ref=monitor", "show", BRANCH))
        for t in note["tasks"]:
            if t["name"] == "broken":
                t["name"] = EVIL_NAME
        self.r.git("notes", "--ref=monitor", "add", "-f", "-m", json.dumps(note), BRANCH)
        os.makedirs(ARTIFACTS, exist_ok=True)

    def tip(self):
        return self.r.git("rev-parse", "refs/heads/" + BRANCH).strip()

    def show(self, rev, path):
        return self.r.git("show", "%s:%s" % (rev, path))

    def serve(self, *args):
        e = dict(self.r.env, GIT_MONITOR_NO_BROWSER="1")
        p = subprocess.Popen([gmtest.GIT_MONITOR, "review", "--web", "--idle-timeout", "120", *args],
                             cwd=self.r.path, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)

        def stop():
            if p.poll() is None:
                p.terminate()
                p.wait(timeout=20)
            p.stdout.close()
            p.stderr.close()
        self.addCleanup(stop)
        url = p.stdout.readline().strip()
        self.assertTrue(url.startswith("http://127.0.0.1:"), "no URL: %r %r" % (url, p.poll()))
        return p, url

    def get(self, url, headers=None, data=None):
        req = urllib.request.Request(url, data=data, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=20) as res:
                return res.status, res.read().decode(), dict(res.headers)
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(), dict(e.headers)

    def drive(self, *args):
        env = dict(os.environ, NODE_PATH=NODE_MODULES, GM_CHROMIUM=CHROMIUM)
        p = subprocess.run(["node", DRIVER, *args], env=env, capture_output=True, text=True, timeout=240)
        self.assertEqual(p.returncode, 0, "driver failed:\n" + p.stderr)
        return json.loads(p.stdout.strip().splitlines()[-1])

    # --- the server, without a browser ------------------------------------------------

    def test_the_server_binds_127_0_0_1_only_and_wants_its_token(self):
        p, url = self.serve(BRANCH)
        port = int(url.split(":")[2].split("/")[0])
        token = url.split("token=")[1]
        root = "http://127.0.0.1:%d/" % port
        # listening on the loopback address only, never on all addresses
        listening = []
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            if os.path.exists(table):
                with open(table) as f:
                    for line in f.readlines()[1:]:
                        local, state = line.split()[1], line.split()[3]
                        if state == "0A" and int(local.split(":")[1], 16) == port:
                            listening.append(local.split(":")[0])
        self.assertEqual(listening, ["0100007F"])
        # no token, a wrong one, a token for GET but not for the POST: 403
        self.assertEqual(self.get(root)[0], 403)
        self.assertEqual(self.get(root + "?token=" + "0" * len(token))[0], 403)
        self.assertEqual(self.get(root + "favicon.ico")[0], 403)
        body = json.dumps({"tip": self.tip(), "drop": ["s.py:total"]}).encode()
        self.assertEqual(self.get(root + "apply?token=" + token, data=body,
                                  headers={"Content-Type": "application/json"})[0], 403)
        # another Host (a DNS-rebinding page) is refused even with the token
        self.assertEqual(self.get(url, headers={"Host": "evil.example:%d" % port})[0], 403)
        self.assertEqual(self.tip(), self.run_tip)
        # with it: the page, locked down
        status, page, headers = self.get(url)
        self.assertEqual(status, 200)
        self.assertIn("script-src 'nonce-", headers["Content-Security-Policy"])
        self.assertEqual(headers["Referrer-Policy"], "no-referrer")
        self.assertIn("total", page)
        self.assertNotIn(token, page)
        # a stale page cannot apply
        status, text, _ = self.get(root + "apply", data=json.dumps({"tip": "0" * 40, "drop": ["s.py:total"]}).encode(),
                                   headers={"X-Monitor-Token": token})
        self.assertEqual(status, 409, text)
        self.assertEqual(self.tip(), self.run_tip)
        p.send_signal(2)  # Ctrl-C stops it
        self.assertEqual(p.wait(timeout=20), 0)
        self.assertIn("stopped", p.stderr.read())

    def test_a_reload_after_a_drop_elsewhere_shows_the_branch_as_it_is_now(self):
        p, url = self.serve(BRANCH)
        token = url.split("token=")[1]
        root = url.split("?")[0]

        def page_tip():
            status, page, _ = self.get(url)
            self.assertEqual(status, 200)
            parser = Scripts()
            parser.feed(page)
            return json.loads(parser.scripts[0][1])["tip"], page

        self.assertEqual(page_tip()[0], self.run_tip)
        # another terminal drops a function while the page is open
        q = self.r.run("review", "--drop", "s.py:label", BRANCH)
        self.assertEqual(q.returncode, 0, q.stderr)
        moved = self.tip()
        tip, page = page_tip()
        self.assertEqual(tip, moved)
        self.assertRegex(page, r'data-spec="s\.py:label"[^>]*data-status="dropped"')
        # and Apply from the reloaded page works
        status, text, _ = self.get(root + "apply", data=json.dumps({"tip": moved, "drop": ["web.js:add"]}).encode(),
                                   headers={"X-Monitor-Token": token, "Content-Type": "application/json"})
        self.assertEqual(status, 200, text)
        self.assertEqual(self.r.git("rev-parse", self.tip() + "^").strip(), moved)
        self.assertIn("function add(a, b) {\n  return a + b;\n}", self.show(self.tip(), "web.js"))

    def test_the_server_stops_when_idle(self):
        e = dict(self.r.env, GIT_MONITOR_NO_BROWSER="1")
        start = time.time()
        p = subprocess.run([gmtest.GIT_MONITOR, "review", "--web", "--idle-timeout", "1", BRANCH],
                           cwd=self.r.path, env=e, capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertLess(time.time() - start, 15)
        self.assertIn("no request for 1 seconds", p.stderr)

    def test_the_address_is_opened_with_BROWSER_else_xdg_open_else_a_hint(self):
        bindir = os.path.join(self.r.tmp, "bin")
        os.makedirs(bindir)
        opened = os.path.join(self.r.tmp, "opened")
        for name in ("my-browser", "xdg-open"):
            path = os.path.join(bindir, name)
            with open(path, "w") as f:
                f.write("#!/bin/sh\necho \"%s $*\" >> '%s'\n" % (name, opened))
            os.chmod(path, 0o755)
        env = {k: v for k, v in self.r.env.items()
               if k not in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY", "GIT_MONITOR_NO_BROWSER")}
        env["PATH"] = bindir + os.pathsep + env.get("PATH", "/usr/bin:/bin")

        def serve(e):
            p = subprocess.run([gmtest.GIT_MONITOR, "review", "--web", "--idle-timeout", "1", BRANCH],
                               cwd=self.r.path, env=e, capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 0, p.stderr)
            return p.stdout.splitlines()[0], p.stderr

        # $BROWSER's first entry, else xdg-open when there is a display
        for e, want in ((dict(env, BROWSER="my-browser:firefox"), "my-browser"),
                        (dict(env, BROWSER="no-such-browser", DISPLAY=":9"), "xdg-open")):
            url, _ = serve(e)
            deadline = time.time() + 10
            while not os.path.exists(opened) and time.time() < deadline:
                time.sleep(0.05)
            time.sleep(0.1)
            with open(opened) as f:
                self.assertEqual(f.read(), "%s %s\n" % (want, url))
            os.remove(opened)
        # nothing to open it with: the user is told to
        url, err = serve(env)
        self.assertIn("hint: open the address above in a browser", err)
        self.assertFalse(os.path.exists(opened))

    def test_the_static_page_escapes_everything_and_embeds_its_assets(self):
        out = os.path.join(self.r.tmp, "page.html")
        p = self.r.run("review", "--html", out, BRANCH)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(out, encoding="utf-8") as f:
            page = f.read()
        parser = Scripts()
        parser.feed(page)
        # exactly our two scripts: the page's JSON and its code; no injected one
        self.assertEqual([a.get("type") for a, _ in parser.scripts], ["application/json", None])
        self.assertEqual(json.loads(parser.scripts[0][1])["branch"], BRANCH)
        self.assertNotIn("</", parser.scripts[0][1])
        for _, text in parser.scripts:
            self.assertNotIn(PWN, text)
        self.assertIn("&lt;script&gt;" + PWN + "&lt;/script&gt;", page)
        self.assertIn("&lt;img src=x onerror=", page)
        # nothing from the network
        for ref in ("http://", "https://", "src=\"", "href=\"http"):
            self.assertNotIn(ref, page.replace("http://127.0.0.1", ""))

    # --- in the browser ------------------------------------------------------------------

    @needs_browser
    def test_the_page_in_a_browser_drops_exactly_the_two_functions_chosen(self):
        p, url = self.serve(BRANCH)
        seen = self.drive("live", url, ARTIFACTS, "tota", "s.py:label", "web.js:add")
        before = seen["before"]
        self.assertEqual(seen["dialogs"], [])
        self.assertEqual(seen["errors"], [])
        self.assertFalse(before["pwned"])
        # one card per changed function, each with its side-by-side table
        self.assertEqual(set(before["statuses"]), {"s.py:total", "s.py:label", "web.js:banner",
                                                    "web.js:add"})
        self.assertEqual(before["tables"], before["cards"])
        self.assertGreater(before["addCells"], 0)
        self.assertGreater(before["delCells"], 0)
        # highlighted by the grammars' queries, and word-level marks on the changed line
        self.assertGreater(before["keywords"], 4)
        self.assertGreater(before["functions"], 0)
        self.assertGreater(before["strings"], 0)
        self.assertGreater(before["wordMarks"], 0)
        # markup in code, names and answers is text
        self.assertIn("</script><script>" + PWN + "</script>", before["codeText"])
        self.assertEqual(before["branchText"], BRANCH)
        self.assertIn(BRANCH, before["title"])
        self.assertEqual([t["name"] for t in before["tasks"]], [EVIL_NAME])
        self.assertIn("<img src=x onerror=", before["tasks"][0]["answer"])
        self.assertEqual(before["scripts"], 2)
        # the filter, the status filter, the sort
        self.assertEqual(seen["filtered"], ["s.py:total"])
        self.assertEqual((seen["notApplied"], seen["notAppliedCards"]), (1, 0))
        self.assertEqual((seen["claudeCards"], seen["localCards"]), (0, 4))
        self.assertIn(seen["sortedFirst"], {"s.py:total"})
        # two toggled, one by keyboard and one by mouse
        self.assertEqual(sorted(seen["toggled"]["dropping"]), ["s.py:label", "web.js:add"])
        self.assertEqual(seen["toggled"]["toDrop"], "2")
        # applied: the page shows the new state
        after = seen["after"]
        self.assertEqual(after["statuses"]["s.py:label"], "dropped")
        self.assertEqual(after["statuses"]["web.js:add"], "dropped")
        self.assertEqual(after["statuses"]["s.py:total"], "applied")
        self.assertEqual(after["dropped"], "2")
        self.assertEqual(after["dropping"], [])
        self.assertIn("dropped 2 functions", after["msg"])
        # and git agrees: one commit on top of the run restoring exactly those two
        tip = self.tip()
        self.assertEqual(self.r.git("rev-parse", tip + "^").strip(), self.run_tip)
        self.assertIn("review: drop 2 functions", self.r.git("log", "-1", "--format=%B", tip))
        s_now, js_now = self.show(tip, "s.py"), self.show(tip, "web.js")
        s_run, js_run = self.show(self.run_tip, "s.py"), self.show(self.run_tip, "web.js")
        self.assertIn("def label(name):\n    return \"<b>\" + name + \"</b>\"\n", s_now)
        self.assertIn("function add(a, b) {\n  return a + b;\n}", js_now)
        self.assertEqual(s_now, s_run.replace("def label(name):\n    # refactored\n", "def label(name):\n"))
        self.assertEqual(js_now, js_run.replace("function add(a, b) {\n  // refactored\n", "function add(a, b) {\n"))
        self.assertIn("s = s + i", s_now)
        for name in ("review-page.png", "review-page-dark.png", "review-page-applied.png"):
            self.assertGreater(os.path.getsize(os.path.join(ARTIFACTS, name)), 10000, name)
        p.send_signal(2)
        self.assertEqual(p.wait(timeout=20), 0)

    @needs_browser
    def test_the_static_page_builds_the_drop_command_line(self):
        out = os.path.join(self.r.tmp, "page.html")
        p = self.r.run("review", "--html", out, BRANCH)
        self.assertEqual(p.returncode, 0, p.stderr)
        seen = self.drive("static", "file://" + out, ARTIFACTS, "s.py:total", "web.js:banner")
        self.assertEqual(seen["dialogs"], [])
        self.assertEqual(seen["errors"], [])
        self.assertEqual(seen["requests"], [])
        self.assertFalse(seen["before"]["pwned"])
        # drop all / keep all in a file
        self.assertEqual(sorted(seen["dropAll"]["dropping"]), ["web.js:add", "web.js:banner"])
        self.assertEqual(seen["dropAll"]["cmdline"], "git monitor review '%s' --drop 'web.js:banner' "
                         "--drop 'web.js:add'" % BRANCH)
        self.assertEqual(seen["keepAll"]["dropping"], [])
        cmd = seen["toggled"]["cmdline"]
        self.assertEqual(cmd, "git monitor review '%s' --drop 's.py:total' --drop 'web.js:banner'" % BRANCH)
        # the command line does what it says
        p = subprocess.run(["sh", "-c", cmd.replace("git monitor", gmtest.GIT_MONITOR, 1)],
                           cwd=self.r.path, env=self.r.env, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("dropped 2 functions", p.stderr)
        self.assertIn("            s += i\n", self.show(self.tip(), "s.py"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
