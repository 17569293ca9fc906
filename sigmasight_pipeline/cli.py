"""The ``sigmasight`` command line (SPEC §1)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
import warnings
from importlib import resources
from pathlib import Path

import click

# BackfillPolicy is "beta" in Dagster 1.13; the notice is not for our users.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`")

DEMO_END = dt.date(2025, 6, 30)
#: a year of sessions: the VaR backtest (SPEC §7.6) needs 250 observations
DEMO_DAYS = 250


def _date(ctx, param, value):
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """SigmaSight Pipeline: daily portfolio risk analytics on Dagster and PostgreSQL."""


# --- database --------------------------------------------------------------------------


@main.group()
def db() -> None:
    """The warehouse database."""


def _upgrade():
    from .runtime import prepare
    from .warehouse.migrate import upgrade

    rt = prepare()
    t0 = time.perf_counter()
    revision = upgrade(rt.database_url)
    click.echo(
        f"warehouse {rt.display_url} at revision {revision} ({time.perf_counter() - t0:.1f} s)"
    )
    return rt


@db.command("upgrade")
def db_upgrade() -> None:
    """Start the embedded PostgreSQL if no URL is set; apply the Alembic migrations."""
    _upgrade()


@db.command("stop")
def db_stop() -> None:
    """Stop the embedded PostgreSQL (it keeps running between commands otherwise)."""
    from .settings import get_settings
    from .warehouse.database import stop_embedded

    pid = stop_embedded(get_settings().home)
    click.echo(
        "the embedded PostgreSQL is not running"
        if pid is None
        else f"stopped the embedded PostgreSQL (pid {pid})"
    )


# --- positions -------------------------------------------------------------------------


def _import_positions(source, label: str, portfolio: str | None = None) -> None:
    from .positions_file import PositionsFileError, read_positions_csv
    from .runtime import prepare
    from .warehouse.database import get_engine
    from .warehouse.positions_store import load_positions

    try:
        book = read_positions_csv(source, portfolio=portfolio)
    except PositionsFileError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    rt = prepare()
    with get_engine(rt.database_url).begin() as conn:
        summary = load_positions(conn, book)
    click.echo(
        f"{label}: {summary.positions_in_file} positions in {summary.portfolios} "
        f"portfolio(s); {summary.positions_added} added; "
        f"{summary.positions_total} positions in the warehouse"
    )


@main.group()
def positions() -> None:
    """Portfolios and positions."""


@positions.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--portfolio", help="put every row into this portfolio")
def positions_import(file: Path, portfolio: str | None) -> None:
    """Validate FILE and load its positions; any invalid row loads nothing."""
    _import_positions(file, str(file), portfolio)


@main.group()
def seed() -> None:
    """Load bundled data sets."""


@seed.command("demo")
def seed_demo() -> None:
    """Load the 3 demo portfolios (63 positions); running it again changes nothing."""
    demo = resources.files("sigmasight_pipeline") / "data" / "demo_positions.csv"
    with demo.open(encoding="utf-8") as fh:
        _import_positions(fh, "demo")


# --- runs ------------------------------------------------------------------------------


@main.command("materialize")
@click.option("--date", "day", callback=_date, help="one trading day, YYYY-MM-DD")
@click.option("--start", callback=_date, help="first day of a range")
@click.option("--end", callback=_date, help="last day of a range")
def materialize_cmd(day, start, end) -> None:
    """Materialize every asset for the trading days given, in lineage order."""
    if day and (start or end):
        raise click.UsageError("give --date, or --start and --end, not both")
    if day:
        start = end = day
    if not (start and end):
        raise click.UsageError("give --date D or --start D1 --end D2")
    if end < start:
        raise click.UsageError(f"--end {end} is before --start {start}")
    from .runtime import prepare

    prepare()
    sys.exit(0 if _run_with_summary(start, end) else 1)


def _run_with_summary(start: dt.date, end: dt.date, command: str = "materialize") -> bool:
    """One Dagster run over [start, end] with live progress, then the summary table."""
    from .orchestration import live_console, print_summary, run_range

    console = live_console()
    report = run_range(start, end, echo=click.echo, console=console, command=command)
    if report.days and (report.run_ids or report.table_rows):
        print_summary(report, echo=click.echo, console=console)
    return report.success


def _failures_reader(database_url: str):
    """The report index's list of recent run failures (sigmasight.run_failures)."""

    def read() -> list[dict]:
        from .warehouse.database import get_engine
        from .warehouse.run_failures_store import recent_failures

        with get_engine(database_url).connect() as conn:
            return recent_failures(conn)

    return read


