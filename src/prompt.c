#include "monitor/prompt.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/edit.h"
#include "monitor/error.h"
#include "monitor/util.h"
#include "monitor/banned.h"

static const char rewrite_system[] =
	"You rewrite one function of a source file at a time, following the user's goal.\n"
	"Rules:\n"
	"- Answer with exactly one fenced code block tagged with the language, for "
	"example ```python, holding the whole rewritten function from its first line "
	"(its comments, decorators or attributes included) to its last, at the "
	"indentation it has in the file.\n"
	"- You may split the function: new helper functions it calls go in the same "
	"block, before it, at the same indentation (for a method, new methods of the "
	"same class; a free function where the language makes that the idiom). Give "
	"them names that do not exist in the file. Add no other functions or classes.\n"
	"- Imports or includes the new code needs go at the top of the block; they "
	"are added to the file's imports. Never put an import inside a function.\n"
	"- Do not repeat the class around a method, the other functions of the file "
	"or its existing imports.\n"
	"- Keep the function's name and signature unless the instructions say to "
	"change them.\n"
	"- Keep its behaviour: same results, same side effects, same errors.\n"
	"- Keep its comments and documentation, updated where the code changes.\n"
	"- Never elide code: no placeholders such as \"...\", \"rest of the code\" or "
	"\"existing code\"; write every line out.\n"
	"- If nothing should change, return the function unchanged.\n"
	"- No explanation is needed.\n";

const char *gm_prompt_rewrite_system(void)
{
	return rewrite_system;
}

/* A backtick fence longer than any backtick run in `code`. */
static size_t fence_len(const char *code, size_t len)
{
	size_t best = 3, run = 0;
	for (size_t i = 0; i < len; i++) {
		run = code[i] == '`' ? run + 1 : 0;
		if (run >= best)
			best = run + 1;
	}
	return best;
}

static void put_fenced(struct gm_buf *b, const char *tag, const char *code, size_t len)
{
	size_t n = fence_len(code, len);
	for (size_t i = 0; i < n; i++)
		gm_buf_puts(b, "`");
	gm_buf_printf(b, "%s\n", tag);
	gm_buf_put(b, code, len);
	if (len && code[len - 1] != '\n')
		gm_buf_puts(b, "\n");
	for (size_t i = 0; i < n; i++)
		gm_buf_puts(b, "`");
	gm_buf_puts(b, "\n");
}

char *gm_prompt_rewrite_user(const struct gm_rewrite_prompt *p)
{
	struct gm_buf b = GM_BUF_INIT;
	const char *tag = p->lang ? p->lang->name : "";

	gm_buf_printf(&b, "Goal: %s\n\n", p->goal);
	if (p->instructions && *p->instructions)
		gm_buf_printf(&b, "Instructions for this function: %s\n\n", p->instructions);
	if (p->new_name && *p->new_name)
		gm_buf_printf(&b, "Rename the function to `%s`.\n\n", p->new_name);
	if (p->new_signature && *p->new_signature)
		gm_buf_printf(&b, "Its new signature is: `%s`\n\n", p->new_signature);
	gm_buf_printf(&b, "File: %s (%s)\n", p->path, tag);
	if (p->nimports) {
		struct gm_buf imp = GM_BUF_INIT;
		for (size_t i = 0; i < p->nimports; i++)
			gm_buf_printf(&imp, "%s\n", p->imports[i]);
		gm_buf_puts(&b, "Imports of the file:\n");
		put_fenced(&b, tag, imp.ptr, imp.len);
		gm_buf_release(&imp);
	}
	if (p->scope_header && *p->scope_header)
		gm_buf_printf(&b, "The function is inside: `%s`\n", p->scope_header);
	if (p->ncallees) {
		gm_buf_puts(&b, "Signatures of the functions it calls:\n");
		for (size_t i = 0; i < p->ncallees; i++)
			gm_buf_printf(&b, "- `%s`\n", p->callees[i]);
	}
	gm_buf_puts(&b, "\nThe function:\n");
	put_fenced(&b, tag, p->code, p->code_len);
	if (p->previous_error && *p->previous_error)
		gm_buf_printf(&b, "\nYour previous answer was rejected: %s; answer again.\n",
		              p->previous_error);
	gm_buf_printf(&b, "\nAnswer with one ```%s fenced block: the whole rewritten function, with "
	              "any new helpers before it and new imports at the top.\n", tag);
	return gm_buf_detach(&b, NULL);
}

