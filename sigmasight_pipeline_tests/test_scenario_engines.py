"""Scenario revaluation, market risk, stress tests and position correlations (SPEC §5.6-5.8).

Pure engines, no database. Expected values are computed independently in each test: option
values with mibian (rate and vol in percent, days to expiry), conditional factor moves with
an explicit matrix inverse, correlations with numpy.corrcoef.
"""

from __future__ import annotations

import datetime as dt

import mibian
import numpy as np
import pandas as pd
import pytest

from sigmasight_pipeline.engines.correlations import position_correlations
from sigmasight_pipeline.engines.factor_names import ALL_FACTORS, EQUITY_FACTORS, RATE_FACTOR
from sigmasight_pipeline.engines.market_risk import (
    MARKET_RISK_COLUMNS,
    MARKET_SHOCKS,
    RATE_SHOCKS,
    market_risk,
)
from sigmasight_pipeline.engines.scenarios import (
    PORTFOLIO_COLUMNS,
    POSITION_COLUMNS,
    Scenario,
    gross_exposure,
    scenario_pnl,
)
from sigmasight_pipeline.engines.stress import (
    STRESS_COLUMNS,
    conditional_moves,
    load_scenarios,
    stress_tests,
)

RTOL = 1e-6
R = 0.043


# --- helpers ---------------------------------------------------------------------------------


def mibian_value(S, K, days, vol, is_call, r=R) -> float:
    """Option value per share from the reference library (percent units, days)."""
    bs = mibian.BS([S, K, r * 100.0, days], volatility=vol * 100.0)
    return bs.callPrice if is_call else bs.putPrice


def mibian_delta(S, K, days, vol, is_call, r=R) -> float:
    bs = mibian.BS([S, K, r * 100.0, days], volatility=vol * 100.0)
    return bs.callDelta if is_call else bs.putDelta


def stock(pid, portfolio, symbol, quantity, price, beta_symbol=None) -> dict:
    return {
        "position_id": pid,
        "portfolio_id": portfolio,
        "symbol": symbol,
        "position_type": "LONG" if quantity > 0 else "SHORT",
        "beta_symbol": beta_symbol or symbol,
        "quantity": float(quantity),
        "multiplier": 1,
        "exposure": quantity * price,
        "underlying_price": np.nan,
        "strike": np.nan,
        "option_type": None,
        "implied_vol": np.nan,
        "rate": np.nan,
        "years_to_expiry": np.nan,
    }


def option(pid, portfolio, underlying, quantity, S, K, days, vol, kind, r=R) -> dict:
    """kind: 'call'/'put' (or 'C'/'P'); exposure = q × 100 × delta × S from mibian."""
    is_call = kind.lower().startswith("c")
    position_type = ("L" if quantity > 0 else "S") + ("C" if is_call else "P")
    delta = mibian_delta(S, K, days, vol, is_call, r) if days > 0 else (
        float(S > K) if is_call else -float(S < K)
    )
    return {
        "position_id": pid,
        "portfolio_id": portfolio,
        "symbol": f"{underlying}{kind}{K}",
        "position_type": position_type,
        "beta_symbol": underlying,
        "quantity": float(quantity),
        "multiplier": 100,
        "exposure": quantity * 100 * delta * S,
        "underlying_price": float(S),
        "strike": float(K),
        "option_type": kind,
        "implied_vol": vol,
        "rate": r,
        "years_to_expiry": days / 365.0,
    }


def betas_frame(rows: dict[str, dict[str, float]]) -> pd.DataFrame:
    return pd.DataFrame.from_dict(rows, orient="index").reindex(columns=EQUITY_FACTORS)


def one_scenario(market=0.0, rate=0.0, **factors):
    fm = pd.DataFrame([{"Market": market, **factors}], index=["s"])
    return fm, pd.Series([rate], index=["s"])


