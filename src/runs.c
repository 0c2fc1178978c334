/*
 * runs.c: the runs a repository holds (runs.h): monitor branches and the
 * notes of refs/notes/monitor, read for `list` and deleted for `clean`.
 */
#include "monitor/runs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "monitor/cache.h"
#include "monitor/error.h"
#include "monitor/notes.h"
#include "monitor/util.h"
#include "monitor/banned.h"

#define MAX_WALK 10000

static bool has_run_trailer(const git_commit *c)
{
	const char *msg = git_commit_message(c);
	return msg && (strncmp(msg, "Monitor-Run: ", 13) == 0 || strstr(msg, "\nMonitor-Run: "));
}

static char *trailer(const git_commit *c, const char *name)
{
	const char *msg = git_commit_message(c), *t;
	size_t n = strlen(name);
	char *pat = gm_xasprintf("\n%s: ", name);

	t = msg && !strncmp(msg, pat + 1, n + 2) ? msg : msg ? strstr(msg, pat) : NULL;
	free(pat);
	if (!t)
		return NULL;
	t += (*t == '\n') + n + 2;
	return gm_xstrndup(t, strcspn(t, "\r\n"));
}

static void add_noted(struct gm_run_info *ri, const git_oid *id)
{
	ri->noted = gm_xrealloc(ri->noted, (ri->nnoted + 1) * sizeof(git_oid));
	git_oid_cpy(&ri->noted[ri->nnoted++], id);
}

static void add_keys(struct gm_run_info *ri, const struct gm_run_report *rec)
{
	for (size_t i = 0; i < rec->ncache_keys; i++) {
		bool seen = false;
		for (size_t k = 0; k < ri->ncache_keys && !seen; k++)
			seen = !strcmp(ri->cache_keys[k], rec->cache_keys[i]);
		if (seen)
			continue;
		ri->cache_keys = gm_xrealloc(ri->cache_keys, (ri->ncache_keys + 1) * sizeof(char *));
		ri->cache_keys[ri->ncache_keys++] = gm_xstrdup(rec->cache_keys[i]);
	}
}

/* What the newest note of a run says: goal, counts, cost. */
static void from_record(struct gm_run_info *ri, const struct gm_run_report *rec)
{
	ri->has_note = true;
	if (!ri->goal && rec->goal)
		ri->goal = gm_xstrdup(rec->goal);
	if (!ri->run_id && rec->run_id)
		ri->run_id = gm_xstrdup(rec->run_id);
	ri->cost_usd = rec->cost_usd;
	ri->functions = 0;
	memset(ri->counts, 0, sizeof(ri->counts));
	for (size_t i = 0; i < rec->ntasks; i++) {
		if (strcmp(rec->tasks[i].kind, "rewrite") != 0)
			continue;
		ri->functions++;
		if ((size_t)rec->tasks[i].status <= GM_TASK_DROPPED)
			ri->counts[rec->tasks[i].status]++;
	}
}

static void set_time(struct gm_run_info *ri, const git_commit *c)
{
	ri->time = (int64_t)git_commit_time(c);
	ri->offset = git_commit_time_offset(c);
}

static void goal_from_subject(struct gm_run_info *ri, const git_commit *c)
{
	const char *s = git_commit_summary((git_commit *)c);
	if (ri->goal || !s)
		return;
	if (!strncmp(s, "refactor: ", 10))
		s += 10;
	ri->goal = gm_xstrdup(s);
}

static int read_note(struct gm_run_report **rec, git_repository *repo, const git_oid *id)
{
	char *note = NULL;
	int rc = gm_notes_read(&note, repo, id);

	*rec = NULL;
	if (rc == GM_ENOTFOUND) {
		gm_error_clear();
		return 0;
	}
	if (rc < 0)
		return rc;
	if (gm_run_report_parse(rec, note) < 0) {
		/* an unreadable note still marks the run's commit */
		*rec = gm_run_report_new();
		gm_error_clear();
	}
	free(note);
	return 1;
}

/*
 * A branch: walk its first parents to the git-monitor commit (a note
 * naming that commit, or the Monitor-Run trailer); drop commits on top
 * carry copies of the note.  0 with ri filled, GM_ENOTFOUND when the branch
 * has no git-monitor commit (not a run: never listed, never deleted).
 */
