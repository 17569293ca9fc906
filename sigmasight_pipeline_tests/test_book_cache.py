"""read_positions keeps the book it read and serves it again only while neither
``portfolios`` nor ``positions`` changed (table versions bumped by statement triggers,
migration 0008): every kind of change, committed or rolled back, is seen by the next read."""

from __future__ import annotations

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from sqlalchemy import text

from sigmasight_pipeline.warehouse import positions_store
from sigmasight_pipeline.warehouse.positions_store import (
    BETA_SYMBOL_COLUMNS,
    POSITION_COLUMNS,
    read_positions,
)
from sigmasight_pipeline.warehouse.tables import SCHEMA


@pytest.fixture
def book_reads(demo_book, monkeypatch):
    """The number of times the book was read from the database (not from the kept copy)."""
    positions_store._BOOK.clear()
    calls = []
    query = positions_store._query_positions

    def counted(conn, portfolio_ids, columns):
        calls.append(tuple(columns))
        return query(conn, portfolio_ids, columns)

    monkeypatch.setattr(positions_store, "_query_positions", counted)
    yield calls
    positions_store._BOOK.clear()


def _direct(engine, columns=POSITION_COLUMNS) -> pd.DataFrame:
    with engine.connect() as conn:
        frame = pd.read_sql(text(
            f"SELECT p.id::text AS position_id, p.portfolio_id::text AS portfolio_id, "
            f"f.name AS portfolio, p.symbol, p.position_type, p.quantity, p.multiplier, "
            f"p.entry_price, p.entry_date, p.exit_date, p.exit_price, p.underlying_symbol, "
            f"p.strike, p.expiration, p.option_type FROM {SCHEMA}.positions p "
            f"JOIN {SCHEMA}.portfolios f ON f.id = p.portfolio_id "
            f"ORDER BY f.name, p.symbol, p.entry_date"), conn)
    return frame[list(columns)]


def _same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Equal values column by column (pd.read_sql's dtypes differ from the binary read's)."""
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want)
    for col in got.columns:
        a, b = got[col].tolist(), want[col].tolist()
        assert [None if pd.isna(x) else x for x in a] == \
            [None if pd.isna(x) else x for x in b], col


def test_the_book_is_read_once_while_unchanged(engine, book_reads):
    with engine.connect() as conn:
        first = read_positions(conn)
        again = read_positions(conn)
        some = read_positions(conn, columns=BETA_SYMBOL_COLUMNS)
    with engine.connect() as other:  # another connection (and transaction) of the process
        later = read_positions(other, columns=("position_id", "position_type"))
    assert len(book_reads) == 1
    assert len(first) == 63
    _same(first, _direct(engine))
    assert_frame_equal(again, first)
    assert_frame_equal(some, first[list(BETA_SYMBOL_COLUMNS)])
    assert_frame_equal(later, first[["position_id", "position_type"]])
    # a copy: what a caller changes is not what the next caller gets
    again.loc[0, "symbol"] = "CHANGED"
    with engine.connect() as conn:
        assert read_positions(conn).loc[0, "symbol"] != "CHANGED"


@pytest.mark.parametrize("change", [
    f"UPDATE {SCHEMA}.positions SET quantity = quantity * 2 WHERE symbol = 'AAPL'",
    f"UPDATE {SCHEMA}.positions SET exit_date = entry_date + 30, exit_price = entry_price "
    f"WHERE symbol = 'MSFT'",
    f"DELETE FROM {SCHEMA}.positions WHERE symbol = 'AAPL'",
    f"INSERT INTO {SCHEMA}.positions (portfolio_id, symbol, position_type, quantity, "
    f"multiplier, entry_price, entry_date) SELECT id, 'ZZZZ', 'LONG', 7, 1, 12.5, "
    f"DATE '2024-01-02' FROM {SCHEMA}.portfolios ORDER BY name LIMIT 1",
    f"UPDATE {SCHEMA}.portfolios SET name = name || ' (renamed)'",
    f"DELETE FROM {SCHEMA}.portfolios WHERE name = (SELECT min(name) FROM "
    f"{SCHEMA}.portfolios)",  # its positions go by ON DELETE CASCADE
    f"TRUNCATE {SCHEMA}.positions CASCADE",
], ids=["update", "exit", "delete", "insert", "rename portfolio", "cascade", "truncate"])
def test_every_change_is_seen_by_the_next_read(engine, book_reads, change):
    with engine.connect() as conn:
        before = read_positions(conn)
    with engine.begin() as conn:
        conn.execute(text(change))
    with engine.connect() as conn:
        after = read_positions(conn)
    assert len(book_reads) == 2
    _same(after, _direct(engine))
    assert not after.equals(before)


def test_a_change_rolled_back_is_not_kept(engine, book_reads):
    with engine.connect() as conn:
        committed = read_positions(conn)
    with engine.connect() as conn:
        conn.execute(text(f"UPDATE {SCHEMA}.positions SET quantity = -quantity"))
        inside = read_positions(conn)  # its own uncommitted change
        conn.rollback()
    with engine.connect() as conn:
        after = read_positions(conn)
    assert (inside["quantity"] == -committed["quantity"]).all()
    assert_frame_equal(after, committed)
    _same(after, _direct(engine))


def test_without_version_rows_nothing_is_kept(engine, book_reads):
    with engine.connect() as conn:
        read_positions(conn)
    with engine.begin() as conn:
        conn.execute(text(f"DELETE FROM {SCHEMA}.table_versions"))
    with engine.connect() as conn:
        read_positions(conn)
        read_positions(conn)
    assert len(book_reads) == 3  # no version rows: read every time
