/*
 * tswalk reads tree-sitter's private structures to walk a tree faster than
 * TSTreeCursor: it must give exactly what the cursor gives.  Every source
 * under fixtures/sources (all nine languages, broken files with ERROR and
 * MISSING nodes, CRLF files) is parsed and walked both ways: the same
 * nodes in the same order, at the same depths, with the same symbol,
 * named and missing flags and positions; and for every node, the same
 * children with the same field ids as the cursor's goto_first_child /
 * goto_next_sibling / current_field_id.  With gm_tswalk_skip_leaves, the
 * same nodes but the leaves the filter drops, and `after_skip` exactly on
 * the nodes whose previous sibling was dropped.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "monitor/lang.h"
#include "monitor/scan.h"
#include "monitor/tswalk.h"
#include "monitor/util.h"

static const char *fixtures_root(void)
{
	const char *f = getenv("GM_FIXTURES");
	return f ? f : "fixtures";
}

static bool same_node(TSNode a, TSNode b)
{
	return ts_node_eq(a, b) && ts_node_start_byte(a) == ts_node_start_byte(b) &&
	       ts_node_end_byte(a) == ts_node_end_byte(b) &&
	       ts_node_start_point(a).row == ts_node_start_point(b).row &&
	       ts_node_start_point(a).column == ts_node_start_point(b).column &&
	       ts_node_symbol(a) == ts_node_symbol(b);
}

/* Compare the children of `n` both ways; returns how many there were. */
static size_t check_children(TSNode n, const char *path)
{
	struct gm_tswalk_node *kids = NULL;
	size_t nkids = 0, cap = 0, i = 0;
	TSTreeCursor c = ts_tree_cursor_new(n);

	gm_tswalk_children(n, &kids, &nkids, &cap);
	if (ts_tree_cursor_goto_first_child(&c)) {
		do {
			TSNode want = ts_tree_cursor_current_node(&c);
			if (i >= nkids)
				fail_msg("%s: a child missing at byte %u", path, ts_node_start_byte(want));
			if (!same_node(kids[i].node, want) ||
			    kids[i].field != ts_tree_cursor_current_field_id(&c) ||
			    kids[i].named != ts_node_is_named(want) ||
			    kids[i].symbol != ts_node_symbol(want))
				fail_msg("%s: child %zu of the node at byte %u differs (%s, field %u vs %u)",
				         path, i, ts_node_start_byte(n), ts_node_type(want), kids[i].field,
				         ts_tree_cursor_current_field_id(&c));
			i++;
		} while (ts_tree_cursor_goto_next_sibling(&c));
	}
	if (i != nkids)
		fail_msg("%s: %zu children, the cursor has %zu", path, nkids, i);
	ts_tree_cursor_delete(&c);
	free(kids);
	return i;
}

/* The cursor's next node in pre-order, `*depth` kept (`*down`: a first child); false at the end. */
static bool cursor_next(TSTreeCursor *c, uint32_t *depth, bool *down)
{
	*down = ts_tree_cursor_goto_first_child(c);
	if (*down) {
		(*depth)++;
		return true;
	}
	while (!ts_tree_cursor_goto_next_sibling(c)) {
		if (!ts_tree_cursor_goto_parent(c))
			return false;
		(*depth)--;
	}
	return true;
}

static void walk_file(const char *path, const struct gm_lang *lang, size_t *nodes)
{
	char *src;
	size_t len;
	TSTree *tree;
	TSTreeCursor c;
	struct gm_tswalk w;
	struct gm_tswalk_node got;
	uint32_t depth = 0;
	bool down;

	assert_int_equal(gm_read_file(&src, &len, path, 1 << 24), 0);
	tree = gm_scan_parse(lang, src, len, NULL);
	assert_non_null(tree);
	c = ts_tree_cursor_new(ts_tree_root_node(tree));
	gm_tswalk_init(&w, ts_tree_root_node(tree));
	for (;;) {
		TSNode want = ts_tree_cursor_current_node(&c);
		if (!gm_tswalk_next(&w, &got))
			fail_msg("%s: the walk ends before byte %u", path, ts_node_start_byte(want));
		if (!same_node(got.node, want) || got.depth != depth ||
		    got.symbol != ts_node_symbol(want) || got.named != ts_node_is_named(want) ||
		    got.missing != ts_node_is_missing(want))
			fail_msg("%s: node %zu differs (%s at byte %u, depth %u vs %u)", path, *nodes,
			         ts_node_type(want), ts_node_start_byte(want), got.depth, depth);
		check_children(want, path);
		(*nodes)++;
		if (!cursor_next(&c, &depth, &down))
			break;
	}
	if (gm_tswalk_next(&w, &got))
		fail_msg("%s: the walk goes on after the cursor's last node", path);
	gm_tswalk_release(&w);
	ts_tree_cursor_delete(&c);
	ts_tree_delete(tree);
	free(src);
}

