/*
 * verify.c: run --verify's command on subsets of the edits, and bisect
 * (verify.h).
 */
#include "monitor/verify.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "monitor/commit.h"
#include "monitor/error.h"
#include "monitor/util.h"
#include "monitor/banned.h"

#define VERIFY_KILL_GRACE_S 2 /* between SIGTERM and SIGKILL */

/* How a run of the command went. */
enum outcome {
	PASSES = 1,
	FAILS,
	TIMED_OUT,
};

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Reap `pid` if it has exited: true when it is gone. */
static bool reaped(pid_t pid, int *status)
{
	pid_t r = waitpid(pid, status, WNOHANG);
	return r == pid || (r < 0 && errno != EINTR);
}

/* Stop the command's whole group: SIGTERM, a grace period, then SIGKILL; reap the leader. */
static void stop_group(pid_t pid, int *status)
{
	uint64_t until = gm_now_ms() + VERIFY_KILL_GRACE_S * 1000;
	bool gone;

	kill(-pid, SIGTERM);
	while (!(gone = reaped(pid, status)) && gm_now_ms() < until)
		nap_ms(20);
	/* What the leader started may outlive it; the group goes too. */
	kill(-pid, SIGKILL);
	if (!gone)
		while (waitpid(pid, status, 0) < 0 && errno == EINTR)
			;
}

/* Run the command on the base + the edits with on[] set: PASSES, FAILS, TIMED_OUT or <0. */
static int run_on(const struct gm_verify *v, const bool *on)
{
	struct gm_merged m = { 0 };
	char *dir = NULL;
	git_oid commit;
	uint64_t deadline;
	pid_t pid;
	int rc, status = -1; /* not waited for: a failure */
	bool timed_out = false;

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
		setpgid(0, 0); /* its own group, so all it starts can be stopped together */
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
	setpgid(pid, pid); /* also here: no race with the child's own call */
	deadline = v->timeout_s > 0 ? gm_now_ms() + (uint64_t)v->timeout_s * 1000 : 0;
	for (long nap = 1; !reaped(pid, &status);) {
		if (*v->interrupted || (deadline && gm_now_ms() >= deadline)) {
			timed_out = !*v->interrupted;
			stop_group(pid, &status);
			break;
		}
		nap_ms(nap);
		if (nap < 50)
			nap *= 2;
	}
	gm_commit_checkout_remove(dir);
	free(dir);
	if (*v->interrupted)
		return GM_EINTERRUPTED;
	if (timed_out)
		return TIMED_OUT;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? PASSES : FAILS;
}

/*
 * Blame the candidates `cand` on top of `good` (which passes), knowing they
 * fail together with outcome `how`: the bad ones get `how` in `bad`.
 */
static int bisect(const struct gm_verify *v, bool *good, const size_t *cand, size_t ncand,
                  unsigned char *bad, int how)
{
	bool *on;
	int rc = 0;

	if (ncand == 1) {
		bad[cand[0]] = (unsigned char)how; /* FAILS or TIMED_OUT, never 0 */
		return 0;
	}
	on = gm_xcalloc(v->nedits, sizeof(bool));
	for (int half = 0; half < 2 && rc >= 0; half++) {
		size_t lo = half ? ncand / 2 : 0, hi = half ? ncand : ncand / 2;
		memcpy(on, good, v->nedits * sizeof(bool));
		for (size_t k = lo; k < hi; k++)
			on[cand[k]] = true;
		rc = run_on(v, on);
		if (rc == PASSES)
			memcpy(good, on, v->nedits * sizeof(bool));
		else if (rc == FAILS || rc == TIMED_OUT)
			rc = bisect(v, good, cand + lo, hi - lo, bad, rc);
	}
	free(on);
	return rc < 0 ? rc : 0;
}

int gm_verify_bisect(bool *keep, bool *timed_out, const struct gm_verify *v)
{
	bool *good;
	unsigned char *bad;
	size_t *cand;
	int rc, all;

	if (!v->nedits)
		return 0;
	all = run_on(v, keep);
	if (all < 0 || all == PASSES)
		return all < 0 ? all : 0;
	good = gm_xcalloc(v->nedits, sizeof(bool));
	bad = gm_xcalloc(v->nedits, sizeof(unsigned char));
	cand = gm_xcalloc(v->nedits, sizeof(size_t));
	for (size_t i = 0; i < v->nedits; i++)
		cand[i] = i;
	/* The base itself must pass, or no edit can be blamed. */
	rc = run_on(v, good);
	if (rc == FAILS) {
		gm_error_set("--verify command fails on the base commit already: '%s'", v->cmd);
		rc = GM_ERROR;
	} else if (rc == TIMED_OUT) {
		gm_error_set("--verify command timed out after %ld s on the base commit already "
		             "(monitor.verify.timeout): '%s'", v->timeout_s, v->cmd);
		rc = GM_ERROR;
	} else if (rc == PASSES) {
		rc = bisect(v, good, cand, v->nedits, bad, all);
		for (size_t i = 0; rc == 0 && i < v->nedits; i++) {
			keep[i] = !bad[i];
			if (timed_out)
				timed_out[i] = bad[i] == TIMED_OUT;
		}
	}
	free(good);
	free(bad);
	free(cand);
	return rc;
}
