"""The Markdown report: for a human and for an LLM reader (tables, explicit units).

Fixed number formats (money ``1,234.56``, percentages with 2 decimals), no timestamps:
the same document renders to the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .document import HISTORY_TABLE_DAYS
from .risk_ii_section import risk_ii_markdown
from .risk_section import render_risk_markdown

TOP_POSITIONS = 15
NA = "n/a"


def _fixed(x: float, dp: int) -> str:
    text = f"{x:,.{dp}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.,") else text  # no "-0.00"


def fmt_money(x: float | None) -> str:
    return NA if x is None else _fixed(x, 2)


def fmt_pct(x: float | None) -> str:
    """A decimal as a percentage (0.0123 → 1.23)."""
    return NA if x is None else _fixed(x * 100, 2)


def fmt_num(x: float | None, dp: int = 4) -> str:
    return NA if x is None else _fixed(x, dp)


def fmt_qty(x: float | None) -> str:
    if x is None:
        return NA
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.4f}"


def _cell(value: Any) -> str:
    text = NA if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]],
          numeric: Sequence[bool] | None = None) -> str:
    """A GitHub-flavoured Markdown table; ``numeric`` columns are right-aligned."""
    numeric = numeric or [False] * len(headers)
    lines = ["| " + " | ".join(_cell(h) for h in headers) + " |",
             "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _unavailable(title: str, section: dict) -> str:
    return f"{title}: not available — {section['reason']}."


def _header(doc: dict) -> list[str]:
    dq = doc["data_quality"]
    sev = dq["by_severity"]
    src = doc["data_source"]
    p = doc["portfolio"]
    quality = (f"{dq['issue_count']} issue(s) ({sev['error']} error, {sev['warning']} warning, "
               f"{sev['info']} info)" if dq["issue_count"] else "no issues recorded")
    lines = [
        f"# Portfolio report: {p['name']} — {doc['date']}",
        "",
        f"- **Data source: {src['statement']}**",
        f"- Portfolio: {p['name']}",
        f"- Owner: {p['owner'] or NA}",
        f"- Date: {doc['date']} (close of the NYSE session)",
        f"- Data quality: {quality}",
        f"- Units: money in US$; percentages of gross exposure unless stated; report schema "
        f"{doc['schema_version']}",
    ]
    if p["description"]:
        lines.append(f"- Description: {p['description']}")
    return lines


def _summary(doc: dict) -> list[str]:
    s = doc["summary"]
    out = ["## Summary", ""]
    if not s["available"]:
        return [*out, _unavailable("Summary", s)]
    rows = [
        ("Total value (net market value)", "US$", fmt_money(s["total_value"])),
        ("Long market value", "US$", fmt_money(s["long_value"])),
        ("Short market value", "US$", fmt_money(s["short_value"])),
        ("Daily P&L", "US$", fmt_money(s["daily_pnl"])),
        ("Daily return (P&L / previous gross exposure)", "%", fmt_pct(s["daily_return"])),
        ("Cumulative P&L", "US$", fmt_money(s["cumulative_pnl"])),
        ("Gross exposure", "US$", fmt_money(s["gross_exposure"])),
        ("Net exposure", "US$", fmt_money(s["net_exposure"])),
        ("Long exposure", "US$", fmt_money(s["long_exposure"])),
        ("Short exposure", "US$", fmt_money(s["short_exposure"])),
        ("Positions (long / short / options)", "count",
         f"{s['position_count']} ({s['long_count']} / {s['short_count']} / "
         f"{s['option_count']})"),
    ]
    out.append(table(["Metric", "Unit", "Value"], rows, [False, False, True]))
    out += ["", "Exposure is delta-adjusted for options (quantity × multiplier × delta × "
                "underlying price); counts are by the sign of exposure."]
    if s["flags"]:
        out += ["", f"Flags: {', '.join(s['flags'])}"]
    return out


def _positions(doc: dict) -> list[str]:
    positions = doc["positions"]
    out = [f"## Top positions (by |exposure|, {min(TOP_POSITIONS, len(positions))} of "
           f"{len(positions)})", ""]
    if not positions:
        return [*out, "No positions held on this day."]
    # the quantity held on the day, after splits since entry (SPEC §8)
    rows = [(p["symbol"], p["position_type"],
             fmt_qty(p["quantity"] if p.get("effective_quantity") is None
                     else p["effective_quantity"]), fmt_num(p["price"], 2),
             fmt_money(p["market_value"]), fmt_money(p["exposure"]),
             fmt_pct(p["weight_of_gross"]), fmt_money(p["unrealized_pnl"]),
             "; ".join(p["tags"]) or "-")
            for p in positions[:TOP_POSITIONS]]
    out.append(table(["Symbol", "Type", "Quantity", "Price (US$/share)", "Market value (US$)",
                      "Exposure (US$)", "Weight (% of gross)", "Unrealized P&L (US$)", "Tags"],
                     rows, [False, False, True, True, True, True, True, True, False]))
    return out


def _tags(doc: dict) -> list[str]:
    out = ["## Exposures by tag", ""]
    rows = [(t["tag"], fmt_money(t["gross_exposure"]), fmt_money(t["net_exposure"]),
             fmt_pct(t["share_of_gross"]), t["position_count"]) for t in doc["tag_exposures"]]
    if not rows:
        return [*out, "No tag exposures for this day."]
    out.append(table(["Tag", "Gross exposure (US$)", "Net exposure (US$)", "Gross (% of gross)",
                      "Positions"], rows, [False, True, True, True, True]))
    out += ["", "A position counts fully under each of its tags, so tags can sum to more than "
                "100 %."]
    return out


def _greeks(doc: dict) -> list[str]:
    g = doc["greeks"]
    out = ["## Options and Greeks", ""]
    if g["options"]:
        rows = [(o["symbol"], o["position_type"], fmt_qty(o["quantity"]),
                 fmt_num(o["underlying_price"], 2), fmt_num(o["strike"], 2), o["expiration"],
                 o["days_to_expiry"], fmt_pct(o["implied_vol"]), o["vol_source"] or NA,
                 fmt_num(o["delta"]), fmt_money(o["dollar_delta"]),
                 fmt_money(o["dollar_gamma_1pct"]), fmt_money(o["position_theta"]),
                 fmt_money(o["position_vega"]), fmt_money(o["position_rho"]))
                for o in g["options"]]
        out.append(table(
            ["Option", "Type", "Contracts", "Underlying (US$)", "Strike (US$)", "Expiry",
             "Days to expiry", "Implied vol (%)", "Vol source", "Delta (per share)",
             "Dollar delta (US$)", "Gamma P&L for 1% move (US$)", "Theta (US$/day)",
             "Vega (US$ per vol pt)", "Rho (US$ per rate pt)"],
            rows, [False, False, True, True, True, False, True, True, False, True, True, True,
                   True, True, True]))
        out.append("")
    if g["reason"]:
        out += [f"Note: {g['reason']}.", ""]
    p = g["portfolio"]
    out.append("Portfolio dollar Greeks (options and stocks: dollar delta = net exposure):")
    out.append("")
    out.append(table(["Greek", "Unit", "Value"], [
        ("Dollar delta", "US$ per 100 % move of every underlying", fmt_money(p["dollar_delta"])),
        ("Dollar gamma", "US$ P&L from gamma for a 1 % move", fmt_money(p["dollar_gamma_1pct"])),
        ("Theta", "US$ per calendar day", fmt_money(p["dollar_theta"])),
        ("Vega", "US$ per volatility point (0.01)", fmt_money(p["dollar_vega"])),
        ("Rho", "US$ per rate point (0.01)", fmt_money(p["dollar_rho"])),
    ], [False, False, True]))
    out += ["", f"Model: {g['model']}"]
    return out


def _factors(doc: dict) -> list[str]:
    f = doc["factor_exposures"]
    out = ["## Factor exposures", ""]
    if not f["available"]:
        out.append(_unavailable("Factor exposures", f))
    else:
        rows = [(r["factor"], fmt_num(r["beta"]), fmt_money(r["dollar_exposure"]),
                 fmt_pct(r["coverage"])) for r in f["factors"]]
        out.append(table(["Factor", "Beta (per $ of gross)", "Dollar exposure (US$)",
                          "Coverage (% of gross)"], rows, [False, True, True, True]))
        out += ["", "Beta = dollar exposure / gross exposure. Rate: dollar exposure in US$ per "
                    "+1 percentage point of the 10-year yield (DGS10). Coverage = gross exposure "
                    "of the positions with a beta / gross exposure."]
        if f["position_quality"]:
            q = ", ".join(f"{k}: {v}" for k, v in f["position_quality"].items())
            out += ["", f"Position regressions by quality: {q}."]
    fc = f["factor_correlations"]
    out += ["", "### Factor correlations (EWMA, daily)", ""]
    if not fc["available"]:
        out.append(_unavailable("Factor correlations", fc))
    else:
        rows = [(a, *(fmt_num(x, 2) for x in row)) for a, row in zip(fc["factors"],
                                                                     fc["correlation"],
                                                                     strict=True)]
        out.append(table(["Factor", *fc["factors"]], rows,
                         [False, *([True] * len(fc["factors"]))]))
        out += ["", f"Observations: {fc['n_obs']}."]
    return out


def _market_risk(doc: dict) -> list[str]:
    m = doc["market_risk"]
    out = ["## Market risk scenarios (worst first)", ""]
    if not m["available"]:
        return [*out, _unavailable("Market risk", m)]
    rows = [(r["scenario"], r["scenario_type"],
             f"{r['shock'] * 100:+.2f} %" if r["scenario_type"] != "rate"
             else f"{r['shock'] * 10000:+.0f} bp",
             fmt_money(r["pnl"]), fmt_pct(r["pnl_pct"]), fmt_money(r["option_pnl"]),
             ", ".join(r["flags"]) or "-") for r in m["scenarios"]]
    out.append(table(["Scenario", "Type", "Shock", "P&L (US$)", "P&L (% of gross)",
                      "Options P&L (US$)", "Flags"],
                     rows, [False, False, True, True, True, True, False]))
    return [*out, "", f"Method and assumptions: {m['method']}"]


def _stress(doc: dict) -> list[str]:
    s = doc["stress_tests"]
    out = ["## Stress tests (worst correlated P&L first)", ""]
    if not s["available"]:
        return [*out, _unavailable("Stress tests", s)]
    rows = [(r["scenario"], r["category"], r["severity"], fmt_money(r["direct_pnl"]),
             fmt_pct(r["direct_pct"]), fmt_money(r["correlated_pnl"]),
             fmt_pct(r["correlated_pct"]), ", ".join(r["flags"]) or "-")
            for r in s["scenarios"]]
    out.append(table(["Scenario", "Category", "Severity", "Direct P&L (US$)",
                      "Direct (% of gross)", "Correlated P&L (US$)", "Correlated (% of gross)",
                      "Flags"], rows, [False, False, False, True, True, True, True, False]))
    return [*out, "", f"Method and assumptions: {s['method']}"]


def _correlations(doc: dict) -> list[str]:
    c = doc["correlations"]
    out = ["## Position correlations", ""]
    if not c["available"]:
        return [*out, _unavailable("Correlations", c)]
    out.append(table(["Measure", "Value"], [
        ("Underlyings included", c["n_positions"]),
        ("Average |correlation|", fmt_num(c["avg_abs_correlation"], 3)),
        ("Effective bets", fmt_num(c["effective_bets"], 2)),
        ("Pairs stored", c["pair_count"]),
    ], [False, True]))
    out.append("")
    if c["clusters"]:
        out.append("Clusters (|ρ| ≥ 0.7):")
        out += [f"- Cluster {k['id']} ({k['size']}): {', '.join(k['members'])}"
                for k in c["clusters"]]
    else:
        out.append("Clusters (|ρ| ≥ 0.7): none.")
    if c["top_pairs"]:
        out += ["", table(["Symbol A", "Symbol B", "Correlation", "Common days"],
                          [(p["symbol_a"], p["symbol_b"], fmt_num(p["correlation"], 3),
                            p["n_obs"]) for p in c["top_pairs"]],
                          [False, False, True, True])]
    return [*out, "", f"Method: {c['method']}"]


def _issues(doc: dict) -> list[str]:
    dq = doc["data_quality"]
    out = ["## Data-quality issues", ""]
    if not dq["issues"]:
        return [*out, "None recorded for this portfolio and day."]
    rows = [(i["severity"], i["code"], i["asset"], i["symbol"] or "-", i["message"])
            for i in dq["issues"]]
    return [*out, table(["Severity", "Code", "Asset", "Symbol", "What happened"], rows)]


def _history(doc: dict) -> list[str]:
    hist = doc["history"][-HISTORY_TABLE_DAYS:]
    out = [f"## History (last {len(hist)} trading days)", ""]
    if not hist:
        return [*out, "No snapshots yet."]
    out += [f"![Cumulative P&L and exposure, last {len(doc['history'])} trading days]"
            f"({doc['portfolio']['slug']}.png)", ""]
    rows = [(h["date"], fmt_money(h["total_value"]), fmt_money(h["daily_pnl"]),
             fmt_pct(h["daily_return"]), fmt_money(h["cumulative_pnl"]),
             fmt_money(h["gross_exposure"]), fmt_money(h["net_exposure"]))
            for h in reversed(hist)]
    return [*out, table(["Date", "Value (US$)", "Daily P&L (US$)", "Daily return (%)",
                         "Cumulative P&L (US$)", "Gross exposure (US$)", "Net exposure (US$)"],
                        rows, [False, True, True, True, True, True, True])]


def _pct_points(x: float | None) -> str:
    """A value already in percent (25.0 → 25.00)."""
    return NA if x is None else _fixed(x, 2)


def _sectors(doc: dict) -> list[str]:
    s = doc["sectors_concentration"]
    out = ["## Sectors and concentration", ""]
    if not s["available"]:
        return [*out, _unavailable("Sectors and concentration", s)]
    if s["sectors"]:
        rows = [(r["sector"], fmt_money(r["gross_exposure"]), fmt_money(r["net_exposure"]),
                 fmt_money(r["long_exposure"]), fmt_money(r["short_exposure"]),
                 _pct_points(r["pct_of_gross"]), r["position_count"]) for r in s["sectors"]]
        out.append(table(["Sector", "Gross exposure (US$)", "Net exposure (US$)",
                          "Long (US$)", "Short (US$)", "Gross (% of gross)", "Positions"],
                         rows, [False, True, True, True, True, True, True]))
        out += ["", f"Positions without a sector (counted under (unclassified), included in "
                    f"the totals): {s['unclassified_positions']}."]
    c = s["concentration"]
    if c is not None:
        out += ["", table(["Measure", "Value"], [
            ("Underlyings (positions netted per underlying)", c["n_underlyings"]),
            ("HHI (0-10,000)", fmt_num(c["hhi"], 1)),
            ("Effective number of names", fmt_num(c["effective_n"], 2)),
            ("Largest underlying", c["largest_underlying"] or NA),
            ("Top 1 (% of netted exposure)", _pct_points(c["top1_pct"])),
            ("Top 5 (%)", _pct_points(c["top5_pct"])),
            ("Top 10 (%)", _pct_points(c["top10_pct"])),
            ("Beta-adjusted net exposure (US$)", fmt_money(c["beta_adjusted_net_exposure"])),
        ], [False, True])]
    if s["reason"]:
        out += ["", f"Note: {s['reason']}."]
    return [*out, "", f"Method: {s['method']}"]


def _limit_value(check: dict, key: str) -> str:
    x = check[key]
    if x is None:
        return NA
    if check["limit_name"] == "max_gross_exposure":
        return fmt_money(x)
    return fmt_num(x, 2)


def _limits(doc: dict) -> list[str]:
    lim = doc["limits"]
    out = ["## Limits (breaches first)", ""]
    if not lim["available"]:
        return [*out, _unavailable("Limits", lim)]
    out.append(f"{lim['breach_count']} breach(es), {lim['not_available_count']} not available, "
               f"of {len(lim['checks'])} limit(s).")
    rows = [(c["status"].upper() if c["status"] == "breach" else c["status"], c["limit_name"],
             c["compares"], _limit_value(c, "value"),
             ("≤ " if c["comparison"] == "max" else "≥ ") + _limit_value(c, "threshold"))
            for c in lim["checks"]]
    out += ["", table(["Status", "Limit", "Compares", "Value", "Limit (allowed)"], rows,
                      [False, False, False, True, True])]
    return [*out, "", f"Method: {lim['method']}"]


def summary_preview(doc: dict) -> str:
    """A short Markdown block (header + summary) for Dagster metadata."""
    return "\n".join([*_header(doc), "", *_summary(doc)])


def render_markdown(doc: dict) -> str:
    sections = [_header(doc), _summary(doc), _positions(doc), _tags(doc), _greeks(doc),
                _factors(doc), _market_risk(doc), _stress(doc), _correlations(doc),
                *risk_ii_markdown(doc),  # backtest, P&L attribution, performance (§7.6-7.8)
                _sectors(doc), _limits(doc), _issues(doc), _history(doc)]
    # schema 1.1: the Risk section, before the scenario tables
    at = next(i for i, s in enumerate(sections) if s[0].startswith("## Market risk"))
    sections.insert(at, render_risk_markdown(doc))
    return "\n\n".join("\n".join(s) for s in sections) + "\n"
