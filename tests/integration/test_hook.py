"""git monitor hook: install/uninstall in real repositories, and the
pre-commit check driven by real `git commit` runs."""
import json
import os
import shlex
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
import gmtest  # noqa: E402

SIMPLE = "def big(x):\n    return x\n"


def complex_fn(name="big", n=20, ret=0):
    body = "".join("    if x == %d:\n        return %d\n" % (i, i + ret) for i in range(n))
    return "def %s(x):\n%s    return -1\n" % (name, body)


class HookTest(gmtest.TestCase):
    def setUp(self):
        self.r = self.repo()
        # `git monitor` must work inside the hook: git-monitor on PATH
        self.bin = os.path.join(self.r.tmp, "bin")
        os.makedirs(self.bin)
        os.symlink(os.path.abspath(gmtest.GIT_MONITOR), os.path.join(self.bin, "git-monitor"))
        self.r.env["PATH"] = self.bin + os.pathsep + self.r.env.get("PATH", "")
        self.r.commit({"a.py": "def a():\n    return 1\n"}, "base")

    def hooks(self, *parts):
        return os.path.join(self.r.path, ".git", "hooks", *parts)

    def install(self, *args, cwd=None):
        p = self.r.run("hook", "install", *args, cwd=cwd)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p

    def git_commit(self, msg="change", *extra, cwd=None):
        import subprocess
        return subprocess.run(["git", "commit", "-q", "-m", msg, *extra], cwd=cwd or self.r.path,
                              env=self.r.env, capture_output=True, text=True, timeout=120)

    def head(self):
        return self.r.git("rev-parse", "HEAD").strip()

    # --- install / uninstall -------------------------------------------------

    def test_install_into_fresh_repo_twice_then_uninstall(self):
        os.makedirs(self.hooks(), exist_ok=True)
        before = sorted(os.listdir(self.hooks()))
        p = self.install()
        hook = self.hooks("pre-commit")
        self.assertIn(hook, p.stdout)
        self.assertTrue(os.stat(hook).st_mode & stat.S_IXUSR)
        text = open(hook).read()
        self.assertIn("\n# git-monitor hook\n", text)
        self.assertIn("exec git monitor hook run pre-commit", text)
        p = self.install()
        self.assertIn("already", p.stdout)
        self.assertEqual(open(hook).read(), text)
        self.assertFalse(os.path.exists(self.hooks("pre-commit.monitor-chained")))
        p = self.r.run("hook", "uninstall")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(sorted(os.listdir(self.hooks())), before)

    def test_existing_hook_is_chained_runs_first_and_is_restored(self):
        os.makedirs(self.hooks(), exist_ok=True)
        foreign = b"#!/bin/sh\necho FOREIGN-HOOK \"$#\" >&2\nexit ${FAIL:-0}\n"
        with open(self.hooks("pre-commit"), "wb") as f:
            f.write(foreign)
        os.chmod(self.hooks("pre-commit"), 0o750)
        p = self.install()
        self.assertIn("pre-commit.monitor-chained", p.stdout)
        self.r.write("b.py", complex_fn())
        self.r.git("add", "b.py")
        c = self.git_commit()
        self.assertEqual(c.returncode, 0, c.stderr)
        self.assertIn("FOREIGN-HOOK 0", c.stderr)
        self.assertIn("b.py:1: big: complexity 21 (max 15)", c.stderr)
        self.assertLess(c.stderr.index("FOREIGN-HOOK"), c.stderr.index("complexity 21"))
        # the foreign hook's failure stops the commit, before our check
        old = self.head()
        self.r.write("b.py", complex_fn(ret=1))
        self.r.git("add", "b.py")
        env_fail = dict(self.r.env, FAIL="3")
        import subprocess
        c = subprocess.run(["git", "commit", "-q", "-m", "x"], cwd=self.r.path, env=env_fail,
                           capture_output=True, text=True, timeout=120)
        self.assertNotEqual(c.returncode, 0)
        self.assertNotIn("complexity", c.stderr)
        self.assertEqual(self.head(), old)
        p = self.r.run("hook", "uninstall")
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(self.hooks("pre-commit"), "rb") as f:
            self.assertEqual(f.read(), foreign)
        self.assertEqual(stat.S_IMODE(os.stat(self.hooks("pre-commit")).st_mode), 0o750)
        self.assertFalse(os.path.exists(self.hooks("pre-commit.monitor-chained")))

    def test_unchainable_hook_is_refused_without_force(self):
        os.makedirs(self.hooks(), exist_ok=True)
        target = os.path.join(self.r.tmp, "shared-hook")
        with open(target, "w") as f:
            f.write("#!/bin/sh\necho SHARED >&2\n")
        os.chmod(target, 0o755)
        os.symlink(target, self.hooks("pre-commit"))
        p = self.r.run("hook", "install")
        self.assertOneLineError(p, 1, "--force")
        self.assertIn("symbolic link", p.stderr)
        self.assertEqual(os.readlink(self.hooks("pre-commit")), target)
        self.assertEqual(os.listdir(self.hooks()).count("pre-commit.monitor-chained"), 0)
        # --force chains the link itself; uninstall puts the link back
        self.install("--force")
        self.assertEqual(os.readlink(self.hooks("pre-commit.monitor-chained")), target)
        self.r.write("c.py", "def c():\n    pass\n")
        self.r.git("add", "c.py")
        c = self.git_commit()
        self.assertEqual(c.returncode, 0, c.stderr)
        self.assertIn("SHARED", c.stderr)
        self.assertEqual(self.r.run("hook", "uninstall").returncode, 0)
        self.assertEqual(os.readlink(self.hooks("pre-commit")), target)

    def test_foreign_hook_is_not_uninstalled(self):
        os.makedirs(self.hooks(), exist_ok=True)
        with open(self.hooks("pre-commit"), "w") as f:
            f.write("#!/bin/sh\nexit 0\n")
        p = self.r.run("hook", "uninstall")
        self.assertOneLineError(p, 1, "not git-monitor's hook")
        self.assertTrue(os.path.exists(self.hooks("pre-commit")))

    def test_core_hooks_path_relative_to_worktree_root(self):
        self.r.git("config", "core.hooksPath", "tools/hooks")
        sub = os.path.join(self.r.path, "pkg")
        os.makedirs(sub)
        self.install(cwd=sub)
        hook = os.path.join(self.r.path, "tools", "hooks", "pre-commit")
        self.assertTrue(os.path.exists(hook))
        self.assertFalse(os.path.exists(self.hooks("pre-commit")))
        self.r.write("b.py", complex_fn())
        self.r.git("add", "b.py")
        c = self.git_commit()
        self.assertEqual(c.returncode, 0, c.stderr)
        self.assertIn("b.py:1: big: complexity 21 (max 15)", c.stderr)

    def test_linked_worktree_uses_the_common_hooks_dir(self):
        wt = os.path.join(self.r.tmp, "wt")
        self.r.git("worktree", "add", "-q", "-b", "side", wt)
        self.install(cwd=wt)
        self.assertTrue(os.path.exists(self.hooks("pre-commit")))
        with open(os.path.join(wt, "b.py"), "w") as f:
            f.write(complex_fn())
        import subprocess
        subprocess.run(["git", "add", "b.py"], cwd=wt, env=self.r.env, check=True)
        c = self.git_commit("in worktree", cwd=wt)
        self.assertEqual(c.returncode, 0, c.stderr)
        self.assertIn("b.py:1: big: complexity 21 (max 15)", c.stderr)

    # --- the check -----------------------------------------------------------

    def test_warn_lets_the_commit_through_block_refuses_it(self):
        self.install()
        self.r.write("b.py", complex_fn())
        self.r.git("add", "b.py")
        c = self.git_commit("warned")
        self.assertEqual(c.returncode, 0, c.stderr)
        lines = c.stderr.splitlines()
        self.assertEqual(lines[0], "warning: b.py:1: big: complexity 21 (max 15)")
        # the hint names the refactor that splits it, in git's hint style
        self.assertEqual(lines[1], "hint: Split it into simpler functions on a new branch with")
        self.assertEqual(lines[2], "hint:     git monitor refactor --max-complexity 15 -f big -- :/b.py")
        self.assertEqual(lines[-1], 'hint: Disable this message with "git config advice.monitorHook false"')
        self.assertEqual(self.r.git("log", "-1", "--format=%s").strip(), "warned")
        # advice.monitorHook false: the finding alone
        self.r.git("config", "advice.monitorHook", "false")
        self.r.write("b.py", complex_fn(ret=7))
        self.r.git("add", "b.py")
        c = self.git_commit("warned quietly")
        self.assertEqual(c.stderr.strip(), "warning: b.py:1: big: complexity 21 (max 15)")
        self.r.git("config", "--unset", "advice.monitorHook")

        self.r.git("config", "monitor.hook.mode", "block")
        self.r.write("b.py", complex_fn(ret=1))
        self.r.git("add", "b.py")
        old = self.head()
        c = self.git_commit("blocked")
        self.assertEqual(c.returncode, 1, c.stderr)
        self.assertIn("b.py:1: big: complexity 21 (max 15)", c.stderr)
        self.assertIn("git commit --no-verify", c.stderr)
        self.assertIn("git config monitor.hook.mode warn", c.stderr)
        # how to fix it comes first, not only how to get around it
        self.assertIn("git-monitor: commit blocked: 1 function over complexity 15", c.stderr)
        self.assertLess(c.stderr.index("git monitor refactor --max-complexity 15 -f big -- :/b.py"),
                        c.stderr.index("--no-verify"))
        self.assertEqual(self.head(), old)
        # `commit -a` uses a temporary index: still judged
        self.r.write("b.py", complex_fn(ret=2))
        c = self.git_commit("blocked -a", "-a")
        self.assertEqual(c.returncode, 1, c.stderr)
        self.assertEqual(self.head(), old)
        # a higher threshold lets it through
        self.r.git("config", "monitor.hook.maxComplexity", "30")
        c = self.git_commit("allowed", "-a")
        self.assertEqual(c.returncode, 0, c.stderr)
        self.assertNotIn("complexity", c.stderr)

    def test_only_units_touched_by_the_staged_diff_are_reported(self):
        self.r.commit({"b.py": complex_fn() + "\n\n" + "def small():\n    return 1\n"}, "complex base")
        self.r.git("config", "monitor.hook.mode", "block")
        self.install()
        self.r.write("b.py", complex_fn() + "\n\n" + "def small():\n    return 2\n")
        self.r.git("add", "b.py")
        c = self.git_commit("touch small only")
        self.assertEqual(c.returncode, 0, c.stderr)
        self.assertNotIn("complexity", c.stderr)
        # a change inside the complex one is reported, at its line
        self.r.write("b.py", "import os\n" + complex_fn(ret=5) + "\n\n" + "def small():\n    return 2\n")
        self.r.git("add", "b.py")
        p = self.r.run("hook", "run", "pre-commit")
        self.assertEqual(p.returncode, 1)
        self.assertIn("b.py:2: big: complexity 21 (max 15)", p.stderr)

    def test_staged_version_is_judged_not_the_working_tree(self):
        self.r.git("config", "monitor.hook.mode", "block")
        self.r.write("b.py", complex_fn())
        self.r.git("add", "b.py")
        self.r.write("b.py", SIMPLE)  # unstaged: simple
        p = self.r.run("hook", "run", "pre-commit")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("b.py:1: big: complexity 21 (max 15)", p.stderr)
        # and the other way round
        self.r.write("b.py", SIMPLE)
        self.r.git("add", "b.py")
        self.r.write("b.py", complex_fn())
        p = self.r.run("hook", "run", "pre-commit")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, "")

    def test_the_hinted_refactor_works_from_a_subdirectory_and_with_glob_characters(self):
        # A hook cannot know where the user will type the hint: its paths are
        # from the top; a file named like a glob is matched literally.
        r = self.repo()
        r.write("pkg/[x].py", complex_fn("wide"))
        r.write("pkg/x.py", complex_fn("wide"))
        r.git("add", "pkg/[x].py")
        p = r.run("hook", "run", "pre-commit")
        self.assertEqual(p.returncode, 0, p.stderr)
        hint = [l for l in p.stderr.splitlines() if "git monitor refactor" in l][0]
        self.assertTrue(hint.endswith("-- ':(top,literal)pkg/[x].py'"), hint)
        cmd = hint.split("git monitor refactor", 1)[1]
        words = shlex.split(cmd)
        r.git("commit", "-q", "--no-verify", "-m", "both")
        sub = os.path.join(r.path, "pkg")
        d = subprocess.run([gmtest.GIT_MONITOR, "refactor", "--dry-run", "--json", *words], cwd=sub,
                           env=r.env, capture_output=True, text=True)
        self.assertEqual(d.returncode, 0, d.stderr)
        paths = sorted({t["path"] for t in json.loads(d.stdout)["tasks"]})
        self.assertEqual(paths, ["pkg/[x].py"])

    def test_unborn_head_reports_every_staged_unit(self):
        r = self.repo()
        r.write("x.py", complex_fn("one") + "\n\n" + complex_fn("two", 16))
        r.git("add", "x.py")
        p = r.run("hook", "run", "pre-commit")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr.splitlines()[:4], [
            "warning: x.py:1: one: complexity 21 (max 15)",
            "warning: x.py:45: two: complexity 17 (max 15)",
            "hint: Split them into simpler functions on a new branch with",
            "hint:     git monitor refactor --max-complexity 15 -f one -f two -- :/x.py",
        ])

    def test_the_check_changes_nothing(self):
        self.r.git("config", "monitor.hook.mode", "block")
        self.r.write("b.py", complex_fn())
        self.r.git("add", "b.py")
        self.r.write("b.py", SIMPLE)
        self.r.write("untracked.py", complex_fn())
        before = self.r.snapshot()
        p = self.r.run("hook", "run", "pre-commit")
        self.assertEqual(p.returncode, 1)
        self.assertUnchanged(before, self.r)
        status = self.r.git("status", "--porcelain")
        self.assertEqual(status, "AM b.py\n?? untracked.py\n")

    def test_suggest_starts_a_detached_refactor_after_the_commit(self):
        # a stand-in git-monitor records how `refactor` was started (the real
        # refactor command is another piece of work); everything else is real
        record = os.path.join(self.r.tmp, "refactor-args")
        os.remove(os.path.join(self.bin, "git-monitor"))
        wrapper = os.path.join(self.bin, "git-monitor")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\n"
                    "if [ \"$1\" = refactor ]; then\n"
                    "  { printf '%%s\\n' \"$@\"; echo HEAD=$(git rev-parse HEAD); } > '%s.tmp'\n"
                    "  mv '%s.tmp' '%s'; exit 0\n"
                    "fi\n"
                    "exec '%s' \"$@\"\n" % (record, record, record, os.path.abspath(gmtest.GIT_MONITOR)))
        os.chmod(wrapper, 0o755)
        self.install()
        self.r.git("config", "monitor.hook.mode", "suggest")
        self.r.write("b.py", complex_fn())
        self.r.write("c.py", complex_fn("Other", 18).replace("def Other", "def other"))
        self.r.git("add", "b.py", "c.py")
        c = self.git_commit("suggested")
        self.assertEqual(c.returncode, 0, c.stderr)
        self.assertIn("background refactor of 2 functions", c.stderr)
        self.assertIn("monitor/", c.stderr)
        new_head = self.head()
        self.assertEqual(self.r.git("log", "-1", "--format=%s").strip(), "suggested")
        for _ in range(600):  # the background process is not ours to wait for
            if os.path.exists(record):
                break
            time.sleep(0.1)
        with open(record) as f:
            lines = f.read().splitlines()
        self.assertEqual(lines, ["refactor", "--max-complexity", "15", "--function", "big",
                                 "--function", "other", "--", "b.py", "c.py", "HEAD=" + new_head])
        # a commit aborted after pre-commit (here by a failing commit-msg hook)
        # starts no refactor; the background process says so in its log
        os.remove(record)
        with open(self.hooks("commit-msg"), "w") as f:
            f.write("#!/bin/sh\nexit 1\n")
        os.chmod(self.hooks("commit-msg"), 0o755)
        self.r.write("b.py", complex_fn(ret=7))
        self.r.git("add", "b.py")
        c = self.git_commit("aborted")
        self.assertNotEqual(c.returncode, 0)
        self.assertIn("background refactor of 1 function", c.stderr)
        self.assertEqual(self.head(), new_head)
        log = os.path.join(self.r.path, ".git", "monitor", "hook.log")
        text = ""
        for _ in range(600):
            text = open(log).read() if os.path.exists(log) else ""
            if "did not happen" in text:
                break
            time.sleep(0.1)
        self.assertIn("the commit did not happen; background refactor not started", text)
        self.assertFalse(os.path.exists(record))

    def test_suggest_produces_a_reviewable_branch_against_the_fake(self):
        # The real thing end to end: the hook starts the real refactor in the
        # background, which talks to the stand-in LM Studio and writes a branch.
        sys.path.insert(0, os.path.join(gmtest.SOURCE_DIR, "tests", "fakes"))
        from fakes import FakeLMStudio
        with FakeLMStudio(latency=0.05) as srv:
            self.r.env["MONITOR_LOCAL_URL"] = srv.url
            self.install()
            self.r.git("config", "monitor.hook.mode", "suggest")
            self.r.write("b.py", complex_fn())
            self.r.git("add", "b.py")
            before = self.r.snapshot()
            c = self.git_commit("suggested")
            self.assertEqual(c.returncode, 0, c.stderr)
            committed = self.head()
            branch = ""
            for _ in range(600):  # the background run is not ours to wait for
                branch = self.r.git("for-each-ref", "--format=%(refname:short)", "refs/heads/monitor/").strip()
                if branch:
                    break
                time.sleep(0.1)
            self.assertTrue(branch, "no branch appeared; log: %s" % self.hook_log())
        self.assertEqual(self.r.git("rev-parse", branch + "^").strip(), committed)
        diff = self.r.git("diff", committed, branch)
        self.assertIn("+    # refactored", diff)
        self.assertIn("b.py", diff)
        # The user's state is what the commit left, whatever ran in the background.
        after = self.r.snapshot()
        self.assertEqual(after["worktree"], before["worktree"])
        self.assertEqual(self.head(), committed)

    def test_suggest_splits_a_complex_function_into_helpers_and_says_it_came_under(self):
        # The model answers the split the suggest mode asks for: the function
        # calls two helpers, each with half the branches.
        sys.path.insert(0, os.path.join(gmtest.SOURCE_DIR, "tests", "fakes"))
        from fakes import FakeLMStudio

        def half(name, lo, hi):
            body = "".join("    if x == %d:\n        return %d\n" % (i, i) for i in range(lo, hi))
            return "def %s(x):\n%s    return -1\n" % (name, body)
        answer = ("Here is the split:\n\n```python\n" + half("_big_low", 0, 10) + "\n\n" +
                  half("_big_high", 10, 20) + "\n\n"
                  "def big(x):\n    if x < 10:\n        return _big_low(x)\n    return _big_high(x)\n```\n")
        rule = {"match": {"user_regex": "split this function into smaller helper functions.*"
                                        "at most 15"},
                "response": {"content": answer}}
        with FakeLMStudio(script=[rule], latency=0.05) as srv:
            self.r.env["MONITOR_LOCAL_URL"] = srv.url
            self.install()
            self.r.git("config", "monitor.hook.mode", "suggest")
            self.r.write("b.py", complex_fn())
            self.r.git("add", "b.py")
            c = self.git_commit("suggested")
            self.assertEqual(c.returncode, 0, c.stderr)
            committed = self.head()
            text = ""
            for _ in range(600):  # the background run is not ours to wait for
                text = self.hook_log()
                if "threshold" in text:
                    break
                time.sleep(0.1)
        self.assertIn("under the threshold: b.py:1 big: complexity 21 -> 11 (max 15), with 2 helpers",
                      text)
        branch = self.r.git("for-each-ref", "--format=%(refname:short)", "refs/heads/monitor/").strip()
        new = self.r.git("show", branch + ":b.py")
        self.assertTrue(new.startswith("def _big_low(x):\n"), new)
        self.assertIn("\n\n\ndef _big_high(x):\n", new)
        self.assertTrue(new.endswith("def big(x):\n    if x < 10:\n        return _big_low(x)\n"
                                     "    return _big_high(x)\n"), new)
        msg = self.r.git("log", "-1", "--format=%B", branch)
        self.assertIn("b.py: big (+ helpers _big_low, _big_high) (local:", msg)
        note = json.loads(self.r.git("notes", "--ref=monitor", "show", branch))
        t = [t for t in note["tasks"] if t["name"] == "big" and t["kind"] == "rewrite"][0]
        self.assertEqual(t["helpers"], ["_big_low", "_big_high"])
        self.assertEqual(t["complexity"], {"before": 21, "after": 11, "after_sum": 24})
        self.assertEqual(self.r.git("rev-parse", branch + "^").strip(), committed)

    def hook_log(self):
        log = os.path.join(self.r.path, ".git", "monitor", "hook.log")
        if not os.path.exists(log):
            return "(no log)"
        with open(log) as f:
            return f.read()

    def test_usage_errors(self):
        self.assertEqual(self.r.run("hook").returncode, 129)
        self.assertEqual(self.r.run("hook", "run", "post-commit").returncode, 129)
        self.assertEqual(self.r.run("hook", "uninstall", "--force").returncode, 129)
        p = self.r.run("hook", "-h")
        self.assertEqual(p.returncode, 129)
        self.assertIn("hook install", p.stdout)
        p = self.r.run("hook", "instal")
        self.assertEqual(p.returncode, 129)
        self.assertIn("unknown hook command 'instal'; did you mean 'install'?", p.stderr)



