/* Retry decisions as the official SDKs make them (PROTOCOLS.md B5). */
#include <curl/curl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "monitor/http.h"

static const time_t now = 1767225600; /* 2026-01-01T00:00:00Z */

static bool decide(uint64_t *delay, long status, const char *ra_ms, const char *ra,
                   const char *should, unsigned done)
{
	struct gm_http_outcome o = { 0, status, ra_ms, ra, should };
	return gm_http_retry_decide(delay, &o, done, 2, 0.0, now);
}

static void test_retryable_statuses(void **state)
{
	static const long yes[] = { 408, 409, 429, 500, 502, 503, 504, 529 };
	static const long no[] = { 400, 401, 402, 403, 404, 413, 422 };
	uint64_t d;
	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		assert_true(decide(&d, yes[i], NULL, NULL, NULL, 0));
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_false(decide(&d, no[i], NULL, NULL, NULL, 0));
}

static void test_should_retry_header_overrides(void **state)
{
	uint64_t d;
	(void)state;
	assert_true(decide(&d, 400, NULL, NULL, "true", 0));
	assert_false(decide(&d, 529, NULL, NULL, "false", 0));
	assert_false(decide(&d, 503, NULL, NULL, "FALSE", 0));
}

static void test_three_attempts_in_all(void **state)
{
	uint64_t d;
	(void)state;
	assert_true(decide(&d, 500, NULL, NULL, NULL, 0));
	assert_true(decide(&d, 500, NULL, NULL, NULL, 1));
	assert_false(decide(&d, 500, NULL, NULL, NULL, 2));
	assert_false(decide(&d, 500, NULL, NULL, "true", 2));
}

static void test_backoff_doubles_and_caps(void **state)
{
	struct gm_http_outcome o = { 0, 503, NULL, NULL, NULL };
	uint64_t d;
	(void)state;
	assert_true(gm_http_retry_decide(&d, &o, 0, 10, 0.0, now));
	assert_int_equal(d, 500);
	assert_true(gm_http_retry_decide(&d, &o, 1, 10, 0.0, now));
	assert_int_equal(d, 1000);
	assert_true(gm_http_retry_decide(&d, &o, 5, 10, 0.0, now));
	assert_int_equal(d, 8000);
	/* jitter takes off at most a quarter */
	assert_true(gm_http_retry_decide(&d, &o, 1, 10, 0.999999, now));
	assert_in_range(d, 750, 751);
	assert_true(gm_http_retry_decide(&d, &o, 1, 10, 0.5, now));
	assert_int_equal(d, 875);
}

static void test_retry_after_ms_first(void **state)
{
	uint64_t d;
	(void)state;
	assert_true(decide(&d, 429, "1500", "30", NULL, 0));
	assert_int_equal(d, 1500);
	assert_true(decide(&d, 429, "garbage", "2", NULL, 0));
	assert_int_equal(d, 2000);
}

static void test_retry_after_seconds_and_fractions(void **state)
{
	uint64_t d;
	(void)state;
	assert_true(decide(&d, 429, NULL, "7", NULL, 0));
	assert_int_equal(d, 7000);
	assert_true(decide(&d, 429, NULL, "0.25", NULL, 0));
	assert_int_equal(d, 250);
	/* zero, negative or junk: back to exponential backoff */
	assert_true(decide(&d, 429, NULL, "0", NULL, 1));
	assert_int_equal(d, 1000);
	assert_true(decide(&d, 429, NULL, "-3", NULL, 0));
	assert_int_equal(d, 500);
	assert_true(decide(&d, 429, NULL, "soon", NULL, 0));
	assert_int_equal(d, 500);
}

static void test_retry_after_http_date(void **state)
{
	uint64_t d;
	(void)state;
	assert_true(decide(&d, 503, NULL, "Thu, 01 Jan 2026 00:00:12 GMT", NULL, 0));
	assert_int_equal(d, 12000);
	/* a date in the past: backoff */
	assert_true(decide(&d, 503, NULL, "Wed, 31 Dec 2025 23:00:00 GMT", NULL, 0));
	assert_int_equal(d, 500);
}

