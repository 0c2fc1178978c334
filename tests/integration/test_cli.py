"""The command line as a user at a terminal meets it (issue 13): the progress
line (through a pseudo-terminal), the pager as git chooses it, colour,
tables that fit the width, git's help and errors, list and clean, shell
completion."""
import fcntl
import json
import os
import pty
import re
import select
import shutil
import signal
import stat
import struct
import subprocess
import sys
import termios
import threading
import time
import unicodedata

import gmtest

sys.path.insert(0, os.path.join(gmtest.SOURCE_DIR, "tests", "fakes"))
from fakes import FakeLMStudio  # noqa: E402

ESC = "\x1b"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
BIN_DIR = os.path.dirname(os.path.abspath(gmtest.GIT_MONITOR))


def display_width(s):
    s = ANSI.sub("", s)
    w = 0
    for ch in s:
        if unicodedata.combining(ch):
            continue
        w += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return w


class Pty:
    """Run a command on a pseudo-terminal of `cols` columns: stdin, stdout and
    stderr on it (or stdout on a pipe), the terminal its controlling one, so
    a Ctrl-C written to it is a SIGINT as at a keyboard.  The output is
    collected with the time each chunk arrived."""

    def __init__(self, argv, cwd, env, cols=80, rows=40, stdout_pipe=False):
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.chunks = []  # (time, text)
        self.t0 = time.monotonic()

        def preexec():
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=slave,
                                     stdout=subprocess.PIPE if stdout_pipe else slave,
                                     stderr=slave, preexec_fn=preexec, close_fds=True)
        os.close(slave)
        self.stdout_data = b""
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        if stdout_pipe:
            self.out_reader = threading.Thread(target=self._read_stdout, daemon=True)
            self.out_reader.start()
        else:
            self.out_reader = None

    def _read(self):
        while True:
            try:
                r, _, _ = select.select([self.master], [], [], 0.05)
                if not r:
                    if self.proc.poll() is not None and not self._pending():
                        break
                    continue
                data = os.read(self.master, 65536)
            except OSError:
                break
            if not data:
                break
            self.chunks.append((time.monotonic() - self.t0, data.decode("utf-8", "replace")))

    def _pending(self):
        r, _, _ = select.select([self.master], [], [], 0)
        return bool(r)

    def _read_stdout(self):
        self.stdout_data = self.proc.stdout.read()

    def text(self):
        return "".join(c for _, c in self.chunks)

    def wait_for(self, pattern, timeout=30):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if re.search(pattern, self.text()):
                return time.monotonic() - self.t0
            if self.proc.poll() is not None:
                time.sleep(0.1)
                if re.search(pattern, self.text()):
                    return time.monotonic() - self.t0
                break
            time.sleep(0.02)
        raise AssertionError("%r never appeared in %r" % (pattern, self.text()[-2000:]))

    def ctrl_c(self):
        os.write(self.master, b"\x03")

    def wait(self, timeout=120):
        rc = self.proc.wait(timeout=timeout)
        self.reader.join(timeout=5)
        if self.out_reader:
            self.out_reader.join(timeout=5)
        os.close(self.master)
        return rc


def pty_env(repo, **extra):
    env = dict(repo.env, TERM="xterm")
    env.pop("COLUMNS", None)
    env.update(extra)
    return env


