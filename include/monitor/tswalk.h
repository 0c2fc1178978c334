/*
 * tswalk.h: a pre-order walk of a tree's visible nodes, the nodes and the
 * order TSTreeCursor gives (goto_first_child / goto_next_sibling /
 * goto_parent), at about half its cost.
 *
 * Why: the scanner visits every node of every file, and the public
 * cursor re-creates a child iterator (alias table, descendant index) on
 * every step: 11-14% of a parse for the walk alone.  This walk reads the
 * runtime's own structures (its private headers, of the pinned version in
 * grammars/manifest) with one frame per level.  test_tswalk checks on
 * every fixture that it gives exactly the cursor's nodes, depths and
 * fields; a runtime upgrade that changes them fails there or at compile
 * time.
 */
#ifndef MONITOR_TSWALK_H
#define MONITOR_TSWALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tree_sitter/api.h>

struct gm_tswalk_frame;

struct gm_tswalk {
	TSNode root;
	bool started;
	struct gm_tswalk_frame *stack;
	size_t n, cap;
	uint32_t depth; /* visible frames on the stack */
	/* gm_tswalk_skip_leaves' filter: leaves to report, by symbol */
	const bool *keep;
	uint32_t nkeep;
	uint32_t skip_depth; /* of the last leaf skipped, while `skipped` */
	bool skipped;
};

/* A visible node and what the public API would say of it. */
struct gm_tswalk_node {
	TSNode node;
	TSSymbol symbol;  /* ts_node_symbol */
	TSFieldId field;  /* ts_tree_cursor_current_field_id (gm_tswalk_children only) */
	bool named;       /* ts_node_is_named */
	bool missing;     /* ts_node_is_missing */
	bool after_skip;  /* gm_tswalk_next: the sibling just before it was skipped */
	uint32_t depth;   /* 0 for the walk's root, the cursor's depth below it (gm_tswalk_next only) */
};

void gm_tswalk_init(struct gm_tswalk *w, TSNode root);
/* The next visible node in pre-order (`root` first); false at the end. */
bool gm_tswalk_next(struct gm_tswalk *w, struct gm_tswalk_node *out);
void gm_tswalk_release(struct gm_tswalk *w);

/*
 * From now on, skip the leaves (visible nodes without visible children)
 * whose symbol s is below `nkeep` with keep[s] false; ERROR and MISSING
 * nodes are always given.  Most nodes of a tree are leaves (names,
 * punctuation) that no pattern starts at: handing each one to the caller
 * costs more than stepping over it.  The next node given after skipped
 * leaves that were its siblings has `after_skip` set, so that a caller
 * following runs of siblings can tell they were not adjacent.
 */
void gm_tswalk_skip_leaves(struct gm_tswalk *w, const bool *keep, uint32_t nkeep);

/*
 * Append the visible children of `node` (those ts_tree_cursor_goto_first_child
 * and goto_next_sibling give) to `*arr` (`*n` of `*cap`, grown with
 * GM_GROW); returns how many were appended.
 */
size_t gm_tswalk_children(TSNode node, struct gm_tswalk_node **arr, size_t *n, size_t *cap);

#endif
