"""Effective positions after stock splits (SPEC §8).

Positions are stated as of their entry date. On trading day t a position's **split
factor** is Π ratio over the splits of its symbol (an option's: its underlying's) with
entry_date < ex_date ≤ t, where ratio = new shares per old share (2.0 for a 2-for-1, 0.1
for a 1-for-10 reverse split). The **effective position** on t has

* quantity × factor (stocks and options alike; an option's multiplier 100 is kept),
* entry_price / factor (so the cost basis quantity × multiplier × entry_price is unchanged),
* strike / factor (options).

Every engine values the effective position, so market value, exposure and unrealized P&L
are continuous across an ex-date except for the day's market move. Dividends change
nothing here: prices are raw closes and P&L runs on adjusted closes (SPEC §5.8).

Pure functions: DataFrames in, DataFrames out, vectorized over positions × splits.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from sigmasight_pipeline.engines.activity import as_float, is_option, to_timestamps

#: columns of a corporate-actions frame (the corporate_actions table minus nothing)
ACTION_COLUMNS = ["symbol", "ex_date", "action", "ratio", "cash_amount", "source"]
ACTIONS = ("split", "dividend")
#: a split that multiplies a held position's quantity by more than this (or divides it by
#: more) is recorded as a data-quality row: likely a vendor error, though it is applied
LARGE_SPLIT = 50.0


def _split_symbol(positions: pd.DataFrame) -> pd.Series:
    """The symbol whose splits apply: an option's underlying, else the position's symbol."""
    option = is_option(positions["position_type"])
    if "underlying_symbol" not in positions:
        return positions["symbol"]
    return positions["underlying_symbol"].where(option, positions["symbol"])


def split_factors(positions: pd.DataFrame, actions: pd.DataFrame | None,
                  as_of: dt.date) -> np.ndarray:
    """Split factor of each position on ``as_of`` (1.0 without splits), in row order.

    ``actions`` has symbol, ex_date, action, ratio; only ``action == 'split'`` rows with a
    positive ratio count. The product runs over splits with entry_date < ex_date ≤ as_of.
    """
    n = len(positions)
    if n == 0 or actions is None or actions.empty:
        return np.ones(n)
    splits = actions.loc[actions["action"] == "split"]
    ratio = as_float(splits["ratio"])
    keep = np.isfinite(ratio) & (ratio > 0)
    splits, ratio = splits.loc[keep], ratio[keep]
    ex = to_timestamps(splits["ex_date"]).to_numpy(dtype="datetime64[D]")
    day = np.datetime64(pd.Timestamp(as_of).date(), "D")
    due = ex <= day
    splits, ratio, ex = splits.loc[due], ratio[due], ex[due]
    if splits.empty:
        return np.ones(n)
    symbol = _split_symbol(positions).to_numpy(dtype=object)  # (n_positions,)
    entry = to_timestamps(positions["entry_date"]).to_numpy(dtype="datetime64[D]")
    split_symbol = splits["symbol"].to_numpy(dtype=object)  # (n_splits,)
    applies = (symbol[:, None] == split_symbol[None, :]) & (entry[:, None] < ex[None, :])
    # Π ratio over the applicable splits (n_positions × n_splits; 1 where a split does not apply)
    return np.where(applies, ratio[None, :], 1.0).prod(axis=1)


def effective_positions(positions: pd.DataFrame, actions: pd.DataFrame | None,
                        as_of: dt.date) -> pd.DataFrame:
    """The positions as held on ``as_of``: quantity × factor, entry_price and strike / factor.

    Adds ``split_factor`` and ``stated_quantity`` (the quantity as entered); every other
    column is kept. The result has the input's index.
    """
    factor = split_factors(positions, actions, as_of)
    out = positions.assign(stated_quantity=positions["quantity"], split_factor=factor)
    if (factor == 1.0).all():
        return out
    out["quantity"] = as_float(positions["quantity"]) * factor
    out["entry_price"] = as_float(positions["entry_price"]) / factor
    if "strike" in positions:
        out["strike"] = as_float(positions["strike"]) / factor
    return out


def large_split_issues(effective: pd.DataFrame, as_of: dt.date,
                       limit: float = LARGE_SPLIT) -> pd.DataFrame:
    """Data-quality rows for positions whose split factor on ``as_of`` exceeds ``limit``×.

    ``effective`` is :func:`effective_positions` output of the positions held on ``as_of``.
    """
    factor = effective["split_factor"].to_numpy(dtype=float)
    big = (factor > limit) | (factor < 1.0 / limit)
    rows = effective.loc[big]
    return pd.DataFrame({
        "position_id": rows["position_id"].to_numpy(dtype=object),
        "portfolio_id": rows["portfolio_id"].to_numpy(dtype=object),
        "symbol": rows["symbol"].to_numpy(dtype=object),
        "code": "large_split",
        "severity": "warning",
        "message": [
            f"splits since entry change {sym}'s quantity by a factor of {f:g} on {as_of} "
            f"(from {q:g} to {q * f:g} shares; more than {limit:g}×) in portfolio {pf}, position "
            f"{pid}: check the corporate actions; the split is applied"
            for sym, f, q, pf, pid in zip(rows["symbol"], factor[big],
                                          as_float(rows["stated_quantity"]),
                                          rows["portfolio_id"], rows["position_id"], strict=True)
        ],
    }, columns=["position_id", "portfolio_id", "symbol", "code", "severity", "message"])
