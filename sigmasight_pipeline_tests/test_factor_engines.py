"""Factor engines (SPEC §5.3-§5.5) against independent references: returns and spreads by
hand, statsmodels OLS one symbol at a time, a hand loop of the RiskMetrics formula, and a
hand-computed portfolio. No database.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from sigmasight_pipeline.calendar import trading_days
from sigmasight_pipeline.engines.factors import (
    BETA_CAP,
    EQUITY_FACTORS,
    FACTOR_PROXIES,
    MIN_OBS,
    RATE_FACTOR,
    WINDOW,
    InsufficientHistoryError,
    correlation_from_covariance,
    daily_returns,
    ewma_covariance,
    factor_correlation_rows,
    factor_exposures,
    factor_returns,
    interest_rate_betas,
    portfolio_factor_exposures,
)

TOL = {"rtol": 1e-8, "atol": 1e-8}
FACTOR_COLUMNS = ["symbol", "factor", "beta", "std_err", "t_stat", "r_squared", "n_obs",
                  "quality"]


def sessions_2024() -> list[dt.date]:
    return trading_days(dt.date(2024, 1, 2), dt.date(2024, 12, 31))


# --- daily and factor returns ---------------------------------------------------------------


def test_daily_returns_use_the_previous_session_and_never_span_a_gap():
    d = dt.date
    # 4 July 2024 is a holiday; 6 July a Saturday (a stray row, ignored); 9 July has no row
    prices = pd.DataFrame(
        {
            "AAA": [100.0, 102.0, 99.0, 1.0, np.nan, 101.0, 103.0],
            "BBB": [50.0, 51.0, 52.0, 1.0, 53.0, np.nan, 54.0],
        },
        index=[d(2024, 7, 2), d(2024, 7, 3), d(2024, 7, 5), d(2024, 7, 6), d(2024, 7, 8),
               d(2024, 7, 10), d(2024, 7, 11)],
    )
    sessions = trading_days(d(2024, 6, 1), d(2024, 7, 31))
    r = daily_returns(prices, sessions)

    expected_days = [d(2024, 7, 2), d(2024, 7, 3), d(2024, 7, 5), d(2024, 7, 8), d(2024, 7, 9),
                     d(2024, 7, 10), d(2024, 7, 11)]
    assert list(r.index) == expected_days
    assert all(type(x) is dt.date for x in r.index)
    assert list(r.columns) == ["AAA", "BBB"]
    nan = np.nan
    expected = pd.DataFrame(
        {
            # 2 Jul: previous session (1 Jul) has no close; 5 Jul: 3 Jul is the previous session
            # across the holiday; 8 Jul: AAA missing; 9 Jul: no row; 10 Jul: 9 Jul missing
            "AAA": [nan, 102 / 100 - 1, 99 / 102 - 1, nan, nan, nan, 103 / 101 - 1],
            "BBB": [nan, 51 / 50 - 1, 52 / 51 - 1, 53 / 52 - 1, nan, nan, nan],
        },
        index=expected_days,
    )
    np.testing.assert_allclose(r.to_numpy(), expected.to_numpy(), rtol=1e-15, equal_nan=True)


def test_daily_returns_accept_timestamps_and_treat_non_positive_prices_as_missing():
    days = pd.DatetimeIndex(["2024-07-01", "2024-07-02", "2024-07-03"])
    prices = pd.DataFrame({"X": [10.0, 0.0, 11.0], "Y": [5.0, 5.5, 6.05]}, index=days)
    r = daily_returns(prices, days)
    assert list(r.index) == [dt.date(2024, 7, 1), dt.date(2024, 7, 2), dt.date(2024, 7, 3)]
    assert np.isnan(r["X"]).all()
    np.testing.assert_allclose(r["Y"].to_numpy()[1:], [0.1, 0.1], rtol=1e-14)


def test_factor_returns_are_the_proxy_spreads_by_hand():
    days = [dt.date(2024, 7, 2), dt.date(2024, 7, 3), dt.date(2024, 7, 5)]
    closes = {
        "SPY": [500.0, 505.0, 500.0],
        "VTV": [160.0, 160.8, 162.0],
        "VUG": [380.0, 383.8, 380.0],
        "IWM": [200.0, 199.0, np.nan],
        "MTUM": [190.0, 192.85, 191.0],
        "QUAL": [170.0, 171.7, 170.0],
        "USMV": [85.0, 85.0, 86.0],
        "AAPL": [1.0, 2.0, 3.0],  # not a proxy: ignored
    }
    f = factor_returns(pd.DataFrame(closes, index=days), days)
    assert list(f.columns) == EQUITY_FACTORS
    assert list(f.index) == days
    assert f.iloc[0].isna().all()  # no previous close
    spy = [505 / 500 - 1, 500 / 505 - 1]
    by_hand = {
        "Market": spy,
        "Value": [160.8 / 160 - 383.8 / 380, 162 / 160.8 - 380 / 383.8],
        "Size": [199 / 200 - 1 - spy[0], np.nan],  # IWM has no close on 5 Jul
        "Momentum": [192.85 / 190 - 1 - spy[0], 191 / 192.85 - 1 - spy[1]],
        "Quality": [171.7 / 170 - 1 - spy[0], 170 / 171.7 - 1 - spy[1]],
        "Low Volatility": [0.0 - spy[0], 86 / 85 - 1 - spy[1]],
    }
    for factor, values in by_hand.items():
        np.testing.assert_allclose(f[factor].to_numpy()[1:], values, rtol=1e-12, atol=1e-15,
                                   equal_nan=True, err_msg=factor)


def test_factor_returns_with_a_custom_proxy_table_and_a_missing_etf():
    days = [dt.date(2024, 7, 2), dt.date(2024, 7, 3)]
    closes = pd.DataFrame({"SPY": [100.0, 101.0], "QQQ": [200.0, 204.0]}, index=days)
    f = factor_returns(closes, days, proxies={"Tech": ("QQQ", "SPY"), "Small": ("IWM", None)})
    assert list(f.columns) == ["Tech", "Small"]
    np.testing.assert_allclose(f["Tech"].iloc[1], 0.02 - 0.01, rtol=1e-12)
    assert f["Small"].isna().all()
    assert FACTOR_PROXIES["Value"] == ("VTV", "VUG")


# --- factor exposures -----------------------------------------------------------------------


def synthetic_panel(seed: int = 7):
    """Correlated factor returns and 50 symbols y = α + Xβ + ε with known β.

    Symbols 0-19 complete; 20-39 with random gaps; 40 with only 45 returns in the window;
    41 with a Market beta of 4.5 (capped); 42 with a Value beta of -3.8 (capped); 43-49 gaps
    and returns after ``day`` that must not be used.
    """
    rng = np.random.default_rng(seed)
    days = sessions_2024()
    n_days, k, m = len(days), len(EQUITY_FACTORS), 50
    mixing = np.eye(k) + 0.35 * rng.standard_normal((k, k))
    f = rng.standard_normal((n_days, k)) @ mixing * 0.008
    f[n_days - 40, 3] = np.nan  # a day without a Momentum return: dropped for everyone
    factors = pd.DataFrame(f, index=days, columns=EQUITY_FACTORS)
    true_beta = rng.normal(0.0, 0.7, (m, k))
    true_beta[41, 0] = 4.5
    true_beta[42, 1] = -3.8
    alpha = rng.normal(0.0, 0.0005, m)
    noise = rng.uniform(0.005, 0.02, m) * rng.standard_normal((n_days, m))
    y = alpha + np.nan_to_num(f) @ true_beta.T + noise
    gaps = rng.random((n_days, m)) < 0.12
    gaps[:, :20] = False
    y[gaps] = np.nan
    y[: n_days - 45, 40] = np.nan
    symbols = [f"S{i:02d}" for i in range(m)]
    returns = pd.DataFrame(y, index=days, columns=symbols)
    day = days[-6]
    returns.loc[days[-5]:, symbols[43:]] = 1e3  # after `day`: must be ignored
    return returns, factors, true_beta, day


def statsmodels_reference(returns, factors, day, window=WINDOW, min_obs=MIN_OBS):
    """One statsmodels OLS per symbol over the window (the reference)."""
    dates = [d for d in factors.index if d <= day][-window:]
    x_all = factors.loc[dates]
    out = {}
    for symbol in returns.columns:
        y = returns[symbol].reindex(dates)
        keep = y.notna() & x_all.notna().all(axis=1)
        n = int(keep.sum())
        if n < min_obs:
            out[symbol] = (None, n)
            continue
        fit = sm.OLS(y[keep].to_numpy(), sm.add_constant(x_all[keep].to_numpy())).fit()
        out[symbol] = (fit, n)
    return out


def test_factor_exposures_match_statsmodels_and_recover_the_true_betas():
    returns, factors, true_beta, day = synthetic_panel()
    result = factor_exposures(returns, factors, day)
    reference = statsmodels_reference(returns, factors, day)

    assert list(result.columns) == FACTOR_COLUMNS
    assert len(result) == 50 * 6
    assert list(result["factor"].iloc[:6]) == EQUITY_FACTORS
    assert list(result["symbol"].iloc[::6]) == list(returns.columns)
    by_symbol = dict(tuple(result.groupby("symbol", sort=False)))
    z_scores = []
    for i, symbol in enumerate(returns.columns):
        fit, n = reference[symbol]
        rows = by_symbol[symbol]
        assert (rows["n_obs"] == n).all(), symbol
        if fit is None:
            continue
        params, bse = fit.params[1:], fit.bse[1:]
        capped = np.abs(params) > BETA_CAP
        np.testing.assert_allclose(rows["beta"], np.clip(params, -BETA_CAP, BETA_CAP), **TOL)
        np.testing.assert_allclose(rows["std_err"], bse, **TOL)
        np.testing.assert_allclose(rows["t_stat"], fit.tvalues[1:], **TOL)
        np.testing.assert_allclose(rows["r_squared"], fit.rsquared, **TOL)
        expected_quality = np.where(capped, "capped", "ok")
        assert list(rows["quality"]) == list(expected_quality), symbol
        z_scores.extend((params - true_beta[i]) / bse)

    z = np.abs(np.array(z_scores))
    assert len(z) == 49 * 6
    # ~0.3 % of honest 3-SE intervals miss; allow one or two of 294 but nothing wild
    assert (z <= 3.0).mean() >= 0.99
    assert z.max() <= 4.5


def test_factor_exposures_flags_insufficient_history_and_caps():
    returns, factors, _, day = synthetic_panel()
    result = factor_exposures(returns, factors, day).set_index(["symbol", "factor"])

    short = result.loc["S40"]
    assert short["n_obs"].nunique() == 1 and 0 < short["n_obs"].iloc[0] < MIN_OBS
    assert (short["quality"] == "insufficient_history").all()
    assert short[["beta", "std_err", "t_stat", "r_squared"]].isna().all().all()

    assert result.loc[("S41", "Market"), "beta"] == BETA_CAP
    assert result.loc[("S41", "Market"), "quality"] == "capped"
    assert result.loc[("S42", "Value"), "beta"] == -BETA_CAP
    assert result.loc[("S42", "Value"), "quality"] == "capped"
    # the other factors of a capped symbol stay ok; t_stat is the unclipped estimate's
    assert (result.loc["S41"].drop("Market")["quality"] == "ok").all()
    s41 = result.loc[("S41", "Market")]
    assert s41["t_stat"] * s41["std_err"] > BETA_CAP
    # complete symbols lose only the day without a Momentum return
    assert (result.loc["S00", "n_obs"] == WINDOW - 1).all()


def test_factor_exposures_window_ends_on_day_and_counts_factor_dates():
    returns, factors, _, _ = synthetic_panel()
    day = dt.date(2024, 7, 6)  # a Saturday: the window ends on Friday 5 July
    result = factor_exposures(returns, factors, day, window=80, min_obs=30)
    reference = statsmodels_reference(returns, factors, day, window=80, min_obs=30)
    for symbol in ["S00", "S25", "S41"]:
        fit, n = reference[symbol]
        rows = result.loc[result["symbol"] == symbol]
        assert (rows["n_obs"] == n).all()
        np.testing.assert_allclose(rows["std_err"], fit.bse[1:], **TOL)
    assert (result.loc[result["symbol"] == "S00", "n_obs"] == 80).all()


def test_factor_exposures_rank_deficient_window_is_insufficient_not_garbage():
    returns, factors, _, day = synthetic_panel()
    constant = factors.copy()
    constant["Momentum"] = 0.001  # a constant factor: collinear with the intercept
    for frame in (constant, constant.assign(Momentum=0.0),
                  factors.assign(Quality=factors["Market"] * 2.0 - factors["Size"])):
        result = factor_exposures(returns, frame, day)
        assert (result["quality"] == "insufficient_history").all()
        assert result[["beta", "std_err", "t_stat", "r_squared"]].isna().all().all()
        assert (result.loc[result["symbol"] == "S00", "n_obs"] >= WINDOW - 1).all()


def test_factor_exposures_with_no_history_and_string_dates():
    returns, factors, _, _ = synthetic_panel()
    result = factor_exposures(returns, factors, dt.date(2023, 1, 3))
    assert len(result) == 300
    assert (result["quality"] == "insufficient_history").all()
    assert (result["n_obs"] == 0).all()
    iso = factors.set_axis([d.isoformat() for d in factors.index])
    a = factor_exposures(returns, iso, "2024-12-20")
    b = factor_exposures(returns, factors, dt.date(2024, 12, 20))
    pd.testing.assert_frame_equal(a, b)


# --- interest-rate betas --------------------------------------------------------------------


def rate_history(seed: int = 3):
    """Sessions Apr-Dec 2024 with DGS10 missing on Columbus Day and Veterans Day (bond market
    closed, NYSE open), plus a stray Saturday yield that must be ignored."""
    rng = np.random.default_rng(seed)
    days = trading_days(dt.date(2024, 4, 1), dt.date(2024, 12, 31))
    yields = pd.Series(4.2 + np.cumsum(rng.normal(0.0, 0.06, len(days))), index=days)
    yields[dt.date(2024, 10, 14)] = np.nan
    yields[dt.date(2024, 11, 11)] = np.nan
    yields[dt.date(2024, 10, 19)] = 9.99  # a Saturday
    yields = yields.sort_index()
    return days, yields, rng


def compounded_observations(prices: pd.Series, yields: pd.Series, sessions, day, window):
    """Hand loop: consecutive yield days (s, t), dy = y_t - y_s, r = P_t / P_s - 1."""
    in_window = [d for d in sessions if d <= day][-window:]
    yield_days = [d for d in sessions if d <= day and not np.isnan(yields.get(d, np.nan))]
    dys, rets = [], []
    for s, t in zip(yield_days[:-1], yield_days[1:], strict=True):
        if t < in_window[0]:
            continue
        p_s, p_t = prices.get(s, np.nan), prices.get(t, np.nan)
        if np.isnan(p_s) or np.isnan(p_t):
            continue
        dys.append(yields[t] - yields[s])
        rets.append(p_t / p_s - 1.0)
    return np.array(dys), np.array(rets)


def test_interest_rate_betas_compound_over_days_without_a_yield():
    days, yields, rng = rate_history()
    # exact linear model over every yield-day span: only right if the code compounds
    y_days = [d for d in days if not np.isnan(yields[d])]
    price = {y_days[0]: 100.0}
    for s, t in zip(y_days[:-1], y_days[1:], strict=True):
        price[t] = price[s] * (1.0 + 0.0004 - 0.07 * (yields[t] - yields[s]))
    price[dt.date(2024, 10, 14)] = 150.0  # off-model close on a day without a yield
    price[dt.date(2024, 11, 11)] = 60.0
    exact = pd.Series(price).sort_index()
    result = interest_rate_betas(exact.to_frame("BOND"), yields, days, days[-1])
    row = result.iloc[0]
    assert list(result.columns) == ["symbol", "ir_beta", "std_err", "r_squared", "n_obs",
                                    "quality"]
    assert row["quality"] == "ok"
    np.testing.assert_allclose(row["ir_beta"], -0.07, rtol=1e-9)
    np.testing.assert_allclose(row["r_squared"], 1.0, atol=1e-12)
    # 150 sessions hold 148 yield days; the first one's span starts before the window
    assert row["n_obs"] == 148


def test_interest_rate_betas_match_statsmodels_on_the_compounded_series():
    days, yields, rng = rate_history()
    n = len(days)
    dy_daily = np.diff(yields.reindex(days).ffill().to_numpy(), prepend=np.nan)
    closes = {}
    for symbol, b in [("TLT", -0.15), ("XLU", -0.03), ("JPM", 0.02)]:
        r = 0.0003 + b * np.nan_to_num(dy_daily) + rng.normal(0.0, 0.01, n)
        closes[symbol] = 100.0 * np.cumprod(1.0 + r)
    closes["GAPPY"] = closes["XLU"] * rng.uniform(0.9, 1.1, n)
    closes["GAPPY"][rng.random(n) < 0.15] = np.nan
    closes["GAPPY"][days.index(dt.date(2024, 10, 11))] = np.nan  # the start of a compounded span
    closes["NEW"] = np.where(np.arange(n) >= n - 50, closes["JPM"], np.nan)
    prices = pd.DataFrame(closes, index=days)
    day = dt.date(2024, 12, 20)
    window = 120

    result = interest_rate_betas(prices, yields, days, day, window=window).set_index("symbol")
    assert list(result.index) == list(prices.columns)
    for symbol in ["TLT", "XLU", "JPM", "GAPPY"]:
        dy, r = compounded_observations(prices[symbol], yields, days, day, window)
        fit = sm.OLS(r, sm.add_constant(dy)).fit()
        row = result.loc[symbol]
        assert row["n_obs"] == len(r), symbol
        assert row["quality"] == "ok"
        np.testing.assert_allclose(row["ir_beta"], fit.params[1], **TOL)
        np.testing.assert_allclose(row["std_err"], fit.bse[1], **TOL)
        np.testing.assert_allclose(row["r_squared"], fit.rsquared, **TOL)
    assert result.loc["TLT", "ir_beta"] < -0.05  # a long bond loses when yields rise
    new = result.loc["NEW"]
    assert new["quality"] == "insufficient_history" and np.isnan(new["ir_beta"])
    assert 0 < new["n_obs"] < MIN_OBS


def test_interest_rate_betas_with_a_flat_yield_are_insufficient():
    days, _, _ = rate_history()
    flat = pd.Series(4.0, index=days)
    prices = pd.DataFrame({"A": np.linspace(100.0, 120.0, len(days))}, index=days)
    row = interest_rate_betas(prices, flat, days, days[-1]).iloc[0]
    assert row["quality"] == "insufficient_history"
    assert np.isnan(row["ir_beta"]) and np.isnan(row["std_err"])


# --- factor covariance ----------------------------------------------------------------------


def covariance_by_hand(rows: np.ndarray, lam: float) -> np.ndarray:
    n = len(rows)
    sigma = np.zeros((rows.shape[1], rows.shape[1]))
    for k in range(n):
        r = rows[n - 1 - k]  # k = 0 is the most recent
        w = (1 - lam) * lam**k / (1 - lam**n)
        sigma += w * np.outer(r, r)
    return sigma


def test_ewma_covariance_is_the_riskmetrics_formula():
    rng = np.random.default_rng(11)
    days = sessions_2024()
    f = pd.DataFrame(rng.standard_normal((len(days), 6)) @ (np.eye(6) + 0.4) * 0.01,
                     index=days, columns=EQUITY_FACTORS)
    f.iloc[-30, 2] = np.nan  # dropped
    day = days[-10]  # the last 9 rows are after `day`

    cov, n_obs = ewma_covariance(f, day, n=100)
    usable = f.loc[:day].dropna().to_numpy()
    assert n_obs == 100
    np.testing.assert_allclose(cov.to_numpy(), covariance_by_hand(usable[-100:], 0.94),
                               rtol=1e-12, atol=1e-18)
    assert list(cov.index) == EQUITY_FACTORS and list(cov.columns) == EQUITY_FACTORS

    cov_all, n_all = ewma_covariance(f, day)  # fewer rows than 252: N is the rows used
    assert n_all == len(usable) < 252
    np.testing.assert_allclose(cov_all.to_numpy(), covariance_by_hand(usable, 0.94),
                               rtol=1e-12, atol=1e-18)
    c = cov_all.to_numpy()
    assert np.array_equal(c, c.T)
    assert np.linalg.eigvalsh(c).min() >= -1e-12

    corr = correlation_from_covariance(cov_all)
    k = corr.to_numpy()
    assert np.array_equal(np.diag(k), np.ones(6))
    assert np.array_equal(k, k.T)
    assert np.linalg.eigvalsh(k).min() >= -1e-12
    np.testing.assert_allclose(k[0, 3], c[0, 3] / np.sqrt(c[0, 0] * c[3, 3]), rtol=1e-14)


def test_ewma_covariance_insufficient_history_raises():
    days = sessions_2024()[:80]
    f = pd.DataFrame(np.full((80, 6), 0.001), index=days, columns=EQUITY_FACTORS)
    f.iloc[:25, 0] = np.nan
    day = days[-1]
    with pytest.raises(InsufficientHistoryError, match=rf"{day.isoformat()}.* 55 ") as err:
        ewma_covariance(f, day)
    assert isinstance(err.value, ValueError)
    _, n_obs = ewma_covariance(f, day, min_obs=55)
    assert n_obs == 55


def test_factor_correlation_rows_are_every_ordered_pair():
    rng = np.random.default_rng(5)
    a = rng.standard_normal((6, 6))
    cov = pd.DataFrame(a @ a.T * 1e-4, index=EQUITY_FACTORS, columns=EQUITY_FACTORS)
    rows = factor_correlation_rows(cov, 252)
    assert list(rows.columns) == ["factor_a", "factor_b", "correlation", "covariance", "n_obs"]
    assert len(rows) == 36
    assert len(rows.drop_duplicates(["factor_a", "factor_b"])) == 36
    indexed = rows.set_index(["factor_a", "factor_b"])
    for fa in EQUITY_FACTORS:
        assert indexed.loc[(fa, fa), "correlation"] == 1.0
        for fb in EQUITY_FACTORS:
            assert indexed.loc[(fa, fb), "covariance"] == cov.loc[fa, fb]
            expected = cov.loc[fa, fb] / np.sqrt(cov.loc[fa, fa] * cov.loc[fb, fb])
            np.testing.assert_allclose(indexed.loc[(fa, fb), "correlation"], expected,
                                       rtol=1e-13)
    assert (rows["n_obs"] == 252).all()


# --- portfolio factor exposures -------------------------------------------------------------


def betas_frame(table: dict[str, dict[str, float]]) -> pd.DataFrame:
    records = []
    for symbol, betas in table.items():
        for factor in EQUITY_FACTORS:
            beta = betas.get(factor, np.nan)
            records.append({"symbol": symbol, "factor": factor, "beta": beta,
                            "quality": "insufficient_history" if np.isnan(beta) else "ok"})
    return pd.DataFrame(records)


def test_portfolio_factor_exposures_by_hand():
    full = dict(zip(EQUITY_FACTORS, [1.2, -0.3, 0.1, 0.4, 0.2, -0.5], strict=True))
    betas = betas_frame({
        "AAPL": full,
        "MSFT": {f: 0.9 if f == "Market" else 0.05 for f in EQUITY_FACTORS},
        "NEWCO": {},  # insufficient history: no betas
        "LONGA": {"Market": 1.1},  # only a Market beta
        "SHORTB": {"Market": 0.9},
        "WILD": {"Market": BETA_CAP},
    })
    ir = pd.DataFrame({"symbol": ["AAPL", "MSFT", "LONGA", "SHORTB"],
                       "ir_beta": [-0.02, 0.01, 0.005, np.nan]})
    positions = pd.DataFrame(
        [
            ("p1", "pf-1", "AAPL", 10_000.0),
            ("p2", "pf-1", "MSFT", -4_000.0),  # e.g. a long put on MSFT, delta-adjusted
            ("p3", "pf-1", "NEWCO", 6_000.0),
            ("p4", "pf-2", "LONGA", 50_000.0),  # market-neutral: net 0, gross 100k
            ("p5", "pf-2", "SHORTB", -50_000.0),
            ("p6", "pf-3", "WILD", 0.0),  # gross 0
        ],
        columns=["position_id", "portfolio_id", "beta_symbol", "exposure"],
    )
    out = portfolio_factor_exposures(positions, betas, ir)
    assert list(out.columns) == ["portfolio_id", "factor", "beta", "dollar_exposure",
                                 "coverage"]
    assert len(out) == 3 * 7
    assert list(out["factor"].iloc[:7]) == [*EQUITY_FACTORS, RATE_FACTOR]
    assert list(out["portfolio_id"].iloc[::7]) == ["pf-1", "pf-2", "pf-3"]
    t = out.set_index(["portfolio_id", "factor"])

    # pf-1: gross 20,000; NEWCO (6,000) has no beta -> coverage 0.7
    assert t.loc[("pf-1", "Market"), "dollar_exposure"] == pytest.approx(12_000 - 3_600)
    assert t.loc[("pf-1", "Market"), "beta"] == pytest.approx(8_400 / 20_000)
    assert t.loc[("pf-1", "Market"), "coverage"] == pytest.approx(0.7)
    assert t.loc[("pf-1", "Value"), "dollar_exposure"] == pytest.approx(-3_000 - 200)
    assert t.loc[("pf-1", "Low Volatility"), "beta"] == pytest.approx((-5_000 - 200) / 20_000)
    # Rate: $ per +1 pp of DGS10
    assert t.loc[("pf-1", "Rate"), "dollar_exposure"] == pytest.approx(-200 - 40)
    assert t.loc[("pf-1", "Rate"), "beta"] == pytest.approx(-240 / 20_000)
    assert t.loc[("pf-1", "Rate"), "coverage"] == pytest.approx(0.7)

    # pf-2: market-neutral; beta per dollar of gross
    assert t.loc[("pf-2", "Market"), "dollar_exposure"] == pytest.approx(55_000 - 45_000)
    assert t.loc[("pf-2", "Market"), "beta"] == pytest.approx(0.1)
    assert t.loc[("pf-2", "Market"), "coverage"] == pytest.approx(1.0)
    assert t.loc[("pf-2", "Rate"), "dollar_exposure"] == pytest.approx(250.0)
    assert t.loc[("pf-2", "Rate"), "coverage"] == pytest.approx(0.5)
    # no position of pf-2 has a Value beta: not a measured zero
    assert np.isnan(t.loc[("pf-2", "Value"), "beta"])
    assert np.isnan(t.loc[("pf-2", "Value"), "dollar_exposure"])
    assert t.loc[("pf-2", "Value"), "coverage"] == 0.0

    # pf-3: gross 0
    assert t.loc["pf-3", "beta"].isna().all()
    assert t.loc["pf-3", "coverage"].isna().all()


def test_portfolio_factor_exposures_from_engine_outputs_and_empty_inputs():
    returns, factors, _, day = synthetic_panel()
    betas = factor_exposures(returns, factors, day)
    positions = pd.DataFrame({
        "position_id": ["a", "b", "c"],
        "portfolio_id": ["pf", "pf", "pf"],
        "beta_symbol": ["S00", "S40", "UNKNOWN"],  # S40: insufficient history
        "exposure": [1_000.0, 500.0, -500.0],
    })
    ir = pd.DataFrame({"symbol": pd.Series(dtype=object), "ir_beta": pd.Series(dtype=float)})
    out = portfolio_factor_exposures(positions, betas, ir).set_index("factor")
    s00 = betas.loc[betas["symbol"] == "S00"].set_index("factor")["beta"]
    np.testing.assert_allclose(out.loc[EQUITY_FACTORS, "beta"], s00 * 1_000 / 2_000,
                               rtol=1e-14)
    np.testing.assert_allclose(out.loc[EQUITY_FACTORS, "coverage"], 0.5)
    assert np.isnan(out.loc[RATE_FACTOR, "beta"]) and out.loc[RATE_FACTOR, "coverage"] == 0.0

    empty = portfolio_factor_exposures(positions.iloc[:0], betas.iloc[:0], ir)
    assert empty.empty
    assert list(empty.columns) == ["portfolio_id", "factor", "beta", "dollar_exposure",
                                   "coverage"]


def test_factor_exposures_gappy_symbols_solved_in_blocks_give_the_same_numbers(monkeypatch):
    from sigmasight_pipeline.engines import factors as engine

    returns, factors, _, day = synthetic_panel()
    whole = factor_exposures(returns, factors, day)
    monkeypatch.setattr(engine, "_GAPPY_CHUNK", 7)
    pd.testing.assert_frame_equal(factor_exposures(returns, factors, day), whole)
