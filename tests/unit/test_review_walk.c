/*
 * Decisions -> commit (review.h, review_walk.c and review_drop.c): which
 * functions a walk offers, what keep/drop/rest-of-file/search/specs decide,
 * and the one commit they make, checked byte for byte: a dropped function
 * is its base text again, its helper and the import only it needed are
 * gone, everything else is as the run wrote it; undo gives that back.
 * Against a real repository: a base commit, a monitor commit and its note.
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
#include "monitor/repo.h"
#include "monitor/review.h"
#include "monitor/util.h"

#define BRANCH "monitor/20260101-000000-walk"

static const char base_m[] =
	"import os\n"
	"\n"
	"\n"
	"def a(x):\n"
	"    return x\n"
	"\n"
	"\n"
	"def b(x):\n"
	"    return x\n"
	"\n"
	"\n"
	"def c(x):\n"
	"    return x\n";

/* What the run wrote: a with a helper, b changed, c with an import. */
static const char run_m[] =
	"import os\n"
	"import sys\n"
	"\n"
	"\n"
	"def _a_helper(x):\n"
	"    return x\n"
	"\n"
	"\n"
	"def a(x):\n"
	"    # simpler\n"
	"    return _a_helper(x)\n"
	"\n"
	"\n"
	"def b(x):\n"
	"    return x + 0\n"
	"\n"
	"\n"
	"def c(x):\n"
	"    return sys.intern(x)\n";

static const char base_n[] = "def d(y):\n    return y\n";
static const char run_n[] = "def d(y):\n    return y * 1\n";

static const char note_fmt[] =
	"{\"version\": 1, \"run\": \"r1\", \"base\": \"%s\", \"tasks\": ["
	"{\"path\": \"m.py\", \"name\": \"a\", \"status\": \"applied\", \"helpers\": [\"_a_helper\"],"
	" \"imports\": [], \"complexity\": {\"before\": 3, \"after\": 1}},"
	"{\"path\": \"m.py\", \"name\": \"b\", \"status\": \"applied\"},"
	"{\"path\": \"m.py\", \"name\": \"c\", \"status\": \"applied\", \"imports\": [\"import sys\"]},"
	"{\"path\": \"n.py\", \"name\": \"d\", \"status\": \"applied\"},"
	"{\"path\": \"n.py\", \"name\": \"e\", \"status\": \"rejected\", \"reason\": \"no\","
	" \"answer\": \"def e(): pass\"}]}";

