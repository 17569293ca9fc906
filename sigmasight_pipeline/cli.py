"""The ``sigmasight`` command line (SPEC §1)."""

from __future__ import annotations

import datetime as dt
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
DEMO_DAYS = 30


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


def _run_with_summary(start: dt.date, end: dt.date) -> bool:
    """One Dagster run over [start, end] with live progress, then the summary table."""
    from .orchestration import live_console, print_summary, run_range

    console = live_console()
    report = run_range(start, end, echo=click.echo, console=console)
    if report.days and (report.run_ids or report.table_rows):
        print_summary(report, echo=click.echo, console=console)
    return report.success


@main.command("dev")
@click.option("--port", default=3000, show_default=True)
def dev(port: int) -> None:
    """Start the Dagster UI (webserver + daemon) on 127.0.0.1 with the same database."""
    rt = _upgrade()
    click.echo(f"Dagster UI on http://127.0.0.1:{port} (DAGSTER_HOME={rt.dagster_home})")
    from .warehouse.migrate import PROJECT_ROOT

    cmd = [sys.executable, "-m", "dagster", "dev", "-h", "127.0.0.1", "-p", str(port)]
    workspace = PROJECT_ROOT / "workspace.yaml"
    cmd += (
        ["-w", str(workspace)] if workspace.is_file() else ["-m", "sigmasight_pipeline.definitions"]
    )
    sys.exit(subprocess.call(cmd))


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
    if not _run_with_summary(window[0], window[-1]):
        sys.exit(1)
    from .orchestration import demo_summary

    click.echo(demo_summary(window[-1]))


if __name__ == "__main__":
    main()
