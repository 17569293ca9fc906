"""Scale benchmarks of the asset graph on a generated book (scripts, not tests).

    python -m benchmarks.run_scale day      [--portfolios 2000 --positions 50 --date 2025-06-30]
    python -m benchmarks.run_scale backfill [--portfolios 200 --positions 50
                                             --start 2024-07-01 --end 2025-06-30]

Each scenario starts its own embedded PostgreSQL under ``--workdir`` (never the user's
``.sigmasight``), migrates it, generates the book (:mod:`benchmarks.generate_book`) and
loads it through the product's importer (``read_positions_csv`` + ``load_positions``).

``day``: the market-data assets are materialized first for the day (that run also fills the
253 sessions of history: reported separately as "history fill"); then a child process,
wrapped in ``/usr/bin/time -v``, materializes every other asset of the code location (the
engines with their checks, then the reports) for that day in one in-process Dagster run,
as ``sigmasight materialize --date`` does. Its whole-process wall time and peak RSS are the
figures held against the day targets (≤ 60 s, ≤ 2 GB); the engine and report steps are
also summed apart. The warehouse server is a separate process and not in the RSS.

``backfill``: a child process under ``/usr/bin/time -v`` materializes every asset but the
reports over the trading days of [start, end] in one Dagster run (partition-range tags and
the single-run backfill policy, as ``sigmasight materialize --start --end``), market-data
history fill included; target < 15 min. The reports then run over the last 2 days of the
range and their time is scaled to the whole range.

The assets are enumerated from ``definitions.all_assets_and_checks()``, so assets added to
the code location are measured without editing this file. Per-step durations come from
the run's Dagster event log (STEP_START → STEP_SUCCESS), rows from each materialization's
``rows_written`` metadata, and SELECT statements per warehouse table from a SQLAlchemy
event listener (a day's inputs should be one query per table).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections import Counter, defaultdict
from pathlib import Path

warnings.filterwarnings("ignore", message="Parameter `backfill_policy`")

DEFAULT_WORKDIR = Path(os.environ.get("SIGMASIGHT_BENCH_DIR", "/tmp/sigmasight-bench"))
#: asset groups that are inputs, not engine work (materialized before the timed day run)
INPUT_GROUPS = ("market_data", "positions")
#: report assets (files per portfolio): timed in their own run, after the engines
REPORT_GROUPS = ("reports",)


# --- environment ------------------------------------------------------------------------


def _env_for(home: Path, url: str | None = None) -> None:
    os.environ["SIGMASIGHT_HOME"] = str(home)
    os.environ["SIGMASIGHT_MARKET_DATA"] = "simulated"
    os.environ["SIGMASIGHT_REPORTS_DIR"] = str(home / "reports")
    os.environ.pop("POLYGON_API_KEY", None)
    os.environ.pop("FRED_API_KEY", None)
    os.environ.pop("DAGSTER_HOME", None)
    if url:
        os.environ["SIGMASIGHT_DATABASE_URL"] = url
    from sigmasight_pipeline.settings import get_settings

    get_settings.cache_clear()


def start_warehouse(home: Path, fresh: bool = True) -> str:
    """Start the embedded PostgreSQL under ``home/pg``; return its URL, schema migrated."""
    from sqlalchemy import text

    from sigmasight_pipeline.warehouse.database import (
        get_engine,
        resolve_database_url,
        stop_embedded,
    )
    from sigmasight_pipeline.warehouse.migrate import upgrade
    from sigmasight_pipeline.warehouse.tables import SCHEMA

    if fresh and home.exists():
        stop_embedded(home)
        shutil.rmtree(home)
    home.mkdir(parents=True, exist_ok=True)
    url = resolve_database_url(None, home)
    if fresh:
        with get_engine(url).begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        upgrade(url)
    _env_for(home, url)
    return url


def stop_warehouse(home: Path) -> None:
    from sigmasight_pipeline.warehouse.database import stop_embedded

    stop_embedded(home)


def load_book(url: str, csv: Path) -> dict:
    """Validate and load the CSV through the product's importer; timings in seconds."""
    from sigmasight_pipeline.positions_file import read_positions_csv
    from sigmasight_pipeline.warehouse.database import get_engine
    from sigmasight_pipeline.warehouse.positions_store import load_positions

    t0 = time.perf_counter()
    book = read_positions_csv(csv)
    t1 = time.perf_counter()
    with get_engine(url).begin() as conn:
        summary = load_positions(conn, book)
    t2 = time.perf_counter()
    return {"positions": summary.positions_total, "portfolios": summary.portfolios,
            "validate_s": t1 - t0, "load_s": t2 - t1}


