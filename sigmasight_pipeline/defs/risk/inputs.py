"""Loading engine inputs for a range of trading days (one read per range, not per day)."""

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy.engine import Connection

from ...calendar import all_sessions, sessions_back
from ...engines.prices import resolve_closes
from ...warehouse.market_data_store import read_prices
from ...warehouse.positions_store import read_positions

#: sessions of price history loaded before the first day: 30-day vol needs 31 closes,
#: staleness looks 5 sessions back
PRICE_LOOKBACK_SESSIONS = 40


@dataclass
class RangeInputs:
    days: list[dt.date]
    positions: pd.DataFrame  # every position, open and closed
    prices: pd.DataFrame  # symbol, date, close, adj_close, source

    def closes(self, day: dt.date, symbols=None) -> pd.DataFrame:
        """resolve_closes on ``day``: the close or one up to 5 sessions old (stale)."""
        history = self.prices[self.prices["date"] <= day]
        return resolve_closes(history, symbols, day, all_sessions())

    def adj_close_wide(self, day: dt.date) -> pd.DataFrame:
        """adj_close, dates × symbols, up to ``day``."""
        upto = self.prices[self.prices["date"] <= day]
        return upto.pivot(index="date", columns="symbol", values="adj_close").sort_index()

    def data_source(self, day: dt.date) -> str:
        src = sorted(self.prices.loc[self.prices["date"] == day, "source"].dropna().unique())
        return "+".join(src) if src else "none"


def load_range(conn: Connection, days: list[dt.date]) -> RangeInputs:
    start = sessions_back(days[0], PRICE_LOOKBACK_SESSIONS + 1)[0]
    return RangeInputs(days=days, positions=read_positions(conn),
                       prices=read_prices(conn, None, start, days[-1]))
