/*
 * review.c: a generated branch function by function (review.h); dropping
 * functions is review_drop.c's.
 */
#include "monitor/review.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>

#include "monitor/commit.h"
#include "monitor/error.h"
#include "monitor/lang.h"
#include "monitor/notes.h"
#include "monitor/report.h"
#include "monitor/repo.h"
#include "monitor/scan.h"
#include "monitor/util.h"
#include "monitor/banned.h"

/* How far back from the tip we look for the monitor commit. */
#define MAX_WALK 10000
#define MAX_BLOB (64u * 1024 * 1024)

struct review_int {
	struct gm_review pub;
	size_t cap;
	struct gm_run_report *record; /* the note, read (report.h); NULL without one */
};

static char *oid_hex(char buf[GIT_OID_HEXSZ + 1], const git_oid *id)
{
	return git_oid_tostr(buf, GIT_OID_HEXSZ + 1, id);
}

/* ---- reading ------------------------------------------------------------ */

/* A file version and its units; `text` NULL when the file is absent. */
struct version {
	char *text;
	size_t len;
	struct gm_file_scan scan;
	char **keys;
};

static void version_release(struct version *v)
{
	if (v->keys)
		for (size_t i = 0; i < v->scan.n; i++)
			free(v->keys[i]);
	free(v->keys);
	gm_file_scan_release(&v->scan);
	free(v->text);
	memset(v, 0, sizeof(*v));
}

static int version_load(struct version *v, git_repository *repo, const git_oid *commit,
                        const char *path, const struct gm_lang *lang, TSParser *parser)
{
	int rc;

	memset(v, 0, sizeof(*v));
	if ((rc = gm_repo_read_path(&v->text, &v->len, repo, commit, path, MAX_BLOB)) < 0 || !v->text)
		return rc;
	if ((rc = gm_scan_source(&v->scan, lang, v->text, v->len, parser)) < 0)
		return rc;
	v->keys = gm_xcalloc(v->scan.n + 1, sizeof(*v->keys));
	for (size_t i = 0; i < v->scan.n; i++)
		v->keys[i] = gm_unit_key(&v->scan.units[i]);
	return 0;
}

static long version_find(const struct version *v, const char *key)
{
	for (size_t i = 0; v->text && i < v->scan.n; i++)
		if (strcmp(v->keys[i], key) == 0)
			return (long)i;
	return -1;
}

/* A unit's text as whole lines: from the start of its first line (its leading comments') to its end. */
static void unit_span(uint32_t *start, uint32_t *end, const struct version *v, long i)
{
	const struct gm_unit *u = &v->scan.units[i];
	uint32_t s = u->lead_byte;
	while (s > 0 && v->text[s - 1] != '\n')
		s--;
	*start = s;
	*end = u->end_byte;
}

static bool same_text(const struct version *a, long ia, const struct version *b, long ib)
{
	uint32_t as, ae, bs, be;
	if (ia < 0 || ib < 0)
		return ia < 0 && ib < 0;
	unit_span(&as, &ae, a, ia);
	unit_span(&bs, &be, b, ib);
	return ae - as == be - bs && memcmp(a->text + as, b->text + bs, ae - as) == 0;
}

static struct gm_review_fn *add_fn(struct review_int *ri, const char *path, const char *key)
{
	struct gm_review_fn *fn;
	GM_GROW(ri->pub.fns, ri->cap, ri->pub.n + 1);
	fn = &ri->pub.fns[ri->pub.n++];
	memset(fn, 0, sizeof(*fn));
	fn->helper_of = -1;
	fn->path = gm_xstrdup(path);
	fn->name = gm_xstrdup(key);
	return fn;
}

static int count_line(const git_diff_delta *d, const git_diff_hunk *h, const git_diff_line *l,
                      void *payload)
{
	struct gm_review_fn *fn = payload;
	(void)d;
	(void)h;
	if (l->origin == GIT_DIFF_LINE_ADDITION)
		fn->added++;
	else if (l->origin == GIT_DIFF_LINE_DELETION)
		fn->removed++;
	return 0;
}