@main.command("dev")
@click.option("--port", default=3000, show_default=True)
def dev(port: int) -> None:
    """Start the Dagster UI (webserver + daemon) on 127.0.0.1 with the same database."""
    rt = _upgrade()
    click.echo(f"Dagster UI on http://127.0.0.1:{port} (DAGSTER_HOME={rt.dagster_home})")
    from .reports.server import start_in_background
    from .warehouse.migrate import PROJECT_ROOT

    try:  # the report files, read-only, for the asset metadata's links
        server = start_in_background(rt.settings.reports_dir, rt.settings.reports_port,
                                     dagster_url=f"http://127.0.0.1:{port}",
                                     failures=_failures_reader(rt.database_url))
        click.echo(f"Reports on {server.url}")
    except OSError as exc:
        click.echo(f"report server not started (port {rt.settings.reports_port}): {exc}", err=True)
    cmd = [sys.executable, "-m", "dagster", "dev", "-h", "127.0.0.1", "-p", str(port)]
    workspace = PROJECT_ROOT / "workspace.yaml"
    cmd += (
        ["-w", str(workspace)] if workspace.is_file() else ["-m", "sigmasight_pipeline.definitions"]
    )
    # cwd = DAGSTER_HOME: the dagster.yaml in force is $DAGSTER_HOME/dagster.yaml (the copy of
    # the repository's that `prepare` refreshes); started from the repository, `dagster dev`
    # warned that the repository's file "will not be used" although it is, through the copy.
    # The "use 'dg dev'" hint is about the `dg` CLI, not installed here.
    env = {**os.environ, "PYTHONWARNINGS": ",".join(
        filter(None, [os.environ.get("PYTHONWARNINGS"), DG_DEV_HINT]))}
    sys.exit(subprocess.call(cmd, cwd=rt.dagster_home, env=env))


#: a warnings filter (PYTHONWARNINGS syntax) for `dagster dev`'s "Use 'dg dev' instead."
DG_DEV_HINT = "ignore:Function `dev_command` is superseded"


@main.command("demo")
@click.option(
    "--end",
    callback=_date,
    default=DEMO_END.isoformat(),
    show_default=True,
    help="last trading day of the demo window",
)
@click.option("--days", default=DEMO_DAYS, show_default=True, help="trading days to run")
def demo(end: dt.date, days: int) -> None:
    """The whole demo: db upgrade, seed, materialize the trading days ending on END."""
    from .calendar import sessions_back
    from .settings import get_settings

    _upgrade()
    seed_demo.callback()
    window = sessions_back(end, days)
    if not window:
        raise click.UsageError(f"no trading days end on {end}")
    source = get_settings().resolved_market_data
    click.echo(
        f"materializing {window[0]} .. {window[-1]} ({len(window)} trading days) "
        f"with market data from: {source}"
        + (" (OFFLINE SIMULATED DATA, not real prices)" if source == "simulated" else "")
    )
    if not _run_with_summary(window[0], window[-1], command="demo"):
        sys.exit(1)
    from .orchestration import demo_summary

    click.echo(demo_summary(window[-1]))
    click.echo(reports_summary(window[-1]))


# --- reports ---------------------------------------------------------------------------


@main.group()
def reports() -> None:
    """Portfolio report files (Markdown with a PNG chart, JSON, CSV)."""


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)


