"""VaR, ES and the Euler decomposition (SPEC §7.1-7.5) against independent references:
plain numpy/scipy loops for the parametric figures, mibian revaluation for the historical
P&L of options, statsmodels for the specific risk and for the gappy-window solve."""

from __future__ import annotations

import importlib.util
import math
import subprocess

import mibian
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.stats import norm

from sigmasight_pipeline.defs.risk.factor_assets import (
    _BETA_INSTEAD,
    _RATE_INSTEAD,
    _insufficient_issues,
)
from sigmasight_pipeline.engines import factors as factors_engine
from sigmasight_pipeline.engines.factors import EQUITY_FACTORS, factor_model
from sigmasight_pipeline.engines.risk_decomposition import (
    component_es,
    factor_contributions,
    position_contributions,
)
from sigmasight_pipeline.engines.risk_factors import rate_changes, risk_factor_covariance
from sigmasight_pipeline.engines.var import (
    exposures,
    historical_pnl,
    historical_var,
    kstar,
    parametric_var,
)

RISK = [*EQUITY_FACTORS, "Rate"]
ALPHAS = (0.95, 0.975, 0.99)


def _cov(seed=3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(7, 7)) * 0.01
    c = a @ a.T
    c[6, 6] += 0.004  # Rate: pp² (a 6 bp daily sd)
    return pd.DataFrame(c, index=RISK, columns=RISK)


def _hand_book():
    """Two portfolios; P1 holds AAA twice (aggregated before squaring) and NOB (no betas, no
    specific vol: defaulted), P2 is long AAA, short BBB."""
    book = pd.DataFrame({
        "position_id": ["p1", "p2", "p3", "p4", "p5"],
        "portfolio_id": ["P1", "P1", "P1", "P2", "P2"],
        "symbol": ["AAA", "AAA", "NOB", "AAA", "BBB"],
        "beta_symbol": ["AAA", "AAA", "NOB", "AAA", "BBB"],
        "exposure": [100_000.0, 50_000.0, 20_000.0, 80_000.0, -60_000.0],
    })
    betas = pd.DataFrame([[1.1, 0.2, -0.3, 0.1, 0.05, -0.2],
                          [0.9, -0.4, 0.6, 0.0, 0.3, 0.1]],
                         index=["AAA", "BBB"], columns=EQUITY_FACTORS)
    ir = pd.Series({"AAA": -0.02, "BBB": 0.015})
    specific = pd.Series({"AAA": 0.012, "BBB": 0.02, "CCC": 0.03})
    return book, betas, ir, specific


def _hand_reference(book, betas, ir, specific, cov):
    """§7.2-7.5 written out position by position with plain numpy."""
    c = cov.to_numpy()
    median = float(np.median(specific.to_numpy()))
    out = {}
    for pid, rows in book.groupby("portfolio_id", sort=False):
        x = np.zeros(7)
        b_rows, e_rows = [], []
        for r in rows.itertuples():
            if r.beta_symbol in betas.index:
                b = np.r_[betas.loc[r.beta_symbol].to_numpy(), ir.get(r.beta_symbol, 0.0)]
            else:
                b = np.r_[1.0, np.zeros(5), 0.0]
            b_rows.append(b)
            e_rows.append(r.exposure)
            x += r.exposure * b
        under = rows.groupby("beta_symbol")["exposure"].sum()
        s = {u: specific.get(u, median) for u in under.index}
        spec_var = sum(under[u] ** 2 * s[u] ** 2 for u in under.index)
        sigma = math.sqrt(x @ c @ x + spec_var)
        marginal = [(b @ c @ x + under[u] * s[u] ** 2) / sigma
                    for b, u in zip(b_rows, rows["beta_symbol"], strict=True)]
        out[pid] = {"x": x, "sigma": sigma, "factor": x * (c @ x) / sigma,
                    "specific": spec_var / sigma,
                    "component": dict(zip(rows["position_id"],
                                          np.array(e_rows) * np.array(marginal), strict=True)),
                    "marginal": dict(zip(rows["position_id"], marginal, strict=True))}
    return out


