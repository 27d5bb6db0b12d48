"""parse-server 9.10.0 as the peer: installed from npm into bench/.peer/, configured like our CRM.

What the peer gets (and how it differs from ours) is listed in PEER_DIFFERENCES, which the report copies.

Layout of bench/.peer/ (gitignored, rewritten on every run except node_modules):
  package.json   parse-server 9.10.0, with `overrides` pinning router to 2.2.0 (router 2.3.0 breaks /batch)
  schema.json    the CRM classes as parse-server `schema.definitions` (fields, CLPs, indexes)
  cloud.js       beforeSave hooks: ACL owner + role:Managers, createdBy, defaults and validation
  index.js       starts parse-server on $PORT against $DATABASE_URL (optionally $WORKERS node cluster workers)
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys

from bench import db
from bench.client import APP_ID, MASTER_KEY, wait_health
from bench.procs import ServerProcess

PARSE_SERVER_VERSION = "9.10.0"
ROUTER_VERSION = "2.2.0"
HERE = os.path.dirname(os.path.abspath(__file__))
PEER_DIR = os.path.join(HERE, ".peer")

STAGES = ["lead", "qualified", "proposal", "negotiation", "won", "lost"]
ACTIVITY_TYPES = ["call", "email", "meeting", "note"]

AUTH = {"requiresAuthentication": True}
CLP = {
    "find": AUTH,
    "count": AUTH,
    "get": AUTH,
    "create": AUTH,
    "update": AUTH,
    "delete": AUTH,
    "addField": {},  # master only: clients cannot change the schema
    "protectedFields": {},
}


def _ptr(cls: str) -> dict:
    return {"type": "Pointer", "targetClass": cls}


# The seed's CRM schema (shared/seed/000_*.txt) as parse-server definitions.
SCHEMA_DEFINITIONS = [
    {
        "className": "Company",
        "fields": {
            "name": {"type": "String", "required": True},
            "website": {"type": "String"},
            "industry": {"type": "String"},
            "address": {"type": "String"},
            "notes": {"type": "String"},
            "createdBy": _ptr("_User"),
        },
        "classLevelPermissions": CLP,
        "indexes": {},
    },
    {
        "className": "Contact",
        "fields": {
            "name": {"type": "String", "required": True},
            "email": {"type": "String"},
            "phone": {"type": "String"},
            "company": _ptr("Company"),
            "notes": {"type": "String"},
            "createdBy": _ptr("_User"),
        },
        "classLevelPermissions": CLP,
        "indexes": {"bench_contact_company": {"company": 1}},
    },
    {
        "className": "Deal",
        "fields": {
            "title": {"type": "String", "required": True},
            "amount": {"type": "Number"},
            "stage": {"type": "String"},
            "contact": _ptr("Contact"),
            "company": _ptr("Company"),
            "expectedCloseDate": {"type": "Date"},
            "notes": {"type": "String"},
            "assignedTo": _ptr("_User"),
        },
        "classLevelPermissions": CLP,
        "indexes": {
            "bench_deal_stage_close": {"stage": 1, "expectedCloseDate": 1},
            "bench_deal_stage_updated": {"stage": 1, "updatedAt": 1},
            "bench_deal_assignedto": {"assignedTo": 1},
        },
    },
    {
        "className": "Activity",
        "fields": {
            "type": {"type": "String"},
            "subject": {"type": "String"},
            "description": {"type": "String"},
            "dueDate": {"type": "Date"},
            "completedAt": {"type": "Date"},
            # parse-server has no polymorphic pointers: relatedTo holds Deals, relatedToContact holds Contacts
            # (cloud.js moves a Contact pointer sent as relatedTo there). See PEER_DIFFERENCES.
            "relatedTo": _ptr("Deal"),
            "relatedToContact": _ptr("Contact"),
            "createdBy": _ptr("_User"),
        },
        "classLevelPermissions": CLP,
        "indexes": {
            "bench_activity_related_due": {"relatedTo": 1, "dueDate": 1},
            "bench_activity_relcontact_due": {"relatedToContact": 1, "dueDate": 1},
        },
    },
]

# parse-server schema indexes are plain btree column lists; full-text indexes are created with SQL after start-up.
# parse-server's $text compiles to to_tsvector('english', "col") @@ to_tsquery('english', term), so these match it.
TEXT_INDEXES = [
    ("Contact", "name"),
    ("Contact", "email"),
    ("Company", "name"),
    ("Deal", "title"),
    ("Activity", "subject"),
]


def text_index_sql() -> list[str]:
    return [
        f'CREATE INDEX IF NOT EXISTS "bench_fts_{c.lower()}_{f.lower()}" ON "{c}" '
        f"USING gin (to_tsvector('english'::regconfig, \"{f}\"))"
        for c, f in TEXT_INDEXES
    ]


PEER_DIFFERENCES = [
    "parse-server 9.10.0 from npm, default options except: allowClientClassCreation=false, logsFolder=null, "
    "logLevel=warn, schema.definitions for the CRM classes, mountGraphQL=true at /graphql (for pipeline_graphql); "
    "router pinned to 2.2.0 (router 2.3.0 breaks /batch).",
    "Password hashing: parse-server's default bcryptjs (pure JS, cost 10); the optional @node-rs/bcrypt is not "
    "installed.",
    "Process model: one Node process by default (--peer-workers N uses node:cluster); each worker has its own "
    "5 s user/role cache (cacheTTL default).",
    "Activity.relatedTo: parse-server cannot store a pointer to two classes, so the peer types relatedTo as "
    "Pointer<Deal> and a beforeSave moves Contact pointers into relatedToContact (Pointer<Contact>). Requests are "
    "identical on the wire; on the peer Contact-related activities are not returned by relatedTo queries.",
    "Business rules in the peer's beforeSave: ACL {owner: rw, role:Managers: rw} on create (owner = assignedTo "
    "for a Deal, else the session user) and on reassignment of a Deal; createdBy from the session user; "
    "Deal.assignedTo defaults to the creator; Deal.stage default 'lead' and must be a known stage; "
    "Deal.amount >= 0; Activity.type must be known. Not done by the peer (ours may): relatedTo readability "
    "check, deal stage-change history, e-mail/website normalisation.",
    "Indexes: btree Deal(stage, expectedCloseDate), Deal(stage, updatedAt), Deal(assignedTo), "
    "Activity(relatedTo, dueDate), Activity(relatedToContact, dueDate), Contact(company) via schema definitions; "
    "GIN to_tsvector('english', col) on Contact.name, Contact.email, Company.name, Deal.title, "
    "Activity.subject via SQL. parse-server adds its own _User/_Role/_Session indexes (no index on "
    "_Session.sessionToken: parse-server's known gap).",
    "ACL storage: parse-server's _rperm/_wperm text[] columns without an index; the read filter is "
    "(_rperm IS NULL OR _rperm && ARRAY[...]) on every query.",
]


def _cloud_js() -> str:
    return """// Generated by bench/peer.py. CRM rules for the parse-server peer; see PEER_DIFFERENCES there.