/* Function texts end without a newline; diff them with one so no "\ No newline" appears. */
static char *with_newline(const char *text, size_t len, size_t *out_len)
{
	char *s;
	if (!text) {
		*out_len = 0;
		return NULL;
	}
	s = gm_xmalloc(len + 2);
	memcpy(s, text, len);
	s[len] = '\n';
	s[len + 1] = '\0';
	*out_len = len + 1;
	return s;
}

static int diff_fn(const struct gm_review_fn *fn, const git_diff_options *opts,
                   git_diff_hunk_cb hunk_cb, git_diff_line_cb line_cb, void *payload)
{
	size_t ol, nl;
	char *o = with_newline(fn->base_text, fn->base_len, &ol);
	char *n = with_newline(fn->tip_text, fn->tip_len, &nl);
	int err = git_diff_buffers(o, ol, fn->path, n, nl, fn->path, opts, NULL, NULL, hunk_cb,
	                           line_cb, payload);
	free(o);
	free(n);
	return err;
}

/* Compare the base and tip versions of one file; add the functions that differ. */
static int map_file(struct review_int *ri, git_repository *repo, const char *path, TSParser *parser)
{
	struct gm_review *r = &ri->pub;
	const struct gm_lang *lang = NULL;
	struct version base, tip, mon;
	bool have_mon = !git_oid_equal(&r->monitor_commit, &r->tip);
	int rc;

	memset(&base, 0, sizeof(base));
	memset(&tip, 0, sizeof(tip));
	memset(&mon, 0, sizeof(mon));
	if ((rc = gm_lang_rule_get(&lang, r->langs, path)) < 0)
		return rc;
	if (!lang)
		return 0;
	if ((rc = version_load(&base, repo, &r->base, path, lang, parser)) < 0 ||
	    (rc = version_load(&tip, repo, &r->tip, path, lang, parser)) < 0 ||
	    (have_mon && (rc = version_load(&mon, repo, &r->monitor_commit, path, lang, parser)) < 0))
		goto cleanup;

	/* Units of the tip in order, then those only the base has. */
	for (int side = 0; side < 2; side++) {
		const struct version *v = side == 0 ? &tip : &base;
		for (size_t i = 0; v->text && i < v->scan.n; i++) {
			const char *key = v->keys[i];
			long ib = version_find(&base, key), it = version_find(&tip, key);
			struct gm_review_fn *fn;

			if (side == 1 && it >= 0)
				continue;
			if (same_text(&base, ib, &tip, it))
				continue;
			fn = add_fn(ri, path, key);
			fn->changed = true;
			fn->in_base = ib >= 0;
			fn->in_tip = it >= 0;
			if (ib >= 0) {
				unit_span(&fn->base_start, &fn->base_end, &base, ib);
				fn->base_text = gm_xstrndup(base.text + fn->base_start, fn->base_end - fn->base_start);
				fn->base_len = fn->base_end - fn->base_start;
				fn->base_start_line = base.scan.units[ib].start_line;
				fn->base_end_line = base.scan.units[ib].end_line;
			}
			if (it >= 0) {
				unit_span(&fn->tip_start, &fn->tip_end, &tip, it);
				fn->tip_text = gm_xstrndup(tip.text + fn->tip_start, fn->tip_end - fn->tip_start);
				fn->tip_len = fn->tip_end - fn->tip_start;
				fn->tip_start_line = tip.scan.units[it].start_line;
				fn->tip_end_line = tip.scan.units[it].end_line;
			}
			if (have_mon)
				fn->changed_after = !same_text(&mon, version_find(&mon, key), &tip, it);
			{
				git_diff_options o;
				git_diff_options_init(&o, GIT_DIFF_OPTIONS_VERSION);
				o.context_lines = 0;
				if (diff_fn(fn, &o, NULL, count_line, fn) < 0) {
					rc = gm_error_git(GM_ERROR, "cannot diff '%s' in '%s'", key, path);
					goto cleanup;
				}
			}
		}
	}
cleanup:
	version_release(&base);
	version_release(&tip);
	version_release(&mon);
	return rc;
}

