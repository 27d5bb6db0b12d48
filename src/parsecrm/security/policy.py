"""Class-level permissions and ACLs as SQL: the single place that decides what a caller may read or write.

Every path that touches rows (REST finds/gets/counts, includes, `$inQuery`/`$select` sub-queries, batch, writes,
cloud code running as a user; later GraphQL and live queries) asks this module, which either raises the Parse error
for a denied operation or returns the SQL condition that restricts rows to those the caller may see or change.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .. import errors
from ..errors import ParseError
from ..query.sql import Params
from ..storage.schema import SCOPED_PERMISSIONS, ClassSchema, Field, acl_index_fields, q
from .caller import Caller

READ_OPS = ("find", "count", "get")
# Accounts, sessions and roles are changed only with a signed-in session, never with an API token.
TOKEN_FREE_CLASSES = frozenset({"_User", "_Session", "_Role"})


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
    if caller.token_id and op not in READ_OPS:
        if caller.token_read_only:
            raise ParseError(errors.OPERATION_FORBIDDEN, f"This API token is read-only: it cannot {op} {schema.name}.")
        if schema.name in TOKEN_FREE_CLASSES:  # a leaked token must not be able to take over the account
            raise ParseError(errors.OPERATION_FORBIDDEN, f"API tokens cannot {op} {schema.name}; sign in instead.")
    # sessions are narrowed to the caller's own; adding fields goes by the CLP (master-only: issue 8, item 6)
    if schema.name == "_Session" and op not in ("create", "addField"):
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


def _protection(schema: ClassSchema, caller: Caller) -> dict[str, list[str]]:
    """protectedFields for `caller`, the plan both renderings share: field → the owner conditions under which a row
    shows it anyway. An owner condition is `"objectId"` (the caller's own `_User` row) or the name of a pointer
    field whose `userField:` group does not protect it (the row points at the caller). Empty list: never shown."""
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
    out: dict[str, list[str]] = {}
    for name in set.intersection(*static):
        owners: list[str] = []
        if caller.user_id:
            if schema.name == "_User":
                owners.append("objectId")  # owners see their own protected fields
            for group, fields in protected.items():
                if group.startswith("userField:") and name not in fields:
                    pointer = group.split(":", 1)[1]
                    f = schema.fields.get(pointer)
                    if f is not None and f.type == "Pointer" and not f.polymorphic:
                        owners.append(pointer)
        out[name] = owners
    return out


def hidden_fields(caller: Caller):
    """protectedFields for `caller`: field → SQL condition under which the row shows it anyway (None: never)."""

    def hidden(schema: ClassSchema, alias: str, params: Params) -> dict[str, str | None]:
        plan = _protection(schema, caller)
        if not plan:
            return {}
        # a parameter the SQL never mentions has no type and fails the statement: add it only when used
        me = params.add(caller.user_id, "::text") if caller.user_id and any(plan.values()) else None
        return {
            name: " OR ".join(f"{alias}.{q(owner)} = {me}" for owner in owners) if owners else None
            for name, owners in plan.items()
        }

    return hidden


def protected_for(caller: Caller):
    """Fields the caller may not filter, sort or aggregate on, because some rows hide them: a where clause on a
    hidden field would reveal its value row by row."""

    def names(schema: ClassSchema) -> set[str]:
        if caller.can_read_all:
            return set()
        return set(hidden_fields(caller)(schema, "t", Params()))

    return names


# -- the same rules in memory, for objects already in hand (live-query events) -----------------------------------
# Each mirrors the SQL rule above it and takes the same inputs; tests/test_policy_memory.py checks that both agree.


def _points_at_caller(f: Field, value: Any, caller: Caller) -> bool:
    """`_pointer_condition` for one field value (a single pointer column compares its objectId only, as there)."""
    if f.type == "Pointer" and isinstance(value, dict):
        same_id = value.get("objectId") == caller.user_id
        return same_id and (value.get("className") == "_User" if f.polymorphic else True)
    if f.type == "Array" and isinstance(value, list):
        return any(
            isinstance(v, dict)
            and v.get("__type") == "Pointer"
            and v.get("className") == "_User"
            and v.get("objectId") == caller.user_id
            for v in value
        )
    return False


@dataclass(frozen=True, slots=True)
class ReadRule:
    """`read_filter` + `hidden_fields` for one caller on one version of a class, prepared once and applied to
    objects in hand (a live query judges every change with the rule its subscriber holds)."""

    caller: Caller
    denied: bool  # the CLP refuses the operation outright
    everything: bool  # master / read-only master
    principals: frozenset[str]
    pointer_required: bool  # pointer permissions apply: the row must point at the caller through one of these
    pointer_fields: tuple[Field, ...]
    pointer_names: tuple[str, ...]
    plan: dict[str, list[str]]  # _protection

    def can_read(self, obj: dict[str, Any], rperm: Iterable[str]) -> bool:
        if self.denied:
            return False
        if self.everything:
            return True
        if self.principals.isdisjoint(rperm):
            return False
        if self.pointer_required:
            pairs = zip(self.pointer_fields, self.pointer_names, strict=True)
            return any(_points_at_caller(f, obj.get(n), self.caller) for f, n in pairs)
        return True

    def visible(self, obj: dict[str, Any]) -> dict[str, Any]:
        if not self.plan:
            return obj
        out = dict(obj)
        for name, owners in self.plan.items():
            if name in out and not any(_owner_is_caller(obj, owner, self.caller) for owner in owners):
                del out[name]
        return out


def read_rule(schema: ClassSchema, caller: Caller, op: str = "find") -> ReadRule:
    try:
        names = check_class(schema, caller, op)
        denied = False
    except ParseError:
        names, denied = [], True
    known = [(schema.fields[n], n) for n in names if n in schema.fields]
    return ReadRule(
        caller,
        denied,
        caller.can_read_all,
        frozenset(caller.principals),
        bool(names),
        tuple(f for f, _ in known),
        tuple(n for _, n in known),
        _protection(schema, caller),
    )


def can_read_object(
    schema: ClassSchema, caller: Caller, obj: dict[str, Any], rperm: list[str], op: str = "find"
) -> bool:
    """`read_filter` for one object in Parse JSON with its `_rperm`: CLP (incl. pointer permissions) and ACL."""
    return read_rule(schema, caller, op).can_read(obj, rperm)


def visible_object(schema: ClassSchema, caller: Caller, obj: dict[str, Any]) -> dict[str, Any]:
    """`hidden_fields` for one object: `obj` without the protected fields this caller may not see on it."""
    return read_rule(schema, caller).visible(obj)


def _owner_is_caller(obj: dict[str, Any], owner: str, caller: Caller) -> bool:
    value = obj.get(owner)
    if owner == "objectId":
        return value == caller.user_id
    return isinstance(value, dict) and value.get("objectId") == caller.user_id
