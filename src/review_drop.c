/*
 * review_drop.c: dropping functions from a generated branch, and undoing a
 * drop (review.h).  A drop is an edit of the branch's files (edit.h): each
 * dropped function back to its base text, the helpers it brought removed,
 * the imports it brought removed unless a kept function still lists them;
 * applied and re-parsed the way merge applies a run's edits (merge.h).
 */
#include "monitor/review.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <git2.h>

#include "monitor/commit.h"
#include "monitor/edit.h"
#include "monitor/error.h"
#include "monitor/lang.h"
#include "monitor/merge.h"
#include "monitor/notes.h"
#include "monitor/report.h"
#include "monitor/repo.h"
#include "monitor/scan.h"
#include "monitor/util.h"
#include "monitor/banned.h"

#define MAX_BLOB (64u * 1024 * 1024)
#define DROP_SUBJECT "review: drop "
#define UNDO_SUBJECT "review: undo the drop of "

static bool blank_line(const char *s, size_t from, size_t len, size_t *next)
{
	size_t i = from;
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
		i++;
	if (i < len && s[i] == '\n') {
		*next = i + 1;
		return true;
	}
	return false;
}

/*
 * Removing [start, end) of `text` (whole lines: a function the branch added,
 * a helper): its line end and the blank lines after it go too; at the end of
 * the file, the blank lines before it instead.
 */
static void removal(uint32_t *start, uint32_t *end, const char *text, size_t len)
{
	size_t s = *start, e = *end, next;
	if (e < len && text[e] == '\n')
		e++;
	while (e < len && blank_line(text, e, len, &next))
		e = next;
	if (e == len)
		while (s >= 2 && text[s - 1] == '\n' && text[s - 2] == '\n')
			s--;
	*start = (uint32_t)s;
	*end = (uint32_t)e;
}

/* Lines of [s, e) equal to `line` once trimmed (Go: also `import <spec>`). */
static size_t count_line(const char *text, size_t len, const char *line, uint32_t *last)
{
	size_t n = 0, ll = strlen(line);
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *a = p, *b = le;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r'))
			b--;
		if (((size_t)(b - a) == ll && !memcmp(a, line, ll)) ||
		    ((size_t)(b - a) == ll + 7 && !memcmp(a, "import ", 7) && !memcmp(a + 7, line, ll))) {
			n++;
			if (last)
				*last = (uint32_t)(p - text);
		}
		p = nl ? nl + 1 : end;
	}
	return n;
}

/* Does a function of `path` that stays on the branch list the import `line`? */
static bool kept_needs(const struct gm_review *r, const bool *drop, const char *path,
                       const char *line)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct gm_review_fn *fn = &r->fns[i];
		if (drop[i] || strcmp(fn->path, path) != 0 || !fn->status ||
		    strcmp(fn->status, "applied") != 0)
			continue;
		for (size_t k = 0; k < fn->nimports; k++)
			if (!strcmp(fn->imports[k], line))
				return true;
	}
	return false;
}

/* The edit of `path` on the tip that drops the functions with drop[i] set. */
static void file_edit(struct gm_edit *e, const struct gm_review *r, const bool *drop,
                      const char *path, const char *tip, size_t tlen, const char *base, size_t blen)
{
	e->name = gm_xstrdup(path);
	for (size_t i = 0; i < r->n; i++) {
		const struct gm_review_fn *fn = &r->fns[i];
		uint32_t s, t;
		if (!drop[i] || fn->helper_of >= 0 || strcmp(fn->path, path) != 0)
			continue;
		s = fn->tip_start;
		t = fn->tip_end;
		if (fn->in_base) {
			gm_edit_add_splice(e, s, t, fn->base_text, fn->base_len);
		} else {
			removal(&s, &t, tip, tlen);
			gm_edit_add_splice(e, s, t, "", 0);
		}
		/* Its helpers go with it. */
		for (size_t j = 0; j < r->n; j++) {
			const struct gm_review_fn *h = &r->fns[j];
			if (h->helper_of != (long)i || !h->in_tip || h->in_base)
				continue;
			s = h->tip_start;
			t = h->tip_end;
			removal(&s, &t, tip, tlen);
			gm_edit_add_splice(e, s, t, "", 0);
		}
		/* Its imports too, unless a kept function still needs one. */
		for (size_t k = 0; k < fn->nimports; k++) {
			uint32_t at = 0, end;
			const char *line = fn->imports[k];
			bool done = false;
			if (kept_needs(r, drop, path, line) ||
			    count_line(base, blen, line, NULL) >= count_line(tip, tlen, line, &at))
				continue;
			/* Two dropped functions may list the same line: it goes once. */
			for (size_t j = 0; j < e->nsplices; j++)
				done |= e->splices[j].start == at;
			if (done)
				continue;
			end = at;
			while (end < tlen && tip[end] != '\n')
				end++;
			if (end < tlen)
				end++;
			/* Blank on both sides: the import stood alone (a new import block); one blank goes too. */
			if (at >= 2 && tip[at - 1] == '\n' && tip[at - 2] == '\n' && end < tlen && tip[end] == '\n')
				end++;
			gm_edit_add_splice(e, at, end, "", 0);
		}
	}
}

