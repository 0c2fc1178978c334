/*
 * edit.c: applying edits (splices + imports) to one file; see edit.h.
 */
#include "monitor/edit.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/error.h"
#include "monitor/scan.h"
#include "monitor/util.h"
#include "monitor/banned.h"

void gm_edit_release(struct gm_edit *e)
{
	if (!e)
		return;
	free(e->name);
	for (size_t i = 0; i < e->nsplices; i++)
		free(e->splices[i].text);
	free(e->splices);
	for (size_t i = 0; i < e->nimports; i++) {
		free(e->imports[i].text);
		free(e->imports[i].kind);
	}
	free(e->imports);
	for (size_t i = 0; i < e->nhelpers; i++)
		free(e->helpers[i]);
	free(e->helpers);
	memset(e, 0, sizeof(*e));
}

void gm_edit_add_splice(struct gm_edit *e, uint32_t start, uint32_t end, const char *text,
                        size_t len)
{
	size_t at;
	e->splices = gm_xrealloc(e->splices, (e->nsplices + 1) * sizeof(*e->splices));
	/* Kept sorted by start; an insertion goes before a replacement at the same byte. */
	for (at = e->nsplices; at > 0; at--) {
		const struct gm_splice *p = &e->splices[at - 1];
		if (p->start < start || (p->start == start && (start == end || p->start != p->end)))
			break;
	}
	memmove(&e->splices[at + 1], &e->splices[at], (e->nsplices - at) * sizeof(*e->splices));
	e->splices[at].start = start;
	e->splices[at].end = end;
	e->splices[at].text = gm_xstrndup(text, len);
	e->splices[at].len = len;
	e->nsplices++;
}

void gm_edit_add_import(struct gm_edit *e, const char *text, size_t len, const char *kind)
{
	e->imports = gm_xrealloc(e->imports, (e->nimports + 1) * sizeof(*e->imports));
	e->imports[e->nimports].text = gm_xstrndup(text, len);
	e->imports[e->nimports].kind = gm_xstrdup(kind);
	e->nimports++;
}

const char *gm_edit_eol(const char *src, size_t len)
{
	const char *nl = memchr(src, '\n', len);
	return nl && nl > src && nl[-1] == '\r' ? "\r\n" : "\n";
}

/* ---- the file's imports ------------------------------------------------- */

struct import_point {
	char *kind;
	uint32_t at; /* start of the line after the last import of this kind */
};

struct gm_edit_imports {
	const struct gm_lang *lang;
	char **have; /* normalized texts (Go: specs) */
	size_t nhave, chave;
	struct import_point *points;
	size_t npoints, cpoints;
	bool any;           /* the file has imports: any_at is after the last */
	uint32_t any_at;
	uint32_t header_at; /* none: where they go (after the header) */
	bool header;        /* something stands before header_at */
	bool go_block;      /* Go: specs go into the last `import ( … )` block */
	uint32_t go_block_at; /* the line of its `)` */
	struct go_spec { uint32_t line; char *path; } *go_specs; /* its specs' lines, in order */
	size_t ngo_specs;
	const char *eol;
	/* Names the file's imports bind, per module (JS/TS import, Python from-import). */
	struct bound *bound;
	size_t nbound, cbound;
};

/* What one import statement binds from one module: "useState", "default:React", "* as p". */
struct bound {
	char *module;
	char **names;
	size_t n;
};

static void bound_release(struct bound *b)
{
	free(b->module);
	for (size_t i = 0; i < b->n; i++)
		free(b->names[i]);
	free(b->names);
	memset(b, 0, sizeof(*b));
}

static char *fold(const char *s, size_t n);

static char *node_str(TSNode n, const char *src)
{
	return fold(src + ts_node_start_byte(n), ts_node_end_byte(n) - ts_node_start_byte(n));
}

