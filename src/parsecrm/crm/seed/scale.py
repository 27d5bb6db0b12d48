"""Benchmark data (`crm seed --scale N`): large synthetic data written with COPY, rows built the way the hooks
build them (ACLs, createdBy/assignedTo, one stage-change row per move)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ... import objects
from ...backend import Backend
from ...security import acl as acl_mod
from ...values import Pointer
from .. import rules
from ..transfer import bulk_connection
from .content import (
    CLOSED,
    COMPANIES,
    DAY,
    DESCRIPTIONS,
    FINAL_STAGE_COUNTS,
    FIRST_NAMES,
    LAST_NAMES,
    MANAGER_DEALS_EVERY,
    PRODUCTS,
    STREETS,
    SUBJECTS,
    TITLES,
    TOPICS,
    Out,
    ascii_only,
    sign_up_accounts,
    slug,
    spread_times,
    stage_path,
)

# -- benchmark data -----------------------------------------------------------------------------------------------

SCALE_COUNTS = {"Company": 20_000, "Contact": 100_000, "Deal": 50_000, "Activity": 200_000}
SCALE_USERS = 50
ID_ALPHABET = objects.ID_ALPHABET
INDUSTRIES = sorted({c[1] for c in COMPANIES})
# fmt: off
WORDS = ["Blue", "Harbor", "Summit", "River", "Oak", "Pine", "Cedar", "Granite", "Silver", "North", "Bright", "Clear",
         "Swift", "Iron", "Maple", "Stone", "Lake", "Ridge", "Falcon", "Atlas", "Nova", "Vector", "Apex", "Zenith",
         "Orbit", "Prime", "Delta", "Lumen", "Terra", "Solar", "Echo", "Cobalt", "Amber", "Willow"]
SUFFIXES = ["Labs", "Systems", "Group", "Holdings", "Partners", "Industries", "Solutions", "Works", "Co", "GmbH"]
# fmt: on


def scale_counts(scale: float) -> dict[str, int]:
    return {cls: max(1, round(n * scale)) for cls, n in SCALE_COUNTS.items()}


def scale_password(username: str) -> str:
    """The benchmark's passwords (bench/dataset.py uses the same accounts), so a benchmark can log in here."""
    return f"pw-{username}-bench"


class _FastRandom(random.Random):
    """The same seeded generator with draws that skip `random.Random`'s exact rejection sampling: a benchmark needs
    a repeatable spread, not perfect uniformity, and choice/randint were most of the time spent building rows."""

    def choice(self, seq: Sequence[Any]) -> Any:  # type: ignore[override]
        return seq[int(self.random() * len(seq))]

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        low, high = (0, start) if stop is None else (start, stop)
        return low + int(self.random() * (high - low))

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))


_PAIRS = [a + b for a in ID_ALPHABET for b in ID_ALPHABET]