/* ---- finding the monitor commit ------------------------------------------ */

static bool has_run_trailer(const git_commit *c)
{
	const char *msg = git_commit_message(c);
	return msg && (strncmp(msg, "Monitor-Run: ", 13) == 0 || strstr(msg, "\nMonitor-Run: "));
}

/* `anc` is `desc` or one of its ancestors. */
static bool reaches(git_repository *repo, const git_oid *desc, const git_oid *anc)
{
	if (git_oid_equal(desc, anc))
		return true;
	if (git_graph_descendant_of(repo, desc, anc) == 1)
		return true;
	git_error_clear();
	return false;
}

static int find_monitor_commit(struct review_int *ri, git_repository *repo)
{
	struct gm_review *r = &ri->pub;
	git_commit *c = NULL, *parent = NULL;
	char hex[GIT_OID_HEXSZ + 1];
	int rc = 0;
	size_t steps = 0;

	if (git_commit_lookup(&c, repo, &r->tip) < 0)
		return gm_error_git(GM_EFATAL, "cannot read commit %s", oid_hex(hex, &r->tip));
	for (;;) {
		char *note = NULL;
		int nrc = gm_notes_read(&note, repo, git_commit_id(c));
		if (nrc < 0 && nrc != GM_ENOTFOUND) {
			rc = nrc;
			goto cleanup;
		}
		gm_error_clear();
		if (note) {
			r->note = note;
			r->has_note = true;
			git_oid_cpy(&r->note_commit, git_commit_id(c));
			break;
		}
		if (has_run_trailer(c))
			break;
		if (++steps > MAX_WALK || git_commit_parentcount(c) == 0) {
			gm_error_set("'%s' has no git-monitor commit (no note under %s, no Monitor-Run trailer)",
			             r->branch, GM_NOTES_REF);
			rc = GM_ERROR;
			goto cleanup;
		}
		if (git_commit_parent(&parent, c, 0) < 0) {
			rc = gm_error_git(GM_EFATAL, "cannot read the parent of %s",
			                  oid_hex(hex, git_commit_id(c)));
			goto cleanup;
		}
		git_commit_free(c);
		c = parent;
		parent = NULL;
	}
	git_oid_cpy(&r->monitor_commit, git_commit_id(c));
	if (git_commit_parentcount(c) > 0)
		git_oid_cpy(&r->base, git_commit_parent_id(c, 0));
	else
		memset(&r->base, 0, sizeof(r->base));

	if (r->note && gm_run_report_parse(&ri->record, r->note) < 0)
		gm_error_clear(); /* an unreadable note adds nothing; the diff still counts */
	if (ri->record) {
		/* The note names the run's commit and base (a drop commit carries a copy). */
		const struct gm_run_report *rec = ri->record;
		r->run_id = gm_xstrdup(rec->run_id);
		if (rec->has_commit && reaches(repo, &r->monitor_commit, &rec->commit))
			git_oid_cpy(&r->monitor_commit, &rec->commit);
		if (!git_oid_is_zero(&rec->base) && reaches(repo, &r->monitor_commit, &rec->base) &&
		    !git_oid_equal(&rec->base, &r->monitor_commit)) {
			git_oid_cpy(&r->base, &rec->base);
		} else if (!git_oid_equal(&r->monitor_commit, git_commit_id(c))) {
			git_commit *m = NULL;
			if (git_commit_lookup(&m, repo, &r->monitor_commit) == 0 &&
			    git_commit_parentcount(m) > 0)
				git_oid_cpy(&r->base, git_commit_parent_id(m, 0));
			git_commit_free(m);
		}
	} else if (!r->note) {
		const char *msg = git_commit_message(c);
		const char *t = strncmp(msg, "Monitor-Run: ", 13) == 0 ? msg : strstr(msg, "\nMonitor-Run: ");
		if (t) {
			t += (*t == '\n') + 13;
			r->run_id = gm_xstrndup(t, strcspn(t, "\r\n"));
		}
	}
	if (git_oid_is_zero(&r->base)) {
		gm_error_set("the git-monitor commit %s of '%s' has no parent",
		             oid_hex(hex, &r->monitor_commit), r->branch);
		rc = GM_ERROR;
		goto cleanup;
	}
	{
		size_t ahead = 0, behind = 0;
		if (git_graph_ahead_behind(&ahead, &behind, repo, &r->tip, &r->monitor_commit) == 0)
			r->ncommits_after = ahead;
		else
			git_error_clear();
	}
cleanup:
	git_commit_free(parent);
	git_commit_free(c);
	return rc;
}

