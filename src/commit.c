/*
 * commit.c: blobs, trees, a commit and a new branch, written with libgit2
 * straight into the object store; the user's HEAD, index and working tree
 * are never touched (see commit.h).
 */
#include "monitor/commit.h"

#include <ctype.h>
#include <stdbool.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <git2.h>
#include <git2/sys/repository.h>

#include "monitor/error.h"
#include "monitor/repo.h"
#include "monitor/util.h"
#include "monitor/banned.h"

#define SLUG_MAX 40
#define SUBJECT_MAX 60

static const char *env_nonempty(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

static int make_signature(git_signature **out, const git_signature *def, const char *name_env,
                          const char *email_env)
{
	const char *name = env_nonempty(name_env);
	const char *email = env_nonempty(email_env);

	if (!name && def)
		name = def->name;
	if (!email && def)
		email = def->email;
	if (!name || !*name || !email || !*email) {
		gm_error_set("no identity to write the commit with: set user.name and user.email");
		return GM_ERROR;
	}
	if (git_signature_now(out, name, email) < 0)
		return gm_error_git(GM_ERROR, "invalid identity '%s <%s>'", name, email);
	return 0;
}

int gm_commit_signatures(git_signature **author, git_signature **committer, git_repository *repo)
{
	git_signature *def = NULL;
	int rc;

	*author = *committer = NULL;
	/* Fails when user.name or user.email is missing; the environment may still supply them. */
	if (git_signature_default(&def, repo) < 0) {
		def = NULL;
		git_error_clear();
	}
	rc = make_signature(author, def, "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL");
	if (rc == 0)
		rc = make_signature(committer, def, "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL");
	if (rc < 0) {
		git_signature_free(*author);
		*author = NULL;
	}
	git_signature_free(def);
	return rc;
}

int gm_commit_create(git_oid *out, git_repository *repo, const git_oid *base,
                     const struct gm_change *changes, size_t nchanges, const char *message)
{
	git_commit *parent = NULL;
	git_tree *tree = NULL, *newtree = NULL;
	git_tree_update *updates = NULL;
	git_signature *author = NULL, *committer = NULL;
	git_oid tree_oid;
	char hex[GIT_OID_HEXSZ + 1];
	int rc = 0;

	git_oid_tostr(hex, sizeof(hex), base);
	if (git_commit_lookup(&parent, repo, base) < 0 || git_commit_tree(&tree, parent) < 0) {
		rc = gm_error_git(GM_EFATAL, "cannot read commit %s", hex);
		goto cleanup;
	}
	if ((rc = gm_commit_signatures(&author, &committer, repo)) < 0)
		goto cleanup;
	updates = gm_xcalloc(nchanges ? nchanges : 1, sizeof(*updates));
	for (size_t i = 0; i < nchanges; i++) {
		const struct gm_change *c = &changes[i];
		git_tree_entry *e = NULL;
		git_filemode_t mode = GIT_FILEMODE_BLOB;

		for (size_t j = 0; j < i; j++) {
			if (strcmp(changes[j].path, c->path) == 0) {
				gm_error_set("'%s' is changed twice in one commit", c->path);
				rc = GM_EINVALID;
				goto cleanup;
			}
		}
		if (git_tree_entry_bypath(&e, tree, c->path) == 0) {
			mode = git_tree_entry_filemode(e);
			git_tree_entry_free(e);
			if (mode != GIT_FILEMODE_BLOB && mode != GIT_FILEMODE_BLOB_EXECUTABLE &&
			    mode != GIT_FILEMODE_LINK) {
				gm_error_set("cannot replace '%s' in %s: not a file", c->path, hex);
				rc = GM_EINVALID;
				goto cleanup;
			}
		} else {
			git_error_clear();
		}
		if (git_blob_create_from_buffer(&updates[i].id, repo, c->data, c->len) < 0) {
			rc = gm_error_git(GM_ERROR, "cannot write the blob of '%s'", c->path);
			goto cleanup;
		}
		updates[i].action = GIT_TREE_UPDATE_UPSERT;
		updates[i].filemode = mode;
		updates[i].path = c->path;
	}
	if (git_tree_create_updated(&tree_oid, repo, tree, nchanges, updates) < 0) {
		rc = gm_error_git(GM_ERROR, "cannot write the tree");
		goto cleanup;
	}
	if (git_tree_lookup(&newtree, repo, &tree_oid) < 0) {
		rc = gm_error_git(GM_ERROR, "cannot read the new tree");
		goto cleanup;
	}
	/* update_ref NULL: no ref moves here; the branch is written last, by the caller. */
	if (git_commit_create(out, repo, NULL, author, committer, NULL, message, newtree, 1,
	                      (const git_commit **)&parent) < 0) {
		rc = gm_error_git(GM_ERROR, "cannot write the commit");
		goto cleanup;
	}
cleanup:
	free(updates);
	git_signature_free(author);
	git_signature_free(committer);
	git_tree_free(newtree);
	git_tree_free(tree);
	git_commit_free(parent);
	return rc;
}

int gm_commit_snapshot_index(git_oid *out, git_repository *repo, const char *message)
{
	git_index *index = NULL;
	git_tree *tree = NULL;
	git_commit *head = NULL;
	git_signature *author = NULL, *committer = NULL;
	git_oid tree_oid, head_oid;
	int rc = 0, err;

	if ((rc = gm_repo_index(&index, repo)) < 0)
		goto cleanup;
	if (git_index_has_conflicts(index)) {
		gm_error_set("cannot snapshot the index: it has unresolved conflicts");
		rc = GM_ERROR;
		goto cleanup;
	}
	/* Writes tree objects only; the index file itself is left alone. */
	if (git_index_write_tree(&tree_oid, index) < 0 || git_tree_lookup(&tree, repo, &tree_oid) < 0) {
		rc = gm_error_git(GM_ERROR, "cannot write the tree of the index");
		goto cleanup;
	}
	err = git_reference_name_to_id(&head_oid, repo, "HEAD");
	if (err == 0) {
		if (git_commit_lookup(&head, repo, &head_oid) < 0) {
			rc = gm_error_git(GM_EFATAL, "cannot read 'HEAD'");
			goto cleanup;
		}
	} else if (err == GIT_ENOTFOUND || err == GIT_EUNBORNBRANCH) {
		git_error_clear(); /* unborn: the snapshot is a root commit */
	} else {
		rc = gm_error_git(GM_EFATAL, "cannot resolve 'HEAD'");
		goto cleanup;
	}
	if ((rc = gm_commit_signatures(&author, &committer, repo)) < 0)
		goto cleanup;
	if (git_commit_create(out, repo, NULL, author, committer, NULL, message, tree, head ? 1 : 0,
	                      (const git_commit **)&head) < 0) {
		rc = gm_error_git(GM_ERROR, "cannot write the snapshot commit");
		goto cleanup;
	}
cleanup:
	git_signature_free(author);
	git_signature_free(committer);
	git_commit_free(head);
	git_tree_free(tree);
	git_index_free(index);
	return rc;
}

char *gm_commit_slug(const char *goal)
{
	char buf[SLUG_MAX + 1];
	size_t n = 0;

	const char *p = goal ? goal : "";

	for (; *p && n < SLUG_MAX; p++) {
		unsigned char c = (unsigned char)*p;
		if (c < 128 && isalnum(c))
			buf[n++] = (char)tolower(c);
		else if (n && buf[n - 1] != '-')
			buf[n++] = '-';
	}
	/* Cut between words, not inside one (unless it is the only word). */
	if (n == SLUG_MAX && *p && (unsigned char)*p < 128 && isalnum((unsigned char)*p) &&
	    buf[n - 1] != '-') {
		size_t k = n;
		while (k && buf[k - 1] != '-')
			k--;
		if (k)
			n = k;
	}
	while (n && buf[n - 1] == '-')
		n--;
	buf[n] = '\0';
	return gm_xstrdup(n ? buf : "refactor");
}

int gm_commit_branch_name(char **out, const char *prefix, const char *goal, time_t when,
                          const char *given)
{
	char stamp[32];
	struct tm tm;
	char *name, *slug;
	int valid = 0;

	*out = NULL;
	if (given) {
		name = gm_xstrdup(given);
	} else {
		if (!localtime_r(&when, &tm) || !strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm))
			stamp[0] = '\0';
		slug = gm_commit_slug(goal);
		name = gm_xasprintf("%s%s-%s", prefix ? prefix : "monitor/", stamp, slug);
		free(slug);
	}
	if (git_branch_name_is_valid(&valid, name) < 0 || !valid) {
		git_error_clear();
		gm_error_set("invalid branch name '%s'", name);
		free(name);
		return GM_EUSAGE;
	}
	*out = name;
	return 0;
}

