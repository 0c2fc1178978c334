"""git monitor review: a branch written by a real `refactor` run (against the
fake LM Studio), listed function by function, with and without its note, and
--drop adding one commit that restores single functions."""
import json
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(__file__))
import gmtest  # noqa: E402

sys.path.insert(0, os.path.join(gmtest.SOURCE_DIR, "tests", "fakes"))
from fakes import FakeLMStudio  # noqa: E402

# gmtest.snapshot reads files without closing them; not what these tests are about
warnings.simplefilter("ignore", ResourceWarning)

A_PY = (
    "import os\n"
    "\n"
    "\n"
    "def first(x):\n"
    "    y = x * 2\n"
    "    return y + 1\n"
    "\n"
    "\n"
    "def keep_me(x):\n"
    "    return x + 1\n"
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
    "#include <stdio.h>\n"
    "\n"
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

# keep_me comes back unchanged: the run does not change it, so review must not list it.
SCRIPT = [{"match": {"user": "def keep_me"},
           "response": {"content": "```python\ndef keep_me(x):\n    return x + 1\n```"}}]

CHANGED = {("a.py", "first"), ("a.py", "Box.__init__"), ("a.py", "Box.size"),
           ("b.c", "twice"), ("b.c", "thrice")}


class ReviewTest(gmtest.TestCase):
    def setUp(self):
        self.r = self.repo()
        self.base = self.r.commit({"a.py": A_PY, "b.c": B_C}, "base")
        self.srv = FakeLMStudio(script=SCRIPT).start()
        self.addCleanup(self.srv.stop)
        p = self.r.run("refactor", "-g", "simplify", "--local-only",
                       env={"MONITOR_LOCAL_URL": self.srv.url})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.branch = p.stdout.splitlines()[0].strip()
        self.assertTrue(self.branch.startswith("monitor/"), p.stdout)

    def review(self, *args, code=0):
        p = self.r.run("review", *args)
        self.assertEqual(p.returncode, code, "stdout %r stderr %r" % (p.stdout, p.stderr))
        return p

    def review_json(self, *args):
        return json.loads(self.review("--json", *args).stdout)

    def note(self, rev):
        return json.loads(self.r.git("notes", "--ref=monitor", "show", rev))

    def names(self, doc, changed_only=True):
        return {(f["path"], f["name"]) for f in doc["functions"] if f["changed"] or not changed_only}

    def tip(self):
        return self.r.git("rev-parse", self.branch).strip()

    # --- listing ---------------------------------------------------------------

    def test_lists_exactly_the_functions_the_run_changed_with_route_and_model(self):
        note = self.note(self.branch)
        applied = {(t["path"], t["name"]): t for t in note["tasks"] if t["status"] == "applied"}
        self.assertEqual(set(applied), CHANGED)
        self.assertIn("unchanged", [t["status"] for t in note["tasks"] if t["name"] == "keep_me"])
        doc = self.review_json(self.branch)
        self.assertEqual(doc["source"], "note")
        self.assertEqual(doc["base"], self.base)
        self.assertEqual(doc["tip"], self.tip())
        self.assertEqual(doc["run"], note["run"])
        self.assertEqual(self.names(doc, changed_only=False), CHANGED)
        for f in doc["functions"]:
            t = applied[(f["path"], f["name"])]
            self.assertEqual((f["route"], f["model"], f["attempts"], f["status"]),
                             (t["route"], t["model"], t["attempts"], "applied"))
            self.assertEqual((f["lines_added"], f["lines_removed"]), (1, 0), f)
            self.assertFalse(f["changed_after"])
        # file order
        order = [(f["path"], f["start_line"]) for f in doc["functions"]]
        self.assertEqual(order, sorted(order))
        # the table says the same to a person
        text = self.review().stdout
        self.assertIn(self.branch, text)
        self.assertIn("a.py:19 Box.size", text)
        self.assertIn(note["local_model"], text)
        self.assertNotIn("keep_me", text)

    def test_without_the_note_the_diff_gives_the_same_functions(self):
        model = self.note(self.branch)["local_model"]
        self.r.git("update-ref", "-d", "refs/notes/monitor")
        p = self.review("--json")
        self.assertIn("no note", p.stderr)
        doc = json.loads(p.stdout)
        self.assertEqual(doc["source"], "diff")
        self.assertEqual(doc["base"], self.base)
        self.assertEqual(self.names(doc), CHANGED)
        self.assertEqual(len(doc["functions"]), len(CHANGED))
        for f in doc["functions"]:
            self.assertEqual((f["route"], f["model"], f["attempts"]), ("local", model, 1), f)

    def test_diff_shows_each_function_in_file_order_without_colour_off_a_terminal(self):
        out = self.review("--diff").stdout
        self.assertNotIn("\033[", out)
        heads = [l for l in out.splitlines() if l.startswith("function ")]
        self.assertEqual([h.split()[1] + " " + h.split()[2] for h in heads],
                         ["a.py:4 first", "a.py:15 Box.__init__", "a.py:19 Box.size",
                          "b.c:3 twice", "b.c:9 thrice"])
        self.assertIn("@@ -17,2 +19,3 @@ Box.size\n     def size(self):\n+        # refactored\n"
                      "         return len(self.v)\n", out)
        self.assertIn("+\t// refactored\n", out)
        doc = self.review_json("--diff")
        for f in doc["functions"]:
            self.assertIn("--- a/%s\n+++ b/%s\n@@ " % (f["path"], f["path"]), f["diff"])
            self.assertIn("refactored", f["diff"])

    def test_default_branch_is_the_newest_and_missing_branches_fail(self):
        self.assertEqual(self.review_json()["branch"], self.branch)
        p = self.r.run("review", "monitor/nope")
        self.assertOneLineError(p, 128, "no branch 'monitor/nope'")
        other = self.repo()
        other.commit({"a.py": A_PY}, "base")
        p = other.run("review")
        self.assertOneLineError(p, 1, "no git-monitor branch")

    def test_branch_prefix_is_respected(self):
        self.r.git("branch", "-m", self.branch, "mine/x")
        self.r.git("config", "monitor.branchPrefix", "mine/")
        self.assertEqual(self.review_json()["branch"], "mine/x")

    # --- commits on top ----------------------------------------------------------

    def test_a_commit_on_top_is_reported_as_changed_after(self):
        self.r.git("checkout", "-q", self.branch)
        text = self.r.read("b.c").decode().replace("return a * 3;", "return 3 * a;")
        self.r.commit({"b.c": text}, "user tweak")
        self.r.git("checkout", "-q", "main")
        doc = self.review_json(self.branch)
        self.assertEqual(doc["commits_after"], 1)
        self.assertEqual(doc["base"], self.base)
        after = {f["name"] for f in doc["functions"] if f["changed_after"]}
        self.assertEqual(after, {"thrice"})
        self.assertEqual(self.names(doc), CHANGED)
        self.assertIn("b.c:9 thrice  [changed after]", self.review(self.branch).stdout)

    def test_a_function_added_on_top_is_listed_and_dropping_it_removes_it(self):
        monitor_commit = self.tip()
        self.r.git("checkout", "-q", self.branch)
        a = self.r.read("a.py").decode()
        mid = a.replace("\n\nclass Box:", "\n\ndef extra(n):\n    return n - 1\n\n\nclass Box:")
        self.assertNotEqual(mid, a)
        self.r.commit({"a.py": mid + "\n\ndef tail():\n    return 0\n"}, "user adds functions")
        self.r.git("checkout", "-q", "main")
        doc = self.review_json(self.branch)
        added = {f["name"]: f for f in doc["functions"] if not f["in_base"]}
        self.assertEqual(set(added), {"extra", "tail"})
        for f in added.values():
            self.assertEqual((f["status"], f["route"], f["changed_after"]), ("changed", "none", True))
        self.review("--drop", "a.py:extra", "--drop", "a.py:tail", self.branch)
        # the file is back to what the run wrote, blank lines included
        self.assertEqual(self.r.git("show", self.branch + ":a.py"),
                         self.r.git("show", monitor_commit + ":a.py"))

    # --- drop ----------------------------------------------------------------------

    def test_drop_restores_one_function_in_one_commit_and_updates_the_note(self):
        old_tip = self.tip()
        before = self.r.snapshot()
        p = self.review("--drop", "a.py:Box.size", "--drop", "b.c:twice", self.branch)
        self.assertIn("dropped 2 functions", p.stderr)
        new_tip = self.tip()
        self.assertNotEqual(new_tip, old_tip)
        # one commit on top, nothing else of the user moved
        self.assertEqual(self.r.git("rev-parse", new_tip + "^").strip(), old_tip)
        self.assertIn("review: drop 2 functions", self.r.git("log", "-1", "--format=%B", new_tip))
        after = self.r.snapshot()
        for k in ("HEAD", "index", "worktree"):
            self.assertEqual(before[k], after[k], k)

        def other_refs(s):
            return [l for l in s["refs"].splitlines()
                    if not l.startswith("refs/heads/" + self.branch + " ")
                    and not l.startswith("refs/notes/monitor ")]
        self.assertEqual(other_refs(before), other_refs(after))
        # the dropped functions are back to their base text, the others are still changed
        a = self.r.git("show", new_tip + ":a.py")
        self.assertIn("    def size(self):\n        return len(self.v)\n", a)
        self.assertIn("def first(x):\n    # refactored\n", a)
        diff = self.r.git("diff", self.base, new_tip)
        self.assertEqual(diff.count("refactored"), 3, diff)
        self.assertNotIn("size", self.r.git("diff", "-U0", self.base, new_tip, "--", "a.py"))
        # only those functions' lines changed in the drop commit
        d = self.r.git("diff", "-U0", old_tip, new_tip)
        changed = [l for l in d.splitlines() if l[:1] in "+-" and not l.startswith(("+++", "---"))]
        self.assertEqual(sorted(changed), ["-\t// refactored", "-        # refactored"])
        # the note moved to the new tip with those tasks marked
        note = self.note(new_tip)
        status = {(t["path"], t["name"]): (t["status"], t.get("reason")) for t in note["tasks"]}
        self.assertEqual(status[("a.py", "Box.size")], ("dropped", "dropped in review"))
        self.assertEqual(status[("b.c", "twice")], ("dropped", "dropped in review"))
        self.assertEqual(status[("a.py", "first")][0], "applied")
        # and the review reads the range again from the base
        doc = self.review_json(self.branch)
        self.assertEqual(doc["base"], self.base)
        self.assertEqual(self.names(doc), CHANGED - {("a.py", "Box.size"), ("b.c", "twice")})
        dropped = {f["name"]: f["status"] for f in doc["functions"] if not f["changed"]}
        self.assertEqual(dropped, {"Box.size": "dropped", "twice": "dropped"})
        # dropping it again is an error
        p = self.r.run("review", "--drop", "a.py:Box.size")
        self.assertOneLineError(p, 1, "a.py:Box.size")

    def test_dropping_a_function_the_branch_did_not_change_fails_and_writes_nothing(self):
        before = self.r.snapshot()
        objects = self.r.git("count-objects", "-v")
        p = self.r.run("review", "--drop", "a.py:first", "--drop", "a.py:keep_me", self.branch)
        self.assertOneLineError(p, 1, "a.py:keep_me")
        self.assertEqual(p.stdout, "")
        self.assertUnchanged(before, self.r)
        self.assertEqual(self.r.git("count-objects", "-v"), objects)
        p = self.r.run("review", "--drop", "nocolon")
        self.assertOneLineError(p, 129, "nocolon")
        self.assertUnchanged(before, self.r)

    def test_drop_refuses_the_checked_out_branch(self):
        self.r.git("checkout", "-q", self.branch)
        before = self.r.snapshot()
        p = self.r.run("review", "--drop", "a.py:first")
        self.assertOneLineError(p, 1, "checked out")
        self.assertUnchanged(before, self.r)

    def test_drop_without_the_note_still_restores(self):
        self.r.git("update-ref", "-d", "refs/notes/monitor")
        p = self.review("--json", "--drop", "b.c:thrice")
        doc = json.loads(p.stdout)
        self.assertEqual(doc["dropped"], ["b.c:thrice"])
        self.assertEqual(self.names(doc), CHANGED - {("b.c", "thrice")})
        self.assertEqual(self.r.git("show", self.branch + ":b.c").count("refactored"), 1)



# A run whose answers split functions: helpers and imports come with them.
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
    "def other(items):\n"
    "    return [i for i in items if i]\n"
)
TOTAL = ("```python\nimport logging\n\n\ndef _positive(items):\n    return (i for i in items if i > 0)\n\n\n"
         "def total(items):\n    logging.debug('total')\n    return sum(_positive(items))\n```")