/* The branch's reflog says git-monitor wrote it ("git-monitor: refactor (<run>)"). */
static bool written_by_us(git_repository *repo, const char *refname)
{
	git_reflog *log = NULL;
	bool ours = false;

	if (git_reflog_read(&log, repo, refname) == 0)
		for (size_t i = 0; i < git_reflog_entrycount(log) && !ours; i++) {
			const char *msg = git_reflog_entry_message(git_reflog_entry_byindex(log, i));
			ours = msg && !strncmp(msg, "git-monitor: ", 13);
		}
	git_reflog_free(log);
	git_error_clear();
	return ours;
}

static int read_branch(struct gm_run_info *ri, git_repository *repo, git_reference *ref)
{
	git_commit *c = NULL, *parent = NULL;
	const git_oid *target = git_reference_target(ref);
	const char *short_name = git_reference_name(ref) + 11;
	bool newest = true, named = false;
	size_t steps = 0;
	int rc = GM_ENOTFOUND;

	if (!target || git_commit_lookup(&c, repo, target) < 0) {
		git_error_clear();
		return GM_ENOTFOUND;
	}
	git_oid_cpy(&ri->tip, target);
	while (c) {
		struct gm_run_report *rec = NULL;
		int nrc = read_note(&rec, repo, git_commit_id(c));
		bool is_monitor;
		if (nrc < 0) {
			rc = nrc;
			break;
		}
		if (rec) {
			add_noted(ri, git_commit_id(c));
			add_keys(ri, rec);
			if (newest) {
				from_record(ri, rec);
				/* the run's own branch, not another that points into it */
				named = rec->branch && !strcmp(rec->branch, short_name);
			}
			newest = false;
		}
		is_monitor = (rec && rec->has_commit && git_oid_equal(&rec->commit, git_commit_id(c))) ||
		             (!rec && has_run_trailer(c)) ||
		             (rec && !rec->has_commit && has_run_trailer(c));
		gm_run_report_free(rec);
		if (is_monitor) {
			git_oid_cpy(&ri->commit, git_commit_id(c));
			set_time(ri, c);
			goal_from_subject(ri, c);
			if (!ri->run_id)
				ri->run_id = trailer(c, "Monitor-Run");
			if (!ri->has_note) {
				char *cost = trailer(c, "Monitor-Cost");
				if (cost)
					ri->cost_usd = strtod(cost + (*cost == '$'), NULL);
				free(cost);
			}
			rc = 0;
			break;
		}
		if (++steps > MAX_WALK || git_commit_parentcount(c) == 0 ||
		    git_commit_parent(&parent, c, 0) < 0)
			break;
		git_commit_free(c);
		c = parent;
		parent = NULL;
	}
	git_commit_free(c);
	git_error_clear();
	/*
	 * A branch is a run when its note names it, or, with no note (not
	 * fetched), when git-monitor wrote it: a branch of the user's that
	 * happens to point at a run's commit is never one.
	 */
	if (rc == 0 && !(named || (!ri->has_note && written_by_us(repo, git_reference_name(ref)))))
		rc = GM_ENOTFOUND;
	return rc;
}

static void info_release(struct gm_run_info *ri)
{
	free(ri->branch);
	free(ri->refname);
	free(ri->goal);
	free(ri->run_id);
	free(ri->worktree);
	free(ri->noted);
	for (size_t i = 0; i < ri->ncache_keys; i++)
		free(ri->cache_keys[i]);
	free(ri->cache_keys);
}

void gm_runs_release(struct gm_runs *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		info_release(&r->runs[i]);
	free(r->runs);
	free(r->prefix);
	memset(r, 0, sizeof(*r));
}

static struct gm_run_info *push(struct gm_runs *r, size_t *cap)
{
	GM_GROW(r->runs, *cap, r->n + 1);
	memset(&r->runs[r->n], 0, sizeof(r->runs[r->n]));
	return &r->runs[r->n++];
}

