"""The bulk writer's binary COPY encoders and the frame reader, against the real PostgreSQL:
awkward values stored exactly (float8 bit for bit, NULL rules, any text), the same rows as
the row-by-row text COPY path stores, and frames read back as psycopg's rows build them."""

from __future__ import annotations

import datetime as dt
import gc
import io
import math
import struct
import uuid

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from sigmasight_pipeline.warehouse import fetch, writer

SCRATCH = "io_test"
#: ``k`` numbers the rows in the order they were sent (TOASTed rows can take earlier pages)
COLUMNS = (
    "k bigserial, u uuid, s text, s5 varchar(5), f float8, i2 int2, i4 int4, i8 int8, b bool, "
    "d date, ts timestamptz, j jsonb, a text[]"
)
NAMES = "u, s, s5, f, i2, i4, i8, b, d, ts, j, a"
ODD = Table(
    "odd", MetaData(),
    Column("u", UUID(as_uuid=True)), Column("s", Text), Column("s5", String(5)),
    Column("f", Float), Column("i2", SmallInteger), Column("i4", Integer),
    Column("i8", BigInteger), Column("b", Boolean), Column("d", Date),
    Column("ts", DateTime(timezone=True)), Column("j", JSONB), Column("a", ARRAY(Text)),
    schema=SCRATCH,
)
FLOATS = [0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, 1e300, -1e300, math.inf,
          -math.inf, 1 / 3, math.pi, 190.0]
TEXTS = ["", "O'Brien \"Book\"; x", "line\nbreak\r\ttab", "back\\slash \\N \\.", "🙂 émoji 📈",
         "שלום \u202eRTL", "e\u0301 a\u0308", "%s :p ? $1", "x" * 5000, "NULL", "\\N", "a,b{}"]
UTC = dt.UTC


@pytest.fixture
def scratch(engine):
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCRATCH} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {SCRATCH}"))
        conn.execute(text(f"CREATE TABLE {SCRATCH}.odd ({COLUMNS})"))
        conn.execute(text(f"CREATE TABLE {SCRATCH}.odd_text ({COLUMNS})"))
    yield engine
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {SCRATCH} CASCADE"))


def _frame(n: int) -> pd.DataFrame:
    """``n`` rows of every type with NULLs, extremes and awkward texts."""
    return pd.DataFrame({
        "u": [None if i % 7 == 0 else (uuid.UUID(int=i) if i % 2 else str(uuid.UUID(int=i)))
              for i in range(n)],
        "s": [None if i % 13 == 0 else TEXTS[i % len(TEXTS)] for i in range(n)],
        "s5": [None if i % 5 == 0 else "LONG" for i in range(n)],
        "f": [math.nan if i % 11 == 0 else FLOATS[i % len(FLOATS)] for i in range(n)],
        "i2": pd.Series([None if i % 4 == 0 else (-32768, 32767, 0)[i % 3] for i in range(n)],
                        dtype=object),
        "i4": np.arange(n, dtype="int64") * 1000 - 2**31,
        "i8": pd.Series([None if i % 9 == 0 else (2**63 - 1, -2**63)[i % 2] for i in range(n)],
                        dtype=object),
        "b": [None if i % 3 == 0 else bool(i % 2) for i in range(n)],
        "d": [None if i % 6 == 0 else dt.date(1999, 12, 31) + dt.timedelta(days=i * 37 - 4000)
              for i in range(n)],
        "ts": [None if i % 8 == 0 else dt.datetime(
            2025, 6, 30, 12, 0, 1, 123456, tzinfo=dt.timezone(dt.timedelta(hours=i % 5 - 2)))
            + dt.timedelta(seconds=i * 999) for i in range(n)],
        # with a null inside (the json.dumps path) and without (orjson's)
        "j": [None if i % 10 == 0 else {"a": i, "s": TEXTS[i % 9], "l": [1.5, -0.0, None]}
              if i % 2 else {"a": -i, "s": TEXTS[i % 12], "x": [1.5e-7, 5e-324, 1 / 3, -123456.789],
                             "big": 2**62, "nested": {"t": True, "f": False, "e": []}}
              for i in range(n)],
        "a": [None if i % 11 == 0 else ([] if i % 3 == 0 else [TEXTS[i % 9], "x,y", "{}"])
              for i in range(n)],
    })


def _na(value):
    """pandas' missing text (NaN in a str column) as the NULL it is stored as."""
    return None if isinstance(value, float) and math.isnan(value) else value


def _stored(engine, table: str) -> bytes:
    """The table's rows in the order sent, in COPY's binary format (exact bytes)."""
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        out = io.BytesIO()
        with raw.cursor() as cur, cur.copy(
                f"COPY (SELECT {NAMES} FROM {SCRATCH}.{table} ORDER BY k) TO STDOUT "
                "(FORMAT BINARY)"
        ) as copy:
            for block in copy:
                out.write(block)
    return out.getvalue()


