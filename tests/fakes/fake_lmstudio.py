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
    p.add_argument("--personality", default="lmstudio", choices=("lmstudio", "llamacpp", "vllm", "ollama"),
                   help="which server to be (PROTOCOLS.md A, E1-E3)")
    p.add_argument("--model-name", help="llamacpp/vllm/ollama: the one model served")
    p.add_argument("--context", type=int, default=0,
                   help="llamacpp: per-slot n_ctx; vllm: max_model_len; ollama: loaded num_ctx")
    p.add_argument("--api-key", help="llamacpp/vllm: the bearer key required (--api-key)")
    p.add_argument("--loading", type=float, default=0.0,
                   help="llamacpp: answer 503 'Loading model' for this many seconds")
    p.add_argument("--not-loaded", action="store_true", help="ollama: the model is not in /api/ps")
    p.add_argument("--die-after", type=int, default=0,
                   help="exit at once when chat request N+1 arrives (connections reset, then refused)")
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
        if srv.args.die_after and ctx.method == "POST" and ctx.path in self.chat_paths():
            with srv.lock:
                srv.chats_seen = getattr(srv, "chats_seen", 0) + 1
                n = srv.chats_seen
            if n > srv.args.die_after:
                sys.stderr.write("fake: dying as asked (--die-after %d)\n" % srv.args.die_after)
                os._exit(3)
        return self.route_kind(ctx, spec)

    def chat_paths(self):
        return GEN_PATHS

    def route_kind(self, ctx, spec):
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
        over = self.overflow(ctx, spec, body, ptok, ctx_len, stream)
        if isinstance(over, Reply):
            return over
        if over is not None:
            stream_err = over
        if spec.get("fail") == "event_error":
            name = spec.get("error", "template_error")
            stream_err = self.stream_error_frame(name, ctx, spec, tokens=ptok, n_ctx=ctx_len)
            if not stream:
                return self.error_reply(name, ctx, dict(spec, status=spec.get("status", 400)))

        # the answer
        content, tool_calls = self.answer(ctx, spec, body)
        style = spec.get("reasoning", self.default_reasoning())
        reasoning = spec.get("reasoning_text", REASONING_TEXT) if style != "none" else ""
        finish = spec.get("finish_reason")
        max_tokens = self.answer_cap(body)
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

    def overflow(self, ctx, spec, body, ptok, ctx_len, stream):
        """None (fits), an error Reply, or an SSE error frame to send after the 200."""
        if ptok <= ctx_len:
            return None
        if not stream:
            return self.error_reply("context_overflow", ctx, spec, tokens=ptok, n_ctx=ctx_len)
        return self.stream_error_frame("context_overflow_stream", ctx, spec, tokens=ptok,
                                       n_ctx=ctx_len)

    def default_reasoning(self):
        return self.server.args.reasoning

    def answer_cap(self, body):
        return body.get("max_tokens")

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


# --------------------------------------------------------------------------
# Other OpenAI-compatible servers (PROTOCOLS.md E): one model each
# --------------------------------------------------------------------------

class OneModelHandler(LMStudioHandler):
    """A server with one model (llama-server, vLLM, Ollama here)."""
    DEFAULT_NAME = "model"
    DEFAULT_CONTEXT = 8192

    @classmethod
    def setup_server(cls, srv):
        a = srv.args
        srv.models = [{"id": a.model_name or cls.DEFAULT_NAME, "type": "llm",
                       "loaded": not a.not_loaded, "context_length": a.context or cls.DEFAULT_CONTEXT,
                       "max_context_length": 131072}]
        srv.completion_counter = 0
        srv.started = time.time()

    def common_headers(self, ctx):
        return []

    def model(self):
        return self.server.models[0]

    def prompt_tokens(self, body):
        prompt = "".join(fakecore.text_of(m.get("content")) for m in body.get("messages") or []
                         if isinstance(m, dict))
        return est_tokens(prompt) + 4 * len(body.get("messages") or [])