/* The specs, or the dropped set, in words for the commit message. */
static void message(struct gm_buf *msg, const struct gm_review *r, const bool *drop, size_t n)
{
	gm_buf_printf(msg, DROP_SUBJECT "%zu function%s\n\n", n, n == 1 ? "" : "s");
	for (size_t i = 0; i < r->n; i++) {
		const struct gm_review_fn *fn = &r->fns[i];
		if (!drop[i] || fn->helper_of >= 0)
			continue;
		gm_buf_printf(msg, "%s: %s", fn->path, fn->name);
		for (size_t k = 0, h = 0; k < r->n; k++)
			if (r->fns[k].helper_of == (long)i)
				gm_buf_printf(msg, "%s%s", h++ ? ", " : " (+ helpers ", r->fns[k].name);
		for (size_t k = 0; k < r->n; k++)
			if (r->fns[k].helper_of == (long)i) {
				gm_buf_puts(msg, ")");
				break;
			}
		gm_buf_puts(msg, "\n");
	}
}

/* Move the branch from the tip that was read to `commit`, only if it is still there. */
static int move_branch(git_repository *repo, const struct gm_review *r, const git_oid *commit,
                       const char *reflog)
{
	git_reference *moved = NULL;
	int err = git_reference_create_matching(&moved, repo, r->refname, commit, 1, &r->tip, reflog);
	git_reference_free(moved);
	if (err == GIT_EMODIFIED) {
		git_error_clear();
		gm_error_set("'%s' moved while it was being reviewed; run the review again", r->branch);
		return GM_ERROR;
	}
	if (err < 0)
		return gm_error_git(GM_ERROR, "cannot update '%s'", r->branch);
	return 0;
}

/* The branch can take a commit: it exists, is where it was read, and is not checked out. */
static int check_branch(git_repository *repo, const struct gm_review *r, const char *what)
{
	git_reference *ref = NULL;
	int rc = 0;

	if (git_reference_lookup(&ref, repo, r->refname) < 0) {
		git_error_clear();
		gm_error_set("no branch '%s'", r->branch);
		return GM_EFATAL;
	}
	if (git_branch_is_checked_out(ref) == 1) {
		gm_error_set("'%s' is checked out; switch to another branch before %s it "
		             "(moving it would leave the working tree behind)", r->branch, what);
		rc = GM_ERROR;
	} else if (!git_oid_equal(git_reference_target(ref) ? git_reference_target(ref) : &r->tip,
	                          &r->tip)) {
		gm_error_set("'%s' moved while it was being reviewed; run the review again", r->branch);
		rc = GM_ERROR;
	}
	git_error_clear();
	git_reference_free(ref);
	return rc;
}

