"""Machinery shared by the fake model servers (fake_lmstudio.py,
fake_anthropic.py): HTTP/1.1 keep-alive server on 127.0.0.1, script rules,
delays, the LM Studio-like queue, failure modes, the JSON-lines request log,
and the self-imposed lifetime.  Python 3 standard library only.
"""
import argparse
import hashlib
import json
import os
import re
import select
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MIB = 1024 * 1024
DEFAULT_OVERSIZE = 20 * MIB


# --------------------------------------------------------------------------
# Text helpers shared by both fakes
# --------------------------------------------------------------------------

def est_tokens(text):
    """Rough token estimate: 4 bytes per token."""
    if not text:
        return 0
    return (len(text.encode("utf-8")) + 3) // 4


def text_of(content):
    """Text of an OpenAI or Anthropic message content (string or parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        out = []
        for p in content:
            if isinstance(p, str):
                out.append(p)
            elif isinstance(p, dict):
                if isinstance(p.get("text"), str):
                    out.append(p["text"])
                elif p.get("type") == "tool_result":
                    out.append(text_of(p.get("content")))
        return "\n".join(out)
    return ""


def last_user_text(messages):
    for m in reversed(messages if isinstance(messages, list) else []):
        if isinstance(m, dict) and m.get("role") == "user":
            return text_of(m.get("content"))
    return ""


_HASH = ("python", "py", "python3", "sh", "bash", "zsh", "shell", "ruby", "rb",
         "perl", "pl", "yaml", "yml", "toml", "r", "makefile", "make", "cmake",
         "dockerfile", "elixir", "ex", "exs", "nim", "julia", "jl", "powershell",
         "ps1", "tcl", "awk", "crystal", "cr", "gdscript", "starlark", "bzl")
_SLASH = ("c", "h", "cpp", "c++", "cc", "cxx", "hpp", "hh", "java", "js",
          "javascript", "jsx", "mjs", "cjs", "ts", "typescript", "tsx", "go",
          "golang", "rust", "rs", "swift", "kotlin", "kt", "kts", "scala", "cs",
          "csharp", "c#", "php", "dart", "zig", "groovy", "objc", "objective-c",
          "proto", "glsl", "hlsl", "cuda", "cu", "d", "v", "solidity", "sol")
_DASH = ("lua", "sql", "haskell", "hs", "elm", "ada", "vhdl", "purescript")
_SEMI = ("lisp", "clojure", "clj", "cljs", "elisp", "emacs-lisp", "scheme",
         "racket", "rkt", "asm", "nasm", "ini")
_PCT = ("erlang", "erl", "latex", "tex", "matlab", "octave", "prolog")


def comment_line(lang):
    """A comment saying 'refactored' in the syntax of a fence's language tag,
    or None when the language is unknown."""
    lang = (lang or "").strip().lower()
    if lang in _HASH:
        return "# refactored"
    if lang in _SLASH:
        return "// refactored"
    if lang in _DASH:
        return "-- refactored"
    if lang in _SEMI:
        return "; refactored"
    if lang in _PCT:
        return "% refactored"
    if lang in ("html", "xml", "svg", "vue", "markdown", "md"):
        return "<!-- refactored -->"
    if lang in ("css", "scss", "less"):
        return "/* refactored */"
    if lang in ("ocaml", "ml", "fsharp", "f#", "pascal"):
        return "(* refactored *)"
    return None


_FENCE_OPEN = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*([^\s`]*)")


def find_fence(text):
    """(lang, code) of the last complete fenced code block in text, or None.
    (The rewrite prompt puts context such as imports in earlier blocks and
    the function to rewrite last.)"""
    lines = text.split("\n")
    found = None
    i = 0
    while i < len(lines):
        m = _FENCE_OPEN.match(lines[i])
        if not m:
            i += 1
            continue
        fence = m.group(1)
        for j in range(i + 1, len(lines)):
            s = lines[j].strip()
            if s.startswith(fence) and s.strip(fence[0]) == "":
                found = (m.group(2), "\n".join(lines[i + 1:j]))
                i = j
                break
        else:
            return found
        i += 1
    return found


def _body_start(lines):
    """Index of the first line of a function's body: after the first line
    that ends its header with '{' or ':' (decorators and multi-line
    parameter lists skipped), and after a Python docstring, so the comment
    changes neither where the function starts nor its __doc__.  None when
    no such line is found."""
    for k, line in enumerate(lines):
        t = line.rstrip()
        if t.lstrip().startswith("@") and not t.endswith(":"):
            continue
        if t.endswith("{") or t.endswith(":"):
            j = k + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            if j < len(lines):
                head = lines[j].strip()
                for q in ('"""', "'''"):
                    if head.startswith(q):
                        end = j if head.count(q) >= 2 and len(head) > 3 else None
                        m = j + 1
                        while end is None and m < len(lines):
                            if q in lines[m]:
                                end = m
                            m += 1
                        if end is not None:
                            return end + 1
            return k + 1
    return None


