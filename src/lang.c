#include "monitor/lang.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "monitor/error.h"
#include "monitor/pattern.h"
#include "monitor/util.h"
#include "monitor/banned.h"

const TSLanguage *tree_sitter_c(void);
const TSLanguage *tree_sitter_cpp(void);
const TSLanguage *tree_sitter_python(void);
const TSLanguage *tree_sitter_javascript(void);
const TSLanguage *tree_sitter_typescript(void);
const TSLanguage *tree_sitter_tsx(void);
const TSLanguage *tree_sitter_go(void);
const TSLanguage *tree_sitter_rust(void);
const TSLanguage *tree_sitter_java(void);

static const char *const ext_c[] = { ".c", ".h", NULL };
static const char *const ext_cpp[] = { ".cc", ".cpp", ".cxx", ".c++", ".hh", ".hpp", ".hxx", ".h++", ".ipp", ".tpp", ".h", NULL };
static const char *const ext_python[] = { ".py", ".pyi", ".pyw", NULL };
static const char *const ext_javascript[] = { ".js", ".mjs", ".cjs", ".jsx", NULL };
static const char *const ext_typescript[] = { ".ts", ".mts", ".cts", NULL };
static const char *const ext_tsx[] = { ".tsx", NULL };
static const char *const ext_go[] = { ".go", NULL };
static const char *const ext_rust[] = { ".rs", NULL };
static const char *const ext_java[] = { ".java", NULL };

static const char *const imp_c[] = { "preproc_include", NULL };
static const char *const imp_python[] = { "import_statement", "import_from_statement",
	"future_import_statement", NULL };
static const char *const imp_js[] = { "import_statement", NULL };
static const char *const imp_go[] = { "import_declaration", NULL };
static const char *const imp_rust[] = { "use_declaration", "extern_crate_declaration", NULL };
static const char *const imp_java[] = { "import_declaration", NULL };

static const char *const self_python[] = { "self", "cls", NULL };
static const char *const deco_python[] = { "staticmethod", "classmethod", NULL };
static const char *const self_rust[] = { "self", NULL };

static const char *const al_c[] = { "h", NULL };
static const char *const al_cpp[] = { "c++", "cc", "cxx", "hpp", "h++", NULL };
static const char *const al_python[] = { "py", "python3", "py3", NULL };
static const char *const al_js[] = { "js", "jsx", "mjs", "cjs", "node", NULL };
static const char *const al_ts[] = { "ts", NULL };
static const char *const al_tsx[] = { "typescriptreact", NULL };
static const char *const al_go[] = { "golang", NULL };
static const char *const al_rust[] = { "rs", NULL };
static const char *const al_java[] = { NULL };

static const struct gm_lang langs[] = {
	{ .name = "c", .extensions = ext_c, .grammar = tree_sitter_c, .scope_sep = "::",
	  .import_kinds = imp_c, .aliases = al_c, .family = "c", .helper_rule = GM_HELPER_SIBLING },
	{ .name = "cpp", .extensions = ext_cpp, .grammar = tree_sitter_cpp, .scope_sep = "::",
	  .import_kinds = imp_c, .aliases = al_cpp, .family = "c", .helper_rule = GM_HELPER_SIBLING },
	{ .name = "python", .extensions = ext_python, .grammar = tree_sitter_python, .scope_sep = ".",
	  .import_kinds = imp_python, .aliases = al_python, .family = "python",
	  .helper_rule = GM_HELPER_SELF_PARAM, .self_words = self_python,
	  .method_decorators = deco_python, .indent_blocks = true },
	{ .name = "javascript", .extensions = ext_javascript, .grammar = tree_sitter_javascript,
	  .scope_sep = ".", .import_kinds = imp_js, .aliases = al_js, .family = "js",
	  .helper_rule = GM_HELPER_SYNTAX },
	{ .name = "typescript", .extensions = ext_typescript, .grammar = tree_sitter_typescript,
	  .scope_sep = ".", .import_kinds = imp_js, .aliases = al_ts, .family = "js",
	  .helper_rule = GM_HELPER_SYNTAX },
	{ .name = "tsx", .extensions = ext_tsx, .grammar = tree_sitter_tsx, .scope_sep = ".",
	  .query_dir = "typescript", .import_kinds = imp_js, .aliases = al_tsx, .family = "js",
	  .helper_rule = GM_HELPER_SYNTAX },
	{ .name = "go", .extensions = ext_go, .grammar = tree_sitter_go, .scope_sep = ".",
	  .import_kinds = imp_go, .aliases = al_go, .family = "go", .helper_rule = GM_HELPER_SIBLING },
	{ .name = "rust", .extensions = ext_rust, .grammar = tree_sitter_rust, .scope_sep = "::",
	  .import_kinds = imp_rust, .aliases = al_rust, .family = "rust",
	  .helper_rule = GM_HELPER_SELF_PARAM, .self_words = self_rust, .assoc_prefix = "Self::" },
	{ .name = "java", .extensions = ext_java, .grammar = tree_sitter_java, .scope_sep = ".",
	  .import_kinds = imp_java, .aliases = al_java, .family = "java",
	  .helper_rule = GM_HELPER_SIBLING, .no_free_functions = true },
};
#define NLANGS (sizeof(langs) / sizeof(langs[0]))

