"""The CRM dataset, created through the public Parse REST API only.

Default size (scale 1): 50 users (1 manager in role Managers, 49 reps), 20k companies, 100k contacts, 50k deals,
200k activities. `scale` multiplies the object counts (users stay 50 unless `users` is given).

Every object is created by the rep who owns it (their session token), in `/batch` requests of 50 creates, several
batches in flight; the server's own rules set ACLs. Only the Managers role is created with the master key.
The content is deterministic for a given seed (objectIds are the server's).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bench.client import Api, HTTPError

STAGES = ["lead", "qualified", "proposal", "negotiation", "won", "lost"]
STAGE_WEIGHTS = [30, 20, 15, 10, 15, 10]
ACTIVITY_TYPES = ["call", "email", "meeting", "note"]
BASE_DATE = datetime(2026, 1, 1, tzinfo=UTC)

FIRST = """
james mary robert patricia john jennifer michael linda david elizabeth william barbara richard susan
joseph jessica thomas sarah charles karen christopher lisa daniel nancy matthew betty anthony
margaret mark sandra donald ashley steven kimberly paul emily andrew donna joshua michelle kenneth
carol kevin amanda brian dorothy george melissa timothy deborah ronald stephanie edward rebecca
jason sharon jeffrey laura ryan cynthia jacob kathleen gary amy nicholas angela eric shirley
jonathan anna stephen brenda larry pamela justin emma scott nicole brandon helen benjamin samantha
samuel katherine gregory christine alexander debra frank rachel patrick carolyn raymond janet jack
catherine dennis maria jerry heather tyler diane aaron ruth jose julie
""".split()  # noqa: SIM905
LAST = """
smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez lopez gonzalez
wilson anderson thomas taylor moore jackson martin lee perez thompson white harris sanchez clark
ramirez lewis robinson walker young allen king wright scott torres nguyen hill flores green adams
nelson baker hall rivera campbell mitchell carter roberts gomez phillips evans turner diaz parker
cruz edwards collins reyes stewart morris morales murphy cook rogers gutierrez ortiz morgan cooper
peterson bailey reed kelly howard ramos kim cox ward richardson watson brooks chavez wood james
bennett gray mendoza ruiz hughes price alvarez castillo sanders patel myers long ross foster jimenez
powell jenkins perry russell sullivan bell coleman butler
""".split()  # noqa: SIM905
WORDS = """
blue harbor summit river oak pine cedar granite silver north bright clear swift iron maple stone
lake ridge falcon eagle atlas nova vector quantum apex zenith orbit pixel prime delta alpha omega
lumen terra aqua solar lunar echo vertex cobalt amber crimson ivory onyx jade opal ruby sapphire
topaz violet willow
""".split()  # noqa: SIM905
SUFFIX = ["Labs", "Systems", "Group", "Holdings", "Partners", "Industries", "Solutions", "Works", "Co", "GmbH"]
INDUSTRIES = ["software", "retail", "manufacturing", "finance", "healthcare", "logistics", "energy", "media"]
PRODUCTS = ["licence", "renewal", "upgrade", "pilot", "rollout", "support plan", "training", "integration"]
TOPICS = ["pricing", "contract", "demo", "follow-up", "kickoff", "renewal", "onboarding", "feedback", "budget"]

BASE_COUNTS = {"Company": 20_000, "Contact": 100_000, "Deal": 50_000, "Activity": 200_000}
BATCH = 50


def date(d: datetime) -> dict:
    return {"__type": "Date", "iso": d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"}


def pointer(cls: str, oid: str) -> dict:
    return {"__type": "Pointer", "className": cls, "objectId": oid}


def password_for(username: str) -> str:
    return f"pw-{username}-bench"


@dataclass
class User:
    username: str
    password: str
    objectId: str = ""
    session: str = ""
    manager: bool = False


@dataclass
class Dataset:
    """What the scenarios need to know about the loaded data."""

    url: str
    scale: float
    seed: int
    users: list[User]
    counts: dict[str, int]
    # per rep objectId -> that rep's deal ids / contact ids (in creation order)
    deals: dict[str, list[str]] = field(default_factory=dict)
    contacts: dict[str, list[str]] = field(default_factory=dict)
    load: dict = field(default_factory=dict)  # timing figures

    @property
    def reps(self) -> list[User]:
        return [u for u in self.users if not u.manager]

    def to_json(self) -> dict:
        return {
            "url": self.url,
            "scale": self.scale,
            "seed": self.seed,
            "users": [{"username": u.username, "objectId": u.objectId, "manager": u.manager} for u in self.users],
            "counts": self.counts,
            "deals": self.deals,
            "contacts": {k: v[:200] for k, v in self.contacts.items()},
            "load": self.load,
        }

    @classmethod
    def from_json(cls, d: dict) -> Dataset:
        users = [User(u["username"], password_for(u["username"]), u["objectId"], "", u["manager"]) for u in d["users"]]
        return cls(d["url"], d["scale"], d["seed"], users, d["counts"], d["deals"], d["contacts"], d["load"])

    def save(self, path: str) -> None:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            json.dump(self.to_json(), f)

    @classmethod
    def read(cls, path: str) -> Dataset:
        with open(path) as f:
            return cls.from_json(json.load(f))


def counts_for(scale: float) -> dict[str, int]:
    return {k: max(1, round(v * scale)) for k, v in BASE_COUNTS.items()}


class Loader:
    def __init__(self, host: str, port: int, mount: str, concurrency: int, log=print):
        self.host, self.port, self.mount = host, port, mount
        self.concurrency = concurrency
        self.log = log
        self.errors: list[str] = []

    def api(self) -> Api:
        return Api(self.host, self.port, self.mount)

    async def run_parallel(self, jobs: list, fn) -> list:
        """Run `fn(api, job)` for each job with `concurrency` workers, one connection each; keep order."""
        results: list = [None] * len(jobs)
        queue: asyncio.Queue = asyncio.Queue()
        for i, j in enumerate(jobs):
            queue.put_nowait((i, j))

        async def worker() -> None:
            api = self.api()
            try:
                while True:
                    try:
                        i, j = queue.get_nowait()
                    except asyncio.QueueEmpty:
                        return
                    results[i] = await fn(api, j)
            finally:
                api.close()

        await asyncio.gather(*(worker() for _ in range(self.concurrency)))
        return results

    async def create_batches(self, cls: str, objs: list[tuple[User, dict]]) -> tuple[list[str], float]:
        """Create objects (owner, body) in /batch requests of BATCH creates by one owner; returns ids, seconds."""
        by_owner: dict[str, list[int]] = {}
        for i, (u, _) in enumerate(objs):
            by_owner.setdefault(u.username, []).append(i)
        users = {u.username: u for u, _ in objs}
        jobs = []
        for name, idx in by_owner.items():
            for k in range(0, len(idx), BATCH):
                jobs.append((users[name], idx[k : k + BATCH]))
        # interleave owners so concurrent batches come from different users
        jobs.sort(key=lambda j: (j[1][0] // (BATCH * len(by_owner) or 1), j[1][0]))
        ids: list[str] = [""] * len(objs)
        path = f"{self.mount}/classes/{cls}"

        async def send(api: Api, job) -> None:
            user, idx = job
            reqs = [{"method": "POST", "path": path, "body": objs[i][1]} for i in idx]
            res = await api.call("POST", "/batch", {"requests": reqs}, session=user.session)
            if not isinstance(res, list) or len(res) != len(idx):
                raise RuntimeError(f"batch answer of wrong shape: {str(res)[:300]}")
            for i, r in zip(idx, res, strict=True):
                if "success" in r:
                    ids[i] = r["success"]["objectId"]
                else:
                    self.errors.append(f"{cls}: {r.get('error')}")

        t0 = time.perf_counter()
        await self.run_parallel(jobs, send)
        dt = time.perf_counter() - t0
        if self.errors:
            raise RuntimeError(f"{len(self.errors)} create errors, first: {self.errors[:3]}")
        return ids, dt


async def add_to_role(api: Api, role: str, user: User) -> None:
    """Create the role with the user in it (master key); if the server already has the role (137), add the user."""
    add = {"__op": "AddRelation", "objects": [pointer("_User", user.objectId)]}
    try:
        await api.call("POST", "/roles", {"name": role, "ACL": {"*": {"read": True}}, "users": add}, master=True)
        return
    except HTTPError as e:
        if b'"code":137' not in e.body.replace(b" ", b""):
            raise
    found = await api.call("GET", "/roles" + f"?where=%7B%22name%22%3A%22{role}%22%7D", master=True)
    role_id = found["results"][0]["objectId"]
    await api.call("PUT", f"/roles/{role_id}", {"users": add}, master=True)


async def login_all(host: str, port: int, mount: str, users: list[User], concurrency: int = 4) -> None:
    """Log every user in (fresh session tokens)."""
    loader = Loader(host, port, mount, concurrency)

    async def one(api: Api, u: User) -> None:
        r = await api.call("POST", "/login", {"username": u.username, "password": u.password})
        u.session = r["sessionToken"]
        u.objectId = r["objectId"]

    await loader.run_parallel(users, one)


async def load(
    host: str,
    port: int,
    mount: str,
    url: str,
    scale: float = 1.0,
    seed: int = 42,
    concurrency: int = 4,
    n_users: int = 50,
    log=print,
) -> Dataset:
    counts = counts_for(scale)
    loader = Loader(host, port, mount, concurrency, log)
    t_start = time.perf_counter()

    # users: 1 manager + reps, signed up through the public API
    users = [User("manager", password_for("manager"), manager=True)]
    users += [User(f"rep{i:02d}", password_for(f"rep{i:02d}")) for i in range(1, n_users)]

    async def signup(api: Api, u: User) -> None:
        body = {"username": u.username, "password": u.password, "email": f"{u.username}@bench.example.com"}
        r = await api.call("POST", "/users", body)
        u.objectId, u.session = r["objectId"], r["sessionToken"]

    t0 = time.perf_counter()
    await loader.run_parallel(users, signup)
    t_users = time.perf_counter() - t0

    api = loader.api()
    try:
        await add_to_role(api, "Managers", users[0])
    finally:
        api.close()

    reps = users[1:]
    nrep = len(reps)
    ds = Dataset(url, scale, seed, users, counts)
    timings: dict[str, dict] = {}

    def timing(cls: str, n: int, dt: float) -> None:
        timings[cls] = {"objects": n, "seconds": round(dt, 2), "objects_per_s": round(n / dt, 1) if dt else 0}
        log(f"  {cls:9s} {n:7d} objects in {dt:7.1f} s = {n / dt:8.0f} objects/s")

    # Companies: owned round-robin by reps
    rng = random.Random(f"{seed}-company")
    comp_owner = [reps[i % nrep] for i in range(counts["Company"])]
    companies = []
    for i in range(counts["Company"]):
        name = f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()} {rng.choice(SUFFIX)} {i}"
        companies.append(
            {
                "name": name,
                "website": f"https://www.{name.split()[0].lower()}{i}.example.com",
                "industry": rng.choice(INDUSTRIES),
                "address": f"{rng.randint(1, 999)} {rng.choice(WORDS).title()} Street, {rng.choice(WORDS).title()}",
            }
        )
    comp_ids, dt = await loader.create_batches("Company", list(zip(comp_owner, companies, strict=True)))
    timing("Company", len(comp_ids), dt)
    comps_of: dict[str, list[int]] = {}
    for i, u in enumerate(comp_owner):
        comps_of.setdefault(u.username, []).append(i)

    # Contacts: each at a company of the same rep
    rng = random.Random(f"{seed}-contact")
    cont_owner = [reps[i % nrep] for i in range(counts["Contact"])]
    contacts, contact_company = [], []
    for i, u in enumerate(cont_owner):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        ci = rng.choice(comps_of[u.username]) if u.username in comps_of else rng.randrange(len(comp_ids))
        contact_company.append(ci)
        contacts.append(
            {
                "name": f"{first.title()} {last.title()}",
                "email": f"{first}.{last}.{i}@example.org",
                "phone": f"+1-555-{rng.randint(0, 9999):04d}-{rng.randint(0, 999):03d}",
                "company": pointer("Company", comp_ids[ci]),
            }
        )
    cont_ids, dt = await loader.create_batches("Contact", list(zip(cont_owner, contacts, strict=True)))
    timing("Contact", len(cont_ids), dt)
    conts_of: dict[str, list[int]] = {}
    for i, u in enumerate(cont_owner):
        conts_of.setdefault(u.username, []).append(i)

    # Deals: assigned to (and created by) a rep, pointing to that rep's contact and its company
    rng = random.Random(f"{seed}-deal")
    deal_owner = [reps[i % nrep] for i in range(counts["Deal"])]
    deals = []
    for u in deal_owner:
        ki = rng.choice(conts_of[u.username]) if u.username in conts_of else rng.randrange(len(cont_ids))
        close = BASE_DATE + timedelta(seconds=rng.randint(-180 * 86400, 365 * 86400), milliseconds=rng.randint(0, 999))
        deals.append(
            {
                "title": f"{rng.choice(PRODUCTS).title()} for {companies[contact_company[ki]]['name']}",
                "amount": round(rng.lognormvariate(9.5, 1.0), 2),
                "stage": rng.choices(STAGES, STAGE_WEIGHTS)[0],
                "contact": pointer("Contact", cont_ids[ki]),
                "company": pointer("Company", comp_ids[contact_company[ki]]),
                "expectedCloseDate": date(close),
                "assignedTo": pointer("_User", u.objectId),
            }
        )
    deal_ids, dt = await loader.create_batches("Deal", list(zip(deal_owner, deals, strict=True)))
    timing("Deal", len(deal_ids), dt)
    deals_of: dict[str, list[int]] = {}
    for i, u in enumerate(deal_owner):
        deals_of.setdefault(u.username, []).append(i)

    # Activities: half about one of the rep's deals, half about one of the rep's contacts
    rng = random.Random(f"{seed}-activity")
    act_owner = [reps[i % nrep] for i in range(counts["Activity"])]
    acts = []
    for u in act_owner:
        typ = rng.choice(ACTIVITY_TYPES)
        due = BASE_DATE + timedelta(seconds=rng.randint(-365 * 86400, 90 * 86400), milliseconds=rng.randint(0, 999))
        if rng.random() < 0.5 and u.username in deals_of:
            rel = pointer("Deal", deal_ids[rng.choice(deals_of[u.username])])
        else:
            rel = pointer("Contact", cont_ids[rng.choice(conts_of.get(u.username) or [0])])
        a = {
            "type": typ,
            "subject": f"{typ.title()}: {rng.choice(TOPICS)} with {rng.choice(FIRST).title()}",
            "dueDate": date(due),
            "relatedTo": rel,
        }
        if rng.random() < 0.3:
            a["description"] = " ".join(rng.choice(WORDS) for _ in range(12))
        if due < BASE_DATE and rng.random() < 0.7:
            a["completedAt"] = date(due + timedelta(hours=rng.randint(0, 48)))
        acts.append(a)
    act_ids, dt = await loader.create_batches("Activity", list(zip(act_owner, acts, strict=True)))
    timing("Activity", len(act_ids), dt)

    total_objs = sum(t["objects"] for t in timings.values())
    total_s = sum(t["seconds"] for t in timings.values())
    ds.load = {
        "users": {"count": len(users), "seconds": round(t_users, 2)},
        "classes": timings,
        "objects": total_objs,
        "objects_seconds": round(total_s, 2),
        "objects_per_s": round(total_objs / total_s, 1) if total_s else 0,
        "batch_size": BATCH,
        "concurrency": concurrency,
        "wall_seconds": round(time.perf_counter() - t_start, 2),
    }
    for u in reps:
        ds.deals[u.objectId] = [deal_ids[i] for i in deals_of.get(u.username, [])]
        ds.contacts[u.objectId] = [cont_ids[i] for i in conts_of.get(u.username, [])]
    log(f"  total     {total_objs:7d} objects in {total_s:7.1f} s = {ds.load['objects_per_s']:8.0f} objects/s")
    return ds


__all__ = ["Dataset", "HTTPError", "User", "counts_for", "load", "login_all"]