/* ---- the note, or the commit message ------------------------------------ */

static void set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = s ? gm_xstrdup(s) : NULL;
}

static int cmp_fn(const void *a, const void *b)
{
	const struct gm_review_fn *x = a, *y = b;
	int c = strcmp(x->path, y->path);
	uint32_t lx = x->in_tip ? x->tip_start_line : x->base_start_line;
	uint32_t ly = y->in_tip ? y->tip_start_line : y->base_start_line;
	if (c)
		return c;
	return lx < ly ? -1 : lx > ly;
}

static char **copy_strv(char *const *v, size_t n)
{
	char **c;
	if (!n)
		return NULL;
	c = gm_xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		c[i] = gm_xstrdup(v[i]);
	return c;
}

static void apply_note(struct review_int *ri)
{
	struct gm_review *r = &ri->pub;

	for (size_t k = 0; k < ri->record->ntasks; k++) {
		const struct gm_run_task *t = &ri->record->tasks[k];
		struct gm_review_fn *fn = NULL;

		if (t->kind && strcmp(t->kind, "rewrite") != 0)
			continue;
		for (size_t i = 0; i < r->n && !fn; i++)
			if (strcmp(r->fns[i].path, t->path) == 0 && strcmp(r->fns[i].name, t->name) == 0)
				fn = &r->fns[i];
		if (!fn) {
			/* A function the run wrote that the range no longer changes (dropped, reverted). */
			if (t->status != GM_TASK_APPLIED && t->status != GM_TASK_DROPPED)
				continue;
			fn = add_fn(ri, t->path, t->name);
			fn->in_base = fn->in_tip = true;
			fn->tip_start_line = t->start_line;
		}
		fn->in_note = true;
		set_str(&fn->route, t->route);
		set_str(&fn->model, t->model);
		set_str(&fn->status, gm_task_status_name(t->status));
		set_str(&fn->reason, t->reason);
		set_str(&fn->rationale, t->rationale);
		fn->attempts = t->attempts;
		fn->helpers = copy_strv(t->helpers, t->nhelpers);
		fn->nhelpers = t->nhelpers;
		fn->imports = copy_strv(t->imports, t->nimports);
		fn->nimports = t->nimports;
		fn->cc_before = t->cc_before;
		fn->cc_after = t->cc_after;
	}
}

/*
 * Each helper under the function it came with (after sorting: indexes); a
 * helper the note has no task for takes its function's route and model and
 * the status "helper".
 */
static void link_helpers(struct gm_review *r)
{
	for (size_t i = 0; i < r->n; i++)
		for (size_t k = 0; k < r->fns[i].nhelpers; k++)
			for (size_t j = 0; j < r->n; j++) {
				struct gm_review_fn *h = &r->fns[j];
				if (j == i || h->helper_of >= 0 || strcmp(h->path, r->fns[i].path) ||
				    strcmp(h->name, r->fns[i].helpers[k]))
					continue;
				h->helper_of = (long)i;
				if (!h->in_note) {
					set_str(&h->status, "helper");
					set_str(&h->route, r->fns[i].route);
					set_str(&h->model, r->fns[i].model);
					h->attempts = r->fns[i].attempts;
				}
			}
}

