/* SPDX-License-Identifier: GPL-2.0-or-later */
/* notify.h -- readiness, watchdog and stopping for the service manager
 * (systemd's notify protocol: one datagram to $NOTIFY_SOCKET) */
#pragma once

/* Send STATE ("READY=1", "STOPPING=1", ...) when the service manager asked
 * for it; nothing otherwise. \retval 1 sent / 0 not asked / -errno */
int cx_notify(const char *state);

/* "WATCHDOG=1", at most once a second: call it from the main loop on every
 * turn; a loop that hangs stops the pings and the manager restarts us. */
void cx_notify_watchdog(void);
