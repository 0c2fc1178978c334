/*
 * merge.c: one file's accepted edits in one pass, dropping those that break
 * the parse, and the merge stage over many files (merge.h).
 */
#include "monitor/merge.h"

#include <stdlib.h>
#include <string.h>

#include "monitor/error.h"
#include "monitor/scan.h"
#include "monitor/util.h"
#include "monitor/banned.h"

struct ctx {
	const struct gm_lang *lang;
	const char *src;
	size_t len;
	const struct gm_edit *edits;
	size_t *order; /* edits by start, ascending */
	size_t n;
	TSParser *parser;
};

static int cmp_edit(const void *a, const void *b, void *arg)
{
	const struct gm_edit *e = arg;
	uint32_t x = e[*(const size_t *)a].start, y = e[*(const size_t *)b].start;
	return x < y ? -1 : x > y;
}

/* The file with the edits in `on` applied (one pass over the original). */
static char *apply(const struct ctx *c, const bool *on, size_t *out_len)
{
	struct gm_buf b = GM_BUF_INIT;
	size_t pos = 0;

	for (size_t k = 0; k < c->n; k++) {
		const struct gm_edit *e = &c->edits[c->order[k]];
		if (!on[c->order[k]])
			continue;
		gm_buf_put(&b, c->src + pos, e->start - pos);
		gm_buf_put(&b, e->text, e->len);
		pos = e->end;
	}
	gm_buf_put(&b, c->src + pos, c->len - pos);
	return gm_buf_detach(&b, out_len);
}

/* ERROR/MISSING nodes of the file with `on` applied; text kept in `keep`. */
static int errors_with(unsigned *out, const struct ctx *c, const bool *on, char **keep,
                       size_t *keep_len)
{
	size_t len;
	char *text = apply(c, on, &len);
	TSTree *tree = gm_scan_parse(c->lang, text, len, c->parser);

	if (!tree) {
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
             size_t len, unsigned errors, const struct gm_edit *edits, size_t n,
             TSParser *parser)
{
	struct ctx c = { lang, src, len, edits, NULL, n, parser };
	bool *on = gm_xcalloc(n ? n : 1, sizeof(*on));
	unsigned got;
	int error = 0;

	memset(out, 0, sizeof(*out));
	c.order = gm_xcalloc(n ? n : 1, sizeof(*c.order));
	for (size_t i = 0; i < n; i++) {
		c.order[i] = i;
		if (edits[i].start > edits[i].end || edits[i].end > len) {
			gm_error_set("edit of '%s' lies outside the file", edits[i].name);
			error = GM_EINVALID;
			goto cleanup;
		}
	}
	qsort_r(c.order, n, sizeof(*c.order), cmp_edit, (void *)edits);
	for (size_t k = 1; k < n; k++) {
		const struct gm_edit *a = &edits[c.order[k - 1]], *b = &edits[c.order[k]];
		if (a->end > b->start) {
			gm_error_set("edits of '%s' and '%s' overlap", a->name, b->name);
			error = GM_EINVALID;
			goto cleanup;
		}
	}

	out->n = n;
	out->applied = gm_xcalloc(n ? n : 1, sizeof(*out->applied));
	out->reason = gm_xcalloc(n ? n : 1, sizeof(*out->reason));
	for (size_t i = 0; i < n; i++)
		on[i] = true;
	if ((error = errors_with(&got, &c, on, &out->text, &out->len)) < 0)
		goto cleanup;
	if (got > errors) {
		bool *alone = gm_xcalloc(n, sizeof(*alone));
		/* Each edit alone against the original. */
		for (size_t i = 0; i < n && error == 0; i++) {
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
		out->text = apply(&c, on, &out->len);
	}
	for (size_t i = 0; i < n; i++) {
		out->applied[i] = on[i];
		if (!on[i])
			out->ndropped++;
	}

cleanup:
	if (error < 0)
		gm_merge_result_release(out);
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
		struct gm_edit *ev = gm_xcalloc(mf->nedits + 1, sizeof(*ev));
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
	if (git_diff_buffers(src + e->start, e->end - e->start, NULL, e->text, e->len, NULL, &o, NULL,
	                     NULL, NULL, count_line, counts) < 0)
		git_error_clear();
	*added = counts[0];
	*removed = counts[1];
}
