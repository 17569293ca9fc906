"""Report sections "Sectors and concentration" and "Limits" (SPEC §6 second release, §7.9).

Built from the day's ``sector_exposures``, ``portfolio_concentration`` and ``limit_checks``
rows into JSON-ready dicts (the JSON report carries them as they are; Markdown renders
them). Percent fields (``*_pct``, ``pct_of_gross``, a percentage limit's value and
threshold) are in percent as in the warehouse (25 = 25 %), stated in each section's
``units``; money in US$.
"""

from __future__ import annotations

from typing import Any

from ..engines.limits import LIMIT_KEYS, STATUS_BREACH, STATUS_NOT_AVAILABLE, STATUS_OK
from ..engines.sectors import UNCLASSIFIED
from .inputs import ReportInputs

SECTORS_METHOD = (
    "Each position counts under the GICS sector of its underlying (an option under its "
    "underlying's; a stock, ETF or fund under its own) from the securities reference data; "
    "ETFs and mutual funds without a sector under 'ETF' / 'Mutual fund'; anything else "
    "without one under '(unclassified)', never dropped: the sectors sum to the portfolio's "
    "gross exposure. Exposure is delta-adjusted (US$)."
)
CONCENTRATION_METHOD = (
    "Positions netted per underlying (options under their underlying): E_u = sum of the "
    "exposures; weights w_u = |E_u| / sum |E_v|. HHI = 10,000 × sum w_u² (10,000 = one "
    "name); effective N = 10,000 / HHI; top-k = 100 × the k largest weights (%). "
    "Beta-adjusted net exposure = sum of exposure × the underlying's Market beta (1 when it "
    "has none), US$."
)
LIMITS_METHOD = (
    "Limits from the limits file (SIGMASIGHT_LIMITS, defaults and per-portfolio overrides). "
    "A max_ limit breaches when value > threshold, a min_ limit when value < threshold. "
    "not_available: the value could not be computed that day (parametric VaR not yet in "
    "sigmasight.portfolio_var, or no gross exposure for a percentage); it is never ok."
)
_STATUS_ORDER = {STATUS_BREACH: 0, STATUS_NOT_AVAILABLE: 1, STATUS_OK: 2}


def _num(value: Any, dp: int) -> float | None:
    from .document import num  # the document's one rounding rule

    return num(value, dp)


def _unavailable(table: str, inputs: ReportInputs) -> str:
    from .document import unavailable

    return unavailable(table, inputs.day, "asset not materialized")


def sectors_concentration_section(inputs: ReportInputs, pid: str) -> dict:
    """The sector table (largest gross first), the unclassified count and concentration."""
    rows = sorted(({"sector": r["sector"],
                    "gross_exposure": _num(r["gross_exposure"], 2),
                    "net_exposure": _num(r["net_exposure"], 2),
                    "long_exposure": _num(r["long_exposure"], 2),
                    "short_exposure": _num(r["short_exposure"], 2),
                    "pct_of_gross": _num(r["pct_of_gross"], 6),
                    "position_count": int(r["position_count"])}
                   for r in inputs.rows("sector_exposures", pid)),
                  key=lambda r: (-(r["gross_exposure"] or 0.0), r["sector"]))
    unclassified = sum(r["position_count"] for r in rows if r["sector"] == UNCLASSIFIED)
    conc_rows = inputs.rows("portfolio_concentration", pid)
    concentration = None
    if conc_rows:
        c = conc_rows[0]
        concentration = {
            "n_underlyings": int(c["n_underlyings"]),
            "hhi": _num(c["hhi"], 6), "effective_n": _num(c["effective_n"], 6),
            "top1_pct": _num(c["top1_pct"], 6), "top5_pct": _num(c["top5_pct"], 6),
            "top10_pct": _num(c["top10_pct"], 6),
            "largest_underlying": c["largest_underlying"] if isinstance(
                c["largest_underlying"], str) else None,
            "beta_adjusted_net_exposure": _num(c["beta_adjusted_net_exposure"], 2),
        }
    reasons = [_unavailable(t, inputs) for t, ok in (("sector_exposures", rows),
                                                     ("portfolio_concentration", conc_rows))
               if not ok]
    return {
        "available": bool(rows) or concentration is not None,
        "reason": "; ".join(reasons) or None,
        "method": f"{SECTORS_METHOD} {CONCENTRATION_METHOD}",
        "units": "money in US$; pct_of_gross, top*_pct in percent (25 = 25 %); hhi on "
                 "0-10,000",
        "sectors": rows,
        "unclassified_positions": unclassified,
        "concentration": concentration,
    }


def limits_section(inputs: ReportInputs, pid: str) -> dict:
    """Every applicable limit: breaches first, then not_available, then ok (key order)."""
    key_order = {k: i for i, k in enumerate(LIMIT_KEYS)}
    rows = sorted(({"limit_name": r["limit_name"],
                    "comparison": LIMIT_KEYS.get(r["limit_name"], ("max", ""))[0],
                    "compares": LIMIT_KEYS.get(r["limit_name"], ("", r["limit_name"]))[1],
                    "value": _num(r["value"], 6), "threshold": _num(r["threshold"], 6),
                    "status": r["status"]} for r in inputs.rows("limit_checks", pid)),
                  key=lambda r: (_STATUS_ORDER.get(r["status"], 3),
                                 key_order.get(r["limit_name"], len(key_order)),
                                 r["limit_name"]))
    return {
        "available": bool(rows),
        "reason": None if rows else _unavailable("limit_checks", inputs),
        "method": LIMITS_METHOD,
        "breach_count": sum(r["status"] == STATUS_BREACH for r in rows),
        "not_available_count": sum(r["status"] == STATUS_NOT_AVAILABLE for r in rows),
        "checks": rows,
    }
