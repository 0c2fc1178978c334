/* Claude wire format: requests we send and answers we read (PROTOCOLS.md B). */
#include <cjson/cJSON.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "monitor/anthropic.h"
#include "monitor/error.h"
#include "monitor/util.h"

static void release(struct gm_chat_result *r)
{
	free(r->content);
	free(r->reasoning);
	free(r->finish_reason);
	free(r->model);
	memset(r, 0, sizeof(*r));
}

static int parse(struct gm_chat_result *r, bool *retry, const char *body, bool sse)
{
	memset(r, 0, sizeof(*r));
	return gm_anthropic_parse(r, retry, body, strlen(body), sse);
}

#define EV(name, json) "event: " name "\ndata: " json "\n\n"

static const char *stream_text =
	EV("message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_01\",\"type\":\"message\","
	   "\"role\":\"assistant\",\"model\":\"claude-sonnet-5\",\"content\":[],\"stop_reason\":null,"
	   "\"usage\":{\"input_tokens\":25,\"output_tokens\":1,\"cache_creation_input_tokens\":1000,"
	   "\"cache_read_input_tokens\":0}}}")
	EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,"
	   "\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}")
	EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,"
	   "\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hmm\"}}")
	EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,"
	   "\"delta\":{\"type\":\"signature_delta\",\"signature\":\"sig\"}}")
	EV("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}")
	EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":1,"
	   "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}")
	EV("ping", "{\"type\":\"ping\"}")
	EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,"
	   "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}")
	EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,"
	   "\"delta\":{\"type\":\"text_delta\",\"text\":\" there\"}}")
	EV("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":1}")
	EV("message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\","
	   "\"stop_sequence\":null},\"usage\":{\"output_tokens\":3}}")
	EV("message_delta", "{\"type\":\"message_delta\",\"delta\":{},\"usage\":{\"output_tokens\":7}}")
	EV("message_stop", "{\"type\":\"message_stop\"}");

static void test_stream_text_thinking_first_cumulative_usage(void **state)
{
	struct gm_chat_result r;
	bool retry;
	(void)state;
	assert_int_equal(parse(&r, &retry, stream_text, true), 0);
	assert_string_equal(r.content, "Hi there");
	assert_string_equal(r.reasoning, "hmm");
	assert_string_equal(r.finish_reason, "stop");
	assert_string_equal(r.model, "claude-sonnet-5");
	assert_int_equal(r.input_tokens, 25);
	assert_int_equal(r.output_tokens, 7); /* cumulative: the last value, not a sum */
	assert_int_equal(r.cache_write_tokens, 1000);
	assert_int_equal(r.cache_read_tokens, 0);
	release(&r);
}

static void test_stream_tool_use_partial_json(void **state)
{
	struct gm_chat_result r;
	bool retry;
	const char *s =
		EV("message_start", "{\"type\":\"message_start\",\"message\":{\"model\":\"m\",\"content\":[],"
		   "\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}")
		EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,"
		   "\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"emit\",\"input\":{}}}")
		EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,"
		   "\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"ok\\\": \"}}")
		EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,"
		   "\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"true}\"}}")
		EV("message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},"
		   "\"usage\":{\"output_tokens\":9}}")
		EV("message_stop", "{\"type\":\"message_stop\"}");
	(void)state;
	assert_int_equal(parse(&r, &retry, s, true), 0);
	assert_string_equal(r.content, "{\"ok\": true}");
	assert_string_equal(r.finish_reason, "tool_calls");
	release(&r);
}

static void test_stream_error_event_is_retryable_when_overloaded(void **state)
{
	struct gm_chat_result r;
	bool retry = false;
	const char *s =
		EV("message_start", "{\"type\":\"message_start\",\"message\":{\"model\":\"m\",\"content\":[]}}")
		EV("error", "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}");
	(void)state;
	assert_int_equal(parse(&r, &retry, s, true), GM_ERROR);
	assert_string_equal(gm_error_last(), "overloaded_error: Overloaded");
	assert_true(retry);
	assert_int_equal(parse(&r, &retry,
	                       EV("error", "{\"type\":\"error\",\"error\":{\"type\":"
	                          "\"invalid_request_error\",\"message\":\"bad\"}}"), true),
	                 GM_ERROR);
	assert_false(retry);
}

