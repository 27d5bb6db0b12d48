"""An OpenAPI 3.1 document of the REST API, generated from the live class schemas: every class's routes with its
field types, the query parameters of a find, the users/sessions/functions/schema routes, Parse's error shape."""

from __future__ import annotations

from typing import Any

import orjson

from ..backend import Backend
from ..storage.model import Field
from . import model
from .pages import PageRequest, Result

JSON_STRING = {"type": "string", "contentMediaType": "application/json"}
ERROR = {"$ref": "#/components/schemas/Error"}
ALIASES = {"_User": "/users", "_Role": "/roles", "_Session": "/sessions", "_Installation": "/installations"}
READ_ONLY = {"objectId", "createdAt", "updatedAt"}
FIND_PARAMETERS = [
    ("where", "A JSON object of constraints ($lt, $in, $regex, $inQuery, …), URL-encoded.", JSON_STRING),
    ("order", "Comma-separated keys; a leading - sorts descending.", {"type": "string"}),
    ("limit", "Largest number of results (default 100).", {"type": "integer", "minimum": 0}),
    ("skip", "Results to skip.", {"type": "integer", "minimum": 0}),
    ("count", "1 adds the total number of matches as `count`.", {"type": "integer", "enum": [0, 1]}),
    ("keys", "Comma-separated keys to return.", {"type": "string"}),
    ("excludeKeys", "Comma-separated keys to leave out.", {"type": "string"}),
    ("include", "Comma-separated pointer keys whose objects to embed.", {"type": "string"}),
]


# Parse JSON objects carrying an unknown `__type` are described as objects.
def _value(f: Field) -> dict[str, Any]:
    ref = _VALUES.get(f.type, {"type": "object", "required": ["__type"]})
    return dict(ref)


_VALUES: dict[str, dict[str, Any]] = {
    "String": {"type": "string"},
    "Number": {"type": "number"},
    "Boolean": {"type": "boolean"},
    "Date": {"$ref": "#/components/schemas/Date"},
    "Object": {"type": "object"},
    "Array": {"type": "array"},
    "ACL": {"$ref": "#/components/schemas/ACL"},
    "Pointer": {"$ref": "#/components/schemas/Pointer"},
    "Relation": {"$ref": "#/components/schemas/Relation"},
    "File": {
        "type": "object",
        "properties": {"__type": {"const": "File"}, "name": {"type": "string"}, "url": {"type": "string"}},
        "required": ["__type", "name"],
    },
    "GeoPoint": {
        "type": "object",
        "properties": {
            "__type": {"const": "GeoPoint"},
            "latitude": {"type": "number", "minimum": -90, "maximum": 90},
            "longitude": {"type": "number", "minimum": -180, "maximum": 180},
        },
        "required": ["__type", "latitude", "longitude"],
    },
    "Bytes": {
        "type": "object",
        "properties": {"__type": {"const": "Bytes"}, "base64": {"type": "string"}},
        "required": ["__type", "base64"],
    },
    "Polygon": {
        "type": "object",
        "properties": {
            "__type": {"const": "Polygon"},
            "coordinates": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}, "minItems": 3},
        },
        "required": ["__type", "coordinates"],
    },
}


def _class_schemas(doc: model.ClassDoc) -> dict[str, Any]:
    s = doc.schema
    props: dict[str, Any] = {}
    for key, f in s.fields.items():
        if key == "password":
            continue
        prop = _value(f)
        text = doc.fields.get(key) or model.field_type(f)
        props[key] = {"description": text, **prop} if "$ref" not in prop else {"description": text, "allOf": [prop]}
    writable = {k: v for k, v in props.items() if k not in READ_ONLY}
    if s.name == "_User":
        writable["password"] = {"type": "string", "writeOnly": True}
    required = [k for k, f in s.fields.items() if f.required and f.default is None and k in writable]
    base = s.name.lstrip("_")
    return {
        base: {"type": "object", "description": doc.description, "properties": props},
        base + "Create": {"type": "object", "properties": writable, "required": required},
        base + "Update": {"type": "object", "properties": writable},
    }


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    "400": _json(ERROR, "Bad request: invalid query, JSON, type or validation (Parse codes 102, 107, 111, 142, …)"),
    "403": _json({"type": "object", "properties": {"error": {"type": "string"}}}, "Missing or wrong keys"),
    "404": _json(ERROR, "Object not found, or not visible to this caller (101)"),
}


def _op(summary: str, ok: dict[str, Any], status: str = "200", **extra: Any) -> dict[str, Any]:
    return {"summary": summary, "responses": {status: ok, **ERRORS}, **extra}


IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": "Only if the object's updatedAt is still this (ISO 8601); else 409 with the current state",
    "schema": {"type": "string", "format": "date-time"},
}
CONFLICT = _json(
    {"allOf": [ERROR, {"type": "object", "properties": {"current": {"type": "object"}}}]},
    "Changed since the If-Match version (code 409, our extension); `current` is the object as the caller reads it",
)