def analyze(url: str) -> None:
    """Refresh planner statistics after bulk loads (autovacuum would, a little later)."""
    from sqlalchemy import text

    from sigmasight_pipeline.warehouse.database import get_engine

    with get_engine(url).connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))


# --- Dagster runs -----------------------------------------------------------------------


def asset_keys_by_group() -> dict[str, list]:
    """Every asset key of the code location, by group."""
    from sigmasight_pipeline.definitions import all_assets_and_checks

    groups: dict[str, list] = defaultdict(list)
    for node in all_assets_and_checks():
        for key, group in getattr(node, "group_names_by_key", {}).items():
            groups[group].append(key)
    return dict(groups)


def step_groups() -> dict[str, str]:
    """Each asset step's (op name's) group; checks defined apart have none."""
    from sigmasight_pipeline.definitions import all_assets_and_checks

    out: dict[str, str] = {}
    for node in all_assets_and_checks():
        groups = sorted(set(getattr(node, "group_names_by_key", {}).values()))
        name = getattr(getattr(node, "node_def", None), "name", None)
        if name and groups:
            out[name] = groups[0]
    return out


class StatementLog:
    """(time, table, verb) of every SQL statement this process sends through psycopg
    (SQLAlchemy's and the warehouse's direct cursor reads alike)."""

    _TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE|JOIN)\s+sigmasight\.(\w+)", re.IGNORECASE)

    def __init__(self) -> None:
        import psycopg

        self.entries: list[tuple[float, str, str]] = []
        self._lock = threading.Lock()
        original = psycopg.Cursor.execute
        log = self

        def execute(cursor, query, *args, **kwargs):
            log.record(query)
            return original(cursor, query, *args, **kwargs)

        psycopg.Cursor.execute = execute

    def record(self, statement) -> None:
        statement = statement if isinstance(statement, str) else str(statement)
        verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "?"
        m = self._TABLE.search(statement)
        if m:
            with self._lock:
                self.entries.append((time.time(), m.group(1), verb))


def step_stats(instance, run_id: str, statements: StatementLog | None = None) -> list[dict]:
    """Per step of the run: seconds (STEP_START → STEP_SUCCESS), rows written, SELECTs."""
    from dagster import DagsterEventType

    steps: dict[str, dict] = {}
    for rec in instance.all_logs(run_id):
        ev = rec.dagster_event
        if ev is None or not ev.step_key:
            continue
        s = steps.setdefault(ev.step_key, {"step": ev.step_key, "start": None, "end": None,
                                           "rows": None, "status": None, "partitions": 0})
        if ev.event_type == DagsterEventType.STEP_START:
            s["start"] = rec.timestamp
        elif ev.event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            s["end"] = rec.timestamp
            s["status"] = ev.event_type.value
        elif ev.event_type == DagsterEventType.ASSET_MATERIALIZATION:
            mat = ev.event_specific_data.materialization
            s["partitions"] += 1
            rows = mat.metadata.get("rows_written")
            if rows is not None:
                s["rows"] = rows.value  # the same total on each partition's event
    out = []
    for s in steps.values():
        s["seconds"] = (s["end"] - s["start"]) if s["start"] and s["end"] else None
        if statements is not None and s["start"] and s["end"]:
            selects = Counter(t for ts, t, verb in statements.entries
                              if s["start"] <= ts <= s["end"] and verb == "SELECT")
            s["selects"] = dict(selects)
        out.append(s)
    return sorted(out, key=lambda s: s["start"] or 0)


