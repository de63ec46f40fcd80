/* SPDX-License-Identifier: GPL-2.0-or-later */
/* schedule_file.c -- broadcast files into the schedules model: notices and broadcasts */
#include "schedule_model.h"

#include "cxtime.h"
#include "fileio.h"
#include "vec.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_VOICE "mandarin"
#define DEFAULT_VOLUME 80

/* Notice and broadcast ids end up in occurrence names ("ID@DATE") and
 * reports, so they keep to a charset that needs no quoting anywhere. */
static bool item_id_ok(const char *s) { return schedule_charset_ok(s, 64, true); }
static bool voice_name_ok(const char *s) { return schedule_charset_ok(s, 32, true); }

static const char *const weekday_names[7] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };

/* ---- notices ------------------------------------------------------------- */

static bool audio_ext_ok(const char *p)
{
	static const char *const exts[] = { ".wav", ".flac", ".mp3", ".opus", ".ogg", NULL };
	size_t n = strlen(p);

	for (const char *const *e = exts; *e; e++) {
		size_t k = strlen(*e);

		if (n > k && !strcasecmp(p + n - k, *e))
			return true;
	}
	return false;
}

static void load_notice(struct schedule *s, struct ydoc *y, const char *file, yaml_node_t *k,
			const char *id, yaml_node_t *m)
{
	static const char *const keys[] = { "title", "text", "audio", "voice", NULL };
	size_t before = diag_errors(s->d);
	yaml_node_t *v, *text, *audio, *voice;
	struct schedule_notice *nt;
	const char *str;

	if (s->nnotices >= SCHEDULE_MAX_NOTICES) {
		ydoc_error(y, k, "more than %d notices", SCHEDULE_MAX_NOTICES);
		return;
	}
	if (!vec_grow((void **)&s->notices, &s->notices_cap, s->nnotices + 1, sizeof(*s->notices))) {
		s->oom = true;
		return;
	}
	nt = &s->notices[s->nnotices++];
	memset(nt, 0, sizeof(*nt));
	nt->id = schedule_sdup(s, id);
	nt->pos = schedule_pos_of(file, k);
	if (!item_id_ok(id))
		ydoc_error(y, k, "notice id '%s' must be 1 to 64 of A-Z, a-z, 0-9, '-' and '_'", id);
	if (!ydoc_is_map(m)) {
		ydoc_error(y, m, "notice '%s' must be a mapping with title and text or audio", id);
		goto out;
	}
	ydoc_map_check(y, m, keys, "a notice");
	if (!(v = ydoc_get(y, m, "title"))) {
		ydoc_error(y, k, "notice '%s' needs a title", id);
	} else if ((str = ydoc_str(y, v, "title"))) {
		if (!*str || strlen(str) > SCHEDULE_MAX_NAME)
			ydoc_error(y, v, "title must be 1 to %d bytes", SCHEDULE_MAX_NAME);
		else
			nt->title = schedule_sdup(s, str);
	}
	text = ydoc_get(y, m, "text");
	audio = ydoc_get(y, m, "audio");
	voice = ydoc_get(y, m, "voice");
	if (text && audio) {
		/* Point at the later of the two keys: that is the one to drop. */
		ydoc_error(y, ydoc_line(audio) > ydoc_line(text) ||
				      (ydoc_line(audio) == ydoc_line(text) && ydoc_col(audio) > ydoc_col(text))
			      ? audio : text,
			   "notice '%s' has both text and audio; give one of them", id);
		goto out;
	}
	if (!text && !audio) {
		ydoc_error(y, k, "notice '%s' needs text (spoken by a voice) or audio (a recording)", id);
		goto out;
	}
	if (text && (str = ydoc_str(y, text, "text"))) {
		nt->text_pos = schedule_pos_of(file, text);
		if (!*str)
			ydoc_error(y, text, "text must not be empty");
		else if (strlen(str) > SCHEDULE_MAX_TEXT)
			ydoc_error(y, text, "text is longer than %d bytes", SCHEDULE_MAX_TEXT);
		else
			nt->text = schedule_sdup(s, str);
		nt->voice_pos = nt->text_pos;
		nt->voice = schedule_sdup(s, DEFAULT_VOICE);
		if (voice && (str = ydoc_str(y, voice, "voice"))) {
			nt->voice_pos = schedule_pos_of(file, voice);
			if (!voice_name_ok(str)) {
				ydoc_error(y, voice, "voice must name a profile in voices/, not '%s'", str);
			} else {
				schedule_xfree(nt->voice);
				nt->voice = schedule_sdup(s, str);
			}
		}
	}
	if (audio && (str = ydoc_str(y, audio, "audio"))) {
		struct stat st;

		nt->audio_pos = schedule_pos_of(file, audio);
		nt->audio_shown = schedule_sdup(s, str);
		nt->audio = str[0] == '/' ? schedule_sdup(s, str) : fio_join(s->dir, str);
		if (!nt->audio)
			s->oom = true;
		if (voice)
			ydoc_error(y, voice, "voice applies only to text notices");
		if (!*str)
			ydoc_error(y, audio, "audio must name a file");
		else if (!audio_ext_ok(str))
			ydoc_error(y, audio, "audio '%s' must be a .wav, .flac, .mp3 or .opus file", str);
		else if (nt->audio && stat(nt->audio, &st) < 0)
			ydoc_error(y, audio, "cannot read audio file '%s': %s", str, strerror(errno));
		else if (nt->audio && !S_ISREG(st.st_mode))
			ydoc_error(y, audio, "audio '%s' is not a regular file", str);
		else if (nt->audio && access(nt->audio, R_OK) < 0)
			ydoc_error(y, audio, "cannot read audio file '%s': %s", str, strerror(errno));
	}
out:
	nt->valid = diag_errors(s->d) == before;
}

