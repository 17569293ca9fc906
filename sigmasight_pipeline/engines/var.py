"""Value-at-Risk and Expected Shortfall: parametric (delta-normal factor model, SPEC §7.3)
and historical simulation with full revaluation of options (SPEC §7.4).

Pure numpy/pandas/scipy, vectorized over every position of every portfolio of a day.
Conventions:

* Money in US$. VaR and ES are positive numbers for losses (a VaR of 1e6 = "lose at most
  $1m on 99 % of days"); P&L is signed (negative = loss).
* σ_P is the daily $ standard deviation of the portfolio; a horizon of h days scales every
  figure by √h (square-root-of-time, stated in reports, for both methods).
* Exposure e_i is the delta-adjusted $ exposure of §4; a position's betas are those of its
  beta symbol (an option's underlying, a stock itself): six equity betas and the rate beta
  (return per +1 pp of DGS10). No betas: Market 1, others 0 (``beta_defaulted``); no rate
  beta: 0; no specific vol: the day's cross-sectional median (``specific_defaulted``).
* Historical scenarios are the last N sessions up to and including the day on which the
  Market factor has a return. In scenario k each underlying moves by its own simple return
  of that session; a symbol without one moves by Σ_f β_f F_f(d_k) (``hist_proxy``; Market
  alone when it has no betas). Options are revalued in full by the one revaluation of
  ``engines/scenarios.py`` (``position_pnl_matrix``) at the day's own vol, rate and T.
  k* = ⌈N(1 − α)⌉; VaR = −(k*-th smallest P&L), ES = −mean of the k* smallest; fewer than
  ``MIN_SCENARIOS`` scenarios: NULL figures with ``insufficient_history``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.stats import norm

from .activity import as_float, is_option
from .risk_factors import RISK_FACTORS
from .scenarios import MOVE_FLOOR, position_betas, position_ir_betas, position_pnl_matrix

__all__ = [
    "BETA_DEFAULTED", "CONFIDENCES", "HIST_PROXY", "HORIZONS", "INSUFFICIENT_HISTORY",
    "MIN_SCENARIOS", "SPECIFIC_DEFAULTED", "VAR_COLUMNS", "Exposures", "HistoricalPnl",
    "exposures", "historical_pnl", "historical_var", "kstar", "parametric_var",
    "portfolio_sigma",
]

CONFIDENCES = (0.95, 0.975, 0.99)
HORIZONS = (1, 10)
#: fewest historical scenarios for a figure (SPEC §7.4)
MIN_SCENARIOS = 60

BETA_DEFAULTED = "beta_defaulted"
SPECIFIC_DEFAULTED = "specific_defaulted"
HIST_PROXY = "hist_proxy"
INSUFFICIENT_HISTORY = "insufficient_history"
MOVE_FLOORED = "move_floored"

VAR_COLUMNS = ["portfolio_id", "method", "confidence", "horizon_days", "var", "es",
               "var_pct_gross", "es_pct_gross", "volatility", "n_scenarios", "flags"]


def kstar(n: int, alpha: float) -> int:
    """⌈N(1 − α)⌉, robust to binary rounding (N = 250: 13, 7, 3 at 95, 97.5, 99 %)."""
    return max(1, math.ceil(round(n * (1.0 - alpha), 9)))


@dataclass
class Exposures:
    """The §7.2 exposure vectors of every portfolio of a day.

    book: the input book (index reset), one row per position (row i of the arrays);
    portfolio_ids: (k,) in order of first appearance; pcode: (n,) portfolio of each position;
    e: (n,) $ exposure; b: (n, 7) betas in RISK_FACTORS order (defaulted); x: (k, 7)
    x_f = Σ e_i b_if ($ per unit factor move; Rate: $ per +1 pp); group: (n,) index of the
    position's (portfolio, beta symbol); group_exposure: (g,) E_u; group_specific: (g,) s_u
    (daily, decimal); group_pcode: (g,); specific_var: (k,) Σ_u E_u² s_u² ($²);
    gross: (k,) Σ|e|; beta_defaulted, specific_defaulted: (n,) bool.
    """

    book: pd.DataFrame
    portfolio_ids: np.ndarray
    pcode: np.ndarray
    e: np.ndarray
    b: np.ndarray
    x: np.ndarray
    group: np.ndarray
    group_exposure: np.ndarray
    group_specific: np.ndarray
    group_pcode: np.ndarray
    specific_var: np.ndarray
    gross: np.ndarray
    beta_defaulted: np.ndarray
    specific_defaulted: np.ndarray


def _by_portfolio(pcode: np.ndarray, k: int, values: np.ndarray) -> np.ndarray:
    """Σ of ``values`` (n,) or (n, m) per portfolio code → (k,) or (k, m)."""
    if values.ndim == 1:
        return np.bincount(pcode, weights=values, minlength=k)
    return np.column_stack([np.bincount(pcode, weights=values[:, j], minlength=k)
                            for j in range(values.shape[1])]).reshape(k, values.shape[1])


def exposures(book: pd.DataFrame, betas: pd.DataFrame, ir_betas: pd.Series | None,
              specific: pd.Series | None) -> Exposures:
    """Exposure vectors (SPEC §7.2).

    book: position_id, portfolio_id, beta_symbol, exposure ($, finite). betas: index beta
    symbol, columns the six equity factors (NaN = none); ir_betas: beta symbol → ir_beta;
    specific: beta symbol → specific_vol (daily decimal; NaN = none).
    """
    book = book.reset_index(drop=True)
    e = as_float(book["exposure"])
    if not np.isfinite(e).all():
        bad = book.loc[~np.isfinite(e), "position_id"].tolist()[:20]
        raise ValueError(f"exposure must be finite: positions {bad}")
    equity, defaulted = position_betas(book, betas)  # (n, 6)
    rate = position_ir_betas(book, ir_betas)
    b = np.column_stack([equity, np.where(np.isfinite(rate), rate, 0.0)])  # (n, 7)
    pcode, uniques = pd.factorize(book["portfolio_id"], sort=False)
    k = len(uniques)
    x = _by_portfolio(pcode, k, e[:, None] * b)

    spec = (pd.Series(dtype=float) if specific is None
            else pd.to_numeric(specific, errors="coerce"))
    spec = spec[~spec.index.duplicated(keep="last")]
    s_pos = spec.reindex(book["beta_symbol"].to_numpy()).to_numpy(dtype=float, na_value=np.nan)
    known = spec.to_numpy(dtype=float)
    known = known[np.isfinite(known)]
    median = float(np.median(known)) if len(known) else np.nan
    spec_defaulted = ~np.isfinite(s_pos)
    s_pos = np.where(spec_defaulted, median, s_pos)

    keys = pd.MultiIndex.from_arrays([pcode, book["beta_symbol"].astype(object).fillna("")])
    group, group_keys = pd.factorize(keys, sort=False)
    n_groups = len(group_keys)
    group_exposure = np.bincount(group, weights=e, minlength=n_groups)
    group_specific = np.full(n_groups, np.nan)
    group_specific[group] = s_pos
    group_pcode = np.zeros(n_groups, dtype=np.int64)
    group_pcode[group] = pcode
    with np.errstate(invalid="ignore"):
        specific_var = np.bincount(group_pcode, weights=group_exposure**2 * group_specific**2,
                                   minlength=k)
    gross = np.bincount(pcode, weights=np.abs(e), minlength=k)
    return Exposures(book=book, portfolio_ids=np.asarray(uniques, dtype=object), pcode=pcode,
                     e=e, b=b, x=x, group=group, group_exposure=group_exposure,
                     group_specific=group_specific, group_pcode=group_pcode,
                     specific_var=specific_var, gross=gross, beta_defaulted=defaulted,
                     specific_defaulted=spec_defaulted)


def _covariance_array(cov: pd.DataFrame) -> np.ndarray:
    c = cov.reindex(index=RISK_FACTORS, columns=RISK_FACTORS).to_numpy(dtype=np.float64)
    if not np.isfinite(c).all():
        raise ValueError("risk factor covariance must be a complete 7 x 7 matrix")
    return c


def portfolio_sigma(expo: Exposures, cov: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(σ_P (k,) daily $, Σx (k, 7)): σ_P² = xᵀΣx + Σ_u E_u² s_u² (SPEC §7.3)."""
    c = _covariance_array(cov)
    sx = expo.x @ c  # (k, 7)
    quad = np.einsum("kf,kf->k", expo.x, sx)
    with np.errstate(invalid="ignore"):
        sigma = np.sqrt(np.maximum(quad + expo.specific_var, 0.0))
    return sigma, sx


