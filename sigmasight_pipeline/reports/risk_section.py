"""The report's Risk section (SPEC §6 second release, §7.3-7.5): VaR and ES by method ×
confidence × horizon with the method in words, factor contributions to volatility and the
10 largest position contributions; per position (JSON positions and CSV) the component
volatility, share of risk and historical component ES.

Built from the day's portfolio_var, factor_risk_contributions and
position_risk_contributions rows; renders Markdown here so the section is one block.
"""

from __future__ import annotations

from typing import Any

from .document import _factor_key, _flags, _int, money, num, unavailable
from .inputs import ReportInputs

#: the tables the section reads (optional: the report says why when they are empty)
RISK_TABLES = ("portfolio_var", "factor_risk_contributions", "position_risk_contributions")
TOP_CONTRIBUTIONS = 10
#: the CSV columns the section adds, per position
RISK_CSV_COLUMNS = ["Component_Vol", "Pct_Of_Risk", "Component_ES_Hist"]

VAR_METHOD = {
    "parametric": (
        "Parametric (delta-normal factor model): σ² = xᵀΣx + Σ_u E_u² s_u², with x the "
        "portfolio's $ exposure to the six equity factors and Rate (options through their "
        "delta), Σ the 7 × 7 EWMA covariance (λ 0.94, daily) and s_u each underlying's "
        "specific (residual) volatility. VaR = z_α σ √h, ES = σ √h φ(z_α) / (1 − α). "
        "Positions without betas take Market 1 (beta_defaulted), without specific risk the "
        "day's median (specific_defaulted)."),
    "historical": (
        "Historical simulation with full revaluation: each of the last 250 trading days "
        "(n_scenarios) moves every underlying by its own return of that day (a symbol "
        "without one by its factor betas × that day's factor returns, flag hist_proxy); "
        "stocks P&L = exposure × return, options fully repriced with Black-Scholes at "
        "today's volatility, rate and time to expiry. VaR = −(k-th worst P&L), ES = −mean of "
        "the k worst, k = ⌈N (1 − α)⌉; fewer than 60 days: not computed "
        "(insufficient_history)."),
    "horizon": "10-day figures are √10 × the 1-day ones (square-root-of-time scaling).",
}


def _var_rows(records: list[dict]) -> list[dict]:
    rows = [{"method": r["method"], "confidence": num(r["confidence"]),
             "horizon_days": _int(r["horizon_days"]), "var": money(r["var"]),
             "es": money(r["es"]), "var_pct_gross": num(r["var_pct_gross"]),
             "es_pct_gross": num(r["es_pct_gross"]), "volatility": money(r["volatility"]),
             "n_scenarios": _int(r["n_scenarios"]), "flags": _flags(r.get("flags"))}
            for r in records]
    order = {"parametric": 0, "historical": 1}
    return sorted(rows, key=lambda r: (order.get(r["method"], 2), r["horizon_days"] or 0,
                                       r["confidence"] or 0.0))


def risk_section(inputs: ReportInputs, pid: str) -> dict:
    """The ``risk`` object of the JSON document."""
    var = inputs.rows("portfolio_var", pid)
    factors = inputs.rows("factor_risk_contributions", pid)
    positions = inputs.rows("position_risk_contributions", pid)
    factor_rows = sorted(({"factor": r["factor"], "exposure": money(r["exposure"]),
                           "contribution": money(r["contribution"]),
                           "pct_of_risk": num(r["pct_of_risk"])} for r in factors),
                         key=lambda r: _factor_key(r["factor"]))
    top = sorted(({"position_id": r["position_id"], "symbol": r["symbol"],
                   "exposure": money(r["exposure"]), "marginal_vol": num(r["marginal_vol"]),
                   "component_vol": money(r["component_vol"]),
                   "pct_of_risk": num(r["pct_of_risk"]),
                   "component_es_hist": money(r["component_es_hist"])}
                  for r in positions),
                 key=lambda r: (-abs(r["component_vol"] or 0.0), r["symbol"], r["position_id"]))
    rows = _var_rows(var)
    return {
        "available": bool(rows),
        "reason": None if rows else unavailable(
            "portfolio_var", inputs.day,
            "asset not materialized, or the portfolio has no priced positions"),
        "units": "var, es, volatility, exposure, contribution: US$ (var and es positive for "
                 "losses; exposure per unit factor return, Rate per +1 percentage point of "
                 "DGS10); *_pct_gross and pct_of_risk: decimals; marginal_vol: US$ of daily "
                 "volatility per US$ of exposure",
        "method": dict(VAR_METHOD),
        "var": rows,
        "factor_contributions": factor_rows,
        "top_positions": top[:TOP_CONTRIBUTIONS],
        "position_count": len(top),
    }


