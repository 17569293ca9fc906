"""Reading only some columns (``read_days``, ``read_each_day``, ``DayChunks``,
``read_positions``) gives exactly those columns of the full read: same rows, order, values
and dtypes."""

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from sigmasight_pipeline.positions_file import read_positions_csv
from sigmasight_pipeline.warehouse.engine_store import DayChunks, read_days, read_each_day
from sigmasight_pipeline.warehouse.positions_store import (
    BETA_SYMBOL_COLUMNS,
    load_positions,
    read_positions,
)
from sigmasight_pipeline.warehouse.tables import treasury_yields
from sigmasight_pipeline.warehouse.writer import replace_partition

D1, D2 = dt.date(2025, 6, 27), dt.date(2025, 6, 30)
DEMO_CSV = Path(__file__).resolve().parents[1].joinpath(
    "sigmasight_pipeline", "data", "demo_positions.csv")


def _yields(day, values):
    return pd.DataFrame({"series_id": ["DGS10", "DGS3MO", "DGS2"][:len(values)], "date": day,
                         "value": values, "source": "test"})


@pytest.fixture
def two_days(engine):
    with engine.begin() as conn:
        replace_partition(conn, treasury_yields, D1, _yields(D1, [4.4, 5.2, 3.9]))
        replace_partition(conn, treasury_yields, D2, _yields(D2, [4.5, 5.3]))
    return engine


def test_read_days_columns_are_the_full_reads_columns(two_days):
    with two_days.connect() as conn:
        full = read_days(conn, treasury_yields, [D1, D2])
        some = read_days(conn, treasury_yields, [D1, D2], ["value", "series_id"])
    assert list(some.columns) == ["value", "series_id"] and len(full) == 5
    pd.testing.assert_frame_equal(some, full[["value", "series_id"]])


def test_read_each_day_and_chunks_without_the_date_column(two_days):
    with two_days.connect() as conn:
        each = read_each_day(conn, treasury_yields, [D1, D2], ["series_id", "value"])
        chunks = DayChunks(treasury_yields, [D1, D2], ["series_id", "value"])
        by_chunk = {d: chunks(conn, d) for d in (D1, D2)}
        for day in (D1, D2):
            alone = read_days(conn, treasury_yields, day)[["series_id", "value"]]
            pd.testing.assert_frame_equal(each[day], alone)
            pd.testing.assert_frame_equal(by_chunk[day], alone)
    assert list(each[D1]["series_id"]) == ["DGS10", "DGS2", "DGS3MO"]  # primary-key order


def test_chunks_read_the_day_before_with_the_first_day(two_days, monkeypatch):
    from sigmasight_pipeline.warehouse import engine_store

    queries = []
    real = engine_store.read_each_day
    monkeypatch.setattr(engine_store, "read_each_day",
                        lambda conn, table, days, *a, **k: queries.append(list(days))
                        or real(conn, table, days, *a, **k))
    with two_days.connect() as conn:
        chunks = DayChunks(treasury_yields, [D2], ["series_id", "value"], before=D1)
        by_day = {d: chunks(conn, d) for d in (D1, D2)}  # t−1 asked first, as the assets do
        for day in (D1, D2):
            alone = read_days(conn, treasury_yields, day)[["series_id", "value"]]
            pd.testing.assert_frame_equal(by_day[day], alone)
    assert queries == [[D1, D2]]


def test_unknown_columns_are_refused(two_days):
    with two_days.connect() as conn:
        with pytest.raises(KeyError, match="no column"):
            read_days(conn, treasury_yields, D1, ["value", "bogus"])
        with pytest.raises(KeyError, match="bogus"):
            read_positions(conn, columns=["position_id", "bogus"])


def test_read_positions_columns(engine):
    book = read_positions_csv(DEMO_CSV)
    with engine.begin() as conn:
        load_positions(conn, book)
    with engine.connect() as conn:
        full = read_positions(conn)
        some = read_positions(conn, columns=BETA_SYMBOL_COLUMNS)
        names = read_positions(conn, columns=["portfolio", "entry_date"])
    assert len(full) == len(book) > 0
    pd.testing.assert_frame_equal(some, full[list(BETA_SYMBOL_COLUMNS)])
    pd.testing.assert_frame_equal(names, full[["portfolio", "entry_date"]])
