"""The one adapter between GraphQL and the read/write path REST uses (objects, users, Cloud Code functions).

Nothing else in `graphql/` imports objects, users or the cloud registry: when the core's entry points change, this
file is the only one to follow. No SQL here, no permission logic: every call carries the request's caller."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import orjson

from .. import errors, objects, users
from ..auth import reset, verify
from ..backend import Backend
from ..cloud.registry import call
from ..cloud.requests import FunctionRequest
from ..errors import ParseError
from ..protocol import conditional
from ..protocol import schemas as schema_routes
from ..protocol.transport import Call
from ..security.caller import Caller
from ..storage.model import ClassSchema
from ..values import decode, encode
from .inputs import Nested, contains
from .uploads import Upload

log = logging.getLogger("parsecrm.graphql")


async def classes(backend: Backend) -> dict[str, ClassSchema]:
    return await backend.schemas.all()


def schema_version(backend: Backend, classes_now: dict[str, ClassSchema]) -> tuple[Any, ...]:
    """Changes whenever a class or field is added or removed, in this process (the cache's generation moves with
    every change it stores, e.g. a field added and another removed in one update) or (via NOTIFY) in another."""
    shape = tuple(sorted((name, len(s.fields)) for name, s in classes_now.items()))
    return (backend.schemas.generation, id(classes_now), shape)


async def find(
    backend: Backend, caller: Caller, class_name: str, params: dict[str, Any]
) -> tuple[list[dict[str, Any]], int | None]:
    """A REST find (same params, same permission path); decoded rows and the count when `count` was asked."""
    body = orjson.loads(await objects.find_response(backend, caller, class_name, params))
    return body["results"], body.get("count")


async def get(backend: Backend, caller: Caller, class_name: str, object_id: str) -> dict[str, Any]:
    found: dict[str, Any] = orjson.loads(await objects.get_response(backend, caller, class_name, object_id, {}))
    return found


async def create(
    backend: Backend, caller: Caller, class_name: str, fields: dict[str, Any], context: dict[str, Any]
) -> dict[str, Any]:
    async def write(body: dict[str, Any]) -> dict[str, Any]:
        if not contains(body, Nested):
            return await _create(backend, caller, class_name, body, context, None)

        async def work(u: objects.Unit) -> dict[str, Any]:
            resolved = await _create_nested(backend, caller, body, context, u)
            return await _create(backend, caller, class_name, resolved, context, u)

        made: dict[str, Any] = await objects.in_unit(backend, None, work)
        return made

    return await _with_uploads(backend, caller, fields, write)


async def upload_file(backend: Backend, caller: Caller, upload: Upload) -> dict[str, str]:
    """REST's `POST /files/<name>`: the same checks (who may upload, extensions, the size limit), name and storage."""
    return await backend.files.upload(caller, upload.filename, upload.data, upload.content_type, {})


async def _with_uploads(
    backend: Backend, caller: Caller, fields: dict[str, Any], write: Callable[[dict[str, Any]], Awaitable[Any]]
) -> Any:
    """Store the files a write's `FileInput.upload`s carry (before its transaction: storage is not transactional),
    run the write with them linked, and remove them again if it fails — a failed write leaves no file behind."""
    if not contains(fields, Upload):
        return await write(fields)
    stored: list[str] = []

    async def store(value: Any) -> Any:
        if isinstance(value, Upload):
            saved = await upload_file(backend, caller, value)
            stored.append(saved["name"])
            return {"__type": "File", "name": saved["name"], "url": saved["url"]}
        if isinstance(value, Nested):
            return Nested(value.class_name, await store(value.body))
        if isinstance(value, dict):
            return {k: await store(v) for k, v in value.items()}
        if isinstance(value, list):
            return [await store(v) for v in value]
        return value

    try:
        return await write(await store(fields))
    except BaseException:
        for name in stored:
            try:
                await backend.files.remove(name)
            except Exception:  # the write's error is the answer; an unremoved file is an orphan (`crm files`)
                log.warning("could not remove the file a failed GraphQL write uploaded", exc_info=True)
        raise