/*
 * What gm_lang_load() reads for a row, kept apart from the immutable row
 * (state[i] belongs to langs[i]).  `patterns` holds every pattern of the
 * four files, those of kind k being [first_pattern[k], first_pattern[k + 1]);
 * `captures` gives the meaning of each capture id.  Written once under
 * load_lock before `loaded` is released, read-only afterwards.
 */
struct lang_state {
	struct gm_pattern_set *patterns;
	bool has[GM_QUERY__COUNT];
	uint32_t first_pattern[GM_QUERY__COUNT + 1];
	enum gm_capture *captures;
	bool *lead_symbols; /* by symbol: gm_lang_node_is_lead's answer */
	uint32_t nsymbols;
	atomic_bool loaded;
};

static struct lang_state state[NLANGS];

static const struct gm_lang *all[NLANGS + 1];

static const char *const kind_names[GM_QUERY__COUNT] = {
	"units", "metrics", "calls", "imports"
};

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

static struct lang_state *state_of(const struct gm_lang *lang)
{
	size_t i = (size_t)(lang - langs);
	if (i >= NLANGS)
		abort(); /* not a row of the registry */
	return &state[i];
}

const char *gm_query_kind_name(enum gm_query_kind kind)
{
	return kind_names[kind];
}

static enum gm_capture capture_of(const char *name, size_t len)
{
	static const struct { const char *n; enum gm_capture c; } map[] = {
		{ "definition.function", GM_CAP_DEF_FUNCTION },
		{ "definition.method", GM_CAP_DEF_METHOD },
		{ "definition.constructor", GM_CAP_DEF_CONSTRUCTOR },
		{ "name", GM_CAP_NAME },
		{ "params", GM_CAP_PARAMS },
		{ "body", GM_CAP_BODY },
		{ "decl", GM_CAP_DECL },
		{ "receiver", GM_CAP_RECEIVER },
		{ "scope.class", GM_CAP_SCOPE_CLASS },
		{ "scope.namespace", GM_CAP_SCOPE_NAMESPACE },
		{ "decision", GM_CAP_DECISION },
		{ "nesting", GM_CAP_NESTING },
		{ "parameter", GM_CAP_PARAMETER },
		{ "reference.call", GM_CAP_CALL },
		{ "import", GM_CAP_IMPORT },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strlen(map[i].n) == len && memcmp(map[i].n, name, len) == 0)
			return map[i].c;
	return GM_CAP_NONE;
}

static bool type_is_comment(const char *type)
{
	return strstr(type, "comment") != NULL;
}

static bool type_is_lead(const char *type)
{
	return type && (type_is_comment(type) || !strcmp(type, "attribute_item") ||
	                !strcmp(type, "decorator"));
}

