/*
 * scan.h: one source text in, its units out.  A unit is a function, method
 * or constructor (classes are not units); a function nested in another
 * belongs to the outer one, so units never overlap and are sorted by byte
 * offset.  Knows nothing of models; the repository-wide driver is index.h,
 * the cache of scans is scan_cache.h.
 *
 * Linear in the size of the source: one parse, one walk of the tree with
 * the language's combined query (lang.h), then passes over the captures
 * that are linear in their number (units named by hashing, scopes and
 * nesting by a stack).
 */
#ifndef MONITOR_SCAN_H
#define MONITOR_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tree_sitter/api.h>

#include "monitor/lang.h"

/*
 * Invariants of a unit of a `len`-byte source, as gm_scan_source makes it
 * (and gm_file_scan_check checks): start_byte <= end_byte <= len;
 * start_line is 1 + the newlines before start_byte, start_col the bytes
 * since the last of them; end_line is 1 + the newlines before end_byte,
 * less one when end_byte starts a line past start_line's; lines is
 * end_line - start_line + 1; complexity >= 1.
 */
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
	unsigned lines, complexity, nesting, params; /* nesting: at most GM_SCAN_MAX_NESTING */
	char **calls; /* names called, in order of first call, no duplicates */
	size_t ncalls;
	unsigned ordinal; /* 0, or 1.. among units of the file with this name */
};

/*
 * The deepest nesting counted: a unit nested deeper shows this figure
 * (a unit whose nesting equals it may be deeper than shown).
 */
#define GM_SCAN_MAX_NESTING 256

/*
 * A unit's key within its file, the one notes, reports and review use:
 * its qualified name, "#n" appended for the n-th of a duplicated name
 * ("parse#1").  Allocated; the caller frees it.
 */
char *gm_unit_key(const struct gm_unit *u);

/* A class or namespace around units (what qualifies their names). */
struct gm_scope {
	char *name;       /* its own name: "Account", not "pkg.Account" */
	bool is_class;    /* @scope.class (methods live in it); else a namespace */
	uint32_t start_byte, end_byte;
};

/* A string or array added to these structures is moved by gm_file_scan_pack too. */
struct gm_file_scan {
	struct gm_unit *units; /* sorted by start_byte, disjoint */
	size_t n;
	/*
	 * Scopes, sorted by start (outer first).  Filled by a fresh scan only:
	 * the scan cache does not keep them (the edit checks re-scan).
	 */
	struct gm_scope *scopes;
	size_t nscopes;
	char **imports; /* modules/headers/paths the file imports, no duplicates */
	size_t nimports;
	unsigned errors; /* ERROR and MISSING nodes in the parse */
	void *block; /* gm_file_scan_pack: the one allocation holding all of the above */
};

/* The kinds of unit; a unit's `kind` is one of these very pointers. */
extern const char *const gm_unit_kinds[3];

/*
 * Scan `src` (`len` bytes, any encoding; offsets are bytes).  `parser` is
 * the calling thread's parser (NULL: a temporary one).  On failure `out`
 * is left empty.
 */
int gm_scan_source(struct gm_file_scan *out, const struct gm_lang *lang,
                   const char *src, size_t len, TSParser *parser);
void gm_file_scan_release(struct gm_file_scan *fs);

/*
 * Move the arrays and strings of `fs` into one allocation (fs->block),
 * which gm_file_scan_release frees at once.  gm_scan_source and the scan
 * cache give packed scans: an index keeps one per file for as long as it
 * lives, and hundreds of small allocations a file, made between the
 * parser's own, split the heap every later parse allocates from.
 */
void gm_file_scan_pack(struct gm_file_scan *fs);

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

/*
 * Whether `fs` may be the scan of `src` (`len` bytes): every invariant
 * above holds, units are sorted and disjoint, each short name lies inside
 * its unit, ordinals are numbered as gm_scan_source numbers them, imports
 * are not empty.  For scans that come back from somewhere untrusted (the
 * scan cache): one pass over `src`, linear in it and in the units.
 */
bool gm_file_scan_check(const struct gm_file_scan *fs, const char *src, size_t len);

/* Parse `src`; the caller deletes the tree.  NULL on failure (message set). */
TSTree *gm_scan_parse(const struct gm_lang *lang, const char *src, size_t len, TSParser *parser);
/* Number of ERROR and MISSING nodes below (and including) `node`. */
unsigned gm_scan_count_errors(TSNode node);

#endif
