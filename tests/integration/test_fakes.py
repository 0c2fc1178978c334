"""The fake model servers behave as PROTOCOLS.md says LM Studio and the
Anthropic API do: wire shapes, error shapes, queueing, failure modes, and the
request log the other integration tests rely on."""
import http.client
import json
import os
import socket
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("GM_SOURCE_DIR", os.path.join(HERE, "..", ".."))
FIXTURES = os.environ.get("GM_FIXTURES", os.path.join(SOURCE_DIR, "fixtures"))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "fakes"))

from fakes import FakeAnthropic, FakeLMStudio  # noqa: E402

ANTHROPIC_HEADERS = {"x-api-key": "sk-test-key", "anthropic-version": "2023-06-01",
                     "content-type": "application/json"}


def request(srv, method, path, body=None, headers=None, timeout=10, conn=None):
    """(status, headers dict lower-case, body bytes); reuses conn if given."""
    c = conn or http.client.HTTPConnection("127.0.0.1", srv.port, timeout=timeout)
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
    h = {"content-type": "application/json"}
    h.update(headers or {})
    try:
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        out = r.read()
    finally:
        if conn is None:
            c.close()
    hdrs = {k.lower(): v for k, v in r.getheaders()}
    return r.status, hdrs, out


def chat(srv, user, path="/v1/chat/completions", **fields):
    body = {"model": "qwen2.5-7b-instruct", "messages": [{"role": "user", "content": user}]}
    body.update(fields)
    return request(srv, "POST", path, body)


def sse_frames(raw):
    """[(event or None, data string)] of an SSE body."""
    frames = []
    for block in raw.decode().split("\n\n"):
        if not block.strip():
            continue
        event, data = None, []
        for line in block.split("\n"):
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
        frames.append((event, "\n".join(data)))
    return frames


def messages_body(user="hi", **fields):
    body = {"model": "claude-sonnet-5", "max_tokens": 1000, "messages": [{"role": "user", "content": user}]}
    body.update(fields)
    return body