def complex_c(name="big", n=20):
    body = "".join("\tif (x == %d)\n\t\treturn %d;\n" % (i, i) for i in range(n))
    return "int %s(int x)\n{\n%s\treturn -1;\n}\n" % (name, body)


class HookAgreesWithRefactorTest(gmtest.TestCase):
    """The hook and `refactor --staged` ask the same question (which units
    the staged diff touches) and must give the same answer, also for lines
    removed right below a function."""

    def touched_by_hook(self, r):
        p = r.run("hook", "run", "pre-commit")
        self.assertEqual(p.returncode, 0, p.stderr)
        return sorted(l.split(": ")[2] for l in p.stderr.splitlines()
                      if l.startswith("warning: ") and ": complexity " in l)

    def touched_by_refactor(self, r):
        p = r.run("refactor", "--staged", "--dry-run", "--json",
                  env={"MONITOR_LOCAL_URL": "http://127.0.0.1:9/v1"})
        self.assertEqual(p.returncode, 0, p.stderr)
        return sorted(t["name"] for t in json.loads(p.stdout)["tasks"] if t["kind"] == "rewrite")

    def staged_deletion(self, path, base, staged):
        r = self.repo()
        r.commit({path: base}, "base")
        r.write(path, staged)
        r.git("add", path)
        return r

    def test_lines_removed_below_a_c_function_are_outside_it(self):
        # The closing brace ends `big`: the global after it is not part of it.
        r = self.staged_deletion("m.c", complex_c() + "int after;\n", complex_c())
        self.assertEqual(self.touched_by_hook(r), [])
        self.assertEqual(self.touched_by_refactor(r), [])

    def test_lines_removed_below_a_python_function_may_be_its_tail(self):
        # Nothing closes `big`: the removed lines were the end of its body.
        base = complex_fn() + "    x = x + 1\n    return x\n"
        r = self.staged_deletion("m.py", base, complex_fn())
        self.assertEqual(self.touched_by_hook(r), ["big"])
        self.assertEqual(self.touched_by_refactor(r), ["big"])


if __name__ == "__main__":
    gmtest.main()
