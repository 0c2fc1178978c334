/*
 * The review page as HTML (review_page.h), from a real repository: every
 * piece of repository text escaped (code holding "</script>", a branch
 * name holding markup, a note's task name), only the page's own two
 * scripts, the embedded JSON without '<', code highlighted, both sides of
 * a change, long unchanged stretches folded with the right count.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <git2.h>

#include "monitor/highlight.h"
#include "monitor/review.h"
#include "monitor/review_page.h"
#include "monitor/util.h"

#define BRANCH "monitor/x-</script><b>y"

static char *run(const char *dir, const char *cmd)
{
	char *full = gm_xasprintf("cd '%s' && %s", dir, cmd);
	FILE *p = popen(full, "r");
	struct gm_buf b = GM_BUF_INIT;
	char chunk[4096];
	size_t n;
	assert_non_null(p);
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
		gm_buf_put(&b, chunk, n);
	assert_int_equal(pclose(p), 0);
	free(full);
	return gm_buf_detach(&b, NULL);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char *path = gm_xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	free(path);
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static const char base_c[] =
	"int tag(const char *s)\n"
	"{\n"
	"\tconst char *end = \"</script><script>alert(1)</script>\";\n"
	"\tint a = 1;\n"
	"\tint b = 2;\n"
	"\tint c = 3;\n"
	"\tint d = 4;\n"
	"\tint e = 5;\n"
	"\tint f = 6;\n"
	"\tint g = 7;\n"
	"\treturn a + b + c + d + e + f + g + (s == end);\n"
	"}\n"
	"\n"
	"int g(int x)\n"
	"{\n"
	"\treturn x;\n"
	"}\n";

static void test_the_page_escapes_highlights_and_folds(void **state)
{
	char tmpl[] = "/tmp/gm-page-XXXXXX";
	char *dir, *cmd, *base, *html;
	git_repository *repo = NULL;
	struct gm_review *r = NULL;
	struct gm_buf page = GM_BUF_INIT;
	struct gm_review_page_opts o = { false, "n0nce" };
	const char *json, *json_end;
	(void)state;

	assert_non_null(mkdtemp(tmpl));
	dir = tmpl;
	setenv("GIT_AUTHOR_NAME", "A", 1);
	setenv("GIT_AUTHOR_EMAIL", "a@example.com", 1);
	setenv("GIT_COMMITTER_NAME", "C", 1);
	setenv("GIT_COMMITTER_EMAIL", "c@example.com", 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("HOME", dir, 1);
	free(run(dir, "git init -q -b main"));
	write_file(dir, "t.c", base_c);
	free(run(dir, "git add -A && git commit -qm base && git checkout -q -b '" BRANCH "'"));
	{
		/* the run: one changed line at the end, after a long unchanged stretch */
		char *tip = gm_xstrdup(base_c);
		char *at = strstr(tip, "(s == end)");
		memcpy(at, "(s != end)", 10);
		at = strstr(tip, "\treturn x;");
		memcpy(at, "\treturn 0;", 10);
		write_file(dir, "t.c", tip);
		free(tip);
	}
	free(run(dir, "git commit -qam 'refactor: x' -m 't.c: tag (local:m, 1 attempt)' -m 'Monitor-Run: r1'"));
	base = run(dir, "git rev-parse main");
	base[strcspn(base, "\n")] = '\0';
	cmd = gm_xasprintf("git notes --ref=monitor add -m '{\"version\": 1, \"run\": \"r1\", \"base\": \"%s\", "
	                   "\"tasks\": [{\"path\": \"t.c\", \"name\": \"tag\", \"status\": \"applied\"}, "
	                   "{\"path\": \"t.c\", \"name\": \"g\", \"status\": \"applied\"}, "
	                   "{\"path\": \"t.c\", \"name\": \"<img src=x onerror=alert(2)>\", \"status\": "
	                   "\"rejected\", \"reason\": \"a <b>reason</b>\", \"answer\": \"</pre><script>alert(3)"
	                   "</script>\"}]}' '" BRANCH "' && git checkout -q main", base);
	free(run(dir, cmd));
	free(cmd);
	free(base);

	assert_int_equal(git_repository_open(&repo, dir), 0);
	assert_int_equal(gm_review_load(&r, repo, BRANCH), 0);
	assert_int_equal(gm_review_page(&page, repo, r, &o), 0);
	html = page.ptr;

	/* only our two scripts; every text is escaped */
	assert_int_equal(count(html, "<script"), 2);
	assert_int_equal(count(html, "</script>"), 2);
	assert_null(strstr(html, "alert(1)</"));
	assert_non_null(strstr(html, "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
	assert_non_null(strstr(html, "&lt;img src=x onerror=alert(2)&gt;"));
	assert_non_null(strstr(html, "a &lt;b&gt;reason&lt;/b&gt;"));
	assert_non_null(strstr(html, "&lt;/pre&gt;&lt;script&gt;alert(3)&lt;/script&gt;"));
	assert_non_null(strstr(html, "<title>review monitor/x-&lt;/script&gt;&lt;b&gt;y</title>"));
	assert_null(strstr(html, "<b>y"));
	assert_null(strstr(html, "<b>reason"));
	/* the JSON of the page: no '<' at all, the branch escaped inside it */
	json = strstr(html, "<script type=\"application/json\" id=\"gm-meta\">");
	assert_non_null(json);
	json += strlen("<script type=\"application/json\" id=\"gm-meta\">");
	json_end = strstr(json, "</script>");
	assert_non_null(json_end);
	assert_null(memchr(json, '<', (size_t)(json_end - json)));
	assert_non_null(strstr(json, "monitor/x-\\u003c/script\\u003e\\u003cb\\u003ey"));
	/* the nonce on both, the CSP of a file that fetches nothing */
	assert_non_null(strstr(html, "<style nonce=\"n0nce\">"));
	assert_non_null(strstr(html, "<script nonce=\"n0nce\">"));
	assert_non_null(strstr(html, "default-src 'none'"));
	/* highlighted by the grammar's own query; both sides; the changed words marked */
	assert_non_null(strstr(html, "<span class=\"kw\">return</span>"));
	assert_non_null(strstr(html, "<span class=\"st\">"));
	assert_int_equal(count(html, "<td class=\"c del\">"), 2);
	assert_int_equal(count(html, "<td class=\"c add\">"), 2);
	assert_non_null(strstr(html, "<span class=\"op w\">!</span>"));
	/* a static page has no Apply, but the command line */
	assert_null(strstr(html, "id=\"apply\""));
	assert_non_null(strstr(html, "id=\"cmdline\""));
	/*
	 * tag: 12 lines, the change on the 11th: the first line and the 3 before
	 * it shown, 6 folded; g: 2 lines before its change, nothing to fold.
	 */
	assert_int_equal(count(html, "class=\"fold\""), 1);
	assert_non_null(strstr(html, "&#8943; 6 unchanged lines"));
	assert_int_equal(count(html, "<tr class=\"h\">"), 6);

	gm_buf_release(&page);
	gm_review_free(r);
	git_repository_free(repo);
	cmd = gm_xasprintf("rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static void test_escaping_covers_quotes_and_control_characters(void **state)
{
	struct gm_buf b = GM_BUF_INIT;
	const char in[] = "<a href=\"x\" title='y'>&\x1b[31m\r\n\tz";
	(void)state;
	gm_html_escape(&b, in, sizeof(in) - 1);
	assert_string_equal(b.ptr, "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&#x241b;[31m\n\tz");
	gm_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_the_page_escapes_highlights_and_folds),
		cmocka_unit_test(test_escaping_covers_quotes_and_control_characters),
	};
	int rc;
	git_libgit2_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	gm_highlight_shutdown();
	git_libgit2_shutdown();
	return rc;
}
