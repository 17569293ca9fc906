"""Reading market data back from the warehouse (long frames, dates as datetime.date)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from .fetch import fetch_frame
from .tables import market_prices, option_quotes, securities, treasury_yields


def _frame(conn: Connection, query, columns: Sequence[str]) -> pd.DataFrame:
    return fetch_frame(conn, query, columns)


def read_prices(conn: Connection, symbols: Sequence[str] | None, start: dt.date, end: dt.date,
                columns: Sequence[str] = ("symbol", "date", "close", "adj_close", "source"),
                ) -> pd.DataFrame:
    """Daily prices in [start, end] (all symbols when ``symbols`` is None)."""
    q = select(*(market_prices.c[c] for c in columns)).where(
        market_prices.c.date.between(start, end))
    if symbols is not None:
        q = q.where(market_prices.c.symbol.in_(list(symbols)))
    return _frame(conn, q.order_by(market_prices.c.symbol, market_prices.c.date), columns)


def price_counts(conn: Connection, symbols: Sequence[str], start: dt.date, end: dt.date
                 ) -> pd.Series:
    """Rows per symbol in [start, end] (0 for symbols without any)."""
    q = (select(market_prices.c.symbol, func.count())
         .where(market_prices.c.symbol.in_(list(symbols)),
                market_prices.c.date.between(start, end))
         .group_by(market_prices.c.symbol))
    counts = dict(conn.execute(q).all())
    return pd.Series({s: counts.get(s, 0) for s in symbols}, dtype="int64")


def first_price_date(conn: Connection, symbols: Sequence[str]) -> dt.date | None:
    """The earliest stored price date among ``symbols``."""
    q = select(func.min(market_prices.c.date)).where(market_prices.c.symbol.in_(list(symbols)))
    return conn.execute(q).scalar_one()


def read_option_quotes(conn: Connection, day: dt.date) -> pd.DataFrame:
    cols = ("symbol", "date", "underlying", "bid", "ask", "last", "implied_vol", "source")
    q = select(*(option_quotes.c[c] for c in cols)).where(option_quotes.c.date == day)
    return _frame(conn, q, cols)


def read_yields(conn: Connection, series_id: str, start: dt.date, end: dt.date) -> pd.DataFrame:
    cols = ("series_id", "date", "value", "source")
    q = (select(*(treasury_yields.c[c] for c in cols))
         .where(treasury_yields.c.series_id == series_id,
                treasury_yields.c.date.between(start, end))
         .order_by(treasury_yields.c.date))
    return _frame(conn, q, cols)


def yield_on(conn: Connection, series_id: str, day: dt.date, max_days_back: int = 10
             ) -> tuple[float, dt.date] | None:
    """(value in percent, its date): the value of ``day`` or the latest earlier one."""
    q = (select(treasury_yields.c.value, treasury_yields.c.date)
         .where(treasury_yields.c.series_id == series_id,
                treasury_yields.c.date <= day,
                treasury_yields.c.date >= day - dt.timedelta(days=max_days_back))
         .order_by(treasury_yields.c.date.desc()).limit(1))
    row = conn.execute(q).first()
    return (row[0], row[1]) if row else None


def read_securities(conn: Connection) -> pd.DataFrame:
    cols = ("symbol", "name", "asset_class", "sector", "industry")
    return _frame(conn, select(*(securities.c[c] for c in cols)), cols)


def read_corporate_actions(conn: Connection, symbols: Sequence[str] | None = None,
                           end: dt.date | None = None) -> pd.DataFrame:
    """Corporate actions (SPEC §8) with ex_date ≤ ``end`` (all when None), by symbol, ex_date."""
    from .tables import corporate_actions

    cols = ("symbol", "ex_date", "action", "ratio", "cash_amount", "source")
    q = select(*(corporate_actions.c[c] for c in cols))
    if symbols is not None:
        q = q.where(corporate_actions.c.symbol.in_(list(symbols)))
    if end is not None:
        q = q.where(corporate_actions.c.ex_date <= end)
    return _frame(conn, q.order_by(corporate_actions.c.symbol, corporate_actions.c.ex_date),
                  cols)
