/*
 * merge.c: one file's accepted edits in one pass, dropping those that break
 * the parse, and the merge stage over many files (merge.h).
 */
#include "monitor/merge.h"

#include <stdlib.h>
#include <string.h>

#include <git2.h>

#include "monitor/error.h"
#include "monitor/report.h"
#include "monitor/scan.h"
#include "monitor/util.h"
#include "monitor/banned.h"

struct ctx {
	const struct gm_lang *lang;
	const char *src;
	size_t len;
	const struct gm_edit *const *edits;
	size_t n;
	size_t *order; /* edits by their first splice, ascending */
	const struct gm_edit_imports *im;
	TSParser *parser;
};

static uint32_t first_start(const struct gm_edit *e)
{
	return e->nsplices ? e->splices[0].start : 0;
}

static int cmp_edit(const void *a, const void *b, void *arg)
{
	const struct gm_edit *const *e = arg;
	uint32_t x = first_start(e[*(const size_t *)a]), y = first_start(e[*(const size_t *)b]);
	return x < y ? -1 : x > y;
}

/* ERROR/MISSING nodes of the file with `on` applied; text kept in `keep`. */
static int errors_with(unsigned *out, const struct ctx *c, const bool *on, char **keep,
                       size_t *keep_len)
{
	size_t len;
	char *text = NULL;
	TSTree *tree;
	int rc = gm_edit_apply(&text, &len, c->lang, c->src, c->len, c->im, c->edits, c->n, on);

	if (rc < 0)
		return rc;
	if (!(tree = gm_scan_parse(c->lang, text, len, c->parser))) {
		free(text);
		return GM_ERROR;
	}
	*out = gm_scan_count_errors(ts_tree_root_node(tree));
	ts_tree_delete(tree);
	if (keep) {
		*keep = text;
		*keep_len = len;
	} else {
		free(text);
	}
	return 0;
}

int gm_merge(struct gm_merge_result *out, const struct gm_lang *lang, const char *src,
             size_t len, unsigned errors, const struct gm_edit *const *edits, size_t n,
             TSParser *parser)
{
	struct ctx c = { lang, src, len, edits, n, NULL, NULL, parser };
	struct gm_edit_imports *im = NULL;
	bool *on = gm_xcalloc(n ? n : 1, sizeof(*on));
	TSTree *tree = NULL;
	unsigned got;
	int error = 0;

	memset(out, 0, sizeof(*out));
	c.order = gm_xcalloc(n ? n : 1, sizeof(*c.order));
	for (size_t i = 0; i < n; i++)
		c.order[i] = i;
	qsort_r(c.order, n, sizeof(*c.order), cmp_edit, (void *)edits);
	if (!(tree = gm_scan_parse(lang, src, len, parser))) {
		error = GM_ERROR;
		goto cleanup;
	}
	if ((error = gm_edit_imports_new(&im, lang, src, len, tree)) < 0)
		goto cleanup;
	c.im = im;

	out->n = n;
	out->applied = gm_xcalloc(n ? n : 1, sizeof(*out->applied));
	out->reason = gm_xcalloc(n ? n : 1, sizeof(*out->reason));
	for (size_t i = 0; i < n; i++)
		on[i] = true;
	/* Two edits bringing a helper of the same name: the later one goes. */
	for (size_t k = 0; k < n; k++) {
		const struct gm_edit *e = edits[c.order[k]];
		for (size_t j = 0; j < k && on[c.order[k]]; j++) {
			const struct gm_edit *o = edits[c.order[j]];
			if (!on[c.order[j]])
				continue;
			for (size_t a = 0; a < e->nhelpers && on[c.order[k]]; a++)
				for (size_t b = 0; b < o->nhelpers; b++)
					if (!strcmp(e->helpers[a], o->helpers[b])) {
						on[c.order[k]] = false;
						out->reason[c.order[k]] = gm_xasprintf(
							"its helper '%s' is also brought by '%s'", e->helpers[a], o->name);
						break;
					}
		}
	}
	if ((error = errors_with(&got, &c, on, &out->text, &out->len)) < 0)
		goto cleanup;
	if (got <= errors) {
		/* nothing to drop for the parse */
	} else {
		bool *alone = gm_xcalloc(n, sizeof(*alone));
		/* Each edit alone against the original. */
		for (size_t i = 0; i < n && error == 0; i++) {
			if (!on[i])
				continue;
			alone[i] = true;
			if ((error = errors_with(&got, &c, alone, NULL, NULL)) == 0 && got > errors) {
				on[i] = false;
				out->reason[i] = gm_xstrdup("the file does not parse with this edit");
			}
			alone[i] = false;
		}
		/* Survivors that break it only together: add them in file order. */
		if (error == 0 && (error = errors_with(&got, &c, on, NULL, NULL)) == 0 && got > errors) {
			for (size_t k = 0; k < n && error == 0; k++) {
				size_t i = c.order[k];
				if (!on[i])
					continue;
				alone[i] = true;
				if ((error = errors_with(&got, &c, alone, NULL, NULL)) == 0 && got > errors) {
					alone[i] = false;
					on[i] = false;
					out->reason[i] = gm_xstrdup(
						"the file does not parse with this edit and the others");
				}
			}
		}
		free(alone);
		if (error < 0)
			goto cleanup;
		free(out->text);
		out->text = NULL;
		if ((error = gm_edit_apply(&out->text, &out->len, lang, src, len, im, edits, n, on)) < 0)
			goto cleanup;
	}
	for (size_t i = 0; i < n; i++) {
		out->applied[i] = on[i];
		if (!on[i])
			out->ndropped++;
	}

cleanup:
	if (error < 0)
		gm_merge_result_release(out);
	if (tree)
		ts_tree_delete(tree);
	gm_edit_imports_free(im);
	free(c.order);
	free(on);
	return error;
}

