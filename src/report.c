/*
 * report.c: the run record, its JSON writer and reader (report.h).
 */
#include "monitor/report.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/error.h"
#include "monitor/quote.h"
#include "monitor/util.h"
#include "monitor/banned.h"

static const char *const status_names[] = {
	"pending", "applied", "unchanged", "rejected", "failed", "skipped", "dropped"
};

const char *gm_task_status_name(enum gm_task_status s)
{
	return status_names[s];
}

int gm_task_status_parse(enum gm_task_status *out, const char *name)
{
	for (size_t i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++)
		if (strcmp(status_names[i], name) == 0) {
			*out = (enum gm_task_status)i;
			return 0;
		}
	return GM_ENOTFOUND;
}

/* ---- building ------------------------------------------------------------------ */

struct gm_run_report *gm_run_report_new(void)
{
	return gm_xcalloc(1, sizeof(struct gm_run_report));
}

size_t gm_run_report_add_task(struct gm_run_report *r)
{
	GM_GROW(r->tasks, r->cap_tasks, r->ntasks + 1);
	memset(&r->tasks[r->ntasks], 0, sizeof(struct gm_run_task));
	return r->ntasks++;
}

void gm_run_report_warn(struct gm_run_report *r, const char *fmt, ...)
{
	struct gm_buf b = GM_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	gm_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	r->warnings = gm_xrealloc(r->warnings, (r->nwarnings + 1) * sizeof(char *));
	r->warnings[r->nwarnings++] = gm_buf_detach(&b, NULL);
}

static int cmp_task(const void *a, const void *b)
{
	const struct gm_run_task *x = a, *y = b;
	int c = strcmp(x->path ? x->path : "", y->path ? y->path : "");
	if (c)
		return c;
	if (x->start_line != y->start_line)
		return x->start_line < y->start_line ? -1 : 1;
	return strcmp(x->kind ? x->kind : "", y->kind ? y->kind : "");
}

static int cmp_task_ptr(const void *a, const void *b)
{
	return cmp_task(*(const struct gm_run_task *const *)a, *(const struct gm_run_task *const *)b);
}

void gm_run_report_sort(struct gm_run_report *r)
{
	if (r->ntasks > 1)
		qsort(r->tasks, r->ntasks, sizeof(*r->tasks), cmp_task);
}

void gm_run_report_free(struct gm_run_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->ntasks; i++) {
		struct gm_run_task *t = &r->tasks[i];
		free(t->path);
		free(t->name);
		free(t->kind);
		free(t->route);
		free(t->model);
		free(t->route_reason);
		free(t->reason);
		free(t->rationale);
		free(t->instructions);
		for (size_t k = 0; k < t->nhelpers; k++)
			free(t->helpers[k]);
		free(t->helpers);
		for (size_t k = 0; k < t->nimports; k++)
			free(t->imports[k]);
		free(t->imports);
	}
	free(r->tasks);
	for (size_t i = 0; i < r->nservers; i++) {
		free(r->servers[i].url);
		free(r->servers[i].kind);
		free(r->servers[i].model);
		free(r->servers[i].cause);
	}
	free(r->servers);
	free(r->batch_id);
	for (size_t i = 0; i < r->nwarnings; i++)
		free(r->warnings[i]);
	free(r->warnings);
	free(r->run_id);
	free(r->branch);
	free(r->analysis_note);
	free(r->local_model);
	free(r->claude_model);
	free(r);
}

/* ---- writing ---------------------------------------------------------------------- */

/* JSON is valid UTF-8 whatever the bytes (quote.h): names reversibly, text lossily. */
static void add_name(cJSON *o, const char *key, const char *v)
{
	char *q = gm_quote_name(v);
	cJSON_AddStringToObject(o, key, q);
	free(q);
}

static void add_text(cJSON *o, const char *key, const char *v)
{
	char *q = gm_quote_lossy(v);
	cJSON_AddStringToObject(o, key, q);
	free(q);
}

