/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tts.c -- voice profiles and speech rendered by libespeak-ng into assets */
#define _GNU_SOURCE /* memfd_create, sched_getaffinity */
#include "config.h"

#include "tts.h"

#include "asset.h"
#include "cxtime.h"
#include "encode.h"
#include "fileio.h"
#include "tts_lex.h"
#include "utf8.h"
#include "ydoc.h"

#include <dirent.h>
#include <errno.h>
#include <espeak-ng/espeak_ng.h>
#include <limits.h>
#include <opus.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Bump when anything that shapes the rendered bytes changes (the cut into
 * parts, encoder settings, how parts are synthesised), so old cache
 * entries stop matching. 2: each part synthesised in a fresh process.
 * 3: resampled once and coded by libopus at ENC_SPEECH_RATE. */
#define RENDER_VERSION 3

/* A part is cut at the first sentence end after PART_CHARS characters
 * (about a minute of speech); a shorter tail joins the part before it. At
 * most MAX_PARTS parts: longer texts get longer parts. */
#define PART_CHARS 160
#define MAX_PARTS 64
#define MAX_JOBS 16

struct voice {
	char *name;
	char *espeak;  /* "voice" or "voice+variant", for espeak_SetVoiceByName */
	char *evoice, *variant;
	int rate, pitch;
	char *chime;   /* absolute, or NULL */
	struct tts_lex *lex; /* or NULL */
};

/* ---- small helpers ---------------------------------------------------- */

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static bool is_dir(const char *p)
{
	struct stat st;

	return p && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ---- espeak-ng -------------------------------------------------------- */

static bool es_ready;
static int es_rate;
static const char *es_version;
static const char *es_data;
static char es_error[160];
static const struct voice *es_voice; /* the profile espeak is set up for */

/* The synthesis callback has no useful user pointer in synchronous mode
 * across all espeak-ng versions, so the part being rendered is global, as
 * espeak-ng's own state is. */
static struct enc *cur_enc;
static int cur_result;

static int on_synth(short *wav, int n, espeak_EVENT *events)
{
	int r;

	if (!wav || n <= 0 || !cur_enc)
		return 0;
	r = enc_write_s16(cur_enc, wav, n);
	if (r < 0) {
		cur_result = r;
		return 1; /* abort synthesis */
	}
	return 0;
}

/* espeak-ng and the encoder of the part being synthesised are process-wide:
 * one render at a time, whichever thread asks (serve's rebuild, its
 * automatic warnings). */
static pthread_mutex_t tts_mutex = PTHREAD_MUTEX_INITIALIZER;

static int es_init(void)
{
	espeak_ng_ERROR_CONTEXT ctx = NULL;
	espeak_ng_STATUS st;

	if (es_ready)
		return 0;
	if (es_error[0])
		return -EIO;
	espeak_ng_InitializePath(NULL);
	st = espeak_ng_Initialize(&ctx);
	if (st == ENS_OK)
		/* Synchronous: the callback runs inside espeak_ng_Synthesize, no
		 * audio device and no thread. */
		st = espeak_ng_InitializeOutput(ENOUTPUT_MODE_SYNCHRONOUS, 0, NULL);
	if (st != ENS_OK) {
		char msg[128];

		espeak_ng_GetStatusCodeMessage(st, msg, sizeof(msg));
		snprintf(es_error, sizeof(es_error), "espeak-ng cannot start: %s", msg);
		espeak_ng_ClearErrorContext(&ctx);
		return -EIO;
	}
	espeak_SetSynthCallback(on_synth);
	es_rate = espeak_ng_GetSampleRate();
	es_version = espeak_Info(&es_data);
	es_ready = true;
	return 0;
}

const char *tts_engine_version(void)
{
	const char *v;

	pthread_mutex_lock(&tts_mutex);
	v = es_init() == 0 ? es_version : NULL;
	pthread_mutex_unlock(&tts_mutex);
	return v;
}

void tts_shutdown(void)
{
	pthread_mutex_lock(&tts_mutex);
	if (es_ready)
		espeak_ng_Terminate();
	es_ready = false;
	es_voice = NULL;
	pthread_mutex_unlock(&tts_mutex);
}

/* Select V's voice and parameters; they persist in espeak-ng until changed. */
static int es_select(const struct voice *v)
{
	if (es_init() < 0)
		return -EIO;
	if (es_voice == v)
		return 0;
	if (espeak_ng_SetVoiceByName(v->espeak) != ENS_OK ||
	    espeak_ng_SetParameter(espeakRATE, v->rate, 0) != ENS_OK ||
	    espeak_ng_SetParameter(espeakPITCH, v->pitch, 0) != ENS_OK)
		return -EIO;
	es_voice = v;
	return 0;
}

/* ---- voice profiles --------------------------------------------------- */

static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '-' || s[i] == '_'))
			return false;
	return true;
}

