/* LM Studio wire format: the answers real servers send (PROTOCOLS.md A). */
#include <cjson/cJSON.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "monitor/error.h"
#include "monitor/openai.h"
#include "monitor/util.h"
#include "monitor/wsl.h"

static void release(struct gm_chat_result *r)
{
	free(r->content);
	free(r->reasoning);
	free(r->finish_reason);
	free(r->model);
	memset(r, 0, sizeof(*r));
}

static int parse(struct gm_chat_result *r, const char *body, bool sse)
{
	memset(r, 0, sizeof(*r));
	return gm_openai_parse(r, NULL, body, strlen(body), sse, false);
}

#define CHUNK(delta, finish) \
	"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"m\"," \
	"\"choices\":[{\"index\":0,\"delta\":" delta ",\"logprobs\":null,\"finish_reason\":" finish "}]}\n\n"

static void test_stream_with_repeated_role_and_usage_chunk(void **state)
{
	struct gm_chat_result r;
	const char *s =
		CHUNK("{\"role\":\"assistant\",\"content\":\"Hel\"}", "null")
		CHUNK("{\"role\":\"assistant\",\"content\":\"lo.\"}", "null")
		CHUNK("{}", "\"stop\"")
		"data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":18,"
		"\"completion_tokens\":3,\"total_tokens\":21}}\n\n"
		"data: [DONE]\n\n";
	(void)state;
	assert_int_equal(parse(&r, s, true), 0);
	assert_string_equal(r.content, "Hello.");
	assert_null(r.reasoning);
	assert_string_equal(r.finish_reason, "stop");
	assert_string_equal(r.model, "m");
	assert_int_equal(r.input_tokens, 18);
	assert_int_equal(r.output_tokens, 3);
	release(&r);
}

static void test_stream_crlf(void **state)
{
	struct gm_chat_result r;
	const char *s =
		"data: {\"choices\":[{\"delta\":{\"content\":\"a\"},\"finish_reason\":\"length\"}]}\r\n\r\n"
		"data: [DONE]\r\n\r\n";
	(void)state;
	assert_int_equal(parse(&r, s, true), 0);
	assert_string_equal(r.content, "a");
	assert_string_equal(r.finish_reason, "length");
	release(&r);
}

static void test_stream_error_event_after_200(void **state)
{
	struct gm_chat_result r;
	const char *s =
		CHUNK("{\"content\":\"par\"}", "null")
		"event: error\n"
		"data: {\"error\":{\"message\":\"Input does not fit in context length.\"},"
		"\"message\":\"Input does not fit\"}\n\n";
	(void)state;
	assert_int_equal(parse(&r, s, true), GM_ERROR);
	assert_string_equal(gm_error_last(), "Input does not fit in context length.");
	assert_null(r.content);
}

static void test_stream_bare_error_data(void **state)
{
	struct gm_chat_result r;
	(void)state;
	assert_int_equal(parse(&r, "data: {\"error\":\"Error rendering prompt\"}\n\n", true),
	                 GM_ERROR);
	assert_string_equal(gm_error_last(), "Error rendering prompt");
}

static void test_stream_cut_short_fails(void **state)
{
	struct gm_chat_result r;
	(void)state;
	bool retry = false;
	const char *cut = CHUNK("{\"content\":\"par\"}", "null");
	memset(&r, 0, sizeof(r));
	assert_int_equal(gm_openai_parse(&r, &retry, cut, strlen(cut), true, false), GM_EINVALID);
	assert_non_null(strstr(gm_error_last(), "ended early"));
	assert_true(retry);
	assert_int_equal(parse(&r, "data: {\"choices\":[{\"delta\":{\"con", true), GM_EINVALID);
}

/* Feed `s` through the engine's decoder in pieces of `step` bytes. */
static int feed_pieces(struct gm_chat_result *r, size_t *text, const char *s, size_t step)
{
	struct gm_chat_request req = { 0 };
	struct gm_http_answer *a = gm_openai_proto.answer_new(&req, true);
	size_t n = strlen(s);
	int rc = 0;

	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < n && !rc; i += step)
		rc = gm_openai_proto.answer_feed(a, s + i, i + step > n ? n - i : step);
	if (!rc)
		rc = gm_openai_proto.answer_end(a, r);
	*text = a->text;
	gm_openai_proto.answer_free(a);
	return rc;
}

