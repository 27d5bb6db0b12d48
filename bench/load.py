"""Load generators: a raw-asyncio HTTP/1.1 client, and Debian's `wrk` driven by a Lua script.

Both take the same input, a LoadSpec: a fixed number of keep-alive connections, each cycling through its own list
of pre-encoded requests (so ids, stages, users vary between requests), a warm-up, then a fixed measured duration.
Both report requests, req/s, p50/p95/p99/max latency and errors, where an error is every response whose status is
not 2xx plus every socket error or timeout: errors are counted and reported, never dropped.

The generator runs in a child process (`python -m bench.load SPEC OUT`), so its CPU time is measured on its own
(os.wait4 rusage) and it does not share a GIL with the harness's samplers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))


@dataclass
class LoadSpec:
    host: str
    port: int
    duration: float
    warmup: float
    # one list of raw request bytes per connection (virtual user)
    requests: list[list[bytes]] = field(default_factory=list)
    timeout: float = 10.0

    @property
    def connections(self) -> int:
        return len(self.requests)


def percentile(sorted_vals: list[float], p: float) -> float:
    if not sorted_vals:
        return float("nan")
    k = min(len(sorted_vals) - 1, max(0, math.ceil(p / 100.0 * len(sorted_vals)) - 1))  # nearest rank
    return sorted_vals[k]


def summarize(latencies: list[list[float]], duration: float) -> dict:
    """Request count, rate and latency percentiles (ms) from per-connection latency lists (seconds)."""
    all_lat = sorted(x for lat in latencies for x in lat)
    n = len(all_lat)
    return {
        "requests": n,
        "duration_s": duration,
        "rps": n / duration,
        "latency_ms": {
            "p50": percentile(all_lat, 50) * 1e3,
            "p95": percentile(all_lat, 95) * 1e3,
            "p99": percentile(all_lat, 99) * 1e3,
            "max": (all_lat[-1] * 1e3) if all_lat else float("nan"),
            "mean": (sum(all_lat) / n * 1e3) if n else float("nan"),
        },
    }


# ------------------------------------------------------------------------------------------------ asyncio


class _Stats:
    def __init__(self, n: int):
        self.latencies: list[list[float]] = [[] for _ in range(n)]
        self.statuses: dict[int, int] = {}
        self.errors = {"non2xx": 0, "socket": 0, "timeout": 0}
        self.samples: list[str] = []
        self.warm = {"requests": 0, "errors": 0}

    def sample(self, s: str) -> None:
        if len(self.samples) < 5:
            self.samples.append(s)


class _VU(asyncio.Protocol):
    """One virtual user: one keep-alive connection, one request in flight, driven by callbacks only
    (no task or future per request), parsing responses in place from the receive buffer."""

    def __init__(self, i: int, reqs: list[bytes], st: _Stats, t_measure: float, t_end: float, done, spec):
        self.i, self.reqs, self.n, self.st = i, reqs, len(reqs), st
        self.t_measure, self.t_end, self.done, self.spec = t_measure, t_end, done, spec
        self.lat = st.latencies[i]
        self.k = (i * 7919) % self.n
        self.transport = None
        self.buf = bytearray()
        self.t0 = 0.0
        self.inflight = False
        self.finished = False

    # connection management
    def connect(self) -> None:
        loop = asyncio.get_running_loop()
        fut = loop.create_task(loop.create_connection(lambda: self, self.spec.host, self.spec.port))
        fut.add_done_callback(self._connected)

    def _connected(self, fut) -> None:
        if fut.cancelled() or fut.exception() is not None:
            self._error("socket", f"connect: {fut.exception()!r}")
            asyncio.get_running_loop().call_later(0.05, self._retry)

    def _retry(self) -> None:
        if time.perf_counter() >= self.t_end:
            self._finish()
        else:
            self.connect()

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.buf.clear()
        self.send()

    def connection_lost(self, exc) -> None:
        self.transport = None
        if self.finished:
            return
        if self.inflight:
            self.inflight = False
            self._error("socket", f"connection lost: {exc!r}")
        self._retry()

    def _error(self, kind: str, what: str) -> None:
        if self.t0 >= self.t_measure:
            self.st.errors[kind] += 1
            self.st.sample(what)
        else:
            self.st.warm["errors"] += 1

    def _finish(self) -> None:
        if not self.finished:
            self.finished = True
            if self.transport is not None:
                self.transport.close()
            self.done()

    def send(self) -> None:
        now = time.perf_counter()
        if now >= self.t_end:
            self._finish()
            return
        data = self.reqs[self.k]
        self.k = (self.k + 1) % self.n
        self.t0 = now
        self.inflight = True
        self.transport.write(data)

    def check_timeout(self, now: float) -> None:
        if self.inflight and now - self.t0 > self.spec.timeout and self.transport is not None:
            self.inflight = False
            self._error("timeout", f"no answer in {self.spec.timeout}s")
            self.transport.abort()  # connection_lost reconnects

    # response parsing
    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        while self.inflight:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end]).lower()
            status = int(head[9:12])
            p = head.find(b"\r\ncontent-length:")
            if p >= 0:
                q = head.find(b"\r\n", p + 17)
                size = int(head[p + 17 : q if q >= 0 else len(head)])
                total = end + 4 + size
                if len(buf) < total:
                    return
                body_start = end + 4
                body = bytes(buf[body_start:total])
                del buf[:total]
            elif b"\r\ntransfer-encoding: chunked" in head:
                parsed = _dechunk(buf, end + 4)
                if parsed is None:
                    return
                body, total = parsed
                del buf[:total]
            else:
                self.inflight = False
                self._error("socket", f"response without length, HTTP {status}")
                self.transport.abort()
                return
            if b"\r\nconnection: close" in head:
                self.transport.close()
            self._complete(status, body)

    def _complete(self, status: int, body: bytes) -> None:
        t1 = time.perf_counter()
        self.inflight = False
        st = self.st
        if self.t0 < self.t_measure:
            st.warm["requests"] += 1
            if not 200 <= status < 300:
                st.warm["errors"] += 1
        elif t1 <= self.t_end:
            self.lat.append(t1 - self.t0)
            st.statuses[status] = st.statuses.get(status, 0) + 1
            if not 200 <= status < 300:
                st.errors["non2xx"] += 1
                st.sample(f"HTTP {status}: {body[:200]!r}")
        if self.transport is not None and not self.transport.is_closing():
            self.send()


def _dechunk(buf: bytearray, pos: int) -> tuple[bytes, int] | None:
    """Decode a complete chunked body starting at pos; None if incomplete. Returns (body, end offset)."""
    out = bytearray()
    while True:
        nl = buf.find(b"\r\n", pos)
        if nl < 0:
            return None
        size = int(bytes(buf[pos:nl]).split(b";", 1)[0].strip(), 16)
        pos = nl + 2
        if size == 0:
            end = buf.find(b"\r\n\r\n", pos - 2)
            if end < 0:
                return None
            return bytes(out), end + 4
        if len(buf) < pos + size + 2:
            return None
        out += buf[pos : pos + size]
        pos += size + 2


async def _asyncio_run(spec: LoadSpec) -> dict:
    loop = asyncio.get_running_loop()
    t_measure = time.perf_counter() + spec.warmup
    t_end = t_measure + spec.duration
    st = _Stats(spec.connections)
    remaining = [spec.connections]
    all_done = loop.create_future()

    def done() -> None:
        remaining[0] -= 1
        if remaining[0] == 0 and not all_done.done():
            all_done.set_result(None)

    vus = [_VU(i, reqs, st, t_measure, t_end, done, spec) for i, reqs in enumerate(spec.requests)]
    for vu in vus:
        vu.connect()

    def watchdog() -> None:
        now = time.perf_counter()
        for vu in vus:
            vu.check_timeout(now)
        if now < t_end + spec.timeout:
            loop.call_later(0.25, watchdog)
        else:  # a connection stuck past the end: give up on it
            for vu in vus:
                vu._finish()

    loop.call_later(0.25, watchdog)
    await all_done
    await asyncio.sleep(0)  # let the transports close
    return {
        **summarize(st.latencies, spec.duration),
        "errors": sum(st.errors.values()),
        "error_kinds": st.errors,
        "statuses": {str(k): v for k, v in sorted(st.statuses.items())},
        "error_samples": st.samples,
        "warmup": st.warm,
    }


def run_asyncio_inprocess(spec: LoadSpec) -> dict:
    try:
        import uvloop

        return uvloop.run(_asyncio_run(spec))
    except ImportError:
        return asyncio.run(_asyncio_run(spec))


# ------------------------------------------------------------------------------------------------ wrk

WRK_LUA = r"""
-- Generated by bench/load.py. Each thread cycles through pre-encoded raw HTTP requests read from a file;
-- every response whose status is not 2xx is counted (wrk itself only counts status > 399).
local reqs = {}
local n = 0
local idx = 0
bad = 0          -- globals: done() reads them from each thread with thread:get()
samples = ""
local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(args[1], "rb"))
  local data = f:read("*a")
  f:close()
  local pos = 1
  while pos <= #data do
    local nl = data:find("\n", pos, true)
    local len = tonumber(data:sub(pos, nl - 1))
    reqs[#reqs + 1] = data:sub(nl + 1, nl + len)
    pos = nl + 1 + len
  end
  n = #reqs
  idx = (tid * 7919) % n
end

function request()
  idx = idx % n + 1
  return reqs[idx]
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    bad = bad + 1
    if #samples < 600 then samples = samples .. "HTTP " .. status .. ": " .. string.sub(body or "", 1, 150) .. "\n" end
  end
end

function done(summary, latency, requests)
  local nbad = 0
  local s = ""
  for _, t in ipairs(threads) do
    nbad = nbad + t:get("bad")
    s = s .. t:get("samples")
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"p50":%d,"p95":%d,"p99":%d,"max":%d,"mean":%f,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"non2xx":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean, e.connect, e.read, e.write, e.status, e.timeout, nbad))
  io.write("WRKSAMPLES " .. s:gsub("\n", " | ") .. "\n")
