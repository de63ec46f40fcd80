/* SPDX-License-Identifier: GPL-2.0-or-later */
/* geo.c -- (being written) */
#include "geo.h"
