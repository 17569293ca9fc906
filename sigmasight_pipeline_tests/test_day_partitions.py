"""Tables partitioned by day (migration 0009, warehouse/day_partitions.py) against the real
PostgreSQL: a day's replace swaps that day's partition, atomically, idempotently, without
blocking readers while it COPYs; the migration keeps rows and views both ways."""

from __future__ import annotations

import datetime as dt
import threading

import pandas as pd
import psycopg
import pytest
from alembic import command
from sqlalchemy import text

from sigmasight_pipeline.warehouse import day_partitions
from sigmasight_pipeline.warehouse.migrate import alembic_config, upgrade
from sigmasight_pipeline.warehouse.tables import (
    SCHEMA,
    metadata,
    position_correlations,
    position_values,
)
from sigmasight_pipeline.warehouse.writer import _copy, lock_partition, replace_partition

D1, D2, D3 = dt.date(2024, 6, 3), dt.date(2024, 6, 4), dt.date(2024, 6, 5)
PORTFOLIO = "00000000-0000-0000-0000-00000000000f"


def _values(day, n, value=1900.0, first=0):
    return pd.DataFrame({
        "date": day, "position_id": [f"00000000-0000-0000-0001-{first + i:012d}"
                                     for i in range(n)],
        "portfolio_id": PORTFOLIO, "symbol": "AAPL", "price": 190.0, "price_source": "close",
        "price_date": day, "underlying_price": 190.0, "market_value": value,
        "exposure": value, "notional": value, "cost_basis": 1800.0,
        "unrealized_pnl": value - 1800.0, "flags": [["stale_price"] if i % 2 else []
                                                   for i in range(n)]})


def _rows(conn, day=None):
    where = "WHERE date = :d" if day else ""
    return conn.execute(text(f"SELECT date, position_id::text, market_value, flags FROM "
                             f"{SCHEMA}.position_values {where} ORDER BY 1, 2"),
                        {"d": day} if day else {}).all()


