/*
 * index.h: the repository-wide view.  Reads the blobs of a commit (or of
 * the index) through libgit2, decides each file's language (lang.h, and the
 * attribute monitor-language), scans the files on all cores with a parser
 * per thread, units cached by blob id + query digest (scan_cache.h).
 * Calls across files (edges, fan-in, fan-out, clusters) are resolve.h's:
 * until gm_resolve_index runs on the view, there are no edges, every fan is
 * 0 and every cluster -1.
 *
 * Invariants: a skipped file has no units, and a NULL lang unless it was
 * skipped as binary or too large; idx->units lists every unit of every
 * scanned file, file by file, and files[f].first_unit is the global id of
 * files[f].scan.units[0].
 */
#ifndef MONITOR_INDEX_H
#define MONITOR_INDEX_H

#include <stdbool.h>
#include <stddef.h>

#include <git2.h>

#include "monitor/scan.h"

enum gm_skip_reason {
	GM_SKIP_NONE,
	GM_SKIP_BINARY,
	GM_SKIP_TOO_LARGE,
	GM_SKIP_UNKNOWN_LANGUAGE,
	GM_SKIP_SUBMODULE,
	GM_SKIP_SYMLINK,
	GM_SKIP_UNREADABLE,
	GM_SKIP__COUNT
};

const char *gm_skip_reason_name(enum gm_skip_reason r);

struct gm_index_opts {
	const char *rev;               /* default "HEAD"; ignored with staged */
	bool staged;                   /* read the index instead of a commit */
	const char *const *pathspecs;  /* which files hold target units */
	size_t npathspecs;
	int jobs;                      /* 0: all cores */
	size_t max_file_size;          /* 0: 1 MiB */
	bool no_cache;
	unsigned complexity_threshold; /* 0: 10 */
	bool parse_only;               /* benchmarks: parse, find no units */
	/*
	 * When set, only the files for which scan_filter(path, data) is true
	 * are read and scanned; the others are listed, unread, with no units
	 * (the pre-commit hook needs the staged changes alone).
	 */
	bool (*scan_filter)(const char *path, void *data);
	void *scan_filter_data;
};

struct gm_file {
	char *path;
	const struct gm_lang *lang; /* NULL when skipped */
	git_oid oid;
	enum gm_skip_reason skip;
	bool target;     /* matched the pathspecs */
	bool local_only; /* attribute monitor-local-only */
	bool cached;     /* units came from the scan cache */
	bool unread;     /* left out by opts->scan_filter: no units, not counted as scanned */
	struct gm_file_scan scan;
	size_t first_unit; /* global id of scan.units[0] */
	size_t *imported;  /* files this one imports */
	size_t nimported;
};

struct gm_unit_info {
	size_t file; /* index into files */
	size_t unit; /* index into files[file].scan.units */
	unsigned fan_in, fan_out;
	long cluster;   /* -1 for non-targets */
	bool complex;   /* complexity >= threshold */
};

struct gm_edge {
	size_t caller, callee; /* global unit ids */
	bool cross_file;
};

struct gm_index {
	git_repository *repo; /* borrowed */
	git_oid commit;       /* zero with staged */
	bool staged;
	struct gm_file *files; /* every file of the commit/index, by path */
	size_t nfiles;
	struct gm_unit_info *units; /* global unit ids, file order */
	size_t nunits;
	struct gm_edge *edges;
	size_t nedges;
	size_t nclusters;
	size_t scanned, targets_scanned, cache_hits;
	size_t skipped[GM_SKIP__COUNT]; /* among target files */
	unsigned threshold;
};

int gm_index_build(struct gm_index **out, git_repository *repo, const struct gm_index_opts *opts);
void gm_index_free(struct gm_index *idx);

/*
 * The language rule of one commit's tree (NULL commit: the index), the one
 * gm_index_build applies: the extension, `.h` as C or C++ decided from the
 * tree's other paths (lang.h), and the attribute monitor-language (a
 * language name, or unset to skip the file).  For code that reads single
 * files of a commit (review, review_drop) and must parse them as the scan
 * did.
 */
struct gm_lang_rule;

int gm_lang_rule_new(struct gm_lang_rule **out, git_repository *repo, const git_oid *commit);
/*
 * `*out` is the language of `path`, NULL when it has none (an unknown
 * extension, monitor-language unset).  An attribute naming no language we
 * know is GM_EUSAGE, naming the file.
 */
int gm_lang_rule_get(const struct gm_lang **out, struct gm_lang_rule *rule, const char *path);
void gm_lang_rule_free(struct gm_lang_rule *rule);

static inline const struct gm_unit *gm_index_unit(const struct gm_index *idx, size_t id)
{
	return &idx->files[idx->units[id].file].scan.units[idx->units[id].unit];
}

#endif