static size_t blanks(const char *s, const char *end)
{
	size_t n = 0;
	while (s + n < end && (s[n] == ' ' || s[n] == '\t'))
		n++;
	return n;
}

static const char *line_start(const char *src, const char *p)
{
	while (p > src && p[-1] != '\n')
		p--;
	return p;
}

char *gm_prompt_unit_code(const char *src, size_t len, const struct gm_unit *u, size_t *out_len)
{
	const char *ls = line_start(src, src + u->lead_byte);
	size_t n = (size_t)(src + u->end_byte - ls);

	(void)len;
	/* As it stands in the file: indentation, leading comments and all. */
	if (out_len)
		*out_len = n;
	return gm_xstrndup(ls, n);
}

static bool is_ident(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '$';
}

static bool has_word(const char *s, size_t n, const char *w, size_t wl)
{
	const char *p = s, *end = s + n;
	while (wl && p < end && (p = memmem(p, (size_t)(end - p), w, wl))) {
		if ((p == s || !is_ident(p[-1])) && (p + wl == end || !is_ident(p[wl])))
			return true;
		p++;
	}
	return false;
}

char *gm_prompt_scope_header(const char *src, size_t len, const struct gm_unit *u,
                             const struct gm_lang *lang)
{
	size_t nl = strlen(u->name), sl = strlen(u->short_name), sepl = strlen(lang->scope_sep);
	const char *ls = line_start(src, src + u->start_byte), *scope, *p;
	size_t ind = blanks(ls, src + u->start_byte), scope_len;

	(void)len;
	/* The scope: the component before the short name. */
	if (nl <= sl + sepl || memcmp(u->name + nl - sl - sepl, lang->scope_sep, sepl) != 0)
		return NULL;
	scope_len = nl - sl - sepl;
	scope = u->name;
	for (p = u->name; p + sepl <= u->name + scope_len; p++)
		if (memcmp(p, lang->scope_sep, sepl) == 0)
			scope = p + sepl;
	scope_len = (size_t)(u->name + nl - sl - sepl - scope);
	if (!ind)
		return NULL;
	for (const char *l = ls; l > src;) {
		const char *e = l - 1; /* the '\n' ending the line above */
		size_t k;
		l = line_start(src, e);
		k = blanks(l, e);
		if (k == (size_t)(e - l) || k >= ind)
			continue;
		if (has_word(l + k, (size_t)(e - l - k), scope, scope_len)) {
			while (e > l + k && isspace((unsigned char)e[-1]))
				e--;
			return gm_xstrndup(l + k, (size_t)(e - l - k));
		}
	}
	return NULL;
}

size_t gm_prompt_import_lines(char ***out, const struct gm_lang *lang, const char *src, size_t len,
                              size_t max)
{
	char **lines = NULL;
	size_t n = 0;
	TSTree *tree = gm_scan_parse(lang, src, len, NULL);

	if (tree) {
		TSNode *nodes = gm_xcalloc(max + 1, sizeof(*nodes));
		size_t k = gm_edit_file_imports(nodes, max, lang, ts_tree_root_node(tree), src);
		lines = gm_xcalloc(k + 1, sizeof(char *));
		for (; n < k; n++)
			lines[n] = gm_xstrndup(src + ts_node_start_byte(nodes[n]),
			                       ts_node_end_byte(nodes[n]) - ts_node_start_byte(nodes[n]));
		free(nodes);
		ts_tree_delete(tree);
	} else {
		gm_error_clear(); /* no imports shown: the prompt still works */
	}
	*out = lines;
	return n;
}

/* ---- analysis ---- */

const char gm_prompt_plan_schema[] =
	"{\"type\":\"object\",\"additionalProperties\":false,"
	"\"required\":[\"units\",\"call_sites\",\"rationale\"],"
	"\"properties\":{"
	"\"units\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"additionalProperties\":false,"
	"\"required\":[\"path\",\"name\",\"action\",\"instructions\"],"
	"\"properties\":{"
	"\"path\":{\"type\":\"string\"},"
	"\"name\":{\"type\":\"string\"},"
	"\"action\":{\"type\":\"string\",\"enum\":[\"rewrite\",\"keep\"]},"
	"\"instructions\":{\"type\":\"string\"},"
	"\"new_signature\":{\"type\":\"string\"},"
	"\"new_name\":{\"type\":\"string\"}}}},"
	"\"call_sites\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"additionalProperties\":false,"
	"\"required\":[\"path\",\"name\",\"instructions\"],"
	"\"properties\":{"
	"\"path\":{\"type\":\"string\"},"
	"\"name\":{\"type\":\"string\"},"
	"\"instructions\":{\"type\":\"string\"}}}},"
	"\"rationale\":{\"type\":\"string\"}}}";

