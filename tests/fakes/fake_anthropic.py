#!/usr/bin/env python3
"""A fake Anthropic Messages API for tests: /v1/messages (plain and SSE),
/v1/messages/count_tokens, /v1/models (paginated), /v1/messages/batches.
See README.md here and PROTOCOLS.md section B.  Python 3 standard library only.
"""
import datetime
import hashlib
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakecore  # noqa: E402
from fakecore import Reply, Stream, est_tokens, new_id, sse  # noqa: E402

MESSAGES = "/v1/messages"
GEN_PATHS = (MESSAGES,)

# name -> (status, type, message)
ERRORS = {
    "invalid_request": (400, "invalid_request_error", "messages: field required"),
    "authentication": (401, "authentication_error", "invalid x-api-key"),
    "billing": (402, "billing_error", "Your credit balance is too low to access the Anthropic API."),
    "permission": (403, "permission_error", "Your API key does not have permission to use the "
                   "specified resource."),
    "not_found": (404, "not_found_error", "model: {model}"),
    "conflict": (409, "conflict_error", "Conflict"),
    "request_too_large": (413, "request_too_large", "Request exceeds the maximum allowed number of "
                          "bytes."),
    "rate_limit": (429, "rate_limit_error", "This request would exceed the rate limit for your "
                   "organization of 50 requests per minute."),
    "api_error": (500, "api_error", "Internal server error"),
    "timeout": (504, "timeout_error", "Request timed out"),
    "overloaded": (529, "overloaded_error", "Overloaded"),
}

MODELS = [
    ("claude-opus-5-5", "Claude Opus 5.5", "2026-09-22T00:00:00Z", 1000000, 128000),
    ("claude-sonnet-5", "Claude Sonnet 5", "2026-05-14T00:00:00Z", 1000000, 64000),
    ("claude-opus-5", "Claude Opus 5", "2026-02-05T00:00:00Z", 1000000, 64000),
    ("claude-sonnet-4-6", "Claude Sonnet 4.6", "2025-12-10T00:00:00Z", 1000000, 64000),
    ("claude-haiku-4-5-20251001", "Claude Haiku 4.5", "2025-10-01T00:00:00Z", 200000, 64000),
    ("claude-sonnet-4-5-20250929", "Claude Sonnet 4.5", "2025-09-29T00:00:00Z", 200000, 64000),
]

THINKING_TEXT = "Considering the request before answering."


def parse_args():
    p = fakecore.base_parser("fake Anthropic Messages API")
    p.add_argument("--concurrency", type=int, default=0, help="requests at once; more are queued; 0: no limit")
    p.add_argument("--api-key", help="the only key accepted (default: any non-empty key)")
    p.add_argument("--cache-min-tokens", type=int, default=1024)
    p.add_argument("--batch-delay", type=float, default=0.5, help="seconds until a batch has ended")
    return p.parse_args()