static void test_stream_decoded_the_same_however_it_arrives(void **state)
{
	struct gm_chat_request req = { 0 };
	size_t n = strlen(stream_text);
	(void)state;
	for (size_t step = 1; step <= n; step += step < 8 ? 1 : 97) {
		struct gm_http_answer *a = gm_anthropic_proto.answer_new(&req, true);
		struct gm_chat_result r = { 0 };
		for (size_t i = 0; i < n; i += step)
			assert_int_equal(gm_anthropic_proto.answer_feed(a, stream_text + i,
			                                                i + step > n ? n - i : step), 0);
		assert_int_equal(gm_anthropic_proto.answer_end(a, &r), 0);
		assert_string_equal(r.content, "Hi there");
		assert_string_equal(r.reasoning, "hmm");
		assert_int_equal(r.output_tokens, 7);
		/* what a progress line would count: thinking and text */
		assert_int_equal(a->text, strlen("hmmHi there"));
		gm_anthropic_proto.answer_free(a);
		release(&r);
	}
}

static void test_error_event_fails_as_soon_as_it_arrives(void **state)
{
	struct gm_chat_request req = { 0 };
	const char *head =
		EV("message_start", "{\"type\":\"message_start\",\"message\":{\"model\":\"m\",\"content\":[]}}");
	const char *err =
		EV("error", "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}");
	struct gm_http_answer *a = gm_anthropic_proto.answer_new(&req, true);
	(void)state;
	assert_int_equal(gm_anthropic_proto.answer_feed(a, head, strlen(head)), 0);
	assert_int_equal(gm_anthropic_proto.answer_feed(a, err, strlen(err)), GM_ERROR);
	assert_string_equal(gm_error_last(), "overloaded_error: Overloaded");
	assert_true(a->retry);
	gm_anthropic_proto.answer_free(a);
}

static void test_stream_without_message_stop_fails(void **state)
{
	struct gm_chat_result r;
	bool retry = false;
	const char *s =
		EV("message_start", "{\"type\":\"message_start\",\"message\":{\"model\":\"m\",\"content\":[]}}")
		EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,"
		   "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}");
	(void)state;
	assert_int_equal(parse(&r, &retry, s, true), GM_EINVALID);
	assert_true(retry);
}

static void test_message_with_thinking_block_first(void **state)
{
	struct gm_chat_result r;
	bool retry;
	const char *s =
		"{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-opus-5-5\","
		"\"content\":[{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"x\"},"
		"{\"type\":\"text\",\"text\":\"Four.\"}],\"stop_reason\":\"max_tokens\",\"stop_sequence\":null,"
		"\"usage\":{\"input_tokens\":12,\"output_tokens\":5,\"cache_creation_input_tokens\":0,"
		"\"cache_read_input_tokens\":2048,\"cache_creation\":{\"ephemeral_5m_input_tokens\":0},"
		"\"service_tier\":\"standard\"}}";
	(void)state;
	assert_int_equal(parse(&r, &retry, s, false), 0);
	assert_string_equal(r.content, "Four.");
	assert_null(r.reasoning); /* the thinking text was empty */
	assert_string_equal(r.finish_reason, "length");
	assert_int_equal(r.cache_read_tokens, 2048);
	assert_int_equal(r.output_tokens, 5);
	release(&r);
}

static void test_message_tool_use_input_as_json(void **state)
{
	struct gm_chat_result r;
	bool retry;
	const char *s =
		"{\"type\":\"message\",\"model\":\"m\",\"content\":[{\"type\":\"text\",\"text\":\"Sure.\"},"
		"{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"emit\",\"input\":{\"a\":[1,2]}}],"
		"\"stop_reason\":\"tool_use\",\"usage\":{\"input_tokens\":1,\"output_tokens\":2}}";
	(void)state;
	assert_int_equal(parse(&r, &retry, s, false), 0);
	assert_string_equal(r.content, "{\"a\":[1,2]}");
	release(&r);
}

