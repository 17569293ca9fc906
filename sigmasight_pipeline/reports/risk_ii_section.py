"""Report sections of Portfolio risk II (SPEC §6 second release, §7.6-7.8): Backtest,
P&L attribution, Performance and volatility — the JSON blocks and their Markdown.

Plain data in, plain data out: :func:`risk_ii_blocks` turns the day's rows (read by
``warehouse/report_store.py`` into ``ReportInputs.risk_ii``) into three JSON-ready blocks;
:func:`risk_ii_markdown` renders them. A block whose table has no rows for the portfolio
says so (``available`` false, ``reason`` naming the table), as the other sections do.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..engines.attribution import COMPONENTS
from ..engines.performance import PERIODS

#: tables read for these sections: the day's rows (one query each, all portfolios)
DAY_TABLES = ("var_backtests", "pnl_attribution", "portfolio_performance",
              "portfolio_volatility")
#: trading days of attribution totals shown (SPEC §6: the last 30 days' totals)
ATTRIBUTION_DAYS = 30
BACKTEST_CONFIDENCE = 0.99


def _num(value: Any, dp: int = 6) -> float | None:
    if value is None or (isinstance(value, float) and value != value) or pd.isna(value):
        return None
    return round(float(value), dp)


def _money(value: Any) -> float | None:
    return _num(value, 2)


def _int(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _iso(value: Any) -> str | None:
    if value is None or pd.isna(value):
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _flags(value: Any) -> list[str]:
    return [] if value is None or isinstance(value, float) else sorted(str(f) for f in value)


def _text(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


def _frame_rows(frame: pd.DataFrame | None, column: str, keys, with_null: bool = False
                ) -> list[dict]:
    """The default ``select`` of :func:`risk_ii_blocks`: rows whose ``column`` (as text) is
    one of ``keys``, as row dicts in the frame's order."""
    if frame is None or column not in frame.columns:
        return []
    keys = list(keys)
    return frame[frame[column].astype(str).isin(keys)].to_dict("records")


def _missing(table: str, day) -> str:
    return (f"no {table} rows for this portfolio on {day}: materialize the {table} asset "
            "for this day")


def backtest_block(frames: dict, pid: str, day, select=_frame_rows) -> dict:
    rows = select(frames.get("var_backtests"), "portfolio_id", (pid,))
    chart = chart_series(frames, pid, select)
    if not rows:
        return {"available": False, "reason": _missing("var_backtests", day),
                "confidence": BACKTEST_CONFIDENCE, "rows": [], "chart": chart}
    order = {"parametric": 0, "historical": 1, "actual": 0, "hypothetical": 1}
    last = len(order)  # a value not in the order sorts last
    rows = sorted((r for r in rows if abs(r["confidence"] - BACKTEST_CONFIDENCE) < 1e-9),
                  key=lambda r: (order.get(r["method"], last), order.get(r["pnl_type"], last)))
    return {
        "available": True, "reason": None, "confidence": BACKTEST_CONFIDENCE,
        "method": "exception when −P&L of day s > the 1-day VaR computed on the session "
                  "before s; last 250 observations; Kupiec POF and Christoffersen "
                  "independence / conditional coverage p-values from χ²; Basel traffic light "
                  "(green < 95 %, yellow < 99.99 % of BinomCDF(x; n, 0.01))",
        "rows": [{"method": r["method"], "pnl_type": r["pnl_type"],
                  "observations": _int(r["observations"]), "exceptions": _int(r["exceptions"]),
                  "expected_exceptions": _num(r["expected_exceptions"]),
                  "kupiec_p": _num(r["kupiec_p"]), "christoffersen_p":
                  _num(r["christoffersen_p"]), "cc_p": _num(r["cc_p"]),
                  "zone": _text(r["zone"]), "skipped": _int(r["skipped"]),
                  "note": _text(r["note"]), "flags": _flags(r["flags"])}
                 for r in rows],
        "chart": chart,
    }


