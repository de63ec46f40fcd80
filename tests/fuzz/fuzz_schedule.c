/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_schedule.c -- schedule_load against arbitrary bytes, as fleet.yaml and as a broadcast file */
/*
 * The same bytes are written twice into directories of their own: as
 * fleet.yaml alone, and as b.yaml beside a valid fleet.yaml (one village,
 * two poles). Each directory is loaded as `cunxiang check` does. Beyond
 * not crashing, the loader keeps its contract: a model (NULL only for want
 * of memory), every diagnostic one line naming one of the directory's
 * files, no error means every item valid, and what is valid holds what
 * schedule.h promises (times sorted and in the day, targets sorted, unique
 * and in the fleet, priority, volume and repeat in range).
 *
 * libFuzzer: meson setup build-fuzz -Dlibfuzzer=true (with CC=clang), then
 *   build-fuzz/tests/fuzz/fuzz_schedule -max_len=16384 tests/fuzz/corpus/schedule
 * Otherwise the corpus runner (runner.c) is linked in, and meson runs it.
 */
#include "diag.h"
#include "schedule.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fleet[] =
	"township: 测试镇\n"
	"area_code: \"640104100000\"\n"
	"timezone: Asia/Shanghai\n"
	"villages:\n"
	"  - code: \"640104100201\"\n"
	"    name: 永南村\n"
	"    nodes:\n"
	"      - { id: yn-01, households: 120, tags: [river] }\n"
	"      - { id: yn-02, households: 80 }\n";

static char top[64], dir_fleet[96], dir_bc[96];

static void cleanup(void)
{
	char path[160];
	const char *files[][2] = { { dir_fleet, "fleet.yaml" }, { dir_bc, "fleet.yaml" },
				   { dir_bc, "b.yaml" } };

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", files[i][0], files[i][1]);
		unlink(path);
	}
	rmdir(dir_fleet);
	rmdir(dir_bc);
	rmdir(top);
}

static void put(const char *dir, const char *name, const void *buf, size_t len)
{
	char path[160];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || (len && fwrite(buf, 1, len, f) != len) || fclose(f) != 0)
		abort();
}

/* Every input writes files (or a database): in a directory in memory the
 * disk stays out of it, which makes the corpus run ten times faster on a
 * busy machine. TMPDIR when set, else /dev/shm, else /tmp. */
static const char *scratch_dir(void)
{
	const char *tmp = getenv("TMPDIR");

	if (tmp && *tmp)
		return tmp;
	return access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm" : "/tmp";
}

static void setup(void)
{

	if (top[0])
		return;
	snprintf(top, sizeof(top), "%s/cx-fuzz-schedule.XXXXXX", scratch_dir());
	if (!mkdtemp(top))
		abort();
	snprintf(dir_fleet, sizeof(dir_fleet), "%s/f", top);
	snprintf(dir_bc, sizeof(dir_bc), "%s/b", top);
	if (mkdir(dir_fleet, 0700) < 0 || mkdir(dir_bc, 0700) < 0)
		abort();
	put(dir_bc, "fleet.yaml", fleet, sizeof(fleet) - 1);
	atexit(cleanup);
}

/* Each diagnostic: one line, "DIR/NAME:" with NAME one of NAMES. */
static void check_diag(struct diag *d, const char *dir, const char *const *names, size_t n)
{
	size_t dl = strlen(dir);

	for (size_t i = 0; i < diag_errors(d) + diag_warnings(d); i++) {
		const char *t = diag_get(d, i);
		bool named = false;

		if (!t || strchr(t, '\n') || strncmp(t, dir, dl) || t[dl] != '/')
			abort();
		for (size_t k = 0; k < n; k++) {
			size_t nl = strlen(names[k]);

			if (!strncmp(t + dl + 1, names[k], nl) && t[dl + 1 + nl] == ':')
				named = true;
		}
		if (!named)
			abort();
	}
}

static void check_nodes(const struct schedule *s)
{
	size_t nv = schedule_village_count(s);

	for (size_t i = 0; i < schedule_node_count(s); i++) {
		const struct schedule_node *n = schedule_node(s, i);

		if (!n || !n->id || n->village >= nv || schedule_node_find(s, n->id) < 0)
			abort();
	}
}

static void check_broadcast(const struct schedule *s, size_t i)
{
	const struct schedule_broadcast *b = schedule_broadcast(s, i);

	/* schedule_broadcast_on must answer for any day, valid or not. */
	for (int64_t day = 20000; day < 20000 + 400; day += 37)
		(void)schedule_broadcast_on(s, i, day);
	if (!b->valid)
		return;
	if (b->notice >= schedule_notice_count(s) || !schedule_notice(s, b->notice)->valid ||
	    b->nat < 1 || b->nat > SCHEDULE_MAX_AT || b->ntargets < 1 ||
	    (b->priority != SCHEDULE_ROUTINE && b->priority != SCHEDULE_IMPORTANT) ||
	    b->volume < 1 || b->volume > 100 || b->repeat < 1 || b->repeat > SCHEDULE_MAX_REPEAT)
		abort();
	for (size_t k = 0; k < b->nat; k++)
		if (b->at[k].minute < 0 || b->at[k].minute >= 1440 ||
		    (k && b->at[k - 1].minute >= b->at[k].minute))
			abort();
	for (size_t k = 0; k < b->ntargets; k++)
		if (b->targets[k] >= schedule_node_count(s) ||
		    (k && b->targets[k - 1] >= b->targets[k]))
			abort();
}

static void load(const char *dir, const char *const *names, size_t n)
{
	struct diag *d = diag_new();
	struct schedule *s;
	bool all_valid = true;

	if (!d)
		abort();
	errno = 0;
	s = schedule_load(dir, d);
	if (!s) {
		if (errno != ENOMEM)
			abort();
		diag_free(d);
		return;
	}
	check_diag(d, dir, names, n);
	check_nodes(s);
	for (size_t i = 0; i < schedule_notice_count(s); i++)
		all_valid &= schedule_notice(s, i)->valid;
	for (size_t i = 0; i < schedule_broadcast_count(s); i++) {
		check_broadcast(s, i);
		all_valid &= schedule_broadcast(s, i)->valid;
	}
	if (diag_errors(d) == 0 && !all_valid)
		abort();
	for (int m = 0; m < 1440; m += 97)
		(void)schedule_presence_at(s, m);
	schedule_free(s);
	diag_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const fleet_only[] = { "fleet.yaml" };
	static const char *const both[] = { "fleet.yaml", "b.yaml" };

	setup();
	put(dir_fleet, "fleet.yaml", data, size);
	load(dir_fleet, fleet_only, 1);
	put(dir_bc, "b.yaml", data, size);
	load(dir_bc, both, 2);
	return 0;
}
