/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_geo.c -- CAP polygons and circles: reading, refusing, and which poles they hold */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "geo.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EPS 1e-6
#define R_KM 6371.0088

static struct geo_point P(double lat, double lon)
{
	return (struct geo_point){ lat, lon };
}

static void parse_ok(const char *s, struct geo_polygon *g)
{
	char why[200] = "x";

	assert_int_equal(geo_polygon_parse(s, g, why, sizeof(why)), 0);
	assert_string_equal(why, "");
}

/* S is refused with a reason containing WANT. */
static void refused(const char *s, const char *want)
{
	struct geo_polygon g;
	char why[200] = "";

	assert_int_equal(geo_polygon_parse(s, &g, why, sizeof(why)), -EINVAL);
	if (!strstr(why, want))
		fail_msg("'%s': reason '%s' does not say '%s'", s, why, want);
	assert_null(g.p);
	assert_int_equal(g.n, 0);
}

/* A square 38.40..38.45 N, 106.35..106.40 E: just inside and just outside
 * each edge, on a vertex, on an edge. */
static void square_edges(void **state)
{
	struct geo_polygon g;
	const double s = 38.40, n = 38.45, w = 106.35, e = 106.40, mlat = 38.425, mlon = 106.375;

	parse_ok("38.40,106.35 38.40,106.40 38.45,106.40 38.45,106.35 38.40,106.35", &g);
	assert_int_equal(g.n, 5);
	assert_true(geo_in_polygon(&g, P(mlat, mlon)));
	assert_true(geo_in_polygon(&g, P(s + EPS, mlon)));
	assert_false(geo_in_polygon(&g, P(s - EPS, mlon)));
	assert_true(geo_in_polygon(&g, P(n - EPS, mlon)));
	assert_false(geo_in_polygon(&g, P(n + EPS, mlon)));
	assert_true(geo_in_polygon(&g, P(mlat, w + EPS)));
	assert_false(geo_in_polygon(&g, P(mlat, w - EPS)));
	assert_true(geo_in_polygon(&g, P(mlat, e - EPS)));
	assert_false(geo_in_polygon(&g, P(mlat, e + EPS)));
	/* On a vertex and on each edge: inside. */
	assert_true(geo_in_polygon(&g, P(s, w)));
	assert_true(geo_in_polygon(&g, P(n, e)));
	assert_true(geo_in_polygon(&g, P(s, mlon)));
	assert_true(geo_in_polygon(&g, P(n, mlon)));
	assert_true(geo_in_polygon(&g, P(mlat, w)));
	assert_true(geo_in_polygon(&g, P(mlat, e)));
	assert_false(geo_in_polygon(&g, P(0, 0)));
	geo_polygon_free(&g);
	geo_polygon_free(&g); /* twice: harmless */
}

/* A diagonal edge: a point on it (inside) and 1e-6 degrees off on each side. */
static void diagonal_edge(void **state)
{
	struct geo_polygon g;

	parse_ok("38.40,106.30 38.50,106.40 38.40,106.40 38.40,106.30", &g);
	assert_true(geo_in_polygon(&g, P(38.43, 106.33)));          /* on the hypotenuse */
	assert_true(geo_in_polygon(&g, P(38.43 - EPS, 106.33 + EPS)));
	assert_false(geo_in_polygon(&g, P(38.43 + EPS, 106.33 - EPS)));
	geo_polygon_free(&g);
}

/* A U: two arms joined at the bottom; the notch between them is outside. */
static void concave(void **state)
{
	struct geo_polygon g;

	parse_ok("0,0 0,3 3,3 3,2 1,2 1,1 3,1 3,0 0,0", &g);
	assert_false(geo_in_polygon(&g, P(2, 1.5)));    /* in the notch */
	assert_true(geo_in_polygon(&g, P(2, 0.5)));     /* left arm */
	assert_true(geo_in_polygon(&g, P(2, 2.5)));     /* right arm */
	assert_true(geo_in_polygon(&g, P(0.5, 1.5)));   /* the bottom */
	assert_true(geo_in_polygon(&g, P(1, 1.5)));     /* the notch's floor: an edge */
	assert_false(geo_in_polygon(&g, P(3.5, 1.5)));
	geo_polygon_free(&g);
}

