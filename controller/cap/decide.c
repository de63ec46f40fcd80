/* SPDX-License-Identifier: GPL-2.0-or-later */
/* decide.c -- (being written) */
#include "decide.h"