/* "a, b, c" of the profiles in DIR, for a helpful error. */
static void list_profiles(const char *dir, char *out, size_t outlen)
{
	struct dirent **ents = NULL;
	size_t used = 0;
	int n = scandir(dir, &ents, NULL, alphasort);

	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		const char *nm = ents[i]->d_name;
		size_t l = strlen(nm);

		if (l > 5 && !strcmp(nm + l - 5, ".yaml") && used + l < outlen) {
			used += (size_t)snprintf(out + used, outlen - used, "%s%.*s",
						 used ? ", " : "", (int)(l - 5), nm);
		}
		free(ents[i]);
	}
	free(ents);
}

/* A file named by the profile, relative to the voices directory. Reports
 * at N and returns NULL when it is missing. */
static char *profile_file(struct ydoc *y, yaml_node_t *n, const char *dir, const char *what,
			  char **shown)
{
	const char *s = ydoc_str(y, n, what);
	char *p, *abs;
	struct stat st;

	if (!s)
		return NULL;
	if (!*s) {
		ydoc_error(y, n, "%s must not be empty", what);
		return NULL;
	}
	p = s[0] == '/' ? strdup(s) : fio_join(dir, s);
	if (!p)
		return NULL;
	if (stat(p, &st) < 0 || !S_ISREG(st.st_mode) || access(p, R_OK) < 0) {
		ydoc_error(y, n, "%s file '%s' %s", what, s,
			   errno == ENOENT ? "does not exist" :
			   (stat(p, &st) == 0 && !S_ISREG(st.st_mode)) ? "is not a regular file" :
			   "cannot be read");
		free(p);
		return NULL;
	}
	abs = realpath(p, NULL);
	if (shown)
		*shown = p;
	else
		free(p);
	return abs;
}

