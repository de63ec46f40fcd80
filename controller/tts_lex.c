/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tts_lex.c -- a voice's pronunciation lexicon: words replaced before synthesis */
#include "tts_lex.h"

#include "fileio.h"
#include "utf8.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LEX_MAX_BYTES (1u << 20)
#define LEX_MAX_LINE 4096
#define LEX_BUCKETS 256

struct lex_entry {
	const char *word, *repl;
	size_t wlen, rlen;
	uint32_t first; /* first code point of word */
	int line;
};

struct tts_lex {
	char *buf;     /* the file; entries point into it */
	struct lex_entry *v;
	size_t n, cap;
	size_t bucket[LEX_BUCKETS + 1];
	size_t *order; /* entry indices by bucket, longest word first */
	char sha[CX_SHA256_HEX];
};

/* 1-based column (in characters, as libyaml counts) of byte offset OFF. */
static int char_col(const char *s, size_t off)
{
	return (int)utf8_count(s, off) + 1;
}

/* Phonemes must be closed, or espeak-ng would read the rest of the
 * notice as phoneme codes. WORD starts the line, for columns. */
static bool phonemes_closed(const char *word, const char *repl, int line, const char *name,
			    struct diag *d)
{
	for (const char *q = strstr(repl, "[["); q; q = strstr(q, "[[")) {
		const char *close = strstr(q + 2, "]]");

		if (!close) {
			diag_error(d, name, line, char_col(word, (size_t)(q - word)),
				   "'[[' without a closing ']]'");
			return false;
		}
		q = close + 2;
	}
	return true;
}

/* Split line LINE (WORD, N bytes, NUL-terminated) at its tab: its
 * REPLACEMENT, with WORD now ending at the tab. NULL when the line is
 * blank, a comment, or wrong (reported to D). */
static char *lex_split(char *word, size_t n, int line, const char *name, struct diag *d)
{
	char *tab, *repl, *q;
	long bad;

	if (n > LEX_MAX_LINE) {
		diag_error(d, name, line, 0, "line longer than %d bytes", LEX_MAX_LINE);
		return NULL;
	}
	if ((bad = utf8_invalid_at(word, n)) >= 0) {
		diag_error(d, name, line, char_col(word, (size_t)bad), "not valid UTF-8");
		return NULL;
	}
	if (n == 0 || word[0] == '#' || strspn(word, " \t") == n)
		return NULL;
	tab = strchr(word, '\t');
	if (!tab) {
		diag_error(d, name, line, 1, "expected WORD, a tab, and its REPLACEMENT");
		return NULL;
	}
	if (tab == word) {
		diag_error(d, name, line, 1, "empty WORD before the tab");
		return NULL;
	}
	*tab = '\0';
	repl = tab + 1;
	q = repl + strlen(repl);
	while (q > repl && (q[-1] == ' ' || q[-1] == '\t'))
		*--q = '\0';
	if (!*repl) {
		diag_error(d, name, line, char_col(word, (size_t)(repl - word)),
			   "empty REPLACEMENT for '%s'", word);
		return NULL;
	}
	if ((q = strchr(repl, '\t'))) {
		diag_error(d, name, line, char_col(word, (size_t)(q - word)),
			   "a second tab; REPLACEMENT is the rest of the line");
		return NULL;
	}
	if ((q = strstr(word, "[["))) {
		diag_error(d, name, line, char_col(word, (size_t)(q - word)),
			   "'[[' cannot be part of a WORD");
		return NULL;
	}
	return phonemes_closed(word, repl, line, name, d) ? repl : NULL;
}

static int lex_add(struct tts_lex *l, const char *word, const char *repl, int line)
{
	uint32_t cp;

	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 64;
		struct lex_entry *nv = realloc(l->v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		l->v = nv;
		l->cap = ncap;
	}
	utf8_next(word, strlen(word), &cp);
	l->v[l->n++] = (struct lex_entry){
		.word = word, .wlen = strlen(word), .repl = repl, .rlen = strlen(repl),
		.first = cp, .line = line,
	};
	return 0;
}

static int cmp_word(const void *a, const void *b)
{
	const struct lex_entry *x = *(struct lex_entry *const *)a, *y = *(struct lex_entry *const *)b;
	size_t n = x->wlen < y->wlen ? x->wlen : y->wlen;
	int c = memcmp(x->word, y->word, n);

	if (c)
		return c;
	if (x->wlen != y->wlen)
		return x->wlen < y->wlen ? -1 : 1;
	return x->line - y->line;
}

static _Thread_local const struct tts_lex *sort_lex; /* qsort has no context argument */

