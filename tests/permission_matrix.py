"""The permission matrix: what each caller may do to each class, per operation — one table, every transport.

`EXPECTED[(caller, class, operation)]` is the answer every transport must give. `tests/test_permission_matrix.py`
walks the full product CALLERS x CLASSES x OPERATIONS x TRANSPORTS: a combination without a row here fails the test
by name, so a hole like issue 8's session takeover shows up as a *missing row*, not as a missing test. A new
transport (GraphQL, live queries, agent tools) is one more entry in that test's TRANSPORTS; a new class or
operation is one more name here, and the test then demands its rows.

`docs/permissions.md` is generated from this table (`python tests/permission_matrix.py > docs/permissions.md`);
tests/test_docs.py keeps it current.

Answers: `ok` (allowed), `mine` / `theirs` / `both` / `none` (what a find, count or aggregate returns of the two
probe objects, one belonging to rep A — the `rep` caller — and one to rep B), or a Parse error code.

The `*_stale` operations are conditional writes (`If-Match` over REST, `_ifMatch` in a batch item or the JS SDK's
envelope, `ifMatch` over GraphQL) based on a version that is no longer current: a caller who may write gets 409 with
the object as they may read it; any other caller gets exactly the unconditional write's refusal (no 409, so no
`current` for someone who may not read it).

`ROUTE_EXPECTED[(caller, route operation)]` does the same for every other path of the route table
(protocol/routes.py): jobs, loginAs, the account and e-mail routes, schemas, config, … `ROUTES_NOT_ASKED` names the
paths that are not asked, and why.
"""

from __future__ import annotations

from typing import Any

CALLERS = ("anonymous", "wrong_key", "rep", "manager", "master", "readonly")
CLASSES = (
    "Company",
    "Contact",
    "Deal",
    "Activity",
    "DealStageChange",
    "_User",
    "_Role",
    "_Session",
    "_Installation",
    "_JobStatus",
    "_JobSchedule",
)
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
    "aggregate",
    "update_mine_stale",
    "update_theirs_stale",
    "delete_mine_stale",
    "delete_theirs_stale",
)
CALLER_NOTES = {
    "anonymous": "no session",
    "wrong_key": "a wrong master key: refused before anything is looked up (HTTP 403 `unauthorized`, no code); in "
    "the JS SDK's envelope (**text/plain**) a wrong `_MasterKey` is ignored, and the caller is `anonymous` there "
    "(parse-server ignores a wrong master key wherever it is sent)",
    "rep": "signed-in rep A (owns *mine*)",
    "manager": "a member of role Managers",
    "master": "the master key",
    "readonly": "the read-only master key",
}
CODES = {
    101: "not found / needs a session",
    107: "invalid JSON (here: a mailed link's page sent as a batch item)",
    119: "operation forbidden (the master-key-only routes answer it with HTTP 403)",
    141: "Cloud Code: no such job or function",
    136: "field fixed",
    206: "only the user themself",
    209: "session token required",
    409: "version conflict: the object changed (with `current`)",
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
    stale: Any = None,
) -> Row:
    """One caller's answers for one class. `aggregate` answers as `find` does (our extension: parse-server lets only
    the master key aggregate; here signed-in callers aggregate under their read rules, docs/protocol.md). A stale
    conditional write answers 409 where the write is allowed, else the write's own refusal; `stale` overrides that
    for every conditional write (a wrong master key: refused before routing)."""

    def conditional(answer: Any) -> Any:
        return stale if stale is not None else (409 if answer == "ok" else answer)

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
        "aggregate": find,
        "update_mine_stale": conditional(update[0]),
        "update_theirs_stale": conditional(update[1]),
        "delete_mine_stale": conditional(delete[0]),
        "delete_theirs_stale": conditional(delete[1]),
    }


