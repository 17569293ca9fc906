"""Portfolio volatility: realized, EWMA, HAR forecast, 1-year percentile (SPEC §7.8).

Input: (portfolios × days) daily returns as decimals, compacted to the right
(:func:`~sigmasight_pipeline.engines.performance.compact_right`: the last k columns are a
portfolio's last k observations, NaN padding on the left). Every output is annualized
(× √252) and a decimal (0.20 = 20 % a year).

* realized_21d / realized_63d = std of the last 21 / 63 returns (ddof = 1)·√252; NULL with
  fewer returns than the window.
* ewma_vol = √(252 Σ_k w_k r²_(t−k)), zero mean, w_k = (1 − λ)λ^k / (1 − λ^N), λ = 0.94,
  N = min(252, available) (SPEC §5.5's weights); NULL below 20 returns.
* HAR (Corsi 2009) on v = r²: OLS with an intercept of v_(s+1) on v_s, mean(v_(s−4..s)) and
  mean(v_(s−21..s)) over the pairs whose target v_(s+1) is among the last 252 returns (the
  regressors may reach further back); forecast v̂_(t+1) from the regressors at t;
  har_forecast = √(252 v̂). At least 63 regression rows, else NULL + ``insufficient_history``;
  v̂ ≤ 0 gives NULL + ``har_negative``.
* realized_21d_percentile = the share of the last 252 days' realized_21d values (those with
  a full 21-day window, today's included) at or below today's, a decimal in (0, 1]; NULL
  with fewer than 20 such days.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

TRADING_DAYS = 252
EWMA_LAMBDA = 0.94
EWMA_WINDOW = 252
MIN_RETURNS = 20
HAR_WINDOW = 252
HAR_MIN_ROWS = 63
PERCENTILE_WINDOW = 252

COLUMNS = ["realized_21d", "realized_63d", "ewma_vol", "har_forecast",
           "realized_21d_percentile", "n_obs"]


def realized_vol(r: np.ndarray, window: int) -> np.ndarray:
    """std(ddof=1)·√252 of each row's last ``window`` returns; NaN when fewer."""
    if r.shape[1] < window:
        return np.full(len(r), np.nan)
    last = r[:, -window:]
    full = np.isfinite(last).all(axis=1)
    with np.errstate(invalid="ignore"):
        vol = np.std(np.where(full[:, None], last, 0.0), axis=1, ddof=1) * np.sqrt(TRADING_DAYS)
    return np.where(full, vol, np.nan)


def ewma_vol(r: np.ndarray, lam: float = EWMA_LAMBDA, window: int = EWMA_WINDOW,
             min_obs: int = MIN_RETURNS) -> np.ndarray:
    """Annualized zero-mean EWMA volatility with normalised weights over the available days."""
    last = r[:, -window:]
    # k = 0 is the latest return; padding (NaN) gets no weight and is not in N
    k = np.arange(last.shape[1])[::-1][None, :]
    valid = np.isfinite(last)
    n = valid.sum(axis=1)
    raw = np.where(valid, (1.0 - lam) * lam ** k, 0.0)
    weights = raw / np.where(n > 0, 1.0 - lam ** n, 1.0)[:, None]
    var = (weights * np.where(valid, last, 0.0) ** 2).sum(axis=1)
    return np.where(n >= min_obs, np.sqrt(TRADING_DAYS * var), np.nan)


def har_design(v: np.ndarray, window: int = HAR_WINDOW):
    """The HAR regression of each row: X (series, m, 4), y (series, m), row mask, and the
    forecast regressors x_t (series, 4). Rows without full regressors are masked out."""
    series, days = v.shape
    if days < 23:
        empty = np.zeros((series, 0))
        return np.zeros((series, 0, 4)), empty, empty.astype(bool), np.full((series, 4), np.nan)
    daily = v[:, 21:]  # regressors at s = 21 … days − 1
    weekly = sliding_window_view(v, 5, axis=1)[:, 17:].mean(axis=2)
    monthly = sliding_window_view(v, 22, axis=1).mean(axis=2)
    regressors = np.stack([np.ones_like(daily), daily, weekly, monthly], axis=2)
    forecast_x = regressors[:, -1, :]
    x, y = regressors[:, :-1, :], v[:, 22:]  # target v_(s+1)
    x, y = x[:, -window:, :], y[:, -window:]
    mask = np.isfinite(y) & np.isfinite(x).all(axis=2)
    return x, y, mask, forecast_x


