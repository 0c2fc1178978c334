/*
 * cache.c: the content-addressed store under .git/monitor/cache and the
 * model answers kept in it (cache.h).
 */
#include "monitor/cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "monitor/error.h"
#include "monitor/util.h"
#include "monitor/banned.h"

#define ANSWER_MAX (16u * 1024 * 1024)

struct gm_cache {
	char *dir;
};

int gm_cache_open(struct gm_cache **out, git_repository *repo)
{
	struct gm_cache *c = gm_xcalloc(1, sizeof(*c));
	const char *common = git_repository_commondir(repo);
	size_t n = strlen(common);
	/* libgit2 ends directory paths with a slash; do not rely on it. */
	c->dir = gm_xasprintf("%s%smonitor/cache", common,
	                      n && common[n - 1] == '/' ? "" : "/");
	*out = c;
	return 0;
}

void gm_cache_free(struct gm_cache *c)
{
	if (!c)
		return;
	free(c->dir);
	free(c);
}

static char *entry_path(const struct gm_cache *c, const char *ns, const char *key)
{
	size_t n = strlen(key);
	if (n < 3)
		return gm_xasprintf("%s/%s/%s", c->dir, ns, key);
	return gm_xasprintf("%s/%s/%.2s/%s", c->dir, ns, key, key + 2);
}

/*
 * Read a regular file of at most `max` bytes.  O_NONBLOCK: opening a FIFO
 * for reading would otherwise wait for a writer forever; fstat then tells
 * what was opened (no race with a swap after an lstat).
 */
static int read_regular(char **out, size_t *len, const char *path, size_t max)
{
	struct gm_buf b;
	struct stat st;
	char chunk[65536];
	ssize_t n;
	int fd, rc = 0;

	*out = NULL;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return GM_ENOTFOUND;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
		close(fd);
		return GM_ENOTFOUND;
	}
	gm_buf_init(&b, max);
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || gm_buf_put(&b, chunk, (size_t)n) < 0) {
			rc = GM_ENOTFOUND;
			break;
		}
	}
	close(fd);
	if (rc == 0)
		*out = gm_buf_detach(&b, len);
	gm_buf_release(&b);
	return rc;
}

int gm_cache_get(char **out, size_t *len, struct gm_cache *c, const char *ns,
                 const char *key, size_t max)
{
	char *path = entry_path(c, ns, key);
	int rc = read_regular(out, len, path, max);
	free(path);
	return rc;
}

int gm_cache_put(struct gm_cache *c, const char *ns, const char *key,
                 const void *data, size_t len)
{
	char *path = entry_path(c, ns, key);
	char *slash = strrchr(path, '/');
	int rc;

	*slash = '\0';
	rc = gm_mkdirs(path);
	*slash = '/';
	if (rc == 0)
		rc = gm_write_file_atomic(path, data, len);
	free(path);
	return rc;
}

void gm_cache_digest(char out[41], const void *data, size_t len)
{
	git_oid oid;
	git_odb_hash(&oid, data, len, GIT_OBJECT_BLOB);
	git_oid_tostr(out, 41, &oid);
}

/* ---- model answers ---------------------------------------------------------- */

char *gm_cache_answer_key(const char *prompt_version, const char *route, const char *model,
                          const struct gm_chat_request *q, unsigned attempt)
{
	struct gm_buf k = GM_BUF_INIT;
	char hex[41];

	gm_buf_printf(&k, "%s\n%s\n%s\n%s\n%d\n%u\n", prompt_version, route, model ? model : "",
	              q->json_schema ? q->json_schema : "", q->max_tokens, attempt);
	gm_buf_printf(&k, "%zu\n%s\n%zu\n%s", strlen(q->system), q->system, strlen(q->user), q->user);
	gm_cache_digest(hex, k.ptr, k.len);
	gm_buf_release(&k);
	return gm_xstrdup(hex);
}

char *gm_cache_answer_key_for_model(const char *key, const char *model)
{
	struct gm_buf k = GM_BUF_INIT;
	char hex[41];

	gm_buf_printf(&k, "answered by another model\n%s\n%s", key, model);
	gm_cache_digest(hex, k.ptr, k.len);
	gm_buf_release(&k);
	return gm_xstrdup(hex);
}

bool gm_cache_answer_get(struct gm_cache_answer *out, struct gm_cache *c, const char *key)
{
	char *data = NULL;
	size_t len;
	cJSON *j;
	const cJSON *content, *finish, *model;

	memset(out, 0, sizeof(*out));
	if (!c || gm_cache_get(&data, &len, c, "model", key, ANSWER_MAX) < 0)
		return false;
	j = cJSON_ParseWithLength(data, len);
	free(data);
	content = cJSON_GetObjectItemCaseSensitive(j, "content");
	finish = cJSON_GetObjectItemCaseSensitive(j, "finish_reason");
	model = cJSON_GetObjectItemCaseSensitive(j, "model");
	if (!cJSON_IsString(content) || !cJSON_IsString(finish) || !cJSON_IsString(model)) {
		cJSON_Delete(j);
		return false; /* not trusted: ask again */
	}
	out->content = gm_xstrdup(content->valuestring);
	out->finish_reason = gm_xstrdup(finish->valuestring);
	out->model = gm_xstrdup(model->valuestring);
	cJSON_Delete(j);
	return true;
}

void gm_cache_answer_put(struct gm_cache *c, const char *key, const struct gm_chat_result *res)
{
	cJSON *j;
	char *text;

	if (!c || !res->content)
		return;
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "content", res->content);
	cJSON_AddStringToObject(j, "finish_reason", res->finish_reason ? res->finish_reason : "stop");
	cJSON_AddStringToObject(j, "model", res->model ? res->model : "");
	text = cJSON_PrintUnformatted(j);
	if (text && gm_cache_put(c, "model", key, text, strlen(text)) < 0)
		gm_error_clear();
	free(text);
	cJSON_Delete(j);
}

void gm_cache_answer_release(struct gm_cache_answer *a)
{
	if (!a)
		return;
	free(a->content);
	free(a->finish_reason);
	free(a->model);
	memset(a, 0, sizeof(*a));
}