OK2 = ("ok", "ok")
MASTER = _row("both", "both", OK2, "ok", OK2, OK2, "ok")
READONLY = _row("both", "both", OK2, 119, (119, 119), (119, 119), 119)
NO_SESSION = _row(101, 101, (101, 101), 101, (101, 101), (101, 101), 101)
U = "HTTP 403"  # unauthorized: the request is refused whole, before routing (errors.Unauthorized has no code)
WRONG_KEY = _row(U, U, (U, U), U, (U, U), (U, U), U, stale=U)

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
    # or deletes their own account. A conditional write is checked after that rule (users.update_user/delete_user):
    # whoever may not write the user gets the same refusal with or without a version, never a 409.
    "_User": {
        "anonymous": _row(101, 101, (101, 101), "ok", (206, 206), (206, 206), 206),
        "rep": _row("mine", "mine", ("ok", 101), "ok", ("ok", 206), ("ok", 206), 119),
        "manager": _row("both", "both", OK2, "ok", (206, 206), (206, 206), 206),
        "master": _row("both", "both", OK2, "ok", OK2, OK2, "ok"),
        "readonly": _row("both", "both", OK2, 119, (119, 119), (119, 119), 119),
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
    # The jobs' classes (jobs.py; parse-server's classesWithMasterOnlyAccess): the master key's alone, the
    # read-only key reads. Their probes belong to nobody: two rows the master key made.
    **{
        cls: dict.fromkeys(
            ("anonymous", "rep", "manager"), _row(119, 119, (119, 119), 119, (119, 119), (119, 119), 119)
        )
        | {"master": MASTER, "readonly": READONLY}
        for cls in ("_JobStatus", "_JobSchedule")
    },
}

for _by_caller in BY_CLASS.values():
    _by_caller["wrong_key"] = WRONG_KEY

EXPECTED: dict[tuple[str, str, str], Any] = {
    (caller, cls, op): answer
    for cls, by_caller in BY_CLASS.items()
    for caller, row in by_caller.items()
    for op, answer in row.items()
}


def expected(caller: str, cls: str, op: str, transport: str) -> Any:
    """EXPECTED, as `transport` answers it. GraphQL's `delete<Class>` reads the object it returns before it deletes
    (as parse-server's GraphQL does), so a caller who may not read the object gets the read's refusal (101)."""
    if caller == "wrong_key" and transport == "text/plain":
        caller = "anonymous"
    answer = EXPECTED[(caller, cls, op)]
    if transport == "GraphQL" and op.startswith("delete") and answer != 409:
        read = EXPECTED[(caller, cls, op.replace("delete", "get").removesuffix("_stale"))]
        return answer if read == "ok" else read
    return answer


# -- the other routes --------------------------------------------------------------------------------------------------

