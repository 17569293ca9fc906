"""Reading engine results back (one table, some days), ids as strings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd
from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.engine import Connection


def read_days(conn: Connection, table: Table, days: Sequence[dt.date] | dt.date,
              **filters) -> pd.DataFrame:
    """Rows of ``table`` whose date is in ``days`` (and columns equal ``filters``)."""
    days = [days] if isinstance(days, dt.date) else list(days)
    # primary-key order: engines that sum floats get the same rows in the same order
    # whether a day is read alone or within a range (plans and heap order vary)
    q = select(table).where(table.c.date.in_(days)).order_by(*table.primary_key.columns)
    for col, val in filters.items():
        q = q.where(table.c[col] == val)
    frame = pd.DataFrame(conn.execute(q).mappings().all(), columns=[c.name for c in table.columns])
    for col in table.columns:
        if isinstance(col.type, UUID):
            frame[col.name] = frame[col.name].map(lambda v: None if v is None else str(v))
    return frame


def snapshot_dates_before(conn: Connection, table: Table, day: dt.date) -> set[str]:
    """Portfolio ids that have any row in ``table`` dated before ``day``."""
    q = select(table.c.portfolio_id).where(table.c.date < day).distinct()
    return {str(r[0]) for r in conn.execute(q)}
