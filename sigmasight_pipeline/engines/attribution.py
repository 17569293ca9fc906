"""Daily P&L attribution (SPEC §7.7): factors, rate, specific, option Greeks, trading.

All amounts are US$ of day t's P&L. For each position held on both t−1 and t, with its
exposure e (delta-adjusted $, §4), betas and per-share Greeks of t−1, the day's factor
returns F_f (decimal), the DGS10 change Δy (percentage points) and the beta symbol's
adj_close return m (decimal):

* factor f: e·β_f·F_f for the six equity factors; Rate: e·irβ·Δy. A position without
  betas takes Market 1 and the other factors 0, no rate beta (SPEC §7.2, ``beta_defaulted``).
* Specific: e·m − Σ(factor and rate parts). A stock's booked P&L is exactly e·m (§5.8).
* Options (n = quantity × multiplier, ΔS = S_t − S_(t−1) of the underlying's close):
  Gamma = ½·Γ·ΔS²·n; Theta = Θ·(calendar days t−1 → t)·n; Vega = ν·100·(σ_t − σ_(t−1))·n
  (0 when either day's vol is missing); Option residual = option P&L − (e·m + Gamma +
  Theta + Vega). An option whose underlying has no return on t gets no factor or specific
  part: its whole P&L is in Gamma, Theta, Vega and the residual.
* Trading: the entry-day and exit-day P&L of §5.8, whole.

A missing factor return counts 0 (its move lands in Specific). A position whose P&L the
snapshot could not measure (booked 0) contributes 0 to every component. The components
sum, per portfolio, to the positions' booked P&L, i.e. portfolio_snapshots.daily_pnl.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .activity import is_option
from .factor_names import EQUITY_FACTORS as FACTOR_NAMES

COMPONENTS = [*FACTOR_NAMES, "Rate", "Specific", "Gamma", "Theta", "Vega", "Option residual",
              "Trading"]


def _key(ids) -> np.ndarray:
    """Ids (UUID or str) as canonical lowercase strings, vectorized (``id_key``'s rule)."""
    codes, uniques = pd.factorize(pd.Series(ids, dtype=object))  # normalize each id once
    norm = pd.Series(uniques, dtype=object).astype(str).str.strip().str.lower().to_numpy(
        dtype=object)
    return np.where(codes >= 0, norm[np.maximum(codes, 0)] if len(norm) else None, None)


class _Lookup:
    """Rows of a frame found by position_id for a fixed list of positions (one indexer)."""

    def __init__(self, frame: pd.DataFrame | None, ids: np.ndarray):
        self.frame = frame if frame is not None else pd.DataFrame()
        if self.frame.empty:
            self.where = np.full(len(ids), -1)
            return
        keys = _key(self.frame["position_id"])
        last = ~pd.Series(keys).duplicated(keep="last").to_numpy()
        self.rows = np.flatnonzero(last)
        self.where = pd.Index(keys[last]).get_indexer(ids)

    def __call__(self, column: str) -> np.ndarray:
        if self.frame.empty or column not in self.frame:
            return np.full(len(self.where), np.nan)
        values = pd.to_numeric(self.frame[column], errors="coerce").to_numpy(dtype=float)
        found = self.where >= 0
        return np.where(found, values[self.rows[np.where(found, self.where, 0)]]
                        if len(self.rows) else np.nan, np.nan)


def pnl_attribution(portfolio_ids, pnl: pd.DataFrame, positions: pd.DataFrame,
                    prev_values: pd.DataFrame, betas: pd.DataFrame, rate_betas: pd.DataFrame,
                    factor_returns: dict[str, float], rate_change_pp: float,
                    underlying_returns: pd.Series, prev_greeks: pd.DataFrame,
                    greeks: pd.DataFrame, calendar_days: int) -> pd.DataFrame:
    """One row per portfolio × component (:data:`COMPONENTS`), amounts in US$.

    Parameters
    ----------
    portfolio_ids:
        Portfolios to report; one without P&L rows gets 0 in every component.
    pnl:
        :func:`~sigmasight_pipeline.engines.snapshots.position_pnl` rows of day t (portfolio_id,
        position_id, kind ∈ held/trading/gap/none, pnl, measured); a gap's move (several
        sessions, no t−1 exposure to explain it with) is booked as Specific.
    positions:
        position_id, position_type, quantity, multiplier and beta_symbol (an option's
        underlying, else the symbol).
    prev_values:
        position_values of t−1 (position_id, exposure).
    betas:
        Security betas of t−1 (symbol, factor, beta; SPEC §7.1), each position taking its
        beta symbol's; NULL betas count as missing.
    rate_betas:
        Security rate betas of t−1 (symbol, ir_beta), by beta symbol likewise.
    factor_returns:
        Factor name → return of t (decimal).
    rate_change_pp:
        DGS10_t − DGS10 of the last earlier day with a value, percentage points.
    underlying_returns:
        beta symbol → adj_close_t / adj_close_(t−1) − 1.
    prev_greeks, greeks:
        position_greeks of t−1 and t (position_id, underlying_price, implied_vol and, for
        t−1, gamma, theta, vega per share).
    calendar_days:
        Calendar days from t−1 to t (theta's clock).

    Returns
    -------
    (portfolio_id, component, pnl).
    """
    given = list(portfolio_ids)
    ids = list(_key(given))
    rows = pnl.assign(portfolio_id=_key(pnl["portfolio_id"]),
                      position_id=_key(pnl["position_id"]))
    rows = rows[rows["portfolio_id"].isin(set(ids)) & rows["measured"].astype(bool)]
    held = rows[rows["kind"] == "held"].reset_index(drop=True)
    trading = rows[rows["kind"] == "trading"].groupby("portfolio_id")["pnl"].sum()
    # the move over a price gap (several sessions, booked the day the price returns, flag
    # price_gap) has no t−1 exposure to explain it with today's factors: it is Specific
    gap = rows[rows["kind"] == "gap"].groupby("portfolio_id")["pnl"].sum()

    pid = held["position_id"].to_numpy(dtype=object)
    pos = _Lookup(positions, pid)
    found = pos.where >= 0
    option = np.zeros(len(pid), dtype=bool)
    beta_symbol = np.full(len(pid), None, dtype=object)
    if found.any():
        at = pos.rows[pos.where[found]]
        option[found] = is_option(positions["position_type"].iloc[at]).to_numpy(dtype=bool)
        beta_symbol[found] = positions["beta_symbol"].to_numpy(dtype=object)[at]
    n = pos("quantity") * pos("multiplier")
    exposure = _Lookup(prev_values, pid)("exposure")
    booked = held["pnl"].to_numpy(dtype=float)

    # betas (positions × 6 factors) through each position's beta symbol, defaulted to
    # Market 1 where a position has none
    beta = np.full((len(pid), len(FACTOR_NAMES)), np.nan)
    ir_beta = np.zeros(len(pid))
    if betas is not None and not betas.empty:
        symbols = pd.Index(pd.unique(betas["symbol"].to_numpy(dtype=object)))
        by_symbol = np.full((len(symbols), len(FACTOR_NAMES)), np.nan)
        col = betas["factor"].map({f: i for i, f in enumerate(FACTOR_NAMES)}).to_numpy(
            dtype=float, na_value=np.nan)
        ok = np.isfinite(col)
        by_symbol[symbols.get_indexer(betas["symbol"])[ok], col[ok].astype(int)] = \
            pd.to_numeric(betas["beta"], errors="coerce").to_numpy(dtype=float)[ok]
        at = symbols.get_indexer(beta_symbol)
        beta[at >= 0] = by_symbol[at[at >= 0]]
    if rate_betas is not None and not rate_betas.empty:
        ir = pd.Series(pd.to_numeric(rate_betas["ir_beta"], errors="coerce").to_numpy(
            dtype=float), index=rate_betas["symbol"].to_numpy(dtype=object))
        ir = ir[~ir.index.duplicated(keep="last")]
        ir_beta = np.nan_to_num(ir.reindex(beta_symbol).to_numpy(dtype=float), nan=0.0)
    defaulted = ~np.isfinite(beta).any(axis=1)
    beta = np.where(np.isfinite(beta), beta, 0.0)
    beta[defaulted, FACTOR_NAMES.index("Market")] = 1.0
    f = np.array([factor_returns.get(name, np.nan) for name in FACTOR_NAMES], dtype=float)
    f = np.nan_to_num(f, nan=0.0)
    dy = 0.0 if rate_change_pp is None or not np.isfinite(rate_change_pp) else rate_change_pp

    m = pd.to_numeric(pd.Series(beta_symbol).map(underlying_returns),
                      errors="coerce").to_numpy(dtype=float)
    has_move = np.isfinite(m) & np.isfinite(exposure)
    e = np.where(has_move, exposure, 0.0)
    factor_pnl = e[:, None] * beta * f[None, :]  # (positions, 6)
    rate_pnl = e * ir_beta * dy
    delta_pnl = np.where(option, e * np.where(has_move, m, 0.0), booked)  # e·m; stocks: booked
    specific = delta_pnl - factor_pnl.sum(axis=1) - rate_pnl

    g_prev, g_now = _Lookup(prev_greeks, pid), _Lookup(greeks, pid)
    s_prev, s_now = g_prev("underlying_price"), g_now("underlying_price")
    vol_prev, vol_now = g_prev("implied_vol"), g_now("implied_vol")
    gamma_ps, theta_ps, vega_ps = (g_prev(c) for c in ("gamma", "theta", "vega"))
    ds = s_now - s_prev
    gamma = np.where(option, np.nan_to_num(0.5 * gamma_ps * ds ** 2 * n), 0.0)
    theta = np.where(option, np.nan_to_num(theta_ps * calendar_days * n), 0.0)
    vega = np.where(option, np.nan_to_num(vega_ps * 100.0 * (vol_now - vol_prev) * n), 0.0)
    residual = np.where(option, booked - (delta_pnl + gamma + theta + vega), 0.0)

    per_position = pd.DataFrame(
        np.column_stack([factor_pnl, rate_pnl, specific, gamma, theta, vega, residual]),
        columns=COMPONENTS[:-1])
    per_position["portfolio_id"] = held["portfolio_id"].to_numpy()
    sums = per_position.groupby("portfolio_id").sum().reindex(ids).fillna(0.0)
    sums["Trading"] = trading.reindex(ids).fillna(0.0).to_numpy()
    sums["Specific"] += gap.reindex(ids).fillna(0.0).to_numpy()
    out = sums.rename_axis("portfolio_id").reset_index().melt(
        id_vars="portfolio_id", var_name="component", value_name="pnl")
    order = {c: i for i, c in enumerate(COMPONENTS)}
    out["_o"] = out["component"].map(order)
    out["portfolio_id"] = out["portfolio_id"].map(dict(zip(ids, given, strict=True)))
    return out.sort_values(["portfolio_id", "_o"], kind="stable").drop(columns="_o").reset_index(
        drop=True)