end
"""


def _write_wrk_requests(spec: LoadSpec, path: str) -> None:
    # interleave connections' lists so that consecutive requests come from different users
    longest = max(len(r) for r in spec.requests)
    with open(path, "wb") as f:
        for k in range(longest):
            for reqs in spec.requests:
                if k < len(reqs):
                    r = reqs[k]
                    f.write(b"%d\n" % len(r))
                    f.write(r)


def _wrk_once(spec: LoadSpec, seconds: float, threads: int, script: str, reqfile: str) -> dict:
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{spec.connections}",
        f"-d{max(1, round(seconds))}s",
        f"--timeout={int(spec.timeout)}s",
        "-s",
        script,
        f"http://{spec.host}:{spec.port}/",
        "--",
        reqfile,
    ]
    r = subprocess.run(argv, capture_output=True, text=True)
    out = r.stdout
    line = next((x for x in out.splitlines() if x.startswith("WRKJSON ")), None)
    if r.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({r.returncode}): {out[-1500:]} {r.stderr[-1500:]}")
    d = json.loads(line[len("WRKJSON ") :])
    samples = next((x for x in out.splitlines() if x.startswith("WRKSAMPLES ")), "WRKSAMPLES ")
    d["samples"] = [s for s in samples[len("WRKSAMPLES ") :].split(" | ") if s.strip()][:5]
    return d


def run_wrk_inprocess(spec: LoadSpec, threads: int = 1) -> dict:
    if not shutil.which("wrk"):
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        script = os.path.join(tmp, "bench.lua")
        reqfile = os.path.join(tmp, "requests.bin")
        lua = WRK_LUA
        if os.environ.get("BENCH_WRK_NO_RESPONSE_HOOK"):  # only for measuring the cost of the hook
            lua = lua.replace("function response(", "function _unused_response(")
        with open(script, "w") as f:
            f.write(lua)
        _write_wrk_requests(spec, reqfile)
        warm = _wrk_once(spec, spec.warmup, threads, script, reqfile) if spec.warmup >= 1 else None
        d = _wrk_once(spec, spec.duration, threads, script, reqfile)
    dur = d["duration_us"] / 1e6
    # wrk counts status > 399 itself and the Lua counts every non-2xx: report the non-2xx count (a superset)
    kinds = {
        "non2xx": d["non2xx"],
        "socket": d["connect"] + d["read"] + d["write"],
        "timeout": d["timeout"],
    }
    return {
        "requests": d["requests"],
        "duration_s": dur,
        "rps": d["requests"] / dur if dur else 0.0,
        "latency_ms": {
            "p50": d["p50"] / 1e3,
            "p95": d["p95"] / 1e3,
            "p99": d["p99"] / 1e3,
            "max": d["max"] / 1e3,
            "mean": d["mean"] / 1e3,
        },
        "errors": sum(kinds.values()),
        "error_kinds": kinds,
        "statuses": {},
        "error_samples": d["samples"],
        "warmup": {"requests": warm["requests"], "errors": warm["non2xx"] + warm["timeout"]} if warm else {},
    }


# ------------------------------------------------------------------------------------------------ runner


def run(spec: LoadSpec, generator: str = "wrk", wrk_threads: int = 1, pin_cpu: str | None = None) -> dict:
    """Run the generator in a child process; adds its CPU seconds (`generator_cpu_s`) to the result."""
    if generator not in ("wrk", "asyncio"):
        raise ValueError(f"unknown generator {generator}")
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        spec_path = os.path.join(tmp, "spec.pickle")
        out_path = os.path.join(tmp, "out.json")
        with open(spec_path, "wb") as f:
            pickle.dump(spec, f, protocol=pickle.HIGHEST_PROTOCOL)
        argv = [sys.executable, "-m", "bench.load", generator, spec_path, out_path, str(wrk_threads)]
        if pin_cpu is not None:
            argv = ["taskset", "-c", pin_cpu, *argv]
        root = os.path.dirname(HERE)
        env = dict(os.environ)
        env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
        proc = subprocess.Popen(argv, cwd=root, env=env)
        _, status, ru = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise RuntimeError(f"load generator exited with {proc.returncode}")
        with open(out_path) as f:
            res = json.load(f)
    res["generator"] = generator
    # generator_cpu_s (set by the child) covers warm-up + measured run only; process_cpu_s also start-up
    res["process_cpu_s"] = round(ru.ru_utime + ru.ru_stime, 3)
    res["connections"] = spec.connections
    return res


# ------------------------------------------------------------------------------------------------ calibration

TINY_SERVER_JS = r"""
const http = require('node:http');
const body = Buffer.from(JSON.stringify({results: Array.from({length: 5}, (_, i) => ({objectId: 'x' + i,
  title: 'deal ' + i, stage: 'lead', amount: i * 1000}))}));
