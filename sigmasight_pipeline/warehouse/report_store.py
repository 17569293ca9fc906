"""Reading what the reports need: every table for one day (all portfolios at once, one
query per table) plus the snapshot and exposure history of the charts; and the
``reports`` table itself."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
from sqlalchemy import Table, func, select
from sqlalchemy.engine import Connection, Engine

from ..calendar import sessions_back
from ..reports.document import PAIR_TIE_MARGIN, TOP_PAIRS
from ..reports.inputs import OPTIONAL_TABLES, ReportInputs
from . import tables as t
from .engine_store import read_days
from .fetch import fetch_frame, uuid_as_text
from .positions_store import read_portfolios, read_positions, read_tags

#: the trading days of history read for the charts (the Markdown shows the last 30)
HISTORY_DAYS = 60

_DAY_TABLES = (
    "position_values",
    "position_greeks",
    "portfolio_exposures",
    "tag_exposures",
    "portfolio_snapshots",
    "data_quality_issues",
    *OPTIONAL_TABLES,
)


def _read_window(conn: Connection, table: Table, first: dt.date, last: dt.date,
                 *where) -> pd.DataFrame:
    """The rows of ``table`` dated ``first`` … ``last`` (and matching ``where``)."""
    # the binary-cursor reader (fetch_frame): 120,000 history rows for 2,000 portfolios took
    # longer as SQLAlchemy row mappings than every other table of the day together
    q = (select(*(uuid_as_text(c) for c in table.columns))
         .where(table.c.date >= first, table.c.date <= last, *where)
         .order_by(table.c.date, table.c.portfolio_id))
    return fetch_frame(conn, q, [c.name for c in table.columns])


def read_top_pairs(conn: Connection, day: dt.date, top: int = TOP_PAIRS,
                   margin: float = PAIR_TIE_MARGIN) -> pd.DataFrame:
    """The position_correlations rows of ``day`` a report can list among its ``top``
    strongest pairs, plus ``pair_count``: each portfolio's number of pairs (self-pairs left
    out, as the report does). Filtered in PostgreSQL, in primary-key order: the whole table
    is ~1,200 pairs a portfolio (2.4 M rows a day for 2,000 portfolios), the report shows 10.

    Kept: every pair whose |correlation| is within ``margin`` of the ``top``-th strongest.
    The report ranks by the correlation rounded to 6 decimals (ties by symbols), which can
    move a pair by 5e-7 either way: a pair of its top 10 is never more than 1e-6 below the
    10th strongest unrounded, so the report picks the same pairs from these rows as from
    the whole table."""
    pc = t.position_correlations
    strength = func.abs(pc.c.correlation)
    by_portfolio = {"partition_by": pc.c.portfolio_id}
    ranked = (select(*pc.columns, strength.label("strength"),
                     func.row_number().over(**by_portfolio, order_by=(
                         strength.desc(), pc.c.symbol_a, pc.c.symbol_b)).label("rank"),
                     func.count().over(**by_portfolio).label("pair_count"))
              .where(pc.c.date == day, pc.c.symbol_a != pc.c.symbol_b)
              .subquery())
    floor = (select(ranked.c.portfolio_id, func.min(ranked.c.strength).label("floor"))
             .where(ranked.c["rank"] <= top).group_by(ranked.c.portfolio_id).subquery())
    names = [c.name for c in pc.columns]
    q = (select(*(uuid_as_text(ranked.c[n]) for n in names), ranked.c.pair_count)
         .join_from(ranked, floor, ranked.c.portfolio_id == floor.c.portfolio_id)
         .where(ranked.c.strength >= floor.c.floor - margin)
         .order_by(*(ranked.c[c.name] for c in pc.primary_key.columns)))
    return fetch_frame(conn, q, [*names, "pair_count"])


def _top_pairs_apart(engine: Engine, day: dt.date) -> pd.DataFrame:
    with engine.connect() as conn:
        return read_top_pairs(conn, day)


def read_securities(conn: Connection) -> pd.DataFrame:
    cols = ["symbol", "name", "asset_class", "sector", "industry"]
    q = select(*(t.securities.c[c] for c in cols)).order_by(t.securities.c.symbol)
    return pd.DataFrame(conn.execute(q).mappings().all(), columns=cols)


def read_report_inputs(conn: Connection, day: dt.date,
                       history_days: int = HISTORY_DAYS) -> ReportInputs:
    """Everything the reports of ``day`` show, for every portfolio.

    The strongest correlation pairs are ranked by the server (a window over 2.4 M rows a
    day at 2,000 portfolios, ~1 s of its CPU) on a second connection of ``conn``'s engine,
    while this thread reads and decodes the other tables. That connection has its own
    transaction: call this on committed rows (an uncommitted write of ``conn`` is not seen
    by the pairs' query).
    """
    with ThreadPoolExecutor(1) as background:
        pairs = background.submit(_top_pairs_apart, conn.engine, day)
        frames = {name: read_days(conn, getattr(t, name), day) for name in _DAY_TABLES
                  if name != "position_correlations"}
        positions = read_positions(conn)
        frames["position_correlations"] = pairs.result()
    window = sessions_back(day, history_days) or [day]
    history = _read_window(conn, t.portfolio_snapshots, window[0], day)
    return ReportInputs(
        day=day,
        portfolios=read_portfolios(conn).assign(
            portfolio_id=lambda f: f["portfolio_id"].astype(str)),
        positions=positions,
        tags=read_tags(conn),
        securities=read_securities(conn),
        tables=frames,
        history=history,
        exposure_history=_read_window(conn, t.portfolio_exposures, window[0], day),
        risk_ii=read_risk_ii_inputs(conn, day, window, history),
    )


def read_risk_ii_inputs(conn: Connection, day: dt.date, window: list[dt.date],
                        history: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The rows of the Backtest, P&L attribution and Performance sections (SPEC §7.6-7.8)."""
    from ..reports.risk_ii_section import ATTRIBUTION_DAYS, BACKTEST_CONFIDENCE

    frames = {name: _read_window(conn, getattr(t, name), day, day)
              for name in ("var_backtests", "portfolio_performance", "portfolio_volatility")}
    recent = sessions_back(day, ATTRIBUTION_DAYS) or [day]
    frames["pnl_attribution"] = _read_window(conn, t.pnl_attribution, recent[0], day)
    before = sessions_back(window[0], 2)[0]  # the VaR of the session before the first day
    # the 1-day VaR at the backtest's confidence only, selected by the server: all 12
    # (method, confidence, horizon) rows of 61 days were half of a year-day's read
    var = t.portfolio_var.c
    frames["var_history"] = _read_window(
        conn, t.portfolio_var, before, day, var.horizon_days == 1,
        func.abs(var.confidence - BACKTEST_CONFIDENCE) < 1e-9)
    frames["history"] = history
    return frames


def find_portfolio(conn: Connection, name: str) -> dict | None:
    """The portfolio called ``name`` (portfolio_id as a string), or None."""
    ports = read_portfolios(conn)
    hit = ports[ports["name"] == name]
    if hit.empty:
        return None
    row = hit.iloc[0].to_dict()
    row["portfolio_id"] = str(row["portfolio_id"])
    return row


def portfolio_names(conn: Connection) -> list[str]:
    return read_portfolios(conn)["name"].tolist()


def read_report_rows(conn: Connection, day: dt.date,
                     portfolio_id: str | None = None) -> pd.DataFrame:
    """Rows of ``sigmasight.reports`` for ``day`` (optionally one portfolio)."""
    filters = {"portfolio_id": portfolio_id} if portfolio_id else {}
    return read_days(conn, t.reports, day, **filters)
