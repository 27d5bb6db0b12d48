"""python -m bench: load the CRM dataset through the API, run the scenarios against our server and (optionally)
parse-server, run the raw-SQL floor, and write a Markdown + JSON report.

Examples (from the repository root):
  python -m bench --peer parse-server                          # ours + parse-server, scale 1
  python -m bench --no-ours --peer parse-server --scale 0.02 --duration 5
  python -m bench --ours-cmd 'crm serve --port {port} --workers {workers}' --ours-workers 2
  python -m bench --ours-url http://127.0.0.1:1337/parse --ours-database-url postgresql://...   # already running
  python -m bench calibrate                                    # compare the two load generators
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field

from bench import dataset, db, floor, load, machine, peer, report
from bench.client import APP_ID, MASTER_KEY, Api, split_url, wait_health
from bench.procs import Sampler, ServerProcess, free_port
from bench.scenarios import BY_NAME, SCENARIOS, build_requests, sample_check

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_OURS_CMD = "crm serve --port {port} --workers {workers}"


def log(*a) -> None:
    print(time.strftime("%H:%M:%S"), *a, flush=True)


class OursServer:
    """Our server, started with a configurable command (env DATABASE_URL, PARSE_APP_ID, PARSE_MASTER_KEY)."""

    name = "ours"

    def __init__(self, cmd: str, port: int, workers: int, database_url: str, mount: str, log_path: str):
        self.port, self.mount, self.workers = port, mount, workers
        argv = shlex.split(cmd.format(port=port, workers=workers))
        env = dict(os.environ)
        venv_bin = os.path.dirname(sys.executable)
        env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "")
        env.update(
            {
                "DATABASE_URL": database_url,
                "PARSE_APP_ID": APP_ID,
                "PARSE_MASTER_KEY": MASTER_KEY,
                "PARSE_SERVER_URL": f"http://127.0.0.1:{port}{mount}",
                "PORT": str(port),
                # one address signs up and logs in the whole data set: parse-server has no such limits by default
                "PARSE_RATE_LIMITS": "false",
            }
        )
        if shutil.which(argv[0], path=env["PATH"]) is None:
            raise SystemExit(
                f"ours: command {argv[0]!r} not found; pass --ours-cmd, --ours-url, or --no-ours to skip our server"
            )
        self.proc = ServerProcess("ours", argv, env, ROOT, log_path)

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def start(self) -> None:
        self.proc.start()
        try:
            await wait_health("127.0.0.1", self.port, self.mount, timeout=120, proc=self.proc)
        except Exception:
            sys.stderr.write(self.proc.log_tail() + "\n")
            self.proc.stop()
            raise

    def stop(self) -> None:
        self.proc.stop()


@dataclass
class Target:
    name: str  # "ours" | "parse-server"
    layout: str  # key into floor.FLOOR_SQL
    host: str
    port: int
    mount: str
    dbname: str | None
    dsn: str | None
    server: object | None = None  # OursServer | PeerServer | None when external
    manage_db: bool = True  # the harness creates and drops the database
    touched_db: bool = False  # this run created or used the database (only then is it dropped)
    sampler: Sampler | None = None
    ds: dataset.Dataset | None = None
    result: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{self.mount}"

    def api(self) -> Api:
        return Api(self.host, self.port, self.mount)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="dataset scale (1 = 20k companies, 100k contacts, 50k deals, 200k activities; users stay 50)",
    )
    p.add_argument("--users", type=int, default=50, help="users: 1 manager + reps (default 50)")
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds per scenario run")
    p.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds before each measured run")
    p.add_argument("--connections", type=int, default=16, help="concurrent keep-alive connections")
    p.add_argument("--repeat", type=int, default=1, help="runs per scenario and server (the median is reported)")
    p.add_argument("--only", default="", help="comma list of scenarios: " + ",".join(BY_NAME))
    p.add_argument("--generator", choices=["asyncio", "wrk"], default="asyncio", help="load generator")
    p.add_argument("--wrk-threads", type=int, default=1)
    p.add_argument("--peer", choices=["parse-server", "none"], default="none", help="also run parse-server 9.10")
    p.add_argument("--peer-workers", type=int, default=1, help="parse-server processes (node:cluster)")
    p.add_argument("--no-ours", action="store_true", help="do not run our server (e.g. to validate with the peer)")
    p.add_argument(
        "--ours-cmd",
        default=DEFAULT_OURS_CMD,
        help=f"command template; {{port}} and {{workers}} are filled in (default: {DEFAULT_OURS_CMD!r})",
    )
    p.add_argument("--ours-workers", type=int, default=2)
    p.add_argument(
        "--ours-url",
        default="",
        help="use an already running server at this URL instead of starting "
        "one (its data is loaded unless --reuse-data)",
    )
    p.add_argument("--ours-pid", type=int, default=0, help="with --ours-url: the server's pid (memory and CPU)")
    p.add_argument(
        "--ours-database-url", default="", help="with --ours-url: its database, for the floor and the CPU accounting"
    )
    p.add_argument("--admin-dsn", default=db.DEFAULT_ADMIN_DSN, help="PostgreSQL admin DSN (creates databases)")
    p.add_argument("--db-prefix", default="bench", help="databases are <prefix>_ours and <prefix>_peer")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--load-concurrency", type=int, default=4, help="batch requests in flight while loading")
    p.add_argument(
        "--reuse-data",
        action="store_true",
        help="reuse databases loaded by an earlier run with the "
        "same scale and seed (skips loading; implies --keep-data)",
    )
    p.add_argument("--keep-data", action="store_true", help="keep the databases afterwards")
    p.add_argument("--no-floor", action="store_true", help="skip the raw-SQL floor")
    p.add_argument("--calibrate", action="store_true", help="also compare the load generators (~15 s)")
    p.add_argument("--out", default=os.path.join(HERE, "results"), help="report directory root")
    a = p.parse_args(argv)
    if a.reuse_data:
        a.keep_data = True
    a.scenarios = [s for s in SCENARIOS if not a.only or s.name in a.only.split(",")]
    unknown = set(filter(None, a.only.split(","))) - set(BY_NAME)
    if unknown:
        p.error(f"unknown scenarios {sorted(unknown)}; known: {', '.join(BY_NAME)}")
    return a


def git_rev() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True)
        return rev.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except OSError:
        return "?"


def state_path(a: argparse.Namespace, t: Target) -> str:
    return os.path.join(a.out, "state", f"{t.dbname or t.name}.json")


async def prepare(a: argparse.Namespace, t: Target) -> None:
    """Database, server, dataset, sessions for one target."""
    res = t.result
    manifest = state_path(a, t)
    reuse = False
    if a.reuse_data and os.path.exists(manifest) and (not t.manage_db or await db.exists(a.admin_dsn, t.dbname)):
        old = dataset.Dataset.read(manifest)
        reuse = old.scale == a.scale and old.seed == a.seed and len(old.users) == a.users
        if reuse:
            t.ds = old
    t.touched_db = True
    if t.manage_db and not reuse:
        log(f"{t.name}: creating database {t.dbname}")
        await db.recreate(a.admin_dsn, t.dbname)
    if t.server is not None:
        log(f"{t.name}: starting server on port {t.port}")
        await t.server.start()
    root_pid = t.server.pid if t.server is not None else t.result.get("external_pid")
    t.sampler = Sampler(root_pid, t.dbname).start()
    if reuse:
        log(f"{t.name}: reusing the loaded dataset ({manifest})")
        res["dataset"] = {"reused": True, "counts": t.ds.counts, "load": t.ds.load}
    else:
        log(f"{t.name}: loading dataset scale {a.scale} through {t.url}")
        s0, d0 = t.sampler.cpu_mark()
        t.ds = await dataset.load(
            t.host, t.port, t.mount, t.url, a.scale, a.seed, a.load_concurrency, a.users, log=lambda *x: log(*x)
        )
        s1, d1 = t.sampler.cpu_mark()
        n = t.ds.load["objects"]
        t.ds.load["cpu_us_per_object"] = {
            "server": round((s1 - s0) / n * 1e6) if t.sampler.root is not None else None,
            "database": round((d1 - d0) / n * 1e6) if t.dbname else None,
        }
        log(f"{t.name}: CPU per object: {t.ds.load['cpu_us_per_object']} µs (users included)")
        t.ds.save(manifest)
        res["dataset"] = {"reused": False, "counts": t.ds.counts, "load": t.ds.load}
        if t.dsn:
            log(f"{t.name}: VACUUM ANALYZE")
            await db.execute(t.dsn, "VACUUM ANALYZE")
    res["memory_load_phase"] = t.sampler.memory()
    t.sampler.reset_sampled_peaks()
    if t.dsn:
        res["db_tables"] = await db.table_sizes(t.dsn)
    await dataset.login_all(t.host, t.port, t.mount, t.ds.users)


async def run_scenario(a: argparse.Namespace, t: Target, sc) -> dict:
    api = t.api()
    try:
        reqs = build_requests(sc, t.ds, a.connections, api)
    finally:
        api.close()
    spec = load.LoadSpec(t.host, t.port, a.duration, a.warmup, reqs)
    s0, d0 = t.sampler.cpu_mark()
    b0, _ = machine.cpu_times()
    t0 = time.perf_counter()
    r = await asyncio.to_thread(load.run, spec, a.generator, a.wrk_threads)
    elapsed = time.perf_counter() - t0
    s1, d1 = t.sampler.cpu_mark()
    b1, _ = machine.cpu_times()
    n = r["requests"] + (r.get("warmup") or {}).get("requests", 0)
    srv, dbc, gen = s1 - s0, d1 - d0, r.get("process_cpu_s", r["generator_cpu_s"])
    server_known = t.sampler.root is not None
    r["cpu_s"] = {"server": round(srv, 3), "database": round(dbc, 3), "generator": r["generator_cpu_s"]}
    r["cpu_us_per_request"] = {
        "server": srv / n * 1e6 if n and server_known else None,
        "database": dbc / n * 1e6 if n else None,
        "generator": r["generator_cpu_s"] / n * 1e6 if n else None,
    }
    ncpu = os.cpu_count() or 1
    other = (b1 - b0) - srv - dbc - gen
    r["other_cpu_share"] = round(max(0.0, other) / (elapsed * ncpu), 3)
    r["loadavg_after"] = machine.loadavg()
    return r


async def run_floor(a: argparse.Namespace, t: Target, sc) -> None:
    """The raw-SQL floor of one read scenario on t's database, right after its HTTP runs (same data)."""
    if a.no_floor or not t.dsn or not sc.floor:
        return
    spec = floor.spec_for(t.layout, sc.name, t.dsn, t.ds, a.connections, a.duration, a.warmup)
    if spec is None:
        t.result.setdefault("floor_missing", []).append(sc.name)
        return
    runs = []
    for _ in range(a.repeat):
        _, d0 = t.sampler.cpu_mark()
        r = await asyncio.to_thread(floor.run, spec)
        _, d1 = t.sampler.cpu_mark()
        n = r["requests"]
        r["database_cpu_us_per_query"] = round((d1 - d0) / n * 1e6, 1) if n else None
        runs.append(r)
        log(
            f"{t.name}: floor {sc.name:12s} {r['rps']:9.0f} q/s  p50 {r['latency_ms']['p50']:6.2f} ms  "
            f"p99 {r['latency_ms']['p99']:6.2f} ms  rows {r['mean_rows']}  errors {r['errors']}"
        )
    med = report.median_run(runs)
    med["runs"] = [{"rps": x["rps"], "latency_ms": x["latency_ms"], "errors": x["errors"]} for x in runs]
    t.result.setdefault("floor", {})[sc.name] = med


