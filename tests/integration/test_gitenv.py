"""git's own environment: GIT_DIR / GIT_WORK_TREE / `git --git-dir`, `git -c`
(GIT_CONFIG_PARAMETERS), pathspecs relative to the current directory with
git's magic, and renames (issue 10, items 9, 10 and 11)."""
import json
import os
import subprocess
import sys

import gmtest

sys.path.insert(0, os.path.join(gmtest.SOURCE_DIR, "tests", "fakes"))
from fakes import FakeLMStudio  # noqa: E402


def names(proc):
    assert proc.returncode == 0, proc.stderr
    return sorted((u["path"], u["name"]) for u in json.loads(proc.stdout)["units"])


def task_paths(proc):
    assert proc.returncode == 0, proc.stderr
    return sorted(t["path"] for t in json.loads(proc.stdout)["tasks"])


class GitEnvTest(gmtest.TestCase):
    def setUp(self):
        self.a = self.repo()
        self.a.commit({"in_a.py": "def only_in_a():\n    pass\n"})
        self.b = self.repo()
        self.b.commit({"in_b.py": "def only_in_b():\n    pass\n", "sub/deep.py": "def deep():\n    pass\n"})
        self.bindir = os.path.join(self.a.tmp, "bin")
        os.makedirs(self.bindir)
        os.symlink(os.path.abspath(gmtest.GIT_MONITOR), os.path.join(self.bindir, "git-monitor"))

    def git_monitor(self, *args, cwd=None, env=None):
        e = dict(self.a.env, PATH=self.bindir + os.pathsep + os.environ["PATH"])
        e.update(env or {})
        return subprocess.run(["git", *args], cwd=cwd or self.a.path, env=e, capture_output=True,
                              text=True, timeout=120)

    def test_git_dir_option_and_variable_name_the_repository(self):
        b_git = os.path.join(self.b.path, ".git")
        # From inside repository a, git --git-dir=b means b.
        p = self.git_monitor("--git-dir=" + b_git, "monitor", "scan", "--json")
        self.assertEqual(names(p), [("in_b.py", "only_in_b"), ("sub/deep.py", "deep")])
        p = self.a.run("scan", "--json", env={"GIT_DIR": b_git})
        self.assertEqual(names(p), [("in_b.py", "only_in_b"), ("sub/deep.py", "deep")])
        # git -C too.
        p = self.git_monitor("-C", self.b.path, "monitor", "scan", "--json")
        self.assertEqual(names(p), [("in_b.py", "only_in_b"), ("sub/deep.py", "deep")])
        # A dry run plans b's functions, and a refactor writes its branch in b.
        p = self.a.run("refactor", "--dry-run", "--json", env={"GIT_DIR": b_git,
                                                              "MONITOR_LOCAL_URL": "http://127.0.0.1:9/v1"})
        self.assertEqual(task_paths(p), ["in_b.py", "sub/deep.py"])
        with FakeLMStudio(latency=0.01) as srv:
            p = self.a.run("refactor", "-q", "-g", "x", "-b", "from-a", env={"GIT_DIR": b_git,
                                                                        "MONITOR_LOCAL_URL": srv.url})
            self.assertEqual(p.returncode, 0, p.stderr)
            sent = " ".join(q["body"]["messages"][-1]["content"] for q in srv.requests()
                            if q["path"] == "/v1/chat/completions")
        self.assertIn("only_in_b", sent)
        self.assertNotIn("only_in_a", sent)
        self.assertEqual(self.b.git("branch", "--list", "from-a").strip(), "from-a")
        self.assertEqual(self.a.git("branch", "--list", "from-a"), "")
        self.assertEqual(self.a.run("scan", "--json", env={"GIT_DIR": "/nonexistent"}).returncode, 128)

    def test_git_work_tree_with_a_separate_git_dir_and_a_relative_pathspec(self):
        git_dir = os.path.join(self.b.tmp, "store.git")
        work = os.path.join(self.b.tmp, "work")
        subprocess.run(["git", "clone", "-q", "--separate-git-dir", git_dir, self.b.path, work], check=True,
                       env=self.b.env, capture_output=True)
        os.unlink(os.path.join(work, ".git"))  # only the environment says where things are
        env = {"GIT_DIR": git_dir, "GIT_WORK_TREE": work}
        p = self.a.run("scan", "--json", "deep.py", env=env, cwd=os.path.join(work, "sub"))
        self.assertEqual(names(p), [("sub/deep.py", "deep")])
        p = self.git_monitor("--git-dir=" + git_dir, "--work-tree=" + work, "monitor", "scan", "--json", ".",
                             cwd=os.path.join(work, "sub"))
        self.assertEqual(names(p), [("sub/deep.py", "deep")])

    def test_git_c_settings_reach_the_run(self):
        with FakeLMStudio(latency=0.01) as srv:
            p = self.git_monitor("-c", "monitor.local.model=llama-3.2-1b-instruct", "-c",
                                 "monitor.goal=it's the 'goal' from -c!", "monitor", "refactor", "-q",
                                 env={"MONITOR_LOCAL_URL": srv.url})
            self.assertEqual(p.returncode, 0, p.stderr)
            reqs = [q for q in srv.requests() if q["path"] == "/v1/chat/completions"]
        self.assertEqual({q["body"]["model"] for q in reqs}, {"llama-3.2-1b-instruct"})
        self.assertIn("it's the 'goal' from -c!", reqs[0]["body"]["messages"][-1]["content"])
        # A value -c gives is checked like any other, naming where it came from.
        p = self.git_monitor("-c", "monitor.local.concurrency=0", "monitor", "refactor", "--dry-run")
        self.assertOneLineError(p, 129, "monitor.local.concurrency = '0' (from command line (git -c))")
        # git's older format, GIT_CONFIG_COUNT, and a bogus value.
        url = "http://127.0.0.1:9/v1"
        p = self.a.run("refactor", "--dry-run", "--json", env={
            "GIT_CONFIG_PARAMETERS": "'monitor.route.complexity=1'", "MONITOR_LOCAL_URL": url})
        self.assertEqual(sorted(t["kind"] for t in json.loads(p.stdout)["tasks"]), ["analysis", "rewrite"])
        p = self.a.run("refactor", "--dry-run", "--json", env={
            "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "monitor.route.complexity", "GIT_CONFIG_VALUE_0": "1",
            "MONITOR_LOCAL_URL": url})
        self.assertEqual(sorted(t["kind"] for t in json.loads(p.stdout)["tasks"]), ["analysis", "rewrite"])
        p = self.a.run("refactor", "--dry-run", env={"GIT_CONFIG_PARAMETERS": "'monitor.goal'x"})
        self.assertOneLineError(p, 128, "bogus format in GIT_CONFIG_PARAMETERS")
        p = self.git_monitor("-c", "monitor.typo=1", "monitor", "doctor", "-v",
                             env={"MONITOR_LOCAL_URL": url})
        self.assertIn("monitor.typo", p.stdout + p.stderr)