/*
 * Read the query files of `l` into one pattern set (one tree walk per file
 * instead of four) and fill `st`; called with load_lock held.  This is
 * the whole of a language's start-up cost: well under a millisecond, where
 * ts_query_new took 5-900 ms (pattern.h).
 */
static int compile_lang(const struct gm_lang *l, struct lang_state *st)
{
	const struct gm_query_text *parts[GM_QUERY__COUNT] = { 0 };
	uint32_t start[GM_QUERY__COUNT + 1];
	struct gm_buf b = GM_BUF_INIT;
	size_t off;
	uint32_t n;
	bool any = false;
	int rc = 0;

	for (const struct gm_query_text *q = gm_query_texts; q->lang; q++) {
		int k;
		if (strcmp(q->lang, l->query_dir ? l->query_dir : l->name) != 0)
			continue;
		for (k = 0; k < GM_QUERY__COUNT; k++)
			if (strcmp(q->name, kind_names[k]) == 0)
				break;
		if (k < GM_QUERY__COUNT)
			parts[k] = q; /* other files (e.g. notes) are not ours to load */
	}
	for (int k = 0; k < GM_QUERY__COUNT; k++) {
		start[k] = (uint32_t)b.len;
		if (!parts[k])
			continue;
		gm_buf_put(&b, parts[k]->data, parts[k]->len);
		gm_buf_puts(&b, "\n");
		any = true;
	}
	start[GM_QUERY__COUNT] = (uint32_t)b.len;
	st->nsymbols = ts_language_symbol_count(l->grammar());
	st->lead_symbols = gm_xcalloc(st->nsymbols + 1, sizeof(*st->lead_symbols));
	for (uint32_t i = 0; i < st->nsymbols; i++)
		st->lead_symbols[i] = type_is_lead(ts_language_symbol_name(l->grammar(), (TSSymbol)i));
	if (!any)
		goto cleanup;
	if (gm_pattern_set_new(&st->patterns, l->grammar(), b.ptr, b.len, &off) < 0) {
		int k = 0;
		uint32_t line = 1;
		char *what = gm_xstrdup(gm_error_last());
		while (k < GM_QUERY__COUNT - 1 && off >= start[k + 1])
			k++;
		for (uint32_t j = start[k]; j < off && j < start[k + 1]; j++)
			line += b.ptr[j] == '\n';
		gm_error_set("grammars/%s/%s.scm:%u: %s", l->query_dir ? l->query_dir : l->name,
		             kind_names[k], line, what);
		free(what);
		rc = GM_ERROR;
		goto cleanup;
	}
	/* The walk gives the scanner the comments and other leads before a definition. */
	gm_pattern_set_keep_leaves(st->patterns, st->lead_symbols, st->nsymbols);
	/* Patterns come in text order: find where each file's begin. */
	n = gm_pattern_count(st->patterns);
	for (int k = 0, p = 0; k <= GM_QUERY__COUNT; k++) {
		while ((uint32_t)p < n && gm_pattern_start_byte(st->patterns, (uint32_t)p) < start[k])
			p++;
		st->first_pattern[k] = (uint32_t)p;
	}
	st->first_pattern[GM_QUERY__COUNT] = n;
	for (int k = 0; k < GM_QUERY__COUNT; k++)
		st->has[k] = parts[k] != NULL;
	n = gm_pattern_capture_count(st->patterns);
	st->captures = gm_xcalloc(n ? n : 1, sizeof(*st->captures));
	for (uint32_t i = 0; i < n; i++) {
		uint32_t len;
		const char *name = gm_pattern_capture_name(st->patterns, i, &len);
		st->captures[i] = capture_of(name, len);
	}
cleanup:
	gm_buf_release(&b);
	return rc;
}

const struct gm_pattern_set *gm_lang_patterns(const struct gm_lang *lang)
{
	return state_of(lang)->patterns;
}

bool gm_lang_has_query(const struct gm_lang *lang, enum gm_query_kind kind)
{
	return state_of(lang)->has[kind];
}