static void refusals(void **state)
{
	refused("0,0 0,1 1,0 1,1 0,0", "edges 2 and 4 cross");
	refused("0,0 0,1 1,1 1,0", "not closed: the first point 0,0 is not the last 1,0");
	refused("0,0 0,1 0,0", "3 points; a polygon needs at least 4");
	refused("", "0 points");
	refused("38.4,abc 38.5,106 38.6,107 38.4,abc", "point 1 '38.4,abc' is not \"lat,lon\"");
	refused("38.4,106 38.5,1e2 38.6,107 38.4,106", "point 2 '38.5,1e2'");
	refused("38.4,106 38.5,nan 38.6,107 38.4,106", "point 2");
	refused("38.4,106 38.5,0x10 38.6,107 38.4,106", "point 2");
	refused("38.4 106 38.5,107 38.4,106 38.4,106", "point 1 '38.4'");
	refused("38.4,106, 38.5,107 38.6,107 38.4,106", "point 1 '38.4,106,'");
	/* A reason quotes at most 24 bytes of a word, never half a character. */
	refused("38.4,一二三四五六七八九十 1,1 2,2 38.4,一", "point 1 '38.4,一二三四五六...' is not");
	refused("38.4,\x01 1,1 2,2 38.4,1", "point 1 '38.4,' is not");
	refused("91,0 0,1 1,1 91,0", "point 1: latitude 91 out of range");
	refused("0,0 0,181 1,1 0,0", "point 2: longitude 181 out of range");
	refused("10,179 10,-179 11,-179 10,179", "points 1 and 2 cross the antimeridian");
	/* A vertex (point 5) touching another edge (1). */
	refused("0,0 0,2 2,2 2,1 0,1 -1,1 0,0", "edges 1 and 4 cross");
	/* An edge folding back onto the one before it. */
	refused("0,0 0,2 0,1 1,1 0,0", "edges 1 and 2 cross");
	/* Edge 4 lies along edge 1 (and edge 3 ends on it first). */
	refused("0,0 0,3 1,3 0,2 0,1 -1,0 0,0", "edges 1 and 3 cross");
	/* Three distinct corners at least. */
	refused("0,0 0,1 0,1 0,0", "fewer than 3 distinct corners");
}

static void repeats_tolerated(void **state)
{
	struct geo_polygon g;

	parse_ok("0,0 0,0 0,1 1,1 1,1 1,0\n0,0", &g);
	assert_int_equal(g.n, 5);
	assert_true(geo_in_polygon(&g, P(0.5, 0.5)));
	geo_polygon_free(&g);
	/* Numbering stays the written one after a dropped repeat. */
	refused("0,0 0,0 0,1 1,0 1,1 0,0", "edges 3 and 5 cross");
}

/* SPACE-separated N points on a circle around (38.4, 106.3); with SWAP,
 * points SWAP and SWAP+1 (1-based) change places, so that edges SWAP-1 and
 * SWAP+1 cross. */
static char *ring(size_t n, size_t swap)
{
	char *s = malloc(n * 48), *p = s;
	struct geo_point *pt = malloc(n * sizeof(*pt));

	assert_non_null(s);
	assert_non_null(pt);
	for (size_t k = 0; k + 1 < n; k++) {
		double a = 2 * M_PI * (double)k / (double)(n - 1);

		pt[k] = P(38.4 + 0.1 * sin(a), 106.3 + 0.1 * cos(a));
	}
	pt[n - 1] = pt[0];
	if (swap) {
		struct geo_point t = pt[swap - 1];

		pt[swap - 1] = pt[swap];
		pt[swap] = t;
	}
	for (size_t k = 0; k < n; k++)
		p += sprintf(p, "%.9f,%.9f ", pt[k].lat, pt[k].lon);
	free(pt);
	return s;
}

static double seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Large polygons go through the grid, which must name what pair by pair
 * would, and stay fast. */
static void large(void **state)
{
	struct geo_polygon g;
	char *s;
	double t0 = seconds();

	s = ring(1000, 0);
	parse_ok(s, &g);
	geo_polygon_free(&g);
	free(s);
	s = ring(1000, 500);
	refused(s, "edges 499 and 501 cross");
	free(s);
	s = ring(GEO_MAX_POINTS, 0);
	parse_ok(s, &g);
	assert_true(geo_in_polygon(&g, P(38.4, 106.3)));
	assert_false(geo_in_polygon(&g, P(38.6, 106.3)));
	geo_polygon_free(&g);
	free(s);
	s = ring(GEO_MAX_POINTS, 7000);
	refused(s, "edges 6999 and 7001 cross");
	free(s);
	s = ring(GEO_MAX_POINTS + 1, 0);
	refused(s, "10001 points; at most 10000");
	free(s);
	assert_true(seconds() - t0 < 5.0);
}

