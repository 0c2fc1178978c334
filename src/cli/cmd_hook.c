/*
 * git monitor hook install [--force] | uninstall | run pre-commit
 *
 * install/uninstall manage the pre-commit script (hook.h).  `run
 * pre-commit` is what the script executes: it reports the staged units
 * over monitor.hook.maxComplexity on stderr, one per line as
 * `path:line: name: complexity N (max M)`, and by monitor.hook.mode exits
 * 0 (warn), 1 when any is over (block), or 0 after starting a detached
 * `git monitor refactor` of those units (suggest).  It never changes a
 * file, the index or a ref.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <git2.h>

#include "cli.h"
#include "monitor/config.h"
#include "monitor/error.h"
#include "monitor/hook.h"
#include "monitor/repo.h"
#include "monitor/util.h"
#include "monitor/banned.h"

static const char usage_text[] =
	"usage: git monitor hook install [--force]\n"
	"   or: git monitor hook uninstall\n"
	"   or: git monitor hook run pre-commit\n"
	"\n"
	"Install the pre-commit hook (core.hooksPath and linked worktrees respected;\n"
	"an existing hook is kept and runs first), remove it again, or run the check\n"
	"it performs: staged functions over monitor.hook.maxComplexity (default 15)\n"
	"are reported; monitor.hook.mode is warn (default), block or suggest.";

static int do_install(git_repository *repo, bool force)
{
	enum gm_hook_result res;
	char self[PATH_MAX], *path = NULL;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int rc;

	if (n > 0)
		self[n] = '\0';
	rc = gm_hook_install(&res, &path, repo, n > 0 ? self : NULL, force);
	if (rc < 0)
		return cli_error(rc);
	if (res == GM_HOOK_ALREADY)
		printf("pre-commit hook already installed in %s (refreshed)\n", path);
	else if (res == GM_HOOK_CHAINED)
		printf("installed pre-commit hook in %s; the existing hook was kept as %s and runs first\n",
		       path, GM_HOOK_CHAINED_NAME);
	else
		printf("installed pre-commit hook in %s\n", path);
	free(path);
	return CLI_OK;
}

static int do_uninstall(git_repository *repo)
{
	enum gm_hook_result res;
	char *path = NULL;
	int rc = gm_hook_uninstall(&res, &path, repo);

	if (rc < 0) {
		free(path);
		return cli_error(rc);
	}
	if (res == GM_HOOK_NOT_INSTALLED)
		printf("no pre-commit hook installed in %s\n", path);
	else if (res == GM_HOOK_RESTORED)
		printf("removed pre-commit hook from %s; the previous hook is back\n", path);
	else
		printf("removed pre-commit hook from %s\n", path);
	free(path);
	return CLI_OK;
}

static bool in_list(const struct cli_list *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->items[i], s) == 0)
			return true;
	return false;
}

static void suggest(git_repository *repo, const struct gm_hook_findings *f, const char *prefix,
                    unsigned max)
{
	struct cli_list names = { 0 }, paths = { 0 };
	const char **argv;
	char *max_s = NULL;
	size_t n = 0;
	char *dir = gm_xasprintf("%smonitor", git_repository_commondir(repo));
	char *log = gm_xasprintf("%s/hook.log", dir);

	for (size_t i = 0; i < f->n; i++) {
		if (!in_list(&names, f->items[i].name)) {
			GM_GROW(names.items, names.cap, names.n + 1);
			names.items[names.n++] = f->items[i].name;
		}
		if (!in_list(&paths, f->items[i].path)) {
			GM_GROW(paths.items, paths.cap, paths.n + 1);
			paths.items[paths.n++] = f->items[i].path;
		}
	}
	argv = gm_xcalloc(7 + 2 * names.n + paths.n, sizeof(*argv));
	argv[n++] = "git";
	argv[n++] = "monitor";
	argv[n++] = "refactor";
	/* Ask for the split, and have the log say what came under the threshold. */
	argv[n++] = "--max-complexity";
	argv[n++] = max_s = gm_xasprintf("%u", max);
	for (size_t i = 0; i < names.n; i++) {
		argv[n++] = "--function";
		argv[n++] = names.items[i];
	}
	argv[n++] = "--";
	for (size_t i = 0; i < paths.n; i++)
		argv[n++] = paths.items[i];
	argv[n] = NULL;
	gm_mkdirs(dir);
	/* starts once this commit has landed, so it reads the new HEAD */
	if (gm_hook_spawn_detached(argv, log, repo) < 0)
		fprintf(stderr, "warning: %s\n", gm_error_last());
	else
		fprintf(stderr,
		        "git-monitor: started a background refactor of %zu function%s; "
		        "look for a new branch '%s...' (git branch --list '%s*'); log: %s\n",
		        names.n, names.n == 1 ? "" : "s", prefix, prefix, log);
	free(argv);
	free(max_s);
	free(names.items);
	free(paths.items);
	free(log);
	free(dir);
}

