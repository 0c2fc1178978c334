/*
 * lang.h: the language registry.  A language is a row of data: its name,
 * file extensions, tree-sitter grammar, scope separator, and the query files
 * of grammars/<lang>/ (embedded at build time):
 *
 *   units.scm       @definition.function / .method / .constructor with @name
 *                   (and optional @params, @body, @decl, @receiver);
 *                   @scope.class / @scope.namespace with @name for
 *                   qualified names
 *   metrics.scm     @decision (adds 1 to cyclomatic complexity),
 *                   @nesting (a level of nesting), @parameter
 *   calls.scm       @reference.call with @name
 *   imports.scm     @import: an imported module, header or path
 *
 * The rows are immutable (`const struct gm_lang`); what is read from
 * them lives in lang.c, one state per row, reached through the functions
 * below.  The query files are read into pattern sets (pattern.h, not
 * tree-sitter's query compiler: well under a millisecond a language) on a
 * language's first use (gm_lang_load, called by the scanner), once, under
 * a lock; the sets are immutable and shared by all threads.
 */
#ifndef MONITOR_LANG_H
#define MONITOR_LANG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tree_sitter/api.h>

struct gm_pattern_set;

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

/* What a capture name of the query files means (GM_CAP_NONE: nothing). */
enum gm_capture {
	GM_CAP_NONE,
	GM_CAP_DEF_FUNCTION,    /* @definition.function */
	GM_CAP_DEF_METHOD,      /* @definition.method */
	GM_CAP_DEF_CONSTRUCTOR, /* @definition.constructor */
	GM_CAP_NAME,            /* @name */
	GM_CAP_PARAMS,          /* @params */
	GM_CAP_BODY,            /* @body */
	GM_CAP_DECL,            /* @decl: where the signature starts */
	GM_CAP_RECEIVER,        /* @receiver (Go) */
	GM_CAP_SCOPE_CLASS,     /* @scope.class */
	GM_CAP_SCOPE_NAMESPACE, /* @scope.namespace */
	GM_CAP_DECISION,        /* @decision */
	GM_CAP_NESTING,         /* @nesting */
	GM_CAP_PARAMETER,       /* @parameter */
	GM_CAP_CALL,            /* @reference.call */
	GM_CAP_IMPORT,          /* @import */
};

/* One row of the registry; never changes. */
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
};

/* Ready the registry (cheap: queries compile on first use). */
int gm_lang_init(void);
/* Read the query files of `lang` unless done; thread-safe; fails naming the bad file and line. */
int gm_lang_load(const struct gm_lang *lang);
/* Read every language's query files (checks, tests). */
int gm_lang_load_all(void);
/* Free every pattern set; the next use reads them again. */
void gm_lang_shutdown(void);

/*
 * The patterns of a loaded `lang` (owned by the registry): the four files
 * make ONE set, so that the scanner walks a tree once.  NULL when the
 * language has no query file at all.
 */
const struct gm_pattern_set *gm_lang_patterns(const struct gm_lang *lang);
/* Whether <kind>.scm exists for the loaded `lang`. */
bool gm_lang_has_query(const struct gm_lang *lang, enum gm_query_kind kind);
/* Which file pattern `pattern` of gm_lang_patterns(lang) came from (loaded). */
enum gm_query_kind gm_lang_pattern_kind(const struct gm_lang *lang, uint32_t pattern);
/*
 * gm_lang_node_is_lead by symbol, for the loaded `lang` (owned by the
 * registry): table[s] for a node of symbol s < *count.
 */
const bool *gm_lang_lead_symbols(const struct gm_lang *lang, uint32_t *count);
/* Meaning of capture `id` of gm_lang_patterns(lang) (loaded). */
enum gm_capture gm_lang_capture(const struct gm_lang *lang, uint32_t id);

/* All languages, NULL-terminated. */
const struct gm_lang *const *gm_lang_all(void);
const struct gm_lang *gm_lang_by_name(const char *name);

/*
 * Language of a path by its extension.  `h_is_cpp` decides `.h` (see
 * gm_lang_h_is_cpp).  NULL: unknown.
 */
const struct gm_lang *gm_lang_for_path(const char *path, bool h_is_cpp);
/* The same for an extension without its dot ("py", "h"), any case but `h`'s. */
const struct gm_lang *gm_lang_for_extension(const char *ext, bool h_is_cpp);
/*
 * Whether the `.h` files of a repository whose files are `paths` are C++:
 * when it has C++ sources and no C sources (headers do not count).
 */
bool gm_lang_h_is_cpp(const char *const *paths, size_t n);

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
