"""Reading engine results back (one table, some days), ids as strings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd
from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import distinct_on
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


def last_values_before(conn: Connection, position_ids: Sequence[str], day: dt.date
                       ) -> pd.DataFrame:
    """Each position's latest ``position_values`` row dated before ``day`` with the
    adj_close of the price it used (position_id, date, price, price_date, market_value,
    split_factor, adj_close); for P&L over a stretch of days without a value."""
    from .tables import market_prices
    from .tables import position_values as pv

    columns = ["position_id", "date", "price", "price_date", "market_value", "split_factor",
               "adj_close"]
    if not position_ids:
        return pd.DataFrame(columns=columns)
    latest = (select(pv.c.position_id, pv.c.date, pv.c.symbol, pv.c.price, pv.c.price_date,
                     pv.c.market_value, pv.c.split_factor)
              .where(pv.c.position_id.in_(list(position_ids)), pv.c.date < day)
              .order_by(pv.c.position_id, pv.c.date.desc())
              .ext(distinct_on(pv.c.position_id)).subquery())
    q = (select(uuid_as_text(latest.c.position_id), latest.c.date, latest.c.price,
                latest.c.price_date, latest.c.market_value, latest.c.split_factor,
                market_prices.c.adj_close)
         .select_from(latest.outerjoin(market_prices, (market_prices.c.symbol == latest.c.symbol)
                                       & (market_prices.c.date == latest.c.price_date))))
    return fetch_frame(conn, q, columns)
