/*
 * hook.c: installing and removing the pre-commit script, the staged-diff
 * complexity check the script runs, and the detached start of a
 * background refactor (hook.h).
 */
#include "monitor/hook.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>
#include <git2/sys/repository.h>

#include "monitor/error.h"
#include "monitor/index.h"
#include "monitor/plan.h"
#include "monitor/repo.h"
#include "monitor/util.h"
#include "monitor/banned.h"

int gm_hook_dir(char **out, git_repository *repo)
{
	git_config *cfg = NULL;
	git_buf value = GIT_BUF_INIT;
	int rc = 0, err;

	*out = NULL;
	if (git_repository_config_snapshot(&cfg, repo) < 0)
		return gm_error_git(GM_ERROR, "cannot read git config");
	err = git_config_get_path(&value, cfg, "core.hooksPath");
	if (err == 0 && value.ptr && *value.ptr) {
		if (value.ptr[0] == '/') {
			*out = gm_xstrdup(value.ptr);
		} else {
			const char *base = git_repository_workdir(repo);
			if (!base)
				base = git_repository_path(repo);
			*out = gm_xasprintf("%s%s", base, value.ptr);
		}
	} else if (err < 0 && err != GIT_ENOTFOUND) {
		rc = gm_error_git(GM_ERROR, "cannot read 'core.hooksPath'");
	} else {
		git_error_clear();
		/* the common dir: linked worktrees share the main repository's hooks */
		*out = gm_xasprintf("%shooks", git_repository_commondir(repo));
	}
	git_buf_dispose(&value);
	git_config_free(cfg);
	return rc;
}

/* Shell single-quoting: ' becomes '\'' */
static void put_quoted(struct gm_buf *b, const char *s)
{
	gm_buf_puts(b, "'");
	for (; *s; s++) {
		if (*s == '\'')
			gm_buf_puts(b, "'\\''");
		else
			gm_buf_put(b, s, 1);
	}
	gm_buf_puts(b, "'");
}

static char *script_text(const char *self_exe)
{
	struct gm_buf b = GM_BUF_INIT;

	gm_buf_puts(&b,
	            "#!/bin/sh\n" GM_HOOK_MARKER "\n"
	            "# Written by 'git monitor hook install'; 'git monitor hook uninstall'\n"
	            "# removes it and puts back the hook it chained, if any.\n"
	            "chained=\"$(dirname \"$0\")/" GM_HOOK_CHAINED_NAME "\"\n"
	            "if [ -f \"$chained\" ] && [ -x \"$chained\" ]; then\n"
	            "\t\"$chained\" \"$@\" || exit $?\n"
	            "fi\n"
	            "if command -v git-monitor >/dev/null 2>&1 ||\n"
	            "   [ -x \"$(git --exec-path)/git-monitor\" ]; then\n"
	            "\texec git monitor hook run pre-commit\n"
	            "fi\n");
	if (self_exe) {
		gm_buf_puts(&b, "fallback=");
		put_quoted(&b, self_exe);
		gm_buf_puts(&b, "\n"
		                "if [ -x \"$fallback\" ]; then\n"
		                "\texec \"$fallback\" hook run pre-commit\n"
		                "fi\n");
	}
	gm_buf_puts(&b, "echo 'git-monitor: not found on PATH; pre-commit check skipped' >&2\n"
	                "exit 0\n");
	return gm_buf_detach(&b, NULL);
}

/* A regular file whose text holds our marker line. */
static bool is_ours(const char *path)
{
	char buf[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NOFOLLOW);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return strstr(buf, "\n" GM_HOOK_MARKER "\n") != NULL;
}

static int write_script(const char *path, const char *self_exe)
{
	char *text = script_text(self_exe);
	int rc = gm_write_file_atomic(path, text, strlen(text));
	free(text);
	if (rc < 0)
		return rc;
	if (chmod(path, 0755) < 0) {
		gm_error_set("cannot make '%s' executable: %s", path, strerror(errno));
		return GM_ERROR;
	}
	return 0;
}

static int rename_or_fail(const char *from, const char *to)
{
	if (rename(from, to) < 0) {
		gm_error_set("cannot rename '%s' to '%s': %s", from, to, strerror(errno));
		return GM_ERROR;
	}
	return 0;
}

