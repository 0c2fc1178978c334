/*
 * review module against real repositories in temp directories: the branch a
 * drop was computed for is never overwritten when it moved in between, and
 * the default branch is the newest by committer date, not by name.
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

#include "monitor/error.h"
#include "monitor/review.h"
#include "monitor/util.h"

struct fixture {
	char *dir;
	git_repository *repo;
};

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

static int setup(void **state)
{
	struct fixture *f = gm_xcalloc(1, sizeof(*f));
	char tmpl[] = "/tmp/gm-review-XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	f->dir = gm_xstrdup(tmpl);
	setenv("GIT_AUTHOR_NAME", "Test Author", 1);
	setenv("GIT_AUTHOR_EMAIL", "author@example.com", 1);
	setenv("GIT_COMMITTER_NAME", "Test Committer", 1);
	setenv("GIT_COMMITTER_EMAIL", "committer@example.com", 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("HOME", f->dir, 1);
	free(run(f->dir,
	         "git init -q -b main && "
	         "printf 'def a(x):\\n    return x\\n\\n\\ndef b(x):\\n    return x\\n' > m.py && "
	         "git add m.py && git commit -qm base && "
	         "git checkout -q -b monitor/20260101-000000-old && "
	         "printf 'def a(x):\\n    return x + 0\\n\\n\\ndef b(x):\\n    return x\\n' > m.py && "
	         "GIT_COMMITTER_DATE='2030-01-01T00:00:00' git commit -qam 'refactor: x' "
	         "-m 'm.py: a (local:m1, 2 attempts)' -m 'Monitor-Run: r1' && "
	         "git checkout -q main"));
	assert_int_equal(git_repository_open(&f->repo, f->dir), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char *cmd = gm_xasprintf("rm -rf '%s'", f->dir);
	git_repository_free(f->repo);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(f->dir);
	free(f);
	return 0;
}

static void test_message_gives_route_model_and_attempts_without_a_note(void **state)
{
	struct fixture *f = *state;
	struct gm_review *r = NULL;

	assert_int_equal(gm_review_load(&r, f->repo, "monitor/20260101-000000-old"), 0);
	assert_false(r->has_note);
	assert_string_equal(r->run_id, "r1");
	assert_int_equal(r->n, 1);
	assert_string_equal(r->fns[0].name, "a");
	assert_string_equal(r->fns[0].route, "local");
	assert_string_equal(r->fns[0].model, "m1");
	assert_int_equal(r->fns[0].attempts, 2);
	assert_int_equal(r->fns[0].added, 1);
	assert_int_equal(r->fns[0].removed, 1);
	assert_non_null(gm_review_find(r, "m.py:a"));
	assert_null(gm_review_find(r, "m.py:b"));
	gm_review_free(r);
}

static void test_drop_never_overwrites_a_branch_that_moved(void **state)
{
	struct fixture *f = *state;
	struct gm_review *r = NULL;
	const char *specs[] = { "m.py:a" };
	char *moved_to, *after;
	git_oid out;

	assert_int_equal(gm_review_load(&r, f->repo, "monitor/20260101-000000-old"), 0);
	/* someone else moves the branch after it was read */
	free(run(f->dir, "git update-ref refs/heads/monitor/20260101-000000-old main"));
	moved_to = run(f->dir, "git rev-parse main");
	assert_int_equal(gm_review_drop(&out, f->repo, r, specs, 1), GM_ERROR);
	assert_non_null(strstr(gm_error_last(), "moved"));
	after = run(f->dir, "git rev-parse monitor/20260101-000000-old");
	assert_string_equal(after, moved_to);
	free(after);
	free(moved_to);
	gm_review_free(r);
}

static void test_default_branch_is_newest_by_committer_date(void **state)
{
	struct fixture *f = *state;
	char *name = NULL;

	/* "aaa" sorts first by name but was committed last */
	free(run(f->dir, "git checkout -q -b monitor/aaa && git commit -q --allow-empty -m "
	                 "'refactor: y' -m 'Monitor-Run: r2' && git checkout -q main"));
	free(run(f->dir, "git branch other/zzz main"));
	assert_int_equal(gm_review_default_branch(&name, f->repo, NULL), 0);
	/* the old one was committed in 2030: it is the newest */
	assert_string_equal(name, "monitor/20260101-000000-old");
	free(name);
	assert_int_equal(gm_review_default_branch(&name, f->repo, "other/"), 0);
	assert_string_equal(name, "other/zzz");
	free(name);
	assert_int_equal(gm_review_default_branch(&name, f->repo, "none/"), GM_ENOTFOUND);
	assert_null(name);
}

/* The name of r->fns[m[i]] as path:name, for comparing a match with a list. */
static void assert_matches(const struct gm_review *r, const char *spec, const char *const *want, size_t n)
{
	size_t *m = NULL, k = gm_review_match(&m, r, spec);
	if (k != n)
		fail_msg("'%s' matched %zu functions, expected %zu", spec, k, n);
	for (size_t i = 0; i < k; i++) {
		char *got = gm_xasprintf("%s:%s", r->fns[m[i]].path, r->fns[m[i]].name);
		assert_string_equal(got, want[i]);
		free(got);
	}
	free(m);
}