const STAGES = @STAGES@;
const TYPES = @TYPES@;

function ownerAcl(ownerId) {
  const acl = new Parse.ACL();
  acl.setReadAccess(ownerId, true);
  acl.setWriteAccess(ownerId, true);
  acl.setRoleReadAccess('Managers', true);
  acl.setRoleWriteAccess('Managers', true);
  return acl;
}

for (const cls of ['Company', 'Contact', 'Deal', 'Activity']) {
  Parse.Cloud.beforeSave(cls, request => {
    const obj = request.object;
    const isNew = !request.original;
    if (cls !== 'Deal') {
      if (isNew) {
        if (request.user) obj.set('createdBy', request.user);
        else if (!request.master) obj.unset('createdBy');
      } else if (obj.dirty('createdBy') && !request.master) {
        throw new Parse.Error(Parse.Error.OPERATION_FORBIDDEN, 'createdBy cannot be changed');
      }
    }
    if (cls === 'Deal') {
      if (isNew && !obj.get('stage')) obj.set('stage', 'lead');
      if (obj.dirty('stage') && !STAGES.includes(obj.get('stage'))) {
        throw new Parse.Error(Parse.Error.VALIDATION_ERROR, 'stage must be one of ' + STAGES.join(', '));
      }
      const amount = obj.get('amount');
      if (obj.dirty('amount') && amount !== undefined && amount !== null && amount < 0) {
        throw new Parse.Error(Parse.Error.VALIDATION_ERROR, 'amount must be >= 0');
      }
      if (isNew && !obj.get('assignedTo') && request.user) obj.set('assignedTo', request.user);
    }
    if (cls === 'Activity') {
      if (obj.dirty('type') && obj.get('type') !== undefined && !TYPES.includes(obj.get('type'))) {
        throw new Parse.Error(Parse.Error.VALIDATION_ERROR, 'type must be one of ' + TYPES.join(', '));
      }
      const rel = obj.get('relatedTo');
      if (obj.dirty('relatedTo') && rel && rel.className === 'Contact') {
        obj.set('relatedToContact', rel);
        obj.unset('relatedTo');
      } else if (obj.dirty('relatedTo') && rel && rel.className !== 'Deal') {
        throw new Parse.Error(Parse.Error.VALIDATION_ERROR, 'relatedTo must point to a Contact or a Deal');
      }
    }
    let owner = null;
    if (cls === 'Deal') {
      if (isNew || obj.dirty('assignedTo')) owner = obj.get('assignedTo');
    } else if (isNew && request.user) {
      owner = request.user;
    }
    if (owner && owner.id) obj.setACL(ownerAcl(owner.id));
  });
}
""".replace("@STAGES@", json.dumps(STAGES)).replace("@TYPES@", json.dumps(ACTIVITY_TYPES))


INDEX_JS = r"""// Generated by bench/peer.py: starts parse-server for the benchmark.
const cluster = require('node:cluster');
const path = require('node:path');
const { ParseServer } = require('parse-server');

