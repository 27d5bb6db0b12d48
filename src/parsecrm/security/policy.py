"""`Policy`: what one caller may read and write — the single place that decides it, as SQL and in memory.

Every path that touches rows asks a Policy: REST finds/gets/counts, includes, `$inQuery`/`$select` sub-queries,
aggregates, exports, batch items, writes, Cloud Code running as a user — and, in memory, live queries, GraphQL
resolvers and agent tools. One Policy serves one caller (one request); `Policy.MASTER` is the master key's.

    policy = Policy(caller)
    policy.check(schema, "find")                     # raises the Parse error of a class-level denial
    policy.read_sql(schema, "t", "find", params)     # SQL condition on alias t: the rows it may read (None: all)
    policy.write_sql(schema, "t", "update", params)  # … the rows it may update
    policy.hidden(schema)                            # protected fields, and when a row shows them anyway
    policy.protected(schema)                         # fields it may not filter, sort or aggregate on
    policy.scope(schema, tree)                       # whether a read can use the ACL-scoped index

    policy.can_read(schema, obj)                     # the same rules on an object in Parse JSON (find output, or a
                                                     # live-query change row with its `_rperm`)
    policy.visible_fields(schema, obj)               # obj without the fields hidden from this caller
    policy.can_write(schema, obj)
    policy.reader(schema, "find")                    # can_read / visible prepared for one class version (live
                                                     # queries judge every event with it)

The rules: the class-level permission (CLP) of the operation must admit the caller (public, a principal, or
`requiresAuthentication`, possibly narrowed to rows whose pointer fields point at the caller); then the row's ACL
(`_rperm`/`_wperm` in SQL, `ACL` in Parse JSON; no ACL = public) must name one of the caller's principals; then
`protectedFields` hide fields unless the row is the user's own (`_User`) or a `userField:<pointer>` group names the
caller. The master key passes everything; the read-only master key reads everything and writes nothing. Adding a
field to a system class (`_User`, `_Role`, `_Session`, `_Installation`) is the master key's alone, whatever the CLP
says: each is a DDL lock on a table every request reads (issue 8). Hidden fields and protected sets are memoised
per class for the caller's request (`Caller.memo`), so a read computes them once.

tests/test_policy_property.py checks that the in-memory answers equal the SQL answers for random ACLs, roles,
CLPs and callers.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from ..errors import ErrorCode, ParseError
from ..query.sql import Params
from ..query.tree import Eq, Node, Test, top_level_tests
from ..storage.model import SCOPED_PERMISSIONS, ClassSchema, q
from ..values import SYSTEM_CLASSES
from .caller import MASTER, Caller

READ_OPS = frozenset({"find", "count", "get"})
# Accounts, sessions and roles are changed only with a signed-in session, never with an API token.
TOKEN_FREE_CLASSES = frozenset({"_User", "_Session", "_Role"})


@dataclass(frozen=True, slots=True)
class HiddenField:
    """A protected field, hidden from this caller unless the row shows it: the user's own record (`own_record`), or
    a row whose pointer field in `pointers` points at the caller (a `userField:<pointer>` group not protecting it)."""

    own_record: bool
    pointers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Scope:
    """A read that also says `field = value` on a field with an ACL-scoped index: the read rule becomes one lookup
    of the caller's own (value, principal) pairs, and the query's own `field = value` (`test`) is dropped."""

    field: str
    value: str
    test: Node


# Fields only their owner (and the master key) ever reads, whatever the CLP says: a user's `authData` holds the
# credentials that log in as them (an anonymous user's id is their whole password). parse-server's
# filterSensitiveData drops it the same way. Hidden as a protected field that the user's own record shows.
ALWAYS_PRIVATE: dict[str, tuple[str, ...]] = {"_User": ("authData",)}


def _denied(op: str, schema: ClassSchema) -> ParseError:
    return ParseError(ErrorCode.OPERATION_FORBIDDEN, f"Permission denied for action {op} on class {schema.name}.")


class Policy:
    """One caller's permissions. Cheap to make: what it derives is memoised on the caller."""

    MASTER: ClassVar[Policy]
    __slots__ = ("caller",)

    def __init__(self, caller: Caller) -> None:
        self.caller = caller

    # -- class level -----------------------------------------------------------------------------------------------

    def check(self, schema: ClassSchema, op: str) -> tuple[str, ...]:
        """Raise unless the CLP lets the caller run `op` on the class. Returns the pointer fields that must point at
        the caller for a row to qualify (empty: no such restriction). Memoised for the request."""
        key = ("check", schema.name, op)
        found = self.caller.memo.get(key)
        if found is None or found[0] is not schema:
            try:
                found = (schema, self._check(schema, op))
            except ParseError as exc:
                found = (schema, exc)
            self.caller.memo[key] = found
        if isinstance(found[1], ParseError):
            raise ParseError(found[1].code, found[1].message, status=found[1].status)
        result: tuple[str, ...] = found[1]
        return result

    def _check(self, schema: ClassSchema, op: str) -> tuple[str, ...]:
        caller = self.caller
        if caller.master:
            return ()
        if caller.read_only:
            if op in READ_OPS:
                return ()
            raise ParseError(ErrorCode.OPERATION_FORBIDDEN, "read-only master key cannot write")
        if caller.token_id and op not in READ_OPS:
            if caller.token_read_only:
                raise ParseError(
                    ErrorCode.OPERATION_FORBIDDEN, f"This API token is read-only: it cannot {op} {schema.name}."
                )
            if schema.name in TOKEN_FREE_CLASSES:  # a leaked token must not be able to take over the account
                raise ParseError(
                    ErrorCode.OPERATION_FORBIDDEN, f"API tokens cannot {op} {schema.name}; sign in instead."
                )
        if op == "addField" and schema.name in SYSTEM_CLASSES:
            raise _denied(op, schema)
        if schema.name == "_Session" and op != "create":
            if not caller.user_id:
                raise ParseError(ErrorCode.INVALID_SESSION_TOKEN, "Session token required.")
            return ("user",)
        clp = schema.effective_clp()
        perms: dict[str, Any] = clp.get(op) or {}
        if perms.get("*"):
            return ()
        if caller.user_id and any(perms.get(p) for p in caller.principals[1:]):
            return ()
        pointer_fields = list(perms.get("pointerFields") or [])
        if op in READ_OPS:
            pointer_fields += list(clp.get("readUserFields") or [])
        elif op in ("update", "delete"):
            pointer_fields += list(clp.get("writeUserFields") or [])
        # requiresAuthentication admits any signed-in user, but pointer permissions still narrow the rows (as Parse)
        if perms.get("requiresAuthentication") or pointer_fields:
            if not caller.user_id:
                raise ParseError(ErrorCode.OBJECT_NOT_FOUND, "Permission denied, user needs to be authenticated.")
            return tuple(pointer_fields)
        raise _denied(op, schema)

    # -- as SQL ----------------------------------------------------------------------------------------------------

    def read_sql(
        self, schema: ClassSchema, alias: str, op: str, params: Params, scope: Scope | None = None
    ) -> str | None:
        """The rows of `alias` the caller may read, as an SQL condition (None: every row). Raises on a class-level
        denial. With a `scope` the condition also means `scope.field = scope.value`."""
        pointer_fields = self.check(schema, op)
        if self.caller.can_read_all:
            return None
        principals = self.caller.principals
        if scope is not None:
            pairs = params.add([f"{scope.value}\x1f{p}" for p in principals], "::text[]")
            cond = f'{SCOPED_PERMISSIONS}({alias}.{q(scope.field)}, {alias}."_rperm") && {pairs}'
        else:
            cond = f'{alias}."_rperm" && {params.add(principals, "::text[]")}'
        if pointer_fields:
            cond += " AND " + self._pointer_sql(schema, alias, pointer_fields, params)
        return cond

    def write_sql(self, schema: ClassSchema, alias: str, op: str, params: Params) -> str | None:
        """The rows of `alias` the caller may update or delete (None: every row). Raises on a class-level denial."""
        pointer_fields = self.check(schema, op)
        if self.caller.master:
            return None
        cond = f'{alias}."_wperm" && {params.add(self.caller.principals, "::text[]")}'
        if pointer_fields:
            cond += " AND " + self._pointer_sql(schema, alias, pointer_fields, params)
        return cond

    def _pointer_sql(self, schema: ClassSchema, alias: str, fields: tuple[str, ...], params: Params) -> str:
        parts = []
        me: str | None = None
        for name in fields:
            f = schema.fields.get(name)
            if f is None or f.type not in ("Pointer", "Array"):
                continue
            me = me or params.add(self.caller.user_id, "::text")
            col = f"{alias}.{q(name)}"
            if f.type == "Pointer":
                parts.append(f"{col} = ('_User$' || {me})" if f.polymorphic else f"{col} = {me}")
            else:
                parts.append(
                    f"{col} @> jsonb_build_array(jsonb_build_object('__type', 'Pointer', 'className', '_User', "
                    f"'objectId', {me}))"
                )
        return "(" + " OR ".join(parts) + ")" if parts else "FALSE"

    def hidden_sql(self, schema: ClassSchema, alias: str, params: Params) -> dict[str, str | None]:
        """The hidden fields as SQL: field → condition under which the row at `alias` shows it (None: never)."""
        hidden = self.hidden(schema)
        if not hidden:
            return {}
        out: dict[str, str | None] = {}
        me: str | None = None
        for name, rule in hidden.items():
            shows: list[str] = []
            if rule.own_record or rule.pointers:
                me = me or params.add(self.caller.user_id, "::text")
                if rule.own_record:
                    shows.append(f'{alias}."objectId" = {me}')
                shows += [f"{alias}.{q(pointer)} = {me}" for pointer in rule.pointers]
            out[name] = " OR ".join(shows) if shows else None
        return out

    # -- derived per class (memoised for the request) --------------------------------------------------------------

    def hidden(self, schema: ClassSchema) -> Mapping[str, HiddenField]:
        """The fields `protectedFields` hides from this caller, and when a row shows them anyway."""
        return self._memo("hidden", schema, self._hidden)

    def protected(self, schema: ClassSchema) -> frozenset[str]:
        """Fields the caller may not filter, sort or aggregate on, because some rows hide them: a where clause on a
        hidden field would reveal its value row by row."""
        return self._memo("protected", schema, lambda s: frozenset(self.hidden(s)))

    def _memo(self, kind: str, schema: ClassSchema, compute: Any) -> Any:
        key = (kind, schema.name)
        found = self.caller.memo.get(key)
        if found is None or found[0] is not schema:  # a new schema version is a new entry
            found = self.caller.memo[key] = (schema, compute(schema))
        return found[1]

    def _hidden(self, schema: ClassSchema) -> dict[str, HiddenField]:
        caller = self.caller
        if caller.can_read_all:
            return {}
        private = {name: HiddenField(bool(caller.user_id), ()) for name in ALWAYS_PRIVATE.get(schema.name, ())}
        protected: dict[str, list[str]] = schema.effective_clp().get("protectedFields") or {}
        groups = ["*"]
        if caller.user_id:
            groups += ["authenticated", *caller.principals[1:]]
        static = [set(protected[g]) for g in groups if g in protected]
        if not static:
            return private
        out: dict[str, HiddenField] = private
        for name in sorted(set.intersection(*static)):
            pointers: list[str] = []
            if caller.user_id:
                for group, fields in protected.items():
                    if group.startswith("userField:") and name not in fields:
                        f = schema.fields.get(group.split(":", 1)[1])
                        if f is not None and f.type == "Pointer" and not f.polymorphic:
                            pointers.append(group.split(":", 1)[1])
            out[name] = HiddenField(bool(caller.user_id) and schema.name == "_User", tuple(pointers))
        return out

    def scope(self, schema: ClassSchema, where: Node | None) -> Scope | None:
        """Whether a read can ask the ACL-scoped index (see ClassSchema.acl_index_fields) instead of the plain read
        rule: only for callers without roles. A rep reads a sliver of the class, which the scoped index finds
        exactly; a role usually grants much (Managers read everything), and then the plain plan, an ordered index
        scan whose first rows already pass the ACL, is the fast one."""
        caller = self.caller
        if caller.can_read_all or caller.roles or where is None:
            return None
        indexed = schema.acl_index_fields()
        if not indexed:
            return None
        for test in top_level_tests(where):
            if isinstance(test, Test) and isinstance(test.op, Eq) and test.key.name in indexed:
                f = schema.fields[test.key.name]
                if f.type == "String" and isinstance(test.op.value, str) and not test.key.path:
                    return Scope(test.key.name, test.op.value, test)
        return None

    # -- in memory (objects in Parse JSON, as a find returns them) ------------------------------------------------

    def can_read(
        self, schema: ClassSchema, obj: Mapping[str, Any], op: str = "get", rperm: Collection[str] | None = None
    ) -> bool:
        """Whether the caller may read `obj` (its CLP, ACL and pointer permissions; not its hidden fields). `rperm`:
        the row's `_rperm` when it is at hand (a live-query change row), judged instead of `obj`'s ACL."""
        return self.reader(schema, op).can_read(obj, rperm)

    def reader(self, schema: ClassSchema, op: str = "find") -> Reader:
        """`can_read` and `visible_fields` for one class version and operation, derived once: a holder (a live-query
        subscription judging every event) asks it without re-deriving anything. Memoised for the caller."""
        return self._memo("reader:" + op, schema, lambda s: self._reader(s, op))

    def _reader(self, schema: ClassSchema, op: str) -> Reader:
        try:
            pointer_fields = self.check(schema, op)
        except ParseError:
            return Reader(self, schema, True, False, frozenset(), (), {})
        principals = frozenset(self.caller.principals)
        return Reader(self, schema, False, self.caller.can_read_all, principals, pointer_fields, self.hidden(schema))

    def can_write(self, schema: ClassSchema, obj: Mapping[str, Any], op: str = "update") -> bool:
        """Whether the caller may update (or, with op="delete", delete) `obj`."""
        try:
            pointer_fields = self.check(schema, op)
        except ParseError:
            return False
        if self.caller.master:
            return True
        return self._acl_admits(obj, "write") and self._points_at_caller(schema, obj, pointer_fields)

    def visible_fields(self, schema: ClassSchema, obj: Mapping[str, Any]) -> dict[str, Any]:
        """`obj` without the fields hidden from this caller (the same fields a find leaves out of this row)."""
        hidden = self.hidden(schema)
        if not hidden:
            return dict(obj)
        me = self.caller.user_id
        out = {}
        for key, value in obj.items():
            rule = hidden.get(key)
            if rule is not None and not (
                (rule.own_record and obj.get("objectId") == me)
                or any(_pointer_id(obj.get(p)) == me for p in rule.pointers)
            ):
                continue
            out[key] = value
        return out

    def _acl_admits(self, obj: Mapping[str, Any], perm: str) -> bool:
        acl = obj.get("ACL")
        if not isinstance(acl, Mapping):  # no ACL: public
            return True
        return any(isinstance(acl.get(p), Mapping) and acl[p].get(perm) is True for p in self.caller.principals)

    def _points_at_caller(self, schema: ClassSchema, obj: Mapping[str, Any], fields: tuple[str, ...]) -> bool:
        if not fields:
            return True
        me = self.caller.user_id
        for name in fields:
            f = schema.fields.get(name)
            value = obj.get(name)
            if f is None or value is None:
                continue
            if f.type == "Pointer":
                if _pointer_id(value) == me and (not f.polymorphic or value.get("className") == "_User"):
                    return True
            elif f.type == "Array" and isinstance(value, list) and any(_is_user_pointer(e, me) for e in value):
                return True
        return False


