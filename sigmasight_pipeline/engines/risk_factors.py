"""The seven risk factors of the portfolio risk model and their covariance (SPEC §7.1).

The six equity factors of §5.3 plus ``Rate`` = the daily change of DGS10 in percentage
points. Pure numpy/pandas.

* ``Rate`` on a session is y_t − y_s, s the last earlier session with a DGS10 value
  (percentage points, +0.10 = the 10-year yield up 10 bp); 0 on a session without a value
  (the next change then runs from the last day with one), and 0 on the first session of the
  history, which has nothing before it.
* The covariance is §5.5's zero-mean EWMA (λ 0.94, the last 252 rows, at least 60,
  normalised weights) over exactly the rows of the equity covariance (the sessions where all
  six equity factors have a return), so its equity block equals ``factor_correlations``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .factors import (
    EQUITY_FACTORS,
    EWMA_LAMBDA,
    EWMA_WINDOW,
    MIN_OBS,
    RATE_FACTOR,
    _by_day,
    _date_index,
    _session_days,
    ewma_covariance,
)

__all__ = ["RISK_FACTORS", "RISK_COVARIANCE_COLUMNS", "rate_changes", "risk_factor_covariance",
           "risk_covariance_rows"]

#: the factor order of every 7-vector and 7 × 7 matrix of the risk model
RISK_FACTORS = [*EQUITY_FACTORS, RATE_FACTOR]
RISK_COVARIANCE_COLUMNS = ["factor_a", "factor_b", "covariance", "n_obs"]


def rate_changes(dgs10: pd.Series, sessions) -> pd.Series:
    """Daily ΔDGS10 in percentage points on every session from the first yield on.

    dgs10: the yield in percent (FRED's units), index = dates; NaN or absent = no value;
    values on days that are not sessions are ignored. Returns a Series indexed by the
    sessions (``datetime.date``, named ``date``) from the first to the last yield date.
    """
    yields = _by_day(pd.to_numeric(dgs10, errors="coerce").dropna())
    sessions_d = _session_days(sessions)
    if yields.empty:
        return pd.Series(dtype=float, index=_date_index(sessions_d[:0]), name=RATE_FACTOR)
    first = np.datetime64(yields.index[0].date(), "D")
    last = np.datetime64(yields.index[-1].date(), "D")
    grid = sessions_d[(sessions_d >= first) & (sessions_d <= last)]
    on_grid = yields.reindex(pd.DatetimeIndex(grid)).to_numpy(dtype=np.float64)
    carried = pd.Series(on_grid).ffill().to_numpy()  # last value up to each session
    previous = np.concatenate([[np.nan], carried[:-1]])
    change = np.where(np.isfinite(on_grid) & np.isfinite(previous), on_grid - previous, 0.0)
    return pd.Series(change + 0.0, index=_date_index(grid), name=RATE_FACTOR)


def risk_factor_covariance(factor_returns: pd.DataFrame, rate: pd.Series, day,
                           lam: float = EWMA_LAMBDA, n: int = EWMA_WINDOW,
                           min_obs: int = MIN_OBS) -> tuple[pd.DataFrame, int]:
    """7 × 7 daily covariance of :data:`RISK_FACTORS` on ``day`` and its N (SPEC §7.1).

    factor_returns: the six equity factor returns (decimal), index = dates; rate:
    :func:`rate_changes` (pp). Rows are those with all six equity returns; Rate is 0 on a
    row it does not cover. Units: decimal² for equity pairs, decimal × pp for equity–Rate,
    pp² for Rate. Raises InsufficientHistoryError (from ewma_covariance) below ``min_obs``.
    """
    equity = _by_day(factor_returns.reindex(columns=EQUITY_FACTORS))
    equity = equity.loc[np.isfinite(equity.to_numpy(dtype=np.float64)).all(axis=1)]
    r = _by_day(rate.rename(RATE_FACTOR).to_frame()).reindex(equity.index).fillna(0.0)
    frame = pd.concat([equity, r], axis=1)
    return ewma_covariance(frame, day, lam=lam, n=n, min_obs=min_obs)


def risk_covariance_rows(cov: pd.DataFrame, n_obs: int) -> pd.DataFrame:
    """All 49 ordered (factor_a, factor_b) rows of ``risk_factor_covariance``, a-major."""
    names = np.asarray(RISK_FACTORS, dtype=object)
    c = cov.reindex(index=RISK_FACTORS, columns=RISK_FACTORS).to_numpy(dtype=np.float64)
    k = len(names)
    return pd.DataFrame({"factor_a": np.repeat(names, k), "factor_b": np.tile(names, k),
                         "covariance": c.ravel(), "n_obs": np.full(k * k, int(n_obs))},
                        columns=RISK_COVARIANCE_COLUMNS)