def chart_series(frames: dict, pid: str, select=_frame_rows) -> list[dict]:
    """Daily P&L against the previous session's 1-day VaR 99 % of both methods, over the
    report's history window: the picture of the backtest (exception = −P&L > VaR)."""
    snaps = select(frames.get("history"), "portfolio_id", (pid,))
    if not snaps:
        return []
    snaps.sort(key=lambda r: r["date"])
    by_method: dict[str, dict] = {}
    for r in select(frames.get("var_history"), "portfolio_id", (pid,)):
        by_method.setdefault(r["method"], {})[r["date"]] = r["var"]
    first = snaps[0]["date"]
    out = []
    for i, r in enumerate(snaps):
        if r["date"] == first and pd.isna(r.get("daily_return")):
            continue  # a first snapshot books no P&L
        prev = snaps[i - 1]["date"] if i else None
        pv = {m: _money(by_method.get(m, {}).get(prev)) for m in ("parametric", "historical")}
        pnl = _money(r["daily_pnl"])
        out.append({"date": _iso(r["date"]), "daily_pnl": pnl,
                    "var_99_parametric": pv["parametric"], "var_99_historical": pv["historical"],
                    "exception_parametric": None if pv["parametric"] is None or pnl is None
                    else -pnl > pv["parametric"],
                    "exception_historical": None if pv["historical"] is None or pnl is None
                    else -pnl > pv["historical"]})
    return out


def _totals(frame: pd.DataFrame) -> tuple[dict, dict]:
    """(portfolio id, component) → P&L summed over the frame's days, and portfolio id →
    days: one groupby of the whole frame (pandas' compensated group sums, the same numbers
    as a groupby of each portfolio's rows)."""
    pids = frame["portfolio_id"].astype(str)
    totals = frame.groupby([pids, frame["component"]])["pnl"].sum()
    days = frame.groupby(pids)["date"].nunique()
    return dict(zip(totals.index.tolist(), totals.tolist(), strict=True)), days.to_dict()


def attribution_block(frames: dict, pid: str, day, select=_frame_rows) -> dict:
    frame = frames.get("pnl_attribution")
    rows = select(frame, "portfolio_id", (pid,))
    today = [r for r in rows if r["date"] == day]
    if not today:
        return {"available": False, "reason": _missing("pnl_attribution", day),
                "components": [], "total": None, "days": 0}
    from .document import _once_per_frame

    totals, days = _once_per_frame(frame, _totals)
    current = {r["component"]: r["pnl"] for r in today}
    # Series.sum of the day's P&L: NaN as 0, numpy's (pairwise) sum
    pnl = np.array([r["pnl"] for r in today], dtype=float)
    return {
        "available": True, "reason": None,
        "method": "yesterday's exposures, betas and Greeks times today's factor returns, DGS10 "
                  "change and underlying moves; Specific = the rest of e·m; option Gamma "
                  "½ΓΔS², Theta Θ·calendar days, Vega ν·Δσ (vol points), residual; Trading = "
                  "entry- and exit-day P&L",
        "days": int(days[pid]),
        "components": [{"component": c, "pnl": _money(current.get(c)),
                        "total_last_days": _money(totals.get((pid, c)))} for c in COMPONENTS],
        "total": _money(np.where(np.isnan(pnl), 0.0, pnl).sum()),
    }


def performance_block(frames: dict, pid: str, day, select=_frame_rows) -> dict:
    perf = select(frames.get("portfolio_performance"), "portfolio_id", (pid,))
    vol = select(frames.get("portfolio_volatility"), "portfolio_id", (pid,))
    if not perf and not vol:
        return {"available": False, "reason": _missing("portfolio_performance", day),
                "periods": [], "volatility": None}
    order = {p: i for i, p in enumerate(PERIODS)}
    perf.sort(key=lambda r: order.get(r["period"], len(order)))
    periods = [{
        "period": r["period"], "n_obs": _int(r["n_obs"]),
        **{k: _num(r[k]) for k in ("annualized_return", "annualized_vol", "sharpe", "sortino",
                                   "max_drawdown", "calmar", "best_day", "worst_day",
                                   "hit_ratio", "beta_spy", "correlation_spy",
                                   "tracking_error", "information_ratio")},
        "drawdown_peak_date": _iso(r["drawdown_peak_date"]),
        "drawdown_trough_date": _iso(r["drawdown_trough_date"]),
        "flags": _flags(r["flags"]),
    } for r in perf]
    v = vol[0] if vol else None
    volatility = None if v is None else {
        **{k: _num(v[k]) for k in ("realized_21d", "realized_63d", "ewma_vol", "har_forecast",
                                   "realized_21d_percentile")},
        "n_obs": _int(v["n_obs"]), "flags": _flags(v["flags"])}
    return {"available": True, "reason": None, "periods": periods, "volatility": volatility}


def risk_ii_blocks(frames: dict, pid: str, day, select=_frame_rows) -> dict:
    """The three JSON blocks of ``pid`` on ``day`` (keys backtest, pnl_attribution,
    performance). ``select(frame, column, keys)`` gives a frame's rows whose ``column`` is
    one of ``keys`` as row dicts, in frame order (:meth:`ReportInputs.select` answers from
    its row index)."""
    return {"backtest": backtest_block(frames, pid, day, select),
            "pnl_attribution": attribution_block(frames, pid, day, select),
            "performance": performance_block(frames, pid, day, select)}