/* Body lines "path: name (route:model, N attempts)" written by gm_commit_message. */
static void apply_message(struct gm_review *r, const char *msg)
{
	const char *models = strstr(msg, "\nMonitor-Models: ");
	char *single = NULL;

	if (models) {
		models += 17;
		single = gm_xstrndup(models, strcspn(models, "\r\n"));
		if (strstr(single, ", ") || !strchr(single, ':')) {
			free(single);
			single = NULL;
		}
	}
	for (size_t i = 0; i < r->n; i++) {
		struct gm_review_fn *fn = &r->fns[i];
		char *prefix = gm_xasprintf("%s: %s (", fn->path, fn->name);
		const char *p = msg;
		const char *hit = NULL;
		size_t pl = strlen(prefix);

		while (p && *p) {
			if (strncmp(p, prefix, pl) == 0) {
				hit = p + pl;
				break;
			}
			p = strchr(p, '\n');
			p = p ? p + 1 : NULL;
		}
		if (hit) {
			size_t rl = strcspn(hit, ":\n"), ml;
			if (hit[rl] == ':') {
				const char *m = hit + rl + 1;
				ml = strcspn(m, ",)\n");
				fn->route = gm_xstrndup(hit, rl);
				fn->model = gm_xstrndup(m, ml);
				if (m[ml] == ',')
					fn->attempts = (unsigned)strtoul(m + ml + 1, NULL, 10);
			}
		}
		if (!fn->route && single) {
			const char *colon = strchr(single, ':');
			fn->route = gm_xstrndup(single, (size_t)(colon - single));
			fn->model = gm_xstrdup(colon + 1);
		}
		free(prefix);
	}
	free(single);
}

/* ---- loading -------------------------------------------------------------- */

int gm_review_default_branch(char **out, git_repository *repo, const char *prefix)
{
	git_reference_iterator *it = NULL;
	git_reference *ref;
	char *glob = gm_xasprintf("refs/heads/%s*", prefix ? prefix : "monitor/");
	char *best_name = NULL;
	git_time_t best_time = 0;
	int err, rc = 0;

	*out = NULL;
	if (git_reference_iterator_glob_new(&it, repo, glob) < 0) {
		rc = gm_error_git(GM_EFATAL, "cannot list branches");
		goto cleanup;
	}
	while ((err = git_reference_next(&ref, it)) == 0) {
		git_commit *c = NULL;
		if (git_reference_peel((git_object **)&c, ref, GIT_OBJECT_COMMIT) == 0) {
			git_time_t t = git_commit_time(c);
			const char *name = git_reference_name(ref) + 11;
			if (!best_name || t > best_time || (t == best_time && strcmp(name, best_name) > 0)) {
				free(best_name);
				best_name = gm_xstrdup(name);
				best_time = t;
			}
			git_commit_free(c);
		} else {
			git_error_clear();
		}
		git_reference_free(ref);
	}
	if (err != GIT_ITEROVER) {
		rc = gm_error_git(GM_EFATAL, "cannot list branches");
		goto cleanup;
	}
	if (!best_name) {
		gm_error_set("no git-monitor branch (refs/heads/%s*); run 'git monitor refactor' first",
		             prefix ? prefix : "monitor/");
		rc = GM_ENOTFOUND;
		goto cleanup;
	}
	*out = best_name;
	best_name = NULL;
cleanup:
	free(best_name);
	git_reference_iterator_free(it);
	free(glob);
	return rc;
}

