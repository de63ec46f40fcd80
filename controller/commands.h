/* SPDX-License-Identifier: GPL-2.0-or-later */
/* commands.h -- the subcommands of `cunxiang`, dispatched from main.c */
#pragma once

/* Every command takes argv with argv[0] = the command's name, and returns
 * the process exit status: 0 success, 1 user error (one line on stderr
 * saying why), 2 usage error. */
enum { CX_EXIT_OK = 0, CX_EXIT_USER = 1, CX_EXIT_USAGE = 2 };

int cmd_alert(int argc, char **argv);
int cmd_cancel(int argc, char **argv);
int cmd_cap(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_compile(int argc, char **argv);
int cmd_enrol(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_live(int argc, char **argv);
int cmd_nodes(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_provision(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_trust(int argc, char **argv);
int cmd_tts(int argc, char **argv);