static void test_stream_decoded_the_same_however_it_arrives(void **state)
{
	struct gm_chat_result r;
	const char *s =
		CHUNK("{\"role\":\"assistant\",\"reasoning_content\":\"so\"}", "null")
		CHUNK("{\"role\":\"assistant\",\"content\":\"Hel\"}", "null")
		CHUNK("{\"role\":\"assistant\",\"content\":\"lo.\"}", "\"stop\"")
		"data: [DONE]\n\n";
	size_t text;
	(void)state;
	for (size_t step = 1; step <= strlen(s); step += step < 8 ? 1 : 61) {
		assert_int_equal(feed_pieces(&r, &text, s, step), 0);
		assert_string_equal(r.content, "Hello.");
		assert_string_equal(r.reasoning, "so");
		assert_string_equal(r.finish_reason, "stop");
		/* what a progress line would count: the text, not the framing */
		assert_int_equal(text, strlen("soHello."));
		release(&r);
	}
}

static void test_error_event_fails_as_soon_as_it_arrives(void **state)
{
	struct gm_chat_request req = { 0 };
	const char *head = CHUNK("{\"content\":\"par\"}", "null");
	const char *err =
		"event: error\n"
		"data: {\"error\":{\"message\":\"Input does not fit in context length.\"}}\n\n";
	struct gm_http_answer *a = gm_openai_proto.answer_new(&req, true);
	(void)state;
	assert_int_equal(gm_openai_proto.answer_feed(a, head, strlen(head)), 0);
	/* the frame alone, nothing after it: the server may keep the stream open */
	assert_int_equal(gm_openai_proto.answer_feed(a, err, strlen(err)), GM_ERROR);
	assert_string_equal(gm_error_last(), "Input does not fit in context length.");
	assert_false(a->retry);
	gm_openai_proto.answer_free(a);
}

static void test_reasoning_content_and_reasoning_fields(void **state)
{
	struct gm_chat_result r;
	const char *s =
		CHUNK("{\"reasoning_content\":\"think \"}", "null")
		CHUNK("{\"reasoning\":\"more\"}", "null")
		CHUNK("{\"content\":\"answer\"}", "\"stop\"")
		"data: [DONE]\n\n";
	(void)state;
	assert_int_equal(parse(&r, s, true), 0);
	assert_string_equal(r.content, "answer");
	assert_string_equal(r.reasoning, "think more");
	release(&r);
}

static void test_think_tags_stripped_across_chunks(void **state)
{
	struct gm_chat_result r;
	const char *s =
		CHUNK("{\"content\":\"<thi\"}", "null")
		CHUNK("{\"content\":\"nk>plan</th\"}", "null")
		CHUNK("{\"content\":\"ink>\\n\\nx = 1\"}", "\"stop\"")
		"data: [DONE]\n\n";
	(void)state;
	assert_int_equal(parse(&r, s, true), 0);
	assert_string_equal(r.content, "x = 1");
	assert_string_equal(r.reasoning, "plan");
	release(&r);
}

static void test_split_think_forms(void **state)
{
	char *c, *r;
	(void)state;

	c = gm_xstrdup("<think>never closed");
	r = NULL;
	gm_openai_split_think(&c, &r);
	assert_string_equal(c, "");
	assert_string_equal(r, "never closed");
	free(c);
	free(r);

	c = gm_xstrdup("opening tag was in the template</think>\nresult");
	r = NULL;
	gm_openai_split_think(&c, &r);
	assert_string_equal(c, "result");
	assert_string_equal(r, "opening tag was in the template");
	free(c);
	free(r);

	c = gm_xstrdup("<think>one</think>a <think>two</think>b<think>cut off");
	r = NULL;
	gm_openai_split_think(&c, &r);
	assert_string_equal(c, "a b");
	assert_string_equal(r, "one\ntwo\ncut off");
	free(c);
	free(r);

	c = gm_xstrdup("plain");
	r = NULL;
	gm_openai_split_think(&c, &r);
	assert_string_equal(c, "plain");
	assert_null(r);
	free(c);
}

static void test_unterminated_think_is_an_empty_answer(void **state)
{
	struct gm_chat_result r;
	const char *s = CHUNK("{\"content\":\"<think>and on\"}", "\"length\"") "data: [DONE]\n\n";
	(void)state;
	assert_int_equal(parse(&r, s, true), GM_EINVALID);
	assert_string_equal(gm_error_last(), "empty answer: max_tokens reached while reasoning");
}

static void test_non_streaming_answer_with_zero_usage(void **state)
{
	struct gm_chat_result r;
	const char *s =
		"{\"id\":\"chatcmpl-k\",\"object\":\"chat.completion\",\"model\":\"qwen\","
		"\"choices\":[{\"index\":0,\"logprobs\":null,\"finish_reason\":\"stop\","
		"\"message\":{\"role\":\"assistant\",\"content\":\"Hello.\",\"tool_calls\":[]}}],"
		"\"usage\":{\"prompt_tokens\":0,\"completion_tokens\":0,\"total_tokens\":0},\"stats\":{}}";
	(void)state;
	assert_int_equal(parse(&r, s, false), 0);
	assert_string_equal(r.content, "Hello.");
	assert_string_equal(r.model, "qwen");
	assert_int_equal(r.input_tokens, 0);
	assert_int_equal(r.output_tokens, 0);
	release(&r);
}

