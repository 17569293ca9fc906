"""Bulk writes: one partition's rows replaced atomically, history merged by key.

``replace_partition`` is the only way a daily asset writes its table: inside one
transaction it takes a PostgreSQL advisory lock per (table, day), deletes the day's rows
(optionally narrowed, e.g. to one asset's data-quality rows) and COPYs the new ones. A
crash before COMMIT leaves the previous good rows untouched; concurrent writers of the
same day queue on the lock instead of interleaving.

``merge_rows`` is for back-filled history (rows of many days for a few symbols): COPY
into a temporary table, then INSERT … ON CONFLICT (primary key) DO UPDATE.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from psycopg.types.json import Jsonb
from sqlalchemy import Table, text
from sqlalchemy.dialects.postgresql import JSONB
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


def _copy(conn: Connection, qualified: str, columns: Sequence[str], rows: Iterable[tuple]) -> int:
    cols = ", ".join(f'"{c}"' for c in columns)
    raw = conn.connection.driver_connection  # psycopg.Connection, same transaction
    n = 0
    with raw.cursor() as cur, cur.copy(f"COPY {qualified} ({cols}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


def lock_partition(conn: Connection, table: Table, days: Iterable[dt.date]) -> None:
    """Advisory transaction locks on (table, day), taken in day order to avoid deadlock."""
    for day in sorted(set(days)):
        conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:t), :d)"),
            {"t": f"{SCHEMA}.{table.name}", "d": day.toordinal()},
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
        stray = set(pd.to_datetime(frame["date"]).dt.date) - set(days)
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
    columns = [c for c in frame.columns if c in table.c]
    return _copy(conn, f"{SCHEMA}.{table.name}", columns, _rows(table, frame, columns))


def merge_rows(conn: Connection, table: Table, frame: pd.DataFrame) -> int:
    """Insert or update rows by primary key (COPY into a temp table, then one INSERT)."""
    if frame.empty:
        return 0
    columns = [c for c in frame.columns if c in table.c]
    pk = [c.name for c in table.primary_key.columns]
    tmp = f"tmp_merge_{table.name}"
    conn.execute(text(
        f"CREATE TEMP TABLE IF NOT EXISTS {tmp} (LIKE {SCHEMA}.{table.name} INCLUDING DEFAULTS) "
        "ON COMMIT DROP"
    ))
    conn.execute(text(f"TRUNCATE {tmp}"))
    n = _copy(conn, tmp, columns, _rows(table, frame, columns))
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
