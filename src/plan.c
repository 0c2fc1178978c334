#include "monitor/plan.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/error.h"
#include "monitor/price.h"
#include "monitor/util.h"
#include "monitor/banned.h"

const char *gm_analysis_route_name(enum gm_analysis_route r)
{
	switch (r) {
	case GM_ANALYSIS_CLAUDE:
		return "claude-analysis";
	case GM_ANALYSIS_LOCAL:
		return "local-analysis";
	case GM_ANALYSIS_NONE:
		break;
	}
	return "no-analysis";
}

int gm_plan_route_units(struct gm_route *out, const struct gm_index *idx, const size_t *units,
                        size_t n, const struct gm_route_opts *opts)
{
	unsigned max_cc = 0;
	const char *local_path = NULL;
	char *why;

	memset(out, 0, sizeof(*out));
	if (n == 0) {
		gm_error_set("no units to route");
		return GM_EINVALID;
	}
	for (size_t i = 0; i < n; i++) {
		const struct gm_file *f = &idx->files[idx->units[units[i]].file];
		if (gm_index_unit(idx, units[i])->complexity > max_cc)
			max_cc = gm_index_unit(idx, units[i])->complexity;
		if (f->local_only && !local_path)
			local_path = f->path;
	}

	if (opts->plan_all)
		why = gm_xstrdup("--plan");
	else if (max_cc >= idx->threshold)
		why = gm_xasprintf("complexity %u >= %u", max_cc, idx->threshold);
	else {
		out->route = GM_ANALYSIS_NONE;
		out->reason = gm_xasprintf("complexity %u < %u", max_cc, idx->threshold);
		return 0;
	}

	out->route = GM_ANALYSIS_LOCAL;
	if (opts->local_only)
		out->reason = gm_xasprintf("%s; --local-only: analysis by the local model", why);
	else if (local_path)
		out->reason = gm_xasprintf("%s; monitor-local-only path '%s': analysis by the local model",
		                           why, local_path);
	else if (!opts->have_claude_key)
		out->reason = gm_xasprintf("%s; no Claude key: analysis by the local model", why);
	else if (opts->max_cost_spent)
		out->reason = gm_xasprintf("%s; --max-cost spent: analysis by the local model", why);
	else {
		out->route = GM_ANALYSIS_CLAUDE;
		out->reason = why;
		why = NULL;
	}
	free(why);
	return 0;
}

void gm_route_release(struct gm_route *r)
{
	if (!r)
		return;
	free(r->reason);
	r->reason = NULL;
}

void gm_plan_group(struct gm_plan_groups *out, const struct gm_index *idx, const size_t *targets,
                   size_t n)
{
	size_t *fill = gm_xcalloc(idx->nclusters + 1, sizeof(size_t));

	out->nclusters = idx->nclusters;
	out->units = gm_xcalloc(n + 1, sizeof(size_t));
	out->start = gm_xcalloc(idx->nclusters + 2, sizeof(size_t));
	/* A counting sort: stable, linear. */
	for (size_t i = 0; i < n; i++)
		if (idx->units[targets[i]].cluster >= 0)
			out->start[idx->units[targets[i]].cluster + 1]++;
	for (size_t k = 0; k < idx->nclusters; k++)
		out->start[k + 1] += out->start[k];
	for (size_t i = 0; i < n; i++) {
		long k = idx->units[targets[i]].cluster;
		if (k >= 0)
			out->units[out->start[k] + fill[k]++] = targets[i];
	}
	free(fill);
}

void gm_plan_groups_release(struct gm_plan_groups *g)
{
	if (!g)
		return;
	free(g->units);
	free(g->start);
	memset(g, 0, sizeof(*g));
}

bool gm_plan_match_function(const struct gm_unit *u, const char *const *globs, size_t n)
{
	if (!n)
		return true;
	for (size_t i = 0; i < n; i++)
		if (fnmatch(globs[i], u->name, 0) == 0 || fnmatch(globs[i], u->short_name, 0) == 0)
			return true;
	return false;
}