cJSON *gm_run_report_json(const struct gm_run_report *r)
{
	cJSON *root = cJSON_CreateObject(), *tasks, *totals, *warnings;
	const struct gm_run_task **order;
	char oid[GIT_OID_HEXSZ + 1];

	cJSON_AddNumberToObject(root, "version", GM_REPORT_VERSION);
	add_text(root, "run", r->run_id);
	cJSON_AddBoolToObject(root, "dry_run", r->dry_run);
	git_oid_tostr(oid, sizeof(oid), &r->base);
	cJSON_AddStringToObject(root, "base", oid);
	if (r->has_commit) {
		git_oid_tostr(oid, sizeof(oid), &r->commit);
		cJSON_AddStringToObject(root, "commit", oid);
	} else {
		cJSON_AddNullToObject(root, "commit");
	}
	if (r->branch)
		add_name(root, "branch", r->branch);
	else
		cJSON_AddNullToObject(root, "branch");
	if (r->local_model)
		add_text(root, "local_model", r->local_model);
	if (r->claude_model)
		add_text(root, "claude_model", r->claude_model);
	cJSON_AddBoolToObject(root, "analysis_local", r->analysis_local);
	if (r->analysis_note)
		add_text(root, "analysis_note", r->analysis_note);
	tasks = cJSON_AddArrayToObject(root, "tasks");
	order = gm_xcalloc(r->ntasks + 1, sizeof(*order));
	for (size_t i = 0; i < r->ntasks; i++)
		order[i] = &r->tasks[i];
	qsort(order, r->ntasks, sizeof(*order), cmp_task_ptr);
	for (size_t i = 0; i < r->ntasks; i++) {
		const struct gm_run_task *t = order[i];
		cJSON *o = cJSON_CreateObject();
		add_name(o, "path", t->path ? t->path : "");
		add_name(o, "name", t->name ? t->name : "");
		add_text(o, "kind", t->kind ? t->kind : "rewrite");
		add_text(o, "route", t->route ? t->route : "local");
		if (t->route_reason)
			add_text(o, "route_reason", t->route_reason);
		if (t->model)
			add_text(o, "model", t->model);
		cJSON_AddStringToObject(o, "status", gm_task_status_name(t->status));
		if (t->reason)
			add_text(o, "reason", t->reason);
		if (t->rationale)
			add_text(o, "rationale", t->rationale);
		if (t->instructions)
			add_text(o, "instructions", t->instructions);
		cJSON_AddNumberToObject(o, "attempts", t->attempts);
		cJSON_AddNumberToObject(o, "start_line", t->start_line);
		cJSON_AddNumberToObject(o, "end_line", t->end_line);
		cJSON_AddNumberToObject(o, "input_tokens", (double)t->input_tokens);
		cJSON_AddNumberToObject(o, "output_tokens", (double)t->output_tokens);
		cJSON_AddNumberToObject(o, "estimated_tokens", (double)t->est_tokens);
		cJSON_AddNumberToObject(o, "cost_usd", t->cost_usd);
		cJSON_AddBoolToObject(o, "cached", t->cached);
		if (t->status == GM_TASK_APPLIED && t->kind && strcmp(t->kind, "rewrite") == 0) {
			cJSON *h, *im, *cc;
			cJSON_AddNumberToObject(o, "lines_added", t->added);
			cJSON_AddNumberToObject(o, "lines_removed", t->removed);
			h = cJSON_AddArrayToObject(o, "helpers");
			for (size_t k = 0; k < t->nhelpers; k++)
				cJSON_AddItemToArray(h, cJSON_CreateString(t->helpers[k]));
			im = cJSON_AddArrayToObject(o, "imports");
			for (size_t k = 0; k < t->nimports; k++)
				cJSON_AddItemToArray(im, cJSON_CreateString(t->imports[k]));
			cc = cJSON_AddObjectToObject(o, "complexity");
			cJSON_AddNumberToObject(cc, "before", t->cc_before);
			cJSON_AddNumberToObject(cc, "after", t->cc_after);
			cJSON_AddNumberToObject(cc, "after_sum", t->cc_after_sum);
		}
		cJSON_AddItemToArray(tasks, o);
	}
	free(order);
	totals = cJSON_AddObjectToObject(root, "totals");
	cJSON_AddNumberToObject(totals, "requests", (double)r->requests);
	cJSON_AddNumberToObject(totals, "input_tokens", (double)r->input_tokens);
	cJSON_AddNumberToObject(totals, "output_tokens", (double)r->output_tokens);
	cJSON_AddNumberToObject(totals, "cost_usd", r->cost_usd);
	cJSON_AddNumberToObject(totals, "elapsed_ms", (double)r->elapsed_ms);
	cJSON_AddNumberToObject(totals, "model_ms", (double)r->model_ms);
	cJSON_AddNumberToObject(totals, "scan_ms", (double)r->scan_ms);
	cJSON_AddNumberToObject(totals, "commit_ms", (double)r->commit_ms);
	cJSON_AddNumberToObject(totals, "cache_read_tokens", (double)r->cache_read_tokens);
	cJSON_AddNumberToObject(totals, "cache_write_tokens", (double)r->cache_write_tokens);
	if (r->nservers) {
		cJSON *servers = cJSON_AddArrayToObject(root, "servers");
		for (size_t i = 0; i < r->nservers; i++) {
			const struct gm_run_server *s = &r->servers[i];
			cJSON *o = cJSON_CreateObject();
			add_text(o, "url", s->url ? s->url : "");
			add_text(o, "kind", s->kind ? s->kind : "");
			if (s->model)
				add_text(o, "model", s->model);
			cJSON_AddNumberToObject(o, "answers", (double)s->answers);
			cJSON_AddNumberToObject(o, "failures", (double)s->failures);
			cJSON_AddNumberToObject(o, "requeued", (double)s->requeued);
			cJSON_AddNumberToObject(o, "outages", s->outages);
			cJSON_AddNumberToObject(o, "down_ms", (double)s->down_ms);
			cJSON_AddNumberToObject(o, "avg_ms", (double)s->avg_ms);
			if (s->cause)
				add_text(o, "cause", s->cause);
			cJSON_AddItemToArray(servers, o);
		}
	}
	if (r->batch_id) {
		cJSON *b = cJSON_AddObjectToObject(root, "batch");
		add_text(b, "id", r->batch_id);
		cJSON_AddNumberToObject(b, "requests", (double)r->batch_requests);
		cJSON_AddBoolToObject(b, "resumed", r->batch_resumed);
	}
	warnings = cJSON_AddArrayToObject(root, "warnings");
	for (size_t i = 0; i < r->nwarnings; i++) {
		char *q = gm_quote_lossy(r->warnings[i]);
		cJSON_AddItemToArray(warnings, cJSON_CreateString(q));
		free(q);
	}
	return root;
}

