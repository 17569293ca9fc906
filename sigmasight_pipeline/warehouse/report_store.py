"""Reading what the reports need: every table for one day or a chunk of consecutive days
(all portfolios at once, one query per table for all the days) plus the snapshot and
exposure history of the charts; and the ``reports`` table itself."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
from sqlalchemy import Table, func, select
from sqlalchemy.engine import Connection, Engine

from ..calendar import sessions_back
from ..reports.document import PAIR_TIE_MARGIN, TOP_PAIRS
from ..reports.inputs import OPTIONAL_TABLES, ReportInputs
from . import tables as t
from .engine_store import read_days, read_each_day, rows_by_day
from .fetch import fetch_rows, frame_of, uuid_as_text
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


class _Window:
    """The rows of ``table`` dated ``first`` … ``last`` (and matching ``where``), read in
    one query; :meth:`frame` gives the rows of a sub-window as a DataFrame built from
    those rows alone, the frame a query of that sub-window returns (same rows, order and
    inferred dtypes): the days of a range share one read of their overlapping windows."""

    def __init__(self, conn: Connection, table: Table, first: dt.date, last: dt.date,
                 *where):
        # the binary-cursor reader (fetch_rows): 120,000 history rows for 2,000 portfolios
        # took longer as SQLAlchemy row mappings than every other table of the day together.
        # Primary-key order (date, portfolio_id, ...): ties of (date, portfolio_id) in a
        # many-rows-a-portfolio table come out in one order whatever the window
        self.names = [c.name for c in table.columns]
        q = (select(*(uuid_as_text(c) for c in table.columns))
             .where(table.c.date >= first, table.c.date <= last, *where)
             .order_by(*table.primary_key.columns))
        self.rows = fetch_rows(conn, q)
        at = self.names.index("date")
        self.dates = [row[at] for row in self.rows]  # ascending: the key starts with date

    def frame(self, first: dt.date, last: dt.date) -> pd.DataFrame:
        lo, hi = bisect_left(self.dates, first), bisect_right(self.dates, last)
        return frame_of(self.rows[lo:hi], self.names)


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
    return read_top_pairs_days(conn, [day], top, margin)[day]


def read_top_pairs_days(conn: Connection, days: Sequence[dt.date], top: int = TOP_PAIRS,
                        margin: float = PAIR_TIE_MARGIN) -> dict[dt.date, pd.DataFrame]:
    """:func:`read_top_pairs` of each of ``days``, from one query (each day ranked apart)."""
    days = sorted(set(days))
    pc = t.position_correlations
    strength = func.abs(pc.c.correlation)
    by_portfolio = {"partition_by": (pc.c.date, pc.c.portfolio_id)}
    ranked = (select(*pc.columns, strength.label("strength"),
                     func.row_number().over(**by_portfolio, order_by=(
                         strength.desc(), pc.c.symbol_a, pc.c.symbol_b)).label("rank"),
                     func.count().over(**by_portfolio).label("pair_count"))
              .where(pc.c.date.in_(days), pc.c.symbol_a != pc.c.symbol_b)
              .subquery())
    floor = (select(ranked.c.date, ranked.c.portfolio_id,
                    func.min(ranked.c.strength).label("floor"))
             .where(ranked.c["rank"] <= top)
             .group_by(ranked.c.date, ranked.c.portfolio_id).subquery())
    names = [c.name for c in pc.columns]
    q = (select(*(uuid_as_text(ranked.c[n]) for n in names), ranked.c.pair_count)
         .join_from(ranked, floor, (ranked.c.date == floor.c.date)
                    & (ranked.c.portfolio_id == floor.c.portfolio_id))
         .where(ranked.c.strength >= floor.c.floor - margin)
         .order_by(*(ranked.c[c.name] for c in pc.primary_key.columns)))
    columns = [*names, "pair_count"]
    per_day = rows_by_day(fetch_rows(conn, q), columns.index("date"), days)
    return {day: frame_of(rows, columns) for day, rows in per_day.items()}


def _top_pairs_apart(engine: Engine, days: list[dt.date]) -> dict[dt.date, pd.DataFrame]:
    with engine.connect() as conn:
        return read_top_pairs_days(conn, days)


def read_securities(conn: Connection) -> pd.DataFrame:
    cols = ["symbol", "name", "asset_class", "sector", "industry"]
    q = select(*(t.securities.c[c] for c in cols)).order_by(t.securities.c.symbol)
    return pd.DataFrame(conn.execute(q).mappings().all(), columns=cols)


def read_report_inputs(conn: Connection, day: dt.date,
                       history_days: int = HISTORY_DAYS) -> ReportInputs:
    """Everything the reports of ``day`` show, for every portfolio
    (:func:`read_report_days` of that one day)."""
    return read_report_days(conn, [day], history_days)[day]


def read_report_days(conn: Connection, days: Sequence[dt.date],
                     history_days: int = HISTORY_DAYS) -> dict[dt.date, ReportInputs]:
    """Everything the reports of each of ``days`` show, for every portfolio: one query per
    table for all the days (their chart and attribution windows overlap: a year-day's
    60-day history was read 60 times over in a range). Each day's inputs are what a read
    of that day alone gives (frames built from the day's own rows; the book-wide frames
    copied per day). Memory is every day's rows at once: the caller sizes ``days``.

    The strongest correlation pairs are ranked by the server (a window over 2.4 M rows a
    day at 2,000 portfolios, ~1 s of its CPU) on a second connection of ``conn``'s engine,
    while this thread reads and decodes the other tables. That connection has its own
    transaction: call this on committed rows (an uncommitted write of ``conn`` is not seen
    by the pairs' query).
    """
    from ..reports.risk_ii_section import ATTRIBUTION_DAYS, BACKTEST_CONFIDENCE

    days = sorted(set(days))
    with ThreadPoolExecutor(1) as background:
        pairs = background.submit(_top_pairs_apart, conn.engine, days)
        day_tables = {name: read_each_day(conn, getattr(t, name), days) for name in _DAY_TABLES
                      if name != "position_correlations"}
        positions = read_positions(conn)
        day_tables["position_correlations"] = pairs.result()
    windows = {day: sessions_back(day, history_days) or [day] for day in days}
    recent = {day: sessions_back(day, ATTRIBUTION_DAYS) or [day] for day in days}
    # the VaR of the session before each window's first day (the backtest panel's first point)
    before = {day: sessions_back(windows[day][0], 2)[0] for day in days}
    first, last = min(w[0] for w in windows.values()), days[-1]
    history = _Window(conn, t.portfolio_snapshots, first, last)
    exposures = _Window(conn, t.portfolio_exposures, first, last)
    only_days = {name: read_each_day(conn, getattr(t, name), days)
                 for name in ("var_backtests", "portfolio_performance", "portfolio_volatility")}
    attribution = _Window(conn, t.pnl_attribution, min(r[0] for r in recent.values()), last)
    # the 1-day VaR at the backtest's confidence only, selected by the server: all 12
    # (method, confidence, horizon) rows of 61 days were half of a year-day's read
    var = t.portfolio_var.c
    var_history = _Window(conn, t.portfolio_var, min(before.values()), last,
                          var.horizon_days == 1,
                          func.abs(var.confidence - BACKTEST_CONFIDENCE) < 1e-9)
    book = {"portfolios": read_portfolios(conn).assign(
                portfolio_id=lambda f: f["portfolio_id"].astype(str)),
            "positions": positions, "tags": read_tags(conn), "securities": read_securities(conn)}
    out = {}
    for i, day in enumerate(days):
        day_history = history.frame(windows[day][0], day)
        risk_ii = {name: frames[day] for name, frames in only_days.items()}
        risk_ii["pnl_attribution"] = attribution.frame(recent[day][0], day)
        risk_ii["var_history"] = var_history.frame(before[day], day)
        risk_ii["history"] = day_history
        out[day] = ReportInputs(
            day=day,
            **{name: frame if i == 0 else frame.copy() for name, frame in book.items()},
            tables={name: frames[day] for name, frames in day_tables.items()},
            history=day_history,
            exposure_history=exposures.frame(windows[day][0], day),
            risk_ii=risk_ii,
        )
    return out


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