static void bind(struct bound *b, char *name)
{
	b->names = gm_xrealloc(b->names, (b->n + 1) * sizeof(char *));
	b->names[b->n++] = name;
}

/*
 * The module and names of an import that binds names one by one (JS/TS
 * `import D, { a, b as c } from "m"`, Python `from m import a, b as c`);
 * false for the others (`import "m"`, `import type …`, `from m import *`).
 */
static bool import_names(struct bound *out, TSNode node, const char *src)
{
	const char *type = ts_node_type(node);
	memset(out, 0, sizeof(*out));
	if (!strcmp(type, "import_statement")) {
		TSNode source = ts_node_child_by_field_name(node, "source", 6), clause = { 0 };
		bool found = false;
		if (ts_node_is_null(source) || !strncmp(src + ts_node_start_byte(node), "import type", 11))
			return false;
		for (uint32_t i = 0; i < ts_node_named_child_count(node); i++)
			if (!strcmp(ts_node_type(ts_node_named_child(node, i)), "import_clause")) {
				clause = ts_node_named_child(node, i);
				found = true;
			}
		if (!found)
			return false;
		out->module = node_str(source, src);
		for (uint32_t i = 0; i < ts_node_named_child_count(clause); i++) {
			TSNode c = ts_node_named_child(clause, i);
			const char *ct = ts_node_type(c);
			if (!strcmp(ct, "identifier")) {
				char *n = node_str(c, src);
				bind(out, gm_xasprintf("default:%s", n));
				free(n);
			} else if (!strcmp(ct, "namespace_import")) {
				bind(out, node_str(c, src));
			} else if (!strcmp(ct, "named_imports")) {
				for (uint32_t k = 0; k < ts_node_named_child_count(c); k++)
					if (!strcmp(ts_node_type(ts_node_named_child(c, k)), "import_specifier"))
						bind(out, node_str(ts_node_named_child(c, k), src));
			}
		}
		return out->n > 0;
	}
	if (!strcmp(type, "import_from_statement")) {
		TSNode module = ts_node_child_by_field_name(node, "module_name", 11);
		if (ts_node_is_null(module))
			return false;
		out->module = node_str(module, src);
		for (uint32_t i = 0; i < ts_node_child_count(node); i++) {
			const char *f = ts_node_field_name_for_child(node, i);
			if (f && !strcmp(f, "name"))
				bind(out, node_str(ts_node_child(node, i), src));
		}
		if (!out->n) {
			bound_release(out); /* from m import * */
			return false;
		}
		return true;
	}
	return false;
}

static bool is_bound(const struct bound *v, size_t n, const char *module, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].module, module) != 0)
			continue;
		for (size_t k = 0; k < v[i].n; k++)
			if (!strcmp(v[i].names[k], name))
				return true;
	}
	return false;
}

/*
 * `node` (an import of the answer) without the names `have` already binds
 * from its module: GM_ENOTFOUND when nothing is left, 1 when it is not an
 * import of names (the caller compares whole statements), else 0 and
 * `*out` the statement to add (the caller frees it).
 */
