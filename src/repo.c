#include "monitor/repo.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <git2/sys/repository.h>

#include "monitor/error.h"
#include "monitor/util.h"
#include "monitor/banned.h"

/* An environment variable's value, copied, or NULL. */
static char *env_dup(const char *name)
{
	const char *v = getenv(name);
	return v ? gm_xstrdup(v) : NULL;
}

/*
 * git's discovery through libgit2's GIT_REPOSITORY_OPEN_FROM_ENV (GIT_DIR,
 * GIT_CEILING_DIRECTORIES, GIT_DISCOVERY_ACROSS_FILESYSTEM, GIT_INDEX_FILE,
 * GIT_NAMESPACE, GIT_OBJECT_DIRECTORY, GIT_ALTERNATE_OBJECT_DIRECTORIES).
 * libgit2 1.5 refuses to open when GIT_WORK_TREE is set ("not yet
 * supported"), so it is held back for the open and applied after, as git
 * does: the work tree is GIT_WORK_TREE; else, with GIT_DIR given and no
 * core.worktree, the current directory (git: "you are at the top level of
 * the working tree").  Returns libgit2's code, or 1 with our message set.
 */
static int open_from_env(git_repository **out)
{
	char *work_tree = env_dup("GIT_WORK_TREE");
	const char *git_dir = getenv("GIT_DIR");
	git_config *cfg = NULL;
	git_buf wt = { 0 };
	char *dir = NULL;
	bool skip = false;
	int rc;

	if (work_tree)
		unsetenv("GIT_WORK_TREE");
	rc = git_repository_open_ext(out, NULL, GIT_REPOSITORY_OPEN_FROM_ENV, NULL);
	if (work_tree)
		setenv("GIT_WORK_TREE", work_tree, 1);
	if (rc < 0)
		goto cleanup;
	if (work_tree && *work_tree) {
		dir = realpath(work_tree, NULL);
	} else if (git_dir && *git_dir && !git_repository_is_bare(*out)) {
		bool configured = git_repository_config_snapshot(&cfg, *out) == 0 &&
		                  git_config_get_string_buf(&wt, cfg, "core.worktree") == 0;
		git_error_clear();
		if (!configured)
			dir = realpath(".", NULL);
	}
	if (dir && git_repository_workdir(*out)) {
		/* libgit2 1.5.1 leaks when set_workdir is given the work tree it has: skip that. */
		char *now = realpath(git_repository_workdir(*out), NULL);
		if (now && strcmp(now, dir) == 0) {
			free(dir);
			dir = NULL;
			skip = true;
		}
		free(now);
	}
	if ((work_tree && *work_tree && !dir && !skip) ||
	    (dir && git_repository_set_workdir(*out, dir, 0) < 0)) {
		git_error_clear();
		gm_error_set("cannot use '%s' as the work tree", work_tree && *work_tree ? work_tree : ".");
		git_repository_free(*out);
		*out = NULL;
		rc = 1; /* the message is set */
	}
cleanup:
	git_buf_dispose(&wt);
	git_config_free(cfg);
	free(dir);
	free(work_tree);
	return rc;
}

int gm_repo_open(git_repository **out, const char *path)
{
	int rc;

	/*
	 * A scan reads every blob of a commit; libgit2 hashes each object it
	 * reads again to compare with its id (13% of a warm scan), which git
	 * itself does not do: zlib's checksum and the object's size still
	 * catch a damaged file.
	 */
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 0);
	*out = NULL;
	rc = path ? git_repository_open_ext(out, path, 0, NULL) : open_from_env(out);
	if (rc == 1)
		return GM_ENOREPO;
	if (rc == GIT_ENOTFOUND) {
		git_error_clear();
		gm_error_set("not a git repository");
		return GM_ENOREPO;
	}
	if (rc < 0)
		return gm_error_git(GM_ENOREPO, "cannot open repository");
	return 0;
}

int gm_repo_resolve_commit(git_commit **out, git_repository *repo, const char *rev)
{
	git_object *obj = NULL;
	int rc;

	*out = NULL;
	rc = git_revparse_single(&obj, repo, rev);
	if (rc == GIT_EUNBORNBRANCH ||
	    (rc == GIT_ENOTFOUND && strcmp(rev, "HEAD") == 0 && git_repository_head_unborn(repo) == 1)) {
		gm_error_set("'%s' has no commits yet", rev);
		return GM_EFATAL;
	}
	if (rc == GIT_ENOTFOUND || rc == GIT_EAMBIGUOUS || rc == GIT_EINVALIDSPEC) {
		gm_error_set("bad revision '%s'", rev);
		return GM_EFATAL;
	}
	if (rc < 0)
		return gm_error_git(GM_EFATAL, "cannot resolve '%s'", rev);
	rc = git_object_peel((git_object **)out, obj, GIT_OBJECT_COMMIT);
	git_object_free(obj);
	if (rc < 0) {
		gm_error_set("'%s' does not name a commit", rev);
		return GM_EFATAL;
	}
	return 0;
}

