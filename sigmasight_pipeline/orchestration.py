"""Headless runs of the asset graph (the command line's `materialize` and `demo`).

A range of trading days runs as ONE Dagster run: every daily asset has a single-run
backfill policy and receives the whole range through Dagster's partition-range tags
(DAGSTER_FACTS.md), exactly as a ranged backfill launched from the UI. Runs are recorded
in the Dagster instance (PostgreSQL), so they appear in the UI afterwards.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
import uuid
from collections.abc import Callable

from dagster import DagsterEventType, DagsterInstance, RunsFilter, materialize

from .calendar import trading_days
from .partitions import partition_bounds

_PROGRESS_EVENTS = (
    DagsterEventType.STEP_START,
    DagsterEventType.STEP_SUCCESS,
    DagsterEventType.STEP_FAILURE,
    DagsterEventType.STEP_UP_FOR_RETRY,
    DagsterEventType.ASSET_MATERIALIZATION,
    DagsterEventType.ASSET_CHECK_EVALUATION,
)


# Dagster's console logger prints every event at DEBUG; the progress lines replace it.
_QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def _describe(event, materialized: dict) -> str | None:
    """One progress line for an event, or None. Partition materializations of a step are
    counted in ``materialized`` and summarised once, when the step succeeds."""
    kind, step = event.event_type, event.step_key or ""
    data = event.event_specific_data
    if kind == DagsterEventType.ASSET_MATERIALIZATION:
        mat = data.materialization
        entry = materialized.setdefault(step, {"asset": mat.asset_key.to_user_string(),
                                               "partitions": [], "rows": None})
        if mat.partition:
            entry["partitions"].append(mat.partition)
        rows = mat.metadata.get("rows_written")
        entry["rows"] = rows.value if rows is not None else None
        return None
    if kind == DagsterEventType.STEP_SUCCESS:
        entry = materialized.pop(step, None)
        if entry is None:  # a check step: its evaluation was already printed
            return None
        parts = sorted(entry["partitions"])
        span = (f" {parts[0]}" if len(parts) == 1 else
                f" {parts[0]}..{parts[-1]} ({len(parts)} days)" if parts else "")
        rows = f", {entry['rows']} rows" if entry["rows"] is not None else ""
        return f"materialized {entry['asset']}{span}{rows}"
    if kind == DagsterEventType.ASSET_CHECK_EVALUATION:
        return (f"check {data.asset_key.to_user_string()}:{data.check_name} "
                f"{'passed' if data.passed else 'FAILED'}")
    if kind == DagsterEventType.STEP_FAILURE:
        return f"FAILED {step}: {_failure_message(data.error)}"
    if kind == DagsterEventType.STEP_UP_FOR_RETRY:
        return f"retrying {step}: {_failure_message(data.error, max_lines=3)}"
    if kind == DagsterEventType.STEP_START:
        return f"running {step}"
    return None


def _progress(instance: DagsterInstance, token: str, echo: Callable[[str], None],
              stop: threading.Event, t0: float) -> None:
    """Print step and asset events of the run tagged ``token`` as they arrive."""
    seen, run_id, materialized = 0, None, {}
    while True:
        done = stop.is_set()
        if run_id is None:
            runs = instance.get_runs(RunsFilter(tags={"sigmasight/invocation": token}), limit=1)
            run_id = runs[0].run_id if runs else None
        if run_id is not None:
            records = instance.all_logs(run_id, of_type=set(_PROGRESS_EVENTS))
            for rec in records[seen:]:
                line = _describe(rec.dagster_event, materialized) if rec.dagster_event else None
                if line:
                    echo(f"[{time.perf_counter() - t0:6.1f}s] {line}")
            seen = len(records)
        if done:
            return
        stop.wait(0.5)


_DAGSTER_PREFIX = re.compile(r"^dagster\._core\.[\w.]+(: ?|$)")


def _failure_message(error, max_lines: int = 25) -> str:
    """The user-facing text of a step error and its causes, without Dagster's wrappers."""
    lines: list[str] = []
    while error is not None:
        for ln in (error.message or "").strip().splitlines():
            ln = _DAGSTER_PREFIX.sub("", ln)  # "dagster._core....Failure: text" -> "text"
            if ln.strip():
                lines.append(ln)
        error = error.cause
    return "\n    ".join(lines[:max_lines])


