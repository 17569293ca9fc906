"""Portfolio risk II assets against the real PostgreSQL (SPEC §7.6-7.8).

The backtest, performance and volatility assets run on rows this test inserts (snapshots,
VaR, the trading component, SPY prices, DGS3MO), so every expected number is computed here
from those rows: exceptions by hand, statistics by empyrical. The attribution asset runs on
two demo days end to end, and its Market component is rebuilt in SQL from the stored
exposures, betas and factor returns.
"""

from __future__ import annotations

import datetime as dt
import uuid

import empyrical
import numpy as np
import pandas as pd
import pytest
from dagster import DagsterInstance, materialize
from sqlalchemy import text

from sigmasight_pipeline.calendar import sessions_back
from sigmasight_pipeline.warehouse import tables as t
from sigmasight_pipeline.warehouse.writer import replace_partition

END = dt.date(2025, 6, 30)
DAYS = sessions_back(END, 40)
PF = str(uuid.UUID(int=7))
YOUNG = str(uuid.UUID(int=8))  # snapshots on the last 10 days only


def _sql(engine, sql: str, **params) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(text(sql), conn, params=params)


def _frame_rows(rng):
    pnl = rng.normal(0, 10_000, len(DAYS))
    pnl[[5, 6, 20]] = [-40_000, -38_000, -45_000]  # three exceptions, two in a row
    gross = 1_000_000.0
    snaps, var, trading, spy, dgs = [], [], [], [], []
    for i, day in enumerate(DAYS):
        first = i == 0
        snaps.append({"date": day, "portfolio_id": PF, "total_value": gross,
                      "long_value": gross, "short_value": 0.0, "gross_exposure": gross,
                      "net_exposure": gross, "daily_pnl": 0.0 if first else pnl[i],
                      "daily_return": np.nan if first else pnl[i] / gross,
                      "cumulative_pnl": 0.0, "dollar_delta": gross, "dollar_gamma_1pct": 0.0,
                      "dollar_theta": 0.0, "dollar_vega": 0.0, "dollar_rho": 0.0,
                      "position_count": 1, "data_source": "test", "flags": []})
        if i >= 30:
            snaps.append({**snaps[-1], "portfolio_id": YOUNG,
                          "daily_pnl": 0.0 if i == 30 else pnl[i],
                          "daily_return": np.nan if i == 30 else pnl[i] / gross})
        # VaR 99 % 1-day of 30,000 on every day but day 12 (the test of day 13 is skipped)
        if i != 12:
            for method in ("parametric", "historical"):
                for conf, v in ((0.95, 16_000.0), (0.975, 20_000.0), (0.99, 30_000.0)):
                    var.append({"date": day, "portfolio_id": PF, "method": method,
                                "confidence": conf, "horizon_days": 1, "var": v, "es": v,
                                "flags": []})
        trading.append({"date": day, "portfolio_id": PF, "component": "Trading",
                        "pnl": -50_000.0 if i == 25 else 0.0})
        spy.append({"symbol": "SPY", "date": day, "open": 1.0, "high": 1.0, "low": 1.0,
                    "close": 500 * 1.001 ** i, "adj_close": 500 * (1.001 ** i)
                    * (1 + 0.3 * pnl[i] / gross), "volume": 1, "source": "test"})
        dgs.append({"series_id": "DGS3MO", "date": day, "value": 4.0 + 0.01 * i,
                    "source": "test"})
    return pnl, snaps, var, trading, spy, dgs


@pytest.fixture
def inserted(engine):
    rng = np.random.default_rng(1)
    pnl, snaps, var, trading, spy, dgs = _frame_rows(rng)
    with engine.begin() as conn:
        for pid, name in ((PF, "Backtested"), (YOUNG, "Young")):
            conn.execute(text("INSERT INTO sigmasight.portfolios (id, name) VALUES (:i, :n)"),
                         {"i": pid, "n": name})
        frames = {t.portfolio_snapshots: snaps, t.portfolio_var: var,
                  t.pnl_attribution: trading, t.market_prices: spy, t.treasury_yields: dgs}
        for table, rows in frames.items():
            frame = pd.DataFrame(rows)
            for day, part in frame.groupby("date"):
                replace_partition(conn, table, day, part)
    return pnl


def _materialize(assets, day):
    from sigmasight_pipeline.definitions import defs

    with DagsterInstance.ephemeral() as instance:
        result = materialize(assets, instance=instance, resources=defs.resources,
                             partition_key=day.isoformat(), raise_on_error=False)
    assert result.success


def test_backtest_counts_exceptions_against_the_previous_var(engine, inserted, cli_env):
    from sigmasight_pipeline.defs.risk.performance_assets import var_backtests_asset

    _materialize([var_backtests_asset], END)
    pnl = inserted
    rows = _sql(engine, "SELECT * FROM sigmasight.var_backtests WHERE date = :d "
                        "AND portfolio_id = :p", d=END, p=PF)
    assert len(rows) == 2 * 3 * 2
    row = rows[(rows["method"] == "parametric") & (rows["confidence"] == 0.99)
               & (rows["pnl_type"] == "actual")].iloc[0]
    # days 1..39 carry a P&L (day 0 is the first snapshot); day 13 has no previous VaR
    observed = [i for i in range(1, 40) if i != 13]
    exceptions = [i for i in observed if -pnl[i] > 30_000.0]
    assert row["observations"] == len(observed) and row["skipped"] == 1
    assert row["exceptions"] == len(exceptions) and {5, 6, 20} <= set(exceptions)
    assert "1 day(s)" in row["note"] and row["zone"] in ("green", "yellow", "red")
    n, x = len(observed), len(exceptions)
    lr = -2 * ((n - x) * np.log(0.99) + x * np.log(0.01)) + 2 * (
        (n - x) * np.log(1 - x / n) + x * np.log(x / n))
    assert row["kupiec_lr"] == pytest.approx(lr, rel=1e-10)
    # hypothetical P&L drops the trading loss of day 25 (which alone is an exception)
    hyp = rows[(rows["method"] == "parametric") & (rows["confidence"] == 0.99)
               & (rows["pnl_type"] == "hypothetical")].iloc[0]
    hyp_exc = [i for i in observed if -(pnl[i] + 50_000.0 * (i == 25)) > 30_000.0]
    assert hyp["exceptions"] == len(hyp_exc)
    young = _sql(engine, "SELECT * FROM sigmasight.var_backtests WHERE date = :d "
                         "AND portfolio_id = :p", d=END, p=YOUNG)
    assert (young["observations"] == 0).all()
    assert young["kupiec_lr"].isna().all()
    assert all(f == ["insufficient_history"] for f in young["flags"])


