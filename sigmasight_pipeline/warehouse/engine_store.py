"""Reading engine results back (one table, some days), ids as strings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd
from sqlalchemy import Table, select
from sqlalchemy.engine import Connection

from .fetch import fetch_frame, uuid_as_text


def read_days(conn: Connection, table: Table, days: Sequence[dt.date] | dt.date,
              **filters) -> pd.DataFrame:
    """Rows of ``table`` whose date is in ``days`` (and columns equal ``filters``).

    Ordered by the primary key: float sums over the rows then come out bit-identical
    however PostgreSQL happens to lay the rows out after a rewrite.
    """
    days = [days] if isinstance(days, dt.date) else list(days)
    q = select(*(uuid_as_text(c) for c in table.columns)).where(table.c.date.in_(days))
    for col, val in filters.items():
        q = q.where(table.c[col] == val)
    q = q.order_by(*table.primary_key.columns)
    return fetch_frame(conn, q, [c.name for c in table.columns])


def snapshot_dates_before(conn: Connection, table: Table, day: dt.date) -> set[str]:
    """Portfolio ids that have any row in ``table`` dated before ``day``."""
    q = select(table.c.portfolio_id).where(table.c.date < day).distinct()
    return {str(r[0]) for r in conn.execute(q)}
