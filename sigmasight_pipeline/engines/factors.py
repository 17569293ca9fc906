"""Factor returns, factor and interest-rate betas, factor covariance (SPEC §5.3, §5.4, §5.5).

Pure numpy/pandas/scipy. Conventions used throughout:

* Returns are simple decimal returns (0.01 = +1 %) of ``adj_close`` between consecutive NYSE
  sessions; a return that would span a missing close or a session gap is NaN, never a
  multi-day return (except the interest-rate betas of §5.4, which compound on purpose over
  days without a yield).
* Dates are ``datetime.date`` on output; inputs may be dates, timestamps or ISO strings.
* Betas are per unit of factor return (a beta of 1.2 to Market: +1 % SPY → +1.2 %). Long-short
  factors are ``r_long − r_short`` (Value = VTV − VUG, ...). The interest-rate beta is the
  return per +1 percentage point of DGS10 (a 10-year yield move from 4.00 to 5.00 %).
* A beta that cannot be estimated (fewer than ``min_obs`` usable returns, or a rank-deficient
  window such as a constant factor) is NaN with quality ``insufficient_history`` — never 0.
* Regressions are batched: symbols whose window is complete share one design matrix and one
  QR solve; symbols with gaps are solved in blocks, each from a QR of its own (centred) rows
  (a stacked ``np.linalg.qr``), never from inverted normal equations, so both match
  statsmodels OLS to ~1e-12 even at condition number 1e9.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from scipy.linalg import solve_triangular

__all__ = [
    "BETA_CAP",
    "EQUITY_FACTORS",
    "EWMA_LAMBDA",
    "EWMA_WINDOW",
    "FACTOR_EXPOSURE_COLUMNS",
    "FACTOR_PROXIES",
    "IR_BETA_COLUMNS",
    "MIN_OBS",
    "PORTFOLIO_FACTOR_COLUMNS",
    "RATE_FACTOR",
    "SPECIFIC_RISK_COLUMNS",
    "CORRELATION_COLUMNS",
    "WINDOW",
    "InsufficientHistoryError",
    "correlation_from_covariance",
    "daily_returns",
    "ewma_covariance",
    "factor_correlation_rows",
    "factor_exposures",
    "factor_model",
    "factor_returns",
    "interest_rate_betas",
    "portfolio_factor_exposures",
]

EQUITY_FACTORS = ["Market", "Value", "Size", "Momentum", "Quality", "Low Volatility"]
RATE_FACTOR = "Rate"
#: factor -> (long ETF, short ETF or None); configuration, SPEC §5.3
FACTOR_PROXIES = {
    "Market": ("SPY", None),
    "Value": ("VTV", "VUG"),
    "Size": ("IWM", "SPY"),
    "Momentum": ("MTUM", "SPY"),
    "Quality": ("QUAL", "SPY"),
    "Low Volatility": ("USMV", "SPY"),
}
#: regression window, in return dates ending on the partition day (SPEC §5.3)
WINDOW = 150
#: fewest usable returns for a beta (SPEC §5.3)
MIN_OBS = 60
#: |beta| above this is stored as ±BETA_CAP with quality ``capped``
BETA_CAP = 3.0
#: RiskMetrics decay and window of the factor covariance (SPEC §5.5)
EWMA_LAMBDA = 0.94
EWMA_WINDOW = 252

FACTOR_EXPOSURE_COLUMNS = [
    "symbol", "factor", "beta", "std_err", "t_stat", "r_squared", "n_obs", "quality",
]
SPECIFIC_RISK_COLUMNS = ["symbol", "specific_vol", "n_obs", "quality"]
IR_BETA_COLUMNS = ["symbol", "ir_beta", "std_err", "r_squared", "n_obs", "quality"]
CORRELATION_COLUMNS = ["factor_a", "factor_b", "correlation", "covariance", "n_obs"]
PORTFOLIO_FACTOR_COLUMNS = ["portfolio_id", "factor", "beta", "dollar_exposure", "coverage"]

QUALITY_OK = "ok"
QUALITY_CAPPED = "capped"
QUALITY_INSUFFICIENT = "insufficient_history"

# A centred regressor whose sum of squares is below this fraction of its raw sum of squares
# is constant over the window (only rounding noise is left after centring).
_CONSTANT_REL_SS = 1e-20
# Smallest eigenvalue of the regressors' correlation matrix below which the window is treated
# as rank-deficient (condition number above ~1e10).
_MIN_CORR_EIGENVALUE = 1e-10


class InsufficientHistoryError(ValueError):
    """Too few complete observations for an estimate (SPEC §5.9 ``insufficient_history``)."""


# Symbols with gaps are solved in blocks of this many (memory ~ block × T × k × 8 bytes × a few).
_GAPPY_CHUNK = 2048


# --- dates ----------------------------------------------------------------------------------


def _days(values) -> np.ndarray:
    """Dates / timestamps / ISO strings as a ``datetime64[D]`` array (NaT for missing)."""
    if isinstance(values, pd.DatetimeIndex):
        return values.tz_localize(None).normalize().to_numpy().astype("datetime64[D]")
    stamps = pd.to_datetime(pd.Index(list(values), dtype=object), errors="coerce")
    return stamps.normalize().to_numpy().astype("datetime64[D]")


def _day(value) -> np.datetime64:
    return np.datetime64(pd.Timestamp(value).date(), "D")


def _session_days(sessions) -> np.ndarray:
    """Sessions as a sorted, unique ``datetime64[D]`` array."""
    days = _days(sessions)
    return np.unique(days[~np.isnat(days)])


def _date_index(days: np.ndarray) -> pd.Index:
    """``datetime64[D]`` array as an object Index of ``datetime.date`` named ``date``."""
    return pd.Index(days.astype("datetime64[D]").astype(dt.date), dtype=object, name="date")


def _by_day(frame: pd.DataFrame | pd.Series) -> pd.DataFrame | pd.Series:
    """``frame`` re-indexed by ``datetime64[D]`` days (sorted; the last duplicate wins)."""
    out = frame.set_axis(pd.DatetimeIndex(_days(frame.index)), axis=0)
    out = out.loc[out.index.notna()]
    out = out.loc[~out.index.duplicated(keep="last")]
    return out.sort_index()


def _positive_prices(frame: pd.DataFrame) -> pd.DataFrame:
    """Prices as float64 with non-finite and non-positive values treated as missing (NaN)."""
    values = frame.to_numpy(dtype=np.float64, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        values = np.where(np.isfinite(values) & (values > 0), values, np.nan)
    return pd.DataFrame(values, index=frame.index, columns=frame.columns)


# --- returns --------------------------------------------------------------------------------


def daily_returns(adj_close: pd.DataFrame, sessions) -> pd.DataFrame:
    """Simple daily returns between consecutive NYSE sessions.

    Parameters
    ----------
    adj_close:
        Wide frame, index = trading days, columns = symbols, values = adjusted closes in $ per
        share (NaN = no price). Non-positive prices are treated as missing; rows on days that
        are not sessions are ignored.
    sessions:
        NYSE sessions (list/array of ``datetime.date`` or a DatetimeIndex) covering the range.

    Returns
    -------
    Frame indexed by the sessions within ``adj_close``'s date range (``datetime.date``, named
    ``date``), same columns: ``r_t = P_t / P_prev − 1`` where ``prev`` is the previous NYSE
    session. A missing close on either session makes the return NaN — a return never spans a
    gap. The first session of the range has no previous session in the data: NaN.
    """
    prices = _by_day(_positive_prices(adj_close))
    sessions_d = _session_days(sessions)
    if prices.empty:
        grid = sessions_d[:0]
    else:
        first, last = _day(prices.index[0]), _day(prices.index[-1])
        grid = sessions_d[(sessions_d >= first) & (sessions_d <= last)]
    p = prices.reindex(pd.DatetimeIndex(grid)).to_numpy(dtype=np.float64)  # (n_days, n_sym)
    previous = np.vstack([np.full((1, p.shape[1]), np.nan), p[:-1]])[: len(p)]
    returns = p / previous - 1.0
    return pd.DataFrame(returns, index=_date_index(grid), columns=adj_close.columns)


def factor_returns(adj_close: pd.DataFrame, sessions, proxies=FACTOR_PROXIES) -> pd.DataFrame:
    """Daily factor returns from ETF proxies (SPEC §5.3).

    ``proxies`` maps factor -> (long ETF, short ETF or None). A factor's return is the long
    ETF's simple daily return, minus the short ETF's when there is one (a long-short spread,
    decimal). NaN when any leg lacks a return. Index: as :func:`daily_returns`; columns: the
    factors in ``proxies`` order (:data:`EQUITY_FACTORS` for the default table).
    """
    legs = list(dict.fromkeys(s for pair in proxies.values() for s in pair if s is not None))
    symbol_returns = daily_returns(adj_close.reindex(columns=legs), sessions)
    columns = {}
    for factor, (long_leg, short_leg) in proxies.items():
        r = symbol_returns[long_leg].to_numpy()
        if short_leg is not None:
            r = r - symbol_returns[short_leg].to_numpy()
        columns[factor] = r
    return pd.DataFrame(columns, index=symbol_returns.index, columns=list(proxies))


# --- regressions ----------------------------------------------------------------------------


def _equilibrated_inverse(
    gram: np.ndarray, raw_ss: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inverse of centred Gram matrices through their correlation form.

    gram: (..., k, k) centred cross-products X_cᵀX_c; raw_ss: (..., k) uncentred Σx².
    Returns (inv_corr (..., k, k), scale (..., k) = √diag(gram), full_rank (...)). The
    inverse of ``gram`` is ``inv_corr / (scale_i scale_j)``; rows that are not full rank get an
    identity placeholder (their results must be discarded).
    """
    diag = np.diagonal(gram, axis1=-2, axis2=-1)
    varying = (diag > _CONSTANT_REL_SS * raw_ss).all(axis=-1)
    scale = np.sqrt(np.where(diag > 0, diag, 1.0))
    corr = gram / (scale[..., :, None] * scale[..., None, :])
    k = gram.shape[-1]
    eye = np.eye(k)
    corr = np.where(varying[..., None, None], corr, eye)
    min_eig = np.linalg.eigvalsh(corr)[..., 0]
    full_rank = varying & (min_eig > _MIN_CORR_EIGENVALUE)
    corr = np.where(full_rank[..., None, None], corr, eye)
    return np.linalg.inv(corr), scale, full_rank