/* ---- reading ---------------------------------------------------------------------- */

/* The reader's state: the first bad field wins, later checks are no-ops. */
struct reader {
	int rc;
};

static const cJSON *field(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

static void bad(struct reader *rd, const char *where, const char *key, const char *what)
{
	if (rd->rc)
		return;
	gm_error_set("unreadable run record: '%s%s' %s", where, key, what);
	rd->rc = GM_EINVALID;
}

/* An optional string: absent or null leaves `*out` NULL. */
static void get_str(struct reader *rd, char **out, const cJSON *o, const char *where,
                    const char *key, bool required)
{
	const cJSON *v = field(o, key);
	if ((!v || cJSON_IsNull(v)) && !required)
		return;
	if (!cJSON_IsString(v)) {
		bad(rd, where, key, required && !v ? "is missing" : "is not a string");
		return;
	}
	*out = gm_xstrdup(v->valuestring);
}

/* An optional array of strings. */
static void get_strv(struct reader *rd, char ***out, size_t *n, const cJSON *o, const char *where,
                     const char *key)
{
	const cJSON *v = field(o, key), *it;
	size_t k = 0;
	if (!v || cJSON_IsNull(v))
		return;
	if (!cJSON_IsArray(v)) {
		bad(rd, where, key, "is not an array");
		return;
	}
	*out = gm_xcalloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(char *));
	cJSON_ArrayForEach(it, v) {
		if (!cJSON_IsString(it)) {
			bad(rd, where, key, "holds a value that is not a string");
			break;
		}
		(*out)[k++] = gm_xstrdup(it->valuestring);
	}
	*n = k;
}