http.createServer((req, res) => {
  req.resume();
  req.on('end', () => { res.writeHead(200, {'Content-Type': 'application/json', 'Content-Length': body.length});
    res.end(body); });
}).listen(parseInt(process.argv[2], 10), '127.0.0.1', () => console.log('ready'));
"""


def calibrate(seconds: float = 5.0, connections: int = 16, port: int = 18999) -> list[dict]:
    """How much load each generator makes per CPU second: both drive a trivial Node HTTP server pinned to
    CPU 0 while the generator is pinned to CPU 1; reports req/s and generator CPU microseconds per request."""
    from bench.client import encode_request

    with tempfile.TemporaryDirectory(prefix="bench-cal-") as tmp:
        js = os.path.join(tmp, "tiny.js")
        with open(js, "w") as f:
            f.write(TINY_SERVER_JS)
        server = subprocess.Popen(["taskset", "-c", "0", "node", js, str(port)], stdout=subprocess.PIPE, text=True)
        try:
            server.stdout.readline()
            req = encode_request(
                "GET",
                "/parse/classes/Deal?where=%7B%22stage%22%3A%22lead%22%7D&limit=50",
                f"127.0.0.1:{port}",
                {"X-Parse-Application-Id": "app", "X-Parse-Session-Token": "r:" + "0" * 32},
            )
            spec = LoadSpec("127.0.0.1", port, seconds, 1.0, [[req] * 10 for _ in range(connections)])
            out = []
            for gen in ("asyncio", "wrk"):
                r = run(spec, gen, pin_cpu="1")
                total = r["requests"] + r["warmup"].get("requests", 0)
                out.append(
                    {
                        "generator": gen,
                        "rps": round(r["rps"]),
                        "errors": r["errors"],
                        "cpu_us_per_request": round(r["generator_cpu_s"] / total * 1e6, 1),
                        "p50_ms": round(r["latency_ms"]["p50"], 3),
                        "p99_ms": round(r["latency_ms"]["p99"], 3),
                    }
                )
            return out
        finally:
            server.terminate()
            server.wait(5)


def _cpu_now() -> float:
    """CPU seconds of this process plus its waited-for children (wrk)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _child(argv: list[str]) -> None:
    generator, spec_path, out_path = argv[0], argv[1], argv[2]
    threads = int(argv[3]) if len(argv) > 3 else 1
    with open(spec_path, "rb") as f:
        spec: LoadSpec = pickle.load(f)
    if generator == "asyncio":
        with contextlib.suppress(ImportError):
            import uvloop  # noqa: F401 - imported before the CPU clock starts
    c0 = _cpu_now()
    res = run_asyncio_inprocess(spec) if generator == "asyncio" else run_wrk_inprocess(spec, threads)
    res["generator_cpu_s"] = round(_cpu_now() - c0, 3)
    with open(out_path, "w") as f:
        json.dump(res, f)


if __name__ == "__main__":
    if sys.argv[1:2] == ["calibrate"]:
        for row in calibrate():
            print(row)
    else:
        _child(sys.argv[1:])
