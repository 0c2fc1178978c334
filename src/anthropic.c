/*
 * anthropic.c: the wire format of the Claude Messages API (anthropic.h):
 * requests, answers decoded as they arrive, errors.
 */
#include "monitor/anthropic.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/error.h"
#include "monitor/price.h"
#include "monitor/sse.h"
#include "monitor/util.h"
#include "monitor/banned.h"

#define ANSWER_MAX (8u << 20)
#define MAX_BLOCKS 256

int gm_anthropic_request(char **out, const struct gm_chat_request *req,
                         const char *model, bool stream, bool forced_tool)
{
	cJSON *root = cJSON_CreateObject(), *arr, *blk, *schema = NULL;
	const char *name = req->schema_name ? req->schema_name : GM_ANTHROPIC_TOOL_NAME;
	int rc = 0;

	*out = NULL;
	if (req->json_schema && !(schema = cJSON_Parse(req->json_schema))) {
		gm_error_set("invalid json schema for '%s'", name);
		rc = GM_EINVALID;
		goto cleanup;
	}
	cJSON_AddStringToObject(root, "model", model);
	cJSON_AddNumberToObject(root, "max_tokens", req->max_tokens > 0
	                        ? req->max_tokens : GM_ANTHROPIC_DEFAULT_MAX_TOKENS);
	if (req->system && *req->system) {
		arr = cJSON_AddArrayToObject(root, "system");
		blk = cJSON_CreateObject();
		cJSON_AddStringToObject(blk, "type", "text");
		cJSON_AddStringToObject(blk, "text", req->system);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(blk, "cache_control"),
		                        "type", "ephemeral");
		cJSON_AddItemToArray(arr, blk);
	}
	arr = cJSON_AddArrayToObject(root, "messages");
	blk = cJSON_CreateObject();
	cJSON_AddStringToObject(blk, "role", "user");
	cJSON_AddStringToObject(blk, "content", req->user ? req->user : "");
	cJSON_AddItemToArray(arr, blk);
	if (req->has_temperature)
		cJSON_AddNumberToObject(root, "temperature", req->temperature);
	if (schema && forced_tool) {
		cJSON *tc;
		arr = cJSON_AddArrayToObject(root, "tools");
		blk = cJSON_CreateObject();
		cJSON_AddStringToObject(blk, "name", name);
		cJSON_AddStringToObject(blk, "description",
		                        "Return the answer in this structure.");
		cJSON_AddItemToObject(blk, "input_schema", schema);
		cJSON_AddItemToArray(arr, blk);
		tc = cJSON_AddObjectToObject(root, "tool_choice");
		cJSON_AddStringToObject(tc, "type", "tool");
		cJSON_AddStringToObject(tc, "name", name);
		schema = NULL;
	} else if (schema) {
		cJSON *fmt = cJSON_AddObjectToObject(
			cJSON_AddObjectToObject(root, "output_config"), "format");
		cJSON_AddStringToObject(fmt, "type", "json_schema");
		cJSON_AddItemToObject(fmt, "schema", schema);
		schema = NULL;
	}
	if (stream)
		cJSON_AddBoolToObject(root, "stream", 1);
	if (!(*out = cJSON_PrintUnformatted(root)))
		abort();
cleanup:
	cJSON_Delete(schema);
	cJSON_Delete(root);
	return rc;
}

static void one_line(char *s)
{
	for (; *s; s++)
		if (*s == '\n' || *s == '\r' || *s == '\t')
			*s = ' ';
}

/* {"type":"error","error":{"type","message"}} → "type: message", or NULL. */
static char *error_text(const cJSON *root, const char **type_out)
{
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(err, "type");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(err, "message");
	char *s;

	if (!cJSON_IsObject(err))
		return NULL;
	if (type_out)
		*type_out = cJSON_IsString(type) ? type->valuestring : "";
	if (cJSON_IsString(type) && cJSON_IsString(msg))
		s = gm_xasprintf("%s: %s", type->valuestring, msg->valuestring);
	else if (cJSON_IsString(msg))
		s = gm_xstrdup(msg->valuestring);
	else if (cJSON_IsString(type))
		s = gm_xstrdup(type->valuestring);
	else
		s = gm_xstrdup("unknown error");
	one_line(s);
	return s;
}

char *gm_anthropic_error_cause(long status, const char *body, size_t len)
{
	cJSON *root = body ? cJSON_ParseWithLength(body, len) : NULL;
	char *msg = root ? error_text(root, NULL) : NULL;

	cJSON_Delete(root);
	if (!msg) {
		if (status == 413)
			msg = gm_xstrdup("request_too_large: request exceeds the size limit");
		else
			msg = gm_xasprintf("HTTP %ld", status);
	}
	return msg;
}

