/*
 * highlight.c: the grammars' highlights.scm over a parsed file (highlight.h).
 */
#include "monitor/highlight.h"

#include <pthread.h>
#include <regex.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/util.h"
#include "monitor/banned.h"

#define MAX_DROPPED 256 /* patterns left out before a query counts as broken */

enum pred_op { P_EQ, P_MATCH, P_ANY_OF };

struct pred {
	enum pred_op op;
	bool negate;
	uint32_t capture;
	uint32_t other;     /* P_EQ against a capture: its id, else UINT32_MAX */
	char *str;          /* P_EQ against a string */
	regex_t re;         /* P_MATCH */
	bool re_ok;
	char **any;         /* P_ANY_OF */
	size_t nany;
};

struct pattern_preds {
	struct pred *v;
	size_t n;
	bool never; /* a predicate that cannot hold (a regex we cannot compile) */
};

struct hl_lang {
	const struct gm_lang *lang;
	bool tried;
	TSQuery *query;
	unsigned dropped;
	uint8_t *capture_class; /* by capture id; GM_HL__COUNT: private, ignored */
	struct pattern_preds *preds; /* by pattern */
	uint32_t npatterns;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct hl_lang *langs;
static size_t nlangs, caplangs;

static const char *const names[GM_HL__COUNT] = {
	[GM_HL_NONE] = "", [GM_HL_KEYWORD] = "kw", [GM_HL_FUNCTION] = "fn",
	[GM_HL_TYPE] = "ty", [GM_HL_STRING] = "st", [GM_HL_ESCAPE] = "es",
	[GM_HL_COMMENT] = "cm", [GM_HL_NUMBER] = "nu", [GM_HL_BUILTIN] = "bi",
	[GM_HL_PARAMETER] = "pa", [GM_HL_PROPERTY] = "pr", [GM_HL_OPERATOR] = "op",
	[GM_HL_PUNCTUATION] = "pu", [GM_HL_ATTRIBUTE] = "at", [GM_HL_TAG] = "tg",
};

const char *gm_hl_name(enum gm_hl h)
{
	return h < GM_HL__COUNT ? names[h] : "";
}

/* A capture name's class: the longest prefix (by dotted parts) the table knows. */
static uint8_t class_of(const char *name, size_t len)
{
	static const struct { const char *prefix; enum gm_hl c; } map[] = {
		{ "keyword", GM_HL_KEYWORD }, { "conditional", GM_HL_KEYWORD },
		{ "repeat", GM_HL_KEYWORD }, { "include", GM_HL_KEYWORD },
		{ "exception", GM_HL_KEYWORD }, { "storageclass", GM_HL_KEYWORD },
		{ "function", GM_HL_FUNCTION }, { "method", GM_HL_FUNCTION },
		{ "function.macro", GM_HL_ATTRIBUTE }, { "constructor", GM_HL_TYPE },
		{ "type", GM_HL_TYPE }, { "module", GM_HL_TYPE }, { "namespace", GM_HL_TYPE },
		{ "string", GM_HL_STRING }, { "character", GM_HL_STRING },
		{ "string.escape", GM_HL_ESCAPE }, { "escape", GM_HL_ESCAPE },
		{ "string.special", GM_HL_ESCAPE }, { "comment", GM_HL_COMMENT },
		{ "number", GM_HL_NUMBER }, { "float", GM_HL_NUMBER }, { "constant", GM_HL_NUMBER },
		{ "boolean", GM_HL_BUILTIN }, { "constant.builtin", GM_HL_BUILTIN },
		{ "variable.builtin", GM_HL_BUILTIN }, { "variable.parameter", GM_HL_PARAMETER },
		{ "parameter", GM_HL_PARAMETER }, { "property", GM_HL_PROPERTY },
		{ "field", GM_HL_PROPERTY }, { "operator", GM_HL_OPERATOR },
		{ "punctuation", GM_HL_PUNCTUATION }, { "delimiter", GM_HL_PUNCTUATION },
		{ "attribute", GM_HL_ATTRIBUTE }, { "decorator", GM_HL_ATTRIBUTE },
		{ "label", GM_HL_ATTRIBUTE }, { "tag", GM_HL_TAG }, { "embedded", GM_HL_NONE },
		{ "variable", GM_HL_NONE },
	};
	size_t best = 0;
	uint8_t c = GM_HL_NONE;

	if (len == 0 || name[0] == '_')
		return GM_HL__COUNT;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		size_t pl = strlen(map[i].prefix);
		if (pl <= len && pl > best && memcmp(map[i].prefix, name, pl) == 0 &&
		    (pl == len || name[pl] == '.')) {
			best = pl;
			c = (uint8_t)map[i].c;
		}
	}
	return best ? c : GM_HL__COUNT; /* a name we do not know (@spell, @none): no opinion */
}

