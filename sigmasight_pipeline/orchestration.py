"""Headless runs of the asset graph (the command line's `materialize` and `demo`).

A range of trading days runs as ONE run of the ``daily_risk`` job (the job the 18:00 schedule
launches), tagged with the command and the range, so it appears beside the scheduled runs
in the UI's run list and timeline: every daily asset has a single-run
backfill policy and receives the whole range through Dagster's partition-range tags
(DAGSTER_FACTS.md), exactly as a ranged backfill launched from the UI. Runs are recorded
in the Dagster instance (PostgreSQL), so they appear in the UI afterwards.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from dagster import (
    AssetCheckSeverity,
    AssetsDefinition,
    DagsterEventType,
    DagsterInstance,
    RunsFilter,
)

from .calendar import trading_days
from .partitions import partition_bounds

log = logging.getLogger(__name__)

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
        # per step, per asset: the days seen and the sum of their rows (each partition's
        # event carries that day's own rows_written, see defs/common.py DayMetadata)
        mat = data.materialization
        assets = materialized.setdefault(step, {})
        entry = assets.setdefault(mat.asset_key.to_user_string(),
                                  {"partitions": set(), "rows": None})
        if mat.partition:
            entry["partitions"].add(mat.partition)
        rows = mat.metadata.get("rows_written")
        if rows is not None and isinstance(rows.value, int):
            entry["rows"] = (entry["rows"] or 0) + rows.value
        return None
    if kind == DagsterEventType.STEP_SUCCESS:
        assets = materialized.pop(step, None)
        checks = assets.pop(_CHECKS, None) if assets else None
        lines = _check_lines(checks)
        if not assets:
            return "\n           ".join(lines) or None
        for asset, entry in assets.items():
            parts = sorted(entry["partitions"])
            span = (f" {parts[0]}" if len(parts) == 1 else
                    f" {parts[0]}..{parts[-1]} ({len(parts)} days)" if parts else "")
            rows = f", {entry['rows']:,} rows" if entry["rows"] is not None else ""
            lines.append(f"materialized {asset}{span}{rows}")
        return "\n           ".join(lines)
    if kind == DagsterEventType.ASSET_CHECK_EVALUATION:
        # one evaluation per day (defs/common.py check_results_by_day): counted per check and
        # printed once when the check's step ends, not 250 lines for a year
        entry = materialized.setdefault(step, {}).setdefault(_CHECKS, {}).setdefault(
            f"{data.asset_key.to_user_string()}:{data.check_name}",
            {"days": 0, "failed": 0, "warn": False, "description": None})
        entry["days"] += 1
        if not data.passed:
            entry["failed"] += 1
            entry["warn"] = data.severity == AssetCheckSeverity.WARN
            entry["description"] = data.description or entry["description"]
        return None
    if kind == DagsterEventType.STEP_FAILURE:
        checks = materialized.get(step, {}).pop(_CHECKS, None)
        return "\n           ".join([*_check_lines(checks),
                                     f"FAILED {step}: {_failure_message(data.error)}"])
    if kind == DagsterEventType.STEP_UP_FOR_RETRY:
        return f"retrying {step}: {_failure_message(data.error, max_lines=3)}"
    if kind == DagsterEventType.STEP_START:
        return f"running {step}"
    return None


#: key of a step's check counts inside ``materialized`` (never an asset name: it has spaces)
_CHECKS = " checks"


def _check_lines(checks: dict | None) -> list[str]:
    """'check asset:name passed' / 'FAILED' per check, with the day counts of a range run;
    a WARN failure says it does not block, with the last failing day's description."""
    lines = []
    for name, c in (checks or {}).items():
        if not c["failed"]:
            line = f"check {name} passed" + (f" ({c['days']} days)" if c["days"] > 1 else "")
        else:
            days = f" on {c['failed']} of {c['days']} days" if c["days"] > 1 else ""
            line = f"check {name} FAILED{days}"
            if c["warn"] and c["description"]:
                line += f" (warning, not blocking: {c['description']})"
            elif c["description"]:
                line += f" ({c['description']})"
        lines.append(line)
    return lines


