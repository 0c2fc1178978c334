/*
 * openai.c: the wire format of LM Studio and other OpenAI-compatible servers
 * (openai.h): requests, answers decoded as they arrive, errors, model lists.
 */
#include "monitor/openai.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/error.h"
#include "monitor/sse.h"
#include "monitor/util.h"
#include "monitor/banned.h"

#define ANSWER_MAX (8u << 20)

int gm_openai_request(char **out, const struct gm_chat_request *req,
                      const char *model, bool stream)
{
	cJSON *root = cJSON_CreateObject(), *msgs, *m;
	int rc = 0;

	*out = NULL;
	if (model)
		cJSON_AddStringToObject(root, "model", model);
	msgs = cJSON_AddArrayToObject(root, "messages");
	if (req->system && *req->system) {
		m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "role", "system");
		cJSON_AddStringToObject(m, "content", req->system);
		cJSON_AddItemToArray(msgs, m);
	}
	m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "role", "user");
	cJSON_AddStringToObject(m, "content", req->user ? req->user : "");
	cJSON_AddItemToArray(msgs, m);
	if (req->max_tokens > 0)
		cJSON_AddNumberToObject(root, "max_tokens", req->max_tokens);
	if (req->has_temperature)
		cJSON_AddNumberToObject(root, "temperature", req->temperature);
	if (req->json_schema) {
		cJSON *schema = cJSON_Parse(req->json_schema), *rf, *js;
		if (!schema) {
			gm_error_set("invalid json schema for '%s'",
			             req->schema_name ? req->schema_name : "answer");
			rc = GM_EINVALID;
			goto cleanup;
		}
		rf = cJSON_AddObjectToObject(root, "response_format");
		cJSON_AddStringToObject(rf, "type", "json_schema");
		js = cJSON_AddObjectToObject(rf, "json_schema");
		cJSON_AddStringToObject(js, "name",
		                        req->schema_name ? req->schema_name : "answer");
		cJSON_AddBoolToObject(js, "strict", 1);
		cJSON_AddItemToObject(js, "schema", schema);
	}
	cJSON_AddBoolToObject(root, "stream", stream);
	if (stream) {
		cJSON *so = cJSON_AddObjectToObject(root, "stream_options");
		cJSON_AddBoolToObject(so, "include_usage", 1);
	}
	*out = cJSON_PrintUnformatted(root);
	if (!*out)
		abort();
cleanup:
	cJSON_Delete(root);
	return rc;
}

/* "error": "text" or {"message": "text", …}; NULL when absent. */
static char *error_text(const cJSON *root)
{
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");
	const cJSON *msg;

	if (!err)
		return NULL;
	if (cJSON_IsString(err))
		return gm_xstrdup(err->valuestring);
	msg = cJSON_GetObjectItemCaseSensitive(err, "message");
	if (cJSON_IsString(msg))
		return gm_xstrdup(msg->valuestring);
	msg = cJSON_GetObjectItemCaseSensitive(root, "message");
	if (cJSON_IsString(msg))
		return gm_xstrdup(msg->valuestring);
	if (cJSON_IsNull(err) || cJSON_IsFalse(err))
		return NULL;
	return gm_xstrdup("unknown error");
}

/* Error messages stay on one line. */
static void one_line(char *s)
{
	for (; *s; s++)
		if (*s == '\n' || *s == '\r' || *s == '\t')
			*s = ' ';
}

char *gm_openai_error_cause(long status, const char *body, size_t len)
{
	cJSON *root = body ? cJSON_ParseWithLength(body, len) : NULL;
	char *msg = root ? error_text(root) : NULL;

	cJSON_Delete(root);
	if (!msg) {
		if (body && len && len < 200 && !memchr(body, '{', len))
			msg = gm_xasprintf("HTTP %ld: %.*s", status, (int)len, body);
		else
			msg = gm_xasprintf("HTTP %ld", status);
	}
	one_line(msg);
	return msg;
}

struct acc {
	struct gm_buf content, reasoning;
	char *finish, *model;
	int64_t in, out;
	bool has_usage, done;
};

static void acc_str(char **dst, const cJSON *v)
{
	if (cJSON_IsString(v) && v->valuestring[0]) {
		free(*dst);
		*dst = gm_xstrdup(v->valuestring);
	}
}

static int acc_put(struct gm_buf *b, const cJSON *v)
{
	if (cJSON_IsString(v) && gm_buf_puts(b, v->valuestring) < 0) {
		gm_error_set("answer larger than %zu bytes", b->max);
		return GM_ETOOBIG;
	}
	return 0;
}

