"""The object a hook sees: decoded values (datetime, Pointer, dict, list) plus which keys the hook changed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..values import Pointer, decode, encode


class ParseObject:
    __slots__ = ("_dirty", "_unset", "attributes", "class_name", "created_at", "id", "updated_at")

    def __init__(self, class_name: str, attributes: dict[str, Any] | None = None, object_id: str | None = None):
        self.class_name = class_name
        self.id = object_id
        self.attributes: dict[str, Any] = dict(attributes or {})
        self.created_at: datetime | None = None
        self.updated_at: datetime | None = None
        self._dirty: set[str] = set()
        self._unset: set[str] = set()

    @classmethod
    def from_json(cls, class_name: str, data: dict[str, Any]) -> ParseObject:
        from ..values import parse_iso

        attrs = {
            k: decode(v)
            for k, v in data.items()
            if k not in ("objectId", "createdAt", "updatedAt", "className", "__type")
        }
        obj = cls(class_name, attrs, data.get("objectId"))
        if isinstance(data.get("createdAt"), str):
            obj.created_at = parse_iso(data["createdAt"])
        if isinstance(data.get("updatedAt"), str):
            obj.updated_at = parse_iso(data["updatedAt"])
        return obj

    def get(self, key: str, default: Any = None) -> Any:
        return self.attributes.get(key, default)

    def has(self, key: str) -> bool:
        return self.attributes.get(key) is not None

    def set(self, key: str, value: Any) -> None:
        self.attributes[key] = value
        self._dirty.add(key)
        self._unset.discard(key)

    def unset(self, key: str) -> None:
        self.attributes.pop(key, None)
        self._dirty.add(key)
        self._unset.add(key)

    def dirty(self, key: str | None = None) -> bool:
        return bool(self._dirty) if key is None else key in self._dirty

    @property
    def dirty_keys(self) -> frozenset[str]:
        return frozenset(self._dirty)

    @property
    def unset_keys(self) -> frozenset[str]:
        return frozenset(self._unset)

    def clean(self) -> None:
        """Forget which keys changed (the object was just saved)."""
        self._dirty.clear()
        self._unset.clear()

    def pointer(self) -> Pointer:
        assert self.id is not None, "an unsaved object has no pointer"
        return Pointer(self.class_name, self.id)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"className": self.class_name}
        if self.id:
            out["objectId"] = self.id
        out.update({k: encode(v) for k, v in self.attributes.items()})
        return out

    def __repr__(self) -> str:
        return f"<ParseObject {self.class_name} {self.id} {self.attributes!r}>"
