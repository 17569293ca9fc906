"""Performance statistics of daily portfolio returns (SPEC §7.8), vectorized over portfolios.

Input is a (dates × portfolios) frame of daily_return (decimal; NaN where the snapshot has
none, e.g. a portfolio's first day — such days are skipped, not counted as 0). A period is
the last n *observations* of a portfolio (n = 21, 63, 252) or all of them (``inception``).
Annualization uses 252 trading days. Conventions (empyrical's, configured to match):

* annualized_return = Π(1 + r)^(252/n) − 1; annualized_vol = std(r, ddof=1)·√252.
* excess return e = r − rf with rf = DGS3MO/100/252 of the day (percent → daily decimal);
  sharpe = mean(e)/std(e, ddof=1)·√252; sortino = mean(e)/√(mean(min(e, 0)²))·√252
  (downside deviation over *all* n days, target 0 on excess returns: empyrical's
  ``downside_risk``; not the below-target-days-only variant).
* max_drawdown = min W/peak(W) − 1 on W = Π(1 + r) with W₀ = 1 counting as a peak (a
  negative decimal); drawdown_peak_date is the day of that peak (for W₀: the session before
  the period's first return), drawdown_trough_date the day of the trough.
* calmar = annualized_return / |max_drawdown| (NULL without a drawdown); best_day,
  worst_day; hit_ratio = share of r > 0.
* against SPY's adj_close returns on the same days (days without one are left out of these
  five only): beta_spy = cov(r, s)/var(s); correlation_spy; tracking_error =
  std(r − s, ddof=1)·√252; information_ratio = mean(r − s)·√252 / tracking_error.

A period with fewer observations than its length (inception: fewer than 20) has every
statistic NULL and flag ``insufficient_history``; n_obs is still the count available.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

#: period name → observations (None: since inception)
PERIODS: dict[str, int | None] = {"21d": 21, "63d": 63, "252d": 252, "inception": None}
#: fewest observations of an inception period
MIN_INCEPTION = 20
TRADING_DAYS = 252

STAT_COLUMNS = ["n_obs", "annualized_return", "annualized_vol", "sharpe", "sortino",
                "max_drawdown", "drawdown_peak_date", "drawdown_trough_date", "calmar",
                "best_day", "worst_day", "hit_ratio", "beta_spy", "correlation_spy",
                "tracking_error", "information_ratio"]


def compact_right(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Move each row's finite values to its right end, in order, NaN padding on the left.

    values: (series, days). Returns (compacted values, original column of each entry, −1
    for padding): the last k columns of a row are then its last k observations.
    """
    valid = np.isfinite(values)
    order = np.argsort(valid, axis=1, kind="stable")  # invalid first, valid keep their order
    compacted = np.take_along_axis(np.where(valid, values, np.nan), order, axis=1)
    source = np.where(np.take_along_axis(valid, order, axis=1), order, -1)
    return compacted, source


