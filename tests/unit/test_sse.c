/* SSE framing: events must come out the same however the stream is cut. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "monitor/error.h"
#include "monitor/sse.h"
#include "monitor/util.h"

struct log {
	struct gm_buf out; /* "name=data|" per event */
	int stop_after;    /* >0: return 7 from the n-th event */
	int n;
};

static int record(void *ctx, const char *event, const char *data, size_t len)
{
	struct log *l = ctx;
	assert_int_equal(strlen(data), len);
	gm_buf_printf(&l->out, "%s=%s|", event, data);
	if (++l->n == l->stop_after)
		return 7;
	return 0;
}

/* Feed `s` in pieces of `step` bytes (0: whole), then finish. */
static char *parse(const char *s, size_t step)
{
	struct log l = { GM_BUF_INIT, 0, 0 };
	struct gm_sse p;
	size_t n = strlen(s);

	gm_sse_init(&p, 1 << 20, record, &l);
	if (!step)
		step = n ? n : 1;
	for (size_t i = 0; i < n; i += step)
		assert_int_equal(gm_sse_feed(&p, s + i, i + step > n ? n - i : step), 0);
	assert_int_equal(gm_sse_finish(&p), 0);
	gm_sse_release(&p);
	return gm_buf_detach(&l.out, NULL);
}

static void expect_all_splits(const char *stream, const char *want)
{
	for (size_t step = 0; step <= strlen(stream); step++) {
		char *got = parse(stream, step);
		if (strcmp(got, want))
			fail_msg("step %zu: got '%s', want '%s'", step, got, want);
		free(got);
	}
}

static void test_frames_split_anywhere(void **state)
{
	(void)state;
	expect_all_splits("data: {\"a\":1}\n\ndata: [DONE]\n\n",
	                  "message={\"a\":1}|message=[DONE]|");
}

static void test_crlf_and_cr_line_ends(void **state)
{
	(void)state;
	expect_all_splits("event: ping\r\ndata: x\r\n\r\ndata: y\r\rdata: z\n\n",
	                  "ping=x|message=y|message=z|");
}

static void test_multiline_data_joined_with_newline(void **state)
{
	(void)state;
	expect_all_splits("data: one\ndata:two\ndata:  three\n\n",
	                  "message=one\ntwo\n three|");
}

static void test_comments_and_unknown_fields_ignored(void **state)
{
	(void)state;
	expect_all_splits(": keep-alive\nid: 4\nretry: 10\nfoo\ndata: a\n\n:\n\n",
	                  "message=a|");
}

static void test_event_name_applies_to_one_event(void **state)
{
	(void)state;
	expect_all_splits("event: error\ndata: {\"error\":\"x\"}\n\ndata: b\n\n",
	                  "error={\"error\":\"x\"}|message=b|");
}

static void test_event_without_data_not_dispatched(void **state)
{
	(void)state;
	expect_all_splits("event: message_stop\n\nevent: e\ndata\n\n", "e=|");
}

static void test_unterminated_last_event_dispatched_at_end(void **state)
{
	(void)state;
	expect_all_splits("data: a\n\ndata: [DONE]", "message=a|message=[DONE]|");
}

static void test_callback_stop_is_returned(void **state)
{
	struct log l = { GM_BUF_INIT, 1, 0 };
	struct gm_sse p;
	const char *s = "data: a\n\ndata: b\n\n";
	(void)state;

	gm_sse_init(&p, 1024, record, &l);
	assert_int_equal(gm_sse_feed(&p, s, strlen(s)), 7);
	assert_string_equal(l.out.ptr, "message=a|");
	gm_sse_release(&p);
	gm_buf_release(&l.out);
}

static void test_oversized_line_fails(void **state)
{
	struct log l = { GM_BUF_INIT, 0, 0 };
	struct gm_sse p;
	char big[300];
	(void)state;

	memset(big, 'x', sizeof(big));
	gm_sse_init(&p, 100, record, &l);
	assert_int_equal(gm_sse_feed(&p, "data: ", 6), 0);
	assert_int_equal(gm_sse_feed(&p, big, sizeof(big)), GM_ETOOBIG);
	assert_non_null(strstr(gm_error_last(), "100 bytes"));
	gm_sse_release(&p);
	gm_buf_release(&l.out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frames_split_anywhere),
		cmocka_unit_test(test_crlf_and_cr_line_ends),
		cmocka_unit_test(test_multiline_data_joined_with_newline),
		cmocka_unit_test(test_comments_and_unknown_fields_ignored),
		cmocka_unit_test(test_event_name_applies_to_one_event),
		cmocka_unit_test(test_event_without_data_not_dispatched),
		cmocka_unit_test(test_unterminated_last_event_dispatched_at_end),
		cmocka_unit_test(test_callback_stop_is_returned),
		cmocka_unit_test(test_oversized_line_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
