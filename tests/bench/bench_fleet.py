#!/usr/bin/env python3
"""Fleet benchmarks (run by hand; figures go into README.md "Scaling out").

1. speeds: three servers answering in 0.2 s, 0.5 s and 1.0 s, N requests
   (default 300), one slot each: engine wall over the ideal schedule for
   those rates (target: within 1.15x).
2. kinds: LM Studio, llama.cpp, vLLM and Ollama fakes at once, the same
   speeds plus a 0.3 s one, two slots each.
3. dying: the kinds fleet again, the fastest server exiting after a third
   of its share: every request answered once, its figures after.

usage: tests/bench/bench_fleet.py --build build [-n 300] [--parts speeds,kinds,dying]
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fakes"))
from fakes import FakeLMStudio, FakeLlamaCpp, FakeOllama, FakeVLLM  # noqa: E402


def slow(latency, path="/v1/chat/completions"):
    """Generations take `latency`; model lists and probes are instant."""
    return [{"match": {"path": p}, "response": {"delay": latency}}
            for p in (path, "/api/chat")]


def run(build, n, servers):
    """servers: [(fake, entry prefix, latency, slots)]"""
    argv = [os.path.join(build, "tests", "bench_fleet"), str(n)]
    for srv, prefix, lat, slots in servers:
        argv += [(prefix + " " if prefix else "") + srv.url, str(lat), str(slots)]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=3600)
    sys.stdout.write(p.stdout)
    if p.returncode:
        sys.stdout.write(p.stderr)
    return p.returncode


def speeds(build, n):
    print("== speeds: 0.2 / 0.5 / 1.0 s per answer, one slot each, N=%d" % n)
    lats = (0.2, 0.5, 1.0)
    fakes = [FakeLMStudio(script=slow(l), concurrency=1, max_lifetime=3600) for l in lats]
    for f in fakes:
        f.start()
    try:
        return run(build, n, [(f, "", l, 1) for f, l in zip(fakes, lats)])
    finally:
        for f in fakes:
            f.stop()


def kinds(build, n, die=False):
    print("== kinds%s: LM Studio 0.2 s, llama.cpp 0.3 s, vLLM 0.5 s, Ollama 1.0 s, 2 slots each, "
          "N=%d" % (" (LM Studio exits after %d answers)" % (n // 12) if die else "", n))
    spec = [(FakeLMStudio, 0.2, {"die_after": n // 12} if die else {}),
            (FakeLlamaCpp, 0.3, {}), (FakeVLLM, 0.5, {}), (FakeOllama, 1.0, {})]
    fakes = [cls(script=slow(l), concurrency=2, max_lifetime=3600, **opt) for cls, l, opt in spec]
    for f in fakes:
        f.start()
    try:
        return run(build, n, [(f, "", l, 2) for f, (_, l, _) in zip(fakes, spec)])
    finally:
        for f in fakes:
            f.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("-n", type=int, default=300)
    ap.add_argument("--parts", default="speeds,kinds,dying")
    a = ap.parse_args()
    rc = 0
    parts = a.parts.split(",")
    if "speeds" in parts:
        rc |= speeds(a.build, a.n)
    if "kinds" in parts:
        rc |= kinds(a.build, a.n)
    if "dying" in parts:
        rc |= kinds(a.build, a.n, die=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