def _flag_any(expo: Exposures, mask: np.ndarray) -> np.ndarray:
    return np.bincount(expo.pcode, weights=mask.astype(float), minlength=len(expo.gross)) > 0


def _rows(portfolio_ids, method: str, var1: np.ndarray, es1: np.ndarray, vol1: np.ndarray,
          gross: np.ndarray, n_scenarios, flags: list[list[str]]) -> pd.DataFrame:
    """6 rows per portfolio (3 confidences × 2 horizons) from 1-day figures (k, 3)."""
    k = len(portfolio_ids)
    frames = []
    for h in HORIZONS:
        root = math.sqrt(h)
        for j, alpha in enumerate(CONFIDENCES):
            var, es = root * var1[:, j], root * es1[:, j]
            with np.errstate(invalid="ignore", divide="ignore"):
                pos = np.where(gross > 0, gross, np.nan)
                frames.append(pd.DataFrame({
                    "portfolio_id": portfolio_ids, "method": method,
                    "confidence": alpha, "horizon_days": h, "var": var, "es": es,
                    "var_pct_gross": var / pos, "es_pct_gross": es / pos,
                    "volatility": root * vol1, "n_scenarios": n_scenarios,
                    "flags": flags,
                }))
    out = pd.concat(frames, ignore_index=True) if k else pd.DataFrame(columns=VAR_COLUMNS)
    if "n_scenarios" in out:
        out["n_scenarios"] = out["n_scenarios"].astype("Int64")
    return out.reindex(columns=VAR_COLUMNS)