static int trim_import(char **out, const struct bound *have, size_t nhave, TSNode node,
                       const char *src)
{
	struct bound b;
	struct gm_buf t = GM_BUF_INIT;
	size_t keep = 0, named = 0;
	bool py;

	*out = NULL;
	if (!import_names(&b, node, src))
		return 1;
	for (size_t i = 0; i < b.n; i++)
		if (!is_bound(have, nhave, b.module, b.names[i]))
			keep++;
	if (!keep) {
		bound_release(&b);
		return GM_ENOTFOUND;
	}
	if (keep == b.n) {
		*out = gm_xstrndup(src + ts_node_start_byte(node), ts_node_end_byte(node) - ts_node_start_byte(node));
		bound_release(&b);
		return 0;
	}
	py = !strcmp(ts_node_type(node), "import_from_statement");
	if (py) {
		gm_buf_printf(&t, "from %s import ", b.module);
		for (size_t i = 0, k = 0; i < b.n; i++)
			if (!is_bound(have, nhave, b.module, b.names[i]))
				gm_buf_printf(&t, "%s%s", k++ ? ", " : "", b.names[i]);
	} else {
		size_t k = 0;
		gm_buf_puts(&t, "import ");
		for (size_t i = 0; i < b.n; i++) {
			if (is_bound(have, nhave, b.module, b.names[i]))
				continue;
			if (!strncmp(b.names[i], "default:", 8))
				gm_buf_printf(&t, "%s%s", k++ ? ", " : "", b.names[i] + 8);
			else if (!strncmp(b.names[i], "* as", 4))
				gm_buf_printf(&t, "%s%s", k++ ? ", " : "", b.names[i]);
		}
		for (size_t i = 0; i < b.n; i++) {
			if (is_bound(have, nhave, b.module, b.names[i]) || !strncmp(b.names[i], "default:", 8) ||
			    !strncmp(b.names[i], "* as", 4))
				continue;
			gm_buf_printf(&t, "%s%s", named++ ? ", " : k ? ", { " : "{ ", b.names[i]);
		}
		if (named)
			gm_buf_puts(&t, " }");
		gm_buf_printf(&t, " from %s", b.module);
		if (src[ts_node_end_byte(node) - 1] == ';')
			gm_buf_puts(&t, ";");
	}
	*out = gm_buf_detach(&t, NULL);
	bound_release(&b);
	return 0;
}

int gm_edit_import_trim(char **out, const struct gm_edit_imports *im, TSNode node, const char *src)
{
	return trim_import(out, im ? im->bound : NULL, im ? im->nbound : 0, node, src);
}

static char *fold(const char *s, size_t n)
{
	return gm_fold_space(s, n, NULL);
}

/* Folded as fold() does, a trailing ';' dropped: `import a  from "b";` == `import a from "b"`. */
static char *normalize(const char *s, size_t n)
{
	size_t len;
	char *r = gm_fold_space(s, n, &len);

	while (len && (r[len - 1] == ';' || r[len - 1] == ' '))
		r[--len] = '\0';
	return r;
}

static uint32_t line_after(const char *src, size_t len, uint32_t pos)
{
	const char *nl = memchr(src + pos, '\n', len - pos);
	return nl ? (uint32_t)(nl - src + 1) : (uint32_t)len;
}

/* "include<", "import", "require" …: what "of that kind" compares. */
char *gm_edit_import_kind(const struct gm_lang *lang, TSNode node, const char *src)
{
	const char *type = ts_node_type(node);
	(void)src;
	if (!strcmp(type, "preproc_include")) {
		TSNode p = ts_node_child_by_field_name(node, "path", 4);
		bool sys = !ts_node_is_null(p) && !strcmp(ts_node_type(p), "system_lib_string");
		return gm_xstrdup(sys ? "include<" : "include\"");
	}
	if (!strcmp(type, "import_statement") || !strcmp(type, "import_from_statement"))
		return gm_xstrdup("import");
	if (!strcmp(type, "lexical_declaration") || !strcmp(type, "variable_declaration"))
		return gm_xstrdup("require");
	(void)lang;
	return gm_xstrdup(type);
}

static void add_have(struct gm_edit_imports *im, const char *s, size_t n)
{
	GM_GROW(im->have, im->chave, im->nhave + 1);
	im->have[im->nhave++] = normalize(s, n);
}

static void set_point(struct gm_edit_imports *im, const char *kind, uint32_t at)
{
	for (size_t i = 0; i < im->npoints; i++) {
		if (!strcmp(im->points[i].kind, kind)) {
			im->points[i].at = at;
			return;
		}
	}
	GM_GROW(im->points, im->cpoints, im->npoints + 1);
	im->points[im->npoints].kind = gm_xstrdup(kind);
	im->points[im->npoints++].at = at;
}

