/*
 * Golden tests of unit extraction: every fixtures/sources/<lang>/<case>.<ext>
 * is scanned as <lang> and its units rendered one per line, then compared
 * with <case>.<ext>.expected.  GM_UPDATE_GOLDEN=1 rewrites the expected
 * files (review the diff by hand before committing it).
 *
 * Every language of the registry must have at least one case, and the
 * directory must exist: a missing fixture is a failure, never zero cases
 * run.  Each scan must also pass gm_file_scan_check, the check the scan
 * cache applies to what it reads back, so that check never refuses a true
 * scan.
 *
 * Line format:
 *   <kind> <qualified name>[#ordinal] L<start>-<end> cc=<n> nest=<n> params=<n> calls=<a,b>
 * and a last line:  errors=<n> imports=<a,b>
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "monitor/error.h"
#include "monitor/lang.h"
#include "monitor/scan.h"
#include "monitor/util.h"

struct golden_case {
	char *path;
	char *lang;
};

static char *render(const struct gm_file_scan *fs, const char *src)
{
	struct gm_buf b = GM_BUF_INIT;
	for (size_t i = 0; i < fs->n; i++) {
		const struct gm_unit *u = &fs->units[i];
		gm_buf_printf(&b, "%s %s", u->kind, u->name);
		if (u->ordinal)
			gm_buf_printf(&b, "#%u", u->ordinal);
		gm_buf_printf(&b, " L%u-%u cc=%u nest=%u params=%u calls=", u->start_line, u->end_line,
		              u->complexity, u->nesting, u->params);
		for (size_t c = 0; c < u->ncalls; c++)
			gm_buf_printf(&b, "%s%s", c ? "," : "", u->calls[c]);
		gm_buf_puts(&b, "\n");
		/* Offsets are exact: the short name lies inside the unit's bytes. */
		if (!memmem(src + u->start_byte, u->end_byte - u->start_byte, u->short_name,
		            strlen(u->short_name)))
			gm_buf_printf(&b, "!! name '%s' not inside bytes %u-%u\n", u->short_name,
			              u->start_byte, u->end_byte);
		if (i && fs->units[i - 1].end_byte > u->start_byte)
			gm_buf_printf(&b, "!! overlaps previous unit\n");
	}
	gm_buf_printf(&b, "errors=%u imports=", fs->errors);
	for (size_t i = 0; i < fs->nimports; i++)
		gm_buf_printf(&b, "%s%s", i ? "," : "", fs->imports[i]);
	gm_buf_puts(&b, "\n");
	return gm_buf_detach(&b, NULL);
}

static void golden(void **state)
{
	struct golden_case *gc = *state;
	const struct gm_lang *lang = gm_lang_by_name(gc->lang);
	struct gm_file_scan fs;
	char *src = NULL, *want = NULL, *got, *exp_path;
	size_t len, wlen;

	assert_non_null(lang);
	assert_int_equal(gm_read_file(&src, &len, gc->path, 1 << 24), 0);
	if (gm_scan_source(&fs, lang, src, len, NULL) < 0)
		fail_msg("%s: %s", gc->path, gm_error_last());
	if (!gm_file_scan_check(&fs, src, len))
		fail_msg("%s: the scan fails gm_file_scan_check (the cache would refuse it)",
		         gc->path);
	got = render(&fs, src);
	exp_path = gm_xasprintf("%s.expected", gc->path);
	if (getenv("GM_UPDATE_GOLDEN")) {
		assert_int_equal(gm_write_file_atomic(exp_path, got, strlen(got)), 0);
	} else {
		if (gm_read_file(&want, &wlen, exp_path, 1 << 24) < 0)
			fail_msg("%s is missing (run with GM_UPDATE_GOLDEN=1 and review it)", exp_path);
		if (strcmp(want, got) != 0) {
			fprintf(stderr, "--- %s\n%s--- got\n%s", exp_path, want, got);
			fail_msg("%s: units differ from the expected file", gc->path);
		}
	}
	free(exp_path);
	free(got);
	free(want);
	free(src);
	gm_file_scan_release(&fs);
}