class LlamaCppHandler(OneModelHandler):
    """llama.cpp's llama-server (E2): /health, /props, /slots; per-slot n_ctx;
    exceed_context_size_error; the model field ignored; --api-key."""
    server_version = "llama.cpp"
    DEFAULT_NAME = "qwen2.5-coder-7b-instruct-q4_k_m.gguf"

    def err(self, status, message, etype, **extra):
        e = {"code": status, "message": message, "type": etype}
        e.update(extra)
        return Reply(status, {"error": e})

    def route_kind(self, ctx, spec):
        srv = self.server
        a = srv.args
        if a.loading and time.time() - srv.started < a.loading:
            return self.err(503, "Loading model", "unavailable_error")
        public = ctx.path in ("/health", "/v1/health", "/models", "/v1/models")
        if a.api_key and not public:
            auth = ctx.headers.get("authorization", "")
            if auth != "Bearer " + a.api_key and ctx.headers.get("x-api-key") != a.api_key:
                return self.err(401, "Invalid API Key", "authentication_error")
        if "body" in spec:
            return Reply(spec.get("status", 200), spec["body"])
        m = self.model()
        if ctx.method == "GET" and ctx.path in ("/health", "/v1/health"):
            return Reply(200, {"status": "ok"})
        if ctx.method == "GET" and ctx.path == "/props":
            return Reply(200, {"default_generation_settings": {"n_ctx": m["context_length"],
                                                               "params": {"n_predict": -1}},
                               "total_slots": a.concurrency or 1,
                               "model_path": "/models/" + m["id"], "build_info": "b6000-fake"})
        if ctx.method == "GET" and ctx.path == "/slots":
            return Reply(200, [{"id": i, "n_ctx": m["context_length"], "is_processing": False}
                               for i in range(a.concurrency or 1)])
        if ctx.method == "GET" and ctx.path in ("/models", "/v1/models"):
            return Reply(200, {"models": [{"name": m["id"], "model": m["id"]}], "object": "list",
                               "data": [{"id": m["id"], "object": "model", "created": 1767225600,
                                         "owned_by": "llamacpp",
                                         "meta": {"n_vocab": 152064, "n_ctx_train": 131072,
                                                  "n_ctx": m["context_length"], "n_embd": 3584}}]})
        if ctx.method == "POST" and ctx.path == CHAT:
            if ctx.json_error is not None or not isinstance(ctx.body, dict):
                return self.err(400, "Failed to parse the request body as JSON", "invalid_request_error")
            rf = ctx.body.get("response_format")
            if isinstance(rf, dict) and rf.get("type") not in ("json_schema", "json_object", "text"):
                return self.err(400, "response_format type must be one of \"text\" or \"json_object\", "
                                "but got: %s" % rf.get("type"), "invalid_request_error")
            if "error" in spec and spec.get("fail") != "event_error":
                return self.err(spec.get("status", 500), spec.get("message", "scripted error"),
                                "server_error")
            return self.chat(ctx, spec)
        return self.err(404, "File Not Found", "not_found_error")

    def resolve_model(self, ctx, spec):
        return self.model(), 0.0  # single-model mode: the model field is ignored

    def overflow(self, ctx, spec, body, ptok, ctx_len, stream):
        if ptok < ctx_len:
            return None
        # also when streaming: the first error is a plain HTTP error (E2)
        return self.err(400, "request (%d tokens) exceeds the available context size (%d tokens), "
                        "try increasing it" % (ptok, ctx_len), "exceed_context_size_error",
                        n_prompt_tokens=ptok, n_ctx=ctx_len)

    def default_reasoning(self):
        r = self.server.args.reasoning
        return "reasoning_content" if r == "reasoning" else r

    def answer_cap(self, body):
        for k in ("n_predict", "max_completion_tokens", "max_tokens"):
            if isinstance(body.get(k), int) and body[k] > 0:
                return body[k]
        return None

    def answer(self, ctx, spec, body):
        rf = body.get("response_format")
        if (isinstance(rf, dict) and rf.get("type") == "json_schema" and "content" not in spec
                and "json" not in spec):
            # the schema is read from json_schema.schema only; a flat one is ignored (E2)
            schema = (rf.get("json_schema") or {}).get("schema")
            if schema is None:
                return "Sure! Here is some prose instead of JSON.", []
            return json.dumps(fakecore.schema_instance(schema)), []
        return super().answer(ctx, spec, body)