static void load_notices(struct schedule *s, struct ydoc *y, const char *file, yaml_node_t *m)
{
	if (!ydoc_is_map(m)) {
		ydoc_error(y, m, "notices must be a mapping of notice ids to notices");
		return;
	}
	for (size_t i = 0; i < ydoc_map_len(m); i++) {
		yaml_node_t *k, *v;
		const char *id = ydoc_map_at(y, m, i, &k, &v);

		if (!id) {
			ydoc_error(y, k, "a notice id must be a plain name");
			continue;
		}
		/* A duplicate key inside one mapping is the same mistake as a
		 * duplicate across files; resolve() reports both alike. */
		load_notice(s, y, file, k, id, v);
	}
}

/* --- one broadcast --- */

struct at_ctx {
	struct bcast *b;
};

static void at_item(struct schedule *s, struct ydoc *y, const char *file, yaml_node_t *n,
		    const char *text, void *ctx)
{
	struct bcast *b = ((struct at_ctx *)ctx)->b;
	int h, m;

	if (cx_parse_hhmm(text, &h, &m) < 0) {
		ydoc_error(y, n, "time must be \"HH:MM\" from 00:00 to 23:59, not '%s'", text);
		return;
	}
	for (size_t i = 0; i < b->pub.nat; i++)
		if (b->at[i].minute == h * 60 + m) {
			ydoc_error(y, n, "time %s is listed twice", text);
			return;
		}
	b->at[b->pub.nat].minute = h * 60 + m;
	b->at[b->pub.nat].pos = schedule_pos_of(file, n);
	b->pub.nat++;
	(void)s;
}

static int cmp_at(const void *a, const void *b)
{
	const struct schedule_at *x = a, *y = b;

	return (x->minute > y->minute) - (x->minute < y->minute);
}

static bool days_word(struct bcast *b, const char *w, bool list)
{
	if (!list && !strcmp(w, "daily")) {
		b->wmask = 0x7f;
		return true;
	}
	if (!list && !strcmp(w, "weekdays")) {
		b->wmask = 0x1f;
		return true;
	}
	if (!list && !strcmp(w, "weekends")) {
		b->wmask = 0x60;
		return true;
	}
	for (int i = 0; i < 7; i++)
		if (!strcmp(w, weekday_names[i])) {
			b->wmask |= (uint8_t)(1u << i);
			return true;
		}
	return false;
}

