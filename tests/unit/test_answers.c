/*
 * Golden tests of answers as models write them: every
 * fixtures/llm/answers/<lang>/<case>.answer is an answer to the rewrite of
 * one unit of the directory's source file, judged by gm_validate; an
 * accepted one is then merged alone (gm_merge) and the file compared with
 * <case>.expected.  GM_UPDATE_GOLDEN=1 rewrites the expected files (read
 * the diff before committing it: the expected file is the test).
 *
 * A case file:
 *   unit: Warehouse.restock        the unit's qualified name (#n for duplicates)
 *   source: inventory.py           optional: the directory's one other file
 *   verdict: accept                accept | unchanged | reject <reason part>
 *   helpers: Warehouse._check      optional (accept): the helpers, in order
 *   imports: import logging        optional, repeatable (accept): imports added
 *   ---
 *   the answer, byte for byte, to the end of the file
 * Every language must have cases.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "monitor/error.h"
#include "monitor/lang.h"
#include "monitor/merge.h"
#include "monitor/scan.h"
#include "monitor/util.h"
#include "monitor/validate.h"

struct answer_case {
	char *dir, *file, *lang;
};

static char *header(const char *text, const char *key, const char *after)
{
	size_t kl = strlen(key);
	const char *end = strstr(text, "\n---\n");
	for (const char *p = after ? after : text; p && p < end;) {
		const char *nl = strchr(p, '\n');
		if (!strncmp(p, key, kl) && p[kl] == ':') {
			const char *v = p + kl + 1;
			while (*v == ' ')
				v++;
			return gm_xstrndup(v, (size_t)(nl - v));
		}
		p = nl ? nl + 1 : NULL;
	}
	return NULL;
}

static char *source_name(const struct answer_case *c, const char *text)
{
	char *s = header(text, "source", NULL);
	DIR *d;
	struct dirent *de;
	if (s)
		return s;
	if (!(d = opendir(c->dir)))
		fail_msg("cannot open %s", c->dir);
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (de->d_name[0] == '.' || (l > 7 && !strcmp(de->d_name + l - 7, ".answer")) ||
		    (l > 9 && !strcmp(de->d_name + l - 9, ".expected")))
			continue;
		if (s)
			fail_msg("%s: several source files; name one with 'source:'", c->dir);
		s = gm_xstrdup(de->d_name);
	}
	closedir(d);
	if (!s)
		fail_msg("%s: no source file", c->dir);
	return s;
}

static void answer(void **state)
{
	struct answer_case *c = *state;
	const struct gm_lang *lang = gm_lang_by_name(c->lang);
	char *path = gm_xasprintf("%s/%s", c->dir, c->file), *text = NULL, *src = NULL, *srcpath;
	char *unit, *verdict, *name, *want = NULL, *exp_path;
	const char *body;
	size_t tlen, len, wlen;
	struct gm_file_scan fs;
	struct gm_validate_in in;
	struct gm_validate_result res;
	const struct gm_unit *u = NULL;

	assert_non_null(lang);
	assert_int_equal(gm_read_file(&text, &tlen, path, 1 << 24), 0);
	body = strstr(text, "\n---\n");
	if (!body)
		fail_msg("%s: no '---' line before the answer", path);
	body += 5;
	unit = header(text, "unit", NULL);
	verdict = header(text, "verdict", NULL);
	if (!unit || !verdict)
		fail_msg("%s: needs 'unit:' and 'verdict:'", path);
	name = source_name(c, text);
	srcpath = gm_xasprintf("%s/%s", c->dir, name);
	assert_int_equal(gm_read_file(&src, &len, srcpath, 1 << 24), 0);
	assert_int_equal(gm_scan_source(&fs, lang, src, len, NULL), 0);
	for (size_t i = 0; i < fs.n; i++) {
		char *k = fs.units[i].ordinal ? gm_xasprintf("%s#%u", fs.units[i].name, fs.units[i].ordinal)
		                              : gm_xstrdup(fs.units[i].name);
		if (!strcmp(k, unit))
			u = &fs.units[i];
		free(k);
	}
	if (!u)
		fail_msg("%s: no unit '%s' in %s", path, unit, name);
	memset(&in, 0, sizeof(in));
	in.lang = lang;
	in.src = src;
	in.len = len;
	in.scan = &fs;
	in.unit = u;
	in.answer = body;
	in.answer_len = tlen - (size_t)(body - text);
	in.finish_reason = "stop";
	if (gm_validate(&res, &in) < 0)
		fail_msg("%s: %s", path, gm_error_last());

	if (!strncmp(verdict, "reject", 6)) {
		const char *part = verdict + 6;
		while (*part == ' ')
			part++;
		if (res.verdict != GM_VERDICT_REJECT || !strstr(res.reason, part))
			fail_msg("%s: want a rejection with '%s', got %s '%s'", path, part,
			         res.verdict == GM_VERDICT_ACCEPT ? "accept" : "unchanged",
			         res.reason ? res.reason : "");
	} else if (!strcmp(verdict, "unchanged")) {
		if (res.verdict != GM_VERDICT_UNCHANGED)
			fail_msg("%s: want unchanged, got '%s'", path, res.reason ? res.reason : "accept");
	} else {
		const struct gm_edit *one = &res.edit;
		struct gm_merge_result mr;
		char *helpers = header(text, "helpers", NULL);
		size_t nimp = 0;
		if (strcmp(verdict, "accept") != 0)
			fail_msg("%s: verdict is accept, unchanged or reject <reason>", path);
		if (res.verdict != GM_VERDICT_ACCEPT)
			fail_msg("%s: want accept, got '%s'", path, res.reason);
		/* What was said about it: helpers and imports, in order. */
		{
			struct gm_buf b = GM_BUF_INIT;
			for (size_t i = 0; i < res.nhelpers; i++)
				gm_buf_printf(&b, "%s%s", i ? ", " : "", res.helpers[i]);
			if (strcmp(helpers ? helpers : "", b.ptr ? b.ptr : ""))
				fail_msg("%s: helpers are '%s', want '%s'", path, b.ptr ? b.ptr : "",
				         helpers ? helpers : "");
			gm_buf_release(&b);
		}
		for (const char *p = text; (p = strstr(p, "\nimports:")) && p < body; p++) {
			char *want_imp = header(p + 1, "imports", NULL);
			if (nimp >= res.nimports || strcmp(want_imp, res.imports[nimp]))
				fail_msg("%s: import %zu is '%s', want '%s'", path, nimp,
				         nimp < res.nimports ? res.imports[nimp] : "(none)", want_imp);
			free(want_imp);
			nimp++;
		}
		if (nimp != res.nimports)
			fail_msg("%s: %zu imports added, want %zu", path, res.nimports, nimp);
		/* The merge of the edit alone gives the file validation saw. */
		assert_int_equal(gm_merge(&mr, lang, src, len, fs.errors, &one, 1, NULL), 0);
		assert_true(mr.applied[0]);
		if (mr.len != res.len || memcmp(mr.text, res.text, res.len))
			fail_msg("%s: merged alone, the edit gives another file than validation saw", path);
		gm_merge_result_release(&mr);
		exp_path = gm_xasprintf("%s/%.*s.expected", c->dir, (int)(strlen(c->file) - 7), c->file);
		if (getenv("GM_UPDATE_GOLDEN")) {
			assert_int_equal(gm_write_file_atomic(exp_path, res.text, res.len), 0);
		} else {
			if (gm_read_file(&want, &wlen, exp_path, 1 << 24) < 0)
				fail_msg("%s is missing (run with GM_UPDATE_GOLDEN=1 and read it)", exp_path);
			if (wlen != res.len || memcmp(want, res.text, wlen)) {
				fprintf(stderr, "--- %s\n%s--- got\n%s", exp_path, want, res.text);
				fail_msg("%s: the file after the edit differs from the expected one", path);
			}
		}
		free(exp_path);
		free(helpers);
	}
	gm_validate_result_release(&res);
	gm_file_scan_release(&fs);
	free(want);
	free(srcpath);
	free(name);
	free(unit);
	free(verdict);
	free(src);
	free(text);
	free(path);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t list(char ***out, const char *dir, const char *suffix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **v = NULL;
	size_t n = 0, cap = 0, sl = suffix ? strlen(suffix) : 0;
	while (d && (de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (de->d_name[0] == '.' || (suffix && (l <= sl || strcmp(de->d_name + l - sl, suffix))))
			continue;
		GM_GROW(v, cap, n + 1);
		v[n++] = gm_xstrdup(de->d_name);
	}
	if (d)
		closedir(d);
	if (n > 1)
		qsort(v, n, sizeof(char *), cmp_str);
	*out = v;
	return n;
}

/* Every language has answer cases (a missing directory must not pass quietly). */
static char *root_dir;
static void every_language_has_answer_cases(void **state)
{
	(void)state;
	for (const struct gm_lang *const *l = gm_lang_all(); *l; l++) {
		char *dir = gm_xasprintf("%s/%s", root_dir, (*l)->name), **files = NULL;
		size_t n = list(&files, dir, ".answer");
		if (n < 21)
			fail_msg("%s: %zu answer cases, want at least 21", dir, n);
		for (size_t i = 0; i < n; i++)
			free(files[i]);
		free(files);
		free(dir);
	}
}

int main(void)
{
	const char *fixtures = getenv("GM_FIXTURES");
	struct CMUnitTest *tests;
	struct answer_case *cases;
	char **langs = NULL;
	size_t nl, n = 0;
	int rc;

	if (gm_lang_init() < 0) {
		fprintf(stderr, "%s\n", gm_error_last());
		return 1;
	}
	root_dir = gm_xasprintf("%s/llm/answers", fixtures ? fixtures : "fixtures");
	nl = list(&langs, root_dir, NULL);
	{
		size_t total = 0;
		for (size_t i = 0; i < nl; i++) {
			char *dir = gm_xasprintf("%s/%s", root_dir, langs[i]), **files = NULL;
			size_t m = list(&files, dir, ".answer");
			for (size_t k = 0; k < m; k++)
				free(files[k]);
			free(files);
			free(dir);
			total += m;
		}
		cases = gm_xcalloc(total + 1, sizeof(*cases));
		tests = gm_xcalloc(total + 2, sizeof(*tests));
	}
	tests[0].name = "every_language_has_answer_cases";
	tests[0].test_func = every_language_has_answer_cases;
	for (size_t i = 0; i < nl; i++) {
		char *dir = gm_xasprintf("%s/%s", root_dir, langs[i]), **files = NULL;
		size_t m = list(&files, dir, ".answer");
		for (size_t k = 0; k < m; k++) {
			cases[n].dir = gm_xstrdup(dir);
			cases[n].file = files[k];
			cases[n].lang = gm_xstrdup(langs[i]);
			tests[n + 1].name = gm_xasprintf("%s/%s", langs[i], files[k]);
			tests[n + 1].test_func = answer;
			tests[n + 1].initial_state = &cases[n];
			n++;
		}
		free(files);
		free(dir);
	}
	rc = _cmocka_run_group_tests("answers", tests, n + 1, NULL, NULL);
	for (size_t i = 0; i < n; i++) {
		free((char *)tests[i + 1].name);
		free(cases[i].dir);
		free(cases[i].file);
		free(cases[i].lang);
	}
	for (size_t i = 0; i < nl; i++)
		free(langs[i]);
	free(langs);
	free(cases);
	free(tests);
	free(root_dir);
	gm_lang_shutdown();
	return rc;
}