class _PlainDisplay:
    """Progress as plain lines (no terminal, CI, tests): one line per step event."""

    def __init__(self, echo: Callable[[str], None]):
        self.echo, self.materialized = echo, {}

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

    def event(self, record, elapsed: float) -> None:
        line = _describe(record.dagster_event, self.materialized)
        if line:
            self.echo(f"[{elapsed:6.1f}s] {line}")


class _RichDisplay(_PlainDisplay):
    """A live rich progress bar over days × assets, the same lines printed above it."""

    def __init__(self, console, units: int):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        super().__init__(echo=console.print)
        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description:<34.34}"),
                                 BarColumn(bar_width=30),
                                 MofNCompleteColumn(), TextColumn("asset-days"),
                                 TimeElapsedColumn(), console=console, transient=False)
        self.task = self.progress.add_task("starting", total=units)

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.update(self.task, description="done")
        self.progress.stop()

    def event(self, record, elapsed: float) -> None:
        event = record.dagster_event
        if event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
            self.progress.advance(self.task)
        elif event.event_type == DagsterEventType.STEP_START:
            self.progress.update(self.task, description=event.step_key or "")
        line = _describe(event, self.materialized)
        if line:
            style = "red" if ("FAILED" in line or line.startswith("retrying")) else None
            self.progress.console.print(f"[{elapsed:6.1f}s] {line}", style=style,
                                        markup=False, highlight=False)


def _progress(instance: DagsterInstance, token: str, display: _PlainDisplay,
              stop: threading.Event, t0: float) -> None:
    """Feed step and asset events of the run tagged ``token`` to ``display`` as they arrive.

    A poll the storage refuses (an in-memory instance's sqlite answers "database table is
    locked" to this thread while the run writes) is retried at the next poll: the cursor
    moves only past events shown, so none is lost, and once the run has ended the last
    events are still drained (retried for up to ``_DRAIN_RETRIES`` polls).
    """
    cursor, run_id = None, None
    refused = 0
    while True:
        done = stop.is_set()
        try:
            if run_id is None:
                runs = instance.get_runs(RunsFilter(tags={"sigmasight/invocation": token}),
                                         limit=1)
                run_id = runs[0].run_id if runs else None
            while run_id is not None:  # only the events since the last poll (a year's range
                # run logs one materialization per asset and day: re-reading them all is O(n²))
                page = instance.get_records_for_run(run_id, cursor=cursor,
                                                    of_type=set(_PROGRESS_EVENTS), limit=1000)
                for rec in page.records:
                    if rec.event_log_entry.dagster_event:
                        display.event(rec.event_log_entry, time.perf_counter() - t0)
                cursor = page.cursor if page.records else cursor
                if not page.has_more:
                    break
        except Exception as exc:  # noqa: BLE001 - progress must never end before the run's
            refused += 1
            log.debug("progress poll refused (%s): %s", type(exc).__name__, exc)
            if done and refused > _DRAIN_RETRIES:
                return
            stop.wait(0.1 if done else 0.5)
            continue
        if done:
            return
        stop.wait(0.5)


#: polls retried after the run has ended before the progress lines give up (0.1 s apart)
_DRAIN_RETRIES = 50


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


@dataclass
class RunReport:
    """What one `materialize`/`demo` invocation did, for the final summary table."""

    days: list[dt.date]
    success: bool = False
    run_ids: list[str] = field(default_factory=list)
    seconds: float = 0.0
    failed_steps: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)
    #: failed checks of severity WARN (e.g. a limit breach): findings, not broken results
    warned_checks: list[str] = field(default_factory=list)
    step_seconds: dict[str, float] = field(default_factory=dict)
    table_rows: dict[str, int] = field(default_factory=dict)
    #: the first :data:`SUMMARY_REPORT_FILES` report files of the last day, by path
    report_paths: list[str] = field(default_factory=list)
    #: report files of the last day and the directory they are in
    report_count: int = 0
    reports_dir: str | None = None

    @property
    def runs_launched(self) -> int:
        return len(self.run_ids)


def live_console():
    """A rich Console for the live progress display, or None for plain lines (no TTY, CI)."""
    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
        return None
    if not sys.stdout.isatty():
        return None
    from rich.console import Console

    return Console()


