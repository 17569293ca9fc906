"""Market-risk scenarios: fixed Market and Rate shocks revalued by SPEC §5.6 (SPEC §5.7).

Scenarios (``scenario`` names, ``scenario_type``, ``shock``):

* ``market``: Market return −0.20, −0.10, −0.05, +0.05, +0.10, +0.20 (other factors 0), named
  ``market_down_20``, ``market_down_10``, ``market_down_5``, ``market_up_5``,
  ``market_up_10``, ``market_up_20`` (the move in percent).
* ``rate``: yield change Δy −0.01, −0.0025, +0.0025, +0.01, +0.03 (decimal; 0.0025 = +25 bp),
  named ``rate_down_100bp``, ``rate_down_25bp``, ``rate_up_25bp``, ``rate_up_100bp``,
  ``rate_up_300bp`` (the move in basis points).

Each row: pnl ($), pnl_pct = pnl / gross exposure (decimal; NaN when gross is 0),
option_pnl = the options' part of pnl, flags (``beta_defaulted``, ``move_floored``,
``loss_exceeds_gross``, ``ir_beta_missing``; see :mod:`engines.scenarios`).
"""

from __future__ import annotations

import pandas as pd

from sigmasight_pipeline.engines.scenarios import gross_exposure, pct_of_gross, scenario_pnl

__all__ = [
    "MARKET_RISK_COLUMNS",
    "MARKET_SHOCKS",
    "RATE_SHOCKS",
    "market_risk",
    "market_risk_scenarios",
]

MARKET_SHOCKS = [-0.20, -0.10, -0.05, 0.05, 0.10, 0.20]
RATE_SHOCKS = [-0.01, -0.0025, 0.0025, 0.01, 0.03]

MARKET_RISK_COLUMNS = [
    "portfolio_id",
    "scenario",
    "scenario_type",
    "shock",
    "pnl",
    "pnl_pct",
    "option_pnl",
    "flags",
]


def _market_name(shock: float) -> str:
    return f"market_{'up' if shock > 0 else 'down'}_{round(abs(shock) * 100)}"


def _rate_name(shock: float) -> str:
    return f"rate_{'up' if shock > 0 else 'down'}_{round(abs(shock) * 10_000)}bp"


def market_risk_scenarios() -> pd.DataFrame:
    """The 11 scenarios: columns scenario, scenario_type ('market'|'rate'), shock (decimal)."""
    rows = [(_market_name(x), "market", x) for x in MARKET_SHOCKS]
    rows += [(_rate_name(x), "rate", x) for x in RATE_SHOCKS]
    return pd.DataFrame(rows, columns=["scenario", "scenario_type", "shock"])


def market_risk(book: pd.DataFrame, betas: pd.DataFrame, ir_betas: pd.Series) -> pd.DataFrame:
    """Market-risk P&L of every portfolio of ``book`` under the 11 scenarios.

    Inputs as :func:`engines.scenarios.scenario_pnl`. Returns one row per (portfolio,
    scenario), columns :data:`MARKET_RISK_COLUMNS`, scenarios in the order of
    :func:`market_risk_scenarios`; an empty book gives an empty frame with those columns.
    """
    defs = market_risk_scenarios()
    market = defs["scenario_type"] == "market"
    factor_moves = pd.DataFrame(
        {"Market": defs["shock"].where(market, 0.0).to_numpy()}, index=defs["scenario"]
    )
    rate_moves = pd.Series(defs["shock"].where(~market, 0.0).to_numpy(), index=defs["scenario"])
    result = scenario_pnl(book, betas, ir_betas, factor_moves, rate_moves,
                          with_positions=False).portfolios
    if result.empty:
        return pd.DataFrame(
            {c: pd.Series(dtype=object if c in ("portfolio_id", "scenario", "scenario_type",
                                                "flags") else float)
             for c in MARKET_RISK_COLUMNS}
        )
    out = result.merge(defs, on="scenario", how="left", validate="many_to_one")
    gross = gross_exposure(book)
    out["pnl_pct"] = pct_of_gross(
        out["pnl"], gross.reindex(out["portfolio_id"].to_numpy()).to_numpy()
    )
    return out[MARKET_RISK_COLUMNS].reset_index(drop=True)
