"""The demo (`crm seed --demo`, `crm serve --demo`): a small realistic CRM written through the API's own path by
the users who own each object, so the hooks stamp it as for real clients; only timestamps are rewritten after."""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ... import objects
from ...backend import Backend
from ...errors import ParseError
from ...settings import Settings, from_env
from .content import (
    CLOSED,
    COMPANIES,
    DAY,
    DEAL_NOTES,
    DEMO_ACTIVITIES,
    DEMO_CONTACTS,
    DEMO_SEED,
    DEMO_USERS,
    DESCRIPTIONS,
    FIRST_NAMES,
    LAST_NAMES,
    MANAGER_DEALS_EVERY,
    PRODUCTS,
    REP_SHARES,
    STREETS,
    SUBJECTS,
    TITLES,
    TOPICS,
    Out,
    ascii_only,
    date_json,
    demo_password,
    final_stages,
    pointer_json,
    sign_up_accounts,
    slug,
    spread_times,
    stage_path,
)

# -- the demo -----------------------------------------------------------------------------------------------------


@dataclass
class _Deal:
    id: str
    rep: str
    amount: float
    path: list[str]
    times: list[datetime]
    contact: str


@dataclass
class _Stamps:
    """Timestamps to give each seeded object once everything is written: class → objectId → (createdAt, updatedAt)."""

    rows: dict[str, dict[str, tuple[datetime, datetime]]] = field(default_factory=dict)
    stage_changes: list[tuple[str, str, datetime]] = field(default_factory=list)  # (deal, stage entered, when)

    def put(self, cls: str, object_id: str, created: datetime, updated: datetime | None = None) -> None:
        self.rows.setdefault(cls, {})[object_id] = (created, updated or created)


async def has_deals(backend: Backend) -> bool:
    return bool(await backend.pool.fetchval('SELECT EXISTS (SELECT 1 FROM "Deal")'))