def _with(op: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`op` with more responses."""
    if extra:
        op["responses"] = {**op["responses"], **extra["responses"]}
    return op


def _body(ref: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": {"$ref": ref}}}}


def _class_paths(doc: model.ClassDoc) -> dict[str, Any]:
    s = doc.schema
    base = s.name.lstrip("_")
    path = ALIASES.get(s.name, f"/classes/{s.name}")
    obj = {"$ref": f"#/components/schemas/{base}"}
    created = {"type": "object", "properties": {"objectId": {"type": "string"}, "createdAt": {"type": "string"}}}
    params = [
        {"name": n, "in": "query", "description": d, "required": False, "schema": sch} for n, d, sch in FIND_PARAMETERS
    ]
    page = {"type": "object", "properties": {"results": {"type": "array", "items": obj}, "count": {"type": "integer"}}}
    oid = [{"name": "objectId", "in": "path", "required": True, "schema": {"type": "string"}}]
    tag = [s.name]
    # conditional writes (protocol/conditional.py), on every class
    written = [*oid, IF_MATCH]
    stale = {"responses": {"409": CONFLICT}}
    return {
        path: {
            "get": _op(f"Find {s.name} objects", _json(page), parameters=params, tags=tag, operationId=f"find{base}"),
            "post": _op(
                f"Create a {s.name}",
                _json(created, "Created"),
                "201",
                requestBody=_body(f"#/components/schemas/{base}Create"),
                tags=tag,
                operationId=f"create{base}",
            ),
        },
        path + "/{objectId}": {
            "get": _op(f"Get a {s.name}", _json(obj), parameters=oid, tags=tag, operationId=f"get{base}"),
            "put": _with(
                _op(
                    f"Update a {s.name}",
                    _json({"type": "object", "properties": {"updatedAt": {"type": "string"}}}),
                    parameters=written,
                    requestBody=_body(f"#/components/schemas/{base}Update"),
                    tags=tag,
                    operationId=f"update{base}",
                ),
                stale,
            ),
            "delete": _with(
                _op(
                    f"Delete a {s.name}",
                    _json({"type": "object"}),
                    parameters=written,
                    tags=tag,
                    operationId=f"delete{base}",
                ),
                stale,
            ),
        },
    }


def _fixed_paths() -> dict[str, Any]:
    anything = {"type": "object"}
    user = {"$ref": "#/components/schemas/User"}
    login = {
        "type": "object",
        "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
        "required": ["username", "password"],
    }
    fn = [{"name": "name", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[A-Za-z0-9_]+$"}}]
    return {
        "/health": {
            "get": {
                "summary": "Liveness",
                "security": [],
                "operationId": "health",
                "responses": {"200": _json({"type": "object"})},
            }
        },
        "/login": {
            "post": _op(
                "Log in: the user with a new sessionToken",
                _json(user),
                tags=["Users"],
                operationId="logIn",
                requestBody={"content": {"application/json": {"schema": login}}},
            )
        },
        "/logout": {"post": _op("Log out (ends the session)", _json(anything), tags=["Users"], operationId="logOut")},
        "/users/me": {"get": _op("The session's user", _json(user), tags=["Users"], operationId="me")},
        "/functions/{name}": {
            "post": _op(
                "Run a Cloud Code function",
                _json({"type": "object", "properties": {"result": {}}}),
                parameters=fn,
                tags=["Cloud Code"],
                operationId="callFunction",
                requestBody={"content": {"application/json": {"schema": anything}}},
            )
        },
        "/schemas": {
            "get": _op("Every class's schema (master key)", _json(anything), tags=["Schemas"], operationId="schemas")
        },
    }


COMPONENTS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["code", "error"],
        "properties": {"code": {"type": "integer", "description": "Parse error code"}, "error": {"type": "string"}},
    },
    "Date": {
        "type": "object",
        "properties": {"__type": {"const": "Date"}, "iso": {"type": "string", "format": "date-time"}},
    },
    "Pointer": {
        "type": "object",
        "properties": {"__type": {"const": "Pointer"}, "className": {"type": "string"}, "objectId": {"type": "string"}},
    },
    "Relation": {"type": "object", "properties": {"__type": {"const": "Relation"}, "className": {"type": "string"}}},
    "ACL": {
        "type": "object",
        "description": "user id, role:<name> or * → {read, write}",
        "additionalProperties": {
            "type": "object",
            "properties": {"read": {"type": "boolean"}, "write": {"type": "boolean"}},
        },
    },
}
SECURITY = {
    "appId": {"type": "apiKey", "in": "header", "name": "X-Parse-Application-Id"},
    "session": {"type": "apiKey", "in": "header", "name": "X-Parse-Session-Token"},
    "masterKey": {"type": "apiKey", "in": "header", "name": "X-Parse-Master-Key"},
    "javascriptKey": {"type": "apiKey", "in": "header", "name": "X-Parse-Javascript-Key"},
}


async def document(backend: Backend) -> dict[str, Any]:
    docs = [d for d in await model.classes(backend) if d.schema.name not in ("_Installation",)]
    paths: dict[str, Any] = {}
    schemas = dict(COMPONENTS)
    for d in docs:
        paths.update(_class_paths(d))
        schemas.update(_class_schemas(d))
    paths.update(_fixed_paths())
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "parsecrm REST API",
            "version": "1",
            "description": "Parse Server's REST protocol over this server's live classes. Every call needs "
            "X-Parse-Application-Id; most need a session (X-Parse-Session-Token from /login). Errors are "
            '{"code": N, "error": "..."} with Parse\'s codes.',
        },
        "servers": [{"url": backend.settings.server_url}],
        # a session is the ordinary credential; the master key (loopback only) is listed as a scheme, not required
        "security": [{"appId": [], "session": []}],
        "tags": [{"name": d.schema.name, "description": d.description} for d in docs],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": SECURITY},
    }


async def page(backend: Backend, req: PageRequest) -> Result:
    return 200, orjson.dumps(await document(backend)), []