def parametric_var(expo: Exposures, cov: pd.DataFrame | None) -> pd.DataFrame:
    """Delta-normal VaR/ES of every portfolio (SPEC §7.3), :data:`VAR_COLUMNS` rows.

    VaR = z_α √h σ_P, ES = √h σ_P φ(z_α)/(1 − α), volatility = √h σ_P. Without a covariance
    (too little factor history) or any specific vol, the figures are NULL with
    ``insufficient_history``.
    """
    k = len(expo.portfolio_ids)
    if cov is None:
        sigma = np.full(k, np.nan)
    else:
        sigma, _ = portfolio_sigma(expo, cov)
    z = norm.ppf(CONFIDENCES)
    es_mult = norm.pdf(z) / (1.0 - np.asarray(CONFIDENCES))
    var1, es1 = sigma[:, None] * z[None, :], sigma[:, None] * es_mult[None, :]
    beta_def = _flag_any(expo, expo.beta_defaulted)
    spec_def = _flag_any(expo, expo.specific_defaulted)
    flags = [[f for f, on in ((BETA_DEFAULTED, bd), (SPECIFIC_DEFAULTED, sd),
                              (INSUFFICIENT_HISTORY, not np.isfinite(s))) if on]
             for bd, sd, s in zip(beta_def, spec_def, sigma, strict=True)]
    return _rows(expo.portfolio_ids, "parametric", var1, es1, sigma, expo.gross, None, flags)


@dataclass
class HistoricalPnl:
    """Scenario P&L of every portfolio: pnl (k, N) $, scenario days (N,), and for the
    positions: position_pnl(worst) → (n, len(worst[0])) the P&L of each position in its
    portfolio's scenarios ``worst`` (k, m) (indices into the N scenarios); proxied (k,) and
    floored (k,) flags."""

    portfolio_ids: np.ndarray
    days: list
    pnl: np.ndarray
    proxied: np.ndarray
    floored: np.ndarray
    _moves: np.ndarray  # (n_symbols, N) underlying moves
    _symbol_code: np.ndarray  # (n,) row of each position in _moves
    _option_rows: np.ndarray  # (n_opt,) position rows of the options
    _option_pnl: np.ndarray  # (n_opt, N)
    _expo: Exposures

    def position_pnl(self, worst: np.ndarray) -> np.ndarray:
        expo = self._expo
        scen = worst[expo.pcode]  # (n, m)
        out = expo.e[:, None] * self._moves[self._symbol_code[:, None], scen]
        if len(self._option_rows):
            out[self._option_rows] = np.take_along_axis(self._option_pnl, scen[self._option_rows],
                                                        axis=1)
        return out


