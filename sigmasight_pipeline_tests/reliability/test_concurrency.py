"""Concurrent runs: the same day queues on the (table, day) lock; different days overlap.

Each run is a separate ``sigmasight materialize`` process with its own home (so its own
Dagster instance directory). A "gate" makes the interleaving deterministic instead of
hoping for it: a trigger on the rows written into ``position_values`` (conftest
row_trigger_sql) takes a shared advisory lock that the test
holds exclusively, so a run's COPY waits there, in the middle of its write, until the test
opens the gate.
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
    start_cli,
    warehouse_state,
)

D1 = dt.date(2025, 6, 27)
D2 = dt.date(2025, 6, 30)
GATE = 424242


def _install_gate(engine, only_day: dt.date | None = None) -> None:
    condition = f"NEW.date = DATE '{only_day.isoformat()}'" if only_day else "true"
    with engine.begin() as conn:
        conn.execute(text(f"""
            CREATE OR REPLACE FUNCTION sigmasight.reliability_gate() RETURNS trigger
            LANGUAGE plpgsql AS $$ BEGIN
              IF {condition} THEN PERFORM pg_advisory_xact_lock_shared({GATE}); END IF;
              RETURN NEW; END $$;""" + row_trigger_sql("position_values", "reliability_gate",
                                                     "reliability_gate")))


def _remove_gate(engine) -> None:
    with engine.begin() as conn:
        conn.execute(text(drop_row_trigger_sql("reliability_gate", "reliability_gate")))


def _waiting(engine, query_start: str) -> list[int]:
    """Backends waiting on an advisory lock while running a statement starting so."""
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(text(
            "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND wait_event = 'advisory' AND query ILIKE :q"), {"q": query_start + "%"})]


def _wait(predicate, what: str, procs, timeout: float = 150):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        for proc, log in procs:
            if proc.poll() is not None:
                raise AssertionError(f"a run ended before {what}:\n{log.read_text()}")
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}:\n" +
                         "\n----\n".join(log.read_text() for _, log in procs))


def _start(sub_env, tmp_path, name: str, day: dt.date):
    env = dict(sub_env, SIGMASIGHT_HOME=str(tmp_path / f"home-{name}"))
    log = tmp_path / f"{name}.log"
    return start_cli(env, "materialize", "--date", day.isoformat(), cwd=tmp_path, log=log), log


def _finish(proc, log, timeout: float = 150) -> str:
    proc.wait(timeout=timeout)
    out = log.read_text()
    assert proc.returncode == 0, out
    assert "succeeded" in out, out
    return out


def test_two_runs_of_the_same_day_started_together_leave_one_copy_of_every_row(
        demo_book, run_days, sub_env, tmp_path):
    engine = demo_book
    gate = engine.connect()
    gate.execute(text(f"SELECT pg_advisory_lock({GATE})"))
    _install_gate(engine)
    runs = [_start(sub_env, tmp_path, name, D2) for name in ("a", "b")]  # fresh warehouse
    try:
        # one run is inside its position_values COPY, the other queues on
        # the (position_values, day) lock behind it
        _wait(lambda: _waiting(engine, "COPY sigmasight.position_values"),
              "a run to reach its COPY", runs)
        _wait(lambda: _waiting(engine, "SELECT pg_advisory_xact_lock"),
              "the other run to queue on the partition lock", runs)
        assert all(proc.poll() is None for proc, _ in runs)
        gate.execute(text(f"SELECT pg_advisory_unlock({GATE})"))
        for proc, log in runs:
            _finish(proc, log)
    finally:
        gate.close()
        for proc, _ in runs:
            kill_group(proc)
        _remove_gate(engine)
    concurrent = warehouse_state(engine)
    assert concurrent["position_values"]
    run_days(D2)  # a run on its own rewrites the same rows: nothing was duplicated
    assert diff_states(concurrent, warehouse_state(engine)) == []


def test_runs_of_different_days_proceed_in_parallel(demo_book, run_days, sub_env, tmp_path):
    engine = demo_book
    run_days(D2)  # history in place, so both runs do the same kind of work
    gate = engine.connect()
    gate.execute(text(f"SELECT pg_advisory_lock({GATE})"))
    _install_gate(engine, only_day=D1)
    (p1, log1), (p2, log2) = runs = [_start(sub_env, tmp_path, "d1", D1),
                                     _start(sub_env, tmp_path, "d2", D2)]
    try:
        _wait(lambda: _waiting(engine, "COPY sigmasight.position_values"),
              f"the {D1} run to hold its write open", runs)
        # the D2 run writes the same tables while D1's transaction is open mid-COPY
        _finish(p2, log2)
        assert p1.poll() is None, log1.read_text()
        gate.execute(text(f"SELECT pg_advisory_unlock({GATE})"))
        _finish(p1, log1)
    finally:
        gate.close()
        for proc, _ in runs:
            kill_group(proc)
        _remove_gate(engine)
    parallel = warehouse_state(engine)
    with engine.connect() as conn:
        days = {r[0] for r in conn.execute(text(
            "SELECT DISTINCT date FROM sigmasight.portfolio_snapshots"))}
    assert days == {D1, D2}
    # D2 ran while D1 had no committed values: its snapshots are those of a first day (the
    # previous session unknown), as when D2 runs alone first. Running D1 again on its own
    # reproduces every row: the parallel writes neither interleaved nor duplicated.
    run_days(D1)
    assert diff_states(parallel, warehouse_state(engine)) == []
