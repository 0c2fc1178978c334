"""Answers as code models write them, on real code nobody here wrote.

The fake LM Studio answers every function in one of the shapes real local
models use (tests/fakes/shapes.py: helpers, imports, class wrappers, doc
comments, echoed imports, several blocks, <think>, other indentation,
prose), each a behaviour-preserving edit.  A real refactor of

  - the Python standard library's json package, whose own test suite
    (test.test_json) then runs against the branch, and
  - the tree-sitter runtime (the C library this tool is built on, fetched by
    the build), which is then compiled from the branch and must parse every
    fixture exactly as the original does,

must apply at least 95% of the answers that are not "unchanged", and the
helpers and imports must land where the code uses them.
"""
import collections
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import unittest

import gmtest

sys.path.insert(0, os.path.join(gmtest.SOURCE_DIR, "tests", "fakes"))
from fakes import FakeLMStudio  # noqa: E402

RUNTIME = os.environ.get("GM_TS_RUNTIME_DIR", "")
GRAMMAR_LIBS = [p for p in os.environ.get("GM_GRAMMAR_LIBS", "").split(":") if p]
CC = shutil.which("cc") or shutil.which("gcc")
CHECKER_CFLAGS = os.environ.get("GM_CHECKER_CFLAGS", "").split()


def applied_share(tasks):
    rewrites = [t for t in tasks if t["kind"] == "rewrite"]
    counted = [t for t in rewrites if t["status"] != "unchanged"]
    applied = [t for t in counted if t["status"] == "applied"]
    return len(applied), len(counted)


