/*
 * The scan cache codec: an entry reads back as the scan it was made from,
 * and nothing that does not fit the blob is believed, even with a valid
 * checksum (a truncated write, another version, a hand edit): such an
 * entry is a miss, so the caller parses the blob again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "monitor/error.h"
#include "monitor/lang.h"
#include "monitor/scan.h"
#include "monitor/scan_cache.h"
#include "monitor/util.h"

static const char PY[] =
	"import os\n"
	"\n"
	"def first(a, b):\n"
	"    if a:\n"
	"        return os.path.join(a, b)\n"
	"    return b\n"
	"\n"
	"class Foo:\n"
	"    def bar(self, x):\n"
	"        return first(x, x)\n"
	"\n"
	"    def bar(self, x, y):\n"
	"        return x\n"
	"\n"
	"def last():\n"
	"    pass\n";

static const char KEY[] = "0123456789abcdef0123456789abcdef01234567";

static struct gm_file_scan base;

static char *encoding_of(const struct gm_file_scan *fs)
{
	struct gm_buf b = GM_BUF_INIT;
	gm_scan_cache_encode(&b, fs);
	return gm_buf_detach(&b, NULL);
}

/* An entry with a valid key and checksum for `fs`, read back against PY. */
static int read_back(struct gm_file_scan *out, const struct gm_file_scan *fs)
{
	struct gm_buf b = GM_BUF_INIT;
	int rc;
	gm_scan_cache_entry(&b, KEY, fs);
	rc = gm_scan_cache_read_entry(out, KEY, b.ptr, b.len, PY, strlen(PY));
	gm_buf_release(&b);
	return rc;
}

static void entry_reads_back_as_the_scan_it_was_made_from(void **state)
{
	struct gm_file_scan back;
	char *a, *b;
	(void)state;
	assert_int_equal(base.n, 4);
	assert_int_equal(read_back(&back, &base), 0);
	a = encoding_of(&base);
	b = encoding_of(&back);
	assert_string_equal(a, b);
	assert_int_equal(back.n, 4);
	assert_string_equal(back.units[1].name, "Foo.bar");
	assert_int_equal(back.units[2].ordinal, 2);
	free(a);
	free(b);
	gm_file_scan_release(&back);
}

/* A copy of `base` the test may damage (strings shared: release with free(units)). */
static struct gm_file_scan copy(void)
{
	struct gm_file_scan fs = base;
	fs.units = gm_xcalloc(base.n, sizeof(*fs.units));
	memcpy(fs.units, base.units, base.n * sizeof(*fs.units));
	return fs;
}

static void assert_rejected(struct gm_file_scan *fs, const char *what)
{
	struct gm_file_scan back;
	if (read_back(&back, fs) != GM_EINVALID)
		fail_msg("%s: a damaged entry was believed", what);
	assert_int_equal(back.n, 0);
	assert_null(back.units);
	free(fs->units);
}

static void entry_with_good_checksum_but_offsets_off_the_blob_is_refused(void **state)
{
	uint32_t len = (uint32_t)strlen(PY);
	struct gm_file_scan fs;
	(void)state;

	fs = copy();
	fs.units[3].end_byte = 0xffffff00u; /* crashed the refactor (SIGSEGV) */
	assert_rejected(&fs, "huge end offset");
	fs = copy();
	fs.units[3].end_byte = len + 1; /* made validation spin, prompts overread */
	assert_rejected(&fs, "end just past the blob");
	fs = copy();
	fs.units[3].start_byte = len + 1;
	fs.units[3].end_byte = len + 1;
	assert_rejected(&fs, "unit past the blob");
	fs = copy();
	fs.units[0].start_byte = fs.units[0].end_byte + 1;
	assert_rejected(&fs, "start after end");
	fs = copy();
	fs.units[0].start_byte = fs.units[0].end_byte + 1;
	fs.units[0].end_byte += 2;
	assert_rejected(&fs, "unit moved past its text");
}

static void entry_with_lines_that_do_not_match_the_offsets_is_refused(void **state)
{
	struct gm_file_scan fs;
	(void)state;

	fs = copy();
	fs.units[1].start_line++;
	fs.units[1].lines--;
	assert_rejected(&fs, "start line");
	fs = copy();
	fs.units[1].end_line++;
	fs.units[1].lines++;
	assert_rejected(&fs, "end line");
	fs = copy();
	fs.units[1].start_col = 0; /* the method is indented */
	assert_rejected(&fs, "start column");
	fs = copy();
	fs.units[1].start_byte -= 2; /* the lines say otherwise */
	assert_rejected(&fs, "start byte");
}

