"""Bulk writes: one partition's rows replaced atomically, history merged by key.

``replace_partition`` is the only way a daily asset writes its table: inside one
transaction it takes a PostgreSQL advisory lock per (table, day), deletes the day's rows
(optionally narrowed, e.g. to one asset's data-quality rows) and COPYs the new ones; a
table partitioned by day (day_partitions.py) has each whole day's partition swapped for a
new one instead. A crash before COMMIT leaves the previous good rows untouched; concurrent
writers of the same day queue on the lock instead of interleaving.

``merge_rows`` is for back-filled history (rows of many days for a few symbols): COPY
into a temporary table, then INSERT … ON CONFLICT (primary key) DO UPDATE.

Rows go over COPY in PostgreSQL's binary format, built here a column at a time (numpy
for the fixed-width types, NaN → NULL, ids as 16 bytes; each distinct text encoded once)
and sent in blocks of rows, not through psycopg's per-row ``write_row``: no text to format
here or parse on the server. A column of a type without a binary encoder below falls back
to the text format for the whole write.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import struct
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import orjson
import pandas as pd
from psycopg import pq
from psycopg.copy import QueuedLibpqWriter
from psycopg.types.json import Jsonb
from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    Integer,
    SmallInteger,
    String,
    Table,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.engine import Connection

from . import day_partitions
from .tables import SCHEMA


def _to_python(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
        if isinstance(value, float) and math.isnan(value):
            return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _column_values(table: Table, frame: pd.DataFrame, column: str) -> list[Any]:
    series = frame[column]
    if isinstance(table.c[column].type, JSONB):
        return [None if v is None else Jsonb(v) for v in series.tolist()]
    if pd.api.types.is_float_dtype(series.dtype):
        arr = series.to_numpy(dtype="float64")
        out = arr.astype(object)
        out[np.isnan(arr)] = None
        return out.tolist()
    if pd.api.types.is_integer_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        return series.tolist()
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return [None if pd.isna(v) else v.date() if table.c[column].type.python_type is dt.date
                else v.to_pydatetime() for v in series]
    return [_to_python(v) for v in series.tolist()]


def _rows(table: Table, frame: pd.DataFrame, columns: Sequence[str]) -> Iterable[tuple]:
    unknown = [c for c in columns if c not in table.c]
    if unknown:
        raise KeyError(f"{table.name} has no column(s) {unknown}")
    return zip(*(_column_values(table, frame, c) for c in columns), strict=True)


_TEXT_OID = 25
#: the binary COPY stream's framing (PostgreSQL docs, "COPY: Binary Format"): 11-byte
#: signature, flags, header-extension length; a field count of -1 ends it; length -1 is NULL
_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8
_TRAILER = b"\xff\xff"
_NULL = b"\xff\xff\xff\xff"
#: days and microseconds between 0001-01-01 / 1970-01-01 and PostgreSQL's 2000-01-01 epoch
_PG_EPOCH_ORDINAL = dt.date(2000, 1, 1).toordinal()
_PG_EPOCH_UNIX_US = 946_684_800_000_000
#: rows per COPY data block: the server inserts one block while the next is encoded
_BLOCK_ROWS = 16_384
#: types encoded as numpy arrays (:class:`_Fixed`) when a block has no NULL in the column
_FIXED_WIDTH = {"uuid", "float8", "int2", "int4", "int8", "date", "timestamptz"}


class _Fixed:
    """A column without NULLs of one fixed-width binary type: ``values`` as a numpy array
    of the big-endian type ``dtype`` (e.g. ``>f8``; ``V16`` for uuids' 16 bytes)."""

    def __init__(self, dtype: str, values: np.ndarray):
        self.dtype, self.values = np.dtype(dtype), values


class _Coded:
    """A column whose field in row i is ``fields[codes[i]]``: few distinct fields (texts,
    flags; each 4-byte length and value, or the NULL marker) over many rows."""

    __slots__ = ("codes", "fields")

    def __init__(self, codes: np.ndarray, fields: np.ndarray):
        self.codes, self.fields = codes, fields

    def rows(self) -> list[bytes]:
        return self.fields[self.codes].tolist()


def _merged(a: _Coded, b: _Coded) -> _Coded:
    """Columns ``a`` then ``b`` as one: each distinct pair of fields joined once."""
    pairs = a.codes.astype(np.int64) * len(b.fields) + b.codes
    codes, uniques = pd.factorize(pairs)
    first, second = np.divmod(np.asarray(uniques), len(b.fields))
    fields = np.empty(len(uniques), dtype=object)
    fields[:] = [x + y for x, y in zip(a.fields[first].tolist(), b.fields[second].tolist(),
                                       strict=True)]
    return _Coded(codes, fields)


def _fields(dtype: str, values: np.ndarray, null: np.ndarray) -> _Fixed | list[bytes]:
    """Fixed-width values as one column, or (with NULLs) as each row's field: 4-byte
    length and value, or the NULL marker."""
    if not null.any():
        return _Fixed(dtype, values)
    return _field_list(_Fixed(dtype, values), null)


def _records(rec: np.ndarray) -> list[bytes]:
    """Each record of a numpy record array as its bytes (a void view: no slicing loop)."""
    return np.frombuffer(rec.tobytes(), dtype=f"V{rec.itemsize}").tolist()


def _field_list(col: _Fixed, null: np.ndarray | None = None) -> list[bytes]:
    """Each row's field of a fixed-width column (NULL where ``null``)."""
    rec = np.empty(len(col.values), dtype=[("n", ">i4"), ("v", col.dtype)])
    rec["n"] = col.dtype.itemsize
    rec["v"] = col.values
    out = _records(rec)
    if null is not None:
        for i in np.flatnonzero(null).tolist():
            out[i] = _NULL
    return out


def _with_length(encoded: list[bytes | None]) -> list[bytes]:
    return [_NULL if b is None else struct.pack("!i", len(b)) + b for b in encoded]


def _deduplicated(values: np.ndarray, encode) -> _Coded:
    """Each value's field, ``encode``-d (to bytes) once per distinct value: symbols, sources
    and flags repeat a handful of values over 100,000 rows. None is NULL."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    fields = np.empty(len(uniques) + 1, dtype=object)
    fields[:-1] = _with_length([encode(u) for u in uniques])
    fields[-1] = _NULL  # code -1
    return _Coded(np.where(codes < 0, len(uniques), codes), fields)


#: nibble of each ASCII hex digit (either case); 255 for any other byte
_HEX_NIBBLE = np.full(256, 255, dtype=np.uint8)
_HEX_NIBBLE[np.frombuffer(b"0123456789abcdef", np.uint8)] = np.arange(16, dtype=np.uint8)
_HEX_NIBBLE[np.frombuffer(b"ABCDEF", np.uint8)] = np.arange(10, 16, dtype=np.uint8)
#: the canonical 36-character spelling: hyphens at these offsets, hex digits elsewhere
_UUID_HYPHENS = [8, 13, 18, 23]
_UUID_DIGITS = [i for i in range(36) if i not in _UUID_HYPHENS]


def _canonical_uuid_bytes(texts: list) -> bytes | None:
    """The 16 bytes of each of ``texts`` when every one is a str in the canonical
    8-4-4-4-12 spelling (either case), decoded in one numpy pass; None otherwise (then each
    value goes through ``uuid.UUID``, which also takes other spellings or names the bad one).
    """
    try:
        joined = "".join(texts).encode("ascii")
    except (TypeError, UnicodeEncodeError):  # not all str (uuid.UUID values), or not ASCII
        return None
    if len(joined) != 36 * len(texts) or not (
            np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)) == 36).all():
        return None
    chars = np.frombuffer(joined, dtype=np.uint8).reshape(-1, 36)
    if not (chars[:, _UUID_HYPHENS] == ord("-")).all():
        return None
    nibbles = _HEX_NIBBLE[chars[:, _UUID_DIGITS]]
    if (nibbles == 255).any():
        return None
    return ((nibbles[:, 0::2] << 4) | nibbles[:, 1::2]).tobytes()


def _uuid_of(value, column) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError as e:
        raise ValueError(f"{column}: not a uuid: {value!r} ({e})") from None


def _uuids(series: pd.Series) -> _Fixed | list[bytes]:
    """uuid values (16 bytes; None/NaN is NULL), from ``uuid.UUID`` or strings."""
    values = series.to_numpy(dtype=object)
    # pandas' vectorized test first: only a column with a missing value is tested row by row
    null = (np.array([v is None or (isinstance(v, float) and math.isnan(v)) for v in values],
                     dtype=bool) if series.hasnans else np.zeros(len(values), dtype=bool))
    present = values[~null].tolist()
    blob = _canonical_uuid_bytes(present) if present else b""
    if blob is None:
        blob = b"".join(_uuid_of(v, series.name).bytes for v in present)
    ids = np.zeros(len(values), dtype="V16")
    ids[~null] = np.frombuffer(blob, dtype="V16")
    return _fields("V16", ids, null)


def _floats(series: pd.Series) -> _Fixed | list[bytes]:
    """float8 bit for bit (-0.0, ±inf and subnormals kept); NaN (and None) is NULL."""
    arr = pd.to_numeric(series, errors="raise").to_numpy(dtype="float64", na_value=np.nan)
    return _fields(">f8", arr, np.isnan(arr))


def _ints(series: pd.Series) -> list[Any]:
    if pd.api.types.is_integer_dtype(series.dtype) and not series.hasnans:
        return [int(v) for v in series.to_numpy(dtype="int64")]
    return [None if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))
            else int(v) for v in series.tolist()]


def _int_fields(series: pd.Series, pg_type: str) -> _Fixed | list[bytes] | None:
    """int2/int4/int8 values as :func:`_ints` gives them (None is NULL); None when one is
    out of the type's range, for psycopg's dumper to refuse as it always did."""
    if pd.api.types.is_integer_dtype(series.dtype) and not series.hasnans:
        arr, null = series.to_numpy(dtype="int64"), np.zeros(len(series), dtype=bool)
    else:
        values = _ints(series)
        null = np.array([v is None for v in values], dtype=bool)
        try:
            arr = np.array([0 if v is None else v for v in values], dtype="int64")
        except OverflowError:
            return None
    bits = {"int2": 16, "int4": 32, "int8": 64}[pg_type]
    info = np.iinfo(f"int{bits}")
    if len(arr) and (arr.min() < info.min or arr.max() > info.max):
        return None
    return _fields(f">i{bits // 8}", arr, null)


def _texts(series: pd.Series, encoding: str) -> _Coded:
    if pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty"):
        values = series.to_numpy(dtype=object, na_value=None)
    else:
        values = np.empty(len(series), dtype=object)
        values[:] = [None if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))
                     else v if isinstance(v, str) else str(_to_python(v))
                     for v in series.tolist()]
    return _deduplicated(values, lambda v: v.encode(encoding))


def _dates(series: pd.Series) -> _Fixed | list[bytes]:
    """Days since 2000-01-01 (``datetime.date`` values, or anything pandas reads as
    timestamps: their calendar date); None/NaT is NULL."""
    if pd.api.types.is_datetime64_dtype(series.dtype):  # tz-naive: floor to the day
        days = series.to_numpy().astype("datetime64[D]")
        null = np.isnat(days)
        ordinals = days.astype("int64") + dt.date(1970, 1, 1).toordinal()
    else:
        # each distinct value looked at once (a day's rows hold one or a few dates); any
        # missing value (None, NaN, NaT) is NULL on either path
        codes, uniques = pd.factorize(series.to_numpy(dtype=object), use_na_sentinel=True)
        if not all(type(d) is dt.date for d in uniques):
            ts = pd.to_datetime(series, errors="raise")
            objects = np.empty(len(ts), dtype=object)
            objects[:] = [None if pd.isna(v) else v.date() for v in ts]
            codes, uniques = pd.factorize(objects, use_na_sentinel=True)
        null = codes < 0
        ordinals = np.array([d.toordinal() for d in uniques] + [0], dtype="int64")[codes]
    return _fields(">i4", ordinals - _PG_EPOCH_ORDINAL, null)


def _timestamps(series: pd.Series) -> _Fixed | list[bytes]:
    """Microseconds since 2000-01-01 UTC (nanoseconds dropped, as ``to_pydatetime``)."""
    ts = pd.to_datetime(series, errors="raise", utc=True)
    us = ts.dt.tz_localize(None).to_numpy().astype("datetime64[us]")
    null = np.isnat(us)
    return _fields(">i8", us.astype("int64") - _PG_EPOCH_UNIX_US, null)


def _text_array_binary(items: tuple[str, ...]) -> bytes:
    """A one-dimensional text[] in PostgreSQL's binary array format."""
    if not items:
        return struct.pack("!iiI", 0, 0, _TEXT_OID)
    head = struct.pack("!iiIii", 1, 0, _TEXT_OID, len(items), 1)
    body = b"".join(struct.pack("!i", len(b)) + b for b in (i.encode() for i in items))
    return head + body


def _text_arrays(series: pd.Series) -> _Coded:
    """text[] values (lists, tuples, arrays; a str is one element) in the binary format;
    flags repeat a handful of distinct lists, each encoded once."""
    code_of: dict[tuple | None, int] = {}
    codes = []
    for v in series.tolist():
        kind = type(v)
        if kind is list or kind is tuple:  # the engines' flags: hashed as they are
            try:
                key = tuple(v)
                hash(key)
            except TypeError:  # a list inside: its text, as str() gives it
                key = tuple(map(str, v))
        elif v is None or (isinstance(v, float) and math.isnan(v)):
            key = None
        else:  # a str is one item; anything else iterable (an array) item by item
            key = (v,) if isinstance(v, str) else tuple(map(str, v))
        code = code_of.get(key)
        if code is None:
            code = code_of[key] = len(code_of)
        codes.append(code)
    # keys equal as text (["1"] and [1]) are encoded alike under their own codes
    fields = np.empty(len(code_of), dtype=object)
    fields[:] = [_NULL if key is None else
                 _with_length([_text_array_binary(tuple(map(str, key)))])[0] for key in code_of]
    return _Coded(np.array(codes, dtype=np.int64), fields)


#: JSONB's binary format: a version byte, then the JSON text
_JSONB_VERSION = b"\x01"


def _jsonbs(series: pd.Series) -> list[bytes]:
    """JSONB fields: the text by orjson (a tenth of ``json.dumps``' time: 36,000 stress rows
    a day carry an object of factor impacts each). orjson writes NaN and infinity as
    ``null``: any text holding ``null`` (a None inside, or such a float) and anything orjson
    refuses is written by ``json.dumps`` instead, whose ``NaN`` PostgreSQL rejects, so a
    non-finite number is an error, never a stored null."""
    out: list[bytes | None] = []
    for v in series.tolist():
        if v is None:
            out.append(None)
            continue
        try:
            text = orjson.dumps(v)
        except (orjson.JSONEncodeError, TypeError):
            text = b"null"
        if b"null" in text:
            text = json.dumps(v).encode("utf-8")
        out.append(_JSONB_VERSION + text)
    return _with_length(out)


def _bools(series: pd.Series) -> list[Any]:
    return [None if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))
            else bool(v) for v in series.tolist()]


