"""/functions/{name}: Cloud Code functions; `{"result": …}` with Parse encoding."""

from __future__ import annotations

from .. import errors
from ..backend import Backend
from ..cloud.registry import Request, call
from ..errors import ParseError
from ..objects import Unit
from ..values import decode, encode
from .reply import Reply
from .transport import Call


async def run(backend: Backend, c: Call, unit: Unit | None, name: str) -> Reply:
    fn = backend.cloud.functions.get(name)
    if fn is None:
        raise ParseError(errors.SCRIPT_FAILED, f'Invalid function: "{name[:100]}"')
    params = {k: decode(v) for k, v in c.params().items()}
    req = Request("function", c.caller, params=params, context=c.context, function_name=name, backend=backend)
    result = await call(fn, req)
    return Reply({"result": encode(_objects_to_json(result))})


def _objects_to_json(value: object) -> object:
    from ..cloud.objects import ParseObject

    if isinstance(value, ParseObject):
        out = value.to_json()
        out["__type"] = "Object"
        return out
    if isinstance(value, list):
        return [_objects_to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _objects_to_json(v) for k, v in value.items()}
    return value