#: the job CLI runs launch: the schedule's, so both kinds of run are listed together
JOB_NAME = "daily_risk"
#: the code location the UI shows the runs under: workspace.yaml's python_module (its name
#: defaults to the module); SIGMASIGHT_CODE_LOCATION for another workspace (compose:
#: ``sigmasight_pipeline``)
CODE_LOCATION_ENV = "SIGMASIGHT_CODE_LOCATION"
DEFINITIONS_MODULE = "sigmasight_pipeline.definitions"


def _execute_daily_risk(instance: DagsterInstance, tags: dict[str, str], run_config: dict):
    """Run ``daily_risk`` in this process as a run of the code location.

    ``execute_in_process`` records a run with no code-location origin: the UI lists it under
    *Runs* but leaves it off the Overview timeline and the job's page. Creating the run with
    the workspace's origin (``RemoteJobOrigin``) and executing it here (``execute_run``, the
    same call a run worker makes) puts it where the schedule's runs are.
    """
    from dagster._core.definitions.reconstruct import ReconstructableRepository
    from dagster._core.execution.api import execute_run
    from dagster._core.remote_origin import (
        ManagedGrpcPythonEnvCodeLocationOrigin,
        RemoteJobOrigin,
        RemoteRepositoryOrigin,
    )
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

    from .warehouse.migrate import PROJECT_ROOT

    cwd = str(PROJECT_ROOT)
    recon_job = ReconstructableRepository.for_module(
        DEFINITIONS_MODULE, "defs", cwd).get_reconstructable_job(JOB_NAME)
    location = ManagedGrpcPythonEnvCodeLocationOrigin(
        loadable_target_origin=LoadableTargetOrigin(
            executable_path=sys.executable, module_name=DEFINITIONS_MODULE, attribute="defs",
            working_directory=cwd),
        location_name=os.environ.get(CODE_LOCATION_ENV) or DEFINITIONS_MODULE)
    origin = RemoteJobOrigin(RemoteRepositoryOrigin(location, "__repository__"), JOB_NAME)
    run = instance.create_run_for_job(
        job_def=recon_job.get_definition(), run_config=run_config, tags=tags,
        remote_job_origin=origin, job_code_origin=recon_job.get_python_origin())
    return execute_run(recon_job, run, instance, raise_on_error=False)


def materialize_range(start: dt.date, end: dt.date, echo: Callable[[str], None] = print,
                      instance: DagsterInstance | None = None) -> bool:
    """Materialize every asset for the trading days in [start, end]; True on success."""
    return run_range(start, end, echo=echo, instance=instance).success


def run_tags(days: list[dt.date], command: str) -> dict[str, str]:
    """Tags of a CLI run: what launched it and which days, as the UI's run list shows them."""
    span = days[0].isoformat() if len(days) == 1 else f"{days[0]}..{days[-1]}"
    return {"sigmasight/command": f"sigmasight {command}", "sigmasight/range": span,
            "sigmasight/days": str(len(days))}