async def seed_demo(backend: Backend, seed: int = DEMO_SEED, out: Out = print) -> dict[str, int]:
    """Write the demo data set as its users would; returns the number of rows per class."""
    started = time.perf_counter()
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    stages = backend.settings.deal_stages
    people = [(u, demo_password(u), f"{u}@demo-crm.example") for u, _r, _s in DEMO_USERS]
    roles = {r: [u for u, role, _s in DEMO_USERS if role == r] for _u, r, _s in DEMO_USERS if r}
    accounts = await sign_up_accounts(backend, people, roles)
    manager = accounts["manager"]
    reps = [accounts[name] for name in REP_SHARES]
    stamps = _Stamps()

    companies: list[tuple[str, str, str, str]] = []  # (objectId, rep, name, domain)
    contacts: list[tuple[str, str, str, str, str]] = []  # (objectId, rep, company name, first, last)
    deals: list[_Deal] = []

    async def people_and_pipeline(u: objects.Unit) -> None:
        owners = [rep.username for rep in reps for _ in range(REP_SHARES[rep.username][0])]
        rng.shuffle(owners)
        for (name, industry, city, state, _area), owner in zip(COMPANIES, owners, strict=True):
            domain = slug(name).removesuffix("-co") + ".example"
            street = f"{rng.randint(10, 9800)} {rng.choice(STREETS)}"
            body: dict[str, Any] = {
                "name": name,
                "industry": industry,
                "website": domain,  # the rules normalise it to https://…
                "address": f"{street}, {city}, {state} {rng.randint(10001, 99950)}",
            }
            if rng.random() < 0.3:
                body["notes"] = f"Key account in {city}; {rng.choice(['expanding', 'consolidating', 'new'])} team."
            made = await objects.create(backend, accounts[owner].caller, "Company", body, unit=u)
            companies.append((made["objectId"], owner, name, domain))
            stamps.put("Company", made["objectId"], now - rng.uniform(200, 300) * DAY)
        at_company = [c for c in companies for _ in range(3)]
        at_company += rng.sample(companies, DEMO_CONTACTS - len(at_company))
        used: set[str] = set()
        for company_id, owner, company_name, domain in at_company:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            while f"{first} {last}" in used:
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            used.add(f"{first} {last}")
            area = next(c[4] for c in COMPANIES if c[0] == company_name)
            body = {
                "name": f"{first} {last}",
                "email": f"{ascii_only(first)}.{ascii_only(last)}@{domain}".replace(" ", ""),
                "phone": f"+1 ({area}) 555-01{rng.randint(0, 99):02d}",
                "title": rng.choice(TITLES),
                "company": pointer_json("Company", company_id),
            }
            made = await objects.create(backend, accounts[owner].caller, "Contact", body, unit=u)
            contacts.append((made["objectId"], owner, company_name, first, last))
            stamps.put("Contact", made["objectId"], now - rng.uniform(150, 200) * DAY)

        company_id_of = {c[2]: c[0] for c in companies}
        assigned = [rep.username for rep in reps for _ in range(REP_SHARES[rep.username][1])]
        rng.shuffle(assigned)
        finals = final_stages(rng, stages, len(assigned))
        for i, (rep_name, final) in enumerate(zip(assigned, finals, strict=True)):
            rep = accounts[rep_name]
            opener = manager if i % MANAGER_DEALS_EVERY == MANAGER_DEALS_EVERY - 1 else rep
            contact_id, _owner, company_name, _first, _last = rng.choice([c for c in contacts if c[1] == rep_name])
            product, low, high = rng.choice(PRODUCTS)
            amount = float(round(rng.uniform(low, high) / 500) * 500)
            path = stage_path(rng, stages, final)
            if final in CLOSED:
                close = now - rng.uniform(1, 90) * DAY
                times = spread_times(rng, close - rng.uniform(15, 60) * DAY, close, len(path))
            else:
                close = now + rng.uniform(-10, 90) * DAY
                opened = now - rng.uniform(5, 85) * DAY
                times = spread_times(rng, opened, now - rng.uniform(0, 0.9) * (now - opened), len(path))
            body = {
                "title": f"{company_name}: {product}",
                "amount": amount,
                "stage": path[0],
                "contact": pointer_json("Contact", contact_id),
                "company": pointer_json("Company", company_id_of[company_name]),
                "expectedCloseDate": date_json(close.replace(hour=17, minute=0, second=0, microsecond=0)),
                "assignedTo": rep.pointer,
            }
            if rng.random() < 0.35:
                body["notes"] = rng.choice(DEAL_NOTES)
            made = await objects.create(backend, opener.caller, "Deal", body, unit=u)
            for stage in path[1:]:  # the assignee moves the deal along: each move is a recorded stage change
                await objects.update(backend, rep.caller, "Deal", made["objectId"], {"stage": stage}, unit=u)
            deals.append(_Deal(made["objectId"], rep_name, amount, path, times, contact_id))
            stamps.put("Deal", made["objectId"], times[0], times[-1])
            stamps.stage_changes += [(made["objectId"], s, t) for s, t in zip(path, times, strict=True)]

    async def activities(u: objects.Unit) -> None:
        writers = [rep.username for rep in reps for _ in range(REP_SHARES[rep.username][2])]
        writers += [manager.username] * (DEMO_ACTIVITIES - len(writers))
        rng.shuffle(writers)
        contact_info = {c[0]: c for c in contacts}
        for writer in writers:
            account = accounts[writer]
            mine_deals = deals if writer == manager.username else [d for d in deals if d.rep == writer]
            mine_contacts = [c for c in contacts if writer == manager.username or c[1] == writer]
            kind = rng.choice(list(SUBJECTS))
            if rng.random() < 0.55:
                deal = rng.choice(mine_deals)
                related, contact = pointer_json("Deal", deal.id), contact_info[deal.contact]
                window = (deal.times[0], max(deal.times[-1], now + 30 * DAY if deal.path[-1] not in CLOSED else now))
            else:
                contact = rng.choice(mine_contacts)
                related, window = pointer_json("Contact", contact[0]), (now - 120 * DAY, now + 30 * DAY)
            _cid, _owner, company_name, first, _last = contact
            due = window[0] + rng.random() * (window[1] - window[0])
            words = {"first": first, "company": company_name, "topic": rng.choice(TOPICS)}
            body: dict[str, Any] = {
                "type": kind,
                "subject": rng.choice(SUBJECTS[kind]).format(**words),
                "dueDate": date_json(due),
                "relatedTo": related,
            }
            description = rng.choice(DESCRIPTIONS).format(**words)
            if description:
                body["description"] = description
            created = min(due, now) - rng.uniform(0.5, 10) * DAY
            updated = created
            if due < now and rng.random() < 0.85:
                done_at = min(due + rng.uniform(0, 36) * timedelta(hours=1), now)
                body["done"], body["completedAt"] = True, date_json(done_at)
                updated = done_at
            else:
                body["done"] = False
            made = await objects.create(backend, account.caller, "Activity", body, unit=u)
            stamps.put("Activity", made["objectId"], created, updated)
        await _apply_stamps(u, stamps)

    # Two transactions: the Activity rules read the deal or contact an activity is about, so those commit first.
    await objects.in_unit(backend, None, people_and_pipeline)
    await objects.in_unit(backend, None, activities)
    counts = await count_rows(backend)
    elapsed = time.perf_counter() - started
    out(
        f"demo data: {counts['_User']} users, {counts['Company']} companies, {counts['Contact']} contacts, "
        f"{counts['Deal']} deals ({counts['DealStageChange']} stage changes), {counts['Activity']} activities "
        f"in {elapsed:.1f} s"
    )
    out("demo logins (username / password):")
    for username, _role, sees in DEMO_USERS:
        out(f"  {username:<8} {demo_password(username):<14} sees {sees}")
    return counts