int gm_hook_install(enum gm_hook_result *out, char **hook_path, git_repository *repo,
                    const char *self_exe, bool force)
{
	char *dir = NULL, *path = NULL, *chained = NULL, *old = NULL;
	struct stat st, cst;
	bool have_chained;
	int rc;

	if (hook_path)
		*hook_path = NULL;
	if ((rc = gm_hook_dir(&dir, repo)) < 0)
		return rc;
	if ((rc = gm_mkdirs(dir)) < 0)
		goto cleanup;
	path = gm_xasprintf("%s/pre-commit", dir);
	chained = gm_xasprintf("%s/" GM_HOOK_CHAINED_NAME, dir);
	old = gm_xasprintf("%s/" GM_HOOK_CHAINED_NAME ".old", dir);
	have_chained = lstat(chained, &cst) == 0;

	if (lstat(path, &st) < 0) {
		if (errno != ENOENT) {
			gm_error_set("cannot read '%s': %s", path, strerror(errno));
			rc = GM_ERROR;
			goto cleanup;
		}
		if (have_chained && !force) {
			gm_error_set("'%s' exists without a pre-commit hook; move it away or use --force",
			             chained);
			rc = GM_EEXISTS;
			goto cleanup;
		}
		rc = write_script(path, self_exe);
		*out = GM_HOOK_INSTALLED;
		goto cleanup;
	}
	if (S_ISREG(st.st_mode) && is_ours(path)) {
		rc = write_script(path, self_exe);
		*out = GM_HOOK_ALREADY;
		goto cleanup;
	}
	if (!force) {
		const char *why = S_ISLNK(st.st_mode)  ? "it is a symbolic link"
		                  : S_ISDIR(st.st_mode) ? "it is a directory"
		                  : !S_ISREG(st.st_mode) ? "it is not a regular file"
		                  : have_chained         ? "'" GM_HOOK_CHAINED_NAME "' already exists"
		                                         : NULL;
		if (why) {
			gm_error_set("cannot chain the existing hook '%s': %s; use --force to chain it anyway",
			             path, why);
			rc = GM_EEXISTS;
			goto cleanup;
		}
	}
	if (have_chained) {
		/* --force: keep the older chained hook too, renamed, never deleted */
		struct stat ost;
		if (lstat(old, &ost) == 0) {
			gm_error_set("cannot chain the existing hook: both '%s' and '%s' exist", chained, old);
			rc = GM_EEXISTS;
			goto cleanup;
		}
		if ((rc = rename_or_fail(chained, old)) < 0)
			goto cleanup;
	}
	if ((rc = rename_or_fail(path, chained)) < 0)
		goto cleanup;
	if ((rc = write_script(path, self_exe)) < 0) {
		/* put things back as they were */
		rename(chained, path);
		if (have_chained)
			rename(old, chained);
		goto cleanup;
	}
	*out = GM_HOOK_CHAINED;
cleanup:
	if (rc == 0 && hook_path) {
		*hook_path = path;
		path = NULL;
	}
	free(old);
	free(chained);
	free(path);
	free(dir);
	return rc;
}

int gm_hook_uninstall(enum gm_hook_result *out, char **hook_path, git_repository *repo)
{
	char *dir = NULL, *path = NULL, *chained = NULL, *old = NULL;
	struct stat st;
	int rc;

	if (hook_path)
		*hook_path = NULL;
	if ((rc = gm_hook_dir(&dir, repo)) < 0)
		return rc;
	path = gm_xasprintf("%s/pre-commit", dir);
	chained = gm_xasprintf("%s/" GM_HOOK_CHAINED_NAME, dir);
	old = gm_xasprintf("%s/" GM_HOOK_CHAINED_NAME ".old", dir);
	if (lstat(path, &st) < 0) {
		*out = GM_HOOK_NOT_INSTALLED;
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode) || !is_ours(path)) {
		gm_error_set("'%s' is not git-monitor's hook; left alone", path);
		rc = GM_EEXISTS;
		goto cleanup;
	}
	if (unlink(path) < 0) {
		gm_error_set("cannot remove '%s': %s", path, strerror(errno));
		rc = GM_ERROR;
		goto cleanup;
	}
	*out = GM_HOOK_REMOVED;
	if (lstat(chained, &st) == 0) {
		if ((rc = rename_or_fail(chained, path)) < 0)
			goto cleanup;
		*out = GM_HOOK_RESTORED;
		if (lstat(old, &st) == 0 && (rc = rename_or_fail(old, chained)) < 0)
			goto cleanup;
	}
cleanup:
	if (hook_path) {
		*hook_path = path;
		path = NULL;
	}
	free(old);
	free(chained);
	free(path);
	free(dir);
	return rc;
}

/* Only the staged changes are judged: the other files need not be read. */
static bool is_changed(const char *path, void *changes)
{
	return gm_changed_lines_find(changes, path) != NULL;
}

