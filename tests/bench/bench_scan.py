#!/usr/bin/env python3
"""Scan benchmark (run by hand; results go into README.md).

Corpora that exist on a fresh machine, each committed into a temporary
repository: the Python standard library of the running python3, the JS
sources of eslint (npm pack), and the C sources of the tree-sitter runtime
(npm pack). For each, at --jobs 1 and all cores: `git monitor scan --json`
cold (--no-cache) and warm (cache filled), the parse-only floor
(bench_parse: read + parse the same blobs, no queries), ast-grep (npm
@ast-grep/cli, a rule matching function definitions, same thread count) and
universal-ctags. Reports wall time (median of --repeat), peak RSS and units.
--repo PATH (repeatable) measures a checkout instead, as it is at its HEAD
(give monitor.scan.maxFileSize there as the floor reads every size: 1g):
ast-grep is then given exactly the files the scanner parses (bench_dump's
list), with a rule for each of their languages.

usage: tests/bench/bench_scan.py --build build [--repeat 3] [--corpus python,js,c]
       [--repo PATH ...] [--jobs 1,2]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import statistics
import sysconfig
import tarfile
import tempfile
import time

ENV = dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@b", GIT_COMMITTER_NAME="b",
           GIT_COMMITTER_EMAIL="b@b", LC_ALL="C")


def run(cmd, cwd, env=None):
    """Run cmd; return (wall seconds, peak RSS MiB, stdout)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=cwd, env=env or ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate()
    wall = time.perf_counter() - t0
    # The child is reaped by communicate(); its rusage is in RUSAGE_CHILDREN
    # only cumulatively, so measure peak RSS with a second, identical run
    # through /usr/bin/time when available.
    if p.returncode != 0:
        raise SystemExit("failed: %s\n%s" % (" ".join(cmd), err.decode(errors="replace")[-2000:]))
    return wall, out


def peak_rss(cmd, cwd):
    if not shutil.which("/usr/bin/time"):
        return float("nan")
    p = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], cwd=cwd, env=ENV, capture_output=True)
    try:
        return int(p.stderr.decode().strip().splitlines()[-1]) / 1024.0
    except (ValueError, IndexError):
        return float("nan")


