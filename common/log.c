/* SPDX-License-Identifier: GPL-2.0-or-later */
/* log.c -- leveled log lines on stderr, journal-aware */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static const char *log_ident = "cunxiang";
static enum cx_log_level log_max = CX_LOG_INFO;
static int log_journal = -1;

void cx_log_init(const char *ident)
{
	const char *lvl = getenv("CUNXIANG_LOG");

	log_ident = ident;
	/* systemd sets JOURNAL_STREAM when stderr is connected to the journal,
	 * which then understands "<N>" priority prefixes. */
	log_journal = getenv("JOURNAL_STREAM") != NULL;
	if (lvl && lvl[0] == 'd')
		log_max = CX_LOG_DEBUG;
}

void cx_log_set_level(enum cx_log_level max)
{
	log_max = max;
}

void cx_log(enum cx_log_level level, const char *fmt, ...)
{
	static const char *const names[8] = {
		[CX_LOG_ERR] = "error", [CX_LOG_WARN] = "warning",
		[CX_LOG_INFO] = "info", [CX_LOG_DEBUG] = "debug",
	};
	char line[2048];
	va_list ap;

	if (level > log_max)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (log_journal > 0)
		fprintf(stderr, "<%d>%s\n", (int)level, line);
	else
		fprintf(stderr, "%s: %s: %s\n", log_ident, names[level] ? names[level] : "log", line);
}