const port = parseInt(process.env.PORT, 10);
const workers = parseInt(process.env.WORKERS || '1', 10);

async function serve() {
  await ParseServer.startApp({
    appId: process.env.APP_ID,
    masterKey: process.env.MASTER_KEY,
    databaseURI: process.env.DATABASE_URL,
    serverURL: `http://127.0.0.1:${port}/parse`,
    mountPath: '/parse',
    mountGraphQL: true,
    graphQLPath: '/graphql',
    port,
    host: '127.0.0.1',
    cloud: path.join(__dirname, 'cloud.js'),
    allowClientClassCreation: false,
    logsFolder: null,
    logLevel: 'warn',
    // bench/live.py: LIVE_CLASSES=Deal starts the LiveQuery server on the same port
    ...(process.env.LIVE_CLASSES
      ? { liveQuery: { classNames: process.env.LIVE_CLASSES.split(',') }, startLiveQueryServer: true }
      : {}),
    schema: {
      definitions: require('./schema.json'),
      lockSchemas: false,
      strict: false,
      deleteExtraFields: false,
      recreateModifiedFields: false,
    },
  });
  if (process.send) process.send('ready');
}

if (workers > 1 && cluster.isPrimary) {
  // The first worker applies the schema; the others start after it is ready.
  const first = cluster.fork();
  first.once('message', () => { for (let i = 1; i < workers; i++) cluster.fork(); });
  cluster.on('exit', (w, code) => { console.error(`worker ${w.process.pid} exited ${code}`); });
  process.on('SIGTERM', () => {
    for (const id in cluster.workers) cluster.workers[id].kill('SIGTERM');
    process.exit(0);
  });
} else {
  serve().catch(e => { console.error(e); process.exit(1); });
}
"""


def package_json() -> dict:
    return {
        "name": "parsecrm-bench-peer",
        "private": True,
        "description": "parse-server for bench/ (generated by bench/peer.py)",
        "dependencies": {"parse-server": PARSE_SERVER_VERSION},
        "overrides": {"router": ROUTER_VERSION},
    }


def _installed_version(pkg: str) -> str | None:
    try:
        with open(os.path.join(PEER_DIR, "node_modules", pkg, "package.json")) as f:
            return json.load(f).get("version")
    except (OSError, ValueError):
        return None


def _write(path: str, text: str) -> None:
    old = None
    if os.path.exists(path):
        with open(path) as f:
            old = f.read()
    if old != text:
        with open(path, "w") as f:
            f.write(text)


def install(force: bool = False, log=print) -> None:
    """npm-install parse-server into bench/.peer (skipped when the pinned versions are already there)."""
    if not shutil.which("node") or not shutil.which("npm"):
        raise RuntimeError("node and npm are needed for the parse-server peer")
    os.makedirs(PEER_DIR, exist_ok=True)
    _write(os.path.join(PEER_DIR, "package.json"), json.dumps(package_json(), indent=2) + "\n")
    _write(os.path.join(PEER_DIR, "schema.json"), json.dumps(SCHEMA_DEFINITIONS, indent=2) + "\n")
    _write(os.path.join(PEER_DIR, "cloud.js"), _cloud_js())
    _write(os.path.join(PEER_DIR, "index.js"), INDEX_JS)
    ok = _installed_version("parse-server") == PARSE_SERVER_VERSION and _installed_version("router") == ROUTER_VERSION
    if ok and not force:
        return
    log(f"peer: npm install parse-server@{PARSE_SERVER_VERSION} (router {ROUTER_VERSION}) into {PEER_DIR}")
    r = subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--omit=dev", "--loglevel=error"],
        cwd=PEER_DIR,
        capture_output=True,
        text=True,
    )
    if r.returncode != 0:
        raise RuntimeError(f"npm install failed:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    got = (_installed_version("parse-server"), _installed_version("router"))
    if got != (PARSE_SERVER_VERSION, ROUTER_VERSION):
        raise RuntimeError(f"npm installed parse-server/router {got}, expected {PARSE_SERVER_VERSION}/{ROUTER_VERSION}")


class PeerServer:
    """parse-server running on `port` against `database_url`."""

    name = "parse-server"
    mount = "/parse"

    def __init__(self, port: int, database_url: str, workers: int = 1, log_path: str | None = None):
        self.port = port
        self.database_url = database_url
        self.workers = workers
        env = dict(os.environ)
        env.update(
            {
                "PORT": str(port),
                "DATABASE_URL": database_url,
                "APP_ID": APP_ID,
                "MASTER_KEY": MASTER_KEY,
                "WORKERS": str(workers),
                "NODE_ENV": "production",
            }
        )
        self.proc = ServerProcess(
            "parse-server",
            ["node", os.path.join(PEER_DIR, "index.js")],
            env,
            PEER_DIR,
            log_path or os.path.join(HERE, "results", "peer.log"),
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.mount}"

    async def start(self) -> None:
        self.proc.start()
        try:
            await wait_health("127.0.0.1", self.port, self.mount, timeout=120, proc=self.proc)
            # The schema definitions ran before /health turned ok; add the full-text indexes.
            await db.execute(self.database_url, *text_index_sql())
        except Exception:
            sys.stderr.write(self.proc.log_tail() + "\n")
            self.proc.stop()
            raise

    def stop(self) -> None:
        self.proc.stop()


async def _main() -> None:  # manual check: python -m bench.peer
    install()
    dsn = db.db_url(db.DEFAULT_ADMIN_DSN, "bench_peer_check")
    await db.recreate(db.DEFAULT_ADMIN_DSN, "bench_peer_check")
    s = PeerServer(13337, dsn)
    await s.start()
    print("peer up at", s.url, "pid", s.pid)
    s.stop()
    await db.drop(db.DEFAULT_ADMIN_DSN, "bench_peer_check")


if __name__ == "__main__":
    asyncio.run(_main())