def npm_pack(spec, dest):
    out = subprocess.run(["npm", "pack", spec, "--silent", "--pack-destination", dest],
                         cwd=dest, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    with tarfile.open(os.path.join(dest, out)) as t:
        t.extractall(os.path.join(dest, spec.replace("/", "_")))
    return os.path.join(dest, spec.replace("/", "_"), "package")


def make_repo(path, files_from, exts):
    os.makedirs(path)
    n = size = 0
    for root, dirs, files in os.walk(files_from):
        dirs[:] = [d for d in dirs if d not in ("site-packages", "__pycache__", "node_modules")]
        for f in files:
            if os.path.splitext(f)[1] in exts:
                src = os.path.join(root, f)
                if os.path.islink(src):
                    continue
                dst = os.path.join(path, os.path.relpath(src, files_from))
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                shutil.copyfile(src, dst)
                n += 1
                size += os.path.getsize(dst)
    subprocess.run(["git", "init", "-q"], cwd=path, check=True)
    subprocess.run(["git", "add", "-A"], cwd=path, check=True, env=ENV)
    subprocess.run(["git", "commit", "-qm", "corpus"], cwd=path, check=True, env=ENV)
    subprocess.run(["git", "config", "monitor.scan.maxFileSize", "1g"], cwd=path, check=True)
    return n, size


def ensure_ast_grep(tools):
    exe = os.path.join(tools, "node_modules", ".bin", "ast-grep")
    if not os.path.exists(exe):
        subprocess.run(["npm", "install", "--silent", "--prefix", tools, "@ast-grep/cli@0.40.0"],
                       check=True, capture_output=True)
    return exe


JS_KINDS = ("  any:\n    - kind: function_declaration\n    - kind: generator_function_declaration\n"
            "    - kind: method_definition\n    - kind: arrow_function\n    - kind: function_expression\n")
# One rule a language the scanner reads, matching its function definitions.
AST_GREP_ALL = "\n---\n".join("id: f-%s\nlanguage: %s\nrule:\n%s" % (n, n, k) for n, k in [
    ("c", "  kind: function_definition\n"), ("cpp", "  kind: function_definition\n"),
    ("python", "  kind: function_definition\n"), ("javascript", JS_KINDS), ("typescript", JS_KINDS),
    ("tsx", JS_KINDS), ("rust", "  kind: function_item\n"), ("go", "  any:\n    - kind: function_declaration\n"
    "    - kind: method_declaration\n"), ("java", "  any:\n    - kind: method_declaration\n"
    "    - kind: constructor_declaration\n")])


def parsed_files(dump, repo):
    """The paths bench_dump lists: the files the scanner parses."""
    out = subprocess.run([dump, "1"], cwd=repo, env=ENV, capture_output=True, check=True).stdout
    paths = []
    for line in out.decode(errors="surrogateescape").splitlines():
        if line.startswith("F "):
            paths.append(line[2:].rsplit(" ", 4)[0])
    return paths


AST_GREP_RULES = {
    "python": "id: f\nlanguage: python\nrule:\n  kind: function_definition\n",
    "js": "id: f\nlanguage: javascript\nrule:\n  any:\n    - kind: function_declaration\n    - kind: method_definition\n    - kind: arrow_function\n    - kind: function_expression\n",
    "c": "id: f\nlanguage: c\nrule:\n  kind: function_definition\n",
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--corpus", default="python,js,c")
    ap.add_argument("--repo", action="append", default=[], help="a checkout to measure (repeatable)")
    ap.add_argument("--jobs", help="thread counts, comma-separated (default: 1 and all cores)")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    gm = os.path.join(build, "git-monitor")
    floor = os.path.join(build, "tests", "bench_parse")
    ncpu = os.cpu_count() or 1
    tmp = tempfile.mkdtemp(prefix="gm-bench-")
    tools = os.path.join(os.path.expanduser("~"), ".cache", "git-monitor", "bench-tools")
    os.makedirs(tools, exist_ok=True)
    try:
        ast_grep = ensure_ast_grep(tools)
    except (subprocess.CalledProcessError, FileNotFoundError):
        ast_grep = None
    corpora = {}
    wanted = [] if a.repo else a.corpus.split(",")
    if "python" in wanted:
        corpora["python"] = (sysconfig.get_paths()["stdlib"], {".py"}, "--kinds-Python=cfm")
    if "js" in wanted:
        corpora["js"] = (os.path.join(npm_pack("eslint@10.15.0", tmp), "lib"), {".js"}, "--kinds-JavaScript=fcm")
    if "c" in wanted:
        corpora["c"] = (os.path.join(npm_pack("tree-sitter@0.25.1", tmp), "vendor", "tree-sitter", "lib"), {".c", ".h"}, "--kinds-C=f")

    rows = []
    todo = [(name, None) + v for name, v in corpora.items()]
    todo += [(os.path.basename(os.path.abspath(r)), os.path.abspath(r), None, None, "") for r in a.repo]
    jobs_list = sorted({int(j) for j in a.jobs.split(",")}) if a.jobs else sorted({1, ncpu})
    for name, repo, src, exts, kinds in todo:
        files = None
        if repo is None:
            repo = os.path.join(tmp, "repo-" + name)
            nfiles, size = make_repo(repo, src, exts)
        else:
            files = parsed_files(os.path.join(build, "tests", "bench_dump"), repo)
            nfiles = len(files)
            size = sum(os.path.getsize(os.path.join(repo, f)) for f in files)
        print("# corpus %s: %d files, %.1f MB" % (name, nfiles, size / 1e6), file=sys.stderr)
        for jobs in jobs_list:
            def best(cmd, prep=None):
                times = []
                out = b""
                for _ in range(a.repeat):
                    if prep:
                        prep()
                    t, out = run(cmd, repo)
                    times.append(t)
                return statistics.median(times), out

            def clear_cache():
                shutil.rmtree(os.path.join(repo, ".git", "monitor"), ignore_errors=True)

            scan = [gm, "scan", "--json", "-j", str(jobs)]
            t_floor, _ = best([floor, str(jobs)])
            t_cold, out = best(scan + ["--no-cache"])
            units = len(json.loads(out)["units"])
            clear_cache()
            run(scan, repo)  # fill the cache
            t_warm, _ = best(scan)
            m_cold = peak_rss(scan + ["--no-cache"], repo)
            m_warm = peak_rss(scan, repo)
            row = {"corpus": name, "files": nfiles, "MB": round(size / 1e6, 1), "jobs": jobs,
                   "parse_only_s": round(t_floor, 3), "scan_cold_s": round(t_cold, 3),
                   "scan_warm_s": round(t_warm, 3), "cold/floor": round(t_cold / t_floor, 2),
                   "units": units, "rss_cold_MiB": round(m_cold, 1), "rss_warm_MiB": round(m_warm, 1)}
            if ast_grep:
                rules = os.path.join(tmp, "rule-%s.yml" % name)
                with open(rules, "w") as f:
                    f.write(AST_GREP_ALL if files is not None else AST_GREP_RULES[name])
                cmd = [ast_grep, "scan", "--rule", rules, "--json=stream", "-j", str(jobs)]
                cmd += files if files is not None else ["."]
                t_ag, out = best(cmd)
                row["ast_grep_s"] = round(t_ag, 3)
                row["ast_grep_units"] = len(out.splitlines())
                row["cold/ast_grep"] = round(t_cold / t_ag, 2)
            if shutil.which("ctags") and jobs == 1:
                cmd = ["ctags", "-R", "-f", "-"] + ([kinds] if kinds else []) + ["--langmap=C:.c.h", "."]
                t_ct, out = best(cmd)
                row["ctags_s"] = round(t_ct, 3)
                row["ctags_tags"] = len(out.splitlines())
                row["warm/ctags"] = round(t_warm / t_ct, 2)
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
    cols = ["corpus", "files", "MB", "jobs", "parse_only_s", "scan_cold_s", "cold/floor", "ast_grep_s",
            "cold/ast_grep", "scan_warm_s", "ctags_s", "warm/ctags", "units", "ast_grep_units",
            "ctags_tags", "rss_cold_MiB", "rss_warm_MiB"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(str(r.get(c, "")) for c in cols) + " |")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