static int cmp_bucket(const void *a, const void *b)
{
	const struct lex_entry *x = &sort_lex->v[*(const size_t *)a];
	const struct lex_entry *y = &sort_lex->v[*(const size_t *)b];
	unsigned bx = x->first % LEX_BUCKETS, by = y->first % LEX_BUCKETS;

	if (bx != by)
		return bx < by ? -1 : 1;
	if (x->wlen != y->wlen)
		return x->wlen > y->wlen ? -1 : 1;
	return x->line - y->line;
}

/* Report duplicate words: sort pointers by word, compare neighbours. */
static int report_duplicates(const struct tts_lex *l, const char *name, struct diag *d)
{
	struct lex_entry **byword = malloc(l->n * sizeof(*byword));

	if (!byword)
		return -ENOMEM;
	for (size_t i = 0; i < l->n; i++)
		byword[i] = &l->v[i];
	qsort(byword, l->n, sizeof(*byword), cmp_word);
	for (size_t i = 1; i < l->n; i++)
		if (byword[i]->wlen == byword[i - 1]->wlen &&
		    !memcmp(byword[i]->word, byword[i - 1]->word, byword[i]->wlen))
			diag_error(d, name, byword[i]->line, 1,
				   "duplicate WORD '%s' (first on line %d)", byword[i]->word,
				   byword[i - 1]->line);
	free(byword);
	return 0;
}

/* Index the entries by the bucket of their first code point, longest
 * word first, so that the first match in a bucket is the longest. */
static int lex_index(struct tts_lex *l)
{
	l->order = malloc(l->n * sizeof(*l->order));
	if (!l->order)
		return -ENOMEM;
	for (size_t i = 0; i < l->n; i++)
		l->order[i] = i;
	sort_lex = l;
	qsort(l->order, l->n, sizeof(*l->order), cmp_bucket);
	sort_lex = NULL;
	memset(l->bucket, 0, sizeof(l->bucket));
	for (size_t i = 0; i < l->n; i++)
		l->bucket[l->v[i].first % LEX_BUCKETS + 1]++;
	for (size_t b = 0; b < LEX_BUCKETS; b++)
		l->bucket[b + 1] += l->bucket[b];
	return 0;
}

/* Parse the LEN bytes of L->buf, line by line, into entries. */
static int lex_parse(struct tts_lex *l, size_t len, const char *name, struct diag *d)
{
	char *p = l->buf, *end = l->buf + len;
	int line = 0;

	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p)), *word = p, *repl;
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		line++;
		if (nl)
			*nl = '\0';
		if (n > 0 && p[n - 1] == '\r')
			p[--n] = '\0';
		p = nl ? nl + 1 : end;
		repl = lex_split(word, n, line, name, d);
		if (repl && lex_add(l, word, repl, line) < 0)
			return -ENOMEM;
	}
	return 0;
}

struct tts_lex *tts_lex_load(const char *path, const char *name, struct diag *d)
{
	struct tts_lex *l = calloc(1, sizeof(*l));
	size_t len, errs = diag_errors(d);
	int r;

	if (!l) {
		diag_error(d, name, 0, 0, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	r = fio_read_all(path, LEX_MAX_BYTES, &l->buf, &len);
	if (r < 0) {
		diag_error(d, name, 0, 0, "cannot read lexicon: %s",
			   r == -EFBIG ? "larger than 1 MiB" : strerror(-r));
		goto fail;
	}
	cx_sha256_hex(l->buf, len, l->sha);
	r = lex_parse(l, len, name, d);
	if (r == 0 && l->n > 0 && (r = report_duplicates(l, name, d)) == 0)
		r = lex_index(l);
	if (r < 0) {
		diag_error(d, name, 0, 0, "out of memory");
		goto fail;
	}
	if (diag_errors(d) == errs)
		return l;
	r = -EINVAL;
fail:
	tts_lex_free(l);
	errno = -r;
	return NULL;
}

void tts_lex_free(struct tts_lex *l)
{
	if (!l)
		return;
	free(l->buf);
	free(l->v);
	free(l->order);
	free(l);
}

const char *tts_lex_sha(const struct tts_lex *l)
{
	return l->sha;
}

const char *tts_lex_match(const struct tts_lex *l, const char *s, size_t n, size_t *wlen,
			  size_t *rlen)
{
	uint32_t cp;
	unsigned b;

	if (!l || !l->n || !utf8_next(s, n, &cp))
		return NULL;
	b = cp % LEX_BUCKETS;
	for (size_t i = l->bucket[b]; i < l->bucket[b + 1]; i++) {
		const struct lex_entry *e = &l->v[l->order[i]];

		if (e->first == cp && e->wlen <= n && !memcmp(e->word, s, e->wlen)) {
			*wlen = e->wlen;
			*rlen = e->rlen;
			return e->repl;
		}
	}
	return NULL;
}