int gm_review_drop_fns(git_oid *out, git_repository *repo, const struct gm_review *r,
                       const size_t *which, size_t nwhich)
{
	bool *drop = gm_xcalloc(r->n + 1, sizeof(bool));
	struct gm_change *changes = gm_xcalloc(r->n + 1, sizeof(*changes));
	char **texts = gm_xcalloc(r->n + 1, sizeof(*texts));
	const char **paths = gm_xcalloc(r->n + 1, sizeof(*paths)), **names = gm_xcalloc(r->n + 1, sizeof(*names));
	struct gm_buf msg = GM_BUF_INIT;
	TSParser *parser = NULL;
	char *note = NULL, *reflog = NULL;
	size_t nch = 0, ndrop = 0;
	git_oid commit;
	int rc = 0;

	for (size_t i = 0; i < nwhich; i++) {
		size_t k = which[i] < r->n && r->fns[which[i]].helper_of >= 0 ? (size_t)r->fns[which[i]].helper_of
		                                                              : which[i];
		const struct gm_review_fn *fn;
		if (k >= r->n)
			continue;
		fn = &r->fns[k];
		if (!fn->changed || (fn->status && !strcmp(fn->status, "dropped"))) {
			gm_error_set("'%s:%s' %s", fn->path, fn->name,
			             fn->changed ? "was already dropped" : "is not changed by the branch");
			rc = GM_ERROR;
			goto cleanup;
		}
		if (!fn->in_tip) {
			gm_error_set("cannot drop '%s:%s': the branch removed it; restore it by hand", fn->path,
			             fn->name);
			rc = GM_ERROR;
			goto cleanup;
		}
		if (!drop[k]) {
			drop[k] = true;
			paths[ndrop] = fn->path;
			names[ndrop++] = fn->name;
		}
	}
	if (!ndrop) {
		gm_error_set("nothing to drop");
		rc = GM_ERROR;
		goto cleanup;
	}
	if ((rc = check_branch(repo, r, "dropping from")) < 0 || (rc = gm_lang_init()) < 0)
		goto cleanup;
	parser = ts_parser_new();

	/* One new text per file: the tip's, with the dropped functions taken back. */
	for (size_t i = 0; i < r->n; i++) {
		const char *path = r->fns[i].path;
		const struct gm_lang *lang = NULL;
		struct gm_edit e = { 0 };
		const struct gm_edit *one = &e;
		struct gm_merge_result mr = { 0 };
		struct gm_file_scan ts;
		char *tip = NULL, *base = NULL;
		size_t tlen = 0, blen = 0;
		bool seen = false, any = false;

		for (size_t k = 0; k < i; k++)
			seen |= !strcmp(r->fns[k].path, path);
		for (size_t k = i; k < r->n; k++)
			any |= drop[k] && !strcmp(r->fns[k].path, path);
		if (seen || !any)
			continue;
		if ((rc = gm_lang_rule_get(&lang, r->langs, path)) < 0)
			goto cleanup;
		if (!lang)
			continue;
		if ((rc = gm_repo_read_path(&tip, &tlen, repo, &r->tip, path, MAX_BLOB)) < 0 ||
		    (rc = gm_repo_read_path(&base, &blen, repo, &r->base, path, MAX_BLOB)) < 0)
			goto next;
		if (!tip) {
			gm_error_set("cannot read '%s' on '%s'", path, r->branch);
			rc = GM_EFATAL;
			goto next;
		}
		memset(&ts, 0, sizeof(ts));
		if ((rc = gm_scan_source(&ts, lang, tip, tlen, parser)) < 0)
			goto next;
		file_edit(&e, r, drop, path, tip, tlen, base ? base : "", blen);
		/* The restored file must parse no worse than the branch's version (merge's rule). */
		rc = gm_merge(&mr, lang, tip, tlen, ts.errors, &one, 1, parser);
		gm_file_scan_release(&ts);
		if (rc == 0 && !mr.applied[0]) {
			gm_error_set("restoring the dropped functions in '%s' would not parse; drop them by hand",
			             path);
			rc = GM_ERROR;
		}
		if (rc == 0) {
			texts[nch] = mr.text;
			mr.text = NULL;
			changes[nch].path = path;
			changes[nch].data = texts[nch];
			changes[nch].len = mr.len;
			nch++;
		}
next:
		gm_merge_result_release(&mr);
		gm_edit_release(&e);
		free(tip);
		free(base);
		if (rc < 0)
			goto cleanup;
	}

	message(&msg, r, drop, ndrop);
	if ((rc = gm_commit_create(&commit, repo, &r->tip, changes, nch, msg.ptr)) < 0)
		goto cleanup;
	if (r->note && (note = gm_run_report_note_drop(r->note, paths, names, ndrop)) != NULL &&
	    (rc = gm_notes_write(repo, &commit, note, NULL)) < 0)
		goto cleanup;
	/* Last, and only if the branch is still where we read it. */
	reflog = gm_xasprintf("git-monitor: review: drop %zu function%s", ndrop, ndrop == 1 ? "" : "s");
	if ((rc = move_branch(repo, r, &commit, reflog)) < 0)
		goto cleanup;
	git_oid_cpy(out, &commit);
cleanup:
	if (parser)
		ts_parser_delete(parser);
	for (size_t i = 0; i < nch; i++)
		free(texts[i]);
	free(texts);
	free(changes);
	free(paths);
	free(names);
	free(drop);
	free(note);
	free(reflog);
	gm_buf_release(&msg);
	return rc;
}

