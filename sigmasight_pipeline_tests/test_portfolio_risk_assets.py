"""Portfolio risk I end to end on a demo day (SPEC §7.1-7.5): the security tables and the
per-position views, the 7 × 7 covariance, VaR rows, the Euler sums and the bad inputs."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from sigmasight_pipeline.calendar import all_sessions
from sigmasight_pipeline.defs.risk.inputs import beta_symbols, load_range
from sigmasight_pipeline.engines.factors import (
    EQUITY_FACTORS,
    daily_returns,
    factor_exposures,
    factor_returns,
    interest_rate_betas,
)
from sigmasight_pipeline.warehouse.market_data_store import read_yields

D = dt.date(2025, 6, 2)
RISK = [*EQUITY_FACTORS, "Rate"]


def _sql(engine, sql: str, **params) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(text(sql), conn, params=params)


@pytest.fixture
def demo_day(demo_book, run_days):
    run_days(D)
    return demo_book


def _old_position_rows(engine) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The per-position rows the pre-0003 assets stored, rebuilt the way they built them:
    the day's valued positions joined by beta symbol to the engines' per-symbol results."""
    with engine.connect() as conn:
        inputs = load_range(conn, [D], lookback=253)
        values = _sql(engine, "SELECT position_id::text AS position_id FROM "
                              "sigmasight.position_values WHERE date = :d", d=D)
        yields = read_yields(conn, "DGS10", inputs.prices["date"].min(), D)
    held = values.merge(beta_symbols(inputs.positions), on="position_id", how="left")
    symbols = sorted(held["beta_symbol"].unique())
    wide = inputs.adj_close_wide()
    returns = daily_returns(wide, all_sessions())
    factors = factor_returns(wide, all_sessions())
    betas = held.merge(factor_exposures(returns.reindex(columns=symbols), factors, D),
                       left_on="beta_symbol", right_on="symbol")
    dgs10 = pd.Series(yields["value"].to_numpy(dtype=float), index=list(yields["date"]))
    rates = held.merge(interest_rate_betas(wide.reindex(columns=symbols), dgs10,
                                           all_sessions(), D),
                       left_on="beta_symbol", right_on="symbol")
    return betas, rates