/* A name (quote.h): its bytes back from the quoted form. */
static void get_name(struct reader *rd, char **out, const cJSON *o, const char *where,
                     const char *key, bool required)
{
	char *raw = NULL;
	get_str(rd, &raw, o, where, key, required);
	if (!raw)
		return;
	if (!(*out = gm_quote_name_decode(raw)))
		bad(rd, where, key, "is not a well-formed quoted name");
	free(raw);
}

static void get_bool(struct reader *rd, bool *out, const cJSON *o, const char *where, const char *key)
{
	const cJSON *v = field(o, key);
	if (!v)
		return;
	if (!cJSON_IsBool(v)) {
		bad(rd, where, key, "is not true or false");
		return;
	}
	*out = cJSON_IsTrue(v);
}

/* An optional number within [lo, hi]; whole unless `fraction`. */
static bool get_num(struct reader *rd, double *out, const cJSON *o, const char *where,
                    const char *key, double lo, double hi, bool fraction)
{
	const cJSON *v = field(o, key);
	if (!v)
		return false;
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < lo ||
	    v->valuedouble > hi || (!fraction && v->valuedouble != floor(v->valuedouble))) {
		bad(rd, where, key, "is not a number in range");
		return false;
	}
	*out = v->valuedouble;
	return true;
}

#define MAX_COUNT 9007199254740992.0 /* 2^53: every whole double up to it is exact */

static void get_u64(struct reader *rd, uint64_t *out, const cJSON *o, const char *where, const char *key)
{
	double d;
	if (get_num(rd, &d, o, where, key, 0, MAX_COUNT, false))
		*out = (uint64_t)d;
}

static void get_i64(struct reader *rd, int64_t *out, const cJSON *o, const char *where, const char *key)
{
	double d;
	if (get_num(rd, &d, o, where, key, -MAX_COUNT, MAX_COUNT, false))
		*out = (int64_t)d;
}

static void get_uint(struct reader *rd, unsigned *out, const cJSON *o, const char *where, const char *key)
{
	double d;
	if (get_num(rd, &d, o, where, key, 0, 4294967295.0, false))
		*out = (unsigned)d;
}

static void get_int(struct reader *rd, int *out, const cJSON *o, const char *where, const char *key)
{
	double d;
	if (get_num(rd, &d, o, where, key, -2147483648.0, 2147483647.0, false))
		*out = (int)d;
}

static void get_oid(struct reader *rd, git_oid *out, bool *has, const cJSON *o, const char *key)
{
	const cJSON *v = field(o, key);
	if (!v || cJSON_IsNull(v))
		return;
	if (!cJSON_IsString(v) || strlen(v->valuestring) != GIT_OID_HEXSZ) {
		bad(rd, "", key, "is not an object id");
		return;
	}
	if (git_oid_fromstr(out, v->valuestring) < 0) {
		git_error_clear();
		bad(rd, "", key, "is not an object id");
		return;
	}
	if (has)
		*has = true;
}

static void read_servers(struct reader *rd, struct gm_run_report *r, const cJSON *v)
{
	const cJSON *it;
	size_t i = 0;

	if (!v)
		return;
	if (!cJSON_IsArray(v)) {
		bad(rd, "", "servers", "is not an array");
		return;
	}
	r->servers = gm_xcalloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(*r->servers));
	cJSON_ArrayForEach(it, v) {
		struct gm_run_server *s = &r->servers[i];
		char where[48];
		snprintf(where, sizeof(where), "servers[%zu].", i);
		if (!cJSON_IsObject(it)) {
			bad(rd, where, "", "is not an object");
			break;
		}
		r->nservers = ++i;
		get_str(rd, &s->url, it, where, "url", true);
		get_str(rd, &s->kind, it, where, "kind", false);
		get_str(rd, &s->model, it, where, "model", false);
		get_u64(rd, &s->answers, it, where, "answers");
		get_u64(rd, &s->failures, it, where, "failures");
		get_u64(rd, &s->requeued, it, where, "requeued");
		get_uint(rd, &s->outages, it, where, "outages");
		get_u64(rd, &s->down_ms, it, where, "down_ms");
		get_u64(rd, &s->avg_ms, it, where, "avg_ms");
		get_str(rd, &s->cause, it, where, "cause", false);
		if (rd->rc)
			break;
	}
}