def make_targets(a: argparse.Namespace) -> list[Target]:
    targets = []
    results_dir = a.out
    if not a.no_ours:
        if a.ours_url:
            host, port, mount = split_url(a.ours_url)
            dsn = a.ours_database_url or None
            dbname = dsn.rsplit("/", 1)[-1].split("?")[0] if dsn else None
            targets.append(Target("ours", "ours", host, port, mount, dbname, dsn, None, manage_db=False))
            targets[-1].result["external"] = a.ours_url
            if a.ours_pid:
                targets[-1].result["external_pid"] = a.ours_pid
        else:
            dbname = f"{a.db_prefix}_ours"
            dsn = db.db_url(a.admin_dsn, dbname)
            port = free_port()
            srv = OursServer(a.ours_cmd, port, a.ours_workers, dsn, "/parse", os.path.join(results_dir, "ours.log"))
            targets.append(Target("ours", "ours", "127.0.0.1", port, "/parse", dbname, dsn, srv))
            targets[-1].result["workers"] = a.ours_workers
            targets[-1].result["command"] = a.ours_cmd
    if a.peer == "parse-server":
        peer.install(log=log)
        dbname = f"{a.db_prefix}_peer"
        dsn = db.db_url(a.admin_dsn, dbname)
        port = free_port()
        srv = peer.PeerServer(port, dsn, a.peer_workers, os.path.join(results_dir, "peer.log"))
        t = Target("parse-server", "parse-server", "127.0.0.1", port, "/parse", dbname, dsn, srv)
        t.result["workers"] = a.peer_workers
        t.result["version"] = peer.PARSE_SERVER_VERSION
        t.result["differences"] = peer.PEER_DIFFERENCES
        targets.append(t)
    if not targets:
        raise SystemExit("nothing to measure: give --peer parse-server and/or leave our server enabled")
    return targets


