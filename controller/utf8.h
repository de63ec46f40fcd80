/* SPDX-License-Identifier: GPL-2.0-or-later */
/* utf8.h -- decoding and checking UTF-8 text, strictly (RFC 3629) */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Decode the UTF-8 sequence at S (N bytes left) into *CP.
 * \retval 1..4 its length in bytes
 * \retval 0    it is malformed (overlong, a surrogate, beyond U+10FFFF,
 *              cut short) or N is 0; *CP is left alone */
size_t utf8_next(const char *s, size_t n, uint32_t *cp);

/* Byte offset of the first malformed sequence in the N bytes at S, or -1
 * when they are valid UTF-8. */
long utf8_invalid_at(const char *s, size_t n);

/* Characters in the N bytes at S: the bytes that do not continue a
 * sequence. Meant for valid UTF-8, where it counts code points. */
size_t utf8_count(const char *s, size_t n);