/* Go: the import specs of an import_declaration, directly or in its list. */
static size_t go_specs(TSNode decl, TSNode *out, size_t max)
{
	size_t n = 0;
	for (uint32_t i = 0; i < ts_node_named_child_count(decl) && n < max; i++) {
		TSNode c = ts_node_named_child(decl, i);
		if (!strcmp(ts_node_type(c), "import_spec")) {
			out[n++] = c;
		} else if (!strcmp(ts_node_type(c), "import_spec_list")) {
			for (uint32_t k = 0; k < ts_node_named_child_count(c) && n < max; k++)
				if (!strcmp(ts_node_type(ts_node_named_child(c, k)), "import_spec"))
					out[n++] = ts_node_named_child(c, k);
		}
	}
	return n;
}

/* The import path of a Go spec (`f "fmt"` -> `"fmt"`), which gofmt sorts by. */
static char *go_path(const char *spec, size_t n)
{
	const char *q = memchr(spec, '"', n), *r = q ? memchr(q + 1, '"', n - (size_t)(q + 1 - spec)) : NULL;
	if (!q || !r) {
		q = memchr(spec, '`', n);
		r = q ? memchr(q + 1, '`', n - (size_t)(q + 1 - spec)) : NULL;
	}
	return q && r ? gm_xstrndup(q, (size_t)(r - q + 1)) : gm_xstrndup(spec, n);
}

/* Where a new spec goes in the block: before the first spec whose path sorts after its. */
static uint32_t go_spec_at(const struct gm_edit_imports *im, const char *spec)
{
	char *path = go_path(spec, strlen(spec));
	uint32_t at = im->go_block_at;
	for (size_t i = 0; i < im->ngo_specs; i++)
		if (strcmp(im->go_specs[i].path, path) > 0) {
			at = im->go_specs[i].line;
			break;
		}
	free(path);
	return at;
}

static void note_import(struct gm_edit_imports *im, TSNode node, const char *src, size_t len,
                        bool conditional)
{
	uint32_t s = ts_node_start_byte(node), e = ts_node_end_byte(node);
	uint32_t after = line_after(src, len, e > s ? e - 1 : e);
	char *kind = gm_edit_import_kind(im->lang, node, src);

	if (!strcmp(ts_node_type(node), "import_declaration") && !strcmp(im->lang->name, "go")) {
		TSNode specs[256];
		(void)conditional;
		size_t n = go_specs(node, specs, 256);
		bool block = false;
		for (uint32_t i = 0; i < ts_node_named_child_count(node); i++)
			block |= !strcmp(ts_node_type(ts_node_named_child(node, i)), "import_spec_list");
		for (size_t i = 0; i < n; i++)
			add_have(im, src + ts_node_start_byte(specs[i]),
			         ts_node_end_byte(specs[i]) - ts_node_start_byte(specs[i]));
		im->go_block = block;
		for (size_t i = 0; i < im->ngo_specs; i++)
			free(im->go_specs[i].path);
		im->ngo_specs = 0;
		if (block) {
			im->go_specs = gm_xrealloc(im->go_specs, (n + 1) * sizeof(*im->go_specs));
			for (size_t i = 0; i < n; i++) {
				uint32_t ls = ts_node_start_byte(specs[i]);
				while (ls > 0 && src[ls - 1] != '\n')
					ls--;
				im->go_specs[i].line = ls;
				im->go_specs[i].path = go_path(src + ts_node_start_byte(specs[i]),
				                               ts_node_end_byte(specs[i]) - ts_node_start_byte(specs[i]));
			}
			im->ngo_specs = n;
		}
		if (block) {
			/* The line of the closing parenthesis. */
			uint32_t p = e ? e - 1 : 0;
			while (p > s && src[p - 1] != '\n')
				p--;
			im->go_block_at = p;
		}
	} else {
		struct bound b;
		add_have(im, src + s, e - s);
		if (import_names(&b, node, src)) {
			GM_GROW(im->bound, im->cbound, im->nbound + 1);
			im->bound[im->nbound++] = b;
		}
	}
	if (!conditional) {
		set_point(im, kind, after);
		im->any = true;
		im->any_at = after;
	}
	free(kind);
}

