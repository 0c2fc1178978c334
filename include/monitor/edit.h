/*
 * edit.h: one accepted rewrite as bytes to put into its file: the function
 * (with the helpers that go beside it), free helpers that go before its
 * class, and the import lines it needs.  validate.c builds an edit from an
 * answer and checks it by applying it alone; merge.c applies the edits of
 * one file together.  Pure: text in, text out.
 *
 * Imports are not splices: they are statements (Go: import specs) merged
 * into the file's import block when the edits are applied, once per file
 * however many edits bring them, and never when the file has them already.
 * Where they go: after the last top-level import of the same kind (C:
 * `#include <..>` vs `#include ".."`; JS: `import` vs `require`), else
 * after the last import of any kind, else after the file's header (leading
 * comments, package clause, module docstring, `#pragma once`, an include
 * guard's #define), each on a line of its own; Go specs go into the last
 * `import ( … )` block when there is one.
 */
#ifndef MONITOR_EDIT_H
#define MONITOR_EDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "monitor/lang.h"

/* Replace [start, end) of the original file with `text`; start == end inserts. */
struct gm_splice {
	uint32_t start, end;
	char *text;
	size_t len;
};

/* An import to add: the statement at column 0 (Go: the spec, `"fmt"` or `f "fmt"`). */
struct gm_import {
	char *text;
	char *kind; /* node type, C: + "<" or "\"", for "after the last of its kind" */
};

struct gm_edit {
	char *name;                 /* the function's name, for reasons */
	struct gm_splice *splices;  /* sorted by start; replacements never overlap */
	size_t nsplices;
	struct gm_import *imports;
	size_t nimports;
	char **helpers;             /* qualified names of the new functions it brings */
	size_t nhelpers;
};

void gm_edit_release(struct gm_edit *e);
/* Append a splice (copies `text`). */
void gm_edit_add_splice(struct gm_edit *e, uint32_t start, uint32_t end, const char *text,
                        size_t len);
void gm_edit_add_import(struct gm_edit *e, const char *text, size_t len, const char *kind);

/*
 * Where the file's imports are, parsed from `tree` of `src`: what is there
 * already and where new ones go.  Release with gm_edit_imports_release.
 */
struct gm_edit_imports;
int gm_edit_imports_new(struct gm_edit_imports **out, const struct gm_lang *lang, const char *src,
                        size_t len, TSTree *tree);
void gm_edit_imports_free(struct gm_edit_imports *im);
/*
 * The import `node` (of the text `src`, an answer) without the names the
 * file's imports already bind from the same module (JS/TS `import {a, b}
 * from "m"`, Python `from m import a, b`): 0 and `*out` the statement to add
 * (the caller frees it), GM_ENOTFOUND when it binds nothing new, 1 when it
 * is not an import of single names (compare whole statements instead).
 */
int gm_edit_import_trim(char **out, const struct gm_edit_imports *im, TSNode node, const char *src);

/* Does the file already have `text` (whitespace-insensitive)? */
bool gm_edit_imports_has(const struct gm_edit_imports *im, const char *text, size_t len);

/*
 * The file with the edits `on[i]` (NULL: all) applied: their splices in
 * one pass over the original, their new imports (deduplicated) at the
 * file's import points.  GM_EINVALID naming the functions when two edits'
 * replacements overlap or one lies outside the file.  The result and its
 * length are the caller's.
 */
int gm_edit_apply(char **out, size_t *out_len, const struct gm_lang *lang, const char *src,
                  size_t len, const struct gm_edit_imports *im, const struct gm_edit *const *edits,
                  size_t n, const bool *on);

/* What "an import of the same kind" compares: "include<", "include\"", "import", "require", or the node type. Caller frees. */
char *gm_edit_import_kind(const struct gm_lang *lang, TSNode node, const char *src);

/*
 * The import statements of the file whose root is `parent` (top level, or
 * inside an include guard; not those under another #if), at most `max`.
 */
size_t gm_edit_file_imports(TSNode *out, size_t max, const struct gm_lang *lang, TSNode parent,
                            const char *src);

/* The line ending of `src` ("\r\n" when its first line ends so, else "\n"). */
const char *gm_edit_eol(const char *src, size_t len);

#endif