# Each route operation: what it sends (for the docs) and each caller's answer, parse-server's unless noted. The world
# has a job `countUsers`, rep B with an unverified e-mail address, a verified address, and a master-key-only config
# parameter. `ok` also means: the same answer body for every caller (the e-mail routes answer `{}` whatever the
# address), except where the operation says what differs.
ROUTE_OPS: dict[str, str] = {
    "run_job": "`POST /jobs/countUsers` (FunctionsRouter: master key; the read-only key may not run a job)",
    "run_job_by_body": "`POST /jobs` with `jobName: countUsers`",
    "run_unknown_job": "`POST /jobs/noSuchJob`: whether a job exists is the master key's to learn",
    "list_job_schedules": "`GET /cloud_code/jobs` (CloudCodeRouter: master key, read-only too)",
    "job_data": "`GET /cloud_code/jobs/data`",
    "schedule_job": "`POST /cloud_code/jobs` a `job_schedule` for `countUsers` (Dashboard's scheduled jobs: master "
    "key; the read-only key may not write)",
    "edit_job_schedule": "`PUT /cloud_code/jobs/<id>` a schedule the master key made",
    "delete_job_schedule": "`DELETE /cloud_code/jobs/<id>` a schedule the master key made",
    "login_as": "`POST /loginAs` rep B (UsersRouter.handleLogInAs: master key; never the read-only key, which would "
    "get a session that writes)",
    "login_as_unknown": "`POST /loginAs` an id no user has",
    "verification_mail_unknown": "`POST /verificationEmailRequest` an address nobody has: `{}` "
    "(emailVerifySuccessOnInvalidEmail, GHSA-w54v-hf9p-8856)",
    "verification_mail_unverified": "`POST /verificationEmailRequest` rep B's unverified address: `{}` (a mail "
    "goes out)",
    "verification_mail_verified": "`POST /verificationEmailRequest` a verified address: `{}`",
    "password_reset_unknown": "`POST /requestPasswordReset` an address nobody has: `{}`",
    "password_reset_known": "`POST /requestPasswordReset` rep B's address: `{}`",
    "reset_link_bogus": "`POST /apps/<app>/request_password_reset` with a token no link has (the token is the "
    "credential)",
    "invite_link_bogus": "`POST /apps/<app>/invite` with a token no invitation has",
    "verify_email_page_bogus": "`GET /apps/<app>/verify_email` with a token no link has: the HTML page, 400",
    "log_in_other": "`POST /login` as rep B with B's password (public; a caller's own session is not used)",
    "log_in_wrong_password": "`POST /login` as another user with a wrong password",
    "verify_password_other": "`POST /verifyPassword` rep B's credentials (public, like log-in)",
    "log_out": "`POST /logout` (a fresh session of the caller's user; without a session: `{}`)",
    "users_me": "`GET /users/me`: the caller's user, by session",
    "sessions_me": "`GET /sessions/me`",
    "upgrade_session": "`POST /upgradeToRevocableSession`: every session here is revocable already",
    "schemas_all": "`GET /schemas` (SchemasRouter: master key, read-only may read)",
    "schema_one": "`GET /schemas/Deal`",
    "schema_create": "`POST /schemas/<new class>`",
    "schema_update": "`PUT /schemas/<a scratch class>` adding a field",
    "schema_drop": "`DELETE /schemas/<a scratch class>`",
    "purge": "`DELETE /purge/<a scratch class>`",
    "config_get": "`GET /config`: `public` — without the master-key-only parameter; `all` — with it and "
    "`masterKeyOnly`",
    "config_put": "`PUT /config` (master key; read-only may not)",
    "server_info": "`GET /serverInfo` (FeaturesRouter: master key, read-only too)",
    "function_unknown": "`POST /functions/noSuchFunction`",
    "event": "`POST /events/AppOpened` (AnalyticsRouter: anyone; nothing is stored)",
    "health": "`GET /health`",
}


def _each(anonymous: Any, rep: Any, manager: Any, master: Any, readonly: Any, wrong_key: Any = U) -> dict[str, Any]:
    given = {"anonymous": anonymous, "wrong_key": wrong_key, "rep": rep, "manager": manager}
    return given | {"master": master, "readonly": readonly}


MASTER_ONLY = _each(119, 119, 119, "ok", 119)
MASTER_READS = _each(119, 119, 119, "ok", "ok")
EVERYONE = _each("ok", "ok", "ok", "ok", "ok")
SESSION_ONLY = _each(209, "ok", "ok", 209, 209)