int gm_review_load(struct gm_review **out, git_repository *repo, const char *branch)
{
	struct review_int *ri = gm_xcalloc(1, sizeof(*ri));
	struct gm_review *r = &ri->pub;
	git_reference *ref = NULL;
	git_commit *tipc = NULL, *basec = NULL, *monc = NULL;
	git_tree *bt = NULL, *tt = NULL;
	git_diff *diff = NULL;
	TSParser *parser = NULL;
	int rc = 0;

	*out = NULL;
	if (strncmp(branch, "refs/heads/", 11) == 0)
		r->refname = gm_xstrdup(branch);
	else
		r->refname = gm_xasprintf("refs/heads/%s", branch);
	r->branch = gm_xstrdup(r->refname + 11);
	if (git_reference_lookup(&ref, repo, r->refname) < 0 ||
	    git_reference_peel((git_object **)&tipc, ref, GIT_OBJECT_COMMIT) < 0) {
		git_error_clear();
		gm_error_set("no branch '%s'", branch);
		rc = GM_EFATAL;
		goto cleanup;
	}
	git_oid_cpy(&r->tip, git_commit_id(tipc));
	if ((rc = find_monitor_commit(ri, repo)) < 0)
		goto cleanup;
	if ((rc = gm_lang_rule_new(&r->langs, repo, &r->tip)) < 0)
		goto cleanup;

	if (git_commit_lookup(&basec, repo, &r->base) < 0 || git_commit_tree(&bt, basec) < 0 ||
	    git_commit_tree(&tt, tipc) < 0) {
		char hex[GIT_OID_HEXSZ + 1];
		rc = gm_error_git(GM_EFATAL, "cannot read the base %s of '%s'", oid_hex(hex, &r->base),
		                  r->branch);
		goto cleanup;
	}
	if (git_diff_tree_to_tree(&diff, repo, bt, tt, NULL) < 0) {
		rc = gm_error_git(GM_EFATAL, "cannot compare '%s' with its base", r->branch);
		goto cleanup;
	}
	parser = ts_parser_new();
	for (size_t i = 0; i < git_diff_num_deltas(diff); i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);
		const char *path = d->new_file.path ? d->new_file.path : d->old_file.path;
		if (d->flags & GIT_DIFF_FLAG_BINARY)
			continue;
		if ((rc = map_file(ri, repo, path, parser)) < 0)
			goto cleanup;
	}
	if (ri->record) {
		apply_note(ri);
	} else if (!r->has_note && git_commit_lookup(&monc, repo, &r->monitor_commit) == 0) {
		apply_message(r, git_commit_message(monc));
	}
	for (size_t i = 0; i < r->n; i++) {
		struct gm_review_fn *fn = &r->fns[i];
		if (!fn->route)
			fn->route = gm_xstrdup(fn->in_note || !r->has_note ? "unknown" : "none");
		if (!fn->model)
			fn->model = gm_xstrdup("unknown");
		if (!fn->status)
			fn->status = gm_xstrdup("changed");
	}
	qsort(r->fns, r->n, sizeof(*r->fns), cmp_fn);
	link_helpers(r);
	*out = r;
	ri = NULL;
cleanup:
	if (parser)
		ts_parser_delete(parser);
	git_diff_free(diff);
	git_tree_free(bt);
	git_tree_free(tt);
	git_commit_free(monc);
	git_commit_free(basec);
	git_commit_free(tipc);
	git_reference_free(ref);
	if (ri)
		gm_review_free(&ri->pub);
	return rc;
}

void gm_review_free(struct gm_review *r)
{
	struct review_int *ri = (struct review_int *)r;
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		struct gm_review_fn *fn = &r->fns[i];
		free(fn->path);
		free(fn->name);
		free(fn->route);
		free(fn->model);
		free(fn->status);
		free(fn->reason);
		free(fn->rationale);
		free(fn->base_text);
		free(fn->tip_text);
		for (size_t k = 0; k < fn->nhelpers; k++)
			free(fn->helpers[k]);
		free(fn->helpers);
		for (size_t k = 0; k < fn->nimports; k++)
			free(fn->imports[k]);
		free(fn->imports);
	}
	free(r->fns);
	gm_run_report_free(ri->record);
	gm_lang_rule_free(r->langs);
	free(r->branch);
	free(r->refname);
	free(r->note);
	free(r->run_id);
	free(ri);
}

const struct gm_review_fn *gm_review_find(const struct gm_review *r, const char *spec)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct gm_review_fn *fn = &r->fns[i];
		size_t pl = strlen(fn->path);
		if (strncmp(spec, fn->path, pl) == 0 && spec[pl] == ':' && strcmp(spec + pl + 1, fn->name) == 0)
			return fn;
	}
	return NULL;
}

