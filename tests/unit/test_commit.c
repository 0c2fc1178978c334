/*
 * commit and notes modules against real repositories in temp directories:
 * the commit holds exactly the requested changes (modes kept, other blobs
 * identical, parent = base), branch names follow the rules and never
 * overwrite, notes round-trip, the temporary checkout has the commit's
 * files, and the user's HEAD, index, refs and working tree are
 * byte-identical afterwards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <git2.h>

#include "monitor/commit.h"
#include "monitor/error.h"
#include "monitor/notes.h"
#include "monitor/util.h"

struct fixture {
	char *dir;  /* temp root */
	char *path; /* the repository's working tree */
	git_repository *repo;
	git_oid head;
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

static void put(const char *root, const char *rel, const char *text, int mode)
{
	char *p = gm_xasprintf("%s/%s", root, rel);
	FILE *f;
	char *slash = strrchr(p, '/');
	*slash = '\0';
	gm_mkdirs(p);
	*slash = '/';
	f = fopen(p, "wb");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(p, (mode_t)mode);
	free(p);
}

static char *slurp(const char *root, const char *rel)
{
	char *p = gm_xasprintf("%s/%s", root, rel), *data = NULL;
	size_t len;
	if (gm_read_file(&data, &len, p, 1 << 24) < 0)
		data = NULL;
	free(p);
	return data;
}

static void identity_env(void)
{
	setenv("GIT_AUTHOR_NAME", "Test Author", 1);
	setenv("GIT_AUTHOR_EMAIL", "author@example.com", 1);
	setenv("GIT_COMMITTER_NAME", "Test Committer", 1);
	setenv("GIT_COMMITTER_EMAIL", "committer@example.com", 1);
}

static int setup(void **state)
{
	struct fixture *fx = gm_xcalloc(1, sizeof(*fx));
	char tmpl[] = "/tmp/gm-test-commit-XXXXXX";
	char *out;

	assert_non_null(mkdtemp(tmpl));
	fx->dir = gm_xstrdup(tmpl);
	fx->path = gm_xasprintf("%s/repo", fx->dir);
	gm_mkdirs(fx->path);
	setenv("HOME", fx->dir, 1);
	setenv("XDG_CONFIG_HOME", fx->dir, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("TZ", "UTC", 1);
	/* libgit2 read $HOME at init: point its global/xdg/system config here */
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_GLOBAL, fx->dir);
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_XDG, fx->dir);
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_SYSTEM, fx->dir);
	identity_env();
	put(fx->path, "a.py", "def a():\n    return 1\n", 0644);
	put(fx->path, "sub/b.py", "def b():\n    return 2\n", 0644);
	put(fx->path, "run.sh", "#!/bin/sh\necho run\n", 0755);
	free(run(fx->path, "git init -q -b main && git add -A && git commit -q -m base"));
	/* The user's state we must not disturb: staged, unstaged, untracked. */
	put(fx->path, "sub/b.py", "def b():\n    return 22\n", 0644);
	free(run(fx->path, "git add sub/b.py"));
	put(fx->path, "a.py", "def a():\n    return 'unstaged'\n", 0644);
	put(fx->path, "untracked.txt", "mine\n", 0644);
	out = run(fx->path, "git rev-parse HEAD");
	assert_int_equal(git_oid_fromstrn(&fx->head, out, GIT_OID_HEXSZ), 0);
	free(out);
	assert_int_equal(git_repository_open(&fx->repo, fx->path), 0);
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
	free(fx->path);
	free(fx->dir);
	free(fx);
	return 0;
}

