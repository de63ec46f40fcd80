/* SPDX-License-Identifier: GPL-2.0-or-later */
/* capsrc.c -- (being written) */
#include "capsrc.h"