def test_parametric_var_and_every_contribution_by_hand():
    book, betas, ir, specific = _hand_book()
    cov = _cov()
    ref = _hand_reference(book, betas, ir, specific, cov)
    expo = exposures(book, betas, ir, specific)
    rows = parametric_var(expo, cov)
    assert len(rows) == 2 * 3 * 2
    for r in rows.itertuples():
        sigma = ref[r.portfolio_id]["sigma"] * math.sqrt(r.horizon_days)
        z = norm.ppf(r.confidence)
        assert r.var == pytest.approx(z * sigma, rel=1e-12)
        assert r.es == pytest.approx(sigma * norm.pdf(z) / (1 - r.confidence), rel=1e-12)
        assert r.volatility == pytest.approx(sigma, rel=1e-12)
        assert r.es > r.var
    p1 = rows[rows.portfolio_id == "P1"].iloc[0].to_dict()
    assert p1["flags"] == ["beta_defaulted", "specific_defaulted"]
    assert rows[rows.portfolio_id == "P2"]["flags"].iloc[0] == []
    assert p1["var_pct_gross"] == pytest.approx(p1["var"] / 170_000.0)

    fc = factor_contributions(expo, cov)
    for pid, frame in fc.groupby("portfolio_id"):
        got = frame.set_index("factor")
        assert np.allclose(got.loc[RISK, "contribution"], ref[pid]["factor"], rtol=1e-12)
        assert np.allclose(got.loc[RISK, "exposure"], ref[pid]["x"], rtol=1e-12)
        assert got.loc["Specific", "contribution"] == pytest.approx(ref[pid]["specific"],
                                                                    rel=1e-12)
        assert got["contribution"].sum() == pytest.approx(ref[pid]["sigma"], rel=1e-12)
        assert got["pct_of_risk"].sum() == pytest.approx(1.0, rel=1e-12)

    pc = position_contributions(expo, cov)
    for r in pc.itertuples():
        assert r.component_vol == pytest.approx(ref[r.portfolio_id]["component"][r.position_id],
                                                rel=1e-12)
        assert r.marginal_vol == pytest.approx(ref[r.portfolio_id]["marginal"][r.position_id],
                                               rel=1e-12)
    sums = pc.groupby("portfolio_id")["component_vol"].sum()
    for pid in ("P1", "P2"):
        assert sums[pid] == pytest.approx(ref[pid]["sigma"], rel=1e-12)


def _mibian(S, K, r, T, vol, call):
    bs = mibian.BS([S, K, r * 100, T * 365], volatility=vol * 100)
    return bs.callPrice if call else bs.putPrice


def _option_book():
    """P1: 200 XYZ shares, 3 long XYZ calls, 2 short XYZ puts; P2: 100 QQQ-like shares (no
    betas, some missing returns: proxied by Market) and a long put on it."""
    common = {"multiplier": 100.0, "rate": 0.04}
    rows = [
        {"position_id": "s1", "portfolio_id": "P1", "symbol": "XYZ", "beta_symbol": "XYZ",
         "position_type": "LONG", "quantity": 200.0, "multiplier": 1.0, "price": 50.0,
         "underlying_price": 50.0},
        {"position_id": "c1", "portfolio_id": "P1", "symbol": "XYZ_C", "beta_symbol": "XYZ",
         "position_type": "LC", "quantity": 3.0, "underlying_price": 50.0, "strike": 52.0,
         "option_type": "C", "implied_vol": 0.35, "years_to_expiry": 40 / 365, **common},
        {"position_id": "p1", "portfolio_id": "P1", "symbol": "XYZ_P", "beta_symbol": "XYZ",
         "position_type": "SP", "quantity": -2.0, "underlying_price": 50.0, "strike": 45.0,
         "option_type": "P", "implied_vol": 0.42, "years_to_expiry": 20 / 365, **common},
        {"position_id": "s2", "portfolio_id": "P2", "symbol": "NEW", "beta_symbol": "NEW",
         "position_type": "LONG", "quantity": 100.0, "multiplier": 1.0, "price": 20.0,
         "underlying_price": 20.0},
        {"position_id": "p2", "portfolio_id": "P2", "symbol": "NEW_P", "beta_symbol": "NEW",
         "position_type": "LP", "quantity": 5.0, "underlying_price": 20.0, "strike": 19.0,
         "option_type": "P", "implied_vol": 0.6, "years_to_expiry": 60 / 365, **common},
    ]
    book = pd.DataFrame(rows)
    # exposure: stocks their market value, options any finite number (delta-adjusted in the
    # pipeline; historical P&L of options does not use it)
    book["exposure"] = [10_000.0, 7_000.0, 3_000.0, 2_000.0, -4_000.0]
    return book