def _pointer_id(value: Any) -> Any:
    """The objectId a pointer (or an included object) holds; None for anything else."""
    return (
        value.get("objectId") if isinstance(value, Mapping) and value.get("__type") in ("Pointer", "Object") else None
    )


def _is_user_pointer(value: Any, user_id: str | None) -> bool:
    return (
        isinstance(value, Mapping)
        and value.get("__type") == "Pointer"
        and value.get("className") == "_User"
        and value.get("objectId") == user_id
    )


@dataclass(frozen=True, slots=True)
class Reader:
    """A Policy's read rules for one class version and operation (`Policy.reader`): the CLP's verdict and pointer
    fields, the caller's principals and hidden fields, derived once. Judging an object costs a few lookups."""

    policy: Policy
    schema: ClassSchema
    denied: bool  # the CLP refuses the operation outright
    everything: bool  # master or read-only master
    principals: frozenset[str]
    pointer_fields: tuple[str, ...]  # a row must point at the caller through one of these (empty: no such rule)
    hidden: Mapping[str, HiddenField]

    def can_read(self, obj: Mapping[str, Any], rperm: Collection[str] | None = None) -> bool:
        if self.denied:
            return False
        if self.everything:
            return True
        if rperm is None:
            if not self.policy._acl_admits(obj, "read"):
                return False
        elif self.principals.isdisjoint(rperm):
            return False
        return not self.pointer_fields or self.policy._points_at_caller(self.schema, obj, self.pointer_fields)

    def visible(self, obj: Mapping[str, Any]) -> Mapping[str, Any]:
        """`obj` itself when nothing is hidden from the caller, else `Policy.visible_fields`."""
        return self.policy.visible_fields(self.schema, obj) if self.hidden else obj


Policy.MASTER = Policy(MASTER)