enum gm_query_kind gm_lang_pattern_kind(const struct gm_lang *lang, uint32_t pattern)
{
	const struct lang_state *st = state_of(lang);
	int k = GM_QUERY__COUNT - 1;
	while (k > 0 && pattern < st->first_pattern[k])
		k--;
	return (enum gm_query_kind)k;
}

const bool *gm_lang_lead_symbols(const struct gm_lang *lang, uint32_t *count)
{
	const struct lang_state *st = state_of(lang);
	*count = st->nsymbols;
	return st->lead_symbols;
}

enum gm_capture gm_lang_capture(const struct gm_lang *lang, uint32_t id)
{
	const struct lang_state *st = state_of(lang);
	return st->patterns && id < gm_pattern_capture_count(st->patterns) ? st->captures[id]
	                                                                   : GM_CAP_NONE;
}

int gm_lang_init(void)
{
	/* Nothing to do up front: each language is read on first use. */
	return 0;
}

int gm_lang_load(const struct gm_lang *lang)
{
	struct lang_state *st = state_of(lang);
	int rc = 0;

	if (atomic_load_explicit(&st->loaded, memory_order_acquire))
		return 0;
	pthread_mutex_lock(&load_lock);
	if (!atomic_load_explicit(&st->loaded, memory_order_relaxed)) {
		rc = compile_lang(lang, st);
		if (rc == 0)
			atomic_store_explicit(&st->loaded, true, memory_order_release);
	}
	pthread_mutex_unlock(&load_lock);
	return rc;
}