def _scenarios(n=80, seed=11):
    rng = np.random.default_rng(seed)
    days = pd.Index(pd.bdate_range("2025-01-02", periods=n).date, name="date")
    f = pd.DataFrame(rng.normal(0, 0.01, (n, 6)), index=days, columns=EQUITY_FACTORS)
    own = pd.DataFrame({"XYZ": rng.normal(0, 0.03, n), "NEW": rng.normal(0, 0.05, n)},
                       index=days)
    own.iloc[:30, 1] = np.nan  # NEW listed 30 sessions ago: proxied before
    return own, f


def test_historical_var_es_with_options_revalued_by_mibian():
    book = _option_book()
    betas = pd.DataFrame([[1.3, 0, 0, 0, 0, 0]], index=["XYZ"], columns=EQUITY_FACTORS)
    own, f = _scenarios()
    expo = exposures(book, betas, None, pd.Series({"XYZ": 0.02}))
    hist = historical_pnl(book, expo, betas, own, f)

    # the P&L vectors by hand: own return, else Market × 1 (NEW has no betas)
    ref = {"P1": np.zeros(len(own)), "P2": np.zeros(len(own))}
    position = {}
    for r in book.itertuples():
        m = own[r.beta_symbol].to_numpy().copy()
        missing = np.isnan(m)
        m[missing] = f["Market"].to_numpy()[missing]  # Market beta 1
        if r.position_type == "LONG":
            pnl = r.exposure * m
        else:
            v0 = _mibian(r.underlying_price, r.strike, r.rate, r.years_to_expiry,
                         r.implied_vol, r.option_type == "C")
            pnl = np.array([r.quantity * r.multiplier * (
                _mibian(r.underlying_price * (1 + mk), r.strike, r.rate, r.years_to_expiry,
                        r.implied_vol, r.option_type == "C") - v0) for mk in m])
        position[r.position_id] = pnl
        ref[r.portfolio_id] += pnl
    got = dict(zip(hist.portfolio_ids, hist.pnl, strict=True))
    for pid in ref:
        assert np.allclose(got[pid], ref[pid], rtol=1e-6, atol=1e-6)

    rows = historical_var(hist, expo.gross)
    assert len(rows) == 12 and (rows.n_scenarios == 80).all()
    for r in rows.itertuples():
        ordered = np.sort(ref[r.portfolio_id])
        k = {0.95: 4, 0.975: 2, 0.99: 1}[r.confidence]  # ⌈80 (1 − α)⌉
        assert kstar(80, r.confidence) == k
        root = math.sqrt(r.horizon_days)
        assert r.var == pytest.approx(-ordered[k - 1] * root, rel=1e-6)
        assert r.es == pytest.approx(-ordered[:k].mean() * root, rel=1e-6)
        assert r.volatility == pytest.approx(np.std(ref[r.portfolio_id], ddof=1) * root,
                                             rel=1e-6)
        assert r.es >= r.var
    assert rows[rows.portfolio_id == "P2"]["flags"].iloc[0] == ["hist_proxy"]
    assert rows[rows.portfolio_id == "P1"]["flags"].iloc[0] == []

    # component ES at 97.5 %: each position's mean P&L over its portfolio's 2 worst days
    ces = component_es(hist, min_scenarios=60)
    for i, r in enumerate(book.itertuples()):
        worst = np.argsort(ref[r.portfolio_id], kind="stable")[:2]
        assert ces[i] == pytest.approx(-position[r.position_id][worst].mean(), rel=1e-6)
    es975 = rows[(rows.confidence == 0.975) & (rows.horizon_days == 1)].set_index(
        "portfolio_id")["es"]
    per = pd.Series(ces).groupby(book["portfolio_id"]).sum()
    for pid in ("P1", "P2"):
        assert per[pid] == pytest.approx(es975[pid], rel=1e-9)


