/* SPDX-License-Identifier: GPL-2.0-or-later */
/* faultproxy.c -- a TCP proxy that makes a link misbehave: latency, jitter,
 * stalls, cuts and flapping between poles and the broker (test tool)
 *
 * It listens on a loopback port and connects each client it accepts to the
 * target port (the broker); bytes pass through untouched (TLS included).
 * Per direction ("up": client to target, "down": target to client) every
 * chunk read is held for the latency plus a uniform jitter, but never
 * released before the chunk ahead of it: a TCP stream keeps its order, so
 * jitter delays chunks and never reorders them. On top of that:
 *
 *   stall   no byte flows either way for a while (a 4G handover): what
 *           arrives meanwhile is held, the connections stay open;
 *   cut     every connection is closed at once;
 *   down    the link is gone: every connection is closed and new ones are
 *           reset as soon as they are accepted, until "up";
 *   flap    up for a while, then down for a while, over and over.
 *
 * Faults come from the options (periodic), from signals (SIGUSR1 cuts,
 * SIGUSR2 toggles down/up) and from a control FIFO (--control PATH) that
 * takes one command a line: "cut", "down", "up", "stall MS", "flap UP,DOWN",
 * "flap off", "delay MS[,MS]", "jitter MS[,MS]". Each thing it does is logged
 * to stderr as "WALL_MS faultproxy: WHAT" (wall clock, ms), so a test can
 * line the faults up with what the poles did.
 *
 * One epoll loop; a handful of connections, so each wake-up scans them all. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS   64
#define CHUNK_MAX   16384
#define QUEUE_MAX   (4 << 20)    /* held per direction before reading stops */
#define CTL_MAX     256

struct chunk {
	int64_t due_us;              /* monotonic */
	size_t len, off;
	struct chunk *next;
	unsigned char data[];
};

struct dir {                         /* one direction of a connection */
	int from, to;                /* fds */
	struct chunk *head, *tail;
	size_t queued;
	int64_t last_due_us;
	bool eof;                    /* `from` is done; close once drained */
	bool blocked;                /* a due chunk met a full socket buffer */
	uint64_t bytes;
};

struct conn {
	bool used, connecting;
	int id;
	int cfd, tfd;                /* client, target */
	struct dir up, down;
};