def _nanstd(x: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanstd(x, axis=1, ddof=1) if x.shape[1] else np.full(len(x), np.nan)


def _drawdown(r: np.ndarray, source: np.ndarray, dates: np.ndarray):
    """max drawdown (series,) and its peak and trough dates (NaT when none)."""
    growth = np.where(np.isnan(r), 1.0, 1.0 + r)
    wealth = np.concatenate([np.ones((len(r), 1)), np.cumprod(growth, axis=1)], axis=1)
    peak = np.maximum.accumulate(wealth, axis=1)
    dd = wealth / peak - 1.0
    trough = np.argmin(dd, axis=1)  # in wealth columns, 0 = W₀
    mdd = dd[np.arange(len(r)), trough]
    # the peak: the last column up to the trough where the wealth equalled its running max
    cols = np.arange(wealth.shape[1])[None, :]
    at_peak = (wealth >= peak) & (cols <= trough[:, None])
    peak_col = np.where(at_peak, cols, -1).max(axis=1)
    # wealth column c ≥ 1 is the return in compacted column c − 1; column 0 (W₀) is the
    # session before the first return: the date before its source column
    first = np.argmax(np.isfinite(r), axis=1)
    first_src = source[np.arange(len(r)), first]
    before = (first_src - 1)[:, None]  # left padding (no return yet) is still W₀
    src_of = np.concatenate([before, np.where(source >= 0, source, before)], axis=1)
    nat = np.datetime64("NaT", "D")

    def date_at(col):
        s = src_of[np.arange(len(r)), col]
        return np.where(s >= 0, dates[np.clip(s, 0, None)], nat)

    no_dd = mdd >= 0
    return (mdd, np.where(no_dd, nat, date_at(peak_col)), np.where(no_dd, nat, date_at(trough)))


def window_statistics(r: np.ndarray, rf: np.ndarray, spy: np.ndarray, source: np.ndarray,
                      dates: np.ndarray) -> pd.DataFrame:
    """Statistics of each row of a window (series, n); NaN entries are not observations."""
    obs = np.isfinite(r)
    n = obs.sum(axis=1)
    # a row without observations gives NaN (NULL + insufficient_history), silently
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        log_growth = np.nansum(np.log1p(r), axis=1)
        ann_return = np.expm1(log_growth * TRADING_DAYS / n)
        vol = _nanstd(r) * np.sqrt(TRADING_DAYS)
        ex = r - rf
        ex_mean = np.nanmean(ex, axis=1)
        sharpe = ex_mean / _nanstd(ex) * np.sqrt(TRADING_DAYS)
        downside = np.sqrt(np.nanmean(np.minimum(ex, 0.0) ** 2, axis=1))
        sortino = np.where(downside > 0, ex_mean / downside * np.sqrt(TRADING_DAYS), np.nan)
        mdd, peak_date, trough_date = _drawdown(r, source, dates)
        calmar = np.where(mdd < 0, ann_return / np.abs(mdd), np.nan)
        best, worst = np.nanmax(r, axis=1), np.nanmin(r, axis=1)
        hit = np.where(obs, r > 0, False).sum(axis=1) / n
        both = obs & np.isfinite(spy)
        rb, sb = np.where(both, r, np.nan), np.where(both, spy, np.nan)
        rc = rb - np.nanmean(rb, axis=1, keepdims=True)
        sc = sb - np.nanmean(sb, axis=1, keepdims=True)
        cov, var_s, var_r = (np.nansum(rc * sc, axis=1), np.nansum(sc * sc, axis=1),
                             np.nansum(rc * rc, axis=1))
        enough_spy = both.sum(axis=1) >= 2
        beta = np.where(enough_spy & (var_s > 0), cov / var_s, np.nan)
        corr = np.where(enough_spy & (var_s > 0) & (var_r > 0),
                        cov / np.sqrt(var_s * var_r), np.nan)
        active = rb - sb
        te = _nanstd(active) * np.sqrt(TRADING_DAYS)
        te = np.where(enough_spy, te, np.nan)
        ir = np.where(te > 0, np.nanmean(active, axis=1) * TRADING_DAYS / te, np.nan)
    finite = {k: np.where(np.isfinite(v), v, np.nan) for k, v in {
        "annualized_return": ann_return, "annualized_vol": vol, "sharpe": sharpe,
        "sortino": sortino, "max_drawdown": mdd, "calmar": calmar, "best_day": best,
        "worst_day": worst, "hit_ratio": hit, "beta_spy": beta, "correlation_spy": corr,
        "tracking_error": te, "information_ratio": ir}.items()}
    return pd.DataFrame({"n_obs": n.astype("int64"), **finite,
                         "drawdown_peak_date": peak_date, "drawdown_trough_date": trough_date})


def portfolio_performance(returns: pd.DataFrame, rf: pd.Series, spy: pd.Series
                          ) -> pd.DataFrame:
    """Every portfolio × period row for the last date of ``returns``.

    Parameters
    ----------
    returns:
        (dates × portfolio_id) daily_return, decimal, NaN where none; dates ascending, the
        last one is the partition day.
    rf:
        DGS3MO in percent by date (carried forward by the caller where a day lacks one).
    spy:
        SPY's simple daily adj_close return by date (NaN where none).

    Returns
    -------
    (portfolio_id, period, *STAT_COLUMNS, flags).
    """
    dates = pd.to_datetime(pd.Index(returns.index)).to_numpy().astype("datetime64[D]")
    values = returns.to_numpy(dtype=float).T  # (portfolios, days)
    compacted, source = compact_right(values)
    rf_daily = (rf.reindex(returns.index).to_numpy(dtype=float) / 100.0 / TRADING_DAYS)
    spy_r = spy.reindex(returns.index).to_numpy(dtype=float)

    def aligned(series: np.ndarray) -> np.ndarray:
        return np.where(source >= 0, series[np.clip(source, 0, None)], np.nan)

    rf_c, spy_c = aligned(rf_daily), aligned(spy_r)
    available = np.isfinite(compacted).sum(axis=1)
    frames = []
    for period, length in PERIODS.items():
        width = compacted.shape[1] if length is None else min(length, compacted.shape[1])
        sl = slice(compacted.shape[1] - width, None)
        stats = window_statistics(compacted[:, sl], rf_c[:, sl], spy_c[:, sl], source[:, sl],
                                  dates)
        short = available < (MIN_INCEPTION if length is None else length)
        stats.loc[short, [c for c in STAT_COLUMNS if c != "n_obs"]] = np.nan
        stats["n_obs"] = np.minimum(available, width if length else available)
        stats.insert(0, "period", period)
        stats.insert(0, "portfolio_id", returns.columns.astype(str))
        stats["flags"] = [["insufficient_history"] if s else [] for s in short]
        frames.append(stats)
    out = pd.concat(frames, ignore_index=True)
    for col in ("drawdown_peak_date", "drawdown_trough_date"):
        out[col] = pd.to_datetime(out[col]).dt.date.where(out[col].notna(), None)
    return out[["portfolio_id", "period", *STAT_COLUMNS, "flags"]]