static void test_stop_reasons_mapped(void **state)
{
	static const char *map[][2] = {
		{ "end_turn", "stop" }, { "stop_sequence", "stop" }, { "max_tokens", "length" },
		{ "model_context_window_exceeded", "length" }, { "tool_use", "tool_calls" },
		{ "refusal", "refusal" }, { "pause_turn", "pause_turn" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		struct gm_chat_result r;
		bool retry;
		char *s = gm_xasprintf("{\"type\":\"message\",\"content\":[{\"type\":\"text\","
		                       "\"text\":\"x\"}],\"stop_reason\":\"%s\"}", map[i][0]);
		assert_int_equal(parse(&r, &retry, s, false), 0);
		assert_string_equal(r.finish_reason, map[i][1]);
		release(&r);
		free(s);
	}
}

static void test_empty_answer_fails(void **state)
{
	struct gm_chat_result r;
	bool retry;
	(void)state;
	assert_int_equal(parse(&r, &retry, "{\"type\":\"message\",\"content\":[],"
	                       "\"stop_reason\":\"refusal\"}", false), GM_EINVALID);
	assert_string_equal(gm_error_last(), "empty answer (stop_reason refusal)");
}

static void test_error_bodies(void **state)
{
	const char *b = "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\","
	                "\"message\":\"invalid x-api-key\"},\"request_id\":\"req_1\",\"details\":null}";
	char *m;
	(void)state;
	m = gm_anthropic_error_cause(401, b, strlen(b));
	assert_string_equal(m, "authentication_error: invalid x-api-key");
	free(m);
	m = gm_anthropic_error_cause(413, "<html>too big</html>", 20);
	assert_string_equal(m, "request_too_large: request exceeds the size limit");
	free(m);
	m = gm_anthropic_error_cause(503, "", 0);
	assert_string_equal(m, "HTTP 503");
	free(m);
}

static cJSON *request(const struct gm_chat_request *req, const char *model, bool forced)
{
	char *body;
	cJSON *j;
	assert_int_equal(gm_anthropic_request(&body, req, model, true, forced), 0);
	j = cJSON_Parse(body);
	free(body);
	assert_non_null(j);
	return j;
}

static void test_request_caches_system_and_omits_temperature(void **state)
{
	struct gm_chat_request req = { "shared prefix", "q", NULL, NULL, 0, false, 0 };
	cJSON *j = request(&req, "claude-sonnet-5", true), *sys;
	(void)state;
	assert_null(cJSON_GetObjectItem(j, "temperature"));
	assert_int_equal(cJSON_GetObjectItem(j, "max_tokens")->valueint,
	                 GM_ANTHROPIC_DEFAULT_MAX_TOKENS);
	sys = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "system"), 0);
	assert_string_equal(cJSON_GetObjectItem(sys, "text")->valuestring, "shared prefix");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(sys, "cache_control"),
	                                        "type")->valuestring, "ephemeral");
	assert_null(cJSON_GetObjectItem(j, "tools"));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "stream")));
	cJSON_Delete(j);
	req.has_temperature = true;
	req.temperature = 0.5;
	j = request(&req, "claude-sonnet-5", true);
	assert_float_equal(cJSON_GetObjectItem(j, "temperature")->valuedouble, 0.5, 1e-9);
	cJSON_Delete(j);
}

static void test_structured_output_forced_tool_or_output_config(void **state)
{
	struct gm_chat_request req = { NULL, "q", "{\"type\":\"object\"}", "analysis", 50, false, 0 };
	cJSON *j = request(&req, "claude-sonnet-5", true), *tool, *fmt;
	(void)state;
	tool = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "tools"), 0);
	assert_string_equal(cJSON_GetObjectItem(tool, "name")->valuestring, "analysis");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(tool, "input_schema"),
	                                        "type")->valuestring, "object");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "tool_choice"),
	                                        "type")->valuestring, "tool");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "tool_choice"),
	                                        "name")->valuestring, "analysis");
	assert_null(cJSON_GetObjectItem(j, "output_config"));
	assert_null(cJSON_GetObjectItem(j, "system"));
	cJSON_Delete(j);

	j = request(&req, "claude-opus-5-5", false);
	assert_null(cJSON_GetObjectItem(j, "tools"));
	assert_null(cJSON_GetObjectItem(j, "tool_choice"));
	fmt = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "output_config"), "format");
	assert_string_equal(cJSON_GetObjectItem(fmt, "type")->valuestring, "json_schema");
	assert_non_null(cJSON_GetObjectItem(fmt, "schema"));
	cJSON_Delete(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stream_text_thinking_first_cumulative_usage),
		cmocka_unit_test(test_stream_tool_use_partial_json),
		cmocka_unit_test(test_stream_error_event_is_retryable_when_overloaded),
		cmocka_unit_test(test_stream_decoded_the_same_however_it_arrives),
		cmocka_unit_test(test_error_event_fails_as_soon_as_it_arrives),
		cmocka_unit_test(test_stream_without_message_stop_fails),
		cmocka_unit_test(test_message_with_thinking_block_first),
		cmocka_unit_test(test_message_tool_use_input_as_json),
		cmocka_unit_test(test_stop_reasons_mapped),
		cmocka_unit_test(test_empty_answer_fails),
		cmocka_unit_test(test_error_bodies),
		cmocka_unit_test(test_request_caches_system_and_omits_temperature),
		cmocka_unit_test(test_structured_output_forced_tool_or_output_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