static void load_days(struct schedule *s, struct ydoc *y, struct bcast *b, yaml_node_t *n)
{
	static const char hint[] =
		"daily, weekdays, weekends, or a list of mon..sun and \"YYYY-MM-DD\" dates";
	const char *str;
	size_t len;

	b->wmask = 0;
	if (ydoc_is_scalar(n)) {
		str = (const char *)n->data.scalar.value;
		if (!days_word(b, str, false))
			ydoc_error(y, n, "days must be %s, not '%s'", hint, str);
		return;
	}
	if (!ydoc_is_seq(n)) {
		ydoc_error(y, n, "days must be %s", hint);
		return;
	}
	len = ydoc_seq_len(n);
	if (len == 0 || len > SCHEDULE_MAX_DAYS_LIST) {
		ydoc_error(y, n, "days must list 1 to %d days", SCHEDULE_MAX_DAYS_LIST);
		return;
	}
	b->dates = calloc(len, sizeof(*b->dates));
	if (!b->dates) {
		s->oom = true;
		return;
	}
	for (size_t i = 0; i < len; i++) {
		yaml_node_t *it = ydoc_seq_at(y, n, i);
		int yy, mm, dd;

		if (!(str = ydoc_str(y, it, "a day")))
			continue;
		if (days_word(b, str, true))
			continue;
		if (cx_parse_date(str, &yy, &mm, &dd) == 0) {
			int64_t day = cx_days_from_civil(yy, mm, dd);
			bool dup = false;

			for (size_t j = 0; j < b->ndates; j++)
				dup |= b->dates[j] == day;
			if (!dup)
				b->dates[b->ndates++] = day;
			continue;
		}
		if (strlen(str) == 10 && str[4] == '-' && str[7] == '-')
			ydoc_error(y, it, "'%s' is not a valid date", str);
		else
			ydoc_error(y, it, "a day must be one of mon, tue, wed, thu, fri, sat, sun or a date \"YYYY-MM-DD\", not '%s'", str);
	}
	qsort(b->dates, b->ndates, sizeof(*b->dates), schedule_cmp_day);
}

static bool load_date(struct ydoc *y, yaml_node_t *n, const char *what, int64_t *day)
{
	const char *str = ydoc_str(y, n, what);
	int yy, mm, dd;

	if (!str)
		return false;
	if (cx_parse_date(str, &yy, &mm, &dd) < 0) {
		ydoc_error(y, n, "%s must be a date \"YYYY-MM-DD\", not '%s'", what, str);
		return false;
	}
	*day = cx_days_from_civil(yy, mm, dd);
	return true;
}

static void ref_item(struct schedule *s, struct ydoc *y, const char *file, yaml_node_t *n,
		     const char *text, void *ctx)
{
	struct refs *r = ctx;
	struct ref *v = realloc(r->v, (r->n + 1) * sizeof(*v));

	(void)y;
	if (!v) {
		s->oom = true;
		return;
	}
	r->v = v;
	v[r->n].name = schedule_sdup(s, text);
	v[r->n].pos = schedule_pos_of(file, n);
	r->n++;
}

static void load_targets(struct schedule *s, struct ydoc *y, const char *file, struct bcast *b,
			 yaml_node_t *n)
{
	static const char *const keys[] = { "villages", "tags", "nodes", NULL };
	static const char hint[] = "targets must be all, or a mapping of villages:, tags: and nodes: lists";
	yaml_node_t *v;

	b->targets_pos = schedule_pos_of(file, n);
	if (ydoc_is_scalar(n)) {
		if (strcmp((const char *)n->data.scalar.value, "all"))
			ydoc_error(y, n, "%s, not '%s'", hint, (const char *)n->data.scalar.value);
		else
			b->all = true;
		return;
	}
	if (!ydoc_is_map(n) || ydoc_map_len(n) == 0) {
		ydoc_error(y, n, "%s", hint);
		return;
	}
	ydoc_map_check(y, n, keys, "targets");
	if ((v = ydoc_get(y, n, "villages")))
		schedule_each_item(s, y, file, v, "villages", SCHEDULE_MAX_VILLAGES, ref_item, &b->villages);
	if ((v = ydoc_get(y, n, "tags")))
		schedule_each_item(s, y, file, v, "tags", SCHEDULE_MAX_NODES, ref_item, &b->tags);
	if ((v = ydoc_get(y, n, "nodes")))
		schedule_each_item(s, y, file, v, "nodes", SCHEDULE_MAX_NODES, ref_item, &b->nodes);
}