def _assert_same(view: pd.DataFrame, old: pd.DataFrame, keys: list[str], numbers, labels):
    merged = view.merge(old, on=keys, how="outer", suffixes=("_view", "_old"), indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"]
    for col in numbers:
        a, b = merged[f"{col}_view"].astype(float), merged[f"{col}_old"].astype(float)
        assert ((a.isna() & b.isna()) | np.isclose(a, b, rtol=1e-12, atol=0)).all(), col
    for col in labels:
        assert (merged[f"{col}_view"] == merged[f"{col}_old"]).all(), col


def test_position_views_equal_the_old_per_position_rows(demo_day):
    engine = demo_day
    old_betas, old_rates = _old_position_rows(engine)
    view = _sql(engine, "SELECT position_id::text AS position_id, factor, beta, std_err, "
                        "t_stat, r_squared, n_obs, quality "
                        "FROM sigmasight.position_factor_exposures WHERE date = :d", d=D)
    assert len(view) == len(old_betas) == 6 * 63 - 6 * _n_unvalued(engine)
    _assert_same(view, old_betas, ["position_id", "factor"],
                 ["beta", "std_err", "t_stat", "r_squared", "n_obs"], ["quality"])
    rview = _sql(engine, "SELECT position_id::text AS position_id, ir_beta, std_err, "
                         "r_squared, n_obs, quality FROM sigmasight.position_interest_rate_betas"
                         " WHERE date = :d", d=D)
    assert len(rview) == len(old_rates) > 0
    _assert_same(rview, old_rates, ["position_id"], ["ir_beta", "std_err", "r_squared", "n_obs"],
                 ["quality"])
    # stored once per symbol: fewer security rows than position rows
    n_sec = _sql(engine, "SELECT count(*) AS n FROM sigmasight.security_factor_exposures "
                         "WHERE date = :d", d=D)["n"].iloc[0]
    assert n_sec == 6 * old_betas["beta_symbol"].nunique() < len(view)


def _n_unvalued(engine) -> int:
    held = _sql(engine, "SELECT count(*) AS n FROM sigmasight.position_values WHERE date = :d",
                d=D)["n"].iloc[0]
    return 63 - int(held)


def test_risk_covariance_and_var_rows(demo_day):
    engine = demo_day
    cov = _sql(engine, "SELECT factor_a, factor_b, covariance, n_obs "
                       "FROM sigmasight.risk_factor_covariance WHERE date = :d", d=D)
    assert len(cov) == 49
    m = cov.pivot(index="factor_a", columns="factor_b", values="covariance").loc[RISK, RISK]
    eq = _sql(engine, "SELECT factor_a, factor_b, covariance FROM sigmasight.factor_correlations"
                      " WHERE date = :d", d=D).pivot(index="factor_a", columns="factor_b",
                                                     values="covariance")
    block = m.loc[EQUITY_FACTORS, EQUITY_FACTORS].to_numpy()
    assert np.array_equal(block, eq.loc[EQUITY_FACTORS, EQUITY_FACTORS].to_numpy())
    assert np.linalg.eigvalsh(m.to_numpy()).min() > -1e-15 and m.loc["Rate", "Rate"] > 0

    var = _sql(engine, "SELECT * FROM sigmasight.portfolio_var WHERE date = :d", d=D)
    assert len(var) == 3 * 2 * 3 * 2
    assert var["var"].notna().all() and (var["es"] >= var["var"]).all()
    hist = var[var.method == "historical"]
    assert (hist.n_scenarios == 250).all()
    # 10-day = √10 × 1-day
    one = var[var.horizon_days == 1].set_index(["portfolio_id", "method", "confidence"])
    ten = var[var.horizon_days == 10].set_index(["portfolio_id", "method", "confidence"])
    assert np.allclose(ten["var"], np.sqrt(10) * one.loc[ten.index, "var"], rtol=1e-12)

    sums = _sql(engine, """
        SELECT v.portfolio_id, v.volatility AS sigma,
               (SELECT sum(contribution) FROM sigmasight.factor_risk_contributions f
                 WHERE f.date = v.date AND f.portfolio_id = v.portfolio_id) AS fsum,
               (SELECT sum(component_vol) FROM sigmasight.position_risk_contributions p
                 WHERE p.date = v.date AND p.portfolio_id = v.portfolio_id) AS psum,
               (SELECT sum(component_es_hist) FROM sigmasight.position_risk_contributions p
                 WHERE p.date = v.date AND p.portfolio_id = v.portfolio_id) AS essum,
               (SELECT es FROM sigmasight.portfolio_var h WHERE h.date = v.date
                  AND h.portfolio_id = v.portfolio_id AND h.method = 'historical'
                  AND h.confidence = 0.975 AND h.horizon_days = 1) AS es_hist
          FROM sigmasight.portfolio_var v
         WHERE v.date = :d AND v.method = 'parametric' AND v.confidence = 0.99
           AND v.horizon_days = 1""", d=D)
    assert len(sums) == 3
    assert np.allclose(sums.fsum, sums.sigma, rtol=1e-9, atol=0)
    assert np.allclose(sums.psum, sums.sigma, rtol=1e-9, atol=0)
    assert np.allclose(sums.essum, sums.es_hist, rtol=1e-9, atol=0)


def test_hedge_fund_report_shows_the_risk_section(demo_day, cli_env):
    import csv
    import io
    import json

    import jsonschema

    from sigmasight_pipeline.reports.json_report import report_schema

    folder = cli_env / "reports" / D.isoformat()
    slug = "demo-hedge-fund-style-investor-portfolio"
    doc = json.loads((folder / f"{slug}.json").read_text())
    jsonschema.Draft202012Validator(report_schema()).validate(doc)
    assert doc["schema_version"] == "1.2.0"
    risk = doc["risk"]
    assert risk["available"] and len(risk["var"]) == 12
    stored = _sql(demo_day, """
        SELECT v.var FROM sigmasight.portfolio_var v
          JOIN sigmasight.portfolios p ON p.id = v.portfolio_id
         WHERE v.date = :d AND p.name = 'Demo Hedge Fund Style Investor Portfolio'
           AND v.method = 'historical' AND v.confidence = 0.99 AND v.horizon_days = 1""",
                  d=D)["var"].iloc[0]
    hist99 = next(r for r in risk["var"] if r["method"] == "historical"
                  and r["confidence"] == 0.99 and r["horizon_days"] == 1)
    assert hist99["var"] == round(stored, 2) and hist99["n_scenarios"] == 250
    assert [f["factor"] for f in risk["factor_contributions"]] == [*RISK, "Specific"]
    assert len(risk["top_positions"]) == 10
    md = (folder / f"{slug}.md").read_text()
    assert "## Risk: Value-at-Risk, Expected Shortfall and risk contributions" in md
    assert md.index("## Risk:") < md.index("## Market risk scenarios")
    assert "delta-normal" in md and "full revaluation" in md and "√10" in md
    rows = list(csv.DictReader(io.StringIO((folder / f"{slug}.csv").read_text())))
    assert {"Component_Vol", "Pct_Of_Risk", "Component_ES_Hist"} <= set(rows[0])
    total = sum(float(r["Component_Vol"]) for r in rows if r["Component_Vol"])
    sigma = next(r["volatility"] for r in risk["var"] if r["method"] == "parametric"
                 and r["horizon_days"] == 1)
    assert abs(total - sigma) <= 0.01 * len(rows)  # cells are rounded to cents