class LMStudioShapes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = FakeLMStudio(script=os.path.join(FIXTURES, "llm", "lmstudio_errors.json")).start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def test_models_list_includes_embeddings_when_jit_on(self):
        st, _, body = request(self.srv, "GET", "/v1/models")
        self.assertEqual(st, 200)
        d = json.loads(body)
        self.assertEqual(d["object"], "list")
        ids = [m["id"] for m in d["data"]]
        self.assertIn("text-embedding-nomic-embed-text-v1.5", ids)
        self.assertIn("llama-3.2-1b-instruct", ids)
        self.assertTrue(all("context_length" not in m for m in d["data"]))

    def test_native_model_lists_give_context_lengths(self):
        _, _, body = request(self.srv, "GET", "/api/v0/models")
        v0 = {m["id"]: m for m in json.loads(body)["data"]}
        self.assertEqual(v0["qwen2.5-7b-instruct"]["state"], "loaded")
        self.assertEqual(v0["qwen2.5-7b-instruct"]["loaded_context_length"], 32768)
        self.assertEqual(v0["qwen2.5-7b-instruct"]["max_context_length"], 131072)
        self.assertEqual(v0["text-embedding-nomic-embed-text-v1.5"]["type"], "embeddings")
        _, _, body = request(self.srv, "GET", "/api/v1/models")
        v1 = {m["key"]: m for m in json.loads(body)["models"]}
        inst = v1["qwen2.5-7b-instruct"]["loaded_instances"]
        self.assertEqual(inst[0]["config"]["context_length"], 32768)
        self.assertEqual(inst[0]["config"]["parallel"], 4)

    def test_native_chat_adds_stats(self):
        _, _, body = chat(self.srv, "hi", path="/api/v0/chat/completions", max_tokens=1)
        d = json.loads(body)
        self.assertEqual(d["stats"]["stop_reason"], "maxPredictedTokensReached")
        self.assertEqual(d["model_info"]["context_length"], 32768)
        _, _, body = chat(self.srv, "hi")
        self.assertEqual(json.loads(body)["stats"], {})

    def test_stream_shape(self):
        st, h, raw = chat(self.srv, "hello", stream=True, stream_options={"include_usage": True})
        self.assertEqual(st, 200)
        self.assertEqual(h["content-type"], "text/event-stream")
        self.assertEqual(h["transfer-encoding"], "chunked")
        frames = sse_frames(raw)
        self.assertEqual(frames[-1], (None, "[DONE]"))
        chunks = [json.loads(d) for _, d in frames[:-1]]
        usage = chunks[-1]
        self.assertEqual(usage["choices"], [])
        self.assertGreater(usage["usage"]["total_tokens"], 0)
        finish = chunks[-2]["choices"][0]
        self.assertEqual(finish["delta"], {})
        self.assertEqual(finish["finish_reason"], "stop")
        content = chunks[:-2]
        self.assertGreater(len(content), 1)
        for c in content:
            self.assertEqual(c["object"], "chat.completion.chunk")
            self.assertEqual(c["choices"][0]["delta"]["role"], "assistant")
            self.assertIsNone(c["choices"][0]["finish_reason"])
            self.assertEqual(c["system_fingerprint"], c["model"])
        text = "".join(c["choices"][0]["delta"]["content"] for c in content)
        self.assertIn("fake LM Studio", text)

    def test_keep_alive_serves_several_requests_on_one_connection(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.srv.port, timeout=10)
        body = {"messages": [{"role": "user", "content": "hi"}]}
        local = []
        for stream in (True, False, True):
            st, h, _ = request(self.srv, "POST", "/v1/chat/completions", dict(body, stream=stream), conn=conn)
            self.assertEqual(st, 200)
            self.assertEqual(h["connection"], "keep-alive")
            self.assertIsNotNone(conn.sock)  # http.client drops the socket when the server closes
            local.append(conn.sock.getsockname())
        conn.close()
        self.assertEqual(len(set(local)), 1)

    def test_default_answer_is_the_fenced_code_with_a_comment(self):
        user = "Simplify this.\n```python\n    def area(w, h):\n        return w * h\n```\nThanks"
        _, _, body = chat(self.srv, user)
        msg = json.loads(body)["choices"][0]["message"]
        self.assertEqual(msg["content"],
                         "```python\n    def area(w, h):\n        # refactored\n        return w * h\n```")
        _, _, body = chat(self.srv, "```go\nfunc A() int {\n\treturn 1\n}\n```")
        self.assertEqual(json.loads(body)["choices"][0]["message"]["content"],
                         "```go\nfunc A() int {\n\t// refactored\n\treturn 1\n}\n```")
        # decorators, multi-line headers and docstrings stay where they were
        user = '```python\n@cache\ndef f(a,\n      b):\n    """Doc."""\n    return a\n```'
        _, _, body = chat(self.srv, user)
        self.assertEqual(json.loads(body)["choices"][0]["message"]["content"],
                         '```python\n@cache\ndef f(a,\n      b):\n    """Doc."""\n    # refactored\n    return a\n```')
        # the last block is the function (context such as imports comes first);
        # a longer fence survives backticks in the code
        user = ("Imports of the file:\n```python\nimport os\n```\nThe function:\n````python\n"
                "def f():\n    return '```'\n````\nReturn it in one ```python fenced block.\n")
        _, _, body = chat(self.srv, user)
        self.assertEqual(json.loads(body)["choices"][0]["message"]["content"],
                         "````python\ndef f():\n    # refactored\n    return '```'\n````")

    def test_json_schema_accepted_with_string_strict_and_answer_follows_schema(self):
        schema = {"type": "object", "required": ["action", "units"],
                  "properties": {"action": {"type": "string", "enum": ["rewrite", "keep"]},
                                 "units": {"type": "array", "items": {"type": "string"}}}}
        for strict in ("true", True):
            st, _, body = chat(self.srv, "analyse", response_format={
                "type": "json_schema", "json_schema": {"name": "plan", "strict": strict, "schema": schema}})
            self.assertEqual(st, 200)
            answer = json.loads(json.loads(body)["choices"][0]["message"]["content"])
            self.assertEqual(answer, {"action": "rewrite", "units": []})

    def test_json_object_rejected_with_string_error(self):
        st, _, body = chat(self.srv, "x", response_format={"type": "json_object"})
        self.assertEqual(st, 400)
        self.assertEqual(json.loads(body), {"error": "'response_format.type' must be 'json_schema' or 'text'"})

    def test_errors_in_string_and_object_form(self):
        st, _, body = chat(self.srv, "hi", model="no-such-model")
        self.assertEqual(st, 400)
        err = json.loads(body)["error"]
        self.assertEqual(err["code"], "model_not_found")
        self.assertIn('"no-such-model"', err["message"])
        st, _, body = chat(self.srv, "ERR:no_models")
        self.assertEqual(st, 400)
        self.assertTrue(json.loads(body)["error"].startswith("No models loaded"))
        st, _, body = chat(self.srv, "ERR:unknown_model_404")
        self.assertEqual(st, 404)
        self.assertIn("not found", json.loads(body)["error"]["message"])
        st, _, body = chat(self.srv, "ERR:unknown_model_string")
        self.assertIsInstance(json.loads(body)["error"], str)

    def test_context_overflow_is_400_plain_and_200_then_error_event_streaming(self):
        big = "word " * 30000  # ~37500 tokens > 32768
        st, _, body = chat(self.srv, big)
        self.assertEqual(st, 400)
        self.assertIn("n_keep", json.loads(body)["error"])
        st, _, raw = chat(self.srv, big, stream=True)
        self.assertEqual(st, 200)
        frames = sse_frames(raw)
        self.assertEqual(len(frames), 1)
        event, data = frames[0]
        self.assertEqual(event, "error")
        d = json.loads(data)
        self.assertIn("does not fit in context length", d["error"]["message"])
        self.assertEqual(d["message"], d["error"]["message"])

    def test_200_stream_then_error_event(self):
        st, _, raw = chat(self.srv, "ERR:template", stream=True)
        self.assertEqual(st, 200)
        frames = sse_frames(raw)
        self.assertIsNone(frames[0][0])
        self.assertIn("content", json.loads(frames[0][1])["choices"][0]["delta"])
        self.assertEqual(frames[-1][0], "error")
        self.assertNotIn("[DONE]", [d for _, d in frames])
        self.assertIn("jinja", json.loads(frames[-1][1])["error"]["message"])
        _, _, raw = chat(self.srv, "ERR:stream_bare", stream=True)
        last = sse_frames(raw)[-1]
        self.assertIsNone(last[0])
        self.assertIsInstance(json.loads(last[1])["error"], str)

    def test_finish_reasons(self):
        _, _, body = chat(self.srv, "FINISH:length")
        self.assertEqual(json.loads(body)["choices"][0]["finish_reason"], "length")
        _, _, body = chat(self.srv, "FINISH:tool_calls")
        choice = json.loads(body)["choices"][0]
        self.assertEqual(choice["finish_reason"], "tool_calls")
        call = choice["message"]["tool_calls"][0]
        self.assertEqual(call["function"]["name"], "emit")
        self.assertEqual(json.loads(call["function"]["arguments"]), {"action": "keep"})
        # max_tokens is honoured: a long answer is cut
        _, _, body = chat(self.srv, "hello", max_tokens=2)
        choice = json.loads(body)["choices"][0]
        self.assertEqual(choice["finish_reason"], "length")
        self.assertEqual(len(choice["message"]["content"]), 8)

    def test_failure_modes(self):
        with self.assertRaises((ConnectionResetError, http.client.IncompleteRead)):
            chat(self.srv, "FAIL:reset", stream=True)
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionResetError)):
            chat(self.srv, "FAIL:close")
        st, _, body = chat(self.srv, "FAIL:malformed")
        self.assertEqual(st, 200)
        with self.assertRaises(ValueError):
            json.loads(body)
        st, h, body = chat(self.srv, "FAIL:oversized")
        self.assertEqual(st, 200)
        self.assertGreaterEqual(len(body), 20 * 1024 * 1024)
        self.assertEqual(int(h["content-length"]), len(body))
        self.assertEqual(json.loads(body)["object"], "chat.completion")

    def test_stalled_stream_keeps_socket_open_until_client_gives_up(self):
        c = http.client.HTTPConnection("127.0.0.1", self.srv.port, timeout=0.5)
        c.request("POST", "/v1/chat/completions", body=json.dumps(
            {"messages": [{"role": "user", "content": "FAIL:stall"}], "stream": True}))
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        first = r.read1(65536)
        self.assertTrue(first.startswith(b"data: {"))
        with self.assertRaises(socket.timeout):
            r.read()
        c.close()
        reqs = self.srv.wait_for(lambda x: x["body"] and "FAIL:stall" in json.dumps(x["body"]))
        self.assertEqual(len(reqs), 1)
        self.assertEqual(reqs[0]["outcome"], "stalled")
        self.assertTrue(reqs[0]["client_closed"])

    def test_malformed_request_json_is_400_and_logged_raw(self):
        st, _, body = request(self.srv, "POST", "/v1/chat/completions", b'{"model": ')
        self.assertEqual(st, 400)
        self.assertIsInstance(json.loads(body)["error"], str)
        logged = self.srv.wait_for(lambda r: r.get("body_raw") == '{"model": ')
        self.assertEqual(len(logged), 1)
        self.assertIsNone(logged[0]["body"])


