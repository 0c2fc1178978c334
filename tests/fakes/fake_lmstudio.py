#!/usr/bin/env python3
"""A fake LM Studio server (OpenAI-compatible /v1 plus the native /api/v0 and
/api/v1 model lists) for tests and the README demo.  See README.md here and
PROTOCOLS.md section A.  Python 3 standard library only.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakecore  # noqa: E402
import shapes  # noqa: E402
from fakecore import Reply, Stream, est_tokens, new_id, sse  # noqa: E402

CHAT = "/v1/chat/completions"
GEN_PATHS = (CHAT, "/api/v0/chat/completions")

DEFAULT_MODELS = [
    {"id": "qwen2.5-7b-instruct", "type": "llm", "loaded": True, "context_length": 32768,
     "max_context_length": 131072, "arch": "qwen2", "publisher": "lmstudio-community",
     "quantization": "Q4_K_M", "bits": 4, "format": "gguf", "params": "7B",
     "size_bytes": 4683073536, "tool_use": True, "reasoning": False},
    {"id": "llama-3.2-1b-instruct", "type": "llm", "loaded": False, "context_length": 4096,
     "max_context_length": 131072, "arch": "llama", "publisher": "lmstudio-community",
     "quantization": "Q8_0", "bits": 8, "format": "gguf", "params": "1B",
     "size_bytes": 1321083200, "tool_use": True, "reasoning": False},
    {"id": "text-embedding-nomic-embed-text-v1.5", "type": "embeddings", "loaded": False,
     "context_length": 2048, "max_context_length": 2048, "arch": "nomic-bert",
     "publisher": "nomic-ai", "quantization": "Q4_K_M", "bits": 4, "format": "gguf",
     "params": "137M", "size_bytes": 84106624, "tool_use": False, "reasoning": False},
]

# name -> (status, form, message template); {model} is the requested model
ERRORS = {
    "no_models": (400, "string", "No models loaded. Please load a model in the developer page "
                  "or use the 'lms load' command."),
    "unknown_model": (400, "object", "Invalid model identifier \"{model}\". Please specify a valid "
                      "downloaded model (e.g., {models})."),
    "unknown_model_404": (404, "object", "Model \"{model}\" not found. Please specify a valid model."),
    "context_overflow": (400, "string", "The number of tokens to keep from the initial prompt is "
                         "greater than the context length (n_keep: {tokens}>= n_ctx: {n_ctx}). Try to "
                         "load the model with a larger context length, or provide a shorter input."),
    "context_overflow_stream": (200, "object", "Input does not fit in context length. The input has "
                                "{tokens} tokens, but the context length only supports {n_ctx} tokens."),
    "json_object": (400, "string", "'response_format.type' must be 'json_schema' or 'text'"),
    "template_error": (200, "string", "Error rendering prompt with jinja template: \"Unknown test "
                       "error\"."),
    "unauthorized": (401, "object", "Missing or invalid API token. Send 'Authorization: Bearer "
                     "<token>'."),
    "server_error": (500, "string", "Unexpected internal error"),
    "bad_json": (400, "string", "Unexpected token in JSON body"),
}

OBJECT_EXTRA = {
    "unknown_model": {"type": "invalid_request_error", "param": "model", "code": "model_not_found"},
    "unknown_model_404": {"type": "invalid_request_error", "param": "model", "code": "model_not_found"},
    "unauthorized": {"type": "invalid_request_error", "param": None, "code": "invalid_api_key"},
}

REASONING_TEXT = "The user wants a rewrite. I keep the behaviour and answer with the code."


def parse_args():
    p = fakecore.base_parser("fake LM Studio server")
    p.add_argument("--concurrency", type=int, default=4,
                   help="generations at once (Max Concurrent Predictions); more are queued; 0: no limit")
    p.add_argument("--jit", choices=("on", "off"), default="on")
    p.add_argument("--jit-load-delay", type=float, default=0.0,
                   help="first-byte delay when a request loads a model (JIT)")
    p.add_argument("--require-auth", metavar="TOKEN", help="require Authorization: Bearer TOKEN")
    p.add_argument("--reasoning", default="none",
                   choices=("none", "think", "reasoning_content", "reasoning"),
                   help="default reasoning style of answers")
    p.add_argument("--no-models-loaded", action="store_true", help="start with no model loaded")
    p.add_argument("--shapes", metavar="SHAPES",
                   help="answer rewrites in the shapes real models use (shapes.py): 'mix', "
                        "or a comma-separated list to spread over")
    return p.parse_args()


class LMStudioHandler(fakecore.FakeHandler):
    server_version = "Express"

    @classmethod
    def setup_server(cls, srv):
        models = srv.settings.get("models") or DEFAULT_MODELS
        srv.models = [dict(m) for m in models]
        for m in srv.models:
            m.setdefault("type", "llm")
            m.setdefault("loaded", False)
            m.setdefault("context_length", 4096)
            m.setdefault("max_context_length", max(m["context_length"], 4096))
            if srv.args.no_models_loaded:
                m["loaded"] = False
        srv.completion_counter = 0

    def common_headers(self, ctx):
        return [("X-Powered-By", "Express"), ("Access-Control-Allow-Origin", "*")]

    # -- errors -----------------------------------------------------------

    def error_body(self, name, ctx, form=None, message=None, **kw):
        status, dform, tmpl = ERRORS.get(name, (500, "string", name))
        form = form or dform
        if message is None:
            models = ", ".join(m["id"] for m in self.server.models if m["type"] != "embeddings")
            message = tmpl.format(model=ctx.model or "", models=models, **kw) if "{" in tmpl else tmpl
        if form == "string":
            return status, {"error": message}
        err = {"message": message}
        err.update(OBJECT_EXTRA.get(name, {"type": "invalid_request_error", "param": None, "code": None}))
        return status, {"error": err}

    def error_reply(self, name, ctx, spec, **kw):
        status, body = self.error_body(name, ctx, spec.get("error_form"), spec.get("message"), **kw)
        if "status" in spec:
            status = spec["status"]
        return Reply(status, body)

    def stream_error_frame(self, name, ctx, spec, **kw):
        form = spec.get("error_form", "object")
        status, body = self.error_body(name, ctx, "string" if form in ("string", "bare") else "object",
                                       spec.get("message"), **kw)
        if form == "object":
            body["message"] = body["error"]["message"]
        return sse(body, None if form == "bare" else "error")

    # -- routing ----------------------------------------------------------

    def route(self, ctx, spec):
        srv = self.server
        tok = srv.args.require_auth
        if tok and ctx.headers.get("authorization") != "Bearer " + tok:
            return self.error_reply("unauthorized", ctx, spec)
        if "body" in spec:
            return Reply(spec.get("status", 200), spec["body"])
        if spec.get("status", 200) != 200 and "error" not in spec:
            return Reply(spec["status"], {"error": spec.get("message", "Scripted error")})
        if ctx.method == "GET" and ctx.path == "/v1/models":
            return self.models_v1_openai(ctx, spec)
        if ctx.method == "GET" and ctx.path.startswith("/api/v0/models"):
            return self.models_v0(ctx, spec)
        if ctx.method == "GET" and ctx.path == "/api/v1/models":
            return self.models_v1_native(ctx, spec)
        if ctx.method == "POST" and ctx.path in GEN_PATHS:
            return self.chat(ctx, spec)
        return Reply(404, {"error": "Unexpected endpoint or method. (%s %s)" % (ctx.method, ctx.path)})

    def visible_models(self):
        jit = self.server.args.jit == "on"
        return [m for m in self.server.models if jit or m["loaded"]]

    def models_v1_openai(self, ctx, spec):
        data = [{"id": m["id"], "object": "model", "owned_by": "organization_owner"}
                for m in self.visible_models()]
        return Reply(200, {"data": data, "object": "list"})

    def v0_item(self, m):
        d = {"id": m["id"], "object": "model", "type": m["type"], "publisher": m.get("publisher", ""),
             "arch": m.get("arch", ""), "compatibility_type": m.get("format", "gguf"),
             "quantization": m.get("quantization", ""),
             "state": "loaded" if m["loaded"] else "not-loaded",
             "max_context_length": m["max_context_length"],
             "capabilities": ["tool_use"] if m.get("tool_use") else []}
        if m["loaded"]:
            d["loaded_context_length"] = m["context_length"]
        return d

    def models_v0(self, ctx, spec):
        rest = ctx.path[len("/api/v0/models"):]
        if rest.startswith("/") and len(rest) > 1:
            for m in self.server.models:
                if m["id"] == rest[1:]:
                    return Reply(200, self.v0_item(m))
            return Reply(404, {"error": "Model \"%s\" not found" % rest[1:]})
        return Reply(200, {"object": "list", "data": [self.v0_item(m) for m in self.server.models]})

    def models_v1_native(self, ctx, spec):
        out = []
        for m in self.server.models:
            inst = []
            if m["loaded"]:
                inst = [{"id": m["id"], "config": {"context_length": m["context_length"],
                                                   "parallel": self.server.args.concurrency or 4}}]
            out.append({"type": "embedding" if m["type"] == "embeddings" else "llm", "key": m["id"],
                        "display_name": m["id"], "architecture": m.get("arch", ""),
                        "quantization": {"name": m.get("quantization", ""),
                                         "bits_per_weight": m.get("bits", 4)},
                        "size_bytes": m.get("size_bytes", 0), "params_string": m.get("params", ""),
                        "loaded_instances": inst, "max_context_length": m["max_context_length"],
                        "format": m.get("format", "gguf"),
                        "capabilities": {"vision": False, "trained_for_tool_use": bool(m.get("tool_use")),
                                         "reasoning": bool(m.get("reasoning"))}})
        return Reply(200, {"models": out})

    # -- chat ---------------------------------------------------------------

    def resolve_model(self, ctx, spec):
        """(model dict, extra_delay) or an error Reply."""
        srv = self.server
        llms = [m for m in srv.models if m["type"] != "embeddings"]
        loaded = [m for m in llms if m["loaded"]]
        want = ctx.model
        if not want:
            if loaded:
                return loaded[0], 0.0
            return self.error_reply("no_models", ctx, spec), 0.0
        found = next((m for m in srv.models if m["id"] == want), None)
        if found is None:
            return self.error_reply("unknown_model", ctx, spec), 0.0
        if found["loaded"]:
            return found, 0.0
        if srv.args.jit == "off":
            if not loaded:
                return self.error_reply("no_models", ctx, spec), 0.0
            return self.error_reply("unknown_model", ctx, spec), 0.0
        with srv.lock:
            was = found["loaded"]
            found["loaded"] = True
        if not was:
            ctx.notes["jit_loaded"] = found["id"]
        return found, (0.0 if was else srv.args.jit_load_delay)

    def chat(self, ctx, spec):
        srv = self.server
        body = ctx.body
        if ctx.json_error is not None or not isinstance(body, dict):
            return self.error_reply("bad_json", ctx, spec)
        if "error" in spec and spec.get("fail") != "event_error":
            return self.error_reply(spec["error"], ctx, spec)
        rf = body.get("response_format")
        if isinstance(rf, dict) and rf.get("type") not in ("json_schema", "text"):
            return self.error_reply("json_object", ctx, spec)
        res, extra_delay = self.resolve_model(ctx, spec)
        if isinstance(res, Reply):
            return res
        model = res
        mid = model["id"]
        stream = bool(body.get("stream"))
        prompt = "".join(fakecore.text_of(m.get("content")) for m in body.get("messages") or []
                         if isinstance(m, dict))
        ptok = est_tokens(prompt) + 4 * len(body.get("messages") or [])
        ctx_len = model["context_length"]
        stream_err = None
        if ptok > ctx_len:
            if not stream:
                return self.error_reply("context_overflow", ctx, spec, tokens=ptok, n_ctx=ctx_len)
            stream_err = self.stream_error_frame("context_overflow_stream", ctx, spec, tokens=ptok,
                                                 n_ctx=ctx_len)
        if spec.get("fail") == "event_error":
            name = spec.get("error", "template_error")
            stream_err = self.stream_error_frame(name, ctx, spec, tokens=ptok, n_ctx=ctx_len)
            if not stream:
                return self.error_reply(name, ctx, dict(spec, status=spec.get("status", 400)))

        # the answer
        content, tool_calls = self.answer(ctx, spec, body)
        style = spec.get("reasoning", srv.args.reasoning)
        reasoning = spec.get("reasoning_text", REASONING_TEXT) if style != "none" else ""
        finish = spec.get("finish_reason")
        max_tokens = body.get("max_tokens")
        if finish is None:
            finish = "tool_calls" if tool_calls else "stop"
            if isinstance(max_tokens, int) and max_tokens > 0:
                budget = max_tokens * 4
                if len(reasoning) + len(content) > budget:
                    finish = "length"
                    keep = max(0, budget - len(reasoning))
                    reasoning = reasoning[:budget]
                    content = content[:keep]
                    tool_calls = []
        if style == "think":
            closed = not (finish == "length" and not content)
            content = "<think>\n" + reasoning + ("\n</think>\n\n" if closed else "") + content
            reasoning = ""
        ctok = est_tokens(content) + est_tokens(reasoning)
        usage = spec.get("usage")
        if usage == "zeros":
            usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        elif not isinstance(usage, dict):
            usage = {"prompt_tokens": ptok, "completion_tokens": ctok, "total_tokens": ptok + ctok}

        with srv.lock:
            srv.completion_counter += 1
        cid = new_id("chatcmpl-", ctx, 20)
        created = int(time.time())
        rfield = {"reasoning_content": "reasoning_content", "reasoning": "reasoning"}.get(style)
        tc_objs = [{"id": "call_%d_%d" % (ctx.index, i), "type": "function",
                    "function": {"name": t["name"],
                                 "arguments": t["arguments"] if isinstance(t["arguments"], str)
                                 else json.dumps(t["arguments"])}}
                   for i, t in enumerate(tool_calls)]
        if not stream:
            msg = {"role": "assistant", "content": content, "tool_calls": tc_objs}
            if rfield:
                msg[rfield] = reasoning
            out = {"id": cid, "object": "chat.completion", "created": created, "model": mid,
                   "system_fingerprint": mid,
                   "choices": [{"index": 0, "logprobs": None, "finish_reason": finish, "message": msg}],
                   "usage": usage, "stats": {}}
            if ctx.path.startswith("/api/v0/"):
                out["stats"] = {"tokens_per_second": 42.0, "time_to_first_token": 0.1,
                                "generation_time": 0.2,
                                "stop_reason": {"stop": "eosFound", "length": "maxPredictedTokensReached",
                                                "tool_calls": "toolCalls"}.get(finish, "eosFound")}
                out["model_info"] = {"arch": model.get("arch", ""), "quant": model.get("quantization", ""),
                                     "format": model.get("format", "gguf"), "context_length": ctx_len}
                out["runtime"] = {"name": "llama.cpp-linux-x86_64", "version": "1.50.2",
                                  "supported_formats": ["gguf"]}
            r = Reply(200, out)
            r.extra_delay = extra_delay
            return self.deliver(ctx, r, spec)

        def chunk(delta, fin=None, **extra):
            d = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": mid,
                 "system_fingerprint": mid,
                 "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": fin}]}
            d.update(extra)
            return sse(d)

        frames = []
        if stream_err is None or spec.get("fail") == "event_error":
            if rfield:
                for piece in fakecore.split_text(reasoning):
                    frames.append(chunk({"role": "assistant", rfield: piece}))
            for piece in fakecore.split_text(content):
                frames.append(chunk({"role": "assistant", "content": piece}))
            for i, t in enumerate(tc_objs):
                frames.append(chunk({"role": "assistant", "tool_calls": [
                    {"index": i, "id": t["id"], "type": "function",
                     "function": {"name": t["function"]["name"], "arguments": ""}}]}))
                for piece in fakecore.split_text(t["function"]["arguments"]):
                    frames.append(chunk({"role": "assistant", "tool_calls": [
                        {"index": i, "function": {"arguments": piece}}]}))
            frames.append(chunk({}, finish))
            so = body.get("stream_options")
            if isinstance(so, dict) and so.get("include_usage"):
                d = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": mid,
                     "system_fingerprint": mid, "choices": [], "usage": usage}
                frames.append(sse(d))
            frames.append(b"data: [DONE]\n\n")
        else:
            # context overflow while streaming: 200, then only the error event
            frames = [stream_err]

        def pad(n):
            return chunk({"role": "assistant", "content": "x" * n})

        s = Stream(frames, error_frame=stream_err, pad=pad, pad_at=1)
        s.extra_delay = extra_delay
        return self.deliver(ctx, s, spec)

    def deliver(self, ctx, reply, spec):
        self.send_reply(ctx, reply, spec, slot=True)
        return None

    def shaped(self, user):
        """The --shapes answer of a rewrite prompt, or None."""
        opt = getattr(self.server.args, "shapes", None)
        if not opt or "The function:" not in user:
            return None
        if opt == "mix":
            return shapes.answer(user)
        names = [x for x in opt.split(",") if x]
        if len(names) == 1:
            return shapes.answer(user, names[0])
        return shapes.answer(user, "mix", names)

    def answer(self, ctx, spec, body):
        """(content, tool_calls[{name, arguments}])"""
        if "tool_calls" in spec:
            return spec.get("content", ""), spec["tool_calls"]
        if "content" in spec:
            return spec["content"], []
        if "json" in spec:
            return json.dumps(spec["json"]), []
        tools = body.get("tools")
        if body.get("tool_choice") == "required" and isinstance(tools, list) and tools:
            fn = tools[0].get("function", {}) if isinstance(tools[0], dict) else {}
            return "", [{"name": fn.get("name", "tool"),
                         "arguments": fakecore.schema_instance(fn.get("parameters") or {}) or {}}]
        rf = body.get("response_format")
        if isinstance(rf, dict) and rf.get("type") == "json_schema":
            schema = (rf.get("json_schema") or {}).get("schema") or {}
            return json.dumps(fakecore.schema_instance(schema)), []
        shaped = self.shaped(ctx.user_text)
        if shaped is not None:
            return shaped, []
        refactored = fakecore.refactor_answer(ctx.user_text)
        if refactored is not None:
            return refactored, []
        return "Hello! This is the fake LM Studio server.", []


def main():
    args = parse_args()
    fakecore.serve(args, LMStudioHandler, GEN_PATHS, "fake_lmstudio")


if __name__ == "__main__":
    main()