static void entry_with_units_out_of_order_or_overlapping_is_refused(void **state)
{
	struct gm_file_scan fs;
	struct gm_unit t;
	(void)state;

	fs = copy();
	t = fs.units[0];
	fs.units[0] = fs.units[3];
	fs.units[3] = t;
	assert_rejected(&fs, "order");
	fs = copy();
	fs.units[0].end_byte = fs.units[1].start_byte + 1;
	fs.units[0].end_line = fs.units[1].start_line;
	fs.units[0].lines = fs.units[0].end_line - fs.units[0].start_line + 1;
	assert_rejected(&fs, "overlap");
}

static void entry_with_wrong_ordinals_or_names_is_refused(void **state)
{
	static char nowhere[] = "nowhere";
	struct gm_file_scan fs;
	(void)state;

	fs = copy();
	fs.units[2].ordinal = 1; /* two Foo.bar #1 */
	assert_rejected(&fs, "duplicate ordinal");
	fs = copy();
	fs.units[0].ordinal = 1; /* first is unique */
	assert_rejected(&fs, "ordinal of a unique name");
	fs = copy();
	fs.units[3].short_name = nowhere;
	assert_rejected(&fs, "short name outside the unit");
	fs = copy();
	fs.units[3].complexity = 0;
	assert_rejected(&fs, "complexity 0");
}

static void entry_with_another_key_or_checksum_is_refused(void **state)
{
	struct gm_buf b = GM_BUF_INIT;
	struct gm_file_scan back;
	char other[41];
	(void)state;

	gm_scan_cache_entry(&b, KEY, &base);
	memcpy(other, KEY, sizeof(other));
	other[0] = 'f';
	assert_int_equal(gm_scan_cache_read_entry(&back, other, b.ptr, b.len, PY, strlen(PY)),
	                 GM_EINVALID);
	b.ptr[b.len - 1] ^= 1;
	assert_int_equal(gm_scan_cache_read_entry(&back, KEY, b.ptr, b.len, PY, strlen(PY)),
	                 GM_EINVALID);
	assert_int_equal(back.n, 0);
	b.ptr[b.len - 1] ^= 1;
	/* Truncated: every shorter entry is refused, none crashes. */
	for (size_t n = 0; n < b.len; n++)
		assert_int_equal(gm_scan_cache_read_entry(&back, KEY, b.ptr, n, PY, strlen(PY)),
		                 GM_EINVALID);
	/* The same entry against another version of the file. */
	assert_int_equal(gm_scan_cache_read_entry(&back, KEY, b.ptr, b.len, PY + 1, strlen(PY) - 1),
	                 GM_EINVALID);
	gm_buf_release(&b);
}

static void every_cut_of_an_encoding_fails_cleanly(void **state)
{
	struct gm_file_scan back;
	size_t len;
	char *enc = NULL;
	struct gm_buf b = GM_BUF_INIT;
	(void)state;

	gm_scan_cache_encode(&b, &base);
	enc = gm_buf_detach(&b, &len);
	assert_int_equal(gm_scan_cache_decode(&back, enc, len), 0);
	gm_file_scan_release(&back);
	for (size_t n = 0; n < len; n++) {
		char *cut = gm_xstrndup(enc, n); /* its own allocation: ASan sees the end */
		assert_int_equal(gm_scan_cache_decode(&back, cut, n), GM_EINVALID);
		assert_int_equal(back.n, 0);
		assert_null(back.units);
		free(cut);
	}
	free(enc);
	/* A good unit count, then a bad import count: the release of the
	 * half-read scan once walked units that were never allocated. */
	enc = gm_xstrndup("gmscan2\n\x00\x01\x80", 11);
	assert_int_equal(gm_scan_cache_decode(&back, enc, 11), GM_EINVALID);
	assert_int_equal(back.n, 0);
	free(enc);
}

static int setup(void **state)
{
	(void)state;
	if (gm_lang_init() < 0)
		fail_msg("%s", gm_error_last());
	return gm_scan_source(&base, gm_lang_by_name("python"), PY, strlen(PY), NULL);
}

static int teardown(void **state)
{
	(void)state;
	gm_file_scan_release(&base);
	gm_lang_shutdown();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(entry_reads_back_as_the_scan_it_was_made_from),
		cmocka_unit_test(entry_with_good_checksum_but_offsets_off_the_blob_is_refused),
		cmocka_unit_test(entry_with_lines_that_do_not_match_the_offsets_is_refused),
		cmocka_unit_test(entry_with_units_out_of_order_or_overlapping_is_refused),
		cmocka_unit_test(entry_with_wrong_ordinals_or_names_is_refused),
		cmocka_unit_test(entry_with_another_key_or_checksum_is_refused),
		cmocka_unit_test(every_cut_of_an_encoding_fails_cleanly),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