static void load_broadcast(struct schedule *s, struct ydoc *y, const char *file, yaml_node_t *m)
{
	static const char *const keys[] = {
		"id", "notice", "at", "days", "from", "until", "targets", "repeat", "volume",
		"priority", "quiet_ok", NULL
	};
	size_t before = diag_errors(s->d);
	yaml_node_t *v, *from_n = NULL;
	struct bcast *b;
	const char *str;
	long l;

	if (!ydoc_is_map(m)) {
		ydoc_error(y, m, "a broadcast must be a mapping with id, notice, at and targets");
		return;
	}
	if (s->nbcasts >= SCHEDULE_MAX_BROADCASTS) {
		ydoc_error(y, m, "more than %d broadcasts", SCHEDULE_MAX_BROADCASTS);
		return;
	}
	if (!vec_grow((void **)&s->bcasts, &s->bcasts_cap, s->nbcasts + 1, sizeof(*s->bcasts))) {
		s->oom = true;
		return;
	}
	b = &s->bcasts[s->nbcasts];
	memset(b, 0, sizeof(*b));
	b->pub.order = s->nbcasts;
	b->pub.priority = SCHEDULE_ROUTINE;
	b->pub.volume = DEFAULT_VOLUME;
	b->pub.repeat = 1;
	b->wmask = 0x7f;
	b->from = INT64_MIN;
	b->until = INT64_MAX;
	b->pub.pos = schedule_pos_of(file, m);
	s->nbcasts++;
	ydoc_map_check(y, m, keys, "a broadcast");
	if (!(v = ydoc_get(y, m, "id"))) {
		ydoc_error(y, m, "a broadcast needs an id");
	} else if ((str = ydoc_str(y, v, "broadcast id"))) {
		b->pub.pos = schedule_pos_of(file, v);
		if (!item_id_ok(str))
			ydoc_error(y, v, "broadcast id '%s' must be 1 to 64 of A-Z, a-z, 0-9, '-' and '_'", str);
		else
			b->pub.id = schedule_sdup(s, str);
	}
	if (!(v = ydoc_get(y, m, "notice"))) {
		ydoc_error(y, m, "broadcast needs a notice");
	} else if ((str = ydoc_str(y, v, "notice"))) {
		b->notice.name = schedule_sdup(s, str);
		b->notice.pos = schedule_pos_of(file, v);
	}
	b->at = calloc(SCHEDULE_MAX_AT, sizeof(*b->at));
	if (!b->at) {
		s->oom = true;
	} else if (!(v = ydoc_get(y, m, "at"))) {
		ydoc_error(y, m, "broadcast needs at: (a time \"HH:MM\" or a list of them)");
	} else if (ydoc_is_seq(v) && ydoc_seq_len(v) == 0) {
		ydoc_error(y, v, "at must list at least one time");
	} else {
		struct at_ctx c = { b };

		schedule_each_item(s, y, file, v, "at", SCHEDULE_MAX_AT, at_item, &c);
		qsort(b->at, b->pub.nat, sizeof(*b->at), cmp_at);
	}
	b->pub.at = b->at;
	if ((v = ydoc_get(y, m, "days")))
		load_days(s, y, b, v);
	if ((from_n = ydoc_get(y, m, "from")))
		load_date(y, from_n, "from", &b->from);
	if ((v = ydoc_get(y, m, "until")) && load_date(y, v, "until", &b->until) &&
	    b->from != INT64_MIN && b->until < b->from)
		ydoc_error(y, v, "until %s is before from %s",
			   (const char *)v->data.scalar.value, (const char *)from_n->data.scalar.value);
	if (!(v = ydoc_get(y, m, "targets")))
		ydoc_error(y, m, "broadcast needs targets (all, or villages:, tags:, nodes:)");
	else
		load_targets(s, y, file, b, v);
	if ((v = ydoc_get(y, m, "repeat")) && ydoc_long(y, v, 1, SCHEDULE_MAX_REPEAT, "repeat", &l))
		b->pub.repeat = (int)l;
	if ((v = ydoc_get(y, m, "volume")) && ydoc_long(y, v, 1, 100, "volume", &l))
		b->pub.volume = (int)l;
	if ((v = ydoc_get(y, m, "priority")) && (str = ydoc_str(y, v, "priority"))) {
		if (!strcmp(str, "routine"))
			b->pub.priority = SCHEDULE_ROUTINE;
		else if (!strcmp(str, "important"))
			b->pub.priority = SCHEDULE_IMPORTANT;
		else
			ydoc_error(y, v, "priority must be routine or important, not '%s'", str);
	}
	if ((v = ydoc_get(y, m, "quiet_ok")) && ydoc_bool(y, v, "quiet_ok", &b->pub.quiet_ok) &&
	    b->pub.quiet_ok && b->pub.priority != SCHEDULE_IMPORTANT)
		ydoc_error(y, v, "quiet_ok is allowed only with priority: important");
	b = &s->bcasts[s->nbcasts - 1];
	b->pub.valid = diag_errors(s->d) == before;
}