def run_selection(keys: list, start: dt.date, end: dt.date, instance) -> tuple[bool, str, float]:
    """Materialize ``keys`` (with their checks) for [start, end] in one run."""
    from dagster import AssetSelection, materialize

    from sigmasight_pipeline.calendar import trading_days
    from sigmasight_pipeline.definitions import all_assets_and_checks, defs
    from sigmasight_pipeline.orchestration import _QUIET

    days = trading_days(start, end)
    kwargs: dict = {}
    tags: dict = {}
    if len(days) == 1:
        kwargs["partition_key"] = days[0].isoformat()
    else:
        tags = {"dagster/asset_partition_range_start": days[0].isoformat(),
                "dagster/asset_partition_range_end": days[-1].isoformat()}
    t0 = time.perf_counter()
    result = materialize(all_assets_and_checks(), selection=AssetSelection.assets(*keys),
                         instance=instance, resources=defs.resources, tags=tags,
                         raise_on_error=False, run_config=_QUIET, **kwargs)
    return result.success, result.run_id, time.perf_counter() - t0


# --- child processes (run under /usr/bin/time -v) -----------------------------------------


def selected_keys(groups: dict[str, list], which: str) -> list:
    """Asset keys of ``which``: "engines" (every group but inputs and reports), "reports",
    "inputs", "all_but_inputs" (engines and reports), "all_but_reports" or "all"."""
    if which == "all":
        return [k for ks in groups.values() for k in ks]
    if which == "engines":
        skip = (*INPUT_GROUPS, *REPORT_GROUPS)
        return [k for g, ks in groups.items() if g not in skip for k in ks]
    if which == "reports":
        return [k for g in REPORT_GROUPS for k in groups.get(g, [])]
    if which == "inputs":
        return [k for g in INPUT_GROUPS for k in groups.get(g, [])]
    if which == "all_but_inputs":
        return [k for g, ks in groups.items() if g not in INPUT_GROUPS for k in ks]
    if which == "all_but_reports":
        return [k for g, ks in groups.items() if g not in REPORT_GROUPS for k in ks]
    raise ValueError(which)


def child_engine_day(args) -> None:
    """Materialize the --which assets for [--date, --end]; write step stats to --out."""
    from dagster import DagsterInstance

    _env_for(args.home, args.url)
    statements = StatementLog()
    keys = selected_keys(asset_keys_by_group(), args.which)
    profiler = None
    if getattr(args, "profile", None):
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.005)
        profiler.start()
    with DagsterInstance.ephemeral() as instance:
        ok, run_id, seconds = run_selection(keys, args.date, args.end or args.date, instance)
        runs = len(instance.get_runs())
        if profiler is not None:
            profiler.stop()
            args.profile.parent.mkdir(parents=True, exist_ok=True)
            args.profile.write_text(profiler.output_text(unicode=True, color=False,
                                                         show_all=False))
        stats = step_stats(instance, run_id, statements)
        failures = _failures(instance, run_id)
    args.out.write_text(json.dumps({"ok": ok, "run_seconds": seconds, "steps": stats,
                                    "runs": runs, "failures": failures}, default=str))


def _failures(instance, run_id: str) -> list[str]:
    from dagster import DagsterEventType

    from sigmasight_pipeline.orchestration import _failure_message

    out = []
    for rec in instance.all_logs(run_id, of_type=DagsterEventType.STEP_FAILURE):
        out.append(f"{rec.dagster_event.step_key}: "
                   f"{_failure_message(rec.dagster_event.event_specific_data.error, 8)}")
    return out


TIME_BIN = "/usr/bin/time"


class ChildTimeout(RuntimeError):
    """A benchmark child ran past its time limit and was stopped."""