static bool is_docstring(TSNode n)
{
	return !strcmp(ts_node_type(n), "expression_statement") && ts_node_named_child_count(n) == 1 &&
	       !strcmp(ts_node_type(ts_node_named_child(n, 0)), "string");
}

static bool is_header(TSNode n, bool first)
{
	const char *t = ts_node_type(n);
	return !strcmp(t, "comment") || !strcmp(t, "line_comment") || !strcmp(t, "block_comment") ||
	       !strcmp(t, "package_clause") || !strcmp(t, "package_declaration") ||
	       !strcmp(t, "preproc_call") || (first && is_docstring(n));
}

/* `#ifndef X` + `#define X` around a header: its imports are the file's. */
static bool is_include_guard(TSNode n, const char *src)
{
	TSNode name, def, dname;
	if (strcmp(ts_node_type(n), "preproc_ifdef") != 0 || ts_node_named_child_count(n) < 2)
		return false;
	name = ts_node_named_child(n, 0);
	def = ts_node_named_child(n, 1);
	if (strcmp(ts_node_type(def), "preproc_def") != 0)
		return false;
	dname = ts_node_child_by_field_name(def, "name", 4);
	return !ts_node_is_null(dname) &&
	       ts_node_end_byte(name) - ts_node_start_byte(name) ==
	               ts_node_end_byte(dname) - ts_node_start_byte(dname) &&
	       !memcmp(src + ts_node_start_byte(name), src + ts_node_start_byte(dname),
	               ts_node_end_byte(name) - ts_node_start_byte(name));
}

/*
 * Imports among the children of `parent`: those of the file and of an
 * include guard are where new ones go; those under another condition
 * (#ifdef _WIN32) only say that the file has them (an answer that echoes
 * one must not hoist it out of its condition).
 */
static void walk_imports(struct gm_edit_imports *im, TSNode parent, const char *src, size_t len,
                         unsigned depth, bool conditional)
{
	for (uint32_t i = 0; i < ts_node_named_child_count(parent); i++) {
		TSNode c = ts_node_named_child(parent, i);
		if (gm_lang_node_is_import(im->lang, c, src) && !ts_node_has_error(c))
			note_import(im, c, src, len, conditional);
		else if (depth < 8 && !strncmp(ts_node_type(c), "preproc_if", 10))
			walk_imports(im, c, src, len, depth + 1,
			             conditional || depth > 0 || !is_include_guard(c, src));
		else if (depth < 8 && (!strcmp(ts_node_type(c), "preproc_else") ||
		                       !strcmp(ts_node_type(c), "preproc_elif")))
			walk_imports(im, c, src, len, depth + 1, true);
		else if (depth < 8 && ts_node_is_error(c))
			/* A header the grammar cannot read (extern "C" { across #ifdef): its
			 * includes are still there, and mostly unconditional. */
			walk_imports(im, c, src, len, depth + 1, conditional);
	}
}

size_t gm_edit_file_imports(TSNode *out, size_t max, const struct gm_lang *lang, TSNode parent,
                            const char *src)
{
	size_t n = 0;
	for (uint32_t i = 0; i < ts_node_named_child_count(parent) && n < max; i++) {
		TSNode c = ts_node_named_child(parent, i);
		if (gm_lang_node_is_import(lang, c, src) && !ts_node_has_error(c))
			out[n++] = c;
		else if (is_include_guard(c, src) || ts_node_is_error(c))
			n += gm_edit_file_imports(out + n, max - n, lang, c, src);
	}
	return n;
}

