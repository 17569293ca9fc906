"""Process set-up shared by the command line: database URL and Dagster's environment."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from .settings import Settings, get_settings
from .warehouse.database import dagster_storage_url, redacted, resolve_database_url
from .warehouse.migrate import PROJECT_ROOT


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    database_url: str  # SQLAlchemy URL (psycopg 3)
    dagster_home: Path

    @property
    def display_url(self) -> str:
        return redacted(self.database_url)


#: Dagster settings for single-run backfills over many days. Without them, creating a
#: one-year range run wrote one "planned" event per asset and day (≈5,700 INSERTs, each on a
#: new connection: 60-70 s before the first step) and the run wrote its per-day
#: materialization events one by one. The cost: partitions of a FAILED range run show as
#: missing, not failed, in the UI (the run itself shows failed, and the CLI says which step).
DAGSTER_RANGE_RUN_ENV = {
    "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "1",
    "DAGSTER_EVENT_BATCH_SIZE": "500",
}


def prepare(settings: Settings | None = None) -> Runtime:
    """Resolve (and if needed start) the warehouse; point Dagster's storage at it.

    Child processes (Dagster webserver, daemon, run workers) inherit the environment
    set here, so they use the same server and home.
    """
    settings = settings or get_settings()
    home = settings.home.resolve()
    os.environ["SIGMASIGHT_HOME"] = str(home)
    if "reports_dir" in settings.model_fields_set:  # relative to where the command ran
        os.environ["SIGMASIGHT_REPORTS_DIR"] = str(settings.reports_dir.resolve())
    url = resolve_database_url(settings.database_url, home)
    if not settings.database_url:
        # the embedded server's URL, for child processes and the resources
        os.environ["SIGMASIGHT_DATABASE_URL"] = url
    os.environ["SIGMASIGHT_DAGSTER_PG_URL"] = dagster_storage_url(url)
    dagster_home = Path(os.environ.get("DAGSTER_HOME") or home / "dagster")
    dagster_home.mkdir(parents=True, exist_ok=True)
    source = PROJECT_ROOT / "dagster.yaml"
    target = dagster_home / "dagster.yaml"
    if source.is_file() and source.resolve() != target.resolve():
        shutil.copyfile(source, target)
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    # the embedded setup runs the 18:00 schedule by default (defs/daily/schedules.py)
    os.environ.setdefault("SIGMASIGHT_DAILY_SCHEDULE", "on")
    for name, value in DAGSTER_RANGE_RUN_ENV.items():
        os.environ.setdefault(name, value)
    get_settings.cache_clear()
    return Runtime(settings=get_settings(), database_url=url, dagster_home=dagster_home)