class _Ids:
    """Deterministic, unique objectIds from the seeded generator (same run, same ids: comparable benchmarks)."""

    def __init__(self, rng: random.Random) -> None:
        self.bits = rng.getrandbits
        self.seen: set[str] = set()

    def __call__(self) -> str:
        while True:
            n = self.bits(60)  # five base-3844 digits: ten characters of the objectId alphabet
            oid = _PAIRS[n % 3844] + _PAIRS[n // 3844 % 3844] + _PAIRS[n // 14776336 % 3844]
            oid += _PAIRS[n // 56800235584 % 3844] + _PAIRS[n // 218340105584896 % 3844]
            if oid not in self.seen:
                self.seen.add(oid)
                return oid


class _Acls:
    """(_rperm, _wperm, _acl) as the rules compute them for (owner, assignee), built once per pair."""

    def __init__(self) -> None:
        self.cache: dict[tuple[str, str | None], tuple[list[str], list[str], dict[str, Any] | None]] = {}

    def __call__(self, owner: str, other: str | None = None) -> tuple[list[str], list[str], dict[str, Any] | None]:
        key = (owner, other)
        if key not in self.cache:
            acl = rules._acl(Pointer("_User", owner), Pointer("_User", other) if other else None)
            self.cache[key] = acl_mod.columns(acl)
        return self.cache[key]


BASE_COLUMNS = ["objectId", "createdAt", "updatedAt", "_rperm", "_wperm", "_acl"]
SCALE_COLUMNS = {
    "Company": [*BASE_COLUMNS, "name", "website", "industry", "address", "createdBy"],
    "Contact": [*BASE_COLUMNS, "name", "email", "phone", "title", "company", "createdBy"],
    "Deal": [
        *BASE_COLUMNS,
        "title",
        "amount",
        "stage",
        "contact",
        "company",
        "expectedCloseDate",
        "assignedTo",
        "createdBy",
    ],
    "DealStageChange": [*BASE_COLUMNS, "deal", "from", "to", "changedBy", "changedAt"],
    "Activity": [
        *BASE_COLUMNS,
        "type",
        "subject",
        "description",
        "dueDate",
        "done",
        "completedAt",
        "relatedTo",
        "createdBy",
    ],
}


@dataclass
class _Plan:
    """What later classes need of earlier ones (by index), kept as flat lists to stay small at a million rows."""

    reps: list[str]
    manager: str
    companies_of: list[list[int]]  # per rep: indexes of their companies, contacts, deals
    contacts_of: list[list[int]]
    deals_of: list[list[int]]
    company_ids: list[str] = field(default_factory=list)
    company_owner: list[int] = field(default_factory=list)  # index into reps
    company_names: list[str] = field(default_factory=list)
    contact_ids: list[str] = field(default_factory=list)
    contact_company: list[int] = field(default_factory=list)
    deal_ids: list[str] = field(default_factory=list)
    history: list[tuple[Any, ...]] = field(default_factory=list)


def _companies(plan: _Plan, n: int, rng: random.Random, new_id: _Ids, acls: _Acls, now: datetime) -> Iterator[tuple]:
    for i in range(n):
        r = i % len(plan.reps)
        owner = plan.reps[r]
        name = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {rng.choice(SUFFIXES)} {i}"
        website = rules.normalise_website(f"www.{slug(name)}.example")
        created = now - rng.uniform(30, 400) * DAY
        oid = new_id()
        plan.company_ids.append(oid)
        plan.company_owner.append(r)
        plan.company_names.append(name)
        plan.companies_of[r].append(i)
        address = f"{rng.randint(1, 9999)} {rng.choice(STREETS)}, {rng.choice(COMPANIES)[2]}"
        yield (oid, created, created, *acls(owner), name, website, rng.choice(INDUSTRIES), address, owner)


def _contacts(plan: _Plan, n: int, rng: random.Random, new_id: _Ids, acls: _Acls, now: datetime) -> Iterator[tuple]:
    for i in range(n):
        r = i % len(plan.reps)
        owner = plan.reps[r]
        mine = plan.companies_of[r]
        ci = rng.choice(mine) if mine else rng.randrange(len(plan.company_ids))
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = rules.normalise_email(
            f"{ascii_only(first)}.{ascii_only(last)}.{i}@{slug(plan.company_names[ci])}.example"
        )
        created = now - rng.uniform(20, 300) * DAY
        oid = new_id()
        plan.contact_ids.append(oid)
        plan.contact_company.append(ci)
        plan.contacts_of[r].append(i)
        phone = f"+1 ({rng.randint(201, 989)}) 555-01{rng.randint(0, 99):02d}"
        yield (
            oid,
            created,
            created,
            *acls(owner),
            f"{first} {last}",
            email,
            phone,
            rng.choice(TITLES),
            plan.company_ids[ci],
            owner,
        )


def _deals(
    plan: _Plan, n: int, rng: random.Random, new_id: _Ids, acls: _Acls, now: datetime, stages: Sequence[str]
) -> Iterator[tuple]:
    weights = [FINAL_STAGE_COUNTS.get(s, 6) for s in stages]
    for i in range(n):
        r = i % len(plan.reps)
        rep = plan.reps[r]
        opener = plan.manager if i % MANAGER_DEALS_EVERY == MANAGER_DEALS_EVERY - 1 else rep
        mine = plan.contacts_of[r]
        ki = rng.choice(mine) if mine else rng.randrange(len(plan.contact_ids))
        ci = plan.contact_company[ki]
        product, low, high = rng.choice(PRODUCTS)
        final = rng.choices(stages, weights)[0]
        path = stage_path(rng, stages, final)
        if final in CLOSED:
            close = now - rng.uniform(1, 180) * DAY
            times = spread_times(rng, close - rng.uniform(10, 90) * DAY, close, len(path))
        else:
            close = now + rng.uniform(-15, 180) * DAY
            opened = now - rng.uniform(2, 120) * DAY
            times = spread_times(rng, opened, now - rng.uniform(0, 0.9) * (now - opened), len(path))
        oid = new_id()
        cols = acls(opener, rep)
        plan.deal_ids.append(oid)
        plan.deals_of[r].append(i)
        # what the Deal rule records: the opening stage by the opener, then each move by the assignee
        for k, (stage, at) in enumerate(zip(path, times, strict=True)):
            before = path[k - 1] if k else None
            plan.history.append((new_id(), at, at, *cols, oid, before, stage, opener if k == 0 else rep, at))
        yield (
            oid,
            times[0],
            times[-1],
            *cols,
            f"{product} for {plan.company_names[ci]}",
            float(round(rng.uniform(low, high) / 100) * 100),
            path[-1],
            plan.contact_ids[ki],
            plan.company_ids[ci],
            close,
            rep,
            opener,
        )


def _activities(plan: _Plan, n: int, rng: random.Random, new_id: _Ids, acls: _Acls, now: datetime) -> Iterator[tuple]:
    kinds = list(SUBJECTS)
    for i in range(n):
        r = i % len(plan.reps)
        owner = plan.reps[r]
        kind = rng.choice(kinds)
        due = now + rng.uniform(-365, 90) * DAY
        if rng.random() < 0.5 and plan.deals_of[r]:
            related = "Deal$" + plan.deal_ids[rng.choice(plan.deals_of[r])]
            cols = acls(owner, owner)  # the rule adds the deal's assignee: this rep
        else:
            mine = plan.contacts_of[r]
            related = "Contact$" + plan.contact_ids[rng.choice(mine) if mine else rng.randrange(len(plan.contact_ids))]
            cols = acls(owner)
        words = {"first": rng.choice(FIRST_NAMES), "company": rng.choice(WORDS), "topic": rng.choice(TOPICS)}
        subject = rng.choice(SUBJECTS[kind]).format(**words)
        description = rng.choice(DESCRIPTIONS).format(**words) or None
        created = min(due, now) - rng.uniform(0.5, 20) * DAY
        done = due < now and rng.random() < 0.7
        completed = min(due + rng.uniform(0, 48) * timedelta(hours=1), now) if done else None
        yield (
            new_id(),
            created,
            completed or created,
            *cols,
            kind,
            subject,
            description,
            due,
            done,
            completed,
            related,
            owner,
        )


async def seed_scale(backend: Backend, scale: float, seed: int = 42, out: Out = print) -> dict[str, int]:
    """Bulk-load benchmark data (see the module docstring); prints and returns rows per class."""
    if scale <= 0:
        raise ValueError("scale must be positive")
    counts = scale_counts(scale)
    names = ["manager"] + [f"rep{i:02d}" for i in range(1, SCALE_USERS)]
    busy = await backend.pool.fetchval(
        'SELECT EXISTS (SELECT 1 FROM "Company") OR EXISTS (SELECT 1 FROM "Contact") OR EXISTS (SELECT 1 FROM "Deal") '
        'OR EXISTS (SELECT 1 FROM "Activity") OR EXISTS (SELECT 1 FROM "_User" WHERE "username" = ANY($1::text[]))',
        names,
    )
    if busy:
        raise SystemExit("seed --scale needs a database without CRM data or benchmark users; use a fresh database")
    rng = _FastRandom(seed)
    now = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    t0 = time.perf_counter()
    people = [(u, scale_password(u), f"{u}@bench.example.com") for u in names]
    accounts = await sign_up_accounts(backend, people, {"Managers": ["manager"]})
    t_users = time.perf_counter() - t0
    out(f"  _User      {len(names):>8} rows in {t_users:6.1f} s (bcrypt sign-ups through users.sign_up)")
    reps = [accounts[u].id for u in names[1:]]
    plan = _Plan(reps, accounts["manager"].id, [[] for _ in reps], [[] for _ in reps], [[] for _ in reps])
    new_id, acls = _Ids(rng), _Acls()
    stages = backend.settings.deal_stages
    loads: list[tuple[str, Callable[[], Iterator[tuple]]]] = [
        ("Company", lambda: _companies(plan, counts["Company"], rng, new_id, acls, now)),
        ("Contact", lambda: _contacts(plan, counts["Contact"], rng, new_id, acls, now)),
        ("Deal", lambda: _deals(plan, counts["Deal"], rng, new_id, acls, now, stages)),
        ("DealStageChange", lambda: iter(plan.history)),
        ("Activity", lambda: _activities(plan, counts["Activity"], rng, new_id, acls, now)),
    ]
    written: dict[str, int] = {"_User": len(names)}
    t_rows = time.perf_counter()
    async with bulk_connection(backend) as conn, conn.transaction():
        await conn.execute("SET LOCAL synchronous_commit = off")
        await conn.execute("SET LOCAL parsecrm.live_capture = off")  # no live-query events (livequery/feed.py)
        for cls, rows in loads:
            t = time.perf_counter()
            result = await conn.copy_records_to_table(cls, records=rows(), columns=SCALE_COLUMNS[cls])
            written[cls] = int(result.split()[-1])
            dt = time.perf_counter() - t
            out(f"  {cls:<15} {written[cls]:>8} rows in {dt:6.1f} s = {written[cls] / dt:>9,.0f} rows/s")
        plan.history.clear()
    t_analyze = time.perf_counter()
    for cls in ("_User", *SCALE_COLUMNS):
        await backend.pool.execute(f'ANALYZE "{cls}"')
    total = sum(v for k, v in written.items() if k != "_User")
    elapsed = time.perf_counter() - t_rows
    out(
        f"  {total:,} rows in {elapsed:.1f} s = {total / elapsed:,.0f} rows/s "
        f"(ANALYZE {time.perf_counter() - t_analyze:.1f} s; users {t_users:.1f} s)"
    )
    out(f"  logins: manager / {scale_password('manager')}, rep01 … rep{SCALE_USERS - 1:02d} / pw-<username>-bench")
    return written
