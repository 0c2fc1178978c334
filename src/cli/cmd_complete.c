/*
 * git monitor __complete functions | changed [<branch>]
 *
 * What the shell completions (src/cli/completion/) offer that only a scan
 * knows, one per line on stdout: the function names of HEAD (for
 * `refactor -f`), or a generated branch's changed functions as
 * path:function (for `review --drop`; default the newest branch).  Not a
 * command for people: not in the help, errors are silent (exit 1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>

#include "cli.h"
#include "monitor/config.h"
#include "monitor/error.h"
#include "monitor/index.h"
#include "monitor/repo.h"
#include "monitor/review.h"
#include "monitor/util.h"
#include "monitor/banned.h"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int functions(git_repository *repo, struct gm_config *cfg)
{
	struct gm_index_opts io = { 0 };
	struct gm_index *idx = NULL;
	const char **names;
	int64_t max_size;
	size_t n = 0;

	if (gm_config_int(&max_size, cfg, "monitor.scan.maxFileSize") < 0)
		max_size = 1024 * 1024;
	io.max_file_size = max_size > 0 ? (size_t)max_size : 1;
	io.complexity_threshold = 10;
	if (gm_index_build(&idx, repo, &io) < 0)
		return CLI_FAILED;
	names = gm_xcalloc(idx->nunits + 1, sizeof(char *));
	for (size_t i = 0; i < idx->nunits; i++)
		names[n++] = gm_index_unit(idx, i)->name;
	qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++)
		if (!i || strcmp(names[i], names[i - 1]))
			printf("%s\n", names[i]);
	free(names);
	gm_index_free(idx);
	return CLI_OK;
}

static int changed(git_repository *repo, struct gm_config *cfg, const char *branch)
{
	struct gm_review *r = NULL;
	char *b = NULL;

	if (branch)
		b = gm_xstrdup(branch);
	else if (gm_review_default_branch(&b, repo,
	                                  gm_config_string(cfg, "monitor.branchPrefix",
	                                                   gm_config_default("monitor.branchPrefix"))) < 0)
		return CLI_FAILED;
	if (gm_review_load(&r, repo, b) < 0) {
		free(b);
		return CLI_FAILED;
	}
	for (size_t i = 0; i < r->n; i++)
		if (r->fns[i].changed && r->fns[i].helper_of < 0)
			printf("%s:%s\n", r->fns[i].path, r->fns[i].name);
	gm_review_free(r);
	free(b);
	return CLI_OK;
}

int cmd_complete(int argc, char **argv)
{
	git_repository *repo = NULL;
	struct gm_config *cfg = NULL;
	int rc = CLI_FAILED;

	if (argc < 2 || gm_repo_open(&repo, NULL) < 0 || gm_config_load(&cfg, repo) < 0)
		goto cleanup;
	if (!strcmp(argv[1], "functions"))
		rc = functions(repo, cfg);
	else if (!strcmp(argv[1], "changed"))
		rc = changed(repo, cfg, argc > 2 ? argv[2] : NULL);
cleanup:
	gm_error_clear();
	gm_config_free(cfg);
	git_repository_free(repo);
	return rc;
}