def materialize_range(start: dt.date, end: dt.date, echo: Callable[[str], None] = print,
                      instance: DagsterInstance | None = None) -> bool:
    """Materialize every asset for the trading days in [start, end]; True on success."""
    from .definitions import all_assets_and_checks, defs

    days = trading_days(start, end)
    if not days:
        echo(f"no NYSE trading days between {start} and {end}")
        return False
    first, last = partition_bounds()
    if days[0] < first or days[-1] > last:
        echo(f"trading-day partitions run from {first} to {last} (today's session); "
             f"{start} .. {end} is outside them")
        return False
    instance = instance or DagsterInstance.get()
    token = uuid.uuid4().hex
    tags = {"sigmasight/invocation": token}
    kwargs: dict = {}
    if len(days) == 1:
        kwargs["partition_key"] = days[0].isoformat()
    else:
        tags |= {"dagster/asset_partition_range_start": days[0].isoformat(),
                 "dagster/asset_partition_range_end": days[-1].isoformat()}
    echo(f"run over {len(days)} trading day(s): {days[0]} .. {days[-1]}")
    t0 = time.perf_counter()
    stop = threading.Event()
    watcher = threading.Thread(target=_progress, args=(instance, token, echo, stop, t0),
                               daemon=True)
    watcher.start()
    try:
        result = materialize(all_assets_and_checks(), instance=instance,
                             resources=defs.resources, tags=tags, raise_on_error=False,
                             run_config=_QUIET, **kwargs)
    finally:
        stop.set()
        watcher.join(timeout=10)
    status = "succeeded" if result.success else "FAILED"
    echo(f"run {result.run_id} {status} in {time.perf_counter() - t0:.1f} s")
    return result.success


def demo_summary(day: dt.date) -> str:
    """What the demo computed for ``day``: one line per portfolio, then where to look."""
    import pandas as pd
    from sqlalchemy import text

    from .settings import get_settings
    from .warehouse.database import get_engine, redacted, resolve_database_url

    settings = get_settings()
    url = resolve_database_url(settings.database_url, settings.home)
    with get_engine(url).connect() as conn:
        snaps = pd.read_sql(text("""
            SELECT p.name, s.total_value, s.daily_pnl, s.cumulative_pnl, s.gross_exposure,
                   s.net_exposure, s.dollar_delta, s.position_count, s.data_source
              FROM sigmasight.portfolio_snapshots s
              JOIN sigmasight.portfolios p ON p.id = s.portfolio_id
             WHERE s.date = :d ORDER BY p.name"""), conn, params={"d": day})
        issues = pd.read_sql(text("SELECT asset, code, count(*) AS n "
                                  "FROM sigmasight.data_quality_issues WHERE date = :d "
                                  "GROUP BY 1, 2 ORDER BY 1, 2"), conn, params={"d": day})
    if snaps.empty:
        return f"no snapshots for {day}"
    lines = [f"\nPortfolio snapshots on {day} (US$; data source: "
             f"{', '.join(sorted(snaps.data_source.unique()))}"
             + (" = OFFLINE SIMULATED market, not real prices" if
                set(snaps.data_source) == {"simulated"} else "") + ")",
             snaps.drop(columns="data_source").to_markdown(index=False, floatfmt=",.0f")]
    lines.append("\nData-quality issues: " + ("none" if issues.empty else
                                               issues.to_markdown(index=False)))
    lines.append(f"\nWarehouse: {redacted(url)} (schema sigmasight), e.g.\n"
                 "  SELECT * FROM sigmasight.portfolio_snapshots ORDER BY date DESC;\n"
                 "  SELECT * FROM sigmasight.position_greeks WHERE date = "
                 f"'{day}';\nDagster UI with these runs: sigmasight dev")
    return "\n".join(lines)