int gm_repo_resolve_tree(git_tree **out, git_repository *repo, const char *rev)
{
	git_commit *c = NULL;
	int rc;

	*out = NULL;
	if ((rc = gm_repo_resolve_commit(&c, repo, rev)) < 0)
		return rc;
	if (git_commit_tree(out, c) < 0)
		rc = gm_error_git(GM_EFATAL, "cannot read '%s'", rev);
	git_commit_free(c);
	return rc;
}

/* ---- pathspecs ------------------------------------------------------------------ */

/*
 * Pathspecs as git takes them (git's pathspec.c and dir.c are the model;
 * this is our own code): optional magic in the long form
 * ":(top,glob,...)path" or the short form ":/path", ":!path", ":^path";
 * a path relative to the current directory unless :(top) or ":/"; and the
 * internal "prefix:N" magic, which says the first N bytes of the path are
 * the directory it was typed in, matched literally.  A path matches one
 * item when it equals it, lies under it (a directory), or matches it as a
 * wildcard pattern (fnmatch-like: '*' crosses '/', unless :(glob), where
 * '*' stays in a component and '**' spans directories); :(literal) has no
 * wildcards, :(icase) ignores ASCII case after the prefix.  A path is
 * selected when it matches an include item (or there are none) and no
 * :(exclude) item.
 */
enum {
	MAGIC_TOP = 1 << 0,
	MAGIC_LITERAL = 1 << 1,
	MAGIC_GLOB = 1 << 2,
	MAGIC_ICASE = 1 << 3,
	MAGIC_EXCLUDE = 1 << 4,
};

static const struct {
	unsigned bit;
	char mnemonic; /* short form, or 0 */
	const char *name;
} magic_names[] = {
	{ MAGIC_TOP, '/', "top" },
	{ MAGIC_LITERAL, 0, "literal" },
	{ MAGIC_GLOB, 0, "glob" },
	{ MAGIC_ICASE, 0, "icase" },
	{ MAGIC_EXCLUDE, '!', "exclude" },
};

#define NMAGIC (sizeof(magic_names) / sizeof(magic_names[0]))

struct ps_item {
	char *match;   /* from the top of the tree */
	size_t len;
	size_t prefix; /* the leading bytes compared exactly */
	size_t nowild; /* the leading bytes without a wildcard */
	unsigned magic;
};

struct gm_pathspec {
	struct ps_item *inc, *exc;
	size_t ninc, nexc;
	bool everything; /* an include item that matches every path */
};

/* What git treats as a short magic character (its ctype's "pathspec magic"). */
static bool is_magic_char(char c)
{
	return c && strchr("!\"#%&',-/:;<=>@_`~", c) != NULL;
}

/*
 * The magic of `spec`: its bits, its prefix:N (-1 when none) and where
 * the path starts.  GM_EUSAGE for magic git would refuse.
 */
