/*
 * bench_parse: the parse-only floor for the scan benchmark.  Reads every
 * blob of HEAD in the current repository through libgit2 and parses it with
 * tree-sitter on N threads, exactly as `git monitor scan` does, but runs no
 * query: what any tree-sitter tool has to spend at least.
 *   usage: bench_parse [jobs]
 */
#include <stdio.h>
#include <stdlib.h>

#include <git2.h>

#include "monitor/error.h"
#include "monitor/index.h"
#include "monitor/repo.h"

int main(int argc, char **argv)
{
	struct gm_index_opts opts = { 0 };
	struct gm_index *idx = NULL;
	git_repository *repo = NULL;
	int rc;

	git_libgit2_init();
	opts.jobs = argc > 1 ? atoi(argv[1]) : 0;
	opts.no_cache = true;
	opts.parse_only = true;
	opts.max_file_size = (size_t)1 << 30;
	if ((rc = gm_repo_open(&repo, NULL)) < 0 || (rc = gm_index_build(&idx, repo, &opts)) < 0) {
		fprintf(stderr, "bench_parse: %s\n", gm_error_last());
		return 1;
	}
	printf("%zu files parsed\n", idx->scanned);
	gm_index_free(idx);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return 0;
}
