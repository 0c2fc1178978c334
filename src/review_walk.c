/*
 * review_walk.c: keep-or-drop decisions over a branch's functions, shared
 * by `review -i` and the review page (review.h).  The commit they lead to is
 * gm_review_drop_fns's, the same as `--drop`'s.
 */
#include "monitor/review.h"

#include <fnmatch.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/error.h"
#include "monitor/repo.h"
#include "monitor/util.h"
#include "monitor/banned.h"

/* "Class.method#2" -> "method", "ns::f" -> "f", "(*Server).Close" -> "Close". */
static char *short_name(const char *name)
{
	const char *s = name, *p;
	size_t len;
	for (p = name; *p && *p != '#'; p++)
		if (*p == '.' || (*p == ':' && p[1] == ':'))
			s = p + (*p == '.' ? 1 : 2);
	len = strcspn(s, "#");
	return gm_xstrndup(s, len);
}

static bool name_matches(const char *name, const char *const *globs, size_t nglobs)
{
	char *shrt;
	bool hit = false;
	if (!nglobs)
		return true;
	shrt = short_name(name);
	for (size_t i = 0; i < nglobs && !hit; i++)
		hit = fnmatch(globs[i], name, 0) == 0 || fnmatch(globs[i], shrt, 0) == 0;
	free(shrt);
	return hit;
}

int gm_review_walk_init(struct gm_review_walk *w, const struct gm_review *r,
                        const char *const *pathspecs, size_t npathspecs, const char *const *globs,
                        size_t nglobs)
{
	struct gm_pathspec *ps = NULL;
	int rc;

	memset(w, 0, sizeof(*w));
	if (npathspecs && (rc = gm_pathspec_new(&ps, pathspecs, npathspecs)) < 0)
		return rc;
	w->r = r;
	w->fns = gm_xcalloc(r->n + 1, sizeof(*w->fns));
	w->decision = gm_xcalloc(r->n + 1, sizeof(*w->decision));
	for (size_t i = 0; i < r->n; i++) {
		const struct gm_review_fn *fn = &r->fns[i];
		if (!fn->changed || !fn->in_tip || fn->helper_of >= 0 ||
		    (fn->status && strcmp(fn->status, "dropped") == 0))
			continue;
		if (ps && !gm_pathspec_matches(ps, fn->path))
			continue;
		if (!name_matches(fn->name, globs, nglobs))
			continue;
		w->fns[w->n++] = i;
	}
	gm_pathspec_free(ps);
	return 0;
}

void gm_review_walk_release(struct gm_review_walk *w)
{
	free(w->fns);
	free(w->decision);
	memset(w, 0, sizeof(*w));
}

const struct gm_review_fn *gm_review_walk_fn(const struct gm_review_walk *w, size_t i)
{
	return i < w->n ? &w->r->fns[w->fns[i]] : NULL;
}

void gm_review_walk_decide(struct gm_review_walk *w, enum gm_review_decision d, bool rest_of_file)
{
	const char *path;
	if (w->cur >= w->n)
		return;
	w->decision[w->cur] = d;
	if (!rest_of_file)
		return;
	path = gm_review_walk_fn(w, w->cur)->path;
	for (size_t i = w->cur + 1; i < w->n && !strcmp(gm_review_walk_fn(w, i)->path, path); i++)
		if (w->decision[i] == GM_REVIEW_UNDECIDED)
			w->decision[i] = d;
}

bool gm_review_walk_step(struct gm_review_walk *w, int dir, bool undecided_only, bool wrap)
{
	for (size_t k = 1; k < w->n; k++) {
		size_t i;
		if (dir > 0) {
			if (!wrap && w->cur + k >= w->n)
				return false;
			i = (w->cur + k) % w->n;
		} else {
			if (!wrap && k > w->cur)
				return false;
			i = (w->cur + w->n - k) % w->n;
		}
		if (undecided_only && w->decision[i] != GM_REVIEW_UNDECIDED)
			continue;
		w->cur = i;
		return true;
	}
	return false;
}

int gm_review_walk_search(struct gm_review_walk *w, const char *re)
{
	regex_t rx;
	int err = regcomp(&rx, re, REG_EXTENDED | REG_NOSUB);

	if (err) {
		char msg[128];
		regerror(err, &rx, msg, sizeof(msg));
		gm_error_set("bad regular expression '%s': %s", re, msg);
		return GM_EUSAGE;
	}
	for (size_t k = 1; k <= w->n; k++) {
		size_t i = (w->cur + k) % w->n;
		const struct gm_review_fn *fn = gm_review_walk_fn(w, i);
		char *full = gm_xasprintf("%s:%s", fn->path, fn->name);
		bool hit = regexec(&rx, fn->name, 0, NULL, 0) == 0 || regexec(&rx, full, 0, NULL, 0) == 0;
		free(full);
		if (hit) {
			w->cur = i;
			regfree(&rx);
			return 0;
		}
	}
	regfree(&rx);
	gm_error_set("no function matches '%s'", re);
	return GM_ENOTFOUND;
}

size_t gm_review_walk_count(const struct gm_review_walk *w, enum gm_review_decision d)
{
	size_t n = 0;
	for (size_t i = 0; i < w->n; i++)
		n += w->decision[i] == d;
	return n;
}

int gm_review_walk_drop_specs(struct gm_review_walk *w, const char *const *specs, size_t n)
{
	bool *drop = gm_xcalloc(w->r->n + 1, sizeof(bool));
	int rc = 0;

	for (size_t s = 0; s < n; s++) {
		size_t *m = NULL, k = gm_review_match(&m, w->r, specs[s]);
		bool any = false;
		for (size_t j = 0; j < k; j++)
			for (size_t i = 0; i < w->n; i++)
				if (w->fns[i] == m[j])
					any = drop[m[j]] = true;
		free(m);
		if (!any) {
			gm_error_set("'%s' names no function to drop on '%s'", specs[s], w->r->branch);
			rc = GM_ERROR;
			goto cleanup;
		}
	}
	for (size_t i = 0; i < w->n; i++)
		w->decision[i] = drop[w->fns[i]] ? GM_REVIEW_DROP : GM_REVIEW_KEEP;
cleanup:
	free(drop);
	return rc;
}

int gm_review_walk_apply(git_oid *out, bool *wrote, git_repository *repo,
                         const struct gm_review_walk *w)
{
	size_t *v = gm_xcalloc(w->n + 1, sizeof(*v)), n = 0;
	int rc = 0;

	*wrote = false;
	for (size_t i = 0; i < w->n; i++)
		if (w->decision[i] == GM_REVIEW_DROP)
			v[n++] = w->fns[i];
	if (n && (rc = gm_review_drop_fns(out, repo, w->r, v, n)) == 0)
		*wrote = true;
	free(v);
	return rc;
}
