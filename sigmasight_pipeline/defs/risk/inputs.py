"""Loading engine inputs for a range of trading days (one read per range, not per day)."""

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy.engine import Connection

from ...calendar import session_days, sessions_back
from ...engines.activity import active_positions, is_option, to_timestamps
from ...engines.corporate_actions import effective_positions
from ...engines.prices import MAX_STALE_SESSIONS, resolve_closes
from ...warehouse.market_data_store import read_corporate_actions, read_prices
from ...warehouse.positions_store import POSITION_COLUMNS, read_positions

#: sessions of price history loaded before the first day: 30-day vol needs 31 closes,
#: staleness looks 5 sessions back
PRICE_LOOKBACK_SESSIONS = 40


@dataclass
class RangeInputs:
    days: list[dt.date]
    positions: pd.DataFrame  # every position, open and closed
    prices: pd.DataFrame  # symbol, date, close, adj_close, source
    #: corporate actions up to the last day (SPEC §8): symbol, ex_date, action, ratio, ...
    actions: pd.DataFrame | None = None
    _wide: pd.DataFrame | None = field(default=None, repr=False)
    _by_date: tuple[pd.DataFrame, np.ndarray] | None = field(default=None, repr=False)
    #: the last few days' resolve_closes results (an asset asks for t and t−1 every day)
    _closes: dict = field(default_factory=dict, repr=False)
    _effective: dict = field(default_factory=dict, repr=False)

    def _between(self, first: dt.date, last: dt.date) -> pd.DataFrame:
        """The price rows dated in [first, last] (a slice of one date-sorted copy)."""
        if self._by_date is None:
            ordered = self.prices.sort_values("date", kind="mergesort")
            dates = pd.to_datetime(ordered["date"]).to_numpy(dtype="datetime64[D]")
            # dates as datetime64 once: resolve_closes converts them per call otherwise
            ordered = ordered.assign(date=to_timestamps(ordered["date"]))
            self._by_date = (ordered, dates)
        ordered, dates = self._by_date
        lo = np.searchsorted(dates, np.datetime64(first, "D"), side="left")
        hi = np.searchsorted(dates, np.datetime64(last, "D"), side="right")
        return ordered.iloc[lo:hi]

    def positions_on(self, day: dt.date) -> pd.DataFrame:
        """Every position on its terms of ``day`` (SPEC §8): quantity × split factor, entry
        price and strike ÷ it, columns ``split_factor`` and ``stated_quantity`` added."""
        if day not in self._effective:
            self._effective.clear()  # one day at a time: memory stays one book
            self._effective[day] = effective_positions(self.positions, self.actions, day)
        return self._effective[day].copy()

    def held(self, day: dt.date) -> pd.DataFrame:
        """The positions held at the close of ``day`` (SPEC §5.1), on that day's terms."""
        return active_positions(self.positions_on(day), day)

    def closes(self, day: dt.date, symbols=None) -> pd.DataFrame:
        """resolve_closes on ``day``: the close or one up to 5 sessions old (stale)."""
        # only the rows a stale close can come from: a range run then costs the same per
        # day as a single day (it filtered the whole range's history for every day)
        key = (day, None if symbols is None else tuple(symbols))
        if key not in self._closes:
            if len(self._closes) >= 4:  # bounded: a range run walks the days in order
                self._closes.pop(next(iter(self._closes)))
            oldest = sessions_back(day, MAX_STALE_SESSIONS + 2)[0]
            wanted = None if key[1] is None else list(key[1])  # symbols may be an iterator
            self._closes[key] = resolve_closes(self._between(oldest, day), wanted, day,
                                               session_days())
        return self._closes[key].copy()

    def adj_close_wide(self, day: dt.date | None = None) -> pd.DataFrame:
        """adj_close, dates × symbols, up to ``day`` (all loaded dates when None)."""
        if self._wide is None:  # one pivot per range
            self._wide = self.prices.pivot(index="date", columns="symbol",
                                           values="adj_close").sort_index()
        return self._wide if day is None else self._wide.loc[self._wide.index <= day]

    def data_source(self, day: dt.date) -> str:
        src = sorted(self._between(day, day)["source"].dropna().unique())
        return "+".join(src) if src else "none"


#: the price columns RangeInputs uses (closes and staleness, adj_close returns, data source)
PRICE_COLUMNS = ("symbol", "date", "close", "adj_close", "source")
#: what the return-history assets need of the prices (a year of 1,000 symbols is 250,000 rows)
ADJ_CLOSE_COLUMNS = ("symbol", "date", "adj_close")


def load_range(conn: Connection, days: list[dt.date],
               lookback: int = PRICE_LOOKBACK_SESSIONS, symbols=None,
               price_columns=PRICE_COLUMNS, position_columns=POSITION_COLUMNS) -> RangeInputs:
    """Positions and the prices of ``lookback`` sessions before the first day to the last.

    With ``symbols``, only their prices and corporate actions and no positions (an empty
    frame): what the factor assets need of the proxy ETFs, without reading a large book.
    ``price_columns``: :data:`ADJ_CLOSE_COLUMNS` for an asset that only needs
    :meth:`RangeInputs.adj_close_wide` (closes and data sources then need the others);
    ``position_columns``: e.g. :data:`BETA_SYMBOL_COLUMNS` for an asset that only needs
    :func:`beta_symbols` of the book (split-adjusted positions need them all).
    """
    start = sessions_back(days[0], lookback + 1)[0]
    wanted = None if symbols is None else sorted(set(symbols))
    return RangeInputs(days=days,
                       positions=(read_positions(conn, columns=position_columns)
                                  if wanted is None else pd.DataFrame()),
                       prices=read_prices(conn, wanted, start, days[-1], price_columns),
                       actions=read_corporate_actions(conn, wanted, end=days[-1]))


def beta_symbols(positions: pd.DataFrame) -> pd.DataFrame:
    """position_id → beta_symbol: options take their underlying's betas, others their own."""
    option = is_option(positions["position_type"])
    return pd.DataFrame({"position_id": positions["position_id"],
                         "beta_symbol": positions["underlying_symbol"].where(
                             option, positions["symbol"])})
