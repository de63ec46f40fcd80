/* SPDX-License-Identifier: GPL-2.0-or-later */
/* log.h -- leveled log lines on stderr, journal-aware */
#pragma once

enum cx_log_level { CX_LOG_ERR = 3, CX_LOG_WARN = 4, CX_LOG_INFO = 6, CX_LOG_DEBUG = 7 };

/* Name shown before each line when stderr is not the journal. */
void cx_log_init(const char *ident);
/* Lines above this level are dropped (default CX_LOG_INFO). */
void cx_log_set_level(enum cx_log_level max);
void cx_log(enum cx_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...)   cx_log(CX_LOG_ERR, __VA_ARGS__)
#define log_warn(...)  cx_log(CX_LOG_WARN, __VA_ARGS__)
#define log_info(...)  cx_log(CX_LOG_INFO, __VA_ARGS__)
#define log_debug(...) cx_log(CX_LOG_DEBUG, __VA_ARGS__)
