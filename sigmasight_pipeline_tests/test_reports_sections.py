"""Report sections fed by engines that may not have run: missing → says why; present →
the numbers. After a one-day run, synthetic rows replace the engines' rows of that day (for
one portfolio only) and the report assets alone are materialized again."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import jsonschema
import pandas as pd
from sqlalchemy import text

from sigmasight_pipeline.reports.json_report import report_schema
from sigmasight_pipeline.warehouse import tables as t
from sigmasight_pipeline.warehouse.writer import replace_partition

D = dt.date(2025, 6, 30)
HF = "demo-hedge-fund-style-investor-portfolio"
HNW = "demo-high-net-worth-investor-portfolio"


def _ids(engine) -> tuple[str, dict[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT p.id, p.symbol, f.id AS pid FROM sigmasight.positions p "
            "JOIN sigmasight.portfolios f ON f.id = p.portfolio_id "
            "WHERE f.name = 'Demo Hedge Fund Style Investor Portfolio'")).all()
    return str(rows[0].pid), {r.symbol: str(r.id) for r in rows}


def _insert_synthetic(engine) -> None:
    pid, pos = _ids(engine)
    factors = ["Market", "Value", "Size", "Momentum", "Quality", "Low Volatility"]
    frames = {
        t.portfolio_factor_exposures: pd.DataFrame([
            {"date": D, "portfolio_id": pid, "factor": "Market", "beta": 0.8123,
             "dollar_exposure": 30915000.0, "coverage": 0.95},
            {"date": D, "portfolio_id": pid, "factor": "Value", "beta": -0.0456,
             "dollar_exposure": -1735000.0, "coverage": 0.95},
            {"date": D, "portfolio_id": pid, "factor": "Rate", "beta": None,
             "dollar_exposure": -12345.67, "coverage": 0.9},
        ]),
        # per symbol since SPEC §7.1; the report joins them to the positions held
        t.security_factor_exposures: pd.DataFrame([
            {"date": D, "symbol": "AAPL", "factor": "Market", "beta": 1.234567,
             "std_err": 0.1, "t_stat": 12.3, "r_squared": 0.6, "n_obs": 150, "quality": "ok"},
            {"date": D, "symbol": "NFLX", "factor": "Market", "beta": None,
             "std_err": None, "t_stat": None, "r_squared": None, "n_obs": 12,
             "quality": "insufficient_history"},
        ]),
        t.security_rate_betas: pd.DataFrame([
            {"date": D, "symbol": "AAPL", "ir_beta": -0.0123, "std_err": 0.004,
             "r_squared": 0.05, "n_obs": 150, "quality": "ok"}]),
        t.factor_correlations: pd.DataFrame([
            {"date": D, "factor_a": a, "factor_b": b,
             "correlation": 1.0 if a == b else 0.25, "covariance": 1e-4, "n_obs": 252}
            for a in factors for b in factors]),
        t.market_risk_scenarios: pd.DataFrame([
            {"date": D, "portfolio_id": pid, "scenario": "market_up_10", "scenario_type": "market",
             "shock": 0.10, "pnl": 3100000.0, "pnl_pct": 0.0815, "option_pnl": 2500000.0,
             "flags": []},
            {"date": D, "portfolio_id": pid, "scenario": "market_down_20",
             "scenario_type": "market", "shock": -0.20, "pnl": -6208646.55, "pnl_pct": -0.1631,
             "option_pnl": -4000000.0, "flags": ["beta_defaulted"]},
            {"date": D, "portfolio_id": pid, "scenario": "rate_up_100bp", "scenario_type": "rate",
             "shock": 0.01, "pnl": -12345.67, "pnl_pct": -0.0003, "option_pnl": 0.0, "flags": []},
        ]),
        t.stress_test_results: pd.DataFrame([
            {"date": D, "portfolio_id": pid, "scenario": "market_crash_35", "category": "market",
             "severity": "severe", "direct_pnl": -10000000.0, "correlated_pnl": -11234567.89,
             "direct_pct": -0.2628, "correlated_pct": -0.2952,
             "factor_impacts": {"Market": {"shock": -0.35, "dollar_exposure": 30915000.0,
                                           "pnl": -10820250.0}}, "flags": []},
            {"date": D, "portfolio_id": pid, "scenario": "financial_crisis_2008",
             "category": "historical", "severity": "extreme", "direct_pnl": -14000000.0,
             "correlated_pnl": -15432100.0, "direct_pct": -0.3679, "correlated_pct": -0.4055,
             "factor_impacts": {}, "flags": ["loss_exceeds_gross"]},
            {"date": D, "portfolio_id": pid, "scenario": "value_rotation_20",
             "category": "rotation", "severity": "moderate", "direct_pnl": -347000.0,
             "correlated_pnl": -298000.0, "direct_pct": -0.0091, "correlated_pct": -0.0078,
             "factor_impacts": {"Value": {"shock": 0.2, "dollar_exposure": -1735000.0,
                                          "pnl": -347000.0}}, "flags": []},
        ]),
        t.position_correlations: pd.DataFrame([
            {"date": D, "portfolio_id": pid, "symbol_a": "AMD", "symbol_b": "NVDA",
             "correlation": 0.8123, "n_obs": 89},
            {"date": D, "portfolio_id": pid, "symbol_a": "AAPL", "symbol_b": "MSFT",
             "correlation": 0.65, "n_obs": 89}]),
        t.correlation_summaries: pd.DataFrame([
            {"date": D, "portfolio_id": pid, "n_positions": 20, "avg_abs_correlation": 0.4321,
             "effective_bets": 5.67, "clusters": [["NVDA", "AMD"]]}]),
    }
    with engine.begin() as conn:
        for table, frame in frames.items():
            assert replace_partition(conn, table, D, frame) == len(frame)


def test_sections_render_synthetic_engine_rows_and_explain_missing_ones(demo_book, run_days,
                                                                        cli_env):
    from dagster import DagsterInstance, materialize

    from sigmasight_pipeline.definitions import defs
    from sigmasight_pipeline.defs.reports.assets import portfolio_reports

    run_days(D)
    _insert_synthetic(demo_book)
    with DagsterInstance.ephemeral() as instance:
        result = materialize([portfolio_reports], instance=instance, resources=defs.resources,
                             partition_key=D.isoformat(), raise_on_error=False)
    assert result.success
    folder = cli_env / "reports" / D.isoformat()
    md = (folder / f"{HF}.md").read_text()
    doc = json.loads((folder / f"{HF}.json").read_text())
    jsonschema.Draft202012Validator(report_schema()).validate(doc)

    # factor exposures with coverage, the Rate row in $ per +1 pp
    assert "| Market | 0.8123 | 30,915,000.00 | 95.00 |" in md
    assert "| Rate | n/a | -12,345.67 | 90.00 |" in md
    # AAPL's betas reach both AAPL positions (the stock and the put on it), NFLX's the short
    assert "insufficient_history: 1, ok: 2" in md
    fx = doc["factor_exposures"]
    assert fx["available"] and fx["coverage"] == 0.95
    assert [f["factor"] for f in fx["factors"]] == ["Market", "Value", "Rate"]
    assert fx["factor_correlations"]["correlation"][0][:2] == [1.0, 0.25]
    # market risk, worst first, with shocks in % and bp
    assert md.index("market_down_20") < md.index("rate_up_100bp") < md.index("market_up_10")
    assert "| market_down_20 | market | -20.00 % | -6,208,646.55 | -16.31 |" in md
    assert "| rate_up_100bp | rate | +100 bp |" in md
    assert "full Black-Scholes revaluation" in md
    # stress: id, category, severity, worst correlated P&L first, method and caveats
    assert [s["scenario"] for s in doc["stress_tests"]["scenarios"]] == [
        "financial_crisis_2008", "market_crash_35", "value_rotation_20"]
    assert ("| financial_crisis_2008 | historical | extreme | -14,000,000.00 | -36.79 | "
            "-15,432,100.00 | -40.55 | loss_exceeds_gross |") in md
    assert "approximate peak-to-trough" in md and "no dividends" in md
    crash = doc["stress_tests"]["scenarios"][1]
    assert crash["factor_impacts"] == [{"factor": "Market", "shock": -0.35,
                                        "dollar_exposure": 30915000.0, "pnl": -10820250.0}]
    # correlations
    assert "Cluster 1 (2): AMD, NVDA" in md and "| Effective bets | 5.67 |" in md
    assert "| AMD | NVDA | 0.812 | 89 |" in md
    # CSV: position betas (NULL stays empty, never 0) and the IR beta
    rows = {r["Symbol"]: r for r in csv.DictReader(io.StringIO((folder / f"{HF}.csv")
                                                               .read_text()))}
    assert rows["AAPL"]["Beta_Market"] == "1.234567" and rows["AAPL"]["IR_Beta_Per_PP"] == \
        "-0.012300"
    assert rows["NFLX"]["Beta_Market"] == "" and rows["NFLX"]["Factor_Quality"] == \
        "insufficient_history"
    assert rows["MSFT"]["Beta_Market"] == ""

    # another portfolio: the engines' rows are missing, and each section says why
    other = (folder / f"{HNW}.md").read_text()
    assert ("Factor exposures: not available — no rows in sigmasight.portfolio_factor_exposures "
            "for 2025-06-30 (asset not materialized, or insufficient history).") in other
    assert ("Market risk: not available — no rows in sigmasight.market_risk_scenarios for "
            "2025-06-30 (asset not materialized).") in other
    assert "Stress tests: not available — no rows in sigmasight.stress_test_results" in other
    assert "Correlations: not available — no rows in sigmasight.correlation_summaries" in other
    assert "### Factor correlations" in other and "| Market | 1.00 | 0.25 |" in other
    hnw = json.loads((folder / f"{HNW}.json").read_text())
    assert hnw["factor_exposures"]["available"] is False
    assert "portfolio_factor_exposures" in hnw["factor_exposures"]["reason"]
    assert hnw["greeks"]["reason"] == "no option positions held on 2025-06-30"
    assert "Note: no option positions held on 2025-06-30." in other