static void read_task(struct reader *rd, struct gm_run_task *t, const cJSON *o, size_t i)
{
	char where[48];
	char *status = NULL;

	snprintf(where, sizeof(where), "tasks[%zu].", i);
	if (!cJSON_IsObject(o)) {
		bad(rd, where, "", "is not an object");
		return;
	}
	get_name(rd, &t->path, o, where, "path", true);
	get_name(rd, &t->name, o, where, "name", true);
	get_str(rd, &t->kind, o, where, "kind", false);
	get_str(rd, &t->route, o, where, "route", false);
	get_str(rd, &t->route_reason, o, where, "route_reason", false);
	get_str(rd, &t->model, o, where, "model", false);
	get_str(rd, &status, o, where, "status", true);
	if (status && gm_task_status_parse(&t->status, status) < 0)
		bad(rd, where, "status", "is not a known status");
	free(status);
	get_str(rd, &t->reason, o, where, "reason", false);
	get_str(rd, &t->rationale, o, where, "rationale", false);
	get_str(rd, &t->instructions, o, where, "instructions", false);
	get_uint(rd, &t->attempts, o, where, "attempts");
	get_uint(rd, &t->start_line, o, where, "start_line");
	get_uint(rd, &t->end_line, o, where, "end_line");
	get_i64(rd, &t->input_tokens, o, where, "input_tokens");
	get_i64(rd, &t->output_tokens, o, where, "output_tokens");
	get_i64(rd, &t->est_tokens, o, where, "estimated_tokens");
	get_num(rd, &t->cost_usd, o, where, "cost_usd", 0, HUGE_VAL, true);
	get_bool(rd, &t->cached, o, where, "cached");
	get_int(rd, &t->added, o, where, "lines_added");
	get_int(rd, &t->removed, o, where, "lines_removed");
	get_strv(rd, &t->helpers, &t->nhelpers, o, where, "helpers");
	get_strv(rd, &t->imports, &t->nimports, o, where, "imports");
	{
		const cJSON *cc = field(o, "complexity");
		char w2[64];
		snprintf(w2, sizeof(w2), "%scomplexity.", where);
		if (cc && !cJSON_IsObject(cc)) {
			bad(rd, where, "complexity", "is not an object");
		} else if (cc) {
			get_uint(rd, &t->cc_before, cc, w2, "before");
			get_uint(rd, &t->cc_after, cc, w2, "after");
			get_uint(rd, &t->cc_after_sum, cc, w2, "after_sum");
		}
	}
}