class PathspecTest(gmtest.TestCase):
    FILES = {
        "top.py": "def top():\n    pass\n",
        "inventory/stock.py": "def stock():\n    pass\n",
        "inventory/deep/more.py": "def more():\n    pass\n",
        "inventory/README.md": "x\n",
        "Other/Case.py": "def case():\n    pass\n",
        "lit/a*b.py": "def star():\n    pass\n",
        "lit/axb.py": "def axb():\n    pass\n",
    }

    def setUp(self):
        self.r = self.repo()
        self.r.commit(self.FILES)
        self.inv = os.path.join(self.r.path, "inventory")

    def scan(self, *specs, cwd=None):
        return [p for p, _ in names(self.r.run("scan", "--json", *specs, cwd=cwd))]

    def test_pathspecs_are_relative_to_the_current_directory(self):
        self.assertEqual(self.scan("stock.py", cwd=self.inv), ["inventory/stock.py"])
        self.assertEqual(self.scan(".", cwd=self.inv), ["inventory/deep/more.py", "inventory/stock.py"])
        self.assertEqual(self.scan("../top.py", cwd=self.inv), ["top.py"])
        self.assertEqual(self.scan("./deep/../stock.py", cwd=self.inv), ["inventory/stock.py"])
        self.assertEqual(self.scan("*.py", cwd=self.inv), ["inventory/deep/more.py", "inventory/stock.py"])
        self.assertEqual(self.scan(cwd=self.inv), sorted(p for p in self.FILES if p.endswith(".py")))
        p = self.r.run("refactor", "--dry-run", "--json", ".", cwd=self.inv,
                       env={"MONITOR_LOCAL_URL": "http://127.0.0.1:9/v1"})
        self.assertEqual(task_paths(p), ["inventory/deep/more.py", "inventory/stock.py"])
        p = self.r.run("scan", "../../x.py", cwd=self.inv)
        self.assertOneLineError(p, 129, "outside the repository")

    def test_git_pathspec_magic(self):
        inv = self.inv
        self.assertEqual(self.scan(":(top)top.py", cwd=inv), ["top.py"])
        self.assertEqual(self.scan(":/top.py", cwd=inv), ["top.py"])
        self.assertEqual(self.scan(":/", cwd=inv), sorted(p for p in self.FILES if p.endswith(".py")))
        # glob: '*' stays in its directory, '**' spans them.
        self.assertEqual(self.scan(":(glob)*.py"), ["top.py"])
        self.assertEqual(self.scan(":(glob)**/stock.py"), ["inventory/stock.py"])
        self.assertEqual(self.scan(":(glob)inventory/**"), ["inventory/deep/more.py", "inventory/stock.py"])
        self.assertEqual(self.scan(":(glob)*.py", cwd=inv), ["inventory/stock.py"])
        self.assertEqual(self.scan("*.py", ":(exclude,glob)*/*/*.py"),
                         ["Other/Case.py", "inventory/stock.py", "lit/a*b.py", "lit/axb.py", "top.py"])
        # icase, literal, exclude in both forms.
        self.assertEqual(self.scan(":(icase)other/CASE.PY"), ["Other/Case.py"])
        self.assertEqual(self.scan("other/case.py"), [])
        self.assertEqual(self.scan(":(literal)lit/a*b.py"), ["lit/a*b.py"])
        self.assertEqual(self.scan("lit/a*b.py"), ["lit/a*b.py", "lit/axb.py"])
        self.assertEqual(self.scan(":(exclude)inventory", ":!lit", ":^Other"), ["top.py"])
        self.assertEqual(self.scan(":!deep", cwd=inv), sorted(p for p in self.FILES if p.endswith(".py")
                                                              and not p.startswith("inventory/deep/")))

    def test_bad_magic_is_an_error(self):
        self.assertOneLineError(self.r.run("scan", ":(badmagic)x"), 129,
                                "invalid pathspec magic 'badmagic' in ':(badmagic)x'")
        self.assertOneLineError(self.r.run("scan", ":(top"), 129, "missing ')'")
        self.assertOneLineError(self.r.run("scan", ":(literal,glob)x"), 129, "incompatible")
        self.assertOneLineError(self.r.run("scan", ":#x"), 129, "unimplemented pathspec magic '#'")
        self.assertOneLineError(self.r.run("scan", ""), 129, "empty string is not a valid pathspec")
        p = self.r.run("refactor", "--dry-run", ":(badmagic)x", env={"MONITOR_LOCAL_URL": "http://127.0.0.1:9/v1"})
        self.assertOneLineError(p, 129, "invalid pathspec magic 'badmagic'")


