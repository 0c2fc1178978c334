#!/usr/bin/env python3
"""Hook latency: `git monitor hook run pre-commit` in a generated repository
of N files (default 1,000) of one language, for a commit that stages one
changed function, nothing over the threshold (the everyday case).

Every timed run is the first run after staging: before it, one function of
one file gets a new body and is staged, so the staged blob is one the scan
cache has never seen (the other files' scans are cached, as they are after
the first commit).  Prints the median of the runs, the minimum and maximum.

usage: bench_hook.py [--lang python,c,cpp,ts] [--files 1000] [--runs 31]
                     [--keep DIR] path/to/git-monitor
Target (DESIGN.md): <= 50 ms for 1,000 files.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

EXT = {"python": "py", "c": "c", "cpp": "cpp", "ts": "ts"}


def source(lang, i, salt=0, changed=-1):
    """Eight functions; function `changed` gets `salt` in its body."""
    out = []
    for f in range(8):
        k = f + (salt if f == changed else 0)
        if lang == "python":
            if f == 0:
                out.append("import os\n\n")
            out.append("def f%d_%d(x, y):\n    if x > y:\n        return x - y + %d\n"
                       "    for k in range(y):\n        x += k\n    return x\n\n\n" % (i, f, k))
        elif lang == "c":
            if f == 0:
                out.append("#include <stdio.h>\n\n")
            out.append("int f%d_%d(int x, int y)\n{\n\tif (x > y)\n\t\treturn x - y + %d;\n"
                       "\tfor (int k = 0; k < y; k++)\n\t\tx += k;\n\treturn x;\n}\n\n" % (i, f, k))
        elif lang == "cpp":
            if f == 0:
                out.append("#include <vector>\n\nnamespace pkg%d {\n\nclass Box%d {\npublic:\n" % (i, i))
            out.append("    template <typename T>\n    T f%d(const std::vector<T> &v, T y) const\n"
                       "    {\n        T x{};\n        for (const auto &e : v)\n            x += e;\n"
                       "        return x > y ? x - y + %d : x;\n    }\n\n" % (f, k))
            if f == 7:
                out.append("};\n\n} // namespace pkg%d\n" % i)
        else:
            if f == 0:
                out.append("import { readFileSync } from \"fs\";\n\nexport class Box%d {\n" % i)
            out.append("  f%d(x: number, y: number): number {\n    if (x > y) {\n"
                       "      return x - y + %d;\n    }\n    for (let k = 0; k < y; k++) {\n"
                       "      x += k;\n    }\n    return x;\n  }\n\n" % (f, k))
            if f == 7:
                out.append("}\n")
    return "".join(out)


def bench(gm, lang, nfiles, runs, keep):
    tmp = keep or tempfile.mkdtemp(prefix="gm-bench-hook-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(HOME=tmp, GIT_CONFIG_NOSYSTEM="1", GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@x",
               GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@x")
    repo = os.path.join(tmp, "repo-" + lang)
    ext = EXT[lang]
    try:
        if os.path.exists(repo):
            shutil.rmtree(repo)
        os.makedirs(repo)

        def git(*a):
            subprocess.run(["git", *a], cwd=repo, env=env, check=True, capture_output=True)

        def path_of(i):
            return os.path.join(repo, "pkg%02d" % (i % 50), "mod%04d.%s" % (i, ext))

        git("init", "-q", "-b", "main")
        for i in range(nfiles):
            os.makedirs(os.path.dirname(path_of(i)), exist_ok=True)
            with open(path_of(i), "w") as f:
                f.write(source(lang, i))
        git("add", "-A")
        git("commit", "-q", "-m", "base")
        cmd = [gm, "hook", "run", "pre-commit"]
        times = []
        for run in range(runs + 1):
            victim = (7 * run + 3) % nfiles  # a different file each time
            with open(path_of(victim), "w") as f:
                f.write(source(lang, victim, salt=1000 + run, changed=run % 8))
            git("add", "-A")
            t = time.perf_counter()
            p = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True)
            ms = (time.perf_counter() - t) * 1000
            if p.returncode != 0 or p.stderr:
                sys.exit("unexpected hook result %d: %s" % (p.returncode, p.stderr))
            if run:  # the first run fills the cache of the other files
                times.append(ms)
            git("commit", "-q", "-m", "change %d" % run)
        print("%-6s %d files, one function staged: median %.1f ms (min %.1f, max %.1f, %d runs)"
              % (lang, nfiles, statistics.median(times), min(times), max(times), runs))
        sys.stdout.flush()
        return repo
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("gm", nargs="?", default=os.environ.get("GIT_MONITOR", "git-monitor"))
    ap.add_argument("--lang", default="python,c,cpp,ts")
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=31)
    ap.add_argument("--keep", help="build the repositories here and keep them")
    a = ap.parse_args()
    gm = os.path.abspath(a.gm)
    for lang in a.lang.split(","):
        bench(gm, lang, a.files, a.runs, a.keep)


if __name__ == "__main__":
    main()