static bool retryable_type(const char *type)
{
	return !strcmp(type, "overloaded_error") || !strcmp(type, "api_error") ||
	       !strcmp(type, "rate_limit_error") || !strcmp(type, "timeout_error");
}

struct block {
	enum { B_OTHER, B_TEXT, B_TOOL, B_THINKING } type;
	struct gm_buf text;
};

struct acc {
	struct block *blocks;
	size_t nblocks, cap;
	char *stop, *model;
	int64_t in, out, cw, cr;
	bool started, stopped, *retry;
};

static struct block *block_at(struct acc *a, const cJSON *index)
{
	size_t i;
	if (!cJSON_IsNumber(index) || index->valuedouble < 0 ||
	    index->valuedouble >= MAX_BLOCKS)
		return NULL;
	i = (size_t)index->valuedouble;
	if (i >= a->nblocks) {
		GM_GROW(a->blocks, a->cap, i + 1);
		for (size_t k = a->nblocks; k <= i; k++) {
			a->blocks[k].type = B_OTHER;
			gm_buf_init(&a->blocks[k].text, ANSWER_MAX);
		}
		a->nblocks = i + 1;
	}
	return &a->blocks[i];
}

static void set_block(struct block *b, const cJSON *cb)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(cb, "type");
	const char *t = cJSON_IsString(type) ? type->valuestring : "";
	const cJSON *v;

	gm_buf_clear(&b->text);
	if (!strcmp(t, "text")) {
		b->type = B_TEXT;
		if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(cb, "text")))
			gm_buf_puts(&b->text, v->valuestring);
	} else if (!strcmp(t, "tool_use")) {
		b->type = B_TOOL;
		v = cJSON_GetObjectItemCaseSensitive(cb, "input");
		/* Streaming starts with "input":{} and sends the JSON in pieces. */
		if (cJSON_IsObject(v) && v->child) {
			char *s = cJSON_PrintUnformatted(v);
			if (s)
				gm_buf_puts(&b->text, s);
			cJSON_free(s);
		}
	} else if (!strcmp(t, "thinking")) {
		b->type = B_THINKING;
		if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(cb, "thinking")))
			gm_buf_puts(&b->text, v->valuestring);
	} else {
		b->type = B_OTHER; /* redacted_thinking, server tools, … */
	}
}

static void acc_usage(struct acc *a, const cJSON *u)
{
	const cJSON *v;
	if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(u, "input_tokens")))
		a->in = (int64_t)v->valuedouble;
	if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(u, "output_tokens")))
		a->out = (int64_t)v->valuedouble;
	if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(u, "cache_creation_input_tokens")))
		a->cw = (int64_t)v->valuedouble;
	if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(u, "cache_read_input_tokens")))
		a->cr = (int64_t)v->valuedouble;
}

static void acc_str(char **dst, const cJSON *v)
{
	if (cJSON_IsString(v) && v->valuestring[0]) {
		free(*dst);
		*dst = gm_xstrdup(v->valuestring);
	}
}

static int acc_message(struct acc *a, const cJSON *msg)
{
	const cJSON *blk;
	cJSON_ArrayForEach(blk, cJSON_GetObjectItemCaseSensitive(msg, "content")) {
		cJSON idx = { 0 };
		struct block *b;
		idx.type = cJSON_Number;
		idx.valuedouble = (double)a->nblocks;
		if (!(b = block_at(a, &idx))) {
			gm_error_set("malformed answer: too many content blocks");
			return GM_EINVALID;
		}
		set_block(b, blk);
	}
	acc_str(&a->model, cJSON_GetObjectItemCaseSensitive(msg, "model"));
	acc_str(&a->stop, cJSON_GetObjectItemCaseSensitive(msg, "stop_reason"));
	acc_usage(a, cJSON_GetObjectItemCaseSensitive(msg, "usage"));
	return 0;
}

static int fail_error(struct acc *a, const cJSON *root)
{
	const char *type = "";
	char *s = error_text(root, &type);
	if (!s)
		s = gm_xstrdup("error event without details");
	if (a->retry)
		*a->retry = retryable_type(type);
	gm_error_set("%s", s);
	free(s);
	return GM_ERROR;
}

