"""Resolvers: every one reads or writes through `data` (the REST path, the caller's permissions) and hands on plain
Parse JSON dicts tagged with their class (`loader.CLASS_KEY`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import FieldNode, FragmentSpreadNode, GraphQLResolveInfo, InlineFragmentNode, SelectionSetNode

from .. import errors
from ..backend import Backend
from ..errors import ParseError
from ..security.caller import Caller
from . import data
from .loader import CLASS_KEY, Loader
from .naming import cursor_to_offset, get_field, object_id_of, offset_to_cursor, to_global_id, type_name
from .scalars import acl_out

DEFAULT_PAGE = 100
Resolver = Callable[..., Any]


@dataclass
class Context:
    """What every resolver of one request shares."""

    backend: Backend
    caller: Caller
    cloud_context: dict[str, Any]
    built: Any  # build.Built (not imported: build imports this module)
    loader: Loader = field(init=False)

    def __post_init__(self) -> None:
        self.loader = Loader(self.backend, self.caller)


def _tag(obj: dict[str, Any], cls: str) -> dict[str, Any]:
    obj[CLASS_KEY] = cls
    return obj


# -- object fields ------------------------------------------------------------------------------------------------


def global_id(type_: str) -> Resolver:
    def resolve(obj: dict[str, Any], _info: GraphQLResolveInfo) -> str:
        return to_global_id(type_, obj["objectId"])

    return resolve


def acl(obj: dict[str, Any], _info: GraphQLResolveInfo) -> Any:
    return acl_out(obj.get("ACL"))


def union_type(obj: dict[str, Any], _info: GraphQLResolveInfo, _type: Any) -> str:
    return type_name(obj[CLASS_KEY])


def _only_ids(info: GraphQLResolveInfo) -> bool:
    """The selection asks nothing a bare pointer lacks: no load needed."""
    for node in info.field_nodes:
        sel = node.selection_set
        if sel is None:
            continue
        for s in sel.selections:
            if not isinstance(s, FieldNode) or s.name.value not in ("id", "objectId", "__typename"):
                return False
    return True


def pointer(key: str) -> Resolver:
    def resolve(obj: dict[str, Any], info: GraphQLResolveInfo) -> Any:
        value = obj.get(key)
        if not isinstance(value, dict) or "objectId" not in value:
            return None
        cls = value.get("className", "")
        if _only_ids(info):
            return {"objectId": value["objectId"], CLASS_KEY: cls}
        ctx: Context = info.context
        return ctx.loader.load(cls, value["objectId"])

    resolve.pointer_key = key  # type: ignore[attr-defined]  # lets the fast executor answer id-only selections inline
    return resolve


def relation(owner: str, key: str, target: str) -> Resolver:
    async def resolve(obj: dict[str, Any], info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        owner_ptr = {"__type": "Pointer", "className": owner, "objectId": obj["objectId"]}
        return await _connection(info, target, args, {"$relatedTo": {"object": owner_ptr, "key": key}})

    return resolve


# -- queries --------------------------------------------------------------------------------------------------------


def get(cls: str) -> Resolver:
    async def resolve(_root: Any, info: GraphQLResolveInfo, id: str) -> dict[str, Any]:
        ctx: Context = info.context
        obj = await data.get(ctx.backend, ctx.caller, cls, object_id_of(id, type_name(cls)))
        return _tag(obj, cls)

    return resolve


def find(cls: str) -> Resolver:
    async def resolve(_root: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        return await _connection(info, cls, args, None)

    return resolve


def _selects(info: GraphQLResolveInfo, name: str) -> bool:
    def walk(sel: SelectionSetNode | None) -> bool:
        for s in sel.selections if sel else ():
            if isinstance(s, FieldNode) and s.name.value == name:
                return True
            if isinstance(s, InlineFragmentNode) and walk(s.selection_set):
                return True
            if isinstance(s, FragmentSpreadNode):
                frag = info.fragments.get(s.name.value)
                if frag is not None and walk(frag.selection_set):
                    return True
        return False

    return any(walk(node.selection_set) for node in info.field_nodes)


def _non_negative(name: str, value: int | None) -> int | None:
    if value is not None and value < 0:
        raise ParseError(errors.INVALID_QUERY, f"{name} must be a non-negative integer")
    return value


async def _connection(
    info: GraphQLResolveInfo, cls: str, args: dict[str, Any], extra_where: dict[str, Any] | None
) -> dict[str, Any]:
    """A page of a find as a Relay connection. Cursors are absolute offsets into the ordered result, so `after`
    and `before` work with any `order`; `last` without `before` costs one count first."""
    ctx: Context = info.context
    where = ctx.built.translator.where(args.get("where"), cls)
    if extra_where:
        where = {"$and": [extra_where, where]} if where else extra_where
    first, last = _non_negative("first", args.get("first")), _non_negative("last", args.get("last"))
    start = (_non_negative("skip", args.get("skip")) or 0) + (
        cursor_to_offset(args["after"]) + 1 if args.get("after") else 0
    )
    end = cursor_to_offset(args["before"]) if args.get("before") else None
    params: dict[str, Any] = {"where": where}
    if args.get("order"):
        params["order"] = ",".join(args["order"])
    total: int | None = None
    if last is not None and end is None:
        _, total = await data.find(ctx.backend, ctx.caller, cls, {**params, "count": 1, "limit": 0})
        end = total
    if end is not None:
        end = max(end, start)
        if last is not None:
            start = max(start, end - last)
    limit = DEFAULT_PAGE if end is None else end - start
    if first is not None:
        limit = min(limit, first)
    want_count = total is None and _selects(info, "count")
    params.update(skip=start, limit=limit + 1 if limit else 0)  # one row more tells whether a next page exists
    if want_count:
        params["count"] = 1
    rows, count = await data.find(ctx.backend, ctx.caller, cls, params)
    has_next = len(rows) > limit or (end is not None and total is not None and end < total)
    rows = rows[:limit]
    edges = [{"node": _tag(row, cls), "cursor": offset_to_cursor(start + i)} for i, row in enumerate(rows)]
    page_info = {
        "hasNextPage": has_next,
        "hasPreviousPage": start > 0,
        "startCursor": edges[0]["cursor"] if edges else None,
        "endCursor": edges[-1]["cursor"] if edges else None,
    }
    return {"edges": edges, "pageInfo": page_info, "count": total if total is not None else (count or 0)}


# -- writes ---------------------------------------------------------------------------------------------------------


async def _read_back(ctx: Context, caller: Caller, cls: str, oid: str, fallback: dict[str, Any]) -> dict[str, Any]:
    """The saved object as the caller now sees it; what the write returned if they may no longer read it."""
    try:
        return _tag(await data.get(ctx.backend, caller, cls, oid), cls)
    except ParseError as exc:
        if exc.code != errors.OBJECT_NOT_FOUND:
            raise
        return _tag({"objectId": oid, **fallback}, cls)


def create(cls: str) -> Resolver:
    async def resolve(_root: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        ctx: Context = info.context
        body = ctx.built.translator.fields(input.get("fields"), cls, updating=False)
        saved = await data.create(ctx.backend, ctx.caller, cls, body, ctx.cloud_context)
        reader = ctx.caller
        if cls == "_User" and saved.get("sessionToken"):
            reader = await data.caller_for(ctx.backend, ctx.caller, saved["sessionToken"])
        obj = await _read_back(ctx, reader, cls, saved["objectId"], saved)
        return {get_field(cls): obj, "clientMutationId": input.get("clientMutationId")}

    return resolve


def update(cls: str) -> Resolver:
    async def resolve(_root: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        ctx: Context = info.context
        oid = object_id_of(input["id"], type_name(cls))
        expected = data.expected_version(input.get("ifMatch"))
        body = ctx.built.translator.fields(input.get("fields"), cls, updating=True)
        saved = await data.update(ctx.backend, ctx.caller, cls, oid, body, ctx.cloud_context, expected)
        obj = await _read_back(ctx, ctx.caller, cls, oid, saved)
        return {get_field(cls): obj, "clientMutationId": input.get("clientMutationId")}

    return resolve


def delete(cls: str) -> Resolver:
    async def resolve(_root: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        ctx: Context = info.context
        oid = object_id_of(input["id"], type_name(cls))
        expected = data.expected_version(input.get("ifMatch"))
        obj = _tag(await data.get(ctx.backend, ctx.caller, cls, oid), cls)
        await data.delete(ctx.backend, ctx.caller, cls, oid, ctx.cloud_context, expected)
        return {get_field(cls): obj, "clientMutationId": input.get("clientMutationId")}

    return resolve


# -- files ----------------------------------------------------------------------------------------------------------


async def create_file(_root: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
    """parse-server's createFile: the upload stored as REST's `POST /files/<name>` stores it; its name and url."""
    ctx: Context = info.context
    saved = await data.upload_file(ctx.backend, ctx.caller, input["upload"])
    return {"fileInfo": {"name": saved["name"], "url": saved["url"]}, "clientMutationId": input.get("clientMutationId")}


# -- functions ----------------------------------------------------------------------------------------------


async def call_cloud_code(_root: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
    ctx: Context = info.context
    params = input.get("params") or {}
    result = await data.call_function(ctx.backend, ctx.caller, input["functionName"], params, ctx.cloud_context)
    return {"result": result, "clientMutationId": input.get("clientMutationId")}