def _dumped(cur, pg_type: str, values: list[Any]) -> list[bytes]:
    """Each value through psycopg's binary dumper of ``pg_type`` (None is NULL)."""
    dumper = cur.adapters.get_dumper_by_oid(cur.adapters.types[pg_type].oid,
                                            pq.Format.BINARY)(object, cur)
    return _with_length([None if v is None else bytes(dumper.dump(v)) for v in values])


def _binary_encoder(column) -> str | None:
    """The PostgreSQL type of ``column`` that COPY's binary format is built for here (its
    encoder in :func:`_encode`), or None (then the write falls back to the text format)."""
    kind = column.type
    if isinstance(kind, ARRAY):
        text_items = isinstance(kind.item_type, String) and not kind.item_type.length
        return "text[]" if text_items and kind.dimensions in (None, 1) else None
    for sa_type, pg_type in (
        (UUID, "uuid"), (JSONB, "jsonb"), (Float, "float8"), (BigInteger, "int8"),
        (SmallInteger, "int2"), (Integer, "int4"), (Boolean, "bool"),
        (DateTime, "timestamptz"), (Date, "date"), (String, "text"),
    ):
        if isinstance(kind, sa_type):
            if sa_type is DateTime and not kind.timezone:
                return None
            return pg_type
    return None


