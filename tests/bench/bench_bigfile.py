#!/usr/bin/env python3
"""Scan time and memory against the size of ONE file (run by hand).

A scan must stay linear in the size of a file: generated sources (parser
tables, bundles, amalgamations) reach tens of megabytes.  For each language
and size this generates one file of many small functions and classes
(methods with shared names, module-level duplicates, calls, branches,
loops, a few imports), commits it into a temporary repository with
monitor.scan.maxFileSize raised, and measures:

  floor  bench_parse: read + parse only (what any tree-sitter tool pays)
  cold   git monitor scan --json --no-cache
  warm   git monitor scan --json with the scan cache filled

Wall time, peak RSS (through /usr/bin/time) and units found; a run over
--timeout seconds is killed and reported as such.  Linear means
the seconds per MB stay flat from the smallest to the largest size.

usage: tests/bench/bench_bigfile.py --build build [--sizes 1,8,50]
       [--langs python,c] [--timeout 300] [--repeat 1]
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ENV = dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@b", GIT_COMMITTER_NAME="b",
           GIT_COMMITTER_EMAIL="b@b", LC_ALL="C")

PY_CHUNK = '''\
class Shape{i}(Base):
    def __init__(self, a, b=2):
        self.a = a
        if a > b and b:
            self.b = helper_{i}(a)
        else:
            self.b = b

    def area(self, x):
        total = 0
        for k in range(x):
            if k % 2:
                total += self.a * k
            elif k % 3:
                total -= self.b
        return scale(total)


def helper_{i}(v):
    while v > 10:
        v = v // 2
    return v * 2

'''

PY_DUP = '''\
def dup(x):
    return helper_{i}(x) + 1

'''

C_CHUNK = '''\
static int helper_{i}(int v)
{{
	while (v > 10)
		v /= 2;
	return v * 2;
}}

int shape_area_{i}(const struct shape *s, int x)
{{
	int total = 0;
	for (int k = 0; k < x; k++) {{
		if (k % 2)
			total += s->a * helper_{i}(k);
		else if (k % 3)
			total -= s->b;
	}}
	return scale(total);
}}

'''

C_DUP = '''\
#ifdef VARIANT_{i}
static int dup(int x)
{{
	return helper_{i}(x) + 1;
}}
#endif

'''

LANGS = {
    "python": (".py", PY_CHUNK, PY_DUP, lambda i: "import mod_%d\n" % i),
    "c": (".c", C_CHUNK, C_DUP, lambda i: '#include "mod_%d.h"\n' % i),
}


def generate(path, lang, size):
    _, chunk, dup, imp = LANGS[lang]
    with open(path, "w") as f:
        n = i = 0
        while n < size:
            s = ""
            if i % 500 == 0:
                s += imp(i)
            s += chunk.format(i=i)
            if i % 100 == 0:
                s += dup.format(i=i)
            f.write(s)
            n += len(s)
            i += 1


def run(cmd, cwd, timeout):
    """(wall seconds, peak RSS MiB, stdout); wall and stdout None when killed.

    Peak RSS comes from /usr/bin/time: the child's own wait4() figure would
    count the pages of this (large, forked) Python process."""
    timer = ["/usr/bin/time", "-f", "GMRSS %M"] if os.path.exists("/usr/bin/time") else []
    out = tempfile.TemporaryFile()
    t0 = time.perf_counter()
    p = subprocess.Popen(timer + cmd, cwd=cwd, env=ENV, stdout=out, stderr=subprocess.PIPE,
                         start_new_session=True)
    try:
        _, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        _, err = p.communicate()
        return None, float("nan"), None
    wall = time.perf_counter() - t0
    err = err.decode(errors="replace")
    rss = float("nan")
    for line in err.splitlines():
        if line.startswith("GMRSS "):
            rss = int(line.split()[1]) / 1024.0
    if p.returncode != 0:
        raise SystemExit("failed (%d): %s\n%s" % (p.returncode, " ".join(cmd), err[-2000:]))
    out.seek(0)
    return wall, rss, out.read()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--sizes", default="1,8,50", help="MB, comma-separated")
    ap.add_argument("--langs", default="python,c")
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--repeat", type=int, default=1)
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    gm = os.path.join(build, "git-monitor")
    floor = os.path.join(build, "tests", "bench_parse")
    tmp = tempfile.mkdtemp(prefix="gm-bigfile-")
    rows = []
    try:
        for lang in a.langs.split(","):
            for mb in [float(s) for s in a.sizes.split(",")]:
                repo = os.path.join(tmp, "%s-%g" % (lang, mb))
                os.makedirs(repo)
                name = "big" + LANGS[lang][0]
                generate(os.path.join(repo, name), lang, int(mb * 1e6))
                size = os.path.getsize(os.path.join(repo, name))
                subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
                subprocess.run(["git", "add", name], cwd=repo, check=True, env=ENV)
                subprocess.run(["git", "commit", "-qm", "big"], cwd=repo, check=True, env=ENV)
                subprocess.run(["git", "config", "monitor.scan.maxFileSize", "1g"], cwd=repo, check=True)
                row = {"lang": lang, "MB": round(size / 1e6, 1)}

                def best(cmd):
                    res = None
                    for _ in range(a.repeat):
                        r = run(cmd, repo, a.timeout)
                        if r[0] is None:
                            return r
                        if res is None or r[0] < res[0]:
                            res = r
                    return res

                t, rss, _ = best([floor, "1"])
                row["floor_s"], row["floor_MiB"] = t, rss
                scan = [gm, "scan", "--json", "-j", "1"]
                t, rss, out = best(scan + ["--no-cache"])
                row["cold_s"], row["cold_MiB"] = t, rss
                if out is not None:
                    row["units"] = len(json.loads(out)["units"])
                    run(scan, repo, a.timeout)  # fill the cache
                    t, rss, _ = best(scan)
                    row["warm_s"], row["warm_MiB"] = t, rss
                for k in ("floor_s", "cold_s", "warm_s"):
                    if k in row and row[k] is not None:
                        row[k] = round(row[k], 3)
                for k in ("floor_MiB", "cold_MiB", "warm_MiB"):
                    if k in row:
                        row[k] = None if row[k] != row[k] else round(row[k])
                if row.get("cold_s") and row.get("floor_s"):
                    row["cold/floor"] = round(row["cold_s"] / row["floor_s"], 2)
                    row["cold s/MB"] = round(row["cold_s"] / row["MB"], 3)
                rows.append(row)
                print(json.dumps(row), file=sys.stderr)
                shutil.rmtree(repo, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    cols = ["lang", "MB", "units", "floor_s", "cold_s", "cold/floor", "cold s/MB", "warm_s",
            "floor_MiB", "cold_MiB", "warm_MiB"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        cells = []
        for c in cols:
            v = r.get(c, "")
            if v is None:
                v = "killed at %gs" % a.timeout if c.endswith("_s") else ""
            cells.append(str(v))
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
