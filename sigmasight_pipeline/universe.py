"""Which symbols the pipeline needs market data for (configuration, not calculation)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

#: Factor ETF proxies (SPEC §5.3) — Market = SPY; styles are spreads against SPY/VUG.
FACTOR_ETFS = ("SPY", "VTV", "VUG", "MTUM", "QUAL", "IWM", "USMV")
#: Indices and benchmarks always fetched.
BENCHMARKS = ("QQQ", "VIX")
#: Trading days of history the engines read (factor and IR windows: 150 returns; EWMA: 252).
HISTORY_SESSIONS = 253


def held_in_range(positions: pd.DataFrame, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Positions held at the close of at least one day in [start, end] (SPEC §5.1)."""
    if positions.empty:
        return positions
    entry = pd.to_datetime(positions["entry_date"])
    exit_ = pd.to_datetime(positions["exit_date"])
    expiry = pd.to_datetime(positions["expiration"])
    held = (entry <= pd.Timestamp(end)) & (exit_.isna() | (exit_ > pd.Timestamp(start)))
    held &= expiry.isna() | (expiry >= pd.Timestamp(start))
    return positions[held]


def price_symbols(positions: pd.DataFrame) -> list[str]:
    """Stocks, ETFs and funds held, option underlyings, factor ETFs and benchmarks."""
    is_option = positions["option_type"].notna()
    held = set(positions.loc[~is_option, "symbol"]) | set(
        positions.loc[is_option, "underlying_symbol"])
    return sorted(held | set(FACTOR_ETFS) | set(BENCHMARKS))


def option_contracts(positions: pd.DataFrame, day: dt.date) -> pd.DataFrame:
    """Distinct option contracts held on ``day``: symbol, underlying, strike, expiration, type."""
    held = held_in_range(positions, day, day)
    opts = held[held["option_type"].notna()]
    return (opts.rename(columns={"underlying_symbol": "underlying"})
            [["symbol", "underlying", "strike", "expiration", "option_type"]]
            .drop_duplicates("symbol").reset_index(drop=True))
