"""Geo queries without PostGIS: parsing `$nearSphere`/`$within`/`$geoWithin`, their SQL over a GeoPoint's `point`
column, and the same tests in Python for the evaluator.

Both interpreters compute the same IEEE double expressions in the same order (haversine distance in radians, an
even-odd ray crossing for polygons, inclusive bounds for boxes), so the SQL compiler and the evaluator agree to the
last bit; the property tests hold them to it. A point column is (x, y) = (longitude, latitude).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import ErrorCode, ParseError
from ..values import valid_lat_lng
from .sql import Cond, Params
from .tree import Near, PolygonContains, WithinBox, WithinPolygon

EARTH_RADIUS_KM = 6371.0  # parse-server's divisors for $maxDistanceInKilometers / $maxDistanceInMiles
EARTH_RADIUS_MILES = 3959.0
DEG = math.pi / 180  # 0.017453292519943295, the float8 PostgreSQL is given below
_DEG_SQL = "0.017453292519943295::float8"
MAX_DISTANCE_KEYS = {
    "$maxDistance": 1.0,
    "$maxDistanceInRadians": 1.0,
    "$maxDistanceInMiles": EARTH_RADIUS_MILES,
    "$maxDistanceInKilometers": EARTH_RADIUS_KM,
}


def _bad(message: str) -> ParseError:
    return ParseError(ErrorCode.INVALID_JSON, message)


def _point(value: Any, what: str) -> tuple[float, float]:
    """(latitude, longitude) of a GeoPoint given in a query, or 107 naming the operator."""
    if not isinstance(value, Mapping) or value.get("__type") != "GeoPoint":
        raise _bad(f"bad {what} value; it should be a GeoPoint")
    problem = valid_lat_lng(value.get("latitude"), value.get("longitude"))
    if problem:
        raise _bad(f"bad {what} value; {problem}")
    return float(value["latitude"]), float(value["longitude"])


def _lng_lat(value: Any, what: str) -> tuple[float, float]:
    """(latitude, longitude) of a GeoPoint or a `[longitude, latitude]` pair (GeoJSON order)."""
    if isinstance(value, list) and len(value) == 2:
        problem = valid_lat_lng(value[1], value[0])
        if problem:
            raise _bad(f"bad {what} value; {problem}")
        return float(value[1]), float(value[0])
    return _point(value, what)


def _number(value: Any, what: str) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
        raise _bad(f"bad {what} value; it should be a number of at least 0")
    return float(value)


def parse_near(constraint: Mapping[str, Any]) -> Near:
    """`$nearSphere` with its optional sibling `$maxDistance…` (the last given wins)."""
    lat, lng = _point(constraint["$nearSphere"], "$nearSphere")
    max_radians = None
    for key, divisor in MAX_DISTANCE_KEYS.items():
        if key in constraint:
            max_radians = _number(constraint[key], key) / divisor
    return Near(lat, lng, max_radians)


def parse_within(arg: Any) -> WithinBox:
    box = arg.get("$box") if isinstance(arg, Mapping) else None
    if not isinstance(box, list) or len(box) != 2:
        raise _bad("malformatted $within arg")
    (lat1, lng1), (lat2, lng2) = _point(box[0], "$box"), _point(box[1], "$box")
    return WithinBox(min(lat1, lat2), min(lng1, lng2), max(lat1, lat2), max(lng1, lng2))


def parse_geo_within(arg: Any) -> Near | WithinPolygon:
    """`$geoWithin`: `$centerSphere` ([point, radians]: a Near without sorting) or `$polygon` (≥ 3 vertices)."""
    if isinstance(arg, Mapping) and "$centerSphere" in arg:
        sphere = arg["$centerSphere"]
        if not isinstance(sphere, list) or len(sphere) < 2:
            raise _bad("bad $geoWithin value; $centerSphere should be an array of Parse.GeoPoint and distance")
        if not (isinstance(sphere[0], list) and len(sphere[0]) == 2) and not (
            isinstance(sphere[0], Mapping) and sphere[0].get("__type") == "GeoPoint"
        ):
            raise _bad("bad $geoWithin value; $centerSphere geo point invalid")
        lat, lng = _lng_lat(sphere[0], "$geoWithin")
        distance = sphere[1]
        if not isinstance(distance, (int, float)) or isinstance(distance, bool) or not distance >= 0:
            raise _bad("bad $geoWithin value; $centerSphere distance invalid")
        return Near(lat, lng, float(distance), sort=False)
    if isinstance(arg, Mapping) and "$polygon" in arg:
        polygon = arg["$polygon"]
        if isinstance(polygon, Mapping) and polygon.get("__type") == "Polygon":
            coords = polygon.get("coordinates")
            if not isinstance(coords, list) or len(coords) < 3:
                raise _bad("bad $geoWithin value; Polygon.coordinates should contain at least 3 lon/lat pairs")
            points = [_polygon_vertex(c) for c in coords]
        elif isinstance(polygon, list):
            if len(polygon) < 3:
                raise _bad("bad $geoWithin value; $polygon should contain at least 3 GeoPoints")
            points = [_polygon_vertex(c) for c in polygon]
        else:
            raise _bad("bad $geoWithin value; $polygon should be Polygon object or Array of Parse.GeoPoint's")
        return WithinPolygon(tuple(points))
    raise _bad("bad $geoWithin value; it needs $centerSphere or $polygon")


def _polygon_vertex(value: Any) -> tuple[float, float]:
    if not isinstance(value, list) and not (isinstance(value, Mapping) and value.get("__type") == "GeoPoint"):
        raise _bad("bad $geoWithin value")
    lat, lng = _lng_lat(value, "$geoWithin")
    return lng, lat


def parse_geo_intersects(arg: Any) -> PolygonContains:
    point = arg.get("$point") if isinstance(arg, Mapping) else None
    if not isinstance(point, Mapping) or point.get("__type") != "GeoPoint":
        raise _bad("bad $geoIntersect value; $point should be GeoPoint")
    lat, lng = _point(point, "$geoIntersect")
    return PolygonContains(lat, lng)


# -- SQL -------------------------------------------------------------------------------------------------------------


def distance_sql(expr: str, lat: float, lng: float, p: Params) -> str:
    """The haversine distance in radians from the point column `expr` to (lat, lng) (π, not NULL, for a NULL
    column: `least` ignores NULLs; callers test presence, and NULLs sort last either way)."""
    la, lo = p.add(lat, "::float8"), p.add(lng, "::float8")
    return (
        f"(2 * asin(sqrt(least(1.0::float8, power(sin((({expr})[1] - {la}) * {_DEG_SQL} / 2), 2) + "
        f"cos(({expr})[1] * {_DEG_SQL}) * cos({la} * {_DEG_SQL}) * "
        f"power(sin((({expr})[0] - {lo}) * {_DEG_SQL} / 2), 2)))))"
    )


def near_sql(expr: str, op: Near) -> Cond:
    if op.max_radians is None:
        return lambda p: f"{expr} IS NOT NULL"
    # `least` skips NULLs, so a missing point would be at distance π: test presence first
    return lambda p: (
        f"({expr} IS NOT NULL AND {distance_sql(expr, op.latitude, op.longitude, p)} <= "
        f"{p.add(op.max_radians, '::float8')})"
    )


def box_sql(expr: str, op: WithinBox) -> Cond:
    def emit(p: Params) -> str:
        lng, lat = f"({expr})[0]", f"({expr})[1]"
        return (
            f"({lng} BETWEEN {p.add(op.west, '::float8')} AND {p.add(op.east, '::float8')} AND "
            f"{lat} BETWEEN {p.add(op.south, '::float8')} AND {p.add(op.north, '::float8')})"
        )

    return emit


def polygon_sql(expr: str, op: WithinPolygon) -> Cond:
    xs = [x for x, _ in op.points]
    ys = [y for _, y in op.points]

    def emit(p: Params) -> str:
        arrays = ", ".join(p.add(a, "::float8[]") for a in (xs, ys, xs[1:] + xs[:1], ys[1:] + ys[:1]))
        px, py = f"({expr})[0]", f"({expr})[1]"
        return (
            f"({expr} IS NOT NULL AND (SELECT count(*) FROM unnest({arrays}) AS e(x1, y1, x2, y2) "
            f"WHERE (y1 > {py}) <> (y2 > {py}) AND {px} < (x2 - x1) * ({py} - y1) / (y2 - y1) + x1) % 2 = 1)"
        )

    return emit


def equals(expr: str, value: Any) -> Cond:
    """`{geo: GeoPoint}`: both coordinates equal (the column is NULL for null)."""
    if not isinstance(value, Mapping) or value.get("__type") != "GeoPoint":
        return False
    lat, lng = value.get("latitude"), value.get("longitude")
    if valid_lat_lng(lat, lng) is not None:
        return False
    x, y = float(lng), float(lat)  # type: ignore[arg-type]
    return lambda p: f"(({expr})[0] = {p.add(x, '::float8')} AND ({expr})[1] = {p.add(y, '::float8')})"


def contains_sql(expr: str, op: PolygonContains) -> Cond:
    """The stored ring (jsonb [[lat, lng], …], closed) holds the point: polygon_sql's crossing test over the
    ring's consecutive vertex pairs."""

    def emit(p: Params) -> str:
        px, py = p.add(op.longitude, "::float8"), p.add(op.latitude, "::float8")
        x, y = "(v.e->>1)::float8", "(v.e->>0)::float8"
        ring = (
            f"SELECT {x} AS x1, {y} AS y1, lead({x}) OVER (ORDER BY v.i) AS x2, lead({y}) OVER (ORDER BY v.i) AS y2 "
            f"FROM jsonb_array_elements({expr}) WITH ORDINALITY AS v(e, i)"
        )
        return (
            f"(jsonb_typeof({expr}) = 'array' AND (SELECT count(*) FROM ({ring}) s WHERE s.x2 IS NOT NULL AND "
            f"(s.y1 > {py}) <> (s.y2 > {py}) AND {px} < (s.x2 - s.x1) * ({py} - s.y1) / (s.y2 - s.y1) + s.x1) "
            "% 2 = 1)"
        )

    return emit