/* Where `refname` is checked out: our worktree, or a linked one (NULL when unknown). */
static char *worktree_of(git_repository *repo, const char *refname)
{
	git_reference *head = NULL;
	git_strarray names = { 0 };
	char *where = NULL;

	if (git_repository_head(&head, repo) == 0 && !strcmp(git_reference_name(head), refname))
		where = gm_xstrdup(git_repository_workdir(repo) ? git_repository_workdir(repo)
		                                                 : git_repository_path(repo));
	git_reference_free(head);
	head = NULL;
	if (!where && git_worktree_list(&names, repo) == 0) {
		for (size_t i = 0; i < names.count && !where; i++) {
			git_worktree *wt = NULL;
			if (git_repository_head_for_worktree(&head, repo, names.strings[i]) == 0 &&
			    !strcmp(git_reference_name(head), refname) &&
			    git_worktree_lookup(&wt, repo, names.strings[i]) == 0)
				where = gm_xstrdup(git_worktree_path(wt));
			git_worktree_free(wt);
			git_reference_free(head);
			head = NULL;
		}
		git_strarray_dispose(&names);
	}
	git_error_clear();
	return where;
}

static bool merged_into(git_repository *repo, const git_oid *head, const git_oid *tip)
{
	int d;
	if (!head)
		return false;
	if (git_oid_equal(head, tip))
		return true;
	d = git_graph_descendant_of(repo, head, tip);
	git_error_clear();
	return d == 1;
}

static bool noted_by_any(const struct gm_runs *r, const git_oid *id)
{
	for (size_t i = 0; i < r->n; i++)
		for (size_t k = 0; k < r->runs[i].nnoted; k++)
			if (git_oid_equal(&r->runs[i].noted[k], id))
				return true;
	return false;
}

struct note_walk {
	git_repository *repo;
	struct gm_runs *runs;
	size_t *cap;
	int rc;
};

/* A note no branch holds: its run's branch is gone (or it is a drop's copy of one). */
static int on_note(const git_oid *blob, const git_oid *annotated, void *payload)
{
	struct note_walk *w = payload;
	struct gm_run_report *rec = NULL;
	struct gm_run_info *ri = NULL;
	git_commit *c = NULL;
	int rc;

	(void)blob;
	if (noted_by_any(w->runs, annotated))
		return 0;
	if ((rc = read_note(&rec, w->repo, annotated)) <= 0) {
		w->rc = rc;
		return rc;
	}
	/* Copies of one run's note (its drops) are one run: the newest commit speaks for it. */
	for (size_t i = 0; i < w->runs->n && rec->run_id; i++)
		if (!w->runs->runs[i].refname && w->runs->runs[i].run_id &&
		    !strcmp(w->runs->runs[i].run_id, rec->run_id))
			ri = &w->runs->runs[i];
	if (git_commit_lookup(&c, w->repo, annotated) < 0) {
		git_error_clear();
		gm_run_report_free(rec);
		return 0;
	}
	if (!ri) {
		ri = push(w->runs, w->cap);
		ri->branch = rec->branch ? gm_xstrdup(rec->branch) : NULL;
		git_oid_cpy(&ri->tip, annotated);
		git_oid_cpy(&ri->commit, rec->has_commit ? &rec->commit : annotated);
		set_time(ri, c);
		goal_from_subject(ri, c);
		from_record(ri, rec);
	} else if (git_commit_time(c) > ri->time ||
	           (git_commit_time(c) == ri->time && merged_into(w->repo, annotated, &ri->tip))) {
		/* a later commit of the run (a drop): its note is the current one */
		git_oid_cpy(&ri->tip, annotated);
		from_record(ri, rec);
	}
	if (rec->has_commit && git_oid_equal(&rec->commit, annotated))
		set_time(ri, c);
	add_noted(ri, annotated);
	add_keys(ri, rec);
	git_commit_free(c);
	gm_run_report_free(rec);
	return 0;
}

static int cmp_runs(const void *a, const void *b)
{
	const struct gm_run_info *x = a, *y = b;
	if (x->time != y->time)
		return x->time > y->time ? -1 : 1;
	return strcmp(x->branch ? x->branch : "", y->branch ? y->branch : "");
}