/* Every other point at the centre's side: a simple star whose long thin
 * spikes overlap most of the grid. Refused as too complex, quickly. */
static void hostile_star(void **state)
{
	size_t n = GEO_MAX_POINTS;
	char *s = malloc(n * 48), *p = s;
	struct geo_polygon g;
	char why[200];
	double t0 = seconds();

	assert_non_null(s);
	for (size_t k = 0; k + 1 < n; k++) {
		double a = 2 * M_PI * (double)k / (double)(n - 1), r = k % 2 ? 0.001 : 1.0;

		p += sprintf(p, "%.9f,%.9f ", 10 + r * sin(a), 20 + r * cos(a));
	}
	sprintf(p, "%.9f,%.9f", 10.0, 21.0);
	assert_int_equal(geo_polygon_parse(s, &g, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "too complex"));
	assert_true(seconds() - t0 < 5.0);
	free(s);
}

/* A point D km north of (LAT, LON). */
static struct geo_point north(double lat, double lon, double d)
{
	return P(lat + d / R_KM * 180.0 / M_PI, lon);
}

static void circles(void **state)
{
	struct geo_circle c;
	char why[200];

	assert_int_equal(geo_circle_parse("38.43,106.37 0", &c, why, sizeof(why)), 0);
	assert_true(geo_in_circle(&c, north(38.43, 106.37, 0.030)));
	assert_false(geo_in_circle(&c, north(38.43, 106.37, 0.080)));
	assert_int_equal(geo_circle_parse(" 38.43,106.37  10 ", &c, why, sizeof(why)), 0);
	assert_true(c.radius_km == 10);
	assert_true(geo_in_circle(&c, north(38.43, 106.37, 9.99)));
	assert_false(geo_in_circle(&c, north(38.43, 106.37, 10.01)));
	/* East-west too: the distance is on the sphere, not in degrees. */
	assert_true(geo_in_circle(&c, P(38.43, 106.37 + 9.99 / (R_KM * cos(38.43 * M_PI / 180)) * 180 / M_PI)));
	assert_false(geo_in_circle(&c, P(38.43, 106.37 + 10.01 / (R_KM * cos(38.43 * M_PI / 180)) * 180 / M_PI)));
	assert_int_equal(geo_circle_parse("38.43,106.37 -1", &c, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "radius -1 km out of range"));
	assert_int_equal(geo_circle_parse("38.43,106.37", &c, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "radius '' is not a number"));
	assert_int_equal(geo_circle_parse("38.43,106.37 5km", &c, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "radius '5km'"));
	assert_int_equal(geo_circle_parse("38.43,106.37 5 6", &c, why, sizeof(why)), -EINVAL);
	assert_int_equal(geo_circle_parse("x,106.37 5", &c, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "point 1 'x,106.37'"));
	assert_int_equal(geo_circle_parse("38.43,200 5", &c, why, sizeof(why)), -EINVAL);
	assert_int_equal(geo_circle_parse(NULL, &c, why, sizeof(why)), -EINVAL);
}

static void distance(void **state)
{
	double d = geo_distance_km(P(39.9042, 116.4074), P(31.2304, 121.4737));

	assert_true(fabs(d - 1067) < 2);
	assert_true(geo_distance_km(P(38.43, 106.37), P(38.43, 106.37)) == 0);
	/* Antipodes: half the circumference, without a NaN. */
	d = geo_distance_km(P(0, 0), P(0, 180));
	assert_true(fabs(d - M_PI * R_KM) < 1e-6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(square_edges),
		cmocka_unit_test(diagonal_edge),
		cmocka_unit_test(concave),
		cmocka_unit_test(refusals),
		cmocka_unit_test(repeats_tolerated),
		cmocka_unit_test(large),
		cmocka_unit_test(hostile_star),
		cmocka_unit_test(circles),
		cmocka_unit_test(distance),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