class VLLMHandler(OneModelHandler):
    """vLLM's OpenAI server (E1): max_model_len in /v1/models; the served name
    must match; prompt + max_tokens bounded; 401 {"error":"Unauthorized"}."""
    server_version = "uvicorn"
    DEFAULT_NAME = "Qwen/Qwen2.5-Coder-32B-Instruct"
    DEFAULT_CONTEXT = 32768

    def err(self, status, message, etype, param=None):
        return Reply(status, {"error": {"message": message, "type": etype, "param": param,
                                        "code": status}})

    def route_kind(self, ctx, spec):
        a = self.server.args
        if a.api_key and ctx.path.startswith("/v1"):
            if ctx.headers.get("authorization", "") != "Bearer " + a.api_key:
                return Reply(401, {"error": "Unauthorized"})
        if "body" in spec:
            return Reply(spec.get("status", 200), spec["body"])
        m = self.model()
        if ctx.method == "GET" and ctx.path == "/health":
            return Reply(200, b"", ctype="application/json")
        if ctx.method == "GET" and ctx.path == "/version":
            return Reply(200, {"version": "0.11.0"})
        if ctx.method == "GET" and ctx.path == "/v1/models":
            return Reply(200, {"object": "list", "data": [
                {"id": m["id"], "object": "model", "created": 1767225600, "owned_by": "vllm",
                 "root": "/models/" + m["id"], "parent": None, "max_model_len": m["context_length"],
                 "permission": [{"id": "modelperm-fake", "object": "model_permission"}]}]})
        if ctx.method == "POST" and ctx.path == CHAT:
            if ctx.json_error is not None or not isinstance(ctx.body, dict):
                return self.err(400, "JSON decode error", "BadRequestError")
            rf = ctx.body.get("response_format")
            if isinstance(rf, dict) and rf.get("type") == "json_schema":
                js = rf.get("json_schema")
                if not isinstance(js, dict) or "schema" not in js or "name" not in js:
                    return self.err(400, "response_format.json_schema: Field required",
                                    "BadRequestError", "response_format")
            if "error" in spec and spec.get("fail") != "event_error":
                return self.err(spec.get("status", 500), spec.get("message", "scripted error"),
                                "InternalServerError")
            return self.chat(ctx, spec)
        return Reply(404, {"detail": "Not Found"})

    def resolve_model(self, ctx, spec):
        m = self.model()
        if ctx.model and ctx.model != m["id"]:
            return self.err(404, "The model `%s` does not exist." % ctx.model, "NotFoundError",
                            "model"), 0.0
        return m, 0.0

    def overflow(self, ctx, spec, body, ptok, ctx_len, stream):
        cap = self.answer_cap(body) or 0
        if ptok < ctx_len and ptok + cap <= ctx_len:
            return None
        return self.err(400, "This model's maximum context length is %d tokens. However, you "
                        "requested %d tokens (%d in the messages, %d in the completion). Please "
                        "reduce the length of the messages or completion." %
                        (ctx_len, ptok + cap, ptok, cap), "BadRequestError",
                        "input_tokens" if ptok >= ctx_len else "max_tokens")

    def default_reasoning(self):
        r = self.server.args.reasoning
        return "reasoning" if r != "none" else "none"

    def answer_cap(self, body):
        for k in ("max_completion_tokens", "max_tokens"):
            if isinstance(body.get(k), int) and body[k] > 0:
                return body[k]
        return None