static bool variant_exists(const char *variant)
{
	char path[PATH_MAX];
	struct stat st;

	/* espeak-ng accepts an unknown variant silently and speaks with the
	 * plain voice, so look for the file ourselves. */
	if (!*variant || strchr(variant, '/') || variant[0] == '.' || !es_data)
		return false;
	if ((size_t)snprintf(path, sizeof(path), "%s/voices/!v/%s", es_data, variant) >= sizeof(path))
		return false;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static struct voice *load_locked(const char *voices_dir, const char *name, struct diag *d)
{
	static const char *const keys[] = {
		"name", "engine", "voice", "variant", "rate", "pitch", "chime", "lexicon", NULL
	};
	size_t before = diag_errors(d);
	struct voice *v = NULL;
	struct ydoc *y = NULL;
	yaml_node_t *root, *n, *voice_node = NULL;
	char *file = NULL, base[80], avail[512];
	const char *s;
	bool empty;
	long l;

	if (!valid_name(name)) {
		diag_error(d, voices_dir, 0, 0, "'%s' is not a voice name (a-z, 0-9, '-', '_')", name);
		return NULL;
	}
	snprintf(base, sizeof(base), "%s.yaml", name);
	file = fio_join(voices_dir, base);
	v = calloc(1, sizeof(*v));
	if (!file || !v) {
		diag_error(d, voices_dir, 0, 0, "out of memory");
		goto out;
	}
	v->rate = espeakRATE_NORMAL;
	v->pitch = 50;
	if (access(file, F_OK) < 0 && errno == ENOENT) {
		list_profiles(voices_dir, avail, sizeof(avail));
		diag_error(d, file, 0, 0, "no voice profile '%s' in %s%s%s", name, voices_dir,
			   avail[0] ? "; available: " : "", avail);
		goto out;
	}
	y = ydoc_load(file, file, d, &empty);
	if (!y) {
		if (empty)
			diag_error(d, file, 1, 1, "the profile is empty; it needs name, engine and voice");
		goto out;
	}
	root = ydoc_root(y);
	if (!ydoc_is_map(root)) {
		ydoc_error(y, root, "a voice profile must be a mapping of keys");
		goto out;
	}
	ydoc_map_check(y, root, keys, "voice profile");

	if (!(n = ydoc_get(y, root, "name")))
		ydoc_error(y, root, "missing key 'name'");
	else if ((s = ydoc_str(y, n, "name")) && strcmp(s, name))
		ydoc_error(y, n, "name '%s' does not match the file name '%s'", s, base);
	if (!(n = ydoc_get(y, root, "engine")))
		ydoc_error(y, root, "missing key 'engine'");
	else if ((s = ydoc_str(y, n, "engine")) && strcmp(s, "espeak-ng"))
		ydoc_error(y, n, "engine must be espeak-ng, not '%s'", s);
	if (!(voice_node = ydoc_get(y, root, "voice")))
		ydoc_error(y, root, "missing key 'voice'");
	else if ((s = ydoc_str(y, voice_node, "voice")) && !(v->evoice = strdup(s)))
		goto oom;
	if ((n = ydoc_get(y, root, "variant")) && (s = ydoc_str(y, n, "variant"))) {
		if (!(v->variant = strdup(s)))
			goto oom;
		if (es_init() == 0 && !variant_exists(s))
			ydoc_error(y, n, "unknown espeak-ng variant '%s' (see `espeak-ng --voices=variant`)", s);
	}
	if ((n = ydoc_get(y, root, "rate")) &&
	    ydoc_long(y, n, espeakRATE_MINIMUM, espeakRATE_MAXIMUM, "rate", &l))
		v->rate = (int)l;
	if ((n = ydoc_get(y, root, "pitch")) && ydoc_long(y, n, 0, 100, "pitch", &l))
		v->pitch = (int)l;
	if ((n = ydoc_get(y, root, "chime")))
		v->chime = profile_file(y, n, voices_dir, "chime", NULL);
	if ((n = ydoc_get(y, root, "lexicon"))) {
		char *shown = NULL, *abs = profile_file(y, n, voices_dir, "lexicon", &shown);

		if (abs)
			v->lex = tts_lex_load(abs, shown, d);
		free(abs);
		free(shown);
	}

	if (v->evoice) {
		size_t len = strlen(v->evoice) + (v->variant ? strlen(v->variant) + 1 : 0) + 1;

		if (!(v->espeak = malloc(len)))
			goto oom;
		snprintf(v->espeak, len, "%s%s%s", v->evoice, v->variant ? "+" : "",
			 v->variant ? v->variant : "");
		if (es_init() < 0)
			ydoc_error(y, voice_node, "%s", es_error);
		else if (!*v->evoice || strchr(v->evoice, '+') ||
			 espeak_ng_SetVoiceByName(v->evoice) != ENS_OK)
			ydoc_error(y, voice_node, "unknown espeak-ng voice '%s' (see `espeak-ng --voices`)",
				   v->evoice);
		es_voice = NULL; /* whatever espeak-ng holds now is not a profile */
	}
	if (!(v->name = strdup(name)))
		goto oom;
	goto out;
oom:
	diag_error(d, file, 0, 0, "out of memory");
out:
	ydoc_free(y);
	free(file);
	if (diag_errors(d) > before || !v) {
		voice_free(v);
		return NULL;
	}
	return v;
}

struct voice *voice_load(const char *voices_dir, const char *name, struct diag *d)
{
	struct voice *v;

	pthread_mutex_lock(&tts_mutex);
	v = load_locked(voices_dir, name, d);
	pthread_mutex_unlock(&tts_mutex);
	return v;
}

void voice_free(struct voice *v)
{
	if (!v)
		return;
	if (es_voice == v)
		es_voice = NULL;
	free(v->name);
	free(v->espeak);
	free(v->evoice);
	free(v->variant);
	free(v->chime);
	tts_lex_free(v->lex);
	free(v);
}

const char *voice_name(const struct voice *v) { return v->name; }
const char *voice_chime(const struct voice *v) { return v->chime; }

/* ---- the voices directory --------------------------------------------- */

/* True when this executable lies below a meson build directory. */
static bool run_from_build_tree(void)
{
	char exe[PATH_MAX], probe[PATH_MAX + 16];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		return false;
	exe[n] = '\0';
	for (char *slash = strrchr(exe, '/'); slash && slash != exe; slash = strrchr(exe, '/')) {
		*slash = '\0';
		snprintf(probe, sizeof(probe), "%s/meson-private", exe);
		if (is_dir(probe))
			return true;
	}
	return false;
}

char *voices_dir_find(const char *opt, const char *conf, const char *schedules_dir)
{
	const char *env = getenv("CUNXIANG_VOICES");
	char *p;

	if (opt && *opt)
		return strdup(opt);
	if (conf && *conf)
		return strdup(conf);
	if (schedules_dir && *schedules_dir) {
		p = fio_join(schedules_dir, "voices");
		if (is_dir(p))
			return p;
		free(p);
	}
	if (env && *env)
		return strdup(env);
	p = fio_join(CX_DATADIR, "cunxiang/voices");
	if (is_dir(p))
		return p;
	free(p);
	if (run_from_build_tree()) {
		p = fio_join(CX_SOURCE_ROOT, "voices");
		if (is_dir(p))
			return p;
		free(p);
	}
	return NULL;
}

/* ---- text preparation ------------------------------------------------- */

struct sbuf {
	char *s;
	size_t len, cap, max;
};

static int sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->max)
		return -EINVAL;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		char *ns;

		while (cap < b->len + n + 1)
			cap *= 2;
		ns = realloc(b->s, cap);
		if (!ns)
			return -ENOMEM;
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