ROUTE_BY_OP: dict[str, dict[str, Any]] = {
    "run_job": MASTER_ONLY,
    "run_job_by_body": MASTER_ONLY,
    "run_unknown_job": _each(119, 119, 119, 141, 119),
    "list_job_schedules": MASTER_READS,
    "job_data": MASTER_READS,
    "schedule_job": MASTER_ONLY,
    "edit_job_schedule": MASTER_ONLY,
    "delete_job_schedule": MASTER_ONLY,
    "login_as": MASTER_ONLY,
    "login_as_unknown": _each(119, 119, 119, 101, 119),
    "verification_mail_unknown": EVERYONE,
    "verification_mail_unverified": EVERYONE,
    "verification_mail_verified": EVERYONE,
    "password_reset_unknown": EVERYONE,
    "password_reset_known": EVERYONE,
    "reset_link_bogus": _each(101, 101, 101, 101, 101, wrong_key=101),  # a link's page reads no keys
    "invite_link_bogus": _each(101, 101, 101, 101, 101, wrong_key=101),
    "verify_email_page_bogus": _each(*["HTTP 400"] * 5, wrong_key="HTTP 400"),
    "log_in_other": EVERYONE,
    "log_in_wrong_password": _each(101, 101, 101, 101, 101),
    "verify_password_other": EVERYONE,
    "log_out": EVERYONE,
    "users_me": SESSION_ONLY,
    "sessions_me": SESSION_ONLY,
    "upgrade_session": _each(209, 209, 209, 209, 209),
    "schemas_all": MASTER_READS,
    "schema_one": MASTER_READS,
    "schema_create": MASTER_ONLY,
    "schema_update": MASTER_ONLY,
    "schema_drop": MASTER_ONLY,
    "purge": MASTER_ONLY,
    "config_get": _each("public", "public", "public", "all", "all"),
    "config_put": MASTER_ONLY,
    "server_info": MASTER_READS,
    "function_unknown": _each(141, 141, 141, 141, 141),
    "event": EVERYONE,
    "health": EVERYONE | {"wrong_key": "ok"},  # reads no keys
}

ROUTE_EXPECTED: dict[tuple[str, str], Any] = {
    (caller, op): answer for op, by_caller in ROUTE_BY_OP.items() for caller, answer in by_caller.items()
}


def route_expected(caller: str, op: str, transport: str) -> Any:
    """ROUTE_EXPECTED, as `transport` answers it: a wrong key in the envelope is ignored (see CALLER_NOTES), a
    batch with a wrong key is refused whole, even when its item is a route that reads no keys, and a batch item may
    not be a page a mailed link opens (107, as parse-server, whose batch routes only the API)."""
    if caller == "wrong_key" and transport == "text/plain":
        caller = "anonymous"
    if caller == "wrong_key" and transport == "batch":
        return U
    if transport == "batch" and op in LINK_PAGES:
        return 107
    return ROUTE_EXPECTED[(caller, op)]


LINK_PAGES = ("reset_link_bogus", "invite_link_bogus", "verify_email_page_bogus")  # apps/<app>/…: Auth.LINK routes


# Paths of the route table the route operations do not ask, and where they are asked instead.
ROUTES_NOT_ASKED: dict[str, str] = {
    "classes/<class>[/<id>], users, roles, sessions, installations[/<id>], aggregate/<class>": "the class tables "
    "above (the aliases run the same handlers with the class fixed, and are one more transport, **alias**)",
    "batch": "a transport: every cell above and every route operation is also sent as a one-item batch",
    "functions/<name>": "each Cloud Code function checks its own caller (request.master, request.user); the CRM's "
    "are tested with their features (tests/test_agent.py, tests/crm/)",
    "apps/<app>/request_password_reset, apps/<app>/invite (GET)": "the forms a mailed link opens: HTML, no keys; "
    "the token is the credential (their POSTs and the verify_email page are asked above; valid tokens: "
    "tests/test_accounts_hardening.py, tests/test_email_verification.py). Not batch items: 107",
    "graphql": "not in the route table (its own endpoint); its conditional mutations are asked the `*_stale` "
    "questions above (the GraphQL transport of tests/test_permission_matrix.py)",
    "files": "not in the route table (protocol/files.py, bytes not JSON): tests/test_files.py",
}


