#include "monitor/cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "monitor/error.h"
#include "monitor/util.h"
#include "monitor/banned.h"

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

int gm_cache_get(char **out, size_t *len, struct gm_cache *c, const char *ns,
                 const char *key, size_t max)
{
	char *path = entry_path(c, ns, key);
	int rc = gm_read_file(out, len, path, max);
	free(path);
	if (rc < 0) {
		gm_error_clear();
		return GM_ENOTFOUND;
	}
	return 0;
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