static void test_server_delay_capped_at_60s(void **state)
{
	uint64_t d;
	(void)state;
	assert_true(decide(&d, 429, NULL, "3600", NULL, 0));
	assert_int_equal(d, GM_HTTP_RETRY_AFTER_CAP_MS);
	assert_true(decide(&d, 429, "90000", NULL, NULL, 0));
	assert_int_equal(d, 60000);
}

static void test_transfer_failures(void **state)
{
	struct gm_http_outcome o = { CURLE_COULDNT_CONNECT, 0, NULL, NULL, NULL };
	uint64_t d;
	(void)state;
	assert_true(gm_http_retry_decide(&d, &o, 0, 2, 0.0, now));
	o.curl_code = CURLE_OPERATION_TIMEDOUT;
	assert_true(gm_http_retry_decide(&d, &o, 1, 2, 0.0, now));
	assert_int_equal(d, 1000);
	o.curl_code = CURLE_URL_MALFORMAT;
	assert_false(gm_http_retry_decide(&d, &o, 0, 2, 0.0, now));
	o.curl_code = CURLE_WRITE_ERROR; /* our own abort: answer too big */
	assert_false(gm_http_retry_decide(&d, &o, 0, 2, 0.0, now));
}

static void test_cause_is_short_and_lowercase(void **state)
{
	char buf[128];
	(void)state;
	gm_http_cause(buf, sizeof(buf), CURLE_COULDNT_CONNECT, 111, "Failed to connect");
	assert_string_equal(buf, "connection refused");
	gm_http_cause(buf, sizeof(buf), CURLE_COULDNT_RESOLVE_HOST, 0, "");
	assert_string_equal(buf, "cannot resolve host name");
}

static void test_scrub_hides_secret(void **state)
{
	char msg[] = "bad key sk-ant-123 (sk-ant-123)";
	(void)state;
	gm_http_scrub(msg, "sk-ant-123");
	assert_null(strstr(msg, "sk-ant"));
	assert_string_equal(msg, "bad key ********** (**********)");
	gm_http_scrub(msg, "");
	gm_http_scrub(NULL, "x");
}

static void check_redact(const char *in, const char *want)
{
	char *got = gm_http_url_redact(in);
	assert_string_equal(got, want);
	free(got);
}

static void test_url_passwords_are_redacted_as_git_does(void **state)
{
	const char *host;
	size_t len;
	(void)state;
	check_redact("http://127.0.0.1:1234/v1", "http://127.0.0.1:1234/v1");
	check_redact("http://alice:pw@host:1234/v1", "http://alice:<redacted>@host:1234/v1");
	check_redact("https://tok3n@host/v1", "https://<redacted>@host/v1");
	/* the last '@' ends the userinfo: a password with an unescaped '@' */
	check_redact("http://a:p@ss@h/v1", "http://a:<redacted>@h/v1");
	/* every URL of a setting or message; an '@' in the path is no userinfo */
	check_redact("kind=vllm http://u:x@a/v1 slots=2 http://b/v1/@x",
	             "kind=vllm http://u:<redacted>@a/v1 slots=2 http://b/v1/@x");
	check_redact("cannot reach 'http://u:x@a' now", "cannot reach 'http://u:<redacted>@a' now");
	check_redact("no url here", "no url here");
	/* the host of a URL with a userinfo is the host, not the user */
	assert_true(gm_http_url_is_local("http://u:p@localhost:1234/v1", &host, &len));
	assert_int_equal(len, 9);
	assert_false(gm_http_url_is_local("http://localhost:p@10.0.0.2/v1", &host, &len));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retryable_statuses),
		cmocka_unit_test(test_should_retry_header_overrides),
		cmocka_unit_test(test_three_attempts_in_all),
		cmocka_unit_test(test_backoff_doubles_and_caps),
		cmocka_unit_test(test_retry_after_ms_first),
		cmocka_unit_test(test_retry_after_seconds_and_fractions),
		cmocka_unit_test(test_retry_after_http_date),
		cmocka_unit_test(test_server_delay_capped_at_60s),
		cmocka_unit_test(test_transfer_failures),
		cmocka_unit_test(test_cause_is_short_and_lowercase),
		cmocka_unit_test(test_scrub_hides_secret),
		cmocka_unit_test(test_url_passwords_are_redacted_as_git_does),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
