/*
 * The walk reads tree-sitter's private structures (see tswalk.h for why).
 * Our own preorder walk over them, written from these facts of runtime
 * 0.25's layout (the rules its public cursor obeys): a child is visible when its
 * subtree is or when the parent's production aliases it (extras are never
 * aliased); a hidden child with visible descendants is walked through as
 * if its children were the parent's; positions advance by each child's
 * size and the next child's padding.
 */
#include "monitor/tswalk.h"

#include <stdlib.h>
#include <string.h>

/* The runtime's private headers (include path set for this file only). */
#include "subtree.h"
#include "language.h"
#include "tree.h"

#include "monitor/util.h"
#include "monitor/banned.h"

/* One level of the walk: the children of a subtree still to visit. */
struct gm_tswalk_frame {
	const Subtree *children;
	uint32_t count, index, structural;
	Length pos; /* where child `index - 1` ends (where the parent starts for 0) */
	const TSSymbol *aliases;
	bool visible; /* the children of a visible node (not of a hidden one walked through) */
};

static inline void push(struct gm_tswalk *w, const TSTree *tree, const Subtree *s, Length pos,
                        bool visible)
{
	struct gm_tswalk_frame *f;
	if (w->n == w->cap)
		GM_GROW(w->stack, w->cap, w->n + 1);
	f = &w->stack[w->n++];
	f->children = ts_subtree_children(*s);
	f->count = s->ptr->child_count;
	f->pos = pos;
	f->index = 0;
	f->structural = 0;
	f->aliases = ts_language_alias_sequence(tree->language, s->ptr->production_id);
	f->visible = visible;
	w->depth += visible;
}

void gm_tswalk_init(struct gm_tswalk *w, TSNode root)
{
	memset(w, 0, sizeof(*w));
	w->root = root;
}

void gm_tswalk_skip_leaves(struct gm_tswalk *w, const bool *keep, uint32_t nkeep)
{
	w->keep = keep;
	w->nkeep = nkeep;
}

/* Whether the filter skips `c`, a visible child (`alias`: its parent's alias for it, or 0). */
static inline bool skip_leaf(const struct gm_tswalk *w, const TSLanguage *lang,
                             const Subtree *c, TSSymbol alias)
{
	TSSymbol sym;
	if (ts_subtree_visible_child_count(*c) || ts_subtree_missing(*c))
		return false;
	sym = alias ? alias : ts_subtree_symbol(*c);
	if (sym == ts_builtin_sym_error)
		return false;
	sym = lang->public_symbol_map[sym];
	return sym < w->nkeep && !w->keep[sym];
}

/* What ts_node_new, ts_node_symbol, ts_node_is_named and ts_node_is_missing give. */
static inline void fill(struct gm_tswalk_node *out, const TSTree *tree, const Subtree *c,
                        Length pos, TSSymbol alias)
{
	const TSLanguage *lang = tree->language;
	TSSymbol sym = alias ? alias : ts_subtree_symbol(*c);

	out->node.context[0] = pos.bytes;
	out->node.context[1] = pos.extent.row;
	out->node.context[2] = pos.extent.column;
	out->node.context[3] = alias;
	out->node.id = c;
	out->node.tree = tree;
	out->symbol = sym == ts_builtin_sym_error ? sym : lang->public_symbol_map[sym];
	out->named = alias ? ts_language_symbol_metadata(lang, alias).named : ts_subtree_named(*c);
	out->missing = ts_subtree_missing(*c);
}

static Length node_length(TSNode n)
{
	Length l;
	l.bytes = ts_node_start_byte(n);
	l.extent = ts_node_start_point(n);
	return l;
}

