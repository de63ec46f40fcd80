/* SPDX-License-Identifier: GPL-2.0-or-later */
/* warnings.c -- (being written) */
#include "warnings.h"
