"""A save body → validated changes: plain values and Parse's field operations, typed against the class schema.

Used by every write path (REST, batch, users, cloud code). Nothing here touches the database.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from . import errors
from .errors import ParseError
from .storage.model import ClassSchema, Field, describe
from .values import Pointer, check_field_name, decode, encode, type_of

READ_ONLY_KEYS = {"createdAt", "updatedAt", "className", "__type"}
INSTALLATION_ID_CHANGED = 136  # parse-server's code for "installationId may not be changed in this operation"


@dataclass(frozen=True)
class Guard:
    """Who may write a system key: `master` (the master key only), `create` (the master key, and only when the
    object is made), `made` (anyone, but only when the object is made: fixed afterwards, even for the master key)
    or `nobody` (the server alone). `code` is the error parse-server answers with."""

    who: str
    code: int
    message: str


_SESSION_FIXED = "A session's {key} is fixed when the session is created."
_CLIENTS_MAY_NOT = "Clients aren't allowed to manually update {key}."
_INSTALLATION_FIXED = "{key} may not be changed in this operation"
# Keys of system classes that only the server (or the master key) writes, as parse-server's RestWrite guards them.
# A session's user, token, installation and ACL are fixed when it is made: when a client could move `user`, a rep
# turned her own token into the manager's (the account takeover of issue 8). A missing row here is a hole, so the
# permission matrix in tests/test_system_classes.py walks this table through every transport.
SYSTEM_KEYS: dict[str, dict[str, Guard]] = {
    "_User": {
        "emailVerified": Guard("master", errors.OPERATION_FORBIDDEN, _CLIENTS_MAY_NOT),
        "authData": Guard("master", errors.OPERATION_FORBIDDEN, _CLIENTS_MAY_NOT),
    },
    "_Session": {
        "user": Guard("master", errors.INVALID_KEY_NAME, _SESSION_FIXED),
        "sessionToken": Guard("create", errors.INVALID_KEY_NAME, _SESSION_FIXED),
        "installationId": Guard("create", errors.INVALID_KEY_NAME, _SESSION_FIXED),
        "expiresAt": Guard("master", errors.INVALID_KEY_NAME, _SESSION_FIXED),
        "createdWith": Guard("master", errors.INVALID_KEY_NAME, _SESSION_FIXED),
        "ACL": Guard("create", errors.INVALID_KEY_NAME, "Cannot set ACL on a Session."),
    },
    # An installation is one app on one device: which device it is never changes once registered (parse-server
    # RestWrite.handleInstallation answers 136), so one device cannot take over another's push registrations.
    "_Installation": {
        "installationId": Guard("made", INSTALLATION_ID_CHANGED, _INSTALLATION_FIXED),
        "deviceType": Guard("made", INSTALLATION_ID_CHANGED, _INSTALLATION_FIXED),
    },
}


def check_system_keys(class_name: str, body: dict[str, Any], *, creating: bool, master: bool) -> None:
    """Raise unless every key of `body` that a system class guards may be written by this caller now."""
    guards = SYSTEM_KEYS.get(class_name)
    if not guards:
        return
    for key in body:
        guard = guards.get(key.split(".", 1)[0])
        if guard is None:
            continue
        allowed = (
            (guard.who == "master" and master)
            or (guard.who == "create" and master and creating)
            or (guard.who == "made" and creating)
        )
        if not allowed:
            raise ParseError(guard.code, guard.message.format(key=key.split(".", 1)[0]))


@dataclass
class Change:
    """One field's change: `set` a value, or an operation (inc, add, addu, remove, relation)."""

    kind: str
    value: Any = None
    adds: list[Pointer] = field(default_factory=list)
    removes: list[Pointer] = field(default_factory=list)


@dataclass(frozen=True)
class PathEdit:
    """One edit of a sub-key of an Object field (`meta.a.b`): `op` is set, delete or inc (Increment by `value`).
    Missing or non-object intermediate keys become objects; a missing or non-number target counts as 0."""

    path: tuple[str, ...]
    op: str
    value: Any = None


def has_increment(change: Change) -> bool:
    """Whether the database computes the field's new value (an Increment on one of its sub-keys)."""
    return change.kind == "path" and any(e.op == "inc" for e in change.value)


