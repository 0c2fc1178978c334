"""git monitor scan, end to end in real repositories."""
import json
import os
import subprocess
import sys

import gmtest

sys.path.insert(0, os.path.join(gmtest.SOURCE_DIR, "tests", "fakes"))
from fakes import FakeLMStudio  # noqa: E402

PY_A = '''import os
from util import helper


def outer(a, b=2):
    if a and b:
        for x in range(3):
            helper(x)
    return a


class Foo:
    def bar(self, x):
        return os.path.join(x)
'''

PY_UTIL = '''def helper(x):
    return x * 2
'''


# The scan cache's entry format (src/scan_cache.c), to forge entries whose
# checksum is right but whose numbers are not: "<key>\n<16 hex>\n" then
# "gmscan2\n", LEB128 numbers and length-prefixed strings.
def _fnv1a(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def _decode_entry(data):
    head, body = data[:58], data[58:]
    assert body.startswith(b"gmscan2\n"), body[:8]
    pos = [8]

    def num():
        v = shift = 0
        while True:
            c = body[pos[0]]
            pos[0] += 1
            v |= (c & 0x7F) << shift
            shift += 7
            if not c & 0x80:
                return v

    def text():
        n = num()
        s = body[pos[0]:pos[0] + n]
        pos[0] += n
        return s

    errors, n, nimports = num(), num(), num()
    units = []
    for _ in range(n):
        u = {"name": text(), "short": text(), "kind": num(), "sb": num(), "eb": num(),
             "sl": num(), "el": num(), "sc": num(), "lb": num(), "ll": num(), "sig": text(),
             "cc": num(), "nest": num(),
             "params": num(), "ord": num()}
        u["calls"] = [text() for _ in range(num())]
        units.append(u)
    imports = [text() for _ in range(nimports)]
    return head, {"errors": errors, "units": units, "imports": imports}


def _encode_entry(head, scan):
    out = bytearray(b"gmscan2\n")

    def num(v):
        while True:
            c = v & 0x7F
            v >>= 7
            out.append(c | (0x80 if v else 0))
            if not v:
                return

    def text(s):
        num(len(s))
        out.extend(s)

    num(scan["errors"])
    num(len(scan["units"]))
    num(len(scan["imports"]))
    for u in scan["units"]:
        text(u["name"])
        text(u["short"])
        for k in ("kind", "sb", "eb", "sl", "el", "sc", "lb", "ll"):
            num(u[k])
        text(u["sig"])
        for k in ("cc", "nest", "params", "ord"):
            num(u[k])
        num(len(u["calls"]))
        for c in u["calls"]:
            text(c)
    for i in scan["imports"]:
        text(i)
    return head[:41] + b"%016x" % _fnv1a(out) + b"\n" + bytes(out)


def units(proc):
    return [(u["path"], u["name"]) for u in json.loads(proc.stdout)["units"]]


class ScanTest(gmtest.TestCase):
    def setUp(self):
        self.r = self.repo()
        self.first = self.r.commit({"a.py": PY_A, "util.py": PY_UTIL}, "first")

    def scan(self, *args, **kw):
        p = self.r.run("scan", "--json", *args, **kw)
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout)

    def test_lists_units_with_metrics_and_cross_file_calls(self):
        out = self.scan()
        by = {u["name"]: u for u in out["units"]}
        self.assertEqual(sorted(by), ["Foo.bar", "helper", "outer"])
        outer = by["outer"]
        self.assertEqual((outer["start_line"], outer["end_line"]), (5, 9))
        self.assertEqual(outer["kind"], "function")
        self.assertEqual(outer["metrics"]["complexity"], 4)  # if, and, for + 1
        self.assertEqual(outer["metrics"]["nesting"], 2)
        self.assertEqual(outer["metrics"]["params"], 2)
        self.assertEqual(outer["fan_out"], 1)
        self.assertEqual(by["helper"]["fan_in"], 1)
        self.assertEqual(by["Foo.bar"]["kind"], "method")
        # Clusters join target units across files.
        self.assertEqual(outer["cluster"], by["helper"]["cluster"])
        self.assertNotEqual(outer["cluster"], by["Foo.bar"]["cluster"])
        self.assertEqual(out["commit"], self.first)
        self.assertEqual(out["summary"]["files_scanned"], 2)
        # Byte offsets are exact.
        src = PY_A.encode()
        self.assertTrue(src[outer["start_byte"]:outer["end_byte"]].startswith(b"def outer("))
        self.assertTrue(src[outer["start_byte"]:outer["end_byte"]].endswith(b"return a"))

    def test_table_output_and_summary_on_stderr(self):
        p = self.r.run("scan")
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertTrue(lines[0].startswith("LOCATION"))
        self.assertIn("a.py:5-9", p.stdout)
        self.assertIn("Foo.bar", p.stdout)
        self.assertIn("scanned 2 files", p.stderr)
        self.assertNotIn("scanned", p.stdout)

    def test_reads_head_not_the_dirty_working_tree(self):
        self.r.write("a.py", "def only_in_worktree():\n    pass\n")
        self.r.write("new.py", "def untracked():\n    pass\n")
        names = [n for _, n in units(self.r.run("scan", "--json"))]
        self.assertIn("outer", names)
        self.assertNotIn("only_in_worktree", names)
        self.assertNotIn("untracked", names)

    def test_staged_sees_the_index(self):
        self.r.write("a.py", "def staged_fn():\n    pass\n")
        self.r.git("add", "a.py")
        self.r.write("a.py", "def unstaged_fn():\n    pass\n")
        out = self.scan("--staged")
        names = [u["name"] for u in out["units"]]
        self.assertIn("staged_fn", names)
        self.assertNotIn("unstaged_fn", names)
        self.assertIsNone(out["commit"])
        self.assertEqual(out["source"], "index")

    def test_rev_reads_older_commits(self):
        self.r.commit({"a.py": "def later():\n    pass\n"}, "second")
        self.assertIn("later", [u["name"] for u in self.scan()["units"]])
        old = [u["name"] for u in self.scan("--rev", "HEAD~1")["units"]]
        self.assertIn("outer", old)
        self.assertNotIn("later", old)
        self.assertEqual(self.scan("--rev", self.first[:10])["commit"], self.first)

    def test_pathspecs(self):
        self.r.commit({"src/m.py": "def m():\n    pass\n", "tests/t.py": "def t():\n    pass\n"}, "more")
        self.assertEqual(units(self.r.run("scan", "--json", "src/")), [("src/m.py", "m")])
        got = units(self.r.run("scan", "--json", ":!tests", "*.py"))
        self.assertNotIn(("tests/t.py", "t"), got)
        self.assertIn(("src/m.py", "m"), got)
        self.assertIn(("a.py", "outer"), got)
        self.assertEqual(units(self.r.run("scan", "--json", "*.py", ":(exclude)a.py", ":!util.py", ":!src")),
                         [("tests/t.py", "t")])
        # Fan-in from files outside the pathspec still counts.
        out = self.scan("util.py")
        self.assertEqual([u["name"] for u in out["units"]], ["helper"])
        self.assertEqual(out["units"][0]["fan_in"], 1)

    def test_skips_are_counted_not_silent(self):
        self.r.commit({
            "bin.py": b"def x():\x00\x01\x02 binary\n",
            "big.py": "def big():\n" + "    x = 1\n" * 120000,
            "notes.txt": "def not_code(): pass\n",
        }, "odd files")
        os.symlink("a.py", os.path.join(self.r.path, "link.py"))
        self.r.git("add", "link.py")
        self.r.git("commit", "-qm", "link")
        out = self.scan()
        skipped = out["summary"]["files_skipped"]
        self.assertEqual(skipped["binary"], 1)
        self.assertEqual(skipped["too_large"], 1)
        self.assertEqual(skipped["unknown_language"], 1)
        self.assertEqual(skipped["symlink"], 1)
        reasons = {s["path"]: s["reason"] for s in out["summary"]["skipped"]}
        self.assertEqual(reasons["big.py"], "too_large")
        p = self.r.run("scan")
        self.assertIn("1 binary", p.stderr)
        self.assertIn("1 too_large", p.stderr)
        # The size limit is configurable.
        self.r.git("config", "monitor.scan.maxFileSize", "4m")
        self.assertIn("big", [u["name"] for u in self.scan()["units"]])

    def test_parse_errors_and_the_nesting_cap_are_said_not_silent(self):
        # 600 nested ifs are past what tree-sitter's Python parser takes:
        # deep() is lost in an ERROR node, only after() is found.
        deep_py = "def deep(x):\n" + "".join("    " * (i + 1) + "if x > %d:\n" % i for i in range(600))
        deep_py += "    " * 601 + "return x\n\n\ndef after(y):\n    return y\n"
        # C parses 300 levels, but the scan counts 256 at most.
        deep_c = ("int f(int x) {\n" + "".join("if (x > %d) {\n" % i for i in range(300))
                  + "return x;\n" + "}\n" * 300 + "return 0;\n}\n")
        self.r.commit({"deep.py": deep_py, "deep.c": deep_c}, "deep")

        def check(p):
            self.assertEqual(p.returncode, 0, p.stderr)
            warnings = [l for l in p.stderr.splitlines() if l.startswith("warning:")]
            self.assertEqual(len(warnings), 2, p.stderr)
            self.assertIn("deep.py: parse errors", warnings[0])
            self.assertIn("1 unit found", warnings[0])
            self.assertIn("deep.c:1: 'f' nests 256 or more levels", warnings[1])
            return json.loads(p.stdout)

        for cold in (True, False):  # the cache keeps what the parse found
            out = check(self.r.run("scan", "--json", *(["--no-cache"] if cold else [])))
            errs = out["summary"]["parse_errors"]
            self.assertEqual([(e["path"], e["units"]) for e in errs], [("deep.py", 1)])
            self.assertGreater(errs[0]["errors"], 0)
            self.assertEqual(out["summary"]["nesting_capped"],
                             [{"path": "deep.c", "name": "f", "start_line": 1}])
            by = {u["name"]: u for u in out["units"]}
            self.assertEqual(by["f"]["metrics"]["nesting"], 256)
            self.assertIn("after", by)
        table = self.r.run("scan")
        check(subprocess.CompletedProcess(table.args, 0, "{}", table.stderr))
        self.assertIn("1 file with parse errors", table.stderr)
        # -q keeps stderr quiet; clean files say nothing.
        self.assertEqual(self.r.run("scan", "-q", "--json").stderr, "")
        clean = self.r.run("scan", "--json", "a.py", "util.py")
        self.assertNotIn("warning", clean.stderr)
        self.assertEqual(json.loads(clean.stdout)["summary"]["parse_errors"], [])

    def test_many_broken_files_are_summed_up_after_ten(self):
        # A C tree full of macros has hundreds of files with an ERROR node:
        # ten warnings, then how many more; -v and --json have them all.
        self.r.commit({"broken%02d.py" % i: "def ok%d():\n    return 1\n\ndef (:\n" % i
                       for i in range(13)}, "broken")
        p = self.r.run("scan")
        self.assertEqual(p.returncode, 0, p.stderr)
        warnings = [l for l in p.stderr.splitlines() if l.startswith("warning:")]
        self.assertEqual(len(warnings), 11, p.stderr)
        self.assertEqual(warnings[-1], "warning: and 3 more files with parse errors "
                                       "(scan -v or --json lists them)")
        v = self.r.run("scan", "-v")
        self.assertEqual(len([l for l in v.stderr.splitlines() if "parse errors (" in l]), 13)
        j = self.r.run("scan", "--json")
        self.assertEqual(len(json.loads(j.stdout)["summary"]["parse_errors"]), 13)

    def test_submodule_is_skipped(self):
        sub = gmtest.Repo(self)
        sub.commit({"s.py": "def s():\n    pass\n"})
        self.r.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", sub.path, "sub")
        self.r.git("commit", "-qm", "submodule")
        out = self.scan()
        self.assertEqual(out["summary"]["files_skipped"]["submodule"], 1)
        self.assertNotIn("s", [u["name"] for u in out["units"]])

    def test_invalid_utf8_and_crlf_keep_exact_offsets(self):
        latin1 = b"# caf\xe9 \xff\xfe\ndef f\xc3\xa9(x):\n    return '\xe9'\n\ndef g():\n    pass\n"
        crlf = b"def one():\r\n    return 1\r\n\r\ndef two(a, b):\r\n    if a:\r\n        return b\r\n"
        self.r.commit({"latin.py": latin1, "crlf.py": crlf}, "encodings")
        out = self.scan()
        by = {(u["path"], u["name"]): u for u in out["units"]}
        g = by[("latin.py", "g")]
        self.assertEqual(latin1[g["start_byte"]:g["end_byte"]], b"def g():\n    pass")
        self.assertEqual((g["start_line"], g["end_line"]), (5, 6))
        self.assertIn(("latin.py", "f\u00e9"), by)
        two = by[("crlf.py", "two")]
        self.assertEqual(crlf[two["start_byte"]:two["end_byte"]],
                         b"def two(a, b):\r\n    if a:\r\n        return b")
        self.assertEqual((two["start_line"], two["end_line"]), (4, 6))
        self.assertEqual(two["metrics"]["complexity"], 2)

    def test_output_is_identical_whatever_the_jobs(self):
        files = {"m%02d.py" % i: "def f%d(a):\n    if a:\n        return g%d(a)\n\ndef g%d(b):\n    return b\n" % (i, (i + 1) % 20, i)
                 for i in range(20)}
        self.r.commit(files, "many")
        one = self.r.run("scan", "--json", "--no-cache", "-j", "1")
        many = self.r.run("scan", "--json", "--no-cache", "-j", "8")
        self.assertEqual(one.returncode, 0, one.stderr)
        self.assertEqual(one.stdout, many.stdout)

    def test_second_scan_uses_the_cache_and_survives_corruption(self):
        first = self.scan()
        self.assertEqual(first["summary"]["files_from_cache"], 0)
        second = self.scan()
        self.assertEqual(second["summary"]["files_from_cache"], 2)
        self.assertEqual(first["units"], second["units"])
        cache = os.path.join(self.r.path, ".git", "monitor", "cache", "scan")
        entries = [os.path.join(d, f) for d, _, fs in os.walk(cache) for f in fs]
        self.assertEqual(len(entries), 2)
        with open(entries[0], "wb") as f:
            f.write(b'{"key": "garbage", "units": [')
        with open(entries[1], "wb") as f:
            f.write(b"")
        third = self.scan()
        self.assertEqual(third["units"], first["units"])
        self.assertEqual(third["summary"]["files_from_cache"], 0)
        self.assertEqual(self.scan()["summary"]["files_from_cache"], 2)  # repaired

    def test_a_flipped_byte_in_a_cache_entry_is_not_trusted(self):
        first = self.scan()
        cache = os.path.join(self.r.path, ".git", "monitor", "cache", "scan")
        entries = sorted(os.path.join(d, f) for d, _, fs in os.walk(cache) for f in fs)
        self.assertEqual(len(entries), 2)
        # A damaged entry that still decodes (a changed letter in a name, a
        # changed line number) must be re-parsed, not believed.
        for e in entries:
            with open(e, "rb") as f:
                data = bytearray(f.read())
            data[len(data) // 2] ^= 0x01
            with open(e, "wb") as f:
                f.write(bytes(data))
        again = self.scan()
        self.assertEqual(again["summary"]["files_from_cache"], 0)
        self.assertEqual(again["units"], first["units"])

    def test_a_cache_entry_with_a_good_checksum_and_bad_offsets_is_reparsed(self):
        # What a truncated write, another version or a hand edit leaves: an
        # entry that decodes and passes its checksum but does not fit the
        # blob.  Believed, it crashed (a huge offset), spun at 100% CPU (an
        # offset just past the blob) or read out of bounds in a prompt.
        first = self.scan()
        cache = os.path.join(self.r.path, ".git", "monitor", "cache", "scan")
        entries = sorted(os.path.join(d, f) for d, _, fs in os.walk(cache) for f in fs)
        self.assertEqual(len(entries), 2)
        scans = {}
        for e in entries:
            with open(e, "rb") as f:
                scans[e] = _decode_entry(f.read())
        entry = next(e for e in entries if len(scans[e][1]["units"]) == 2)  # a.py
        head, good = scans[entry]
        size = len(PY_A.encode())

        def damage(u):
            u["eb"] = 0xFFFFFF00  # far past the blob

        def just_past(u):
            u["eb"] = size + 1

        def start_after_end(u):
            u["sb"], u["eb"] = u["eb"], u["sb"]

        def wrong_line(u):
            u["sl"] += 1

        def wrong_column(u):
            u["sc"] += 4

        def wrong_ordinal(u):
            u["ord"] = 2

        def overlap(u):
            u["sb"] = 0
            u["sl"] = 1

        def forged(forge):
            bad = {"errors": good["errors"], "imports": good["imports"],
                   "units": [dict(u) for u in good["units"]]}
            forge(bad["units"][-1])
            with open(entry, "wb") as f:
                f.write(_encode_entry(head, bad))

        plan = self.r.run("refactor", "--dry-run", "--local-only")
        self.assertEqual(plan.returncode, 0, plan.stderr)
        with FakeLMStudio(latency=0.01) as srv:
            for forge in (damage, just_past, start_after_end, wrong_line, wrong_column, wrong_ordinal,
                          overlap):
                with self.subTest(forge.__name__):
                    forged(forge)
                    p = self.r.run("scan", "--json", timeout=60)
                    self.assertEqual(p.returncode, 0, p.stderr)
                    out = json.loads(p.stdout)
                    self.assertEqual(out["units"], first["units"])
                    self.assertEqual(out["summary"]["files_from_cache"], 1)  # util.py only
                    # The plan estimates from the units' code, the rewrite
                    # prompts carry it: both must see the re-parsed units.
                    forged(forge)
                    p = self.r.run("refactor", "--dry-run", "--local-only", timeout=60)
                    self.assertEqual((p.returncode, p.stdout, p.stderr),
                                     (0, plan.stdout, plan.stderr))
                    forged(forge)
                    p = self.r.run("refactor", "--local-only", "-q", timeout=60,
                                   env={"MONITOR_LOCAL_URL": srv.url})
                    self.assertEqual(p.returncode, 0, p.stderr)
        with open(entry, "wb") as f:
            f.write(_encode_entry(head, good))
        self.assertEqual(self.scan()["summary"]["files_from_cache"], 2)  # the forger is right

    def test_a_trailing_extension_of_any_language_is_not_an_import_component(self):
        # `#include "sub/x.ipp"` names sub/x (the extensions are lang.h's,
        # not a list of index.c's own): a file that is merely called after
        # the extension, ipp/ipp.cpp, is not what it imports.
        self.r.commit({"main.cpp": '#include "sub/x.ipp"\nint main() { return h(); }\n',
                       "sub/x.cpp": "int h() { return 2; }\n",
                       "ipp/ipp.cpp": "int h() { return 3; }\n"}, "cpp")
        by = {(u["path"], u["name"]): u for u in self.scan()["units"]}
        self.assertEqual(by[("main.cpp", "main")]["fan_out"], 1)
        self.assertEqual(by[("sub/x.cpp", "h")]["fan_in"], 1)
        self.assertEqual(by[("ipp/ipp.cpp", "h")]["fan_in"], 0)

    def test_scan_changes_nothing(self):
        self.r.write("a.py", "dirty\n")
        self.r.write("untracked.py", "def u(): pass\n")
        self.r.write("util.py", "staged\n")
        self.r.git("add", "util.py")
        before = self.r.snapshot()
        self.assertEqual(self.r.run("scan").returncode, 0)
        self.assertEqual(self.r.run("scan", "--staged", "--json").returncode, 0)
        self.assertUnchanged(before, self.r)

    def test_gitattributes_language_override_and_local_only(self):
        self.r.commit({".gitattributes": "*.tpl monitor-language=python\nsecret/** monitor-local-only\n",
                       "gen.tpl": "def from_template():\n    pass\n",
                       "secret/s.py": "def hidden():\n" + "    if a or b or c or d or e or f or g or h or i or j:\n        pass\n"},
                      "attrs")
        out = self.scan(env={"ANTHROPIC_API_KEY": "sk-test-not-real"})
        by = {u["name"]: u for u in out["units"]}
        self.assertEqual(by["from_template"]["language"], "python")
        self.assertTrue(by["hidden"]["complex"])
        self.assertEqual(by["hidden"]["route"], "local")

    def test_attributes_from_other_files_apply_beside_a_gitattributes_that_names_none(self):
        # The scanner skips the per-file attribute lookups when no attributes
        # file names monitor-*: the global file, core.attributesFile and
        # info/attributes must count as much as the .gitattributes.
        self.r.commit({".gitattributes": "*.txt text\n",
                       "gen.tpl": "def from_template():\n    pass\n",
                       "gen.tmpl": "def from_tmpl():\n    pass\n",
                       "gen.jin": "def from_jin():\n    pass\n"}, "attrs elsewhere")
        mine = {"from_template", "from_tmpl", "from_jin"}
        names = lambda: {u["name"]: u["language"] for u in self.scan()["units"] if u["name"] in mine}
        self.assertEqual(names(), {})
        xdg = os.path.join(self.r.home, ".config", "git")
        os.makedirs(xdg, exist_ok=True)
        with open(os.path.join(xdg, "attributes"), "w") as f:
            f.write("*.tpl monitor-language=python\n")
        self.assertEqual(names(), {"from_template": "python"})
        other = os.path.join(self.r.home, "attrs")
        with open(other, "w") as f:
            f.write("*.tmpl monitor-language=python\n")
        self.r.git("config", "core.attributesFile", other)
        self.assertEqual(names(), {"from_tmpl": "python"})
        with open(os.path.join(self.r.path, ".git", "info", "attributes"), "w") as f:
            f.write("*.jin monitor-language=python\n")
        self.assertEqual(names(), {"from_tmpl": "python", "from_jin": "python"})

    def test_route_preview_agrees_with_refactor_for_a_mixed_cluster(self):
        # A complex function calling into a monitor-local-only file: the whole
        # cluster stays local, as refactor routes it (plan.h), not just the
        # local-only file's unit.
        knotty = "from secret.s import keep\n\ndef knotty(a):\n" + "".join(
            "    if a == %d:\n        return keep(%d)\n" % (i, i) for i in range(12)) + "    return -1\n"
        self.r.commit({".gitattributes": "secret/** monitor-local-only\n",
                       "secret/s.py": "def keep(x):\n    return x\n",
                       "k.py": knotty}, "mixed")
        by = {u["name"]: u for u in self.scan(env={"ANTHROPIC_API_KEY": "sk-test-not-real"})["units"]}
        self.assertTrue(by["knotty"]["complex"])
        self.assertEqual(by["knotty"]["cluster"], by["keep"]["cluster"])
        self.assertEqual(by["knotty"]["route"], "local")

    def test_route_preview_needs_a_key_for_claude(self):
        body = "def knotty(a):\n" + "".join("    if a == %d:\n        return %d\n" % (i, i) for i in range(12))
        self.r.commit({"k.py": body}, "complex")
        by = {u["name"]: u for u in self.scan()["units"]}
        self.assertTrue(by["knotty"]["complex"])
        self.assertEqual(by["knotty"]["route"], "local")
        by = {u["name"]: u for u in self.scan(env={"ANTHROPIC_API_KEY": "sk-test-not-real"})["units"]}
        self.assertEqual(by["knotty"]["route"], "claude")
        self.assertEqual(by["outer"]["route"], "local")
        self.r.git("config", "monitor.route.complexity", "50")
        by = {u["name"]: u for u in self.scan(env={"ANTHROPIC_API_KEY": "sk-test-not-real"})["units"]}
        self.assertEqual(by["knotty"]["route"], "local")


class ScanErrorsTest(gmtest.TestCase):
    def test_outside_a_repository(self):
        r = self.repo()
        outside = os.path.join(r.tmp, "home")
        p = r.run("scan", cwd=outside, env={"GIT_CEILING_DIRECTORIES": r.tmp})
        self.assertOneLineError(p, 128, "not a git repository")

    def test_empty_repository(self):
        r = self.repo()
        p = r.run("scan")
        self.assertOneLineError(p, 128, "no commits yet")

    def test_bad_revision(self):
        r = self.repo()
        r.commit({"a.py": PY_UTIL})
        p = r.run("scan", "--rev", "no-such-branch")
        self.assertOneLineError(p, 128, "bad revision 'no-such-branch'")

    def test_usage_errors(self):
        r = self.repo()
        r.commit({"a.py": PY_UTIL})
        self.assertUsageError(r.run("scan", "--bogus"), "unknown option '--bogus'", "scan")
        self.assertOneLineError(r.run("scan", "--rev", "HEAD", "--staged"), 129)
        self.assertUsageError(r.run("scan", "-j", "zero"), "--jobs", "scan")
        # as git: an unknown command exits 1
        self.assertOneLineError(r.run("frobnicate"), 1, "'frobnicate' is not a git-monitor command")

    def test_help_and_version(self):
        r = self.repo()
        p = r.run("-h")
        self.assertEqual(p.returncode, 0)
        self.assertIn("scan", p.stdout)
        p = r.run("scan", "-h")
        self.assertEqual(p.returncode, 129)  # git's parse-options: -h is a usage exit
        self.assertIn("--staged", p.stdout)
        p = r.run("--version")
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stdout, r"^git-monitor \d+\.\d+\.\d+")

    def test_runs_as_a_git_subcommand(self):
        r = self.repo()
        r.commit({"a.py": PY_UTIL})
        bindir = os.path.join(r.tmp, "bin")
        os.makedirs(bindir)
        os.symlink(os.path.abspath(gmtest.GIT_MONITOR), os.path.join(bindir, "git-monitor"))
        env = dict(r.env, PATH=bindir + os.pathsep + os.environ["PATH"])
        p = subprocess.run(["git", "monitor", "scan", "--json"], cwd=r.path, env=env,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual([u["name"] for u in json.loads(p.stdout)["units"]], ["helper"])


if __name__ == "__main__":
    gmtest.main()