async def main_async(a: argparse.Namespace, argv: list[str]) -> int:
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    out_dir = os.path.join(a.out, time.strftime("%Y%m%d-%H%M%S"))
    conn = await __import__("asyncpg").connect(a.admin_dsn)
    pg_version = await conn.fetchval("SHOW server_version")
    await conn.close()
    rep: dict = {
        "meta": {
            "started": started,
            "command": "python -m bench " + " ".join(shlex.quote(x) for x in argv),
            "scale": a.scale,
            "users": a.users,
            "duration": a.duration,
            "warmup": a.warmup,
            "connections": a.connections,
            "repeat": a.repeat,
            "generator": a.generator,
            "seed": a.seed,
            "load_concurrency": a.load_concurrency,
            "scenarios": [s.name for s in a.scenarios],
            "scenario_titles": {s.name: s.title for s in a.scenarios},
            "git": git_rev(),
            "postgres": pg_version,
            "machine": machine.info(),
        },
        "calibration": {},
        "targets": {},
    }
    if a.calibrate:
        log("load generator calibration")
        rep["calibration"]["generators"] = await asyncio.to_thread(load.calibrate)

    targets = make_targets(a)
    try:
        for t in targets:
            await prepare(a, t)
        for sc in a.scenarios:
            if sc.name == "login":  # measured right before log-in, under the same background load
                log("bcrypt limit of this machine (cost 10)")
                rep["calibration"]["bcrypt"] = await asyncio.to_thread(machine.bcrypt_limit, 3.0)
            for t in targets:
                api = t.api()
                try:
                    chk = await sample_check(sc, t.ds, api)
                finally:
                    api.close()
                t.result.setdefault("scenarios", {})[sc.name] = {"check": chk, "runs": []}
                if chk["problem_count"]:
                    log(f"{t.name}: {sc.name}: {chk['problem_count']} answers failed the check: {chk['problems'][:2]}")
            for k in range(a.repeat):
                order = targets if k % 2 == 0 else list(reversed(targets))
                for t in order:
                    r = await run_scenario(a, t, sc)
                    t.result["scenarios"][sc.name]["runs"].append(r)
                    lat = r["latency_ms"]
                    log(
                        f"{t.name}: {sc.name:12s} {r['rps']:8.1f} req/s  p50 {lat['p50']:7.2f}  p95 {lat['p95']:7.2f}"
                        f"  p99 {lat['p99']:7.2f} ms  errors {r['errors']}"
                        + (f" {r['error_samples'][:2]}" if r["errors"] else "")
                    )
            for t in targets:
                s = t.result["scenarios"][sc.name]
                s["median"] = report.median_run(s["runs"])
            for t in targets:
                await run_floor(a, t, sc)
    finally:
        for t in targets:
            if t.sampler is not None:
                t.sampler.stop()
                t.result["memory"] = t.sampler.memory()
            if t.server is not None:
                t.server.stop()
                t.result["server_log"] = t.server.proc.log_path
            if t.manage_db and t.touched_db and not a.keep_data:
                await db.drop(a.admin_dsn, t.dbname)
                with contextlib.suppress(OSError):
                    os.remove(state_path(a, t))
            rep["targets"][t.name] = t.result

    report.compute(rep)
    jp, mp = report.write(rep, out_dir)
    report.write(rep, a.out)  # latest copy: bench/results/report.{json,md}
    log(f"report: {mp} and {jp}")
    print(rep["summary"])
    errors = sum(
        s["median"].get("errors", 0)
        for t in rep["targets"].values()
        for s in t.get("scenarios", {}).values()
        if s.get("median")
    )
    return 1 if errors else 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["calibrate"]:
        for row in load.calibrate():
            print(row)
        return 0
    if argv[:1] == ["live"]:  # live-query fan-out (bench/live.py)
        from bench import live

        live.main(argv[1:])
        return 0
    a = parse_args(argv)
    try:
        import uvloop

        return uvloop.run(main_async(a, argv))
    except ImportError:
        return asyncio.run(main_async(a, argv))


if __name__ == "__main__":
    sys.exit(main())
