"""Corporate actions (SPEC §8): the engine, the files provider's file, and a backfill across a
2-for-1 split checked against values computed by hand."""

from __future__ import annotations

import datetime as dt
import math

import mibian
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import text

from sigmasight_pipeline.calendar import all_sessions
from sigmasight_pipeline.engines.corporate_actions import (
    effective_positions,
    large_split_issues,
    split_factors,
)
from sigmasight_pipeline.engines.snapshots import portfolio_snapshots
from sigmasight_pipeline.providers.base import ProviderDataError
from sigmasight_pipeline.providers.files import FilesProvider
from sigmasight_pipeline.providers.simulated import SimulatedProvider
from sigmasight_pipeline.universe import BENCHMARKS, FACTOR_ETFS


def _positions(**overrides) -> pd.DataFrame:
    base = {"position_id": ["s1", "o1", "late"], "portfolio_id": ["pf"] * 3,
            "symbol": ["XYZ", "XYZ250620C00100000", "XYZ"],
            "position_type": ["LONG", "LC", "LONG"], "quantity": [10.0, 2.0, 5.0],
            "multiplier": [1, 100, 1], "entry_price": [90.0, 4.0, 60.0],
            "entry_date": [dt.date(2024, 1, 2), dt.date(2024, 1, 2), dt.date(2024, 3, 6)],
            "exit_date": [None] * 3, "exit_price": [None] * 3,
            "underlying_symbol": [None, "XYZ", None], "strike": [None, 100.0, None],
            "expiration": [None, dt.date(2025, 6, 20), None], "option_type": [None, "C", None]}
    base.update(overrides)
    return pd.DataFrame(base)


ACTIONS = pd.DataFrame({
    "symbol": ["XYZ", "XYZ", "XYZ", "OTHER"],
    "ex_date": [dt.date(2024, 3, 6), dt.date(2024, 5, 1), dt.date(2024, 2, 1), dt.date(2024, 3, 1)],
    "action": ["split", "split", "dividend", "split"],
    "ratio": [2.0, 3.0, math.nan, 10.0], "cash_amount": [math.nan, math.nan, 0.5, math.nan],
    "source": "test"})


def test_split_factor_is_the_product_of_ratios_after_entry_up_to_the_day():
    pos = _positions()
    assert split_factors(pos, ACTIONS, dt.date(2024, 3, 5)).tolist() == [1.0, 1.0, 1.0]
    # ex_date ≤ t counts; the dividend and the other symbol's split do not; a position
    # entered on the ex-date already holds post-split shares (entry_date < ex_date)
    assert split_factors(pos, ACTIONS, dt.date(2024, 3, 6)).tolist() == [2.0, 2.0, 1.0]
    assert split_factors(pos, ACTIONS, dt.date(2024, 5, 1)).tolist() == [6.0, 6.0, 3.0]


def test_effective_position_keeps_cost_basis_and_option_terms():
    eff = effective_positions(_positions(), ACTIONS, dt.date(2024, 3, 6))
    assert eff["quantity"].tolist() == [20.0, 4.0, 5.0]
    assert eff["entry_price"].tolist() == [45.0, 2.0, 60.0]
    assert eff.loc[1, "strike"] == 50.0 and eff.loc[1, "multiplier"] == 100
    assert eff["stated_quantity"].tolist() == [10.0, 2.0, 5.0]
    cost = eff["quantity"] * eff["multiplier"] * eff["entry_price"]
    assert cost.tolist() == [900.0, 800.0, 300.0]  # = 10 × 90, 2 × 100 × 4, 5 × 60
    # the option on the day's terms is worth the same and has the same dollar delta:
    # BS(S/2, K/2) = BS(S, K)/2 and 4 contracts on half the strike = 2 on the full one
    s, k, days, r, vol = 104.0, 100.0, 180, 5.0, 30.0  # mibian: r and vol in percent

    def call(spot, strike):
        return mibian.BS([spot, strike, r, days], volatility=vol)

    before, after = call(s, k), call(s / 2, k / 2)
    assert 4 * 100 * after.callPrice == pytest.approx(2 * 100 * before.callPrice, rel=1e-9)
    d_before = 2 * 100 * before.callDelta * s
    d_after = 4 * 100 * after.callDelta * s / 2
    assert d_after == pytest.approx(d_before, rel=1e-9)


