/*
 * notes.c: the run's JSON as a note under refs/notes/monitor (notes.h).
 */
#include "monitor/notes.h"

#include <stdlib.h>

#include <git2.h>

#include "monitor/commit.h"
#include "monitor/error.h"
#include "monitor/util.h"
#include "monitor/banned.h"

int gm_notes_write(git_repository *repo, const git_oid *commit, const char *text)
{
	git_signature *author = NULL, *committer = NULL;
	char hex[GIT_OID_HEXSZ + 1];
	git_oid note;
	int rc;

	git_oid_tostr(hex, sizeof(hex), commit);
	if ((rc = gm_commit_signatures(&author, &committer, repo)) < 0)
		return rc;
	/* force = 1: a re-run or an update replaces the note; the ref is ours. */
	if (git_note_create(&note, repo, GM_NOTES_REF, author, committer, commit, text, 1) < 0)
		rc = gm_error_git(GM_ERROR, "cannot write the note on %s", hex);
	git_signature_free(author);
	git_signature_free(committer);
	return rc;
}

int gm_notes_update(git_repository *repo, const git_oid *commit, const char *text)
{
	return gm_notes_write(repo, commit, text);
}

int gm_notes_read(char **out, git_repository *repo, const git_oid *commit)
{
	git_note *note = NULL;
	char hex[GIT_OID_HEXSZ + 1];
	int err;

	*out = NULL;
	git_oid_tostr(hex, sizeof(hex), commit);
	err = git_note_read(&note, repo, GM_NOTES_REF, commit);
	if (err == GIT_ENOTFOUND) {
		git_error_clear();
		gm_error_set("no note under %s on %s", GM_NOTES_REF, hex);
		return GM_ENOTFOUND;
	}
	if (err < 0)
		return gm_error_git(GM_ERROR, "cannot read the note on %s", hex);
	*out = gm_xstrdup(git_note_message(note));
	git_note_free(note);
	return 0;
}

int gm_notes_remove(git_repository *repo, const git_oid *commit)
{
	git_signature *author = NULL, *committer = NULL;
	char hex[GIT_OID_HEXSZ + 1];
	int rc, err;

	git_oid_tostr(hex, sizeof(hex), commit);
	if ((rc = gm_commit_signatures(&author, &committer, repo)) < 0)
		return rc;
	err = git_note_remove(repo, GM_NOTES_REF, author, committer, commit);
	if (err == GIT_ENOTFOUND) {
		git_error_clear();
		gm_error_set("no note under %s on %s", GM_NOTES_REF, hex);
		rc = GM_ENOTFOUND;
	} else if (err < 0) {
		rc = gm_error_git(GM_ERROR, "cannot remove the note on %s", hex);
	}
	git_signature_free(author);
	git_signature_free(committer);
	return rc;
}