async def _apply_stamps(u: objects.Unit, stamps: _Stamps) -> None:
    """Spread the demo over past months: the hooks stamped everything 'now'; history should not all be today."""
    for cls, rows in stamps.rows.items():
        await u.conn.execute(
            f'UPDATE "{cls}" t SET "createdAt" = x.c, "updatedAt" = x.u '
            "FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[]) AS x(id, c, u) "
            'WHERE t."objectId" = x.id',
            list(rows),
            [c for c, _ in rows.values()],
            [v for _, v in rows.values()],
        )
    deal_ids, entered, when = zip(*stamps.stage_changes, strict=True) if stamps.stage_changes else ((), (), ())
    await u.conn.execute(
        'UPDATE "DealStageChange" h SET "changedAt" = x.t, "createdAt" = x.t, "updatedAt" = x.t '
        "FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS x(deal, stage, t) "
        'WHERE h."deal" = x.deal AND h."to" = x.stage',
        list(deal_ids),
        list(entered),
        list(when),
    )


SEEDED_CLASSES = ("_User", "_Role", "Company", "Contact", "Deal", "Activity", "DealStageChange")


async def count_rows(backend: Backend) -> dict[str, int]:
    return {cls: int(await backend.pool.fetchval(f'SELECT count(*) FROM "{cls}"')) for cls in SEEDED_CLASSES}


def run_demo_if_empty(settings: Settings | None = None, dsn: str | None = None) -> bool:
    """Seed the demo unless the database already has deals (what `crm serve --demo` runs before the server starts).
    Returns whether it seeded."""
    settings = settings or from_env()
    dsn = dsn or settings.database_url or os.environ["DATABASE_URL"]

    async def run(backend: Backend) -> bool:
        if await has_deals(backend):
            return False
        try:
            await seed_demo(backend)
        except ParseError as exc:  # e.g. demo users left by an interrupted seed: serve anyway, say why
            print(f"demo data not seeded: {exc.message}", file=sys.stderr)
            return False
        return True

    return asyncio.run(with_backend(settings, dsn, run))


async def with_backend(settings: Settings, dsn: str, work: Callable[[Backend], Any]) -> Any:
    """Open a Backend like a server process does (schema applied, CRM rules registered), run `work`, close it."""
    from ...asgi import build_cloud

    # a command is no request: its bulk statements (COPY, ANALYZE, long exports) run without the statement timeout
    backend = await Backend.open(replace(settings, statement_timeout_ms=0), dsn, build_cloud(settings))
    try:
        return await work(backend)
    finally:
        await backend.close()