/* ---- compiling -------------------------------------------------------------------- */

/*
 * Where the top-level pattern holding `off` starts and ends in `q`: a
 * pattern starts at depth 0 with '(', '[', '"' or '_' (strings and ';'
 * comments skipped) and runs to the start of the next.
 */
static void pattern_bounds(const char *q, size_t len, size_t off, size_t *start, size_t *end)
{
	size_t depth = 0, cur = 0;
	bool have = false;

	*start = 0;
	*end = len;
	for (size_t i = 0; i < len; i++) {
		char c = q[i];
		if (c == ';') {
			while (i < len && q[i] != '\n')
				i++;
			continue;
		}
		if (depth == 0 && (c == '(' || c == '[' || c == '"' || c == '_')) {
			if (have && i > off) {
				*start = cur;
				*end = i;
				return;
			}
			cur = i;
			have = true;
		}
		if (c == '"') {
			for (i++; i < len && q[i] != '"'; i++)
				if (q[i] == '\\')
					i++;
			continue;
		}
		if (c == '(' || c == '[')
			depth++;
		else if ((c == ')' || c == ']') && depth)
			depth--;
	}
	*start = have ? cur : 0;
	*end = len;
}

TSQuery *gm_highlight_query_new(const TSLanguage *language, const char *src, size_t len,
                                unsigned *dropped)
{
	char *text = gm_xstrndup(src, len);
	TSQuery *q;
	uint32_t off;
	TSQueryError err;

	*dropped = 0;
	while (!(q = ts_query_new(language, text, (uint32_t)len, &off, &err))) {
		size_t s, e;
		if (++*dropped > MAX_DROPPED)
			break;
		pattern_bounds(text, len, off, &s, &e);
		if (e <= s)
			break;
		memset(text + s, ' ', e - s); /* blanked: the offsets of the rest stay */
	}
	free(text);
	if (q && ts_query_pattern_count(q) == 0) {
		ts_query_delete(q);
		q = NULL;
	}
	return q;
}

/* Rust-regex shorthands the highlight queries use, in POSIX terms. */
static char *posix_regex(const char *re)
{
	struct gm_buf b = GM_BUF_INIT;
	bool in_class = false;
	for (const char *p = re; *p; p++) {
		if (*p == '\\' && p[1] && strchr("dws", p[1])) {
			const char *cls = p[1] == 'd' ? "0-9" : p[1] == 'w' ? "A-Za-z0-9_" : "[:space:]";
			gm_buf_printf(&b, in_class ? "%s" : "[%s]", cls);
			p++;
			continue;
		}
		if (*p == '\\' && p[1]) {
			gm_buf_put(&b, p, 2);
			p++;
			continue;
		}
		if (*p == '[' && !in_class)
			in_class = true;
		else if (*p == ']' && in_class)
			in_class = false;
		gm_buf_put(&b, p, 1);
	}
	return gm_buf_detach(&b, NULL);
}

static void preds_release(struct pattern_preds *pp)
{
	for (size_t i = 0; i < pp->n; i++) {
		struct pred *p = &pp->v[i];
		free(p->str);
		if (p->re_ok)
			regfree(&p->re);
		for (size_t k = 0; k < p->nany; k++)
			free(p->any[k]);
		free(p->any);
	}
	free(pp->v);
}