/* Bytes of everything the user could lose. */
static char *user_state(const struct fixture *fx)
{
	static const char *const files[] = { ".git/HEAD", ".git/index", "a.py", "sub/b.py",
		                             "run.sh", "untracked.txt" };
	struct gm_buf b = GM_BUF_INIT;
	char *refs = run(fx->path, "git for-each-ref --format='%(refname) %(objectname)' refs/heads");
	char *status = run(fx->path, "ls -la . sub | grep -v '^total' | awk '{print $1, $NF}'");

	gm_buf_printf(&b, "refs:\n%s\nls:\n%s\n", refs, status);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *data = slurp(fx->path, files[i]);
		assert_non_null(data);
		gm_buf_printf(&b, "== %s\n", files[i]);
		/* .git/index is binary: compare it by length and a hex dump of bytes */
		{
			char *p = gm_xasprintf("%s/%s", fx->path, files[i]);
			char *d = NULL;
			size_t len = 0;
			assert_int_equal(gm_read_file(&d, &len, p, 1 << 24), 0);
			for (size_t k = 0; k < len; k++)
				gm_buf_printf(&b, "%02x", (unsigned char)d[k]);
			gm_buf_puts(&b, "\n");
			free(d);
			free(p);
		}
		free(data);
	}
	free(refs);
	free(status);
	return gm_buf_detach(&b, NULL);
}

