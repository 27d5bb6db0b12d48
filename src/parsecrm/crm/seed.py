"""Demo data (`crm seed --demo`, `crm serve --demo`) and benchmark data (`crm seed --scale N`).

The demo is written the way the app writes: every object is created, and every deal moved through its stages, by
`objects.create`/`objects.update` running as the user who owns it, so the CRM's hooks stamp `createdBy`, compute the
ACLs and record the stage history exactly as they do for real clients. Only timestamps are rewritten afterwards, so
the demo reads like months of work (and pipeline analytics have durations to average) rather than one second's.

The benchmark data is too large for that path, so it is written with COPY, bypassing the hooks; the rows are built
the way the hooks build them (the rules' own ACL function, `createdBy`/`assignedTo`, one stage-change row per move),
so reads, permissions and analytics behave on it exactly as on data written through the API.

Both are deterministic: one seeded `random.Random` decides every name, amount, date and owner.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .. import errors, objects, users
from ..backend import Backend
from ..errors import ParseError
from ..security import acl as acl_mod
from ..security.caller import ANONYMOUS, MASTER, Caller
from ..settings import Settings, from_env
from ..values import Pointer, iso
from . import rules
from .transfer import bulk_connection

DEMO_SEED = 20260101
DAY = timedelta(days=1)
CLOSED = ("won", "lost")
Out = Callable[[str], None]

# -- demo content -------------------------------------------------------------------------------------------------

# fmt: off
# (name, industry, city, state, area code). Fictional companies; websites and e-mail use the reserved `.example`
# top-level domain and phone numbers the 555-01xx range kept for fiction, so nothing here reaches a real party.
COMPANIES = [
    ("Northwind Traders", "Wholesale", "Seattle", "WA", "206"),
    ("Brightwater Analytics", "Software", "Austin", "TX", "512"),
    ("Cobalt Ridge Manufacturing", "Manufacturing", "Cleveland", "OH", "216"),
    ("Harbor & Finch Legal", "Legal services", "Boston", "MA", "617"),
    ("Lumen Health Partners", "Healthcare", "Denver", "CO", "303"),
    ("Silverline Logistics", "Logistics", "Memphis", "TN", "901"),
    ("Tidewater Energy", "Energy", "Houston", "TX", "713"),
    ("Maple Grove Foods", "Food & beverage", "Minneapolis", "MN", "612"),
    ("Quarry Stone Architects", "Architecture", "Portland", "OR", "503"),
    ("Redwood Financial Group", "Financial services", "San Francisco", "CA", "415"),
    ("Atlas Freight Systems", "Logistics", "Kansas City", "MO", "816"),
    ("Bluebird Retail Co.", "Retail", "Atlanta", "GA", "404"),
    ("Granite Peak Outfitters", "Retail", "Salt Lake City", "UT", "801"),
    ("Helix Biotech", "Biotechnology", "San Diego", "CA", "619"),
    ("Ironclad Security", "Cybersecurity", "Arlington", "VA", "703"),
    ("Juniper Learning", "Education", "Raleigh", "NC", "919"),
    ("Keystone Property Management", "Real estate", "Philadelphia", "PA", "215"),
    ("Lakeshore Hospitality", "Hospitality", "Chicago", "IL", "312"),
    ("Meridian Media", "Media", "New York", "NY", "212"),
    ("Nimbus Cloud Services", "Software", "Seattle", "WA", "425"),
    ("Orchard Valley Farms", "Agriculture", "Fresno", "CA", "559"),
    ("Pinecrest Insurance", "Insurance", "Hartford", "CT", "860"),
    ("Summit Dental Care", "Healthcare", "Phoenix", "AZ", "602"),
    ("Vantage Point Consulting", "Consulting", "Washington", "DC", "202"),
    ("Willow Creek Construction", "Construction", "Nashville", "TN", "615"),
]
STREETS = ["Main St", "Harbor Way", "Market St", "Oak Ave", "Industrial Pkwy", "Commerce Dr", "Lake Shore Blvd",
           "Pine St", "Elm St", "Riverside Dr", "Park Ave", "Technology Way", "Mill Rd", "Union Sq"]
FIRST_NAMES = ["Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Lucas", "Mia",
               "Mateo", "Amelia", "Ethan", "Harper", "Daniel", "Evelyn", "Henry", "Abigail", "Samuel", "Priya",
               "Wei", "Fatima", "Diego", "Aisha", "Kenji", "Sofia", "Omar", "Grace", "Tomás", "Hannah", "Ravi",
               "Chloe", "Jamal", "Nora", "Felix", "Leah", "Andre", "Maya", "Victor"]
LAST_NAMES = ["Anderson", "Nguyen", "Patel", "Garcia", "Kim", "Müller", "Okafor", "Rossi", "Johnson", "Chen",
              "Martinez", "Williams", "Haddad", "Schmidt", "Brown", "Silva", "Tanaka", "Cohen", "Davis", "Novak",
              "Lopez", "Walker", "Khan", "Murphy", "Fischer", "Reyes", "Bennett", "Sato", "Ibrahim"]
TITLES = ["CEO", "CFO", "CTO", "VP of Sales", "VP of Operations", "Head of Procurement", "IT Director",
          "Operations Manager", "Office Manager", "Purchasing Lead", "Marketing Director", "Finance Manager",
          "Facilities Manager", "Head of People", "Product Manager"]
# (product, lowest amount, highest amount)
PRODUCTS = [
    ("Annual licence", 12_000, 60_000),
    ("Pilot project", 5_000, 15_000),
    ("Support renewal", 3_000, 20_000),
    ("Platform rollout", 40_000, 150_000),
    ("Training package", 2_000, 8_000),
    ("Integration services", 15_000, 45_000),
    ("Multi-year expansion", 80_000, 250_000),
    ("Hardware refresh", 20_000, 90_000),
]
DEAL_NOTES = [
    "Budget is approved; legal review pending.",
    "Competing with an incumbent vendor on price.",
    "Champion is enthusiastic, economic buyer not yet engaged.",
    "Asked for a reference customer in the same industry.",
    "Procurement wants net-60 payment terms.",
    "Timeline depends on their fiscal year start.",
]
TOPICS = ["pricing", "the contract draft", "the rollout plan", "security questionnaire", "onboarding", "renewal terms",
          "the proposal", "integration scope", "training schedule", "Q3 budget"]
SUBJECTS = {
    "call": ["Discovery call with {first}", "Follow-up call about {topic}", "Check-in call with {first}",
             "Call {first} back about {topic}"],
    "email": ["Send proposal to {first}", "Email recap of {topic}", "Share case study with {first}",
              "Answer {first}'s questions on {topic}"],
    "meeting": ["On-site demo at {company}", "Quarterly business review with {company}", "Kick-off meeting",
                "Negotiation meeting about {topic}"],
    "note": ["{first} is the decision maker", "Competitor also shortlisted", "Prefers e-mail over calls",
             "Budget confirmed for {topic}"],
}
DESCRIPTIONS = [
    "Walk through the open questions and agree on next steps.",
    "{first} asked for a revised quote including the support tier.",
    "Bring the implementation timeline and two customer references.",
    "Keep it short: fifteen minutes, decision expected this week.",
    "Loop in their IT team; they own the integration work.",
    "Summarise what was agreed and attach the updated pricing sheet.",
    "",
]
# How many of the 60 demo deals end in each stage: a funnel, with closed deals on both sides.
FINAL_STAGE_COUNTS = {"lead": 14, "qualified": 11, "proposal": 9, "negotiation": 7, "won": 11, "lost": 8}
# fmt: on

DEMO_USERS = [  # (username, role, what they see)
    ("manager", "Managers", "every record (role Managers)"),
    ("admin", "Admins", "every record (role Admins, inherits Managers)"),
    ("alice", None, "her own companies, contacts, deals and activities"),
    ("bob", None, "his own records"),
    ("carol", None, "her own records"),
]
# Per rep: companies, deals assigned, activities written (the manager writes the remaining activities).
REP_SHARES = {"alice": (10, 24, 70), "bob": (8, 20, 60), "carol": (7, 16, 50)}
DEMO_CONTACTS = 80
DEMO_ACTIVITIES = 200
MANAGER_DEALS_EVERY = 6  # every sixth deal is opened by the manager and assigned to a rep


def demo_password(username: str) -> str:
    return f"demo-{username}"


# -- accounts -----------------------------------------------------------------------------------------------------


@dataclass
class Account:
    """A signed-up user and the Caller the server would build from their session (id, roles, token)."""

    username: str
    password: str
    caller: Caller

    @property
    def id(self) -> str:
        assert self.caller.user_id is not None
        return self.caller.user_id

    @property
    def pointer(self) -> dict[str, str]:
        return Pointer("_User", self.id).to_json()


async def sign_up_accounts(
    backend: Backend, people: Sequence[tuple[str, str, str]], roles: dict[str, list[str]]
) -> dict[str, Account]:
    """Sign up (username, password, email) through `users.sign_up`, add members to roles with the master key, then
    resolve each session like a request would, so the callers carry the roles they now hold."""
    gate = asyncio.Semaphore(max(1, backend.settings.db_pool_size - 2))

    async def one(username: str, password: str, email: str) -> dict[str, Any]:
        async with gate:  # bcrypt runs in threads; the gate keeps connections free for the rest
            return await users.sign_up(backend, ANONYMOUS, {"username": username, "password": password, "email": email})

    made = await asyncio.gather(*(one(*p) for p in people))
    ids = {p[0]: r["objectId"] for p, r in zip(people, made, strict=True)}
    for role, members in roles.items():
        await add_to_role(backend, role, [ids[m] for m in members])
    accounts: dict[str, Account] = {}
    for (username, password, _email), response in zip(people, made, strict=True):
        token = response["sessionToken"]
        info = await backend.sessions.resolve(token)
        caller = Caller(user_id=info.user_id, user=info.user, roles=info.roles, session_token=token)
        accounts[username] = Account(username, password, caller)
    return accounts


async def add_to_role(backend: Backend, role: str, user_ids: list[str]) -> None:
    found = await objects.query(backend, MASTER, "_Role", {"where": {"name": role}, "limit": 1})
    if not found:
        raise ParseError(errors.OBJECT_NOT_FOUND, f"role {role} does not exist (the CRM schema creates it at start-up)")
    members = [Pointer("_User", uid).to_json() for uid in user_ids]
    await objects.update(
        backend, MASTER, "_Role", found[0]["objectId"], {"users": {"__op": "AddRelation", "objects": members}}
    )


# -- helpers ------------------------------------------------------------------------------------------------------


def _date(dt: datetime) -> dict[str, str]:
    return {"__type": "Date", "iso": iso(dt)}


def _ptr(class_name: str, object_id: str) -> dict[str, str]:
    return Pointer(class_name, object_id).to_json()


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower().replace("&", "and").replace(".", "")).strip("-")


def _ascii(text: str) -> str:
    return text.translate(str.maketrans("äöüéáíóúñ", "aoueaioun"))


def stage_path(rng: random.Random, stages: Sequence[str], final: str) -> list[str]:
    """The stages a deal went through to reach `final`, in order: open stages from where it entered the pipeline,
    then `won` (after the last open stage) or `lost` (from wherever it stalled)."""
    open_stages = [s for s in stages if s not in CLOSED]
    start = 1 if rng.random() < 0.2 and len(open_stages) > 1 else 0  # some deals come in already qualified
    if final in open_stages:
        end = open_stages.index(final)
        return open_stages[min(start, end) : end + 1]
    if final == "won":
        return [*open_stages[start:], "won"]
    stalled = rng.randrange(start, len(open_stages)) if open_stages else 0
    return [*open_stages[start : stalled + 1], final]


def _times(rng: random.Random, first: datetime, last: datetime, n: int) -> list[datetime]:
    """`n` increasing instants from `first` to `last` (inclusive): when each stage of a path was entered."""
    if n == 1:
        return [first]
    span = (last - first).total_seconds()
    inner = sorted(rng.uniform(0.05, 0.95) * span for _ in range(n - 2))
    return [first, *(first + timedelta(seconds=s) for s in inner), last]


def _final_stages(rng: random.Random, stages: Sequence[str], n: int) -> list[str]:
    pool = [s for s in stages for _ in range(FINAL_STAGE_COUNTS.get(s, 6))]
    while len(pool) < n:
        pool += pool
    picked = pool[:n] if len(pool) == n else rng.sample(pool, n)
    rng.shuffle(picked)
    return picked


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
            domain = _slug(name).removesuffix("-co") + ".example"
            street = f"{rng.randint(10, 9800)} {rng.choice(STREETS)}"
            body = {
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
                "email": f"{_ascii(first)}.{_ascii(last)}@{domain}".replace(" ", ""),
                "phone": f"+1 ({area}) 555-01{rng.randint(0, 99):02d}",
                "title": rng.choice(TITLES),
                "company": _ptr("Company", company_id),
            }
            made = await objects.create(backend, accounts[owner].caller, "Contact", body, unit=u)
            contacts.append((made["objectId"], owner, company_name, first, last))
            stamps.put("Contact", made["objectId"], now - rng.uniform(150, 200) * DAY)

        company_id_of = {c[2]: c[0] for c in companies}
        assigned = [rep.username for rep in reps for _ in range(REP_SHARES[rep.username][1])]
        rng.shuffle(assigned)
        finals = _final_stages(rng, stages, len(assigned))
        for i, (rep_name, final) in enumerate(zip(assigned, finals, strict=True)):
            rep = accounts[rep_name]
            opener = manager if i % MANAGER_DEALS_EVERY == MANAGER_DEALS_EVERY - 1 else rep
            contact_id, _owner, company_name, _first, _last = rng.choice([c for c in contacts if c[1] == rep_name])
            product, low, high = rng.choice(PRODUCTS)
            amount = float(round(rng.uniform(low, high) / 500) * 500)
            path = stage_path(rng, stages, final)
            if final in CLOSED:
                close = now - rng.uniform(1, 90) * DAY
                times = _times(rng, close - rng.uniform(15, 60) * DAY, close, len(path))
            else:
                close = now + rng.uniform(-10, 90) * DAY
                opened = now - rng.uniform(5, 85) * DAY
                times = _times(rng, opened, now - rng.uniform(0, 0.9) * (now - opened), len(path))
            body: dict[str, Any] = {
                "title": f"{company_name}: {product}",
                "amount": amount,
                "stage": path[0],
                "contact": _ptr("Contact", contact_id),
                "company": _ptr("Company", company_id_of[company_name]),
                "expectedCloseDate": _date(close.replace(hour=17, minute=0, second=0, microsecond=0)),
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
                related, contact = _ptr("Deal", deal.id), contact_info[deal.contact]
                window = (deal.times[0], max(deal.times[-1], now + 30 * DAY if deal.path[-1] not in CLOSED else now))
            else:
                contact = rng.choice(mine_contacts)
                related, window = _ptr("Contact", contact[0]), (now - 120 * DAY, now + 30 * DAY)
            _cid, _owner, company_name, first, _last = contact
            due = window[0] + rng.random() * (window[1] - window[0])
            words = {"first": first, "company": company_name, "topic": rng.choice(TOPICS)}
            body: dict[str, Any] = {
                "type": kind,
                "subject": rng.choice(SUBJECTS[kind]).format(**words),
                "dueDate": _date(due),
                "relatedTo": related,
            }
            description = rng.choice(DESCRIPTIONS).format(**words)
            if description:
                body["description"] = description
            created = min(due, now) - rng.uniform(0.5, 10) * DAY
            updated = created
            if due < now and rng.random() < 0.85:
                done_at = min(due + rng.uniform(0, 36) * timedelta(hours=1), now)
                body["done"], body["completedAt"] = True, _date(done_at)
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
    from ..asgi import build_cloud

    backend = await Backend.open(settings, dsn, build_cloud(settings))
    try:
        return await work(backend)
    finally:
        await backend.close()


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

    def choice(self, seq: Sequence[Any]) -> Any:
        return seq[int(self.random() * len(seq))]

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:  # type: ignore[override]
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
        website = rules.normalise_website(f"www.{_slug(name)}.example")
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
        email = rules.normalise_email(f"{_ascii(first)}.{_ascii(last)}.{i}@{_slug(plan.company_names[ci])}.example")
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
            times = _times(rng, close - rng.uniform(10, 90) * DAY, close, len(path))
        else:
            close = now + rng.uniform(-15, 180) * DAY
            opened = now - rng.uniform(2, 120) * DAY
            times = _times(rng, opened, now - rng.uniform(0, 0.9) * (now - opened), len(path))
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
