"""The schema model: what fields a class has, their types, class-level permissions, and names in SQL.

Pure data (no database access): the cache (cache.py) loads it from `_SCHEMA`, the DDL (ddl.py) turns it into tables.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from .. import errors
from ..errors import ParseError
from ..values import check_class_name

FIELD_TYPES = frozenset(
    {
        "String",
        "Number",
        "Boolean",
        "Date",
        "Object",
        "Array",
        "Pointer",
        "Relation",
        "ACL",
        "File",
        "GeoPoint",
        "Bytes",
        "Polygon",
    }
)
UNSUPPORTED_TYPES: frozenset[str] = frozenset()

BASE_FIELDS: dict[str, dict[str, Any]] = {
    "objectId": {"type": "String"},
    "createdAt": {"type": "Date"},
    "updatedAt": {"type": "Date"},
    "ACL": {"type": "ACL"},
}

SYSTEM_FIELDS: dict[str, dict[str, dict[str, Any]]] = {
    "_User": {
        "username": {"type": "String"},
        "password": {"type": "String"},
        "email": {"type": "String"},
        "emailVerified": {"type": "Boolean"},
        "authData": {"type": "Object"},
    },
    "_Role": {
        "name": {"type": "String"},
        "users": {"type": "Relation", "targetClass": "_User"},
        "roles": {"type": "Relation", "targetClass": "_Role"},
    },
    # parse-server's installation fields, so that the SDKs can save installations (clients never add fields to a
    # system class: security/policy.py)
    "_Installation": {
        **{
            name: {"type": "String"}
            for name in (
                "installationId",
                "deviceToken",
                "deviceType",
                "pushType",
                "GCMSenderId",
                "timeZone",
                "localeIdentifier",
                "appVersion",
                "appName",
                "appIdentifier",
                "parseVersion",
            )
        },
        "channels": {"type": "Array"},
        "badge": {"type": "Number"},
    },
    "_Session": {
        "user": {"type": "Pointer", "targetClass": "_User"},
        "sessionToken": {"type": "String"},
        "expiresAt": {"type": "Date"},
        "installationId": {"type": "String"},
        "createdWith": {"type": "Object"},
    },
}

# The password is a write-only field: stored hashed in a hidden column, never a column of its own.
VIRTUAL_FIELDS = {"_User": {"password"}}

PROTECTED_BY_DEFAULT = {"_User": {"*": ["email"]}}

CLP_OPERATIONS = ("find", "count", "get", "create", "update", "delete", "addField")
CLP_KEYS = frozenset({*CLP_OPERATIONS, "readUserFields", "writeUserFields", "protectedFields"})


def join_table(owner: str, field_name: str) -> str:
    return f"_Join:{field_name}:{owner}"


def q(identifier: str) -> str:
    """Quote an identifier that has already been validated (class/field names never contain a double quote)."""
    return '"' + identifier + '"'


@dataclass(frozen=True, slots=True)
class Field:
    type: str
    target: str | None = None  # Pointer/Relation target class
    targets: tuple[str, ...] = ()  # a polymorphic pointer's allowed classes
    required: bool = False
    default: Any = None

    @property
    def polymorphic(self) -> bool:
        return self.type == "Pointer" and bool(self.targets)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if self.target:
            out["targetClass"] = self.target
        if self.targets:
            out["targetClasses"] = list(self.targets)
        if self.required:
            out["required"] = True
        if self.default is not None:
            out["defaultValue"] = self.default
        return out

    @staticmethod
    def from_json(name: str, raw: Any) -> Field:
        if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
            raise ParseError(errors.INCORRECT_TYPE, f"invalid field type for {name}")
        kind = raw["type"]
        if kind in UNSUPPORTED_TYPES:
            raise ParseError(errors.INCORRECT_TYPE, f"field type {kind} is not supported by this server yet")
        if kind not in FIELD_TYPES:
            raise ParseError(errors.INCORRECT_TYPE, f"invalid field type: {str(kind)[:40]}")
        target = raw.get("targetClass")
        targets = raw.get("targetClasses") or ()
        if kind in ("Pointer", "Relation"):
            if targets and kind == "Pointer":
                if not isinstance(targets, list) or not targets:
                    raise ParseError(
                        errors.MISSING_REQUIRED_FIELD_ERROR, f"targetClasses of {name} must be a list of class names"
                    )
                targets = tuple(check_class_name(t) for t in targets)
                target = None
            elif not isinstance(target, str):
                raise ParseError(errors.MISSING_REQUIRED_FIELD_ERROR, f"type {kind} needs a class name")
            else:
                check_class_name(target)
        else:
            target, targets = None, ()
        return Field(kind, target, tuple(targets), bool(raw.get("required", False)), raw.get("defaultValue"))


@dataclass
class ClassSchema:
    name: str
    fields: dict[str, Field]
    clp: dict[str, Any] | None = None
    indexes: dict[str, Any] = field(default_factory=dict)
    _derived: dict[str, object] = field(default_factory=dict, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "className": self.name,
            "fields": {k: v.to_json() for k, v in self.fields.items()},
            "classLevelPermissions": self.effective_clp(),
        }
        if self.indexes:
            out["indexes"] = copy.deepcopy(self.indexes)
        return out

    def stored_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"className": self.name, "fields": {k: v.to_json() for k, v in self.fields.items()}}
        if self.clp is not None:
            out["classLevelPermissions"] = self.clp
        if self.indexes:
            out["indexes"] = self.indexes
        return out

    def changed(self) -> None:
        """Forget derived values after `fields` or `clp` changed (every schema change goes through `_save`)."""
        self._derived.clear()

    def effective_clp(self) -> dict[str, Any]:
        """The CLP with Parse's defaults (computed once per schema version: every request checks it)."""
        found = self._derived.get("clp")
        if found is None:
            found = self._derived["clp"] = self._effective_clp()
        return found  # type: ignore[return-value]

    def _effective_clp(self) -> dict[str, Any]:
        """A class without a CLP is public; named operations left out are master-only."""
        if self.clp is None:
            base: dict[str, Any] = {op: {"*": True} for op in CLP_OPERATIONS}
            base["protectedFields"] = copy.deepcopy(PROTECTED_BY_DEFAULT.get(self.name, {"*": []}))
            return base
        out = {op: self.clp.get(op, {}) for op in CLP_OPERATIONS}
        out["protectedFields"] = self.clp.get("protectedFields", copy.deepcopy(PROTECTED_BY_DEFAULT.get(self.name, {})))
        for key in ("readUserFields", "writeUserFields"):
            if key in self.clp:
                out[key] = self.clp[key]
        return out

    def column_fields(self) -> list[str]:
        """Fields stored as a column of this class's table (not relations, not the ACL, not virtual)."""
        found = self._derived.get("columns")
        if found is None:
            virtual = VIRTUAL_FIELDS.get(self.name, set())
            found = self._derived["columns"] = [
                k for k, f in self.fields.items() if f.type not in ("Relation", "ACL") and k not in virtual
            ]
        return found  # type: ignore[return-value]

    def acl_index_fields(self) -> frozenset[str]:
        """Fields with an ACL-scoped index (`{"stage": "acl"}`): a GIN index over `value ␟ principal` pairs, so
        that "rows with stage = X that this caller may read" is one index lookup of the caller's own rows for X,
        instead of intersecting every X row with every row the caller may read (security/policy.py uses it)."""
        found = self._derived.get("acl_index")
        if found is None:
            found = self._derived["acl_index"] = frozenset(
                f for spec in self.indexes.values() if isinstance(spec, dict) for f, d in spec.items() if d == "acl"
            )
        return found  # type: ignore[return-value]

    @staticmethod
    def from_json(raw: dict[str, Any]) -> ClassSchema:
        name = raw["className"]
        fields = {k: Field.from_json(k, v) for k, v in (raw.get("fields") or {}).items()}
        return ClassSchema(name, fields, raw.get("classLevelPermissions"), dict(raw.get("indexes") or {}))