struct fixture {
	char *dir;
	git_repository *repo;
	struct gm_review *r;
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

static void write_file(const char *dir, const char *name, const char *text)
{
	char *path = gm_xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
	free(path);
}

static int setup(void **state)
{
	struct fixture *f = gm_xcalloc(1, sizeof(*f));
	char tmpl[] = "/tmp/gm-walk-XXXXXX";
	char *base, *note, *cmd;

	assert_non_null(mkdtemp(tmpl));
	f->dir = gm_xstrdup(tmpl);
	setenv("GIT_AUTHOR_NAME", "Test Author", 1);
	setenv("GIT_AUTHOR_EMAIL", "author@example.com", 1);
	setenv("GIT_COMMITTER_NAME", "Test Committer", 1);
	setenv("GIT_COMMITTER_EMAIL", "committer@example.com", 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("HOME", f->dir, 1);
	free(run(f->dir, "git init -q -b main"));
	write_file(f->dir, "m.py", base_m);
	write_file(f->dir, "n.py", base_n);
	free(run(f->dir, "git add -A && git commit -qm base && git checkout -q -b " BRANCH));
	write_file(f->dir, "m.py", run_m);
	write_file(f->dir, "n.py", run_n);
	free(run(f->dir, "git commit -qam 'refactor: x' -m 'Monitor-Run: r1' && git checkout -q main"));
	base = run(f->dir, "git rev-parse main");
	base[strcspn(base, "\n")] = '\0';
	note = gm_xasprintf(note_fmt, base);
	write_file(f->dir, "note.json", note);
	cmd = gm_xasprintf("git notes --ref=monitor add -F note.json %s && rm note.json", BRANCH);
	free(run(f->dir, cmd));
	free(cmd);
	free(note);
	free(base);
	assert_int_equal(git_repository_open(&f->repo, f->dir), 0);
	assert_int_equal(gm_review_load(&f->r, f->repo, BRANCH), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char *cmd = gm_xasprintf("rm -rf '%s'", f->dir);
	gm_review_free(f->r);
	git_repository_free(f->repo);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(f->dir);
	free(f);
	return 0;
}

/* The text of `path` on the branch now. */
static char *branch_file(struct fixture *f, const char *path)
{
	git_oid tip;
	char *text = NULL;
	size_t len;
	assert_int_equal(git_reference_name_to_id(&tip, f->repo, "refs/heads/" BRANCH), 0);
	assert_int_equal(gm_repo_read_path(&text, &len, f->repo, &tip, path, 1 << 20), 0);
	assert_non_null(text);
	return text;
}

static void assert_file(struct fixture *f, const char *path, const char *want)
{
	char *text = branch_file(f, path);
	assert_string_equal(text, want);
	free(text);
}

static const char *walk_name(const struct gm_review_walk *w, size_t i)
{
	return gm_review_walk_fn(w, i)->name;
}

static void test_the_walk_offers_changed_functions_in_file_order_without_helpers(void **state)
{
	struct fixture *f = *state;
	struct gm_review_walk w;
	const char *ps[] = { "n.py" }, *globs[] = { "b*", "d" }, *none[] = { "other/" };

	assert_int_equal(gm_review_walk_init(&w, f->r, NULL, 0, NULL, 0), 0);
	assert_int_equal(w.n, 4);
	assert_string_equal(walk_name(&w, 0), "a");
	assert_string_equal(walk_name(&w, 1), "b");
	assert_string_equal(walk_name(&w, 2), "c");
	assert_string_equal(walk_name(&w, 3), "d");
	assert_int_equal(gm_review_walk_count(&w, GM_REVIEW_UNDECIDED), 4);
	gm_review_walk_release(&w);

	assert_int_equal(gm_review_walk_init(&w, f->r, ps, 1, NULL, 0), 0);
	assert_int_equal(w.n, 1);
	assert_string_equal(walk_name(&w, 0), "d");
	gm_review_walk_release(&w);
	assert_int_equal(gm_review_walk_init(&w, f->r, NULL, 0, globs, 2), 0);
	assert_int_equal(w.n, 2);
	assert_string_equal(walk_name(&w, 0), "b");
	assert_string_equal(walk_name(&w, 1), "d");
	gm_review_walk_release(&w);
	assert_int_equal(gm_review_walk_init(&w, f->r, none, 1, NULL, 0), 0);
	assert_int_equal(w.n, 0);
	gm_review_walk_release(&w);

	/* the rejected task is in the list of what changed nothing, with its answer */
	assert_int_equal(f->r->nunapplied, 1);
	assert_string_equal(f->r->unapplied[0]->name, "e");
	assert_string_equal(gm_review_find_task(f->r, "n.py:e")->answer, "def e(): pass");
	assert_null(gm_review_find_task(f->r, "n.py:zzz"));
}

static void test_steps_rest_of_file_and_search(void **state)
{
	struct fixture *f = *state;
	struct gm_review_walk w;

	assert_int_equal(gm_review_walk_init(&w, f->r, NULL, 0, NULL, 0), 0);
	/* k at the first: nothing before it without wrapping */
	assert_false(gm_review_walk_step(&w, -1, true, false));
	assert_int_equal(w.cur, 0);
	/* b: drop it and the rest of m.py (c), not d of n.py */
	assert_true(gm_review_walk_step(&w, 1, true, false));
	assert_int_equal(w.cur, 1);
	gm_review_walk_decide(&w, GM_REVIEW_DROP, true);
	assert_int_equal(w.decision[0], GM_REVIEW_UNDECIDED);
	assert_int_equal(w.decision[1], GM_REVIEW_DROP);
	assert_int_equal(w.decision[2], GM_REVIEW_DROP);
	assert_int_equal(w.decision[3], GM_REVIEW_UNDECIDED);
	/* the next undecided after b is d; after d, wrapping, a */
	assert_true(gm_review_walk_step(&w, 1, true, true));
	assert_int_equal(w.cur, 3);
	assert_true(gm_review_walk_step(&w, 1, true, true));
	assert_int_equal(w.cur, 0);
	gm_review_walk_decide(&w, GM_REVIEW_KEEP, false);
	/* a decided "keep" is not undone by a later rest-of-file */
	w.cur = 1;
	gm_review_walk_decide(&w, GM_REVIEW_KEEP, true);
	assert_int_equal(w.decision[0], GM_REVIEW_KEEP);
	assert_int_equal(w.decision[2], GM_REVIEW_DROP);
	/* search: by name or path:name, extended regex, from after the current one */
	assert_int_equal(gm_review_walk_search(&w, "^(c|d)$"), 0);
	assert_int_equal(w.cur, 2);
	assert_int_equal(gm_review_walk_search(&w, "^(c|d)$"), 0);
	assert_int_equal(w.cur, 3);
	assert_int_equal(gm_review_walk_search(&w, "n\\.py:"), 0);
	assert_int_equal(w.cur, 3);
	assert_int_equal(gm_review_walk_search(&w, "zzz"), GM_ENOTFOUND);
	assert_int_equal(gm_review_walk_search(&w, "("), GM_EUSAGE);
	assert_int_equal(w.cur, 3);
	gm_review_walk_release(&w);
}

static void test_dropping_a_and_c_restores_them_byte_for_byte_in_one_commit(void **state)
{
	struct fixture *f = *state;
	struct gm_review_walk w;
	git_oid tip, parent;
	bool wrote;
	git_commit *c = NULL;

	assert_int_equal(gm_review_walk_init(&w, f->r, NULL, 0, NULL, 0), 0);
	gm_review_walk_decide(&w, GM_REVIEW_DROP, false); /* a */
	w.cur = 1;
	gm_review_walk_decide(&w, GM_REVIEW_KEEP, false); /* b */
	w.cur = 2;
	gm_review_walk_decide(&w, GM_REVIEW_DROP, false); /* c; d undecided: kept */
	assert_int_equal(gm_review_walk_apply(&tip, &wrote, f->repo, &w), 0);
	assert_true(wrote);
	/* a and its helper gone back to the base, b as the run wrote it, c without the import */
	assert_file(f, "m.py",
	            "import os\n"
	            "\n"
	            "\n"
	            "def a(x):\n"
	            "    return x\n"
	            "\n"
	            "\n"
	            "def b(x):\n"
	            "    return x + 0\n"
	            "\n"
	            "\n"
	            "def c(x):\n"
	            "    return x\n");
	assert_file(f, "n.py", run_n);
	/* one commit on top of the run */
	assert_int_equal(git_commit_lookup(&c, f->repo, &tip), 0);
	assert_int_equal(git_commit_parentcount(c), 1);
	git_oid_cpy(&parent, git_commit_parent_id(c, 0));
	assert_true(git_oid_equal(&parent, &f->r->tip));
	assert_non_null(strstr(git_commit_message(c), "review: drop 2 functions"));
	assert_non_null(strstr(git_commit_message(c), "m.py: a (+ helpers _a_helper)"));
	git_commit_free(c);
	gm_review_walk_release(&w);

	/* the branch read again: a and c dropped, b and d still to decide */
	gm_review_free(f->r);
	assert_int_equal(gm_review_load(&f->r, f->repo, BRANCH), 0);
	assert_int_equal(gm_review_walk_init(&w, f->r, NULL, 0, NULL, 0), 0);
	assert_int_equal(w.n, 2);
	assert_string_equal(walk_name(&w, 0), "b");
	assert_string_equal(walk_name(&w, 1), "d");
	gm_review_walk_release(&w);

	/* undo: the run's text again, byte for byte */
	assert_int_equal(gm_review_undo_drop(&tip, f->repo, f->r), 0);
	assert_file(f, "m.py", run_m);
	assert_file(f, "n.py", run_n);
}

static void test_keeping_everything_writes_nothing(void **state)
{
	struct fixture *f = *state;
	struct gm_review_walk w;
	git_oid tip, now;
	bool wrote = true;

	assert_int_equal(gm_review_walk_init(&w, f->r, NULL, 0, NULL, 0), 0);
	gm_review_walk_decide(&w, GM_REVIEW_KEEP, true);
	assert_int_equal(gm_review_walk_apply(&tip, &wrote, f->repo, &w), 0);
	assert_false(wrote);
	assert_int_equal(git_reference_name_to_id(&now, f->repo, "refs/heads/" BRANCH), 0);
	assert_true(git_oid_equal(&now, &f->r->tip));
	gm_review_walk_release(&w);
}

static void test_specs_decide_and_a_helper_stands_for_its_function(void **state)
{
	struct fixture *f = *state;
	struct gm_review_walk w;
	const char *helper[] = { "m.py:_a_*", "n.py:d" }, *bad[] = { "m.py:b", "m.py:nope" };
	git_oid tip;
	bool wrote;

	assert_int_equal(gm_review_walk_init(&w, f->r, NULL, 0, NULL, 0), 0);
	assert_int_equal(gm_review_walk_drop_specs(&w, bad, 2), GM_ERROR);
	assert_non_null(strstr(gm_error_last(), "m.py:nope"));
	assert_int_equal(gm_review_walk_count(&w, GM_REVIEW_UNDECIDED), 4);
	assert_int_equal(gm_review_walk_drop_specs(&w, helper, 2), 0);
	assert_int_equal(w.decision[0], GM_REVIEW_DROP);
	assert_int_equal(w.decision[1], GM_REVIEW_KEEP);
	assert_int_equal(w.decision[2], GM_REVIEW_KEEP);
	assert_int_equal(w.decision[3], GM_REVIEW_DROP);
	assert_int_equal(gm_review_walk_apply(&tip, &wrote, f->repo, &w), 0);
	assert_true(wrote);
	/* a back and its helper gone; c keeps the import it needs */
	assert_file(f, "m.py",
	            "import os\n"
	            "import sys\n"
	            "\n"
	            "\n"
	            "def a(x):\n"
	            "    return x\n"
	            "\n"
	            "\n"
	            "def b(x):\n"
	            "    return x + 0\n"
	            "\n"
	            "\n"
	            "def c(x):\n"
	            "    return sys.intern(x)\n");
	assert_file(f, "n.py", base_n);
	gm_review_walk_release(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_the_walk_offers_changed_functions_in_file_order_without_helpers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_steps_rest_of_file_and_search, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_dropping_a_and_c_restores_them_byte_for_byte_in_one_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keeping_everything_writes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_specs_decide_and_a_helper_stands_for_its_function,
		                                setup, teardown),
	};
	int rc;
	git_libgit2_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	git_libgit2_shutdown();
	return rc;
}
