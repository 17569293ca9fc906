"""Risk engines II end to end on the demo book: factor exposures, correlations, market risk
and stress tests in the warehouse, one stress result recomputed by hand with mibian."""

from __future__ import annotations

import datetime as dt

import mibian
import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from sigmasight_pipeline.engines.factors import EQUITY_FACTORS

D = dt.date(2025, 6, 2)
HF = "Demo Hedge Fund Style Investor Portfolio"
CRASH = -0.35


def _sql(engine, sql: str, **params) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(text(sql), conn, params=params)


@pytest.fixture
def demo_day(demo_book, run_days):
    run_days(D)
    return demo_book


def _book(engine, portfolio: str) -> pd.DataFrame:
    """The portfolio's valued positions with their Market beta and option inputs, on the
    day's terms after splits (SPEC §8: quantity × split factor, strike ÷ it)."""
    return _sql(engine, """
        SELECT v.position_id::text AS position_id, v.exposure, v.symbol,
               p.quantity * v.split_factor AS quantity, p.multiplier,
               p.strike / v.split_factor AS strike, p.option_type, p.position_type,
               g.underlying_price, g.implied_vol, g.rate, g.years_to_expiry
          FROM sigmasight.position_values v
          JOIN sigmasight.positions p ON p.id = v.position_id
          JOIN sigmasight.portfolios f ON f.id = p.portfolio_id
          LEFT JOIN sigmasight.position_greeks g ON g.position_id = v.position_id
                                                AND g.date = v.date
         WHERE v.date = :d AND f.name = :name""", d=D, name=portfolio)


def _betas(engine, portfolio: str) -> pd.DataFrame:
    rows = _sql(engine, """
        SELECT b.position_id::text AS position_id, b.factor, b.beta
          FROM sigmasight.position_factor_exposures b
          JOIN sigmasight.positions p ON p.id = b.position_id
          JOIN sigmasight.portfolios f ON f.id = p.portfolio_id
         WHERE b.date = :d AND f.name = :name""", d=D, name=portfolio)
    return rows.pivot(index="position_id", columns="factor", values="beta")[EQUITY_FACTORS]


def _mibian_value(row, spot: float) -> float:
    bs = mibian.BS([spot, row.strike, row.rate * 100, row.years_to_expiry * 365],
                   volatility=row.implied_vol * 100)
    return bs.callPrice if row.option_type == "C" else bs.putPrice


def _hand_pnl(book: pd.DataFrame, betas: pd.DataFrame, moves: dict[str, float]) -> pd.Series:
    """SPEC §5.6 by hand, position by position: stocks linear, options repriced with mibian."""
    x = np.array([moves.get(f, 0.0) for f in EQUITY_FACTORS])
    pnl = {}
    for row in book.itertuples():
        b = betas.loc[row.position_id].to_numpy(dtype=float)
        if np.isnan(b).all():  # no betas: Market beta 1 (beta_defaulted)
            b = np.array([1.0, 0, 0, 0, 0, 0])
        m = max(float(np.nansum(b * x)), -0.99)
        if row.position_type in ("LONG", "SHORT"):
            pnl[row.position_id] = row.exposure * m
        else:
            S = row.underlying_price
            pnl[row.position_id] = row.quantity * row.multiplier * (
                _mibian_value(row, S * (1 + m)) - _mibian_value(row, S))
    return pd.Series(pnl)


def test_demo_counts_and_hedge_fund_crash_is_small(demo_day):
    engine = demo_day
    per_portfolio = _sql(engine, """
        SELECT f.name,
               (SELECT count(*) FROM sigmasight.portfolio_factor_exposures x
                 WHERE x.date = :d AND x.portfolio_id = f.id) AS factor_rows,
               (SELECT count(*) FROM sigmasight.stress_test_results s
                 WHERE s.date = :d AND s.portfolio_id = f.id) AS stress_rows,
               (SELECT count(*) FROM sigmasight.market_risk_scenarios m
                 WHERE m.date = :d AND m.portfolio_id = f.id) AS market_rows
          FROM sigmasight.portfolios f""", d=D)
    assert len(per_portfolio) == 3
    assert (per_portfolio.factor_rows == 7).all(), per_portfolio
    assert (per_portfolio.stress_rows == 18).all(), per_portfolio
    assert (per_portfolio.market_rows == 11).all(), per_portfolio
    factors = _sql(engine, "SELECT DISTINCT factor FROM sigmasight.portfolio_factor_exposures "
                           "WHERE date = :d", d=D)
    assert set(factors.factor) == {*EQUITY_FACTORS, "Rate"}

    crash = _sql(engine, """
        SELECT f.name, s.direct_pnl, s.correlated_pnl, e.gross_exposure
          FROM sigmasight.stress_test_results s
          JOIN sigmasight.portfolios f ON f.id = s.portfolio_id
          JOIN sigmasight.portfolio_exposures e ON e.portfolio_id = s.portfolio_id
                                               AND e.date = s.date
         WHERE s.date = :d AND s.scenario = 'market_crash_35'""", d=D).set_index("name")
    ratio = (crash.correlated_pnl / crash.gross_exposure).abs()
    long_only = ratio.drop(HF)
    assert (crash.direct_pnl.drop(HF) < 0).all()
    # The demo hedge fund is 83 % net long through deep in-the-money SPY/QQQ/NVDA calls, so
    # it is not market-neutral: its crash loss per $ of gross is smaller than the long-only
    # books' (shorts, and the calls' convexity), but not by half (0.24 vs 0.30 and 0.33).
    assert ratio[HF] < 0.85 * long_only.min(), ratio

    corr = _sql(engine, "SELECT * FROM sigmasight.factor_correlations WHERE date = :d", d=D)
    assert len(corr) == 36
    matrix = corr.pivot(index="factor_a", columns="factor_b", values="correlation")
    assert np.allclose(matrix, matrix.T) and np.allclose(np.diag(matrix), 1.0)
    assert np.linalg.eigvalsh(matrix.to_numpy()).min() > -1e-10

    summaries = _sql(engine, "SELECT * FROM sigmasight.correlation_summaries WHERE date = :d",
                     d=D)
    assert len(summaries) == 3
    kept = summaries.n_positions
    assert ((summaries.effective_bets >= 1 - 1e-9) & (summaries.effective_bets <= kept)).all()