def historical_pnl(book: pd.DataFrame, expo: Exposures, betas: pd.DataFrame,
                   returns: pd.DataFrame, factors: pd.DataFrame) -> HistoricalPnl:
    """Full-revaluation P&L of every portfolio in each scenario (SPEC §7.4).

    book: the scenario book of ``engines/scenarios.py`` (position rows of ``expo.book`` in
    the same order, with the option columns); betas: beta symbol × equity factors;
    returns: scenario days × symbols, own simple returns (NaN = none → proxy); factors:
    the same days × equity factors (NaN = 0 in the proxy).
    """
    book = book.reset_index(drop=True)
    days = list(returns.index)
    n_days = len(days)
    symbols = pd.Index(pd.unique(book["beta_symbol"].astype(object)))
    symbol_code = symbols.get_indexer(book["beta_symbol"].astype(object))
    own = returns.reindex(columns=symbols).to_numpy(dtype=float, na_value=np.nan).T  # (u, N)
    f = factors.reindex(index=days).fillna(0.0).to_numpy(dtype=float)  # (N, 6)
    sym_book = pd.DataFrame({"beta_symbol": symbols})
    sym_betas, _ = position_betas(sym_book, betas)  # (u, 6), Market 1 when none
    proxy = sym_betas @ f.T  # (u, N)
    have = np.isfinite(own)
    moves = np.where(have, own, proxy)
    floored_sym = moves < MOVE_FLOOR
    moves = np.maximum(moves, MOVE_FLOOR)

    k = len(expo.portfolio_ids)
    option = is_option(book["position_type"]).to_numpy(dtype=bool)
    stock = ~option
    # stocks and funds are linear: Σ over positions of e × m, summed per (portfolio, symbol)
    weights = sparse.csr_matrix((expo.e[stock], (expo.pcode[stock], symbol_code[stock])),
                                shape=(k, len(symbols)))
    pnl = np.asarray(weights @ moves) if n_days else np.zeros((k, 0))
    option_rows = np.flatnonzero(option)
    option_pnl = np.zeros((len(option_rows), n_days))
    if len(option_rows) and n_days:
        ids = list(range(n_days))
        overrides = pd.DataFrame(own.T, index=ids, columns=symbols)
        result = position_pnl_matrix(
            book.iloc[option_rows], betas, None,
            pd.DataFrame(f, index=ids, columns=list(factors.columns)),
            pd.Series(0.0, index=ids), overrides)
        option_pnl = result.pnl
        incidence = sparse.csr_matrix(
            (np.ones(len(option_rows)), (expo.pcode[option_rows], np.arange(len(option_rows)))),
            shape=(k, len(option_rows)))
        pnl = pnl + np.asarray(incidence @ option_pnl)
    proxied = _flag_any(expo, (~have).any(axis=1)[symbol_code]) if n_days else np.zeros(k, bool)
    floored = _flag_any(expo, floored_sym.any(axis=1)[symbol_code]) if n_days else proxied
    return HistoricalPnl(portfolio_ids=expo.portfolio_ids, days=days, pnl=pnl + 0.0,
                         proxied=proxied, floored=floored, _moves=moves,
                         _symbol_code=symbol_code, _option_rows=option_rows,
                         _option_pnl=option_pnl, _expo=expo)


def historical_var(hist: HistoricalPnl, gross: np.ndarray,
                   min_scenarios: int = MIN_SCENARIOS) -> pd.DataFrame:
    """Historical VaR/ES rows (:data:`VAR_COLUMNS`) from :func:`historical_pnl`.

    volatility = the sample standard deviation (ddof 1) of the scenario P&L × √h.
    """
    k, n = hist.pnl.shape
    ordered = np.sort(hist.pnl, axis=1)
    var1 = np.full((k, len(CONFIDENCES)), np.nan)
    es1 = np.full((k, len(CONFIDENCES)), np.nan)
    vol1 = np.full(k, np.nan)
    enough = n >= min_scenarios
    if enough:
        for j, alpha in enumerate(CONFIDENCES):
            ks = kstar(n, alpha)
            var1[:, j] = -ordered[:, ks - 1]
            es1[:, j] = -ordered[:, :ks].mean(axis=1)
        vol1 = hist.pnl.std(axis=1, ddof=1)
    flags = [[f for f, on in ((MOVE_FLOORED, fl), (HIST_PROXY, px),
                              (INSUFFICIENT_HISTORY, not enough)) if on]
             for fl, px in zip(hist.floored, hist.proxied, strict=True)]
    return _rows(hist.portfolio_ids, "historical", var1 + 0.0, es1 + 0.0, vol1, gross,
                 n, flags)
