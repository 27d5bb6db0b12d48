"""ACLs: Parse's `{"<userId>": {"read": true}, "role:X": {...}, "*": {...}}` ⇄ the stored columns.

A row keeps its ACL as written (`_acl`, returned to clients) and two derived text arrays, `_rperm`/`_wperm`, holding
every principal allowed to read / write. A row without an ACL is public: both arrays are `{*}` (never NULL), so the
read check is a single GIN-indexable `_rperm && $principals`.
"""

from __future__ import annotations

from typing import Any

from .. import errors
from ..errors import ParseError

PUBLIC = ["*"]


def columns(acl: Any) -> tuple[list[str], list[str], dict[str, Any] | None]:
    """Validate an ACL and return (_rperm, _wperm, _acl)."""
    if acl is None:
        return PUBLIC, PUBLIC, None
    if not isinstance(acl, dict):
        raise ParseError(errors.INVALID_ACL, "ACL must be an object")
    read: list[str] = []
    write: list[str] = []
    clean: dict[str, Any] = {}
    for principal, perms in acl.items():
        if not isinstance(principal, str) or not principal or len(principal) > 200:
            raise ParseError(errors.INVALID_ACL, "invalid ACL key")
        if not isinstance(perms, dict):
            raise ParseError(errors.INVALID_ACL, f"invalid ACL entry for {principal[:40]}")
        entry: dict[str, bool] = {}
        for perm, flag in perms.items():
            if perm not in ("read", "write") or not isinstance(flag, bool):
                raise ParseError(errors.INVALID_ACL, f"invalid permission {str(perm)[:20]} in ACL")
            if flag:
                entry[perm] = True
        if entry.get("read"):
            read.append(principal)
        if entry.get("write"):
            write.append(principal)
        if entry:
            clean[principal] = entry
    return read, write, clean
