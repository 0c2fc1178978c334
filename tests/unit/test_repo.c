/*
 * gm_repo_changed_lines, the diff half of "which units does this change
 * touch" (the hook's and `refactor --since/--staged`'s): the new side's
 * changed lines per file, a pure deletion as {s + 1, s}, deleted files
 * left out, files sorted by path, tree to tree and tree to index alike.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <git2.h>

#include "monitor/error.h"
#include "monitor/repo.h"
#include "monitor/util.h"

struct fixture {
	char dir[64];
	git_repository *repo;
};

static int setup(void **state)
{
	struct fixture *fx = gm_xcalloc(1, sizeof(*fx));
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/gm-test-repo-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	assert_int_equal(git_repository_init(&fx->repo, fx->dir, 0), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char *cmd = gm_xasprintf("rm -rf '%s'", fx->dir);
	git_repository_free(fx->repo);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(fx);
	return 0;
}

/* A tree of files given as path, text, path, text, ..., NULL (top level only). */
static git_tree *tree_of(git_repository *repo, ...)
{
	git_treebuilder *tb = NULL;
	git_tree *tree = NULL;
	git_oid blob, id;
	const char *path;
	va_list ap;

	assert_int_equal(git_treebuilder_new(&tb, repo, NULL), 0);
	va_start(ap, repo);
	while ((path = va_arg(ap, const char *)) != NULL) {
		const char *text = va_arg(ap, const char *);
		assert_int_equal(git_blob_create_from_buffer(&blob, repo, text, strlen(text)), 0);
		assert_int_equal(git_treebuilder_insert(NULL, tb, path, &blob, GIT_FILEMODE_BLOB), 0);
	}
	va_end(ap);
	assert_int_equal(git_treebuilder_write(&id, tb), 0);
	assert_int_equal(git_tree_lookup(&tree, repo, &id), 0);
	git_treebuilder_free(tb);
	return tree;
}

static void expect_ranges(const struct gm_changed_lines *c, const char *path, const char *want)
{
	const struct gm_file_lines *f = gm_changed_lines_find(c, path);
	struct gm_buf b = GM_BUF_INIT;
	char *got;
	assert_non_null(f);
	assert_string_equal(f->path, path);
	for (size_t i = 0; i < f->n; i++)
		gm_buf_printf(&b, "%s%u-%u", i ? " " : "", f->ranges[i].start, f->ranges[i].end);
	got = gm_buf_detach(&b, NULL);
	assert_string_equal(got, want);
	free(got);
}

static void tree_to_tree_gives_new_side_lines_and_deletions_as_empty_ranges(void **state)
{
	struct fixture *fx = *state;
	git_tree *old = tree_of(fx->repo, "m.py", "a\nb\nc\nd\n", "gone.c", "x\n", "top.c", "x\ny\n",
	                        "same.c", "s\n", NULL);
	git_tree *new = tree_of(fx->repo, "m.py", "a\nc\nd\nX\nY\n", "top.c", "y\n", "same.c", "s\n",
	                        "new.c", "1\n2\n3\n", NULL);
	struct gm_changed_lines c;

	assert_int_equal(gm_repo_changed_lines(&c, fx->repo, old, new, NULL), 0);
	/* Sorted by path; a deleted file has no lines on the new side; an unchanged one is absent. */
	assert_int_equal(c.n, 3);
	assert_string_equal(c.files[0].path, "m.py");
	assert_string_equal(c.files[1].path, "new.c");
	assert_string_equal(c.files[2].path, "top.c");
	assert_null(gm_changed_lines_find(&c, "gone.c"));
	assert_null(gm_changed_lines_find(&c, "same.c"));
	/* "b" removed after line 1; X and Y added as lines 4-5. */
	expect_ranges(&c, "m.py", "2-1 4-5");
	expect_ranges(&c, "new.c", "1-3");
	/* Removed at the very top: after line 0. */
	expect_ranges(&c, "top.c", "1-0");
	gm_changed_lines_release(&c);

	/* From the empty tree everything is new. */
	assert_int_equal(gm_repo_changed_lines(&c, fx->repo, NULL, new, NULL), 0);
	assert_int_equal(c.n, 4);
	expect_ranges(&c, "m.py", "1-5");
	gm_changed_lines_release(&c);
	git_tree_free(old);
	git_tree_free(new);
}

static void tree_to_index_reads_the_staged_content(void **state)
{
	struct fixture *fx = *state;
	git_tree *head = tree_of(fx->repo, "f.c", "int f(void)\n{\n\treturn 1;\n}\n\nint g;\n", NULL);
	const char *staged = "int f(void)\n{\n\treturn 1;\n}\n";
	git_index *index = NULL;
	git_index_entry e;
	struct gm_changed_lines c;

	assert_int_equal(git_repository_index(&index, fx->repo), 0);
	memset(&e, 0, sizeof(e));
	e.path = "f.c";
	e.mode = GIT_FILEMODE_BLOB;
	assert_int_equal(git_index_add_from_buffer(index, &e, staged, strlen(staged)), 0);
	/* The lines after f's closing brace went: a deletion after line 4. */
	assert_int_equal(gm_repo_changed_lines(&c, fx->repo, head, NULL, index), 0);
	assert_int_equal(c.n, 1);
	expect_ranges(&c, "f.c", "5-4");
	gm_changed_lines_release(&c);
	/* NULL: the repository's own index, the same object here. */
	assert_int_equal(gm_repo_changed_lines(&c, fx->repo, head, NULL, NULL), 0);
	expect_ranges(&c, "f.c", "5-4");
	gm_changed_lines_release(&c);
	git_index_free(index);
	git_tree_free(head);
}