def random_cov(seed=7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(6, 6)) * 0.01
    cov = a @ a.T + np.diag(rng.uniform(1e-5, 4e-5, 6))
    return pd.DataFrame(cov, index=EQUITY_FACTORS, columns=EQUITY_FACTORS)


# --- a hand-computed stress result -----------------------------------------------------------

BOOK_BETAS = {
    "AAPL": {"Market": 1.2, "Value": -0.3, "Size": 0.1, "Momentum": 0.2, "Quality": 0.0,
             "Low Volatility": -0.1},
    "XOM": {"Market": 0.8, "Value": 0.5, "Size": -0.2, "Momentum": 0.0, "Quality": 0.2,
            "Low Volatility": 0.3},
}
IR = {"AAPL": -0.01, "XOM": 0.02}
S_AAPL, S_XOM = 200.0, 110.0


def hand_book() -> pd.DataFrame:
    return pd.DataFrame([
        stock("p1", "pf", "AAPL", 100, S_AAPL),
        stock("p2", "pf", "XOM", -50, S_XOM),
        option("p3", "pf", "AAPL", 2, S_AAPL, 210.0, 60, 0.28, "call"),
        option("p4", "pf", "XOM", -3, S_XOM, 100.0, 45, 0.25, "P"),
    ])


def expected_pnl(book: pd.DataFrame, x: dict[str, float], dy: float) -> float:
    """Σ position P&L computed by hand: linear stocks, mibian revaluation of options."""
    total = 0.0
    for row in book.itertuples():
        b = BOOK_BETAS[row.beta_symbol]
        m = sum(b[f] * x.get(f, 0.0) for f in EQUITY_FACTORS)
        if row.position_type in ("LONG", "SHORT"):
            total += row.exposure * m
        else:
            days = row.years_to_expiry * 365.0
            is_call = row.option_type.lower().startswith("c")
            v0 = mibian_value(row.underlying_price, row.strike, days, row.implied_vol, is_call)
            v1 = mibian_value(row.underlying_price * (1 + m), row.strike, days, row.implied_vol,
                              is_call)
            total += row.quantity * row.multiplier * (v1 - v0)
        total += row.exposure * IR[row.beta_symbol] * 100.0 * dy
    return total


def test_stress_direct_and_correlated_pnl_by_hand():
    book = hand_book()
    cov = random_cov()
    shocks = {"Market": -0.10, "Value": 0.05, "Rate": 0.0025}
    sc = Scenario(id="hand", name="Hand", category="market", severity="mild", shocks=shocks)
    out = stress_tests(book, betas_frame(BOOK_BETAS), pd.Series(IR), cov, [sc])
    assert list(out.columns) == STRESS_COLUMNS
    assert len(out) == 1
    row = out.iloc[0]

    # conditional expectation of the unnamed factors, independently with an explicit inverse
    named = ["Market", "Value"]
    unnamed = [f for f in EQUITY_FACTORS if f not in named]
    c = cov.to_numpy()
    si = [EQUITY_FACTORS.index(f) for f in named]
    ui = [EQUITY_FACTORS.index(f) for f in unnamed]
    x_u = c[np.ix_(ui, si)] @ np.linalg.inv(c[np.ix_(si, si)]) @ np.array([-0.10, 0.05])
    x_corr = {"Market": -0.10, "Value": 0.05, **dict(zip(unnamed, x_u, strict=True))}

    direct = expected_pnl(book, {"Market": -0.10, "Value": 0.05}, 0.0025)
    correlated = expected_pnl(book, x_corr, 0.0025)
    gross = book["exposure"].abs().sum()
    assert row["direct_pnl"] == pytest.approx(direct, rel=RTOL)
    assert row["correlated_pnl"] == pytest.approx(correlated, rel=RTOL)
    assert row["direct_pct"] == pytest.approx(direct / gross, rel=RTOL)
    assert row["correlated_pct"] == pytest.approx(correlated / gross, rel=RTOL)
    assert abs(direct - correlated) > 1.0  # the propagation matters in this example
    assert row["flags"] == []

    impacts = row["factor_impacts"]
    assert set(impacts) == set(ALL_FACTORS)  # every correlated move is non-zero here
    for f in EQUITY_FACTORS:
        d_f = sum(e * BOOK_BETAS[s][f] for e, s in zip(book["exposure"], book["beta_symbol"],
                                                        strict=True))
        assert impacts[f]["shock"] == pytest.approx(x_corr[f], rel=RTOL)
        assert impacts[f]["dollar_exposure"] == pytest.approx(d_f, rel=RTOL)
        assert impacts[f]["pnl"] == pytest.approx(d_f * x_corr[f], rel=RTOL)
    d_rate = sum(e * IR[s] for e, s in zip(book["exposure"], book["beta_symbol"], strict=True))
    assert impacts["Rate"] == pytest.approx(
        {"shock": 0.0025, "dollar_exposure": d_rate, "pnl": d_rate * 100 * 0.0025}, rel=RTOL
    )


