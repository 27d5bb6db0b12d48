"""Cloud Code's data API (cloud.requests.DataAccess) on the one read/write path: a request's `req.query`,
`req.save`, … run here, as the request's caller or the master key, inside the request's transaction if it has one."""

from __future__ import annotations

from typing import Any

from ..backend import Backend
from ..cloud.objects import ParseObject
from ..security.caller import MASTER, Caller
from ..values import encode
from . import read, write
from .unit import Unit


class CloudData:
    def __init__(self, backend: Backend, caller: Caller, unit: Unit | None) -> None:
        self.backend, self.caller, self.unit = backend, caller, unit

    def _who(self, master: bool) -> Caller:
        return MASTER if master else self.caller

    async def query(self, class_name: str, params: dict[str, Any], master: bool) -> list[ParseObject]:
        found = await read.query_json(self.backend, self._who(master), class_name, params, unit=self.unit)
        return [ParseObject.from_json(class_name, obj) for obj in found]

    async def count(self, class_name: str, where: dict[str, Any], master: bool) -> int:
        return await read.count(self.backend, self._who(master), class_name, where, unit=self.unit)

    async def save(self, obj: ParseObject, master: bool, context: dict[str, Any]) -> ParseObject:
        who = self._who(master)
        if obj.id is None:
            body = {k: encode(v) for k, v in obj.attributes.items()}
            made = await write.create(self.backend, who, obj.class_name, body, unit=self.unit, context=context)
            obj.id = made["objectId"]
        else:
            body = {
                k: {"__op": "Delete"} if k in obj.unset_keys else encode(obj.attributes.get(k)) for k in obj.dirty_keys
            }
            await write.update(self.backend, who, obj.class_name, obj.id, body, unit=self.unit, context=context)
        obj.clean()
        return obj

    async def delete(self, obj: ParseObject, master: bool, context: dict[str, Any]) -> None:
        assert obj.id is not None, "an unsaved object cannot be deleted"
        await write.delete(self.backend, self._who(master), obj.class_name, obj.id, unit=self.unit, context=context)

    def create_later(self, class_name: str, fields: dict[str, Any], master: bool) -> None:
        assert self.unit is not None, "create_later needs a write's transaction (use it in a beforeSave)"
        body = {k: encode(v) for k, v in fields.items()}
        write.create_later(self.unit, self._who(master), class_name, body)
