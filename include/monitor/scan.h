/*
 * scan.h: one source text in, its units out.  A unit is a function, method
 * or constructor (classes are not units); a function nested in another
 * belongs to the outer one, so units never overlap and are sorted by byte
 * offset.  Knows nothing of models; the repository-wide driver is index.h.
 */
#ifndef MONITOR_SCAN_H
#define MONITOR_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "monitor/lang.h"
#include "monitor/util.h"

struct gm_unit {
	char *name;       /* qualified: Class.method, ns::Class::f, (*T).M */
	char *short_name; /* the defining identifier alone */
	const char *kind; /* "function", "method" or "constructor" (static) */
	uint32_t start_byte, end_byte;
	uint32_t start_line, end_line; /* 1-based, inclusive */
	/*
	 * The comments, attributes (Rust `#[..]`) and decorators standing
	 * directly above the unit (no blank line between, same column): they
	 * belong to it in an edit.  lead_byte == start_byte when there are none.
	 */
	uint32_t lead_byte, lead_line;
	uint32_t start_col;            /* byte column of start_byte */
	char *signature;               /* text up to the body, spaces folded */
	unsigned lines, complexity, nesting, params;
	char **calls; /* names called, in order of first call, no duplicates */
	size_t ncalls;
	unsigned ordinal; /* 0, or 1.. among units of the file with this name */
};

/* A class or namespace around units (what qualifies their names). */
struct gm_scope {
	char *name;       /* its own name: "Account", not "pkg.Account" */
	bool is_class;    /* @scope.class (methods live in it); else a namespace */
	uint32_t start_byte, end_byte;
};

struct gm_file_scan {
	struct gm_unit *units;
	size_t n;
	/*
	 * Scopes, sorted by start (outer first).  Filled by a fresh scan only:
	 * the scan cache does not keep them (the edit checks re-scan).
	 */
	struct gm_scope *scopes;
	size_t nscopes;
	char **imports; /* modules/headers/paths the file imports */
	size_t nimports;
	unsigned errors; /* ERROR and MISSING nodes in the parse */
};

/*
 * Scan `src` (`len` bytes, any encoding; offsets are bytes).  `parser` is
 * the calling thread's parser (NULL: a temporary one).  On failure `out`
 * is left empty.
 */
int gm_scan_source(struct gm_file_scan *out, const struct gm_lang *lang,
                   const char *src, size_t len, TSParser *parser);
void gm_file_scan_release(struct gm_file_scan *fs);

/*
 * The same on a tree the caller parsed from `src` (and still owns), for
 * callers that need the tree too.
 */
int gm_scan_tree(struct gm_file_scan *out, const struct gm_lang *lang, const char *src,
                 size_t len, TSTree *tree);

/*
 * The item a unit's (or class's) node stands in: the node itself, or a
 * wrapper that ends where it ends and starts on its line (`export function
 * f`), or a Python decorated definition; never `root`.
 */
TSNode gm_scan_item(TSNode n, TSNode root);
/* Start of the comments/attributes/decorators directly above `item` (its start when none). */
uint32_t gm_scan_lead(TSNode item, const char *src);

/* Parse `src`; the caller deletes the tree.  NULL on failure (message set). */
TSTree *gm_scan_parse(const struct gm_lang *lang, const char *src, size_t len, TSParser *parser);
/* Number of ERROR and MISSING nodes below (and including) `node`. */
unsigned gm_scan_count_errors(TSNode node);

/*
 * Compact serialization for the scan cache (a warm scan spent most of its
 * time parsing JSON): `magic` then counts, numbers and length-prefixed
 * strings.  Decoding checks every length and field, and fails with
 * GM_EINVALID on anything else, leaving `out` empty.
 */
void gm_file_scan_encode(struct gm_buf *out, const struct gm_file_scan *fs);
int gm_file_scan_decode(struct gm_file_scan *out, const char *data, size_t len);

/* Serialization as JSON (cJSON: the caller owns the result). */
cJSON *gm_file_scan_to_json(const struct gm_file_scan *fs);
int gm_file_scan_from_json(struct gm_file_scan *out, const cJSON *json);

#endif
