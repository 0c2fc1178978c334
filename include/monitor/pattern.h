/*
 * pattern.h: tree-sitter query patterns, the subset that grammars/<lang>/ query files
 * use, read into plain data and matched by one walk of a tree.
 *
 * Why not ts_query_new: compiling a query runs tree-sitter's analysis of
 * every pattern against the grammar's whole parse table, which took 0.9 s
 * for C++'s units.scm and 5-170 ms for the other languages, on every
 * process that meets the language; and its cursor's state machine costs
 * about 40% of a parse to run.  Reading the same text into a table indexed
 * by the root node's symbol takes well under a millisecond, and a match is
 * tried only on nodes whose symbol roots a pattern.
 *
 * Syntax: named nodes `(kind ...)`, `(_)` (any named node), `_` (any
 * node), anonymous nodes `"&&"`, alternations `[...]`, fields `field: x`,
 * negated fields `!field`, anchors `.`, captures `@name`, predicates
 * `(#eq? @c "s")`, `(#not-eq? @c "s")`, `(#any-of? @c "a" "b")` (also
 * against another capture).  Quantifiers and sibling groups are refused.
 *
 * Semantics are tree-sitter 0.25's (query.c), so that a file matches as it
 * did under a TSQueryCursor:
 * - child patterns match the visible children in order, named or not
 *   (a kind only a node of that kind; `(_)` named nodes but not ERROR);
 * - every binding is a match, except that a child pattern with neither
 *   captures nor children of its own binds the first child it fits only
 *   (tree-sitter does not split its state there);
 * - `.` before a child pattern: no named node may be skipped to reach it;
 *   `.` before `)`: the last child pattern has no named sibling after it;
 * - a pattern whose root is an alternation starts at any of its branches.
 * Matches come in pre-order of their root nodes, then in pattern order;
 * callers that need tree-sitter's order (a match finishes at its last
 * node) sort by the captured node.
 */
#ifndef MONITOR_PATTERN_H
#define MONITOR_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tree_sitter/api.h>

#include "monitor/tswalk.h"

struct gm_pattern_set;

struct gm_pattern_capture {
	TSNode node;
	uint32_t id; /* gm_pattern_capture_name(set, id) */
	/* TSNode ids of its visible parent and grandparent (NULL above the walk's root). */
	const void *parent, *grandparent;
};

/* One match; valid during the callback only. */
struct gm_pattern_match {
	uint32_t pattern; /* index in text order */
	uint32_t ncaptures;
	const struct gm_pattern_capture *captures; /* in pattern order */
};

typedef void gm_pattern_fn(void *data, const struct gm_pattern_match *m);
/*
 * Every node of the walk, in pre-order, just before the matches rooted at
 * it; but not the leaves that no pattern starts at and no
 * gm_pattern_set_keep_leaves asked for (gm_tswalk_skip_leaves: a node
 * after such siblings has `after_skip` set).
 */
typedef void gm_pattern_visit_fn(void *data, const struct gm_tswalk_node *n);

/*
 * Read the patterns of `text` (`len` bytes) for `lang` into `*out` (the
 * caller frees it with gm_pattern_set_free).  On failure the message says
 * what ("unknown node type 'x'") and `*err_offset` where in `text`.
 */
int gm_pattern_set_new(struct gm_pattern_set **out, const TSLanguage *lang, const char *text,
                       size_t len, size_t *err_offset);
void gm_pattern_set_free(struct gm_pattern_set *set);
/* Give the visit callback also the leaves whose symbol s has symbols[s] (s < n). */
void gm_pattern_set_keep_leaves(struct gm_pattern_set *set, const bool *symbols, uint32_t n);

uint32_t gm_pattern_count(const struct gm_pattern_set *set);
/* Where pattern `pattern` starts in the text it was read from. */
uint32_t gm_pattern_start_byte(const struct gm_pattern_set *set, uint32_t pattern);
uint32_t gm_pattern_capture_count(const struct gm_pattern_set *set);
/* The name of capture `id` without its '@' (owned by the set), its length in `*len`. */
const char *gm_pattern_capture_name(const struct gm_pattern_set *set, uint32_t id, uint32_t *len);

/*
 * Call `fn` for every match of `set` in the tree below (and at) `root`,
 * whose text is `src`; text predicates are applied first; and `visit`
 * (unless NULL) for every node, so that a caller can follow the walk
 * (ancestors, previous siblings) without walking again.  Returns the
 * number of ERROR and MISSING nodes the walk met (gm_scan_count_errors'
 * count: the walk sees every node anyway).  Thread-safe: the set is only
 * read.
 */
unsigned gm_pattern_exec(const struct gm_pattern_set *set, TSNode root, const char *src,
                         gm_pattern_fn *fn, gm_pattern_visit_fn *visit, void *data);

#endif
