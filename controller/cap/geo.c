/* SPDX-License-Identifier: GPL-2.0-or-later */
/* geo.c -- CAP polygons and circles read and checked, and which points they hold */
#include "geo.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EARTH_RADIUS_KM 6371.0088
#define MAX_RADIUS_KM   20016.0    /* half the circumference: every point of the Earth */
#define ON_EDGE_DEG     1e-9       /* about 0.1 mm: closer than this to an edge is on it */
#define BRUTE_MAX       2000       /* points checked pair by pair; a grid above */
#define GRID_MAX_WORK   20000000u  /* pair tests a grid may spend before giving up */

static void say(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (!why || !whylen)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A decimal number as CAP writes them, [+-]digits[.digits] (no exponent,
 * no hex, no inf), from *S up to a byte in STOP or the end; *S is moved
 * past it. \retval 0 / -EINVAL */
static int read_number(const char **s, const char *stop, double *out)
{
	const char *p = *s, *start = *s;
	size_t digits = 0;

	if (*p == '+' || *p == '-')
		p++;
	for (; *p >= '0' && *p <= '9'; p++)
		digits++;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			digits++;
	if (!digits || p - start > 64 || (*p && !strchr(stop, *p)))
		return -EINVAL;
	*out = strtod(start, NULL);
	*s = p;
	return 0;
}

/* The word at S (up to white space or a control character), for a
 * reason: at most 24 bytes, cut before a character, never inside one. */
static void word(const char *s, char out[32])
{
	size_t n = 0;

	while ((unsigned char)s[n] > ' ' && s[n] != 0x7f && n < 24)
		n++;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	memcpy(out, s, n);
	strcpy(out + n, (unsigned char)s[n] > ' ' && s[n] != 0x7f ? "..." : "");
}

/* "lat,lon" at *S, moving past it. NTH (1-based) names it in WHY. */
static int read_point(const char **s, size_t nth, struct geo_point *pt, char *why, size_t whylen)
{
	const char *start = *s;
	char w[32];

	if (read_number(s, ",", &pt->lat) < 0 || **s != ',') {
		word(start, w);
		say(why, whylen, "point %zu '%s' is not \"lat,lon\" in decimal degrees", nth, w);
		return -EINVAL;
	}
	(*s)++;
	if (read_number(s, " \t\r\n", &pt->lon) < 0) {
		word(start, w);
		say(why, whylen, "point %zu '%s' is not \"lat,lon\" in decimal degrees", nth, w);
		return -EINVAL;
	}
	if (pt->lat < -90 || pt->lat > 90) {
		say(why, whylen, "point %zu: latitude %g out of range (-90 to 90)", nth, pt->lat);
		return -EINVAL;
	}
	if (pt->lon < -180 || pt->lon > 180) {
		say(why, whylen, "point %zu: longitude %g out of range (-180 to 180)", nth, pt->lon);
		return -EINVAL;
	}
	return 0;
}

/* ---- plane geometry on (lon, lat) ----------------------------------------- */

/* > 0: C left of A->B; < 0: right; 0: on the line. */
static double orient(struct geo_point a, struct geo_point b, struct geo_point c)
{
	return (b.lon - a.lon) * (c.lat - a.lat) - (b.lat - a.lat) * (c.lon - a.lon);
}

static int sign(double v)
{
	return (v > 0) - (v < 0);
}

/* C, on the line A-B, lies within the segment's box. */
static bool within(struct geo_point a, struct geo_point b, struct geo_point c)
{
	return fmin(a.lon, b.lon) <= c.lon && c.lon <= fmax(a.lon, b.lon) &&
	       fmin(a.lat, b.lat) <= c.lat && c.lat <= fmax(a.lat, b.lat);
}

/* Segments A-B and C-D meet (crossing, touching or overlapping). */
static bool segments_meet(struct geo_point a, struct geo_point b, struct geo_point c,
			  struct geo_point d)
{
	int d1 = sign(orient(c, d, a)), d2 = sign(orient(c, d, b));
	int d3 = sign(orient(a, b, c)), d4 = sign(orient(a, b, d));

	if (d1 * d2 < 0 && d3 * d4 < 0)
		return true;
	return (!d1 && within(c, d, a)) || (!d2 && within(c, d, b)) ||
	       (!d3 && within(a, b, c)) || (!d4 && within(a, b, d));
}

/* Edges A-B and B-C share B; they cross only when they fold back onto
 * each other (collinear, C on the side of A). */
static bool adjacent_overlap(struct geo_point a, struct geo_point b, struct geo_point c)
{
	return orient(a, b, c) == 0 &&
	       (a.lon - b.lon) * (c.lon - b.lon) + (a.lat - b.lat) * (c.lat - b.lat) > 0;
}

/* Distance of C from segment A-B in degrees of the plane. */
static double seg_dist(struct geo_point a, struct geo_point b, struct geo_point c)
{
	double dx = b.lon - a.lon, dy = b.lat - a.lat, l2 = dx * dx + dy * dy, t = 0;

	if (l2 > 0)
		t = fmax(0, fmin(1, ((c.lon - a.lon) * dx + (c.lat - a.lat) * dy) / l2));
	return hypot(c.lon - (a.lon + t * dx), c.lat - (a.lat + t * dy));
}

/* ---- simplicity ------------------------------------------------------------ */

/* Edge I runs from p[I] to p[I+1], for I < N-1 (N points, closed). */
static bool edges_cross(const struct geo_point *p, size_t n, size_t i, size_t j)
{
	size_t ne = n - 1;

	if (i > j) {
		size_t t = i;

		i = j;
		j = t;
	}
	if (j == i + 1)
		return adjacent_overlap(p[i], p[j], p[j + 1]);
	if (i == 0 && j == ne - 1)
		return adjacent_overlap(p[j], p[0], p[1]);
	return segments_meet(p[i], p[i + 1], p[j], p[j + 1]);
}

static bool brute_first(const struct geo_point *p, size_t n, size_t *ci, size_t *cj)
{
	for (size_t i = 0; i + 1 < n; i++)
		for (size_t j = i + 1; j + 1 < n; j++)
			if (edges_cross(p, n, i, j)) {
				*ci = i;
				*cj = j;
				return true;
			}
	return false;
}

struct grid {
	double lon0, lat0, cw, ch;
	size_t g;                  /* g x g cells */
	size_t *start;             /* g*g + 1 offsets into item */
	uint32_t *item;            /* edge numbers per cell */
};

static void cell_range(const struct grid *gr, struct geo_point a, struct geo_point b,
		       size_t r[4])
{
	double v[4] = {
		(fmin(a.lon, b.lon) - gr->lon0) / gr->cw, (fmax(a.lon, b.lon) - gr->lon0) / gr->cw,
		(fmin(a.lat, b.lat) - gr->lat0) / gr->ch, (fmax(a.lat, b.lat) - gr->lat0) / gr->ch,
	};

	for (int k = 0; k < 4; k++) {
		double c = floor(v[k]);

		r[k] = c < 0 ? 0 : c >= (double)gr->g ? gr->g - 1 : (size_t)c;
	}
}

/* Fill the grid: each edge in every cell its box touches (counting sort).
 * \retval 0 / -E2BIG too many entries / -ENOMEM */
static int grid_fill(struct grid *gr, const struct geo_point *p, size_t n)
{
	size_t cells = gr->g * gr->g, total = 0, r[4];
	size_t *fill;

	gr->start = calloc(cells + 1, sizeof(*gr->start));
	if (!gr->start)
		return -ENOMEM;
	for (size_t e = 0; e + 1 < n; e++) {
		cell_range(gr, p[e], p[e + 1], r);
		total += (r[1] - r[0] + 1) * (r[3] - r[2] + 1);
		if (total > GRID_MAX_WORK / 8)
			return -E2BIG;
		for (size_t y = r[2]; y <= r[3]; y++)
			for (size_t x = r[0]; x <= r[1]; x++)
				gr->start[y * gr->g + x + 1]++;
	}
	for (size_t c = 0; c < cells; c++)
		gr->start[c + 1] += gr->start[c];
	gr->item = malloc((total ? total : 1) * sizeof(*gr->item));
	fill = malloc(cells * sizeof(*fill));
	if (!gr->item || !fill) {
		free(fill);
		return -ENOMEM;
	}
	memcpy(fill, gr->start, cells * sizeof(*fill));
	for (size_t e = 0; e + 1 < n; e++) {
		cell_range(gr, p[e], p[e + 1], r);
		for (size_t y = r[2]; y <= r[3]; y++)
			for (size_t x = r[0]; x <= r[1]; x++)
				gr->item[fill[y * gr->g + x]++] = (uint32_t)e;
	}
	free(fill);
	return 0;
}

/* The pair of crossing edges that brute_first would name (the least by
 * (i, j)), testing only edges that share a cell of a grid over the box.
 * \retval 1 found / 0 none / -E2BIG more work than GRID_MAX_WORK / -ENOMEM */
static int grid_first(const struct geo_point *p, size_t n, size_t *ci, size_t *cj)
{
	struct grid gr = { .lon0 = p[0].lon, .lat0 = p[0].lat };
	double lon1 = p[0].lon, lat1 = p[0].lat;
	size_t best_i = SIZE_MAX, best_j = SIZE_MAX, work = 0;
	int e;

	for (size_t k = 1; k < n; k++) {
		gr.lon0 = fmin(gr.lon0, p[k].lon);
		gr.lat0 = fmin(gr.lat0, p[k].lat);
		lon1 = fmax(lon1, p[k].lon);
		lat1 = fmax(lat1, p[k].lat);
	}
	gr.g = (size_t)sqrt((double)n);
	gr.cw = lon1 > gr.lon0 ? (lon1 - gr.lon0) / (double)gr.g : 1;
	gr.ch = lat1 > gr.lat0 ? (lat1 - gr.lat0) / (double)gr.g : 1;
	e = grid_fill(&gr, p, n);
	for (size_t c = 0; !e && c < gr.g * gr.g; c++) {
		size_t a = gr.start[c], b = gr.start[c + 1];

		for (size_t x = a; !e && x < b; x++)
			for (size_t y = x + 1; y < b; y++) {
				size_t i = gr.item[x], j = gr.item[y];

				if (++work > GRID_MAX_WORK) {
					e = -E2BIG;
					break;
				}
				if (i > j) {
					size_t t = i;

					i = j;
					j = t;
				}
				if ((i < best_i || (i == best_i && j < best_j)) && edges_cross(p, n, i, j)) {
					best_i = i;
					best_j = j;
				}
			}
	}
	free(gr.start);
	free(gr.item);
	if (e < 0)
		return e;
	*ci = best_i;
	*cj = best_j;
	return best_i != SIZE_MAX;
}

/* ---- polygons ---------------------------------------------------------------- */

static size_t count_words(const char *s)
{
	size_t n = 0;

	while (*s) {
		while (is_space(*s))
			s++;
		if (!*s)
			break;
		n++;
		while (*s && !is_space(*s))
			s++;
	}
	return n;
}

/* The written points into OUT->p, consecutive repeats dropped; ORIG[k] is
 * the 1-based written number of point k. */
static int read_points(const char *s, size_t n, struct geo_polygon *out, size_t *orig, char *why,
		       size_t whylen)
{
	size_t nth = 0;

	out->n = 0;
	while (*s) {
		struct geo_point pt;

		while (is_space(*s))
			s++;
		if (!*s)
			break;
		if (read_point(&s, ++nth, &pt, why, whylen) < 0)
			return -EINVAL;
		if (out->n && out->p[out->n - 1].lat == pt.lat && out->p[out->n - 1].lon == pt.lon)
			continue;
		if (out->n && fabs(out->p[out->n - 1].lon - pt.lon) > 180) {
			say(why, whylen, "points %zu and %zu cross the antimeridian (180 degrees), which is not supported",
			    orig[out->n - 1], nth);
			return -EINVAL;
		}
		if (out->n >= n)
			return -EINVAL; /* cannot happen: counted before */
		orig[out->n] = nth;
		out->p[out->n++] = pt;
	}
	return 0;
}

static int check_simple(const struct geo_polygon *poly, const size_t *orig, char *why,
			size_t whylen)
{
	size_t i, j;
	int e;

	if (poly->n < BRUTE_MAX)
		e = brute_first(poly->p, poly->n, &i, &j);
	else
		e = grid_first(poly->p, poly->n, &i, &j);
	if (e == -E2BIG) {
		say(why, whylen, "too complex to check (%zu points, edges spanning most of it)", poly->n);
		return -EINVAL;
	}
	if (e < 0)
		return e;
	if (e > 0) {
		say(why, whylen, "edges %zu and %zu cross (edge K starts at point K)", orig[i], orig[j]);
		return -EINVAL;
	}
	return 0;
}

int geo_polygon_parse(const char *s, struct geo_polygon *out, char *why, size_t whylen)
{
	size_t n = s ? count_words(s) : 0, *orig = NULL;
	struct geo_point first, last;
	int e = -EINVAL;

	memset(out, 0, sizeof(*out));
	say(why, whylen, "%s", "");
	if (n < 4) {
		say(why, whylen, "%zu points; a polygon needs at least 4 (the first repeated last)", n);
		return -EINVAL;
	}
	if (n > GEO_MAX_POINTS) {
		say(why, whylen, "%zu points; at most %d are read", n, GEO_MAX_POINTS);
		return -EINVAL;
	}
	out->p = malloc(n * sizeof(*out->p));
	orig = malloc(n * sizeof(*orig));
	if (!out->p || !orig) {
		e = -ENOMEM;
		goto fail;
	}
	if (read_points(s, n, out, orig, why, whylen) < 0)
		goto fail;
	first = out->p[0];
	last = out->p[out->n - 1];
	if (first.lat != last.lat || first.lon != last.lon) {
		say(why, whylen, "not closed: the first point %g,%g is not the last %g,%g", first.lat,
		    first.lon, last.lat, last.lon);
		goto fail;
	}
	if (out->n < 4) {
		say(why, whylen, "fewer than 3 distinct corners");
		goto fail;
	}
	e = check_simple(out, orig, why, whylen);
	if (e < 0)
		goto fail;
	free(orig);
	return 0;
fail:
	free(orig);
	geo_polygon_free(out);
	return e;
}

void geo_polygon_free(struct geo_polygon *p)
{
	if (!p)
		return;
	free(p->p);
	p->p = NULL;
	p->n = 0;
}

bool geo_in_polygon(const struct geo_polygon *poly, struct geo_point pt)
{
	bool in = false;

	if (!poly || poly->n < 4)
		return false;
	for (size_t i = 0; i + 1 < poly->n; i++) {
		struct geo_point a = poly->p[i], b = poly->p[i + 1];

		if (seg_dist(a, b, pt) <= ON_EDGE_DEG)
			return true;
		/* Even-odd: does the edge cross the ray to the east of PT? */
		if ((a.lat > pt.lat) != (b.lat > pt.lat)) {
			double x = a.lon + (pt.lat - a.lat) * (b.lon - a.lon) / (b.lat - a.lat);

			if (pt.lon < x)
				in = !in;
		}
	}
	return in;
}

/* ---- circles ----------------------------------------------------------------- */

int geo_circle_parse(const char *s, struct geo_circle *out, char *why, size_t whylen)
{
	const char *p = s;
	double r;

	memset(out, 0, sizeof(*out));
	say(why, whylen, "%s", "");
	if (!s) {
		say(why, whylen, "no circle");
		return -EINVAL;
	}
	while (is_space(*p))
		p++;
	if (read_point(&p, 1, &out->c, why, whylen) < 0)
		return -EINVAL;
	while (is_space(*p))
		p++;
	if (read_number(&p, " \t\r\n", &r) < 0) {
		char w[32];

		word(p, w);
		say(why, whylen, "radius '%s' is not a number of kilometres", w);
		return -EINVAL;
	}
	while (is_space(*p))
		p++;
	if (*p) {
		say(why, whylen, "more than \"lat,lon radius\"");
		return -EINVAL;
	}
	if (r < 0 || r > MAX_RADIUS_KM) {
		say(why, whylen, "radius %g km out of range (0 to %g)", r, MAX_RADIUS_KM);
		return -EINVAL;
	}
	out->radius_km = r;
	return 0;
}

bool geo_in_circle(const struct geo_circle *c, struct geo_point pt)
{
	double reach = fmax(c->radius_km, GEO_POINT_M / 1000.0);

	return geo_distance_km(c->c, pt) <= reach;
}

double geo_distance_km(struct geo_point a, struct geo_point b)
{
	double rad = M_PI / 180.0;
	double dlat = (b.lat - a.lat) * rad, dlon = (b.lon - a.lon) * rad;
	double h = sin(dlat / 2) * sin(dlat / 2) +
		   cos(a.lat * rad) * cos(b.lat * rad) * sin(dlon / 2) * sin(dlon / 2);

	return 2 * EARTH_RADIUS_KM * asin(sqrt(fmin(1.0, h)));
}
