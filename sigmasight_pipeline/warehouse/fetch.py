"""Reading a query's rows into a DataFrame fast (one round trip, binary results).

SQLAlchemy's result rows (and ``.mappings()``) cost about 30 µs per row of a 14-column
table: reading a day of 100,000 position values took ~3 s, most of an engine asset's time
at scale. :func:`fetch_frame` runs the same SQLAlchemy query on the connection's psycopg
cursor in binary mode (no text parsing of numbers, dates or arrays; same Python values)
and builds the DataFrame from the tuples. UUID columns are cast to text in SQL, so ids
arrive as ``str`` without a per-row conversion.

Python's cyclic garbage collector is paused while the rows and the frame are built: a
100,000-row read allocates some 200,000 tuples and lists (none in a reference cycle), and
the collections they triggered, each traversing the young objects again, were half of a
read's CPU time (0.47 → 0.23 s for a day of position values).

JSON and JSONB values are parsed by orjson (the same dicts, lists, str, int and float as the
standard library's parser, at a fraction of its time: a day's 36,000 stress-test rows each
carry a JSON object of factor impacts).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import orjson
import pandas as pd
from psycopg.types.json import set_json_loads
from sqlalchemy import Text, cast
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select


def uuid_as_text(column):
    """``column`` cast to text (keeping its name) when it is a UUID column, else itself."""
    if isinstance(column.type, UUID):
        return cast(column, Text).label(column.name)
    return column


@contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off for the block (back on after, if it was on)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def fetch_rows(conn: Connection, query: Select) -> list[tuple]:
    """The rows of ``query`` as psycopg's tuples (binary results, ``conn``'s transaction)."""
    compiled = query.compile(dialect=conn.dialect,
                             compile_kwargs={"render_postcompile": True})
    raw = conn.connection.driver_connection  # psycopg.Connection, same transaction
    with raw.cursor(binary=True) as cur, _gc_paused():
        set_json_loads(orjson.loads, cur)
        cur.execute(str(compiled), compiled.params)
        return cur.fetchall()


def fetch_frame(conn: Connection, query: Select, columns: Sequence[str] | None = None
                ) -> pd.DataFrame:
    """The rows of ``query`` as a DataFrame (columns named ``columns`` or the query's).

    Runs inside ``conn``'s transaction. Values are what psycopg loads: float, int, str,
    ``datetime.date``, lists for arrays, dicts for JSON (the same as through SQLAlchemy).
    """
    names = list(columns) if columns is not None else [c.name for c in query.selected_columns]
    return frame_of(fetch_rows(conn, query), names)


def frame_of(rows: list[tuple], names: Sequence[str]) -> pd.DataFrame:
    """``rows`` (of :func:`fetch_rows`) as a DataFrame with columns ``names``; the dtypes
    are inferred from these rows alone (a frame of some of a read's rows is the frame a
    read of just those rows gives)."""
    with _gc_paused():
        return pd.DataFrame(rows, columns=list(names))