static int parse_magic(unsigned *magic, long *prefix, const char **path, const char *spec)
{
	const char *p;

	*magic = 0;
	*prefix = -1;
	*path = spec;
	if (spec[0] != ':')
		return 0;
	if (spec[1] == '(') {
		for (p = spec + 2; *p && *p != ')';) {
			size_t len = strcspn(p, ",)");
			size_t i;
			if (len == 0) {
				p += *p == ',';
				continue;
			}
			if (len > 7 && strncmp(p, "prefix:", 7) == 0) {
				char *end;
				long n = strtol(p + 7, &end, 10);
				if (end != p + len || n < 0) {
					gm_error_set("invalid parameter for pathspec magic 'prefix' in '%s'", spec);
					return GM_EUSAGE;
				}
				*prefix = n;
			} else if (len >= 4 && strncmp(p, "attr", 4) == 0 && (len == 4 || p[4] == ':')) {
				gm_error_set("pathspec magic 'attr' is not supported: '%s'", spec);
				return GM_EUSAGE;
			} else {
				for (i = 0; i < NMAGIC; i++)
					if (strlen(magic_names[i].name) == len && !strncmp(magic_names[i].name, p, len))
						break;
				if (i == NMAGIC) {
					gm_error_set("invalid pathspec magic '%.*s' in '%s'", (int)len, p, spec);
					return GM_EUSAGE;
				}
				*magic |= magic_names[i].bit;
			}
			p += len;
			p += *p == ',';
		}
		if (*p != ')') {
			gm_error_set("missing ')' at the end of pathspec magic in '%s'", spec);
			return GM_EUSAGE;
		}
		*path = p + 1;
	} else {
		for (p = spec + 1; *p && *p != ':'; p++) {
			size_t i;
			if (*p == '^') {
				*magic |= MAGIC_EXCLUDE;
				continue;
			}
			if (!is_magic_char(*p))
				break;
			for (i = 0; i < NMAGIC; i++)
				if (magic_names[i].mnemonic == *p)
					break;
			if (i == NMAGIC) {
				gm_error_set("unimplemented pathspec magic '%c' in '%s'", *p, spec);
				return GM_EUSAGE;
			}
			*magic |= magic_names[i].bit;
		}
		*path = p + (*p == ':');
	}
	if ((*magic & MAGIC_LITERAL) && (*magic & MAGIC_GLOB)) {
		gm_error_set("%s: 'literal' and 'glob' are incompatible", spec);
		return GM_EUSAGE;
	}
	return 0;
}

/*
 * `prefix` (a clean "dir/sub/" or "") and `path` joined, with ".", ".."
 * and empty components resolved; `*kept` is how much of the prefix is left
 * at its head.  NULL when ".." climbs above the top.
 */
static char *join_normalized(const char *prefix, const char *path, size_t *kept)
{
	struct gm_buf b = GM_BUF_INIT;
	size_t plen = strlen(prefix);
	const char *p = path;
	bool dir = false;

	gm_buf_put(&b, prefix, plen);
	*kept = plen;
	while (*p) {
		size_t len = strcspn(p, "/");
		dir = p[len] == '/';
		if (len == 0 || (len == 1 && p[0] == '.')) {
			/* "//" or "./": nothing */
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			size_t n = b.len;
			if (!n) {
				gm_buf_release(&b);
				return NULL;
			}
			n--; /* the '/' that ends the last component */
			while (n && b.ptr[n - 1] != '/')
				n--;
			b.len = n;
			b.ptr[n] = '\0';
			if (*kept > n)
				*kept = n;
		} else {
			gm_buf_put(&b, p, len);
			gm_buf_puts(&b, "/");
		}
		p += len + (p[len] == '/');
	}
	/* Components end in '/' in the buffer; the last keeps it only if typed. */
	if (b.len && b.ptr[b.len - 1] == '/' && b.len > *kept && !dir && *path)
		b.ptr[--b.len] = '\0';
	return gm_buf_detach(&b, NULL);
}

int gm_repo_prefix(char **out, git_repository *repo)
{
	const char *wd = git_repository_workdir(repo);
	char *cwd = NULL, *top = NULL, *gitdir = NULL;
	size_t n;

	*out = NULL;
	if (!wd || !(cwd = realpath(".", NULL)) || !(top = realpath(wd, NULL))) {
		free(cwd);
		*out = gm_xstrdup("");
		return 0;
	}
	n = strlen(top);
	gitdir = realpath(git_repository_path(repo), NULL);
	/* Inside the work tree, but not inside the repository's own directory. */
	if (strncmp(cwd, top, n) == 0 && (cwd[n] == '/' || !cwd[n]) &&
	    !(gitdir && strncmp(cwd, gitdir, strlen(gitdir)) == 0 &&
	      (cwd[strlen(gitdir)] == '/' || !cwd[strlen(gitdir)])))
		*out = cwd[n] ? gm_xasprintf("%s/", cwd + n + 1) : gm_xstrdup("");
	else
		*out = gm_xstrdup("");
	free(cwd);
	free(top);
	free(gitdir);
	return 0;
}