static int on_event(void *ctx, const char *event, const char *data, size_t len)
{
	struct acc *a = ctx;
	cJSON *root = cJSON_ParseWithLength(data, len);
	const cJSON *type, *delta, *v;
	const char *t;
	struct block *b;
	int rc = 0;

	if (!root) {
		gm_error_set("malformed event '%s' in answer stream", event);
		return GM_EINVALID;
	}
	type = cJSON_GetObjectItemCaseSensitive(root, "type");
	t = cJSON_IsString(type) ? type->valuestring : event;
	if (!strcmp(t, "error") || !strcmp(event, "error")) {
		rc = fail_error(a, root);
	} else if (!strcmp(t, "message_start")) {
		a->started = true;
		rc = acc_message(a, cJSON_GetObjectItemCaseSensitive(root, "message"));
	} else if (!strcmp(t, "content_block_start")) {
		if ((b = block_at(a, cJSON_GetObjectItemCaseSensitive(root, "index"))))
			set_block(b, cJSON_GetObjectItemCaseSensitive(root, "content_block"));
	} else if (!strcmp(t, "content_block_delta")) {
		b = block_at(a, cJSON_GetObjectItemCaseSensitive(root, "index"));
		delta = cJSON_GetObjectItemCaseSensitive(root, "delta");
		if (b && ((v = cJSON_GetObjectItemCaseSensitive(delta, "text")) ||
		          (v = cJSON_GetObjectItemCaseSensitive(delta, "partial_json")) ||
		          (v = cJSON_GetObjectItemCaseSensitive(delta, "thinking"))) &&
		    cJSON_IsString(v) && gm_buf_puts(&b->text, v->valuestring) < 0) {
			gm_error_set("answer larger than %u bytes", ANSWER_MAX);
			rc = GM_ETOOBIG;
		}
	} else if (!strcmp(t, "message_delta")) {
		delta = cJSON_GetObjectItemCaseSensitive(root, "delta");
		acc_str(&a->stop, cJSON_GetObjectItemCaseSensitive(delta, "stop_reason"));
		acc_usage(a, cJSON_GetObjectItemCaseSensitive(root, "usage"));
	} else if (!strcmp(t, "message_stop")) {
		a->stopped = true;
	}
	/* ping, content_block_stop and future events carry nothing we need. */
	cJSON_Delete(root);
	return rc;
}

static char *map_stop(const char *s)
{
	if (!s)
		return gm_xstrdup("stop");
	if (!strcmp(s, "end_turn") || !strcmp(s, "stop_sequence"))
		return gm_xstrdup("stop");
	if (!strcmp(s, "max_tokens") || !strcmp(s, "model_context_window_exceeded"))
		return gm_xstrdup("length");
	if (!strcmp(s, "tool_use"))
		return gm_xstrdup("tool_calls");
	return gm_xstrdup(s); /* refusal, pause_turn, future values */
}

/* ---- decoding an answer as it arrives ------------------------------------ */

struct answer {
	struct gm_http_answer base; /* first: the engine sees this */
	struct acc a;
	bool sse;
	struct gm_sse events;       /* sse: the stream's framing */
	struct gm_buf json;         /* else: the one JSON object, whole */
};

static size_t acc_text(const struct acc *a)
{
	size_t n = 0;
	for (size_t i = 0; i < a->nblocks; i++)
		n += a->blocks[i].text.len;
	return n;
}

static struct answer *answer_make(bool sse)
{
	struct answer *p = gm_xcalloc(1, sizeof(*p));

	p->sse = sse;
	p->a.retry = &p->base.retry;
	gm_buf_init(&p->json, ANSWER_MAX);
	gm_sse_init(&p->events, ANSWER_MAX, on_event, &p->a);
	return p;
}

static struct gm_http_answer *answer_new(const struct gm_chat_request *req, bool sse)
{
	(void)req;
	return &answer_make(sse)->base;
}

static int answer_feed(struct gm_http_answer *base, const char *buf, size_t n)
{
	struct answer *p = (struct answer *)base;
	int rc;

	if (!p->sse) {
		if (gm_buf_put(&p->json, buf, n) < 0) {
			gm_error_set("answer larger than %u bytes", ANSWER_MAX);
			return GM_ETOOBIG;
		}
		return 0;
	}
	rc = gm_sse_feed(&p->events, buf, n);
	p->base.text = acc_text(&p->a);
	return rc;
}