/* Validate TEXT and apply V's lexicon. Phoneme brackets are honoured only
 * where the lexicon puts them: a "[[" typed in a notice is split so that
 * espeak-ng reads on as text. */
static int prepare(const struct voice *v, const char *text, char **out, char *err, size_t errlen)
{
	struct sbuf b = { .max = 4 * (size_t)TTS_MAX_TEXT_BYTES };
	size_t n = strlen(text), i = 0;
	long bad;
	int r = 0;

	if (n > TTS_MAX_TEXT_BYTES) {
		seterr(err, errlen, "the text is longer than %u bytes", TTS_MAX_TEXT_BYTES);
		return -EINVAL;
	}
	if ((bad = utf8_invalid_at(text, n)) >= 0) {
		seterr(err, errlen, "the text is not valid UTF-8 (byte %ld)", bad + 1);
		return -EINVAL;
	}
	if (strspn(text, " \t\r\n\f\v") == n) {
		seterr(err, errlen, "the text is empty");
		return -EINVAL;
	}
	while (i < n && r == 0) {
		uint32_t cp;
		size_t k = utf8_next(text + i, n - i, &cp), wlen, rlen;
		const char *repl = tts_lex_match(v->lex, text + i, n - i, &wlen, &rlen);

		if (repl) {
			r = sb_add(&b, repl, rlen);
			i += wlen;
		} else if (text[i] == '[' && text[i + 1] == '[') {
			r = sb_add(&b, "[ ", 2);
			i++;
		} else {
			r = sb_add(&b, text + i, k);
			i += k;
		}
	}
	if (r < 0) {
		free(b.s);
		seterr(err, errlen, r == -ENOMEM ? "out of memory" :
		       "the text is too long once the lexicon is applied");
		return r;
	}
	*out = b.s;
	return 0;
}

static bool sentence_end(uint32_t cp, const char *next)
{
	switch (cp) {
	case 0x3002: /* 。 */
	case 0xff01: /* ！ */
	case 0xff1f: /* ？ */
	case 0xff1b: /* ； */
	case '\n':
		return true;
	case '.':
	case '!':
	case '?':
	case ';':
		/* ASCII only before a space or the end: not inside "3.5". */
		return *next == '\0' || *next == ' ' || *next == '\n' || *next == '\t';
	default:
		return false;
	}
}