static const char plan_system[] =
	"You plan a refactoring of a group of functions that call each other, "
	"possibly across files. You do not write the code: for each function you "
	"decide whether it must be rewritten for the goal (action \"rewrite\") or "
	"left alone (action \"keep\"), and you write precise instructions for the "
	"programmer who will rewrite it one function at a time, seeing only that "
	"function. When a function's signature or name must change, give the new "
	"signature (new_signature) or name (new_name), and list every call site in "
	"other functions that must follow (call_sites: path, the calling function's "
	"qualified name, what to change). Keep behaviour unless the goal says "
	"otherwise. Use the paths and qualified names exactly as given. Answer with "
	"one JSON object only.\n";

const char *gm_prompt_plan_system(void)
{
	return plan_system;
}

char *gm_prompt_plan_user(const char *goal, const struct gm_plan_prompt_unit *units, size_t n,
                          const char *const *signatures, size_t nsignatures)
{
	struct gm_buf b = GM_BUF_INIT;

	gm_buf_printf(&b, "Goal: %s\n\nThe functions:\n", goal);
	for (size_t i = 0; i < n; i++) {
		gm_buf_printf(&b, "\n%s: %s\n", units[i].path, units[i].name);
		put_fenced(&b, units[i].lang ? units[i].lang->name : "", units[i].code,
		           units[i].code_len);
	}
	if (nsignatures) {
		gm_buf_puts(&b, "\nSignatures of their callers and callees:\n");
		for (size_t i = 0; i < nsignatures; i++)
			gm_buf_printf(&b, "- `%s`\n", signatures[i]);
	}
	gm_buf_printf(&b, "\nAnswer with one JSON object matching this JSON Schema:\n%s\n",
	              gm_prompt_plan_schema);
	return gm_buf_detach(&b, NULL);
}

/*
 * A string member of `o` (the element `i` of array `arr`, or the top level
 * when `arr` is NULL): required ones fail when missing, optional ones are
 * NULL.
 */
static int get_str(char **out, const cJSON *o, const char *key, bool required, const char *arr,
                   size_t i)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	*out = NULL;
	if ((!v || cJSON_IsNull(v)) && !required)
		return 0;
	if (!v || !cJSON_IsString(v)) {
		if (arr)
			gm_error_set("plan: %s[%zu] lacks a string '%s'", arr, i, key);
		else
			gm_error_set("plan: '%s' is not a string", key);
		return GM_EINVALID;
	}
	*out = gm_xstrdup(v->valuestring);
	return 0;
}

static const struct gm_plan_prompt_unit *find_known(const struct gm_plan_prompt_unit *known,
                                                    size_t n, const char *path, const char *name)
{
	const struct gm_plan_prompt_unit *by_name = NULL;
	size_t nby_name = 0;

	for (size_t i = 0; i < n; i++) {
		if (strcmp(known[i].name, name) != 0)
			continue;
		if (path && strcmp(known[i].path, path) == 0)
			return &known[i];
		by_name = &known[i];
		nby_name++;
	}
	/* A mangled path is forgiven when the name alone is unambiguous. */
	return nby_name == 1 ? by_name : NULL;
}

static void plan_unit_release(struct gm_plan_unit *u)
{
	free(u->path);
	free(u->name);
	free(u->instructions);
	free(u->new_signature);
	free(u->new_name);
	memset(u, 0, sizeof(*u));
}