def parse_body(schema: ClassSchema, body: Any, *, creating: bool, master: bool) -> tuple[dict[str, Change], Any, bool]:
    """Return (changes, acl, acl_given)."""
    if not isinstance(body, dict):
        raise ParseError(errors.INVALID_JSON, "request body must be a JSON object")
    check_system_keys(schema.name, body, creating=creating, master=master)
    changes: dict[str, Change] = {}
    acl: Any = None
    acl_given = False
    for key, raw in body.items():
        if key in ("createdAt", "updatedAt") and not (isinstance(raw, dict) and raw.get("__type") == "Date"):
            raise ParseError(errors.INCORRECT_TYPE, f"{key} must be a Date; it is set by the server and ignored")
        if key in READ_ONLY_KEYS:
            continue
        if key in ("objectId", "id"):
            raise ParseError(errors.INVALID_KEY_NAME, f"{key} is an invalid field name.")
        if key == "ACL":
            acl, acl_given = raw, True
            continue
        if "." in key:  # "meta.b": set one sub-key of an Object field
            head, *path = key.split(".")
            check_field_name(head)
            if not all(p and p.replace("_", "").isalnum() for p in path):
                raise ParseError(errors.INVALID_KEY_NAME, f"Invalid field name: {key[:100]}.")
            change = changes.setdefault(head, Change("path", []))
            if change.kind != "path":
                raise ParseError(errors.INVALID_KEY_NAME, f"{head} is set twice in one save")
            sub = _change(key, raw, creating)
            if sub.kind not in ("set", "inc"):
                raise ParseError(errors.INVALID_KEY_NAME, f"only values, Delete and Increment apply to {key[:100]}")
            op = "delete" if raw == {"__op": "Delete"} else sub.kind
            change.value.append(PathEdit(tuple(path), op, sub.value))
            continue
        check_field_name(key)
        changes[key] = _change(key, raw, creating)
    return changes, acl, acl_given


def _pointers(key: str, objects: Any) -> list[Pointer]:
    if not isinstance(objects, list):
        raise ParseError(errors.INVALID_JSON, f"objects of {key} must be an array")
    out = []
    for o in objects:
        p = decode(o)
        if not isinstance(p, Pointer):
            raise ParseError(errors.INVALID_POINTER, "relation operations need pointers")
        out.append(p)
    return out


def _change(key: str, raw: Any, creating: bool) -> Change:
    if isinstance(raw, dict) and "__op" in raw:
        op = raw["__op"]
        if op == "Delete":
            return Change("set", None)
        if op == "Increment":
            amount = raw.get("amount")
            if not isinstance(amount, (int, float)) or isinstance(amount, bool):
                raise ParseError(errors.INVALID_JSON, "Increment amount must be a number")
            return Change("inc", amount)
        if op in ("Add", "AddUnique", "Remove"):
            objects = raw.get("objects")
            if not isinstance(objects, list):
                raise ParseError(errors.INVALID_JSON, "objects to add must be an array")
            kind = {"Add": "add", "AddUnique": "addu", "Remove": "remove"}[op]
            return Change(kind, [decode(o, stored=True) for o in objects])
        if op == "AddRelation":
            return Change("relation", adds=_pointers(key, raw.get("objects")))
        if op == "RemoveRelation":
            return Change("relation", removes=_pointers(key, raw.get("objects")))
        if op == "Batch":
            ops = raw.get("ops")
            if not isinstance(ops, list):
                raise ParseError(errors.INVALID_JSON, "Batch ops must be an array")
            merged = Change("relation")
            for sub in ops:
                c = _change(key, sub, creating)
                if c.kind != "relation":
                    raise ParseError(errors.COMMAND_UNAVAILABLE, "Batch supports only relation operations")
                merged.adds += c.adds
                merged.removes += c.removes
            return merged
        raise ParseError(errors.COMMAND_UNAVAILABLE, f"The {str(op)[:40]} operator is not supported yet.")
    if isinstance(raw, dict) and raw.get("__type") == "Relation":
        return Change("relation")
    return Change("set", decode(raw, stored=True))


