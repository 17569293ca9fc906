"""Every benchmark in one command, with a table of targets (a script, not a test).

    python -m benchmarks [--quick] [--skip-backfill] [--json results.json]

Runs, in order: the originals side by side (:mod:`benchmarks.bench_originals`), one trading
day of 2,000 portfolios × 50 positions and one year of 200 × 50 backfilled
(:mod:`benchmarks.run_scale`), then prints the machine, the per-asset tables and the
targets (measured vs target, met or MISSED). ``--quick`` shrinks every size (a smoke test
of the harness, not a measurement). Each scenario starts its own embedded PostgreSQL under
``$SIGMASIGHT_BENCH_DIR`` (default /tmp/sigmasight-bench) and stops it at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import time
from pathlib import Path

from benchmarks import bench_demo, bench_originals, bench_partitions, bench_reports, run_scale

DAY_WALL_TARGET_S = 30.0
DAY_RSS_TARGET_MB = 4096.0
BACKFILL_TARGET_S = 15 * 60.0
# issue 16 (scale)
DAY_ALL_TARGET_S = 60.0  # every asset including the reports
DAY_ALL_RSS_TARGET_MB = 2048.0
ASSET_TARGET_S = 25.0  # every engine asset alone
YEAR_TARGET_S = 10 * 60.0  # 250 sessions of 200 × 50, every asset including the reports
YEAR_RSS_TARGET_MB = 3072.0
#: assets that read earlier days' rows as a second query, by design (P&L): the snapshot and
#: the attribution both value each position held without a value on t−1 from its latest
#: earlier row (``engine_store.last_values_before``), as SPEC §5.8 books that P&L
PREVIOUS_DAY_READS = ("portfolio_snapshots:", "pnl_attribution:")


def _load() -> str:
    try:
        return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()
    except OSError:
        return "n/a"


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = float("nan")
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return {"date": dt.datetime.now().strftime("%Y-%m-%d %H:%M"), "cpu": cpu,
            "nproc": os.cpu_count(), "ram_gb": round(mem_gb, 1),
            "python": platform.python_version(), "platform": platform.platform(),
            "postgresql": _pg_version()}


def _pg_version() -> str:
    try:
        import pgserver

        binary = Path(pgserver.__file__).parent / "pginstall" / "bin" / "postgres"
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True,
                             timeout=30)
        return out.stdout.strip() + " (embedded, pgserver)"
    except Exception:  # noqa: BLE001 - only for the report header
        return "embedded (pgserver)"


def targets(originals: list[dict], day: dict | None, backfill: dict | None,
            reports: dict | None = None, partitions: list[dict] | None = None,
            demos: list[dict] | None = None) -> list[dict]:
    """Each target: what, measured, target, met."""
    out = []

    def add(what, measured, target, met, note=""):
        out.append({"what": what, "measured": measured, "target": target, "met": met,
                    "note": note})

    if reports:
        ok = reports["identical_rerun"] and not reports["mismatched_alone"]
        add(f"reports: {reports['portfolios']:,} portfolios × (md + json + csv + png), one day "
            f"(read + render + write, {reports['workers']} workers)",
            f"{reports['total_s']:.1f} s", f"≤ {bench_reports.REPORTS_TARGET_S:.0f} s",
            reports["total_s"] <= bench_reports.REPORTS_TARGET_S,
            f"read {reports['read_s']:.1f} s, render {reports['render_s']:.1f} s; load "
            f"{reports['load_before']}")
        add("reports: byte-identical across re-runs and to single-portfolio renders",
            f"re-run {'identical' if reports['identical_rerun'] else 'DIFFERENT'}; "
            f"{reports['checked_alone']} alone, {len(reports['mismatched_alone'])} differ",
            "identical", ok)
    if day:
        worst = max((s for s in day["steps"] if s.get("rows") is not None),
                    key=lambda s: s["seconds"] or 0, default=None)
        if worst:
            add("day: slowest engine asset alone", f"{worst['seconds']:.1f} s "
                f"({worst['step']})", f"≤ {ASSET_TARGET_S:.0f} s",
                worst["seconds"] <= ASSET_TARGET_S)
        if day.get("reports"):
            u = day["usage"]
            wall, rss = u["wall_s"], u.get("peak_rss_mb", 0)
            engine_s = sum(s["seconds"] or 0 for s in day["steps"])
            add("day: every asset including the reports (one Dagster run, whole process)",
                f"{wall:.1f} s", f"≤ {DAY_ALL_TARGET_S:.0f} s", wall <= DAY_ALL_TARGET_S,
                f"engine steps {engine_s:.1f} s, report steps {day['reports']['seconds']:.1f} s, "
                f"Dagster run {day['run_seconds']:.1f} s")
            add("day: peak RSS (whole process)", f"{rss:,.0f} MB",
                f"≤ {DAY_ALL_RSS_TARGET_MB:,.0f} MB", rss <= DAY_ALL_RSS_TARGET_MB)
    if backfill and backfill.get("reports"):
        u = backfill["usage"]
        total = u["wall_s"] + backfill["reports"]["estimate_range_s"]
        add("year: every asset including the reports (reports scaled from the sample days)",
            f"{total / 60:.1f} min", f"≤ {YEAR_TARGET_S / 60:.0f} min", total <= YEAR_TARGET_S)
        rss = max(u.get("peak_rss_mb", 0),
                  backfill["reports"]["usage"].get("peak_rss_mb", 0))
        add("year: peak RSS", f"{rss:,.0f} MB", f"≤ {YEAR_RSS_TARGET_MB:,.0f} MB",
            rss <= YEAR_RSS_TARGET_MB)
    for r in demos or []:
        if r["target_s"] is not None:
            u = r["usage"]
            add(f"demo: `sigmasight demo --days {r['days']}` from an empty home",
                f"{u['wall_s']:.1f} s",
                f"≤ {r['target_s']:.0f} s", u["wall_s"] <= r["target_s"],
                f"Dagster run {r['run_s']} s; peak RSS {u.get('peak_rss_mb', 0):,.0f} MB; "
                f"load {r['load']:.1f}")
    for r in partitions or []:
        if not r.get("product"):
            continue
        others = "; ".join(f"{o['what']}: {o['rows_per_s']:,.0f} rows/s"
                           for o in partitions if not o.get("product"))
        add(f"writes: {r['what']}, {r['rows']:,} rows into a table holding {r['days']} days",
            f"{r['rows_per_s']:,.0f} rows/s",
            f"≥ {bench_partitions.TARGET_ROWS_PER_S:,.0f} rows/s",
            r["rows_per_s"] >= bench_partitions.TARGET_ROWS_PER_S,
            f"median {r['rows_per_s_median']:,.0f} rows/s; load {r['load']:.1f}; measured "
            f"beside it: {others}")

    if day:
        u = day["usage"]
        engine_steps = sum(s["seconds"] or 0 for s in day["steps"])
        cpu = u.get("user_s", 0) + u.get("sys_s", 0)
        # the engines run in the day's one process: their steps, not a process of their own
        add(f"day {day['portfolios']:,}×{day['positions']}: engine steps (asset and check "
            "steps of the engines, summed)", f"{engine_steps:.1f} s",
            f"< {DAY_WALL_TARGET_S:.0f} s", engine_steps < DAY_WALL_TARGET_S,
            f"whole process {u['wall_s']:.1f} s, user+sys CPU {cpu:.1f} s")
        if not day.get("reports"):
            rss = u.get("peak_rss_mb", float("nan"))
            add("day: peak RSS (whole process)", f"{rss:,.0f} MB",
                f"< {DAY_RSS_TARGET_MB:,.0f} MB", rss < DAY_RSS_TARGET_MB)
    if backfill:
        u = backfill["usage"]
        add(f"backfill {backfill['portfolios']}×{backfill['positions']}, "
            f"{backfill['start']}..{backfill['end']} ({backfill['days']} days), every asset "
            "but the reports", f"{u['wall_s'] / 60:.1f} min",
            f"< {BACKFILL_TARGET_S / 60:.0f} min", u["wall_s"] < BACKFILL_TARGET_S,
            f"{backfill['runs']} Dagster run(s); peak RSS {u.get('peak_rss_mb', 0):,.0f} MB")
        rep = backfill.get("reports")
        if rep:
            total = u["wall_s"] + rep["estimate_range_s"]
            add("backfill including the reports (reports timed on "
                f"{rep['sample_days']} days, scaled to {backfill['days']})",
                f"{total / 60:.1f} min", f"< {BACKFILL_TARGET_S / 60:.0f} min",
                total < BACKFILL_TARGET_S,
                f"reports {rep['estimate_range_s'] / 60:.1f} min of it")
    for r in originals:
        if r.get("target"):
            met = r.get("speedup") is not None and r["speedup"] == r["speedup"] \
                and r["speedup"] >= r["target"]
            measured = f"{r['speedup']:,.0f}×" if r.get("speedup") == r.get("speedup") else "n/a"
            add(f"speed-up: {r['what']}", measured, f"≥ {r['target']:,.0f}×", met)
        if r.get("rows_per_s_target"):
            add(f"COPY throughput: {r['what']}", f"{r['rows_per_s']:,.0f} rows/s",
                f"≥ {r['rows_per_s_target']:,.0f} rows/s",
                r["rows_per_s"] >= r["rows_per_s_target"])
    if day:
        # asset steps (checks re-read on purpose) reading one table more than once
        repeated = [f"{st['step']}: {t}×{n}" for st in day["steps"] if st.get("rows") is not None
                    for t, n in sorted((st.get("selects") or {}).items()) if n > 1]
        unexpected = [r for r in repeated if not r.startswith(PREVIOUS_DAY_READS)]
        add("reads: one query per input table per engine asset (day run)",
            f"{len(repeated)} repeated", "1 per table", not unexpected,
            "repeats: " + (", ".join(repeated) or "none")
            + (" (the snapshot and the attribution read earlier days' rows too)"
               if repeated and not unexpected else ""))
    return out


def targets_table(rows: list[dict]) -> str:
    lines = ["| target | measured | required | |", "|---|---:|---|---|"]
    for r in rows:
        note = f" ({r['note']})" if r["note"] else ""
        lines.append(f"| {r['what']}{note} | {r['measured']} | {r['target']} | "
                     f"{'met' if r['met'] else '**MISSED**'} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test")
    parser.add_argument("--skip-backfill", action="store_true")
    parser.add_argument("--skip-day", action="store_true")
    parser.add_argument("--skip-originals", action="store_true")
    parser.add_argument("--skip-reports", action="store_true")
    parser.add_argument("--skip-partitions", action="store_true")
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="write all results here")
    args = parser.parse_args()

    root = run_scale.DEFAULT_WORKDIR
    info = machine()
    info["load_before"] = _load()
    t0 = time.perf_counter()
    failures: list[str] = []

    def attempt(what, fn):
        """Run one part; a failure is reported with the others' results, not instead."""
        t = time.perf_counter()
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - reported in the targets table
            failures.append(f"{what}: {type(exc).__name__} after "
                            f"{(time.perf_counter() - t) / 60:.1f} min: {str(exc)[-500:]}")
            print(f"  {what} FAILED: {exc}")
            return None

    originals = [] if args.skip_originals else attempt("originals", lambda: bench_originals.run(
        quick=args.quick, workdir=root / "originals")) or []
    day = None
    if not args.skip_day:
        n_port = 100 if args.quick else 2000
        day = attempt("day", lambda: run_scale.scenario_day(n_port, 50, dt.date(2025, 6, 30),
                                                            root / "day", keep=True))
    reports = None
    if not args.skip_day and not args.skip_reports and day:
        reports = attempt("reports", lambda: bench_reports.run(
            day["portfolios"], 50, dt.date(2025, 6, 30), root / "day", os.cpu_count() or 1))
    if not args.skip_day:
        run_scale.stop_warehouse(root / "day" / "home")
    partitions = None
    if not args.skip_partitions:
        partitions = attempt("partitions", lambda: bench_partitions.run(
            10 if args.quick else 250, 20_000 if args.quick else 100_000, 3,
            root / "partitions"))
    demos = None
    if not args.skip_demo:
        demos = attempt("demo", lambda: bench_demo.run(
            [30] if args.quick else list(bench_demo.DEFAULT_DAYS), root / "demo"))
    backfill = None
    if not args.skip_backfill:
        n_port, start = (20, dt.date(2025, 6, 2)) if args.quick else (200, dt.date(2024, 7, 1))
        backfill = attempt("backfill", lambda: run_scale.scenario_backfill(
            n_port, 50, start, dt.date(2025, 6, 30), root / "backfill",
            timeout_s=3 * BACKFILL_TARGET_S))
    info["load_after"] = _load()
    info["total_minutes"] = round((time.perf_counter() - t0) / 60, 1)

    print(f"\n## Machine\n{info['cpu']}, {info['nproc']} cores, {info['ram_gb']} GB RAM; "
          f"Python {info['python']}; {info['postgresql']}; {info['platform']}\n"
          f"{info['date']}; load average (1, 5, 15 min) before {info['load_before']}, "
          f"after {info['load_after']}; {info['total_minutes']} min in all")
    if originals:
        print("\n## Originals side by side\n" + bench_originals.table(originals))
    if day:
        print(f"\n## One day: {day['portfolios']:,} portfolios × {day['positions']} positions "
              f"({day['book']['positions']:,} positions) on {day['date']}\n"
              f"history fill (market data, 253 sessions, separate run): "
              f"{day['history_fill_s']:.1f} s; import {day['book']['load_s']:.1f} s\n")
        print(run_scale.step_table(day["steps"]))
        if day.get("reports"):
            print(f"\nreport steps (same run): {day['reports']['seconds']:.1f} s\n")
            print(run_scale.step_table(day["reports"]["steps"]))
    if backfill:
        print(f"\n## Backfill: {backfill['portfolios']} × {backfill['positions']}, "
              f"{backfill['start']} .. {backfill['end']}\n")
        print(run_scale.step_table(backfill["steps"], with_selects=False))
        if backfill.get("reports"):
            rep = backfill["reports"]
            print(f"\nreports on the last {rep['sample_days']} days: "
                  f"{rep['usage']['wall_s']:.1f} s wall\n")
            print(run_scale.step_table(rep["steps"], with_selects=False))
    if demos:
        print("\n## Demo\n" + bench_demo.table(demos))
    rows = targets(originals, day, backfill, reports, partitions, demos)
    for failure in failures:
        rows.append({"what": failure, "measured": "—", "target": "—", "met": False,
                     "note": ""})
    print("\n## Targets\n" + targets_table(rows))
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "originals": originals, "day": day,
                                         "reports": reports, "partitions": partitions,
                                         "demos": demos,
                                         "backfill": backfill, "targets": rows},
                                        indent=1, default=str))


if __name__ == "__main__":
    main()
