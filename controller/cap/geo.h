/* SPDX-License-Identifier: GPL-2.0-or-later */
/* geo.h -- CAP polygons and circles read and checked, and which points they hold */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/*
 * WGS 84 decimal degrees. A polygon is CAP's: at least four points, the
 * first and the last the same (closed), edges that do not cross each other
 * (a simple polygon); a polygon that breaks one of these is refused with a
 * reason, never guessed at. Inside is by the even-odd rule on the plane of
 * latitude and longitude (what CAP producers draw); a point on an edge is
 * inside (within about 0.1 mm, 1e-9 degrees). A circle is a centre and a
 * radius in kilometres (0: the point alone, which selects a pole within
 * GEO_POINT_M of it; no circle reaches less far than that); distance is on
 * the sphere (haversine, mean Earth radius 6371.0088 km).
 *
 * Numbers are plain decimals ("38.43", "-7", "+106.5"): no exponent, no
 * hex, no inf or nan. A point repeated right after itself is dropped, not
 * an error. Adjacent edges share a point and do not cross unless they fold
 * back onto each other; any other edges that meet (crossing, touching,
 * overlapping on a line) make the polygon not simple. Edges are numbered
 * by the written point they start at (edge 1 runs from point 1 to 2).
 * Simplicity is checked pair by pair below 2,000 points and with a grid
 * over the polygon's box above; a polygon whose edges still need more than
 * 20 million pair tests (long edges spanning most of it) is refused as too
 * complex, so that a hostile document cannot take seconds.
 * A polygon with a longitude jump of more than 180 degrees between
 * consecutive points would cross the antimeridian (+-180): it is refused;
 * China never needs one.
 */

#define GEO_MAX_POINTS 10000
#define GEO_POINT_M    50.0        /* a zero-radius circle reaches this far */

struct geo_point {
	double lat, lon;
};

struct geo_polygon {
	struct geo_point *p;     /* p[0] == p[n-1] */
	size_t n;
};

struct geo_circle {
	struct geo_point c;
	double radius_km;
};

/* Read "lat,lon lat,lon ..." (whitespace between pairs). \retval 0 /
 * -EINVAL (WHY, WHYLEN bytes: "not closed: the first point 1,2 is not the
 * last 3,4", "edges 2 and 5 cross", "latitude 91 out of range", ...) /
 * -ENOMEM. geo_polygon_free() it. */
int geo_polygon_parse(const char *s, struct geo_polygon *out, char *why, size_t whylen);
void geo_polygon_free(struct geo_polygon *p);
/* Read "lat,lon radius_km". \retval 0 / -EINVAL (WHY) */
int geo_circle_parse(const char *s, struct geo_circle *out, char *why, size_t whylen);

bool geo_in_polygon(const struct geo_polygon *poly, struct geo_point pt);
bool geo_in_circle(const struct geo_circle *c, struct geo_point pt);
/* Great-circle distance in kilometres. */
double geo_distance_km(struct geo_point a, struct geo_point b);