static void acc_usage(struct acc *a, const cJSON *u)
{
	const cJSON *v;
	if (!cJSON_IsObject(u))
		return;
	if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(u, "prompt_tokens")))
		a->in = (int64_t)v->valuedouble;
	if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(u, "completion_tokens")))
		a->out = (int64_t)v->valuedouble;
	a->has_usage = true;
}

/* One chat.completion or chat.completion.chunk object. */
static int acc_object(struct acc *a, const cJSON *root, bool chunk)
{
	const cJSON *choices, *c, *m;
	char *err;
	int rc;

	if (!cJSON_IsObject(root)) {
		gm_error_set("malformed answer: not a JSON object");
		return GM_EINVALID;
	}
	if ((err = error_text(root))) {
		one_line(err);
		gm_error_set("%s", err);
		free(err);
		return GM_ERROR;
	}
	acc_str(&a->model, cJSON_GetObjectItemCaseSensitive(root, "model"));
	acc_usage(a, cJSON_GetObjectItemCaseSensitive(root, "usage"));
	choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
	if (!cJSON_IsArray(choices)) {
		if (chunk && cJSON_GetObjectItemCaseSensitive(root, "usage"))
			return 0;
		gm_error_set("malformed answer: no choices");
		return GM_EINVALID;
	}
	c = cJSON_GetArrayItem(choices, 0);
	if (!c)
		return 0; /* the usage chunk has "choices": [] */
	acc_str(&a->finish, cJSON_GetObjectItemCaseSensitive(c, "finish_reason"));
	m = cJSON_GetObjectItemCaseSensitive(c, chunk ? "delta" : "message");
	if (!cJSON_IsObject(m)) {
		if (chunk)
			return 0;
		gm_error_set("malformed answer: no message");
		return GM_EINVALID;
	}
	if ((rc = acc_put(&a->content, cJSON_GetObjectItemCaseSensitive(m, "content"))) < 0)
		return rc;
	if ((rc = acc_put(&a->reasoning,
	                  cJSON_GetObjectItemCaseSensitive(m, "reasoning_content"))) < 0)
		return rc;
	return acc_put(&a->reasoning, cJSON_GetObjectItemCaseSensitive(m, "reasoning"));
}

static int on_event(void *ctx, const char *event, const char *data, size_t len)
{
	struct acc *a = ctx;
	cJSON *root;
	int rc;

	if (a->done)
		return 0;
	if (len == 6 && !memcmp(data, "[DONE]", 6)) {
		a->done = true;
		return 0;
	}
	root = cJSON_ParseWithLength(data, len);
	if (!strcmp(event, "error")) {
		char *err = root ? error_text(root) : NULL;
		if (!err)
			err = gm_xstrndup(data, len > 300 ? 300 : len);
		one_line(err);
		gm_error_set("%s", err);
		free(err);
		cJSON_Delete(root);
		return GM_ERROR;
	}
	if (!root) {
		char *s = gm_xstrndup(data, len > 80 ? 80 : len);
		one_line(s);
		gm_error_set("malformed event in answer stream: %s", s);
		free(s);
		return GM_EINVALID;
	}
	rc = acc_object(a, root, true);
	cJSON_Delete(root);
	return rc;
}

