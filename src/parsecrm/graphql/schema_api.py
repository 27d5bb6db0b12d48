"""parse-server's schema API over GraphQL (its schemaQueries.js, schemaMutations.js, schemaTypes.js): the queries
`class(name:)` and `classes`, the mutations `createClass`, `updateClass` and `deleteClass`, with `SchemaFieldsInput`
(`addStrings`, `addNumbers`, …, `addPointers`, `addRelations`, `remove`).

Every resolver calls what the REST `/schemas` routes call (`protocol/schemas.py`, through `data`): master key only,
the read-only master key may read, the same checks and errors. The generated GraphQL schema follows a change the
way it follows REST's: the schema cache's version changes, and the next request rebuilds it (endpoint.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graphql import (
    GraphQLArgument,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLString,
)

from .. import errors
from ..errors import ParseError
from . import data

if TYPE_CHECKING:
    from .build import Builder
    from .resolvers import Context

NAME = GraphQLNonNull(GraphQLString)
TARGET = GraphQLNonNull(GraphQLString)
# Parse type → (output type name, input type name or None, SchemaFieldsInput field, takes a list), in the order
# parse-server's transformToParse reads them
KINDS: list[tuple[str, str, str | None, str | None, bool]] = [
    ("String", "SchemaStringField", "SchemaStringFieldInput", "addStrings", True),
    ("Number", "SchemaNumberField", "SchemaNumberFieldInput", "addNumbers", True),
    ("Boolean", "SchemaBooleanField", "SchemaBooleanFieldInput", "addBooleans", True),
    ("Array", "SchemaArrayField", "SchemaArrayFieldInput", "addArrays", True),
    ("Object", "SchemaObjectField", "SchemaObjectFieldInput", "addObjects", True),
    ("Date", "SchemaDateField", "SchemaDateFieldInput", "addDates", True),
    ("File", "SchemaFileField", "SchemaFileFieldInput", "addFiles", True),
    ("GeoPoint", "SchemaGeoPointField", "SchemaGeoPointFieldInput", "addGeoPoint", False),
    ("Polygon", "SchemaPolygonField", "SchemaPolygonFieldInput", "addPolygons", True),
    ("Bytes", "SchemaBytesField", "SchemaBytesFieldInput", "addBytes", True),
    ("Pointer", "SchemaPointerField", "PointerFieldInput", "addPointers", True),
    ("Relation", "SchemaRelationField", "RelationFieldInput", "addRelations", True),
    ("ACL", "SchemaACLField", None, None, True),
]
RESERVED_TYPES = frozenset(
    {"Class", "SchemaField", "SchemaFieldInput", "SchemaFieldsInput"}
    | {k[1] for k in KINDS}
    | {k[2] for k in KINDS if k[2]}
    | {f"{op}Class{s}" for op in ("Create", "Update", "Delete") for s in ("Input", "Payload")}
    | {"CreateFileInput", "CreateFilePayload", "Upload"}
)
RESERVED_FIELDS = frozenset({"class", "classes", "createClass", "updateClass", "deleteClass", "createFile"})


def _resolve_type(value: Any, *_: Any) -> str:
    for kind in KINDS:
        if kind[0] == value.get("type"):
            return kind[1]
    return "SchemaObjectField"  # a type parse-server does not list: shown as an Object field


SCHEMA_FIELD = GraphQLInterfaceType(
    "SchemaField",
    {"name": GraphQLField(NAME)},
    resolve_type=_resolve_type,
    description="A field of a class's schema (one implementing type per Parse type).",
)


def _output(type_: str, name: str) -> GraphQLObjectType:
    fields = {"name": GraphQLField(NAME)}
    if type_ in ("Pointer", "Relation"):
        fields["targetClassName"] = GraphQLField(TARGET)
    return GraphQLObjectType(name, fields, interfaces=[SCHEMA_FIELD], description=f"A {type_} field.")


def _input(type_: str, name: str) -> GraphQLInputObjectType:
    fields = {"name": GraphQLInputField(NAME)}
    if type_ in ("Pointer", "Relation"):
        fields["targetClassName"] = GraphQLInputField(TARGET)
    return GraphQLInputObjectType(name, fields)


FIELD_TYPES = [_output(k[0], k[1]) for k in KINDS]
SCHEMA_FIELD_INPUT = GraphQLInputObjectType("SchemaFieldInput", {"name": GraphQLInputField(NAME)})


def _fields_input() -> GraphQLInputObjectType:
    fields: dict[str, GraphQLInputField] = {}
    for type_, _out, in_name, key, listed in KINDS:
        if in_name is None or key is None:
            continue
        kind = _input(type_, in_name)
        fields[key] = GraphQLInputField(GraphQLList(GraphQLNonNull(kind)) if listed else kind)
    fields["remove"] = GraphQLInputField(GraphQLList(GraphQLNonNull(SCHEMA_FIELD_INPUT)))
    return GraphQLInputObjectType("SchemaFieldsInput", fields, description="Fields to add to or remove from a class.")


SCHEMA_FIELDS_INPUT = _fields_input()
CLASS = GraphQLObjectType(
    "Class",
    {
        "name": GraphQLField(NAME),
        "schemaFields": GraphQLField(GraphQLNonNull(GraphQLList(GraphQLNonNull(SCHEMA_FIELD)))),
    },
    description="A class and its schema's fields.",
)


def to_rest(given: dict[str, Any] | None, existing: dict[str, Any] | None) -> dict[str, Any]:
    """`SchemaFieldsInput` → REST's `fields` body, as parse-server's transformToParse: a name added twice, or one the
    class already has, is 105 `Duplicated field name`; a name both added and removed is not added; `remove` names
    only fields the class has (on update; on create it is ignored)."""
    if not given:
        return {}
    removed = {f["name"] for f in given.get("remove") or ()}
    out: dict[str, Any] = {}
    for type_, _out, _in, key, listed in KINDS:
        if key is None or given.get(key) is None:
            continue
        for f in given[key] if listed else [given[key]]:
            name = f["name"]
            if name in removed:
                continue
            if name in out or (existing and name in existing):
                raise ParseError(errors.INVALID_KEY_NAME, f"Duplicated field name: {name[:100]}")
            out[name] = (
                {"type": type_, "targetClass": f["targetClassName"]} if "targetClassName" in f else {"type": type_}
            )
    if existing is not None:
        out.update({name: {"__op": "Delete"} for name in sorted(removed) if name in existing})
    return out


def to_graphql(schema: dict[str, Any]) -> dict[str, Any]:
    """A REST `/schemas` answer as a `Class`."""
    fields = schema.get("fields") or {}
    listed = [
        {"name": name, "type": spec.get("type"), "targetClassName": spec.get("targetClass")}
        for name, spec in fields.items()
    ]
    return {"name": schema["className"], "schemaFields": listed}


# -- resolvers ------------------------------------------------------------------------------------------------------


async def resolve_class(_root: Any, info: GraphQLResolveInfo, name: str) -> dict[str, Any]:
    ctx: Context = info.context
    return to_graphql(await data.get_class(ctx.backend, ctx.caller, name))


async def resolve_classes(_root: Any, info: GraphQLResolveInfo) -> list[dict[str, Any]]:
    ctx: Context = info.context
    return [to_graphql(s) for s in await data.all_classes(ctx.backend, ctx.caller)]


async def create_class(_root: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
    ctx: Context = info.context
    fields = to_rest(input.get("schemaFields"), None)
    made = await data.create_class(ctx.backend, ctx.caller, input["name"], fields)
    return {"class": to_graphql(made), "clientMutationId": input.get("clientMutationId")}


async def update_class(_root: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
    ctx: Context = info.context
    existing = await data.get_class(ctx.backend, ctx.caller, input["name"])  # master key first, then 103 if absent
    fields = to_rest(input.get("schemaFields"), existing.get("fields") or {})
    changed = await data.update_class(ctx.backend, ctx.caller, input["name"], fields)
    return {"class": to_graphql(changed), "clientMutationId": input.get("clientMutationId")}


async def delete_class(_root: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
    ctx: Context = info.context
    existing = await data.get_class(ctx.backend, ctx.caller, input["name"])
    await data.delete_class(ctx.backend, ctx.caller, input["name"])
    return {"class": to_graphql(existing), "clientMutationId": input.get("clientMutationId")}


def add_fields(b: Builder, query: dict[str, GraphQLField], mutation: dict[str, GraphQLField]) -> None:
    name_arg = GraphQLInputField(NAME)
    query["class"] = GraphQLField(GraphQLNonNull(CLASS), {"name": GraphQLArgument(NAME)}, resolve=resolve_class)
    query["classes"] = GraphQLField(GraphQLNonNull(GraphQLList(GraphQLNonNull(CLASS))), resolve=resolve_classes)
    with_fields = {"name": name_arg, "schemaFields": GraphQLInputField(SCHEMA_FIELDS_INPUT)}
    for op, resolve, inputs in (
        ("Create", create_class, with_fields),
        ("Update", update_class, with_fields),
        ("Delete", delete_class, {"name": name_arg}),
    ):
        mutation[f"{op.lower()}Class"] = GraphQLField(
            b.payload(f"{op}ClassPayload", {"class": GraphQLField(GraphQLNonNull(CLASS))}),
            {"input": b.input(f"{op}ClassInput", inputs)},
            resolve=resolve,
        )
