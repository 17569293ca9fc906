"""Reading what the reports need: every table for one day (all portfolios at once, one
query per table) plus the snapshot and exposure history of the charts; and the
``reports`` table itself."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Table, select
from sqlalchemy.engine import Connection

from ..calendar import sessions_back
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


def read_report_inputs(conn: Connection, day: dt.date,
                       history_days: int = HISTORY_DAYS) -> ReportInputs:
    """Everything the reports of ``day`` show, for every portfolio."""
    frames = {name: read_days(conn, getattr(t, name), day) for name in _DAY_TABLES}
    window = sessions_back(day, history_days) or [day]
    return ReportInputs(
        day=day,
        portfolios=read_portfolios(conn).assign(
            portfolio_id=lambda f: f["portfolio_id"].astype(str)),
        positions=read_positions(conn),
        tags=read_tags(conn),
        securities=read_securities(conn),
        tables=frames,
        history=_read_window(conn, t.portfolio_snapshots, window[0], day),
        exposure_history=_read_window(conn, t.portfolio_exposures, window[0], day),
    )


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