@reports.command("download")
@click.option("--portfolio", required=True, help="portfolio name, as in the warehouse")
@click.option("--date", "day", required=True, callback=_date, help="trading day, YYYY-MM-DD")
@click.option("--format", "fmt", required=True, type=click.Choice(["md", "json", "csv"]))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=".",
              show_default=True, help="directory to write <portfolio-slug>_<date>.<format> to")
def reports_download(portfolio: str, day: dt.date, fmt: str, out: Path) -> None:
    """Write one report file: the stored one (checked against its sha256), or, when the
    reports of that day were not materialized, rendered now from the warehouse (same bytes;
    nothing is stored)."""
    from .reports.document import build_document
    from .reports.files import atomic_write, sha256_hex
    from .reports.render import render_formats, slugs_for
    from .runtime import prepare
    from .warehouse.database import get_engine
    from .warehouse.report_store import (
        find_portfolio,
        portfolio_names,
        read_report_inputs,
        read_report_rows,
    )

    rt = prepare()
    with get_engine(rt.database_url).connect() as conn:
        port = find_portfolio(conn, portfolio)
        if port is None:
            names = ", ".join(repr(n) for n in portfolio_names(conn)) or "none"
            _fail(f"unknown portfolio {portfolio!r}; portfolios in the warehouse: {names}")
        pid = port["portfolio_id"]
        stored = read_report_rows(conn, day, pid)
        stored = stored[stored["format"] == fmt]
        data = None
        if len(stored):
            row = stored.iloc[0]
            path = Path(row["path"])
            if path.is_file() and sha256_hex(path.read_bytes()) == row["sha256"]:
                data, slug, origin = path.read_bytes(), path.stem, f"stored report {path}"
            else:
                click.echo(f"stored report {path} is missing or changed; rendering it again",
                           err=True)
        if data is None:
            inputs = read_report_inputs(conn, day)
            if pid not in set(inputs.table("portfolio_snapshots")["portfolio_id"]):
                _fail(f"no data for {portfolio!r} on {day}: no portfolio snapshot for that day "
                      f"(not a trading day, or not materialized: sigmasight materialize "
                      f"--date {day})")
            slug = slugs_for(inputs)[pid]
            data = render_formats(build_document(inputs, pid, slug=slug), (fmt,))[fmt]
            origin = "rendered from the warehouse (the reports of that day are not stored)"
    target = atomic_write(Path(out) / f"{slug}_{day.isoformat()}.{fmt}", data)
    click.echo(f"wrote {target.path} ({target.bytes} bytes, sha256 {target.sha256}) from {origin}")


@reports.command("serve")
@click.option("--port", type=int, default=None, help="default SIGMASIGHT_REPORTS_PORT (3001)")
def reports_serve(port: int | None) -> None:
    """Serve the report files read-only on http://127.0.0.1:PORT/reports/ (Ctrl-C stops)."""
    from .reports.server import make_server
    from .settings import get_settings

    settings = get_settings()
    server = make_server(settings.reports_dir, port=settings.reports_port if port is None
                         else port)
    click.echo(f"serving {settings.reports_dir.resolve()} on {server.url}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def reports_summary(day: dt.date) -> str:
    """Where the reports of ``day`` are, and how to get at them (the end of `demo`)."""
    from .settings import get_settings

    settings = get_settings()
    folder = (settings.reports_dir / day.isoformat()).resolve()
    files = sorted(p.name for p in folder.glob("*.*")) if folder.is_dir() else []
    lines = [f"\nReports for {day}: {folder} ({len(files)} files)"]
    lines += [f"  {name}" for name in files]
    lines += ["Download one: sigmasight reports download --portfolio NAME "
              f"--date {day} --format md|json|csv [--out DIR]",
              f"Browse them: sigmasight dev (or sigmasight reports serve), then "
              f"http://127.0.0.1:{settings.reports_port}/reports/{day}/"]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
