"""Daily P&L attribution (SPEC §7.7) on a hand book: one stock, one option, one entry.

Every component is derived here by hand from the rules; the sum is checked against the
snapshot engine's daily_pnl for the same inputs.
"""

import datetime as dt

import pandas as pd
import pytest

from sigmasight_pipeline.engines.attribution import COMPONENTS, pnl_attribution
from sigmasight_pipeline.engines.snapshots import portfolio_snapshots, position_pnl

T, T1 = dt.date(2025, 6, 30), dt.date(2025, 6, 27)  # Monday and the Friday before
PF = "P1"
COLS = ["position_id", "portfolio_id", "symbol", "position_type", "quantity", "multiplier",
        "entry_price", "entry_date", "exit_date", "exit_price", "underlying_symbol", "strike",
        "expiration", "option_type"]
POSITIONS = pd.DataFrame([
    ("stk", PF, "AAPL", "LONG", 100.0, 1, 150.0, dt.date(2025, 1, 2), None, None, None, None,
     None, None),
    ("opt", PF, "AAPL250815C00200000", "LC", 2.0, 100, 4.0, dt.date(2025, 1, 2), None, None,
     "AAPL", 200.0, dt.date(2025, 8, 15), "C"),
    ("new", PF, "MSFT", "LONG", 10.0, 1, 400.0, T, None, None, None, None, None, None),
], columns=COLS)
POSITIONS["beta_symbol"] = ["AAPL", "AAPL", "MSFT"]

# t−1: AAPL at 200 (adj_close 200), the call at 5.00 with Δ 0.60 → e = 2·100·0.6·200
PREV_VALUES = pd.DataFrame({
    "position_id": ["stk", "opt"], "portfolio_id": PF, "symbol": ["AAPL", "AAPL250815C00200000"],
    "price": [200.0, 5.00], "price_source": ["close", "mid"],
    "market_value": [20_000.0, 1_000.0], "exposure": [20_000.0, 24_000.0]})
# t: AAPL at 206 (+3 %), the call at 8.10, MSFT bought at 400 closes at 405
VALUES = pd.DataFrame({
    "position_id": ["stk", "opt", "new"], "portfolio_id": PF,
    "symbol": ["AAPL", "AAPL250815C00200000", "MSFT"], "price": [206.0, 8.10, 405.0],
    "price_source": ["close", "mid", "close"], "market_value": [20_600.0, 1_620.0, 4_050.0],
    "exposure": [20_600.0, 30_000.0, 4_050.0]})
PREV_ADJ = pd.Series({"AAPL": 200.0})
TODAY_ADJ = pd.Series({"AAPL": 206.0, "MSFT": 405.0})
# security betas of t−1 (SPEC §7.1): the stock and the call both take AAPL's
BETAS = pd.DataFrame([("AAPL", f, b) for f, b in (
    ("Market", 1.2), ("Value", -0.3), ("Size", 0.1), ("Momentum", 0.4), ("Quality", 0.0),
    ("Low Volatility", -0.2))], columns=["symbol", "factor", "beta"])
RATE_BETAS = pd.DataFrame({"symbol": ["AAPL"], "ir_beta": [-0.02]})
F = {"Market": 0.02, "Value": 0.005, "Size": -0.004, "Momentum": 0.01, "Quality": 0.003,
     "Low Volatility": -0.006}
DY = 0.05  # DGS10 +5 bp = +0.05 pp
PREV_GREEKS = pd.DataFrame({"position_id": ["opt"], "underlying_price": [200.0],
                            "implied_vol": [0.25], "gamma": [0.02], "theta": [-0.08],
                            "vega": [0.40]})
GREEKS = pd.DataFrame({"position_id": ["opt"], "underlying_price": [206.0],
                       "implied_vol": [0.27]})