def position_risk_fields(inputs: ReportInputs, pid: str) -> dict[str, dict[str, Any]]:
    """position_id → {component_vol, pct_of_risk, component_es_hist} for the positions."""
    return {r["position_id"]: {"component_vol": money(r["component_vol"]),
                               "pct_of_risk": num(r["pct_of_risk"]),
                               "component_es_hist": money(r["component_es_hist"])}
            for r in inputs.rows("position_risk_contributions", pid)}


def render_risk_markdown(doc: dict) -> list[str]:
    from .markdown import _unavailable, fmt_money, fmt_num, fmt_pct, table

    risk = doc.get("risk")
    out = ["## Risk: Value-at-Risk, Expected Shortfall and risk contributions", ""]
    if not risk or not risk["available"]:
        return [*out, _unavailable("Risk", risk or {"reason": "no risk section"})]
    rows = [(r["method"], f"{r['confidence'] * 100:g} %", r["horizon_days"], fmt_money(r["var"]),
             fmt_money(r["es"]), fmt_pct(r["var_pct_gross"]), fmt_pct(r["es_pct_gross"]),
             fmt_money(r["volatility"]), "-" if r["n_scenarios"] is None else r["n_scenarios"],
             ", ".join(r["flags"]) or "-") for r in risk["var"]]
    out.append(table(["Method", "Confidence", "Horizon (days)", "VaR (US$)", "ES (US$)",
                      "VaR (% of gross)", "ES (% of gross)", "Volatility (US$)", "Scenarios",
                      "Flags"], rows,
                     [False, True, True, True, True, True, True, True, True, False]))
    method = risk["method"]
    out += ["", f"- {method['parametric']}", f"- {method['historical']}",
            f"- {method['horizon']}", ""]
    out += ["### Contributions to daily volatility (parametric, Euler)", ""]
    if risk["factor_contributions"]:
        frows = [(r["factor"], fmt_money(r["exposure"]), fmt_money(r["contribution"]),
                  fmt_pct(r["pct_of_risk"])) for r in risk["factor_contributions"]]
        out.append(table(["Factor", "Exposure (US$ per unit move)", "Contribution (US$)",
                          "Share of risk (%)"], frows, [False, True, True, True]))
        out += ["", "Contributions sum to the daily volatility; a negative share hedges. "
                    "Rate exposure is US$ per +1 percentage point of DGS10."]
    else:
        out.append("No factor contributions (no risk-factor covariance that day).")
    out += ["", f"### Largest position contributions ({len(risk['top_positions'])} of "
                f"{risk['position_count']}, by |component volatility|)", ""]
    prow = [(r["symbol"], fmt_money(r["exposure"]), fmt_num(r["marginal_vol"], 6),
             fmt_money(r["component_vol"]), fmt_pct(r["pct_of_risk"]),
             fmt_money(r["component_es_hist"])) for r in risk["top_positions"]]
    out.append(table(["Symbol", "Exposure (US$)", "Marginal vol (US$ per US$)",
                      "Component vol (US$)", "Share of risk (%)",
                      "Component ES 97.5 % hist (US$)"], prow,
                     [False, True, True, True, True, True]))
    return out


def risk_csv_values(p: dict) -> list[str]:
    """The :data:`RISK_CSV_COLUMNS` cells of one JSON position."""
    def f(x, dp):
        return "" if x is None else f"{x:.{dp}f}"
    return [f(p.get("component_vol"), 2), f(p.get("pct_of_risk"), 6),
            f(p.get("component_es_hist"), 2)]
