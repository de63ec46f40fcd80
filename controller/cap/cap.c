/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cap.c -- (being written) */
#include "cap.h"
