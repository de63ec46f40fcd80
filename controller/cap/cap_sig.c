/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cap_sig.c -- (being written) */
#include "cap.h"