int gm_run_report_parse(struct gm_run_report **out, const char *json)
{
	struct gm_run_report *r = gm_run_report_new();
	struct reader rd = { 0 };
	cJSON *j = cJSON_Parse(json);
	const cJSON *tasks, *totals, *warnings, *it;
	double version = 0;

	*out = NULL;
	if (!cJSON_IsObject(j)) {
		gm_error_set("unreadable run record: not a JSON object");
		rd.rc = GM_EINVALID;
		goto cleanup;
	}
	if (!field(j, "version"))
		bad(&rd, "", "version", "is missing");
	else if (get_num(&rd, &version, j, "", "version", 0, HUGE_VAL, false) &&
	         version != GM_REPORT_VERSION)
		bad(&rd, "", "version", "is not 1");
	get_str(&rd, &r->run_id, j, "", "run", true);
	get_bool(&rd, &r->dry_run, j, "", "dry_run");
	get_oid(&rd, &r->base, NULL, j, "base");
	get_oid(&rd, &r->commit, &r->has_commit, j, "commit");
	get_name(&rd, &r->branch, j, "", "branch", false);
	get_str(&rd, &r->local_model, j, "", "local_model", false);
	get_str(&rd, &r->claude_model, j, "", "claude_model", false);
	get_bool(&rd, &r->analysis_local, j, "", "analysis_local");
	get_str(&rd, &r->analysis_note, j, "", "analysis_note", false);

	tasks = field(j, "tasks");
	if (tasks && !cJSON_IsArray(tasks))
		bad(&rd, "", "tasks", "is not an array");
	else {
		size_t i = 0;
		cJSON_ArrayForEach(it, tasks) {
			size_t k;
			if (rd.rc)
				break;
			k = gm_run_report_add_task(r);
			read_task(&rd, &r->tasks[k], it, i++);
		}
	}
	totals = field(j, "totals");
	if (totals && !cJSON_IsObject(totals)) {
		bad(&rd, "", "totals", "is not an object");
	} else if (totals) {
		uint64_t requests = 0;
		get_u64(&rd, &requests, totals, "totals.", "requests");
		r->requests = (size_t)requests;
		get_i64(&rd, &r->input_tokens, totals, "totals.", "input_tokens");
		get_i64(&rd, &r->output_tokens, totals, "totals.", "output_tokens");
		get_num(&rd, &r->cost_usd, totals, "totals.", "cost_usd", 0, HUGE_VAL, true);
		get_u64(&rd, &r->elapsed_ms, totals, "totals.", "elapsed_ms");
		get_u64(&rd, &r->model_ms, totals, "totals.", "model_ms");
		get_u64(&rd, &r->scan_ms, totals, "totals.", "scan_ms");
		get_u64(&rd, &r->commit_ms, totals, "totals.", "commit_ms");
		get_i64(&rd, &r->cache_read_tokens, totals, "totals.", "cache_read_tokens");
		get_i64(&rd, &r->cache_write_tokens, totals, "totals.", "cache_write_tokens");
	}
	read_servers(&rd, r, field(j, "servers"));
	{
		const cJSON *b = field(j, "batch");
		if (b && !cJSON_IsObject(b)) {
			bad(&rd, "", "batch", "is not an object");
		} else if (b) {
			uint64_t n = 0;
			get_str(&rd, &r->batch_id, b, "batch.", "id", true);
			get_u64(&rd, &n, b, "batch.", "requests");
			r->batch_requests = (size_t)n;
			get_bool(&rd, &r->batch_resumed, b, "batch.", "resumed");
		}
	}
	warnings = field(j, "warnings");
	if (warnings && !cJSON_IsArray(warnings))
		bad(&rd, "", "warnings", "is not an array");
	cJSON_ArrayForEach(it, warnings) {
		if (rd.rc || !cJSON_IsString(it)) {
			bad(&rd, "", "warnings", "holds something other than text");
			break;
		}
		gm_run_report_warn(r, "%s", it->valuestring);
	}
cleanup:
	cJSON_Delete(j);
	if (rd.rc) {
		gm_run_report_free(r);
		return rd.rc;
	}
	*out = r;
	return 0;
}

/* ---- review --drop ------------------------------------------------------------------ */

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = field(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

char *gm_run_report_note_drop(const char *note, const char *const *paths,
                              const char *const *names, size_t n)
{
	cJSON *j = cJSON_Parse(note), *t;
	const cJSON *tasks;
	char *text;

	if (!j)
		return NULL;
	tasks = field(j, "tasks");
	cJSON_ArrayForEach(t, tasks) {
		char *path = gm_quote_name_decode(jstr(t, "path")), *name = gm_quote_name_decode(jstr(t, "name"));
		for (size_t i = 0; path && name && i < n; i++) {
			if (strcmp(paths[i], path) || strcmp(names[i], name))
				continue;
			cJSON_DeleteItemFromObjectCaseSensitive(t, "status");
			cJSON_AddStringToObject(t, "status", "dropped");
			cJSON_DeleteItemFromObjectCaseSensitive(t, "reason");
			cJSON_AddStringToObject(t, "reason", "dropped in review");
			cJSON_DeleteItemFromObjectCaseSensitive(t, "lines_added");
			cJSON_DeleteItemFromObjectCaseSensitive(t, "lines_removed");
			cJSON_DeleteItemFromObjectCaseSensitive(t, "complexity");
		}
		free(path);
		free(name);
	}
	text = cJSON_Print(j);
	cJSON_Delete(j);
	return text;
}
