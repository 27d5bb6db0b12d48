"""Machine-level measurements: busy CPU of the whole machine (to see other tenants' noise) and the bcrypt-verify
limit of this machine at parse-server's cost factor (10), the ceiling for the log-in scenario."""

from __future__ import annotations

import multiprocessing as mp
import os
import platform
import time


def cpu_times() -> tuple[float, float]:
    """(busy seconds, total seconds) summed over all CPUs, from /proc/stat."""
    with open("/proc/stat") as f:
        parts = f.readline().split()[1:]
    vals = [int(x) for x in parts[:8]]
    idle = vals[3] + vals[4]  # idle + iowait
    total = sum(vals)
    hz = os.sysconf("SC_CLK_TCK")
    return (total - idle) / hz, total / hz


def loadavg() -> float:
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def info() -> dict:
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": round(mem_kb / 2**20, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg_at_start": loadavg(),
    }


def _bcrypt_worker(seconds: float, q) -> None:
    import bcrypt

    pw = b"pw-rep01-bench"
    h = bcrypt.hashpw(pw, bcrypt.gensalt(10))
    n = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        if not bcrypt.checkpw(pw, h):
            raise AssertionError("bcrypt")
        n += 1
    q.put(n)


def bcrypt_limit(seconds: float = 3.0, procs: int | None = None) -> dict:
    """Verifies per second with the C bcrypt (Python `bcrypt`), cost 10, one process per CPU."""
    try:
        import bcrypt  # noqa: F401
    except ImportError:
        return {"error": "python bcrypt not installed"}
    procs = procs or os.cpu_count() or 1
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    ps = [ctx.Process(target=_bcrypt_worker, args=(seconds, q)) for _ in range(procs)]
    for p in ps:
        p.start()
    total = sum(q.get() for _ in ps)
    for p in ps:
        p.join()
    return {"cost": 10, "processes": procs, "seconds": seconds, "verifies_per_s": round(total / seconds, 1)}