static char *trim_dup(const char *s, size_t n)
{
	while (n && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return gm_xstrndup(s, n);
}

static void append_reasoning(char **reasoning, const char *s, size_t n)
{
	char *r;
	if (*reasoning && **reasoning)
		r = gm_xasprintf("%s\n%.*s", *reasoning, (int)n, s);
	else
		r = gm_xstrndup(s, n);
	free(*reasoning);
	*reasoning = r;
}

void gm_openai_split_think(char **content, char **reasoning)
{
	char *c = *content, *open, *close, *t;

	if (!c)
		return;
	open = strstr(c, "<think>");
	close = strstr(c, "</think>");
	if (close && (!open || close < open)) {
		/* The opening tag was part of the prompt template. */
		t = trim_dup(c, (size_t)(close - c));
		append_reasoning(reasoning, t, strlen(t));
		free(t);
		t = gm_xstrdup(close + 8);
		free(c);
		c = t;
	}
	while ((open = strstr(c, "<think>"))) {
		const char *in = open + 7;
		struct gm_buf b = GM_BUF_INIT;
		close = strstr(in, "</think>");
		t = trim_dup(in, close ? (size_t)(close - in) : strlen(in));
		append_reasoning(reasoning, t, strlen(t));
		free(t);
		gm_buf_put(&b, c, (size_t)(open - c));
		if (close)
			gm_buf_puts(&b, close + 8);
		free(c);
		c = gm_buf_detach(&b, NULL);
	}
	*content = trim_dup(c, strlen(c));
	free(c);
}

/* ---- decoding an answer as it arrives ------------------------------------ */

struct answer {
	struct gm_http_answer base; /* first: the engine sees this */
	struct acc a;
	bool sse, structured;
	struct gm_sse events;       /* sse: the stream's framing */
	struct gm_buf json;         /* else: the one JSON object, whole */
};

static struct answer *answer_make(bool sse, bool structured)
{
	struct answer *p = gm_xcalloc(1, sizeof(*p));

	p->sse = sse;
	p->structured = structured;
	gm_buf_init(&p->a.content, ANSWER_MAX);
	gm_buf_init(&p->a.reasoning, ANSWER_MAX);
	gm_buf_init(&p->json, ANSWER_MAX);
	gm_sse_init(&p->events, ANSWER_MAX, on_event, &p->a);
	return p;
}

static struct gm_http_answer *answer_new(const struct gm_chat_request *req, bool sse)
{
	return &answer_make(sse, req->json_schema != NULL)->base;
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
	p->base.text = p->a.content.len + p->a.reasoning.len;
	return rc;
}

static int answer_end(struct gm_http_answer *base, struct gm_chat_result *res)
{
	struct answer *p = (struct answer *)base;
	struct acc *a = &p->a;
	char *content = NULL, *reasoning = NULL;
	cJSON *root = NULL;
	int rc = 0;

	if (p->sse) {
		if ((rc = gm_sse_finish(&p->events)))
			goto cleanup;
		if (!a->done && !a->finish) {
			gm_error_set("answer stream ended early (no finish_reason, no [DONE])");
			p->base.retry = true;
			rc = GM_EINVALID;
			goto cleanup;
		}
	} else {
		if (!(root = cJSON_ParseWithLength(p->json.ptr ? p->json.ptr : "", p->json.len))) {
			gm_error_set("malformed answer: not JSON");
			rc = GM_EINVALID;
			goto cleanup;
		}
		if ((rc = acc_object(a, root, false)) < 0)
			goto cleanup;
	}
	content = gm_buf_detach(&a->content, NULL);
	if (a->reasoning.len)
		reasoning = gm_buf_detach(&a->reasoning, NULL);
	gm_openai_split_think(&content, &reasoning);
	if (!*content && p->structured && reasoning && reasoning[0] == '{') {
		/* LM Studio bug #1698: the JSON lands in reasoning_content. */
		free(content);
		content = gm_xstrdup(reasoning);
	}
	if (!*content) {
		if (a->finish && !strcmp(a->finish, "length"))
			gm_error_set("empty answer: max_tokens reached%s",
			             reasoning ? " while reasoning" : "");
		else
			gm_error_set("empty answer (finish_reason %s)",
			             a->finish ? a->finish : "missing");
		rc = GM_EINVALID;
		goto cleanup;
	}
	res->content = content;
	res->reasoning = reasoning;
	res->finish_reason = a->finish ? a->finish : gm_xstrdup("stop");
	res->model = a->model;
	res->input_tokens = a->in;
	res->output_tokens = a->out;
	content = reasoning = a->finish = a->model = NULL;
cleanup:
	free(content);
	free(reasoning);
	cJSON_Delete(root);
	return rc;
}

static void answer_free(struct gm_http_answer *base)
{
	struct answer *p = (struct answer *)base;

	if (!p)
		return;
	gm_sse_release(&p->events);
	gm_buf_release(&p->json);
	gm_buf_release(&p->a.content);
	gm_buf_release(&p->a.reasoning);
	free(p->a.finish);
	free(p->a.model);
	free(p);
}

int gm_openai_parse(struct gm_chat_result *res, bool *retry, const char *body,
                    size_t len, bool sse, bool structured)
{
	struct answer *p = answer_make(sse, structured);
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
	if (t->api_key)
		gm_http_send_header(out, "Authorization: Bearer %s", t->api_key);
}

static int build(struct gm_http_send *out, const struct gm_http_target *t,
                 const struct gm_chat_request *req)
{
	int rc = gm_openai_request(&out->body, req, t->model, t->stream);

	if (rc < 0)
		return rc;
	out->url = gm_xasprintf("%s/chat/completions", t->url);
	gm_http_send_header(out, "Content-Type: application/json");
	gm_http_send_header(out, "Accept: %s", t->stream ? "text/event-stream" : "application/json");
	auth(out, t);
	return 0;
}

const struct gm_http_proto gm_openai_proto = {
	.name = "LM Studio",
	.url_in_name = true,
	.build = build,
	.auth = auth,
	.answer_new = answer_new,
	.answer_feed = answer_feed,
	.answer_end = answer_end,
	.answer_free = answer_free,
	.error_cause = gm_openai_error_cause,
};

/* ---- model lists ------------------------------------------------------------ */

static bool is_embedding(const char *id, const cJSON *v0)
{
	const cJSON *it;
	if (strstr(id, "embed"))
		return true;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(v0, "data")) {
		const cJSON *mid = cJSON_GetObjectItemCaseSensitive(it, "id");
		const cJSON *type = cJSON_GetObjectItemCaseSensitive(it, "type");
		if (cJSON_IsString(mid) && !strcmp(mid->valuestring, id) &&
		    cJSON_IsString(type) && !strcmp(type->valuestring, "embeddings"))
			return true;
	}
	return false;
}

