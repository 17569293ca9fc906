"""Backtest, P&L attribution and Performance sections of the report (SPEC §6, second
release): JSON blocks from plain rows, their Markdown, and the chart's exception marks."""

import datetime as dt

import numpy as np
import pandas as pd

from sigmasight_pipeline.engines.attribution import COMPONENTS
from sigmasight_pipeline.reports.chart import render_chart
from sigmasight_pipeline.reports.risk_ii_section import risk_ii_blocks, risk_ii_markdown

D0, D1, D2 = dt.date(2025, 6, 26), dt.date(2025, 6, 27), dt.date(2025, 6, 30)
PID = "p1"


def _frames():
    bt = pd.DataFrame([{"portfolio_id": PID, "method": m, "confidence": c, "pnl_type": t,
                        "observations": 249, "exceptions": 5, "expected_exceptions": 2.49,
                        "kupiec_p": 0.1495, "christoffersen_p": 0.65, "cc_p": 0.31,
                        "zone": "yellow" if c == 0.99 else None, "skipped": 1,
                        "note": "1 day(s) ... skipped", "flags": []}
                       for m in ("historical", "parametric") for c in (0.95, 0.99)
                       for t in ("hypothetical", "actual")])
    attribution = pd.DataFrame([{"date": d, "portfolio_id": PID, "component": c,
                                 "pnl": 10.0 if c == "Market" else 1.0}
                                for d in (D1, D2) for c in COMPONENTS])
    perf = pd.DataFrame([{"portfolio_id": PID, "period": p, "n_obs": 21,
                          "annualized_return": 0.12, "annualized_vol": 0.2, "sharpe": 0.5,
                          "sortino": 0.7, "max_drawdown": -0.05, "calmar": 2.4,
                          "drawdown_peak_date": D0, "drawdown_trough_date": D1,
                          "best_day": 0.02, "worst_day": -0.03, "hit_ratio": 0.55,
                          "beta_spy": 0.9, "correlation_spy": 0.8, "tracking_error": 0.05,
                          "information_ratio": 0.3, "flags": []}
                         for p in ("inception", "21d")])
    vol = pd.DataFrame([{"portfolio_id": PID, "realized_21d": 0.18, "realized_63d": np.nan,
                         "ewma_vol": 0.19, "har_forecast": np.nan,
                         "realized_21d_percentile": np.nan, "n_obs": 30,
                         "flags": ["har_negative", "insufficient_history"]}])
    history = pd.DataFrame({"date": [D0, D1, D2], "portfolio_id": PID,
                            "daily_pnl": [0.0, -120.0, 50.0],
                            "daily_return": [np.nan, -0.001, 0.0005]})
    var = pd.DataFrame({"date": [D0, D1, D0, D1], "portfolio_id": PID,
                        "method": ["parametric", "parametric", "historical", "historical"],
                        "var": [100.0, 110.0, 130.0, 90.0]})
    return {"var_backtests": bt, "pnl_attribution": attribution,
            "portfolio_performance": perf, "portfolio_volatility": vol,
            "history": history, "var_history": var}


def test_blocks_markdown_and_chart():
    doc = risk_ii_blocks(_frames(), PID, D2)
    bt = doc["backtest"]
    assert [(r["method"], r["pnl_type"]) for r in bt["rows"]] == [
        ("parametric", "actual"), ("parametric", "hypothetical"), ("historical", "actual"),
        ("historical", "hypothetical")]  # 99 % only
    # D1: −(−120) > 100 (parametric of D0) is an exception, > 130 (historical) is not
    assert bt["chart"] == [
        {"date": "2025-06-27", "daily_pnl": -120.0, "var_99_parametric": 100.0,
         "var_99_historical": 130.0, "exception_parametric": True,
         "exception_historical": False},
        {"date": "2025-06-30", "daily_pnl": 50.0, "var_99_parametric": 110.0,
         "var_99_historical": 90.0, "exception_parametric": False,
         "exception_historical": False}]
    pa = doc["pnl_attribution"]
    assert pa["days"] == 2 and pa["total"] == 22.0
    assert pa["components"][0] == {"component": "Market", "pnl": 10.0, "total_last_days": 20.0}
    perf = doc["performance"]
    assert [p["period"] for p in perf["periods"]] == ["21d", "inception"]
    assert perf["periods"][0]["drawdown_peak_date"] == "2025-06-26"
    assert perf["volatility"]["har_forecast"] is None
    assert perf["volatility"]["flags"] == ["har_negative", "insufficient_history"]

    md = "\n".join("\n".join(s) for s in risk_ii_markdown(doc))
    assert "| parametric | actual | 249 | 5 | 2.49 | 0.1495 | 0.6500 | 0.3100 | yellow |" in md
    assert "| Market | 10.00 | 20.00 |" in md
    assert "| Total (= daily P&L) | 22.00 |  |" in md
    assert "| 21d | 21 | 12.00 | 20.00 | 0.50 | 0.70 | -5.00 | 2025-06-26 | 2025-06-27 |" in md
    assert "| HAR forecast, next day (%) | n/a |" in md

    png = render_chart({**doc, "history": [], "date": D2.isoformat(),
                        "portfolio": {"name": "P"}, "data_source": {"simulated": True}})
    assert png.startswith(b"\x89PNG") and png == render_chart(
        {**doc, "history": [], "date": D2.isoformat(), "portfolio": {"name": "P"},
         "data_source": {"simulated": True}})


def test_missing_tables_say_so():
    doc = risk_ii_blocks({}, PID, D2)
    for key in ("backtest", "pnl_attribution", "performance"):
        assert doc[key]["available"] is False and "materialize" in doc[key]["reason"]
    md = "\n".join("\n".join(s) for s in risk_ii_markdown(doc))
    assert "VaR backtest: not available — no var_backtests rows" in md
