"""Start the fake model servers from Python tests.

    sys.path.insert(0, os.path.join(GM_SOURCE_DIR, "tests", "fakes"))
    from fakes import FakeLMStudio, FakeAnthropic

    with FakeLMStudio(script=[...], concurrency=4, latency=0.2) as srv:
        srv.url            # http://127.0.0.1:PORT/v1
        srv.requests()     # the request log, parsed (list of dicts)
        srv.max_inflight() # most requests the server ever had open at once

Each server runs as a subprocess on a free port of 127.0.0.1; it is killed
when the `with` block ends (or stop() is called), exits by itself when this
process dies, after max_lifetime seconds and after max_requests requests.
Keyword arguments become command-line options: jit_load_delay=2 ->
`--jit-load-delay 2`, no_models_loaded=True -> `--no-models-loaded`.
"""
import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


class FakeServer:
    PROGRAM = None
    URL_SUFFIX = ""

    PERSONALITY = None

    def __init__(self, script=None, concurrency=None, latency=None, max_lifetime=300,
                 max_requests=None, startup_timeout=15.0, port=0, **options):
        self.script = script
        self.want_port = port
        self.options = dict(options)
        if concurrency is not None:
            self.options["concurrency"] = concurrency
        if latency is not None:
            self.options["latency"] = latency
        if max_requests is not None:
            self.options["max_requests"] = max_requests
        self.options["max_lifetime"] = max_lifetime
        self.startup_timeout = startup_timeout
        self.proc = None
        self.tmp = None
        self.port = None
        self._final_log = None

    # -- life cycle -------------------------------------------------------

    def start(self):
        self.tmp = tempfile.mkdtemp(prefix="gm-fake-")
        self.log_path = os.path.join(self.tmp, "requests.jsonl")
        port_file = os.path.join(self.tmp, "port")
        argv = [sys.executable, "-B", os.path.join(HERE, self.PROGRAM), "--port",
                str(self.want_port or 0), "--port-file", port_file, "--log", self.log_path,
                "--parent-pid", str(os.getpid())]
        if self.PERSONALITY:
            argv += ["--personality", self.PERSONALITY]
        if self.script is not None:
            if isinstance(self.script, str):
                path = self.script
            else:
                path = os.path.join(self.tmp, "script.json")
                with open(path, "w") as f:
                    json.dump(self.script, f)
            argv += ["--script", path]
        for k, v in self.options.items():
            opt = "--" + k.replace("_", "-")
            if v is True:
                argv.append(opt)
            elif v is False or v is None:
                continue
            else:
                argv += [opt, str(v)]
        self.stderr_path = os.path.join(self.tmp, "stderr")
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self._stderr)
        atexit.register(self.stop)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if os.path.exists(port_file):
                with open(port_file) as f:
                    text = f.read().strip()
                if text:
                    self.port = int(text)
                    return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        err = self.stderr()
        self.stop()
        raise RuntimeError("%s did not start: %s" % (self.PROGRAM, err.strip()))

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=5)
            self.proc = None
            self._stderr.close()
        if self.tmp is not None:
            self._final_log = self._read_log()
            self._final_stderr = self.stderr()
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    # -- what tests look at -------------------------------------------------

    @property
    def base(self):
        return "http://127.0.0.1:%d" % self.port

    @property
    def url(self):
        return self.base + self.URL_SUFFIX

    def stderr(self):
        if self.tmp is None:
            return getattr(self, "_final_stderr", "")
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def _read_log(self):
        out = []
        try:
            with open(self.log_path, "r", encoding="utf-8") as f:
                for line in f:
                    if line.endswith("\n"):
                        out.append(json.loads(line))
        except OSError:
            pass
        return out

    def requests(self, path=None):
        """Finished requests, in the order they finished (sort by 'index'
        for arrival order), optionally only those to `path`."""
        log = self._final_log if self.tmp is None else self._read_log()
        return [r for r in log if path is None or r["path"] == path]

    def wait_requests(self, n, path=None, timeout=10.0):
        """Wait until at least n requests (to path) have finished."""
        deadline = time.monotonic() + timeout
        while True:
            reqs = self.requests(path)
            if len(reqs) >= n or time.monotonic() >= deadline:
                return reqs
            time.sleep(0.02)

    def wait_for(self, pred, n=1, timeout=10.0):
        """Wait until at least n finished requests satisfy pred; returns them
        (possibly fewer after the timeout).  The log line of a request is
        written just after its last byte, so a client can see the answer
        before the log does."""
        deadline = time.monotonic() + timeout
        while True:
            reqs = [r for r in self.requests() if pred(r)]
            if len(reqs) >= n or time.monotonic() >= deadline:
                return reqs
            time.sleep(0.02)

    def max_inflight(self, path=None):
        """Most requests open at once (to path, when given: counted from the
        log's arrival and finish times)."""
        reqs = self.requests(path)
        if path is None:
            return max((r["max_inflight"] for r in reqs), default=0)
        events = sorted([(r["t_arrival"], 1) for r in reqs] + [(r["t_finish"], -1) for r in reqs],
                        key=lambda e: (e[0], e[1]))
        cur = best = 0
        for _, d in events:
            cur += d
            best = max(best, cur)
        return best


class FakeLMStudio(FakeServer):
    PROGRAM = "fake_lmstudio.py"
    URL_SUFFIX = "/v1"


class FakeLlamaCpp(FakeLMStudio):
    """llama.cpp's llama-server (PROTOCOLS.md E2); url ends in /v1."""
    PERSONALITY = "llamacpp"


class FakeVLLM(FakeLMStudio):
    """vLLM's OpenAI-compatible server (E1)."""
    PERSONALITY = "vllm"


class FakeOllama(FakeLMStudio):
    """Ollama (E3): /v1 and the native /api."""
    PERSONALITY = "ollama"


class FakeAnthropic(FakeServer):
    PROGRAM = "fake_anthropic.py"
    URL_SUFFIX = ""