int gm_runs_list(struct gm_runs *out, git_repository *repo, const char *prefix)
{
	git_reference_iterator *it = NULL;
	git_reference *ref = NULL, *head = NULL;
	git_oid head_oid;
	bool have_head = false;
	char *glob;
	size_t cap = 0;
	struct note_walk w = { 0 };
	int rc = 0, nrc;

	memset(out, 0, sizeof(*out));
	out->prefix = gm_xstrdup(prefix && *prefix ? prefix : "monitor/");
	if (git_repository_head(&head, repo) == 0 && git_reference_target(head)) {
		git_oid_cpy(&head_oid, git_reference_target(head));
		have_head = true;
	}
	git_reference_free(head);
	git_error_clear();
	glob = gm_xasprintf("refs/heads/%s*", out->prefix);
	if (git_reference_iterator_glob_new(&it, repo, glob) < 0) {
		rc = gm_error_git(GM_EFATAL, "cannot read the branches");
		goto cleanup;
	}
	while (git_reference_next(&ref, it) == 0) {
		struct gm_run_info *ri = push(out, &cap);
		const char *name = git_reference_name(ref);
		if (git_reference_type(ref) != GIT_REFERENCE_DIRECT ||
		    strncmp(name + 11, out->prefix, strlen(out->prefix)) != 0 ||
		    (nrc = read_branch(ri, repo, ref)) == GM_ENOTFOUND) {
			info_release(ri);
			out->n--;
			git_reference_free(ref);
			continue;
		}
		if (nrc < 0) {
			rc = nrc;
			git_reference_free(ref);
			goto cleanup;
		}
		ri->refname = gm_xstrdup(name);
		ri->branch = gm_xstrdup(name + 11);
		{
			int co = git_branch_is_checked_out(ref);
			ri->checked_out = co == 1;
			if (ri->checked_out)
				ri->worktree = worktree_of(repo, name);
		}
		git_error_clear();
		git_reference_free(ref);
	}
	git_error_clear();
	w.repo = repo;
	w.runs = out;
	w.cap = &cap;
	nrc = git_note_foreach(repo, GM_NOTES_REF, on_note, &w);
	if (w.rc < 0) {
		rc = w.rc;
		goto cleanup;
	}
	if (nrc < 0 && nrc != GIT_ENOTFOUND) {
		rc = gm_error_git(GM_EFATAL, "cannot read the notes in %s", GM_NOTES_REF);
		goto cleanup;
	}
	git_error_clear();
	for (size_t i = 0; i < out->n; i++)
		out->runs[i].merged = merged_into(repo, have_head ? &head_oid : NULL, &out->runs[i].tip);
	if (out->n > 1)
		qsort(out->runs, out->n, sizeof(*out->runs), cmp_runs);
cleanup:
	git_reference_iterator_free(it);
	free(glob);
	if (rc < 0)
		gm_runs_release(out);
	return rc;
}

/* ---- deleting ------------------------------------------------------------------------ */

void gm_runs_deleted_free(struct gm_run_deleted *d, size_t n)
{
	for (size_t i = 0; d && i < n; i++)
		free(d[i].why);
	free(d);
}

static bool kept_names_key(const struct gm_runs *runs, const bool *which, const char *key)
{
	for (size_t i = 0; i < runs->n; i++) {
		if (which[i])
			continue;
		for (size_t k = 0; k < runs->runs[i].ncache_keys; k++)
			if (!strcmp(runs->runs[i].cache_keys[k], key))
				return true;
	}
	return false;
}

static bool kept_notes(const struct gm_runs *runs, const bool *which, const git_oid *id)
{
	for (size_t i = 0; i < runs->n; i++) {
		if (which[i])
			continue;
		for (size_t k = 0; k < runs->runs[i].nnoted; k++)
			if (git_oid_equal(&runs->runs[i].noted[k], id))
				return true;
	}
	return false;
}

static int delete_branch(git_repository *repo, const struct gm_run_info *ri, const char *prefix,
                         bool dry_run, char **why)
{
	git_reference *ref = NULL;
	int rc = 0;

	/* Only what list read: a branch under the prefix that still points at the same commit. */
	if (strncmp(ri->refname, "refs/heads/", 11) || strncmp(ri->refname + 11, prefix, strlen(prefix))) {
		*why = gm_xasprintf("'%s' is not under %s", ri->refname, prefix);
		return 1;
	}
	if (git_reference_lookup(&ref, repo, ri->refname) < 0) {
		git_error_clear();
		*why = gm_xasprintf("'%s' is gone", ri->branch);
		return 1;
	}
	if (git_reference_type(ref) != GIT_REFERENCE_DIRECT ||
	    !git_oid_equal(git_reference_target(ref), &ri->tip)) {
		*why = gm_xasprintf("'%s' moved while it was read", ri->branch);
		rc = 1;
	} else if (git_branch_is_checked_out(ref) == 1) {
		char *wt = worktree_of(repo, ri->refname);
		*why = wt ? gm_xasprintf("'%s' is checked out at '%s'", ri->branch, wt)
		          : gm_xasprintf("'%s' is checked out in a worktree", ri->branch);
		free(wt);
		rc = 1;
	} else if (!dry_run && git_reference_delete(ref) < 0) {
		rc = gm_error_git(GM_EFATAL, "cannot delete branch '%s'", ri->branch);
	}
	git_error_clear();
	git_reference_free(ref);
	return rc;
}

