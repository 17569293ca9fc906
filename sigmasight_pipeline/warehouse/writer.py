"""Bulk writes: one partition's rows replaced atomically, history merged by key.

``replace_partition`` is the only way a daily asset writes its table: inside one
transaction it takes a PostgreSQL advisory lock per (table, day), deletes the day's rows
(optionally narrowed, e.g. to one asset's data-quality rows) and COPYs the new ones. A
crash before COMMIT leaves the previous good rows untouched; concurrent writers of the
same day queue on the lock instead of interleaving.

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


def _fields(dtype: str, values: np.ndarray, null: np.ndarray) -> _Fixed | list[bytes]:
    """Fixed-width values as one column, or (with NULLs) as each row's field: 4-byte
    length and value, or the NULL marker."""
    if not null.any():
        return _Fixed(dtype, values)
    return _field_list(_Fixed(dtype, values), null)


def _field_list(col: _Fixed, null: np.ndarray | None = None) -> list[bytes]:
    """Each row's field of a fixed-width column (NULL where ``null``)."""
    rec = np.empty(len(col.values), dtype=[("n", ">i4"), ("v", col.dtype)])
    rec["n"] = col.dtype.itemsize
    rec["v"] = col.values
    blob, size = rec.tobytes(), rec.itemsize
    out = [blob[i:i + size] for i in range(0, len(blob), size)]
    if null is not None:
        for i in np.flatnonzero(null).tolist():
            out[i] = _NULL
    return out


def _with_length(encoded: list[bytes | None]) -> list[bytes]:
    return [_NULL if b is None else struct.pack("!i", len(b)) + b for b in encoded]


def _deduplicated(values: np.ndarray, encode) -> list[bytes]:
    """Each value's field, ``encode``-d (to bytes) once per distinct value: symbols, sources
    and flags repeat a handful of values over 100,000 rows. None is NULL."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    fields = np.empty(len(uniques) + 1, dtype=object)
    fields[:-1] = _with_length([encode(u) for u in uniques])
    fields[-1] = _NULL  # code -1
    return fields[codes].tolist()


def _uuids(series: pd.Series) -> _Fixed | list[bytes]:
    """uuid values (16 bytes; None/NaN is NULL), from ``uuid.UUID`` or strings."""
    values = series.tolist()
    null = np.array([v is None or (isinstance(v, float) and math.isnan(v)) for v in values],
                    dtype=bool)
    present = [v for v, missing in zip(values, null.tolist(), strict=True) if not missing]
    if present and all(type(v) is str and len(v) == 36 for v in present):
        try:  # one hex decode for the whole column
            blob = bytes.fromhex("".join(present).replace("-", ""))
        except ValueError:
            blob = b""
    else:
        blob = b""
    if len(blob) != 16 * len(present):
        blob = b"".join((v if isinstance(v, uuid.UUID) else uuid.UUID(str(v))).bytes
                        for v in present)
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


def _texts(series: pd.Series, encoding: str) -> list[bytes]:
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
        values = series.tolist()
        if not all(type(v) is dt.date for v in values):
            ts = pd.to_datetime(series, errors="raise")
            values = [None if pd.isna(v) else v.date() for v in ts]
        objects = np.empty(len(values), dtype=object)
        objects[:] = values
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


def _text_arrays(series: pd.Series) -> list[bytes]:
    """text[] values (lists, tuples, arrays; a str is one element) in the binary format;
    flags repeat a handful of distinct lists, each encoded once."""
    cache: dict[tuple, bytes] = {}
    out = []
    for v in series.tolist():
        if v is None or (isinstance(v, float) and math.isnan(v)):
            out.append(_NULL)
            continue
        key = (v,) if isinstance(v, str) else tuple(map(str, v))
        field = cache.get(key)
        if field is None:
            field = cache[key] = _with_length([_text_array_binary(key)])[0]
        out.append(field)
    return out


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


def _encode(cur, pg_type: str, series: pd.Series) -> _Fixed | list[bytes]:
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


def _binary_block(columns: list[_Fixed | list[bytes]], n: int) -> bytes:
    """``n`` rows of encoded ``columns`` in COPY's binary format: each row's leading
    fixed-width fields (field count, then length and value of each) come from one numpy
    record array; the fields after the first varying one are spliced in row by row."""
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
    blob = prefix.tobytes()
    rest = [_field_list(c) if isinstance(c, _Fixed) else c for c in columns[lead:]]
    if not rest:
        return blob
    size, stride = prefix.itemsize, 1 + len(rest)
    parts: list[bytes] = [b""] * (n * stride)
    parts[0::stride] = [blob[i:i + size] for i in range(0, len(blob), size)]
    for j, col in enumerate(rest, start=1):
        parts[j::stride] = col
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
    where = " AND ".join(['"date" = ANY(:days)', *(f'"{c}" = :s_{c}' for c in scope)])
    conn.execute(
        text(f"DELETE FROM {SCHEMA}.{table.name} WHERE {where}"),
        {"days": days, **{f"s_{c}": v for c, v in scope.items()}},
    )
    if frame.empty:
        return 0
    columns = _known_columns(table, frame)
    return _copy(conn, f"{SCHEMA}.{table.name}", table, frame, columns)


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
