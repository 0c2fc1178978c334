/*
 * similar.c: which words are close to a mistyped one, as git's
 * levenshtein.c and help.c judge it (a Damerau-Levenshtein distance
 * weighted swap 0, substitution 2, insertion 1, deletion 3; a prefix
 * counts as a perfect match; candidates under SIMILARITY_FLOOR, ties
 * together).  Used for commands (help.c) and long options (opt.c).
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "monitor/util.h"
#include "monitor/banned.h"

#define SIMILARITY_FLOOR 7

int cli_levenshtein(const char *s1, const char *s2, int w, int s, int a, int d)
{
	size_t len1 = strlen(s1), len2 = strlen(s2);
	int *row0 = gm_xcalloc(len2 + 1, sizeof(int));
	int *row1 = gm_xcalloc(len2 + 1, sizeof(int));
	int *row2 = gm_xcalloc(len2 + 1, sizeof(int));
	int r;

	for (size_t j = 0; j <= len2; j++)
		row1[j] = (int)j * a;
	for (size_t i = 0; i < len1; i++) {
		int *t;
		row2[0] = (int)(i + 1) * d;
		for (size_t j = 0; j < len2; j++) {
			row2[j + 1] = row1[j] + s * (s1[i] != s2[j]); /* substitution */
			if (i > 0 && j > 0 && s1[i - 1] == s2[j] && s1[i] == s2[j - 1] &&
			    row2[j + 1] > row0[j - 1] + w)
				row2[j + 1] = row0[j - 1] + w; /* swap */
			if (row2[j + 1] > row1[j + 1] + d)
				row2[j + 1] = row1[j + 1] + d; /* deletion */
			if (row2[j + 1] > row2[j] + a)
				row2[j + 1] = row2[j] + a; /* insertion */
		}
		t = row0;
		row0 = row1;
		row1 = row2;
		row2 = t;
	}
	r = row1[len2];
	free(row0);
	free(row1);
	free(row2);
	return r;
}

struct scored {
	const char *name;
	int len;
};

static int cmp_scored(const void *a, const void *b)
{
	const struct scored *x = a, *y = b;
	return x->len != y->len ? x->len - y->len : strcmp(x->name, y->name);
}

size_t cli_similar(const char ***out, const char *word, const char *const *cands, size_t n)
{
	struct scored *sc = gm_xcalloc(n + 1, sizeof(*sc));
	size_t k = 0, m = 0;
	int best;

	*out = NULL;
	for (size_t i = 0; i < n; i++) {
		sc[i].name = cands[i];
		sc[i].len = !strncmp(cands[i], word, strlen(word)) && *word
		                    ? 0 /* a prefix: a very good score */
		                    : cli_levenshtein(word, cands[i], 0, 2, 1, 3) + 1;
	}
	qsort(sc, n, sizeof(*sc), cmp_scored);
	while (k < n && !sc[k].len)
		k++;
	if (k >= n) {
		best = SIMILARITY_FLOOR + 1; /* prefix of everything: too ambiguous */
	} else {
		best = sc[k++].len;
		while (k < n && sc[k].len == best)
			k++;
	}
	if (best < SIMILARITY_FLOOR) {
		*out = gm_xcalloc(k + 1, sizeof(char *));
		for (m = 0; m < k; m++)
			(*out)[m] = sc[m].name;
	}
	free(sc);
	return m;
}