def test_stress_without_covariance_is_direct_and_flagged():
    book = hand_book()
    scenarios = [
        Scenario("m", "M", "market", "mild", {"Market": -0.1}),
        Scenario("r", "R", "rates", "mild", {"Rate": 0.01}),
    ]
    out = stress_tests(book, betas_frame(BOOK_BETAS), pd.Series(IR), None, scenarios)
    np.testing.assert_allclose(out["correlated_pnl"], out["direct_pnl"], rtol=0, atol=0)
    assert out["flags"].tolist() == [["no_factor_covariance"], []]  # nothing to propagate in r
    assert set(out.loc[0, "factor_impacts"]) == {"Market"}
    assert set(out.loc[1, "factor_impacts"]) == {"Rate"}
    # a covariance with NaN is as good as none
    bad = random_cov()
    bad.iloc[0, 1] = np.nan
    again = stress_tests(book, betas_frame(BOOK_BETAS), pd.Series(IR), bad, scenarios)
    assert again["flags"].tolist() == out["flags"].tolist()


def test_stress_library_runs_on_a_book_in_one_frame():
    book = hand_book()
    scenarios = load_scenarios()
    out = stress_tests(book, betas_frame(BOOK_BETAS), pd.Series(IR), random_cov(), scenarios)
    assert out["scenario"].tolist() == [sc.id for sc in scenarios]
    assert np.isfinite(out[["direct_pnl", "correlated_pnl"]].to_numpy()).all()
    rates = out[out["category"] == "rates"]
    np.testing.assert_allclose(rates["direct_pnl"], rates["correlated_pnl"])
    empty = stress_tests(book.iloc[:0], betas_frame(BOOK_BETAS), pd.Series(IR), None, scenarios)
    assert list(empty.columns) == STRESS_COLUMNS and empty.empty


# --- conditional moves -----------------------------------------------------------------------


def test_conditional_moves_match_explicit_inverse_and_leave_rate_alone():
    cov = random_cov(seed=3)
    c = cov.to_numpy()
    shocks = {"Market": -0.2, "Quality": 0.07, RATE_FACTOR: 0.01}
    moves = conditional_moves(cov, shocks)
    named = [0, 4]
    unnamed = [1, 2, 3, 5]
    expected = c[np.ix_(unnamed, named)] @ np.linalg.inv(c[np.ix_(named, named)]) @ np.array(
        [-0.2, 0.07]
    )
    assert list(moves) == ALL_FACTORS
    np.testing.assert_allclose([moves[EQUITY_FACTORS[i]] for i in unnamed], expected, rtol=1e-10)
    assert moves["Market"] == -0.2 and moves["Quality"] == 0.07
    assert moves[RATE_FACTOR] == 0.01


