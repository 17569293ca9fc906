"""Reading what the reports need: every table for one day (all portfolios at once, one
query per table) plus the snapshot and exposure history of the charts; and the
``reports`` table itself."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Table, select
from sqlalchemy.engine import Connection

from ..calendar import sessions_back
from ..engines.activity import is_option
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


def _read_window(conn: Connection, table: Table, first: dt.date, last: dt.date) -> pd.DataFrame:
    # the binary-cursor reader (fetch_frame): 120,000 history rows for 2,000 portfolios took
    # longer as SQLAlchemy row mappings than every other table of the day together
    q = (select(*(uuid_as_text(c) for c in table.columns))
         .where(table.c.date >= first, table.c.date <= last)
         .order_by(table.c.date, table.c.portfolio_id))
    return fetch_frame(conn, q, [c.name for c in table.columns])


def read_securities(conn: Connection) -> pd.DataFrame:
    cols = ["symbol", "name", "asset_class", "sector", "industry"]
    q = select(*(t.securities.c[c] for c in cols)).order_by(t.securities.c.symbol)
    return pd.DataFrame(conn.execute(q).mappings().all(), columns=cols)


#: per-position views (SPEC §7.1) → the security table they join, read and joined here
_SECURITY_VIEWS = {
    "position_factor_exposures": t.security_factor_exposures,
    "position_interest_rate_betas": t.security_rate_betas,
}


def _position_rows(view: Table, security: pd.DataFrame, values: pd.DataFrame,
                   positions: pd.DataFrame) -> pd.DataFrame:
    """The rows of a per-position view, joined in memory: each valued position to the
    security rows of its beta symbol (an option's underlying, a stock itself)."""
    option = is_option(positions["position_type"])
    symbols = pd.DataFrame({"position_id": positions["position_id"].astype(str),
                            "symbol": positions["underlying_symbol"].where(
                                option, positions["symbol"])})
    held = values[["date", "position_id"]].merge(symbols, on="position_id")
    rows = held.merge(security.drop(columns="date"), on="symbol")
    return rows.reindex(columns=[c.name for c in view.columns])


def read_report_inputs(conn: Connection, day: dt.date,
                       history_days: int = HISTORY_DAYS) -> ReportInputs:
    """Everything the reports of ``day`` show, for every portfolio."""
    frames = {name: read_days(conn, getattr(t, name), day) for name in _DAY_TABLES
              if name not in _SECURITY_VIEWS}
    positions = read_positions(conn)
    for name, security in _SECURITY_VIEWS.items():
        frames[name] = _position_rows(getattr(t, name), read_days(conn, security, day),
                                      frames["position_values"], positions)
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
    var = _read_window(conn, t.portfolio_var, before, day)
    frames["var_history"] = var[(var["horizon_days"] == 1)
                                & ((var["confidence"] - BACKTEST_CONFIDENCE).abs() < 1e-9)]
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
