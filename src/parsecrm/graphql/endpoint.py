"""`/graphql`: POST JSON (queries and mutations), GET (queries only), GET from a browser → the playground page
(GraphiQL, see page.py).

Same headers as REST (app id, keys, session token) through `protocol.transport.authenticate`; a failure there is
answered REST-style (403 `unauthorized`, 400 `{"code":209}`), as parse-server does. Everything after that is a
GraphQL response: HTTP 200 with `errors[].extensions.code` = the Parse code, or 400 for a document that does not
parse, validate or fit the depth/cost limits. The schema is generated once per schema version; parsed and validated
documents are cached per schema version too, so a repeated query only executes."""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any
from urllib.parse import parse_qsl

import asyncpg
import orjson
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    execute,
    get_operation_ast,
    parse,
    specified_rules,
    validate,
)
from graphql.validation import NoSchemaIntrospectionCustomRule

from .. import errors
from ..backend import Backend
from ..errors import ParseError, Unauthorized
from ..protocol.transport import CORS_HEADERS, authenticate, cloud_context
from ..storage import pool as pool_mod
from . import data, fast, limits, page, uploads
from .build import Built, build
from .resolvers import Context

log = logging.getLogger("parsecrm.graphql")

JSON = [(b"content-type", b"application/json; charset=utf-8"), *CORS_HEADERS]
DOCUMENT_CACHE = 512


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400, code: int = errors.INVALID_QUERY) -> None:
        super().__init__(message)
        self.message, self.status, self.code = message, status, code