def test_conditional_moves_edge_cases():
    cov = random_cov()
    assert conditional_moves(cov, {RATE_FACTOR: 0.03}) == {
        **{f: 0.0 for f in EQUITY_FACTORS}, RATE_FACTOR: 0.03
    }
    full = {f: 0.01 * (i + 1) for i, f in enumerate(EQUITY_FACTORS)}
    assert conditional_moves(cov, full) == full
    # a single named factor: x_u = cov_um / var_m · x_m (the regression beta)
    one = conditional_moves(cov, {"Market": -0.1})
    assert one["Size"] == pytest.approx(cov.loc["Size", "Market"] / cov.loc["Market", "Market"]
                                        * -0.1, rel=1e-12)
    assert RATE_FACTOR not in one
    with pytest.raises(ValueError, match="unknown factors"):
        conditional_moves(cov, {"Markt": 0.1})


# --- scenario_pnl: option convexity, floor, default, override, rate, flags ----------------------


def test_short_put_loses_more_than_its_delta_in_a_crash():
    book = pd.DataFrame([option("sp", "pf", "SPY", -10, 600.0, 580.0, 30, 0.2, "put")])
    betas = betas_frame({"SPY": {"Market": 1.0}})
    fm, rm = one_scenario(market=-0.35)
    res = scenario_pnl(book, betas, pd.Series(dtype=float), fm, rm)
    pnl = res.positions.loc[0, "pnl"]
    delta_only = book.loc[0, "exposure"] * -0.35
    expected = -10 * 100 * (mibian_value(390.0, 580.0, 30, 0.2, False)
                            - mibian_value(600.0, 580.0, 30, 0.2, False))
    assert pnl == pytest.approx(expected, rel=RTOL)
    assert pnl < delta_only < 0  # negative gamma: worse than the linear estimate
    assert res.positions.loc[0, "option_pnl"] == pnl
    assert list(res.positions.columns) == POSITION_COLUMNS
    assert list(res.portfolios.columns) == PORTFOLIO_COLUMNS


def test_move_floor_and_beta_default():
    book = pd.DataFrame([
        stock("a", "pf", "LEV", 100, 50.0),  # beta 3: a -50 % market is a -150 % move
        stock("b", "pf", "NEW", 200, 10.0),  # no betas at all
    ])
    betas = betas_frame({"LEV": {"Market": 3.0, "Value": 0.0}})
    fm = pd.DataFrame({"Market": [-0.5, 0.0]}, index=["crash", "rates"])
    rm = pd.Series([0.0, 0.01], index=["crash", "rates"])
    res = scenario_pnl(book, betas, pd.Series({"LEV": 0.01, "NEW": 0.02}), fm, rm)
    pos = res.positions.set_index(["position_id", "scenario"])
    assert pos.loc[("a", "crash"), "move"] == -0.99
    assert pos.loc[("a", "crash"), "pnl"] == pytest.approx(5000.0 * -0.99)
    assert pos.loc[("a", "crash"), "flags"] == ["move_floored"]
    assert pos.loc[("b", "crash"), "move"] == -0.5  # Market beta 1
    assert pos.loc[("b", "crash"), "pnl"] == pytest.approx(-1000.0)
    assert pos.loc[("b", "crash"), "flags"] == ["beta_defaulted"]
    assert pos.loc[("b", "rates"), "flags"] == []  # the default did not move it
    port = res.portfolios.set_index("scenario")
    assert port.loc["crash", "flags"] == ["beta_defaulted", "move_floored"]
    assert port.loc["crash", "pnl"] == pytest.approx(-4950.0 - 1000.0)