/* Closing marks that belong to the sentence before the cut. */
static bool closing_mark(uint32_t cp)
{
	return cp == 0x201d || cp == 0x2019 || cp == 0x300d || cp == 0x300f ||
	       cp == 0xff09 || cp == 0x300b || cp == '"' || cp == '\'' || cp == ')';
}

/* Cut S into parts at sentence ends, outside [[phonemes]]: START[i] is
 * where part i begins; returns the number of parts. Depends only on S. */
static size_t split_parts(const char *s, size_t start[MAX_PARTS + 1])
{
	size_t n = strlen(s), chars = utf8_count(s, n), target, nparts = 1, i = 0, run = 0;
	size_t last_cut = 0;
	bool phon = false;

	target = chars / MAX_PARTS + 1 > PART_CHARS ? chars / MAX_PARTS + 1 : PART_CHARS;
	start[0] = 0;
	while (i < n) {
		uint32_t cp;
		size_t k = utf8_next(s + i, n - i, &cp);

		if (!k)
			k = 1; /* cannot happen: prepare() validated S */
		if (!phon && s[i] == '[' && s[i + 1] == '[') {
			phon = true;
			i += 2;
			run += 2;
			continue;
		}
		if (phon && s[i] == ']' && s[i + 1] == ']') {
			phon = false;
			i += 2;
			run += 2;
			continue;
		}
		i += k;
		run++;
		if (phon || run < target || !sentence_end(cp, s + i))
			continue;
		while (i < n && (k = utf8_next(s + i, n - i, &cp)) && closing_mark(cp))
			i += k;
		if (nparts == MAX_PARTS || i >= n)
			break;
		start[nparts++] = i;
		last_cut = i;
		run = 0;
	}
	/* A short tail is spoken as part of the sentence before it. */
	if (nparts > 1 && run < target / 2 && last_cut == start[nparts - 1] &&
	    utf8_count(s + last_cut, n - last_cut) < target / 2)
		nparts--;
	start[nparts] = n;
	return nparts;
}

/* ---- rendering -------------------------------------------------------- */

static int tts_jobs;

void tts_set_jobs(int n)
{
	tts_jobs = n > 0 ? n : 0;
}

static int cpu_count(void)
{
	cpu_set_t set;
	int n;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && (n = CPU_COUNT(&set)) > 0)
		return n;
	n = (int)sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? n : 1;
}

/* What decides the rendered bytes, hashed: the cache key and the seed of
 * the Ogg serial numbers. The profile counts by its effective settings and
 * its lexicon's bytes, so re-formatting a profile does not re-render. */
static void render_key(const struct voice *v, const char *text, char key[CX_SHA256_HEX])
{
	char head[512];
	size_t hl, tl = strlen(text);
	char *m;

	hl = (size_t)snprintf(head, sizeof(head),
			      "cunxiang-tts %d\nespeak-ng %s\n%s\nvoice %s\nrate %d\npitch %d\n"
			      "coded %d Hz\nbitrate %d\ncomplexity %d\nlexicon %s\ntext %zu\n",
			      RENDER_VERSION, es_version ? es_version : "?", opus_get_version_string(),
			      v->espeak, v->rate, v->pitch, ENC_SPEECH_RATE, ENC_DEFAULT_BITRATE,
			      ENC_SPEECH_COMPLEXITY, v->lex ? tts_lex_sha(v->lex) : "-", tl);
	if (hl >= sizeof(head))
		hl = sizeof(head) - 1;
	m = malloc(hl + tl);
	if (!m) {
		/* Hash the parts separately: still a function of the same input. */
		char a[CX_SHA256_HEX], b[CX_SHA256_HEX], ab[2 * CX_SHA256_HEX];

		cx_sha256_hex(head, hl, a);
		cx_sha256_hex(text, tl, b);
		snprintf(ab, sizeof(ab), "%s%s", a, b);
		cx_sha256_hex(ab, strlen(ab), key);
		return;
	}
	memcpy(m, head, hl);
	memcpy(m + hl, text, tl);
	cx_sha256_hex(m, hl + tl, key);
	free(m);
}

