"""Class-level permissions and ACLs as SQL: the single place that decides what a caller may read or write.

Every path that touches rows (REST finds/gets/counts, includes, `$inQuery`/`$select` sub-queries, batch, writes,
cloud code running as a user; later GraphQL and live queries) asks this module, which either raises the Parse error
for a denied operation or returns the SQL condition that restricts rows to those the caller may see or change.
"""

from __future__ import annotations

from typing import Any

from .. import errors
from ..errors import ParseError
from ..query.sql import Params
from ..storage.schema import SCOPED_PERMISSIONS, ClassSchema, acl_index_fields, q
from .caller import Caller

READ_OPS = ("find", "count", "get")


def _denied(op: str, schema: ClassSchema) -> ParseError:
    return ParseError(errors.OPERATION_FORBIDDEN, f"Permission denied for action {op} on class {schema.name}.")


def check_class(schema: ClassSchema, caller: Caller, op: str) -> list[str]:
    """Raise unless the CLP lets `caller` run `op` on the class. Returns the pointer fields that must point at the
    caller for a row to qualify (empty: no such restriction)."""
    if caller.master:
        return []
    if caller.read_only:
        if op in READ_OPS:
            return []
        raise ParseError(errors.OPERATION_FORBIDDEN, "read-only master key cannot write")
    if schema.name == "_Session" and op not in ("create",):
        if not caller.user_id:
            raise ParseError(errors.INVALID_SESSION_TOKEN, "Session token required.")
        return ["user"]
    clp = schema.effective_clp()
    perms: dict[str, Any] = clp.get(op) or {}
    if perms.get("*"):
        return []
    if caller.user_id and any(perms.get(p) for p in caller.principals[1:]):
        return []
    pointer_fields = list(perms.get("pointerFields") or [])
    if op in READ_OPS:
        pointer_fields += list(clp.get("readUserFields") or [])
    elif op in ("update", "delete"):
        pointer_fields += list(clp.get("writeUserFields") or [])
    # requiresAuthentication admits any signed-in user, but pointer permissions still narrow the rows (as Parse)
    if perms.get("requiresAuthentication") or pointer_fields:
        if not caller.user_id:
            raise ParseError(errors.OBJECT_NOT_FOUND, "Permission denied, user needs to be authenticated.")
        return pointer_fields
    raise _denied(op, schema)


def _pointer_condition(schema: ClassSchema, alias: str, fields: list[str], caller: Caller, params: Params) -> str:
    me = params.add(caller.user_id, "::text")
    parts = []
    for name in fields:
        f = schema.fields.get(name)
        if f is None:
            continue
        col = f"{alias}.{q(name)}"
        if f.type == "Pointer":
            parts.append(f"{col} = {'(' + repr('_User$') + ' || ' + me + ')' if f.polymorphic else me}")
        elif f.type == "Array":
            parts.append(
                f"{col} @> jsonb_build_array(jsonb_build_object('__type', 'Pointer', 'className', '_User', "
                f"'objectId', {me}))"
            )
    return "(" + " OR ".join(parts) + ")" if parts else "FALSE"


def read_filter(caller: Caller):
    """The read rule for `caller`: CLP check + ACL (+ pointer permissions) as an SQL condition on `alias`."""

    def restrict(
        schema: ClassSchema, alias: str, op: str, params: Params, scope: tuple[str, str] | None = None
    ) -> str | None:
        pointer_fields = check_class(schema, caller, op)
        if caller.can_read_all:
            return None
        if scope is not None and scope[0] in acl_index_fields(schema):
            # the query also says `field = value`: ask the ACL-scoped index for exactly this caller's such rows
            field, value = scope
            pairs = params.add([f"{value}\x1f{p}" for p in caller.principals], "::text[]")
            cond = f'{SCOPED_PERMISSIONS}({alias}.{q(field)}, {alias}."_rperm") && {pairs}'
        else:
            cond = f'{alias}."_rperm" && {params.add(caller.principals, "::text[]")}'
        if pointer_fields:
            cond += " AND " + _pointer_condition(schema, alias, pointer_fields, caller, params)
        return cond

    return restrict


def write_filter(schema: ClassSchema, alias: str, caller: Caller, op: str, params: Params) -> str | None:
    """The rows `caller` may update or delete (CLP + write ACL), or None for all. Raises on a class-level denial."""
    pointer_fields = check_class(schema, caller, op)
    if caller.master:
        return None
    cond = f'{alias}."_wperm" && {params.add(caller.principals, "::text[]")}'
    if pointer_fields:
        cond += " AND " + _pointer_condition(schema, alias, pointer_fields, caller, params)
    return cond


def hidden_fields(caller: Caller):
    """protectedFields for `caller`: field → SQL condition under which the row shows it anyway (None: never)."""

    def hidden(schema: ClassSchema, alias: str, params: Params) -> dict[str, str | None]:
        if caller.can_read_all:
            return {}
        protected: dict[str, list[str]] = schema.effective_clp().get("protectedFields") or {}
        if not protected:
            return {}
        groups = ["*"]
        if caller.user_id:
            groups += ["authenticated", *caller.principals[1:]]
        static = [set(protected[g]) for g in groups if g in protected]
        if not static:
            return {}
        base = set.intersection(*static)
        if not base:
            return {}
        out: dict[str, str | None] = {}
        me = params.add(caller.user_id, "::text") if caller.user_id else None
        for name in base:
            shows: list[str] = []
            if me is not None:
                if schema.name == "_User":
                    shows.append(f'{alias}."objectId" = {me}')  # owners see their own protected fields
                for group, fields in protected.items():
                    if group.startswith("userField:") and name not in fields:
                        pointer = group.split(":", 1)[1]
                        f = schema.fields.get(pointer)
                        if f is not None and f.type == "Pointer" and not f.polymorphic:
                            shows.append(f"{alias}.{q(pointer)} = {me}")
            out[name] = " OR ".join(shows) if shows else None
        return out

    return hidden


def protected_for(caller: Caller):
    """Fields the caller may not filter, sort or aggregate on, because some rows hide them: a where clause on a
    hidden field would reveal its value row by row."""

    def names(schema: ClassSchema) -> set[str]:
        if caller.can_read_all:
            return set()
        return set(hidden_fields(caller)(schema, "t", Params()))

    return names