def run_timed_child(argv: list[str], timeout_s: float | None = None) -> dict:
    """Run ``python -m benchmarks.run_scale <argv>`` under /usr/bin/time -v."""
    cmd = [sys.executable, "-m", "benchmarks.run_scale", *argv]
    if Path(TIME_BIN).exists():
        cmd = [TIME_BIN, "-v", *cmd]
    t0 = time.perf_counter()
    # its own process group: on timeout, GNU time and the Python child below it both stop
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[1], start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise ChildTimeout(f"stopped after {timeout_s / 60:.0f} min") from None
    proc = subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)
    wall = time.perf_counter() - t0
    usage = parse_time_v(proc.stderr)
    usage.setdefault("wall_s", wall)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-40:])
        raise RuntimeError(f"benchmark child failed ({proc.returncode}):\n{tail}")
    return usage


def parse_time_v(stderr: str) -> dict:
    """Wall seconds and peak RSS (MB) from GNU time's -v report."""
    out: dict = {}
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", stderr)
    if m:
        parts = [float(p) for p in m.group(1).split(":")]
        secs = 0.0
        for p in parts:
            secs = secs * 60 + p
        out["wall_s"] = secs
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
    if m:
        out["peak_rss_mb"] = int(m.group(1)) / 1024
    m = re.search(r"User time \(seconds\): ([\d.]+)", stderr)
    if m:
        out["user_s"] = float(m.group(1))
    m = re.search(r"System time \(seconds\): ([\d.]+)", stderr)
    if m:
        out["sys_s"] = float(m.group(1))
    return out


# --- scenarios --------------------------------------------------------------------------


def _prepare(workdir: Path, n_portfolios: int, n_positions: int, seed: int,
             echo) -> tuple[Path, str, dict]:
    from benchmarks.generate_book import generate_book, write_book

    home = workdir / "home"
    t0 = time.perf_counter()
    url = start_warehouse(home)
    echo(f"  warehouse started and migrated in {time.perf_counter() - t0:.1f} s ({home})")
    t0 = time.perf_counter()
    csv = write_book(generate_book(n_portfolios, n_positions, seed=seed), workdir / "book.csv")
    gen_s = time.perf_counter() - t0
    loaded = load_book(url, csv)
    loaded["generate_s"] = gen_s
    echo(f"  book: {loaded['positions']:,} positions in {loaded['portfolios']:,} portfolios "
         f"(generate {gen_s:.1f} s, validate {loaded['validate_s']:.1f} s, "
         f"import {loaded['load_s']:.1f} s)")
    return home, url, loaded


def _timed_run(home: Path, url: str, which: str, start: dt.date, end: dt.date, out: Path,
               what: str, echo, timeout_s: float | None = None) -> dict:
    """One child process under /usr/bin/time -v materializing ``which`` over [start, end]."""
    usage = run_timed_child(["_engine-day", "--home", str(home), "--url", url, "--which", which,
                             "--date", start.isoformat(), "--end", end.isoformat(),
                             "--out", str(out)], timeout_s)
    result = json.loads(out.read_text())
    if not result["ok"]:
        raise RuntimeError(f"{what} run failed:\n" + "\n".join(result["failures"]))
    echo(f"  {what}: {usage['wall_s']:.1f} s wall, {result['runs']} Dagster run(s), "
         f"{usage.get('peak_rss_mb', float('nan')):,.0f} MB peak RSS")
    return {"usage": usage, **result}


