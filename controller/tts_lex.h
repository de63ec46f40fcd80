/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tts_lex.h -- a voice's pronunciation lexicon: words replaced before synthesis */
#pragma once

#include <stddef.h>

#include "diag.h"
#include "hash.h"

struct tts_lex;

/* Read the lexicon at PATH, shown as NAME in diagnostics. It is UTF-8
 * text of at most 1 MiB, one entry per line: WORD, a tab, REPLACEMENT
 * (text, or espeak-ng phonemes in closed [[ ]]); blank lines and lines
 * starting with '#' are ignored. Every problem (unreadable file, bad
 * UTF-8, a malformed line, a duplicate WORD) is reported to D as
 * NAME:LINE:COL. Returns the lexicon, which may hold no entries, or NULL
 * with errno set: EINVAL when a line is wrong, ENOMEM, or why PATH could
 * not be read (EFBIG when too large). */
struct tts_lex *tts_lex_load(const char *path, const char *name, struct diag *d);
void tts_lex_free(struct tts_lex *l);

/* SHA-256 (hex) of the lexicon file's bytes, which decide what it does. */
const char *tts_lex_sha(const struct tts_lex *l);

/* The entry of L (may be NULL) whose WORD is the longest to start at S,
 * which holds N bytes of valid UTF-8: its REPLACEMENT, *RLEN bytes long,
 * with the length of its WORD in *WLEN. NULL when no WORD starts there. */
const char *tts_lex_match(const struct tts_lex *l, const char *s, size_t n, size_t *wlen,
			  size_t *rlen);
