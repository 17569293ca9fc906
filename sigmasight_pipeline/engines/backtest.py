"""VaR backtesting: exceptions, Kupiec POF, Christoffersen, Basel traffic light (SPEC §7.6).

Conventions. VaR is a positive number for a loss (US$); P&L is signed (US$, gain > 0). An
*observation* is a trading day s with a P&L on s and a 1-day VaR computed on the session
before s; it is an *exception* when −P&L_s > VaR_(s−1). p = 1 − α is the expected exception
rate. Likelihood ratios use 0·ln 0 = 0 (``scipy.special.xlogy``); a ratio that rounds below
zero is stored as 0. Christoffersen's transition counts run over consecutive *observations*
(a skipped day, one without a previous VaR, is left out of the sequence, not read as "no
exception").

Everything is vectorized over the columns of a (days × series) matrix, one column per
(portfolio, method, confidence, P&L type).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import xlogy
from scipy.stats import binom, chi2

#: observations in the backtest window (SPEC §7.6)
WINDOW = 250
#: fewer observations than this: statistics NULL, flag insufficient_history
MIN_OBSERVATIONS = 20
#: traffic-light boundaries on BinomCDF(x; n, 0.01) (Basel, α = 0.99 only)
GREEN_BELOW, YELLOW_BELOW = 0.95, 0.9999

STAT_COLUMNS = ["observations", "exceptions", "expected_exceptions", "kupiec_lr", "kupiec_p",
                "christoffersen_lr", "christoffersen_p", "cc_lr", "cc_p", "zone", "skipped"]


def kupiec_pof(n, x, p):
    """Kupiec's proportion-of-failures LR and its χ²(1) p-value (arrays broadcast).

    LR_uc = −2[(n − x) ln(1 − p) + x ln p] + 2[(n − x) ln(1 − x/n) + x ln(x/n)].
    """
    n, x = np.asarray(n, dtype=float), np.asarray(x, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        pi_hat = np.where(n > 0, x / n, 0.0)
    lr = (-2.0 * (xlogy(n - x, 1.0 - p) + xlogy(x, p))
          + 2.0 * (xlogy(n - x, 1.0 - pi_hat) + xlogy(x, pi_hat)))
    lr = np.maximum(lr, 0.0)
    return lr, chi2.sf(lr, 1)


def christoffersen_independence(n00, n01, n10, n11):
    """Christoffersen's independence LR and its χ²(1) p-value from transition counts.

    n_ab counts consecutive observation pairs with yesterday's exception indicator a and
    today's b. A state never visited (n10 + n11 = 0) contributes 0 (xlogy of a zero count).
    """
    n00, n01, n10, n11 = (np.asarray(v, dtype=float) for v in (n00, n01, n10, n11))
    with np.errstate(divide="ignore", invalid="ignore"):
        pi0 = np.where(n00 + n01 > 0, n01 / (n00 + n01), 0.0)
        pi1 = np.where(n10 + n11 > 0, n11 / (n10 + n11), 0.0)
        total = n00 + n01 + n10 + n11
        pi = np.where(total > 0, (n01 + n11) / total, 0.0)
    lr = (-2.0 * (xlogy(n00 + n10, 1.0 - pi) + xlogy(n01 + n11, pi))
          + 2.0 * (xlogy(n00, 1.0 - pi0) + xlogy(n01, pi0)
                   + xlogy(n10, 1.0 - pi1) + xlogy(n11, pi1)))
    lr = np.maximum(lr, 0.0)
    return lr, chi2.sf(lr, 1)


def traffic_light(n, x) -> np.ndarray:
    """Basel zone at 99 %: green when BinomCDF(x; n, 0.01) < 0.95, yellow when < 0.9999,
    else red (n = 250: green 0–4, yellow 5–9, red ≥ 10). Object array of str."""
    cdf = binom.cdf(np.asarray(x), np.asarray(n), 0.01)
    return np.where(cdf < GREEN_BELOW, "green",
                    np.where(cdf < YELLOW_BELOW, "yellow", "red")).astype(object)


def backtest_statistics(pnl: np.ndarray, var_prev: np.ndarray, has_pnl: np.ndarray,
                        confidence: np.ndarray) -> pd.DataFrame:
    """Backtest statistics per column of a (days × series) window.

    Parameters
    ----------
    pnl:
        (days, series) P&L of each day, US$ (ignored where ``has_pnl`` is False).
    var_prev:
        (days, series) the 1-day VaR of the *previous session*, positive US$; NaN when
        that session has none (the day is skipped and counted in ``skipped``).
    has_pnl:
        (days, series) bool, the day carries a P&L (a portfolio's first snapshot does not).
    confidence:
        (series,) α of each column; the traffic light is set only where α = 0.99.

    Returns
    -------
    One row per column with :data:`STAT_COLUMNS` and ``flags`` (list): statistics NaN and
    zone None with flag ``insufficient_history`` below :data:`MIN_OBSERVATIONS`
    observations; observations, exceptions and skipped are always counted.
    """
    pnl = np.asarray(pnl, dtype=float)
    var_prev = np.asarray(var_prev, dtype=float)
    has_pnl = np.asarray(has_pnl, dtype=bool) & np.isfinite(pnl)
    confidence = np.asarray(confidence, dtype=float)
    observed = has_pnl & np.isfinite(var_prev)  # (days, series)
    skipped = (has_pnl & ~np.isfinite(var_prev)).sum(axis=0)
    exception = observed & (-np.where(observed, pnl, 0.0) > np.where(observed, var_prev, 0.0))
    n = observed.sum(axis=0)
    x = exception.sum(axis=0)
    p = 1.0 - confidence

    # transitions between consecutive observations: compact each column's observations to
    # the top (stable sort keeps their order), then compare neighbours
    order = np.argsort(~observed, axis=0, kind="stable")
    seq = np.take_along_axis(exception, order, axis=0)
    valid = np.take_along_axis(observed, order, axis=0)
    pair = valid[1:] & valid[:-1]
    prev_e, cur_e = seq[:-1], seq[1:]
    n00 = (pair & ~prev_e & ~cur_e).sum(axis=0)
    n01 = (pair & ~prev_e & cur_e).sum(axis=0)
    n10 = (pair & prev_e & ~cur_e).sum(axis=0)
    n11 = (pair & prev_e & cur_e).sum(axis=0)

    uc_lr, uc_p = kupiec_pof(n, x, p)
    ind_lr, ind_p = christoffersen_independence(n00, n01, n10, n11)
    cc_lr = uc_lr + ind_lr
    cc_p = chi2.sf(cc_lr, 2)
    zone = np.where(np.isclose(confidence, 0.99), traffic_light(n, x), None).astype(object)

    enough = n >= MIN_OBSERVATIONS
    out = pd.DataFrame({
        "observations": n.astype("int64"),
        "exceptions": x.astype("int64"),
        "expected_exceptions": np.where(enough, n * p, np.nan),
        "kupiec_lr": np.where(enough, uc_lr, np.nan),
        "kupiec_p": np.where(enough, uc_p, np.nan),
        "christoffersen_lr": np.where(enough, ind_lr, np.nan),
        "christoffersen_p": np.where(enough, ind_p, np.nan),
        "cc_lr": np.where(enough, cc_lr, np.nan),
        "cc_p": np.where(enough, cc_p, np.nan),
        "zone": np.where(enough, zone, None),
        "skipped": skipped.astype("int64"),
    })
    out["flags"] = [[] if ok else ["insufficient_history"] for ok in enough]
    return out


def backtest_note(skipped: int, observations: int) -> str | None:
    """The row's note: how many days were left out for want of a previous-session VaR."""
    if skipped == 0:
        return None
    return (f"{skipped} day(s) with a P&L but no 1-day VaR on the previous session were "
            f"skipped (not counted as 'no exception'); {observations} observations remain")


METHODS = ("parametric", "historical")
CONFIDENCES = (0.95, 0.975, 0.99)
PNL_TYPES = ("actual", "hypothetical")


def var_backtests(sessions: list, portfolio_ids: list, pnl: pd.DataFrame,
                  var: pd.DataFrame) -> pd.DataFrame:
    """Backtest rows for one day t, every portfolio × method × α × P&L type.

    Parameters
    ----------
    sessions:
        The trading sessions s_0 < s_1 < … < s_W = t: the window's days are s_1 … s_W
        (at most :data:`WINDOW`), and s_0 is only the previous session of s_1.
    portfolio_ids:
        The portfolios to report (one block of rows each, observations 0 when nothing fits).
    pnl:
        (date, portfolio_id, pnl_type, pnl): P&L of the days that carry one, US$;
        pnl_type ∈ :data:`PNL_TYPES`.
    var:
        (date, portfolio_id, method, confidence, var): 1-day VaR, positive US$; a NULL var
        counts as missing.

    Returns
    -------
    (portfolio_id, method, confidence, pnl_type, *STAT_COLUMNS, flags, note).
    """
    days = pd.Index(sessions[1:])
    keys = pd.MultiIndex.from_product(
        [[str(p) for p in portfolio_ids], METHODS, CONFIDENCES, PNL_TYPES],
        names=["portfolio_id", "method", "confidence", "pnl_type"]).to_frame(index=False)

    # (days × series) matrices filled by integer positions (a year of 24,000 series is
    # millions of rows: integer codes and one fancy-index assignment, not a pivot)
    pf_index = pd.Index([str(p) for p in portfolio_ids])
    n_pf, n_days = len(pf_index), len(days)
    # the VaR of session s−1 goes to the row of s: index the VaR dates by the sessions s_0…
    var_rows = pd.Index(sessions[:-1])
    pnl_dense = _fill((n_days, n_pf, len(PNL_TYPES)), [
        days.get_indexer(pnl["date"]), pf_index.get_indexer(pnl["portfolio_id"].astype(str)),
        pd.Index(PNL_TYPES).get_indexer(pnl["pnl_type"])], pnl["pnl"])
    var_dense = _fill((n_days, n_pf, len(METHODS), len(CONFIDENCES)), [
        var_rows.get_indexer(var["date"]), pf_index.get_indexer(var["portfolio_id"].astype(str)),
        pd.Index(METHODS).get_indexer(var["method"]),
        pd.Index(np.round(CONFIDENCES, 6)).get_indexer(var["confidence"].astype(float).round(6))],
        var["var"])
    # series order of ``keys``: portfolio, method, confidence, pnl_type
    pnl_m = np.broadcast_to(pnl_dense[:, :, None, None, :], (
        n_days, n_pf, len(METHODS), len(CONFIDENCES), len(PNL_TYPES))).reshape(n_days, -1)
    var_m = np.broadcast_to(var_dense[..., None], (
        n_days, n_pf, len(METHODS), len(CONFIDENCES), len(PNL_TYPES))).reshape(n_days, -1)
    stats = backtest_statistics(pnl_m, var_m, np.isfinite(pnl_m),
                                keys["confidence"].to_numpy(dtype=float))
    out = pd.concat([keys, stats], axis=1)
    out["note"] = [backtest_note(s, n) for s, n in zip(out["skipped"], out["observations"],
                                                       strict=True)]
    return out



def _fill(shape: tuple, codes: list, values: pd.Series) -> np.ndarray:
    """An array of ``shape`` (NaN where no row) with ``values`` placed at the integer
    ``codes`` (one array per axis; NaN or −1 = the row is outside and ignored)."""
    out = np.full(shape, np.nan)
    if len(values) == 0:
        return out
    idx = [pd.Series(c).to_numpy(dtype=float, na_value=np.nan) for c in codes]
    ok = np.logical_and.reduce([np.isfinite(i) & (i >= 0) for i in idx])
    out[tuple(i[ok].astype(int) for i in idx)] = pd.to_numeric(
        values, errors="coerce").to_numpy(dtype=float)[ok]
    return out