static void test_empty_content_with_stop_fails(void **state)
{
	struct gm_chat_result r;
	const char *s = "{\"choices\":[{\"finish_reason\":\"stop\",\"message\":{\"content\":\"\","
	                "\"reasoning_content\":\"lots of thought\"}}]}";
	(void)state;
	assert_int_equal(parse(&r, s, false), GM_EINVALID);
	assert_string_equal(gm_error_last(), "empty answer (finish_reason stop)");
}

static void test_structured_answer_left_in_reasoning_is_used(void **state)
{
	struct gm_chat_result r = { 0 };
	const char *s = "{\"choices\":[{\"finish_reason\":\"stop\",\"message\":{\"content\":\"\","
	                "\"reasoning_content\":\"{\\\"ok\\\":true}\"}}]}";
	(void)state;
	assert_int_equal(gm_openai_parse(&r, NULL, s, strlen(s), false, true), 0);
	assert_string_equal(r.content, "{\"ok\":true}");
	release(&r);
}

static void test_error_bodies_string_and_object(void **state)
{
	char *m;
	const char *str;
	const char *obj = "{\"error\":{\"message\":\"Invalid model identifier \\\"x\\\".\","
	                  "\"type\":\"invalid_request_error\",\"code\":\"model_not_found\"}}";
	(void)state;
	str = "{\"error\":\"No models loaded. Please load a model.\"}";
	m = gm_openai_error_cause(400, str, strlen(str));
	assert_string_equal(m, "No models loaded. Please load a model.");
	free(m);
	m = gm_openai_error_cause(400, obj, strlen(obj));
	assert_string_equal(m, "Invalid model identifier \"x\".");
	free(m);
	m = gm_openai_error_cause(502, "<html>\n<b>bad gateway</b></html>", 32);
	assert_string_equal(m, "HTTP 502: <html> <b>bad gateway</b></html>");
	free(m);
	m = gm_openai_error_cause(500, NULL, 0);
	assert_string_equal(m, "HTTP 500");
	free(m);
	/* an error object inside a 200 answer fails the parse */
	{
		struct gm_chat_result r;
		assert_int_equal(parse(&r, obj, false), GM_ERROR);
	}
}

static void test_request_body(void **state)
{
	struct gm_chat_request req = { "sys", "user text", "{\"type\":\"object\"}", "rewrite",
	                               100, true, 0.2 };
	char *body;
	cJSON *j, *rf;
	(void)state;

	assert_int_equal(gm_openai_request(&body, &req, "qwen", true), 0);
	j = cJSON_Parse(body);
	assert_string_equal(cJSON_GetObjectItem(j, "model")->valuestring, "qwen");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "messages")), 2);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "stream")));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "stream_options"),
	                                             "include_usage")));
	assert_int_equal(cJSON_GetObjectItem(j, "max_tokens")->valueint, 100);
	rf = cJSON_GetObjectItem(j, "response_format");
	assert_string_equal(cJSON_GetObjectItem(rf, "type")->valuestring, "json_schema");
	rf = cJSON_GetObjectItem(rf, "json_schema");
	assert_string_equal(cJSON_GetObjectItem(rf, "name")->valuestring, "rewrite");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(rf, "strict")));
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(rf, "schema"), "type")->valuestring,
	                    "object");
	cJSON_Delete(j);
	free(body);

	req.json_schema = NULL;
	req.has_temperature = false;
	req.max_tokens = 0;
	assert_int_equal(gm_openai_request(&body, &req, "qwen", false), 0);
	j = cJSON_Parse(body);
	assert_null(cJSON_GetObjectItem(j, "temperature"));
	assert_null(cJSON_GetObjectItem(j, "max_tokens"));
	assert_null(cJSON_GetObjectItem(j, "response_format"));
	assert_null(cJSON_GetObjectItem(j, "stream_options"));
	cJSON_Delete(j);
	free(body);

	req.json_schema = "{not json";
	assert_int_equal(gm_openai_request(&body, &req, "qwen", true), GM_EINVALID);
	assert_null(body);
}

