"""Sector exposures of a trading day (SPEC §7.9 ``sector_exposures``).

Every valued position counts under exactly one sector, so the sectors of a portfolio
partition its gross exposure (Σ_sectors gross = portfolio gross_exposure):

- the sector of the position's *underlying* from ``securities.sector`` (an option counts
  under its underlying's sector; a stock, ETF or fund under its own symbol's);
- an underlying without a sector whose ``asset_class`` is ``etf`` counts under ``ETF``, a
  ``mutual_fund`` under ``Mutual fund``;
- anything else without a sector (no securities row, an index such as VIX, an equity the
  provider could not classify) counts under ``(unclassified)``, never dropped.

Dollars, signed delta-adjusted exposure as in ``position_values`` (SPEC §4): long = Σ
max(e, 0), short = Σ min(e, 0) ≤ 0, gross = Σ |e|, net = Σ e. ``pct_of_gross`` is in
percent (0-100): 100 × sector gross / portfolio gross (NULL when the portfolio's gross is 0).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .activity import is_option

SECTOR_EXPOSURE_COLUMNS = ["portfolio_id", "sector", "gross_exposure", "net_exposure",
                           "long_exposure", "short_exposure", "pct_of_gross", "position_count"]
#: the bucket of underlyings with no sector that are neither ETFs nor funds
UNCLASSIFIED = "(unclassified)"
#: the buckets of ETFs and mutual funds without a sector of their own
ETF_SECTOR = "ETF"
FUND_SECTOR = "Mutual fund"
_FUND_BUCKETS = {"etf": ETF_SECTOR, "mutual_fund": FUND_SECTOR}


def underlying_symbols(positions: pd.DataFrame) -> pd.Series:
    """The symbol whose sector and betas a position takes: an option's underlying, else its
    own symbol (indexed like ``positions``)."""
    option = is_option(positions["position_type"])
    return positions["underlying_symbol"].where(option, positions["symbol"])


def sector_of_symbols(symbols: pd.Series, securities: pd.DataFrame) -> pd.Series:
    """The sector bucket of each symbol (indexed like ``symbols``).

    ``securities`` needs symbol, asset_class, sector. Empty or whitespace sectors count as
    missing.
    """
    ref = securities.drop_duplicates("symbol").set_index("symbol")
    sector = symbols.map(ref["sector"]).astype(object)
    sector = sector.where(sector.notna() & (sector.astype(str).str.strip() != ""), None)
    fallback = symbols.map(ref["asset_class"]).map(_FUND_BUCKETS)
    return sector.fillna(fallback).fillna(UNCLASSIFIED).astype(object)


def position_sectors(positions: pd.DataFrame, securities: pd.DataFrame) -> pd.DataFrame:
    """position_id → underlying (the sector symbol) and sector bucket."""
    underlying = underlying_symbols(positions)
    return pd.DataFrame({"position_id": positions["position_id"].to_numpy(),
                         "underlying": underlying.to_numpy(object),
                         "sector": sector_of_symbols(underlying, securities).to_numpy(object)})


def sector_exposures(values: pd.DataFrame, positions: pd.DataFrame,
                     securities: pd.DataFrame) -> pd.DataFrame:
    """Per (portfolio, sector): gross, net, long, short exposure, % of gross, position count.

    ``values`` is one day of ``position_values`` (position_id, portfolio_id, exposure: only
    valued positions, as in ``portfolio_exposures``); ``positions`` the book (position_id,
    position_type, symbol, underlying_symbol); ``securities`` the reference data. Rows are
    sorted by portfolio_id, then gross exposure descending, then sector.
    """
    if values.empty:
        return pd.DataFrame(columns=SECTOR_EXPOSURE_COLUMNS)
    frame = values[["position_id", "portfolio_id", "exposure"]].merge(
        position_sectors(positions, securities)[["position_id", "sector"]],
        on="position_id", how="left")
    frame["sector"] = frame["sector"].fillna(UNCLASSIFIED)  # a position not in the book
    e = frame["exposure"].to_numpy(dtype=float)
    frame = frame.assign(gross_exposure=np.abs(e), net_exposure=e,
                         long_exposure=np.maximum(e, 0.0), short_exposure=np.minimum(e, 0.0),
                         position_count=1)
    out = frame.groupby(["portfolio_id", "sector"], as_index=False, sort=True)[
        ["gross_exposure", "net_exposure", "long_exposure", "short_exposure",
         "position_count"]].sum()
    portfolio_gross = out.groupby("portfolio_id")["gross_exposure"].transform("sum")
    out["pct_of_gross"] = (100.0 * out["gross_exposure"]
                           / portfolio_gross.where(portfolio_gross > 0))
    out["position_count"] = out["position_count"].astype("int64")
    out = out.sort_values(["portfolio_id", "gross_exposure", "sector"],
                          ascending=[True, False, True], ignore_index=True, kind="mergesort")
    return out[SECTOR_EXPOSURE_COLUMNS]