def _partitions(conn, table="position_values") -> dict[str, str]:
    """{partition name: its bound} of ``table``."""
    return dict(conn.execute(text(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = CAST(:t AS regclass)"),
        {"t": f"{SCHEMA}.{table}"}).all())


def _indexes(conn, relname: str) -> set[str]:
    return set(conn.execute(text(
        "SELECT indexrelid::regclass::text FROM pg_index "
        "WHERE indrelid = CAST(:t AS regclass)"), {"t": f"{SCHEMA}.{relname}"}).scalars())


def test_the_largest_tables_are_partitioned_by_day_with_a_default_partition(engine):
    assert {t.name for t in metadata.sorted_tables if day_partitions.is_by_day(t)} == {
        "position_values", "position_correlations"}
    with engine.connect() as conn:
        for table in (position_values, position_correlations):
            strategy = conn.execute(text(
                "SELECT partstrat FROM pg_partitioned_table "
                "WHERE partrelid = CAST(:t AS regclass)"), {"t": f"{SCHEMA}.{table.name}"}
            ).scalar()
            assert strategy == "r", table.name
            assert _partitions(conn, table.name)[f"{table.name}_default"] == "DEFAULT"


def test_a_day_is_replaced_by_a_partition_of_its_own_idempotently(engine):
    with engine.begin() as conn:
        assert replace_partition(conn, position_values, D1, _values(D1, 40)) == 40
        replace_partition(conn, position_values, D2, _values(D2, 30, 2000.0))
    with engine.connect() as conn:
        first = _rows(conn)
        parts = _partitions(conn)
        # the day's own name and bounds, its key and index named as the migration names them
        assert parts["position_values_20240603"] == \
            "FOR VALUES FROM ('2024-06-03') TO ('2024-06-04')"
        assert _indexes(conn, "position_values_20240603") == {
            f"{SCHEMA}.position_values_20240603_pkey",
            f"{SCHEMA}.position_values_20240603_portfolio_id_date_idx"}
        checks = conn.execute(text(
            "SELECT count(*) FROM pg_constraint WHERE contype = 'c' "
            "AND conrelid = CAST(:t AS regclass)"),
            {"t": f"{SCHEMA}.position_values_20240603"}).scalar()
        assert checks == 0  # the staging CHECK is dropped once the partition bound holds
    assert len(first) == 70
    assert first[0] == (D1, "00000000-0000-0000-0001-000000000000", 1900.0, [])
    assert first[1][3] == ["stale_price"]
    with engine.begin() as conn:  # the same rows again: the same table
        replace_partition(conn, position_values, D1, _values(D1, 40))
    with engine.connect() as conn:
        assert _rows(conn) == first
    with engine.begin() as conn:  # fewer, other rows: only they remain on D1, D2 untouched
        replace_partition(conn, position_values, D1, _values(D1, 5, 1.5, first=100))
    with engine.connect() as conn:
        d1 = _rows(conn, D1)
        assert [r[1][-3:] for r in d1] == ["100", "101", "102", "103", "104"]
        assert {r[2] for r in d1} == {1.5}
        assert _rows(conn, D2) == [r for r in first if r[0] == D2]
        # a reader's index scan of the partitioned key
        assert conn.execute(text(f"SELECT count(*) FROM {SCHEMA}.position_values "
                                 "WHERE portfolio_id = :p AND date = :d"),
                            {"p": PORTFOLIO, "d": D2}).scalar() == 30


def test_several_days_in_one_write_and_an_empty_day(engine):
    frame = pd.concat([_values(D1, 10), _values(D3, 7, first=50)], ignore_index=True)
    frame["date"] = [pd.Timestamp(D1)] * 10 + [D3] * 7  # a Timestamp and a date alike
    with engine.begin() as conn:
        replace_partition(conn, position_values, D2, _values(D2, 4))
        assert replace_partition(conn, position_values, [D1, D2, D3], frame) == 17
    with engine.connect() as conn:
        assert [len(_rows(conn, d)) for d in (D1, D2, D3)] == [10, 0, 7]
        parts = _partitions(conn)
        assert {"position_values_20240603", "position_values_20240605"} <= set(parts)
        assert "position_values_20240604" not in parts  # D2 replaced by nothing
    with engine.begin() as conn:
        replace_partition(conn, position_values, D1, _values(D1, 0))
    with engine.connect() as conn:
        assert _rows(conn, D1) == [] and len(_rows(conn, D3)) == 7


def test_rows_in_the_default_partition_are_replaced_with_their_day(engine):
    """Rows that reached the default partition (a plain INSERT, a narrowed replace of a
    day without a partition) are the day's rows too: a whole-day replace replaces them."""
    with engine.begin() as conn:
        replace_partition(conn, position_values, D1, _values(D1, 3),
                          scope={"portfolio_id": PORTFOLIO})
        replace_partition(conn, position_values, D2, _values(D2, 2),
                          scope={"portfolio_id": PORTFOLIO})
    with engine.connect() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {SCHEMA}.position_values_default")
                            ).scalar() == 5
    with engine.begin() as conn:
        replace_partition(conn, position_values, D1, _values(D1, 4, first=10))
    with engine.connect() as conn:
        assert [r[1][-2:] for r in _rows(conn, D1)] == ["10", "11", "12", "13"]
        assert len(_rows(conn, D2)) == 2  # the other day's default rows are kept
        assert conn.execute(text(f"SELECT count(*) FROM {SCHEMA}.position_values_default")
                            ).scalar() == 2


def test_a_failed_write_leaves_the_old_partition_and_no_staged_table(engine):
    with engine.begin() as conn:
        replace_partition(conn, position_values, D1, _values(D1, 20))
    with engine.connect() as conn:
        before, parts = _rows(conn), _partitions(conn)
    bad = _values(D1, 20).assign(symbol=[None] + ["AAPL"] * 19)  # NOT NULL, mid-COPY
    with pytest.raises(psycopg.errors.NotNullViolation), engine.begin() as conn:
        replace_partition(conn, position_values, D1, bad)
    with pytest.raises(RuntimeError, match="crash"), engine.begin() as conn:
        replace_partition(conn, position_values, D1, _values(D1, 3, 7.0))
        raise RuntimeError("crash after the swap, before COMMIT")
    with engine.connect() as conn:
        assert _rows(conn) == before and _partitions(conn) == parts
        staged = conn.execute(text("SELECT count(*) FROM pg_class WHERE relname LIKE "
                                   "'position\\_values\\_%\\_new'")).scalar()
        assert staged == 0


