/*
 * resume.c: run records for `refactor --resume` (resume.h), one JSON file
 * per run under <common git dir>/monitor/runs.
 */
#include "monitor/resume.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "monitor/error.h"
#include "monitor/util.h"
#include "monitor/banned.h"

#define RECORD_MAX (1024 * 1024)

static char *runs_dir(git_repository *repo)
{
	return gm_xasprintf("%smonitor/runs", git_repository_commondir(repo));
}

/* A run id names a file: letters, digits, '-' and '_' only. */
static bool run_id_ok(const char *run)
{
	if (!*run || strlen(run) > 128)
		return false;
	for (const char *p = run; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '-' || *p == '_'))
			return false;
	return true;
}

static char *record_path(git_repository *repo, const char *run)
{
	char *dir = runs_dir(repo), *p = gm_xasprintf("%s/%s.json", dir, run);
	free(dir);
	return p;
}

static void add_strv(cJSON *o, const char *key, char *const *v, size_t n)
{
	cJSON *a = cJSON_AddArrayToObject(o, key);
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
}

int gm_resume_save(git_repository *repo, const struct gm_run_record *rec)
{
	cJSON *o = cJSON_CreateObject();
	char oid[GIT_OID_HEXSZ + 1], *dir = runs_dir(repo), *path = NULL, *text = NULL;
	int rc;

	if (!run_id_ok(rec->run)) {
		gm_error_set("cannot record run '%s': not a run id", rec->run);
		rc = GM_EINVALID;
		goto cleanup;
	}
	cJSON_AddNumberToObject(o, "version", 1);
	cJSON_AddStringToObject(o, "run", rec->run);
	cJSON_AddStringToObject(o, "goal", rec->goal);
	cJSON_AddStringToObject(o, "base", git_oid_tostr(oid, sizeof(oid), &rec->base));
	if (rec->has_since)
		cJSON_AddStringToObject(o, "since", git_oid_tostr(oid, sizeof(oid), &rec->since));
	cJSON_AddStringToObject(o, "branch", rec->branch);
	add_strv(o, "functions", rec->functions, rec->nfunctions);
	add_strv(o, "pathspecs", rec->pathspecs, rec->npathspecs);
	if (rec->verify)
		cJSON_AddStringToObject(o, "verify", rec->verify);
	cJSON_AddNumberToObject(o, "jobs", rec->jobs);
	cJSON_AddBoolToObject(o, "local_only", rec->local_only);
	cJSON_AddBoolToObject(o, "plan_all", rec->plan_all);
	cJSON_AddBoolToObject(o, "no_cache", rec->no_cache);
	if (rec->has_max_cost)
		cJSON_AddNumberToObject(o, "max_cost", rec->max_cost);
	text = cJSON_Print(o);
	path = record_path(repo, rec->run);
	if ((rc = gm_mkdirs(dir)) == 0)
		rc = gm_write_file_atomic(path, text, strlen(text));
cleanup:
	cJSON_Delete(o);
	free(text);
	free(path);
	free(dir);
	return rc;
}

/* The runs that have a record, for the message when `run` has none. */
static char *recorded_runs(git_repository *repo)
{
	char *dir = runs_dir(repo);
	struct gm_buf b = GM_BUF_INIT;
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n > 5 && !strcmp(e->d_name + n - 5, ".json"))
			gm_buf_printf(&b, "%s%.*s", b.len ? ", " : "", (int)(n - 5), e->d_name);
	}
	if (d)
		closedir(d);
	free(dir);
	return gm_buf_detach(&b, NULL);
}

static bool get_strv(char ***out, size_t *n, const cJSON *o, const char *key)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key), *it;
	if (!cJSON_IsArray(a))
		return false;
	*out = gm_xcalloc((size_t)cJSON_GetArraySize(a) + 1, sizeof(char *));
	*n = 0;
	cJSON_ArrayForEach(it, a) {
		if (!cJSON_IsString(it))
			return false;
		(*out)[(*n)++] = gm_xstrdup(it->valuestring);
	}
	return true;
}

static char *get_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? gm_xstrdup(v->valuestring) : NULL;
}

static bool get_oid(git_oid *out, const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!cJSON_IsString(v) || strlen(v->valuestring) != GIT_OID_HEXSZ ||
	    git_oid_fromstr(out, v->valuestring) < 0) {
		git_error_clear();
		return false;
	}
	return true;
}

static bool get_bool(const cJSON *o, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}

int gm_resume_load(struct gm_run_record **out, git_repository *repo, const char *run)
{
	struct gm_run_record *rec;
	char *path, *text = NULL;
	const cJSON *v;
	cJSON *o;
	size_t len;
	bool ok;

	*out = NULL;
	if (!run_id_ok(run)) {
		gm_error_set("'%s' is not a run id (git monitor list shows them)", run);
		return GM_EUSAGE;
	}
	path = record_path(repo, run);
	if (access(path, F_OK) != 0) {
		char *runs = recorded_runs(repo);
		if (*runs)
			gm_error_set("no batched run '%s' to resume (these can be: %s)", run, runs);
		else
			gm_error_set("no batched run '%s' to resume: no run left a Message Batch behind", run);
		free(runs);
		free(path);
		return GM_ENOTFOUND;
	}
	if (gm_read_file(&text, &len, path, RECORD_MAX) < 0) {
		free(path);
		return GM_EFATAL;
	}
	o = cJSON_ParseWithLength(text, len);
	free(text);
	rec = gm_xcalloc(1, sizeof(*rec));
	rec->run = get_str(o, "run");
	rec->goal = get_str(o, "goal");
	rec->branch = get_str(o, "branch");
	rec->verify = get_str(o, "verify");
	ok = o && rec->run && !strcmp(rec->run, run) && rec->goal && rec->branch &&
	     get_oid(&rec->base, o, "base") &&
	     get_strv(&rec->functions, &rec->nfunctions, o, "functions") &&
	     get_strv(&rec->pathspecs, &rec->npathspecs, o, "pathspecs");
	if (ok && cJSON_GetObjectItemCaseSensitive(o, "since"))
		ok = rec->has_since = get_oid(&rec->since, o, "since");
	v = cJSON_GetObjectItemCaseSensitive(o, "jobs");
	rec->jobs = cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 256 ? (int)v->valuedouble : 0;
	rec->local_only = get_bool(o, "local_only");
	rec->plan_all = get_bool(o, "plan_all");
	rec->no_cache = get_bool(o, "no_cache");
	v = cJSON_GetObjectItemCaseSensitive(o, "max_cost");
	if (cJSON_IsNumber(v) && v->valuedouble >= 0) {
		rec->has_max_cost = true;
		rec->max_cost = v->valuedouble;
	}
	cJSON_Delete(o);
	if (!ok) {
		gm_error_set("the record of run '%s' (%s) is damaged; remove it to start afresh", run, path);
		gm_run_record_free(rec);
		free(path);
		return GM_EFATAL;
	}
	free(path);
	*out = rec;
	return 0;
}

void gm_resume_remove(git_repository *repo, const char *run)
{
	char *path;
	if (!run_id_ok(run))
		return;
	path = record_path(repo, run);
	unlink(path);
	free(path);
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void gm_run_record_free(struct gm_run_record *rec)
{
	if (!rec)
		return;
	free(rec->run);
	free(rec->goal);
	free(rec->branch);
	free(rec->verify);
	free(rec->base_hex);
	free(rec->since_hex);
	free_strv(rec->functions, rec->nfunctions);
	free_strv(rec->pathspecs, rec->npathspecs);
	free(rec);
}
