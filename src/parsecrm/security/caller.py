"""The caller of a request: master, read-only master, a session user (with roles), an API token acting as its user
(same principals; `token_read_only` refuses every write), or anonymous."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any


@dataclass(frozen=True)
class Caller:
    master: bool = False
    read_only: bool = False
    user_id: str | None = None
    user: dict[str, Any] | None = None  # the user's Parse JSON (for hooks and /users/me)
    roles: frozenset[str] = frozenset()
    session_token: str | None = None
    installation_id: str | None = None
    ip: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    token_id: str | None = None  # set when the request carried `Authorization: Bearer <API token>`
    token_name: str | None = None
    token_read_only: bool = False
    # What security/policy.py derives for this caller (hidden fields per class, …), kept for the request's length.
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def principals(self) -> list[str]:
        """ACL entries that grant this caller access: `*`, their id, and `role:<name>` for every role held."""
        out = ["*"]
        if self.user_id:
            out.append(self.user_id)
        out.extend("role:" + r for r in sorted(self.roles))
        return out

    @property
    def can_read_all(self) -> bool:
        return self.master or self.read_only


ANONYMOUS = Caller()
MASTER = Caller(master=True)
