"""Scalars and the ACL types shared by every generated class type (parse-server's names: Date, Object, Any, ACL)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from graphql import (
    GraphQLBoolean,
    GraphQLError,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLString,
)
from graphql.language import ValueNode
from graphql.utilities import value_from_ast_untyped

from .naming import to_global_id
from .uploads import UPLOAD


def _date_out(value: Any) -> str:
    if isinstance(value, dict) and value.get("__type") == "Date":
        return str(value["iso"])
    if isinstance(value, str):
        return value
    raise GraphQLError(f"Date cannot represent {str(value)[:40]}")


def _date_in(value: Any) -> str:
    if not isinstance(value, str):
        raise GraphQLError("Date must be an ISO 8601 string")
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise GraphQLError(f"Date is not ISO 8601: {value[:40]}") from exc
    return value


def _object_in(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise GraphQLError("Object must be a JSON object")
    return value


def _same(value: Any) -> Any:
    return value


def json_scalar(
    name: str, description: str, serialize: Callable[[Any], Any], parse_value: Callable[[Any], Any]
) -> GraphQLScalarType:
    """A scalar written in a document as its JSON value: a literal is read as JSON, then checked and converted
    exactly as the same value in a variable is (one `parse_value` for both forms)."""

    def parse_literal(node: ValueNode, variables: dict[str, Any] | None = None) -> Any:
        return parse_value(value_from_ast_untyped(node, variables))

    return GraphQLScalarType(
        name, description=description, serialize=serialize, parse_value=parse_value, parse_literal=parse_literal
    )


DATE = json_scalar("Date", "An ISO 8601 date-time in UTC, e.g. 2026-03-01T12:00:00.000Z.", _date_out, _date_in)
OBJECT = json_scalar("Object", "A JSON object.", _same, _object_in)
ANY = json_scalar("Any", "Any JSON value.", _same, _same)


def _file_in(value: Any) -> dict[str, Any]:
    """parse-server's File scalar: a stored file's name, or its `{__type: "File", name, url}`."""
    if isinstance(value, str) and value:
        return {"__type": "File", "name": value}
    if isinstance(value, dict) and value.get("__type") == "File" and isinstance(value.get("name"), str):
        return {k: value[k] for k in ("__type", "name", "url") if isinstance(value.get(k), str)}
    raise GraphQLError("File must be a file name or a {__type: File, name, url} object")


def _file_out(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("name"), str):
        return str(value["name"])
    raise GraphQLError(f"File cannot represent {str(value)[:40]}")


FILE = json_scalar(
    "File",
    "A stored file: its name (as POST /files answered it), or a {__type: File, name, url} object.",
    _file_out,
    _file_in,
)
FILE_INFO = GraphQLObjectType(
    "FileInfo", {"name": GraphQLField(GraphQLNonNull(GraphQLString)), "url": GraphQLField(GraphQLString)}
)
FILE_INPUT = GraphQLInputObjectType(
    "FileInput",
    {
        "file": GraphQLInputField(FILE, description="A file uploaded before (createFile, or REST POST /files/<name>)."),
        "upload": GraphQLInputField(
            UPLOAD, description="A new file (a multipart request's part): stored, then linked."
        ),
    },
    description="Links a stored file; null unlinks it (the file itself is not deleted).",
)


def _access(entry: Any) -> dict[str, bool]:
    return {"read": bool(entry.get("read")), "write": bool(entry.get("write"))}


def acl_out(acl: Any) -> dict[str, Any] | None:
    """Parse's ACL JSON → `{users, roles, public}` (user ids as global ids, as parse-server does)."""
    if not isinstance(acl, dict):
        return None
    users = [{"userId": to_global_id("User", k), **_access(v)} for k, v in acl.items() if k != "*" and ":" not in k]
    roles = [{"roleName": k[5:], **_access(v)} for k, v in acl.items() if k.startswith("role:")]
    public = _access(acl["*"]) if "*" in acl else None
    return {"users": users, "roles": roles, "public": public}


def _rw(named: dict[str, Any]) -> dict[str, GraphQLField]:
    return {
        **named,
        "read": GraphQLField(GraphQLNonNull(GraphQLBoolean)),
        "write": GraphQLField(GraphQLNonNull(GraphQLBoolean)),
    }


def _rw_in(named: dict[str, Any]) -> dict[str, GraphQLInputField]:
    flags = {k: GraphQLInputField(GraphQLNonNull(GraphQLBoolean)) for k in ("read", "write")}
    return {**named, **flags}


USER_ACL = GraphQLObjectType("UserACL", _rw({"userId": GraphQLField(GraphQLNonNull(GraphQLString))}))
ROLE_ACL = GraphQLObjectType("RoleACL", _rw({"roleName": GraphQLField(GraphQLNonNull(GraphQLString))}))
PUBLIC_ACL = GraphQLObjectType("PublicACL", _rw({}))
ACL = GraphQLObjectType(
    "ACL",
    {
        "users": GraphQLField(GraphQLList(GraphQLNonNull(USER_ACL))),
        "roles": GraphQLField(GraphQLList(GraphQLNonNull(ROLE_ACL))),
        "public": GraphQLField(PUBLIC_ACL),
    },
    description="Who may read and write an object.",
)
ACL_INPUT = GraphQLInputObjectType(
    "ACLInput",
    {
        "users": GraphQLInputField(
            GraphQLList(
                GraphQLNonNull(
                    GraphQLInputObjectType(
                        "UserACLInput", _rw_in({"userId": GraphQLInputField(GraphQLNonNull(GraphQLString))})
                    )
                )
            )
        ),
        "roles": GraphQLInputField(
            GraphQLList(
                GraphQLNonNull(
                    GraphQLInputObjectType(
                        "RoleACLInput", _rw_in({"roleName": GraphQLInputField(GraphQLNonNull(GraphQLString))})
                    )
                )
            )
        ),
        "public": GraphQLInputField(GraphQLInputObjectType("PublicACLInput", _rw_in({}))),
    },
)


def acl_in(value: dict[str, Any], user_id_of: Any) -> dict[str, Any]:
    """`ACLInput` → Parse's ACL JSON; `user_id_of` turns a global or plain user id into an objectId."""
    out: dict[str, Any] = {}
    for entry in value.get("users") or []:
        out[user_id_of(entry["userId"])] = _flags(entry)
    for entry in value.get("roles") or []:
        out["role:" + entry["roleName"]] = _flags(entry)
    if value.get("public"):
        out["*"] = _flags(value["public"])
    return {k: v for k, v in out.items() if v}


def _flags(entry: dict[str, Any]) -> dict[str, bool]:
    return {k: True for k in ("read", "write") if entry.get(k)}