def refactor_answer(user_text):
    """The default rewrite: the last fenced block of the user message (the
    function to rewrite), with a '<comment> refactored' line in the fence's
    language as the first line of the function's body, indented like the
    body.  A change that keeps behaviour, parses, and keeps the function
    starting where it did.  None when there is no fenced block."""
    found = find_fence(user_text)
    if found is None:
        return None
    lang, code = found
    c = comment_line(lang)
    lines = code.split("\n")
    k = _body_start(lines) if c is not None else None
    if k is not None:
        nxt = next((l for l in lines[k:] if l.strip()), None)
        if nxt is not None and nxt.strip() not in ("}", "};"):
            indent = nxt[:len(nxt) - len(nxt.lstrip())]
        else:
            head = lines[k - 1]
            indent = head[:len(head) - len(head.lstrip())] + "    "
        lines.insert(k, indent + c)
    runs = [len(r) for r in re.findall(r"`+", code)]
    fence = "`" * max([3] + [n + 1 for n in runs if n >= 3])
    return "%s%s\n%s\n%s" % (fence, lang, "\n".join(lines), fence)


def schema_instance(s, depth=0):
    """A small deterministic instance of a JSON schema (required keys only,
    first enum value, minimal arrays)."""
    if not isinstance(s, dict) or depth > 32:
        return None
    if "const" in s:
        return s["const"]
    if isinstance(s.get("enum"), list) and s["enum"]:
        return s["enum"][0]
    if "default" in s:
        return s["default"]
    for k in ("anyOf", "oneOf", "allOf"):
        if isinstance(s.get(k), list) and s[k]:
            return schema_instance(s[k][0], depth + 1)
    t = s.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), "null")
    if t == "object" or (t is None and "properties" in s):
        props = s.get("properties") or {}
        req = s.get("required")
        keys = req if isinstance(req, list) else list(props)
        return {k: schema_instance(props.get(k, {}), depth + 1) for k in keys}
    if t == "array":
        n = s.get("minItems", 0) if isinstance(s.get("minItems"), int) else 0
        return [schema_instance(s.get("items", {}), depth + 1) for _ in range(n)]
    if t == "string":
        n = s.get("minLength", 0) if isinstance(s.get("minLength"), int) else 0
        return "x" * n
    if t == "integer":
        return int(s.get("minimum", 0))
    if t == "number":
        return s.get("minimum", 0)
    if t == "boolean":
        return False
    return None


def split_text(text, size=16):
    return [text[i:i + size] for i in range(0, len(text), size)] or []


# --------------------------------------------------------------------------
# Script rules
# --------------------------------------------------------------------------

class Rule:
    def __init__(self, d, number, gen_paths):
        if not isinstance(d, dict):
            raise ValueError("rule %d is not an object" % number)
        self.number = number
        self.match = d.get("match") or {}
        self.response = d.get("response") or {}
        self.times = d.get("times")
        self.used = 0
        self.gen_paths = gen_paths

    def matches(self, ctx):
        m = self.match
        path = m.get("path")
        if path is None:
            if ctx.path not in self.gen_paths:
                return False
        elif path != "*" and path != ctx.path:
            return False
        if "path_regex" in m and not re.search(m["path_regex"], ctx.path):
            return False
        if "method" in m and m["method"].upper() != ctx.method:
            return False
        if "index" in m:
            idx = m["index"] if isinstance(m["index"], list) else [m["index"]]
            if ctx.path_index not in idx:
                return False
        if "model" in m and m["model"] != ctx.model:
            return False
        if "user" in m and m["user"] not in ctx.user_text:
            return False
        if "user_regex" in m and not re.search(m["user_regex"], ctx.user_text, re.S):
            return False
        if "stream" in m and bool(m["stream"]) != bool(ctx.stream):
            return False
        if "header" in m:
            for k, v in m["header"].items():
                if ctx.headers.get(k.lower()) != v:
                    return False
        if self.times is not None and self.used >= self.times:
            return False
        return True