int gm_pathspec_prefix(char ***out, const char *prefix, const char *const *specs, size_t n)
{
	char **v = gm_xcalloc(n + 1, sizeof(char *));
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		struct gm_buf b = GM_BUF_INIT;
		const char *path;
		unsigned magic;
		long pre;
		size_t kept;
		char *match;

		if (!*specs[i]) {
			gm_error_set("empty string is not a valid pathspec; use . to match every path");
			rc = GM_EUSAGE;
			break;
		}
		if ((rc = parse_magic(&magic, &pre, &path, specs[i])) < 0)
			break;
		if (pre >= 0) { /* already from the top */
			v[i] = gm_xstrdup(specs[i]);
			continue;
		}
		match = join_normalized(magic & MAGIC_TOP ? "" : prefix, path, &kept);
		if (!match) {
			gm_error_set("pathspec '%s' is outside the repository", specs[i]);
			rc = GM_EUSAGE;
			break;
		}
		gm_buf_puts(&b, ":(");
		for (size_t k = 0; k < NMAGIC; k++)
			if ((magic & magic_names[k].bit) && magic_names[k].bit != MAGIC_TOP)
				gm_buf_printf(&b, "%s,", magic_names[k].name);
		gm_buf_printf(&b, "prefix:%zu)%s", kept, match);
		free(match);
		v[i] = gm_buf_detach(&b, NULL);
	}
	if (rc < 0) {
		gm_pathspec_strv_free(v, n);
		return rc;
	}
	*out = v;
	return 0;
}