def test_override_vix_spike_on_a_vix_call_and_position():
    vix_call = option("vc", "pf", "VIX", 5, 18.0, 20.0, 30, 0.9, "call")
    book = pd.DataFrame([vix_call, stock("vx", "pf", "VIXY", 100, 40.0, beta_symbol="VIX"),
                         stock("sp", "pf", "SPY", 10, 600.0)])
    betas = betas_frame({"SPY": {"Market": 1.0}})  # VIX has no betas: the override decides
    scenario = next(sc for sc in load_scenarios() if sc.id == "vix_spike_150")
    out = stress_tests(book, betas, pd.Series(dtype=float), None, [scenario])
    expected = (5 * 100 * (mibian_value(45.0, 20.0, 30, 0.9, True)
                           - mibian_value(18.0, 20.0, 30, 0.9, True))
                + 4000.0 * 1.5 + 6000.0 * -0.15)
    assert out.loc[0, "direct_pnl"] == pytest.approx(expected, rel=RTOL)
    assert out.loc[0, "flags"] == ["no_factor_covariance"]  # no beta_defaulted: overridden
    fm, rm = one_scenario(market=-0.15)
    res = scenario_pnl(book, betas, pd.Series(dtype=float), fm, rm,
                       pd.DataFrame({"VIX": [1.5]}, index=["s"]))
    moves = res.positions.set_index("position_id")["move"]
    assert moves.to_dict() == {"vc": 1.5, "vx": 1.5, "sp": -0.15}


def test_loss_exceeds_gross_flag():
    # short deep OTM puts: tiny delta exposure, large crash loss
    book = pd.DataFrame([option("sp", "pf", "SPY", -20, 600.0, 450.0, 30, 0.2, "put")])
    betas = betas_frame({"SPY": {"Market": 1.0}})
    fm = pd.DataFrame({"Market": [-0.35, -0.01]}, index=["crash", "dip"])
    res = scenario_pnl(book, betas, pd.Series(dtype=float), fm, pd.Series(dtype=float))
    gross = gross_exposure(book)["pf"]
    port = res.portfolios.set_index("scenario")
    assert -port.loc["crash", "pnl"] > gross
    assert port.loc["crash", "flags"] == ["loss_exceeds_gross"]
    assert port.loc["dip", "flags"] == []


def test_rate_term_by_hand_and_missing_ir_beta():
    call = option("c", "pf", "AAPL", 3, 200.0, 190.0, 90, 0.3, "C")
    book = pd.DataFrame([stock("a", "pf", "AAPL", 100, 200.0), call,
                         stock("b", "pf", "NOIR", 50, 30.0)])
    betas = betas_frame({"AAPL": {"Market": 1.1}, "NOIR": {"Market": 0.9}})
    ir = pd.Series({"AAPL": -0.015})
    fm, rm = one_scenario(rate=0.0025)
    res = scenario_pnl(book, betas, ir, fm, rm)
    pos = res.positions.set_index("position_id")
    assert pos.loc["a", "pnl"] == pytest.approx(20000.0 * -0.015 * 0.25)
    assert pos.loc["c", "pnl"] == pytest.approx(call["exposure"] * -0.015 * 0.25)
    assert pos.loc["c", "option_pnl"] == pos.loc["c", "pnl"]
    assert pos.loc["b", "pnl"] == 0.0
    assert pos.loc["b", "flags"] == ["ir_beta_missing"]
    assert res.portfolios.loc[0, "flags"] == ["ir_beta_missing"]


def test_expiring_option_is_intrinsic_and_option_type_codes_agree():
    book = pd.DataFrame([
        option("e", "pf", "AAPL", 1, 200.0, 190.0, 0, np.nan, "call"),
        option("c1", "pf", "AAPL", 1, 200.0, 210.0, 30, 0.3, "call"),
        option("c2", "pf", "AAPL", 1, 200.0, 210.0, 30, 0.3, "C"),
    ])
    betas = betas_frame({"AAPL": {"Market": 1.0}})
    fm, rm = one_scenario(market=0.1)
    pos = scenario_pnl(book, betas, pd.Series(dtype=float), fm, rm).positions.set_index(
        "position_id")
    assert pos.loc["e", "pnl"] == pytest.approx(100 * ((220.0 - 190.0) - (200.0 - 190.0)))
    assert pos.loc["c1", "pnl"] == pos.loc["c2", "pnl"]
    bad = book.assign(option_type=["call", "X", "C"])
    with pytest.raises(ValueError, match="c1"):
        scenario_pnl(bad, betas, pd.Series(dtype=float), fm, rm)