# --- Markdown ---------------------------------------------------------------------------------

def risk_ii_markdown(doc: dict) -> list[list[str]]:
    """The Backtest, P&L attribution and Performance and volatility sections (line lists)."""
    from .markdown import fmt_money, fmt_num, fmt_pct, table

    sections = []
    bt = doc.get("backtest")
    if bt is not None:
        out = ["## VaR backtest (1-day VaR at 99 %)", ""]
        if not bt["available"]:
            out.append(f"VaR backtest: not available — {bt['reason']}.")
        else:
            out += [f"Method: {bt['method']}.", ""]
            out.append(table(
                ["VaR method", "P&L", "Observations", "Exceptions", "Expected", "Kupiec p",
                 "Christoffersen p", "Cond. coverage p", "Zone", "Note"],
                [(r["method"], r["pnl_type"], r["observations"], r["exceptions"],
                  fmt_num(r["expected_exceptions"], 2), fmt_num(r["kupiec_p"]),
                  fmt_num(r["christoffersen_p"]), fmt_num(r["cc_p"]),
                  r["zone"] or ("n/a (" + ", ".join(r["flags"]) + ")" if r["flags"] else "n/a"),
                  r["note"] or "") for r in bt["rows"]],
                [False, False, True, True, True, True, True, True, False, False]))
        sections.append(out)
    pa = doc.get("pnl_attribution")
    if pa is not None:
        out = ["## P&L attribution", ""]
        if not pa["available"]:
            out.append(f"P&L attribution: not available — {pa['reason']}.")
        else:
            out += [f"Method: {pa['method']}.", ""]
            out.append(table(["Component", "Today (US$)",
                              f"Last {pa['days']} trading days (US$)"],
                             [(c["component"], fmt_money(c["pnl"]),
                               fmt_money(c["total_last_days"])) for c in pa["components"]]
                             + [("Total (= daily P&L)", fmt_money(pa["total"]), "")],
                             [False, True, True]))
        sections.append(out)
    pf = doc.get("performance")
    if pf is not None:
        out = ["## Performance and volatility", ""]
        if not pf["available"]:
            out.append(f"Performance: not available — {pf['reason']}.")
        else:
            out += ["Annualized with 252 trading days; returns and volatilities in %; Sharpe "
                    "and Sortino on excess returns over DGS3MO; beta, correlation, tracking "
                    "error and information ratio against SPY. n/a = fewer observations than "
                    "the period (insufficient_history).", ""]
            out.append(table(
                ["Period", "Obs", "Return (%)", "Volatility (%)", "Sharpe", "Sortino",
                 "Max drawdown (%)", "Peak", "Trough", "Calmar", "Best day (%)",
                 "Worst day (%)", "Hit ratio (%)", "Beta SPY", "Corr SPY",
                 "Tracking error (%)", "Info ratio"],
                [(p["period"], p["n_obs"], fmt_pct(p["annualized_return"]),
                  fmt_pct(p["annualized_vol"]), fmt_num(p["sharpe"], 2),
                  fmt_num(p["sortino"], 2), fmt_pct(p["max_drawdown"]),
                  p["drawdown_peak_date"] or "n/a", p["drawdown_trough_date"] or "n/a",
                  fmt_num(p["calmar"], 2), fmt_pct(p["best_day"]), fmt_pct(p["worst_day"]),
                  fmt_pct(p["hit_ratio"]), fmt_num(p["beta_spy"], 2),
                  fmt_num(p["correlation_spy"], 2), fmt_pct(p["tracking_error"]),
                  fmt_num(p["information_ratio"], 2)) for p in pf["periods"]],
                [False, True, *[True] * 5, False, False, *[True] * 8]))
            v = pf["volatility"]
            if v is not None:
                out += ["", table(["Volatility (annualized)", "Value"], [
                    ("Realized, 21 days (%)", fmt_pct(v["realized_21d"])),
                    ("Realized, 63 days (%)", fmt_pct(v["realized_63d"])),
                    ("EWMA λ 0.94 (%)", fmt_pct(v["ewma_vol"])),
                    ("HAR forecast, next day (%)", fmt_pct(v["har_forecast"])),
                    ("21-day realized, 1-year percentile (%)",
                     fmt_pct(v["realized_21d_percentile"])),
                    ("Returns used", v["n_obs"]),
                    ("Flags", ", ".join(v["flags"]) or "none"),
                ], [False, True])]
        sections.append(out)
    return sections