/* The filtered walk against the cursor: keep[s] for every third symbol. */
static void walk_filtered(const char *path, const struct gm_lang *lang, size_t *skipped)
{
	char *src;
	size_t len, nodes = 0;
	TSTree *tree;
	TSTreeCursor c;
	struct gm_tswalk w;
	struct gm_tswalk_node got;
	uint32_t depth = 0, nsym;
	bool *keep, down, prev_skipped[4096] = { false };

	assert_int_equal(gm_read_file(&src, &len, path, 1 << 24), 0);
	tree = gm_scan_parse(lang, src, len, NULL);
	assert_non_null(tree);
	nsym = ts_language_symbol_count(ts_tree_language(tree));
	keep = gm_xcalloc(nsym, sizeof(*keep));
	for (uint32_t s = 0; s < nsym; s++)
		keep[s] = s % 3 == 0;
	c = ts_tree_cursor_new(ts_tree_root_node(tree));
	gm_tswalk_init(&w, ts_tree_root_node(tree));
	gm_tswalk_skip_leaves(&w, keep, nsym);
	for (;;) {
		TSNode want = ts_tree_cursor_current_node(&c);
		TSSymbol sym = ts_node_symbol(want);
		if (depth > 0 && !ts_node_child_count(want) && !ts_node_is_missing(want) &&
		    !ts_node_is_error(want) && sym < nsym && !keep[sym]) {
			prev_skipped[depth] = true;
			(*skipped)++;
		} else {
			if (!gm_tswalk_next(&w, &got))
				fail_msg("%s: the filtered walk ends before byte %u", path,
				         ts_node_start_byte(want));
			if (!same_node(got.node, want) || got.depth != depth ||
			    got.after_skip != prev_skipped[depth])
				fail_msg("%s: filtered node %zu differs (%s at byte %u: %s at byte %u, "
				         "after_skip %d)", path, nodes, ts_node_type(want),
				         ts_node_start_byte(want), ts_node_type(got.node),
				         ts_node_start_byte(got.node), got.after_skip);
			prev_skipped[depth] = false;
			nodes++;
		}
		if (!cursor_next(&c, &depth, &down))
			break;
		if (down) {
			assert_true(depth < 4096);
			prev_skipped[depth] = false;
		}
	}
	if (gm_tswalk_next(&w, &got))
		fail_msg("%s: the filtered walk goes on after the cursor's last node", path);
	gm_tswalk_release(&w);
	ts_tree_cursor_delete(&c);
	ts_tree_delete(tree);
	free(keep);
	free(src);
}

static void the_walk_gives_what_the_cursor_gives(void **state)
{
	char *root = gm_xasprintf("%s/sources", fixtures_root());
	DIR *d = opendir(root);
	struct dirent *de;
	size_t files = 0, nodes = 0, langs = 0, skipped = 0;
	(void)state;

	if (!d)
		fail_msg("%s is missing", root);
	while ((de = readdir(d))) {
		const struct gm_lang *lang = gm_lang_by_name(de->d_name);
		char *dir;
		DIR *ld;
		struct dirent *fe;
		if (!lang)
			continue;
		langs++;
		dir = gm_xasprintf("%s/%s", root, de->d_name);
		ld = opendir(dir);
		while (ld && (fe = readdir(ld))) {
			size_t l = strlen(fe->d_name);
			char *path;
			if (fe->d_name[0] == '.' || (l > 9 && !strcmp(fe->d_name + l - 9, ".expected")))
				continue;
			path = gm_xasprintf("%s/%s", dir, fe->d_name);
			walk_file(path, lang, &nodes);
			walk_filtered(path, lang, &skipped);
			files++;
			free(path);
		}
		if (ld)
			closedir(ld);
		free(dir);
	}
	closedir(d);
	fprintf(stderr, "# %zu files of %zu languages, %zu nodes (%zu leaves filtered)\n", files,
	        langs, nodes, skipped);
	assert_true(langs >= 9);
	assert_true(skipped > nodes / 10);
	assert_true(files >= 9);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_walk_gives_what_the_cursor_gives),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