def default_fields(class_name: str) -> dict[str, Field]:
    out = {k: Field.from_json(k, v) for k, v in BASE_FIELDS.items()}
    for k, v in SYSTEM_FIELDS.get(class_name, {}).items():
        out[k] = Field.from_json(k, v)
    return out


def validate_clp(clp: Any) -> dict[str, Any]:
    if not isinstance(clp, dict):
        raise ParseError(errors.INVALID_JSON, "classLevelPermissions must be an object")
    for key, value in clp.items():
        if key not in CLP_KEYS:
            raise ParseError(errors.INVALID_JSON, f"{key!s:.40} is not a valid operation for class level permissions")
        if key in ("readUserFields", "writeUserFields"):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ParseError(errors.INVALID_JSON, f"{key} must be a list of field names")
        elif key == "protectedFields":
            if not isinstance(value, dict) or not all(
                isinstance(v, list) and all(isinstance(f, str) for f in v) for v in value.values()
            ):
                raise ParseError(errors.INVALID_JSON, "protectedFields must map groups to lists of fields")
        else:
            if not isinstance(value, dict):
                raise ParseError(errors.INVALID_JSON, f"CLP {key} must be an object")
            for principal, flag in value.items():
                if principal == "pointerFields":
                    if not isinstance(flag, list):
                        raise ParseError(errors.INVALID_JSON, "pointerFields must be a list")
                elif flag is not True and not (principal == "requiresAuthentication" and flag is False):
                    raise ParseError(errors.INVALID_JSON, f"'{flag!s:.20}' is not a valid value for CLP {key}")
    return clp


SCOPED_PERMISSIONS = "parsecrm_scoped"  # (value, _rperm) → {value␟principal, …}: see ClassSchema.acl_index_fields


def check_field_change(schema: ClassSchema, name: str, new: Field) -> None:
    old = schema.fields.get(name)
    if old is None:
        existing = next((k for k, f in schema.fields.items() if f.type == "GeoPoint"), None)
        if new.type == "GeoPoint" and existing is not None:  # parse-server's rule (its Mongo 2d index takes one)
            raise ParseError(
                errors.INCORRECT_TYPE,
                f"currently, only one GeoPoint field may exist in an object. Adding {name} when {existing} "
                "already exists.",
            )
        return
    if (
        old.type != new.type
        or (old.target != new.target and new.target)
        or (new.targets and old.targets != new.targets)
    ):
        raise ParseError(
            errors.INCORRECT_TYPE,
            f"schema mismatch for {schema.name}.{name}; expected {describe(old)} but got {describe(new)}",
        )


def describe(f: Field) -> str:
    if f.type in ("Pointer", "Relation"):
        return f"{f.type}<{f.target or '|'.join(f.targets)}>"
    return f.type
