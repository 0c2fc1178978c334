/*
 * lang.h: the language registry.  A language is a row of data: its name,
 * file extensions, tree-sitter grammar, scope separator, and the query files
 * of grammars/<lang>/ (embedded at build time):
 *
 *   units.scm       @definition.function / .method / .constructor with @name
 *                   (and optional @params, @receiver); @scope.class /
 *                   @scope.namespace with @name for qualified names
 *   metrics.scm     @decision (adds 1 to cyclomatic complexity),
 *                   @nesting (a level of nesting), @parameter
 *   calls.scm       @reference.call with @name
 *   imports.scm     @import: an imported module, header or path
 *
 * Queries are compiled on a language's first use (gm_lang_load, called by
 * the scanner; C++'s alone takes long enough to matter for the pre-commit
 * hook), once, under a lock; compiled queries are immutable and shared by
 * all threads.
 */
#ifndef MONITOR_LANG_H
#define MONITOR_LANG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <tree_sitter/api.h>

struct gm_query_text {
	const char *lang;
	const char *name;
	const char *data;
	size_t len;
};

/* Generated from grammars/ (cmake/Embed.cmake). */
extern const struct gm_query_text gm_query_texts[];
extern const char gm_query_digest[];

enum gm_query_kind {
	GM_QUERY_UNITS,
	GM_QUERY_METRICS,
	GM_QUERY_CALLS,
	GM_QUERY_IMPORTS,
	GM_QUERY__COUNT
};

/*
 * Where a new helper of a *method* goes (DESIGN.md "Validation and merge"):
 * beside it in its class, or before the class as a free function.
 */
enum gm_helper_rule {
	GM_HELPER_SIBLING,    /* always a sibling in the class (Java, C++, C, Go) */
	GM_HELPER_SELF_PARAM, /* a sibling when it takes self (Python: self/cls or a
	                         @staticmethod/@classmethod decorator; Rust: a self
	                         parameter, or called as Self::name), else free */
	GM_HELPER_SYNTAX,     /* free when written as a free function (JS/TS: a
	                         function declaration outside the class), else a sibling */
};

struct gm_lang {
	const char *name;
	const char *const *extensions; /* NULL-terminated, with the dot */
	const TSLanguage *(*grammar)(void);
	const char *scope_sep;
	/* Whose query files (grammars/<dir>/) to use, NULL: its own name.  TSX
	 * has TypeScript's node types, so it shares TypeScript's files. */
	const char *query_dir;
	/* Blocks end where the indentation does (Python): a unit has no closing
	 * line, so lines removed right after its last line may have been its
	 * tail (plan.h, gm_plan_unit_touched). */
	bool indent_blocks;
	/*
	 * For edits: node types of whole import statements (a declaration that
	 * calls `require` counts as one in JS/TS), aliases a fenced block may
	 * be tagged with besides the name ("py", "golang"), the language family
	 * (blocks tagged with another family's name are not the answer), and
	 * the helper rule above.  Comments, attributes, decorators and string
	 * literals are known by node type names that all grammars share
	 * (gm_lang_node_is_lead, gm_lang_node_is_string).
	 */
	const char *const *import_kinds;
	const char *const *aliases;
	const char *family;
	enum gm_helper_rule helper_rule;
	/* GM_HELPER_SELF_PARAM: first-parameter words and decorators that make
	 * a method, and the prefix of a call to an associated function. */
	const char *const *self_words;
	const char *const *method_decorators;
	const char *assoc_prefix;
	bool no_free_functions; /* Java: every function lives in a class */
	/*
	 * Filled by gm_lang_load().  The four files compile into ONE query, so
	 * that the scanner walks a tree once: `query` holds every pattern, those
	 * of kind k being [first_pattern[k], first_pattern[k + 1]).  queries[k]
	 * is that same query when <k>.scm exists (NULL when it is missing): run
	 * it with the pattern range in mind, or use gm_lang_pattern_kind().
	 */
	TSQuery *query;
	TSQuery *queries[GM_QUERY__COUNT];
	uint32_t first_pattern[GM_QUERY__COUNT + 1];
	atomic_bool loaded;
};

/* Ready the registry (cheap: queries compile on first use). */
int gm_lang_init(void);
/* Compile the queries of `lang` unless done; thread-safe; fails naming the bad file. */
int gm_lang_load(const struct gm_lang *lang);
/* Kind of pattern `pattern` of lang->query (loaded). */
enum gm_query_kind gm_lang_pattern_kind(const struct gm_lang *lang, uint32_t pattern);
/* Compile every language's queries (checks, tests). */
int gm_lang_load_all(void);
void gm_lang_shutdown(void);

/* All languages, NULL-terminated. */
const struct gm_lang *const *gm_lang_all(void);
const struct gm_lang *gm_lang_by_name(const char *name);

/*
 * Language of a path by its extension.  `h_is_cpp` decides `.h` (the caller
 * knows whether the repository has C++ and no C sources).  NULL: unknown.
 */
const struct gm_lang *gm_lang_for_path(const char *path, bool h_is_cpp);

/* Is a fenced block's info string (its first word) the language of `lang`? */
bool gm_lang_tag_matches(const struct gm_lang *lang, const char *tag, size_t len);
/* Does the tag name another known language (or a non-code format: diff, bash, json …)? */
bool gm_lang_tag_foreign(const struct gm_lang *lang, const char *tag, size_t len);

/* A whole import / include / use statement of `lang` (`src` is the text it was parsed from). */
bool gm_lang_node_is_import(const struct gm_lang *lang, TSNode node, const char *src);
/* A comment, attribute (Rust `#[..]`) or decorator that may stand directly above a unit. */
bool gm_lang_node_is_lead(TSNode node);
bool gm_lang_node_is_comment(TSNode node);
/* A string literal (its inner lines are never re-indented). */
bool gm_lang_node_is_string(TSNode node);

/* Name of the query kind ("units", "metrics", ...). */
const char *gm_query_kind_name(enum gm_query_kind kind);

#endif