/*
 * --drop's globs as the issue spells them: '*' in the path crosses '/'
 * ('src/' '**:parse_*'), a class's methods by 'encoder.py:JSONEncoder.*', a
 * C++ name with '::' after the path's colon; several specs naming one
 * function drop it once, in one commit, and the files are byte for byte
 * the base's where a function was dropped.
 */
static void test_drop_globs_cross_directories_and_name_classes(void **state)
{
	struct fixture *f = *state;
	struct gm_review *r = NULL;
	const char *parse[] = { "src/b.py:parse_z", "src/parse/a.py:parse_x", "src/parse/a.py:parse_y" };
	const char *enc[] = { "encoder.py:JSONEncoder.default", "encoder.py:JSONEncoder.encode" };
	const char *cc[] = { "lib/x.cc:ns::twice" };
	const char *specs[] = { "src/**:parse_*", "src/parse/a.py:parse_x", "encoder.py:JSONEncoder.enc*" };
	git_oid tip;
	git_commit *c = NULL;
	char *a_py, *log;

	free(run(f->dir,
	         "git checkout -q -b monitor/20260101-000000-globs main && mkdir -p src/parse lib && "
	         "printf 'def parse_x(s):\\n    return s\\n\\n\\ndef parse_y(s):\\n    return s\\n\\n\\n"
	         "def keep_me(s):\\n    return s\\n' > src/parse/a.py && "
	         "printf 'def parse_z(s):\\n    return s\\n' > src/b.py && "
	         "printf 'def parse_top(s):\\n    return s\\n' > top.py && "
	         "printf 'class JSONEncoder:\\n    def default(self, o):\\n        return o\\n\\n"
	         "    def encode(self, o):\\n        return o\\n\\n\\nclass JSONDecoder:\\n"
	         "    def decode(self, s):\\n        return s\\n' > encoder.py && "
	         "printf 'namespace ns {\\nint twice(int a)\\n{\\n\\treturn a * 2;\\n}\\n}\\n' > lib/x.cc && "
	         "git add -A && git commit -qm 'base 2' && git tag base2 && "
	         "sed -i 's/return s$/return s + \"\"/; s/return o$/return o or o/; s/a \\* 2/a + a/' "
	         "src/parse/a.py src/b.py top.py encoder.py lib/x.cc && "
	         "git commit -qam 'refactor: y' -m 'Monitor-Run: r3' && git checkout -q main"));
	assert_int_equal(gm_review_load(&r, f->repo, "monitor/20260101-000000-globs"), 0);
	assert_matches(r, "src/**:parse_*", parse, 3);
	assert_matches(r, "encoder.py:JSONEncoder.*", enc, 2);
	assert_matches(r, "*.cc:ns::twice", cc, 1);
	assert_matches(r, "lib/x.cc:ns::*", cc, 1);
	assert_matches(r, "src/*:keep_me", (const char *const[]){ "src/parse/a.py:keep_me" }, 1);
	assert_matches(r, "nope/**:*", NULL, 0);
	assert_matches(r, "no colon", NULL, 0);

	/* three specs, four functions (parse_x named twice): one commit */
	assert_int_equal(gm_review_drop(&tip, f->repo, r, specs, 3), 0);
	assert_int_equal(git_commit_lookup(&c, f->repo, &tip), 0);
	assert_true(git_oid_equal(git_commit_parent_id(c, 0), &r->tip));
	assert_non_null(strstr(git_commit_message(c), "review: drop 4 functions"));
	git_commit_free(c);
	a_py = run(f->dir, "git show monitor/20260101-000000-globs:src/parse/a.py");
	assert_string_equal(a_py, "def parse_x(s):\n    return s\n\n\ndef parse_y(s):\n    return s\n\n\n"
	                          "def keep_me(s):\n    return s + \"\"\n");
	free(a_py);
	/* src/b.py is the base's again; what no spec named is as the run wrote it */
	log = run(f->dir, "git diff --name-only base2 monitor/20260101-000000-globs");
	assert_string_equal(log, "encoder.py\nlib/x.cc\nsrc/parse/a.py\ntop.py\n");
	free(log);
	a_py = run(f->dir, "git show monitor/20260101-000000-globs:encoder.py");
	assert_string_equal(a_py, "class JSONEncoder:\n    def default(self, o):\n        return o or o\n\n"
	                          "    def encode(self, o):\n        return o\n\n\nclass JSONDecoder:\n"
	                          "    def decode(self, s):\n        return s + \"\"\n");
	free(a_py);
	gm_review_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_message_gives_route_model_and_attempts_without_a_note,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop_never_overwrites_a_branch_that_moved, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_default_branch_is_newest_by_committer_date, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_drop_globs_cross_directories_and_name_classes, setup,
		                                teardown),
	};
	int rc;
	git_libgit2_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	git_libgit2_shutdown();
	return rc;
}