def knotty(name, n=20):
    return "def %s(a):\n" % name + "".join("    if a == %d:\n        return %d\n" % (i, i) for i in range(n)) \
        + "    return -1\n"


class RenameTest(gmtest.TestCase):
    SRC = knotty("big") + "\n\n" + knotty("other") + "\n\n" + "def small(a):\n    return a\n"

    def setUp(self):
        self.r = self.repo()
        self.r.commit({"old/name.py": self.SRC}, "first")
        self.r.git("config", "monitor.hook.mode", "block")
        os.makedirs(os.path.join(self.r.path, "new"))

    def since(self):
        p = self.r.run("refactor", "--dry-run", "--json", "--since", "HEAD~1",
                       env={"MONITOR_LOCAL_URL": "http://127.0.0.1:9/v1"})
        self.assertEqual(p.returncode, 0, p.stderr)
        return sorted(t["name"] for t in json.loads(p.stdout)["tasks"] if t["kind"] == "rewrite")

    def test_a_pure_rename_changes_no_function(self):
        self.r.git("mv", "old/name.py", "new/place.py")
        hook = self.r.run("hook", "run", "pre-commit")
        self.assertEqual(hook.returncode, 0, hook.stderr)
        self.assertNotIn("complexity", hook.stderr)
        self.r.git("commit", "-qm", "move")
        self.assertEqual(self.since(), [])

    def test_a_rename_with_an_edit_changes_only_the_edited_function(self):
        self.r.git("mv", "old/name.py", "new/place.py")
        self.r.write("new/place.py", self.SRC.replace("    if a == 3:\n        return 3\n", "    if a == 3:\n        return 33\n", 1))
        self.r.git("add", "new/place.py")
        hook = self.r.run("hook", "run", "pre-commit")
        self.assertEqual(hook.returncode, 1, hook.stderr)
        self.assertIn("new/place.py:1: big: complexity", hook.stderr)
        self.assertNotIn("other", hook.stderr)
        self.r.git("commit", "-qm", "move and edit")
        self.assertEqual(self.since(), ["big"])

    def test_functions_moved_within_a_file_are_compared_by_content(self):
        parts = self.SRC.split("\n\n\n")
        self.r.write("old/name.py", "\n\n\n".join([parts[2], parts[1], parts[0]]) + "\n")
        self.r.git("add", "old/name.py")
        hook = self.r.run("hook", "run", "pre-commit")
        self.assertEqual(hook.returncode, 0, hook.stderr)
        self.r.git("commit", "-qm", "reorder")
        self.assertEqual(self.since(), [])