bool gm_tswalk_next(struct gm_tswalk *w, struct gm_tswalk_node *out)
{
	const TSTree *tree = w->root.tree;

	if (!w->started) {
		const Subtree *s = (const Subtree *)w->root.id;
		w->started = true;
		out->node = w->root;
		out->symbol = ts_node_symbol(w->root);
		out->named = ts_node_is_named(w->root);
		out->missing = ts_node_is_missing(w->root);
		out->field = 0;
		out->depth = 0;
		out->after_skip = false;
		if (ts_subtree_child_count(*s))
			push(w, tree, s, node_length(w->root), true);
		return true;
	}
	while (w->n) {
		/* The top frame's state in locals, written back before a push or a return. */
		struct gm_tswalk_frame *f = &w->stack[w->n - 1];
		const Subtree *children = f->children;
		const TSSymbol *aliases = f->aliases;
		uint32_t count = f->count, index = f->index, structural = f->structural;
		Length pos = f->pos;

		while (index < count) {
			const Subtree *c = &children[index];
			Subtree t = *c;
			TSSymbol alias = 0;
			bool extra, visible;
			Length at;

			/* A child starts after its padding; the first where its parent starts. */
			if (t.data.is_inline) {
				Length pad = { t.data.padding_bytes,
				               { t.data.padding_rows, t.data.padding_columns } };
				extra = t.data.extra;
				visible = t.data.visible;
				if (index)
					pos = length_add(pos, pad);
				at = pos;
				pos.bytes += t.data.size_bytes; /* an inline leaf is on one row */
				pos.extent.column += t.data.size_bytes;
			} else {
				extra = t.ptr->extra;
				visible = t.ptr->visible;
				if (index)
					pos = length_add(pos, t.ptr->padding);
				at = pos;
				pos = length_add(pos, t.ptr->size);
			}
			index++;
			if (!extra) {
				if (aliases)
					alias = aliases[structural];
				structural++;
			}
			if (!visible && !alias) {
				if (t.data.is_inline || !ts_subtree_visible_child_count(t))
					continue;
				/* hidden, its children are walked as if they were f's */
				f->index = index;
				f->structural = structural;
				f->pos = pos;
				push(w, tree, c, at, false);
				goto pushed;
			}
			if (w->keep && skip_leaf(w, tree->language, c, alias)) {
				w->skipped = true;
				w->skip_depth = w->depth;
				continue;
			}
			f->index = index;
			f->structural = structural;
			f->pos = pos;
			fill(out, tree, c, at, alias);
			out->field = 0;
			out->depth = w->depth;
			/*
			 * Leaves skipped since the last node given are its siblings when
			 * they were at its depth (below an earlier sibling they are deeper).
			 */
			out->after_skip = w->skipped && w->skip_depth == w->depth;
			w->skipped = false;
			if (ts_subtree_child_count(t))
				push(w, tree, c, at, true);
			return true;
		}
		w->depth -= f->visible;
		w->n--;
	pushed:;
	}
	return false;
}

void gm_tswalk_release(struct gm_tswalk *w)
{
	free(w->stack);
	memset(w, 0, sizeof(*w));
}

/*
 * The fields of the structural children of production `production`:
 * fields[i] for child i, 0 for none (the first entry of the map for an
 * index is the one the cursor gives); false, and `fields` untouched, when
 * the production names none.  Children past `n` are looked up in the map
 * one by one.
 */
static bool fields_of(const TSLanguage *lang, uint32_t production, TSFieldId *fields, uint32_t n)
{
	const TSFieldMapEntry *map, *end;
	ts_language_field_map(lang, production, &map, &end);
	if (map == end)
		return false; /* most productions of hidden rules name no fields */
	memset(fields, 0, n * sizeof(*fields));
	for (; map < end; map++)
		if (!map->inherited && map->child_index < n && !fields[map->child_index])
			fields[map->child_index] = map->field_id;
	return true;
}

static TSFieldId field_of(const TSLanguage *lang, uint32_t production, uint32_t structural)
{
	const TSFieldMapEntry *map, *end;
	ts_language_field_map(lang, production, &map, &end);
	for (; map < end; map++)
		if (!map->inherited && map->child_index == structural)
			return map->field_id;
	return 0;
}

#define NFIELDS 32

/*
 * The visible children of subtree `s` at `pos`, hidden ones walked
 * through; `inherited` is the field a hidden `s` has in its own parent
 * (what a child without a field of its own gets: the cursor looks up
 * through hidden ancestors until the visible parent).
 */
static void children_of(const TSTree *tree, const Subtree *s, Length pos, TSFieldId inherited,
                        struct gm_tswalk_node **arr, size_t *n, size_t *cap)
{
	const TSLanguage *lang = tree->language;
	uint32_t count = ts_subtree_child_count(*s), structural = 0;
	const Subtree *children = ts_subtree_children(*s);
	uint32_t production = s->ptr->production_id;
	const TSSymbol *aliases = ts_language_alias_sequence(lang, production);
	TSFieldId fields[NFIELDS];
	bool named_fields = fields_of(lang, production, fields, count < NFIELDS ? count : NFIELDS);

	for (uint32_t i = 0; i < count; i++) {
		const Subtree *c = &children[i];
		TSSymbol alias = 0;
		TSFieldId field = 0;
		bool extra = ts_subtree_extra(*c);

		if (i)
			pos = length_add(pos, ts_subtree_padding(*c));
		if (!extra) {
			if (aliases)
				alias = aliases[structural];
			if (named_fields && structural < NFIELDS)
				field = fields[structural];
			else if (named_fields)
				field = field_of(lang, production, structural);
			if (!field)
				field = inherited;
			structural++;
		}
		if (ts_subtree_visible(*c) || alias) {
			struct gm_tswalk_node *out;
			if (*n == *cap)
				GM_GROW(*arr, *cap, *n + 1);
			out = &(*arr)[(*n)++];
			fill(out, tree, c, pos, alias);
			out->field = field;
			out->depth = 0;
			out->after_skip = false;
		} else if (ts_subtree_visible_child_count(*c)) {
			children_of(tree, c, pos, field, arr, n, cap);
		}
		pos = length_add(pos, ts_subtree_size(*c));
	}
}

size_t gm_tswalk_children(TSNode node, struct gm_tswalk_node **arr, size_t *n, size_t *cap)
{
	const Subtree *s = (const Subtree *)node.id;
	size_t before = *n;
	if (ts_subtree_child_count(*s))
		children_of(node.tree, s, node_length(node), 0, arr, n, cap);
	return *n - before;
}