def test_readers_are_not_blocked_while_the_new_day_is_copied_and_keyed(engine):
    with engine.begin() as conn:
        replace_partition(conn, position_values, D1, _values(D1, 20))
    with engine.connect() as conn:
        before = _rows(conn, D1)
    new = _values(D1, 8, 3.0, first=200)
    with engine.connect() as writer, engine.connect() as reader:
        tx = writer.begin()
        lock_partition(writer, position_values, [D1])
        staged = day_partitions.stage(writer, position_values, D1)
        _copy(writer, f"{SCHEMA}.{staged}", position_values, new, list(new.columns))
        day_partitions.build_keys(writer, position_values, staged)
        # staged and keyed, not swapped: a reader (who would wait on a lock of the writer's
        # for at most 2 s) reads the committed day
        reader.execute(text("SET lock_timeout = '2s'"))
        assert _rows(reader, D1) == before
        reader.commit()
        day_partitions.swap(writer, position_values, [D1], {D1: staged})
        tx.commit()
        assert [r[2] for r in _rows(reader, D1)] == [3.0] * 8


def test_concurrent_writers_of_one_day_and_of_other_days(engine):
    """Eight writers: four of D1 (they queue on the day's lock), two each of D2 and D3
    (the swap's lock on the table serializes them only for its last statements)."""
    errors = []

    def write(day, value):
        try:
            with engine.begin() as conn:
                replace_partition(conn, position_values, day, _values(day, 50, value))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    jobs = [(D1, float(i)) for i in range(4)] + [(D2, 1.0), (D2, 2.0), (D3, 1.0), (D3, 2.0)]
    threads = [threading.Thread(target=write, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with engine.connect() as conn:
        for day in (D1, D2, D3):
            rows = _rows(conn, day)
            assert len(rows) == 50 and len({r[2] for r in rows}) == 1  # one writer's rows


def test_the_migration_keeps_rows_and_views_both_ways(engine, database_url):
    """Down to 0008 (plain tables) and up again: every row, the views over position_values
    (SPEC 7.1) and the partitions of the days held."""
    with engine.begin() as conn:
        replace_partition(conn, position_values, D1, _values(D1, 6))
        replace_partition(conn, position_values, D2, _values(D2, 4))
    with engine.connect() as conn:
        before = _rows(conn)
        views = conn.execute(text(
            "SELECT viewname, definition FROM pg_views WHERE schemaname = :s ORDER BY 1"),
            {"s": SCHEMA}).all()
    assert {"position_factor_exposures", "position_interest_rate_betas"} <= {
        v[0] for v in views}
    try:
        command.downgrade(alembic_config(database_url), "0008")
        with engine.connect() as conn:
            assert conn.execute(text(
                "SELECT count(*) FROM pg_partitioned_table WHERE partrelid IN "
                "(CAST(:a AS regclass), CAST(:b AS regclass))"),
                {"a": f"{SCHEMA}.position_values", "b": f"{SCHEMA}.position_correlations"}
            ).scalar() == 0
            assert _rows(conn) == before
    finally:
        upgrade(database_url, "head")
    with engine.connect() as conn:
        assert _rows(conn) == before
        assert set(_partitions(conn)) == {"position_values_default", "position_values_20240603",
                                          "position_values_20240604"}
        assert _indexes(conn, "position_values_20240603") == {
            f"{SCHEMA}.position_values_20240603_pkey",
            f"{SCHEMA}.position_values_20240603_portfolio_id_date_idx"}
        assert conn.execute(text(
            "SELECT viewname, definition FROM pg_views WHERE schemaname = :s ORDER BY 1"),
            {"s": SCHEMA}).all() == views
        conn.execute(text(f"SELECT * FROM {SCHEMA}.position_factor_exposures LIMIT 1")).all()
    with engine.begin() as conn:  # and the day is swapped as before
        replace_partition(conn, position_values, D1, _values(D1, 2, first=500))
    with engine.connect() as conn:
        assert len(_rows(conn, D1)) == 2


def test_an_empty_replace_takes_no_lock_and_overlong_names_are_refused(engine):
    from sqlalchemy import MetaData

    with engine.connect() as conn:
        tx = conn.begin()
        replace_partition(conn, position_values, [], _values(D1, 0))
        locks = conn.execute(text(
            "SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND relation = "
            "CAST(:t AS regclass)"), {"t": f"{SCHEMA}.position_values"}).scalar()
        tx.rollback()
    assert locks == 0
    long = position_values.to_metadata(MetaData(), name="p" * 40)
    with pytest.raises(ValueError, match="longer than 63 characters"):
        day_partitions.build_keys(None, long, day_partitions.partition_name(long, D1) + "_new")