int gm_runs_delete(struct gm_run_deleted **out, size_t *nout, git_repository *repo,
                   const struct gm_runs *runs, const bool *which, bool dry_run)
{
	struct gm_run_deleted *d = gm_xcalloc(runs->n + 1, sizeof(*d));
	struct gm_cache *cache = NULL;
	bool *gone = gm_xcalloc(runs->n + 1, sizeof(bool)); /* which runs go after refusals */
	size_t n = 0;
	int rc = 0;

	*out = d;
	*nout = 0;
	if (!*runs->prefix) {
		gm_error_set("monitor.branchPrefix is empty: refusing to delete branches");
		free(gone);
		return GM_EUSAGE;
	}
	gm_cache_open(&cache, repo);
	/* The branches first: a refused one keeps its notes and cache entries. */
	for (size_t i = 0; i < runs->n && rc == 0; i++) {
		const struct gm_run_info *ri = &runs->runs[i];
		int brc = 0;
		if (!which[i])
			continue;
		d[n].run = i;
		if (ri->refname && (brc = delete_branch(repo, ri, runs->prefix, dry_run, &d[n].why)) < 0)
			rc = brc;
		d[n].refused = brc == 1;
		d[n].branch = ri->refname && brc == 0;
		gone[i] = brc == 0;
		n++;
	}
	for (size_t j = 0; j < n && rc == 0; j++) {
		const struct gm_run_info *ri = &runs->runs[d[j].run];
		if (!gone[d[j].run])
			continue;
		for (size_t k = 0; k < ri->nnoted && rc == 0; k++) {
			int nrc;
			if (kept_notes(runs, gone, &ri->noted[k]))
				continue;
			nrc = dry_run ? 0 : gm_notes_remove(repo, &ri->noted[k]);
			if (nrc == 0)
				d[j].notes++;
			else if (nrc != GM_ENOTFOUND)
				rc = nrc;
			gm_error_clear();
		}
		for (size_t k = 0; k < ri->ncache_keys && rc == 0; k++) {
			bool earlier = false;
			if (kept_names_key(runs, gone, ri->cache_keys[k]))
				continue;
			/* a key two deleted runs share is counted once */
			for (size_t p = 0; p < j && !earlier; p++)
				for (size_t q = 0; gone[d[p].run] && q < runs->runs[d[p].run].ncache_keys; q++)
					earlier |= !strcmp(runs->runs[d[p].run].cache_keys[q], ri->cache_keys[k]);
			if (!earlier && gm_cache_remove(cache, GM_CACHE_ANSWERS, ri->cache_keys[k], dry_run) == 0)
				d[j].cache_entries++;
			gm_error_clear();
		}
	}
	gm_cache_free(cache);
	free(gone);
	*nout = n;
	return rc;
}

int gm_runs_parse_age(int64_t *out, const char *text)
{
	static const struct {
		const char *unit;
		int64_t secs;
	} units[] = {
		{ "second", 1 },       { "minute", 60 },       { "hour", 3600 },         { "day", 86400 },
		{ "week", 7 * 86400 }, { "month", 30 * 86400 }, { "year", 365 * 86400 },
	};
	const char *p = text;
	char *end;
	long long n;
	size_t len;

	errno = 0;
	n = strtoll(p, &end, 10);
	if (end == p || n < 0 || errno)
		goto bad;
	p = end;
	while (*p == '.' || *p == ' ' || *p == '_')
		p++;
	len = strcspn(p, ". ");
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		size_t ul = strlen(units[i].unit);
		if ((len == ul || (len == ul + 1 && p[ul] == 's')) && !strncasecmp(p, units[i].unit, ul)) {
			const char *rest = p + len;
			if (*rest && strcasecmp(rest, ".ago") && strcasecmp(rest, " ago"))
				goto bad;
			*out = (int64_t)n * units[i].secs;
			return 0;
		}
	}
bad:
	gm_error_set("bad age '%s': expected e.g. 30.days, 2.weeks, 12.hours", text);
	return GM_EUSAGE;
}