def _write_binary(engine, frame: pd.DataFrame, table: str = "odd") -> None:
    with engine.begin() as conn:
        assert writer._copy(conn, f"{SCRATCH}.{table}", ODD, frame, list(frame.columns)) == len(
            frame)


def _write_text(engine, frame: pd.DataFrame) -> None:
    """The reference: the text-format fallback, one ``write_row`` per row."""
    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        cols = ", ".join(frame.columns)
        with raw.cursor() as cur, cur.copy(
                f"COPY {SCRATCH}.odd_text ({cols}) FROM STDIN") as copy:
            for row in writer._rows(ODD, frame, list(frame.columns)):
                copy.write_row(row)


@pytest.mark.parametrize("n", [0, 1, 3000])
def test_binary_copy_stores_what_the_row_by_row_text_copy_stores(scratch, n):
    frame = _frame(n)
    _write_binary(scratch, frame)
    _write_text(scratch, frame)
    assert _stored(scratch, "odd") == _stored(scratch, "odd_text")


def test_blocks_split_rows_anywhere(scratch, monkeypatch):
    frame = _frame(50)
    _write_text(scratch, frame)
    monkeypatch.setattr(writer, "_BLOCK_ROWS", 7)
    _write_binary(scratch, frame)
    assert _stored(scratch, "odd") == _stored(scratch, "odd_text")


def test_awkward_values_round_trip_exactly(scratch):
    frame = _frame(len(FLOATS) * len(TEXTS))
    _write_binary(scratch, frame)
    with scratch.connect() as conn:
        rows = conn.execute(text(f"SELECT f, float8send(f), s, a, i2, i8, d, ts, j "
                                 f"FROM {SCRATCH}.odd ORDER BY k")).all()
    for i, (f, bits, s, a, i2, i8, d, ts, j) in enumerate(rows):
        want = frame["f"][i]
        if math.isnan(want):  # NaN is NULL, as it always was
            assert f is None and bits is None
        else:  # bit for bit: -0.0, subnormals, ±inf, 1e300
            assert bytes(bits) == struct.pack("!d", want)
        assert s == _na(frame["s"][i]) and a == frame["a"][i] and d == frame["d"][i]
        assert i2 == frame["i2"][i] and i8 == frame["i8"][i] and j == frame["j"][i]
        assert ts == frame["ts"][i]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_non_finite_number_in_jsonb_is_an_error_not_a_null(scratch, bad):
    import psycopg

    frame = pd.DataFrame({"j": [{"ok": 1.0}, {"impact": bad}]})
    with pytest.raises(psycopg.errors.InvalidTextRepresentation):
        _write_binary(scratch, frame)
    with scratch.connect() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {SCRATCH}.odd")).scalar_one() == 0


def test_pandas_dtypes_are_encoded_like_their_python_values(scratch):
    """datetime64 dates (floored to the day), nanosecond timestamps (truncated to µs, as
    ``to_pydatetime``), nullable extension dtypes, numpy strings, ids in other spellings."""
    pandas_typed = pd.DataFrame({
        "d": pd.to_datetime(pd.Series([dt.datetime(1969, 12, 31, 23, 30), None,
                                       dt.datetime(2025, 6, 30, 0, 0, 0, 1)])),
        "ts": pd.to_datetime(pd.Series(["2025-06-30 12:00:00.123456789+02:00", None,
                                        "1960-01-01 00:00:00.000000999Z"]), format="mixed",
                             utc=True),
        "f": pd.array([1.5, None, -0.0], dtype="Float64"),
        "i4": pd.array([1, None, 3], dtype="Int64"),
        "s": pd.array(["a", None, "ü"], dtype="string"),
        "s5": np.array(["x", "yy", "zzz"]),
        "u": [str(uuid.UUID(int=5)).upper(), uuid.UUID(int=6).hex, None],
    })
    python_valued = pd.DataFrame({
        "d": [dt.date(1969, 12, 31), None, dt.date(2025, 6, 30)],
        "ts": [dt.datetime(2025, 6, 30, 10, 0, 0, 123456, tzinfo=UTC), None,
               dt.datetime(1960, 1, 1, tzinfo=UTC)],
        "f": [1.5, None, -0.0],
        "i4": pd.Series([1, None, 3], dtype=object),
        "s": ["a", None, "ü"],
        "s5": ["x", "yy", "zzz"],
        "u": [uuid.UUID(int=5), uuid.UUID(int=6), None],
    })
    no_na = pandas_typed.drop(columns=["f", "i4", "s"])  # the text path cannot send pd.NA
    with pytest.warns(UserWarning, match="nanoseconds"):
        _write_text(scratch, no_na)
    _write_binary(scratch, no_na)
    assert _stored(scratch, "odd") == _stored(scratch, "odd_text")
    with scratch.begin() as conn:
        conn.execute(text(f"TRUNCATE {SCRATCH}.odd, {SCRATCH}.odd_text RESTART IDENTITY"))
    _write_binary(scratch, pandas_typed)
    _write_binary(scratch, python_valued, "odd_text")
    assert _stored(scratch, "odd") == _stored(scratch, "odd_text")
    _write_binary(scratch, pd.DataFrame({"d": ["2025-06-30", "2025-01-02"], "s": [1, 2.5]}))
    with scratch.connect() as conn:
        assert conn.execute(text(f"SELECT d, s FROM {SCRATCH}.odd ORDER BY k")).all()[-2:] == [
            (dt.date(2025, 6, 30), "1.0"), (dt.date(2025, 1, 2), "2.5")]  # a float column