static void test_model_choice_skips_embeddings(void **state)
{
	const char *models = "{\"data\":[{\"id\":\"text-embedding-nomic-embed-text-v1.5\"},"
	                     "{\"id\":\"bge-small\"},{\"id\":\"qwen2.5-7b-instruct\"}],\"object\":\"list\"}";
	const char *v0 = "{\"data\":[{\"id\":\"bge-small\",\"type\":\"embeddings\"},"
	                 "{\"id\":\"qwen2.5-7b-instruct\",\"type\":\"llm\",\"max_context_length\":32768,"
	                 "\"loaded_context_length\":8192}]}";
	char *m;
	(void)state;
	assert_int_equal(gm_openai_pick_model(&m, models, v0), 0);
	assert_string_equal(m, "qwen2.5-7b-instruct");
	free(m);
	/* without /api/v0 the unmarked embedding model looks like an LLM */
	assert_int_equal(gm_openai_pick_model(&m, models, NULL), 0);
	assert_string_equal(m, "bge-small");
	free(m);
	assert_int_equal(gm_openai_pick_model(&m, "{\"data\":[],\"object\":\"list\"}", NULL),
	                 GM_ENOTFOUND);
	assert_non_null(strstr(gm_error_last(), "no models loaded"));
	assert_int_equal(gm_openai_context_length("qwen2.5-7b-instruct", v0, NULL), 8192);
}

static void test_context_length_from_v1(void **state)
{
	const char *v1 = "{\"models\":[{\"type\":\"llm\",\"key\":\"q\",\"max_context_length\":131072,"
	                 "\"loaded_instances\":[{\"id\":\"q\",\"config\":{\"context_length\":4096,"
	                 "\"parallel\":4}}]},{\"key\":\"u\",\"max_context_length\":2048,"
	                 "\"loaded_instances\":[]}]}";
	(void)state;
	assert_int_equal(gm_openai_context_length("q", NULL, v1), 4096);
	assert_int_equal(gm_openai_context_length("u", "{\"data\":[]}", v1), 2048);
	assert_int_equal(gm_openai_context_length("zz", NULL, v1), 0);
}

static void test_wsl_detection_and_hosts(void **state)
{
	char dir[] = "/tmp/gm-wsl-XXXXXX", hosts[2][64];
	char *p;
	(void)state;

	assert_non_null(mkdtemp(dir));
	p = gm_xasprintf("%s/proc/sys/kernel", dir);
	assert_int_equal(gm_mkdirs(p), 0);
	free(p);
	p = gm_xasprintf("%s/proc/net", dir);
	assert_int_equal(gm_mkdirs(p), 0);
	free(p);
	p = gm_xasprintf("%s/etc", dir);
	assert_int_equal(gm_mkdirs(p), 0);
	free(p);
	assert_false(gm_wsl_detect(dir));
	p = gm_xasprintf("%s/proc/sys/kernel/osrelease", dir);
	assert_int_equal(gm_write_file_atomic(p, "5.15.167.4-microsoft-standard-WSL2\n", 35), 0);
	free(p);
	assert_true(gm_wsl_detect(dir));

	p = gm_xasprintf("%s/proc/net/route", dir);
	{
		const char *route =
			"Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\n"
			"eth0\t0010A8C0\t00000000\t0001\t0\t0\t0\t00F0FFFF\n"
			"eth0\t00000000\t0110A8C0\t0003\t0\t0\t0\t00000000\n";
		assert_int_equal(gm_write_file_atomic(p, route, strlen(route)), 0);
	}
	free(p);
	p = gm_xasprintf("%s/etc/resolv.conf", dir);
	{
		const char *rc = "# generated\nnameserver 10.255.255.254\n";
		assert_int_equal(gm_write_file_atomic(p, rc, strlen(rc)), 0);
	}
	free(p);
	assert_int_equal(gm_wsl_hosts(hosts, 2, dir), 2);
	assert_string_equal(hosts[0], "192.168.16.1");
	assert_string_equal(hosts[1], "10.255.255.254");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stream_with_repeated_role_and_usage_chunk),
		cmocka_unit_test(test_stream_crlf),
		cmocka_unit_test(test_stream_error_event_after_200),
		cmocka_unit_test(test_stream_bare_error_data),
		cmocka_unit_test(test_stream_cut_short_fails),
		cmocka_unit_test(test_stream_decoded_the_same_however_it_arrives),
		cmocka_unit_test(test_error_event_fails_as_soon_as_it_arrives),
		cmocka_unit_test(test_reasoning_content_and_reasoning_fields),
		cmocka_unit_test(test_think_tags_stripped_across_chunks),
		cmocka_unit_test(test_split_think_forms),
		cmocka_unit_test(test_unterminated_think_is_an_empty_answer),
		cmocka_unit_test(test_non_streaming_answer_with_zero_usage),
		cmocka_unit_test(test_empty_content_with_stop_fails),
		cmocka_unit_test(test_structured_answer_left_in_reasoning_is_used),
		cmocka_unit_test(test_error_bodies_string_and_object),
		cmocka_unit_test(test_request_body),
		cmocka_unit_test(test_model_choice_skips_embeddings),
		cmocka_unit_test(test_context_length_from_v1),
		cmocka_unit_test(test_wsl_detection_and_hosts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