#define NAME_COMPONENT_MAX 240 /* a file name (255) less ".lock" and a "-NNNN" suffix */
#define NAME_MAX_LEN 2048

static bool ref_exists(git_repository *repo, const char *refname)
{
	git_reference *ref = NULL;
	int err = git_reference_lookup(&ref, repo, refname);
	git_reference_free(ref);
	if (err < 0)
		git_error_clear();
	return err == 0;
}

/* Are there refs beneath refs/heads/<name>/ (so <name> itself cannot be a file)? */
static bool refs_beneath(git_repository *repo, const char *refname)
{
	git_reference_iterator *it = NULL;
	const char *n;
	char *glob = gm_xasprintf("%s/*", refname);
	size_t len = strlen(refname);
	bool found = false;

	if (git_reference_iterator_glob_new(&it, repo, glob) == 0) {
		while (!found && git_reference_next_name(&n, it) == 0)
			found = strncmp(n, refname, len) == 0 && n[len] == '/';
	}
	git_error_clear();
	git_reference_iterator_free(it);
	free(glob);
	return found;
}

int gm_commit_branch_check(git_repository *repo, const char *name)
{
	const char *p = name;
	char *refname;

	if (strlen(name) > NAME_MAX_LEN) {
		gm_error_set("branch name '%.40s...' is too long (%zu bytes)", name, strlen(name));
		return GM_EUSAGE;
	}
	for (;;) {
		size_t len = strcspn(p, "/");
		if (len > NAME_COMPONENT_MAX) {
			gm_error_set("branch name '%s' has a component longer than %d bytes", name,
			             NAME_COMPONENT_MAX);
			return GM_EUSAGE;
		}
		if (!p[len])
			break;
		/* A branch where a directory must go: no suffix helps. */
		refname = gm_xasprintf("refs/heads/%.*s", (int)(p + len - name), name);
		if (ref_exists(repo, refname)) {
			gm_error_set("cannot create branch '%s': branch '%s' exists", name,
			             refname + strlen("refs/heads/"));
			free(refname);
			return GM_EUSAGE;
		}
		free(refname);
		p += len + 1;
	}
	return 0;
}

