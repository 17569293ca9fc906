"""A run killed with SIGKILL in the middle of writing a partition leaves no trace.

No product hook is needed: a PostgreSQL trigger on the rows written into ``position_values``
(on the table and on each new table a day's partition is swapped for) makes the first row
of the second run's COPY sleep, i.e. in the middle of its write. The test waits until
``pg_stat_activity`` shows that COPY asleep, SIGKILLs the ``sigmasight materialize``
process group, terminates the orphaned backend and then checks, table by table, that the
warehouse is exactly what the first run left.
"""

from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import text

from .conftest import (
    diff_states,
    drop_row_trigger_sql,
    kill_group,
    row_trigger_sql,
    run_cli,
    start_cli,
    warehouse_state,
)

D = dt.date(2025, 6, 30)

BLOCK_COPY = """
CREATE OR REPLACE FUNCTION sigmasight.reliability_block() RETURNS trigger
LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(600); RETURN NEW; END $$;
""" + row_trigger_sql("position_values", "reliability_block", "reliability_block")
UNBLOCK = drop_row_trigger_sql("reliability_block", "reliability_block")


def blocked_writer(engine, table: str) -> int | None:
    """The backend pid of a COPY into ``table`` (or a day partition of it being staged)
    that is asleep in the trigger, if any."""
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT pid FROM pg_stat_activity WHERE wait_event = 'PgSleep' "
            "AND query ILIKE :q AND pid <> pg_backend_pid()"),
            {"q": f"COPY sigmasight.{table}%"}).scalar()


def wait_for(predicate, timeout: float, what: str, proc=None, log=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process ended before {what}:\n{log.read_text()}")
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}" + (f":\n{log.read_text()}" if log else ""))


def test_sigkill_mid_copy_keeps_the_previous_rows_and_the_next_run_completes(
        demo_book, run_days, sub_env, tmp_path):
    engine = demo_book
    run_days(D)
    good = warehouse_state(engine)
    assert good["position_values"], "the first run wrote no position values"

    with engine.begin() as conn:
        conn.execute(text(BLOCK_COPY))
    log = tmp_path / "killed.log"
    proc = start_cli(sub_env, "materialize", "--date", D.isoformat(), cwd=tmp_path, log=log)
    try:
        backend = wait_for(lambda: blocked_writer(engine, "position_values"), 120,
                           "the second run's COPY into position_values", proc, log)
        # Mid-write, inside the open transaction that holds the (table, day) lock, readers
        # still see the committed rows of the first run.
        with engine.connect() as conn:
            held = conn.execute(text(
                "SELECT count(*) FROM pg_locks WHERE pid = :p AND granted "
                "AND locktype = 'advisory'"), {"p": backend}).scalar_one()
            assert held >= 1, "the writer should hold the (table, day) lock"
            visible = conn.execute(text("SELECT count(*) FROM sigmasight.position_values "
                                        "WHERE date = :d"), {"d": D}).scalar_one()
        assert visible == len(good["position_values"])
        kill_group(proc)
        assert proc.returncode == -9
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": backend})
        wait_for(lambda: blocked_writer(engine, "position_values") is None, 30,
                 "the killed run's backend to end")
    finally:
        kill_group(proc)
        with engine.begin() as conn:
            conn.execute(text(UNBLOCK))

    after_kill = warehouse_state(engine)
    assert diff_states(good, after_kill) == []

    rerun = run_cli(sub_env, "materialize", "--date", D.isoformat(), cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "succeeded" in rerun.stdout
    assert diff_states(good, warehouse_state(engine)) == []