int gm_hook_check(struct gm_hook_findings *out, git_repository *repo, unsigned max)
{
	git_index *index = NULL;
	git_reference *head = NULL;
	git_tree *tree = NULL;
	struct gm_changed_lines changes = { 0 };
	struct gm_index *idx = NULL;
	struct gm_index_opts io = { 0 };
	size_t *touched = NULL, ntouched;
	int rc, err;

	memset(out, 0, sizeof(*out));
	if ((rc = gm_repo_index(&index, repo)) < 0)
		goto cleanup;
	err = git_repository_head(&head, repo);
	if (err == 0) {
		if (git_reference_peel((git_object **)&tree, head, GIT_OBJECT_TREE) < 0) {
			rc = gm_error_git(GM_EFATAL, "cannot read the tree of 'HEAD'");
			goto cleanup;
		}
	} else if (err == GIT_EUNBORNBRANCH || err == GIT_ENOTFOUND) {
		git_error_clear(); /* unborn: every staged file is new */
	} else {
		rc = gm_error_git(GM_EFATAL, "cannot resolve 'HEAD'");
		goto cleanup;
	}
	/* The same rule as `refactor --staged` (plan.h): both ask what the staged diff touches. */
	if ((rc = gm_repo_changed_lines(&changes, repo, tree, NULL, index)) < 0 || !changes.n)
		goto cleanup;
	io.staged = true;
	io.complexity_threshold = max + 1;
	io.scan_filter = is_changed;
	io.scan_filter_data = &changes;
	if ((rc = gm_index_build(&idx, repo, &io)) < 0)
		goto cleanup;
	ntouched = gm_plan_select_touched(&touched, idx, &changes);
	for (size_t i = 0; i < ntouched; i++) {
		const struct gm_unit *u = gm_index_unit(idx, touched[i]);
		const struct gm_file *f = &idx->files[idx->units[touched[i]].file];

		if (u->complexity <= max)
			continue;
		GM_GROW(out->items, out->cap, out->n + 1);
		out->items[out->n].path = gm_xstrdup(f->path);
		out->items[out->n].line = u->start_line;
		out->items[out->n].name = gm_xstrdup(u->name);
		out->items[out->n].complexity = u->complexity;
		out->n++;
	}
cleanup:
	free(touched);
	gm_changed_lines_release(&changes);
	gm_index_free(idx);
	git_tree_free(tree);
	git_reference_free(head);
	git_index_free(index);
	if (rc < 0)
		gm_hook_findings_release(out);
	return rc;
}

void gm_hook_findings_release(struct gm_hook_findings *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++) {
		free(f->items[i].path);
		free(f->items[i].name);
	}
	free(f->items);
	memset(f, 0, sizeof(*f));
}

/* The pid of the nearest `git ... commit ...` ancestor, or 0. */
static pid_t commit_ancestor(void)
{
	pid_t pid = getppid();

	for (int depth = 0; depth < 8 && pid > 1; depth++) {
		char path[64], buf[4096];
		ssize_t n;
		int fd;
		pid_t parent = 0;
		char *p;

		snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
		if ((fd = open(path, O_RDONLY)) >= 0) {
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			if (n > 0) {
				const char *arg0 = buf, *base = strrchr(arg0, '/');
				buf[n] = '\0';
				base = base ? base + 1 : arg0;
				if (strcmp(base, "git") == 0) {
					for (ssize_t i = (ssize_t)strlen(buf) + 1; i < n; i += (ssize_t)strlen(buf + i) + 1)
						if (strcmp(buf + i, "commit") == 0)
							return pid;
				}
			}
		}
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		if ((fd = open(path, O_RDONLY)) < 0)
			break;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			break;
		buf[n] = '\0';
		/* "pid (comm) state ppid ...": comm may hold spaces and parentheses */
		if (!(p = strrchr(buf, ')')) || sscanf(p + 1, " %*c %d", &parent) != 1)
			break;
		pid = parent;
	}
	return 0;
}

/* In the detached child: wait until the commit in progress lands. */
static bool wait_for_commit(pid_t committer, const char *gitdir, const git_oid *old_head)
{
	struct timespec ts = { 0, 200 * 1000 * 1000 };
	git_repository *repo = NULL;
	bool landed = false;

	if (git_repository_open(&repo, gitdir) < 0)
		return false;
	for (;;) {
		git_oid head;
		bool alive = kill(committer, 0) == 0 || errno == EPERM;
		if (git_reference_name_to_id(&head, repo, "HEAD") == 0 && !git_oid_equal(&head, old_head)) {
			landed = true;
			break;
		}
		if (!alive) /* one last look above happened after it ended */
			break;
		nanosleep(&ts, NULL);
	}
	git_repository_free(repo);
	return landed;
}

int gm_hook_spawn_detached(const char *const *argv, const char *log_path, git_repository *repo)
{
	pid_t pid, committer = commit_ancestor();
	git_oid old_head;
	int status = 0;

	if (git_reference_name_to_id(&old_head, repo, "HEAD") < 0) {
		git_error_clear();
		memset(&old_head, 0, sizeof(old_head)); /* unborn */
	}
	pid = fork();
	if (pid < 0) {
		gm_error_set("cannot start '%s': %s", argv[0], strerror(errno));
		return GM_ERROR;
	}
	if (pid == 0) {
		int fd;
		/* own session, no controlling terminal; the middle process exits at once */
		if (setsid() < 0 || fork() != 0)
			_exit(0);
		fd = open("/dev/null", O_RDONLY);
		if (fd >= 0) {
			dup2(fd, 0);
			if (fd > 0)
				close(fd);
		}
		fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd < 0)
			fd = open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			if (fd > 2)
				close(fd);
		}
		/* close git's pipes, so nothing waits for us to finish */
		for (int i = 3; i < 1024; i++)
			close(i);
		signal(SIGHUP, SIG_IGN);
		/* the commit's temporary index is gone by the time we run */
		unsetenv("GIT_INDEX_FILE");
		if (committer && !wait_for_commit(committer, git_repository_path(repo), &old_head)) {
			fprintf(stderr, "git-monitor: the commit did not happen; background refactor not started\n");
			_exit(0);
		}
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "git-monitor: cannot run '%s': %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return 0;
}