class Endpoint:
    def __init__(self) -> None:
        self.version: Any = None
        self.built: Built | None = None
        self.documents: OrderedDict[str, DocumentNode] = OrderedDict()
        self.plans: dict[tuple[str, Any], fast.Compiled | None] = {}
        self.within_limits: set[tuple[str, Any]] = set()

    async def schema(self, backend: Backend) -> Built:
        classes = await data.classes(backend)
        version = data.schema_version(backend, classes)
        if self.built is None or version != self.version:
            self.built = build(classes, data.function_names(backend))
            self.version, self.documents, self.plans = version, OrderedDict(), {}
            self.within_limits = set()
        return self.built

    def document(self, built: Built, backend: Backend, query: str) -> DocumentNode:
        """Parsed and validated (cached per schema version: the cache is dropped whenever the schema is rebuilt)."""
        doc = self.documents.get(query)
        if doc is not None:
            self.documents.move_to_end(query)
            return doc
        try:
            doc = parse(query, max_tokens=20_000)
        except GraphQLError as exc:
            raise BadRequest(exc.message) from exc
        rules = list(specified_rules)
        if not backend.settings.graphql_introspection:
            rules.append(NoSchemaIntrospectionCustomRule)
        problems = validate(built.schema, doc, rules, max_errors=20)
        if problems:
            raise BadRequest("; ".join(p.message for p in problems)[:2000])
        self.documents[query] = doc
        if len(self.documents) > DOCUMENT_CACHE:
            self.documents.popitem(last=False)
        return doc

    def compiled(
        self, built: Built, doc: DocumentNode, op: OperationDefinitionNode, request: dict[str, Any]
    ) -> fast.Compiled | None:
        """The fast executor's plan for a query (None: not a query it runs), cached like the documents."""
        key = (request["query"], request.get("operationName"))
        if key not in self.plans:
            try:
                self.plans[key] = fast.Compiled(built.schema, doc, op)
            except fast.Unsupported:
                self.plans[key] = None
            if len(self.plans) > DOCUMENT_CACHE:
                self.plans.pop(next(iter(self.plans)))
        return self.plans[key]

    async def handle(
        self, backend: Backend, method: str, headers: dict[str, str], raw: bytes, qs: bytes, ip: str | None
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        """(status, body bytes, extra headers) for one request."""
        if method == "GET" and "text/html" in headers.get("accept", "") and b"query=" not in qs:
            return 200, page.playground(backend.settings), [(b"content-type", b"text/html; charset=utf-8")]
        if method not in ("GET", "POST"):
            return 405, orjson.dumps({"code": errors.COMMAND_UNAVAILABLE, "error": "use GET or POST"}), []
        try:
            request = _request(method, raw, qs, headers.get("content-type", ""))
            caller, _, _ = await authenticate(backend, headers, {}, ip)
        except Unauthorized as exc:
            return exc.status, orjson.dumps(exc.body()), []
        except ParseError as exc:
            return exc.status, orjson.dumps(exc.body()), []
        except BadRequest as exc:
            return exc.status, _errors_body(exc.message, exc.code), []
        before = pool_mod.STATEMENTS[0]
        try:
            status, body = await self._run(backend, caller, headers, request, method)
        except BadRequest as exc:
            status, body = exc.status, _errors_body(exc.message, exc.code)
        extra: list[tuple[bytes, bytes]] = []
        if backend.settings.debug:
            extra.append((b"x-sql-statements", str(pool_mod.STATEMENTS[0] - before).encode()))
        return status, body, extra

    async def _run(
        self, backend: Backend, caller: Any, headers: dict[str, str], request: dict[str, Any], method: str
    ) -> tuple[int, bytes]:
        built = await self.schema(backend)
        doc = self.document(built, backend, request["query"])
        operation = get_operation_ast(doc, request.get("operationName"))
        if operation is None:
            raise BadRequest("Unknown or ambiguous operation: name the operation to run with operationName.")
        if method == "GET" and operation.operation != OperationType.QUERY:
            raise BadRequest("Mutations need POST.", status=405)
        if "if-match" in headers and operation.operation == OperationType.MUTATION:
            # one header cannot say which of a document's mutations it guards: refused rather than ignored, as an
            # ignored condition would be an unconditional write (the `ifMatch` input is the per-mutation form)
            raise BadRequest("If-Match is not read on /graphql: pass the version as the mutation's input.ifMatch.")
        variables = request.get("variables") or {}
        # the limits depend on the document and its integer variables (page sizes) only: checked once per pair
        limit_key = (request["query"], tuple(sorted((k, v) for k, v in variables.items() if type(v) is int)))
        if limit_key not in self.within_limits:
            try:
                limits.check(
                    doc, operation, variables, built.connections,
                    backend.settings.graphql_max_depth, backend.settings.graphql_max_cost,
                )  # fmt: skip
            except limits.LimitExceeded as exc:
                raise BadRequest(str(exc)) from exc
            if len(self.within_limits) > DOCUMENT_CACHE:
                self.within_limits.clear()
            self.within_limits.add(limit_key)
        context = cloud_context(headers, {})
        compiled = self.compiled(built, doc, operation, request)
        if compiled is not None:
            try:
                data = await fast.execute(compiled, Context(backend, caller, context, built), variables)
                return 200, orjson.dumps({"data": data})
            except fast.Unsupported:
                pass  # graphql-core's executor answers it, errors and all
        ctx = Context(backend, caller, context, built)
        result = await _execute(built, doc, operation, ctx, variables, request.get("operationName"))
        out: dict[str, Any] = {"data": result.data}
        if result.errors:
            out["errors"] = [_format(e) for e in result.errors]
        return 200, orjson.dumps(out)


async def _execute(
    built: Built, doc: DocumentNode, op: OperationDefinitionNode, ctx: Context, variables: Any, name: Any
) -> ExecutionResult:
    result = execute(built.schema, doc, context_value=ctx, variable_values=variables, operation_name=name)
    if hasattr(result, "__await__"):
        result = await result
    return result


def _request(method: str, raw: bytes, qs: bytes, content_type: str) -> dict[str, Any]:
    if method == "POST" and uploads.is_multipart(content_type):  # files: the GraphQL multipart request spec
        try:
            body: Any = uploads.parse(raw, content_type)
        except uploads.MultipartError as exc:
            raise BadRequest(str(exc), code=errors.INVALID_JSON) from exc
    elif method == "GET":
        pairs = dict(parse_qsl(qs.decode("latin-1")))
        body = {"query": pairs.get("query"), "operationName": pairs.get("operationName")}
        if pairs.get("variables"):
            try:
                body["variables"] = orjson.loads(pairs["variables"])
            except orjson.JSONDecodeError as exc:
                raise BadRequest("variables is not valid JSON", code=errors.INVALID_JSON) from exc
    else:
        try:
            body = orjson.loads(raw) if raw.strip() else {}
        except orjson.JSONDecodeError as exc:
            raise BadRequest("The request body is not valid JSON.", code=errors.INVALID_JSON) from exc
    if not isinstance(body, dict) or not isinstance(body.get("query"), str) or not body["query"].strip():
        raise BadRequest("A GraphQL request needs a `query` string.", code=errors.INVALID_JSON)
    if body.get("variables") is not None and not isinstance(body["variables"], dict):
        raise BadRequest("`variables` must be a JSON object.", code=errors.INVALID_JSON)
    if body.get("operationName") is not None and not isinstance(body["operationName"], str):
        raise BadRequest("`operationName` must be a string.", code=errors.INVALID_JSON)
    return body


def _errors_body(message: str, code: int) -> bytes:
    return orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})


def _format(error: GraphQLError) -> dict[str, Any]:
    out: dict[str, Any] = dict(error.formatted)
    original = error.original_error
    if isinstance(original, ParseError):
        out["message"] = original.message
        # what REST's body carries beyond code and error (a conflict's `current`) goes along in the extensions
        extra = {k: v for k, v in original.body().items() if k not in ("code", "error")}
        out["extensions"] = {"code": original.code, **extra}
    elif isinstance(original, asyncpg.PostgresError) and errors.from_sqlstate(original.sqlstate) is not None:
        mapped = errors.from_sqlstate(original.sqlstate)
        assert mapped is not None
        out["message"], out["extensions"] = mapped.message, {"code": mapped.code}
    elif original is not None and not isinstance(original, GraphQLError):
        log.error("GraphQL resolver failed at %s", error.path, exc_info=original)
        out["message"] = "Internal server error."
        out["extensions"] = {"code": errors.INTERNAL_SERVER_ERROR}
    return out
