"""Runs at once in one repository each keep their branch and their note, and
an interrupt while the note or the branch is being written leaves neither
(issue 10, items 6 and 7)."""
import json
import os
import signal
import subprocess
import sys
import time

import gmtest

sys.path.insert(0, os.path.join(gmtest.SOURCE_DIR, "tests", "fakes"))
from fakes import FakeLMStudio  # noqa: E402

SRC = {"m.py": "".join("def f%d(a):\n    return a + %d\n\n\n" % (i, i) for i in range(10))}


def notes(repo):
    """{annotated commit: note text} under refs/notes/monitor."""
    out = {}
    for line in repo.git("notes", "--ref=monitor", "list").splitlines():
        _note, commit = line.split()
        out[commit] = repo.git("notes", "--ref=monitor", "show", commit)
    return out


class ConcurrentRunsTest(gmtest.TestCase):
    def start(self, repo, env, *args):
        e = dict(repo.env, **env)
        return subprocess.Popen([gmtest.GIT_MONITOR, "refactor", "-q", *args], cwd=repo.path, env=e,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def run_at_once(self, n, rounds):
        r = self.repo()
        r.commit(SRC)
        branches = []
        with FakeLMStudio(concurrency=0, latency=0.3) as srv:
            for rnd in range(rounds):
                # The same goal: the same branch name wanted by every run, so the
                # branch refs contend as well as the notes ref.
                procs = [self.start(r, {"MONITOR_LOCAL_URL": srv.url}, "-g", "tidy round %d" % rnd,
                                    "-f", "f%d" % i, "--no-cache") for i in range(n)]
                for i, p in enumerate(procs):
                    out, err = p.communicate(timeout=120)
                    self.assertEqual(p.returncode, 0, "round %d run %d: %s" % (rnd, i, err))
                    self.assertEqual(err, "")
                    branches.append(out.splitlines()[0])
        self.assertEqual(len(set(branches)), n * rounds, branches)
        got = notes(r)
        self.assertEqual(len(got), n * rounds, "a run lost its note")
        # Every branch's commit has the note naming that branch, with its one function applied.
        for b in branches:
            commit = r.git("rev-parse", b).strip()
            self.assertIn(commit, got, b)
            note = json.loads(got[commit])
            self.assertEqual(note["branch"], b)
            self.assertEqual([t["status"] for t in note["tasks"]], ["applied"])
        self.assertEqual(r.git("fsck", "--no-dangling").strip(), "")

    def test_ten_runs_at_once_each_keep_their_branch_and_note(self):
        self.run_at_once(10, 3)

    def test_two_runs_at_once_over_many_rounds(self):
        self.run_at_once(2, 8)


class InterruptWhileWritingTest(gmtest.TestCase):
    def interrupt_while_locked(self, lockfile, wait_for_note):
        r = self.repo()
        r.commit({"m.py": "def f(a):\n    return a\n"})
        r.git("config", "core.filesRefLockTimeout", "60000")
        before = r.snapshot()
        lock = os.path.join(r.path, ".git", lockfile)
        os.makedirs(os.path.dirname(lock), exist_ok=True)
        open(lock, "w").close()
        with FakeLMStudio(latency=0.01) as srv:
            env = dict(r.env, MONITOR_LOCAL_URL=srv.url)
            proc = subprocess.Popen([gmtest.GIT_MONITOR, "refactor", "-g", "x", "-b", "held"], cwd=r.path,
                                    env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            srv.wait_requests(1, path="/v1/chat/completions")
            deadline = time.monotonic() + 20
            # Wait until the run is stuck on the lock: past its model work, and
            # (for the branch) with its note written.
            while time.monotonic() < deadline:
                if wait_for_note and r.git("notes", "--ref=monitor", "list").strip():
                    break
                if not wait_for_note and time.monotonic() > deadline - 18:
                    break
                time.sleep(0.05)
            time.sleep(0.3)
            if proc.poll() is not None:
                self.fail("the run did not wait for the lock: %s" % proc.communicate()[1])
            if wait_for_note:
                self.assertNotEqual(r.git("notes", "--ref=monitor", "list"), "")
            t0 = time.monotonic()
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=20)
            self.assertLess(time.monotonic() - t0, 5, "the wait for the lock ignored SIGINT")
        os.unlink(lock)
        self.assertEqual(proc.returncode, 130, err)
        self.assertIn("interrupted; no branch was written", err)
        self.assertEqual(r.git("notes", "--ref=monitor", "list"), "", "an orphan note was left")
        self.assertEqual(r.git("branch", "--list", "held*"), "")
        after = r.snapshot()
        for k in ("HEAD", "index", "worktree"):
            self.assertEqual(before[k], after[k], k)
        # The notes ref may remain (its tree empty, as `git notes remove` leaves it); no other ref moved.
        strip = lambda refs: [l for l in refs.splitlines() if not l.startswith("refs/notes/monitor ")]
        self.assertEqual(strip(before["refs"]), strip(after["refs"]))

    def test_sigint_while_the_branch_is_written_leaves_no_note(self):
        self.interrupt_while_locked(os.path.join("refs", "heads", "held.lock"), wait_for_note=True)

    def test_sigint_while_the_note_is_written_leaves_no_note(self):
        self.interrupt_while_locked(os.path.join("refs", "notes", "monitor.lock"), wait_for_note=False)


if __name__ == "__main__":
    gmtest.main()