def _encode(cur, pg_type: str, series: pd.Series) -> _Fixed | _Coded | list[bytes]:
    """A whole column in COPY's binary format."""
    if pg_type == "uuid":
        return _uuids(series)
    if pg_type == "float8":
        return _floats(series)
    if pg_type == "date":
        return _dates(series)
    if pg_type == "timestamptz":
        return _timestamps(series)
    if pg_type == "text":
        return _texts(series, cur.connection.info.encoding)
    if pg_type == "text[]":
        return _text_arrays(series)
    if pg_type == "jsonb":
        return _jsonbs(series)
    if pg_type == "bool":
        return _dumped(cur, pg_type, _bools(series))
    fields = _int_fields(series, pg_type)
    return _dumped(cur, pg_type, _ints(series)) if fields is None else fields


def _binary_block(columns: list[_Fixed | _Coded | list[bytes]], n: int) -> bytes:
    """``n`` rows of encoded ``columns`` in COPY's binary format: each row's leading
    fixed-width fields (field count, then length and value of each) come from one numpy
    record array; the fields after the first varying one are spliced in row by row, each
    run of adjacent few-valued columns (:class:`_Coded`: symbol, source, flags) as one."""
    lead = 0
    while lead < len(columns) and isinstance(columns[lead], _Fixed):
        lead += 1
    layout = [("count", ">i2")]
    for i, col in enumerate(columns[:lead]):
        layout += [(f"n{i}", ">i4"), (f"v{i}", col.dtype)]
    prefix = np.empty(n, dtype=layout)
    prefix["count"] = len(columns)
    for i, col in enumerate(columns[:lead]):
        prefix[f"n{i}"] = col.dtype.itemsize
        prefix[f"v{i}"] = col.values
    if lead == len(columns):
        return prefix.tobytes()
    rest: list[_Coded | list[bytes]] = []
    for col in columns[lead:]:
        if isinstance(col, _Fixed):
            col = _field_list(col)
        # joined only when few pairs can exist (symbol pairs of correlations are ~all
        # distinct: joining those costs more than it saves)
        if (isinstance(col, _Coded) and rest and isinstance(rest[-1], _Coded)
                and len(rest[-1].fields) * len(col.fields) <= n // 8):
            col = _merged(rest.pop(), col)
        rest.append(col)
    stride = 1 + len(rest)
    parts: list[bytes] = [b""] * (n * stride)
    parts[0::stride] = _records(prefix)
    for j, col in enumerate(rest, start=1):
        parts[j::stride] = col.rows() if isinstance(col, _Coded) else col
    return b"".join(parts)


def _copy(conn: Connection, qualified: str, table: Table, frame: pd.DataFrame,
          columns: Sequence[str]) -> int:
    """COPY ``frame[columns]`` into ``qualified`` (``table``'s columns) in the transaction.

    Binary format, encoded here a column at a time (numpy for fixed-width types, each
    distinct text once) and sent in blocks of rows by a writer thread (psycopg's
    ``QueuedLibpqWriter``): the next block is encoded while the server inserts the last
    (600,000 correlation rows: 1.44 → 1.06 s). Its queue holds at most 1,024 pieces of
    128 kB, so a slow server bounds the buffered data at 128 MB. A column of a type without
    an encoder sends the write as text rows.
    """
    pg_types = {c: _binary_encoder(table.c[c]) for c in columns}
    raw = conn.connection.driver_connection  # psycopg.Connection, same transaction
    if any(t is None for t in pg_types.values()):
        cols = ", ".join(f'"{c}"' for c in columns)
        with raw.cursor() as cur, cur.copy(f"COPY {qualified} ({cols}) FROM STDIN",
                                           writer=QueuedLibpqWriter(cur)) as copy:
            for row in _rows(table, frame, columns):
                copy.write_row(row)
        return len(frame)
    # the server reads fields in the COPY's column order: fixed-width types first, NOT
    # NULL ones before the others, so that most rows start with a numpy-built run
    order = sorted(columns, key=lambda c: (pg_types[c] not in _FIXED_WIDTH, table.c[c].nullable))
    cols = ", ".join(f'"{c}"' for c in order)
    with raw.cursor() as cur, cur.copy(f"COPY {qualified} ({cols}) FROM STDIN (FORMAT BINARY)",
                                       writer=QueuedLibpqWriter(cur)) as copy:
        copy.write(_SIGNATURE)
        for start in range(0, len(frame), _BLOCK_ROWS):
            block = frame.iloc[start:start + _BLOCK_ROWS]
            copy.write(_binary_block([_encode(cur, pg_types[c], block[c]) for c in order],
                                     len(block)))
        copy.write(_TRAILER)
    return len(frame)


def _known_columns(table: Table, frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c in table.c]


def lock_partition(conn: Connection, table: Table, days: Iterable[dt.date]) -> None:
    """Advisory transaction locks on (table, day), taken in day order to avoid deadlock."""
    ordinals = [day.toordinal() for day in sorted(set(days))]
    if not ordinals:
        return
    # one round trip for the whole range (a year's run took 250 per table); unnest yields
    # the array's order, so the locks are still taken day by day in order (one void row
    # per day comes back, unread; the statement reads as the lock it takes in
    # pg_stat_activity, where a queued writer is seen)
    conn.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:t), d)"
             " FROM unnest(CAST(:d AS integer[])) AS u(d)"),
        {"t": f"{SCHEMA}.{table.name}", "d": ordinals},
    )


