"""Migrations and the partition writer against the real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import uuid

import pandas as pd
import psycopg
import pytest
from sqlalchemy import inspect, text

from sigmasight_pipeline.warehouse.database import dagster_storage_url
from sigmasight_pipeline.warehouse.migrate import PROJECT_ROOT, current_revision, head_revision
from sigmasight_pipeline.warehouse.tables import SCHEMA, metadata, position_values, treasury_yields
from sigmasight_pipeline.warehouse.writer import merge_rows, replace_partition

D1, D2 = dt.date(2024, 6, 3), dt.date(2024, 6, 4)


def test_migrations_create_every_declared_table(engine, database_url):
    assert current_revision(database_url) == head_revision(database_url)
    insp = inspect(engine)
    in_db = set(insp.get_table_names(schema=SCHEMA))
    declared = {t.name for t in metadata.sorted_tables}
    assert declared <= in_db
    for table in metadata.sorted_tables:  # columns agree with the code's definitions
        cols = {c["name"] for c in insp.get_columns(table.name, schema=SCHEMA)}
        assert cols == {c.name for c in table.columns}, table.name


def _yields(day, values, source="simulated"):
    return pd.DataFrame(
        {
            "series_id": ["DGS3MO", "DGS10"][: len(values)],
            "date": [day] * len(values),
            "value": values,
            "source": source,
        }
    )


def _read(engine, table="treasury_yields"):
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT * FROM {SCHEMA}.{table} ORDER BY 1, 2")).all()


def test_replace_partition_is_idempotent_and_scoped_to_its_day(engine):
    with engine.begin() as conn:
        replace_partition(conn, treasury_yields, D1, _yields(D1, [5.2, 4.4]))
        replace_partition(conn, treasury_yields, D2, _yields(D2, [5.3, 4.5]))
    first = _read(engine)
    with engine.begin() as conn:
        replace_partition(conn, treasury_yields, D1, _yields(D1, [5.2, 4.4]))
    assert _read(engine) == first and len(first) == 4
    with engine.begin() as conn:
        replace_partition(conn, treasury_yields, D1, _yields(D1, [5.0]))
    rows = _read(engine)
    assert len(rows) == 3 and ("DGS3MO", D1, 5.0, "simulated") in [tuple(r) for r in rows]


def test_crash_before_commit_keeps_previous_rows(engine):
    with engine.begin() as conn:
        replace_partition(conn, treasury_yields, D1, _yields(D1, [5.2, 4.4]))
    before = _read(engine)
    with pytest.raises(RuntimeError, match="crash"), engine.begin() as conn:
        replace_partition(conn, treasury_yields, D1, _yields(D1, [9.9, 9.9]))
        raise RuntimeError("crash after COPY, before COMMIT")
    assert _read(engine) == before
    bad = _yields(D1, [1.0, 2.0]).assign(value=[1.0, None])  # NOT NULL violated mid-COPY
    with pytest.raises(psycopg.errors.NotNullViolation), engine.begin() as conn:
        replace_partition(conn, treasury_yields, D1, bad)
    assert _read(engine) == before


@pytest.mark.parametrize("scope", [None, {"portfolio_id": "00000000-0000-0000-0000-00000000000f"}],
                         ids=["day swapped", "narrowed: DELETE and COPY"])
def test_a_copy_the_server_refuses_early_fails_whole_and_frees_the_connection(engine,
                                                                              monkeypatch, scope):
    """The blocks go to the server from a writer thread: a key the server refuses in the
    first block (while later blocks are still being encoded and queued) fails the write
    with the server's error, keeps the previous rows, and leaves no COPY in progress.
    position_values is partitioned by day: a whole day is COPYed into a new table whose key
    is built after it (the duplicate refused there), a narrowed replace COPYs into the
    day's indexed partition (refused in the first block)."""
    from sigmasight_pipeline.warehouse import writer

    monkeypatch.setattr(writer, "_BLOCK_ROWS", 1_000)
    n = 30_000
    ids = [f"00000000-0000-0000-0000-{i:012d}" for i in range(n)]
    ids[3] = ids[2]  # duplicate primary key (date, position_id) in the first block
    frame = pd.DataFrame({
        "date": D1, "position_id": ids, "portfolio_id": "00000000-0000-0000-0000-00000000000f",
        "symbol": "AAPL", "price": 190.0, "price_source": "close", "price_date": D1,
        "underlying_price": 190.0, "market_value": 1900.0, "exposure": 1900.0,
        "notional": 1900.0, "cost_basis": 1800.0, "unrealized_pnl": 100.0,
        "flags": [[] for _ in range(n)]})
    good = frame.assign(position_id=[f"00000000-0000-0000-0001-{i:012d}" for i in range(n)])
    with engine.begin() as conn:
        replace_partition(conn, position_values, D1, good)
    with pytest.raises(psycopg.errors.UniqueViolation), engine.begin() as conn:
        replace_partition(conn, position_values, D1, frame, scope=scope)
    with engine.begin() as conn:  # the pool's connections still work
        kept = conn.execute(text(f"SELECT count(*), min(position_id::text) FROM "
                                 f"{SCHEMA}.position_values WHERE date = :d"), {"d": D1}).one()
        assert tuple(kept) == (n, good.position_id.min())
        replace_partition(conn, position_values, D1, frame.iloc[4:])
    assert _read(engine, "position_values")[0][1] == uuid.UUID(ids[4])


def test_rows_outside_the_partition_are_refused(engine):
    with pytest.raises(ValueError, match="outside the partition"), engine.begin() as conn:
        replace_partition(conn, treasury_yields, D1, _yields(D2, [5.0]))


def test_concurrent_writers_of_one_day_never_duplicate(engine):
    errors = []

    def write(v):
        try:
            with engine.begin() as conn:
                replace_partition(conn, treasury_yields, D1, _yields(D1, [v, v]))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(float(i),)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    rows = _read(engine)
    assert len(rows) == 2 and rows[0][2] == rows[1][2]


def test_flags_arrays_and_merge(engine):
    frame = pd.DataFrame(
        {
            "date": [D1],
            "position_id": ["00000000-0000-0000-0000-000000000001"],
            "portfolio_id": ["00000000-0000-0000-0000-000000000002"],
            "symbol": ["AAPL"],
            "price": [190.0],
            "price_source": ["close"],
            "price_date": [D1],
            "underlying_price": [190.0],
            "market_value": [-1900.0],
            "exposure": [-1900.0],
            "notional": [1900.0],
            "cost_basis": [-2000.0],
            "unrealized_pnl": [100.0],
            "flags": [["stale_price"]],
        }
    )
    with engine.begin() as conn:
        replace_partition(conn, position_values, D1, frame)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT flags FROM sigmasight.position_values")).scalar_one() == [
            "stale_price"
        ]
    with engine.begin() as conn:
        merge_rows(conn, treasury_yields, _yields(D1, [5.2, 4.4]))
        merge_rows(conn, treasury_yields, _yields(D1, [5.1, 4.4]))
    assert [(r[0], r[2]) for r in _read(engine)] == [("DGS10", 4.4), ("DGS3MO", 5.1)]


def test_dagster_definitions_validate_with_postgres_instance(database_url):
    """From the project root, so Dagster reads dagster.yaml (storage in PostgreSQL)."""
    env = {
        **os.environ,
        "SIGMASIGHT_DATABASE_URL": database_url,
        "SIGMASIGHT_DAGSTER_PG_URL": dagster_storage_url(database_url),
    }
    result = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=PROJECT_ROOT,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All code locations passed validation" in result.stdout + result.stderr