def implied_field(change: Change) -> Field | None:
    """The schema field a change implies on a class that lacks it (None: nothing to add, e.g. a null)."""
    if change.kind == "inc":
        return Field("Number")
    if change.kind in ("add", "addu", "remove"):
        return Field("Array")
    if change.kind == "path":
        return Field("Object")
    if change.kind == "relation":
        pointers = change.adds or change.removes
        return Field("Relation", pointers[0].class_name) if pointers else None
    kind = type_of(change.value)
    if kind is None:
        return None
    if kind == "Pointer":
        return Field("Pointer", change.value.class_name)
    if kind == "File":
        if not isinstance(change.value.get("name"), str) or not change.value["name"]:
            raise ParseError(errors.INCORRECT_TYPE, "a File value needs its name")
        return Field("File")
    if kind in ("GeoPoint", "Bytes", "Polygon"):
        return Field(kind)
    if kind not in ("String", "Number", "Boolean", "Date", "Array", "Object"):
        raise ParseError(errors.INCORRECT_TYPE, f"invalid type {kind}")
    return Field(kind)


def check_type(schema: ClassSchema, key: str, f: Field, change: Change) -> None:
    """Raise 111 unless the change fits the field's declared type."""
    want = implied_field(change)
    if want is None:
        return
    if f.type == "Pointer" and want.type == "Pointer":
        target = want.target
        if (f.polymorphic and target in f.targets) or target == f.target:
            return
    elif f.type == "Relation" and want.type == "Relation":
        if want.target == f.target:
            return
    elif f.type == want.type:
        return
    raise ParseError(
        errors.INCORRECT_TYPE,
        f"schema mismatch for {schema.name}.{key}; expected {describe(f)} but got {describe(want)}",
    )


def finite(value: int | float, what: str = "number") -> float:
    """`value` as the float8 it is stored as; 111 if it has no finite float8 (an overflowed Increment, a huge integer
    or an infinity from Cloud Code): a stored Infinity would read back as the string "Infinity" and turn sums null."""
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ParseError(errors.INCORRECT_TYPE, f"{what} is out of range: numbers must be finite")
    return number


def column_value(f: Field, value: Any) -> Any:
    """A decoded value as its column parameter (every write path, hooks' values included, ends here)."""
    if value is None:
        return None
    if f.type == "Pointer":
        return f"{value.class_name}${value.object_id}" if f.polymorphic else value.object_id
    if f.type in ("Object", "Array"):
        return encode(value)
    if f.type == "File":
        return value["name"]
    if f.type == "Number":
        return finite(value)
    if f.type == "GeoPoint":
        return (value["longitude"], value["latitude"])  # a PostgreSQL point is (x, y)
    if f.type == "Bytes":
        return value["base64"]
    if f.type == "Polygon":
        return value["coordinates"]
    return value


def apply(change: Change, current: Any) -> Any:
    """A change applied in Python to a field's current decoded value (for the hooked path, which holds a row lock)."""
    if change.kind == "set":
        return change.value
    if change.kind == "inc":
        number = current if isinstance(current, (int, float)) and not isinstance(current, bool) else 0
        total = number + change.value
        finite(total, "the result of Increment")
        return total
    base = list(current) if isinstance(current, list) else []
    if change.kind == "add":
        return base + list(change.value)
    if change.kind == "addu":
        for v in change.value:
            if v not in base:
                base.append(v)
        return base
    if change.kind == "remove":
        return [v for v in base if v not in change.value]
    if change.kind == "path":
        return set_paths(current if isinstance(current, dict) else {}, change.value)
    return current


def set_paths(obj: dict[str, Any], edits: list[PathEdit]) -> dict[str, Any]:
    """A copy of `obj` with each sub-key edit applied, creating intermediate objects (as field_ops._path_sql)."""
    import copy

    out = copy.deepcopy(obj)
    for edit in edits:
        node = out
        for part in edit.path[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        last = edit.path[-1]
        if edit.op == "delete":
            node.pop(last, None)
        elif edit.op == "inc":
            node[last] = apply(Change("inc", edit.value), node.get(last))
        else:
            node[last] = edit.value
    return out