void gm_pathspec_strv_free(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* ---- wildcard matching ------------------------------------------------------------ */

enum { WM_MATCH, WM_NOMATCH, WM_ABORT_ALL, WM_ABORT_TO_STARSTAR };

static int fold(int c, bool icase)
{
	return icase && c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static bool in_class(const char *name, size_t len, int c)
{
	static const struct {
		const char *name;
		int (*fn)(int);
	} classes[] = {
		{ "alnum", isalnum }, { "alpha", isalpha }, { "blank", isblank }, { "cntrl", iscntrl },
		{ "digit", isdigit }, { "graph", isgraph }, { "lower", islower }, { "print", isprint },
		{ "punct", ispunct }, { "space", isspace }, { "upper", isupper }, { "xdigit", isxdigit },
	};
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		if (strlen(classes[i].name) == len && !strncmp(classes[i].name, name, len))
			return c < 128 && classes[i].fn(c);
	return false;
}

/*
 * A bracket expression at `*pp` (just past '[') against `c`: 1 or 0, and
 * `*pp` at its closing ']'; -1 when it never closes.
 */
static int bracket(const char **pp, int c, bool icase)
{
	const char *p = *pp;
	bool neg = false, hit = false, first = true;

	if (*p == '!' || *p == '^') {
		neg = true;
		p++;
	}
	for (; first || *p != ']'; first = false) {
		int lo, hi;
		if (!*p)
			return -1;
		if (p[0] == '[' && p[1] == ':') {
			const char *end = strstr(p + 2, ":]");
			if (end) {
				if (in_class(p + 2, (size_t)(end - p - 2), c) ||
				    (icase && in_class(p + 2, (size_t)(end - p - 2), toupper(c))))
					hit = true;
				p = end + 2;
				continue;
			}
		}
		if (*p == '\\' && p[1])
			p++;
		lo = hi = (unsigned char)*p;
		if (p[1] == '-' && p[2] && p[2] != ']') {
			p += 2;
			if (*p == '\\' && p[1])
				p++;
			hi = (unsigned char)*p;
		}
		if ((c >= lo && c <= hi) ||
		    (icase && fold(c, true) >= fold(lo, true) && fold(c, true) <= fold(hi, true)) ||
		    (icase && toupper(c) >= lo && toupper(c) <= hi))
			hit = true;
		p++;
	}
	*pp = p;
	return hit != neg;
}

/* `p` against all of `t`; `pat` is the whole pattern (for "**" at its start). */
static int wildmatch(const char *pat, const char *p, const char *t, bool pathname, bool icase)
{
	for (; *p; p++, t++) {
		int c = (unsigned char)*t;
		switch (*p) {
		case '?':
			if (!c)
				return WM_ABORT_ALL;
			if (pathname && c == '/')
				return WM_NOMATCH;
			break;
		case '[': {
			const char *q = p + 1;
			int r;
			if (!c)
				return WM_ABORT_ALL;
			r = bracket(&q, c, icase);
			if (r < 0)
				return WM_ABORT_ALL; /* never closes: nothing can match */
			if (!r || (pathname && c == '/'))
				return WM_NOMATCH;
			p = q;
			break;
		}
		case '*': {
			const char *first = p;
			bool starstar = !pathname;
			int r;
			while (p[1] == '*')
				p++;
			/* "**" spans directories only as a whole component (pathname). */
			if (pathname && p > first && (first == pat || first[-1] == '/') &&
			    (p[1] == '\0' || p[1] == '/')) {
				starstar = true;
				if (p[1] == '/') {
					/* "**<slash>": zero or more directories, then the rest. */
					for (const char *s = t;; s++) {
						if (s == t || s[-1] == '/') {
							r = wildmatch(pat, p + 2, s, pathname, icase);
							if (r == WM_MATCH)
								return WM_MATCH;
						}
						if (!*s)
							return WM_ABORT_ALL;
					}
				}
			}
			p++;
			if (!*p)
				return starstar || !strchr(t, '/') ? WM_MATCH : WM_NOMATCH;
			for (;; t++) {
				r = wildmatch(pat, p, t, pathname, icase);
				if (r == WM_MATCH || r == WM_ABORT_ALL)
					return r;
				if (r == WM_ABORT_TO_STARSTAR && !starstar)
					return r;
				if (!*t)
					return WM_ABORT_ALL;
				if (!starstar && *t == '/')
					return WM_ABORT_TO_STARSTAR;
			}
		}
		case '\\':
			if (p[1])
				p++;
			/* fall through */
		default:
			if (!c)
				return WM_ABORT_ALL;
			if (fold(c, icase) != fold((unsigned char)*p, icase))
				return WM_NOMATCH;
			break;
		}
	}
	return *t ? WM_NOMATCH : WM_MATCH;
}

bool gm_wildmatch(const char *pattern, const char *text, bool pathname, bool icase)
{
	return wildmatch(pattern, pattern, text, pathname, icase) == WM_MATCH;
}

/* ---- matching ---------------------------------------------------------------------- */

static size_t simple_length(const char *s)
{
	return strcspn(s, "*?[\\");
}

static int item_init(struct ps_item *it, const char *spec)
{
	const char *path;
	unsigned magic;
	long pre;
	size_t kept;
	int rc;

	memset(it, 0, sizeof(*it));
	if ((rc = parse_magic(&magic, &pre, &path, spec)) < 0)
		return rc;
	if (pre >= 0) {
		it->match = gm_xstrdup(path);
		kept = (size_t)pre;
	} else if (!(it->match = join_normalized("", path, &kept))) {
		gm_error_set("pathspec '%s' is outside the repository", spec);
		return GM_EUSAGE;
	}
	it->len = strlen(it->match);
	it->prefix = kept > it->len ? it->len : kept;
	it->magic = magic;
	it->nowild = magic & MAGIC_LITERAL ? it->len : simple_length(it->match);
	if (it->nowild < it->prefix)
		it->nowild = it->prefix;
	return 0;
}

static bool item_matches(const struct ps_item *it, const char *path)
{
	bool icase = it->magic & MAGIC_ICASE;
	size_t n = strlen(path), mlen = it->len - it->prefix;
	const char *m = it->match + it->prefix, *name = path + it->prefix;

	/* The directory it was typed in is compared exactly, :(icase) or not. */
	if (n < it->prefix || strncmp(it->match, path, it->prefix) != 0)
		return false;
	if (!mlen)
		return true;
	if (mlen <= n - it->prefix &&
	    (icase ? strncasecmp(m, name, mlen) : strncmp(m, name, mlen)) == 0 &&
	    (mlen == n - it->prefix || m[mlen - 1] == '/' || name[mlen] == '/'))
		return true;
	if (it->nowild < it->len) {
		/* The part before the first wildcard is plain text; the pattern is all of it. */
		return gm_wildmatch(m, name, it->magic & MAGIC_GLOB, icase);
	}
	return false;
}

int gm_pathspec_new(struct gm_pathspec **out, const char *const *specs, size_t n)
{
	struct gm_pathspec *p = gm_xcalloc(1, sizeof(*p));
	int rc = 0;

	*out = NULL;
	p->inc = gm_xcalloc(n + 1, sizeof(*p->inc));
	p->exc = gm_xcalloc(n + 1, sizeof(*p->exc));
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct ps_item it;
		if (!*specs[i]) {
			gm_error_set("empty string is not a valid pathspec; use . to match every path");
			rc = GM_EUSAGE;
			break;
		}
		if ((rc = item_init(&it, specs[i])) < 0) {
			free(it.match);
			break;
		}
		if (it.magic & MAGIC_EXCLUDE) {
			p->exc[p->nexc++] = it;
		} else {
			p->everything |= it.len == 0;
			p->inc[p->ninc++] = it;
		}
	}
	if (rc < 0) {
		gm_pathspec_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

bool gm_pathspec_matches(const struct gm_pathspec *ps, const char *path)
{
	bool in;

	if (!ps)
		return true;
	/* Only excludes: everything else is included, as git does. */
	in = !ps->ninc || ps->everything;
	for (size_t i = 0; !in && i < ps->ninc; i++)
		in = item_matches(&ps->inc[i], path);
	for (size_t i = 0; in && i < ps->nexc; i++)
		in = !item_matches(&ps->exc[i], path);
	return in;
}

void gm_pathspec_free(struct gm_pathspec *ps)
{
	if (!ps)
		return;
	for (size_t i = 0; i < ps->ninc; i++)
		free(ps->inc[i].match);
	for (size_t i = 0; i < ps->nexc; i++)
		free(ps->exc[i].match);
	free(ps->inc);
	free(ps->exc);
	free(ps);
}

static void push_entry(struct gm_entries *out, const char *path, const git_oid *oid, uint32_t mode)
{
	GM_GROW(out->items, out->cap, out->n + 1);
	out->items[out->n].path = gm_xstrdup(path);
	git_oid_cpy(&out->items[out->n].oid, oid);
	out->items[out->n].mode = mode;
	out->n++;
}

struct walk_ctx {
	struct gm_entries *out;
	const struct gm_pathspec *ps;
};

static int walk_cb(const char *root, const git_tree_entry *entry, void *payload)
{
	struct walk_ctx *ctx = payload;
	git_filemode_t mode = git_tree_entry_filemode(entry);
	char *path;

	if (mode == GIT_FILEMODE_TREE)
		return 0;
	path = gm_xasprintf("%s%s", root, git_tree_entry_name(entry));
	if (gm_pathspec_matches(ctx->ps, path))
		push_entry(ctx->out, path, git_tree_entry_id(entry), (uint32_t)mode);
	free(path);
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct gm_entry *)a)->path, ((const struct gm_entry *)b)->path);
}