def replace_partition(
    conn: Connection,
    table: Table,
    days: Sequence[dt.date] | dt.date,
    frame: pd.DataFrame,
    scope: Mapping[str, Any] | None = None,
) -> int:
    """Replace every row of ``table`` for ``days`` (and ``scope``) with ``frame``.

    Must run inside the caller's transaction (``engine.begin()``), so that the delete and
    the COPY commit together. ``frame`` must only hold rows of those days and scope;
    columns not in the frame take their server defaults. Returns the rows written.
    """
    days = [days] if isinstance(days, dt.date) else list(days)
    scope = dict(scope or {})
    if len(frame):
        # each distinct date converted once (100,000 rows hold one or a few)
        stray = set(pd.to_datetime(pd.Series(pd.unique(frame["date"]))).dt.date) - set(days)
        if stray:
            raise ValueError(f"{table.name}: rows for {sorted(stray)} outside the partition {days}")
        for col, val in scope.items():
            if (frame[col] != val).any():
                raise ValueError(f"{table.name}: rows outside the scope {col}={val!r}")
    lock_partition(conn, table, days)
    if not scope and day_partitions.is_by_day(table):
        return _swap_days(conn, table, days, frame)
    where = " AND ".join(['"date" = ANY(:days)', *(f'"{c}" = :s_{c}' for c in scope)])
    conn.execute(
        text(f"DELETE FROM {SCHEMA}.{table.name} WHERE {where}"),
        {"days": days, **{f"s_{c}": v for c, v in scope.items()}},
    )
    if frame.empty:
        return 0
    columns = _known_columns(table, frame)
    return _copy(conn, f"{SCHEMA}.{table.name}", table, frame, columns)


