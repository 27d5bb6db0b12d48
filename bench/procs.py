"""Server processes: start/stop, and sampling of their memory (/proc VmRSS, VmHWM) and CPU time.

Only /proc is read (Linux); no psutil needed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _read(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return None


def _stat_fields(pid: int) -> list[str] | None:
    s = _read(f"/proc/{pid}/stat")
    if not s:
        return None
    # comm may contain spaces/parentheses: split after the last ')'
    rest = s[s.rfind(")") + 2 :].split()
    return rest  # rest[0] = state, rest[1] = ppid, rest[11] = utime, rest[12] = stime


def cpu_seconds(pid: int) -> float | None:
    f = _stat_fields(pid)
    if f is None:
        return None
    return (int(f[11]) + int(f[12])) / CLK_TCK


def mem_kb(pid: int) -> tuple[int, int] | None:
    """(VmRSS, VmHWM) in kB, or None if the process is gone."""
    s = _read(f"/proc/{pid}/status")
    if s is None:
        return None
    rss = hwm = 0
    for line in s.splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
        elif line.startswith("VmHWM:"):
            hwm = int(line.split()[1])
    return rss, hwm


def all_ppids() -> dict[int, int]:
    out = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            f = _stat_fields(int(name))
            if f is not None:
                out[int(name)] = int(f[1])
    return out


def tree_pids(root: int) -> list[int]:
    """root and all of its descendants."""
    ppids = all_ppids()
    children: dict[int, list[int]] = {}
    for pid, ppid in ppids.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        if p in ppids or p == root:
            out.append(p)
        todo.extend(children.get(p, []))
    return out


def cmdline(pid: int) -> str:
    s = _read(f"/proc/{pid}/cmdline")
    return (s or "").replace("\0", " ").strip()


def pg_backend_pids(dbname: str) -> list[int]:
    """PostgreSQL backends serving `dbname` (their process title is 'postgres: user db host(port) state')."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        c = cmdline(int(name))
        if c.startswith("postgres: ") and f" {dbname} " in c:
            out.append(int(name))
    return out


@dataclass
class Usage:
    """CPU seconds used by a set of processes, accumulated across processes that come and go."""

    last: dict[int, float] = field(default_factory=dict)

    def update(self, pids: list[int]) -> None:
        for p in pids:
            c = cpu_seconds(p)
            if c is not None:
                self.last[p] = c

    def total(self) -> float:
        return sum(self.last.values())


class Sampler:
    """Background thread sampling a process tree's memory and CPU, plus PostgreSQL backends of one database."""

    def __init__(self, root_pid: int | None, dbname: str | None, interval: float = 0.25):
        self.root = root_pid
        self.dbname = dbname
        self.interval = interval
        self.server_cpu = Usage()
        self.db_cpu = Usage()
        self.peak_rss_sum_kb = 0  # peak of the sum of VmRSS over the tree (sampled)
        self.peak_rss_proc_kb = 0  # largest VmRSS of one process seen (sampled)
        self.hwm_kb: dict[int, int] = {}  # per-process VmHWM (kernel-tracked peak)
        self.names: dict[int, str] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def sample(self) -> None:
        with self._lock:
            if self.root is not None:
                pids = tree_pids(self.root)
                total = 0
                for p in pids:
                    m = mem_kb(p)
                    if m is None:
                        continue
                    rss, hwm = m
                    total += rss
                    self.peak_rss_proc_kb = max(self.peak_rss_proc_kb, rss)
                    self.hwm_kb[p] = max(self.hwm_kb.get(p, 0), hwm)
                    if p not in self.names:
                        self.names[p] = cmdline(p)[:80]
                self.peak_rss_sum_kb = max(self.peak_rss_sum_kb, total)
                self.server_cpu.update(pids)
            if self.dbname:
                self.db_cpu.update(pg_backend_pids(self.dbname))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def start(self) -> Sampler:
        self.sample()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
        self.sample()

    def cpu_mark(self) -> tuple[float, float]:
        """(server CPU s, database CPU s) so far; take differences around a measured window."""
        self.sample()
        with self._lock:
            return self.server_cpu.total(), self.db_cpu.total()

    def reset_sampled_peaks(self) -> None:
        """Start a new phase for the sampled peaks (VmHWM is the kernel's and covers the process's life)."""
        with self._lock:
            self.peak_rss_sum_kb = 0
            self.peak_rss_proc_kb = 0

    def memory(self) -> dict:
        """peak_rss_max_process_mb: largest VmHWM of one process since it started (kernel peak);
        sampled_*: peaks of VmRSS sampled every `interval` since the last reset_sampled_peaks()."""
        self.sample()
        with self._lock:
            per = sorted(self.hwm_kb.items(), key=lambda kv: -kv[1])
            return {
                "peak_rss_max_process_mb": round(max(self.hwm_kb.values(), default=0) / 1024, 1),
                "peak_rss_sum_mb": round(self.peak_rss_sum_kb / 1024, 1),
                "sampled_peak_process_mb": round(self.peak_rss_proc_kb / 1024, 1),
                "processes": [
                    {"pid": p, "vm_hwm_mb": round(k / 1024, 1), "cmd": self.names.get(p, "")} for p, k in per
                ],
            }


def self_cpu_seconds() -> float:
    """CPU seconds of this Python process (all threads)."""
    t = os.times()
    return t.user + t.system


class ServerProcess:
    """A server started in its own process group; stopped by signalling that group only."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], cwd: str, log_path: str):
        self.name = name
        self.argv = argv
        self.env = env
        self.cwd = cwd
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self._log = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> None:
        os.makedirs(os.path.dirname(self.log_path) or ".", exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - held open for the child's lifetime
        self._log.write(f"\n=== {time.strftime('%F %T')} start {self.argv}\n".encode())
        self._log.flush()
        self.proc = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=self.cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def poll(self):
        return None if self.proc is None else self.proc.poll()

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        # stray members of our own process group (e.g. cluster workers) once the leader is gone
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        if self._log:
            self._log.close()
            self._log = None

    def log_tail(self, n: int = 40) -> str:
        s = _read(self.log_path) or ""
        return "\n".join(s.splitlines()[-n:])


def free_port() -> int:
    """A port the kernel says is free now (a random one may be in use by another server on the machine)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
