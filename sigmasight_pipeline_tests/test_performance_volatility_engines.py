"""Performance statistics against empyrical-reloaded; volatility against statsmodels/hand
(SPEC §7.8).

empyrical is configured to the same conventions: annualization 252, excess returns passed
in with risk_free = 0 / required_return = 0 (the engine's rf varies by day), its max
drawdown already counts W₀ = 1 as a peak; its sortino's downside deviation is the root mean
square of min(e, 0) over all days, which is what the engine uses. The information ratio is
empyrical's excess_sharpe (not annualized) × √252; tracking error is computed here by hand.
"""

import empyrical
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from sigmasight_pipeline.engines.performance import compact_right, portfolio_performance
from sigmasight_pipeline.engines.volatility import portfolio_volatility

DATES = pd.bdate_range("2024-01-02", periods=300).date


@pytest.fixture(scope="module")
def book():
    rng = np.random.default_rng(11)
    spy = pd.Series(rng.normal(0.0004, 0.011, len(DATES)), index=DATES)
    a = 0.8 * spy + rng.normal(0.0002, 0.006, len(DATES))
    b = pd.Series(rng.normal(-0.0003, 0.015, len(DATES)), index=DATES)
    b.iloc[:200] = np.nan  # a young portfolio: 100 returns
    c = a.copy()
    c.iloc[0::7] = np.nan  # NULL days inside the history are skipped
    short = pd.Series(np.nan, index=DATES)
    short.iloc[-15:] = rng.normal(0, 0.01, 15)  # 15 returns only
    returns = pd.DataFrame({"A": a, "B": b, "C": c, "S": short})
    rf = pd.Series(np.linspace(5.3, 4.1, len(DATES)), index=DATES)  # DGS3MO, percent
    return returns, rf, spy


def _row(out, pf, period):
    return out[(out["portfolio_id"] == pf) & (out["period"] == period)].iloc[0]


@pytest.mark.parametrize("pf", ["A", "B", "C"])
@pytest.mark.parametrize("period", ["21d", "63d", "252d", "inception"])
def test_performance_matches_empyrical(book, pf, period):
    returns, rf, spy = book
    out = portfolio_performance(returns, rf, spy)
    row = _row(out, pf, period)
    series = returns[pf].dropna()
    n = {"21d": 21, "63d": 63, "252d": 252, "inception": len(series)}[period]
    if len(series) < n:
        assert row["flags"] == ["insufficient_history"] and np.isnan(row["sharpe"])
        return
    r = series.iloc[-n:]
    ex = r - rf.reindex(r.index) / 100 / 252
    s = spy.reindex(r.index)
    assert row["n_obs"] == n and row["flags"] == []
    assert row["annualized_return"] == pytest.approx(
        empyrical.annual_return(r, annualization=252), rel=1e-10)
    assert row["annualized_vol"] == pytest.approx(
        empyrical.annual_volatility(r, annualization=252), rel=1e-10)
    assert row["sharpe"] == pytest.approx(
        empyrical.sharpe_ratio(ex, risk_free=0, annualization=252), rel=1e-10)
    assert row["sortino"] == pytest.approx(
        empyrical.sortino_ratio(ex, required_return=0, annualization=252), rel=1e-10)
    mdd = empyrical.max_drawdown(r)
    assert row["max_drawdown"] == pytest.approx(mdd, rel=1e-10)
    assert row["calmar"] == pytest.approx(empyrical.calmar_ratio(r, annualization=252),
                                          rel=1e-10)
    assert row["beta_spy"] == pytest.approx(empyrical.beta(r, s, risk_free=0), rel=1e-10)
    assert row["correlation_spy"] == pytest.approx(np.corrcoef(r, s)[0, 1], rel=1e-10)
    te = np.std(r - s, ddof=1) * np.sqrt(252)
    assert row["tracking_error"] == pytest.approx(te, rel=1e-10)
    assert row["information_ratio"] == pytest.approx(
        empyrical.excess_sharpe(r, s) * np.sqrt(252), rel=1e-10)
    assert row["best_day"] == r.max() and row["worst_day"] == r.min()
    assert row["hit_ratio"] == pytest.approx((r > 0).mean())
    # peak and trough dates by a plain loop over the wealth path (W₀ dated the session before)
    before = returns.index[returns.index.get_loc(r.index[0]) - 1]
    wealth, dates = [1.0], [before]
    for d, x in r.items():
        wealth.append(wealth[-1] * (1 + x))
        dates.append(d)
    best, peak_i, worst, trough, peak_at_trough = wealth[0], 0, 0.0, 0, 0
    for i, w in enumerate(wealth):
        if w >= best:
            best, peak_i = w, i
        if w / best - 1 < worst:
            worst, trough, peak_at_trough = w / best - 1, i, peak_i
    assert worst == pytest.approx(mdd, rel=1e-10)
    assert row["drawdown_trough_date"] == dates[trough]
    assert row["drawdown_peak_date"] == dates[peak_at_trough]


