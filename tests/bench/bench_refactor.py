#!/usr/bin/env python3
"""Pipeline and engine benchmarks (run by hand; figures go into README.md).

1. Engine: 200 requests against the fake LM Studio with a fixed latency, at
   concurrency 1, 4 and 16 (bench_engine): wall over ceil(N/C) x latency,
   and client CPU per request.
2. Refactor: 200 functions across 50 Python files, fake latency fixed, at
   --jobs 4 and 16: end-to-end wall over ceil(N/C) x latency, and the time
   spent outside model waits (wall - ideal).
3. Commit: writing the result for 100 changed files, against `git commit -a`
   of the same change in a copy of the repository.

usage: tests/bench/bench_refactor.py --build build [--latency 0.5] [--parts engine,refactor,commit]
"""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fakes"))
from fakes import FakeLMStudio  # noqa: E402

ENV = dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@b", GIT_COMMITTER_NAME="b",
           GIT_COMMITTER_EMAIL="b@b", LC_ALL="C")


def git(cwd, *args):
    return subprocess.run(["git", *args], cwd=cwd, env=ENV, check=True, capture_output=True, text=True).stdout


def slow_generations(latency):
    """Like a real server: generations take `latency`, model lists are instant."""
    return [{"match": {"path": "/v1/chat/completions"}, "response": {"delay": latency}}]


def make_repo(path, nfiles, per_file):
    os.makedirs(path)
    for i in range(nfiles):
        with open(os.path.join(path, "m%03d.py" % i), "w") as f:
            for j in range(per_file):
                f.write("def f%d_%d(a, b):\n    if a > b:\n        return a - b\n    return b - a\n\n\n" % (i, j))
    git(path, "init", "-q")
    git(path, "add", "-A")
    git(path, "commit", "-qm", "corpus")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--latency", type=float, default=0.5)
    ap.add_argument("--parts", default="engine,refactor,commit")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    gm = os.path.join(build, "git-monitor")
    tmp = tempfile.mkdtemp(prefix="gm-bench-")
    rows = []
    try:
        parts = a.parts.split(",")
        # 1. engine
        for c in ((1, 4, 16) if "engine" in parts else ()):
            with FakeLMStudio(script=slow_generations(a.latency), concurrency=0, max_requests=1000) as srv:
                out = subprocess.run([os.path.join(build, "tests", "bench_engine"), srv.url, "200", str(c),
                                      str(a.latency)], capture_output=True, text=True, check=True).stdout
            row = json.loads(out)
            rows.append(("engine", row))
            print(json.dumps(row), file=sys.stderr)
        # 2. refactor end to end
        repo = os.path.join(tmp, "repo")
        make_repo(repo, 50, 4)
        for c in ((4, 16) if "refactor" in parts else ()):
            with FakeLMStudio(script=slow_generations(a.latency), concurrency=0, max_requests=1000) as srv:
                t0 = time.perf_counter()
                p = subprocess.run([gm, "refactor", "-g", "bench", "--json", "--no-cache", "-j", str(c),
                                    "--local-only"], cwd=repo, env=dict(ENV, MONITOR_LOCAL_URL=srv.url),
                                   capture_output=True, text=True)
                wall = time.perf_counter() - t0
            if p.returncode != 0:
                raise SystemExit(p.stderr)
            rep = json.loads(p.stdout)
            n = len([t for t in rep["tasks"] if t["kind"] == "rewrite"])
            ideal = math.ceil(n / c) * a.latency
            row = {"functions": n, "files": 50, "jobs": c, "latency_s": a.latency, "wall_s": round(wall, 3),
                   "scan_ms": rep["totals"]["scan_ms"], "commit_ms": rep["totals"]["commit_ms"],
                   "ideal_s": round(ideal, 3), "ratio": round(wall / ideal, 3),
                   "outside_model_waits_s": round(wall - ideal, 3),
                   "applied": len([t for t in rep["tasks"] if t["status"] == "applied"])}
            rows.append(("refactor", row))
            print(json.dumps(row), file=sys.stderr)
        # 3. commit of 100 changed files vs git commit -a of the same change
        if "commit" in parts:
            commit_bench(gm, tmp, rows)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for kind, row in rows:
        print("%s: %s" % (kind, json.dumps(row)))


def commit_bench(gm, tmp, rows):
    if True:
        repo2 = os.path.join(tmp, "repo2")
        make_repo(repo2, 100, 1)
        with FakeLMStudio(concurrency=0, latency=0.0, max_requests=1000) as srv:
            p = subprocess.run([gm, "refactor", "-g", "bench", "--json", "-j", "16", "--local-only"],
                               cwd=repo2, env=dict(ENV, MONITOR_LOCAL_URL=srv.url), capture_output=True, text=True)
            rep = json.loads(p.stdout)
            # A re-run answers everything from the cache: what is left is
            # scan + validate + merge + commit.
            t0 = time.perf_counter()
            p2 = subprocess.run([gm, "refactor", "-g", "bench", "--json", "-j", "16", "--local-only", "-b", "again"],
                                cwd=repo2, env=dict(ENV, MONITOR_LOCAL_URL=srv.url), capture_output=True, text=True)
            t_rerun = time.perf_counter() - t0
            rep2 = json.loads(p2.stdout)
        copy = os.path.join(tmp, "copy")
        shutil.copytree(repo2, copy)
        git(copy, "checkout", "-q", rep["branch"], "--", ".")
        git(copy, "reset", "-q")
        t0 = time.perf_counter()
        git(copy, "commit", "-qam", "same change")
        t_git = time.perf_counter() - t0
        row = {"changed_files": 100, "git_commit_a_ms": round(t_git * 1000, 1),
               "monitor_commit_ms": rep["totals"]["commit_ms"], "monitor_scan_ms": rep["totals"]["scan_ms"],
               "rerun_requests": rep2["totals"]["requests"], "rerun_wall_ms": round(t_rerun * 1000, 1)}
        rows.append(("commit", row))
        print(json.dumps(row), file=sys.stderr)


if __name__ == "__main__":
    main()