int gm_review_drop(git_oid *out, git_repository *repo, const struct gm_review *r,
                   const char *const *specs, size_t nspecs)
{
	size_t *all = gm_xcalloc(r->n + 1, sizeof(size_t)), n = 0;
	int rc;

	/* Every spec must name something before anything is written. */
	for (size_t i = 0; i < nspecs; i++) {
		size_t *m = NULL, k = gm_review_match(&m, r, specs[i]);
		if (!strchr(specs[i], ':')) {
			free(m);
			free(all);
			gm_error_set("'%s' is not <path>:<function>", specs[i]);
			return GM_EUSAGE;
		}
		if (!k) {
			const struct gm_review_fn *fn = gm_review_find(r, specs[i]);
			free(m);
			free(all);
			if (fn && fn->status && !strcmp(fn->status, "dropped"))
				gm_error_set("'%s' was already dropped from '%s'", specs[i], r->branch);
			else
				gm_error_set("'%s' did not change '%s'", r->branch, specs[i]);
			return GM_ERROR;
		}
		for (size_t j = 0; j < k; j++) {
			bool dup = false;
			for (size_t q = 0; q < n; q++)
				dup |= all[q] == m[j];
			if (!dup)
				all[n++] = m[j];
		}
		free(m);
	}
	rc = gm_review_drop_fns(out, repo, r, all, n);
	free(all);
	return rc;
}

/* The note that applies at `commit`: its own, else the nearest first parent's. */
static int note_at(char **out, git_repository *repo, const git_oid *commit)
{
	git_commit *c = NULL, *p = NULL;
	int rc = 0;

	*out = NULL;
	if (git_commit_lookup(&c, repo, commit) < 0)
		return gm_error_git(GM_EFATAL, "cannot read a commit of the branch");
	for (unsigned steps = 0; steps < 10000; steps++) {
		rc = gm_notes_read(out, repo, git_commit_id(c));
		if (rc != GM_ENOTFOUND)
			break;
		gm_error_clear();
		rc = 0;
		if (git_commit_parentcount(c) == 0 || git_commit_parent(&p, c, 0) < 0)
			break;
		git_commit_free(c);
		c = p;
		p = NULL;
	}
	git_error_clear();
	git_commit_free(c);
	return rc;
}

static bool is_subject(const git_commit *c, const char *subject)
{
	const char *m = git_commit_message(c);
	return m && !strncmp(m, subject, strlen(subject));
}

/*
 * The note after undoing a drop: `now` (the tip's) with every task that the
 * drop marked dropped as it was before the drop (`before`, the note at the
 * drop's parent).
 */
static char *undone_note(const char *now, const char *before, const char *at_drop)
{
	cJSON *n = cJSON_Parse(now), *b = cJSON_Parse(before), *d = cJSON_Parse(at_drop);
	cJSON *tn = cJSON_GetObjectItemCaseSensitive(n, "tasks");
	const cJSON *tb = cJSON_GetObjectItemCaseSensitive(b, "tasks");
	const cJSON *td = cJSON_GetObjectItemCaseSensitive(d, "tasks");
	char *text = NULL;
	int i = 0;
	cJSON *t;

	if (!cJSON_IsArray(tn) || !cJSON_IsArray(tb) || !cJSON_IsArray(td))
		goto cleanup;
	cJSON_ArrayForEach(t, tn) {
		const cJSON *path = cJSON_GetObjectItemCaseSensitive(t, "path");
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(t, "name");
		const cJSON *o, *x;
		bool dropped_by_it = false;
		if (!cJSON_IsString(path) || !cJSON_IsString(name)) {
			i++;
			continue;
		}
		/* Dropped at the drop, and not before it. */
		cJSON_ArrayForEach(x, td) {
			const cJSON *xs = cJSON_GetObjectItemCaseSensitive(x, "status");
			if (cJSON_IsString(xs) && !strcmp(xs->valuestring, "dropped") &&
			    cJSON_IsString(cJSON_GetObjectItemCaseSensitive(x, "path")) &&
			    !strcmp(cJSON_GetObjectItemCaseSensitive(x, "path")->valuestring, path->valuestring) &&
			    cJSON_IsString(cJSON_GetObjectItemCaseSensitive(x, "name")) &&
			    !strcmp(cJSON_GetObjectItemCaseSensitive(x, "name")->valuestring, name->valuestring))
				dropped_by_it = true;
		}
		cJSON_ArrayForEach(o, tb) {
			const cJSON *os = cJSON_GetObjectItemCaseSensitive(o, "status");
			if (!dropped_by_it || !cJSON_IsString(os) || !strcmp(os->valuestring, "dropped") ||
			    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "path")) ||
			    strcmp(cJSON_GetObjectItemCaseSensitive(o, "path")->valuestring, path->valuestring) ||
			    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "name")) ||
			    strcmp(cJSON_GetObjectItemCaseSensitive(o, "name")->valuestring, name->valuestring))
				continue;
			cJSON_ReplaceItemInArray(tn, i, cJSON_Duplicate(o, 1));
			t = cJSON_GetArrayItem(tn, i);
			break;
		}
		i++;
	}
	text = cJSON_Print(n);