static void compile_preds(struct hl_lang *hl)
{
	const TSQuery *q = hl->query;
	hl->npatterns = ts_query_pattern_count(q);
	hl->preds = gm_xcalloc(hl->npatterns + 1, sizeof(*hl->preds));
	for (uint32_t pi = 0; pi < hl->npatterns; pi++) {
		uint32_t nsteps;
		const TSQueryPredicateStep *s = ts_query_predicates_for_pattern(q, pi, &nsteps);
		struct pattern_preds *pp = &hl->preds[pi];
		size_t cap = 0;
		for (uint32_t i = 0; i < nsteps;) {
			uint32_t j = i, n;
			const char *op;
			struct pred p;
			while (j < nsteps && s[j].type != TSQueryPredicateStepTypeDone)
				j++;
			n = j - i; /* the operator and its arguments */
			memset(&p, 0, sizeof(p));
			p.other = UINT32_MAX;
			op = s[i].type == TSQueryPredicateStepTypeString
			             ? ts_query_string_value_for_id(q, s[i].value_id, &(uint32_t){ 0 })
			             : "";
			if (n >= 3 && s[i + 1].type == TSQueryPredicateStepTypeCapture) {
				bool known = true;
				p.capture = s[i + 1].value_id;
				if (!strcmp(op, "eq?") || !strcmp(op, "not-eq?")) {
					p.op = P_EQ;
					p.negate = op[0] == 'n';
					if (s[i + 2].type == TSQueryPredicateStepTypeCapture)
						p.other = s[i + 2].value_id;
					else
						p.str = gm_xstrdup(ts_query_string_value_for_id(q, s[i + 2].value_id,
						                                                 &(uint32_t){ 0 }));
				} else if (!strcmp(op, "match?") || !strcmp(op, "not-match?")) {
					char *re = posix_regex(ts_query_string_value_for_id(q, s[i + 2].value_id,
					                                                    &(uint32_t){ 0 }));
					p.op = P_MATCH;
					p.negate = op[0] == 'n';
					p.re_ok = regcomp(&p.re, re, REG_EXTENDED | REG_NOSUB) == 0;
					if (!p.re_ok)
						pp->never = true;
					free(re);
				} else if (!strcmp(op, "any-of?") || !strcmp(op, "not-any-of?")) {
					p.op = P_ANY_OF;
					p.negate = op[0] == 'n';
					p.any = gm_xcalloc(n, sizeof(char *));
					for (uint32_t k = i + 2; k < j; k++)
						if (s[k].type == TSQueryPredicateStepTypeString)
							p.any[p.nany++] = gm_xstrdup(
								ts_query_string_value_for_id(q, s[k].value_id, &(uint32_t){ 0 }));
				} else {
					known = false; /* #is-not? local, #set!, ...: no opinion */
				}
				if (known) {
					GM_GROW(pp->v, cap, pp->n + 1);
					pp->v[pp->n++] = p;
				}
			}
			i = j + 1;
		}
	}
}

/* Compile `hl`'s query, leaving out the patterns the runtime refuses; called under the lock. */
static void compile(struct hl_lang *hl)
{
	const struct gm_highlight_text *t = NULL;
	uint32_t ncap;

	hl->tried = true;
	for (const struct gm_highlight_text *h = gm_highlight_texts; h->lang; h++)
		if (!strcmp(h->lang, hl->lang->name))
			t = h;
	if (!t)
		return;
	hl->query = gm_highlight_query_new(hl->lang->grammar(), t->data, t->len, &hl->dropped);
	if (!hl->query)
		return;
	ncap = ts_query_capture_count(hl->query);
	hl->capture_class = gm_xcalloc(ncap + 1, 1);
	for (uint32_t i = 0; i < ncap; i++) {
		uint32_t len;
		const char *name = ts_query_capture_name_for_id(hl->query, i, &len);
		hl->capture_class[i] = class_of(name, len);
	}
	compile_preds(hl);
}

static struct hl_lang *get(const struct gm_lang *lang)
{
	struct hl_lang *hl = NULL;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < nlangs && !hl; i++)
		if (langs[i].lang == lang)
			hl = &langs[i];
	if (!hl) {
		GM_GROW(langs, caplangs, nlangs + 1);
		hl = &langs[nlangs++];
		memset(hl, 0, sizeof(*hl));
		hl->lang = lang;
	}
	if (!hl->tried)
		compile(hl);
	pthread_mutex_unlock(&lock);
	return hl;
}

bool gm_highlight_ready(const struct gm_lang *lang, unsigned *dropped)
{
	struct hl_lang *hl = get(lang);
	if (dropped)
		*dropped = hl->dropped;
	return hl->query != NULL;
}