class IndexTest(gmtest.TestCase):
    """The index as git commands see it: GIT_INDEX_FILE, and none in a bare repository."""

    def test_a_bare_repository_has_no_index_to_read(self):
        r = self.repo()
        r.commit({"a.py": "def a():\n    pass\n"})
        bare = os.path.join(r.tmp, "bare.git")
        subprocess.run(["git", "clone", "-q", "--bare", r.path, bare], check=True, env=r.env)
        for args in (("scan", "--staged"), ("refactor", "--staged", "-g", "x"),
                     ("refactor", "--staged", "--dry-run", "-g", "x")):
            with self.subTest(args=args):
                p = r.run(*args, cwd=bare, env={"MONITOR_LOCAL_URL": "http://127.0.0.1:9/v1"})
                self.assertOneLineError(p, 128, "must be run in a work tree")
        self.assertEqual(names(r.run("scan", "--json", cwd=bare)), [("a.py", "a")])

    def test_scan_staged_reads_the_index_git_index_file_names(self):
        r = self.repo()
        r.commit({"a.py": "def a():\n    pass\n"})
        other = os.path.join(r.tmp, "other-index")
        env = dict(r.env, GIT_INDEX_FILE=other)
        subprocess.run(["git", "read-tree", "HEAD"], cwd=r.path, env=env, check=True)
        r.write("b.py", "def b():\n    pass\n")
        subprocess.run(["git", "add", "b.py"], cwd=r.path, env=env, check=True)
        self.assertEqual(names(r.run("scan", "--staged", "--json", env={"GIT_INDEX_FILE": other})),
                         [("a.py", "a"), ("b.py", "b")])
        self.assertEqual(names(r.run("scan", "--staged", "--json")), [("a.py", "a")])


if __name__ == "__main__":
    gmtest.main()