def test_performance_and_volatility_rows_from_the_warehouse(engine, inserted, cli_env):
    from sigmasight_pipeline.defs.risk.performance_assets import performance_assets

    _materialize([performance_assets], END)
    perf = _sql(engine, "SELECT * FROM sigmasight.portfolio_performance WHERE date = :d",
                d=END).astype({"portfolio_id": str})
    assert len(perf) == 2 * 4
    pnl = inserted
    r = pd.Series(pnl[1:] / 1_000_000.0, index=DAYS[1:])
    row = perf[(perf["portfolio_id"] == PF) & (perf["period"] == "21d")].iloc[0]
    last = r.iloc[-21:]
    rf = pd.Series([4.0 + 0.01 * i for i in range(40)], index=DAYS).reindex(last.index)
    assert row["n_obs"] == 21
    assert row["sharpe"] == pytest.approx(
        empyrical.sharpe_ratio(last - rf / 100 / 252, annualization=252), rel=1e-9)
    assert row["max_drawdown"] == pytest.approx(empyrical.max_drawdown(last), rel=1e-9)
    inception = perf[(perf["portfolio_id"] == PF) & (perf["period"] == "inception")].iloc[0]
    assert inception["n_obs"] == 39
    assert inception["annualized_return"] == pytest.approx(
        empyrical.annual_return(r, annualization=252), rel=1e-9)
    for period in ("63d", "252d"):
        short = perf[(perf["portfolio_id"] == PF) & (perf["period"] == period)].iloc[0]
        assert short["flags"] == ["insufficient_history"] and pd.isna(short["sharpe"])
    young = perf[perf["portfolio_id"] == YOUNG]
    assert young["sharpe"].isna().all() and (young["n_obs"] == 9).all()

    vol = _sql(engine, "SELECT * FROM sigmasight.portfolio_volatility WHERE date = :d",
               d=END).astype({"portfolio_id": str})
    v = vol[vol["portfolio_id"] == PF].iloc[0]
    assert v["realized_21d"] == pytest.approx(np.std(r.iloc[-21:], ddof=1) * np.sqrt(252))
    assert pd.isna(v["realized_63d"]) and pd.isna(v["har_forecast"])
    assert "insufficient_history" in v["flags"]


@pytest.fixture
def two_demo_days(demo_book, run_days):
    run_days(dt.date(2025, 6, 26), dt.date(2025, 6, 27))
    return demo_book


def test_attribution_on_demo_days_sums_and_market_component_by_sql(two_demo_days):
    engine = two_demo_days
    day, prev = dt.date(2025, 6, 27), dt.date(2025, 6, 26)
    sums = _sql(engine, """
        SELECT s.portfolio_id::text AS portfolio_id, s.daily_pnl, sum(a.pnl) AS attributed,
               count(a.pnl) AS n
          FROM sigmasight.portfolio_snapshots s
          JOIN sigmasight.pnl_attribution a USING (date, portfolio_id)
         WHERE s.date = :d GROUP BY 1, 2""", d=day)
    assert len(sums) == 3 and (sums["n"] == 13).all()
    assert np.allclose(sums["attributed"], sums["daily_pnl"], rtol=0, atol=1e-6)
    assert (sums["daily_pnl"].abs() > 0).all()
    # Market: Σ over positions held on both days of exposure(t−1) × Market beta(t−1)
    # (1 where the position has none) × the Market return of t
    market = _sql(engine, """
        SELECT v.portfolio_id::text AS portfolio_id,
               sum(v.exposure * coalesce(b.beta, 1.0) * f.daily_return) AS market
          FROM sigmasight.position_values v
          JOIN sigmasight.position_values today
                ON today.position_id = v.position_id AND today.date = :d
          LEFT JOIN sigmasight.position_factor_exposures b
                ON b.position_id = v.position_id AND b.date = v.date AND b.factor = 'Market'
          JOIN sigmasight.factor_returns f ON f.date = :d AND f.factor = 'Market'
         WHERE v.date = :p GROUP BY 1""", d=day, p=prev)
    stored = _sql(engine, "SELECT portfolio_id::text AS portfolio_id, pnl FROM "
                          "sigmasight.pnl_attribution WHERE date = :d AND component = 'Market'",
                  d=day)
    both = market.merge(stored, on="portfolio_id")
    assert len(both) == 3
    assert np.allclose(both["market"], both["pnl"], rtol=1e-9, atol=1e-6)
    # the first demo day is each portfolio's first snapshot: nothing to attribute
    first = _sql(engine, "SELECT sum(abs(pnl)) AS s FROM sigmasight.pnl_attribution "
                         "WHERE date = :p", p=prev)
    assert first["s"].iloc[0] == 0