int gm_edit_imports_new(struct gm_edit_imports **out, const struct gm_lang *lang, const char *src,
                        size_t len, TSTree *tree)
{
	struct gm_edit_imports *im = gm_xcalloc(1, sizeof(*im));
	TSNode root = ts_tree_root_node(tree);
	uint32_t n = ts_node_named_child_count(root);

	im->lang = lang;
	im->eol = gm_edit_eol(src, len);
	walk_imports(im, root, src, len, 0, false);
	/* No import: after the header (comments, package, docstring, include guard). */
	for (uint32_t i = 0; i < n; i++) {
		TSNode c = ts_node_named_child(root, i);
		if (is_header(c, i == 0)) {
			im->header_at = line_after(src, len, ts_node_end_byte(c) ? ts_node_end_byte(c) - 1 : 0);
			im->header = true;
			continue;
		}
		if (!strcmp(ts_node_type(c), "preproc_ifdef") && ts_node_named_child_count(c) > 1 &&
		    !strcmp(ts_node_type(ts_node_named_child(c, 1)), "preproc_def")) {
			uint32_t e = ts_node_end_byte(ts_node_named_child(c, 1));
			im->header_at = e && src[e - 1] == '\n' ? e : line_after(src, len, e);
			im->header = true;
		}
		break;
	}
	*out = im;
	return 0;
}

void gm_edit_imports_free(struct gm_edit_imports *im)
{
	if (!im)
		return;
	for (size_t i = 0; i < im->nhave; i++)
		free(im->have[i]);
	free(im->have);
	for (size_t i = 0; i < im->npoints; i++)
		free(im->points[i].kind);
	free(im->points);
	for (size_t i = 0; i < im->nbound; i++)
		bound_release(&im->bound[i]);
	free(im->bound);
	for (size_t i = 0; i < im->ngo_specs; i++)
		free(im->go_specs[i].path);
	free(im->go_specs);
	free(im);
}

bool gm_edit_imports_has(const struct gm_edit_imports *im, const char *text, size_t len)
{
	char *n = normalize(text, len);
	bool found = false;
	for (size_t i = 0; i < im->nhave && !found; i++)
		found = !strcmp(im->have[i], n);
	free(n);
	return found;
}

/* ---- applying ------------------------------------------------------------ */

struct op {
	uint32_t start, end;
	int rank;        /* at the same start: imports (0), insertions (1), replacements (2) */
	size_t seq;      /* order of arrival, for equal starts and ranks */
	const char *text;
	size_t len;
	const char *name;
};