def test_kstar_and_fewer_than_60_scenarios_give_null_with_the_flag():
    assert [kstar(250, a) for a in ALPHAS] == [13, 7, 3]
    assert kstar(100, 0.99) == 1 and kstar(59, 0.95) == 3
    book = _option_book()
    betas = pd.DataFrame([[1.0, 0, 0, 0, 0, 0]], index=["XYZ"], columns=EQUITY_FACTORS)
    own, f = _scenarios(n=59)
    expo = exposures(book, betas, None, None)
    rows = historical_var(historical_pnl(book, expo, betas, own, f), expo.gross)
    assert rows["var"].isna().all() and rows["es"].isna().all()
    assert all("insufficient_history" in flags for flags in rows["flags"])
    assert (rows.n_scenarios == 59).all()
    # no specific vol anywhere and no covariance: parametric NULL, flagged, never 0
    par = parametric_var(expo, None)
    assert par["var"].isna().all() and all("insufficient_history" in f for f in par["flags"])


def test_specific_vol_is_the_residual_sd_of_the_statsmodels_fit():
    rng = np.random.default_rng(5)
    days = pd.Index(pd.bdate_range("2024-01-02", periods=160).date)
    f = pd.DataFrame(rng.normal(0, 0.01, (160, 6)), index=days, columns=EQUITY_FACTORS)
    y = pd.DataFrame({"A": f.to_numpy() @ rng.normal(0, 1, 6) + rng.normal(0, 0.015, 160),
                      "B": f.to_numpy() @ rng.normal(0, 1, 6) + rng.normal(0, 0.01, 160)},
                     index=days)
    y.iloc[::9, 1] = np.nan
    y.iloc[:120, 0] = np.nan  # 40 returns left: insufficient
    y["C"] = f.to_numpy() @ rng.normal(0, 1, 6) + rng.normal(0, 0.02, 160)
    _, spec = factor_model(y, f, days[-1])
    spec = spec.set_index("symbol")
    assert np.isnan(spec.loc["A", "specific_vol"]) and spec.loc["A", "quality"] == \
        "insufficient_history"
    for s in ("B", "C"):
        window = y[s].iloc[-150:]
        ok = window.notna().to_numpy()
        fit = sm.OLS(window.to_numpy()[ok], sm.add_constant(f.iloc[-150:].to_numpy()[ok])).fit()
        assert spec.loc[s, "specific_vol"] == pytest.approx(math.sqrt(fit.mse_resid), rel=1e-10)
        assert spec.loc[s, "n_obs"] == ok.sum()


def _ill_conditioned(seed=1, eps=5e-7):
    """Market and Value nearly collinear: the regressors' correlation matrix has condition
    number ~1.5e9. Two symbols with different gaps (so both take the gappy path)."""
    rng = np.random.default_rng(seed)
    days = pd.Index(pd.bdate_range("2024-01-02", periods=150).date)
    x = rng.normal(size=(150, 6)) * 0.01
    x[:, 1] = x[:, 0] + eps * rng.normal(size=150)
    y = x @ np.array([1.0, 0.5, 0.2, -0.3, 0.1, 0.4]) + 0.01 * rng.normal(size=150)
    returns = pd.DataFrame({"G1": y, "G2": y}, index=days)
    returns.iloc[::7, 0] = np.nan
    returns.iloc[3::11, 1] = np.nan
    return pd.DataFrame(x, index=days, columns=EQUITY_FACTORS), returns