def test_fetch_frame_is_the_frame_of_psycopgs_rows_and_restores_the_gc(scratch):
    frame = _frame(500)
    _write_binary(scratch, frame)
    query = select(*(fetch.uuid_as_text(c) for c in ODD.columns)).order_by(text("k"))
    names = [c.name for c in ODD.columns]
    with scratch.connect() as conn:
        rows = conn.execute(text(
            f"SELECT u::text, s, s5, f, i2, i4, i8, b, d, ts, j, a FROM {SCRATCH}.odd "
            "ORDER BY k")).all()
        assert gc.isenabled()
        got = fetch.fetch_frame(conn, query, names)
        assert gc.isenabled()
        gc.disable()
        try:
            fetch.fetch_rows(conn, query)
            assert not gc.isenabled()
        finally:
            gc.enable()
    want = pd.DataFrame([tuple(r) for r in rows], columns=names)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    for name in names:
        assert [type(v) for v in got[name]] == [type(v) for v in want[name]], name


def _stored_column(engine, column: str) -> list:
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT {column} FROM {SCRATCH}.odd ORDER BY k")).scalars().all()


def test_uuid_texts_in_the_canonical_spelling_are_decoded_exactly(scratch):
    """The one-pass decode of 8-4-4-4-12 texts (either case) stores what uuid.UUID parses;
    a column mixing spellings or uuid.UUID values takes the per-value path."""
    ids = [uuid.uuid5(uuid.NAMESPACE_URL, f"p{i}") for i in range(300)]
    texts = [str(u).upper() if i % 3 == 0 else str(u) for i, u in enumerate(ids)]
    texts[-1] = texts[-1][:9] + texts[-1][9:].upper()  # mixed case within one value
    _write_binary(scratch, pd.DataFrame({"u": texts}))
    mixed = [u.hex if i % 2 else u for i, u in enumerate(ids[:50])] + [None, math.nan]
    _write_binary(scratch, pd.DataFrame({"u": pd.Series(mixed, dtype=object)}))
    # hyphens elsewhere: not the canonical spelling, read as uuid.UUID reads it
    odd = "0000000-00000-0000-0000-00000000000a"
    _write_binary(scratch, pd.DataFrame({"u": [str(ids[0]), odd]}))
    assert _stored_column(scratch, "u") == [uuid.UUID(t) for t in texts] + ids[:50] + [
        None, None, ids[0], uuid.UUID(int=10)]


@pytest.mark.parametrize("bad", [
    "00000000-0000-0000-0000-0000000-0000",   # 36 characters, a hyphen for a digit
    "00000000-0000-0000-0000-00000000000g",   # not a hex digit
    "00000000-0000-0000-0000-0000000000000",  # 37 characters ...
])
def test_a_malformed_uuid_text_is_an_error_not_a_wrong_id(scratch, bad):
    good = [str(uuid.UUID(int=i)) for i in range(1, 5)]
    # ... beside a 35-character one: together as long as two canonical texts
    values = [*good, bad] + ([bad[:35]] if len(bad) == 37 else [])
    with pytest.raises(ValueError, match=f"u: not a uuid: '{bad}'"):
        _write_binary(scratch, pd.DataFrame({"u": values}))


def test_text_arrays_of_every_shape_are_stored_as_their_items_text(scratch):
    """Flags as lists, tuples, numpy arrays, with non-text items, repeated or not, NULL; a
    str is one item, a list inside is its str() (the text COPY path cannot send tuples)."""
    shared = ["stale_price"]
    values = [shared, shared, [], (), ("a", "b"), ["a", "b"], [1, 2.5], np.array(["x", "y"]),
              None, math.nan, ["🙂", ""], ("a", "b"), [], ["1"], [1], "one", [["nested"]],
              np.array([["p", "q"]])] * 7
    want = [["stale_price"], ["stale_price"], [], [], ["a", "b"], ["a", "b"], ["1", "2.5"],
            ["x", "y"], None, None, ["🙂", ""], ["a", "b"], [], ["1"], ["1"], ["one"],
            ["['nested']"], ["['p' 'q']"]] * 7
    _write_binary(scratch, pd.DataFrame({"a": pd.Series(values, dtype=object)}))
    assert _stored_column(scratch, "a") == want