class OllamaHandler(OneModelHandler):
    """Ollama (E3): /api/version, /api/ps, /api/show, /api/tags; /v1 truncates
    an over-long prompt silently; native /api/chat (NDJSON) truncates too
    unless "truncate": false, which makes it an error."""
    server_version = ""
    DEFAULT_NAME = "qwen2.5-coder:7b"
    DEFAULT_CONTEXT = 4096

    def chat_paths(self):
        return (CHAT, "/api/chat")

    def route_kind(self, ctx, spec):
        if "body" in spec:
            return Reply(spec.get("status", 200), spec["body"])
        m = self.model()
        if ctx.method == "GET" and ctx.path == "/":
            return Reply(200, "Ollama is running", ctype="text/plain; charset=utf-8")
        if ctx.method == "GET" and ctx.path == "/api/version":
            return Reply(200, {"version": "0.12.3"})
        if ctx.method == "GET" and ctx.path == "/api/tags":
            return Reply(200, {"models": [{"name": m["id"], "model": m["id"], "size": 4683087332}]})
        if ctx.method == "GET" and ctx.path == "/api/ps":
            loaded = [{"name": m["id"], "model": m["id"], "size": 6000000000,
                       "context_length": m["context_length"]}] if m["loaded"] else []
            return Reply(200, {"models": loaded})
        if ctx.method == "POST" and ctx.path == "/api/show":
            return Reply(200, {"model_info": {"qwen2.context_length": 32768},
                               "capabilities": ["completion", "tools"]})
        if ctx.method == "GET" and ctx.path == "/v1/models":
            return Reply(200, {"object": "list", "data": [
                {"id": m["id"], "object": "model", "created": 1767225600, "owned_by": "library"}]})
        if ctx.method == "POST" and ctx.path in (CHAT, "/api/chat"):
            if ctx.json_error is not None or not isinstance(ctx.body, dict):
                return Reply(400, {"error": "invalid character in request body"})
            if ctx.model != m["id"] and ctx.model != m["id"].split(":")[0]:
                return Reply(404, {"error": "model '%s' not found" % (ctx.model or "")})
            if "error" in spec and spec.get("fail") != "event_error":
                return Reply(spec.get("status", 500), {"error": spec.get("message", "scripted error")})
            if ctx.path == CHAT:
                return self.chat(ctx, spec)
            return self.native_chat(ctx, spec)
        return Reply(404, "404 page not found", ctype="text/plain")

    def loaded_context(self, body):
        """The context this request runs with; a different options.num_ctx reloads."""
        m = self.model()
        opts = body.get("options") if isinstance(body.get("options"), dict) else {}
        want = opts.get("num_ctx")
        if isinstance(want, int) and want > 0 and (want != m["context_length"] or not m["loaded"]):
            with self.server.lock:
                m["context_length"] = want
            return want, True
        with self.server.lock:
            was = m["loaded"]
            m["loaded"] = True
        return m["context_length"], not was

    def overflow(self, ctx, spec, body, ptok, ctx_len, stream):
        if ptok > ctx_len:
            ctx.notes["truncated"] = True  # silently, as Ollama does on /v1
        return None

    def resolve_model(self, ctx, spec):
        n, reloaded = self.loaded_context(ctx.body)
        if reloaded:
            ctx.notes["loaded"] = True
        return self.model(), 0.0

    def default_reasoning(self):
        r = self.server.args.reasoning
        return "reasoning" if r != "none" else "none"

    def native_chat(self, ctx, spec):
        body = ctx.body
        n_ctx, reloaded = self.loaded_context(body)
        if reloaded:
            ctx.notes["loaded"] = True
        ptok = self.prompt_tokens(body)
        if ptok > n_ctx:
            if body.get("truncate") is False:
                return Reply(400, {"error": "the input length exceeds the context length"})
            ctx.notes["truncated"] = True
        fmt = body.get("format")
        if "content" in spec:
            content = spec["content"]
        elif "json" in spec:
            content = json.dumps(spec["json"])
        elif isinstance(fmt, dict):
            content = json.dumps(fakecore.schema_instance(fmt))
        elif fmt == "json":
            content = "{}"
        else:
            content = fakecore.refactor_answer(ctx.user_text) or "Hello! This is the fake Ollama."
        thinking = REASONING_TEXT if spec.get("reasoning", self.server.args.reasoning) != "none" else ""
        opts = body.get("options") if isinstance(body.get("options"), dict) else {}
        done_reason = "stop"
        cap = opts.get("num_predict")
        if isinstance(cap, int) and cap > 0 and len(content) > cap * 4:
            content = content[:cap * 4]
            done_reason = "length"
        m = self.model()
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
        final = {"model": m["id"], "created_at": now,
                 "message": {"role": "assistant", "content": ""}, "done": True,
                 "done_reason": done_reason, "total_duration": 1000000, "load_duration": 1000,
                 "prompt_eval_count": min(ptok, n_ctx), "eval_count": est_tokens(content) + est_tokens(thinking)}
        if body.get("stream") is False:
            msg = {"role": "assistant", "content": content}
            if thinking:
                msg["thinking"] = thinking
            out = dict(final, message=msg)
            return self.deliver(ctx, Reply(200, out), spec)
        lines = []
        for piece in fakecore.split_text(thinking):
            lines.append((json.dumps({"model": m["id"], "created_at": now, "message": {
                "role": "assistant", "content": "", "thinking": piece}, "done": False}) + "\n").encode())
        for piece in fakecore.split_text(content):
            lines.append((json.dumps({"model": m["id"], "created_at": now, "message": {
                "role": "assistant", "content": piece}, "done": False}) + "\n").encode())
        lines.append((json.dumps(final) + "\n").encode())
        err = (json.dumps({"error": spec.get("message", "an error was encountered while running the model")})
               + "\n").encode()
        s = Stream(lines, error_frame=err, ctype="application/x-ndjson")
        return self.deliver(ctx, s, spec)


HANDLERS = {"lmstudio": LMStudioHandler, "llamacpp": LlamaCppHandler, "vllm": VLLMHandler,
            "ollama": OllamaHandler}


def main():
    args = parse_args()
    handler = HANDLERS[args.personality]
    gen = GEN_PATHS + ("/api/chat",) if args.personality == "ollama" else GEN_PATHS
    if args.personality != "lmstudio" and args.concurrency == 4 and "--concurrency" not in sys.argv:
        args.concurrency = {"llamacpp": 4, "vllm": 0, "ollama": 1}[args.personality]
    fakecore.serve(args, handler, gen, "fake_" + args.personality)


if __name__ == "__main__":
    main()
