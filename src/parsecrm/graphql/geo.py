"""GeoPoint, Polygon and Bytes in parse-server's GraphQL shape (its defaultGraphQLTypes.js): the `GeoPoint` object
and `GeoPointInput`, a Polygon as `[GeoPoint!]` (its vertices; `[GeoPointInput!]` to write), the `Bytes` scalar (the
base64 text), and the where inputs `GeoPointWhereInput` (nearSphere with maxDistance…, within.box, geoWithin
polygon|centerSphere), `PolygonWhereInput` (geoIntersects.point) and `BytesWhereInput`.

Constraints become REST's `$nearSphere`/`$maxDistance…`/`$within.$box`/`$geoWithin`/`$geoIntersects`, which the one
query compiler checks and runs (query/geo.py): nothing is computed here."""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLBoolean,
    GraphQLError,
    GraphQLField,
    GraphQLFloat,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
)

from .. import errors
from ..errors import ParseError
from .scalars import json_scalar


def _lat_lng() -> dict[str, Any]:
    return {"latitude": GraphQLNonNull(GraphQLFloat), "longitude": GraphQLNonNull(GraphQLFloat)}


GEO_POINT = GraphQLObjectType(
    "GeoPoint", {k: GraphQLField(t) for k, t in _lat_lng().items()}, description="A point: latitude and longitude."
)
GEO_POINT_INPUT = GraphQLInputObjectType("GeoPointInput", {k: GraphQLInputField(t) for k, t in _lat_lng().items()})
POLYGON = GraphQLList(GraphQLNonNull(GEO_POINT))
POLYGON_INPUT = GraphQLList(GraphQLNonNull(GEO_POINT_INPUT))


def _bytes_in(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        return {"__type": "Bytes", "base64": value}
    if isinstance(value, dict) and value.get("__type") == "Bytes" and isinstance(value.get("base64"), str):
        return value
    raise GraphQLError("Bytes must be a base64 string")


def _bytes_out(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("base64"), str):
        return str(value["base64"])
    raise GraphQLError(f"Bytes cannot represent {str(value)[:40]}")


BYTES = json_scalar("Bytes", "Binary data as base 64 text.", _bytes_out, _bytes_in)

_POINT = GraphQLNonNull(GEO_POINT_INPUT)
BOX_INPUT = GraphQLInputObjectType(
    "BoxInput", {"bottomLeft": GraphQLInputField(_POINT), "upperRight": GraphQLInputField(_POINT)}
)
WITHIN_INPUT = GraphQLInputObjectType("WithinInput", {"box": GraphQLInputField(GraphQLNonNull(BOX_INPUT))})
CENTER_SPHERE_INPUT = GraphQLInputObjectType(
    "CenterSphereInput",
    {
        "center": GraphQLInputField(_POINT),
        "distance": GraphQLInputField(GraphQLNonNull(GraphQLFloat), description="The radius, in radians."),
    },
)
GEO_WITHIN_INPUT = GraphQLInputObjectType(
    "GeoWithinInput",
    {"polygon": GraphQLInputField(POLYGON_INPUT), "centerSphere": GraphQLInputField(CENTER_SPHERE_INPUT)},
)
GEO_INTERSECTS_INPUT = GraphQLInputObjectType("GeoIntersectsInput", {"point": GraphQLInputField(GEO_POINT_INPUT)})
MAX_DISTANCE = ("maxDistance", "maxDistanceInRadians", "maxDistanceInMiles", "maxDistanceInKilometers")
EXISTS = GraphQLInputField(GraphQLBoolean)

GEO_POINT_WHERE = GraphQLInputObjectType(
    "GeoPointWhereInput",
    {
        "exists": EXISTS,
        "nearSphere": GraphQLInputField(GEO_POINT_INPUT),
        **{k: GraphQLInputField(GraphQLFloat) for k in MAX_DISTANCE},
        "within": GraphQLInputField(WITHIN_INPUT),
        "geoWithin": GraphQLInputField(GEO_WITHIN_INPUT),
    },
)
POLYGON_WHERE = GraphQLInputObjectType(
    "PolygonWhereInput", {"exists": EXISTS, "geoIntersects": GraphQLInputField(GEO_INTERSECTS_INPUT)}
)
_BYTES_LIST = GraphQLList(GraphQLNonNull(BYTES))
BYTES_WHERE = GraphQLInputObjectType(
    "BytesWhereInput",
    {
        "equalTo": GraphQLInputField(BYTES),
        "notEqualTo": GraphQLInputField(BYTES),
        "in": GraphQLInputField(_BYTES_LIST),
        "notIn": GraphQLInputField(_BYTES_LIST),
        "exists": EXISTS,
    },
)
WHERE = {"GeoPoint": GEO_POINT_WHERE, "Polygon": POLYGON_WHERE}
OUTPUT: dict[str, GraphQLOutputType] = {"GeoPoint": GEO_POINT, "Bytes": BYTES}
INPUT = {"GeoPoint": GEO_POINT_INPUT, "Polygon": POLYGON_INPUT, "Bytes": BYTES}


# -- values ---------------------------------------------------------------------------------------------------------


def point(value: dict[str, Any]) -> dict[str, Any]:
    return {"__type": "GeoPoint", "latitude": value["latitude"], "longitude": value["longitude"]}


def polygon(value: list[dict[str, Any]]) -> dict[str, Any]:
    """`[GeoPointInput]` → Parse's Polygon JSON (coordinates are [latitude, longitude] pairs, as parse-server's)."""
    return {"__type": "Polygon", "coordinates": [[p["latitude"], p["longitude"]] for p in value]}


def field_value(kind: str, raw: Any) -> Any:
    if kind == "GeoPoint":
        return point(raw)
    if kind == "Polygon":
        return polygon(raw)
    return raw  # Bytes: the scalar made the Parse JSON already


def polygon_field(key: str) -> Any:
    """The resolver of a Polygon field: its vertices as GeoPoints."""

    def resolve(obj: dict[str, Any], _info: GraphQLResolveInfo) -> list[dict[str, Any]] | None:
        value = obj.get(key)
        coords = value.get("coordinates") if isinstance(value, dict) else None
        if not isinstance(coords, list):
            return None
        return [{"latitude": c[0], "longitude": c[1]} for c in coords]

    return resolve


# -- where ----------------------------------------------------------------------------------------------------------


def constraint(cond: dict[str, Any]) -> dict[str, Any]:
    """A GeoPointWhereInput or PolygonWhereInput value → REST's constraint on that field."""
    out: dict[str, Any] = {}
    for op, raw in cond.items():
        if raw is None:
            continue
        if op == "exists":
            out["$exists"] = raw
        elif op == "nearSphere":
            out["$nearSphere"] = point(raw)
        elif op in MAX_DISTANCE:
            out["$" + op] = raw
        elif op == "within":
            box = raw["box"]
            out["$within"] = {"$box": [point(box["bottomLeft"]), point(box["upperRight"])]}
        elif op == "geoWithin":
            out["$geoWithin"] = _geo_within(raw)
        elif op == "geoIntersects":
            out["$geoIntersects"] = {"$point": point(raw["point"]) if raw.get("point") else None}
    return out


def _geo_within(raw: dict[str, Any]) -> dict[str, Any]:
    given = {k: v for k, v in raw.items() if v is not None}
    if len(given) != 1:
        raise ParseError(errors.INVALID_JSON, "geoWithin takes exactly one of polygon or centerSphere")
    if "polygon" in given:
        return {"$polygon": [point(p) for p in given["polygon"]]}
    sphere = given["centerSphere"]
    return {"$centerSphere": [point(sphere["center"]), sphere["distance"]]}