def test_scenario_grid_is_positions_times_scenarios():
    book = hand_book()
    fm = pd.DataFrame({"Market": np.linspace(-0.3, 0.3, 7)}, index=[f"s{i}" for i in range(7)])
    res = scenario_pnl(book, betas_frame(BOOK_BETAS), pd.Series(IR), fm, pd.Series(dtype=float))
    assert len(res.positions) == 4 * 7 and len(res.portfolios) == 7
    summed = res.positions.groupby("scenario", sort=False)["pnl"].sum()
    np.testing.assert_allclose(res.portfolios["pnl"], summed.to_numpy())
    options = res.positions[res.positions["position_id"].isin(["p3", "p4"])]
    np.testing.assert_allclose(res.portfolios["option_pnl"],
                               options.groupby("scenario", sort=False)["pnl"].sum().to_numpy())
    with pytest.raises(ValueError, match="equity factors"):
        scenario_pnl(book, betas_frame(BOOK_BETAS), pd.Series(IR),
                     fm.assign(Rate=0.01), pd.Series(dtype=float))


# --- market risk -----------------------------------------------------------------------------


def test_market_risk_rows_pct_and_linear_stocks():
    book = pd.DataFrame([
        stock("a", "A", "AAPL", 100, 200.0),
        stock("b", "A", "XOM", -50, 110.0),
        stock("c", "B", "XOM", 10, 110.0),
        option("d", "B", "AAPL", 1, 200.0, 200.0, 30, 0.3, "put"),
    ])
    betas = betas_frame({"AAPL": {"Market": 1.2}, "XOM": {"Market": 0.8}})
    ir = pd.Series({"AAPL": -0.01, "XOM": 0.02})
    out = market_risk(book, betas, ir)
    assert list(out.columns) == MARKET_RISK_COLUMNS
    assert out.groupby("portfolio_id").size().to_dict() == {"A": 11, "B": 11}
    a = out[out["portfolio_id"] == "A"].set_index("scenario")
    assert a.index.tolist() == [
        "market_down_20", "market_down_10", "market_down_5", "market_up_5", "market_up_10",
        "market_up_20", "rate_down_100bp", "rate_down_25bp", "rate_up_25bp", "rate_up_100bp",
        "rate_up_300bp",
    ]
    assert a["shock"].tolist() == MARKET_SHOCKS + RATE_SHOCKS
    assert a["scenario_type"].tolist() == ["market"] * 6 + ["rate"] * 5
    gross_a = 20000.0 + 5500.0
    for shock in MARKET_SHOCKS:
        name = f"market_{'up' if shock > 0 else 'down'}_{round(abs(shock) * 100)}"
        expected = 20000.0 * 1.2 * shock - 5500.0 * 0.8 * shock
        assert a.loc[name, "pnl"] == pytest.approx(expected, rel=1e-12)
        assert a.loc[name, "pnl_pct"] == pytest.approx(expected / gross_a, rel=1e-12)
    assert a.loc["rate_up_300bp", "pnl"] == pytest.approx(
        (20000.0 * -0.01 - 5500.0 * 0.02) * 3.0, rel=1e-12)
    assert (a["option_pnl"] == 0.0).all()
    b = out[out["portfolio_id"] == "B"].set_index("scenario")
    assert (b["option_pnl"] != 0.0).all()
    gross_b = gross_exposure(book)["B"]
    np.testing.assert_allclose(b["pnl_pct"], b["pnl"] / gross_b)
    empty = market_risk(book.iloc[:0], betas, ir)
    assert list(empty.columns) == MARKET_RISK_COLUMNS and empty.empty