class LMStudioModes(unittest.TestCase):
    def test_jit_off_lists_loaded_models_only_and_refuses_others(self):
        with FakeLMStudio(jit="off") as srv:
            _, _, body = request(srv, "GET", "/v1/models")
            self.assertEqual([m["id"] for m in json.loads(body)["data"]], ["qwen2.5-7b-instruct"])
            st, _, body = chat(srv, "hi", model="llama-3.2-1b-instruct")
            self.assertEqual(st, 400)
            self.assertEqual(json.loads(body)["error"]["code"], "model_not_found")
        with FakeLMStudio(jit="off", no_models_loaded=True) as srv:
            _, _, body = request(srv, "GET", "/v1/models")
            self.assertEqual(json.loads(body)["data"], [])
            st, _, body = chat(srv, "hi", model="")
            self.assertEqual(st, 400)
            self.assertTrue(json.loads(body)["error"].startswith("No models loaded"))

    def test_jit_load_delays_first_byte_once_and_loads_the_model(self):
        with FakeLMStudio(jit_load_delay=0.6) as srv:
            for _ in range(2):
                st, _, _ = chat(srv, "hi", model="llama-3.2-1b-instruct", stream=True)
                self.assertEqual(st, 200)
            first, second = sorted(srv.wait_requests(2), key=lambda r: r["index"])
            self.assertEqual(first.get("jit_loaded"), "llama-3.2-1b-instruct")
            self.assertGreaterEqual(first["t_first_byte"] - first["t_arrival"], 0.6)
            self.assertNotIn("jit_loaded", second)
            _, _, body = request(srv, "GET", "/api/v0/models/llama-3.2-1b-instruct")
            self.assertEqual(json.loads(body)["state"], "loaded")

    def test_concurrency_limit_queues_instead_of_rejecting(self):
        n, limit = 8, 2
        with FakeLMStudio(concurrency=limit, latency=0.4) as srv:
            statuses = []

            def one():
                st, _, _ = chat(srv, "hi", stream=True)
                statuses.append(st)

            threads = [threading.Thread(target=one) for _ in range(n)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            self.assertEqual(statuses, [200] * n)
            reqs = srv.wait_requests(n)
            self.assertEqual(max(r["running_at_start"] for r in reqs), limit)
            self.assertGreater(srv.max_inflight(), limit)  # more were open than running
            # never more than `limit` generations overlapped (server timestamps)
            spans = sorted((r["t_slot"], r["t_slot_end"]) for r in reqs)
            for s, _ in spans:
                self.assertLessEqual(sum(1 for a, b in spans if a <= s < b), limit)

    def test_authorization_required(self):
        with FakeLMStudio(require_auth="tok123") as srv:
            st, _, body = request(srv, "GET", "/v1/models")
            self.assertEqual(st, 401)
            self.assertIn("error", json.loads(body))
            st, _, _ = request(srv, "GET", "/v1/models", headers={"Authorization": "Bearer tok123"})
            self.assertEqual(st, 200)
            log = srv.wait_requests(2)
            self.assertEqual(sorted(r["headers"].get("authorization", "") for r in log), ["", "Bearer tok123"])

    def test_status_sequence_by_request_index(self):
        script = [{"match": {"index": [0, 1]}, "response": {"status": 503, "message": "busy"}}]
        with FakeLMStudio(script=script) as srv:
            got = [chat(srv, "hi")[0] for _ in range(3)]
            self.assertEqual(got, [503, 503, 200])
            self.assertEqual([r["rule"] for r in sorted(srv.wait_requests(3), key=lambda r: r["index"])],
                             [0, 0, None])

    def test_reasoning_styles(self):
        with FakeLMStudio(script=os.path.join(FIXTURES, "llm", "lmstudio_reasoning.json")) as srv:
            msg = json.loads(chat(srv, "REASONING:think")[2])["choices"][0]["message"]
            self.assertRegex(msg["content"], r"^<think>\n.+\n</think>\n\nFour\.$")
            msg = json.loads(chat(srv, "REASONING:reasoning_content")[2])["choices"][0]["message"]
            self.assertEqual(msg["content"], "Four.")
            self.assertTrue(msg["reasoning_content"])
            msg = json.loads(chat(srv, "REASONING:reasoning")[2])["choices"][0]["message"]
            self.assertTrue(msg["reasoning"])
            self.assertNotIn("reasoning_content", msg)
            msg = json.loads(chat(srv, "REASONING:unterminated")[2])["choices"][0]["message"]
            self.assertIn("<think>", msg["content"])
            self.assertNotIn("</think>", msg["content"])
            d = json.loads(chat(srv, "EMPTY")[2])
            self.assertEqual(d["choices"][0]["message"]["content"], "")
            self.assertEqual(d["usage"], {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0})
            _, _, raw = chat(srv, "REASONING:reasoning_content", stream=True)
            deltas = [json.loads(d)["choices"][0]["delta"] for _, d in sse_frames(raw)[:-1]]
            self.assertIn("reasoning_content", deltas[0])
            self.assertEqual("".join(x.get("content", "") for x in deltas), "Four.")

    def test_request_body_over_limit_gets_413(self):
        with FakeLMStudio(max_request_body=1000) as srv:
            st, _, _ = chat(srv, "x" * 2000)
            self.assertEqual(st, 413)
            self.assertEqual(srv.wait_requests(1)[0]["outcome"], "request_too_large")

    def test_server_exits_by_itself(self):
        srv = FakeLMStudio(max_requests=2).start()
        try:
            proc = srv.proc
            request(srv, "GET", "/v1/models")
            request(srv, "GET", "/v1/models")
            self.assertEqual(proc.wait(timeout=10), 0)
        finally:
            srv.stop()
        srv = FakeLMStudio(max_lifetime=0.5).start()
        try:
            self.assertEqual(srv.proc.wait(timeout=10), 0)
        finally:
            srv.stop()

    def test_log_records_headers_body_and_times(self):
        with FakeLMStudio() as srv:
            chat(srv, "hello log", stream=True)
            r = srv.wait_requests(1)[0]
            self.assertEqual(r["method"], "POST")
            self.assertEqual(r["path"], "/v1/chat/completions")
            self.assertEqual(r["body"]["messages"][0]["content"], "hello log")
            self.assertEqual(r["headers"]["content-type"], "application/json")
            self.assertLessEqual(r["t_arrival"], r["t_first_byte"])
            self.assertLessEqual(r["t_first_byte"], r["t_finish"])
            self.assertEqual((r["status"], r["outcome"], r["inflight_at_arrival"]), (200, "ok", 1))
        self.assertEqual(len(srv.requests()), 1)  # still readable after stop


class AnthropicFake(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = FakeAnthropic(script=os.path.join(FIXTURES, "llm", "anthropic_errors.json"),
                                api_key="sk-test-key", batch_delay=0.2).start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def post(self, body, path="/v1/messages", headers=ANTHROPIC_HEADERS):
        return request(self.srv, "POST", path, body, headers)

    def test_missing_or_wrong_key_is_401_with_request_id(self):
        for h in ({"anthropic-version": "2023-06-01"}, dict(ANTHROPIC_HEADERS, **{"x-api-key": "bad"})):
            st, hdrs, body = self.post(messages_body(), headers=h)
            self.assertEqual(st, 401)
            d = json.loads(body)
            self.assertEqual(d["type"], "error")
            self.assertEqual(d["error"]["type"], "authentication_error")
            self.assertTrue(hdrs["request-id"].startswith("req_"))
            self.assertEqual(d["request_id"], hdrs["request-id"])

    def test_message_shape_and_request_id(self):
        st, h, body = self.post(messages_body())
        self.assertEqual(st, 200)
        self.assertTrue(h["request-id"].startswith("req_"))
        self.assertIn("anthropic-ratelimit-requests-remaining", h)
        d = json.loads(body)
        self.assertEqual((d["type"], d["role"], d["stop_reason"]), ("message", "assistant", "end_turn"))
        self.assertEqual(d["content"][0]["type"], "text")
        for k in ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"):
            self.assertIsInstance(d["usage"][k], int)

    def test_stream_event_sequence(self):
        st, h, raw = self.post(messages_body("say something", stream=True))
        self.assertEqual(st, 200)
        self.assertEqual(h["content-type"], "text/event-stream")
        frames = sse_frames(raw)
        names = [e for e, _ in frames]
        for e, d in frames:
            self.assertEqual(json.loads(d)["type"], e)
        self.assertEqual(names[:3], ["message_start", "content_block_start", "ping"])
        self.assertEqual(names[-3:], ["content_block_stop", "message_delta", "message_stop"])
        self.assertEqual(set(names[3:-3]), {"content_block_delta"})
        self.assertNotIn("[DONE]", raw.decode())
        start = json.loads(frames[0][1])["message"]["usage"]
        delta = json.loads(frames[-2][1])
        self.assertEqual(delta["delta"]["stop_reason"], "end_turn")
        self.assertGreater(delta["usage"]["output_tokens"], start["output_tokens"])
        text = "".join(json.loads(d)["delta"]["text"] for e, d in frames if e == "content_block_delta")
        self.assertEqual(text, "Hello! This is the fake Anthropic API.")

    def test_forced_tool_and_output_config(self):
        schema = {"type": "object", "required": ["action"], "properties": {"action": {"enum": ["keep", "rewrite"]}}}
        body = messages_body(tools=[{"name": "emit", "description": "d", "input_schema": schema}],
                             tool_choice={"type": "tool", "name": "emit"})
        d = json.loads(self.post(body)[2])
        self.assertEqual(d["stop_reason"], "tool_use")
        self.assertEqual(d["content"][0]["type"], "tool_use")
        self.assertEqual(d["content"][0]["input"], {"action": "keep"})
        _, _, raw = self.post(dict(body, stream=True))
        parts = [json.loads(d)["delta"]["partial_json"] for e, d in sse_frames(raw) if e == "content_block_delta"]
        self.assertEqual(json.loads("".join(parts)), {"action": "keep"})
        body = messages_body(output_config={"format": {"type": "json_schema", "schema": schema}})
        d = json.loads(self.post(body)[2])
        self.assertEqual(d["content"][0]["type"], "text")
        self.assertEqual(json.loads(d["content"][0]["text"]), {"action": "keep"})

    def test_cache_usage_write_then_read_and_silent_below_minimum(self):
        system = [{"type": "text", "text": "context " * 1000, "cache_control": {"type": "ephemeral"}}]
        u1 = json.loads(self.post(messages_body("q1", system=system))[2])["usage"]
        u2 = json.loads(self.post(messages_body("q2", system=system))[2])["usage"]
        self.assertEqual(u1["cache_read_input_tokens"], 0)
        self.assertGreaterEqual(u1["cache_creation_input_tokens"], 1024)
        self.assertEqual(u1["cache_creation"]["ephemeral_5m_input_tokens"], u1["cache_creation_input_tokens"])
        self.assertEqual(u2["cache_creation_input_tokens"], 0)
        self.assertEqual(u2["cache_read_input_tokens"], u1["cache_creation_input_tokens"])
        small = [{"type": "text", "text": "short", "cache_control": {"type": "ephemeral"}}]
        u3 = json.loads(self.post(messages_body("q3", system=small))[2])["usage"]
        self.assertEqual((u3["cache_creation_input_tokens"], u3["cache_read_input_tokens"]), (0, 0))

    def test_error_table_and_retry_headers(self):
        expect = {"ERR:rate_limit": (429, "rate_limit_error"), "ERR:overloaded": (529, "overloaded_error"),
                  "ERR:conflict": (409, "conflict_error"), "ERR:timeout": (504, "timeout_error"),
                  "ERR:billing": (402, "billing_error"), "ERR:permission": (403, "permission_error"),
                  "ERR:not_found": (404, "not_found_error"), "ERR:too_large": (413, "request_too_large")}
        for user, (status, etype) in expect.items():
            st, h, body = self.post(messages_body(user))
            self.assertEqual((st, json.loads(body)["error"]["type"]), (status, etype), user)
            self.assertTrue(h["request-id"].startswith("req_"))
        _, h, _ = self.post(messages_body("ERR:rate_limit"))
        self.assertEqual(h["retry-after"], "1")
        _, h, _ = self.post(messages_body("ERR:rate_limit_ms"))
        self.assertEqual((h["retry-after"], h["retry-after-ms"]), ("2", "1500"))
        _, h, _ = self.post(messages_body("ERR:rate_limit_date"))
        self.assertTrue(h["retry-after"].endswith("GMT"))
        st, h, _ = self.post(messages_body("ERR:no_retry"))
        self.assertEqual((st, h["x-should-retry"]), (500, "false"))
        st, h, _ = self.post(messages_body("ERR:force_retry"))
        self.assertEqual((st, h["x-should-retry"]), (400, "true"))

    def test_mid_stream_error_event(self):
        st, _, raw = self.post(messages_body("ERR:midstream", stream=True))
        self.assertEqual(st, 200)
        frames = sse_frames(raw)
        self.assertEqual(frames[0][0], "message_start")
        self.assertEqual(frames[-1][0], "error")
        self.assertEqual(json.loads(frames[-1][1]),
                         {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
        self.assertNotIn("message_stop", [e for e, _ in frames])

    def test_failure_modes(self):
        with self.assertRaises((ConnectionResetError, http.client.IncompleteRead)):
            self.post(messages_body("FAIL:reset", stream=True))
        st, _, raw = self.post(messages_body("FAIL:malformed", stream=True))
        self.assertEqual(st, 200)
        bad = [d for _, d in sse_frames(raw) if not d.endswith("}")]
        self.assertEqual(len(bad), 1)
        with self.assertRaises(ValueError):
            json.loads(bad[0])
        self.post(messages_body("SLOW"))
        r = self.srv.wait_for(lambda r: r["body"] and "SLOW" in json.dumps(r["body"]))[0]
        self.assertGreaterEqual(r["t_first_byte"] - r["t_arrival"], 0.3)

    def test_validation_errors(self):
        st, _, body = self.post(messages_body(), headers={"x-api-key": "sk-test-key"})
        self.assertEqual(st, 400)
        self.assertIn("anthropic-version", json.loads(body)["error"]["message"])
        st, _, body = self.post({"model": "m", "messages": [{"role": "user", "content": "x"}]})
        self.assertEqual((st, json.loads(body)["error"]["type"]), (400, "invalid_request_error"))
        st, _, _ = self.post(b"{not json")
        self.assertEqual(st, 400)

    def test_count_tokens_and_paginated_models(self):
        st, _, body = self.post(messages_body("count me " * 100), path="/v1/messages/count_tokens")
        self.assertEqual(st, 200)
        self.assertGreater(json.loads(body)["input_tokens"], 100)
        seen, after = [], None
        for _ in range(10):
            path = "/v1/models?limit=2" + ("&after_id=" + after if after else "")
            d = json.loads(request(self.srv, "GET", path, headers=ANTHROPIC_HEADERS)[2])
            self.assertLessEqual(len(d["data"]), 2)
            seen += [m["id"] for m in d["data"]]
            self.assertEqual(d["last_id"], d["data"][-1]["id"])
            if not d["has_more"]:
                break
            after = d["last_id"]
        self.assertGreater(len(seen), 2)
        self.assertEqual(len(seen), len(set(seen)))
        self.assertFalse(d["has_more"])

    def test_batches(self):
        reqs = [{"custom_id": "r%d" % i, "params": messages_body("batch %d" % i)} for i in range(3)]
        reqs.append({"custom_id": "bad", "params": {"model": "m", "messages": []}})
        st, _, body = self.post({"requests": reqs}, path="/v1/messages/batches")
        self.assertEqual(st, 200)
        b = json.loads(body)
        self.assertEqual((b["type"], b["processing_status"]), ("message_batch", "in_progress"))
        for _ in range(100):
            b = json.loads(request(self.srv, "GET", "/v1/messages/batches/" + b["id"], headers=ANTHROPIC_HEADERS)[2])
            if b["processing_status"] == "ended":
                break
            time.sleep(0.05)
        self.assertEqual(b["request_counts"]["succeeded"], 3)
        self.assertEqual(b["request_counts"]["errored"], 1)
        _, _, raw = request(self.srv, "GET", "/v1/messages/batches/%s/results" % b["id"], headers=ANTHROPIC_HEADERS)
        lines = [json.loads(x) for x in raw.decode().splitlines()]
        ids = [x["custom_id"] for x in lines]
        self.assertEqual(sorted(ids), ["bad", "r0", "r1", "r2"])
        self.assertNotEqual(ids, [r["custom_id"] for r in reqs])
        by = {x["custom_id"]: x["result"] for x in lines}
        self.assertEqual(by["r1"]["type"], "succeeded")
        self.assertEqual(by["bad"]["type"], "errored")

    def test_key_is_logged_for_assertions(self):
        self.post(messages_body("log me"))
        logged = self.srv.wait_for(lambda r: r["body"] and "log me" in json.dumps(r["body"]))
        self.assertEqual(logged[0]["headers"]["x-api-key"], "sk-test-key")
        self.assertTrue(logged[0]["request_id"].startswith("req_"))


class AnthropicSequence(unittest.TestCase):
    def test_two_overloaded_then_ok(self):
        script = os.path.join(FIXTURES, "llm", "anthropic_overloaded_then_ok.json")
        with FakeAnthropic(script=script) as srv:
            got = [request(srv, "POST", "/v1/messages", messages_body(), ANTHROPIC_HEADERS) for _ in range(3)]
            self.assertEqual([g[0] for g in got], [529, 529, 200])
            self.assertEqual(json.loads(got[2][2])["content"][0]["text"], "Recovered.")
            self.assertEqual(len({g[1]["request-id"] for g in got}), 3)


if __name__ == "__main__":
    unittest.main()