def test_components_by_hand_and_sum_to_daily_pnl():
    pnl = position_pnl(T, T1, POSITIONS, VALUES, PREV_VALUES, PREV_ADJ, TODAY_ADJ)
    out = pnl_attribution([PF], pnl, POSITIONS, PREV_VALUES, BETAS, RATE_BETAS, F, DY,
                          pd.Series({"AAPL": 0.03, "MSFT": 0.0}), PREV_GREEKS, GREEKS,
                          (T - T1).days)
    got = out.set_index("component")["pnl"]
    assert list(out["component"]) == COMPONENTS

    betas = {"Market": 1.2, "Value": -0.3, "Size": 0.1, "Momentum": 0.4, "Quality": 0.0,
             "Low Volatility": -0.2}
    e_stk, e_opt, m = 20_000.0, 24_000.0, 0.03
    e = e_stk + e_opt
    for f, b in betas.items():
        assert got[f] == pytest.approx(e * b * F[f], abs=1e-9)
    assert got["Rate"] == pytest.approx(e * -0.02 * DY, abs=1e-9)
    systematic = e * sum(b * F[f] for f, b in betas.items()) + e * -0.02 * DY
    # stock: its P&L 20 000 × 3 % = 600 is e·m; option: e·m = 720
    assert got["Specific"] == pytest.approx(e * m - systematic, abs=1e-9)
    n = 2 * 100
    gamma = 0.5 * 0.02 * 6.0 ** 2 * n  # 72
    theta = -0.08 * 3 * n  # Friday → Monday: 3 calendar days, −48
    vega = 0.40 * 100 * (0.27 - 0.25) * n  # 160
    option_pnl = n * (8.10 - 5.00)  # 620
    assert got["Gamma"] == pytest.approx(gamma, abs=1e-9)
    assert got["Theta"] == pytest.approx(theta, abs=1e-9)
    assert got["Vega"] == pytest.approx(vega, abs=1e-9)
    assert got["Option residual"] == pytest.approx(
        option_pnl - (e_opt * m + gamma + theta + vega), abs=1e-9)
    assert got["Trading"] == pytest.approx(10 * (405.0 - 400.0), abs=1e-9)  # entry-day P&L

    snap = portfolio_snapshots(T, [PF], POSITIONS, VALUES, None, None, PREV_VALUES, PREV_ADJ,
                               TODAY_ADJ, pd.DataFrame({"portfolio_id": [PF],
                                                        "gross_exposure": [44_000.0],
                                                        "cumulative_pnl": [0.0]}),
                               [PF], "test", prev_date=T1)
    assert snap["daily_pnl"].iloc[0] == pytest.approx(600 + 620 + 50, abs=1e-9)
    assert got.sum() == pytest.approx(snap["daily_pnl"].iloc[0], abs=1e-6)


def test_position_without_betas_takes_market_one():
    pnl = position_pnl(T, T1, POSITIONS, VALUES, PREV_VALUES, PREV_ADJ, TODAY_ADJ)
    out = pnl_attribution([PF, "EMPTY"], pnl, POSITIONS, PREV_VALUES, None, None, F, DY,
                          pd.Series({"AAPL": 0.03, "MSFT": 0.0}), PREV_GREEKS, GREEKS, 3)
    got = out[out["portfolio_id"] == PF].set_index("component")["pnl"]
    e = 44_000.0
    assert got["Market"] == pytest.approx(e * 1.0 * 0.02, abs=1e-9)
    assert got[["Value", "Size", "Momentum", "Quality", "Low Volatility", "Rate"]].abs().sum() == 0
    assert got["Specific"] == pytest.approx(e * 0.03 - e * 0.02, abs=1e-9)
    assert got.sum() == pytest.approx(1_270.0, abs=1e-6)
    empty = out[out["portfolio_id"] == "EMPTY"]
    assert len(empty) == len(COMPONENTS) and (empty["pnl"] == 0).all()


def test_unknown_underlying_move_puts_the_option_pnl_in_greeks_and_residual():
    pnl = position_pnl(T, T1, POSITIONS, VALUES, PREV_VALUES, PREV_ADJ, TODAY_ADJ)
    out = pnl_attribution([PF], pnl, POSITIONS, PREV_VALUES, BETAS, RATE_BETAS, F, DY,
                          pd.Series({"MSFT": 0.0}), PREV_GREEKS, GREEKS, 3)
    got = out.set_index("component")["pnl"]
    # no factor part for either AAPL position; the stock's booked 600 stays as Specific
    assert got[["Market", "Value", "Size", "Momentum", "Quality", "Low Volatility",
                "Rate"]].abs().sum() == 0
    assert got["Specific"] == pytest.approx(600.0, abs=1e-9)
    assert got["Option residual"] == pytest.approx(620 - (72 - 48 + 160), abs=1e-9)
    assert got.sum() == pytest.approx(1_270.0, abs=1e-6)