int gm_repo_list_tree(struct gm_entries *out, git_repository *repo, git_tree *tree,
                      const struct gm_pathspec *ps)
{
	struct walk_ctx ctx = { out, ps };
	(void)repo;
	if (git_tree_walk(tree, GIT_TREEWALK_PRE, walk_cb, &ctx) < 0)
		return gm_error_git(GM_EFATAL, "cannot read tree");
	qsort(out->items, out->n, sizeof(*out->items), cmp_entry);
	return 0;
}

int gm_repo_index(git_index **out, git_repository *repo)
{
	const char *env = getenv("GIT_INDEX_FILE");

	*out = NULL;
	if (env && *env) {
		if (git_index_open(out, env) < 0)
			return gm_error_git(GM_EFATAL, "cannot read the index '%s'", env);
		if (git_repository_set_index(repo, *out) < 0) {
			git_index_free(*out);
			*out = NULL;
			return gm_error_git(GM_EFATAL, "cannot use the index '%s'", env);
		}
		return 0;
	}
	if (git_repository_is_bare(repo)) {
		gm_error_set("this operation must be run in a work tree: '%s' is a bare repository",
		             git_repository_path(repo));
		return GM_EFATAL;
	}
	if (git_repository_index(out, repo) < 0)
		return gm_error_git(GM_EFATAL, "cannot read the index");
	return 0;
}

int gm_repo_list_index(struct gm_entries *out, git_repository *repo,
                       const struct gm_pathspec *ps)
{
	git_index *idx = NULL;
	size_t n;
	int rc;

	if ((rc = gm_repo_index(&idx, repo)) < 0)
		return rc;
	n = git_index_entrycount(idx);
	for (size_t i = 0; i < n; i++) {
		const git_index_entry *e = git_index_get_byindex(idx, i);
		if (!e || git_index_entry_stage(e) != 0)
			continue;
		if (gm_pathspec_matches(ps, e->path))
			push_entry(out, e->path, &e->id, e->mode);
	}
	git_index_free(idx);
	qsort(out->items, out->n, sizeof(*out->items), cmp_entry);
	return 0;
}

void gm_entries_release(struct gm_entries *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n; i++)
		free(e->items[i].path);
	free(e->items);
	e->items = NULL;
	e->n = e->cap = 0;
}