def run_range(start: dt.date, end: dt.date, echo: Callable[[str], None] = print,
              instance: DagsterInstance | None = None, console=None,
              command: str = "materialize") -> RunReport:
    """Materialize every asset for the trading days in [start, end] as ONE Dagster run.

    Progress comes from the run's event stream: plain lines through ``echo``, or a rich
    progress bar over days × assets on ``console`` (see :func:`live_console`).
    """
    from .definitions import all_assets_and_checks

    days = trading_days(start, end)
    report = RunReport(days=days)
    if not days:
        echo(f"no NYSE trading days between {start} and {end}")
        return report
    first, last = partition_bounds()
    if days[0] < first or days[-1] > last:
        echo(f"trading-day partitions run from {first} to {last} (today's session); "
             f"{start} .. {end} is outside them")
        return report
    instance = instance or DagsterInstance.get()
    token = uuid.uuid4().hex
    tags = {"sigmasight/invocation": token, **run_tags(days, command)}
    if len(days) == 1:
        tags["dagster/partition"] = days[0].isoformat()
    else:
        tags |= {"dagster/asset_partition_range_start": days[0].isoformat(),
                 "dagster/asset_partition_range_end": days[-1].isoformat()}
    echo(f"run over {len(days)} trading day(s): {days[0]} .. {days[-1]}")
    assets_and_checks = all_assets_and_checks()
    units = sum(len(a.keys) * (len(days) if a.partitions_def is not None else 1)
                for a in assets_and_checks if isinstance(a, AssetsDefinition))
    display = (_RichDisplay(console, units) if console is not None
               else _PlainDisplay(echo))
    t0 = time.perf_counter()
    stop = threading.Event()
    watcher = threading.Thread(target=_progress, args=(instance, token, display, stop, t0),
                               daemon=True)
    watcher.start()
    try:
        with display:
            result = _execute_daily_risk(instance, tags, _QUIET)
            stop.set()
            watcher.join(timeout=10)
    finally:
        stop.set()
    report.seconds = time.perf_counter() - t0
    report.success = result.success
    runs = instance.get_runs(RunsFilter(tags={"sigmasight/invocation": token}))
    report.run_ids = [r.run_id for r in runs] or [result.run_id]
    for run_id in report.run_ids:
        _collect(instance, run_id, report)
    status = "succeeded" if result.success else "FAILED"
    echo(f"run {result.run_id} {status} in {report.seconds:.1f} s")
    try:
        (report.table_rows, report.report_paths, report.report_count,
         report.reports_dir) = _warehouse_counts(days)
    except Exception as exc:  # noqa: BLE001 - the summary must not hide the run's outcome
        echo(f"(warehouse counts unavailable: {type(exc).__name__}: {exc})")
    return report


def _collect(instance: DagsterInstance, run_id: str, report: RunReport) -> None:
    """Failed steps and checks, and seconds per step, from the run's event log."""
    started: dict[str, float] = {}
    kinds = {DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS,
             DagsterEventType.STEP_FAILURE, DagsterEventType.ASSET_CHECK_EVALUATION}
    for rec in instance.all_logs(run_id, of_type=kinds):
        event = rec.dagster_event
        step = event.step_key or ""
        if event.event_type == DagsterEventType.STEP_START:
            started[step] = rec.timestamp
        elif event.event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            if step in started:
                report.step_seconds[step] = rec.timestamp - started[step]
            if event.event_type == DagsterEventType.STEP_FAILURE:
                report.failed_steps.append(step)
        else:
            data = event.event_specific_data
            if not data.passed:
                found = (report.warned_checks if data.severity == AssetCheckSeverity.WARN
                         else report.failed_checks)
                found.append(
                    f"{data.asset_key.to_user_string()}:{data.check_name}"
                    + (f" [{data.partition}]" if getattr(data, "partition", None) else ""))


#: report files named in the summary (a day of 2,000 portfolios writes 8,000)
SUMMARY_REPORT_FILES = 10


def _warehouse_counts(days: list[dt.date]
                      ) -> tuple[dict[str, int], list[str], int, str | None]:
    """Rows per warehouse table with a ``date`` column for ``days``; of the last day, the
    first :data:`SUMMARY_REPORT_FILES` report paths (Markdown first), the number of report
    files and their directory.

    Generic over ``warehouse/tables.py``: a table added there is counted without a change
    here (one count query per table).
    """
    from sqlalchemy import between, func, select

    from .settings import get_settings
    from .warehouse.database import get_engine, resolve_database_url
    from .warehouse.tables import metadata, reports

    settings = get_settings()
    engine = get_engine(resolve_database_url(settings.database_url, settings.home))
    counts: dict[str, int] = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            if "date" not in table.c:
                continue
            query = select(func.count()).select_from(table).where(
                between(table.c.date, days[0], days[-1]))
            counts[table.name] = conn.execute(query).scalar_one()
        last_day = reports.c.date == days[-1]
        # the Markdown reports (the ones a person opens) first
        paths = conn.execute(select(reports.c.path).where(last_day)
                             .order_by(reports.c.format != "md", reports.c.path)
                             .limit(SUMMARY_REPORT_FILES)).scalars().all()
        n_files = conn.execute(select(func.count()).select_from(reports)
                               .where(last_day)).scalar_one()
    folder = os.path.dirname(paths[0]) if paths else None
    return dict(sorted(counts.items())), list(paths), n_files, folder