TRANSPORT_NOTES = {
    "REST": "HTTP with the keys and the session in headers; a conditional write's version as `If-Match`",
    "batch": "a one-item `POST /batch`, the version as the item body's `_ifMatch`",
    "text/plain": "the JS SDK's envelope: a text/plain POST with method, keys and session in the JSON body",
    "alias": "REST on `/users`, `/roles`, `/sessions`, `/installations` (system classes only)",
    "GraphQL": "`update<Class>` / `delete<Class>` with `ifMatch`, the `*_stale` rows of the classes it exposes with "
    "`ifMatch` (not sessions, installations); its delete reads the object it returns first, so a caller who "
    "may not read it gets the read's `101` (as parse-server's GraphQL), with or without `ifMatch`",
}
OPERATION_NOTES = {
    "aggregate": "`GET /aggregate/<class>` `$match` on the probes, `$group` by objectId (signed-in callers under "
    "their read rules: our extension, parse-server requires the master key)",
}


def render_markdown(transports: tuple[str, ...]) -> str:
    """docs/permissions.md: one table per class, operations x callers, then the other routes."""
    out = [
        "# Permission matrix",
        "",
        "Generated from `tests/permission_matrix.py` (`python tests/permission_matrix.py > docs/permissions.md`);",
        "`tests/test_permission_matrix.py` checks every cell through every transport that has a form of it: "
        + "; ".join(f"**{t}** — {TRANSPORT_NOTES[t]}" for t in transports)
        + ". A cell missing from the table fails that test by name.",
        "",
        "Callers: " + "; ".join(f"`{c}` — {note}" for c, note in CALLER_NOTES.items()) + ".",
        "",
        "Answers: `ok` — allowed; `mine` / `theirs` / `both` / `none` — which of two probe objects (rep A's and rep "
        "B's) a find, count or aggregate returns; a number — the Parse error code ("
        + "; ".join(f"{code} {text}" for code, text in sorted(CODES.items()))
        + "); `HTTP 403` — refused whole, before routing, without a Parse code (`unauthorized`).",
        "",
        "Operations: `aggregate` — " + OPERATION_NOTES["aggregate"] + "; `*_stale` — a conditional write "
        "(update or delete) based on a version that is no longer current: `409` with `current` (the object as the "
        "caller may read it, absent if they may not) where the write is allowed, else exactly the unconditional "
        "write's refusal.",
        "",
    ]
    for cls in CLASSES:
        out += [f"## {cls}", "", "| operation | " + " | ".join(CALLERS) + " |", "|---" * (len(CALLERS) + 1) + "|"]
        for op in OPERATIONS:
            cells = [str(EXPECTED.get((caller, cls, op), "**missing**")) for caller in CALLERS]
            out.append(f"| {op} | " + " | ".join(f"`{c}`" for c in cells) + " |")
        out.append("")
    out += [
        "## Other routes",
        "",
        "The rest of the route table (`src/parsecrm/protocol/routes.py`), asked of the same callers through "
        + ", ".join(f"**{t}**" for t in transports if t in ROUTE_TRANSPORTS)
        + ". Master-key-only routes answer `119` with HTTP 403.",
        "",
        "| operation | call | " + " | ".join(CALLERS) + " |",
        "|---" * (len(CALLERS) + 2) + "|",
    ]
    for op, call in ROUTE_OPS.items():
        cells = [str(ROUTE_EXPECTED.get((caller, op), "**missing**")) for caller in CALLERS]
        out.append(f"| {op} | {call} | " + " | ".join(f"`{c}`" for c in cells) + " |")
    out += ["", "Not asked here:", ""]
    out += [f"- `{paths}`: {why}" for paths, why in ROUTES_NOT_ASKED.items()]
    out.append("")
    return "\n".join(out)


TRANSPORTS = ("REST", "batch", "text/plain", "alias", "GraphQL")
ROUTE_TRANSPORTS = ("REST", "batch", "text/plain")  # the other routes have no alias and no GraphQL form

if __name__ == "__main__":
    print(render_markdown(TRANSPORTS), end="")
