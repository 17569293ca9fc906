"""PostgreSQL stopped in the middle of a run, on a server of its own (not the session's).

A one-shot trigger (a sequence, which is not rolled back, makes it fire once) puts a
write to sleep; the test then stops the server with a fast shutdown, which disconnects
every session as a crash or failover would.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from sigmasight_pipeline.settings import get_settings
from sigmasight_pipeline.warehouse.database import (
    DatabaseUnavailableError,
    embedded_database_url,
    get_engine,
    sqlalchemy_url,
    stop_embedded,
)
from sigmasight_pipeline.warehouse.migrate import upgrade

from .conftest import diff_states, row_trigger_sql, warehouse_state

D = dt.date(2025, 6, 30)
DEMO = Path(__file__).resolve().parents[2] / "sigmasight_pipeline" / "data" / "demo_positions.csv"


class Server:
    """An embedded PostgreSQL of this test: stop (fast shutdown) and start again."""

    def __init__(self, home: Path):
        self.home = home
        self.url = sqlalchemy_url(embedded_database_url(home))

    @property
    def pid_file(self) -> Path:
        return self.home.resolve() / "pg" / "postmaster.pid"

    def stop(self) -> None:
        pid = int(self.pid_file.read_text().splitlines()[0])
        os.kill(pid, signal.SIGINT)  # fast shutdown: sessions are terminated
        deadline = time.monotonic() + 30
        while self.pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not self.pid_file.exists(), "the server did not stop"

    def start(self) -> None:
        import pgserver

        server = pgserver.get_server((self.home / "pg").resolve(), cleanup_mode=None)
        with server._lock:
            server.ensure_postgres_running()
        assert sqlalchemy_url(server.get_uri()) == self.url


@pytest.fixture
def own_server(cli_env, monkeypatch):
    # Not under pytest's basetemp: pytest re-tightens /tmp/pytest-of-<user> to 0700 when
    # another session starts, which locks out the server's own system user (as root).
    home = Path(tempfile.mkdtemp(prefix="sigmasight-faulty-"))
    home.chmod(0o755)
    server = Server(home)
    upgrade(server.url)
    monkeypatch.setenv("SIGMASIGHT_DATABASE_URL", server.url)
    get_settings.cache_clear()
    from sigmasight_pipeline.positions_file import read_positions_csv
    from sigmasight_pipeline.warehouse.positions_store import load_positions

    with get_engine(server.url).begin() as conn:
        load_positions(conn, read_positions_csv(DEMO))
    yield server
    get_engine(server.url).dispose()
    stop_embedded(server.home)
    shutil.rmtree(home, ignore_errors=True)


def _one_shot_sleep(engine, table: str) -> None:
    with engine.begin() as conn:
        conn.execute(text(f"""
            CREATE SEQUENCE IF NOT EXISTS sigmasight.reliability_once_{table};
            CREATE OR REPLACE FUNCTION sigmasight.reliability_sleep_{table}() RETURNS trigger
            LANGUAGE plpgsql AS $$ BEGIN
              IF nextval('sigmasight.reliability_once_{table}') = 1 THEN
                PERFORM pg_sleep(600); END IF;
              RETURN NEW; END $$;
""" + row_trigger_sql(table, f"reliability_sleep_{table}",
                                 f"reliability_sleep_{table}")))


def _sleeping_in(engine, table: str) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep' "
            "AND query ILIKE :q"), {"q": f"COPY sigmasight.{table}%"}).scalar_one())


def _run_in_thread(day):
    """materialize_range on an in-memory Dagster instance (its own storage stays up)."""
    from dagster import DagsterInstance

    from sigmasight_pipeline.orchestration import materialize_range

    out = {"lines": []}

    def target():
        with DagsterInstance.ephemeral() as instance:
            out["ok"] = materialize_range(day, day, echo=out["lines"].append, instance=instance)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, out


def _wait(predicate, what: str, thread, out, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if not thread.is_alive():
            raise AssertionError(f"the run ended before {what}:\n" + "\n".join(out["lines"]))
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}:\n" + "\n".join(out["lines"]))


def test_server_stopped_mid_write_fails_clearly_then_a_rerun_completes(own_server, run_days):
    server, engine = own_server, get_engine(own_server.url)
    run_days(D)
    good = warehouse_state(engine)

    # 1. Down during market_prices, which has Dagster's RetryPolicy: the server is back
    #    before the retries run out, so the run recovers by itself.
    _one_shot_sleep(engine, "market_prices")
    thread, out = _run_in_thread(D)
    _wait(lambda: _sleeping_in(engine, "market_prices"), "the market_prices write", thread, out)
    server.stop()
    server.start()
    thread.join(timeout=120)
    log = "\n".join(out["lines"])
    assert out.get("ok") is True, log
    assert "retrying market_prices" in log, log
    assert diff_states(good, warehouse_state(engine)) == []

    # 2. Down during position_values, which has no retry policy: the run fails with a
    #    message naming the database (never its password), nothing is half-written.
    _one_shot_sleep(engine, "position_values")
    thread, out = _run_in_thread(D)
    _wait(lambda: _sleeping_in(engine, "position_values"), "the position_values write",
          thread, out)
    server.stop()
    thread.join(timeout=120)
    log = "\n".join(out["lines"])
    assert out.get("ok") is False, log
    failure = log[log.index("FAILED position_values"):]
    socket_dir = str((server.home / "pg").resolve())
    assert "the warehouse database 'postgres' on " + socket_dir in failure, log
    assert "could not be reached or closed the connection" in failure, log
    # with the server still down, a new connection fails the same clear way
    with pytest.raises(DatabaseUnavailableError, match="could not be reached") as refused:
        with engine.connect():
            pass
    assert socket_dir in str(refused.value)
    server.start()
    assert diff_states(good, warehouse_state(engine)) == []
    run_days(D)
    assert diff_states(good, warehouse_state(engine)) == []