int gm_repo_attr(char **out, git_repository *repo, const git_oid *commit,
                 const char *path, const char *name)
{
	git_attr_options opts;
	const char *v = NULL;

	*out = NULL;
	memset(&opts, 0, sizeof(opts));
	opts.version = GIT_ATTR_OPTIONS_VERSION;
	if (commit) {
		opts.flags = GIT_ATTR_CHECK_NO_SYSTEM | GIT_ATTR_CHECK_INCLUDE_COMMIT |
		             GIT_ATTR_CHECK_INDEX_ONLY;
		git_oid_cpy(&opts.attr_commit_id, commit);
	} else {
		opts.flags = GIT_ATTR_CHECK_INDEX_THEN_FILE;
	}
	if (git_attr_get_ext(&v, repo, &opts, path, name) < 0)
		return gm_error_git(GM_ERROR, "cannot read attributes of '%s'", path);
	switch (git_attr_value(v)) {
	case GIT_ATTR_VALUE_TRUE: *out = gm_xstrdup("true"); break;
	case GIT_ATTR_VALUE_FALSE: *out = gm_xstrdup("false"); break;
	case GIT_ATTR_VALUE_STRING: *out = gm_xstrdup(v); break;
	default: break;
	}
	return 0;
}

/* ---- changed lines ------------------------------------------------------------- */

static int on_hunk(const git_diff_delta *delta, const git_diff_hunk *hunk, void *payload)
{
	struct gm_changed_lines *c = payload;
	struct gm_file_lines *f;
	struct gm_line_range *g;

	if (delta->status == GIT_DELTA_DELETED || !delta->new_file.path)
		return 0;
	/* Deltas come one path at a time; a path seen again (a type change) is merged below. */
	if (!c->n || strcmp(c->files[c->n - 1].path, delta->new_file.path) != 0) {
		GM_GROW(c->files, c->cap, c->n + 1);
		f = &c->files[c->n++];
		memset(f, 0, sizeof(*f));
		f->path = gm_xstrdup(delta->new_file.path);
		git_oid_cpy(&f->new_id, &delta->new_file.id);
		if (delta->status != GIT_DELTA_ADDED && delta->status != GIT_DELTA_UNTRACKED &&
		    !git_oid_is_zero(&delta->old_file.id)) {
			f->has_old = true;
			git_oid_cpy(&f->old_id, &delta->old_file.id);
		}
		if (delta->status == GIT_DELTA_RENAMED && delta->old_file.path &&
		    strcmp(delta->old_file.path, delta->new_file.path) != 0)
			f->old_path = gm_xstrdup(delta->old_file.path);
	}
	f = &c->files[c->n - 1];
	GM_GROW(f->ranges, f->cap, f->n + 1);
	g = &f->ranges[f->n++];
	/* -U0: a pure deletion's new_start is the line after which lines went. */
	g->start = (uint32_t)hunk->new_start + (hunk->new_lines == 0);
	g->end = (uint32_t)(hunk->new_start + hunk->new_lines - (hunk->new_lines > 0));
	return 0;
}

static int cmp_file_lines(const void *a, const void *b)
{
	return strcmp(((const struct gm_file_lines *)a)->path, ((const struct gm_file_lines *)b)->path);
}

static int cmp_range(const void *a, const void *b)
{
	const struct gm_line_range *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->end < y->end ? -1 : x->end > y->end;
}

/* Sort by path and fold entries of the same path into one. */
static void normalize_files(struct gm_changed_lines *c)
{
	size_t w = 0;

	if (c->n < 2)
		return;
	qsort(c->files, c->n, sizeof(*c->files), cmp_file_lines);
	for (size_t i = 0; i < c->n; i++) {
		struct gm_file_lines *f = &c->files[i];
		if (w && strcmp(c->files[w - 1].path, f->path) == 0) {
			struct gm_file_lines *d = &c->files[w - 1];
			GM_GROW(d->ranges, d->cap, d->n + f->n);
			memcpy(d->ranges + d->n, f->ranges, f->n * sizeof(*f->ranges));
			d->n += f->n;
			qsort(d->ranges, d->n, sizeof(*d->ranges), cmp_range);
			if (!d->has_old && f->has_old) {
				d->has_old = true;
				git_oid_cpy(&d->old_id, &f->old_id);
			}
			free(f->path);
			free(f->old_path);
			free(f->old_text);
			free(f->new_text);
			free(f->ranges);
			continue;
		}
		c->files[w++] = *f;
	}
	c->n = w;
}

/* A copy of a blob's bytes (NUL-terminated), or NULL when it cannot be read. */
static void read_blob(char **out, size_t *len, git_repository *repo, const git_oid *id)
{
	git_blob *b = NULL;

	*out = NULL;
	*len = 0;
	if (git_blob_lookup(&b, repo, id) < 0) {
		git_error_clear();
		return;
	}
	*len = (size_t)git_blob_rawsize(b);
	*out = gm_xstrndup(git_blob_rawcontent(b), *len);
	git_blob_free(b);
}