async def _create(
    backend: Backend,
    caller: Caller,
    class_name: str,
    fields: dict[str, Any],
    context: dict[str, Any],
    unit: objects.Unit | None,
) -> dict[str, Any]:
    if class_name == "_User":
        return await users.sign_up(backend, caller, fields, unit=unit)
    return await objects.create(backend, caller, class_name, fields, context=context, unit=unit)


async def _create_nested(
    backend: Backend, caller: Caller, value: Any, context: dict[str, Any], unit: objects.Unit
) -> Any:
    """`value` with every `Nested` object created (innermost first, in `unit`: the outer write's transaction, so a
    failure anywhere leaves none of them) and replaced by its pointer. Each is a plain create by this caller: class
    permissions, ACLs, hooks and validation as for `create<Class>`."""
    if isinstance(value, Nested):
        body = await _create_nested(backend, caller, value.body, context, unit)
        made = await _create(backend, caller, value.class_name, body, context, unit)
        return {"__type": "Pointer", "className": value.class_name, "objectId": made["objectId"]}
    if isinstance(value, dict):
        return {k: await _create_nested(backend, caller, v, context, unit) for k, v in value.items()}
    if isinstance(value, list):
        return [await _create_nested(backend, caller, v, context, unit) for v in value]
    return value


def expected_version(if_match: Any) -> datetime | None:
    """A mutation's `ifMatch` (the updatedAt the write is based on; null or absent: unconditional)."""
    return None if if_match is None else conditional.version(if_match)


async def update(
    backend: Backend,
    caller: Caller,
    class_name: str,
    object_id: str,
    fields: dict[str, Any],
    context: dict[str, Any],
    expected: datetime | None = None,
) -> dict[str, Any]:
    """REST's PUT: with `expected`, the same version check (objects.update, after the row lock) and the same
    refusal (409 carrying the current state as this caller may read it); users through their own path, as REST."""

    async def write(body: dict[str, Any], unit: objects.Unit | None) -> dict[str, Any]:
        if class_name == "_User":
            return await users.update_user(backend, caller, object_id, body, unit=unit, expected=expected)
        return await objects.update(
            backend, caller, class_name, object_id, body, context=context, expected=expected, unit=unit
        )

    async def nested(body: dict[str, Any]) -> dict[str, Any]:
        if not contains(body, Nested):
            return await write(body, None)

        async def work(u: objects.Unit) -> dict[str, Any]:
            return await write(await _create_nested(backend, caller, body, context, u), u)

        saved: dict[str, Any] = await objects.in_unit(backend, None, work)
        return saved

    try:
        done: dict[str, Any] = await _with_uploads(backend, caller, fields, nested)
        return done
    except ParseError as exc:
        raise await conditional.explain_for(backend, caller, None, class_name, object_id, exc) from exc


async def delete(
    backend: Backend,
    caller: Caller,
    class_name: str,
    object_id: str,
    context: dict[str, Any],
    expected: datetime | None = None,
) -> None:
    try:
        if class_name == "_User":
            await users.delete_user(backend, caller, object_id, expected=expected)
        else:
            await objects.delete(backend, caller, class_name, object_id, context=context, expected=expected)
    except ParseError as exc:
        raise await conditional.explain_for(backend, caller, None, class_name, object_id, exc) from exc


async def sign_up(backend: Backend, caller: Caller, fields: dict[str, Any]) -> dict[str, Any]:
    return await users.sign_up(backend, caller, fields)


async def log_in(backend: Backend, caller: Caller, username: str, password: str) -> dict[str, Any]:
    """REST's /login: the same rate limits first (per address, per account named), then the same check."""
    body = {"username": username, "password": password}
    await users.limit_log_in(backend, caller, body)
    anonymous = Caller(ip=caller.ip, installation_id=caller.installation_id, headers=caller.headers)
    session: dict[str, Any] = orjson.loads(await users.log_in(backend, anonymous, body))
    return session