bool gm_plan_unit_touched(const struct gm_unit *u, const struct gm_lang *lang,
                          const struct gm_line_range *ranges, size_t n)
{
	bool open_end = lang && lang->indent_blocks;

	for (size_t i = 0; i < n; i++) {
		const struct gm_line_range *r = &ranges[i];
		if (r->end < r->start) {
			uint32_t after = r->start - 1; /* removed after this line */
			if (after >= u->start_line && (after < u->end_line || (open_end && after == u->end_line)))
				return true;
		} else if (r->start <= u->end_line && r->end >= u->start_line) {
			return true;
		}
	}
	return false;
}

/*
 * Is unit `u` of `fl`'s new text also a unit of its old text, byte for
 * byte?  `old` is the old text's scan, made on first need (`*scanned`).
 */
static bool unit_was_there(const struct gm_unit *u, const struct gm_file_lines *fl,
                           const struct gm_lang *lang, struct gm_file_scan *old, bool *scanned)
{
	size_t len = u->end_byte - u->start_byte;

	if (!fl->old_text || !fl->new_text || !lang || u->end_byte > fl->new_len)
		return false;
	if (!*scanned) {
		*scanned = true;
		if (gm_scan_source(old, lang, fl->old_text, fl->old_len, NULL) < 0)
			gm_error_clear(); /* no scan: nothing is taken as unchanged */
	}
	for (size_t k = 0; k < old->n; k++) {
		const struct gm_unit *o = &old->units[k];
		if (o->end_byte - o->start_byte == len && o->end_byte <= fl->old_len &&
		    memcmp(fl->old_text + o->start_byte, fl->new_text + u->start_byte, len) == 0)
			return true;
	}
	return false;
}

size_t gm_plan_select_touched(size_t **out, const struct gm_index *idx,
                              const struct gm_changed_lines *changes)
{
	size_t *ids = NULL, nids = 0, cap = 0;

	for (size_t f = 0; f < idx->nfiles && changes->n; f++) {
		const struct gm_file *file = &idx->files[f];
		const struct gm_file_lines *fl = gm_changed_lines_find(changes, file->path);
		struct gm_file_scan old = { 0 };
		bool scanned = false;
		if (!fl)
			continue;
		for (size_t u = 0; u < file->scan.n; u++) {
			const struct gm_unit *unit = &file->scan.units[u];
			if (!gm_plan_unit_touched(unit, file->lang, fl->ranges, fl->n) ||
			    unit_was_there(unit, fl, file->lang, &old, &scanned))
				continue;
			GM_GROW(ids, cap, nids + 1);
			ids[nids++] = file->first_unit + u;
		}
		gm_file_scan_release(&old);
	}
	*out = ids;
	return nids;
}

void gm_plan_estimate(struct gm_token_estimate *out, enum gm_estimate_kind kind,
                      size_t prompt_bytes, size_t code_bytes)
{
	size_t answer_bytes = kind == GM_ESTIMATE_ANALYSIS ? code_bytes / 2 : code_bytes;
	out->prompt = (prompt_bytes + 3) / 4;
	/* answer_bytes / 4 * 1.2, rounded up */
	out->output = (answer_bytes * 12 + 39) / 40;
	out->total = out->prompt + out->output;
}

double gm_plan_worst_cost(size_t prompt_bytes, size_t max_tokens, const char *model)
{
	const struct gm_price *p = gm_price_lookup(model);
	double in;

	if (!p)
		return -1.0;
	/* A cached prefix is written at the cache-write price: the dearer one bounds it. */
	in = p->cache_write > p->input ? p->cache_write : p->input;
	return ((double)(prompt_bytes + GM_PLAN_REQUEST_OVERHEAD_TOKENS) * in +
	        (double)max_tokens * p->output) / 1e6;
}

bool gm_plan_fits_context(const struct gm_token_estimate *e, size_t context_len)
{
	return context_len == 0 || e->total <= context_len;
}