def _rows_by_day(frame: pd.DataFrame) -> dict[dt.date, pd.DataFrame]:
    """``frame``'s rows grouped by their ``date`` (dates, timestamps or ISO strings alike)."""
    if frame.empty:
        return {}
    codes, uniques = pd.factorize(frame["date"])
    dates = pd.to_datetime(pd.Series(uniques)).dt.date.to_numpy()
    day_codes, days = pd.factorize(dates)  # a date spelled two ways is one day
    if len(days) == 1:
        return {days[0]: frame}
    codes = day_codes[codes]
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(days) + 1))
    return {days[i]: frame.iloc[order[bounds[i]:bounds[i + 1]]] for i in range(len(days))}


def _swap_days(conn: Connection, table: Table, days: list[dt.date], frame: pd.DataFrame
               ) -> int:
    """A partitioned-by-day table's ``days`` replaced: each day's rows COPYed into a staged
    table and keyed, then every day swapped in at once (day_partitions.py)."""
    columns = _known_columns(table, frame)
    staged = {}
    for day, rows in sorted(_rows_by_day(frame).items()):
        staged[day] = day_partitions.stage(conn, table, day)
        _copy(conn, f"{SCHEMA}.{staged[day]}", table, rows, columns)
        day_partitions.build_keys(conn, table, staged[day])
    day_partitions.swap(conn, table, days, staged)
    return len(frame)


def merge_rows(conn: Connection, table: Table, frame: pd.DataFrame) -> int:
    """Insert or update rows by primary key (COPY into a temp table, then one INSERT)."""
    if frame.empty:
        return 0
    columns = _known_columns(table, frame)
    pk = [c.name for c in table.primary_key.columns]
    tmp = f"tmp_merge_{table.name}"
    conn.execute(text(
        f"CREATE TEMP TABLE IF NOT EXISTS {tmp} (LIKE {SCHEMA}.{table.name} INCLUDING DEFAULTS) "
        "ON COMMIT DROP"
    ))
    conn.execute(text(f"TRUNCATE {tmp}"))
    n = _copy(conn, tmp, table, frame, columns)
    cols = ", ".join(f'"{c}"' for c in columns)
    updates = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in columns if c not in pk)
    conflict = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
    conn.execute(text(
        f"INSERT INTO {SCHEMA}.{table.name} ({cols}) SELECT {cols} FROM {tmp} "
        f"ON CONFLICT ({', '.join(pk)}) {conflict}"
    ))
    return n


def json_ready(value: Any) -> Any:
    """Round-trip through JSON so numpy scalars become plain numbers."""
    return json.loads(json.dumps(value, default=_to_python))