def load_script(path):
    """(rules list, top-level settings dict) from a script file."""
    if not path:
        return [], {}
    with open(path, "r", encoding="utf-8") as f:
        data = json.load(f)
    if isinstance(data, list):
        return data, {}
    if isinstance(data, dict):
        return data.get("rules") or [], data
    raise ValueError("script must be a list of rules or an object with \"rules\"")


# --------------------------------------------------------------------------
# Replies
# --------------------------------------------------------------------------

class Reply:
    """A complete (non-streamed) response."""

    def __init__(self, status, body, headers=None, ctype="application/json; charset=utf-8"):
        self.status = status
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.body = body
        self.headers = list(headers or [])
        self.ctype = ctype


class Stream:
    """A 200 SSE response: frames (bytes, each a full SSE event), the frame to
    send for fail=event_error, and a function making a padding frame of about
    n bytes (for fail=oversized), inserted after frame pad_at."""

    def __init__(self, frames, error_frame=None, pad=None, pad_at=1, headers=None, malformed=None,
                 ctype="text/event-stream"):
        self.status = 200
        self.ctype = ctype
        self.malformed = malformed or b'data: {"id": "broken", "choices": [{"delta": \n\n'
        self.frames = frames
        self.error_frame = error_frame
        self.pad = pad
        self.pad_at = pad_at
        self.headers = list(headers or [])


def sse(data, event=None):
    if not isinstance(data, str):
        data = json.dumps(data)
    head = ("event: %s\n" % event) if event else ""
    return ("%sdata: %s\n\n" % (head, data)).encode("utf-8")


# --------------------------------------------------------------------------
# Per-request record
# --------------------------------------------------------------------------

class Ctx:
    def __init__(self):
        self.index = -1
        self.path_index = -1
        self.method = ""
        self.path = ""
        self.query = ""
        self.headers = {}
        self.raw_headers = []
        self.body = None
        self.body_raw = b""
        self.body_size = 0
        self.json_error = None
        self.model = None
        self.stream = False
        self.user_text = ""
        self.rule = None
        self.t_arrival = time.time()
        self.t_slot = None
        self.t_slot_end = None
        self.notes = {}
        self.t_first_byte = None
        self.t_finish = None
        self.inflight = 0
        self.max_inflight = 0
        self.running = None
        self.status = None
        self.outcome = "ok"
        self.client_closed = False
        self.request_id = None

    def record(self):
        d = {
            "index": self.index, "path_index": self.path_index,
            "method": self.method, "path": self.path, "query": self.query,
            "headers": self.headers, "body_size": self.body_size,
            "t_arrival": self.t_arrival, "t_slot": self.t_slot, "t_slot_end": self.t_slot_end,
            "t_first_byte": self.t_first_byte, "t_finish": self.t_finish,
            "inflight_at_arrival": self.inflight, "max_inflight": self.max_inflight,
            "running_at_start": self.running, "status": self.status,
            "outcome": self.outcome, "client_closed": self.client_closed,
            "rule": self.rule.number if self.rule is not None else None,
        }
        if self.request_id:
            d["request_id"] = self.request_id
        d.update(self.notes)
        if self.json_error is None:
            d["body"] = self.body
        else:
            d["body"] = None
            d["body_raw"] = self.body_raw[:65536].decode("utf-8", "replace")
        return d


# --------------------------------------------------------------------------
# Server
# --------------------------------------------------------------------------

class FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, args, handler, gen_paths, settings):
        self.args = args
        self.lock = threading.Lock()
        self.gen_paths = gen_paths
        self.settings = settings
        rules, _ = args.rules_and_settings
        self.rules = [Rule(r, i, gen_paths) for i, r in enumerate(rules)]
        self.count = 0
        self.done = 0
        self.path_counts = {}
        self.inflight = 0
        self.max_inflight = 0
        self.running = 0
        self.slots = threading.Semaphore(args.concurrency) if args.concurrency > 0 else None
        self.log_file = open(args.log, "a", encoding="utf-8") if args.log else None
        self.log_lock = threading.Lock()
        self.exiting = False
        super().__init__((args.host, args.port), handler)

    def begin(self, ctx):
        with self.lock:
            ctx.index = self.count
            self.count += 1
            ctx.path_index = self.path_counts.get(ctx.path, 0)
            self.path_counts[ctx.path] = ctx.path_index + 1
            self.inflight += 1
            self.max_inflight = max(self.max_inflight, self.inflight)
            ctx.inflight = self.inflight
            ctx.max_inflight = self.max_inflight

    def match(self, ctx):
        with self.lock:
            for r in self.rules:
                if r.matches(ctx):
                    r.used += 1
                    return r
        return None

    def end(self, ctx):
        ctx.t_finish = time.time()
        with self.lock:
            self.inflight -= 1
            self.done += 1
            done = self.done
        if self.log_file is not None:
            line = json.dumps(ctx.record())
            with self.log_lock:
                self.log_file.write(line + "\n")
                self.log_file.flush()
        if done >= self.args.max_requests and not self.exiting:
            self.exiting = True
            threading.Thread(target=self._exit_when_idle, daemon=True).start()

    def _exit_when_idle(self):
        deadline = time.time() + 5
        while time.time() < deadline and self.inflight > 0:
            time.sleep(0.05)
        sys.stderr.write("fake: request limit reached, exiting\n")
        os._exit(0)


class FakeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake"
    sys_version = ""
    timeout = 120  # idle keep-alive sockets are closed after this

    # Subclasses: route(ctx, rule) -> Reply | Stream | None (already sent),
    # common_headers(ctx) -> list of (name, value), parse_meta(ctx).

    def setup(self):
        super().setup()
        # Like Node's http server (LM Studio is Express): no Nagle.  With it,
        # the small writes of a streamed reply wait for the client's delayed
        # ACK on a reused connection, 40 ms a request, which is the fake's
        # latency, not the client's.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *args):
        pass

    def version_string(self):
        return self.server_version

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_DELETE(self):
        self._handle("DELETE")

    def do_PUT(self):
        self._handle("PUT")

    def _read_body(self, ctx):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        limit = self.server.args.max_request_body
        if "chunked" in te:
            parts = []
            total = 0
            while True:
                line = self.rfile.readline(1024)
                n = int(line.split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += n
                if total > limit:
                    ctx.body_size = total
                    return None
                parts.append(self.rfile.read(n))
                self.rfile.readline(8)
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        ctx.body_size = length
        if length > limit:
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _handle(self, method):
        srv = self.server
        ctx = Ctx()
        ctx.method = method
        path, _, query = self.path.partition("?")
        ctx.path = path
        ctx.query = query
        ctx.raw_headers = list(self.headers.items())
        ctx.headers = {k.lower(): v for k, v in self.headers.items()}
        srv.begin(ctx)
        try:
            raw = self._read_body(ctx)
            if raw is None:
                ctx.outcome = "request_too_large"
                self.close_connection = True
                self.send_reply(ctx, self.too_large_reply(ctx), {})
                return
            ctx.body_raw = raw
            ctx.body_size = len(raw)
            if raw:
                try:
                    ctx.body = json.loads(raw.decode("utf-8"))
                except (ValueError, UnicodeDecodeError) as e:
                    ctx.json_error = str(e)
            if isinstance(ctx.body, dict):
                ctx.model = ctx.body.get("model")
                ctx.stream = bool(ctx.body.get("stream"))
                ctx.user_text = last_user_text(ctx.body.get("messages"))
            ctx.rule = srv.match(ctx)
            spec = ctx.rule.response if ctx.rule is not None else {}
            reply = self.route(ctx, spec)
            if reply is not None:
                self.send_reply(ctx, reply, spec)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            ctx.outcome = "client_gone"
            ctx.client_closed = True
            self.close_connection = True
        except Exception as e:  # a bug in the fake must not look like a server answer
            ctx.outcome = "fake_error: %r" % (e,)
            sys.stderr.write("fake: error handling %s %s: %r\n" % (method, self.path, e))
            self.close_connection = True
            if ctx.status is None:
                try:
                    self.send_reply(ctx, Reply(500, {"error": "fake server bug: %r" % (e,)}), {})
                except OSError:
                    pass
        finally:
            srv.end(ctx)

    def too_large_reply(self, ctx):
        return Reply(413, {"error": "request entity too large"})

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass

    # -- low-level output ---------------------------------------------------

    def _headers(self, ctx, status, ctype, extra, spec, length=None, chunked=False):
        ctx.status = status
        self.send_response(status)
        names = set()
        for k, v in list(self.common_headers(ctx)) + list(extra):
            self.send_header(k, v)
            names.add(k.lower())
        for k, v in (spec.get("headers") or {}).items():
            self.send_header(k, str(v))
        if ctype and "content-type" not in names:
            self.send_header("Content-Type", ctype)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif length is not None:
            self.send_header("Content-Length", str(length))
        if self.close_connection:
            self.send_header("Connection", "close")
        else:
            self.send_header("Connection", "keep-alive")
        self.end_headers()
        if ctx.t_first_byte is None:
            ctx.t_first_byte = time.time()

    def _chunk(self, data):
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _end_chunks(self):
        self.wfile.write(b"0\r\n\r\n")

    def _reset(self, ctx):
        """Abort the connection with a TCP RST."""
        ctx.outcome = "reset"
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()
            self.connection.close()
        except OSError:
            pass

    def _close(self, ctx, outcome):
        """Close the connection (FIN) where we are, response complete or not."""
        ctx.outcome = outcome
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.rfile.close()
            self.connection.close()
        except OSError:
            pass

    def wait(self, ctx, seconds):
        """Sleep, watching for the client closing its end.  False if it did."""
        deadline = time.time() + seconds
        watch = True
        while True:
            left = deadline - time.time()
            if left <= 0:
                return True
            step = min(left, 0.05)
            if not watch:
                time.sleep(step)
                continue
            try:
                r, _, _ = select.select([self.connection], [], [], step)
                if r:
                    data = self.connection.recv(1, socket.MSG_PEEK)
                    if not data:
                        ctx.client_closed = True
                        ctx.outcome = "client_gone"
                        return False
                    watch = False  # pipelined data: stop watching
            except (OSError, ValueError):
                ctx.client_closed = True
                ctx.outcome = "client_gone"
                return False

    # -- reply delivery -----------------------------------------------------

    def send_reply(self, ctx, reply, spec, slot=False):
        srv = self.server
        sem = srv.slots if (slot and reply.status == 200) else None
        if sem is not None:
            sem.acquire()
            with srv.lock:
                srv.running += 1
                ctx.running = srv.running
        ctx.t_slot = time.time()
        try:
            delay = spec.get("delay", srv.args.latency)
            delay += getattr(reply, "extra_delay", 0.0)
            if delay > 0 and not self.wait(ctx, delay):
                self.close_connection = True
                return
            if isinstance(reply, Stream):
                self._send_stream(ctx, reply, spec)
            else:
                self._send_plain(ctx, reply, spec)
        finally:
            ctx.t_slot_end = time.time()
            if sem is not None:
                with srv.lock:
                    srv.running -= 1
                sem.release()

    def _send_plain(self, ctx, reply, spec):
        fail = spec.get("fail")
        after = spec.get("after_chunks", 1)
        body = reply.body
        if fail == "close":
            return self._close(ctx, "closed")
        if fail == "reset" and after == 0:
            return self._reset(ctx)
        if fail == "stall" and after == 0:
            self.wait(ctx, spec.get("stall_seconds", 30))
            return self._close(ctx, "stalled")
        if fail == "malformed":
            body = body[:max(1, len(body) // 2)]
            ctx.outcome = "malformed"
        elif fail == "oversized":
            body = body + b" " * int(spec.get("size", DEFAULT_OVERSIZE))
            ctx.outcome = "oversized"
        self._headers(ctx, reply.status, reply.ctype, reply.headers, spec, length=len(body))
        if fail == "reset":
            self.wfile.write(body[:len(body) // 2])
            return self._reset(ctx)
        if fail == "stall":
            self.wfile.write(body[:len(body) // 2])
            self.wait(ctx, spec.get("stall_seconds", 30))
            return self._close(ctx, "stalled")
        self.wfile.write(body)

    def _send_stream(self, ctx, reply, spec):
        fail = spec.get("fail")
        frames = list(reply.frames)
        after = min(int(spec.get("after_chunks", 2)), max(len(frames) - 1, 0))
        if fail == "close":
            return self._close(ctx, "closed")
        if fail == "reset" and after == 0:
            return self._reset(ctx)
        if fail == "stall" and after == 0:
            self.wait(ctx, spec.get("stall_seconds", 30))
            return self._close(ctx, "stalled")
        if fail == "oversized" and reply.pad is not None:
            size = int(spec.get("size", DEFAULT_OVERSIZE))
            piece = 65536
            pads = [reply.pad(piece)] * max(1, size // piece)
            at = min(reply.pad_at, len(frames))
            frames[at:at] = pads
            ctx.outcome = "oversized"
        self._headers(ctx, 200, reply.ctype, reply.headers + [("Cache-Control", "no-cache")],
                      spec, chunked=True)
        chunk_delay = spec.get("chunk_delay", self.server.args.chunk_delay)
        for i, f in enumerate(frames):
            if i == after and fail in ("reset", "stall", "event_error", "malformed"):
                if fail == "reset":
                    return self._reset(ctx)
                if fail == "stall":
                    self.wait(ctx, spec.get("stall_seconds", 30))
                    return self._close(ctx, "stalled")
                if fail == "event_error":
                    if reply.error_frame is not None:
                        self._chunk(reply.error_frame)
                    ctx.outcome = "event_error"
                    if spec.get("hold_seconds"):
                        # keep the stream open: a client must stop at the error
                        if not self.wait(ctx, spec["hold_seconds"]):
                            self.close_connection = True
                            return None
                    self._end_chunks()
                    return None
                if fail == "malformed":
                    self._chunk(reply.malformed)
                    ctx.outcome = "malformed"
            self._chunk(f)
            if chunk_delay > 0 and i + 1 < len(frames):
                if not self.wait(ctx, chunk_delay):
                    self.close_connection = True
                    return None
        self._end_chunks()
        return None


# --------------------------------------------------------------------------
# Command line and main loop
# --------------------------------------------------------------------------

def base_parser(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0: a free port")
    p.add_argument("--port-file", help="write the chosen port here once listening")
    p.add_argument("--script", help="JSON script: rules (and settings)")
    p.add_argument("--log", help="append one JSON line per request here")
    p.add_argument("--latency", type=float, default=0.0, help="seconds before each response starts")
    p.add_argument("--chunk-delay", type=float, default=0.0, help="seconds between stream frames")
    p.add_argument("--max-lifetime", type=float, default=600.0, help="exit after this many seconds")
    p.add_argument("--max-requests", type=int, default=100000, help="exit after this many requests")
    p.add_argument("--max-request-body", type=int, default=32 * MIB, help="larger request bodies get 413")
    p.add_argument("--parent-pid", type=int, default=0, help="exit when this process is gone")
    return p


def _watchdog(args):
    deadline = time.time() + args.max_lifetime
    while True:
        if time.time() >= deadline:
            sys.stderr.write("fake: max lifetime reached, exiting\n")
            os._exit(0)
        if args.parent_pid:
            try:
                os.kill(args.parent_pid, 0)
            except ProcessLookupError:
                os._exit(0)
            except PermissionError:
                pass
        time.sleep(0.25)


def serve(args, handler, gen_paths, name):
    try:
        args.rules_and_settings = load_script(args.script)
    except (OSError, ValueError) as e:
        sys.stderr.write("%s: bad script %s: %s\n" % (name, args.script, e))
        sys.exit(2)
    srv = FakeServer(args, handler, gen_paths, args.rules_and_settings[1])
    handler.setup_server(srv)
    port = srv.server_address[1]
    threading.Thread(target=_watchdog, args=(args,), daemon=True).start()
    sys.stdout.write("%s listening on http://%s:%d\n" % (name, args.host, port))
    sys.stdout.flush()
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)
    try:
        srv.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    os._exit(0)


def new_id(prefix, ctx, n=24):
    h = hashlib.sha256(("%s-%d-%f" % (prefix, ctx.index, ctx.t_arrival)).encode()).hexdigest()
    return prefix + h[:n]