/* Synthesise one part straight into its own encoder: one Ogg link. */
static int render_part(const char *text, size_t len, uint32_t seed, unsigned char **buf,
		       size_t *blen, char *err, size_t errlen)
{
	espeak_ng_STATUS st;
	char *t = strndup(text, len);
	int r;

	if (!t)
		return -ENOMEM;
	cur_enc = enc_new(es_rate, ENC_SPEECH_RATE, ENC_DEFAULT_BITRATE, ENC_SPEECH_COMPLEXITY, seed);
	if (!cur_enc) {
		r = -errno;
		free(t);
		seterr(err, errlen, "cannot start the encoder: %s", strerror(-r));
		return r;
	}
	cur_result = 0;
	/* The same flags as the espeak-ng program: phonemes in [[ ]] (for the
	 * lexicon) and a sentence pause at the end. */
	st = espeak_ng_Synthesize(t, len + 1, 0, POS_CHARACTER, 0,
				  espeakCHARS_UTF8 | espeakPHONEMES | espeakENDPAUSE, NULL, NULL);
	free(t);
	if (st != ENS_OK || cur_result < 0) {
		char msg[128];

		r = cur_result < 0 ? cur_result : -EIO;
		if (cur_result == -EFBIG)
			snprintf(msg, sizeof(msg), "the asset would be larger than %u MiB",
				 ASSET_MAX_BYTES >> 20);
		else if (cur_result < 0)
			snprintf(msg, sizeof(msg), "%s", strerror(-cur_result));
		else
			espeak_ng_GetStatusCodeMessage(st, msg, sizeof(msg));
		seterr(err, errlen, "speech synthesis failed: %s", msg);
		enc_free(cur_enc);
		cur_enc = NULL;
		return r;
	}
	r = enc_finish(cur_enc, buf, blen, NULL);
	cur_enc = NULL;
	if (r < 0)
		seterr(err, errlen, "encoding failed: %s",
		       r == -ENODATA ? "espeak-ng produced no audio" : strerror(-r));
	return r;
}

/* Per part, in memory shared with the workers. */
struct slot {
	int state; /* 0 pending, 1 done, <0 -errno */
	char err[200];
};

struct shared {
	int next; /* next part to take, advanced atomically */
	struct slot slot[MAX_PARTS];
};

/* Dies with its parent, so that a killed renderer leaves no synthesis
 * running. False when the parent is already gone. */
static bool die_with_parent(void)
{
	pid_t parent = getppid();

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	return getppid() == parent;
}

/* How long rendering LEN bytes of text may take before the process doing
 * it is taken for hung: many times what any part needs. A process forked
 * from one with other threads can inherit a lock one of them held (ASan's
 * allocator does not guard against it) and never finish. */
#define RENDER_DEADLINE_US(len) (5000000LL + 10000LL * (int64_t)(len))

/* Wait for PID until DEADLINE_US (CLOCK_MONOTONIC); past it, kill it.
 * \retval true when it ended by itself */
static bool wait_deadline(pid_t pid, int64_t deadline_us)
{
	for (;;) {
		pid_t r = waitpid(pid, NULL, WNOHANG);

		if (r == pid || (r < 0 && errno != EINTR))
			return true;
		if (cx_mono_us() >= deadline_us) {
			kill(pid, SIGKILL);
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
			return false;
		}
		usleep(1000);
	}
}

/* Render part I in a process of its own, its result to its memfd and its
 * slot. espeak-ng carries state from one synthesis to the next (the same
 * sentence spoken twice in one process comes out in different samples),
 * so each part starts from a fork of a process that has synthesised
 * nothing: then the bytes depend on the text alone, not on which parts,
 * or notices, the process rendered before. */
static bool render_isolated(struct slot *s, int fd, const char *text, size_t len, uint32_t seed)
{
	pid_t pid = fork();
	int r;

	if (pid < 0) {
		r = -errno;
		snprintf(s->err, sizeof(s->err), "cannot start a speech process: %s", strerror(-r));
		__atomic_store_n(&s->state, r, __ATOMIC_SEQ_CST);
		return true;
	}
	if (pid == 0) {
		unsigned char *buf = NULL;
		size_t blen = 0;

		if (!die_with_parent())
			_exit(1);
		r = render_part(text, len, seed, &buf, &blen, s->err, sizeof(s->err));
		if (r == 0 && (r = fio_write_fd(fd, buf, blen)) < 0)
			snprintf(s->err, sizeof(s->err), "cannot hand over a part: %s", strerror(-r));
		__atomic_store_n(&s->state, r < 0 ? r : 1, __ATOMIC_SEQ_CST);
		_exit(0);
	}
	/* A process killed before it reported leaves the slot pending; the
	 * caller reports that. */
	return wait_deadline(pid, cx_mono_us() + RENDER_DEADLINE_US(len));
}