def polygon_equals(expr: str, value: Any) -> Cond:
    if not isinstance(value, Mapping) or value.get("__type") != "Polygon":
        return False
    coords = value.get("coordinates")
    if not isinstance(coords, list):
        return False
    return lambda p: f"{expr} = {p.add(coords, '::jsonb')}"


# -- the evaluator ---------------------------------------------------------------------------------------------------


def _coords(value: Any) -> tuple[float, float] | None:
    if isinstance(value, Mapping) and value.get("__type") == "GeoPoint":
        lat, lng = value.get("latitude"), value.get("longitude")
        if valid_lat_lng(lat, lng) is None:
            return float(lat), float(lng)  # type: ignore[arg-type]
    return None


def distance(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """distance_sql in Python, operation for operation."""
    a = math.pow(math.sin((lat1 - lat2) * DEG / 2), 2) + math.cos(lat1 * DEG) * math.cos(lat2 * DEG) * math.pow(
        math.sin((lng1 - lng2) * DEG / 2), 2
    )
    return 2 * math.asin(math.sqrt(min(1.0, a)))


def near_test(op: Near) -> Callable[[Any], bool]:
    def test(value: Any) -> bool:
        at = _coords(value)
        if at is None:
            return False
        return op.max_radians is None or distance(at[0], at[1], op.latitude, op.longitude) <= op.max_radians

    return test


def box_test(op: WithinBox) -> Callable[[Any], bool]:
    def test(value: Any) -> bool:
        at = _coords(value)
        return at is not None and op.west <= at[1] <= op.east and op.south <= at[0] <= op.north

    return test


def polygon_test(op: WithinPolygon) -> Callable[[Any], bool]:
    edges = list(zip(op.points, op.points[1:] + op.points[:1], strict=True))

    def test(value: Any) -> bool:
        at = _coords(value)
        if at is None:
            return False
        py, px = at
        crossings = sum(
            1 for (x1, y1), (x2, y2) in edges if (y1 > py) != (y2 > py) and px < (x2 - x1) * (py - y1) / (y2 - y1) + x1
        )
        return crossings % 2 == 1

    return test


def contains_test(op: PolygonContains) -> Callable[[Any], bool]:
    def test(value: Any) -> bool:
        ring = value.get("coordinates") if isinstance(value, Mapping) and value.get("__type") == "Polygon" else None
        if not isinstance(ring, list):
            return False
        py, px = op.latitude, op.longitude
        crossings = 0
        for (y1, x1), (y2, x2) in itertools.pairwise(ring):
            if (y1 > py) != (y2 > py) and px < (x2 - x1) * (py - y1) / (y2 - y1) + x1:
                crossings += 1
        return crossings % 2 == 1

    return test
