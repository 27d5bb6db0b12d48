"""`where` and field inputs: the constraint vocabulary of parse-server's GraphQL API, translated into REST's `where`
and save bodies, so the one query compiler and the one write path run them (nothing is evaluated here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLBoolean,
    GraphQLFloat,
    GraphQLID,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLNullableInputType,
    GraphQLString,
)

from .. import errors
from ..errors import ParseError
from ..storage.model import ClassSchema, Field
from . import geo
from .naming import from_global_id, object_id_of, type_name
from .scalars import ANY, DATE, FILE, FILE_INPUT, OBJECT, acl_in

# GraphQL constraint name → REST operator. Every where input below uses a subset of these names.
OPERATORS = {
    "equalTo": "$eq",
    "notEqualTo": "$ne",
    "lessThan": "$lt",
    "lessThanOrEqualTo": "$lte",
    "greaterThan": "$gt",
    "greaterThanOrEqualTo": "$gte",
    "in": "$in",
    "notIn": "$nin",
    "exists": "$exists",
    "matchesRegex": "$regex",
    "options": "$options",
    "contains": "$all",
    "containedBy": "$containedBy",
}
COMPARE = ("equalTo", "notEqualTo", "lessThan", "lessThanOrEqualTo", "greaterThan", "greaterThanOrEqualTo")
LOGIC = {"AND": "$and", "OR": "$or", "NOR": "$nor"}


def _ops(
    name: str, scalar: GraphQLNullableInputType, names: tuple[str, ...], extra: dict[str, Any] | None = None
) -> GraphQLInputObjectType:
    fields: dict[str, GraphQLInputField] = {}
    for op in names:
        listed = op in ("in", "notIn", "contains", "containedBy")
        kind = GraphQLList(GraphQLNonNull(scalar)) if listed else scalar
        fields[op] = GraphQLInputField(kind)
    fields["exists"] = GraphQLInputField(GraphQLBoolean)
    fields.update(extra or {})
    return GraphQLInputObjectType(name, fields)


SEARCH_INPUT = GraphQLInputObjectType(
    "SearchInput",
    {
        "term": GraphQLInputField(GraphQLNonNull(GraphQLString)),
        "language": GraphQLInputField(GraphQLString),
        "caseSensitive": GraphQLInputField(GraphQLBoolean),
        "diacriticSensitive": GraphQLInputField(GraphQLBoolean),
    },
)
TEXT_INPUT = GraphQLInputObjectType("TextInput", {"search": GraphQLInputField(GraphQLNonNull(SEARCH_INPUT))})

ID_WHERE = _ops("IdWhereInput", GraphQLID, (*COMPARE, "in", "notIn"))
STRING_WHERE = _ops(
    "StringWhereInput",
    GraphQLString,
    (*COMPARE, "in", "notIn", "matchesRegex", "options"),
    {"text": GraphQLInputField(TEXT_INPUT)},
)
NUMBER_WHERE = _ops("NumberWhereInput", GraphQLFloat, (*COMPARE, "in", "notIn"))
BOOLEAN_WHERE = _ops("BooleanWhereInput", GraphQLBoolean, ("equalTo", "notEqualTo"))
DATE_WHERE = _ops("DateWhereInput", DATE, (*COMPARE, "in", "notIn"))
ARRAY_WHERE = _ops("ArrayWhereInput", ANY, ("equalTo", "notEqualTo", "contains", "containedBy"))
OBJECT_WHERE = _ops("ObjectWhereInput", OBJECT, ("equalTo", "notEqualTo"))
# parse-server's FileWhereInput without matchesRegex/options: the query compiler matches a File by its name, and no
# regular expression on a File column (REST's $regex there matches nothing)
FILE_WHERE = _ops("FileWhereInput", FILE, (*COMPARE, "in", "notIn"))

SCALAR_WHERE = {
    "String": STRING_WHERE,
    "Number": NUMBER_WHERE,
    "Boolean": BOOLEAN_WHERE,
    "Date": DATE_WHERE,
    "Array": ARRAY_WHERE,
    "Object": OBJECT_WHERE,
    "Bytes": geo.BYTES_WHERE,
    "File": FILE_WHERE,
}
SCALAR_INPUT: dict[str, GraphQLNullableInputType] = {
    "String": GraphQLString,
    "Number": GraphQLFloat,
    "Boolean": GraphQLBoolean,
    "Date": DATE,
    "Array": GraphQLList(ANY),
    "Object": OBJECT,
    "File": FILE_INPUT,
}
BUILT_IN = {"objectId": Field("String"), "createdAt": Field("Date"), "updatedAt": Field("Date")}


@dataclass
class Nested:
    """An object a write creates first (`createAndLink` on a pointer, `createAndAdd` on a relation): its class and
    its REST body (which may hold more of these). `data` creates it in the outer write's transaction and puts its
    pointer where this stands."""

    class_name: str
    body: dict[str, Any]


def contains(value: Any, kind: type) -> bool:
    """Whether a translated body holds a `kind` (a `Nested` object, an `Upload`) anywhere."""
    if isinstance(value, kind):
        return True
    if isinstance(value, Nested):
        return contains(value.body, kind)
    if isinstance(value, dict):
        return any(contains(v, kind) for v in value.values())
    if isinstance(value, list):
        return any(contains(v, kind) for v in value)
    return False


class Translator:
    """GraphQL argument values (already validated by graphql-core) → REST JSON, for one generated schema."""

    def __init__(self, classes: dict[str, ClassSchema], class_of_type: dict[str, str]) -> None:
        self.classes = classes
        self.class_of_type = class_of_type

    # -- ids and pointers -------------------------------------------------------------------------------------------

    def pointer(self, value: str, targets: tuple[str, ...]) -> dict[str, str]:
        """A pointer from an id: a global id names its class; a plain objectId only fits a single-target field."""
        found = from_global_id(value)
        if found is not None:
            cls = self.class_of_type.get(found[0])
            if cls is None or cls not in targets:
                raise ParseError(errors.INVALID_POINTER, f"id {value[:60]} is not a {' or '.join(targets)}")
            return {"__type": "Pointer", "className": cls, "objectId": found[1]}
        if len(targets) != 1:
            raise ParseError(errors.INVALID_POINTER, "a polymorphic pointer needs a global id (it names the class)")
        return {"__type": "Pointer", "className": targets[0], "objectId": value}

    def value(self, f: Field, value: Any, *, key: str, cls: str) -> Any:
        if value is None:
            return None
        if key == "objectId":
            return object_id_of(value, type_name(cls))
        if f.type == "Date":
            return {"__type": "Date", "iso": value}
        if f.type == "Pointer":
            return self.pointer(value, f.targets or (f.target or "",))
        return value

    # -- where --------------------------------------------------------------------------------------------------------

    def where(self, value: dict[str, Any] | None, cls: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        more: list[dict[str, Any]] = []  # conditions that need a place of their own (polymorphic have/haveNot)
        schema = self.classes[cls]
        for key, cond in (value or {}).items():
            if cond is None:
                continue
            if key in LOGIC:
                out[LOGIC[key]] = [self.where(part, cls) for part in cond]
                continue
            name = "objectId" if key == "id" else key
            f = BUILT_IN.get(name) or schema.fields.get(name)
            if f is None:
                raise ParseError(errors.INVALID_KEY_NAME, f"unknown field {name[:60]}")
            if f.type == "Relation":
                more += self._relation_have(name, f.target or "", cond)
                continue
            if f.polymorphic:
                more += self._polymorphic_have(name, cond.get("have"), cond.get("haveNot"))
                cond = {k: v for k, v in cond.items() if k not in ("have", "haveNot")}
                if not any(v is not None or k == "equalTo" for k, v in cond.items()):
                    continue
            out[name] = self.constraint(cond, f, name, cls)
        return {"$and": [out, *more] if out else more} if more else out

    def _relation_have(self, key: str, target: str, cond: dict[str, Any]) -> list[dict[str, Any]]:
        """parse-server's RelationWhereInput as REST's `$inQuery`/`$notInQuery` on the relation (objects whose
        relation holds a match the caller may read / holds none); `exists` as `have`/`haveNot` of any object."""
        parts: list[dict[str, Any]] = []
        for op, where in (("have", cond.get("have")), ("haveNot", cond.get("haveNot"))):
            if where is not None:
                rest = "$inQuery" if op == "have" else "$notInQuery"
                parts.append({key: {rest: {"className": target, "where": self.where(where, target)}}})
        if cond.get("exists") is not None:
            rest = "$inQuery" if cond["exists"] else "$notInQuery"
            parts.append({key: {rest: {"className": target, "where": {"objectId": {"$exists": True}}}}})
        return parts

    def _polymorphic_have(self, key: str, have: Any, have_not: Any) -> list[dict[str, Any]]:
        """REST's `$inQuery`/`$notInQuery` on a polymorphic pointer, one per target type named (several `have`s:
        any of them, an `$or`; several `haveNot`s: none of them)."""

        def sub(op: str, named: dict[str, Any]) -> list[dict[str, Any]]:
            given = [(self.class_of_type[t], w) for t, w in named.items() if w is not None]
            if not given:
                raise ParseError(errors.INVALID_QUERY, f"{op} on {key[:60]} names no class")
            rest = "$inQuery" if op == "have" else "$notInQuery"
            return [{key: {rest: {"className": c, "where": self.where(w, c)}}} for c, w in given]

        parts: list[dict[str, Any]] = []
        if have is not None:
            matches = sub("have", have)
            parts.append(matches[0] if len(matches) == 1 else {"$or": matches})
        if have_not is not None:
            parts += sub("haveNot", have_not)
        return parts

    def constraint(self, cond: dict[str, Any], f: Field, key: str, cls: str) -> Any:
        if f.type in ("GeoPoint", "Polygon"):
            return geo.constraint(cond)
        out: dict[str, Any] = {}
        for op, raw in cond.items():
            if raw is None and op != "equalTo":
                continue
            if op in ("have", "haveNot"):
                target = f.target or ""
                query = {"className": target, "where": self.where(raw, target)}
                out["$inQuery" if op == "have" else "$notInQuery"] = query
            elif op == "text":
                search = {"$" + k: v for k, v in raw["search"].items() if v is not None}
                out["$text"] = {"$search": search}
            elif op in ("in", "notIn", "contains", "containedBy"):
                convert = f.type in ("Date", "Pointer") or key == "objectId"
                out[OPERATORS[op]] = [self.value(f, v, key=key, cls=cls) for v in raw] if convert else raw
            elif op in ("exists", "options", "matchesRegex") or f.type == "Array":
                out[OPERATORS[op]] = raw
            else:
                out[OPERATORS[op]] = self.value(f, raw, key=key, cls=cls)
        if set(out) == {"$eq"}:  # a plain equality is the form the read plan recognises best (scoped indexes)
            return out["$eq"]
        return out

    # -- save bodies --------------------------------------------------------------------------------------------------

    def fields(self, value: dict[str, Any] | None, cls: str, *, updating: bool) -> dict[str, Any]:
        schema = self.classes[cls]
        out: dict[str, Any] = {}
        for key, raw in (value or {}).items():
            f = schema.fields.get(key) or Field("String")  # `password` on users is virtual, a String
            if raw is None:
                if updating:
                    out[key] = {"__op": "Delete"}
                continue
            out[key] = self.field_value(f, raw, key, cls)
        return out

    def field_value(self, f: Field, raw: Any, key: str, cls: str) -> Any:
        if f.type == "Pointer":
            given = [k for k, v in raw.items() if v is not None]
            if len(given) > 1:  # parse-server's rule (its message too)
                raise ParseError(
                    errors.INVALID_POINTER,
                    f"You need to provide link OR createLink on the pointer mutation of field {key[:60]}",
                )
            if raw.get("createAndLink") is not None:
                target = f.target or ""
                return Nested(target, self.fields(raw["createAndLink"], target, updating=False))
            link = raw.get("link")
            return self.pointer(link, f.targets or (f.target or "",)) if link else {"__op": "Delete"}
        if f.type == "Relation":
            return self._relation_op(raw, f.target or "", key)
        if f.type == "ACL":
            return acl_in(raw, lambda v: object_id_of(v, "User"))
        if f.type in geo.INPUT:
            return geo.field_value(f.type, raw)
        if f.type == "File":  # parse-server's FileInput: `upload` (stored by `data` before the write) wins
            if raw.get("upload") is not None:
                return raw["upload"]
            if not raw.get("file"):
                raise ParseError(errors.FILE_SAVE_ERROR, "Invalid file upload.")
            return raw["file"]
        return self.value(f, raw, key=key, cls=cls)

    def _relation_op(self, raw: dict[str, Any], target: str, key: str) -> dict[str, Any]:
        """`add`, `remove` and `createAndAdd` (parse-server's RelationInput), any of them together: one REST
        relation operation, or a `Batch` of an add and a remove."""
        added: list[Any] = [self.pointer(i, (target,)) for i in raw.get("add") or ()]
        added += [Nested(target, self.fields(f, target, updating=False)) for f in raw.get("createAndAdd") or ()]
        removed = [self.pointer(i, (target,)) for i in raw.get("remove") or ()]
        ops = [{"__op": "AddRelation", "objects": added}] if added else []
        ops += [{"__op": "RemoveRelation", "objects": removed}] if removed else []
        if not ops:
            raise ParseError(
                errors.INVALID_POINTER,
                f"You need to provide at least one operation on the relation mutation of field {key[:60]}",
            )
        return ops[0] if len(ops) == 1 else {"__op": "Batch", "ops": ops}