static int do_run(git_repository *repo)
{
	struct gm_config *cfg = NULL;
	struct gm_hook_findings f = { 0 };
	const char *mode, *prefix;
	int64_t max;
	int rc, exit_code = CLI_OK;
	bool block;

	if ((rc = gm_config_load(&cfg, repo)) < 0)
		return cli_error(rc);
	mode = gm_config_string(cfg, "monitor.hook.mode", gm_config_default("monitor.hook.mode"));
	prefix = gm_config_string(cfg, "monitor.branchPrefix",
	                          gm_config_default("monitor.branchPrefix"));
	if (strcmp(mode, "warn") && strcmp(mode, "block") && strcmp(mode, "suggest")) {
		fprintf(stderr, "warning: monitor.hook.mode '%s' is not warn, block or suggest; using warn\n",
		        mode);
		mode = "warn";
	}
	block = strcmp(mode, "block") == 0;
	if ((rc = gm_config_int(&max, cfg, "monitor.hook.maxComplexity")) < 0 ||
	    (rc = gm_hook_check(&f, repo, max > 0 ? (unsigned)max : 0)) < 0) {
		/* our own failure stops a commit only when the user asked us to block */
		exit_code = block ? cli_error(rc) : (cli_error(rc), CLI_OK);
		goto cleanup;
	}
	cli_quote_setup(repo);
	for (size_t i = 0; i < f.n; i++) {
		char *path = cli_path(f.items[i].path), *name = cli_name(f.items[i].name);
		fprintf(stderr, "%s:%u: %s: complexity %u (max %lld)\n", path, f.items[i].line, name,
		        f.items[i].complexity, (long long)max);
		free(path);
		free(name);
	}
	if (!f.n)
		goto cleanup;
	if (block) {
		fprintf(stderr,
		        "git-monitor: commit blocked: %zu function%s over complexity %lld\n"
		        "hint: commit anyway with 'git commit --no-verify', or only warn with "
		        "'git config monitor.hook.mode warn'\n",
		        f.n, f.n == 1 ? "" : "s", (long long)max);
		exit_code = CLI_FAILED;
	} else if (strcmp(mode, "suggest") == 0) {
		suggest(repo, &f, prefix, max > 0 ? (unsigned)max : 0);
	}
cleanup:
	gm_hook_findings_release(&f);
	gm_config_free(cfg);
	return exit_code;
}

int cmd_hook(int argc, char **argv)
{
	bool force = false;
	struct cli_list rest = { 0 };
	const struct cli_opt opts[] = {
		{ 0, "force", CLI_OPT_FLAG, &force, NULL, "install: chain an existing hook even if it is a link, a directory, or one is chained already" },
		{ 0, NULL, 0, NULL, NULL, NULL },
	};
	git_repository *repo = NULL;
	const char *sub;
	int exit_code = 0, rc;

	if (cli_parse(argc, argv, opts, &rest, usage_text, &exit_code) < 0)
		goto cleanup;
	sub = rest.n ? rest.items[0] : NULL;
	if (!sub || (strcmp(sub, "install") && strcmp(sub, "uninstall") && strcmp(sub, "run"))) {
		exit_code = cli_fail(CLI_USAGE, "expected install, uninstall or run; see 'git monitor hook -h'");
		goto cleanup;
	}
	if (force && strcmp(sub, "install")) {
		exit_code = cli_fail(CLI_USAGE, "--force goes with 'install' only");
		goto cleanup;
	}
	if (strcmp(sub, "run") == 0 ? (rest.n != 2 || strcmp(rest.items[1], "pre-commit")) : rest.n != 1) {
		exit_code = cli_fail(CLI_USAGE, strcmp(sub, "run") == 0
		                                        ? "'hook run' takes one hook name: pre-commit"
		                                        : "too many arguments; see 'git monitor hook -h'");
		goto cleanup;
	}
	if ((rc = gm_repo_open(&repo, NULL)) < 0) {
		exit_code = cli_error(rc);
		goto cleanup;
	}
	if (strcmp(sub, "install") == 0)
		exit_code = do_install(repo, force);
	else if (strcmp(sub, "uninstall") == 0)
		exit_code = do_uninstall(repo);
	else
		exit_code = do_run(repo);
cleanup:
	git_repository_free(repo);
	cli_list_release(&rest);
	return exit_code;
}