def test_one_stress_result_by_hand_with_mibian(demo_day):
    engine = demo_day
    book, betas = _book(engine, HF), _betas(engine, HF)
    stored = _sql(engine, """
        SELECT s.direct_pnl, s.correlated_pnl FROM sigmasight.stress_test_results s
          JOIN sigmasight.portfolios f ON f.id = s.portfolio_id
         WHERE s.date = :d AND f.name = :name AND s.scenario = 'market_crash_35'""",
                  d=D, name=HF).iloc[0]

    direct = _hand_pnl(book, betas, {"Market": CRASH})
    assert stored.direct_pnl == pytest.approx(direct.sum(), rel=1e-6)

    # correlated: x_u = Σ_uM / Σ_MM × x_M for every other equity factor (one named factor)
    cov = _sql(engine, "SELECT factor_a, factor_b, covariance FROM sigmasight.factor_correlations"
                       " WHERE date = :d", d=D).pivot(index="factor_a", columns="factor_b",
                                                      values="covariance")
    moves = {f: cov.loc[f, "Market"] / cov.loc["Market", "Market"] * CRASH for f in EQUITY_FACTORS}
    correlated = _hand_pnl(book, betas, moves)
    assert stored.correlated_pnl == pytest.approx(correlated.sum(), rel=1e-6)

    # the short puts lose more than their delta alone says (negative gamma)
    short_puts = book[book.position_type == "SP"]
    assert len(short_puts) >= 1
    for row in short_puts.itertuples():
        m = betas.loc[row.position_id, "Market"] * CRASH
        delta_only = row.exposure * m
        assert direct[row.position_id] < delta_only < 0, (row.symbol, direct[row.position_id],
                                                          delta_only)


def test_factor_exposure_rows_are_consistent(demo_day):
    engine = demo_day
    rows = _sql(engine, """
        SELECT b.position_id::text AS position_id, b.factor, b.beta, b.n_obs, b.quality,
               v.exposure, v.portfolio_id::text AS portfolio_id
          FROM sigmasight.position_factor_exposures b
          JOIN sigmasight.position_values v ON v.position_id = b.position_id
                                           AND v.date = b.date
         WHERE b.date = :d""", d=D)
    assert rows.groupby("position_id").size().eq(6).all()
    assert (rows.loc[rows.quality == "insufficient_history", "beta"].isna()).all()
    assert rows.loc[rows.quality != "insufficient_history", "beta"].abs().le(3).all()
    # portfolio dollar exposure = Σ exposure × beta (SPEC §5.3), recomputed from the rows
    stored = _sql(engine, "SELECT portfolio_id::text AS portfolio_id, factor, dollar_exposure "
                          "FROM sigmasight.portfolio_factor_exposures WHERE date = :d", d=D)
    hand = (rows.dropna(subset=["beta"]).assign(d=lambda f: f.exposure * f.beta)
            .groupby(["portfolio_id", "factor"])["d"].sum().rename("hand").reset_index())
    both = stored.merge(hand, on=["portfolio_id", "factor"])
    assert len(both) == 18
    assert np.allclose(both.dollar_exposure, both.hand, rtol=1e-9)


def test_a_scenario_added_to_the_library_shows_up_in_the_next_run(demo_book, run_days,
                                                                  monkeypatch, tmp_path):
    from sigmasight_pipeline.engines.stress import default_library_path
    from sigmasight_pipeline.settings import get_settings

    library = tmp_path / "my_scenarios.yaml"
    library.write_text(default_library_path().read_text() + """
  - id: tech_selloff_12
    name: Technology sell-off
    category: market
    severity: moderate
    shocks: {Market: -0.12, Momentum: -0.05}
    description: A user-added scenario.
""")
    monkeypatch.setenv("SIGMASIGHT_STRESS_SCENARIOS", str(library))
    get_settings.cache_clear()
    run_days(D)
    rows = _sql(demo_book, "SELECT scenario, count(*) AS n FROM sigmasight.stress_test_results "
                           "WHERE date = :d GROUP BY 1", d=D).set_index("scenario").n
    assert len(rows) == 19 and rows["tech_selloff_12"] == 3

    library.write_text(library.read_text().replace("Market: -0.12", "Market: twelve"))
    get_settings.cache_clear()
    lines = run_days(D, expect_success=False)
    assert any("tech_selloff_12" in ln and "shocks" in ln for ln in lines), lines
