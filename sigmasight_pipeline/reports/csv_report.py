"""The CSV report: one row per position held (values, exposures, Greeks, factor betas).

The first 26 columns are the original system's (notes §6.1), in its order and spelling,
with its bugs fixed: Cost_Basis = quantity × multiplier × entry price, Days_To_Expiry from
the report date, Tags filled. Units: money in US$; Delta/Gamma/Theta/Vega/Rho per share
(mibian conventions: theta $ per day, vega $ per vol point, rho $ per rate point);
Delta_Dollars = dollar delta; Gamma_Dollars = $ P&L of gamma for a 1 % move;
Implied_Volatility a decimal. Further columns follow, named with their units.

Text cells are neutralized against CSV (formula) injection: a cell of a text column that
begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'``
(OWASP), so a spreadsheet shows a portfolio named ``=HYPERLINK(...)`` as text instead of
evaluating it. Number columns are written as numbers and never prefixed.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from .document import FACTOR_ORDER
from .risk_section import RISK_CSV_COLUMNS, risk_csv_values

ORIGINAL_COLUMNS = [
    "Symbol", "Position_Type", "Quantity", "Entry_Price", "Current_Price", "Market_Value",
    "Cost_Basis", "Unrealized_PnL", "Realized_PnL", "Delta", "Gamma", "Theta", "Vega", "Rho",
    "Delta_Dollars", "Gamma_Dollars", "Tags", "Strategy_Tags", "Underlying_Symbol",
    "Strike_Price", "Expiry_Date", "Days_To_Expiry", "Implied_Volatility", "Entry_Date",
    "Sector", "Industry",
]

EXTRA_COLUMNS = [
    "Position_ID", "Portfolio", "Report_Date", "Data_Source", "Multiplier", "Price_Source",
    "Exposure_USD", "Notional_USD", "Weight_Of_Gross", "Underlying_Price",
    "Position_Delta_Shares", "Position_Gamma", "Theta_USD_Per_Day", "Vega_USD_Per_Vol_Point",
    "Rho_USD_Per_Rate_Point", "Vol_Source",
    *(f"Beta_{f.replace(' ', '_')}" for f in FACTOR_ORDER if f != "Rate"),
    "IR_Beta_Per_PP", "Factor_Quality", "Flags",
    # SPEC §8: the quantity held on the report date after splits (Quantity is as entered)
    "Effective_Quantity",
]

COLUMNS = [*ORIGINAL_COLUMNS, *EXTRA_COLUMNS]
COLUMNS += RISK_CSV_COLUMNS  # Component_Vol (US$), Pct_Of_Risk (decimal), Component_ES_Hist

#: columns holding free text (names, tags, symbols, labels): neutralized by :func:`safe_text`
TEXT_COLUMNS = frozenset({
    "Symbol", "Position_Type", "Tags", "Strategy_Tags", "Underlying_Symbol", "Expiry_Date",
    "Entry_Date", "Sector", "Industry", "Position_ID", "Portfolio", "Report_Date",
    "Data_Source", "Price_Source", "Vol_Source", "Factor_Quality", "Flags",
})
_TEXT_INDEXES = tuple(i for i, c in enumerate(COLUMNS) if c in TEXT_COLUMNS)

#: first characters a spreadsheet treats as the start of a formula (OWASP CSV injection)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: str) -> str:
    """``value`` with a leading ``'`` when a spreadsheet would read it as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _f(x: Any, dp: int) -> str:
    return "" if x is None else f"{x:.{dp}f}"


def _qty(x: Any) -> str:
    if x is None:
        return ""
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.6f}"


def _row(doc: dict, p: dict) -> list[str]:
    betas = p["factor_betas"]
    return [
        p["symbol"], p["position_type"], _qty(p["quantity"]), _f(p["entry_price"], 6),
        _f(p["price"], 6), _f(p["market_value"], 2), _f(p["cost_basis"], 2),
        _f(p["unrealized_pnl"], 2), _f(p["realized_pnl"], 2), _f(p["delta"], 6),
        _f(p["gamma"], 6), _f(p["theta"], 6), _f(p["vega"], 6), _f(p["rho"], 6),
        _f(p["dollar_delta"], 2), _f(p["dollar_gamma_1pct"], 2), ";".join(p["tags"]),
        ";".join(p["strategy_tags"]), p["underlying_symbol"] or "", _f(p["strike"], 2),
        p["expiration"] or "", "" if p["days_to_expiry"] is None else str(p["days_to_expiry"]),
        _f(p["implied_vol"], 6), p["entry_date"] or "", p["sector"] or "", p["industry"] or "",
        # extras
        p["position_id"], doc["portfolio"]["name"], doc["date"], doc["data_source"]["code"],
        "" if p["multiplier"] is None else str(p["multiplier"]), p["price_source"] or "",
        _f(p["exposure"], 2), _f(p["notional"], 2), _f(p["weight_of_gross"], 6),
        _f(p["underlying_price"], 6), _f(p["position_delta"], 6), _f(p["position_gamma"], 6),
        _f(p["position_theta"], 2), _f(p["position_vega"], 2), _f(p["position_rho"], 2),
        p["vol_source"] or "",
        *(_f(betas.get(f), 6) for f in FACTOR_ORDER if f != "Rate"),
        _f(p["ir_beta"], 6), p["factor_quality"] or "", ";".join(p["flags"]),
        _qty(p.get("effective_quantity")),
        *risk_csv_values(p),
    ]


def render_csv(doc: dict) -> str:
    """Positions sorted by symbol, then position id (stable)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    rows = []
    for p in sorted(doc["positions"], key=lambda p: (p["symbol"], p["position_id"])):
        row = _row(doc, p)
        for i in _TEXT_INDEXES:  # the numeric cells are formatted here: never a formula
            row[i] = safe_text(row[i])
        rows.append(row)
    writer.writerows(rows)
    return buf.getvalue()