cleanup:
	cJSON_Delete(n);
	cJSON_Delete(b);
	cJSON_Delete(d);
	return text;
}

int gm_review_undo_drop(git_oid *out, git_repository *repo, const struct gm_review *r)
{
	git_commit *tip = NULL, *c = NULL, *p = NULL, *drop = NULL;
	git_index *index = NULL;
	git_signature *author = NULL, *committer = NULL;
	char *now = NULL, *before = NULL, *at_drop = NULL, *note = NULL, *text = NULL;
	git_oid tree_id, commit;
	git_tree *tree = NULL;
	unsigned pending = 0;
	int rc = 0;

	if (git_commit_lookup(&tip, repo, &r->tip) < 0 || git_commit_dup(&c, tip) < 0) {
		rc = gm_error_git(GM_EFATAL, "cannot read the tip of '%s'", r->branch);
		goto cleanup;
	}
	/* The newest drop that no undo above it has taken back. */
	for (unsigned steps = 0; steps < 10000 && !drop; steps++) {
		if (is_subject(c, UNDO_SUBJECT))
			pending++;
		else if (is_subject(c, DROP_SUBJECT) && pending)
			pending--;
		else if (is_subject(c, DROP_SUBJECT))
			drop = c, c = NULL;
		if (drop || git_commit_parentcount(c) == 0)
			break;
		if (git_commit_parent(&p, c, 0) < 0) {
			rc = gm_error_git(GM_EFATAL, "cannot read the history of '%s'", r->branch);
			goto cleanup;
		}
		git_commit_free(c);
		c = p;
		p = NULL;
		if (git_oid_equal(git_commit_id(c), &r->monitor_commit))
			break;
	}
	if (!drop) {
		gm_error_set("'%s' has no drop left to undo", r->branch);
		rc = GM_ERROR;
		goto cleanup;
	}
	if ((rc = check_branch(repo, r, "undoing a drop on")) < 0)
		goto cleanup;
	/* Its changes taken back on top of the tip, in memory (libgit2's revert). */
	if (git_revert_commit(&index, repo, drop, tip, 0, NULL) < 0) {
		rc = gm_error_git(GM_ERROR, "cannot undo the drop %.12s", git_oid_tostr_s(git_commit_id(drop)));
		goto cleanup;
	}
	if (git_index_has_conflicts(index)) {
		gm_error_set("cannot undo the drop %.12s: later commits on '%s' changed the same lines",
		             git_oid_tostr_s(git_commit_id(drop)), r->branch);
		rc = GM_ERROR;
		goto cleanup;
	}
	if (git_index_write_tree_to(&tree_id, index, repo) < 0 ||
	    git_tree_lookup(&tree, repo, &tree_id) < 0) {
		rc = gm_error_git(GM_ERROR, "cannot write the undo of the drop");
		goto cleanup;
	}
	if ((rc = gm_commit_signatures(&author, &committer, repo)) < 0)
		goto cleanup;
	text = gm_xasprintf(UNDO_SUBJECT "%s", git_commit_message(drop) + strlen(DROP_SUBJECT));
	if (git_commit_create(&commit, repo, NULL, author, committer, NULL, text, tree, 1,
	                      (const git_commit **)&tip) < 0) {
		rc = gm_error_git(GM_ERROR, "cannot write the undo commit");
		goto cleanup;
	}
	/* The note: what the drop marked dropped is as it was before it. */
	if ((rc = note_at(&now, repo, &r->tip)) < 0 ||
	    (rc = note_at(&at_drop, repo, git_commit_id(drop))) < 0 ||
	    (rc = note_at(&before, repo, git_commit_parent_id(drop, 0))) < 0)
		goto cleanup;
	if (now && before && at_drop && (note = undone_note(now, before, at_drop)) &&
	    (rc = gm_notes_write(repo, &commit, note, NULL)) < 0)
		goto cleanup;
	if ((rc = move_branch(repo, r, &commit, "git-monitor: review: undo a drop")) < 0)
		goto cleanup;
	git_oid_cpy(out, &commit);
cleanup:
	git_signature_free(author);
	git_signature_free(committer);
	git_tree_free(tree);
	git_index_free(index);
	git_commit_free(drop);
	git_commit_free(p);
	git_commit_free(c);
	git_commit_free(tip);
	free(now);
	free(before);
	free(at_drop);
	free(note);
	free(text);
	return rc;
}