static long lock_timeout_ms(git_repository *repo)
{
	git_config *cfg = NULL;
	int32_t v = 0;
	long t = GM_REF_LOCK_TIMEOUT_MS;

	if (repo && git_repository_config_snapshot(&cfg, repo) == 0 &&
	    git_config_get_int32(&v, cfg, "core.filesRefLockTimeout") == 0)
		t = v;
	git_error_clear();
	git_config_free(cfg);
	return t;
}

void gm_lock_wait_init(struct gm_lock_wait *w, git_repository *repo,
                       const volatile sig_atomic_t *interrupted)
{
	memset(w, 0, sizeof(*w));
	w->start_ms = gm_now_ms();
	w->timeout_ms = lock_timeout_ms(repo);
	w->interrupted = interrupted;
}

int gm_lock_wait_next(struct gm_lock_wait *w, const char *ref)
{
	uint64_t now = gm_now_ms(), elapsed = now - w->start_ms, step;
	struct timespec ts;

	git_error_clear();
	if (w->interrupted && *w->interrupted)
		return GM_EINTERRUPTED;
	if (w->timeout_ms >= 0 && elapsed >= (uint64_t)w->timeout_ms) {
		gm_error_set("'%s' is locked by another git process (%s.lock)", ref, ref);
		return GM_ERROR;
	}
	/* 1, 2, 5, 10, 17 ... ms, at most 250, each 75-125% so waiters spread out. */
	w->attempts++;
	step = 1 + (uint64_t)w->attempts * w->attempts;
	if (step > 250)
		step = 250;
	step = step * (750 + (uint64_t)rand() % 500) / 1000 + 1;
	if (w->timeout_ms >= 0 && elapsed + step > (uint64_t)w->timeout_ms)
		step = (uint64_t)w->timeout_ms - elapsed + 1;
	ts.tv_sec = (time_t)(step / 1000);
	ts.tv_nsec = (long)(step % 1000) * 1000000L;
	nanosleep(&ts, NULL); /* a signal cuts it short: checked on the next call */
	if (w->interrupted && *w->interrupted)
		return GM_EINTERRUPTED;
	return 0;
}