int gm_lang_load_all(void)
{
	for (size_t i = 0; i < NLANGS; i++) {
		int rc = gm_lang_load(&langs[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

void gm_lang_shutdown(void)
{
	pthread_mutex_lock(&load_lock);
	for (size_t i = 0; i < NLANGS; i++) {
		struct lang_state *st = &state[i];
		gm_pattern_set_free(st->patterns);
		free(st->captures);
		free(st->lead_symbols);
		st->lead_symbols = NULL;
		st->nsymbols = 0;
		st->patterns = NULL;
		st->captures = NULL;
		memset(st->has, 0, sizeof(st->has));
		memset(st->first_pattern, 0, sizeof(st->first_pattern));
		atomic_store(&st->loaded, false);
	}
	pthread_mutex_unlock(&load_lock);
}

const struct gm_lang *const *gm_lang_all(void)
{
	for (size_t i = 0; i < NLANGS; i++)
		all[i] = &langs[i];
	all[NLANGS] = NULL;
	return all;
}

const struct gm_lang *gm_lang_by_name(const char *name)
{
	for (size_t i = 0; i < NLANGS; i++)
		if (strcmp(langs[i].name, name) == 0)
			return &langs[i];
	return NULL;
}

const struct gm_lang *gm_lang_for_extension(const char *ext, bool h_is_cpp)
{
	/* `.h` is both C's and C++'s: the caller knows which this repository means. */
	if (strcmp(ext, "h") == 0)
		return gm_lang_by_name(h_is_cpp ? "cpp" : "c");
	for (size_t i = 0; i < NLANGS; i++)
		for (const char *const *e = langs[i].extensions; *e; e++)
			if (strcasecmp(ext, *e + 1) == 0 && strcmp(*e, ".h") != 0)
				return &langs[i];
	return NULL;
}

/* The extension of the last component of `path`, without its dot; NULL: none. */
static const char *extension_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	const char *dot = strrchr(base, '.');
	return dot && dot != base ? dot + 1 : NULL;
}

const struct gm_lang *gm_lang_for_path(const char *path, bool h_is_cpp)
{
	const char *ext = extension_of(path);
	return ext ? gm_lang_for_extension(ext, h_is_cpp) : NULL;
}

bool gm_lang_h_is_cpp(const char *const *paths, size_t n)
{
	const struct gm_lang *c = gm_lang_by_name("c"), *cxx = gm_lang_by_name("cpp");
	bool cpp = false;
	for (size_t i = 0; i < n; i++) {
		const char *ext = extension_of(paths[i]);
		const struct gm_lang *l;
		if (!ext || strcmp(ext, "h") == 0)
			continue;
		l = gm_lang_for_extension(ext, false);
		if (l == c)
			return false;
		if (l == cxx)
			cpp = true;
	}
	return cpp;
}

/* ---- node kinds and block tags for edits --------------------------------- */

static bool tag_is(const char *tag, size_t len, const char *name)
{
	return strlen(name) == len && strncasecmp(tag, name, len) == 0;
}

static bool tag_names(const struct gm_lang *l, const char *tag, size_t len)
{
	if (tag_is(tag, len, l->name))
		return true;
	for (const char *const *a = l->aliases; a && *a; a++)
		if (tag_is(tag, len, *a))
			return true;
	for (const char *const *e = l->extensions; *e; e++)
		if (tag_is(tag, len, *e + 1))
			return true;
	return false;
}

bool gm_lang_tag_matches(const struct gm_lang *lang, const char *tag, size_t len)
{
	if (tag_names(lang, tag, len))
		return true;
	/* One family reads the same: a ```javascript block for a .ts file. */
	for (size_t i = 0; i < NLANGS; i++)
		if (lang->family && langs[i].family && !strcmp(langs[i].family, lang->family) &&
		    tag_names(&langs[i], tag, len))
			return true;
	return false;
}

bool gm_lang_tag_foreign(const struct gm_lang *lang, const char *tag, size_t len)
{
	/* Formats that are never the code of a function. */
	static const char *const other[] = {
		"diff", "patch", "udiff", "bash", "sh", "shell", "zsh", "console", "shell-session",
		"text", "txt", "plaintext", "output", "log", "json", "yaml", "yml", "toml", "ini",
		"markdown", "md", "xml", "html", "css", "sql", "make", "makefile", "cmake",
		"dockerfile", "powershell", "ps1", "bat", "cmd", NULL
	};
	if (!len || gm_lang_tag_matches(lang, tag, len))
		return false;
	for (size_t i = 0; other[i]; i++)
		if (tag_is(tag, len, other[i]))
			return true;
	for (size_t i = 0; i < NLANGS; i++)
		if (tag_names(&langs[i], tag, len))
			return true;
	return false;
}

static bool has_require_call(TSNode n, const char *src)
{
	uint32_t count = ts_node_named_child_count(n);
	if (!strcmp(ts_node_type(n), "call_expression")) {
		TSNode f = ts_node_child_by_field_name(n, "function", 8);
		if (!ts_node_is_null(f) && !strcmp(ts_node_type(f), "identifier") &&
		    ts_node_end_byte(f) - ts_node_start_byte(f) == 7 &&
		    !memcmp(src + ts_node_start_byte(f), "require", 7))
			return true;
	}
	for (uint32_t i = 0; i < count; i++)
		if (has_require_call(ts_node_named_child(n, i), src))
			return true;
	return false;
}

bool gm_lang_node_is_import(const struct gm_lang *lang, TSNode node, const char *src)
{
	const char *type = ts_node_type(node);
	for (const char *const *k = lang->import_kinds; k && *k; k++)
		if (!strcmp(type, *k))
			return true;
	/* const x = require("x"): an import in all but name (JS/TS). */
	if (lang->helper_rule == GM_HELPER_SYNTAX &&
	    (!strcmp(type, "lexical_declaration") || !strcmp(type, "variable_declaration")))
		return has_require_call(node, src);
	return false;
}

bool gm_lang_node_is_comment(TSNode node)
{
	return type_is_comment(ts_node_type(node));
}

bool gm_lang_node_is_lead(TSNode node)
{
	return type_is_lead(ts_node_type(node));
}

bool gm_lang_node_is_string(TSNode node)
{
	const char *type = ts_node_type(node);
	/* "a" "b" across lines is several literals: between them is code. */
	if (!strcmp(type, "concatenated_string"))
		return false;
	return strstr(type, "string") != NULL || !strcmp(type, "text_block");
}