def _masked_ols(
    x: np.ndarray, y: np.ndarray, valid: np.ndarray, min_obs: int
) -> dict[str, np.ndarray]:
    """OLS with intercept of every column of ``y`` on ``x``, each over its own valid rows.

    x: (T, k) regressors, y: (T, m) responses, valid: (T, m) bool (rows to use per column;
    x must be finite there). Returns arrays ``beta`` and ``std_err`` (m, k), ``r_squared``,
    ``n_obs`` and ``estimated`` (m,). Slopes come from centred data (Frisch–Waugh), standard
    errors are the non-robust ``σ̂²·(X'X)⁻¹`` with σ̂² = SSR / (n − k − 1), R² is centred.
    """
    # Products with the wide (T, m) panels use np.einsum rather than BLAS matmul: at these
    # shapes a multi-threaded BLAS gains little and, on a busy machine, can cost 10x more.
    T, k = x.shape
    m = y.shape[1]
    n_obs = valid.sum(axis=0)
    beta = np.full((m, k), np.nan)
    inv_diag = np.full((m, k), np.nan)
    ssr = np.full(m, np.nan)
    tss = np.full(m, np.nan)
    estimated = np.zeros(m, dtype=bool)
    enough = n_obs >= max(min_obs, k + 2)
    if T == 0 or not enough.any():
        return {"beta": beta, "std_err": np.full((m, k), np.nan), "r_squared": np.full(m, np.nan),
                "n_obs": n_obs, "estimated": estimated, "ssr": ssr}

    rows = valid.any(axis=1)  # rows some column uses; x is finite there
    x0 = np.where(rows[:, None], x, 0.0)
    y0 = np.where(valid, y, 0.0)
    # complete columns: valid on every row that any enough-column uses -> one shared design
    complete = enough & valid[rows].all(axis=0)
    gappy = enough & ~complete

    if complete.any():
        cols = np.flatnonzero(complete)
        xr = x0[rows]  # (T_c, k)
        xc = xr - xr.mean(axis=0)
        yr = y0[:, cols][rows]  # (T_c, m_c)
        yc = yr - yr.mean(axis=0)
        gram = xc.T @ xc
        _, _, full_rank = _equilibrated_inverse(gram, (xr**2).sum(axis=0))
        if full_rank:
            q, r = np.linalg.qr(xc)
            b = solve_triangular(r, np.einsum("tk,tm->km", q, yc))  # (k, m_c)
            r_inv = solve_triangular(r, np.eye(k))
            resid = yc - np.einsum("tk,km->tm", xc, b)
            beta[cols] = b.T
            inv_diag[cols] = (r_inv**2).sum(axis=1)
            ssr[cols] = (resid**2).sum(axis=0)
            tss[cols] = (yc**2).sum(axis=0)
            estimated[cols] = True

    gappy_cols = np.flatnonzero(gappy)
    for start in range(0, len(gappy_cols), _GAPPY_CHUNK):  # bounds the (g, T, k) temporaries
        cols = gappy_cols[start : start + _GAPPY_CHUNK]
        w = valid[:, cols].T.astype(np.float64)  # (g, T)
        n = n_obs[cols].astype(np.float64)  # (g,)
        x_mean = np.einsum("gt,tk->gk", w, x0) / n[:, None]  # (g, k)
        xc = (x0[None, :, :] - x_mean[:, None, :]) * w[:, :, None]  # (g, T, k), 0 off-rows
        yg = y0[:, cols].T  # (g, T), zero where invalid
        yc = (yg - (yg.sum(axis=1) / n)[:, None]) * w  # (g, T)
        # rank test only (a constant or collinear window); the solve is a QR of each
        # symbol's own rows: the normal equations square the condition number (1e-7 against
        # statsmodels at cond 1e9, where QR stays at ~1e-12)
        gram = np.einsum("gtk,gtl->gkl", xc, xc)  # (g, k, k)
        raw_ss = np.einsum("gt,tk->gk", w, x0**2)  # (g, k)
        _, _, full_rank = _equilibrated_inverse(gram, raw_ss)
        q, r = np.linalg.qr(xc)  # (g, T, k), (g, k, k): zero rows add nothing to R
        r = np.where(np.abs(np.diagonal(r, axis1=1, axis2=2)).min(axis=1)[:, None, None] > 0,
                     r, np.eye(k))
        r = np.where(full_rank[:, None, None], r, np.eye(k))  # placeholder, discarded below
        qty = np.einsum("gtk,gt->gk", q, yc)  # (g, k)
        b = _upper_solve(r, qty[:, :, None])[:, :, 0]  # (g, k)
        r_inv = _upper_solve(r, np.broadcast_to(np.eye(k), r.shape))  # (g, k, k)
        resid = yc - np.einsum("gtk,gk->gt", xc, b)
        ok_cols = cols[full_rank]
        beta[ok_cols] = b[full_rank]
        inv_diag[ok_cols] = (r_inv**2).sum(axis=2)[full_rank]  # diag((XᵀX)⁻¹) = ‖row of R⁻¹‖²
        ssr[ok_cols] = (resid**2).sum(axis=1)[full_rank]
        tss[ok_cols] = (yc**2).sum(axis=1)[full_rank]
        estimated[ok_cols] = True

    df_resid = np.where(estimated, n_obs - k - 1, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        std_err = np.sqrt(ssr / df_resid)[:, None] * np.sqrt(inv_diag)
        r_squared = 1.0 - ssr / tss
    return {"beta": beta, "std_err": std_err, "r_squared": r_squared, "n_obs": n_obs,
            "estimated": estimated, "ssr": ssr}


def _upper_solve(r: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Back substitution R·z = rhs for a stack of upper-triangular R (g, k, k), rhs (g, k, m);
    vectorized over the stack, a loop over the k (≤ 7) rows."""
    k = r.shape[-1]
    z = np.zeros(np.broadcast_shapes(rhs.shape, (r.shape[0], k, rhs.shape[-1])))
    for i in range(k - 1, -1, -1):
        acc = rhs[:, i, :] - np.einsum("gj,gjm->gm", r[:, i, i + 1 :], z[:, i + 1 :, :])
        z[:, i, :] = acc / r[:, i, i][:, None]
    return z


def _window_days(days: np.ndarray, day, window: int) -> np.ndarray:
    """The last ``window`` entries of sorted ``days`` that are <= ``day``."""
    end = np.searchsorted(days, _day(day), side="right")
    return days[max(0, end - window) : end]


def factor_exposures(
    asset_returns: pd.DataFrame,
    factor_returns: pd.DataFrame,
    day,
    window: int = WINDOW,
    min_obs: int = MIN_OBS,
    cap: float = BETA_CAP,
) -> pd.DataFrame:
    """The betas of :func:`factor_model` alone (its first frame)."""
    return factor_model(asset_returns, factor_returns, day, window, min_obs, cap)[0]


def factor_model(
    asset_returns: pd.DataFrame,
    factor_returns: pd.DataFrame,
    day,
    window: int = WINDOW,
    min_obs: int = MIN_OBS,
    cap: float = BETA_CAP,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Joint multi-factor OLS betas and specific risk of every symbol on ``day`` (SPEC §5.3,
    §7.1), from one regression.

    Parameters
    ----------
    asset_returns:
        Wide daily simple returns (decimal), index = dates, one column per symbol
        (:func:`daily_returns`).
    factor_returns:
        Wide daily factor returns (decimal), index = dates, one column per factor
        (:func:`factor_returns`).
    day:
        The partition day; the window is the last ``window`` dates of ``factor_returns``'s
        index that are ``<= day``.

    Each symbol is regressed, with an intercept, on all factor columns jointly over the window
    dates where its own return and every factor return are present (missing rows dropped per
    symbol). Standard errors are the classical (non-robust) OLS ones, identical to
    ``sm.OLS(y, sm.add_constant(X)).fit()``; R² is the centred R² of that fit.

    Returns
    -------
    Long frame, one row per (symbol, factor), symbols in column order and factors in
    ``factor_returns`` column order, columns :data:`FACTOR_EXPOSURE_COLUMNS`:
    ``beta`` (return per unit factor return), ``std_err``, ``t_stat`` (= unclipped beta /
    std_err), ``r_squared`` (per symbol, repeated), ``n_obs`` (rows used), ``quality``:

    * ``insufficient_history`` — fewer than ``min_obs`` usable rows, or a rank-deficient window
      (e.g. a factor constant over the symbol's rows): beta, std_err, t_stat and r_squared NaN;
    * ``capped`` — ``|beta| > cap``: beta stored as ``±cap``; std_err and t_stat stay those of
      the unclipped estimate (only this factor's row is capped);
    * ``ok`` — otherwise.

    Second frame, one row per symbol, columns :data:`SPECIFIC_RISK_COLUMNS`: ``specific_vol``
    = the residual standard deviation √(RSS / (n − k − 1)) of the same (unclipped) fit, daily
    decimal return (n − 7 with the six factors and the intercept); NaN with quality
    ``insufficient_history`` exactly when the betas are.
    """
    factors = factor_returns.columns.to_numpy(dtype=object)
    symbols = asset_returns.columns.to_numpy(dtype=object)
    k, m = len(factors), len(symbols)
    f = _by_day(factor_returns)
    window_days = _window_days(f.index.to_numpy().astype("datetime64[D]"), day, window)
    idx = pd.DatetimeIndex(window_days)
    x = f.reindex(idx).to_numpy(dtype=np.float64, na_value=np.nan)  # (T, k)
    y = _by_day(asset_returns).reindex(idx).to_numpy(dtype=np.float64, na_value=np.nan)  # (T, m)
    valid = np.isfinite(y) & np.isfinite(x).all(axis=1)[:, None]  # (T, m)

    fit = _masked_ols(x, y, valid, min_obs)
    estimated = fit["estimated"]
    beta = fit["beta"]  # (m, k), unclipped
    with np.errstate(invalid="ignore", divide="ignore"):
        t_stat = beta / fit["std_err"]
        over_cap = np.abs(beta) > cap
    quality = np.where(
        estimated[:, None],
        np.where(over_cap, QUALITY_CAPPED, QUALITY_OK),
        QUALITY_INSUFFICIENT,
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        specific = np.sqrt(fit["ssr"] / np.where(estimated, fit["n_obs"] - k - 1, 1))
    specific_rows = pd.DataFrame(
        {
            "symbol": symbols,
            "specific_vol": np.where(estimated, specific, np.nan),
            "n_obs": fit["n_obs"].astype(np.int64),
            "quality": np.where(estimated, QUALITY_OK, QUALITY_INSUFFICIENT).astype(object),
        },
        columns=SPECIFIC_RISK_COLUMNS,
    )
    return pd.DataFrame(
        {
            "symbol": np.repeat(symbols, k),
            "factor": np.tile(factors, m),
            "beta": np.clip(beta, -cap, cap).ravel(),
            "std_err": fit["std_err"].ravel(),
            "t_stat": t_stat.ravel(),
            "r_squared": np.repeat(fit["r_squared"], k),
            "n_obs": np.repeat(fit["n_obs"].astype(np.int64), k),
            "quality": quality.astype(object).ravel(),
        },
        columns=FACTOR_EXPOSURE_COLUMNS,
    ), specific_rows


def interest_rate_betas(
    adj_close: pd.DataFrame,
    dgs10: pd.Series,
    sessions,
    day,
    window: int = WINDOW,
    min_obs: int = MIN_OBS,
) -> pd.DataFrame:
    """Univariate OLS interest-rate betas of every symbol on ``day`` (SPEC §5.4).

    Parameters
    ----------
    adj_close:
        Wide adjusted closes ($ per share), index = trading days, one column per symbol.
    dgs10:
        The 10-year Treasury constant-maturity yield in percent as FRED publishes it (4.25 =
        4.25 %), index = dates. NaN / absent days have no yield; values on days that are not
        NYSE sessions are ignored.
    sessions:
        NYSE sessions covering the history.
    day:
        The partition day.

    Observations are consecutive *yield days* (sessions with a yield) s < t: the regressor is
    the yield change ``y_t − y_s`` in percentage points and the response the symbol's return
    compounded over the same span, ``P_t / P_s − 1`` (NaN when either price is missing, and
    then dropped for that symbol). On a session without a yield the change therefore runs
    from the last day with one. The window holds the observations whose end t lies within the
    last ``window`` sessions ending on ``day``.

    Returns
    -------
    One row per symbol (column order), columns :data:`IR_BETA_COLUMNS`: ``ir_beta`` (decimal
    return per +1 pp of DGS10; negative for a bond-like asset), its non-robust ``std_err``,
    centred ``r_squared``, ``n_obs`` and ``quality`` (``ok`` | ``insufficient_history``, the
    latter with NaN estimates, also for a window whose yield never moves).
    """
    symbols = adj_close.columns.to_numpy(dtype=object)
    sessions_d = _session_days(sessions)
    window_sessions = _window_days(sessions_d, day, window)
    yields = _by_day(pd.to_numeric(dgs10, errors="coerce").dropna())
    yield_days = yields.index.to_numpy().astype("datetime64[D]")
    on_session = np.isin(yield_days, sessions_d) & (yield_days <= _day(day))
    yield_days = yield_days[on_session]
    yield_pp = yields.to_numpy(dtype=np.float64)[on_session]

    if len(window_sessions) and len(yield_days) > 1:
        ends = np.flatnonzero(yield_days[1:] >= window_sessions[0]) + 1  # observation end idx
    else:
        ends = np.array([], dtype=np.int64)
    t_days, s_days = yield_days[ends], yield_days[ends - 1]
    dy = yield_pp[ends] - yield_pp[ends - 1]  # (T,) percentage points

    prices = _by_day(_positive_prices(adj_close))
    p_end = prices.reindex(pd.DatetimeIndex(t_days)).to_numpy(dtype=np.float64)  # (T, m)
    p_start = prices.reindex(pd.DatetimeIndex(s_days)).to_numpy(dtype=np.float64)
    r = p_end / p_start - 1.0  # (T, m) compounded over s -> t
    valid = np.isfinite(r) & np.isfinite(dy)[:, None]

    fit = _masked_ols(dy[:, None], r, valid, min_obs)
    estimated = fit["estimated"]
    return pd.DataFrame(
        {
            "symbol": symbols,
            "ir_beta": fit["beta"][:, 0],
            "std_err": fit["std_err"][:, 0],
            "r_squared": fit["r_squared"],
            "n_obs": fit["n_obs"].astype(np.int64),
            "quality": np.where(estimated, QUALITY_OK, QUALITY_INSUFFICIENT).astype(object),
        },
        columns=IR_BETA_COLUMNS,
    )


# --- covariance -----------------------------------------------------------------------------


def ewma_covariance(
    factor_returns: pd.DataFrame,
    day,
    lam: float = EWMA_LAMBDA,
    n: int = EWMA_WINDOW,
    min_obs: int = MIN_OBS,
) -> tuple[pd.DataFrame, int]:
    """Zero-mean exponentially weighted (RiskMetrics) covariance of the factors (SPEC §5.5).

    Rows dated after ``day`` and rows with any NaN are dropped; of the rest the last ``n``
    (ending on ``day``) are used, N of them. With r_(t−k) the k-th most recent row (k = 0 the
    latest), ``Σ = Σ_k w_k r_(t−k) r_(t−k)ᵀ``, ``w_k = (1 − λ) λ^k / (1 − λ^N)`` (weights sum
    to 1). No mean is subtracted. Daily scale (decimal returns squared, not annualized); PSD by
    construction and exactly symmetric.

    Returns ``(cov, N)``: cov is factors × factors in ``factor_returns`` column order.
    Raises :class:`InsufficientHistoryError` when N < ``min_obs``.
    """
    f = _by_day(factor_returns)
    f = f.loc[f.index <= pd.Timestamp(_day(day))]
    r = f.to_numpy(dtype=np.float64, na_value=np.nan)
    r = r[np.isfinite(r).all(axis=1)][-n:] if n > 0 else r[:0]  # (N, k), oldest first
    n_obs = len(r)
    if n_obs < min_obs:
        raise InsufficientHistoryError(
            f"factor covariance on {pd.Timestamp(day).date()}: {n_obs} complete factor-return "
            f"rows, fewer than the {min_obs} required"
        )
    k_back = np.arange(n_obs)[::-1]  # 0 for the most recent row
    weights = (1.0 - lam) * lam**k_back / (1.0 - lam**n_obs)  # (N,)
    cov = (r * weights[:, None]).T @ r
    cov = 0.5 * (cov + cov.T)
    columns = list(factor_returns.columns)
    return pd.DataFrame(cov, index=columns, columns=columns), n_obs


def correlation_from_covariance(cov: pd.DataFrame) -> pd.DataFrame:
    """Correlation matrix ``Σ_ab / √(Σ_aa Σ_bb)``; diagonal exactly 1, values clipped to
    [−1, 1]; NaN in the row and column of a factor with zero variance."""
    c = cov.to_numpy(dtype=np.float64)
    sd = np.sqrt(np.diagonal(c))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = c / np.outer(sd, sd)
    corr = np.where(np.outer(sd > 0, sd > 0), np.clip(corr, -1.0, 1.0), np.nan)
    positive = np.flatnonzero(sd > 0)
    corr[positive, positive] = 1.0
    return pd.DataFrame(corr, index=cov.index, columns=cov.columns)


def factor_correlation_rows(cov: pd.DataFrame, n_obs: int) -> pd.DataFrame:
    """Rows of ``factor_correlations``: every ordered pair (a, b) of the factors, diagonal
    included, a-major in ``cov`` order; columns :data:`CORRELATION_COLUMNS` (covariance in
    daily decimal-return² units)."""
    corr = correlation_from_covariance(cov).to_numpy()
    names = np.asarray(list(cov.columns), dtype=object)
    k = len(names)
    return pd.DataFrame(
        {
            "factor_a": np.repeat(names, k),
            "factor_b": np.tile(names, k),
            "correlation": corr.ravel(),
            "covariance": cov.to_numpy(dtype=np.float64).ravel(),
            "n_obs": np.full(k * k, int(n_obs), dtype=np.int64),
        },
        columns=CORRELATION_COLUMNS,
    )


# --- portfolios -----------------------------------------------------------------------------


def portfolio_factor_exposures(
    positions: pd.DataFrame, betas: pd.DataFrame, ir_betas: pd.DataFrame
) -> pd.DataFrame:
    """Portfolio factor betas, dollar exposures and coverage (SPEC §4, §5.3, §5.4).

    Parameters
    ----------
    positions:
        One row per valued position: ``position_id``, ``portfolio_id``, ``beta_symbol`` (the
        underlying for options, the symbol itself for stocks) and ``exposure`` ($, signed;
        delta-adjusted for options). Rows with a non-finite exposure are left out entirely.
    betas:
        :func:`factor_exposures` output (``symbol``, ``factor``, ``beta``; NaN = no beta).
    ir_betas:
        :func:`interest_rate_betas` output (``symbol``, ``ir_beta``).

    Per portfolio and factor f (:data:`EQUITY_FACTORS`, then :data:`RATE_FACTOR`):

    * ``dollar_exposure_f = Σ exposure_i · beta_if`` over positions with a beta — $ per unit
      factor return (Rate: $ per +1 percentage point of DGS10);
    * ``beta_f = dollar_exposure_f / gross``, gross = Σ|exposure| of *all* the portfolio's
      positions (so defined for market-neutral books, and diluted by uncovered positions);
    * ``coverage = Σ|exposure| of positions with a beta / gross`` (0 to 1).

    A portfolio with gross 0 has beta and coverage NaN. A factor no position of the portfolio
    has a beta for (coverage 0) has beta and dollar_exposure NaN, not a 0 that would read as a
    measured neutral exposure. Portfolios appear in order of first appearance, 7 rows each.
    """
    factors = [*EQUITY_FACTORS, RATE_FACTOR]
    exposure = pd.to_numeric(positions["exposure"], errors="coerce").to_numpy(dtype=np.float64)
    keep = np.isfinite(exposure)
    exposure = exposure[keep]
    portfolio = positions["portfolio_id"].to_numpy(dtype=object)[keep]
    beta_symbol = positions["beta_symbol"].to_numpy(dtype=object)[keep]

    wide = (
        betas.loc[betas["factor"].isin(EQUITY_FACTORS), ["symbol", "factor", "beta"]]
        .drop_duplicates(["symbol", "factor"], keep="last")
        .pivot(index="symbol", columns="factor", values="beta")
        .reindex(columns=EQUITY_FACTORS)
    )
    rate = ir_betas.drop_duplicates("symbol", keep="last").set_index("symbol")["ir_beta"]
    wide = wide.join(rate.rename(RATE_FACTOR), how="outer").reindex(columns=factors)
    b = wide.reindex(pd.Index(beta_symbol, dtype=object)).to_numpy(
        dtype=np.float64, na_value=np.nan
    )  # (n_positions, 7)
    has_beta = np.isfinite(b)
    abs_exposure = np.abs(exposure)

    codes, uniques = pd.factorize(pd.Series(portfolio, dtype=object), sort=False)
    n_pf = len(uniques)
    gross = np.bincount(codes, weights=abs_exposure, minlength=n_pf)  # (n_pf,)
    dollar = np.zeros((n_pf, len(factors)))
    covered = np.zeros((n_pf, len(factors)))
    np.add.at(dollar, codes, np.where(has_beta, exposure[:, None] * np.nan_to_num(b), 0.0))
    np.add.at(covered, codes, np.where(has_beta, abs_exposure[:, None], 0.0))
    n_covered = np.zeros((n_pf, len(factors)), dtype=np.int64)
    np.add.at(n_covered, codes, has_beta.astype(np.int64))

    with np.errstate(invalid="ignore", divide="ignore"):
        gross_or_nan = np.where(gross > 0, gross, np.nan)[:, None]
        dollar = np.where(n_covered > 0, dollar, np.nan)
        beta = dollar / gross_or_nan
        coverage = covered / gross_or_nan
    return pd.DataFrame(
        {
            "portfolio_id": np.repeat(np.asarray(uniques, dtype=object), len(factors)),
            "factor": np.tile(np.asarray(factors, dtype=object), n_pf),
            "beta": beta.ravel(),
            "dollar_exposure": dollar.ravel(),
            "coverage": coverage.ravel(),
        },
        columns=PORTFOLIO_FACTOR_COLUMNS,
    )