int gm_commit_write_branch(char **out_name, git_repository *repo, const char *name,
                           const git_oid *commit, const char *reflog_msg,
                           const volatile sig_atomic_t *interrupted)
{
	struct gm_lock_wait w;
	git_oid zero;
	int rc;

	*out_name = NULL;
	memset(&zero, 0, sizeof(zero));
	gm_lock_wait_init(&w, repo, interrupted);
	for (unsigned i = 1; i <= 10000; i++) {
		char *cand = i == 1 ? gm_xstrdup(name) : gm_xasprintf("%s-%u", name, i);
		char *refname = gm_xasprintf("refs/heads/%s", cand);
		git_reference *ref = NULL;
		int valid = 0, err;

		if (git_reference_name_is_valid(&valid, refname) < 0 || !valid) {
			git_error_clear();
			gm_error_set("invalid branch name '%s'", cand);
			free(refname);
			free(cand);
			return GM_EUSAGE;
		}
		/* Taken, or a directory of branches: next suffix. */
		if (ref_exists(repo, refname) || refs_beneath(repo, refname)) {
			free(refname);
			free(cand);
			continue;
		}
		/*
		 * Never overwritten, even by a run creating it at this moment:
		 * libgit2 1.5 checks force = 0 before taking the ref's lock, so two
		 * creators can both pass; a zero current id is checked under the
		 * lock (GIT_EMODIFIED when the ref exists by then).
		 */
		err = git_reference_create_matching(&ref, repo, refname, commit, 0, &zero, reflog_msg);
		git_reference_free(ref);
		if (err == 0) {
			free(refname);
			*out_name = cand;
			return 0;
		}
		if (err == GIT_ELOCKED) {
			/* Someone is writing it: wait, then look again (same suffix). */
			if ((rc = gm_lock_wait_next(&w, refname)) < 0) {
				if (rc == GM_ERROR) {
					char why[512];
					snprintf(why, sizeof(why), "%s", gm_error_last());
					gm_error_set("cannot create branch '%s': %s", cand, why);
				}
				free(refname);
				free(cand);
				return rc;
			}
			i--;
			free(refname);
			free(cand);
			continue;
		}
		if ((err == GIT_EEXISTS || err == GIT_EMODIFIED || err == GIT_EDIRECTORY) &&
		    (ref_exists(repo, refname) || refs_beneath(repo, refname))) {
			free(refname);
			free(cand);
			continue;
		}
		gm_error_git(GM_ERROR, "cannot create branch '%s'", cand);
		free(refname);
		free(cand);
		return GM_ERROR;
	}
	gm_error_set("cannot create branch '%s': every suffix is taken", name);
	return GM_EEXISTS;
}

/* The goal's first line, spaces folded, cut at a word to ~SUBJECT_MAX bytes. */
static void put_subject(struct gm_buf *b, const char *goal)
{
	struct gm_buf g = GM_BUF_INIT;
	size_t n;

	for (const char *p = goal ? goal : ""; *p && *p != '\n' && *p != '\r'; p++) {
		if (isspace((unsigned char)*p)) {
			if (g.len && g.ptr[g.len - 1] != ' ')
				gm_buf_put(&g, " ", 1);
		} else {
			gm_buf_put(&g, p, 1);
		}
	}
	while (g.len && g.ptr[g.len - 1] == ' ')
		g.ptr[--g.len] = '\0';
	if (!g.len) {
		gm_buf_puts(b, "refactor");
		gm_buf_release(&g);
		return;
	}
	gm_buf_puts(b, "refactor: ");
	if (g.len <= SUBJECT_MAX) {
		gm_buf_put(b, g.ptr, g.len);
	} else {
		n = SUBJECT_MAX - 3;
		/* never cut inside a UTF-8 sequence */
		while (n && ((unsigned char)g.ptr[n] & 0xC0) == 0x80)
			n--;
		for (size_t k = n; k > SUBJECT_MAX / 2; k--) {
			if (g.ptr[k] == ' ') {
				n = k;
				break;
			}
		}
		while (n && g.ptr[n - 1] == ' ')
			n--;
		gm_buf_put(b, g.ptr, n);
		gm_buf_puts(b, "...");
	}
	gm_buf_release(&g);
}