void gm_highlight_shutdown(void)
{
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < nlangs; i++) {
		struct hl_lang *hl = &langs[i];
		for (uint32_t p = 0; hl->preds && p < hl->npatterns; p++)
			preds_release(&hl->preds[p]);
		free(hl->preds);
		free(hl->capture_class);
		if (hl->query)
			ts_query_delete(hl->query);
	}
	free(langs);
	langs = NULL;
	nlangs = caplangs = 0;
	pthread_mutex_unlock(&lock);
}

/* ---- matching ----------------------------------------------------------------------- */

static bool capture_text(const TSQueryMatch *m, uint32_t id, const char *src, size_t len,
                         const char **text, size_t *tlen)
{
	for (uint16_t i = 0; i < m->capture_count; i++)
		if (m->captures[i].index == id) {
			uint32_t s = ts_node_start_byte(m->captures[i].node);
			uint32_t e = ts_node_end_byte(m->captures[i].node);
			if (e > len || s > e)
				return false;
			*text = src + s;
			*tlen = e - s;
			return true;
		}
	return false;
}

static bool passes(const struct hl_lang *hl, const TSQueryMatch *m, const char *src, size_t len)
{
	const struct pattern_preds *pp = &hl->preds[m->pattern_index];
	if (pp->never)
		return false;
	for (size_t i = 0; i < pp->n; i++) {
		const struct pred *p = &pp->v[i];
		const char *t, *o;
		size_t tl, ol;
		bool ok;
		if (!capture_text(m, p->capture, src, len, &t, &tl))
			continue; /* an optional capture that is absent */
		switch (p->op) {
		case P_EQ:
			if (p->other != UINT32_MAX) {
				if (!capture_text(m, p->other, src, len, &o, &ol))
					continue;
			} else {
				o = p->str;
				ol = strlen(p->str);
			}
			ok = tl == ol && memcmp(t, o, tl) == 0;
			break;
		case P_MATCH: {
			char *s = gm_xstrndup(t, tl);
			ok = regexec(&p->re, s, 0, NULL, 0) == 0;
			free(s);
			break;
		}
		case P_ANY_OF:
		default:
			ok = false;
			for (size_t k = 0; k < p->nany && !ok; k++)
				ok = strlen(p->any[k]) == tl && memcmp(p->any[k], t, tl) == 0;
			break;
		}
		if (ok == p->negate)
			return false;
	}
	return true;
}

int gm_highlight_range(uint8_t *out, const struct gm_lang *lang, const TSTree *tree,
                       const char *src, size_t len, uint32_t from, uint32_t to)
{
	struct hl_lang *hl = get(lang);
	TSQueryCursor *cur;
	TSQueryMatch m;
	uint32_t n = to > from ? to - from : 0;
	uint32_t *width, *pattern;

	memset(out, GM_HL_NONE, n);
	if (!hl->query || !n)
		return 0;
	/* Per byte: the width of the node that coloured it and the pattern that did. */
	width = gm_xcalloc(n, sizeof(*width));
	pattern = gm_xcalloc(n, sizeof(*pattern));
	for (uint32_t i = 0; i < n; i++)
		width[i] = UINT32_MAX;
	cur = ts_query_cursor_new();
	ts_query_cursor_set_byte_range(cur, from, to);
	ts_query_cursor_exec(cur, hl->query, ts_tree_root_node(tree));
	while (ts_query_cursor_next_match(cur, &m)) {
		if (!passes(hl, &m, src, len))
			continue;
		for (uint16_t i = 0; i < m.capture_count; i++) {
			uint8_t c = hl->capture_class[m.captures[i].index];
			uint32_t s = ts_node_start_byte(m.captures[i].node);
			uint32_t e = ts_node_end_byte(m.captures[i].node), w = e - s;
			if (c == GM_HL__COUNT || e <= from || s >= to)
				continue;
			if (s < from)
				s = from;
			if (e > to)
				e = to;
			for (uint32_t b = s - from; b < e - from; b++)
				if (w < width[b] || (w == width[b] && m.pattern_index >= pattern[b])) {
					width[b] = w;
					pattern[b] = m.pattern_index;
					out[b] = c;
				}
		}
	}
	ts_query_cursor_delete(cur);
	free(width);
	free(pattern);
	return 0;
}
