"""Euler risk decomposition (SPEC §7.5): where a portfolio's risk comes from.

Pure numpy/pandas, vectorized over every position of every portfolio of a day. With the
exposure vectors of ``engines/var.py`` (x = Σ_i e_i b_i per portfolio, E_u and s_u per
underlying) and the 7 × 7 daily covariance Σ:

* factor contributions to σ_P ($, daily): c_f = x_f (Σx)_f / σ_P for the seven factors and
  c_Specific = Σ_u E_u² s_u² / σ_P; they sum to σ_P. pct_of_risk = c / σ_P (sums to 1; a
  negative share is a hedge).
* position contributions: marginal_i = (b_iᵀΣx + E_u(i) s_u(i)²) / σ_P ($ of σ_P per $ of
  exposure), component_i = e_i × marginal_i ($); Σ_i component_i = σ_P.
* historical component ES at α = 0.975: component_es_i = −mean of position i's P&L over
  its portfolio's k* worst scenarios; Σ_i component_es_i = the historical ES (1-day).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .risk_factors import RISK_FACTORS
from .var import MIN_SCENARIOS, Exposures, HistoricalPnl, kstar, portfolio_sigma

__all__ = ["COMPONENT_ES_CONFIDENCE", "FACTOR_CONTRIBUTION_COLUMNS",
           "POSITION_CONTRIBUTION_COLUMNS", "SPECIFIC", "component_es", "factor_contributions",
           "position_contributions"]

SPECIFIC = "Specific"
COMPONENT_ES_CONFIDENCE = 0.975
FACTOR_CONTRIBUTION_COLUMNS = ["portfolio_id", "factor", "exposure", "contribution",
                               "pct_of_risk"]
POSITION_CONTRIBUTION_COLUMNS = ["portfolio_id", "position_id", "symbol", "exposure",
                                 "marginal_vol", "component_vol", "pct_of_risk",
                                 "component_es_hist"]


def factor_contributions(expo: Exposures, cov: pd.DataFrame) -> pd.DataFrame:
    """8 rows per portfolio with σ_P > 0 (the seven factors, then Specific); exposure x_f
    ($ per unit factor move, Rate per +1 pp; NULL for Specific)."""
    sigma, sx = portfolio_sigma(expo, cov)
    keep = np.flatnonzero(np.isfinite(sigma) & (sigma > 0))
    s = sigma[keep][:, None]
    contrib = np.column_stack([expo.x[keep] * sx[keep], expo.specific_var[keep]]) / s  # (k, 8)
    names = np.asarray([*RISK_FACTORS, SPECIFIC], dtype=object)
    m = len(names)
    exposure = np.column_stack([expo.x[keep], np.full(len(keep), np.nan)])
    return pd.DataFrame({
        "portfolio_id": np.repeat(expo.portfolio_ids[keep], m),
        "factor": np.tile(names, len(keep)),
        "exposure": exposure.ravel(),
        "contribution": contrib.ravel(),
        "pct_of_risk": (contrib / s).ravel(),
    }, columns=FACTOR_CONTRIBUTION_COLUMNS)


def component_es(hist: HistoricalPnl, alpha: float = COMPONENT_ES_CONFIDENCE,
                 min_scenarios: int = MIN_SCENARIOS) -> np.ndarray:
    """(n,) −mean P&L of each position over its portfolio's k* worst scenarios ($); NaN
    when there are fewer than ``min_scenarios`` scenarios."""
    k, n = hist.pnl.shape
    rows = len(hist._expo.e)
    if n < min_scenarios:
        return np.full(rows, np.nan)
    ks = kstar(n, alpha)
    worst = np.argsort(hist.pnl, axis=1, kind="stable")[:, :ks]  # (k, k*)
    return -hist.position_pnl(worst).mean(axis=1) + 0.0


def position_contributions(expo: Exposures, cov: pd.DataFrame,
                           component_es_hist: np.ndarray | None = None) -> pd.DataFrame:
    """One row per position of a portfolio with σ_P > 0 (SPEC §7.5)."""
    sigma, sx = portfolio_sigma(expo, cov)
    s = sigma[expo.pcode]  # (n,)
    spec = expo.group_exposure[expo.group] * expo.group_specific[expo.group] ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        marginal = (np.einsum("nf,nf->n", expo.b, sx[expo.pcode]) + spec) / s
        component = expo.e * marginal
        pct = component / s
    keep = np.isfinite(s) & (s > 0)
    es = (np.full(len(expo.e), np.nan) if component_es_hist is None
          else np.asarray(component_es_hist, dtype=float))
    book = expo.book
    symbol = book["symbol"] if "symbol" in book else book["beta_symbol"]
    return pd.DataFrame({
        "portfolio_id": book["portfolio_id"].to_numpy()[keep],
        "position_id": book["position_id"].to_numpy()[keep],
        "symbol": symbol.to_numpy()[keep],
        "exposure": expo.e[keep],
        "marginal_vol": marginal[keep],
        "component_vol": component[keep],
        "pct_of_risk": pct[keep],
        "component_es_hist": es[keep],
    }, columns=POSITION_CONTRIBUTION_COLUMNS)