void gm_merge_result_release(struct gm_merge_result *r)
{
	if (!r)
		return;
	free(r->text);
	if (r->reason)
		for (size_t i = 0; i < r->n; i++)
			free(r->reason[i]);
	free(r->reason);
	free(r->applied);
	memset(r, 0, sizeof(*r));
}

int gm_merge_files(struct gm_merged *out, char **dropped, const struct gm_merge_file *files,
                   size_t nfiles, const bool *on, TSParser *parser)
{
	size_t cap = 0, first = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	for (size_t f = 0; f < nfiles && rc == 0; first += files[f++].nedits) {
		const struct gm_merge_file *mf = &files[f];
		const struct gm_edit **ev = gm_xcalloc(mf->nedits + 1, sizeof(*ev));
		size_t *which = gm_xcalloc(mf->nedits + 1, sizeof(size_t)), m = 0;
		struct gm_merge_result mr = { 0 };

		for (size_t k = 0; k < mf->nedits; k++)
			if (!on || on[first + k]) {
				ev[m] = mf->edits[k];
				which[m++] = first + k;
			}
		if (m && (rc = gm_merge(&mr, mf->lang, mf->src, mf->len, mf->errors, ev, m, parser)) == 0) {
			for (size_t k = 0; dropped && k < m; k++)
				if (!mr.applied[k])
					dropped[which[k]] = gm_xstrdup(mr.reason[k] ? mr.reason[k] : "dropped at merge");
			if (mr.n - mr.ndropped > 0) {
				GM_GROW(out->changes, cap, out->nchanges + 1);
				out->changes[out->nchanges].path = mf->path;
				out->changes[out->nchanges].data = mr.text;
				out->changes[out->nchanges].len = mr.len;
				out->nchanges++;
				mr.text = NULL;
			}
		}
		gm_merge_result_release(&mr);
		free(ev);
		free(which);
	}
	if (rc < 0)
		gm_merged_release(out);
	return rc;
}

void gm_merged_release(struct gm_merged *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nchanges; i++)
		free((char *)m->changes[i].data);
	free(m->changes);
	memset(m, 0, sizeof(*m));
}

static int count_line(const git_diff_delta *d, const git_diff_hunk *h, const git_diff_line *l,
                      void *payload)
{
	int *counts = payload;
	(void)d;
	(void)h;
	if (l->origin == GIT_DIFF_LINE_ADDITION)
		counts[0]++;
	else if (l->origin == GIT_DIFF_LINE_DELETION)
		counts[1]++;
	return 0;
}

void gm_merge_count_lines(int *added, int *removed, const char *src, const struct gm_edit *e)
{
	int counts[2] = { 0, 0 };
	git_diff_options o;

	git_diff_options_init(&o, GIT_DIFF_OPTIONS_VERSION);
	o.context_lines = 0;
	/* The function and the helpers beside it, and helpers before its class. */
	for (size_t i = 0; i < e->nsplices; i++) {
		const struct gm_splice *sp = &e->splices[i];
		if (git_diff_buffers(src + sp->start, sp->end - sp->start, NULL, sp->text, sp->len, NULL,
		                     &o, NULL, NULL, NULL, count_line, counts) < 0)
			git_error_clear();
	}
	counts[0] += (int)e->nimports;
	*added = counts[0];
	*removed = counts[1];
}

char *gm_merge_commit_message(struct gm_run_report *rep, const struct gm_merge_file *files,
                              const struct gm_edit *const *edits, const size_t *edit_row,
                              size_t nedits, const char *goal)
{
	struct gm_commit_fn *fns = gm_xcalloc(nedits + 1, sizeof(*fns));
	struct gm_commit_msg m = { 0 };
	size_t nfns = 0;
	char *msg;
	size_t f = 0, first = 0; /* the file of edit i, and that file's first edit */

	for (size_t i = 0; i < nedits; i++) {
		struct gm_run_task *rt = &rep->tasks[edit_row[i]];
		if (i == first + files[f].nedits)
			first += files[f++].nedits;
		if (rt->status != GM_TASK_APPLIED)
			continue;
		gm_merge_count_lines(&rt->added, &rt->removed, files[f].src, edits[i]);
		fns[nfns].path = rt->path;
		fns[nfns].name = rt->name;
		fns[nfns].route = rt->route;
		fns[nfns].model = rt->model ? rt->model : "unknown";
		fns[nfns].attempts = rt->attempts;
		fns[nfns].helpers = (const char *const *)rt->helpers;
		fns[nfns].nhelpers = rt->nhelpers;
		nfns++;
	}
	m.goal = goal;
	m.fns = fns;
	m.nfns = nfns;
	m.run_id = rep->run_id;
	m.cost_usd = rep->cost_usd;
	msg = gm_commit_message(&m);
	free(fns);
	return msg;
}
