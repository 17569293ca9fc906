"""CSV (formula) injection: hostile names and tags reach the CSV report as inert text."""

from __future__ import annotations

import csv
import io

from sigmasight_pipeline.reports.csv_report import COLUMNS, TEXT_COLUMNS, render_csv, safe_text
from sigmasight_pipeline_tests.reliability.test_sql_roundtrip import NAMES, TAGS

FORMULAS = ['=HYPERLINK("http://x")', "=cmd|' /C calc'!A0", "+1+2", "-2+3", "@SUM(A1:A2)",
            "\tTAB"]


def _position(i: int, name_tag: str) -> dict:
    number_keys = ["entry_price", "price", "market_value", "cost_basis", "unrealized_pnl",
                   "realized_pnl", "delta", "gamma", "theta", "vega", "rho", "dollar_delta",
                   "dollar_gamma_1pct", "strike", "implied_vol", "exposure", "notional",
                   "weight_of_gross", "underlying_price", "position_delta", "position_gamma",
                   "position_theta", "position_vega", "position_rho", "ir_beta"]
    p = {k: -1234.5 for k in number_keys}  # negative numbers: they start with "-"
    p |= {"symbol": f"=SYM{i}", "position_type": "LONG", "quantity": -10.0, "tags": [name_tag],
          "strategy_tags": ["@strategy"], "underlying_symbol": None, "expiration": None,
          "days_to_expiry": -3, "entry_date": "2024-01-02", "sector": "+Tech",
          "industry": "-Semis", "position_id": f"id-{i:02d}", "multiplier": 1,
          "price_source": "close", "vol_source": None, "factor_betas": {},
          "factor_quality": "ok", "flags": ["=flag"]}
    return p


def test_text_cells_starting_a_formula_get_a_quote_and_numbers_stay_numbers():
    hostile = NAMES + TAGS + FORMULAS
    rows = []
    for i, name in enumerate(hostile):
        doc = {"portfolio": {"name": name}, "date": "2025-06-30",
               "data_source": {"code": "simulated"}, "positions": [_position(i, name)]}
        rows += list(csv.DictReader(io.StringIO(render_csv(doc), newline="")))
    assert len(rows) == len(hostile)
    for name, row in zip(hostile, rows, strict=True):
        expected = "'" + name if name[0] in "=+-@\t\r" else name
        assert row["Portfolio"] == expected and row["Tags"] == expected, name
        assert row["Symbol"].startswith("'=SYM") and row["Strategy_Tags"] == "'@strategy"
        assert row["Sector"] == "'+Tech" and row["Industry"] == "'-Semis"
        assert row["Flags"] == "'=flag"
        # numbers are untouched, negative ones included
        assert row["Market_Value"] == "-1234.50" and row["Quantity"] == "-10"
        assert row["Delta"] == "-1234.500000" and row["Days_To_Expiry"] == "-3"
        for column, value in row.items():
            if column in TEXT_COLUMNS:
                assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), (column, value)
    assert TEXT_COLUMNS <= set(COLUMNS)
    assert safe_text("=1") == "'=1" and safe_text("a=1") == "a=1" and safe_text("") == ""
    # (a carriage return is neutralized too; the csv module leaves a field holding one
    # unquoted with "\n" line ends, so it is checked on the cell, not through a reader)
    assert safe_text("\rCR") == "'\rCR"
