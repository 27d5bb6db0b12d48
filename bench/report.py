"""The benchmark report: one JSON document with every figure, a Markdown rendering, and a one-line summary.

Report shape (JSON):
  meta        command line, options, git revision, machine, time
  calibration load generator comparison (optional), bcrypt limit
  targets     {name: {kind, url, workers, dataset{load...}, scenarios{name: {runs:[...], median:{...}, check}},
                      floor{name: {...}}, memory{...}, db_tables{...}, differences[...]}}
  ratios      {scenario: {ours_over_peer, ours_over_floor, peer_over_floor}}
  goals       the issue's targets, each with the measured value and met/missed (when ours was measured)
  summary     the one-line summary
"""

from __future__ import annotations

import json
import math
import os
import statistics

# The goals for our server (issue 5): (scenario, kind, threshold)
GOALS = [
    ("pipeline", "x_peer", 5.0),
    ("count_stage", "x_peer", 5.0),
    ("get_include", "x_peer", 3.0),
    ("activities", "x_peer", 3.0),
    ("search", "x_peer", 3.0),
    ("get_include", "p99_ms", 25.0),
    ("activities", "p99_ms", 25.0),
    ("search", "p99_ms", 25.0),
    ("create_deal", "x_peer", 2.0),
    ("update_stage", "x_peer", 2.0),
    ("login", "x_bcrypt", 0.9),
    ("loading", "objects_per_s", 8000.0),
    ("memory", "rss_mb_per_process", 150.0),
    # issue 11: the pipeline through GraphQL, against parse-server's GraphQL and against our own REST (within 1.5x)
    ("pipeline_graphql", "x_peer", 3.0),
    ("pipeline_graphql", "x_own_rest", round(1 / 1.5, 3)),
]


