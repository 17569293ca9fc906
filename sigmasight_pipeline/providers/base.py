"""The market-data provider interface and the frame shapes every provider returns.

A provider answers four questions for a range of dates. It never touches the warehouse
or Dagster: it returns pandas DataFrames with exactly the columns below (extra columns
are dropped by the caller) and one ``source`` value naming itself.

Symbols the provider does not know are simply absent from the result; the caller turns
each absence into a ``data_quality_issues`` row (code ``unknown_symbol`` or
``missing_price``). A provider that cannot be reached, or refuses the credentials, raises
:class:`ProviderError` (with a message that never contains a key), so that the Dagster
asset fails and its RetryPolicy retries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import pandas as pd

#: date (datetime.date), symbol, OHLC and adj_close in $ per share, volume in shares.
PRICE_COLUMNS = ["date", "symbol", "open", "high", "low", "close", "adj_close", "volume", "source"]
#: OCC symbol; bid/ask/last in $ per share (not ×100); implied_vol decimal (0.25 = 25 %).
OPTION_QUOTE_COLUMNS = [
    "date", "symbol", "underlying", "bid", "ask", "last", "implied_vol", "open_interest", "source",
]
#: FRED series id (DGS3MO, DGS2, DGS10, DGS30); value in percent, as FRED publishes it.
YIELD_COLUMNS = ["date", "series_id", "value", "source"]
#: asset_class in {equity, etf, mutual_fund, index, option}.
SECURITY_COLUMNS = ["symbol", "name", "asset_class", "sector", "industry", "source"]
#: The option contracts a caller asks quotes for.
CONTRACT_COLUMNS = ["symbol", "underlying", "strike", "expiration", "option_type"]
#: SPEC §8: action ∈ {split, dividend}; ratio = new shares per old share (splits);
#: cash_amount in $ per share (dividends); ex_date a datetime.date.
CORPORATE_ACTION_COLUMNS = ["symbol", "ex_date", "action", "ratio", "cash_amount", "source"]

TREASURY_SERIES = ("DGS3MO", "DGS2", "DGS10", "DGS30")


class ProviderError(RuntimeError):
    """The provider could not answer (outage, exhausted retries, bad credentials).

    Messages name the provider, the request and what to do; never an API key.
    """


class ProviderUnreachable(ProviderError):
    """The provider's host cannot be reached at all (name resolution failed, connection
    refused): no retry helps, so the run fails at once with one message naming the host and
    the setting that chose it."""


class ProviderDataError(ValueError):
    """The provider's data is malformed (e.g. a bad line in a market-data file).

    Messages name the file, line and column where that applies.
    """


@runtime_checkable
class MarketDataProvider(Protocol):
    #: the value written to every row's ``source`` column
    source: str

    def prices(self, symbols: Sequence[str], start: dt.date, end: dt.date) -> pd.DataFrame:
        """Daily bars for ``symbols`` on trading days in [start, end] (PRICE_COLUMNS)."""
        ...

    def option_quotes(self, contracts: pd.DataFrame, day: dt.date) -> pd.DataFrame:
        """End-of-day quotes on ``day`` for the contracts (CONTRACT_COLUMNS) given."""
        ...

    def treasury_yields(
        self, series_ids: Sequence[str], start: dt.date, end: dt.date
    ) -> pd.DataFrame:
        """Treasury constant-maturity yields in percent (YIELD_COLUMNS)."""
        ...

    def securities(self, symbols: Sequence[str]) -> pd.DataFrame:
        """Reference data for ``symbols`` (SECURITY_COLUMNS)."""
        ...

    def corporate_actions(self, symbols: Sequence[str], start: dt.date, end: dt.date
                          ) -> pd.DataFrame:
        """Splits and dividends with ex_date in [start, end] (CORPORATE_ACTION_COLUMNS)."""
        ...


def empty_frame(columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