/* ---- the files ----------------------------------------------------------- */

void schedule_file_load(struct schedule *s, const char *name)
{
	static const char *const keys[] = { "notices", "broadcasts", NULL };
	const char *file = schedule_add_file(s, name);
	char *path = fio_join(s->dir, name);
	yaml_node_t *root, *v;
	struct ydoc *y = NULL;

	if (!file || !path) {
		s->oom = true;
		goto out;
	}
	y = ydoc_load(path, file, s->d, NULL);
	if (!y)
		goto out; /* unreadable or bad YAML (reported), or empty (fine) */
	root = ydoc_root(y);
	if (!ydoc_is_map(root)) {
		ydoc_error(y, root, "a broadcast file must be a mapping with notices: and broadcasts:");
		goto out;
	}
	ydoc_map_check(y, root, keys, "a broadcast file");
	if ((v = ydoc_get(y, root, "notices")))
		load_notices(s, y, file, v);
	if ((v = ydoc_get(y, root, "broadcasts"))) {
		if (!ydoc_is_seq(v))
			ydoc_error(y, v, "broadcasts must be a list");
		else
			for (size_t i = 0; i < ydoc_seq_len(v); i++)
				load_broadcast(s, y, file, ydoc_seq_at(y, v, i));
	}
out:
	ydoc_free(y);
	free(path);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **schedule_file_list(struct schedule *s, size_t *count)
{
	char **v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	DIR *dir = opendir(s->dir);

	*count = 0;
	if (!dir) {
		diag_error(s->d, s->dir, 0, 0, "cannot open schedules directory: %s", strerror(errno));
		return NULL;
	}
	while ((e = readdir(dir))) {
		size_t len = strlen(e->d_name);
		struct stat st;
		char *p;

		/* fleet.yaml and warnings.yaml (automatic warnings) have readers of their own. */
		if (e->d_name[0] == '.' || !strcmp(e->d_name, "fleet.yaml") ||
		    !strcmp(e->d_name, "warnings.yaml"))
			continue;
		if (len > 4 && !strcmp(e->d_name + len - 4, ".yml")) {
			char *shown = schedule_concat(s->prefix, e->d_name);

			if (shown)
				diag_warning(s->d, shown, 0, 0, "ignored: only *.yaml files are read");
			free(shown);
			continue;
		}
		if (len <= 5 || strcmp(e->d_name + len - 5, ".yaml"))
			continue;
		p = fio_join(s->dir, e->d_name);
		if (!p || stat(p, &st) < 0 || !S_ISREG(st.st_mode)) {
			free(p);
			continue;
		}
		free(p);
		if (n >= SCHEDULE_MAX_FILES) {
			diag_error(s->d, s->dir, 0, 0, "more than %d broadcast files", SCHEDULE_MAX_FILES);
			break;
		}
		if (!vec_grow((void **)&v, &cap, n + 1, sizeof(*v)) || !(v[n] = strdup(e->d_name))) {
			s->oom = true;
			break;
		}
		n++;
	}
	closedir(dir);
	if (v)
		qsort(v, n, sizeof(*v), cmp_str);
	*count = n;
	return v;
}