static int answer_end(struct gm_http_answer *base, struct gm_chat_result *res)
{
	struct answer *p = (struct answer *)base;
	struct acc *a = &p->a;
	struct gm_buf text = GM_BUF_INIT, thinking = GM_BUF_INIT;
	const struct block *tool = NULL;
	cJSON *root = NULL;
	int rc = 0;

	if (p->sse) {
		if ((rc = gm_sse_finish(&p->events)))
			goto cleanup;
		if (!a->started || (!a->stopped && !a->stop)) {
			gm_error_set("answer stream ended early (no message_stop)");
			p->base.retry = true;
			rc = GM_EINVALID;
			goto cleanup;
		}
	} else {
		const cJSON *type;
		if (!(root = cJSON_ParseWithLength(p->json.ptr ? p->json.ptr : "", p->json.len))) {
			gm_error_set("malformed answer: not JSON");
			rc = GM_EINVALID;
			goto cleanup;
		}
		type = cJSON_GetObjectItemCaseSensitive(root, "type");
		if (cJSON_GetObjectItemCaseSensitive(root, "error") ||
		    (cJSON_IsString(type) && !strcmp(type->valuestring, "error"))) {
			rc = fail_error(a, root);
			goto cleanup;
		}
		if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(root, "content"))) {
			gm_error_set("malformed answer: no content");
			rc = GM_EINVALID;
			goto cleanup;
		}
		if ((rc = acc_message(a, root)) < 0)
			goto cleanup;
	}
	for (size_t i = 0; i < a->nblocks; i++) {
		const struct block *b = &a->blocks[i];
		if (b->type == B_TOOL && !tool)
			tool = b;
		else if (b->type == B_TEXT && b->text.len)
			gm_buf_put(&text, b->text.ptr, b->text.len);
		else if (b->type == B_THINKING && b->text.len)
			gm_buf_put(&thinking, b->text.ptr, b->text.len);
	}
	if (tool) {
		res->content = gm_xstrdup(tool->text.len ? tool->text.ptr : "{}");
	} else if (text.len) {
		res->content = gm_buf_detach(&text, NULL);
	} else {
		gm_error_set("empty answer (stop_reason %s)", a->stop ? a->stop : "missing");
		rc = GM_EINVALID;
		goto cleanup;
	}
	if (thinking.len)
		res->reasoning = gm_buf_detach(&thinking, NULL);
	res->finish_reason = map_stop(a->stop);
	res->model = a->model;
	a->model = NULL;
	res->input_tokens = a->in;
	res->output_tokens = a->out;
	res->cache_write_tokens = a->cw;
	res->cache_read_tokens = a->cr;
cleanup:
	gm_buf_release(&text);
	gm_buf_release(&thinking);
	cJSON_Delete(root);
	return rc;
}

static void answer_free(struct gm_http_answer *base)
{
	struct answer *p = (struct answer *)base;

	if (!p)
		return;
	for (size_t i = 0; i < p->a.nblocks; i++)
		gm_buf_release(&p->a.blocks[i].text);
	free(p->a.blocks);
	free(p->a.stop);
	free(p->a.model);
	gm_sse_release(&p->events);
	gm_buf_release(&p->json);
	free(p);
}

int gm_anthropic_parse(struct gm_chat_result *res, bool *retry,
                       const char *body, size_t len, bool sse)
{
	struct answer *p = answer_make(sse);
	int rc = answer_feed(&p->base, body, len);

	if (!rc)
		rc = answer_end(&p->base, res);
	if (retry)
		*retry = p->base.retry;
	answer_free(&p->base);
	return rc;
}

/* ---- the ops instance ---------------------------------------------------- */

static void auth(struct gm_http_send *out, const struct gm_http_target *t)
{
	gm_http_send_header(out, "anthropic-version: " GM_ANTHROPIC_VERSION);
	gm_http_send_header(out, "x-api-key: %s", t->api_key ? t->api_key : "");
}

static int build(struct gm_http_send *out, const struct gm_http_target *t,
                 const struct gm_chat_request *req)
{
	const struct gm_price *p = gm_price_lookup(t->model);
	/* Unknown ids: forced tool use works on every model but the known few. */
	bool forced_tool = p ? p->forced_tool : true;
	int rc = gm_anthropic_request(&out->body, req, t->model, t->stream, forced_tool);

	if (rc < 0)
		return rc;
	out->url = gm_xasprintf("%s/v1/messages", t->url);
	gm_http_send_header(out, "Content-Type: application/json");
	gm_http_send_header(out, "Accept: %s", t->stream ? "text/event-stream" : "application/json");
	auth(out, t);
	return 0;
}

const struct gm_http_proto gm_anthropic_proto = {
	.name = "Claude API",
	.url_in_name = false,
	.build = build,
	.auth = auth,
	.answer_new = answer_new,
	.answer_feed = answer_feed,
	.answer_end = answer_end,
	.answer_free = answer_free,
	.error_cause = gm_anthropic_error_cause,
};
