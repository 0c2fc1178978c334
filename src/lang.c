#include "monitor/lang.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "monitor/error.h"
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

static struct gm_lang langs[] = {
	{ "c", ext_c, tree_sitter_c, "::", { 0 }, false },
	{ "cpp", ext_cpp, tree_sitter_cpp, "::", { 0 }, false },
	{ "python", ext_python, tree_sitter_python, ".", { 0 }, false },
	{ "javascript", ext_javascript, tree_sitter_javascript, ".", { 0 }, false },
	{ "typescript", ext_typescript, tree_sitter_typescript, ".", { 0 }, false },
	{ "tsx", ext_tsx, tree_sitter_tsx, ".", { 0 }, false },
	{ "go", ext_go, tree_sitter_go, ".", { 0 }, false },
	{ "rust", ext_rust, tree_sitter_rust, "::", { 0 }, false },
	{ "java", ext_java, tree_sitter_java, ".", { 0 }, false },
};
#define NLANGS (sizeof(langs) / sizeof(langs[0]))

static const struct gm_lang *all[NLANGS + 1];

static const char *const kind_names[GM_QUERY__COUNT] = {
	"units", "metrics", "calls", "imports"
};

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

const char *gm_query_kind_name(enum gm_query_kind kind)
{
	return kind_names[kind];
}

static const char *query_error_name(TSQueryError e)
{
	switch (e) {
	case TSQueryErrorSyntax: return "syntax error";
	case TSQueryErrorNodeType: return "unknown node type";
	case TSQueryErrorField: return "unknown field";
	case TSQueryErrorCapture: return "unknown capture";
	case TSQueryErrorStructure: return "impossible pattern";
	case TSQueryErrorLanguage: return "language mismatch";
	default: return "error";
	}
}

/* Compile the queries of `l`; called with load_lock held. */
static int compile_lang(struct gm_lang *l)
{
	for (const struct gm_query_text *q = gm_query_texts; q->lang; q++) {
		uint32_t off;
		TSQueryError err;
		int k;
		if (strcmp(q->lang, l->name) != 0)
			continue;
		for (k = 0; k < GM_QUERY__COUNT; k++)
			if (strcmp(q->name, kind_names[k]) == 0)
				break;
		if (k == GM_QUERY__COUNT || l->queries[k])
			continue; /* not one of ours, or already compiled */
		l->queries[k] = ts_query_new(l->grammar(), q->data, (uint32_t)q->len, &off, &err);
		if (!l->queries[k]) {
			uint32_t line = 1;
			for (uint32_t j = 0; j < off && j < q->len; j++)
				line += q->data[j] == '\n';
			gm_error_set("grammars/%s/%s.scm:%u: %s", q->lang, q->name, line, query_error_name(err));
			return GM_ERROR;
		}
	}
	return 0;
}

int gm_lang_init(void)
{
	/* Nothing to do up front: each language compiles on first use. */
	return 0;
}

int gm_lang_load(const struct gm_lang *lang)
{
	struct gm_lang *l = (struct gm_lang *)lang; /* one of langs[] */
	int rc = 0;

	if (atomic_load_explicit(&l->loaded, memory_order_acquire))
		return 0;
	pthread_mutex_lock(&load_lock);
	if (!atomic_load_explicit(&l->loaded, memory_order_relaxed)) {
		rc = compile_lang(l);
		if (rc == 0)
			atomic_store_explicit(&l->loaded, true, memory_order_release);
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
		for (int k = 0; k < GM_QUERY__COUNT; k++) {
			ts_query_delete(langs[i].queries[k]);
			langs[i].queries[k] = NULL;
		}
		atomic_store(&langs[i].loaded, false);
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

const struct gm_lang *gm_lang_for_path(const char *path, bool h_is_cpp)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	const char *dot = strrchr(base, '.');
	if (!dot || dot == base)
		return NULL;
	if (strcmp(dot, ".h") == 0)
		return gm_lang_by_name(h_is_cpp ? "cpp" : "c");
	for (size_t i = 0; i < NLANGS; i++)
		for (const char *const *e = langs[i].extensions; *e; e++)
			if (strcasecmp(dot, *e) == 0 && strcmp(*e, ".h") != 0)
				return &langs[i];
	return NULL;
}
