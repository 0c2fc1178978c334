"""git monitor review -i: a branch written by a real `refactor` run (against
the fake LM Studio), gone through in a pseudo-terminal with keystroke
scripts as a person would type them, then checked with git: which functions
were restored, in how many commits, and that an interrupted session wrote
nothing."""
import json
import os
import pty
import re
import select
import signal
import sys
import termios
import time
import warnings

sys.path.insert(0, os.path.dirname(__file__))
import gmtest  # noqa: E402

sys.path.insert(0, os.path.join(gmtest.SOURCE_DIR, "tests", "fakes"))
from fakes import FakeLMStudio  # noqa: E402

warnings.simplefilter("ignore", ResourceWarning)

A_PY = (
    "def first(x):\n"
    "    y = x * 2\n"
    "    return y + 1\n"
    "\n"
    "\n"
    "class Box:\n"
    "    def __init__(self, v):\n"
    "        self.v = v\n"
    "\n"
    "    def size(self):\n"
    "        return len(self.v)\n"
)
B_C = (
    "int twice(int a)\n"
    "{\n"
    "\treturn a * 2;\n"
    "}\n"
    "\n"
    "int thrice(int a)\n"
    "{\n"
    "\treturn a * 3;\n"
    "}\n"
)
# The walk's order: file order.
ORDER = [("a.py", "first"), ("a.py", "Box.__init__"), ("a.py", "Box.size"),
         ("b.c", "twice"), ("b.c", "thrice")]
PROMPT = re.compile(rb"\((\d+)/(\d+)\) Keep this function \[y,n,a,d,q,/,j,k,\?\]\? ")
ANSI = re.compile(rb"\x1b\[[0-9;]*m")