def rfc3339(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class AnthropicHandler(fakecore.FakeHandler):
    server_version = "cloudflare"

    @classmethod
    def setup_server(cls, srv):
        srv.cache = {}
        srv.batches = {}

    def common_headers(self, ctx):
        if ctx.request_id is None:
            ctx.request_id = new_id("req_", ctx, 24)
        reset = rfc3339(time.time() + 60)
        return [("request-id", ctx.request_id),
                ("anthropic-organization-id", "00000000-0000-4000-8000-000000000000"),
                ("anthropic-ratelimit-requests-limit", "50"),
                ("anthropic-ratelimit-requests-remaining", "49"),
                ("anthropic-ratelimit-requests-reset", reset),
                ("anthropic-ratelimit-input-tokens-limit", "30000"),
                ("anthropic-ratelimit-input-tokens-remaining", "30000"),
                ("anthropic-ratelimit-input-tokens-reset", reset),
                ("anthropic-ratelimit-output-tokens-limit", "8000"),
                ("anthropic-ratelimit-output-tokens-remaining", "8000"),
                ("anthropic-ratelimit-output-tokens-reset", reset),
                ("anthropic-ratelimit-tokens-limit", "38000"),
                ("anthropic-ratelimit-tokens-remaining", "38000"),
                ("anthropic-ratelimit-tokens-reset", reset),
                ("cf-ray", "0123456789abcdef-AMS")]

    # -- errors -----------------------------------------------------------

    def too_large_reply(self, ctx):
        return self.error_reply(ctx, "request_too_large")

    def error_obj(self, ctx, name, message=None):
        status, etype, msg = ERRORS.get(name, (500, "api_error", name))
        if message is None:
            message = msg.format(model=ctx.model or "") if "{" in msg else msg
        if ctx.request_id is None:
            ctx.request_id = new_id("req_", ctx, 24)
        return status, {"type": "error", "error": {"type": etype, "message": message},
                        "request_id": ctx.request_id}

    def error_reply(self, ctx, name, spec=None, message=None):
        spec = spec or {}
        status, body = self.error_obj(ctx, name, spec.get("message", message))
        status = spec.get("status", status)
        headers = self.retry_headers(spec, name)
        return Reply(status, body, headers)

    def retry_headers(self, spec, name=None):
        h = []
        ra = spec.get("retry_after", "1" if name == "rate_limit" else None)
        if ra is not None:
            h.append(("retry-after", str(ra)))
        if spec.get("retry_after_ms") is not None:
            h.append(("retry-after-ms", str(spec["retry_after_ms"])))
        if spec.get("should_retry") is not None:
            h.append(("x-should-retry", "true" if spec["should_retry"] else "false"))
        return h

    # -- routing ----------------------------------------------------------

    def route(self, ctx, spec):
        key = ctx.headers.get("x-api-key")
        auth = ctx.headers.get("authorization", "")
        if not key and auth.lower().startswith("bearer "):
            key = auth[7:]
        want = self.server.args.api_key
        if not key:
            return self.error_reply(ctx, "authentication", message="x-api-key header is required")
        if want is not None and key != want:
            return self.error_reply(ctx, "authentication", message="invalid x-api-key")
        if "body" in spec:
            return Reply(spec.get("status", 200), spec["body"], self.retry_headers(spec))
        if "error" in spec and spec.get("fail") != "event_error":
            return self.error_reply(ctx, spec["error"], spec)
        if spec.get("status", 200) != 200:
            return self.error_reply(ctx, "api_error", spec, message=spec.get("message", "Scripted error"))
        if not ctx.headers.get("anthropic-version"):
            # status for a missing version header: [unconfirmed]
            return self.error_reply(ctx, "invalid_request", message="anthropic-version: header is required")
        if ctx.method == "GET" and ctx.path == "/v1/models":
            return self.models(ctx)
        if ctx.method == "GET" and ctx.path.startswith("/v1/models/"):
            mid = ctx.path[len("/v1/models/"):]
            for m in MODELS:
                if m[0] == mid:
                    return Reply(200, self.model_obj(m))
            return self.error_reply(ctx, "not_found", message="model: %s" % mid)
        if ctx.path.startswith("/v1/messages/batches"):
            return self.batches(ctx, spec)
        if ctx.method == "POST" and ctx.path in (MESSAGES, MESSAGES + "/count_tokens"):
            if ctx.json_error is not None or not isinstance(ctx.body, dict):
                return self.error_reply(ctx, "invalid_request",
                                        message="There was an error parsing the body of your request")
            err = self.validate(ctx, ctx.body, count=ctx.path != MESSAGES)
            if err is not None:
                return err
            if ctx.path != MESSAGES:
                return Reply(200, {"input_tokens": self.input_tokens(ctx.body)})
            return self.messages(ctx, spec)
        return self.error_reply(ctx, "not_found", message="Not Found")

    def model_obj(self, m):
        return {"type": "model", "id": m[0], "display_name": m[1], "created_at": m[2],
                "max_input_tokens": m[3], "max_tokens": m[4],
                "capabilities": {"structured_outputs": True, "thinking": True}}

    def models(self, ctx):
        q = dict(p.split("=", 1) for p in ctx.query.split("&") if "=" in p)
        try:
            limit = max(1, min(1000, int(q.get("limit", "20"))))
        except ValueError:
            return self.error_reply(ctx, "invalid_request", message="limit: must be an integer")
        ids = [m[0] for m in MODELS]
        start, end = 0, len(MODELS)
        if q.get("after_id") in ids:
            start = ids.index(q["after_id"]) + 1
        if q.get("before_id") in ids:
            end = ids.index(q["before_id"])
            start = max(start, end - limit)
        page = MODELS[start:end][:limit]
        has_more = start + len(page) < end if "before_id" not in q else start > 0
        return Reply(200, {"data": [self.model_obj(m) for m in page], "has_more": has_more,
                           "first_id": page[0][0] if page else None,
                           "last_id": page[-1][0] if page else None})

    def validate(self, ctx, body, count=False):
        if not isinstance(body.get("model"), str) or not body["model"]:
            return self.error_reply(ctx, "invalid_request", message="model: Field required")
        if not count and not isinstance(body.get("max_tokens"), int):
            return self.error_reply(ctx, "invalid_request", message="max_tokens: Field required")
        msgs = body.get("messages")
        if not isinstance(msgs, list) or not msgs:
            return self.error_reply(ctx, "invalid_request", message="messages: Field required")
        return None

    # -- messages -----------------------------------------------------------

    def input_tokens(self, body):
        parts = [json.dumps(body.get("tools") or []), fakecore.text_of(body.get("system"))]
        parts += [fakecore.text_of(m.get("content")) for m in body.get("messages") or []
                  if isinstance(m, dict)]
        return sum(est_tokens(p) for p in parts if p) + 3 * len(body.get("messages") or [])

    def cache_split(self, body):
        """(cached prefix tokens, ttl, prefix hash) up to the last cache_control
        breakpoint in tools -> system -> messages, or (0, None, None)."""
        seq = []
        for t in body.get("tools") or []:
            seq.append((json.dumps(t, sort_keys=True), isinstance(t, dict) and t.get("cache_control")))
        system = body.get("system")
        if isinstance(system, str):
            seq.append((system, None))
        elif isinstance(system, list):
            for b in system:
                seq.append((fakecore.text_of([b]), isinstance(b, dict) and b.get("cache_control")))
        for m in body.get("messages") or []:
            c = m.get("content") if isinstance(m, dict) else None
            if isinstance(c, list):
                for b in c:
                    seq.append((fakecore.text_of([b]), isinstance(b, dict) and b.get("cache_control")))
            else:
                seq.append((fakecore.text_of(c), None))
        last = -1
        ttl = None
        for i, (_, cc) in enumerate(seq):
            if cc:
                last = i
                ttl = cc.get("ttl", "5m") if isinstance(cc, dict) else "5m"
        if last < 0 and isinstance(body.get("cache_control"), dict):
            last = len(seq) - 2 if len(seq) > 1 else -1  # automatic: before the last message
            ttl = body["cache_control"].get("ttl", "5m")
        if last < 0:
            return 0, None, None
        prefix = [s for s, _ in seq[:last + 1]]
        tokens = sum(est_tokens(s) for s in prefix)
        h = hashlib.sha256((body.get("model", "") + "\0" + "\0".join(prefix)).encode()).hexdigest()
        return tokens, ttl, h

    def usage(self, ctx, body, out_tokens):
        total = self.input_tokens(body)
        ctoks, ttl, h = self.cache_split(body)
        write = read = 0
        if ctoks >= self.server.args.cache_min_tokens and ctoks <= total:
            with self.server.lock:
                seen = h in self.server.cache
                self.server.cache[h] = True
            if seen:
                read = ctoks
            else:
                write = ctoks
        return {"input_tokens": total - write - read, "output_tokens": out_tokens,
                "cache_creation_input_tokens": write, "cache_read_input_tokens": read,
                "cache_creation": {"ephemeral_5m_input_tokens": write if ttl != "1h" else 0,
                                   "ephemeral_1h_input_tokens": write if ttl == "1h" else 0},
                "service_tier": "standard"}

    def blocks(self, ctx, spec, body):
        """(content blocks, stop_reason)"""
        tc = body.get("tool_choice") or {}
        tools = [t for t in body.get("tools") or [] if isinstance(t, dict)]
        oc = body.get("output_config") or {}
        fmt = oc.get("format") if isinstance(oc, dict) else None
        if "tool_input" in spec or (isinstance(tc, dict) and tc.get("type") in ("tool", "any") and tools):
            name = tc.get("name") if isinstance(tc, dict) and tc.get("type") == "tool" else None
            tool = next((t for t in tools if t.get("name") == name), tools[0] if tools else {})
            inp = spec.get("tool_input")
            if inp is None:
                inp = fakecore.schema_instance(tool.get("input_schema") or {}) or {}
            return [{"type": "tool_use", "id": new_id("toolu_", ctx, 24),
                     "name": tool.get("name", name or "tool"), "input": inp}], "tool_use"
        if "content" in spec:
            text = spec["content"]
        elif "json" in spec:
            text = json.dumps(spec["json"])
        elif isinstance(fmt, dict) and fmt.get("type") == "json_schema":
            text = json.dumps(fakecore.schema_instance(fmt.get("schema") or {}))
        else:
            text = fakecore.refactor_answer(ctx.user_text)
            if text is None:
                text = "Hello! This is the fake Anthropic API."
        return [{"type": "text", "text": text}], "end_turn"

    def messages(self, ctx, spec):
        body = ctx.body
        if spec.get("fail") == "event_error" and not body.get("stream"):
            return self.error_reply(ctx, spec.get("error", "overloaded"), spec)
        blocks, stop = self.blocks(ctx, spec, body)
        if spec.get("reasoning") == "thinking":
            blocks.insert(0, {"type": "thinking", "thinking": spec.get("reasoning_text", THINKING_TEXT),
                              "signature": "c2lnbmF0dXJl"})
        max_tokens = body.get("max_tokens")
        out = 0
        budget = max_tokens * 4 if isinstance(max_tokens, int) and max_tokens > 0 else None
        for b in blocks:
            key = {"text": "text", "thinking": "thinking"}.get(b["type"])
            if key is None:
                out += est_tokens(json.dumps(b["input"]))
                continue
            if budget is not None and "stop_reason" not in spec:
                if len(b[key]) > budget:
                    b[key] = b[key][:budget]
                    stop = "max_tokens"
                budget -= len(b[key])
            out += est_tokens(b[key])
        if stop == "max_tokens":
            blocks = [b for b in blocks if b["type"] != "tool_use"]
        stop = spec.get("stop_reason", stop)
        usage = self.usage(ctx, body, out)
        if isinstance(spec.get("usage"), dict):
            usage.update(spec["usage"])
        mid = new_id("msg_01", ctx, 22)
        model = body["model"]
        if not body.get("stream"):
            msg = {"id": mid, "type": "message", "role": "assistant", "model": model, "content": blocks,
                   "stop_reason": stop, "stop_sequence": None, "usage": usage}
            self.send_reply(ctx, Reply(200, msg), spec, slot=True)
            return None
        start_usage = dict(usage, output_tokens=1)
        frames = [sse({"type": "message_start", "message": {
            "id": mid, "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": start_usage}}, "message_start")]
        for i, b in enumerate(blocks):
            if b["type"] == "text":
                frames.append(sse({"type": "content_block_start", "index": i,
                                   "content_block": {"type": "text", "text": ""}}, "content_block_start"))
                if i == 0:
                    frames.append(sse({"type": "ping"}, "ping"))
                for piece in fakecore.split_text(b["text"]):
                    frames.append(sse({"type": "content_block_delta", "index": i,
                                       "delta": {"type": "text_delta", "text": piece}}, "content_block_delta"))
            elif b["type"] == "thinking":
                frames.append(sse({"type": "content_block_start", "index": i, "content_block": {
                    "type": "thinking", "thinking": "", "signature": ""}}, "content_block_start"))
                if i == 0:
                    frames.append(sse({"type": "ping"}, "ping"))
                for piece in fakecore.split_text(b["thinking"]):
                    frames.append(sse({"type": "content_block_delta", "index": i, "delta": {
                        "type": "thinking_delta", "thinking": piece}}, "content_block_delta"))
                frames.append(sse({"type": "content_block_delta", "index": i, "delta": {
                    "type": "signature_delta", "signature": b["signature"]}}, "content_block_delta"))
            else:
                frames.append(sse({"type": "content_block_start", "index": i, "content_block": {
                    "type": "tool_use", "id": b["id"], "name": b["name"], "input": {}}},
                    "content_block_start"))
                if i == 0:
                    frames.append(sse({"type": "ping"}, "ping"))
                for piece in fakecore.split_text(json.dumps(b["input"])):
                    frames.append(sse({"type": "content_block_delta", "index": i, "delta": {
                        "type": "input_json_delta", "partial_json": piece}}, "content_block_delta"))
            frames.append(sse({"type": "content_block_stop", "index": i}, "content_block_stop"))
        frames.append(sse({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                           "usage": {"input_tokens": usage["input_tokens"], "output_tokens": out,
                                     "cache_creation_input_tokens": usage["cache_creation_input_tokens"],
                                     "cache_read_input_tokens": usage["cache_read_input_tokens"]}},
                          "message_delta"))
        frames.append(sse({"type": "message_stop"}, "message_stop"))
        status, err = self.error_obj(ctx, spec.get("error", "overloaded"), spec.get("message"))
        err.pop("request_id", None)
        error_frame = sse(err, "error")

        def pad(n):
            return sse({"type": "content_block_delta", "index": 0,
                        "delta": {"type": "text_delta", "text": "x" * n}}, "content_block_delta")

        pad_at = 3 if blocks and blocks[0]["type"] == "text" else len(frames) - 2
        broken = (b'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0, '
                  b'"delta": {"type": "text_delta", "text": \n\n')
        self.send_reply(ctx, Stream(frames, error_frame=error_frame, pad=pad, pad_at=pad_at,
                                    malformed=broken), spec, slot=True)
        return None

    # -- batches ------------------------------------------------------------

    def batch_view(self, b):
        now = time.time()
        ended = now >= b["ends_at"] or b["canceled"]
        n = len(b["requests"])
        counts = {"processing": 0 if ended else n, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        if ended:
            for r in b["results"]:
                counts[r["result"]["type"]] += 1
        return {"id": b["id"], "type": "message_batch",
                "processing_status": "ended" if ended else "in_progress",
                "request_counts": counts, "created_at": rfc3339(b["created"]),
                "expires_at": rfc3339(b["created"] + 86400),
                "ended_at": rfc3339(b["ends_at"]) if ended else None,
                "cancel_initiated_at": rfc3339(b["canceled"]) if b["canceled"] else None,
                "archived_at": None,
                "results_url": ("%s/v1/messages/batches/%s/results" % (self.base_url(), b["id"]))
                if ended else None}

    def base_url(self):
        host = self.headers.get("Host") or "127.0.0.1:%d" % self.server.server_address[1]
        return "http://" + host

    def batch_result(self, ctx, i, r):
        sub = fakecore.Ctx()
        sub.index = ctx.index * 100000 + i
        sub.t_arrival = ctx.t_arrival
        params = r.get("params") if isinstance(r, dict) else None
        cid = r.get("custom_id") if isinstance(r, dict) else None
        if not isinstance(params, dict) or params.get("stream"):
            return {"custom_id": cid, "result": {"type": "errored", "error": {"type": "error", "error": {
                "type": "invalid_request_error", "message": "params: invalid"}}}}
        sub.body = params
        sub.model = params.get("model")
        sub.user_text = fakecore.last_user_text(params.get("messages"))
        sub.path = MESSAGES
        sub.path_index = i
        rule = self.server.match(sub)
        spec = rule.response if rule is not None else {}
        if "error" in spec:
            status, err = self.error_obj(sub, spec["error"], spec.get("message"))
            err.pop("request_id", None)
            return {"custom_id": cid, "result": {"type": "errored", "error": err}}
        missing = self.validate(sub, params)
        if missing is not None:
            err = json.loads(missing.body)
            err.pop("request_id", None)
            return {"custom_id": cid, "result": {"type": "errored", "error": err}}
        blocks, stop = self.blocks(sub, spec, params)
        out = sum(est_tokens(json.dumps(b["input"])) if b.get("type") == "tool_use"
                  else est_tokens(b.get("text") or b.get("thinking") or "") for b in blocks)
        msg = {"id": new_id("msg_01", sub, 22), "type": "message", "role": "assistant",
               "model": params["model"], "content": blocks, "stop_reason": spec.get("stop_reason", stop),
               "stop_sequence": None, "usage": self.usage(sub, params, out)}
        if isinstance(spec.get("usage"), dict):  # as in an interactive answer
            msg["usage"].update(spec["usage"])
        return {"custom_id": cid, "result": {"type": "succeeded", "message": msg}}

    def batches(self, ctx, spec):
        srv = self.server
        rest = ctx.path[len("/v1/messages/batches"):].strip("/")
        parts = rest.split("/") if rest else []
        if ctx.method == "POST" and not parts:
            reqs = ctx.body.get("requests") if isinstance(ctx.body, dict) else None
            if not isinstance(reqs, list) or not reqs:
                return self.error_reply(ctx, "invalid_request", message="requests: Field required")
            bid = new_id("msgbatch_01", ctx, 22)
            results = [self.batch_result(ctx, i, r) for i, r in enumerate(reqs)]
            results.reverse()  # "in no particular order"
            now = time.time()
            b = {"id": bid, "requests": reqs, "results": results, "created": now,
                 "ends_at": now + srv.args.batch_delay, "canceled": None}
            with srv.lock:
                srv.batches[bid] = b
            return Reply(200, self.batch_view(b))
        if ctx.method == "GET" and not parts:
            with srv.lock:
                items = list(srv.batches.values())
            data = [self.batch_view(b) for b in reversed(items)]
            return Reply(200, {"data": data, "has_more": False,
                               "first_id": data[0]["id"] if data else None,
                               "last_id": data[-1]["id"] if data else None})
        b = srv.batches.get(parts[0]) if parts else None
        if b is None:
            return self.error_reply(ctx, "not_found", message="batch: %s" % (parts[0] if parts else ""))
        if ctx.method == "GET" and len(parts) == 1:
            return Reply(200, self.batch_view(b))
        if ctx.method == "POST" and parts[1:] == ["cancel"]:
            if time.time() < b["ends_at"]:
                b["canceled"] = time.time()
                b["results"] = [{"custom_id": r["custom_id"], "result": {"type": "canceled"}}
                                for r in b["results"]]
            return Reply(200, self.batch_view(b))
        if ctx.method == "GET" and parts[1:] == ["results"]:
            if self.batch_view(b)["processing_status"] != "ended":
                return self.error_reply(ctx, "invalid_request",
                                        message="Batch %s is still in progress" % b["id"])
            text = "".join(json.dumps(r) + "\n" for r in b["results"])
            return Reply(200, text, ctype="application/binary")
        if ctx.method == "DELETE" and len(parts) == 1:
            with srv.lock:
                srv.batches.pop(b["id"], None)
            return Reply(200, {"id": b["id"], "type": "message_batch_deleted"})
        return self.error_reply(ctx, "not_found", message="Not Found")


def main():
    args = parse_args()
    fakecore.serve(args, AnthropicHandler, GEN_PATHS, "fake_anthropic")


if __name__ == "__main__":
    main()