def test_a_split_of_more_than_50x_is_a_data_quality_row():
    actions = ACTIONS.assign(ratio=[2.0, 30.0, math.nan, 10.0])
    eff = effective_positions(_positions(), actions, dt.date(2024, 5, 1))
    issues = large_split_issues(eff, dt.date(2024, 5, 1))
    assert issues["position_id"].tolist() == ["s1", "o1"]  # 60×; "late" only 30×
    assert (issues["code"] == "large_split").all()
    assert "XYZ" in issues["message"].iloc[0] and "60" in issues["message"].iloc[0]


def test_option_pnl_across_its_split_is_the_change_in_value():
    """An option held over the ex-date: 2 contracts worth $6.00 before, 4 worth $3.10 after."""
    pos = effective_positions(_positions().iloc[[1]], ACTIONS, dt.date(2024, 3, 6))
    values = pd.DataFrame({"position_id": ["o1"], "portfolio_id": ["pf"], "price": [3.10],
                           "price_source": ["mid"], "market_value": [4 * 100 * 3.10],
                           "exposure": [1000.0]})
    prev = pd.DataFrame({"position_id": ["o1"], "price": [6.00], "price_source": ["mid"],
                         "market_value": [2 * 100 * 6.00], "split_factor": [1.0]})
    prev_snap = pd.DataFrame({"portfolio_id": ["pf"], "gross_exposure": [1000.0],
                              "cumulative_pnl": [0.0]})
    snap = portfolio_snapshots(dt.date(2024, 3, 6), ["pf"], pos, values, None, None, prev,
                               None, None, prev_snap, ["pf"], "test",
                               prev_date=dt.date(2024, 3, 5))
    assert snap["daily_pnl"].iloc[0] == pytest.approx(4 * 100 * 3.10 - 2 * 100 * 6.00, abs=1e-9)


def _write(path, text_):
    path.write_text(text_)
    return path


def test_files_corporate_actions_bad_lines_name_file_line_and_column(tmp_path):
    _write(tmp_path / "prices.csv", "date,symbol,close\n2024-01-02,XYZ,10\n")
    _write(tmp_path / "treasury_yields.csv", "date,series_id,value\n2024-01-02,DGS3MO,5\n")
    _write(tmp_path / "corporate_actions.csv",
           "symbol,ex_date,action,ratio,cash_amount\n"
           "XYZ,2024-03-06,split,2,\n"
           "XYZ,2024-03-06,split,3,\n"
           "ABC,2024-03-06,merger,1,\n"
           "DEF,2024-03-06,split,0,\n"
           "GHI,2024-03-06,split,-2,\n")
    with pytest.raises(ProviderDataError) as err:
        FilesProvider(tmp_path).corporate_actions(["XYZ"], dt.date(2024, 1, 1),
                                                  dt.date(2024, 12, 31))
    message = str(err.value)
    assert "corporate_actions.csv" in message
    assert "line 3: duplicate symbol, ex_date, action (first on line 2)" in message
    assert "line 4, column action: 'merger' is not one of split, dividend" in message
    assert "line 5, column ratio: 0 is not a positive split ratio" in message
    assert "line 6, column ratio: -2 is not a positive split ratio" in message


