/*
 * quote.h: what is valid UTF-8, the reversible name form every JSON we
 * write uses, and git's quoting for terminals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "monitor/quote.h"

static void utf8_is_rfc_3629(void **state)
{
	(void)state;
	assert_true(gm_utf8_valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14));
	assert_int_equal(gm_utf8_seq("\xf4\x8f\xbf\xbf", 4), 4);  /* U+10FFFF */
	assert_int_equal(gm_utf8_seq("\xf4\x90\x80\x80", 4), 0);  /* past it */
	assert_int_equal(gm_utf8_seq("\xc0\x80", 2), 0);          /* overlong NUL */
	assert_int_equal(gm_utf8_seq("\xe0\x80\xaf", 3), 0);      /* overlong '/' */
	assert_int_equal(gm_utf8_seq("\xed\xa0\x80", 3), 0);      /* a surrogate */
	assert_int_equal(gm_utf8_seq("\xe2\x82", 2), 0);          /* cut short */
	assert_int_equal(gm_utf8_seq("\x80", 1), 0);
	assert_false(gm_utf8_valid("caf\xe9", 4));
}

static void names_round_trip_every_byte(void **state)
{
	char buf[256];
	(void)state;
	/* Valid UTF-8 is itself; anything else is git's C-quoted form. */
	{
		char *q = gm_quote_name("caf\xc3\xa9.py");
		assert_string_equal(q, "caf\xc3\xa9.py");
		free(q);
		q = gm_quote_name("caf\xe9.py");
		assert_string_equal(q, "\"caf\\351.py\"");
		free(q);
		q = gm_quote_name("\"quoted\"");
		assert_string_equal(q, "\"\\\"quoted\\\"\"");
		free(q);
		q = gm_quote_name("a\tb\xff\\");
		assert_string_equal(q, "\"a\\tb\\377\\\\\"");
		free(q);
	}
	/* Every byte 1..255, and a mix with valid sequences, comes back exactly. */
	for (int i = 0; i < 255; i++)
		buf[i] = (char)(i + 1);
	buf[255] = '\0';
	for (size_t start = 0; start < 255; start += 17) {
		char *q = gm_quote_name(buf + start), *back;
		assert_true(gm_utf8_valid(q, strlen(q)));
		back = gm_quote_name_decode(q);
		assert_non_null(back);
		assert_string_equal(back, buf + start);
		free(q);
		free(back);
	}
	/* Malformed quoted forms are refused, not guessed. */
	assert_null(gm_quote_name_decode("\"open"));
	assert_null(gm_quote_name_decode("\"bad\\q\""));
	assert_null(gm_quote_name_decode("\"nul\\000\""));
	assert_null(gm_quote_name_decode("\"x\"tail"));
	{
		char *plain = gm_quote_name_decode("plain/path.c");
		assert_string_equal(plain, "plain/path.c");
		free(plain);
	}
}

static void text_is_lossy_but_valid(void **state)
{
	char *t = gm_quote_lossy("a\xe9z\xc3\xa9");
	(void)state;
	assert_string_equal(t, "a\xef\xbf\xbdz\xc3\xa9");
	free(t);
	assert_null(gm_quote_lossy(NULL));
}

static void terminals_get_git_quoting(void **state)
{
	char *t;
	(void)state;
	/* core.quotePath true (git's default): bytes >= 0x80 in octal, as git prints them. */
	t = gm_quote_path("caf\xc3\xa9.py", true);
	assert_string_equal(t, "\"caf\\303\\251.py\"");
	free(t);
	t = gm_quote_path("caf\xc3\xa9.py", false);
	assert_string_equal(t, "caf\xc3\xa9.py");
	free(t);
	t = gm_quote_path("evil\x1b[31m.py", false);
	assert_string_equal(t, "\"evil\\033[31m.py\"");
	free(t);
	t = gm_quote_path("plain.py", true);
	assert_string_equal(t, "plain.py");
	free(t);
	/* A name: quoted only for control characters or bytes that are not UTF-8. */
	t = gm_quote_text("K.m\xc3\xa9thode");
	assert_string_equal(t, "K.m\xc3\xa9thode");
	free(t);
	t = gm_quote_text("f\x07");
	assert_string_equal(t, "\"f\\a\"");
	free(t);
	/* A reason: escaped in place, quotes left alone. */
	t = gm_quote_escape("cannot read 'x': \x1b[2J\r\ngone \xe9");
	assert_string_equal(t, "cannot read 'x': \\033[2J\\r\\ngone \\351");
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(utf8_is_rfc_3629),
		cmocka_unit_test(names_round_trip_every_byte),
		cmocka_unit_test(text_is_lossy_but_valid),
		cmocka_unit_test(terminals_get_git_quoting),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