OTHER = ("```python\nimport logging\nimport os\n\n\ndef _truthy(i):\n    return bool(i)\n\n\n"
         "def other(items):\n    logging.debug('other')\n    return [i for i in items if _truthy(i)]\n```")


class ReviewHelpersTest(gmtest.TestCase):
    def setUp(self):
        self.r = self.repo()
        self.base = self.r.commit({"s.py": S_PY, "c.py": "def c():\n    return 1\n"}, "base")
        script = [{"match": {"user_regex": r"def total\("}, "response": {"content": TOTAL}},
                  {"match": {"user_regex": r"def other\("}, "response": {"content": OTHER}}]
        with FakeLMStudio(script=script) as srv:
            p = self.r.run("refactor", "-g", "split", "--local-only", "--", "s.py",
                           env={"MONITOR_LOCAL_URL": srv.url})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.branch = p.stdout.splitlines()[0].strip()

    def show(self, rev):
        return self.r.git("show", "%s:s.py" % rev)

    def test_helpers_and_imports_are_shown_with_their_function(self):
        new = self.show(self.branch)
        self.assertTrue(new.startswith("import os\nimport logging\n\n\ndef _positive(items):\n"), new)
        p = self.r.run("review", self.branch)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"helper .* s\.py:\d+ _positive  \(helper of total\)")
        self.assertRegex(p.stdout, r"applied .* s\.py:\d+ total  cc 3 -> 3")
        self.assertIn("    + import: import logging\n", p.stdout)
        doc = json.loads(self.r.run("review", "--json", self.branch).stdout)
        fns = {f["name"]: f for f in doc["functions"]}
        self.assertEqual(fns["_positive"]["helper_of"], "total")
        self.assertEqual(fns["total"]["helpers"], ["_positive"])
        self.assertEqual(fns["total"]["imports"], ["import logging"])
        self.assertEqual(fns["other"]["imports"], ["import logging"])

    def test_drop_takes_helpers_and_unneeded_imports_along_and_undo_gives_them_back(self):
        before = self.r.snapshot()
        after_run = self.show(self.branch)
        p = self.r.run("review", "--drop", "s.py:total", self.branch)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("dropped 1 function", p.stderr)
        once = self.show(self.branch)
        # total and its helper are back to the base; other still needs logging
        self.assertNotIn("_positive", once)
        self.assertIn("def total(items):\n    s = 0\n", once)
        self.assertIn("import logging\n", once)
        self.assertIn("def _truthy(i):", once)
        msg = self.r.git("log", "-1", "--format=%B", self.branch)
        self.assertIn("s.py: total (+ helpers _positive)", msg)
        # a helper stands for its function: dropping it drops other with it
        p = self.r.run("review", "--drop", "s.py:_truth*", self.branch)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.show(self.branch), S_PY)
        compile(self.show(self.branch), "s.py", "exec")
        # undo gives back the last drop, in a new commit
        p = self.r.run("review", "--undo-drop", self.branch)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.show(self.branch), once)
        self.assertIn("review: undo the drop of 1 function",
                      self.r.git("log", "-1", "--format=%B", self.branch))
        p = self.r.run("review", "--undo-drop", self.branch)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.show(self.branch), after_run)
        # and the note says those functions are applied again
        doc = json.loads(self.r.run("review", "--json", self.branch).stdout)
        self.assertEqual({f["name"]: f["status"] for f in doc["functions"] if f["name"] in ("total", "other")},
                         {"total": "applied", "other": "applied"})
        # three undos deep there is nothing left to undo
        p = self.r.run("review", "--undo-drop", self.branch)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("has no drop left to undo", p.stderr)
        for k in ("HEAD", "index", "worktree"):
            self.assertEqual(before[k], self.r.snapshot()[k], k)

    def test_one_glob_drops_several_functions_in_one_commit(self):
        p = self.r.run("review", "--drop", "s.py:*", "--drop", "*.py:other", self.branch)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("dropped 2 functions", p.stderr)
        self.assertEqual(self.show(self.branch), S_PY)
        self.assertEqual(self.r.git("rev-list", "--count", "%s..%s" % (self.base, self.branch)).strip(), "2")
        p = self.r.run("review", "--drop", "nope.py:*", self.branch)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("did not change 'nope.py:*'", p.stderr)


class ReviewLanguageRuleTest(gmtest.TestCase):
    """review parses each file as the scan did: attributes and .h as C++ included."""

    def test_a_file_whose_language_comes_from_an_attribute_is_reviewed_and_dropped(self):
        r = self.repo()
        src = "def keep_me(x):\n    return x\n\n\ndef other():\n    return 2\n"
        r.commit({"tool.inc": src, ".gitattributes": "*.inc monitor-language=python\n"}, "base")
        with FakeLMStudio(script=SCRIPT) as srv:
            p = r.run("refactor", "-g", "tidy", "--local-only", "-f", "keep_me",
                      env={"MONITOR_LOCAL_URL": srv.url})
        self.assertEqual(p.returncode, 0, p.stderr)
        branch = p.stdout.splitlines()[0].strip()
        p = r.run("review", "--json", branch)
        self.assertEqual(p.returncode, 0, p.stderr)
        doc = json.loads(p.stdout)
        self.assertEqual([(f["path"], f["name"]) for f in doc["functions"] if f["changed"]],
                         [("tool.inc", "keep_me")])
        p = r.run("review", "--drop", "tool.inc:keep_me", branch)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(r.git("show", branch + ":tool.inc"), src)


if __name__ == "__main__":
    gmtest.main()