async def log_in_with(
    backend: Backend, caller: Caller, fields: dict[str, Any], auth_data: dict[str, Any]
) -> dict[str, Any]:
    """REST's `POST /users` with `authData`: the credentials' owner logs in, or a user is created with them (the
    provider validates first; the log-in or sign-up rate limit applies, as there)."""
    return await users.sign_up(backend, caller, {**fields, "authData": auth_data})


async def request_password_reset(backend: Backend, caller: Caller, email: str) -> None:
    """REST's /requestPasswordReset (its rate limits; the same answer whether or not the address has an account)."""
    await reset.request_password_reset(backend, {"email": email}, caller)


async def confirm_password_reset(backend: Backend, username: str, token: str, password: str) -> None:
    """What the reset link's form does (its token, its errors), the token also having to be `username`'s."""
    await reset.reset_password(backend, token, password, username=username)


async def request_verification_mail(backend: Backend, caller: Caller, email: str) -> None:
    """REST's /verificationEmailRequest."""
    await verify.request_mail(backend, caller, {"email": email})


async def log_out(backend: Backend, caller: Caller) -> None:
    await users.log_out(backend, caller)


async def me(backend: Backend, caller: Caller) -> dict[str, Any]:
    user: dict[str, Any] = orjson.loads(await users.me(backend, caller))
    return user


async def caller_for(backend: Backend, base: Caller, token: str) -> Caller:
    """The caller a freshly issued session token stands for (after signUp/logIn in the same request)."""
    info = await backend.sessions.resolve(token)
    return Caller(
        user_id=info.user_id, user=info.user, roles=info.roles, session_token=token, ip=base.ip, headers=base.headers
    )


# -- the schema API: what REST's /schemas routes run, with the same master-key checks ---------------------------------


async def _schemas(route: Any, caller: Caller, method: str, name: str | None, body: Any, backend: Backend) -> Any:
    call = Call(method, "schemas" + (f"/{name}" if name else ""), {}, body, caller)
    reply = await route(backend, call, None, name) if name is not None else await route(backend, call, None)
    return reply.body


async def all_classes(backend: Backend, caller: Caller) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (await _schemas(schema_routes.all_classes, caller, "GET", None, {}, backend))[
        "results"
    ]
    return found


async def get_class(backend: Backend, caller: Caller, name: str) -> dict[str, Any]:
    found: dict[str, Any] = await _schemas(schema_routes.one, caller, "GET", name, {}, backend)
    return found


async def create_class(backend: Backend, caller: Caller, name: str, fields: dict[str, Any]) -> dict[str, Any]:
    body = {"className": name, "fields": fields}
    made: dict[str, Any] = await _schemas(schema_routes.create, caller, "POST", name, body, backend)
    return made


async def update_class(backend: Backend, caller: Caller, name: str, fields: dict[str, Any]) -> dict[str, Any]:
    changed: dict[str, Any] = await _schemas(schema_routes.update, caller, "PUT", name, {"fields": fields}, backend)
    return changed


async def delete_class(backend: Backend, caller: Caller, name: str) -> None:
    await _schemas(schema_routes.drop, caller, "DELETE", name, {}, backend)


def function_names(backend: Backend) -> list[str]:
    return sorted(backend.cloud.functions)


async def call_function(
    backend: Backend, caller: Caller, name: str, params: dict[str, Any], context: dict[str, Any]
) -> Any:
    fn = backend.cloud.functions.get(name)
    if fn is None:
        raise ParseError(errors.SCRIPT_FAILED, f'Invalid function: "{name[:100]}"')
    decoded = {k: decode(v) for k, v in params.items()}
    req = FunctionRequest(
        caller=caller,
        data=objects.CloudData(backend, caller, None),
        params=decoded,
        context=context,
        function_name=name,
        backend=backend,
    )
    return encode(_plain(await call(fn, req)))


def _plain(value: Any) -> Any:
    from ..cloud.objects import ParseObject

    if isinstance(value, ParseObject):
        out = value.to_json()
        out["__type"] = "Object"
        return out
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
