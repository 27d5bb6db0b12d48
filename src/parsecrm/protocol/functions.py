"""/functions/{name}: Cloud Code functions; `{"result": …}` with Parse encoding."""

from __future__ import annotations

from ..backend import Backend
from ..cloud.objects import ParseObject
from ..cloud.registry import call
from ..cloud.requests import FunctionRequest
from ..errors import ErrorCode, ParseError
from ..objects import CloudData, Unit
from ..values import decode, encode
from .reply import Reply
from .transport import Call


async def run(backend: Backend, c: Call, unit: Unit | None, name: str) -> Reply:
    fn = backend.cloud.functions.get(name)
    if fn is None:
        raise ParseError(ErrorCode.SCRIPT_FAILED, f'Invalid function: "{name[:100]}"')
    params = {k: decode(v) for k, v in c.params().items()}
    req = FunctionRequest(
        caller=c.caller,
        data=CloudData(backend, c.caller, unit),
        params=params,
        context=c.context,
        function_name=name,
        backend=backend,
        unit=unit,
    )
    result = await call(fn, req)
    return Reply({"result": encode(_objects_to_json(result))})


def _objects_to_json(value: object) -> object:
    if isinstance(value, ParseObject):
        out = value.to_json()
        out["__type"] = "Object"
        return out
    if isinstance(value, list):
        return [_objects_to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _objects_to_json(v) for k, v in value.items()}
    return value