def test_market_risk_pct_is_nan_for_zero_gross():
    book = pd.DataFrame([stock("a", "Z", "AAPL", 0, 200.0)])
    out = market_risk(book, betas_frame({"AAPL": {"Market": 1.0}}), pd.Series(dtype=float))
    assert out["pnl"].eq(0.0).all() and out["pnl_pct"].isna().all()


# --- position correlations -------------------------------------------------------------------

DAYS = [dt.date(2025, 1, 1) + dt.timedelta(days=i) for i in range(130)]


def price_table(seed=11) -> tuple[pd.DataFrame, pd.DataFrame]:
    """adj_close for A, B (= A's log returns × 2: ρ = 1), C, D (independent); and log returns."""
    rng = np.random.default_rng(seed)
    r = rng.normal(0.0, 0.01, (len(DAYS) - 1, 3))
    rets = np.c_[r[:, 0], 2.0 * r[:, 0], r[:, 1], r[:, 2]]
    logp = np.vstack([np.zeros(4), np.cumsum(rets, axis=0)])
    prices = pd.DataFrame(100.0 * np.exp(logp), index=DAYS, columns=["A", "B", "C", "D"])
    return prices, pd.DataFrame(rets, index=DAYS[1:], columns=prices.columns)


def test_correlations_hand_example_with_cluster_and_option_aggregation():
    prices, rets = price_table()
    day = DAYS[-10]  # later rows are ignored
    exposures = pd.DataFrame({
        "portfolio_id": ["p"] * 5,
        "beta_symbol": ["A", "A", "B", "C", "D"],  # the second A row is an option on A
        "exposure": [8_000.0, 4_000.0, -30_000.0, 20_000.0, 5_000.0],  # D: below $10k
    })
    pairs, summary = position_correlations(exposures, prices, day)
    window = rets.loc[:day].tail(90)
    expected_corr = np.corrcoef(window[["A", "B", "C"]].to_numpy().T)
    assert pairs[["symbol_a", "symbol_b"]].values.tolist() == [["A", "B"], ["A", "C"],
                                                               ["B", "C"]]
    np.testing.assert_allclose(
        pairs["correlation"], [expected_corr[0, 1], expected_corr[0, 2], expected_corr[1, 2]],
        rtol=1e-10,
    )
    assert pairs["correlation"].iloc[0] == pytest.approx(1.0, abs=1e-12)
    assert (pairs["n_obs"] == 90).all()
    s = summary.iloc[0]
    assert s["n_positions"] == 3
    assert s["clusters"] == [["A", "B"]]
    assert s["avg_abs_correlation"] == pytest.approx(np.abs(pairs["correlation"]).mean())
    gross = 8_000 + 4_000 + 30_000 + 20_000 + 5_000
    w = np.array([12_000.0, 30_000.0, 20_000.0]) / gross  # |w| of A (stock + option), B, C
    rho = np.abs(expected_corr)
    expected_eb = w.sum() ** 2 / (w @ rho @ w)
    assert s["effective_bets"] == pytest.approx(expected_eb, rel=1e-10)
    assert 1.0 <= s["effective_bets"] <= 3.0