def median_run(runs: list[dict]) -> dict:
    """The run with the median req/s (for an even count, the lower middle), so its latencies belong to it."""
    if not runs:
        return {}
    ordered = sorted(runs, key=lambda r: r["rps"])
    m = dict(ordered[(len(ordered) - 1) // 2])
    m["rps_all_runs"] = [round(r["rps"], 1) for r in runs]
    if len(runs) > 1:
        m["rps_median"] = statistics.median(r["rps"] for r in runs)
    return m


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or not b or (isinstance(a, float) and math.isnan(a)):
        return None
    return round(a / b, 2)


def _rps(t: dict | None, sc: str) -> float | None:
    if not t:
        return None
    m = t.get("scenarios", {}).get(sc, {}).get("median")
    return m.get("rps") if m else None


def _floor_rps(t: dict | None, sc: str) -> float | None:
    if not t:
        return None
    f = t.get("floor", {}).get(sc)
    return f.get("rps") if f else None


def compute(report: dict) -> dict:
    """Fill in ratios, goals and summary from the measured figures."""
    targets = report["targets"]
    ours, peer = targets.get("ours"), targets.get("parse-server")
    names: list[str] = []
    for t in targets.values():
        for sc in t.get("scenarios", {}):
            if sc not in names:
                names.append(sc)
    ratios = {}
    for sc in names:
        ratios[sc] = {
            "ours_over_peer": _ratio(_rps(ours, sc), _rps(peer, sc)),
            "ours_over_floor": _ratio(_rps(ours, sc), _floor_rps(ours, sc)),
            "peer_over_floor": _ratio(_rps(peer, sc), _floor_rps(peer, sc)),
        }
    report["ratios"] = ratios

    goals = []
    bcrypt = (report.get("calibration") or {}).get("bcrypt", {}).get("verifies_per_s")
    for sc, kind, thr in GOALS:
        value = None
        if ours:
            if kind == "x_peer":
                value = ratios.get(sc, {}).get("ours_over_peer")
            elif kind == "p99_ms":
                m = ours.get("scenarios", {}).get(sc, {}).get("median")
                value = round(m["latency_ms"]["p99"], 2) if m else None
            elif kind == "x_own_rest":  # GraphQL req/s over the same query's REST req/s, same run
                value = _ratio(_rps(ours, sc), _rps(ours, "pipeline"))
            elif kind == "x_bcrypt":
                value = _ratio(_rps(ours, sc), bcrypt)
            elif kind == "objects_per_s":
                value = (ours.get("dataset") or {}).get("load", {}).get("objects_per_s")
            elif kind == "rss_mb_per_process":
                value = (ours.get("memory") or {}).get("peak_rss_max_process_mb")
        met = None
        if value is not None:
            met = value <= thr if kind in ("p99_ms", "rss_mb_per_process") else value >= thr
        goals.append({"what": sc, "kind": kind, "threshold": thr, "value": value, "met": met})
    report["goals"] = goals
    report["summary"] = summary_line(report)
    return report


def summary_line(report: dict) -> str:
    targets = report["targets"]
    ratios = report.get("ratios", {})
    parts = []
    if "ours" in targets and "parse-server" in targets:
        xs = [f"{sc} {r['ours_over_peer']}x" for sc, r in ratios.items() if r.get("ours_over_peer") is not None]
        met = [g for g in report.get("goals", []) if g["met"] is not None]
        parts.append("ours/parse-server: " + ", ".join(xs))
        parts.append(f"goals met {sum(g['met'] for g in met)}/{len(met)}")
    else:
        for name, t in targets.items():
            xs = [f"{sc} {round(s['median']['rps'])}/s" for sc, s in t.get("scenarios", {}).items() if s.get("median")]
            parts.append(f"{name}: " + ", ".join(xs))
    for name, t in targets.items():
        mem = (t.get("memory") or {}).get("peak_rss_max_process_mb")
        load = ((t.get("dataset") or {}).get("load") or {}).get("objects_per_s")
        bits = []
        if load:
            reused = " (earlier load, data reused)" if (t.get("dataset") or {}).get("reused") else ""
            bits.append(f"load {round(load)} obj/s{reused}")
        if mem:
            bits.append(f"peak RSS {mem} MB")
        if bits:
            parts.append(f"{name} " + ", ".join(bits))
    errs = sum(
        s["median"].get("errors", 0)
        for t in targets.values()
        for s in t.get("scenarios", {}).values()
        if s.get("median")
    )
    parts.append(f"errors {errs}")
    m = report["meta"]
    return f"bench scale={m['scale']} {m['duration']}s x{m['connections']} conns: " + "; ".join(parts)


def _f(x, nd=1) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        if math.isnan(x):
            return "-"
        return f"{x:,.{nd}f}"
    return f"{x:,}" if isinstance(x, int) else str(x)


def to_markdown(report: dict) -> str:
    m = report["meta"]
    out = [f"# Benchmark report ({m['started']})", "", f"`{m['command']}`", ""]
    out.append(f"**Summary:** {report['summary']}")
    out.append("")
    out.append(
        f"Scale {m['scale']}, {m['duration']} s measured after {m['warmup']} s warm-up, {m['connections']} "
        f"connections, {m['repeat']} run(s) per scenario (median shown), generator `{m['generator']}`, "
        f"git {m.get('git', '?')}. Machine: {m['machine']['cpus']} CPUs ({m['machine']['cpu_model']}), "
        f"{m['machine']['memory_gb']} GB; PostgreSQL {m.get('postgres', '?')}."
    )
    out.append("")
    targets = report["targets"]
    for name, t in targets.items():
        if t.get("external"):
            how = f"already running at {t['external']}"
        else:
            how = f"{t.get('workers', '?')} worker process(es)"
        if t.get("command"):
            how += f", `{t['command']}`"
        if t.get("version"):
            how += f", version {t['version']}"
        out.append(f"- {name}: {how}")
    out.append("")
    names = list(report.get("ratios", {}).keys())
    tnames = list(targets.keys())

    out.append("## Scenarios (req/s, latency ms)")
    out.append("")
    head = "| scenario |"
    sep = "|---|"
    for t in tnames:
        head += f" {t} req/s | p50 | p95 | p99 | errors |"
        sep += "---:|---:|---:|---:|---:|"
    head += " ours/peer | ours/floor | peer/floor |"
    sep += "---:|---:|---:|"
    out += [head, sep]
    for sc in names:
        row = f"| {sc} |"
        for t in tnames:
            med = targets[t].get("scenarios", {}).get(sc, {}).get("median")
            if med:
                lat = med["latency_ms"]
                row += (
                    f" {_f(med['rps'])} | {_f(lat['p50'], 2)} | {_f(lat['p95'], 2)} | {_f(lat['p99'], 2)} "
                    f"| {med['errors']} |"
                )
            else:
                row += " - | - | - | - | - |"
        r = report["ratios"][sc]
        row += f" {_f(r['ours_over_peer'], 2)} | {_f(r['ours_over_floor'], 2)} | {_f(r['peer_over_floor'], 2)} |"
        out.append(row)
    out.append("")

    out.append("## CPU per request (µs) and checks")
    out.append("")
    out.append("| target | scenario | server | database | generator | other tenants' CPU share | answer check |")
    out.append("|---|---|---:|---:|---:|---:|---|")
    for t in tnames:
        for sc, s in targets[t].get("scenarios", {}).items():
            med = s.get("median") or {}
            cpu = med.get("cpu_us_per_request", {})
            chk = s.get("check", {})
            c = "ok" if not chk.get("problem_count") else f"{chk['problem_count']} problems: {chk['problems'][:1]}"
            if chk.get("mean_result_size") is not None:
                c += f" (mean result size {chk['mean_result_size']})"
            out.append(
                f"| {t} | {sc} | {_f(cpu.get('server'), 0)} | {_f(cpu.get('database'), 0)} | "
                f"{_f(cpu.get('generator'), 0)} | {_f(med.get('other_cpu_share'), 2)} | {c} |"
            )
    out.append("")

    floors = [(t, sc, f) for t in tnames for sc, f in targets[t].get("floor", {}).items()]
    if floors:
        out.append("## Raw-SQL floor (asyncpg, same connections and duration)")
        out.append("")
        out.append("| database of | scenario | req/s | p50 | p99 | mean rows | errors |")
        out.append("|---|---|---:|---:|---:|---:|---:|")
        for t, sc, f in floors:
            lat = f["latency_ms"]
            out.append(
                f"| {t} | {sc} | {_f(f['rps'])} | {_f(lat['p50'], 2)} | {_f(lat['p99'], 2)} | "
                f"{_f(f.get('mean_rows'))} | {f['errors']} |"
            )
        missing = [(t, sc) for t in tnames for sc in targets[t].get("floor_missing", [])]
        if missing:
            out.append("")
            out.append("No floor SQL for: " + ", ".join(f"{t}/{sc}" for t, sc in missing) + " (fill in FLOOR_SQL).")
        out.append("")

    out.append("## Data loading and memory")
    out.append("")
    out.append(
        "| target | objects | seconds | objects/s | peak RSS, largest process, whole run (VmHWM, MB) "
        "| sampled peak RSS during loading: largest process / all processes (MB) "
        "| sampled peak RSS during scenarios: largest process / all processes (MB) |"
    )
    out.append("|---|---:|---:|---:|---:|---:|---:|")
    for t in tnames:
        load = (targets[t].get("dataset") or {}).get("load") or {}
        mem = targets[t].get("memory") or {}
        ml = targets[t].get("memory_load_phase") or {}
        out.append(
            f"| {t} | {_f(load.get('objects'))} | {_f(load.get('objects_seconds'))} | "
            f"{_f(load.get('objects_per_s'))} | {_f(mem.get('peak_rss_max_process_mb'))} | "
            f"{_f(ml.get('sampled_peak_process_mb'))} / {_f(ml.get('peak_rss_sum_mb'))} | "
            f"{_f(mem.get('sampled_peak_process_mb'))} / {_f(mem.get('peak_rss_sum_mb'))} |"
        )
    out.append("")
    for t in tnames:
        load = (targets[t].get("dataset") or {}).get("load") or {}
        if load.get("classes"):
            cl = ", ".join(f"{k} {_f(v['objects_per_s'], 0)}/s" for k, v in load["classes"].items())
            out.append(f"- {t}: {cl} (batches of {load.get('batch_size')}, {load.get('concurrency')} in flight)")
    out.append("")

    if report.get("goals") and "ours" in targets:
        out.append("## Goals (issues 5 and 11)")
        out.append("")
        out.append("| what | measure | goal | value | met |")
        out.append("|---|---|---:|---:|---|")
        for g in report["goals"]:
            met = {True: "yes", False: "**no**", None: "-"}[g["met"]]
            out.append(f"| {g['what']} | {g['kind']} | {g['threshold']} | {_f(g['value'], 2)} | {met} |")
        out.append("")

    cal = report.get("calibration") or {}
    if cal:
        out.append("## Calibration")
        out.append("")
        if cal.get("bcrypt"):
            b = cal["bcrypt"]
            out.append(
                f"- bcrypt limit (C bcrypt, cost {b.get('cost')}, {b.get('processes')} processes): "
                f"{_f(b.get('verifies_per_s'))} verifies/s"
            )
        for g in cal.get("generators", []):
            out.append(
                f"- generator {g['generator']}: {_f(g['rps'], 0)} req/s against a trivial server, "
                f"{g['cpu_us_per_request']} µs CPU per request"
            )
        out.append("")

    for t in tnames:
        diffs = targets[t].get("differences")
        if diffs:
            out.append(f"## How {t} is configured")
            out.append("")
            out += [f"- {d}" for d in diffs]
            out.append("")
    return "\n".join(out) + "\n"


def write(report: dict, out_dir: str) -> tuple[str, str]:
    os.makedirs(out_dir, exist_ok=True)
    jp, mp = os.path.join(out_dir, "report.json"), os.path.join(out_dir, "report.md")
    with open(jp, "w") as f:
        json.dump(report, f, indent=2, default=str)
    with open(mp, "w") as f:
        f.write(to_markdown(report))
    return jp, mp