def scenario_day(n_portfolios: int, n_positions: int, day: dt.date, workdir: Path,
                 seed: int = 42, echo=print, keep: bool = False, reports: bool = True) -> dict:
    """Inputs first (history fill), then the engines (timed: the target), then reports."""
    from dagster import DagsterInstance

    workdir.mkdir(parents=True, exist_ok=True)
    echo(f"day run: {n_portfolios:,} portfolios × {n_positions} positions on {day}")
    home, url, loaded = _prepare(workdir, n_portfolios, n_positions, seed, echo)
    try:
        inputs = selected_keys(asset_keys_by_group(), "inputs")
        with DagsterInstance.ephemeral() as instance:
            ok, run_id, fill_s = run_selection(inputs, day, day, instance)
            fill_steps = step_stats(instance, run_id)
        if not ok:
            raise RuntimeError(f"market-data run failed: {_failures_text(fill_steps)}")
        echo(f"  market data + 253-session history fill: {fill_s:.1f} s")
        analyze(url)
        which = "all_but_inputs" if reports else "engines"
        run = _timed_run(home, url, which, day, day, workdir / "day_run.json",
                         "day run (engines and reports)" if reports else "engine run", echo)
        groups = step_groups()
        report_steps = [st for st in run["steps"] if groups.get(st["step"]) in REPORT_GROUPS]
        engine_steps = [st for st in run["steps"] if st not in report_steps]
        report = None
        if report_steps:
            report = {"steps": report_steps,
                      "seconds": sum(st["seconds"] or 0 for st in report_steps)}
            echo(f"  of which engine steps {sum(st['seconds'] or 0 for st in engine_steps):.1f} s, "
                 f"report steps {report['seconds']:.1f} s")
        return {"scenario": "day", "portfolios": n_portfolios, "positions": n_positions,
                "date": day.isoformat(), "book": loaded, "history_fill_s": fill_s,
                "history_fill_steps": fill_steps, **run, "steps": engine_steps,
                "reports": report}
    finally:
        if not keep:
            stop_warehouse(home)


def scenario_backfill(n_portfolios: int, n_positions: int, start: dt.date, end: dt.date,
                      workdir: Path, seed: int = 42, echo=print, keep: bool = False,
                      report_days: int = 2, timeout_s: float = 45 * 60,
                      with_reports: bool = False) -> dict:
    """Every asset but the reports over [start, end] in one run (the target; market-data
    history fill included), then the reports over the last ``report_days`` sessions, whose
    time is scaled to the whole range. ``with_reports``: every asset, the reports included,
    in the one run instead (issue 16's year target as stated; no scaled estimate)."""
    from sigmasight_pipeline.calendar import trading_days

    workdir.mkdir(parents=True, exist_ok=True)
    days = trading_days(start, end)
    echo(f"backfill: {n_portfolios:,} portfolios × {n_positions} positions, {start} .. {end} "
         f"({len(days)} trading days)")
    home, url, loaded = _prepare(workdir, n_portfolios, n_positions, seed, echo)
    try:
        analyze(url)
        which, what = (("all", "every asset") if with_reports
                       else ("all_but_reports", "all but reports"))
        main_run = _timed_run(home, url, which, days[0], days[-1], workdir / "backfill.json",
                              f"backfill run ({what})", echo, timeout_s)
        report = None
        if not with_reports and report_days and selected_keys(asset_keys_by_group(), "reports"):
            sample = days[-report_days:]
            report = _timed_run(home, url, "reports", sample[0], sample[-1],
                                workdir / "backfill_reports.json",
                                f"report run ({len(sample)} days)", echo)
            step_s = sum(st["seconds"] or 0 for st in report["steps"])
            report["sample_days"] = len(sample)
            report["estimate_range_s"] = step_s * len(days) / len(sample)
            echo(f"  reports for all {len(days)} days, scaled: "
                 f"{report['estimate_range_s'] / 60:.1f} min")
        return {"scenario": "backfill", "portfolios": n_portfolios, "positions": n_positions,
                "start": days[0].isoformat(), "end": days[-1].isoformat(),
                "days": len(days), "book": loaded, **main_run, "reports": report}
    finally:
        if not keep:
            stop_warehouse(home)


def profile_day(workdir: Path, day: dt.date, out: Path, which: str = "engines",
                echo=print) -> None:
    """Re-run the engine day of a kept ``day`` scenario under pyinstrument."""
    home = workdir / "home"
    url = start_warehouse(home, fresh=False)
    try:
        result_file = workdir / "engine_day_profiled.json"
        usage = run_timed_child(["_engine-day", "--home", str(home), "--url", url, "--date",
                                 day.isoformat(), "--which", which, "--out", str(result_file),
                                 "--profile", str(out)])
        result = json.loads(result_file.read_text())
        echo(f"profiled {which} run: {usage['wall_s']:.1f} s wall; profile in {out}")
        echo(step_table(result["steps"]))
    finally:
        stop_warehouse(home)