class AnswersTest(gmtest.TestCase):
    def refactor(self, repo, *extra):
        # Under the sanitizers a run of 600 answers takes minutes: the fake waits.
        with FakeLMStudio(shapes="mix", concurrency=8, max_lifetime=1500) as srv:
            before = repo.snapshot()
            p = repo.run("refactor", "--local-only", "--json", "-j", "8", *extra,
                         env={"MONITOR_LOCAL_URL": srv.url}, timeout=1500)
            after = repo.snapshot()
        for k in ("HEAD", "index", "worktree"):
            self.assertEqual(before[k], after[k], k)
        self.assertTrue(set(before["refs"].splitlines()) <= set(after["refs"].splitlines()))
        self.assertEqual(p.returncode, 0, p.stderr)
        rep = json.loads(p.stdout)
        n, total = applied_share(rep["tasks"])
        reasons = collections.Counter(t.get("reason") for t in rep["tasks"]
                                      if t["kind"] == "rewrite" and t["status"] not in ("applied", "unchanged"))
        self.assertGreater(total, 20)
        self.assertGreaterEqual(n / total, 0.95, "applied %d of %d; reasons: %r" % (n, total, reasons))
        return rep

    def checkout(self, repo, branch):
        d = tempfile.mkdtemp(prefix="gm-branch-")
        self.addCleanup(shutil.rmtree, d, True)
        arch = subprocess.run(["git", "archive", branch], cwd=repo.path, env=repo.env,
                              capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", d], input=arch, check=True)
        return d

    def shape_counts(self, rep):
        helpers = sum(len(t.get("helpers", [])) for t in rep["tasks"])
        imports = sum(len(t.get("imports", [])) for t in rep["tasks"])
        return helpers, imports

    def test_python_json_package_then_its_own_tests(self):
        stdlib = sysconfig.get_paths()["stdlib"]
        if importlib.util.find_spec("test.test_json") is None:
            self.fail("the standard library's test suite (test.test_json) is missing: "
                      "install python3's testsuite package (Debian: libpython3.11-testsuite)")
        repo = self.repo()
        shutil.copytree(os.path.join(stdlib, "json"), os.path.join(repo.path, "json"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        repo.commit(message="json from the standard library")
        rep = self.refactor(repo)
        helpers, imports = self.shape_counts(rep)
        self.assertGreater(helpers, 3)
        out = self.checkout(repo, rep["branch"])
        # Helpers are defined where their callers can reach them, imports at the top.
        for name in os.listdir(os.path.join(out, "json")):
            if not name.endswith(".py"):
                continue
            with open(os.path.join(out, "json", name)) as f:
                text = f.read()
            for h in set(re.findall(r"\b(_gm_note_\w+)\(", text)):
                self.assertRegex(text, r"(?m)^\s*def %s\(" % h, "%s: %s is called, not defined" % (name, h))
            first_def = re.search(r"(?m)^(def|class) ", text)
            for m in re.finditer(r"(?m)^\s*import operator$", text):
                self.assertTrue(first_def and m.start() < first_def.start(), name)
                self.assertFalse(text[:m.start()].endswith(" "), name)
            self.assertLessEqual(len(re.findall(r"(?m)^import operator$", text)), 1, name)
        env = dict(os.environ, PYTHONPATH=out, PYTHONDONTWRITEBYTECODE="1")
        env.pop("PYTHONHOME", None)
        p = subprocess.run([sys.executable, "-c",
                            "import json, sys; assert json.__file__.startswith(sys.argv[1]), json.__file__",
                            out], env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = subprocess.run([sys.executable, "-m", "unittest", "test.test_json"], cwd=out, env=env,
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        self.assertIn("OK", p.stderr)

    def build_checker(self, lib_dir, out):
        """A program that prints the syntax tree of each file it is given,
        built on the tree-sitter runtime in lib_dir."""
        src = os.path.join(out, "check.c")
        with open(src, "w") as f:
            f.write(CHECKER)
        exe = os.path.join(out, "check")
        cmd = [CC, "-std=c11", "-O1", *CHECKER_CFLAGS, "-D_POSIX_C_SOURCE=200112L", "-D_DEFAULT_SOURCE",
               "-I", os.path.join(lib_dir, "include"), "-I", os.path.join(lib_dir, "src"),
               src, os.path.join(lib_dir, "src", "lib.c"), *GRAMMAR_LIBS, "-o", exe]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, "building on %s failed:\n%s" % (lib_dir, p.stderr[-3000:]))
        return exe

    def test_tree_sitter_runtime_then_it_parses_every_fixture_alike(self):
        if not RUNTIME or not os.path.isdir(os.path.join(RUNTIME, "src")):
            self.fail("GM_TS_RUNTIME_DIR does not name the tree-sitter runtime the build fetched")
        self.assertTrue(CC, "no C compiler")
        repo = self.repo()
        for sub in ("src", "include"):
            shutil.copytree(os.path.join(RUNTIME, sub), os.path.join(repo.path, sub),
                            ignore=shutil.ignore_patterns("wasm"))
        repo.commit(message="tree-sitter runtime")
        rep = self.refactor(repo, "--", "src/")
        helpers, imports = self.shape_counts(rep)
        self.assertGreater(helpers, 20)
        self.assertGreater(imports, 5)
        out = self.checkout(repo, rep["branch"])
        work = tempfile.mkdtemp(prefix="gm-check-")
        self.addCleanup(shutil.rmtree, work, True)
        os.makedirs(os.path.join(work, "a"))
        os.makedirs(os.path.join(work, "b"))
        before = self.build_checker(RUNTIME, os.path.join(work, "a"))
        after = self.build_checker(out, os.path.join(work, "b"))
        files = []
        for root, _d, names in os.walk(gmtest.FIXTURES):
            files += [os.path.join(root, n) for n in sorted(names) if not n.endswith(".expected")]
        files = [f for f in files if os.path.splitext(f)[1] in EXT]
        self.assertGreater(len(files), 30)
        a = subprocess.run([before, *files], capture_output=True, timeout=300)
        b = subprocess.run([after, *files], capture_output=True, timeout=300)
        self.assertEqual(a.returncode, 0, a.stderr)
        self.assertEqual(b.returncode, 0, b.stderr)
        self.assertGreater(len(a.stdout), 10000)
        self.assertEqual(a.stdout, b.stdout, "the refactored runtime parses differently")
        # Includes the answers brought are in each file's include block:
        # after its other includes, before its first function, unconditional.
        for t in rep["tasks"]:
            if not t.get("imports"):
                continue
            with open(os.path.join(out, t["path"]), errors="replace") as f:
                text = f.read()
            for line in t["imports"]:
                at = text.find("\n" + line + "\n")
                self.assertGreaterEqual(at, 0, "%s: %s missing" % (t["path"], line))
                head = text[:at]
                depth = head.count("#if") - head.count("#endif")
                guard = re.match(r"\s*(?:/\*.*?\*/\s*|//[^\n]*\n\s*)*#ifndef (\w+)\n#define \1\n",
                                 text, re.S)
                self.assertEqual(depth, 1 if guard else 0, "%s: %s under a condition" % (t["path"], line))
                self.assertNotRegex(head, r"(?m)^[^\s#/*][^\n;]*\)\s*\{\s*$", t["path"])


EXT = {".c": "c", ".h": "c", ".py": "python", ".js": "javascript", ".go": "go", ".rs": "rust",
       ".java": "java", ".ts": "typescript", ".cpp": "cpp", ".hpp": "cpp"}

CHECKER = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tree_sitter/api.h>
const TSLanguage *tree_sitter_c(void);
const TSLanguage *tree_sitter_cpp(void);
const TSLanguage *tree_sitter_python(void);
const TSLanguage *tree_sitter_javascript(void);
const TSLanguage *tree_sitter_typescript(void);
const TSLanguage *tree_sitter_go(void);
const TSLanguage *tree_sitter_rust(void);
const TSLanguage *tree_sitter_java(void);
static const TSLanguage *lang_of(const char *path) {
	const char *e = strrchr(path, '.');
	if (!e) return NULL;
	if (!strcmp(e, ".c") || !strcmp(e, ".h")) return tree_sitter_c();
	if (!strcmp(e, ".cpp") || !strcmp(e, ".hpp")) return tree_sitter_cpp();
	if (!strcmp(e, ".py")) return tree_sitter_python();
	if (!strcmp(e, ".js")) return tree_sitter_javascript();
	if (!strcmp(e, ".ts")) return tree_sitter_typescript();
	if (!strcmp(e, ".go")) return tree_sitter_go();
	if (!strcmp(e, ".rs")) return tree_sitter_rust();
	if (!strcmp(e, ".java")) return tree_sitter_java();
	return NULL;
}
int main(int argc, char **argv) {
	TSParser *p = ts_parser_new();
	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		char *buf; long n; TSTree *t; char *s;
		const TSLanguage *l = lang_of(argv[i]);
		if (!f || !l) continue;
		fseek(f, 0, SEEK_END); n = ftell(f); fseek(f, 0, SEEK_SET);
		buf = malloc((size_t)n + 1);
		if (fread(buf, 1, (size_t)n, f) != (size_t)n) return 2;
		fclose(f);
		ts_parser_set_language(p, l);
		t = ts_parser_parse_string(p, NULL, buf, (uint32_t)n);
		s = ts_node_string(ts_tree_root_node(t));
		printf("%s\n%s\n", strrchr(argv[i], '/') + 1, s);
		free(s); ts_tree_delete(t); free(buf);
	}
	ts_parser_delete(p);
	return 0;
}
"""

if __name__ == "__main__":
    gmtest.main()