def har_forecast(r: np.ndarray, window: int = HAR_WINDOW, min_rows: int = HAR_MIN_ROWS):
    """(annualized forecast vol, flag per row: None, 'insufficient_history', 'har_negative')."""
    v = r ** 2
    x, y, mask, x_t = har_design(v, window)
    n_rows = mask.sum(axis=1)
    enough = (n_rows >= min_rows) & np.isfinite(x_t).all(axis=1)
    forecast = np.full(len(r), np.nan)
    idx = np.flatnonzero(enough)
    if len(idx):
        xm = np.where(mask[idx, :, None], x[idx], 0.0)  # a zero row leaves OLS unchanged
        ym = np.where(mask[idx], y[idx], 0.0)
        # batched least squares through QR (the normal equations lose digits: v ~ 1e-4)
        q, rr = np.linalg.qr(xm)
        qty = np.einsum("smk,sm->sk", q, ym)
        try:
            coef = np.linalg.solve(rr, qty[..., None])[..., 0]
        except np.linalg.LinAlgError:  # a singular design (e.g. constant returns)
            coef = np.stack([np.linalg.lstsq(a, b, rcond=None)[0] for a, b in zip(xm, ym,
                                                                                  strict=True)])
        forecast[idx] = np.einsum("sk,sk->s", x_t[idx], coef)
    flags = np.where(~enough, "insufficient_history",
                     np.where(forecast <= 0, "har_negative", "")).astype(object)
    vol = np.where(enough & (forecast > 0), np.sqrt(TRADING_DAYS * np.abs(forecast)), np.nan)
    return vol, flags


def realized_percentile(r: np.ndarray, window: int = 21, lookback: int = PERCENTILE_WINDOW,
                        min_days: int = MIN_RETURNS) -> np.ndarray:
    """Share of the last ``lookback`` days' realized vol (full windows) ≤ today's."""
    if r.shape[1] < window:
        return np.full(len(r), np.nan)
    tail = r[:, -(lookback + window - 1):]
    windows = sliding_window_view(tail, window, axis=1)  # (series, days, window)
    full = np.isfinite(windows).all(axis=2)
    with np.errstate(invalid="ignore"):
        vols = np.std(np.where(full[..., None], windows, 0.0), axis=2, ddof=1)
    today = vols[:, -1]
    count = full.sum(axis=1)
    at_or_below = (full & (vols <= today[:, None])).sum(axis=1)
    ok = full[:, -1] & (count >= min_days)
    return np.where(ok, at_or_below / np.maximum(count, 1), np.nan)


def portfolio_volatility(compacted: np.ndarray, portfolio_ids) -> pd.DataFrame:
    """One row per portfolio: :data:`COLUMNS` and ``flags`` (list of codes)."""
    n_obs = np.isfinite(compacted).sum(axis=1)
    har, har_flag = har_forecast(compacted)
    out = pd.DataFrame({
        "portfolio_id": [str(p) for p in portfolio_ids],
        "realized_21d": realized_vol(compacted, 21),
        "realized_63d": realized_vol(compacted, 63),
        "ewma_vol": ewma_vol(compacted),
        "har_forecast": har,
        "realized_21d_percentile": realized_percentile(compacted),
        "n_obs": n_obs.astype("int64"),
    })
    short = out[["realized_21d", "realized_63d", "ewma_vol"]].isna().any(axis=1).to_numpy()
    out["flags"] = [sorted({f for f in (hf, "insufficient_history" if s else "") if f})
                    for hf, s in zip(har_flag, short, strict=True)]
    return out