static void wildmatch_follows_git(void **state)
{
	(void)state;
	/* Without pathname, '*' crosses directories (git's default pathspecs). */
	assert_true(gm_wildmatch("*.py", "a/b/c.py", false, false));
	assert_false(gm_wildmatch("*.py", "a/b/c.py", true, false));
	assert_true(gm_wildmatch("*.py", "c.py", true, false));
	assert_true(gm_wildmatch("**/c.py", "c.py", true, false));
	assert_true(gm_wildmatch("**/c.py", "a/b/c.py", true, false));
	assert_true(gm_wildmatch("a/**/c.py", "a/c.py", true, false));
	assert_true(gm_wildmatch("a/**/c.py", "a/x/y/c.py", true, false));
	assert_false(gm_wildmatch("a/**/c.py", "b/a/c.py", true, false));
	assert_true(gm_wildmatch("a/**", "a/x/y", true, false));
	assert_false(gm_wildmatch("a/**", "a", true, false));
	assert_true(gm_wildmatch("a**b", "axxb", true, false)); /* not a whole component: one '*' */
	assert_false(gm_wildmatch("a**b", "ax/xb", true, false));
	assert_true(gm_wildmatch("?.c", "x.c", true, false));
	assert_false(gm_wildmatch("?", "/", true, false));
	assert_true(gm_wildmatch("[a-c]x", "bx", true, false));
	assert_false(gm_wildmatch("[!a-c]x", "bx", true, false));
	assert_true(gm_wildmatch("[]]x", "]x", true, false));
	assert_true(gm_wildmatch("[[:digit:]]x", "7x", true, false));
	assert_true(gm_wildmatch("a\\*b", "a*b", true, false));
	assert_false(gm_wildmatch("a\\*b", "axb", true, false));
	assert_true(gm_wildmatch("SRC/*.PY", "src/a.py", true, true));
	assert_false(gm_wildmatch("SRC/*.PY", "src/a.py", true, false));
	assert_false(gm_wildmatch("[abc", "a", true, false));
	/* Many stars on a long miss stay fast (the aborts prune). */
	assert_false(gm_wildmatch("*a*a*a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false, false));
}

static void pathspecs_from_a_subdirectory_are_made_top_relative(void **state)
{
	const char *in[] = { "stock.py", ".", "../top.py", ":(top)x", ":/y", ":(glob,icase)*.PY", ":!deep",
	                     "a//b/./c/", "sub/.." };
	const char *want[] = { ":(prefix:4)inv/stock.py", ":(prefix:4)inv/", ":(prefix:0)top.py",
	                       ":(prefix:0)x", ":(prefix:0)y", ":(glob,icase,prefix:4)inv/*.PY",
	                       ":(exclude,prefix:4)inv/deep", ":(prefix:4)inv/a/b/c/", ":(prefix:4)inv/" };
	const char *bad[] = { "../../x", ":(badmagic)x", ":(top", "", ":(literal,glob)x", ":(attr:x)y" };
	struct gm_pathspec *ps = NULL;
	char **out = NULL;
	(void)state;

	assert_int_equal(gm_pathspec_prefix(&out, "inv/", in, 9), 0);
	for (size_t i = 0; i < 9; i++)
		assert_string_equal(out[i], want[i]);
	/* The prefix is literal even where it holds wildcard characters. */
	assert_int_equal(gm_pathspec_new(&ps, (const char *const *)out, 9), 0);
	assert_true(gm_pathspec_matches(ps, "inv/stock.py"));
	assert_true(gm_pathspec_matches(ps, "top.py"));
	assert_false(gm_pathspec_matches(ps, "inv/deep/x.py"));
	gm_pathspec_free(ps);
	gm_pathspec_strv_free(out, 9);
	{
		const char *glob_dir[] = { "*.c" };
		assert_int_equal(gm_pathspec_prefix(&out, "we[i]rd/", glob_dir, 1), 0);
		assert_int_equal(gm_pathspec_new(&ps, (const char *const *)out, 1), 0);
		assert_true(gm_pathspec_matches(ps, "we[i]rd/a.c"));
		assert_false(gm_pathspec_matches(ps, "weird/a.c"));
		gm_pathspec_free(ps);
		gm_pathspec_strv_free(out, 1);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(gm_pathspec_prefix(&out, "inv/", &bad[i], 1), GM_EUSAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(tree_to_tree_gives_new_side_lines_and_deletions_as_empty_ranges,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(tree_to_index_reads_the_staged_content, setup, teardown),
		cmocka_unit_test(wildmatch_follows_git),
		cmocka_unit_test(pathspecs_from_a_subdirectory_are_made_top_relative),
	};
	int rc;
	git_libgit2_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	git_libgit2_shutdown();
	return rc;
}