def functions_repo(tc, n=8, files=2):
    r = tc.repo()
    files_content = {}
    for f in range(files):
        body = ""
        for i in range(n // files):
            body += "def func_%d_%d(x):\n    if x > %d:\n        return x - 1\n    return x + 1\n\n\n" % (f, i, i)
        files_content["mod%d.py" % f] = body
    r.commit(files_content, "functions")
    return r


def draws(text):
    """The progress lines drawn: each '\\r' + text + erase-to-end."""
    return re.findall(r"\r(refactor: [^\r\x1b]*)\x1b\[K", text)


class ProgressTest(gmtest.TestCase):
    def test_redrawn_while_answers_are_pending_with_eta_and_per_server_counts(self):
        r = functions_repo(self, n=8)
        with FakeLMStudio(latency=1.5, concurrency=4) as srv:
            port = srv.url.split(":")[2].split("/")[0]
            t = Pty([gmtest.GIT_MONITOR, "refactor", "-g", "tidy", "-j", "4"], r.path,
                    pty_env(r, MONITOR_LOCAL_URL=srv.url), cols=160, stdout_pipe=True)
            rc = t.wait()
        self.assertEqual(rc, 0, t.text())
        text = t.text()
        lines = draws(text)
        # While the first four answers are awaited (1.5 s, nothing finishes) the
        # line is redrawn on the timer: the elapsed time moves, 0/8 stays.
        pending = [l for l in lines if "(0/8)" in l]
        self.assertGreater(len(pending), 5, lines[:20])
        self.assertGreater(len({re.search(r"\d+:\d\d elapsed", l).group(0) for l in pending}), 1,
                           pending)
        # Per server, as many running as the slots, the rest queued.
        self.assertTrue(any("local 127.0.0.1:%s: 4 running, 4 queued" % port in l for l in pending),
                        pending)
        # Once answers came, an ETA from the observed rate and a token rate.
        later = [l for l in lines if "(4/8)" in l]
        self.assertTrue(later, lines)
        self.assertTrue(all(re.search(r"ETA \d+:\d\d", l) for l in later), later)
        self.assertTrue(any(re.search(r"\d+\.\d tok/s", l) for l in lines), lines)
        # No Claude configured: no Claude, no cost on the line.
        self.assertFalse(any("claude" in l or "$" in l for l in lines), lines)
        # Never wider than the terminal, and gone at the end: erased before
        # the summary, so what follows starts on a clean line.
        self.assertTrue(all(display_width(l) < 160 for l in lines))
        last = text.rindex("\r\x1b[K")
        self.assertGreater(last, text.rindex("refactor: "))
        self.assertTrue(text[last + 4:].startswith("8 functions: 8 applied"), repr(text[last - 200:]))
        self.assertIn(b"monitor/", t.stdout_data)

    def test_at_80_columns_a_fleets_line_keeps_its_eta_and_rate(self):
        r = functions_repo(self, n=24)
        with FakeLMStudio(latency=0.8, concurrency=2) as a, FakeLMStudio(latency=0.8, concurrency=2) as b:
            for s in (a, b):
                r.git("config", "--add", "monitor.local.url", s.url)
            t = Pty([gmtest.GIT_MONITOR, "refactor", "-g", "tidy"], r.path, pty_env(r), cols=80,
                    stdout_pipe=True)
            rc = t.wait()
        self.assertEqual(rc, 0, t.text())
        lines = draws(t.text())
        later = [l for l in lines if "ETA" in l]
        self.assertTrue(later, lines)
        # the servers summed and, while the queue is long, the words a reader
        # can do without left out: the rate is still there, nothing cut
        for l in later:
            self.assertLessEqual(display_width(l), 77, l)
            self.assertRegex(l, r"\(\d+/24\), \d+:\d\d( elapsed)?, ETA \d+:\d\d, (local )?\d\+\d running.* tok/s$")
        self.assertTrue(any(re.search(r"\d+:\d\d, ETA .*, \d+ queued, \d+ tok/s$", l) for l in later), later)

    def test_ctrl_c_clears_the_line_stops_within_a_second_and_says_so_once(self):
        r = functions_repo(self, n=8)
        before = r.snapshot()
        with FakeLMStudio(latency=5, concurrency=4) as srv:
            # set-up's model lists take 5 s each: a Ctrl-C while connecting
            t = Pty([gmtest.GIT_MONITOR, "refactor", "-g", "tidy"], r.path,
                    pty_env(r, MONITOR_LOCAL_URL=srv.url), cols=80)
            t.wait_for(r"refactor: connecting to http://127\.0\.0\.1:\d+/v1, 0:01")
            sent = time.monotonic()
            t.ctrl_c()
            rc = t.wait()
            took = time.monotonic() - sent
        self.assertEqual(rc, 130, t.text())
        self.assertLess(took, 1.0, t.text())
        text = t.text()
        after = text[text.rindex("connecting"):]
        # the line (and the echoed ^C) erased, then one message on a clean line
        self.assertRegex(after, r"\r\x1b\[K(\r\x1b\[K)*git-monitor: interrupted; no branch was written\r?\n$")
        self.assertEqual(text.count("git-monitor:"), 1, text)
        self.assertUnchanged(before, r)

    def test_ctrl_c_while_answers_stream(self):
        r = functions_repo(self, n=8)
        before = r.snapshot()
        with FakeLMStudio(latency=3, concurrency=4) as srv:
            t = Pty([gmtest.GIT_MONITOR, "refactor", "-g", "tidy"], r.path,
                    pty_env(r, MONITOR_LOCAL_URL=srv.url), cols=80)
            # once the requests are out (set-up asks three model lists first)
            t.wait_for(r"refactor:   0% \(0/8\)", timeout=60)
            time.sleep(0.3)
            sent = time.monotonic()
            t.ctrl_c()
            rc = t.wait()
            took = time.monotonic() - sent
        self.assertEqual(rc, 130, t.text())
        self.assertLess(took, 1.0)
        text = t.text()
        self.assertTrue(text.endswith("git-monitor: interrupted; no branch was written\r\n"), repr(text[-300:]))
        tail = text[text.rindex("(0/8)"):]
        self.assertIn("\r\x1b[K", tail)
        # 80 columns: the line left room for the echoed ^C, so it never wrapped
        self.assertTrue(all(display_width(l) <= 77 for l in draws(text)), draws(text))
        self.assertUnchanged(before, r)

    def test_off_without_a_terminal_or_with_q_and_forced_with_progress(self):
        r = functions_repo(self, n=2, files=1)
        with FakeLMStudio(latency=0.3) as srv:
            env = {"MONITOR_LOCAL_URL": srv.url}
            p = r.run("refactor", "-g", "a", env=env)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertNotIn("\r", p.stderr)
            p = subprocess.run([gmtest.GIT_MONITOR, "refactor", "-g", "b", "--progress"], cwd=r.path,
                               env=dict(r.env, **env), capture_output=True, timeout=120)
            self.assertEqual(p.returncode, 0, p.stderr)
            err = p.stderr.decode()
            self.assertIn("\rrefactor: ", err)
            # off a terminal a line is written only when it changes, at most once a second
            shown = re.findall(r"\r(refactor: [^\r\n]*)", err)
            self.assertEqual(len(shown), len(set(shown)), shown)
            self.assertNotIn("\x1b[K", err)
            t = Pty([gmtest.GIT_MONITOR, "refactor", "-g", "c", "-q"], r.path, pty_env(r, **env),
                    stdout_pipe=True)
            self.assertEqual(t.wait(), 0)
            self.assertNotIn("refactor:", t.text())


FAKE_PAGER = r"""#!/usr/bin/env python3
import json, os, sys
data = sys.stdin.buffer.read()
with open(os.environ["PAGER_LOG"], "a") as f:
    f.write(json.dumps({"argv": sys.argv, "name": os.path.basename(sys.argv[0]),
                        "less": os.environ.get("LESS"), "lv": os.environ.get("LV"),
                        "in_use": os.environ.get("GIT_PAGER_IN_USE"),
                        "columns": os.environ.get("COLUMNS"),
                        "input": data.decode("utf-8", "replace")}) + "\n")
"""


class PagerTest(gmtest.TestCase):
    def setUp(self):
        self.r = self.repo()
        self.r.commit({"a.py": "def f(x):\n    return x\n\n\ndef g(y):\n    return y\n"}, "two")
        self.bin = os.path.join(self.r.tmp, "bin")
        os.makedirs(self.bin)
        self.log = os.path.join(self.r.tmp, "pager.log")
        for name in ("fakepager", "otherpager", "less", "envpager"):
            p = os.path.join(self.bin, name)
            with open(p, "w") as f:
                f.write(FAKE_PAGER)
            os.chmod(p, 0o755)
        os.symlink(os.path.abspath(gmtest.GIT_MONITOR), os.path.join(self.bin, "git-monitor"))

    def run_tty(self, args, cmd=None, **env):
        e = pty_env(self.r, PAGER_LOG=self.log, PATH=self.bin + os.pathsep + os.environ["PATH"])
        for k in ("PAGER", "GIT_PAGER", "LESS", "LV"):
            e.pop(k, None)
        e.update(env)
        t = Pty(cmd or [gmtest.GIT_MONITOR] + args, self.r.path, e)
        rc = t.wait()
        return rc, t.text()

    def pagers(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            runs = [json.loads(l) for l in f]
        os.unlink(self.log)
        return runs

    def test_default_is_less_with_frx_and_it_gets_the_table(self):
        rc, out = self.run_tty(["scan"])
        self.assertEqual(rc, 0, out)
        runs = self.pagers()
        self.assertEqual(len(runs), 1, out)
        self.assertEqual(runs[0]["name"], "less")
        self.assertEqual(runs[0]["argv"][1:], [])
        self.assertEqual(runs[0]["less"], "FRX")
        self.assertEqual(runs[0]["lv"], "-c")
        self.assertIsNone(runs[0]["in_use"])  # as git: not passed on to the pager
        self.assertEqual(runs[0]["columns"], "80")
        self.assertIn("LOCATION", runs[0]["input"])
        self.assertIn("a.py:1-2", runs[0]["input"])
        self.assertNotIn("LOCATION", out)  # the table went to the pager, not the terminal
        # LESS as the user has it is left alone
        self.run_tty(["scan"], LESS="-S")
        self.assertEqual(self.pagers()[0]["less"], "-S")

    def test_git_pager_then_core_pager_then_pager(self):
        self.run_tty(["scan"], GIT_PAGER="fakepager", PAGER="otherpager")
        self.assertEqual(self.pagers()[0]["name"], "fakepager")
        self.r.git("config", "core.pager", "otherpager --flag")
        self.run_tty(["scan"], PAGER="envpager")
        runs = self.pagers()
        self.assertEqual(runs[0]["name"], "otherpager")
        self.assertEqual(runs[0]["argv"][1:], ["--flag"])  # run through the shell
        self.r.git("config", "--unset", "core.pager")
        self.run_tty(["scan"], PAGER="envpager")
        self.assertEqual(self.pagers()[0]["name"], "envpager")
        # "" and "cat" mean none
        rc, out = self.run_tty(["scan"], GIT_PAGER="cat")
        self.assertEqual(self.pagers(), [])
        self.assertIn("LOCATION", out)

    def test_pager_monitor_cmd_and_no_pager_and_no_terminal(self):
        self.r.git("config", "pager.monitor.scan", "false")
        rc, out = self.run_tty(["scan"])
        self.assertEqual(self.pagers(), [])
        self.assertIn("LOCATION", out)
        self.r.git("config", "pager.monitor.scan", "fakepager")
        self.run_tty(["scan"])
        self.assertEqual(self.pagers()[0]["name"], "fakepager")
        self.r.git("config", "--unset", "pager.monitor.scan")
        for args in (["scan", "--no-pager"], ["--no-pager", "scan"], ["-P", "scan"]):
            rc, out = self.run_tty(args)
            self.assertEqual(rc, 0, out)
            self.assertEqual(self.pagers(), [], args)
            self.assertIn("LOCATION", out)
        # git --no-pager monitor (git sets GIT_PAGER=cat for the subcommand)
        rc, out = self.run_tty(None, cmd=["git", "--no-pager", "monitor", "scan"])
        self.assertEqual(rc, 0, out)
        self.assertEqual(self.pagers(), [])
        self.assertIn("LOCATION", out)
        # git -p monitor: git's pager is used, no second one
        rc, out = self.run_tty(None, cmd=["git", "-p", "monitor", "scan"], GIT_PAGER="fakepager")
        runs = self.pagers()
        self.assertEqual(len(runs), 1)
        self.assertIn("LOCATION", runs[0]["input"])
        # not a terminal: never
        p = self.r.run("scan", env={"PAGER_LOG": self.log, "GIT_PAGER": "fakepager",
                                    "PATH": self.bin + os.pathsep + os.environ["PATH"]})
        self.assertEqual(p.returncode, 0)
        self.assertEqual(self.pagers(), [])
        self.assertIn("LOCATION", p.stdout)

    def test_list_and_review_diff_are_paged(self):
        with FakeLMStudio() as srv:
            p = self.r.run("refactor", "-g", "x", env={"MONITOR_LOCAL_URL": srv.url})
        self.assertEqual(p.returncode, 0, p.stderr)
        branch = p.stdout.splitlines()[0]
        for args, needle in ((["review", "--diff", branch], "@@"), (["review", branch], "STATUS"),
                             (["list"], "BRANCH")):
            rc, out = self.run_tty(args, GIT_PAGER="fakepager")
            self.assertEqual(rc, 0, out)
            runs = self.pagers()
            self.assertEqual(len(runs), 1, args)
            self.assertIn(needle, runs[0]["input"])


def complex_py(name="knotty", n=12):
    body = "".join("    if x == %d:\n        return %d\n" % (i, i) for i in range(n))
    return "def %s(x):\n%s    return -1\n" % (name, body)


class ColorTest(gmtest.TestCase):
    def setUp(self):
        self.r = self.repo()
        self.r.commit({"a.py": complex_py() + "\n\ndef small(x):\n    return x\n"}, "c")

    def scan_tty(self, *args, **env):
        t = Pty([gmtest.GIT_MONITOR, "scan", "--no-pager"] + list(args), self.r.path, pty_env(self.r, **env))
        self.assertEqual(t.wait(), 0)
        return t.text()

    def test_auto_on_a_terminal_complexity_over_the_threshold_in_red(self):
        out = self.scan_tty()
        self.assertIn("\x1b[31m13\x1b[m", out)  # cc 13 >= monitor.route.complexity 10
        self.assertNotIn("\x1b[31m1\x1b[m", out)

    def test_no_color_and_color_ui_never_and_dumb_terminals(self):
        self.assertNotIn(ESC + "[3", self.scan_tty(NO_COLOR="1"))
        self.assertNotIn(ESC + "[3", self.scan_tty(TERM="dumb"))
        self.r.git("config", "color.ui", "never")
        self.assertNotIn(ESC + "[3", self.scan_tty())
        # --color wins over config and NO_COLOR; color.monitor wins over NO_COLOR
        self.assertIn("\x1b[31m13", self.scan_tty("--color=always", NO_COLOR="1"))
        self.r.git("config", "color.monitor", "always")
        self.assertIn("\x1b[31m13", self.scan_tty(NO_COLOR="1"))
        self.r.git("config", "--unset", "color.monitor")
        self.r.git("config", "--unset", "color.ui")
        # git -c color.ui=never monitor (GIT_CONFIG_PARAMETERS)
        e = pty_env(self.r, PATH=BIN_DIR + os.pathsep + os.environ["PATH"])
        t = Pty(["git", "-c", "color.ui=never", "monitor", "scan", "--no-pager"], self.r.path, e)
        self.assertEqual(t.wait(), 0)
        self.assertNotIn(ESC + "[3", t.text())
        self.assertIn("LOCATION", t.text())

    def test_off_a_terminal_unless_always_and_slots_from_config(self):
        p = self.r.run("scan")
        self.assertNotIn(ESC, p.stdout)
        self.r.git("config", "color.ui", "always")
        self.r.git("config", "color.monitor.complex", "magenta bold")
        p = self.r.run("scan")
        self.assertIn("\x1b[1;35m13\x1b[m", p.stdout)
        p = self.r.run("scan", env={"NO_COLOR": "1"})
        self.assertNotIn(ESC, p.stdout)

    def test_statuses_in_the_report_and_review_and_diff_slots(self):
        with FakeLMStudio() as srv:
            p = self.r.run("refactor", "-g", "x", "--color=always", env={"MONITOR_LOCAL_URL": srv.url})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("\x1b[32mapplied\x1b[m", p.stdout)
        branch = p.stdout.splitlines()[0]
        p = self.r.run("review", branch, "--color=always")
        self.assertIn("\x1b[32mapplied\x1b[m", p.stdout)
        self.r.git("config", "color.diff.new", "blue")
        p = self.r.run("review", branch, "--diff", "--color=always")
        self.assertRegex(p.stdout, r"\x1b\[34m\+ *# refactored\x1b\[m")
        self.assertIn("\x1b[36m@@", p.stdout)
        p = self.r.run("review", branch, "--diff", "--color=always", env={"NO_COLOR": "1"})
        self.assertIn(ESC, p.stdout)  # the flag wins
        p = self.r.run("review", branch, "--diff", env={"NO_COLOR": "1"})
        self.assertNotIn(ESC, p.stdout)


LONG = "process_the_incoming_order_and_update_the_inventory_levels_for_every_warehouse"
JP = "在庫の数を倉庫ごとに計算して注文を処理する関数"


class WidthTest(gmtest.TestCase):
    def setUp(self):
        self.r = self.repo()
        deep = "src/services/fulfilment/warehouse/inventory/adjustments/"
        self.path = deep + "order_processing_pipeline.py"
        self.r.commit({
            self.path: "def %s(order):\n    return order\n\n\ndef short(x):\n    return x\n" % LONG,
            "naïve/日本語の関数.py": "def %s(値):\n    return 値\n" % JP,
        }, "long names")

    def assertFits(self, text, width):
        for line in text.splitlines():
            self.assertLessEqual(display_width(line), width, line)

    def test_scan_fits_80_columns_off_a_terminal_names_cut_in_the_middle(self):
        p = self.r.run("scan")
        self.assertEqual(p.returncode, 0)
        self.assertFits(p.stdout, 80)
        row = [l for l in p.stdout.splitlines() if "process" in l][0]
        self.assertRegex(row, r"^src/\S*…\S*py:1-2 +process\S*…\S*ehouse ")
        # every row has all its columns: the route at the end
        for line in p.stdout.splitlines()[1:]:
            self.assertRegex(line, r" (local|claude)$")
        # UTF-8 names are cut on character boundaries, by display width (a
        # CJK character is two columns); paths as core.quotePath says
        self.r.git("config", "core.quotePath", "false")
        p = subprocess.run([gmtest.GIT_MONITOR, "scan"], cwd=self.r.path, capture_output=True,
                           env=dict(self.r.env, COLUMNS="72"), timeout=60)
        out = p.stdout.decode("utf-8")  # strict: a cut inside a character would fail here
        self.assertFits(out, 72)
        row = [l for l in out.splitlines() if "在庫" in l][0]
        self.assertRegex(row, r"^naï\S*…\S*:1-2 +在庫\S*…\S*関数 ")
        # full names with -v and in --json
        p = self.r.run("scan", "-v")
        self.assertIn(self.path + ":1-2", p.stdout)
        self.assertIn(LONG, p.stdout)
        units = json.loads(self.r.run("scan", "--json").stdout)["units"]
        self.assertIn(LONG, [u["name"] for u in units])

    def test_the_terminal_width_is_used_on_a_terminal(self):
        t = Pty([gmtest.GIT_MONITOR, "scan", "--no-pager"], self.r.path, pty_env(self.r), cols=220)
        self.assertEqual(t.wait(), 0)
        self.assertIn(LONG, t.text())
        self.assertFits(t.text(), 220)
        t = Pty([gmtest.GIT_MONITOR, "scan", "--no-pager"], self.r.path, pty_env(self.r), cols=80)
        self.assertEqual(t.wait(), 0)
        self.assertNotIn(LONG, t.text())
        self.assertFits(t.text(), 80)

    def test_the_report_and_review_never_wider_than_80(self):
        with FakeLMStudio() as srv:
            p = self.r.run("refactor", "-g", "make it nicer", env={"MONITOR_LOCAL_URL": srv.url})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertFits(p.stdout, 80)
        self.assertIn("…", p.stdout)
        branch = p.stdout.splitlines()[0]
        p = self.r.run("review", branch)
        self.assertFits(p.stdout, 80)
        p = self.r.run("list")
        self.assertFits(p.stdout, 80)
        p = self.r.run("refactor", "--dry-run", "-g", "x", env={"MONITOR_LOCAL_URL": "http://127.0.0.1:9/v1"})
        self.assertFits(p.stdout, 80)

    def test_a_fleets_report_at_80_columns_keeps_room_for_what_says_something(self):
        with FakeLMStudio() as a, FakeLMStudio() as b:
            for s in (a, b):
                self.r.git("config", "--add", "monitor.local.url", s.url)
            p = self.r.run("refactor", "-g", "x")
        self.assertEqual(p.returncode, 0, p.stderr)
        table = p.stdout.splitlines()[1:]
        # every function applied: no REASON column taking room from the names
        self.assertNotIn("REASON", table[0])
        # the model cut at its end ("qwen2.5…"), not to "qwen…uct"
        self.assertTrue(all(re.search(r" qwen2\.5\S*…? ", l) for l in table[1:] if "applied" in l), table)
        self.assertIn("short", "\n".join(table))
        # the servers' lines name each server as the progress line does, in 80 columns
        servers = [l for l in p.stderr.splitlines() if l.startswith("server ")]
        self.assertEqual(len(servers), 2, p.stderr)
        self.assertFits("\n".join(servers), 80)
        self.assertTrue(servers[0].startswith("server 127.0.0.1:"), servers)


class ScanOrderTest(gmtest.TestCase):
    def test_sort_top_and_min_complexity(self):
        r = self.repo()
        r.commit({"a.py": complex_py("big", 12) + "\n\n" + complex_py("mid", 5) + "\n\n"
                  "def tiny(x):\n    return x\n" + "\n\n" + complex_py("alpha", 3)}, "mix")
        names = lambda p: [l.split()[1] for l in p.stdout.splitlines()[1:]]
        self.assertEqual(names(r.run("scan", "--sort", "cc")), ["big", "mid", "alpha", "tiny"])
        self.assertEqual(names(r.run("scan", "--sort", "name")), ["alpha", "big", "mid", "tiny"])
        self.assertEqual(names(r.run("scan", "--sort=lines", "--top", "2")), ["big", "mid"])
        self.assertEqual(names(r.run("scan", "--min-complexity", "5")), ["big", "mid"])
        j = json.loads(r.run("scan", "--json", "--sort", "cc", "--top", "1").stdout)
        self.assertEqual([u["name"] for u in j["units"]], ["big"])
        self.assertEqual(j["summary"]["units"], 4)
        p = r.run("scan", "--sort", "complexity")
        self.assertUsageError(p, "bad --sort 'complexity'", "scan")


class HelpTest(gmtest.TestCase):
    def test_did_you_mean_a_command(self):
        r = self.repo()
        p = r.run("scna")
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr, "git-monitor: 'scna' is not a git-monitor command; see 'git monitor -h'\n"
                                   "\nThe most similar command is\n\tscan\n")
        p = r.run("re")
        self.assertIn("The most similar commands are\n\trefactor\n\treview\n", p.stderr)
        p = r.run("xyzzyq")
        self.assertNotIn("similar", p.stderr)

    def test_help_autocorrect(self):
        r = self.repo()
        r.commit({"a.py": "def f():\n    pass\n"})
        p = r.run("scna", "--json", env={"GIT_CONFIG_PARAMETERS": "'help.autocorrect'='immediate'"})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("WARNING: You called a git-monitor command named 'scna', which does not exist.", p.stderr)
        self.assertIn("Continuing under the assumption that you meant 'scan'.", p.stderr)
        self.assertEqual(json.loads(p.stdout)["summary"]["units"], 1)
        r.git("config", "help.autocorrect", "5")
        p = r.run("scna", "-q")
        self.assertIn("Continuing in 0.5 seconds, assuming that you meant 'scan'.", p.stderr)
        self.assertEqual(p.returncode, 0)
        r.git("config", "help.autocorrect", "never")
        p = r.run("scna")
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr.count("\n"), 1)
        # prompt: not on a terminal, so never
        r.git("config", "help.autocorrect", "prompt")
        self.assertEqual(r.run("scna", input="y\n").returncode, 1)

    def test_did_you_mean_an_option_usage_and_exit_129(self):
        r = self.repo()
        p = r.run("scan", "--jsno")
        self.assertUsageError(p, "unknown option '--jsno'", "scan")
        self.assertIn("\nhint: did you mean '--json'?\n", p.stderr)
        self.assertIn("--min-complexity N", p.stderr)  # the options follow the usage
        p = r.run("refactor", "--dry-rn")
        self.assertIn("hint: did you mean '--dry-run'?", p.stderr)
        p = r.run("refactor", "--no")
        self.assertUsageError(p, "ambiguous option '--no' (could be --no-cache or --no-progress)", "refactor")
        p = r.run("refactor", "--jobs")
        self.assertUsageError(p, "option '--jobs' needs a value", "refactor")
        p = r.run("refactor", "--jobs", "many")
        self.assertUsageError(p, "bad value 'many' for --jobs", "refactor")
        p = r.run("clean", "--older-than", "soon")
        self.assertUsageError(p, "bad age 'soon'", "clean")
        p = r.run("-x")
        self.assertEqual(p.returncode, 129)

    def test_h_exits_129_and_help_cmd_is_cmd_h(self):
        r = self.repo()
        for cmd in ("scan", "refactor", "review", "list", "clean", "hook", "doctor"):
            h = r.run(cmd, "-h")
            self.assertEqual(h.returncode, 129, cmd)
            self.assertTrue(h.stdout.startswith("usage: git monitor %s" % cmd), h.stdout)
            self.assertEqual(h.stderr, "")
            p = r.run("help", cmd)
            self.assertEqual(p.returncode, 0)
            self.assertEqual(p.stdout, h.stdout)
            for line in h.stdout.splitlines():
                self.assertLess(display_width(line), 80, line)
        p = r.run("-h")
        self.assertEqual(p.returncode, 0)  # as `git -h`
        for line in p.stdout.splitlines():
            self.assertLess(display_width(line), 80, line)
        self.assertIn("list", p.stdout)
        self.assertIn("clean", p.stdout)
        p = r.run("help")
        self.assertEqual(p.returncode, 0)
        self.assertEqual(p.stdout, r.run("-h").stdout)
        p = r.run("help", "scna")
        self.assertIn("The most similar command is\n\tscan", p.stderr)

    def test_abbreviated_long_options_as_git_allows(self):
        r = self.repo()
        r.commit({"a.py": "def f():\n    pass\n"})
        self.assertEqual(json.loads(r.run("scan", "--js").stdout)["summary"]["units"], 1)
        self.assertEqual(r.run("scan", "--no-json").returncode, 0)

    def test_the_manual_without_installing(self):
        r = self.repo()
        page = os.path.join(BIN_DIR, "share", "man", "man1", "git-monitor.1")
        self.assertTrue(os.path.exists(page), "the build tree holds the man page")
        if not shutil.which("man"):
            self.skipTest("man is not installed")
        env = {"MANPAGER": "cat", "PAGER": "cat", "MANWIDTH": "80"}
        p = r.run("help", "-m", env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        for cmd in ("scan", "refactor", "review", "list", "clean", "hook", "doctor", "help"):
            self.assertRegex(p.stdout, r"\n   git monitor %s\n" % cmd)
        # `git monitor --help` is git's `git help monitor`: man finds the page
        # next to the git-monitor that PATH finds (man-db's <dir>/share/man).
        e = dict(env, PATH=BIN_DIR + os.pathsep + os.environ["PATH"])
        e.pop("MANPATH", None)
        p = subprocess.run(["git", "monitor", "--help"], cwd=r.path, env=dict(r.env, **e),
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout.replace("\u2010", "-"), r"git-monitor +- refactor a repository")


def run_env(srv):
    return {"MONITOR_LOCAL_URL": srv.url}


class ListCleanTest(gmtest.TestCase):
    """Runs merged, unmerged, old and checked out; nothing but their own refs,
    notes and cache entries goes."""

    def setUp(self):
        self.r = r = self.repo()
        r.commit({"a.py": "def f(x):\n    return x\n", "b.py": "def g(y):\n    return y\n"}, "base")
        with FakeLMStudio() as srv:
            self.merged = self.refactor("-g", "first goal", "--", "a.py", srv=srv)
            self.unmerged = self.refactor("-g", "second goal", "--", "b.py", srv=srv)
            # a re-run of the first: answered from the cache, the same keys
            self.again = self.refactor("-g", "first goal", "--", "a.py", srv=srv)
        r.git("merge", "-q", "--no-edit", self.merged)
        # an old run: the second's commit as it would have been made 40 days ago
        tip = r.git("rev-parse", self.unmerged).strip()
        tree = r.git("rev-parse", tip + "^{tree}").strip()
        parent = r.git("rev-parse", tip + "^").strip()
        msg = r.git("log", "-1", "--format=%B", tip)
        then = "@%d +0000" % (time.time() - 40 * 86400)
        old_env = dict(r.env, GIT_COMMITTER_DATE=then, GIT_AUTHOR_DATE=then)
        old = subprocess.run(["git", "commit-tree", tree, "-p", parent, "-F", "-"], cwd=r.path,
                             env=old_env, input=msg, capture_output=True, text=True, check=True).stdout.strip()
        note = json.loads(r.git("notes", "--ref", "monitor", "show", tip))
        note["commit"], note["branch"], note["goal"] = old, "monitor/old-run", "an old goal"
        r.git("notes", "--ref", "monitor", "add", "-m", json.dumps(note), old)
        r.git("branch", "monitor/old-run", old)
        # branches that are not runs, under the prefix and elsewhere; HEAD is the
        # merged run's commit (a fast-forward): a branch of the user's there is
        # still not that run
        self.assertEqual(r.git("rev-parse", "HEAD"), r.git("rev-parse", self.merged))
        r.git("branch", "monitor/mine", "HEAD")
        r.git("branch", "feature", "HEAD")

    def refactor(self, *args, srv):
        p = self.r.run("refactor", *args, env=run_env(srv))
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout.splitlines()[0]

    def cache_files(self):
        d = os.path.join(self.r.path, ".git", "monitor", "cache", "model")
        return sorted(os.path.join(root, f) for root, _, fs in os.walk(d) for f in fs)

    def state(self):
        s = self.r.snapshot()
        s["notes"] = self.r.git("notes", "--ref", "monitor", "list")
        s["cache"] = self.cache_files()
        s["worktrees"] = self.r.git("worktree", "list", "--porcelain")
        return s

    def test_list_newest_first_with_counts_merged_and_goal(self):
        p = self.r.run("list", "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        runs = json.loads(p.stdout)
        self.assertEqual([x["branch"] for x in runs][-1], "monitor/old-run")
        self.assertEqual({x["branch"] for x in runs},
                         {self.merged, self.unmerged, self.again, "monitor/old-run"})
        by = {x["branch"]: x for x in runs}
        self.assertTrue(by[self.merged]["merged"])
        self.assertFalse(by[self.unmerged]["merged"])
        self.assertEqual(by[self.merged]["goal"], "first goal")
        self.assertEqual(by["monitor/old-run"]["goal"], "an old goal")
        self.assertEqual(by[self.unmerged]["applied"], 1)
        self.assertEqual(by[self.unmerged]["cost_usd"], 0)
        times = [x["time"] for x in runs]
        self.assertEqual(times, sorted(times, reverse=True))
        self.assertNotIn("monitor/mine", by)  # a branch without a git-monitor commit is no run
        p = self.r.run("list", env={"COLUMNS": "200"})
        lines = p.stdout.splitlines()
        self.assertTrue(lines[0].startswith("BRANCH"), lines)
        self.assertEqual(len(lines), 5)
        # (the re-run may be the same name with "-2": the whole first word)
        merged_row = [l for l in lines if l.split()[0] == self.merged][0]
        self.assertRegex(merged_row, r" 1 +0 +yes +first goal$")  # no cost column: nothing cost anything
        self.assertNotIn("COST", lines[0])
        self.assertIn("hint: 1 of these is merged; 'git monitor clean --merged' deletes it.", p.stderr)

    def test_dry_run_changes_nothing_and_clean_merged_takes_only_that_run(self):
        before = self.state()
        p = self.r.run("clean", "--merged", "--dry-run")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"^Would delete branch %s \(was [0-9a-f]{7}\)\n  with 1 note and 0 cached answers\n$"
                         % re.escape(self.merged))
        self.assertEqual(self.state(), before)
        p = self.r.run("clean", "--merged")
        self.assertEqual(p.returncode, 0, p.stderr)
        # its cached answers are those of the re-run too: kept
        self.assertRegex(p.stdout, r"^Deleted branch %s \(was [0-9a-f]{7}\)\n  with 1 note and 0 cached answers\n$"
                         % re.escape(self.merged))
        after = self.state()
        refs_before = dict(l.split(" ") for l in before["refs"].splitlines())
        refs_after = dict(l.split(" ") for l in after["refs"].splitlines())
        gone = {k: v for k, v in refs_before.items() if refs_after.get(k) != v}
        self.assertEqual(set(gone), {"refs/heads/" + self.merged, "refs/notes/monitor"})
        for k in ("HEAD", "index", "worktree", "cache"):
            self.assertEqual(before[k], after[k], k)
        self.assertEqual(len(after["notes"].splitlines()), len(before["notes"].splitlines()) - 1)

    def test_clean_older_than_and_the_cache_entries_nothing_refers_to(self):
        self.assertEqual(self.r.run("clean", "--older-than", "60.days").stderr,
                         "nothing to clean: 4 runs, none that old\n")
        before = self.state()
        p = self.r.run("clean", "--older-than", "30.days")
        self.assertEqual(p.returncode, 0, p.stderr)
        # the old run's note names the second run's keys, which that run still uses
        self.assertRegex(p.stdout, r"^Deleted branch monitor/old-run \(was [0-9a-f]{7}\)\n  with 1 note and 0 cached answers\n$")
        self.assertEqual(self.state()["cache"], before["cache"])
        # the second run itself: its answers go with it (nothing else names them)
        p = self.r.run("clean", "--all")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("Deleted branch %s" % self.unmerged, p.stdout)
        after = self.state()
        self.assertLess(len(after["cache"]), len(before["cache"]))
        self.assertEqual(self.r.run("list", "--json").stdout.strip(), "[]")
        for b in ("main", "feature", "monitor/mine"):
            self.assertEqual(self.r.git("rev-parse", b), before["refs"] and self.r.git("rev-parse", b))
        self.assertIn("refs/heads/monitor/mine", after["refs"])
        self.assertIn("refs/heads/feature", after["refs"])
        self.assertEqual(after["HEAD"], before["HEAD"])
        self.assertEqual(after["index"], before["index"])
        self.assertEqual(after["worktree"], before["worktree"])

    def test_a_branch_checked_out_in_a_worktree_is_refused(self):
        wt = os.path.join(self.r.tmp, "wt")
        self.r.git("worktree", "add", "-q", wt, self.unmerged)
        before = self.state()
        p = self.r.run("clean", "--all")
        self.assertEqual(p.returncode, 1)
        self.assertIn("git-monitor: cannot delete %s: '%s' is checked out at '%s" % (
            self.unmerged, self.unmerged, os.path.realpath(wt)), p.stderr)
        after = self.state()
        self.assertIn("refs/heads/" + self.unmerged, after["refs"])
        self.assertNotIn("refs/heads/monitor/old-run", after["refs"])
        self.assertEqual(after["worktrees"], before["worktrees"])
        self.assertEqual(after["worktree"], before["worktree"])
        # its note stays with it
        tip = self.r.git("rev-parse", self.unmerged).strip()
        self.assertIn(tip, after["notes"])

    def test_usage(self):
        p = self.r.run("clean")
        self.assertUsageError(p, "say which runs to delete", "clean")


WORDBREAKS = "\"'><=;|&(:"  # bash's default COMP_WORDBREAKS, besides blanks


def comp_words(line):
    """COMP_WORDS as readline splits `line`: at blanks, and each run of
    COMP_WORDBREAKS characters a word of its own; the last is the one the
    cursor is in ("" after a blank)."""
    words, cur = [], ""
    for ch in line:
        if ch in " \t\n":
            if cur:
                words.append(cur)
            cur = ""
        elif cur and (ch in WORDBREAKS) != (cur[-1] in WORDBREAKS):
            words.append(cur)
            cur = ch
        else:
            cur += ch
    return words + [cur]


def bash_complete(repo, line):
    """What the word at the end of `line` becomes with each answer of the
    completion, as readline inserts it: COMPREPLY replaces only the text
    after the last word break (a ':' or '=' too), so an answer must not
    repeat what comes before it."""
    script = r"""
source /usr/share/bash-completion/completions/git
source "$GM_COMPLETION"
COMP_LINE="$1"; COMP_POINT=${#COMP_LINE}
shift
COMP_WORDS=("$@")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
__git_wrap__git_main
printf '%s\n' "${COMPREPLY[@]}"
"""
    env = dict(repo.env, GM_COMPLETION=os.path.join(gmtest.SOURCE_DIR, "src", "cli", "completion",
                                                    "git-monitor.bash"),
               PATH=BIN_DIR + os.pathsep + os.environ["PATH"])
    p = subprocess.run(["bash", "-c", script, "bash", line] + comp_words(line), cwd=repo.path, env=env,
                       capture_output=True, text=True, timeout=60)
    word_start = max(line.rfind(c) for c in " \t\n") + 1
    replaced = max(line.rfind(c) for c in " \t\n" + WORDBREAKS) + 1
    kept = line[word_start:replaced]
    return [kept + w.strip() for w in p.stdout.splitlines() if w.strip()]


class CompletionTest(gmtest.TestCase):
    def setUp(self):
        if not os.path.exists("/usr/share/bash-completion/completions/git"):
            self.skipTest("git's bash completion is not installed")

    def test_subcommands_options_branches_and_functions(self):
        r = self.repo()
        r.commit({"a.py": "def parse_args(x):\n    return x\n\n\ndef parse_file(y):\n    return y\n"})
        self.assertEqual(bash_complete(r, "git monitor "),
                         ["refactor", "scan", "review", "list", "clean", "hook", "doctor", "help"])
        self.assertEqual(bash_complete(r, "git monitor re"), ["refactor", "review"])
        self.assertEqual(bash_complete(r, "git monitor scan --so"), ["--sort="])
        self.assertEqual(bash_complete(r, "git monitor scan --sort "), ["cc", "lines", "fan-in", "name"])
        self.assertEqual(bash_complete(r, "git monitor clean --"),
                         ["--merged", "--older-than=", "--all", "--dry-run"])
        self.assertEqual(bash_complete(r, "git monitor hook "), ["install", "uninstall", "run"])
        self.assertEqual(bash_complete(r, "git monitor refactor -f parse_"), ["parse_args", "parse_file"])
        with FakeLMStudio() as srv:
            p = r.run("refactor", "-g", "x", env=run_env(srv))
        branch = p.stdout.splitlines()[0]
        self.assertIn(branch, bash_complete(r, "git monitor review mon"))
        self.assertEqual(bash_complete(r, "git monitor review %s --drop a.py:parse_a" % branch),
                         ["a.py:parse_args"])
        self.assertEqual(bash_complete(r, "git monitor review --drop a.py:"),
                         ["a.py:parse_args", "a.py:parse_file"])
        self.assertEqual(bash_complete(r, "git monitor review --drop=a.py:parse_f"), ["--drop=a.py:parse_file"])

    def test_zsh_through_its_git_completion(self):
        if not shutil.which("zsh"):
            self.skipTest("zsh is not installed")
        r = self.repo()
        r.commit({"a.py": "def parse_args(x):\n    return x\n"})
        with FakeLMStudio() as srv:
            r.run("refactor", "-g", "x", env=run_env(srv))
        script = r"""
zmodload zsh/zpty
zpty -b z 'zsh -f -i'
zpty -w z "PS1='> '; fpath=($GM_COMPLETION_DIR \$fpath); autoload -Uz compinit; compinit -u -D; print RE''ADY"
# keys typed before zle reads the terminal would meet the cooked tty (^D an
# end of file): wait for the prompt after the marker
zpty -r z junk '*READY*> *'
sleep 0.2
# list the choices (^D), kill the line (^U) and say so: read up to what it says,
# however long a loaded machine takes (the quotes keep the echoed line from matching)
zpty -w -n z "git monitor $1"$'\C-d\C-u'"print DO''NE"$'\n'
zpty -r z all '*DONE*'
print -r -- "$all"
zpty -d z
"""
        env = dict(r.env, GM_COMPLETION_DIR=os.path.join(gmtest.SOURCE_DIR, "src", "cli", "completion"),
                   PATH=BIN_DIR + os.pathsep + os.environ["PATH"])

        def listed(words):
            p = subprocess.run(["zsh", "-f", "-c", script, "zsh", words], cwd=r.path, env=env,
                               capture_output=True, text=True, timeout=60)
            out = ANSI.sub("", p.stdout.replace("\r", ""))
            return out[out.index("git monitor " + words) + len(words) + 12:]

        self.assertRegex(listed(""), r"refactor +-- rewrite functions")
        self.assertIn("review", listed("re"))
        self.assertIn("--sort", listed("scan --s"))
        self.assertIn("a.py:parse_args", listed("review --drop "))
        self.assertIn("uninstall", listed("hook "))

    def test_the_option_lists_match_each_commands_usage(self):
        src = open(os.path.join(gmtest.SOURCE_DIR, "src", "cli", "completion", "git-monitor.bash")).read()
        r = self.repo()
        for cmd in ("refactor", "scan", "review", "list", "clean", "hook", "doctor"):
            listed = re.search(r'__git_monitor_opts_%s="([^"]*)"' % cmd, src).group(1).split()
            listed = {o.rstrip("=") for o in listed}
            usage = r.run(cmd, "-h").stdout
            known = set(re.findall(r"(--[a-z][a-z-]*)", usage.split("\n\n", 2)[-1]))
            self.assertEqual(listed, known, cmd)


class DoctorStreamsTest(gmtest.TestCase):
    def test_each_check_is_printed_as_it_completes(self):
        r = self.repo()
        r.commit({"a.py": "def f():\n    pass\n"})
        with FakeLMStudio(latency=1.0) as srv:
            p = subprocess.Popen([gmtest.GIT_MONITOR, "doctor"], cwd=r.path,
                                 env=dict(r.env, MONITOR_LOCAL_URL=srv.url),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            t0 = time.monotonic()
            first = p.stdout.readline()
            t_first = time.monotonic() - t0
            rest = p.stdout.read()
            p.wait(timeout=120)
            t_end = time.monotonic() - t0
        self.assertTrue(first.startswith("ok    repository"), first)
        self.assertGreater(t_end - t_first, 1.5, "the first line came only at the end")
        self.assertIn("lmstudio", rest)

    def test_on_an_80_column_terminal_long_details_go_on_under_their_column(self):
        r = self.repo()
        r.commit({"a.py": "def f():\n    pass\n"})
        with FakeLMStudio() as a, FakeLMStudio() as b:
            for s in (a, b):
                r.git("config", "--add", "monitor.local.url", s.url)
            t = Pty([gmtest.GIT_MONITOR, "doctor"], r.path, pty_env(r), cols=80)
            self.assertEqual(t.wait(), 0, t.text())
        # the rows as they stay on the screen (the "checking ..." line erased)
        lines = [l.rstrip("\r").split("\r")[-1] for l in ANSI.sub("", t.text()).split("\n")]
        fleet = [i for i, l in enumerate(lines) if l.startswith("ok    fleet")][0]
        self.assertTrue(lines[fleet + 1].startswith(" " * 17 + "http://127.0.0.1:"), lines)
        for l in lines:
            self.assertLessEqual(display_width(l), 80, l)


class DryRunReasonTest(gmtest.TestCase):
    def test_a_clusters_figure_is_said_to_be_the_clusters(self):
        r = self.repo()
        r.commit({"lib.py": complex_py("heavy", 6) + "\n",
                  "app.py": "from lib import heavy\n\n\ndef light(x):\n    return heavy(x)\n"})
        p = r.run("refactor", "--dry-run", "-g", "x", env={"MONITOR_LOCAL_URL": "http://127.0.0.1:9/v1",
                                                         "COLUMNS": "200"})
        self.assertEqual(p.returncode, 0, p.stderr)
        row = [l for l in p.stdout.splitlines() if "light" in l][0]
        # light's own complexity is 1: the 7 is heavy's, and the row says so
        self.assertIn("cluster of 2, max complexity 7 (heavy) < 10", row)


if __name__ == "__main__":
    gmtest.main()
