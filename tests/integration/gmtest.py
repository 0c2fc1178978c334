"""Shared helpers for integration tests: run the built git-monitor in real
temporary repositories and prove it left the user's state alone.

Environment (set by CTest): GIT_MONITOR (the binary), GM_SOURCE_DIR,
GM_FIXTURES.
"""
import hashlib
import os
import shutil
import subprocess
import tempfile
import unittest

GIT_MONITOR = os.environ.get("GIT_MONITOR", "git-monitor")
SOURCE_DIR = os.environ.get("GM_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.environ.get("GM_FIXTURES", os.path.join(SOURCE_DIR, "fixtures"))

# A clean, predictable git environment for every command we run.
BASE_ENV = {
    k: v for k, v in os.environ.items()
    if not k.startswith("GIT_") and k not in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "MONITOR_LOCAL_URL")
}
BASE_ENV.update({
    "GIT_AUTHOR_NAME": "Test Author", "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Committer", "GIT_COMMITTER_EMAIL": "committer@example.com",
    "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C",
})


def _read(path):
    with open(path, "rb") as f:
        return f.read()


class Repo:
    """A real git repository in a temporary directory."""

    def __init__(self, testcase=None):
        self.tmp = tempfile.mkdtemp(prefix="gm-test-")
        self.path = os.path.join(self.tmp, "repo")
        self.home = os.path.join(self.tmp, "home")
        os.makedirs(self.path)
        os.makedirs(self.home)
        self.env = dict(BASE_ENV, HOME=self.home, XDG_CONFIG_HOME=os.path.join(self.home, ".config"))
        self.git("init", "-q", "-b", "main")
        if testcase is not None:
            testcase.addCleanup(self.remove)

    def remove(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def git(self, *args, check=True, input=None):
        r = subprocess.run(["git", *args], cwd=self.path, env=self.env, input=input,
                           capture_output=True, timeout=120)
        if check and r.returncode != 0:
            raise AssertionError("git %s failed: %s" % (" ".join(args), r.stderr.decode(errors="replace")))
        return r.stdout.decode(errors="replace")

    def write(self, rel, data):
        p = os.path.join(self.path, rel)
        os.makedirs(os.path.dirname(p) or ".", exist_ok=True)
        mode = "wb" if isinstance(data, bytes) else "w"
        with open(p, mode) as f:
            f.write(data)
        return p

    def read(self, rel):
        with open(os.path.join(self.path, rel), "rb") as f:
            return f.read()

    def commit(self, files=None, message="commit"):
        for rel, data in (files or {}).items():
            self.write(rel, data)
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD").strip()

    def copy_fixture(self, rel_dir):
        """Copy fixtures/<rel_dir> into the repository root."""
        src = os.path.join(FIXTURES, rel_dir)
        for root, _dirs, files in os.walk(src):
            for name in files:
                s = os.path.join(root, name)
                d = os.path.join(self.path, os.path.relpath(s, src))
                os.makedirs(os.path.dirname(d), exist_ok=True)
                shutil.copy2(s, d)

    def run(self, *args, env=None, timeout=300, cwd=None, input=None):
        """Run git-monitor; returns CompletedProcess with text stdout/stderr."""
        e = dict(self.env)
        if env:
            e.update(env)
        return subprocess.run([GIT_MONITOR, *args], cwd=cwd or self.path, env=e, input=input,
                              capture_output=True, text=True, timeout=timeout)

    def snapshot(self):
        """Everything a user could lose: HEAD, refs, index bytes, and every
        file of the working tree (tracked, untracked, ignored) byte for byte.
        Our own .git/monitor (cache) and the object store may grow."""
        state = {}
        gitdir = os.path.join(self.path, ".git")
        state["HEAD"] = _read(os.path.join(gitdir, "HEAD"))
        state["refs"] = self.git("for-each-ref", "--format=%(refname) %(objectname)")
        idx = os.path.join(gitdir, "index")
        state["index"] = hashlib.sha256(_read(idx)).hexdigest() if os.path.exists(idx) else None
        files = {}
        for root, dirs, names in os.walk(self.path):
            if root == self.path and ".git" in dirs:
                dirs.remove(".git")
            for n in names:
                p = os.path.join(root, n)
                rel = os.path.relpath(p, self.path)
                if os.path.islink(p):
                    files[rel] = "link:" + os.readlink(p)
                else:
                    files[rel] = hashlib.sha256(_read(p)).hexdigest()
        state["worktree"] = files
        return state


class TestCase(unittest.TestCase):
    maxDiff = None

    def repo(self):
        return Repo(self)

    def assertUnchanged(self, before, repo):
        after = repo.snapshot()
        self.assertEqual(before["HEAD"], after["HEAD"], "HEAD changed")
        self.assertEqual(before["refs"], after["refs"], "refs changed")
        self.assertEqual(before["index"], after["index"], "index changed")
        self.assertEqual(before["worktree"], after["worktree"], "working tree changed")

    def assertUsageError(self, proc, fragment, command):
        """git's parse-options: the error, then the command's usage, exit 129."""
        self.assertEqual(proc.returncode, 129, "exit code; stderr: %r" % proc.stderr)
        lines = proc.stderr.splitlines()
        self.assertTrue(lines and lines[0].startswith("git-monitor: "), proc.stderr)
        self.assertIn(fragment, lines[0])
        self.assertIn("usage: git monitor %s" % command, proc.stderr)
        self.assertEqual(proc.stdout, "")

    def assertOneLineError(self, proc, code, fragment=None):
        self.assertEqual(proc.returncode, code, "exit code; stderr: %r" % proc.stderr)
        lines = [l for l in proc.stderr.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, "expected one error line, got %r" % proc.stderr)
        self.assertTrue(lines[0].startswith("git-monitor: "), lines[0])
        if fragment:
            self.assertIn(fragment, lines[0])


def main():
    unittest.main(verbosity=2)
