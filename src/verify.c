/*
 * verify.c: run --verify's command on subsets of the edits, and bisect
 * (verify.h).
 */
#include "monitor/verify.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "monitor/commit.h"
#include "monitor/error.h"
#include "monitor/util.h"
#include "monitor/banned.h"

/* Does the command pass on the base + the edits with on[] set?  1 yes, 0 no, <0 error. */
static int passes(const struct gm_verify *v, const bool *on)
{
	struct gm_merged m = { 0 };
	char *dir = NULL;
	git_oid commit;
	pid_t pid;
	int rc, status = -1; /* not waited for: a failure */

	if ((rc = gm_merge_files(&m, NULL, v->files, v->nfiles, on, v->parser)) < 0)
		return rc;
	rc = gm_commit_create(&commit, v->repo, v->base, m.changes, m.nchanges, "git-monitor verify");
	gm_merged_release(&m);
	if (rc < 0)
		return rc;
	if ((rc = gm_commit_checkout_temp(&dir, v->repo, &commit)) < 0)
		return rc;
	pid = fork();
	if (pid < 0) {
		gm_error_set("cannot run --verify command: %s", strerror(errno));
		gm_commit_checkout_remove(dir);
		free(dir);
		return GM_ERROR;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);
		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 1);
			dup2(devnull, 2);
		}
		if (chdir(dir) < 0)
			_exit(127);
		execl("/bin/sh", "sh", "-c", v->cmd, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			break;
		if (*v->interrupted)
			kill(pid, SIGTERM);
	}
	gm_commit_checkout_remove(dir);
	free(dir);
	if (*v->interrupted)
		return GM_EINTERRUPTED;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Blame the candidates `cand` on top of `good` (which passes): the bad ones go into `bad`. */
static int bisect(const struct gm_verify *v, bool *good, const size_t *cand, size_t ncand, bool *bad)
{
	bool *on;
	int rc = 0;

	if (ncand == 1) {
		bad[cand[0]] = true;
		return 0;
	}
	on = gm_xcalloc(v->nedits, sizeof(bool));
	for (int half = 0; half < 2 && rc >= 0; half++) {
		size_t lo = half ? ncand / 2 : 0, hi = half ? ncand : ncand / 2;
		memcpy(on, good, v->nedits * sizeof(bool));
		for (size_t k = lo; k < hi; k++)
			on[cand[k]] = true;
		rc = passes(v, on);
		if (rc == 1)
			memcpy(good, on, v->nedits * sizeof(bool));
		else if (rc == 0)
			rc = bisect(v, good, cand + lo, hi - lo, bad);
	}
	free(on);
	return rc < 0 ? rc : 0;
}

int gm_verify_bisect(bool *keep, const struct gm_verify *v)
{
	bool *good, *bad;
	size_t *cand;
	int rc;

	if (!v->nedits)
		return 0;
	rc = passes(v, keep);
	if (rc != 0)
		return rc < 0 ? rc : 0; /* all pass (or error) */
	good = gm_xcalloc(v->nedits, sizeof(bool));
	bad = gm_xcalloc(v->nedits, sizeof(bool));
	cand = gm_xcalloc(v->nedits, sizeof(size_t));
	for (size_t i = 0; i < v->nedits; i++)
		cand[i] = i;
	/* The base itself must pass, or no edit can be blamed. */
	rc = passes(v, good);
	if (rc == 0) {
		gm_error_set("--verify command fails on the base commit already: '%s'", v->cmd);
		rc = GM_ERROR;
	} else if (rc == 1) {
		rc = bisect(v, good, cand, v->nedits, bad);
		for (size_t i = 0; rc == 0 && i < v->nedits; i++)
			keep[i] = !bad[i];
	}
	free(good);
	free(bad);
	free(cand);
	return rc;
}