class Session:
    """git-monitor on a pseudo-terminal: read until a pattern, type keys."""

    def __init__(self, repo, *args, env=None):
        e = dict(repo.env, TERM="xterm", COLUMNS="100", LINES="40")
        if env:
            e.update(env)
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: git-monitor on the terminal
            try:
                os.chdir(repo.path)
                os.execve(gmtest.GIT_MONITOR, [gmtest.GIT_MONITOR, *args], e)
            finally:
                os._exit(127)
        self.out = b""
        self.pos = 0
        self.screen = ""
        self.status = None

    def _read(self, timeout):
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return True
        try:
            data = os.read(self.fd, 65536)
        except OSError:
            data = b""
        self.out += data
        return bool(data)

    def expect(self, pattern, timeout=20):
        """Wait until `pattern` (bytes regex) appears after the last match (colours
        ignored); return the match.  self.screen is what came before it."""
        rx = re.compile(pattern) if isinstance(pattern, bytes) else pattern
        deadline = time.time() + timeout
        while True:
            clean = ANSI.sub(b"", self.out)
            m = rx.search(clean, self.pos)
            if m:
                self.screen = clean[self.pos:m.start()].decode(errors="replace").replace("\r\n", "\n")
                self.pos = m.end()
                return m
            left = deadline - time.time()
            if left <= 0 or not self._read(left):
                raise AssertionError("%s waiting for %r; output after the last match:\n%s"
                                     % ("timed out" if left <= 0 else "session ended", pattern,
                                        clean[self.pos:].decode(errors="replace")))

    def prompt(self):
        """Wait for the next prompt; (position, total).  self.screen: the function shown."""
        m = self.expect(PROMPT)
        return int(m.group(1)), int(m.group(2))

    def type(self, keys):
        os.write(self.fd, keys.encode() if isinstance(keys, str) else keys)

    def wait(self, timeout=30):
        """Wait for the exit; its exit code."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            self._read(0.1)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self._read(0)
                return os.waitstatus_to_exitcode(status)
        os.kill(self.pid, signal.SIGKILL)
        raise AssertionError("git-monitor did not exit; output:\n" + self.out.decode(errors="replace"))

    def terminal_modes(self):
        return termios.tcgetattr(self.fd)

    def close(self):
        try:
            os.close(self.fd)
        except OSError:
            pass

    @property
    def text(self):
        return ANSI.sub(b"", self.out).decode(errors="replace")


class InteractiveTest(gmtest.TestCase):
    def setUp(self):
        self.r = self.repo()
        self.base = self.r.commit({"a.py": A_PY, "b.c": B_C}, "base")
        with FakeLMStudio() as srv:
            p = self.r.run("refactor", "-g", "simplify", "--local-only",
                           env={"MONITOR_LOCAL_URL": srv.url})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.branch = p.stdout.splitlines()[0].strip()
        self.run_tip = self.tip()

    def tip(self):
        return self.r.git("rev-parse", self.branch).strip()

    def session(self, *args, env=None):
        s = Session(self.r, "review", "-i", *args, env=env)
        self.addCleanup(s.close)
        return s

    def refactored(self):
        """The functions still changed on the branch: their text carries the fake's comment."""
        out = set()
        for path in ("a.py", "b.c"):
            text = self.r.git("show", "%s:%s" % (self.branch, path))
            for name, marker in (("first", "def first(x):\n    # refactored"),
                                 ("Box.__init__", "def __init__(self, v):\n        # refactored"),
                                 ("Box.size", "def size(self):\n        # refactored"),
                                 ("twice", "int twice(int a)\n{\n\t// refactored"),
                                 ("thrice", "int thrice(int a)\n{\n\t// refactored")):
                if marker in text:
                    out.add((path, name))
        return out

    def assertDropped(self, dropped):
        """Exactly `dropped` restored, in one commit on top of the run."""
        self.assertEqual(self.refactored(), set(ORDER) - set(dropped))
        self.assertEqual(self.r.git("rev-parse", self.branch + "^").strip(), self.run_tip)
        msg = self.r.git("log", "-1", "--format=%B", self.branch)
        self.assertIn("review: drop %d function" % len(dropped), msg)
        for path, name in dropped:
            self.assertIn("%s: %s" % (path, name), msg)
        # every dropped function is byte for byte its base text again
        for path in ("a.py", "b.c"):
            if not any(p == path for p, _ in set(ORDER) - set(dropped)):
                self.assertEqual(self.r.git("show", "%s:%s" % (self.branch, path)),
                                 A_PY if path == "a.py" else B_C)

    def test_y_and_n_keep_and_drop_one_function_each_in_file_order(self):
        s = self.session()
        self.assertEqual(s.prompt(), (1, 5))
        self.assertIn("a.py:1 first\n", s.screen)
        self.assertIn("+    # refactored", s.screen)
        self.assertIn("local:qwen2.5-7b-instruct · 1 attempt", s.screen)
        for key, want in (("y", 2), ("n", 3), ("y", 4), ("n", 5)):
            s.type(key + "\n")
            self.assertEqual(s.prompt()[0], want)
        s.type("y\n")
        self.assertEqual(s.wait(), 0)
        self.assertIn("dropped 2 functions", s.text)
        self.assertDropped([("a.py", "Box.__init__"), ("b.c", "twice")])
        # the note knows
        doc = json.loads(self.r.run("review", "--json", self.branch).stdout)
        self.assertEqual({(f["path"], f["name"]) for f in doc["functions"] if f["status"] == "dropped"},
                         {("a.py", "Box.__init__"), ("b.c", "twice")})

    def test_a_keeps_and_d_drops_the_rest_of_the_file(self):
        s = self.session()
        s.prompt()
        s.type("n\n")
        self.assertEqual(s.prompt(), (2, 5))
        s.type("a\n")
        # Box.size was decided with it: the next one is the first of b.c
        self.assertEqual(s.prompt(), (4, 5))
        self.assertIn("b.c:1 twice", s.screen)
        s.type("d\n")
        self.assertEqual(s.wait(), 0)
        self.assertDropped([("a.py", "first"), ("b.c", "twice"), ("b.c", "thrice")])

    def test_q_applies_the_decisions_so_far_and_keeps_the_rest(self):
        s = self.session()
        s.prompt()
        s.type("n\n")
        s.prompt()
        s.type("q\n")
        self.assertEqual(s.wait(), 0)
        self.assertDropped([("a.py", "first")])

    def test_search_and_j_k_move_between_functions(self):
        s = self.session()
        s.prompt()
        s.type("j\n")
        self.assertEqual(s.prompt(), (2, 5))
        self.assertIn("a.py:8 Box.__init__", s.screen)
        s.type("k\n")
        self.assertEqual(s.prompt(), (1, 5))
        s.type("k\n")
        s.expect(rb"No previous undecided function")
        self.assertEqual(s.prompt(), (1, 5))
        s.type("/siz\n")
        self.assertEqual(s.prompt(), (3, 5))
        self.assertIn("a.py:12 Box.size", s.screen)
        s.type("n\n")
        self.assertEqual(s.prompt(), (4, 5))
        # '/' alone asks for the expression
        s.type("/\n")
        s.expect(rb"search for regex\? ")
        s.type("^thr\n")
        self.assertEqual(s.prompt(), (5, 5))
        self.assertIn("b.c:7 thrice", s.screen)
        s.type("/nomatch\n")
        s.expect(rb"no function matches 'nomatch'")
        self.assertEqual(s.prompt(), (5, 5))
        s.type("?\n")
        s.expect(rb"d - drop this function and every undecided one after it in the file")
        self.assertEqual(s.prompt(), (5, 5))
        s.type("q\n")
        self.assertEqual(s.wait(), 0)
        self.assertDropped([("a.py", "Box.size")])

    def test_ctrl_c_writes_nothing(self):
        before = self.r.snapshot()
        objects = self.r.git("count-objects", "-v")
        s = self.session()
        s.prompt()
        s.type("n\n")
        s.prompt()
        s.type("n\n")
        s.prompt()
        s.type(b"\x03")
        self.assertEqual(s.wait(), 130)
        self.assertIn("nothing written", s.text)
        self.assertUnchanged(before, self.r)
        self.assertEqual(self.r.git("count-objects", "-v"), objects)
        self.assertEqual(self.tip(), self.run_tip)

    def test_single_key_needs_no_enter_and_the_terminal_is_restored_after_ctrl_c(self):
        self.r.git("config", "interactive.singleKey", "true")
        s = self.session()
        s.prompt()
        time.sleep(0.2)
        # waiting for one key: no line editing, no echo
        modes = s.terminal_modes()
        self.assertFalse(modes[3] & (termios.ICANON | termios.ECHO))
        s.type("n")
        self.assertEqual(s.prompt(), (2, 5))
        s.type(b"\x03")
        self.assertEqual(s.wait(), 130)
        modes = s.terminal_modes()
        self.assertTrue(modes[3] & termios.ICANON, "canonical mode not restored")
        self.assertTrue(modes[3] & termios.ECHO, "echo not restored")
        self.assertEqual(self.tip(), self.run_tip)

        # keys typed ahead, faster than the functions are shown, are all taken; a
        # SIGTSTP (Ctrl-Z) gives the terminal back and the key mode comes back after
        # (here the kernel does not stop the orphaned session: it goes straight on)
        s = self.session()
        s.prompt()
        time.sleep(0.2)
        os.kill(s.pid, signal.SIGTSTP)
        time.sleep(0.3)
        modes = s.terminal_modes()
        self.assertFalse(modes[3] & (termios.ICANON | termios.ECHO), "key mode not back after SIGTSTP")
        s.type("yn")
        self.assertEqual(s.prompt(), (2, 5))
        self.assertEqual(s.prompt(), (3, 5))
        s.type("q")
        self.assertEqual(s.wait(), 0)
        self.assertDropped([("a.py", "Box.__init__")])

    def test_keeping_everything_writes_nothing(self):
        before = self.r.snapshot()
        s = self.session()
        for _ in range(5):
            s.prompt()
            s.type("y\n")
        self.assertEqual(s.wait(), 0)
        self.assertIn("nothing dropped", s.text)
        self.assertUnchanged(before, self.r)

    def test_end_of_input_is_quit(self):
        s = self.session()
        s.prompt()
        s.type("n\n")
        s.prompt()
        s.type(b"\x04")
        self.assertEqual(s.wait(), 0)
        self.assertDropped([("a.py", "first")])

    def test_pathspecs_and_function_globs_choose_what_is_asked(self):
        s = self.session(self.branch, "b.c")
        self.assertEqual(s.prompt(), (1, 2))
        self.assertIn("b.c:1 twice", s.screen)
        s.type("q\n")
        self.assertEqual(s.wait(), 0)
        s = self.session("-f", "Box.*")
        self.assertEqual(s.prompt(), (1, 2))
        self.assertIn("Box.__init__", s.screen)
        s.type("y\n")
        self.assertEqual(s.prompt(), (2, 2))
        s.type("n\n")
        self.assertEqual(s.wait(), 0)
        self.assertDropped([("a.py", "Box.size")])

    def test_colours_follow_git_config(self):
        self.r.git("config", "color.diff.new", "bold magenta")
        s = self.session()
        s.prompt()
        self.assertIn(b"\x1b[1;35m+    # refactored", s.out)
        self.assertIn(b"\x1b[36m@@ ", s.out)  # frag: git's default cyan
        s.type("q\n")
        self.assertEqual(s.wait(), 0)
        self.r.git("config", "color.ui", "never")
        s = self.session()
        s.prompt()
        self.assertNotIn(b"\x1b[", s.out)
        s.type("q\n")
        s.wait()

    def test_never_pages_and_follows_NO_COLOR_and_git_c(self):
        # a pager that would take the terminal away from the questions
        marker = os.path.join(self.r.tmp, "paged")
        pager = os.path.join(self.r.tmp, "pager")
        with open(pager, "w") as f:
            f.write("#!/bin/sh\ntouch '%s'\ncat\n" % marker)
        os.chmod(pager, 0o755)
        self.r.git("config", "pager.monitor.review", "true")
        s = self.session(env={"GIT_PAGER": pager, "PAGER": pager})
        self.assertEqual(s.prompt(), (1, 5))
        self.assertIn(b"\x1b[", s.out)
        s.type("q\n")
        self.assertEqual(s.wait(), 0)
        self.assertFalse(os.path.exists(marker), "review -i started a pager")
        # NO_COLOR, and git -c as git passes it, turn the colours off
        s = self.session(env={"NO_COLOR": "1"})
        s.prompt()
        self.assertNotIn(b"\x1b[", s.out)
        s.type("q\n")
        self.assertEqual(s.wait(), 0)
        s = self.session(env={"GIT_CONFIG_PARAMETERS": "'color.ui'='never'"})
        s.prompt()
        self.assertNotIn(b"\x1b[", s.out)
        s.type("q\n")
        self.assertEqual(s.wait(), 0)

    def test_refuses_without_a_terminal(self):
        before = self.r.snapshot()
        p = self.r.run("review", "-i", input="y\n")
        self.assertOneLineError(p, 129, "--drop")
        self.assertIn("needs a terminal", p.stderr)
        self.assertEqual(p.stdout, "")
        self.assertUnchanged(before, self.r)


if __name__ == "__main__":
    gmtest.main()
