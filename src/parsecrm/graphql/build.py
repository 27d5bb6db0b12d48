"""The GraphQL schema, generated from the class schemas in parse-server's shape: one object type, connection, where
input, order enum and create/update input per class; `X(id:)`, `Xs(…)`, `createX`/`updateX`/`deleteX`; users;
`callCloudCode`. Built once per schema version (see endpoint.py); resolvers live in resolvers.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLEnumValue,
    GraphQLField,
    GraphQLFloat,
    GraphQLID,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLString,
    GraphQLUnionType,
)

from ..storage.model import ClassSchema, Field
from . import accounts, geo, schema_api
from . import resolvers as r
from .inputs import DATE_WHERE, ID_WHERE, SCALAR_INPUT, SCALAR_WHERE, Translator
from .naming import GRAPHQL_NAME, find_field, get_field, type_name
from .scalars import ACL, ACL_INPUT, ANY, DATE, FILE_INFO, OBJECT
from .uploads import UPLOAD

HIDDEN_SYSTEM = {"_Session", "_Installation", "_Idempotency", "_Audience", "_PushStatus", "_JobStatus", "_JobSchedule"}
OUTPUT_SCALARS: dict[str, GraphQLOutputType] = {
    "String": GraphQLString,
    "Number": GraphQLFloat,
    "Boolean": GraphQLBoolean,
    "Date": DATE,
    "Object": OBJECT,
    "Array": GraphQLList(ANY),
    "File": FILE_INFO,
}
IF_MATCH = GraphQLInputField(
    DATE,
    description="Only if the object's updatedAt is still this (as last read); else error code 409 with "
    "`extensions.current`, the object as you may read it now.",
)
NOT_WRITABLE = {"objectId", "createdAt", "updatedAt", "authData", "emailVerified"}
PAGE_INFO = GraphQLObjectType(
    "PageInfo",
    {
        "hasNextPage": GraphQLField(GraphQLNonNull(GraphQLBoolean)),
        "hasPreviousPage": GraphQLField(GraphQLNonNull(GraphQLBoolean)),
        "startCursor": GraphQLField(GraphQLString),
        "endCursor": GraphQLField(GraphQLString),
    },
)


@dataclass
class Built:
    schema: GraphQLSchema
    translator: Translator
    classes: dict[str, ClassSchema]
    connections: frozenset[str]  # field names that return a connection (for the cost limit)


def exposed(classes: dict[str, ClassSchema]) -> dict[str, ClassSchema]:
    """Classes with a GraphQL type: not the internal ones, and only names GraphQL can spell without clashes."""
    out: dict[str, ClassSchema] = {}
    seen: set[str] = set()
    for name in sorted(classes):
        t = type_name(name)
        if name in HIDDEN_SYSTEM or not GRAPHQL_NAME.match(name) or t in seen or _reserved(name):
            continue
        seen.add(t)
        out[name] = classes[name]
    return out


def _reserved(cls: str) -> bool:
    """A class whose type or root fields would clash with the schema API's or createFile's."""
    t = type_name(cls)
    names = {get_field(cls), find_field(cls), f"create{t}", f"update{t}", f"delete{t}"}
    return t in schema_api.RESERVED_TYPES or bool(names & schema_api.RESERVED_FIELDS)


class Builder:
    def __init__(self, classes: dict[str, ClassSchema], functions: list[str]) -> None:
        self.classes = exposed(classes)
        self.functions = [f for f in functions if GRAPHQL_NAME.match(f)]
        self.translator = Translator(self.classes, {type_name(c): c for c in self.classes})
        self.types: dict[str, Any] = {}
        self.connection_fields: set[str] = set()

    def _once(self, name: str, make: Any) -> Any:
        if name not in self.types:
            self.types[name] = make()
        return self.types[name]

    def _fields(self, schema: ClassSchema) -> list[tuple[str, Field]]:
        return [
            (k, f)
            for k, f in schema.fields.items()
            if k not in ("objectId", "createdAt", "updatedAt", "id", "password")
            and (f.type not in ("Pointer", "Relation") or all(t in self.classes for t in f.targets or (f.target,)))
        ]

    # -- output types -----------------------------------------------------------------------------------------------

    def object_type(self, cls: str) -> GraphQLObjectType:
        t = type_name(cls)
        return self._once(t, lambda: GraphQLObjectType(t, lambda: self._object_fields(cls), description=f"Class {cls}"))

    def _object_fields(self, cls: str) -> dict[str, GraphQLField]:
        t = type_name(cls)
        out = {
            "id": GraphQLField(GraphQLNonNull(GraphQLID), resolve=r.global_id(t), description="Relay global id"),
            "objectId": GraphQLField(GraphQLNonNull(GraphQLID)),
            "createdAt": GraphQLField(DATE),
            "updatedAt": GraphQLField(DATE),
        }
        for key, f in self._fields(self.classes[cls]):
            out[key] = self._output_field(cls, key, f)
        return out

    def _output_field(self, cls: str, key: str, f: Field) -> GraphQLField:
        if f.type == "ACL":
            return GraphQLField(ACL, resolve=r.acl)
        if f.polymorphic:
            return GraphQLField(self.union(cls, key, f.targets), resolve=r.pointer(key))
        if f.type == "Pointer":
            return GraphQLField(self.object_type(f.target or ""), resolve=r.pointer(key))
        if f.type == "Relation":
            target = f.target or ""
            self.connection_fields.add(key)
            return GraphQLField(self.connection(target), self.find_args(target), resolve=r.relation(cls, key, target))
        if f.type == "Polygon":
            return GraphQLField(geo.POLYGON, resolve=geo.polygon_field(key))
        return GraphQLField(OUTPUT_SCALARS.get(f.type) or geo.OUTPUT.get(f.type, ANY))  # else: its Parse JSON

    def union(self, cls: str, key: str, targets: tuple[str, ...]) -> GraphQLUnionType:
        name = type_name(cls) + key[:1].upper() + key[1:]
        return self._once(
            name,
            lambda: GraphQLUnionType(
                name,
                lambda: [self.object_type(t) for t in targets],
                resolve_type=r.union_type,
                description=f"{cls}.{key}: a pointer to one of {', '.join(targets)}",
            ),
        )

    def connection(self, cls: str) -> GraphQLObjectType:
        t = type_name(cls)
        edge = self._once(
            t + "Edge",
            lambda: GraphQLObjectType(
                t + "Edge",
                {"node": GraphQLField(self.object_type(cls)), "cursor": GraphQLField(GraphQLNonNull(GraphQLString))},
            ),
        )
        return self._once(
            t + "Connection",
            lambda: GraphQLObjectType(
                t + "Connection",
                {
                    "edges": GraphQLField(GraphQLList(edge)),
                    "pageInfo": GraphQLField(GraphQLNonNull(PAGE_INFO)),
                    "count": GraphQLField(GraphQLNonNull(GraphQLInt)),
                },
            ),
        )

    # -- where, order ---------------------------------------------------------------------------------------------

    def where_input(self, cls: str) -> GraphQLInputObjectType:
        name = type_name(cls) + "WhereInput"
        return self._once(name, lambda: GraphQLInputObjectType(name, lambda: self._where_fields(cls)))

    def _where_fields(self, cls: str) -> dict[str, GraphQLInputField]:
        own = GraphQLList(GraphQLNonNull(self.where_input(cls)))
        out = {
            "id": GraphQLInputField(ID_WHERE),
            "objectId": GraphQLInputField(ID_WHERE),
            "createdAt": GraphQLInputField(DATE_WHERE),
            "updatedAt": GraphQLInputField(DATE_WHERE),
        }
        for key, f in self._fields(self.classes[cls]):
            if f.type in SCALAR_WHERE:
                out[key] = GraphQLInputField(SCALAR_WHERE[f.type])
            elif f.type in geo.WHERE:
                out[key] = GraphQLInputField(geo.WHERE[f.type])
            elif f.polymorphic:
                out[key] = GraphQLInputField(self.polymorphic_where(cls, key, f.targets))
            elif f.type == "Pointer":
                out[key] = GraphQLInputField(self.pointer_where(f.target or ""))
            elif f.type == "Relation":
                out[key] = GraphQLInputField(self.relation_where(f.target or ""))
        out.update({k: GraphQLInputField(own) for k in ("AND", "OR", "NOR")})
        return out

    def pointer_where(self, target: str) -> GraphQLInputObjectType:
        name = type_name(target) + "PointerWhereInput"

        def fields() -> dict[str, GraphQLInputField]:
            ids = GraphQLList(GraphQLNonNull(GraphQLID))
            return {
                "have": GraphQLInputField(self.where_input(target)),
                "haveNot": GraphQLInputField(self.where_input(target)),
                "exists": GraphQLInputField(GraphQLBoolean),
                "equalTo": GraphQLInputField(GraphQLID),
                "notEqualTo": GraphQLInputField(GraphQLID),
                "in": GraphQLInputField(ids),
                "notIn": GraphQLInputField(ids),
            }

        return self._once(name, lambda: GraphQLInputObjectType(name, fields))

    def relation_where(self, target: str) -> GraphQLInputObjectType:
        """parse-server's `<Target>RelationWhereInput`: objects whose relation holds a match (`have`), none
        (`haveNot`), any object / none at all (`exists`)."""
        name = type_name(target) + "RelationWhereInput"

        def fields() -> dict[str, GraphQLInputField]:
            return {
                "have": GraphQLInputField(self.where_input(target)),
                "haveNot": GraphQLInputField(self.where_input(target)),
                "exists": GraphQLInputField(GraphQLBoolean),
            }

        return self._once(name, lambda: GraphQLInputObjectType(name, fields))

    def polymorphic_where(self, cls: str, key: str, targets: tuple[str, ...]) -> GraphQLInputObjectType:
        """Ids as for any pointer (global ids: they name the class), and `have`/`haveNot` naming the target type:
        `relatedTo: {have: {Deal: {stage: {equalTo: "won"}}}}` (several types: pointing to a match of any)."""
        base = type_name(cls) + key[:1].upper() + key[1:]

        def have() -> dict[str, GraphQLInputField]:
            return {type_name(t): GraphQLInputField(self.where_input(t)) for t in targets}

        def fields() -> dict[str, GraphQLInputField]:
            which = self._once(base + "HaveInput", lambda: GraphQLInputObjectType(base + "HaveInput", have))
            ids = GraphQLList(GraphQLNonNull(GraphQLID))
            return {
                "have": GraphQLInputField(which),
                "haveNot": GraphQLInputField(which),
                "exists": GraphQLInputField(GraphQLBoolean),
                "equalTo": GraphQLInputField(GraphQLID),
                "notEqualTo": GraphQLInputField(GraphQLID),
                "in": GraphQLInputField(ids),
                "notIn": GraphQLInputField(ids),
            }

        name = base + "PointerWhereInput"
        return self._once(name, lambda: GraphQLInputObjectType(name, fields))

    def order_enum(self, cls: str) -> GraphQLEnumType:
        name = type_name(cls) + "Order"

        def make() -> GraphQLEnumType:
            values: dict[str, GraphQLEnumValue] = {}
            keys = ["id", "objectId", "createdAt", "updatedAt"]
            keys += [k for k, f in self._fields(self.classes[cls]) if f.type not in ("Relation", "ACL")]
            for key in keys:
                column = "objectId" if key == "id" else key
                values[key + "_ASC"] = GraphQLEnumValue(column)
                values[key + "_DESC"] = GraphQLEnumValue("-" + column)
            return GraphQLEnumType(name, values)

        return self._once(name, make)

    def find_args(self, cls: str) -> dict[str, GraphQLArgument]:
        return {
            "where": GraphQLArgument(self.where_input(cls)),
            "order": GraphQLArgument(GraphQLList(GraphQLNonNull(self.order_enum(cls)))),
            "skip": GraphQLArgument(GraphQLInt),
            "first": GraphQLArgument(GraphQLInt),
            "after": GraphQLArgument(GraphQLString),
            "last": GraphQLArgument(GraphQLInt),
            "before": GraphQLArgument(GraphQLString),
        }

    # -- inputs for writes ------------------------------------------------------------------------------------------

    def fields_input(self, cls: str, creating: bool) -> GraphQLInputObjectType:
        name = ("Create" if creating else "Update") + type_name(cls) + "FieldsInput"

        def fields() -> dict[str, GraphQLInputField]:
            out: dict[str, GraphQLInputField] = {}
            for key, f in self._fields(self.classes[cls]):
                if key in NOT_WRITABLE:
                    continue
                kind = self._input_type(f)
                if creating and f.required and f.default is None:
                    kind = GraphQLNonNull(kind)
                out[key] = GraphQLInputField(kind)
            if cls == "_User":
                out["password"] = GraphQLInputField(GraphQLNonNull(GraphQLString) if creating else GraphQLString)
            return out

        return self._once(name, lambda: GraphQLInputObjectType(name, fields))

    def _input_type(self, f: Field) -> Any:
        if f.type == "ACL":
            return ACL_INPUT
        if f.type == "Pointer" and f.polymorphic:  # no createAndLink: the input would have to name the class
            name = "PolymorphicPointerInput"
            return self._once(name, lambda: GraphQLInputObjectType(name, {"link": GraphQLInputField(GraphQLID)}))
        if f.type == "Pointer":
            target = f.target or ""
            name = type_name(target) + "PointerInput"

            def pointer_fields() -> dict[str, GraphQLInputField]:
                return {
                    "link": GraphQLInputField(GraphQLID, description="An existing object: its global id or objectId."),
                    "createAndLink": GraphQLInputField(
                        self.fields_input(target, True),
                        description="Create an object (your permissions, in this write's transaction) and link it.",
                    ),
                }

            return self._once(name, lambda: GraphQLInputObjectType(name, pointer_fields))
        if f.type == "Relation":
            target = f.target or ""
            name = type_name(target) + "RelationInput"

            def relation_fields() -> dict[str, GraphQLInputField]:
                ids = GraphQLList(GraphQLNonNull(GraphQLID))
                return {
                    "add": GraphQLInputField(ids),
                    "remove": GraphQLInputField(ids),
                    "createAndAdd": GraphQLInputField(
                        GraphQLList(GraphQLNonNull(self.fields_input(target, True))),
                        description="Create objects (your permissions, in this write's transaction) and add them.",
                    ),
                }

            return self._once(name, lambda: GraphQLInputObjectType(name, relation_fields))
        return SCALAR_INPUT.get(f.type) or geo.INPUT.get(f.type, ANY)  # any other type: its Parse JSON

    # -- root fields --------------------------------------------------------------------------------------------------

    def build(self) -> Built:
        query: dict[str, GraphQLField] = {
            "health": GraphQLField(GraphQLNonNull(GraphQLBoolean), resolve=lambda *_: True),
        }
        mutation: dict[str, GraphQLField] = {}
        for cls in self.classes:
            obj = self.object_type(cls)
            query[get_field(cls)] = GraphQLField(
                obj, {"id": GraphQLArgument(GraphQLNonNull(GraphQLID))}, resolve=r.get(cls)
            )
            self.connection_fields.add(find_field(cls))
            query[find_field(cls)] = GraphQLField(
                GraphQLNonNull(self.connection(cls)), self.find_args(cls), resolve=r.find(cls)
            )
            mutation.update(self._mutations(cls, obj))
        if "_User" in self.classes:
            accounts.add_fields(self, query, mutation)
        if self.functions:
            mutation["callCloudCode"] = self._cloud_code()
        schema_api.add_fields(self, query, mutation)
        mutation["createFile"] = GraphQLField(
            self.payload("CreateFilePayload", {"fileInfo": GraphQLField(GraphQLNonNull(FILE_INFO))}),
            {"input": self.input("CreateFileInput", {"upload": GraphQLInputField(GraphQLNonNull(UPLOAD))})},
            resolve=r.create_file,
            description="Upload a file (a multipart request, the GraphQL multipart request spec).",
        )
        schema = GraphQLSchema(
            GraphQLObjectType("Query", query), GraphQLObjectType("Mutation", mutation), types=schema_api.FIELD_TYPES
        )
        return Built(schema, self.translator, self.classes, frozenset(self.connection_fields))

    def payload(self, name: str, fields: dict[str, GraphQLField]) -> GraphQLObjectType:
        return GraphQLObjectType(name, {**fields, "clientMutationId": GraphQLField(GraphQLString)})

    def input(self, name: str, fields: dict[str, Any]) -> GraphQLArgument:
        fields = {**fields, "clientMutationId": GraphQLInputField(GraphQLString)}
        return GraphQLArgument(GraphQLNonNull(GraphQLInputObjectType(name, fields)))

    def _mutations(self, cls: str, obj: GraphQLObjectType) -> dict[str, GraphQLField]:
        t, key = type_name(cls), get_field(cls)
        one = {key: GraphQLField(obj)}
        id_ = GraphQLInputField(GraphQLNonNull(GraphQLID))
        # a conditional write (docs/graphql.md): per mutation, as a document may hold several
        when = {"ifMatch": IF_MATCH}
        return {
            f"create{t}": GraphQLField(
                self.payload(f"Create{t}Payload", one),
                {"input": self.input(f"Create{t}Input", {"fields": GraphQLInputField(self.fields_input(cls, True))})},
                resolve=r.create(cls),
            ),
            f"update{t}": GraphQLField(
                self.payload(f"Update{t}Payload", one),
                {
                    "input": self.input(
                        f"Update{t}Input",
                        {"id": id_, "fields": GraphQLInputField(self.fields_input(cls, False)), **when},
                    )
                },
                resolve=r.update(cls),
            ),
            f"delete{t}": GraphQLField(
                self.payload(f"Delete{t}Payload", one),
                {"input": self.input(f"Delete{t}Input", {"id": id_, **when})},
                resolve=r.delete(cls),
            ),
        }

    def _cloud_code(self) -> GraphQLField:
        names = GraphQLEnumType("CloudCodeFunction", {n: GraphQLEnumValue(n) for n in self.functions})
        return GraphQLField(
            self.payload("CallCloudCodePayload", {"result": GraphQLField(ANY)}),
            {
                "input": self.input(
                    "CallCloudCodeInput",
                    {"functionName": GraphQLInputField(GraphQLNonNull(names)), "params": GraphQLInputField(OBJECT)},
                )
            },
            resolve=r.call_cloud_code,
        )


def build(classes: dict[str, ClassSchema], functions: list[str]) -> Built:
    return Builder(classes, functions).build()