def summary_table(report: RunReport, slowest: int = 5):
    """The final summary as a rich Table (rendered as text when there is no terminal)."""
    from rich import box
    from rich.table import Table

    table = Table(title="sigmasight run summary", box=box.SIMPLE_HEAD, show_header=True,
                  title_justify="left")
    table.add_column("item", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    days = report.days
    table.add_row("days", (f"{len(days)} trading day(s): {days[0]} .. {days[-1]}"
                           if days else "none"))
    table.add_row("result", ("[green]succeeded[/]" if report.success else "[red]FAILED[/]")
                  + f" in {report.seconds:.1f} s")
    table.add_row("Dagster runs launched", str(report.runs_launched))
    if report.table_rows:
        table.add_section()
        table.add_row("rows for these days", "(warehouse schema sigmasight)")
    for name, rows in report.table_rows.items():
        table.add_row(f"  {name}", f"{rows:,}")
    table.add_section()
    table.add_row("failed steps", ", ".join(report.failed_steps) or "none")
    table.add_row("failed asset checks", "\n".join(report.failed_checks) or "none")
    if report.warned_checks:
        table.add_row("asset check warnings", "\n".join(report.warned_checks))
    top = sorted(report.step_seconds.items(), key=lambda kv: -kv[1])[:slowest]
    if top:
        table.add_row("slowest steps", "\n".join(f"{s}: {sec:.1f} s" for s, sec in top))
    last = f" ({days[-1]})" if days else ""
    table.add_row(f"reports{last}", _reports_cell(report))
    return table


def _reports_cell(report: RunReport) -> str:
    """The report directory and at most :data:`SUMMARY_REPORT_FILES` of its files."""
    if not report.report_count:
        return "no reports"
    lines = [f"{report.report_count:,} file(s) in {report.reports_dir}", *report.report_paths]
    if report.report_count > len(report.report_paths):
        lines.append(f"… and {report.report_count - len(report.report_paths):,} more")
    return "\n".join(lines)


def print_summary(report: RunReport, echo: Callable[[str], None] = print,
                  console=None) -> None:
    """Print :func:`summary_table` on the live console, or as plain text through ``echo``."""
    table = summary_table(report)
    if console is not None:
        console.print(table)
        return
    import io

    from rich.console import Console

    buf = io.StringIO()
    Console(file=buf, width=100, color_system=None, force_terminal=False,
            highlight=False).print(table)
    echo("\n".join(line.rstrip() for line in buf.getvalue().rstrip().splitlines()))


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
    lines.append(backtest_summary(day))
    lines.append("\nData-quality issues: " + ("none" if issues.empty else
                                               issues.to_markdown(index=False)))
    lines.append(f"\nWarehouse: {redacted(url)} (schema sigmasight), e.g.\n"
                 "  SELECT * FROM sigmasight.portfolio_snapshots ORDER BY date DESC;\n"
                 "  SELECT * FROM sigmasight.position_greeks WHERE date = "
                 f"'{day}';\nDagster UI with these runs: sigmasight dev")
    return "\n".join(lines)


def backtest_summary(day: dt.date) -> str:
    """The 99 % VaR backtest of ``day`` per portfolio and method (actual P&L), for the demo."""
    import pandas as pd
    from sqlalchemy import text

    from .settings import get_settings
    from .warehouse.database import get_engine, resolve_database_url

    settings = get_settings()
    with get_engine(resolve_database_url(settings.database_url, settings.home)).connect() as c:
        rows = pd.read_sql(text("""
            SELECT p.name, b.method, b.observations, b.exceptions, b.kupiec_p, b.zone
              FROM sigmasight.var_backtests b
              JOIN sigmasight.portfolios p ON p.id = b.portfolio_id
             WHERE b.date = :d AND b.confidence = 0.99 AND b.pnl_type = 'actual'
             ORDER BY p.name, b.method DESC"""), c, params={"d": day})
    if rows.empty:
        return f"\nVaR backtest (99 %, 1-day, actual P&L) on {day}: no rows"
    return (f"\nVaR backtest (99 %, 1-day, actual P&L) on {day}:\n"
            + rows.to_markdown(index=False, floatfmt=".4f"))