size_t gm_review_match(size_t **out, const struct gm_review *r, const char *spec)
{
	const char *colon = strrchr(spec, ':');
	char *path;
	const char *name;
	size_t *v = gm_xcalloc(r->n + 1, sizeof(*v)), n = 0;

	*out = v;
	if (!colon)
		return 0;
	/* "path:name": the name may hold '::' (C++, Rust), the path no ':' after it. */
	colon = strchr(spec, ':');
	while (colon && colon[1] == ':')
		colon = strchr(colon + 2, ':');
	if (!colon)
		return 0;
	path = gm_xstrndup(spec, (size_t)(colon - spec));
	name = colon + 1;
	for (size_t i = 0; i < r->n; i++) {
		const struct gm_review_fn *fn = &r->fns[i];
		size_t which = fn->helper_of >= 0 ? (size_t)fn->helper_of : i;
		bool dup = false;
		if (!fn->changed || fnmatch(path, fn->path, 0) != 0 || fnmatch(name, fn->name, 0) != 0)
			continue;
		for (size_t k = 0; k < n; k++)
			dup |= v[k] == which;
		if (!dup)
			v[n++] = which;
	}
	free(path);
	/* File order, as the review lists them. */
	for (size_t i = 1; i < n; i++)
		for (size_t k = i; k > 0 && v[k - 1] > v[k]; k--) {
			size_t t = v[k];
			v[k] = v[k - 1];
			v[k - 1] = t;
		}
	return n;
}

/* ---- diff ------------------------------------------------------------------ */

struct diff_ctx {
	const struct gm_review_fn *fn;
	gm_review_line_fn cb;
	void *ctx;
	int stop;
};

static int on_hunk(const git_diff_delta *d, const git_diff_hunk *h, void *payload)
{
	struct diff_ctx *c = payload;
	const struct gm_review_fn *fn = c->fn;
	int os = h->old_start, ns = h->new_start;
	char *line;
	(void)d;
	if (fn->base_start_line && os)
		os += (int)fn->base_start_line - 1;
	if (fn->tip_start_line && ns)
		ns += (int)fn->tip_start_line - 1;
	line = gm_xasprintf("@@ -%d,%d +%d,%d @@ %s", os, h->old_lines, ns, h->new_lines, fn->name);
	c->stop = c->cb(c->ctx, 'H', line, strlen(line));
	free(line);
	return c->stop ? -1 : 0;
}

static int on_line(const git_diff_delta *d, const git_diff_hunk *h, const git_diff_line *l,
                   void *payload)
{
	struct diff_ctx *c = payload;
	size_t len = l->content_len;
	char origin;
	(void)d;
	(void)h;
	if (l->origin == GIT_DIFF_LINE_ADDITION)
		origin = '+';
	else if (l->origin == GIT_DIFF_LINE_DELETION)
		origin = '-';
	else if (l->origin == GIT_DIFF_LINE_CONTEXT)
		origin = ' ';
	else
		return 0;
	if (len && l->content[len - 1] == '\n')
		len--;
	c->stop = c->cb(c->ctx, origin, l->content, len);
	return c->stop ? -1 : 0;
}

int gm_review_diff(const struct gm_review_fn *fn, unsigned context, gm_review_line_fn cb, void *ctx)
{
	struct diff_ctx c = { fn, cb, ctx, 0 };
	git_diff_options o;
	char *a = fn->in_base ? gm_xasprintf("--- a/%s", fn->path) : gm_xstrdup("--- /dev/null");
	char *b = fn->in_tip ? gm_xasprintf("+++ b/%s", fn->path) : gm_xstrdup("+++ /dev/null");
	int err;

	git_diff_options_init(&o, GIT_DIFF_OPTIONS_VERSION);
	o.context_lines = context;
	if ((c.stop = cb(ctx, 'F', a, strlen(a))) == 0)
		c.stop = cb(ctx, 'F', b, strlen(b));
	free(a);
	free(b);
	if (c.stop)
		return c.stop;
	if (!fn->changed)
		return 0;
	err = diff_fn(fn, &o, on_hunk, on_line, &c);
	if (c.stop)
		return c.stop;
	if (err < 0)
		return gm_error_git(GM_ERROR, "cannot diff '%s' in '%s'", fn->name, fn->path);
	return 0;
}