static int parse_unit(struct gm_plan_unit *out, const cJSON *it, size_t i)
{
	char *action = NULL;
	int error;

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(it)) {
		gm_error_set("plan: units[%zu] is not an object", i);
		return GM_EINVALID;
	}
	if ((error = get_str(&out->name, it, "name", true, "units", i)) < 0 ||
	    (error = get_str(&out->path, it, "path", false, "units", i)) < 0 ||
	    (error = get_str(&action, it, "action", true, "units", i)) < 0 ||
	    (error = get_str(&out->instructions, it, "instructions", false, "units", i)) < 0 ||
	    (error = get_str(&out->new_signature, it, "new_signature", false, "units", i)) < 0 ||
	    (error = get_str(&out->new_name, it, "new_name", false, "units", i)) < 0)
		goto cleanup;
	if (strcmp(action, "rewrite") != 0 && strcmp(action, "keep") != 0) {
		gm_error_set("plan: units[%zu].action must be 'rewrite' or 'keep', not '%s'", i, action);
		error = GM_EINVALID;
		goto cleanup;
	}
	out->rewrite = strcmp(action, "rewrite") == 0;
	if (!out->instructions)
		out->instructions = gm_xstrdup("");
	if (out->new_signature && !*out->new_signature) {
		free(out->new_signature);
		out->new_signature = NULL;
	}
	if (out->new_name && (!*out->new_name || strcmp(out->new_name, out->name) == 0)) {
		free(out->new_name);
		out->new_name = NULL;
	}

cleanup:
	free(action);
	if (error < 0)
		plan_unit_release(out);
	return error;
}

static int parse_site(struct gm_plan_site *out, const cJSON *it, size_t i)
{
	int error;

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(it)) {
		gm_error_set("plan: call_sites[%zu] is not an object", i);
		return GM_EINVALID;
	}
	if ((error = get_str(&out->path, it, "path", true, "call_sites", i)) < 0 ||
	    (error = get_str(&out->name, it, "name", true, "call_sites", i)) < 0 ||
	    (error = get_str(&out->instructions, it, "instructions", false, "call_sites", i)) < 0) {
		free(out->path);
		free(out->name);
		memset(out, 0, sizeof(*out));
		return error;
	}
	if (!out->instructions)
		out->instructions = gm_xstrdup("");
	return 0;
}

int gm_prompt_analysis_parse(struct gm_analysis *out, const cJSON *json,
                             const struct gm_plan_prompt_unit *known, size_t nknown)
{
	const cJSON *units, *sites, *it;
	size_t ucap = 0, scap = 0, wcap = 0, i = 0;
	int error = 0;

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(json)) {
		gm_error_set("plan is not a JSON object");
		return GM_EINVALID;
	}
	units = cJSON_GetObjectItemCaseSensitive(json, "units");
	if (!cJSON_IsArray(units)) {
		gm_error_set("plan has no 'units' array");
		return GM_EINVALID;
	}
	cJSON_ArrayForEach(it, units) {
		struct gm_plan_unit u;
		const struct gm_plan_prompt_unit *k;

		if ((error = parse_unit(&u, it, i++)) < 0)
			goto cleanup;
		if (!(k = find_known(known, nknown, u.path, u.name))) {
			GM_GROW(out->warnings, wcap, out->nwarnings + 1);
			out->warnings[out->nwarnings++] =
				gm_xasprintf("plan names unknown function '%s' (ignored)", u.name);
			plan_unit_release(&u);
			continue;
		}
		free(u.path);
		u.path = gm_xstrdup(k->path);
		GM_GROW(out->units, ucap, out->nunits + 1);
		out->units[out->nunits++] = u;
	}

	sites = cJSON_GetObjectItemCaseSensitive(json, "call_sites");
	if (sites && !cJSON_IsNull(sites) && !cJSON_IsArray(sites)) {
		gm_error_set("plan: 'call_sites' is not an array");
		error = GM_EINVALID;
		goto cleanup;
	}
	i = 0;
	if (!cJSON_IsArray(sites))
		sites = NULL;
	cJSON_ArrayForEach(it, sites) {
		struct gm_plan_site s;
		if ((error = parse_site(&s, it, i++)) < 0)
			goto cleanup;
		GM_GROW(out->sites, scap, out->nsites + 1);
		out->sites[out->nsites++] = s;
	}
	if ((error = get_str(&out->rationale, json, "rationale", false, NULL, 0)) < 0)
		goto cleanup;
	if (!out->rationale)
		out->rationale = gm_xstrdup("");

cleanup:
	if (error < 0)
		gm_prompt_analysis_release(out);
	return error;
}

void gm_prompt_analysis_release(struct gm_analysis *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->nunits; i++)
		plan_unit_release(&a->units[i]);
	free(a->units);
	for (size_t i = 0; i < a->nsites; i++) {
		free(a->sites[i].path);
		free(a->sites[i].name);
		free(a->sites[i].instructions);
	}
	free(a->sites);
	free(a->rationale);
	for (size_t i = 0; i < a->nwarnings; i++)
		free(a->warnings[i]);
	free(a->warnings);
	memset(a, 0, sizeof(*a));
}