/* Take parts until none is left. */
static void work(struct shared *sh, const int *fds, const char *text, const size_t *start,
		 size_t nparts, uint32_t seed)
{
	for (;;) {
		int i = __atomic_fetch_add(&sh->next, 1, __ATOMIC_SEQ_CST);

		if (i < 0 || (size_t)i >= nparts)
			return;
		/* A hung process is killed; its part is rendered once more
		 * from a fresh fork, over whatever it wrote. */
		for (int k = 0; k < 2; k++) {
			if (render_isolated(&sh->slot[i], fds[i], text + start[i], start[i + 1] - start[i],
					    seed + (uint32_t)i))
				break;
			if (k == 1 || ftruncate(fds[i], 0) < 0 || lseek(fds[i], 0, SEEK_SET) < 0) {
				snprintf(sh->slot[i].err, sizeof(sh->slot[i].err),
					 "a speech process hung and was stopped");
				__atomic_store_n(&sh->slot[i].state, -ETIMEDOUT, __ATOMIC_SEQ_CST);
				break;
			}
		}
	}
}

static int read_part(int fd, struct sbuf *out)
{
	struct stat st;
	off_t off = 0;

	if (fstat(fd, &st) < 0)
		return -errno;
	if ((size_t)st.st_size > ASSET_MAX_BYTES - out->len)
		return -EFBIG;
	if (sb_add(out, "", 0) < 0 || out->cap < out->len + (size_t)st.st_size + 1) {
		char *ns = realloc(out->s, out->len + (size_t)st.st_size + 1);

		if (!ns)
			return -ENOMEM;
		out->s = ns;
		out->cap = out->len + (size_t)st.st_size + 1;
	}
	while (off < st.st_size) {
		ssize_t k = pread(fd, out->s + out->len, (size_t)(st.st_size - off), off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : -EIO;
		off += k;
		out->len += (size_t)k;
	}
	return 0;
}

static int render_locked(const struct voice *v, const char *text, unsigned char **buf,
			 size_t *len, int64_t *duration_ms, char *err, size_t errlen)
{
	size_t start[MAX_PARTS + 1], nparts;
	struct sbuf out = { .max = (size_t)ASSET_MAX_BYTES + 1 };
	struct shared *sh = MAP_FAILED;
	int fds[MAX_PARTS], jobs, r;
	pid_t pids[MAX_JOBS];
	int nkids = 0;
	char key[CX_SHA256_HEX], *t = NULL;
	int64_t ms;

	for (size_t i = 0; i < MAX_PARTS; i++)
		fds[i] = -1;
	if ((r = es_select(v)) < 0) {
		seterr(err, errlen, "%s", es_error[0] ? es_error : "espeak-ng cannot use this voice");
		return r;
	}
	r = prepare(v, text, &t, err, errlen);
	if (r < 0)
		return r;
	render_key(v, t, key);
	nparts = split_parts(t, start);

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		r = -errno;
		seterr(err, errlen, "cannot share memory with the speech workers: %s", strerror(-r));
		sh = NULL;
		goto out;
	}
	memset(sh, 0, sizeof(*sh));
	/* Each part's Ogg bytes travel back through an anonymous in-memory
	 * file, so a worker never waits for the parent to read. */
	for (size_t i = 0; i < nparts; i++) {
		fds[i] = memfd_create("cunxiang-tts-part", MFD_CLOEXEC);
		if (fds[i] < 0) {
			r = -errno;
			seterr(err, errlen, "cannot create a buffer for a speech part: %s", strerror(-r));
			goto out;
		}
	}

	jobs = tts_jobs > 0 ? tts_jobs : cpu_count();
	if (jobs > MAX_JOBS)
		jobs = MAX_JOBS;
	if ((size_t)jobs > nparts)
		jobs = (int)nparts;
	/* This process is one of the workers; forked ones inherit espeak-ng
	 * already initialised with the voice selected. Workers only fork the
	 * processes that synthesise (render_isolated). */
	fflush(NULL);
	for (int j = 1; j < jobs; j++) {
		pid_t pid = fork();

		if (pid < 0)
			break; /* fewer workers; the parts still all get done */
		if (pid == 0) {
			if (!die_with_parent())
				_exit(1);
			work(sh, fds, t, start, nparts, enc_seed(key));
			_exit(0);
		}
		pids[nkids++] = pid;
	}
	work(sh, fds, t, start, nparts, enc_seed(key));
	/* A worker renders parts one after another, each given two tries. */
	for (int j = 0; j < nkids; j++)
		wait_deadline(pids[j], cx_mono_us() + 2 * RENDER_DEADLINE_US(start[nparts]));

	r = 0;
	for (size_t i = 0; i < nparts && r == 0; i++) {
		int state = __atomic_load_n(&sh->slot[i].state, __ATOMIC_SEQ_CST);

		if (state == 1) {
			r = read_part(fds[i], &out);
			if (r < 0)
				seterr(err, errlen, "%s", r == -EFBIG ?
				       "the speech would be larger than the largest asset" :
				       "cannot collect a speech part");
		} else {
			r = state < 0 ? state : -EIO;
			seterr(err, errlen, "%s", state < 0 ? sh->slot[i].err :
			       "a speech process died");
		}
	}
	if (r < 0)
		goto out;
	r = asset_duration_mem(out.s, out.len, &ms);
	if (r < 0) {
		seterr(err, errlen, "the rendered speech does not decode");
		r = -EIO;
		goto out;
	}
	*buf = (unsigned char *)out.s;
	*len = out.len;
	out.s = NULL;
	if (duration_ms)
		*duration_ms = ms;
out:
	for (size_t i = 0; i < MAX_PARTS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (sh)
		munmap(sh, sizeof(*sh));
	free(out.s);
	free(t);
	return r;
}

int tts_render(const struct voice *v, const char *text, unsigned char **buf, size_t *len,
	       int64_t *duration_ms, char *err, size_t errlen)
{
	int r;

	pthread_mutex_lock(&tts_mutex);
	r = render_locked(v, text, buf, len, duration_ms, err, errlen);
	pthread_mutex_unlock(&tts_mutex);
	return r;
}

static int asset_locked(const struct voice *v, const char *text, const char *assets_dir,
			const char *cache_dir, char sha[CX_SHA256_HEX], int64_t *duration_ms,
			char *err, size_t errlen)
{
	char key[CX_SHA256_HEX], *t = NULL;
	unsigned char *buf = NULL;
	size_t len;
	int64_t ms;
	int r;

	if (es_init() < 0) {
		seterr(err, errlen, "%s", es_error);
		return -EIO;
	}
	r = prepare(v, text, &t, err, errlen);
	if (r < 0)
		return r;
	render_key(v, t, key);
	free(t);
	if (cache_dir && enc_cache_get(cache_dir, key, assets_dir, sha, duration_ms) == 0)
		return 0;
	r = render_locked(v, text, &buf, &len, &ms, err, errlen);
	if (r < 0)
		return r;
	r = enc_store(assets_dir, buf, len, sha);
	free(buf);
	if (r < 0) {
		seterr(err, errlen, "cannot store the asset in %s: %s", assets_dir, strerror(-r));
		return r;
	}
	/* A cache that cannot be written costs a re-render next time, no more. */
	if (cache_dir)
		(void)enc_cache_put(cache_dir, key, sha);
	if (duration_ms)
		*duration_ms = ms;
	return 0;
}

int tts_asset(const struct voice *v, const char *text, const char *assets_dir,
	      const char *cache_dir, char sha[CX_SHA256_HEX], int64_t *duration_ms,
	      char *err, size_t errlen)
{
	int r;

	pthread_mutex_lock(&tts_mutex);
	r = asset_locked(v, text, assets_dir, cache_dir, sha, duration_ms, err, errlen);
	pthread_mutex_unlock(&tts_mutex);
	return r;
}
