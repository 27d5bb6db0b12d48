"""The demo's content (companies, people, products, notes: what the seeds draw from), the seeding accounts, and
the helpers both seeds share."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ... import errors, objects, users
from ...backend import Backend
from ...errors import ParseError
from ...security.caller import ANONYMOUS, MASTER, Caller
from ...values import Pointer, iso

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
    found = await objects.query_json(backend, MASTER, "_Role", {"where": {"name": role}, "limit": 1})
    if not found:
        raise ParseError(errors.OBJECT_NOT_FOUND, f"role {role} does not exist (the CRM schema creates it at start-up)")
    members = [Pointer("_User", uid).to_json() for uid in user_ids]
    await objects.update(
        backend, MASTER, "_Role", found[0]["objectId"], {"users": {"__op": "AddRelation", "objects": members}}
    )


# -- helpers ------------------------------------------------------------------------------------------------------


def date_json(dt: datetime) -> dict[str, str]:
    return {"__type": "Date", "iso": iso(dt)}


def pointer_json(class_name: str, object_id: str) -> dict[str, str]:
    return Pointer(class_name, object_id).to_json()


def slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower().replace("&", "and").replace(".", "")).strip("-")


def ascii_only(text: str) -> str:
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


def spread_times(rng: random.Random, first: datetime, last: datetime, n: int) -> list[datetime]:
    """`n` increasing instants from `first` to `last` (inclusive): when each stage of a path was entered."""
    if n == 1:
        return [first]
    span = (last - first).total_seconds()
    inner = sorted(rng.uniform(0.05, 0.95) * span for _ in range(n - 2))
    return [first, *(first + timedelta(seconds=s) for s in inner), last]


def final_stages(rng: random.Random, stages: Sequence[str], n: int) -> list[str]:
    pool = [s for s in stages for _ in range(FINAL_STAGE_COUNTS.get(s, 6))]
    while len(pool) < n:
        pool += pool
    picked = pool[:n] if len(pool) == n else rng.sample(pool, n)
    rng.shuffle(picked)
    return picked