static char *blob_at(git_repository *repo, const git_oid *commit, const char *path,
                     git_filemode_t *mode, git_oid *id)
{
	git_commit *c = NULL;
	git_tree *t = NULL;
	git_tree_entry *e = NULL;
	git_blob *blob = NULL;
	char *text = NULL;

	assert_int_equal(git_commit_lookup(&c, repo, commit), 0);
	assert_int_equal(git_commit_tree(&t, c), 0);
	if (git_tree_entry_bypath(&e, t, path) == 0) {
		if (mode)
			*mode = git_tree_entry_filemode(e);
		if (id)
			git_oid_cpy(id, git_tree_entry_id(e));
		assert_int_equal(git_blob_lookup(&blob, repo, git_tree_entry_id(e)), 0);
		text = gm_xstrndup(git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
	}
	git_blob_free(blob);
	git_tree_entry_free(e);
	git_tree_free(t);
	git_commit_free(c);
	return text;
}

static void test_slug_rules(void **state)
{
	static const struct {
		const char *goal, *slug;
	} cases[] = {
		/* cut between words, not inside one */
		{ "Replace manual error strings with the err() helper", "replace-manual-error-strings-with-the" },
		{ "simplify control flow without changing behaviour", "simplify-control-flow-without-changing" },
		/* one word longer than the limit is cut where it must be */
		{ "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz", "abcdefghijklmnopqrstuvwxyzabcdefghijklmn" },
		{ "  Hello,  World!! ", "hello-world" },
		{ "", "refactor" },
		{ NULL, "refactor" },
		{ "\xe6\x97\xa5\xe6\x9c\xac!!", "refactor" },
		{ "caf\xc3\xa9 au lait", "caf-au-lait" },
		/* a dash would fall on the 40th byte: it is dropped */
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa bbb", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = gm_commit_slug(cases[i].goal);
		assert_string_equal(s, cases[i].slug);
		assert_true(strlen(s) <= 40);
		free(s);
	}
}

static void test_branch_name_format_and_validation(void **state)
{
	char *name = NULL;
	time_t when = 1704164645; /* 2024-01-02 03:04:05 UTC */
	(void)state;

	assert_int_equal(gm_commit_branch_name(&name, NULL, "Use err() helper", when, NULL), 0);
	assert_string_equal(name, "monitor/20240102-030405-use-err-helper");
	free(name);
	assert_int_equal(gm_commit_branch_name(&name, "bot/", "", when, NULL), 0);
	assert_string_equal(name, "bot/20240102-030405-refactor");
	free(name);
	assert_int_equal(gm_commit_branch_name(&name, NULL, "x", when, "feature/mine"), 0);
	assert_string_equal(name, "feature/mine");
	free(name);
	assert_int_equal(gm_commit_branch_name(&name, NULL, "x", when, "bad..name"), GM_EUSAGE);
	assert_null(name);
	assert_non_null(strstr(gm_error_last(), "'bad..name'"));
	assert_int_equal(gm_commit_branch_name(&name, "a b/", "x", when, NULL), GM_EUSAGE);
}

static void test_branch_collision_adds_suffixes(void **state)
{
	struct fixture *fx = *state;
	char *n1 = NULL, *n2 = NULL, *n3 = NULL, *before = user_state(fx), *after, *out;
	git_oid other;

	/* the branch "main" exists: writing "main" must not move it */
	assert_int_equal(gm_commit_write_branch(&n1, fx->repo, "main", &fx->head, "test", NULL), 0);
	assert_string_equal(n1, "main-2");
	assert_int_equal(gm_commit_write_branch(&n2, fx->repo, "main", &fx->head, "test", NULL), 0);
	assert_string_equal(n2, "main-3");
	free(n1);
	free(n2);
	assert_int_equal(gm_commit_write_branch(&n1, fx->repo, "monitor/x", &fx->head, "test", NULL), 0);
	assert_string_equal(n1, "monitor/x");
	/* a different commit on a taken name still gets a new branch */
	out = run(fx->path, "git commit-tree -p HEAD -m other HEAD^{tree}");
	assert_int_equal(git_oid_fromstrn(&other, out, GIT_OID_HEXSZ), 0);
	free(out);
	assert_int_equal(gm_commit_write_branch(&n3, fx->repo, "monitor/x", &other, "test", NULL), 0);
	assert_string_equal(n3, "monitor/x-2");
	out = run(fx->path, "git rev-parse monitor/x monitor/x-2 main");
	{
		char h[GIT_OID_HEXSZ + 1], o[GIT_OID_HEXSZ + 1];
		char *expect = gm_xasprintf("%s\n%s\n%s\n", git_oid_tostr(h, sizeof(h), &fx->head),
		                            git_oid_tostr(o, sizeof(o), &other), h);
		assert_string_equal(out, expect);
		free(expect);
	}
	free(out);
	out = run(fx->path, "git reflog show --format=%gs monitor/x-2");
	assert_string_equal(out, "test\n");
	free(out);
	assert_int_equal(gm_commit_write_branch(&n2, fx->repo, "bad..name", &fx->head, "t", NULL), GM_EUSAGE);
	after = user_state(fx);
	/* only the refs list differs: the new branches; main is where it was */
	assert_non_null(strstr(after, "refs/heads/main "));
	{
		char *b = strstr(before, "\nls:"), *a = strstr(after, "\nls:");
		assert_string_equal(a, b);
	}
	free(n1);
	free(n3);
	free(before);
	free(after);
}

static void test_commit_has_exactly_the_changes(void **state)
{
	struct fixture *fx = *state;
	static const char new_a[] = "def a():\n    return 100\n";
	static const char new_run[] = "#!/bin/sh\necho refactored\n";
	static const char new_file[] = "def n():\n    pass\n";
	const struct gm_change changes[] = {
		{ "a.py", new_a, sizeof(new_a) - 1 },
		{ "run.sh", new_run, sizeof(new_run) - 1 },
		{ "pkg/new.py", new_file, sizeof(new_file) - 1 },
	};
	char *before = user_state(fx), *after, *text, *branch = NULL;
	git_oid commit, id_base, id_new;
	git_filemode_t mode = 0;
	git_commit *c = NULL;

	assert_int_equal(gm_commit_create(&commit, fx->repo, &fx->head, changes, 3, "refactor: x\n"), 0);
	text = blob_at(fx->repo, &commit, "a.py", &mode, NULL);
	assert_string_equal(text, new_a);
	assert_int_equal(mode, GIT_FILEMODE_BLOB);
	free(text);
	text = blob_at(fx->repo, &commit, "run.sh", &mode, NULL);
	assert_string_equal(text, new_run);
	assert_int_equal(mode, GIT_FILEMODE_BLOB_EXECUTABLE);
	free(text);
	text = blob_at(fx->repo, &commit, "pkg/new.py", &mode, NULL);
	assert_string_equal(text, new_file);
	assert_int_equal(mode, GIT_FILEMODE_BLOB);
	free(text);
	/* untouched file: the very same blob as in the base (not the staged one) */
	free(blob_at(fx->repo, &fx->head, "sub/b.py", NULL, &id_base));
	free(blob_at(fx->repo, &commit, "sub/b.py", NULL, &id_new));
	assert_true(git_oid_equal(&id_base, &id_new));
	{
		char *names = run(fx->path, "git ls-tree -r --name-only HEAD");
		char *cmd = gm_xasprintf("git ls-tree -r --name-only %s",
		                         git_oid_tostr_s(&commit));
		char *names2 = run(fx->path, cmd);
		assert_string_equal(names2, "a.py\npkg/new.py\nrun.sh\nsub/b.py\n");
		assert_string_equal(names, "a.py\nrun.sh\nsub/b.py\n");
		free(names);
		free(names2);
		free(cmd);
	}
	assert_int_equal(git_commit_lookup(&c, fx->repo, &commit), 0);
	assert_int_equal(git_commit_parentcount(c), 1);
	assert_true(git_oid_equal(git_commit_parent_id(c, 0), &fx->head));
	assert_string_equal(git_commit_message(c), "refactor: x\n");
	assert_string_equal(git_commit_author(c)->name, "Test Author");
	assert_string_equal(git_commit_committer(c)->email, "committer@example.com");
	git_commit_free(c);

	assert_int_equal(gm_commit_write_branch(&branch, fx->repo, "monitor/t", &commit, "monitor: t", NULL), 0);
	after = user_state(fx);
	/* refs differ by the new branch only */
	{
		char *b = strstr(before, "\nls:"), *a = strstr(after, "\nls:");
		assert_string_equal(a, b);
		assert_non_null(strstr(after, "refs/heads/monitor/t "));
		assert_null(strstr(before, "refs/heads/monitor/t "));
	}
	free(branch);
	free(before);
	free(after);

	/* a change that would turn a directory into a file is refused */
	{
		const struct gm_change bad = { "sub", "x", 1 };
		assert_int_equal(gm_commit_create(&commit, fx->repo, &fx->head, &bad, 1, "m"), GM_EINVALID);
		assert_non_null(strstr(gm_error_last(), "'sub'"));
	}
}

static void test_missing_identity_gives_hint(void **state)
{
	struct fixture *fx = *state;
	const struct gm_change ch = { "a.py", "x\n", 2 };
	git_oid commit;
	git_commit *c = NULL;

	unsetenv("GIT_AUTHOR_NAME");
	unsetenv("GIT_AUTHOR_EMAIL");
	unsetenv("GIT_COMMITTER_NAME");
	unsetenv("GIT_COMMITTER_EMAIL");
	assert_int_equal(gm_commit_create(&commit, fx->repo, &fx->head, &ch, 1, "m"), GM_ERROR);
	assert_non_null(strstr(gm_error_last(), "set user.name and user.email"));
	assert_null(strchr(gm_error_last(), '\n'));
	/* from git config */
	free(run(fx->path, "git config user.name 'Config User' && git config user.email cfg@example.com"));
	git_repository_free(fx->repo); /* a fresh handle reads the new config */
	assert_int_equal(git_repository_open(&fx->repo, fx->path), 0);
	assert_int_equal(gm_commit_create(&commit, fx->repo, &fx->head, &ch, 1, "m"), 0);
	assert_int_equal(git_commit_lookup(&c, fx->repo, &commit), 0);
	assert_string_equal(git_commit_author(c)->name, "Config User");
	assert_string_equal(git_commit_committer(c)->email, "cfg@example.com");
	git_commit_free(c);
	identity_env();
}

static void test_snapshot_of_the_index(void **state)
{
	struct fixture *fx = *state;
	char *before = user_state(fx), *after, *text;
	git_oid snap, top;
	git_commit *c = NULL;
	const struct gm_change ch = { "a.py", "def a():\n    return 3\n", 22 };

	assert_int_equal(gm_commit_snapshot_index(&snap, fx->repo, "staged snapshot"), 0);
	text = blob_at(fx->repo, &snap, "sub/b.py", NULL, NULL);
	assert_string_equal(text, "def b():\n    return 22\n"); /* staged, not HEAD */
	free(text);
	text = blob_at(fx->repo, &snap, "a.py", NULL, NULL);
	assert_string_equal(text, "def a():\n    return 1\n"); /* not the unstaged edit */
	free(text);
	assert_null(blob_at(fx->repo, &snap, "untracked.txt", NULL, NULL));
	assert_int_equal(git_commit_lookup(&c, fx->repo, &snap), 0);
	assert_int_equal(git_commit_parentcount(c), 1);
	assert_true(git_oid_equal(git_commit_parent_id(c, 0), &fx->head));
	git_commit_free(c);
	/* the refactor goes on top and keeps the staged content of other files */
	assert_int_equal(gm_commit_create(&top, fx->repo, &snap, &ch, 1, "refactor"), 0);
	text = blob_at(fx->repo, &top, "sub/b.py", NULL, NULL);
	assert_string_equal(text, "def b():\n    return 22\n");
	free(text);
	after = user_state(fx);
	assert_string_equal(after, before);
	free(before);
	free(after);
}

static void test_snapshot_on_unborn_head_is_a_root_commit(void **state)
{
	struct fixture *fx = *state;
	char *dir = gm_xasprintf("%s/unborn", fx->dir), *text;
	git_repository *repo = NULL;
	git_commit *c = NULL;
	git_oid snap;
	(void)state;

	gm_mkdirs(dir);
	put(dir, "x.py", "def x():\n    pass\n", 0644);
	free(run(dir, "git init -q -b main && git add x.py"));
	assert_int_equal(git_repository_open(&repo, dir), 0);
	assert_int_equal(gm_commit_snapshot_index(&snap, repo, "snapshot"), 0);
	assert_int_equal(git_commit_lookup(&c, repo, &snap), 0);
	assert_int_equal(git_commit_parentcount(c), 0);
	text = blob_at(repo, &snap, "x.py", NULL, NULL);
	assert_string_equal(text, "def x():\n    pass\n");
	free(text);
	text = slurp(dir, ".git/HEAD");
	assert_string_equal(text, "ref: refs/heads/main\n");
	free(text);
	git_commit_free(c);
	git_repository_free(repo);
	free(dir);
}

static void test_notes_round_trip(void **state)
{
	struct fixture *fx = *state;
	char *text = NULL, *before = user_state(fx), *after, *out;

	assert_int_equal(gm_notes_read(&text, fx->repo, &fx->head), GM_ENOTFOUND);
	assert_null(text);
	assert_int_equal(gm_notes_write(fx->repo, &fx->head, "{\"run\":1}\n", NULL), 0);
	assert_int_equal(gm_notes_read(&text, fx->repo, &fx->head), 0);
	assert_string_equal(text, "{\"run\":1}\n");
	free(text);
	/* a re-run replaces the note */
	assert_int_equal(gm_notes_update(fx->repo, &fx->head, "{\"run\":2}\n", NULL), 0);
	assert_int_equal(gm_notes_read(&text, fx->repo, &fx->head), 0);
	assert_string_equal(text, "{\"run\":2}\n");
	free(text);
	/* git itself sees it */
	out = run(fx->path, "git notes --ref=monitor show HEAD");
	assert_string_equal(out, "{\"run\":2}\n");
	free(out);
	after = user_state(fx);
	assert_string_equal(after, before); /* refs/heads untouched */
	assert_int_equal(gm_notes_remove(fx->repo, &fx->head), 0);
	assert_int_equal(gm_notes_remove(fx->repo, &fx->head), GM_ENOTFOUND);
	free(before);
	free(after);
}

static void test_message_lists_helpers_under_their_function(void **state)
{
	const char *const helpers[] = { "Parser.check", "Parser.scan_item" };
	const struct gm_commit_fn fns[] = {
		{ "src/a.py", "Parser.parse", "local", "m", 1, helpers, 2 },
		{ "src/b.c", "parse_array", "local", "m", 2, (const char *const[]){ "parse_array_item" }, 1 },
	};
	struct gm_commit_msg m = { "split", fns, 2, "r", NULL, 0 };
	char *msg = gm_commit_message(&m);
	(void)state;
	assert_non_null(strstr(msg, "\nsrc/a.py: Parser.parse (+ helpers Parser.check, Parser.scan_item) "
	                            "(local:m, 1 attempt)\n"
	                            "src/b.c: parse_array (+ helper parse_array_item) (local:m, 2 attempts)\n"));
	free(msg);
}

static void test_message_format(void **state)
{
	const struct gm_commit_fn fns[] = {
		{ "src/a.py", "Parser.parse", "local", "qwen2.5-coder-7b", 1, NULL, 0 },
		{ "src/b.py", "helper", "claude", "claude-sonnet-4", 3, NULL, 0 },
		{ "src/c.py", "other", "local", "qwen2.5-coder-7b", 2, NULL, 0 },
	};
	struct gm_commit_msg m = { "Replace manual error strings with the err() helper everywhere in the parser\nsecond line",
		                   fns, 3, "20240102-030405-abcd", NULL, 0.0123 };
	char *msg = gm_commit_message(&m);
	const char *nl = strchr(msg, '\n');
	(void)state;

	assert_string_equal(msg,
	                    "refactor: Replace manual error strings with the err() helper...\n"
	                    "\n"
	                    "src/a.py: Parser.parse (local:qwen2.5-coder-7b, 1 attempt)\n"
	                    "src/b.py: helper (claude:claude-sonnet-4, 3 attempts)\n"
	                    "src/c.py: other (local:qwen2.5-coder-7b, 2 attempts)\n"
	                    "\n"
	                    "Monitor-Run: 20240102-030405-abcd\n"
	                    "Monitor-Models: local:qwen2.5-coder-7b, claude:claude-sonnet-4\n"
	                    "Monitor-Cost: $0.0123\n");
	assert_true(nl - msg <= 10 + 60);
	free(msg);
	m.goal = "short goal";
	m.nfns = 0;
	m.models = "local:m";
	m.cost_usd = 0;
	msg = gm_commit_message(&m);
	assert_string_equal(msg, "refactor: short goal\n\nMonitor-Run: 20240102-030405-abcd\n"
	                         "Monitor-Models: local:m\nMonitor-Cost: $0.0000\n");
	free(msg);
}

static void test_temp_checkout_has_the_commit(void **state)
{
	struct fixture *fx = *state;
	static const char new_a[] = "def a():\n    return 'checked out'\n";
	const struct gm_change ch = { "a.py", new_a, sizeof(new_a) - 1 };
	char *before = user_state(fx), *after, *dir = NULL, *text;
	git_oid commit;
	struct stat st;

	assert_int_equal(gm_commit_create(&commit, fx->repo, &fx->head, &ch, 1, "m"), 0);
	assert_int_equal(gm_commit_checkout_temp(&dir, fx->repo, &commit), 0);
	assert_non_null(dir);
	assert_null(strstr(dir, fx->path));
	text = slurp(dir, "a.py");
	assert_string_equal(text, new_a);
	free(text);
	text = slurp(dir, "sub/b.py");
	assert_string_equal(text, "def b():\n    return 2\n"); /* the commit's, not the index's */
	free(text);
	text = gm_xasprintf("%s/run.sh", dir);
	assert_int_equal(stat(text, &st), 0);
	assert_true(st.st_mode & S_IXUSR);
	free(text);
	assert_null(slurp(dir, "untracked.txt"));
	after = user_state(fx);
	assert_string_equal(after, before);
	assert_int_equal(gm_commit_checkout_remove(dir), 0);
	assert_int_equal(stat(dir, &st), -1);
	free(dir);
	free(before);
	free(after);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slug_rules),
		cmocka_unit_test(test_branch_name_format_and_validation),
		cmocka_unit_test(test_message_format),
		cmocka_unit_test(test_message_lists_helpers_under_their_function),
		cmocka_unit_test_setup_teardown(test_branch_collision_adds_suffixes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_has_exactly_the_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_identity_gives_hint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_of_the_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_on_unborn_head_is_a_root_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notes_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_temp_checkout_has_the_commit, setup, teardown),
	};
	int rc;
	setenv("TZ", "UTC", 1);
	tzset();
	git_libgit2_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	git_libgit2_shutdown();
	return rc;
}