char *gm_commit_message(const struct gm_commit_msg *m)
{
	struct gm_buf b = GM_BUF_INIT;

	put_subject(&b, m->goal);
	gm_buf_puts(&b, "\n\n");
	for (size_t i = 0; i < m->nfns; i++) {
		const struct gm_commit_fn *f = &m->fns[i];
		gm_buf_printf(&b, "%s: %s", f->path, f->name);
		for (size_t k = 0; k < f->nhelpers; k++)
			gm_buf_printf(&b, "%s%s", k ? ", " : f->nhelpers > 1 ? " (+ helpers " : " (+ helper ",
			              f->helpers[k]);
		gm_buf_printf(&b, "%s (%s:%s, %u attempt%s)\n", f->nhelpers ? ")" : "",
		              f->route ? f->route : "local", f->model ? f->model : "unknown",
		              f->attempts, f->attempts == 1 ? "" : "s");
	}
	if (m->nfns)
		gm_buf_puts(&b, "\n");
	gm_buf_printf(&b, "Monitor-Run: %s\n", m->run_id ? m->run_id : "unknown");
	gm_buf_puts(&b, "Monitor-Models: ");
	if (m->models) {
		gm_buf_puts(&b, m->models);
	} else {
		size_t listed = 0;
		for (size_t i = 0; i < m->nfns; i++) {
			const struct gm_commit_fn *f = &m->fns[i];
			const char *r = f->route ? f->route : "local", *mo = f->model ? f->model : "unknown";
			bool seen = false;
			for (size_t j = 0; j < i && !seen; j++) {
				const char *r2 = m->fns[j].route ? m->fns[j].route : "local";
				const char *m2 = m->fns[j].model ? m->fns[j].model : "unknown";
				seen = strcmp(r, r2) == 0 && strcmp(mo, m2) == 0;
			}
			if (!seen)
				gm_buf_printf(&b, "%s%s:%s", listed++ ? ", " : "", r, mo);
		}
		if (!listed)
			gm_buf_puts(&b, "none");
	}
	gm_buf_printf(&b, "\nMonitor-Cost: $%.4f\n", m->cost_usd);
	return gm_buf_detach(&b, NULL);
}

int gm_commit_checkout_temp(char **out_dir, git_repository *repo, const git_oid *commit)
{
	git_checkout_options opts;
	git_repository *priv = NULL;
	git_index *mem = NULL;
	git_commit *c = NULL;
	git_tree *tree = NULL;
	const char *tmp = getenv("TMPDIR");
	char *dir;
	int rc = 0;

	*out_dir = NULL;
	dir = gm_xasprintf("%s/git-monitor-verify-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		gm_error_set("cannot create a temporary directory in '%s'", tmp && *tmp ? tmp : "/tmp");
		free(dir);
		return GM_ERROR;
	}
	/*
	 * A private handle on the same repository with an in-memory index: even
	 * if checkout wanted to record what it wrote, the user's index file could
	 * not be reached (an in-memory index refuses to be written).
	 */
	if (git_repository_open(&priv, git_repository_path(repo)) < 0 || git_index_new(&mem) < 0 ||
	    git_repository_set_index(priv, mem) < 0) {
		rc = gm_error_git(GM_ERROR, "cannot prepare a temporary checkout");
		goto cleanup;
	}
	if (git_commit_lookup(&c, priv, commit) < 0 || git_commit_tree(&tree, c) < 0) {
		char hex[GIT_OID_HEXSZ + 1];
		rc = gm_error_git(GM_EFATAL, "cannot read commit %s",
		                  git_oid_tostr(hex, sizeof(hex), commit));
		goto cleanup;
	}
	git_checkout_options_init(&opts, GIT_CHECKOUT_OPTIONS_VERSION);
	opts.checkout_strategy = GIT_CHECKOUT_FORCE | GIT_CHECKOUT_DONT_UPDATE_INDEX |
	                         GIT_CHECKOUT_DONT_WRITE_INDEX | GIT_CHECKOUT_NO_REFRESH;
	opts.target_directory = dir;
	opts.baseline_index = mem; /* empty: every file of the tree is written */
	if (git_checkout_tree(priv, (const git_object *)tree, &opts) < 0) {
		rc = gm_error_git(GM_ERROR, "cannot check out into '%s'", dir);
		goto cleanup;
	}
cleanup:
	git_tree_free(tree);
	git_commit_free(c);
	git_index_free(mem);
	git_repository_free(priv);
	if (rc < 0) {
		gm_commit_checkout_remove(dir);
		free(dir);
	} else {
		*out_dir = dir;
	}
	return rc;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 ? -1 : 0;
}

int gm_commit_checkout_remove(const char *dir)
{
	if (!dir)
		return 0;
	if (nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0) {
		gm_error_set("cannot remove temporary checkout '%s'", dir);
		return GM_ERROR;
	}
	return 0;
}