static void every_language_has_its_queries(void **state)
{
	(void)state;
	if (gm_lang_load_all() < 0)
		fail_msg("%s", gm_error_last());
	for (const struct gm_lang *const *l = gm_lang_all(); *l; l++)
		for (int k = 0; k < GM_QUERY__COUNT; k++)
			if (!gm_lang_has_query(*l, (enum gm_query_kind)k))
				fail_msg("grammars/%s/%s.scm is missing", (*l)->name,
				         gm_query_kind_name((enum gm_query_kind)k));
}

/* What main() found under fixtures/sources. */
static struct {
	const char *root;
	bool found;
	const struct golden_case *cases;
	size_t n;
} found_fixtures;

static void every_language_has_a_fixture(void **state)
{
	(void)state;
	if (!found_fixtures.found)
		fail_msg("%s is missing: no golden case can run", found_fixtures.root);
	for (const struct gm_lang *const *l = gm_lang_all(); *l; l++) {
		size_t n = 0;
		for (size_t i = 0; i < found_fixtures.n; i++)
			n += strcmp(found_fixtures.cases[i].lang, (*l)->name) == 0;
		if (n == 0)
			fail_msg("%s/%s/ has no case: every language needs a golden fixture",
			         found_fixtures.root, (*l)->name);
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
	const char *fixtures = getenv("GM_FIXTURES");
	struct CMUnitTest *tests = NULL;
	struct golden_case *cases = NULL;
	size_t n = 0, cap = 0, ccap = 0;
	char **names = NULL;
	size_t nnames = 0, namecap = 0;
	char *root;
	DIR *d;
	struct dirent *de;
	int rc;

	if (gm_lang_init() < 0) {
		fprintf(stderr, "%s\n", gm_error_last());
		return 1;
	}
	root = gm_xasprintf("%s/sources", fixtures ? fixtures : "fixtures");
	if ((d = opendir(root))) {
		found_fixtures.found = true;
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			GM_GROW(names, namecap, nnames + 1);
			names[nnames++] = gm_xstrdup(de->d_name);
		}
		closedir(d);
	}
	if (nnames > 1)
		qsort(names, nnames, sizeof(char *), cmp_str);
	/* Two passes: count, then fill, so the case array does not move. */
	for (int pass = 0; pass < 2; pass++) {
		n = 0;
		for (size_t i = 0; i < nnames; i++) {
			char *dir = gm_xasprintf("%s/%s", root, names[i]);
			char **files = NULL;
			size_t nf = 0, fcap = 0;
			DIR *ld = opendir(dir);
			while (ld && (de = readdir(ld))) {
				size_t l = strlen(de->d_name);
				if (de->d_name[0] == '.' || (l > 9 && strcmp(de->d_name + l - 9, ".expected") == 0))
					continue;
				GM_GROW(files, fcap, nf + 1);
				files[nf++] = gm_xstrdup(de->d_name);
			}
			if (ld)
				closedir(ld);
			if (nf > 1)
				qsort(files, nf, sizeof(char *), cmp_str);
			for (size_t j = 0; j < nf; j++) {
				if (pass == 1) {
					cases[n].path = gm_xasprintf("%s/%s", dir, files[j]);
					cases[n].lang = gm_xstrdup(names[i]);
					tests[n + 2].name = cases[n].path + strlen(root) + 1;
					tests[n + 2].test_func = golden;
					tests[n + 2].initial_state = &cases[n];
				}
				n++;
				free(files[j]);
			}
			free(files);
			free(dir);
		}
		if (pass == 0) {
			cap = n + 2;
			ccap = n ? n : 1;
			tests = gm_xcalloc(cap, sizeof(*tests));
			cases = gm_xcalloc(ccap, sizeof(*cases));
		}
	}
	tests[0].name = "every_language_has_its_queries";
	tests[0].test_func = every_language_has_its_queries;
	tests[1].name = "every_language_has_a_fixture";
	tests[1].test_func = every_language_has_a_fixture;
	found_fixtures.root = root;
	found_fixtures.cases = cases;
	found_fixtures.n = n;
	rc = _cmocka_run_group_tests("golden", tests, n + 2, NULL, NULL);
	for (size_t i = 0; i < n; i++) {
		free(cases[i].path);
		free(cases[i].lang);
	}
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	free(cases);
	free(tests);
	free(root);
	gm_lang_shutdown();
	return rc;
}
