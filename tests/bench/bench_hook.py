#!/usr/bin/env python3
"""Hook latency: `git monitor hook run pre-commit` in a generated 1,000-file
Python repository with a staged change touching 3 files, nothing over the
threshold (the everyday case).  Prints the median of repeated runs (the scan
cache is warmed by the first run, as it is after the first commit).

usage: bench_hook.py [path/to/git-monitor] [files] [runs]
Target (DESIGN.md): <= 50 ms for 1,000 files.
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

GM = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("GIT_MONITOR", "git-monitor"))
NFILES = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
RUNS = int(sys.argv[3]) if len(sys.argv) > 3 else 31


def source(i, salt=0):
    out = ["import os\n\n"]
    for f in range(8):
        out.append("def f%d_%d(x, y):\n" % (i, f))
        out.append("    if x > y:\n        return x - y + %d\n" % (f + salt))
        out.append("    for k in range(y):\n        x += k\n")
        out.append("    return x\n\n\n")
    return "".join(out)


def main():
    tmp = tempfile.mkdtemp(prefix="gm-bench-hook-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(HOME=tmp, GIT_CONFIG_NOSYSTEM="1", GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@x",
               GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@x")
    repo = os.path.join(tmp, "repo")
    try:
        os.makedirs(repo)
        git = lambda *a: subprocess.run(["git", *a], cwd=repo, env=env, check=True,
                                         capture_output=True)
        git("init", "-q", "-b", "main")
        for i in range(NFILES):
            d = os.path.join(repo, "pkg%02d" % (i % 50))
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "mod%04d.py" % i), "w") as f:
                f.write(source(i))
        git("add", "-A")
        git("commit", "-q", "-m", "base")
        for i in (1, 2, 3):  # the commit being made touches 3 files
            with open(os.path.join(repo, "pkg%02d" % (i % 50), "mod%04d.py" % i), "w") as f:
                f.write(source(i, salt=1))
        git("add", "-A")
        cmd = [GM, "hook", "run", "pre-commit"]
        first = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True)
        if first.returncode != 0 or first.stderr:
            sys.exit("unexpected hook result %d: %s" % (first.returncode, first.stderr))
        times = []
        for _ in range(RUNS):
            t = time.perf_counter()
            subprocess.run(cmd, cwd=repo, env=env, check=True, capture_output=True)
            times.append((time.perf_counter() - t) * 1000)
        print("hook run pre-commit, %d files, 3 staged: median %.1f ms (min %.1f, max %.1f, %d runs)"
              % (NFILES, statistics.median(times), min(times), max(times), RUNS))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