struct proxy {
	int ep, lfd, sfd, ctl;
	const char *ctl_path;
	int target_port;
	int delay_ms[2], jitter_ms[2];   /* [0] up, [1] down */
	int stall_ms, stall_every_ms;
	int cut_every_ms;
	int flap_up_ms, flap_down_ms;
	bool down;
	int64_t stall_until_us, next_stall_us, next_cut_us, next_flap_us;
	struct conn c[MAX_CONNS];
	int next_id;
	char ctlbuf[CTL_MAX];
	size_t ctllen;
	bool quit;
};

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	struct timespec ts;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(stderr, "%" PRId64 " faultproxy: ", (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

static void set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* The epoll events a connection's fds want now: read while the other
 * direction's queue has room, write while something is due and blocked. */
static void watch(struct proxy *p, struct conn *c)
{
	struct { int fd; struct dir *in, *out; } s[2] = {
		{ c->cfd, &c->up, &c->down }, { c->tfd, &c->down, &c->up },
	};

	for (int i = 0; i < 2; i++) {
		struct epoll_event ev = { .data.u64 = (uint64_t)(c - p->c) << 1 | (uint64_t)i };

		if (s[i].fd < 0)
			continue;
		if (!s[i].in->eof && s[i].in->queued < QUEUE_MAX && !(i == 0 && c->connecting))
			ev.events |= EPOLLIN;
		if (s[i].out->blocked || (i == 1 && c->connecting))
			ev.events |= EPOLLOUT;
		epoll_ctl(p->ep, EPOLL_CTL_MOD, s[i].fd, &ev);
	}
}

static void dir_clear(struct dir *d)
{
	while (d->head) {
		struct chunk *k = d->head;

		d->head = k->next;
		free(k);
	}
	d->tail = NULL;
	d->queued = 0;
}

static void conn_close(struct proxy *p, struct conn *c, const char *why)
{
	if (!c->used)
		return;
	logf_("conn %d closed (%s): %" PRIu64 " bytes up, %" PRIu64 " down",
	      c->id, why, c->up.bytes, c->down.bytes);
	/* A reset, as a link that is gone leaves no orderly FIN behind. */
	struct linger lg = { 1, 0 };

	setsockopt(c->cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(c->cfd);
	if (c->tfd >= 0)
		close(c->tfd);
	dir_clear(&c->up);
	dir_clear(&c->down);
	memset(c, 0, sizeof(*c));
}

static void close_all(struct proxy *p, const char *why)
{
	for (int i = 0; i < MAX_CONNS; i++)
		conn_close(p, &p->c[i], why);
}

static int jitter(int ms)
{
	return ms > 0 ? (int)(random() % (2 * ms + 1)) - ms : 0;
}

/* Read what `d->from` has into a chunk due after the latency. 0, or -1
 * when the connection is to be closed. */
static int dir_read(struct proxy *p, struct dir *d, int k)
{
	struct chunk *ch = malloc(sizeof(*ch) + CHUNK_MAX);
	ssize_t n;
	int64_t due;

	if (!ch)
		return -1;
	n = read(d->from, ch->data, CHUNK_MAX);
	if (n <= 0) {
		free(ch);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		d->eof = true;
		return d->head ? 0 : -1;
	}
	due = mono_us() + (int64_t)(p->delay_ms[k] + jitter(p->jitter_ms[k])) * 1000;
	if (due < d->last_due_us)
		due = d->last_due_us;  /* never ahead of the chunk before it */
	d->last_due_us = due;
	ch->due_us = due;
	ch->len = (size_t)n;
	ch->off = 0;
	ch->next = NULL;
	if (d->tail)
		d->tail->next = ch;
	else
		d->head = ch;
	d->tail = ch;
	d->queued += (size_t)n;
	return 0;
}

/* Write the chunks that are due. 0, or -1 when the connection is to be closed. */
static int dir_flush(struct proxy *p, struct dir *d, int64_t now)
{
	d->blocked = false;
	if (now < p->stall_until_us)
		return 0;
	while (d->head && d->head->due_us <= now) {
		struct chunk *k = d->head;
		ssize_t n = write(d->to, k->data + k->off, k->len - k->off);

		if (n < 0) {
			d->blocked = errno == EAGAIN;
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		}
		k->off += (size_t)n;
		d->queued -= (size_t)n;
		d->bytes += (uint64_t)n;
		if (k->off < k->len)
			return 0;
		d->head = k->next;
		if (!d->head)
			d->tail = NULL;
		free(k);
	}
	return d->eof && !d->head ? -1 : 0;
}

static void on_accept(struct proxy *p)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct conn *c = NULL;
	int fd = accept(p->lfd, NULL, NULL), one = 1;

	if (fd < 0)
		return;
	for (int i = 0; i < MAX_CONNS && !c; i++)
		if (!p->c[i].used)
			c = &p->c[i];
	if (p->down || !c) {
		struct linger lg = { 1, 0 };

		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
		logf_("refused a connection (%s)", p->down ? "link down" : "too many");
		return;
	}
	memset(c, 0, sizeof(*c));
	c->used = true;
	c->id = ++p->next_id;
	c->cfd = fd;
	c->tfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	set_nonblock(fd);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (c->tfd < 0) {
		conn_close(p, c, "no socket");
		return;
	}
	setsockopt(c->tfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	sa.sin_port = htons((uint16_t)p->target_port);
	if (connect(c->tfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		conn_close(p, c, strerror(errno));
		return;
	}
	c->connecting = true;
	c->up = (struct dir){ .from = c->cfd, .to = c->tfd };
	c->down = (struct dir){ .from = c->tfd, .to = c->cfd };
	struct epoll_event ev = { 0 };

	ev.data.u64 = (uint64_t)(c - p->c) << 1;
	epoll_ctl(p->ep, EPOLL_CTL_ADD, c->cfd, &ev);
	ev.data.u64 |= 1;
	epoll_ctl(p->ep, EPOLL_CTL_ADD, c->tfd, &ev);
	watch(p, c);
	logf_("conn %d accepted", c->id);
}

static void set_down(struct proxy *p, bool down, const char *why)
{
	if (p->down == down)
		return;
	p->down = down;
	logf_("link %s (%s)", down ? "down" : "up", why);
	if (down)
		close_all(p, "link down");
}

static int parse_pair(const char *s, int v[2])
{
	char *end;
	long a = strtol(s, &end, 10), b = a;

	if (end == s || a < 0 || a > 3600000)
		return -1;
	if (*end == ',') {
		const char *t = end + 1;

		b = strtol(t, &end, 10);
		if (end == t || b < 0 || b > 3600000)
			return -1;
	}
	if (*end && *end != '\n')
		return -1;
	v[0] = (int)a;
	v[1] = (int)b;
	return 0;
}

static void command(struct proxy *p, char *line)
{
	int v[2];
	int64_t now = mono_us();

	if (!strcmp(line, "cut")) {
		logf_("cut (control)");
		close_all(p, "cut");
	} else if (!strcmp(line, "down")) {
		set_down(p, true, "control");
	} else if (!strcmp(line, "up")) {
		p->flap_up_ms = p->flap_down_ms = 0;
		set_down(p, false, "control");
	} else if (!strncmp(line, "stall ", 6) && !parse_pair(line + 6, v)) {
		p->stall_until_us = now + (int64_t)v[0] * 1000;
		logf_("stall for %d ms (control)", v[0]);
	} else if (!strcmp(line, "flap off")) {
		p->flap_up_ms = p->flap_down_ms = 0;
		logf_("flapping off");
		set_down(p, false, "flapping off");
	} else if (!strncmp(line, "flap ", 5) && !parse_pair(line + 5, v) && v[0] > 0 && v[1] > 0) {
		p->flap_up_ms = v[0];
		p->flap_down_ms = v[1];
		p->next_flap_us = now + (int64_t)(p->down ? v[1] : v[0]) * 1000;
		logf_("flapping %d ms up, %d ms down", v[0], v[1]);
	} else if (!strncmp(line, "delay ", 6) && !parse_pair(line + 6, v)) {
		p->delay_ms[0] = v[0];
		p->delay_ms[1] = v[1];
		logf_("delay %d ms up, %d ms down", v[0], v[1]);
	} else if (!strncmp(line, "jitter ", 7) && !parse_pair(line + 7, v)) {
		p->jitter_ms[0] = v[0];
		p->jitter_ms[1] = v[1];
		logf_("jitter %d ms up, %d ms down", v[0], v[1]);
	} else if (*line) {
		logf_("unknown command '%s'", line);
	}
}

static void on_control(struct proxy *p)
{
	ssize_t n = read(p->ctl, p->ctlbuf + p->ctllen, sizeof(p->ctlbuf) - 1 - p->ctllen);
	char *nl;

	if (n <= 0)
		return;
	p->ctllen += (size_t)n;
	p->ctlbuf[p->ctllen] = '\0';
	while ((nl = strchr(p->ctlbuf, '\n'))) {
		*nl = '\0';
		command(p, p->ctlbuf);
		p->ctllen -= (size_t)(nl + 1 - p->ctlbuf);
		memmove(p->ctlbuf, nl + 1, p->ctllen + 1);
	}
	if (p->ctllen == sizeof(p->ctlbuf) - 1) {
		logf_("control line too long, dropped");
		p->ctllen = 0;
	}
}

static void on_signal(struct proxy *p)
{
	struct signalfd_siginfo si;

	if (read(p->sfd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGUSR1) {
		logf_("cut (SIGUSR1)");
		close_all(p, "cut");
	} else if (si.ssi_signo == SIGUSR2) {
		set_down(p, !p->down, "SIGUSR2");
	} else {
		p->quit = true;
	}
}

static void on_conn_event(struct proxy *p, uint64_t u, uint32_t events)
{
	struct conn *c = &p->c[u >> 1];
	int side = (int)(u & 1);

	if (!c->used)
		return;
	if (side == 1 && c->connecting) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		getsockopt(c->tfd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			conn_close(p, c, strerror(err));
			return;
		}
		c->connecting = false;
		watch(p, c);
		return;
	}
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) &&
	    dir_read(p, side ? &c->down : &c->up, side) < 0) {
		conn_close(p, c, "peer closed");
		return;
	}
	watch(p, c);
}

/* Periodic faults whose time has come; returns when the next one is due. */
static int64_t timers(struct proxy *p, int64_t now)
{
	int64_t next = INT64_MAX;

	if (p->stall_every_ms > 0) {
		if (now >= p->next_stall_us) {
			p->stall_until_us = now + (int64_t)p->stall_ms * 1000;
			p->next_stall_us = now + (int64_t)p->stall_every_ms * 1000;
			logf_("stall for %d ms", p->stall_ms);
		}
		next = p->next_stall_us;
	}
	if (p->stall_until_us > now && p->stall_until_us < next)
		next = p->stall_until_us;
	if (p->cut_every_ms > 0) {
		if (now >= p->next_cut_us) {
			p->next_cut_us = now + (int64_t)p->cut_every_ms * 1000;
			logf_("cut (every %d ms)", p->cut_every_ms);
			close_all(p, "cut");
		}
		if (p->next_cut_us < next)
			next = p->next_cut_us;
	}
	if (p->flap_up_ms > 0) {
		if (now >= p->next_flap_us) {
			set_down(p, !p->down, "flapping");
			p->next_flap_us = now + (int64_t)(p->down ? p->flap_down_ms : p->flap_up_ms) * 1000;
		}
		if (p->next_flap_us < next)
			next = p->next_flap_us;
	}
	return next;
}

/* Send what is due on every connection; returns when the next chunk is due. */
static int64_t flush_all(struct proxy *p, int64_t now)
{
	int64_t next = INT64_MAX;

	for (int i = 0; i < MAX_CONNS; i++) {
		struct conn *c = &p->c[i];

		if (!c->used || c->connecting)
			continue;
		if (dir_flush(p, &c->up, now) < 0 || dir_flush(p, &c->down, now) < 0) {
			conn_close(p, c, c->up.eof || c->down.eof ? "peer closed" : "write failed");
			continue;
		}
		for (struct dir *d = &c->up; d; d = d == &c->up ? &c->down : NULL)
			if (d->head) {
				int64_t due = d->head->due_us;

				if (d->blocked)   /* EPOLLOUT wakes us */
					continue;
				if (due < next)
					next = due;
			}
		watch(p, c);
	}
	if (next != INT64_MAX && p->stall_until_us > next)
		next = p->stall_until_us;
	return next;
}

static int run(struct proxy *p)
{
	int64_t now = mono_us();

	p->next_stall_us = now + (int64_t)p->stall_every_ms * 1000;
	p->next_cut_us = now + (int64_t)p->cut_every_ms * 1000;
	p->next_flap_us = now + (int64_t)p->flap_up_ms * 1000;
	while (!p->quit) {
		struct epoll_event ev[32];
		int64_t next, t;
		int n, timeout;

		now = mono_us();
		next = timers(p, now);
		t = flush_all(p, now);
		if (t < next)
			next = t;
		timeout = next == INT64_MAX ? -1 : (int)((next - now + 999) / 1000);
		n = epoll_wait(p->ep, ev, 32, timeout);
		if (n < 0 && errno != EINTR) {
			logf_("epoll_wait: %s", strerror(errno));
			return 1;
		}
		for (int i = 0; i < n; i++) {
			uint64_t u = ev[i].data.u64;

			if (u == UINT64_MAX - 0)
				on_accept(p);
			else if (u == UINT64_MAX - 1)
				on_signal(p);
			else if (u == UINT64_MAX - 2)
				on_control(p);
			else
				on_conn_event(p, u, ev[i].events);
		}
	}
	close_all(p, "exit");
	logf_("exit");
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: faultproxy -l PORT -t PORT [OPTION]...\n"
		"A TCP proxy on loopback that delays, stalls, cuts and flaps the link.\n"
		"\n"
		"  -l, --listen PORT        listen on 127.0.0.1:PORT\n"
		"  -t, --target PORT        connect each client to 127.0.0.1:PORT\n"
		"  -d, --delay MS[,MS]      latency up (client to target)[, down]\n"
		"  -j, --jitter MS[,MS]     +- uniform jitter up[, down]; order is kept\n"
		"  -s, --stall MS           length of the periodic stalls\n"
		"  -S, --stall-every MS     a stall every MS (the first after MS)\n"
		"  -x, --cut-every MS       close every connection every MS\n"
		"  -f, --flap UP,DOWN       up UP ms, then down DOWN ms, over and over\n"
		"  -c, --control PATH       a FIFO (made if missing) for commands:\n"
		"                           cut, down, up, stall MS, flap UP,DOWN, flap off,\n"
		"                           delay MS[,MS], jitter MS[,MS]\n"
		"  -h, --help               this text\n"
		"\n"
		"SIGUSR1 cuts every connection, SIGUSR2 toggles the link down/up;\n"
		"SIGINT/SIGTERM end it. The log (stderr) is \"WALL_MS faultproxy: WHAT\".\n");
}

static int parse_opts(struct proxy *p, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "target", required_argument, NULL, 't' },
		{ "delay", required_argument, NULL, 'd' },
		{ "jitter", required_argument, NULL, 'j' },
		{ "stall", required_argument, NULL, 's' },
		{ "stall-every", required_argument, NULL, 'S' },
		{ "cut-every", required_argument, NULL, 'x' },
		{ "flap", required_argument, NULL, 'f' },
		{ "control", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c, v[2] = { 0, 0 }, lport = 0;

	while ((c = getopt_long(argc, argv, "l:t:d:j:s:S:x:f:c:h", lo, NULL)) != -1) {
		int bad = 0;

		switch (c) {
		case 'l': bad = parse_pair(optarg, v) || v[0] < 1 || v[0] > 65535; lport = v[0]; break;
		case 't': bad = parse_pair(optarg, v) || v[0] < 1 || v[0] > 65535; p->target_port = v[0]; break;
		case 'd': bad = parse_pair(optarg, p->delay_ms); break;
		case 'j': bad = parse_pair(optarg, p->jitter_ms); break;
		case 's': bad = parse_pair(optarg, v); p->stall_ms = v[0]; break;
		case 'S': bad = parse_pair(optarg, v); p->stall_every_ms = v[0]; break;
		case 'x': bad = parse_pair(optarg, v); p->cut_every_ms = v[0]; break;
		case 'f':
			bad = parse_pair(optarg, v) || !v[0] || !v[1];
			p->flap_up_ms = v[0];
			p->flap_down_ms = v[1];
			break;
		case 'c': p->ctl_path = optarg; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
		if (bad) {
			fprintf(stderr, "faultproxy: error: bad value '%s' for -%c\n", optarg, c);
			return -1;
		}
	}
	if (!lport || !p->target_port || optind < argc) {
		usage(stderr);
		return -1;
	}
	return lport;
}

int main(int argc, char **argv)
{
	static struct proxy px = { .ep = -1, .lfd = -1, .sfd = -1, .ctl = -1 };
	struct proxy *p = &px;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct epoll_event ev = { .events = EPOLLIN };
	sigset_t ss;
	int one = 1, lport = parse_opts(p, argc, argv);

	if (lport < 0)
		return 2;
	srandom((unsigned)mono_us());
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&ss);
	sigaddset(&ss, SIGUSR1);
	sigaddset(&ss, SIGUSR2);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGTERM);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	p->sfd = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC);
	p->ep = epoll_create1(EPOLL_CLOEXEC);
	p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (p->sfd < 0 || p->ep < 0 || p->lfd < 0) {
		fprintf(stderr, "faultproxy: error: %s\n", strerror(errno));
		return 1;
	}
	setsockopt(p->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_port = htons((uint16_t)lport);
	if (bind(p->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(p->lfd, 64) < 0) {
		fprintf(stderr, "faultproxy: error: cannot listen on 127.0.0.1:%d: %s\n", lport,
			strerror(errno));
		return 1;
	}
	if (p->ctl_path) {
		if (mkfifo(p->ctl_path, 0600) < 0 && errno != EEXIST) {
			fprintf(stderr, "faultproxy: error: cannot make the FIFO %s: %s\n", p->ctl_path,
				strerror(errno));
			return 1;
		}
		/* Read-write, so the FIFO never reports EOF between writers. */
		p->ctl = open(p->ctl_path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (p->ctl < 0) {
			fprintf(stderr, "faultproxy: error: cannot open %s: %s\n", p->ctl_path,
				strerror(errno));
			return 1;
		}
		ev.data.u64 = UINT64_MAX - 2;
		epoll_ctl(p->ep, EPOLL_CTL_ADD, p->ctl, &ev);
	}
	ev.data.u64 = UINT64_MAX;
	epoll_ctl(p->ep, EPOLL_CTL_ADD, p->lfd, &ev);
	ev.data.u64 = UINT64_MAX - 1;
	epoll_ctl(p->ep, EPOLL_CTL_ADD, p->sfd, &ev);
	logf_("listening on 127.0.0.1:%d for 127.0.0.1:%d; delay %d,%d ms, jitter %d,%d ms, "
	      "stall %d ms every %d ms, cut every %d ms, flap %d,%d ms",
	      lport, p->target_port, p->delay_ms[0], p->delay_ms[1], p->jitter_ms[0],
	      p->jitter_ms[1], p->stall_ms, p->stall_every_ms, p->cut_every_ms, p->flap_up_ms,
	      p->flap_down_ms);
	return run(p);
}