def test_simulated_nvda_splits_10_for_1_on_2024_06_10_with_a_continuous_adj_close():
    sim = SimulatedProvider()
    bars = sim.prices(["NVDA"], dt.date(2024, 6, 7), dt.date(2024, 6, 10))
    before, after = bars.iloc[0], bars.iloc[1]
    # the raw close falls ~10× (a tenth, times that day's own move)
    move = after["adj_close"] / before["adj_close"]
    assert after["close"] == pytest.approx(before["close"] * move / 10, abs=0.006)
    assert 0.8 < move < 1.2
    actions = sim.corporate_actions(["NVDA"], dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    split = actions[actions["action"] == "split"]
    assert split[["ex_date", "ratio"]].values.tolist() == [[dt.date(2024, 6, 10), 10.0]]


# --- a backfill across a 2-for-1 split, through Dagster into PostgreSQL ----------------------

DAYS = [dt.date(2024, 3, d) for d in (1, 4, 5, 6, 7, 8)]
EX_DATE = dt.date(2024, 3, 6)
#: the economic close of XYZ on the pre-split share basis, one a session
CLOSES = [100.0, 102.0, 101.0, 104.0, 103.5, 106.0]


def _dataset(root):
    """XYZ splits 2-for-1 ex 2024-03-06 (raw close halves; adj_close back-adjusted by the
    vendor); TWIN is the same company without the split. Factor ETFs from the simulator."""
    sessions = [d.date() for d in all_sessions() if dt.date(2023, 1, 3) <= d.date() <= DAYS[-1]]
    history = {d: 100.0 for d in sessions if d < DAYS[0]}
    economic = {**history, **dict(zip(DAYS, CLOSES, strict=True))}
    rows = []
    for d, c in economic.items():
        raw = c / 2 if d >= EX_DATE else c
        rows.append((d, "XYZ", raw, c / 2))
        rows.append((d, "TWIN", c, c))
    ours = pd.DataFrame(rows, columns=["date", "symbol", "close", "adj_close"])
    sim = SimulatedProvider(seed=3)
    etfs = sim.prices(sorted(set(FACTOR_ETFS) | set(BENCHMARKS)), sessions[0], DAYS[-1])
    prices = pd.concat([ours, etfs[["date", "symbol", "close", "adj_close"]]])
    data = root / "market"
    data.mkdir()
    prices.to_csv(data / "prices.csv", index=False)
    sim.treasury_yields(["DGS3MO", "DGS2", "DGS10", "DGS30"], sessions[0], DAYS[-1]).drop(
        columns="source").to_csv(data / "treasury_yields.csv", index=False)
    (data / "corporate_actions.csv").write_text(
        "symbol,ex_date,action,ratio,cash_amount\nXYZ,2024-03-06,split,2,\n")
    book = root / "book.csv"
    book.write_text(
        "portfolio,owner,symbol,quantity,entry_price,entry_date,underlying,strike,expiration,"
        "option_type,tags\n"
        "Split,a@example.com,XYZ,10,90.00,2024-01-02,,,,,\n"
        "NoSplit,b@example.com,TWIN,10,90.00,2024-01-02,,,,,\n")
    return data, book


def _frame(engine, sql):
    with engine.connect() as conn:
        return pd.read_sql(text(sql), conn)


def test_backfill_across_a_split_has_continuous_values_and_the_same_pnl(
        engine, cli_env, run_days, monkeypatch):
    from sigmasight_pipeline.cli import main
    from sigmasight_pipeline.settings import get_settings

    data, book = _dataset(cli_env)
    result = CliRunner().invoke(main, ["positions", "import", str(book)])
    assert result.exit_code == 0, result.output
    monkeypatch.setenv("SIGMASIGHT_MARKET_DATA", "files")
    monkeypatch.setenv("SIGMASIGHT_MARKET_DATA_DIR", str(data))
    get_settings.cache_clear()
    run_days(DAYS[0], DAYS[-1])

    stored = _frame(engine, "SELECT symbol, ex_date, action, ratio FROM "
                            "sigmasight.corporate_actions")
    assert stored.values.tolist() == [["XYZ", EX_DATE, "split", 2.0]]
    values = _frame(engine, "SELECT v.date, v.symbol, v.price, v.market_value, v.cost_basis, "
                            "v.unrealized_pnl, v.effective_quantity, v.split_factor "
                            "FROM sigmasight.position_values v ORDER BY v.symbol, v.date")
    xyz = values[values["symbol"] == "XYZ"].reset_index(drop=True)
    twin = values[values["symbol"] == "TWIN"].reset_index(drop=True)
    after = np.array([d >= EX_DATE for d in DAYS])
    # by hand: 10 shares × the economic close, 20 shares × half of it after the split
    expected_mv = [10 * c for c in CLOSES]
    assert xyz["date"].tolist() == DAYS
    assert xyz["effective_quantity"].tolist() == [20.0 if a else 10.0 for a in after]
    assert xyz["split_factor"].tolist() == [2.0 if a else 1.0 for a in after]
    assert xyz["price"].tolist() == [c / 2 if a else c for c, a in zip(CLOSES, after,
                                                                         strict=True)]
    np.testing.assert_allclose(xyz["market_value"], expected_mv, rtol=1e-12)
    np.testing.assert_allclose(twin["market_value"], expected_mv, rtol=1e-12)
    assert (xyz["cost_basis"] == 900.0).all()
    np.testing.assert_allclose(xyz["unrealized_pnl"], [m - 900.0 for m in expected_mv],
                               rtol=1e-12)

    snaps = _frame(engine, "SELECT p.name, s.date, s.total_value, s.daily_pnl, "
                           "s.cumulative_pnl FROM sigmasight.portfolio_snapshots s JOIN "
                           "sigmasight.portfolios p ON p.id = s.portfolio_id "
                           "ORDER BY p.name, s.date")
    split = snaps[snaps["name"] == "Split"].reset_index(drop=True)
    no_split = snaps[snaps["name"] == "NoSplit"].reset_index(drop=True)
    expected_pnl = [0.0] + [10 * (b - a) for a, b in zip(CLOSES, CLOSES[1:], strict=False)]
    np.testing.assert_allclose(split["daily_pnl"], expected_pnl, atol=1e-9)
    np.testing.assert_allclose(no_split["daily_pnl"], expected_pnl, atol=1e-9)
    np.testing.assert_allclose(split["cumulative_pnl"], np.cumsum(expected_pnl), atol=1e-9)
    np.testing.assert_allclose(split["total_value"], expected_mv, rtol=1e-12)
    exposures = _frame(engine, "SELECT p.name, e.date, e.gross_exposure FROM "
                               "sigmasight.portfolio_exposures e JOIN sigmasight.portfolios p "
                               "ON p.id = e.portfolio_id WHERE p.name = 'Split' ORDER BY e.date")
    np.testing.assert_allclose(exposures["gross_exposure"], expected_mv, rtol=1e-12)


def test_demo_nvda_is_250_shares_after_its_10_for_1_split(demo_book, run_days):
    run_days(dt.date(2024, 6, 7), dt.date(2024, 6, 10))
    rows = _frame(demo_book, "SELECT v.date, v.effective_quantity, v.split_factor, v.price, "
                             "v.market_value, v.cost_basis FROM sigmasight.position_values v "
                             "JOIN sigmasight.portfolios p ON p.id = v.portfolio_id "
                             "WHERE v.symbol = 'NVDA' AND p.name = 'Demo Individual Investor "
                             "Portfolio' ORDER BY v.date")
    assert rows["effective_quantity"].tolist() == [25.0, 250.0]
    assert rows["split_factor"].tolist() == [1.0, 10.0]
    assert (rows["cost_basis"] == 25 * 700.0).all()
    # value moves with the market only: 250 × the post-split close vs 25 × the one before
    prices = _frame(demo_book, "SELECT date, close, adj_close FROM sigmasight.market_prices "
                               "WHERE symbol = 'NVDA' AND date IN ('2024-06-07', '2024-06-10') "
                               "ORDER BY date")
    move = prices["adj_close"].iloc[1] / prices["adj_close"].iloc[0]
    assert rows["market_value"].iloc[1] == pytest.approx(
        rows["market_value"].iloc[0] * move, rel=2e-4)  # closes are rounded to cents