static int cmp_op(const void *a, const void *b)
{
	const struct op *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank - y->rank;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static bool is_blank_line_at(const char *src, size_t len, uint32_t pos)
{
	while (pos < len && (src[pos] == ' ' || src[pos] == '\t' || src[pos] == '\r'))
		pos++;
	return pos >= len || src[pos] == '\n';
}

/* The text that puts `lines` (each without its line end) at `at`. */
static void import_text(struct gm_buf *b, const struct gm_edit_imports *im, const char *src,
                        size_t len, uint32_t at, bool after_imports, char **lines, size_t n,
                        bool go_spec, bool go_in_block)
{
	const char *eol = im->eol;
	if (go_spec && go_in_block) {
		for (size_t i = 0; i < n; i++)
			gm_buf_printf(b, "\t%s%s", lines[i], eol);
		return;
	}
	if (!after_imports && im->header)
		gm_buf_puts(b, eol);
	if (go_spec && n > 1) {
		gm_buf_printf(b, "import (%s", eol);
		for (size_t i = 0; i < n; i++)
			gm_buf_printf(b, "\t%s%s", lines[i], eol);
		gm_buf_printf(b, ")%s", eol);
	} else {
		for (size_t i = 0; i < n; i++)
			gm_buf_printf(b, "%s%s%s", go_spec ? "import " : "", lines[i], eol);
	}
	if (!after_imports && !is_blank_line_at(src, len, at))
		gm_buf_puts(b, eol);
}

/*
 * An import `text` of an edit against the file's names and those the
 * edits before it added: true when it adds nothing new; else `*text_out`
 * is NULL (keep it as it is) or the statement with only the new names, and
 * its names join `added`.
 */
static bool trim_added(char **text_out, const struct gm_lang *lang, const struct gm_edit_imports *im,
                       struct bound **added, size_t *nadded, size_t *cadded, const char *text)
{
	TSTree *t = gm_scan_parse(lang, text, strlen(text), NULL);
	TSNode node;
	struct bound *all, b;
	size_t nall;
	char *trimmed = NULL;
	int rc;

	*text_out = NULL;
	if (!t) {
		gm_error_clear();
		return false;
	}
	node = ts_node_named_child(ts_tree_root_node(t), 0);
	nall = (im ? im->nbound : 0) + *nadded;
	all = gm_xcalloc(nall + 1, sizeof(*all));
	for (size_t i = 0; im && i < im->nbound; i++)
		all[i] = im->bound[i];
	for (size_t i = 0; i < *nadded; i++)
		all[(im ? im->nbound : 0) + i] = (*added)[i];
	rc = ts_node_is_null(node) ? 1 : trim_import(&trimmed, all, nall, node, text);
	free(all);
	if (rc == 0 && import_names(&b, node, text)) {
		GM_GROW(*added, *cadded, *nadded + 1);
		(*added)[(*nadded)++] = b;
	}
	ts_tree_delete(t);
	if (rc == GM_ENOTFOUND)
		return true;
	if (rc == 0 && strcmp(trimmed, text) != 0)
		*text_out = trimmed;
	else
		free(trimmed);
	return false;
}

int gm_edit_apply(char **out, size_t *out_len, const struct gm_lang *lang, const char *src,
                  size_t len, const struct gm_edit_imports *im, const struct gm_edit *const *edits,
                  size_t n, const bool *on)
{
	struct op *ops = NULL;
	size_t nops = 0, cops = 0, seq = 0;
	char **newi = NULL, **kinds = NULL, **texts = NULL, **owned = NULL;
	size_t nnew = 0, cnew = 0, ckinds = 0, ntexts = 0, ctexts = 0, nowned = 0, cowned = 0;
	struct bound *added = NULL;
	size_t nadded = 0, cadded = 0;
	bool go = !strcmp(lang->name, "go");
	struct gm_buf b = GM_BUF_INIT;
	uint32_t pos = 0;
	int rc = 0;

	*out = NULL;
	for (size_t i = 0; i < n; i++) {
		const struct gm_edit *e = edits[i];
		if (on && !on[i])
			continue;
		for (size_t k = 0; k < e->nsplices; k++) {
			const struct gm_splice *s = &e->splices[k];
			if (s->start > s->end || s->end > len) {
				gm_error_set("edit of '%s' lies outside the file", e->name);
				rc = GM_EINVALID;
				goto cleanup;
			}
			GM_GROW(ops, cops, nops + 1);
			ops[nops++] = (struct op){ s->start, s->end, s->start == s->end ? 1 : 2, seq++,
			                           s->text, s->len, e->name };
		}
		for (size_t k = 0; k < e->nimports; k++) {
			const struct gm_import *imp = &e->imports[k];
			char *norm = normalize(imp->text, strlen(imp->text)), *text = NULL;
			bool dup = im && gm_edit_imports_has(im, imp->text, strlen(imp->text));
			for (size_t j = 0; j < nnew && !dup; j++) {
				char *o = normalize(newi[j], strlen(newi[j]));
				dup = !strcmp(o, norm);
				free(o);
			}
			free(norm);
			/* Names another edit of the file brings already are bound once. */
			if (!dup && (dup = trim_added(&text, lang, im, &added, &nadded, &cadded, imp->text)))
				free(text);
			if (dup)
				continue;
			GM_GROW(newi, cnew, nnew + 1);
			GM_GROW(kinds, ckinds, nnew + 1);
			GM_GROW(owned, cowned, nowned + 1);
			owned[nowned++] = text;
			newi[nnew] = text ? text : imp->text;
			kinds[nnew++] = imp->kind;
		}
	}
	if (nops > 1)
		qsort(ops, nops, sizeof(*ops), cmp_op);
	for (size_t k = 1; k < nops; k++) {
		/* A replacement must not overlap another, nor swallow an insertion. */
		for (size_t j = k; j-- > 0;) {
			if (ops[j].rank != 2)
				continue;
			if (ops[j].end > ops[k].start && !(ops[k].rank != 2 && ops[k].start == ops[j].start)) {
				gm_error_set("edits of '%s' and '%s' overlap", ops[j].name, ops[k].name);
				rc = GM_EINVALID;
				goto cleanup;
			}
			break;
		}
	}
	/* Imports: grouped by where they go, in the order the edits brought them. */
	if (nnew && im) {
		bool *done = gm_xcalloc(nnew, sizeof(bool));
		for (size_t i = 0; i < nnew; i++) {
			uint32_t at = im->any ? im->any_at : im->header_at;
			bool after = im->any, go_block = false;
			struct gm_buf t = GM_BUF_INIT;
			size_t m = 0;
			char **group;
			if (done[i])
				continue;
			for (size_t p = 0; p < im->npoints; p++)
				if (!strcmp(im->points[p].kind, kinds[i]))
					at = im->points[p].at;
			if (go && im->go_block) {
				at = go_spec_at(im, newi[i]);
				go_block = true;
			}
			group = gm_xcalloc(nnew, sizeof(char *));
			for (size_t j = i; j < nnew; j++) {
				uint32_t at_j = im->any ? im->any_at : im->header_at;
				for (size_t p = 0; p < im->npoints; p++)
					if (!strcmp(im->points[p].kind, kinds[j]))
						at_j = im->points[p].at;
				if (go && im->go_block)
					at_j = go_spec_at(im, newi[j]);
				if (!done[j] && at_j == at) {
					group[m++] = newi[j];
					done[j] = true;
				}
			}
			import_text(&t, im, src, len, at, after, group, m, go, go_block);
			free(group);
			GM_GROW(texts, ctexts, ntexts + 1);
			texts[ntexts] = gm_buf_detach(&t, NULL);
			GM_GROW(ops, cops, nops + 1);
			ops[nops++] = (struct op){ at, at, 0, seq++, texts[ntexts], strlen(texts[ntexts]),
			                           "imports" };
			ntexts++;
		}
		free(done);
		qsort(ops, nops, sizeof(*ops), cmp_op);
	}
	for (size_t k = 0; k < nops; k++) {
		if (ops[k].start < pos) {
			/* An import point inside a replaced range cannot happen: imports lie outside units. */
			gm_error_set("edits of '%s' and '%s' overlap", k ? ops[k - 1].name : "", ops[k].name);
			rc = GM_EINVALID;
			goto cleanup;
		}
		gm_buf_put(&b, src + pos, ops[k].start - pos);
		gm_buf_put(&b, ops[k].text, ops[k].len);
		pos = ops[k].end;
	}
	gm_buf_put(&b, src + pos, len - pos);
	*out = gm_buf_detach(&b, out_len);
cleanup:
	gm_buf_release(&b);
	for (size_t i = 0; i < nowned; i++)
		free(owned[i]);
	free(owned);
	for (size_t i = 0; i < nadded; i++)
		bound_release(&added[i]);
	free(added);
	for (size_t i = 0; i < ntexts; i++)
		free(texts[i]);
	free(texts);
	free(newi);
	free(kinds);
	free(ops);
	return rc;
}