int gm_openai_pick_model(char **out, const char *models, const char *v0_models)
{
	cJSON *root = cJSON_Parse(models), *v0 = v0_models ? cJSON_Parse(v0_models) : NULL;
	const cJSON *data, *it;
	int rc = GM_ENOTFOUND;

	*out = NULL;
	data = cJSON_GetObjectItemCaseSensitive(root, "data");
	if (!cJSON_IsArray(data)) {
		char *err = root ? error_text(root) : NULL;
		if (err) {
			one_line(err);
			gm_error_set("%s", err);
			free(err);
			rc = GM_ERROR;
		} else {
			gm_error_set("malformed model list: no \"data\" array");
			rc = GM_EINVALID;
		}
		goto cleanup;
	}
	cJSON_ArrayForEach(it, data) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
		if (cJSON_IsString(id) && id->valuestring[0] &&
		    !is_embedding(id->valuestring, v0)) {
			*out = gm_xstrdup(id->valuestring);
			rc = 0;
			goto cleanup;
		}
	}
	gm_error_set("no models loaded (load one in LM Studio or with 'lms load <model>')");
cleanup:
	cJSON_Delete(root);
	cJSON_Delete(v0);
	return rc;
}

static int64_t num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsNumber(v) && v->valuedouble > 0 ? (int64_t)v->valuedouble : 0;
}

int64_t gm_openai_context_length(const char *model, const char *v0_models,
                                 const char *v1_models)
{
	cJSON *root;
	const cJSON *it;
	int64_t n = 0;

	if (!model)
		return 0;
	if (v0_models && (root = cJSON_Parse(v0_models))) {
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(root, "data")) {
			const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
			if (cJSON_IsString(id) && !strcmp(id->valuestring, model)) {
				if (!(n = num(it, "loaded_context_length")))
					n = num(it, "max_context_length");
				break;
			}
		}
		cJSON_Delete(root);
	}
	if (n || !v1_models || !(root = cJSON_Parse(v1_models)))
		return n;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(root, "models")) {
		const cJSON *key = cJSON_GetObjectItemCaseSensitive(it, "key"), *inst;
		if (!cJSON_IsString(key) || strcmp(key->valuestring, model))
			continue;
		cJSON_ArrayForEach(inst, cJSON_GetObjectItemCaseSensitive(it, "loaded_instances")) {
			n = num(cJSON_GetObjectItemCaseSensitive(inst, "config"), "context_length");
			if (n)
				break;
		}
		if (!n)
			n = num(it, "max_context_length");
		break;
	}
	cJSON_Delete(root);
	return n;
}

int gm_openai_count_models(const char *models)
{
	cJSON *root = models ? cJSON_Parse(models) : NULL;
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
	int n = cJSON_IsArray(data) ? cJSON_GetArraySize(data) : -1;

	cJSON_Delete(root);
	return n;
}

char *gm_openai_answer_model(const char *body, size_t len)
{
	cJSON *root = body ? cJSON_ParseWithLength(body, len) : NULL;
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "model");
	char *s = cJSON_IsString(m) ? gm_xstrdup(m->valuestring) : NULL;

	cJSON_Delete(root);
	return s;
}