def _failures_text(steps: list[dict]) -> str:
    return ", ".join(s["step"] for s in steps if s.get("status") != "STEP_SUCCESS")


# --- tables -------------------------------------------------------------------------------


def step_table(steps: list[dict], with_selects: bool = True) -> str:
    """Markdown table: step, seconds, rows written, SELECTs per table."""
    lines = ["| asset / check step | seconds | rows written |"
             + (" SELECT statements (table × n) |" if with_selects else ""),
             "|---|---:|---:|" + ("---|" if with_selects else "")]
    for s in sorted(steps, key=lambda s: -(s["seconds"] or 0)):
        rows = f"{s['rows']:,}" if isinstance(s.get("rows"), int) else ""
        secs = f"{s['seconds']:.2f}" if s["seconds"] is not None else "—"
        line = f"| {s['step']} | {secs} | {rows} |"
        if with_selects:
            sel = ", ".join(f"{t}×{n}" for t, n in sorted((s.get("selects") or {}).items()))
            line += f" {sel} |"
        lines.append(line)
    total = sum(s["seconds"] or 0 for s in steps)
    rows = sum(s["rows"] for s in steps if isinstance(s.get("rows"), int))
    lines.append(f"| **sum of steps** | **{total:.2f}** | **{rows:,}** |"
                 + (" |" if with_selects else ""))
    return "\n".join(lines)


def _date(s: str) -> dt.date:
    return dt.date.fromisoformat(s)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    day = sub.add_parser("day", help="one trading day at scale")
    day.add_argument("--portfolios", type=int, default=2000)
    day.add_argument("--positions", type=int, default=50)
    day.add_argument("--date", type=_date, default=dt.date(2025, 6, 30))
    back = sub.add_parser("backfill", help="a year of daily partitions in one run")
    back.add_argument("--portfolios", type=int, default=200)
    back.add_argument("--positions", type=int, default=50)
    back.add_argument("--start", type=_date, default=dt.date(2024, 7, 1))
    back.add_argument("--end", type=_date, default=dt.date(2025, 6, 30))
    back.add_argument("--with-reports", action="store_true",
                      help="the reports in the same run (else a 2-day sample, scaled)")
    for p in (day, back):
        p.add_argument("--workdir", type=Path, default=None)
        p.add_argument("--json", type=Path, default=None, help="also write the results here")
        p.add_argument("--keep", action="store_true", help="leave the PostgreSQL running")
    prof = sub.add_parser("profile", help="pyinstrument the engine day of a kept `day` run")
    prof.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR / "day")
    prof.add_argument("--date", type=_date, default=dt.date(2025, 6, 30))
    prof.add_argument("--which", default="engines", help="engines or reports")
    prof.add_argument("--out", type=Path,
                      default=Path(__file__).resolve().parent / "profiles" / "engine_day.txt")
    c1 = sub.add_parser("_engine-day")
    c1.add_argument("--date", type=_date, required=True)
    c1.add_argument("--profile", type=Path, default=None)
    c1.add_argument("--which", default="engines")
    c1.add_argument("--end", type=_date, default=None)
    c1.add_argument("--home", type=Path, required=True)
    c1.add_argument("--url", required=True)
    c1.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    if args.cmd == "_engine-day":
        return child_engine_day(args)
    if args.cmd == "profile":
        return profile_day(args.workdir, args.date, args.out, args.which)
    if args.cmd == "day":
        res = scenario_day(args.portfolios, args.positions, args.date,
                           args.workdir or DEFAULT_WORKDIR / "day", keep=args.keep)
    else:
        res = scenario_backfill(args.portfolios, args.positions, args.start, args.end,
                                args.workdir or DEFAULT_WORKDIR / "backfill", keep=args.keep,
                                with_reports=args.with_reports)
    print(step_table(res["steps"], with_selects=args.cmd == "day"))
    if res.get("reports"):
        print(step_table(res["reports"]["steps"], with_selects=args.cmd == "day"))
    if args.json:
        args.json.write_text(json.dumps(res, indent=1, default=str))


if __name__ == "__main__":
    main()