int gm_repo_changed_lines(struct gm_changed_lines *out, git_repository *repo, git_tree *old_tree,
                          git_tree *new_tree, git_index *index)
{
	git_diff_options o;
	git_diff_find_options fo;
	git_diff *diff = NULL;
	int err;

	memset(out, 0, sizeof(*out));
	git_diff_options_init(&o, GIT_DIFF_OPTIONS_VERSION);
	o.context_lines = 0;
	o.interhunk_lines = 0;
	o.flags = GIT_DIFF_SKIP_BINARY_CHECK;
	if (new_tree) {
		err = git_diff_tree_to_tree(&diff, repo, old_tree, new_tree, &o);
	} else {
		git_index *own = NULL;
		if (!index && (err = gm_repo_index(&own, repo)) < 0)
			return err;
		err = git_diff_tree_to_index(&diff, repo, old_tree, index ? index : own, &o);
		git_index_free(own);
	}
	if (err < 0)
		return gm_error_git(GM_EFATAL, new_tree ? "cannot diff two trees" : "cannot diff the index");
	/* Renames as git finds them: a moved file's lines are diffed against its source. */
	git_diff_find_options_init(&fo, GIT_DIFF_FIND_OPTIONS_VERSION);
	fo.flags = GIT_DIFF_FIND_RENAMES;
	if (git_diff_find_similar(diff, &fo) < 0) {
		git_diff_free(diff);
		return gm_error_git(GM_EFATAL, "cannot find renames");
	}
	err = git_diff_foreach(diff, NULL, NULL, on_hunk, NULL, out);
	git_diff_free(diff);
	if (err < 0) {
		gm_changed_lines_release(out);
		return gm_error_git(GM_EFATAL, new_tree ? "cannot diff two trees" : "cannot diff the index");
	}
	normalize_files(out);
	for (size_t i = 0; i < out->n; i++) {
		struct gm_file_lines *f = &out->files[i];
		read_blob(&f->new_text, &f->new_len, repo, &f->new_id);
		if (f->has_old)
			read_blob(&f->old_text, &f->old_len, repo, &f->old_id);
	}
	return 0;
}

const struct gm_file_lines *gm_changed_lines_find(const struct gm_changed_lines *c,
                                                  const char *path)
{
	struct gm_file_lines key;
	key.path = (char *)path;
	if (!c->n)
		return NULL;
	return bsearch(&key, c->files, c->n, sizeof(*c->files), cmp_file_lines);
}

void gm_changed_lines_release(struct gm_changed_lines *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->files[i].path);
		free(c->files[i].old_path);
		free(c->files[i].old_text);
		free(c->files[i].new_text);
		free(c->files[i].ranges);
	}
	free(c->files);
	memset(c, 0, sizeof(*c));
}

int gm_repo_read_path(char **out, size_t *len, git_repository *repo, const git_oid *commit,
                      const char *path, size_t max)
{
	git_commit *c = NULL;
	git_tree *tree = NULL;
	git_tree_entry *e = NULL;
	git_blob *blob = NULL;
	char hex[GIT_OID_HEXSZ + 1];
	int rc = 0;

	*out = NULL;
	*len = 0;
	git_oid_tostr(hex, sizeof(hex), commit);
	if (git_commit_lookup(&c, repo, commit) < 0 || git_commit_tree(&tree, c) < 0) {
		rc = gm_error_git(GM_EFATAL, "cannot read commit %s", hex);
		goto cleanup;
	}
	if (git_tree_entry_bypath(&e, tree, path) < 0) {
		git_error_clear();
		goto cleanup;
	}
	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB)
		goto cleanup;
	if (git_blob_lookup(&blob, repo, git_tree_entry_id(e)) < 0) {
		rc = gm_error_git(GM_EFATAL, "cannot read '%s' in %s", path, hex);
		goto cleanup;
	}
	if ((size_t)git_blob_rawsize(blob) > max) {
		gm_error_set("'%s' in %s is larger than %zu bytes", path, hex, max);
		rc = GM_ETOOBIG;
		goto cleanup;
	}
	*len = (size_t)git_blob_rawsize(blob);
	*out = gm_xmalloc(*len + 1);
	memcpy(*out, git_blob_rawcontent(blob), *len);
	(*out)[*len] = '\0';
cleanup:
	git_blob_free(blob);
	git_tree_entry_free(e);
	git_tree_free(tree);
	git_commit_free(c);
	return rc;
}
