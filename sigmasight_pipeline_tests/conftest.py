"""Test fixtures: a real PostgreSQL for the session, a clean warehouse for each test.

The session starts its own embedded server (pgserver) in a temporary directory, or uses
SIGMASIGHT_TEST_DATABASE_URL when set (its ``sigmasight`` schema is dropped and rebuilt).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import text

from sigmasight_pipeline.settings import get_settings
from sigmasight_pipeline.warehouse.database import (
    get_engine,
    resolve_database_url,
    sqlalchemy_url,
    stop_embedded,
)
from sigmasight_pipeline.warehouse.migrate import upgrade
from sigmasight_pipeline.warehouse.tables import SCHEMA, metadata

# CI replays the same examples every run (a failure there is reproducible, never a coin
# toss); local runs keep exploring new random inputs.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "sigmasight_pipeline" / "data"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("SIGMASIGHT_TEST_DATABASE_URL")
    home = None
    if url:
        url = sqlalchemy_url(url)
    else:  # the same embedded server the product uses, in a temporary home
        home = tmp_path_factory.mktemp("home")
        url = resolve_database_url(None, home)
    with get_engine(url).begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
    upgrade(url)
    yield url
    get_engine(url).dispose()
    if home is not None:
        stop_embedded(home)


@pytest.fixture
def engine(database_url):
    """The warehouse engine with every table emptied (migrated schema kept)."""
    eng = get_engine(database_url)
    names = ", ".join(f"{SCHEMA}.{t.name}" for t in metadata.sorted_tables)
    with eng.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    return eng


@pytest.fixture
def cli_env(database_url, tmp_path, monkeypatch):
    """Environment for in-process CLI calls: the test database, a private home."""
    monkeypatch.setenv("SIGMASIGHT_DATABASE_URL", database_url)
    monkeypatch.setenv("SIGMASIGHT_HOME", str(tmp_path / ".sigmasight"))
    monkeypatch.setenv("SIGMASIGHT_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("SIGMASIGHT_MARKET_DATA", "simulated")
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.delenv("POLYGON_API_KEY", raising=False)
    monkeypatch.delenv("FRED_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


@pytest.fixture
def run_days(cli_env):
    """Materialize every asset for [start, end] in one run on an ephemeral Dagster instance."""
    from dagster import DagsterInstance

    from sigmasight_pipeline.orchestration import materialize_range

    lines: list[str] = []

    def run(start, end=None, expect_success=True):
        lines.clear()
        with DagsterInstance.ephemeral() as instance:
            ok = materialize_range(start, end or start, echo=lines.append, instance=instance)
        assert ok is expect_success, "\n".join(lines)
        return lines

    return run


@pytest.fixture
def demo_book(engine, cli_env):
    """The 63 demo positions loaded."""
    from click.testing import CliRunner

    from sigmasight_pipeline.cli import main

    result = CliRunner().invoke(main, ["seed", "demo"])
    assert result.exit_code == 0, result.output
    return engine
