"""python -m bench live: live-query fan-out, our server vs parse-server's LiveQuery, on this machine.

N logged-in users (all in role `Team`) each hold one WebSocket subscribed to `LiveDeal where stage = 'negotiation'`;
the updated deals are readable through `role:Team`, so every event is judged against each subscriber's ACL
principals and reaches all N. The subscribers run in separate client processes; times are wall-clock
(`time.time()`, one machine).

* memory per idle subscriber: the server's RSS (process tree) after N subscribed, minus before, over N;
* paced: 10 updates/s for `--seconds`; latency = receipt at a subscriber minus the moment the update's HTTP response
  arrived (can be negative: an event may beat the response); every subscriber must get every update; and the
  server's CPU time over the phase per frame delivered (includes the 10 HTTP updates/s, negligible beside the frames);
* saturated: `--writers` concurrent updaters for `--seconds`; events/s = events received by all subscribers / time.

  python -m bench live --subscribers 200,1000 [--peer parse-server] [--ours-workers 1] [--writers 0]
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import secrets
import shlex
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import orjson

from bench import db, peer
from bench.client import APP_ID, MASTER_KEY, wait_health
from bench.procs import ServerProcess, cpu_seconds, free_port, mem_kb, tree_pids

HERE = os.path.dirname(os.path.abspath(__file__))
WHERE = {"stage": "negotiation"}
# Deal's shape, in a class without the CRM's requiresAuthentication CLP: parse-server 9.10's LiveQuery refuses
# every event of such a class to a signed-in subscriber ("Permission denied", 101). Reads stay ACL-restricted.
LIVE_CLASS = "LiveDeal"
CLIENT_PROCS = 2
DEALS = 20


def log(*a: Any) -> None:
    print(time.strftime("%H:%M:%S"), *a, flush=True)


def headers(master: bool = False, token: str | None = None) -> dict[str, str]:
    h = {"X-Parse-Application-Id": APP_ID, "Content-Type": "application/json"}
    if master:
        h["X-Parse-Master-Key"] = MASTER_KEY
    if token:
        h["X-Parse-Session-Token"] = token
    return h


async def prepare(url: str, n: int) -> tuple[list[str], list[str]]:
    """n users in role Team (their session tokens), and DEALS deals in negotiation readable by role:Team."""
    async with httpx.AsyncClient(base_url=url + "/", timeout=60) as http:
        gate = asyncio.Semaphore(8)

        async def sign_up(i: int) -> dict[str, Any]:
            async with gate:
                body = {"username": f"lq{i}_{secrets.token_hex(3)}", "password": "bench-pw"}
                r = await http.post("users", content=orjson.dumps(body), headers=headers())
                r.raise_for_status()
                return r.json()  # type: ignore[no-any-return]

        users = await asyncio.gather(*(sign_up(i) for i in range(n)))
        role = {"name": f"Team{secrets.token_hex(3)}", "ACL": {"*": {"read": True}}}
        r = await http.post("roles", content=orjson.dumps(role), headers=headers(master=True))
        r.raise_for_status()
        role_id = r.json()["objectId"]
        for start in range(0, n, 200):
            members = [
                {"__type": "Pointer", "className": "_User", "objectId": u["objectId"]}
                for u in users[start : start + 200]
            ]
            body = {"users": {"__op": "AddRelation", "objects": members}}
            r = await http.put(f"roles/{role_id}", content=orjson.dumps(body), headers=headers(master=True))
            r.raise_for_status()
        deals = []
        for i in range(DEALS):
            body = {
                "title": f"live {i}",
                "stage": "negotiation",
                "amount": 0,
                "ACL": {f"role:{role['name']}": {"read": True}},
            }
            r = await http.post(f"classes/{LIVE_CLASS}", content=orjson.dumps(body), headers=headers(master=True))
            r.raise_for_status()
            deals.append(r.json()["objectId"])
        return [u["sessionToken"] for u in users], deals


def subscriber_process(ws_url: str, tokens: list[str], conn: Any) -> None:
    """Hold one subscription per token; report (amount, receipt time) per event, or counts, when told to stop."""
    import uvloop

    uvloop.install()
    asyncio.run(_subscribers(ws_url, tokens, conn))


async def _subscribers(ws_url: str, tokens: list[str], conn: Any) -> None:
    from bench.wsclient import subscribe

    subs = []
    for token in tokens:  # one at a time: each is subscribed before the next connects
        hello = [
            {"op": "connect", "applicationId": APP_ID, "sessionToken": token},
            {"op": "subscribe", "requestId": 1, "query": {"className": LIVE_CLASS, "where": WHERE}},
        ]
        subs.append(await subscribe(ws_url, hello))
    conn.send("ready")
    loop = asyncio.get_running_loop()
    while True:
        command = await loop.run_in_executor(None, conn.recv)
        if command == "records":  # (amount, receipt time) of every update each subscriber got
            records = []
            for sub in subs:
                mine = []
                for when, frame in sub.frames:
                    event = orjson.loads(frame)
                    if event.get("op") == "update":
                        mine.append((event["object"]["amount"], when))
                records.append(mine)
                sub.frames.clear()
            conn.send(records)
        elif command == "count":
            for sub in subs:
                sub.counting, sub.count = True, 0
            conn.send("ok")
        elif command == "counted":
            conn.send(sum(sub.count for sub in subs))
            for sub in subs:
                sub.counting = False
        elif command == "stop":
            for sub in subs:
                if sub.transport is not None:
                    sub.transport.close()
            conn.send("stopped")
            return


Put = Callable[[int], Awaitable[None]]


async def paced(
    put: Put, sent: dict[int, float], requested: dict[int, float], pipes: list[Any], seconds: float
) -> dict[str, Any]:
    """10 updates per second; the latency of every event at every subscriber, from the update's HTTP response (the
    issue's measure) and from the moment its request was sent (never negative: includes the write itself)."""
    count = int(seconds * 10)
    start = time.time()
    for seq in range(1, count + 1):
        await put(seq)
        await asyncio.sleep(max(0.0, start + seq / 10 - time.time()))
    await asyncio.sleep(2)
    lat, from_request, missing = [], [], 0
    for pipe in pipes:
        pipe.send("records")
        for got in await asyncio.to_thread(pipe.recv):
            seen = {int(a): t for a, t in got}
            missing += sum(1 for seq in sent if seq not in seen)
            lat += [(seen[seq] - sent[seq]) * 1000 for seq in sent if seq in seen]
            from_request += [(seen[seq] - requested[seq]) * 1000 for seq in sent if seq in seen]
    lat.sort()
    from_request.sort()
    return {
        "updates": len(sent),
        "events": len(lat),
        "missing": missing,
        "p50_ms": round(lat[len(lat) // 2], 2),
        "p99_ms": round(lat[int(len(lat) * 0.99)], 2),
        "max_ms": round(lat[-1], 2),
        "mean_ms": round(statistics.fmean(lat), 2),
        "from_request_p50_ms": round(from_request[len(from_request) // 2], 2),
        "from_request_p99_ms": round(from_request[int(len(from_request) * 0.99)], 2),
    }


async def saturated(put: Put, pipes: list[Any], seconds: float, writers: int, n: int) -> dict[str, Any]:
    """`writers` in parallel, as fast as the server answers; events/s received by all subscribers."""
    for pipe in pipes:
        pipe.send("count")
        await asyncio.to_thread(pipe.recv)
    stop_at = time.time() + seconds
    done = 0

    async def writer(w: int) -> None:
        nonlocal done
        seq = 10_000_000 * (w + 1)
        while time.time() < stop_at:
            seq += 1
            await put(seq)
            done += 1

    t0 = time.time()
    await asyncio.gather(*(writer(w) for w in range(writers)))
    await asyncio.sleep(1.0)  # let the queued events drain
    elapsed = time.time() - t0
    received = 0
    for pipe in pipes:
        pipe.send("counted")
        received += await asyncio.to_thread(pipe.recv)
    return {
        "updates": done,
        "updates_per_s": round(done / (elapsed - 1.0)),
        "events": received,
        "expected_events": done * n,
        "events_per_s": round(received / elapsed),
    }


def server_cpu(pid: int) -> float:
    return sum(cpu_seconds(p) or 0.0 for p in tree_pids(pid))


def rss_kb(pid: int) -> int:
    return sum((mem_kb(p) or (0, 0))[0] for p in tree_pids(pid))


async def measure(url: str, server_pid: int, n: int, seconds: float, writers: int) -> dict[str, Any]:
    tokens, deals = await prepare(url, n)
    ws_url = url.replace("http://", "ws://")
    before = rss_kb(server_pid)
    ctx = mp.get_context("spawn")
    pipes, procs = [], []
    for k in range(CLIENT_PROCS):
        mine, theirs = ctx.Pipe()
        p = ctx.Process(target=subscriber_process, args=(ws_url, tokens[k::CLIENT_PROCS], theirs), daemon=True)
        p.start()
        pipes.append(mine)
        procs.append(p)
    for pipe in pipes:
        await asyncio.to_thread(pipe.recv)
    await asyncio.sleep(2)
    idle_kb = (rss_kb(server_pid) - before) / n
    out: dict[str, Any] = {"subscribers": n, "idle_kb_per_subscriber": round(idle_kb, 1)}
    out["load_average_before"] = round(os.getloadavg()[0], 1)  # the machine is shared: say how busy it was
    limits = httpx.Limits(max_connections=max(writers, 1))
    async with httpx.AsyncClient(base_url=url + "/", timeout=30, limits=limits) as http:
        sent: dict[int, float] = {}
        requested: dict[int, float] = {}

        async def put(seq: int) -> None:
            requested[seq] = time.time()
            body = orjson.dumps({"amount": seq})
            r = await http.put(f"classes/{LIVE_CLASS}/{deals[seq % DEALS]}", content=body, headers=headers(master=True))
            r.raise_for_status()
            sent[seq] = time.time()

        cpu_before = server_cpu(server_pid)
        out["paced"] = await paced(put, sent, requested, pipes, seconds)
        # the server's CPU (process tree) over the paced phase per frame delivered: less sensitive to the machine's
        # load than the latencies, which include waiting for a core
        frames = max(out["paced"]["events"], 1)
        out["paced"]["server_cpu_us_per_frame"] = round((server_cpu(server_pid) - cpu_before) * 1e6 / frames, 1)
        if writers:
            out["saturated"] = await saturated(put, pipes, seconds, writers, n)
    for pipe in pipes:
        pipe.send("stop")
    for p in procs:
        p.join(5)
        if p.is_alive():
            p.terminate()
    return out


async def run_server(kind: str, workers: int, n_list: list[int], seconds: float, writers: int) -> list[dict[str, Any]]:
    name = f"bench_live_{kind.replace('-', '_')}"
    await db.recreate(db.DEFAULT_ADMIN_DSN, name)
    dsn = db.db_url(db.DEFAULT_ADMIN_DSN, name)
    port = free_port()
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    log_path = os.path.join(HERE, "results", f"live-{kind}.log")
    if kind == "ours":
        env = dict(os.environ)
        env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
        env.update(
            {
                "DATABASE_URL": dsn,
                "PARSE_APP_ID": APP_ID,
                "PARSE_MASTER_KEY": MASTER_KEY,
                "PARSE_BCRYPT_ROUNDS": "4",
                "PARSE_RATE_LIMITS": "off",  # the bench signs up N users from one address
                "PARSE_LIVE_QUERY_CLIENT_BUFFER": "100000",
                "PARSE_LIVE_QUERY_CLASSES": LIVE_CLASS,
                "CRM_DATA_DIR": os.path.join(HERE, "results", ".live-data"),
            }
        )
        argv = shlex.split(f"crm serve --port {port} --workers {workers}")
        server: Any = ServerProcess("ours", argv, env, os.path.dirname(HERE), log_path)
        server.start()
        await wait_health("127.0.0.1", port, "/parse", timeout=120, proc=server)
        pid = server.pid
    else:
        peer.install(log=log)
        os.environ["LIVE_CLASSES"] = LIVE_CLASS
        server = peer.PeerServer(port, dsn, 1, log_path)
        await server.start()
        pid = server.pid
    url = f"http://127.0.0.1:{port}/parse"
    results = []
    try:
        for n in n_list:
            log(f"{kind}: {n} subscribers")
            result = {
                "server": kind,
                "workers": workers if kind == "ours" else 1,
                **await measure(url, pid, n, seconds, writers),
            }
            log(orjson.dumps(result).decode())
            results.append(result)
    finally:
        server.stop()
    return results


def main(argv: list[str]) -> None:
    import argparse

    p = argparse.ArgumentParser(prog="python -m bench live")
    p.add_argument("--subscribers", default="200,1000")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--writers", type=int, default=8, help="saturated phase's writers; 0: paced latency only")
    p.add_argument("--ours-workers", type=int, default=1)
    p.add_argument("--peer", choices=["parse-server"], default=None)
    p.add_argument("--no-ours", action="store_true")
    args = p.parse_args(argv)
    n_list = [int(x) for x in args.subscribers.split(",")]
    results: list[dict[str, Any]] = []
    if not args.no_ours:
        results += asyncio.run(run_server("ours", args.ours_workers, n_list, args.seconds, args.writers))
    if args.peer:
        results += asyncio.run(run_server("parse-server", 1, n_list, args.seconds, args.writers))
    path = os.path.join(HERE, "results", "live.json")
    with open(path, "wb") as f:
        f.write(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    log(f"written {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
