/*
 * bench_dump: everything the scanner finds in HEAD of the current
 * repository, one line per unit and scope, for comparing two builds of the
 * scanner on a corpus (`diff` of the two dumps must be empty: units,
 * offsets, leads, signatures, metrics, calls, scopes, imports, errors).
 * No cache is read or written.  The last line counts files and units.
 *   usage: bench_dump [jobs]
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
	size_t units = 0;
	int rc;

	git_libgit2_init();
	opts.jobs = argc > 1 ? atoi(argv[1]) : 0;
	opts.no_cache = true;
	opts.max_file_size = (size_t)1 << 30;
	if ((rc = gm_repo_open(&repo, NULL)) < 0 || (rc = gm_index_build(&idx, repo, &opts)) < 0) {
		fprintf(stderr, "bench_dump: %s\n", gm_error_last());
		return 1;
	}
	for (size_t i = 0; i < idx->nfiles; i++) {
		const struct gm_file *f = &idx->files[i];
		const struct gm_file_scan *fs = &f->scan;
		if (f->skip != GM_SKIP_NONE)
			continue;
		printf("F %s %s errors=%u units=%zu scopes=%zu\n", f->path, f->lang->name, fs->errors,
		       fs->n, fs->nscopes);
		for (size_t u = 0; u < fs->n; u++) {
			const struct gm_unit *x = &fs->units[u];
			printf("U %s|%s|%s|#%u %u-%u L%u-%u c%u lead=%u/L%u n=%u cc=%u nest=%u p=%u |%s|",
			       x->kind, x->name, x->short_name, x->ordinal, x->start_byte, x->end_byte,
			       x->start_line, x->end_line, x->start_col, x->lead_byte, x->lead_line,
			       x->lines, x->complexity, x->nesting, x->params, x->signature);
			for (size_t c = 0; c < x->ncalls; c++)
				printf("%s%s", c ? "," : "", x->calls[c]);
			printf("\n");
			units++;
		}
		for (size_t s = 0; s < fs->nscopes; s++)
			printf("S %s %s %u-%u\n", fs->scopes[s].is_class ? "class" : "ns",
			       fs->scopes[s].name, fs->scopes[s].start_byte, fs->scopes[s].end_byte);
		printf("I");
		for (size_t m = 0; m < fs->nimports; m++)
			printf(" %s", fs->imports[m]);
		printf("\n");
	}
	printf("T files=%zu units=%zu\n", idx->scanned, units);
	gm_index_free(idx);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return 0;
}