def test_correlation_filters_overlap_and_degenerate_portfolios():
    prices, _ = price_table()
    prices["E"] = np.nan
    prices.loc[DAYS[-16]:, "E"] = np.linspace(10.0, 12.0, 16) ** 1.1  # 15 returns only
    exposures = pd.DataFrame({
        "portfolio_id": ["big"] * 4 + ["one", "none", "none"],
        "beta_symbol": ["A", "C", "E", "D", "A", "A", "C"],
        # D: 15k ≥ $10k but < 1 % of big's 4.015M gross; E kept but without enough overlap
        "exposure": [2e6, -1e6, 1e6, 15e3, 5e4, 9e3, 9.9e3],
    })
    pairs, summary = position_correlations(exposures, prices, DAYS[-1])
    assert pairs[["symbol_a", "symbol_b"]].values.tolist() == [["A", "C"]]
    summary = summary.set_index("portfolio_id")
    assert summary.index.tolist() == ["big", "one", "none"]
    big = summary.loc["big"]
    assert big["n_positions"] == 3 and big["clusters"] == []
    w = np.array([2e6, 1e6, 1e6]) / 4.015e6
    rho_ac = abs(pairs["correlation"].iloc[0])
    expected = w.sum() ** 2 / (w @ w + 2 * w[0] * w[1] * rho_ac)  # E: no pair, counts 0
    assert big["effective_bets"] == pytest.approx(expected, rel=1e-10)
    one = summary.loc["one"]
    assert one["n_positions"] == 1 and one["effective_bets"] == 1.0
    assert np.isnan(one["avg_abs_correlation"]) and one["clusters"] == []
    none = summary.loc["none"]
    assert none["n_positions"] == 0 and np.isnan(none["effective_bets"])
    # a lower overlap requirement stores the E pairs
    pairs15, _ = position_correlations(exposures, prices, DAYS[-1], min_overlap=15)
    assert len(pairs15) == 3 and (pairs15.loc[pairs15["symbol_b"] == "E", "n_obs"] == 15).all()


def test_clusters_are_per_portfolio_when_portfolios_share_symbols():
    """A and B move together (ρ = 1), C and D do not. Portfolio "ab" holds A, B, C and
    "bcd" holds B, C, D: each portfolio's cluster is its own symbols only, in the order the
    input lists portfolios, even though B links A (in "ab") and is held by "bcd" too."""
    prices, _ = price_table()
    prices["F"] = prices["C"] ** 0.5  # log returns of F = C's / 2: ρ(C, F) = 1
    exposures = pd.DataFrame({
        "portfolio_id": ["bcd"] * 3 + ["ab"] * 3 + ["cf"] * 2,
        "beta_symbol": ["D", "C", "B", "C", "B", "A", "F", "C"],
        "exposure": [3e4, 2e4, 1e4, 1e4, 2e4, 3e4, 5e4, -5e4],
    })
    pairs, summary = position_correlations(exposures, prices, DAYS[-1])
    assert summary["portfolio_id"].tolist() == ["bcd", "ab", "cf"]
    assert summary["clusters"].tolist() == [[], [["A", "B"]], [["C", "F"]]]
    assert pairs["portfolio_id"].tolist() == ["bcd"] * 3 + ["ab"] * 3 + ["cf"]
    assert pairs[["symbol_a", "symbol_b"]].values.tolist() == [
        ["B", "C"], ["B", "D"], ["C", "D"], ["A", "B"], ["A", "C"], ["B", "C"], ["C", "F"]]
    assert pairs["correlation"].iloc[-1] == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_effective_bets_bounds(seed):
    rng = np.random.default_rng(seed)
    n = 8
    f = rng.normal(0, 0.01, (120, 2))
    rets = f @ rng.normal(size=(2, n)) + rng.normal(0, 0.01, (120, n))
    prices = pd.DataFrame(100 * np.exp(np.cumsum(rets, axis=0)),
                          index=[dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(120)],
                          columns=[f"S{i}" for i in range(n)])
    exposures = pd.DataFrame({"portfolio_id": "p", "beta_symbol": prices.columns,
                              "exposure": rng.choice([-1.0, 1.0], n) * rng.uniform(2e4, 1e5, n)})
    pairs, summary = position_correlations(exposures, prices, prices.index[-1])
    eb = summary.loc[0, "effective_bets"]
    assert 1.0 <= eb <= n
    assert len(pairs) == n * (n - 1) // 2
    assert (pairs["symbol_a"] < pairs["symbol_b"]).all()
    assert pairs["correlation"].between(-1, 1).all()
