#include "monitor/lang.h"

#include <pthread.h>
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
	{ "c", ext_c, tree_sitter_c, "::", { 0 } },
	{ "cpp", ext_cpp, tree_sitter_cpp, "::", { 0 } },
	{ "python", ext_python, tree_sitter_python, ".", { 0 } },
	{ "javascript", ext_javascript, tree_sitter_javascript, ".", { 0 } },
	{ "typescript", ext_typescript, tree_sitter_typescript, ".", { 0 } },
	{ "tsx", ext_tsx, tree_sitter_tsx, ".", { 0 } },
	{ "go", ext_go, tree_sitter_go, ".", { 0 } },
	{ "rust", ext_rust, tree_sitter_rust, "::", { 0 } },
	{ "java", ext_java, tree_sitter_java, ".", { 0 } },
};
#define NLANGS (sizeof(langs) / sizeof(langs[0]))

static const struct gm_lang *all[NLANGS + 1];

static const char *const kind_names[GM_QUERY__COUNT] = {
	"units", "metrics", "calls", "imports"
};

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static int init_state; /* 0 not yet, 1 done, <0 failed */

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

static int compile_all(void)
{
	for (size_t i = 0; i < NLANGS; i++) {
		struct gm_lang *l = &langs[i];
		all[i] = l;
		for (const struct gm_query_text *q = gm_query_texts; q->lang; q++) {
			uint32_t off;
			TSQueryError err;
			int k;
			if (strcmp(q->lang, l->name) != 0)
				continue;
			for (k = 0; k < GM_QUERY__COUNT; k++)
				if (strcmp(q->name, kind_names[k]) == 0)
					break;
			if (k == GM_QUERY__COUNT)
				continue; /* other files (e.g. notes) are not ours to load */
			l->queries[k] = ts_query_new(l->grammar(), q->data, (uint32_t)q->len, &off, &err);
			if (!l->queries[k]) {
				uint32_t line = 1;
				for (uint32_t j = 0; j < off && j < q->len; j++)
					line += q->data[j] == '\n';
				gm_error_set("grammars/%s/%s.scm:%u: %s", q->lang, q->name, line, query_error_name(err));
				return GM_ERROR;
			}
		}
	}
	return 0;
}

int gm_lang_init(void)
{
	int rc;
	pthread_mutex_lock(&init_lock);
	if (init_state == 0)
		init_state = compile_all() < 0 ? -1 : 1;
	rc = init_state < 0 ? GM_ERROR : 0;
	pthread_mutex_unlock(&init_lock);
	return rc;
}

void gm_lang_shutdown(void)
{
	pthread_mutex_lock(&init_lock);
	for (size_t i = 0; i < NLANGS; i++)
		for (int k = 0; k < GM_QUERY__COUNT; k++) {
			ts_query_delete(langs[i].queries[k]);
			langs[i].queries[k] = NULL;
		}
	init_state = 0;
	pthread_mutex_unlock(&init_lock);
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