def test_short_history_is_null_with_flag_never_zero(book):
    returns, rf, spy = book
    out = portfolio_performance(returns, rf, spy)
    for period in ("21d", "63d", "252d", "inception"):
        row = _row(out, "S", period)
        assert row["n_obs"] == 15 and row["flags"] == ["insufficient_history"]
        for col in ("annualized_return", "sharpe", "max_drawdown", "hit_ratio", "beta_spy"):
            assert np.isnan(row[col])
        assert row["drawdown_peak_date"] is None


def _compacted(returns):
    return compact_right(returns.to_numpy(dtype=float).T)[0]


def test_realized_ewma_and_percentile_by_hand(book):
    returns, _, _ = book
    out = portfolio_volatility(_compacted(returns), returns.columns).set_index("portfolio_id")
    for pf in ("A", "B", "C"):
        r = returns[pf].dropna().to_numpy()
        row = out.loc[pf]
        assert row["n_obs"] == len(r)
        assert row["realized_21d"] == pytest.approx(np.std(r[-21:], ddof=1) * np.sqrt(252))
        assert row["realized_63d"] == pytest.approx(np.std(r[-63:], ddof=1) * np.sqrt(252))
        last = r[-252:][::-1]  # k = 0 first
        w = np.array([(1 - 0.94) * 0.94 ** k for k in range(len(last))])
        w /= 1 - 0.94 ** len(last)
        assert row["ewma_vol"] == pytest.approx(np.sqrt(252 * np.sum(w * last ** 2)))
        rolling = pd.Series(r).rolling(21).std(ddof=1).dropna().iloc[-252:]
        assert row["realized_21d_percentile"] == pytest.approx(
            (rolling <= rolling.iloc[-1]).mean())
    short = out.loc["S"]
    assert np.isnan(short["realized_21d"]) and np.isnan(short["ewma_vol"])
    assert np.isnan(short["har_forecast"])
    assert short["flags"] == ["insufficient_history"]


@pytest.mark.parametrize("pf", ["A", "B", "C"])
def test_har_forecast_matches_statsmodels_ols(book, pf):
    returns, _, _ = book
    out = portfolio_volatility(_compacted(returns), returns.columns).set_index("portfolio_id")
    v = pd.Series(returns[pf].dropna().to_numpy() ** 2)
    design = pd.DataFrame({"daily": v, "weekly": v.rolling(5).mean(),
                           "monthly": v.rolling(22).mean()})
    target = v.shift(-1)
    rows = design.assign(y=target).dropna().iloc[-252:]
    fit = sm.OLS(rows["y"], sm.add_constant(rows[["daily", "weekly", "monthly"]])).fit()
    x_t = np.r_[1.0, design.iloc[-1].to_numpy()]
    v_hat = float(x_t @ fit.params.to_numpy())
    assert v_hat > 0
    assert out.loc[pf, "har_forecast"] == pytest.approx(np.sqrt(252 * v_hat), rel=1e-8)


def test_har_negative_forecast_is_null_with_flag():
    # variance alternating high/low (b_d ≈ −1), then a spike: the fit extrapolates below 0
    rng = np.random.default_rng(5)
    r = np.where(np.arange(300) % 2 == 0, 0.02, 0.005) * (1 + 0.1 * rng.standard_normal(300))
    r[-1] = 0.04
    v = pd.Series(r ** 2)
    design = pd.DataFrame({"daily": v, "weekly": v.rolling(5).mean(),
                           "monthly": v.rolling(22).mean()})
    rows = design.assign(y=v.shift(-1)).dropna().iloc[-252:]
    fit = sm.OLS(rows["y"], sm.add_constant(rows[["daily", "weekly", "monthly"]])).fit()
    v_hat = float(np.r_[1.0, design.iloc[-1].to_numpy()] @ fit.params.to_numpy())
    assert v_hat <= 0  # the statsmodels reference agrees the forecast is negative
    out = portfolio_volatility(r[None, :], ["P"]).iloc[0]
    assert np.isnan(out["har_forecast"]) and out["flags"] == ["har_negative"]
    assert np.isfinite(out["realized_21d"])