def test_gappy_symbols_match_statsmodels_at_condition_1e9():
    f, returns = _ill_conditioned()
    ok = returns["G1"].notna().to_numpy()
    assert np.linalg.cond(np.corrcoef(f.to_numpy()[ok].T)) > 1e9
    betas, _ = factor_model(returns, f, f.index[-1])
    for s in ("G1", "G2"):
        ok = returns[s].notna().to_numpy()
        fit = sm.OLS(returns[s].to_numpy()[ok], sm.add_constant(f.to_numpy()[ok])).fit()
        got = betas[betas.symbol == s]
        # collinear Market/Value betas are large and stored capped: compare the unclipped
        # estimate t_stat × std_err. The old normal-equation inverse was ~1e-8 off; QR ~1e-12
        unclipped = got["t_stat"] * got["std_err"]
        assert np.allclose(unclipped, fit.params[1:], rtol=1e-10, atol=0)
        assert np.allclose(got["std_err"], fit.bse[1:], rtol=1e-10, atol=0)


def test_the_old_normal_equation_solver_fails_the_same_comparison(tmp_path):
    """The check above is a real one: the pre-fix solver (git HEAD~2) misses it."""
    old = subprocess.run(["git", "show", "536ee12~1:sigmasight_pipeline/engines/factors.py"],
                         capture_output=True, text=True, cwd=factors_engine.__file__.rsplit(
                             "/sigmasight_pipeline/", 1)[0])
    if old.returncode != 0:
        pytest.skip("git history not available")
    path = tmp_path / "old_factors.py"
    path.write_text(old.stdout)
    spec = importlib.util.spec_from_file_location("old_factors", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    f, returns = _ill_conditioned()
    betas = module.factor_exposures(returns, f, f.index[-1])
    ok = returns["G1"].notna().to_numpy()
    fit = sm.OLS(returns["G1"].to_numpy()[ok], sm.add_constant(f.to_numpy()[ok])).fit()
    got = betas[betas.symbol == "G1"]
    assert not np.allclose(got["t_stat"] * got["std_err"], fit.params[1:], rtol=1e-10, atol=0)


def test_rate_changes_and_the_seven_factor_covariance_by_hand():
    days = pd.Index(pd.bdate_range("2024-01-02", periods=100).date)
    rng = np.random.default_rng(2)
    y = pd.Series(4.0 + np.cumsum(rng.normal(0, 0.05, 100)), index=days)
    y.iloc[[10, 11, 40]] = np.nan  # no DGS10 on three sessions
    rate = rate_changes(y, days)
    assert rate.iloc[0] == 0.0 and rate.iloc[10] == 0.0 and rate.iloc[11] == 0.0
    assert rate.iloc[12] == pytest.approx(y.iloc[12] - y.iloc[9], abs=1e-15)
    assert rate.iloc[5] == pytest.approx(y.iloc[5] - y.iloc[4], abs=1e-15)

    f = pd.DataFrame(rng.normal(0, 0.01, (100, 6)), index=days, columns=EQUITY_FACTORS)
    f.iloc[20, 2] = np.nan  # a row without every equity factor: dropped for all seven
    cov, n = risk_factor_covariance(f, rate, days[-1])
    r = pd.concat([f, rate.rename("Rate")], axis=1).drop(index=days[20]).to_numpy()
    assert n == 99
    w = np.array([(1 - 0.94) * 0.94 ** (n - 1 - i) for i in range(n)])
    w /= w.sum()
    hand = sum(w[i] * np.outer(r[i], r[i]) for i in range(n))
    assert np.allclose(cov.to_numpy(), hand, rtol=1e-12, atol=0)


def test_missing_estimates_say_what_the_pipeline_does_instead():
    held = pd.DataFrame({"date": ["2025-06-02"], "position_id": ["x"], "portfolio_id": ["P"],
                         "beta_symbol": ["NEWCO"]})
    rows = pd.DataFrame({"symbol": ["NEWCO"], "n_obs": [12], "quality": ["insufficient_history"]})
    rate = _insufficient_issues(held, rows, "the rate beta", _RATE_INSTEAD).iloc[0]
    assert "contributes $0" in rate.message and "ir_beta_missing" in rate.message
    assert "Market beta 1" not in rate.message
    assert rate.symbol == "NEWCO" and rate.position_id == "x" and rate.portfolio_id == "P"
    beta = _insufficient_issues(held, rows, "factor betas", _BETA_INSTEAD).iloc[0]
    assert "beta_defaulted" in beta.message and "12 usable daily returns" in beta.message
