"""The permission matrix: what each caller may do to each class, per operation — one table, every transport.

`EXPECTED[(caller, class, operation)]` is the answer every transport must give. `tests/test_permission_matrix.py`
walks the full product CALLERS x CLASSES x OPERATIONS x TRANSPORTS: a combination without a row here fails the test
by name, so a hole like issue 8's session takeover shows up as a *missing row*, not as a missing test. A new
transport (GraphQL, live queries, agent tools) is one more entry in that test's TRANSPORTS; a new class or
operation is one more name here, and the test then demands its rows.

`docs/permissions.md` is generated from this table (`python tests/permission_matrix.py > docs/permissions.md`);
tests/test_docs.py keeps it current.

Answers: `ok` (allowed), `mine` / `theirs` / `both` / `none` (what a find or count returns of the two probe objects,
one belonging to rep A — the `rep` caller — and one to rep B), or a Parse error code.
"""

from __future__ import annotations

from typing import Any

CALLERS = ("anonymous", "rep", "manager", "master", "readonly")
CLASSES = ("Company", "Contact", "Deal", "Activity", "DealStageChange", "_User", "_Role", "_Session", "_Installation")
OPERATIONS = (
    "find",
    "count",
    "get_mine",
    "get_theirs",
    "create",
    "update_mine",
    "update_theirs",
    "delete_mine",
    "delete_theirs",
    "add_field",
)
CALLER_NOTES = {
    "anonymous": "no session",
    "rep": "signed-in rep A (owns *mine*)",
    "manager": "a member of role Managers",
    "master": "the master key",
    "readonly": "the read-only master key",
}
CODES = {
    101: "not found / needs a session",
    119: "operation forbidden",
    136: "field fixed",
    206: "only the user themself",
    209: "session token required",
}

Row = dict[str, Any]


def _row(
    find: Any,
    count: Any,
    get: tuple[Any, Any],
    create: Any,
    update: tuple[Any, Any],
    delete: tuple[Any, Any],
    add_field: Any,
) -> Row:
    return {
        "find": find,
        "count": count,
        "get_mine": get[0],
        "get_theirs": get[1],
        "create": create,
        "update_mine": update[0],
        "update_theirs": update[1],
        "delete_mine": delete[0],
        "delete_theirs": delete[1],
        "add_field": add_field,
    }


OK2 = ("ok", "ok")
MASTER = _row("both", "both", OK2, "ok", OK2, OK2, "ok")
READONLY = _row("both", "both", OK2, 119, (119, 119), (119, 119), 119)
NO_SESSION = _row(101, 101, (101, 101), 101, (101, 101), (101, 101), 101)

BY_CLASS: dict[str, dict[str, Row]] = {
    # The CRM's classes: signed-in users only; reps own what they create; managers see and change everything;
    # the schema is the master key's (addField).
    **{
        cls: {
            "anonymous": NO_SESSION,
            "rep": _row("mine", "mine", ("ok", 101), "ok", ("ok", 101), ("ok", 101), 119),
            "manager": _row("both", "both", OK2, "ok", OK2, OK2, 119),
            "master": MASTER,
            "readonly": READONLY,
        }
        for cls in ("Company", "Contact", "Deal", "Activity")
    },
    # The pipeline history is written by the server alone; readable like the deal it belongs to.
    "DealStageChange": {
        "anonymous": _row(101, 101, (101, 101), 119, (119, 119), (119, 119), 119),
        "rep": _row("mine", "mine", ("ok", 101), 119, (119, 119), (119, 119), 119),
        "manager": _row("both", "both", OK2, 119, (119, 119), (119, 119), 119),
        "master": MASTER,
        "readonly": READONLY,
    },
    # Users are private (themselves; managers read); anyone signs up (CRM_SIGNUP=open); only a user changes
    # or deletes their own account.
    "_User": {
        "anonymous": _row(101, 101, (101, 101), "ok", (206, 206), (206, 206), 206),
        "rep": _row("mine", "mine", ("ok", 101), "ok", ("ok", 206), ("ok", 206), 119),
        "manager": _row("both", "both", OK2, "ok", (206, 206), (206, 206), 206),
        "master": MASTER,
        "readonly": READONLY,
    },
    # Roles are the master key's to write; reading follows each role's ACL (the probes: one readable by A only,
    # one by B only).
    "_Role": {
        "anonymous": _row(101, 101, (101, 101), 119, (119, 119), (119, 119), 119),
        "rep": _row("mine", "mine", ("ok", 101), 119, (119, 119), (119, 119), 119),
        "manager": _row("none", "none", (101, 101), 119, (119, 119), (119, 119), 119),
        "master": MASTER,
        "readonly": READONLY,
    },
    # Sessions: each user sees and ends only their own; only the server creates them (sign-up, log-in); their
    # user, token, installation, expiry and ACL are fixed (changes.SYSTEM_KEYS, tests/test_system_classes.py).
    "_Session": {
        "anonymous": _row(209, 209, (209, 209), 119, (209, 209), (209, 209), 209),
        "rep": _row("mine", "mine", ("ok", 101), 119, ("ok", 101), ("ok", 101), 119),
        "manager": _row("none", "none", (101, 101), 119, (101, 101), (101, 101), 101),
        "master": MASTER,
        "readonly": READONLY,
    },
    # Installations (parse-server's rules): any client registers and updates one by id; nobody but the master
    # key lists, counts or deletes them.
    **{
        "_Installation": {
            caller: _row(119, 119, OK2, "ok", OK2, (119, 119), 119) for caller in ("anonymous", "rep", "manager")
        }
        | {"master": MASTER, "readonly": READONLY}
    },
}

EXPECTED: dict[tuple[str, str, str], Any] = {
    (caller, cls, op): answer
    for cls, by_caller in BY_CLASS.items()
    for caller, row in by_caller.items()
    for op, answer in row.items()
}


def render_markdown(transports: tuple[str, ...]) -> str:
    """docs/permissions.md: one table per class, operations x callers."""
    out = [
        "# Permission matrix",
        "",
        "Generated from `tests/permission_matrix.py` (`python tests/permission_matrix.py > docs/permissions.md`);",
        "`tests/test_permission_matrix.py` checks every cell through every transport: "
        + ", ".join(f"**{t}**" for t in transports)
        + ". A cell missing from the table fails that test by name.",
        "",
        "Callers: " + "; ".join(f"`{c}` — {note}" for c, note in CALLER_NOTES.items()) + ".",
        "",
        "Answers: `ok` — allowed; `mine` / `theirs` / `both` / `none` — which of two probe objects (rep A's and rep "
        "B's) a find or count returns; a number — the Parse error code ("
        + "; ".join(f"{code} {text}" for code, text in CODES.items())
        + ").",
        "",
    ]
    for cls in CLASSES:
        out += [f"## {cls}", "", "| operation | " + " | ".join(CALLERS) + " |", "|---" * (len(CALLERS) + 1) + "|"]
        for op in OPERATIONS:
            cells = [str(EXPECTED.get((caller, cls, op), "**missing**")) for caller in CALLERS]
            out.append(f"| {op} | " + " | ".join(f"`{c}`" for c in cells) + " |")
        out.append("")
    return "\n".join(out)


TRANSPORTS = ("REST", "batch", "text/plain")

if __name__ == "__main__":
    print(render_markdown(TRANSPORTS), end="")
