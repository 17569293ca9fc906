"""One plain report document per (portfolio, day), built from :class:`ReportInputs`.

The document is a JSON-ready dict (the JSON report *is* this dict; Markdown and CSV render
from it), so the three formats cannot disagree. Sections whose warehouse table has no rows
for the portfolio and day carry ``available: false`` and a ``reason`` naming the table.

Numbers are rounded once, here: money (US$) to 2 decimals, everything else (prices per
share, Greeks per share, betas, decimals such as returns, shocks and volatilities) to 6.
Lists are sorted on explicit keys, so the same inputs give the same document.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd

from ..engines.sectors import sector_of_symbols
from .exposure_views import limits_section, sectors_concentration_section
from .files import portfolio_slug
from .inputs import ReportInputs
from .risk_ii_section import risk_ii_blocks

SCHEMA_VERSION = "1.2.0"  # 1.1: Risk; 1.2: Backtest, P&L attribution, Performance, Sectors, Limits
REPORT_TYPE = "sigmasight.portfolio_report"
MONEY_DP = 2
OTHER_DP = 6
#: Markdown history table length (the chart and the JSON carry the whole window)
HISTORY_TABLE_DAYS = 30

FACTOR_ORDER = ("Market", "Value", "Size", "Momentum", "Quality", "Low Volatility", "Rate")
#: the original system's strategy tags (notes §5); every other tag is a regular tag
STRATEGY_TAGS = frozenset({"Long Momentum", "Short Value Traps", "Options Overlay"})
OPTION_TYPES = frozenset({"LC", "LP", "SC", "SP"})
#: strongest correlation pairs listed (of ``pair_count``)
TOP_PAIRS = 10
#: pairs within this of the TOP_PAIRS-th strongest |correlation| are read (the ranking is of
#: values rounded to OTHER_DP decimals: 2 × 5e-7, plus float slack)
PAIR_TIE_MARGIN = 1.5e-6

GREEKS_MODEL = (
    "Black-Scholes-Merton on the underlying's close, European exercise, no dividends "
    "(q = 0); rate = DGS3MO as a continuous rate; time = calendar days to expiry / 365; "
    "volatility: quote IV, else implied from the mid, else 30-day historical. Per-share "
    "Greeks follow mibian: delta per $1, gamma per $1, theta in $ per calendar day, vega in "
    "$ per volatility point (0.01), rho in $ per rate point (0.01); position Greeks are per "
    "share × signed quantity × multiplier."
)
MARKET_RISK_METHOD = (
    "Each scenario moves one factor: Market (total market return) or the 10-year yield "
    "(DGS10, a decimal change: 0.0025 = +25 bp). Every position's underlying moves by its "
    "factor betas (Market beta 1 when a position has none, flag beta_defaulted). Stocks, ETFs "
    "and funds: P&L = exposure × move. Options: full Black-Scholes revaluation at the shocked "
    "underlying price with unchanged volatility, rate and time to expiry. Rate moves add "
    "exposure × IR beta × change in percentage points. No dividends, no intercept (alpha); "
    "losses are not capped. P&L in US$; % = P&L / gross exposure."
)
STRESS_METHOD = (
    "Scenario library shocks on the model's own factors (Market = total market return, "
    "styles = long-short spread returns, Rate = decimal yield change). Direct P&L revalues "
    "with the named shocks alone; correlated P&L first moves each unnamed equity factor by "
    "its conditional expectation given the named ones under the EWMA factor covariance "
    "(λ = 0.94); Rate is not propagated. Options are fully revalued (Black-Scholes, no "
    "dividends); factor impacts are a linear attribution. The historical scenarios are "
    "approximate peak-to-trough factor moves, not replays of those periods. P&L in US$; "
    "% = P&L / gross exposure."
)
CORRELATION_METHOD = (
    "Positions aggregated per underlying (options under their underlying); underlyings with "
    "|exposure| ≥ $10,000 and ≥ 1 % of gross; Pearson correlation of daily log returns over "
    "the last 90 trading days (pairs with ≥ 20 common days). Clusters: connected groups with "
    "|ρ| ≥ 0.7. Effective bets: between 1 (one bet) and the number of underlyings."
)

_SIMULATED_STATEMENT = (
    "OFFLINE SIMULATED market data (the seeded multi-factor `simulated` provider): NOT real "
    "prices; numbers illustrate the method only"
)

_MONEY = {
    "market_value", "exposure", "notional", "cost_basis", "unrealized_pnl", "realized_pnl",
    "dollar_delta", "dollar_gamma_1pct", "position_theta", "position_vega", "position_rho",
    "total_value", "long_value", "short_value", "gross_exposure", "net_exposure", "daily_pnl",
    "cumulative_pnl", "long_exposure", "short_exposure", "long_market_value",
    "short_market_value", "net_market_value", "dollar_theta", "dollar_vega", "dollar_rho",
    "dollar_exposure", "pnl", "option_pnl", "direct_pnl", "correlated_pnl",
}


# --- scalar helpers ----------------------------------------------------------------------

def _missing(value: Any) -> bool:
    t = type(value)
    if t is float:  # the common cases first: pd.isna costs ~1 µs a call
        return value != value
    if t is str or t is int:
        return False
    if value is None or value is pd.NaT:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def num(value: Any, dp: int = OTHER_DP) -> float | None:
    """A float rounded to ``dp`` decimals (None for missing; never -0.0)."""
    if type(value) is float:  # most values: x - x is 0.0 unless x is NaN or infinite
        return round(value, dp) + 0.0 if value - value == 0.0 else None
    if _missing(value):
        return None
    x = float(value)
    if math.isinf(x):
        return None
    return round(x, dp) + 0.0


def money(value: Any) -> float | None:
    return num(value, MONEY_DP)


def _field(name: str, value: Any) -> float | None:
    return money(value) if name in _MONEY else num(value)


def _int(value: Any) -> int | None:
    return None if _missing(value) else int(value)


def _str(value: Any) -> str | None:
    return None if _missing(value) else str(value)


def _iso(value: Any) -> str | None:
    if _missing(value):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.date()
    if isinstance(value, dt.datetime):
        value = value.date()
    return value.isoformat()


def _flags(value: Any) -> list[str]:
    if value is None or (not isinstance(value, (list, tuple)) and _missing(value)):
        return []
    return sorted(str(v) for v in value)


def _factor_key(name: str) -> tuple[int, str]:
    return (FACTOR_ORDER.index(name) if name in FACTOR_ORDER else len(FACTOR_ORDER), name)


def _records(frame: pd.DataFrame) -> list[dict]:
    return frame.to_dict("records")


def _by_key(frame: pd.DataFrame, key: str) -> dict[Any, dict]:
    """Row dicts (without ``key``) by ``key``: what ``set_index(key).loc[k].to_dict()``
    gives, built once (a ``.loc`` per position was a third of a report's build time)."""
    return {r.pop(key): r for r in _records(frame)}


#: id(frame) → (the frame, what was derived from it), per deriving function: the securities
#: frame is shared by every portfolio of a day, so what is derived from it is computed once
#: per day, not per portfolio (the frame is kept so a reused id is never mistaken for it)
_PER_FRAME: dict[tuple[str, int], tuple[pd.DataFrame, Any]] = {}
_PER_FRAME_MAX = 16


def _once_per_frame(frame: pd.DataFrame, derive):
    """``derive(frame)``, computed once per frame object (results are shared: read only)."""
    key = (derive.__name__, id(frame))
    hit = _PER_FRAME.get(key)
    if hit is not None and hit[0] is frame:
        return hit[1]
    value = derive(frame)
    if len(_PER_FRAME) >= _PER_FRAME_MAX:
        _PER_FRAME.clear()
    _PER_FRAME[key] = (frame, value)
    return value


def _sector_bucket_map(securities: pd.DataFrame) -> dict:
    symbols = pd.Series(securities["symbol"].drop_duplicates().to_numpy(object))
    return dict(zip(symbols, sector_of_symbols(symbols, securities), strict=True))


def _sector_buckets(securities: pd.DataFrame) -> dict:
    """Symbol → the bucket :func:`sector_of_symbols` gives it, for every symbol of
    ``securities`` (a symbol not there is ``UNCLASSIFIED``, as sector_of_symbols says)."""
    return _once_per_frame(securities, _sector_bucket_map)


def _security_rows(securities: pd.DataFrame) -> dict[Any, dict]:
    return _by_key(securities, "symbol")


def _securities_by_symbol(securities: pd.DataFrame) -> dict[Any, dict]:
    """``_by_key(securities, "symbol")`` once per securities frame (read only): a portfolio
    looks up only its held symbols, which a per-portfolio ``isin`` over the ~10,000
    securities used to select first."""
    return _once_per_frame(securities, _security_rows)


def unavailable(table: str, day: dt.date, why: str) -> str:
    return f"no rows in sigmasight.{table} for {day.isoformat()} ({why})"


# --- sections ----------------------------------------------------------------------------

def data_source_of(snapshot: dict | None) -> dict:
    code = snapshot.get("data_source") if snapshot else None
    if not code:
        return {"code": "unknown", "simulated": False,
                "statement": "unknown: no portfolio_snapshots row for this portfolio and day"}
    simulated = "simulated" in str(code).split("+")
    statement = (f"{code}: {_SIMULATED_STATEMENT}" if simulated else
                 f"{code}: market data from the `{code}` provider")
    return {"code": str(code), "simulated": simulated, "statement": statement}


def _summary(snapshot: dict | None, exposure: dict | None, day: dt.date) -> dict:
    out: dict[str, Any] = {"available": snapshot is not None, "reason": None}
    if snapshot is None:
        out["reason"] = unavailable("portfolio_snapshots", day, "asset not materialized")
    snap = snapshot or {}
    expo = exposure or {}
    for name in ("total_value", "long_value", "short_value", "daily_pnl", "daily_return",
                 "cumulative_pnl", "gross_exposure", "net_exposure"):
        out[name] = _field(name, snap.get(name))
    for name in ("long_exposure", "short_exposure", "long_market_value", "short_market_value",
                 "net_market_value"):
        out[name] = _field(name, expo.get(name))
    out["position_count"] = _int(snap.get("position_count"))
    for name in ("long_count", "short_count", "option_count"):
        out[name] = _int(expo.get(name))
    out["flags"] = _flags(snap.get("flags"))
    return out


#: the columns of each security table a position row reads (SPEC §7.1 views)
BETA_COLUMNS = {"security_factor_exposures": ("factor", "beta", "quality"),
                "security_rate_betas": ("ir_beta",)}


def _cells_by_symbol(table: str):
    """A function of a security table's frame: symbol → the :data:`BETA_COLUMNS` values
    of its rows (as ``to_dict("records")`` holds them), in the frame's order."""
    columns = BETA_COLUMNS[table]

    def derive(frame: pd.DataFrame) -> dict[Any, list[tuple]]:
        from .inputs import column_values

        out: dict[Any, list[tuple]] = {}
        cells = zip(*(column_values(frame[c]) for c in columns), strict=True)
        for symbol, row in zip(column_values(frame["symbol"]), cells, strict=True):
            out.setdefault(symbol, []).append(row)
        return out

    derive.__name__ = f"cells_by_symbol_{table}"
    return derive


_CELLS_BY_SYMBOL = {table: _cells_by_symbol(table) for table in BETA_COLUMNS}


def _beta_rows(inputs: ReportInputs, table: str, symbol_of: dict[str, str]) -> list[tuple]:
    """The rows of the per-position view of ``table`` (SPEC §7.1:
    position_factor_exposures / position_interest_rate_betas) for the positions of
    ``symbol_of`` (position id → beta symbol: an option's underlying, a stock its own
    symbol), the portfolio's positions valued on the day, as ``(position_id, *columns)``
    tuples (:data:`BETA_COLUMNS`): each position gets its beta symbol's rows, in the view's
    order (position, then the security table's order). Joined from the ~7,000 security
    rows of the day (grouped by symbol once per frame) rather than read as the view's
    600,000 rows."""
    frame = inputs.tables.get(table)
    if frame is None or "symbol" not in frame.columns:
        return []
    by_symbol = _once_per_frame(frame, _CELLS_BY_SYMBOL[table])
    return [(pos_id, *cells) for pos_id in sorted(symbol_of)
            for cells in by_symbol.get(symbol_of[pos_id], ())]


def _positions(inputs: ReportInputs, pid: str, gross: float | None
               ) -> tuple[list[dict], list[dict]]:
    """The document's position rows, and the position_factor_exposures rows (SPEC §7.1) of
    the valued ones (reports/position_rows.py: built a column at a time)."""
    from .position_rows import portfolio_positions

    return portfolio_positions(inputs, pid, gross)


def _tag_exposures(inputs: ReportInputs, pid: str, gross: float | None) -> list[dict]:
    rows = [{"tag": r["tag"], "gross_exposure": money(r["gross_exposure"]),
             "net_exposure": money(r["net_exposure"]),
             "position_count": _int(r["position_count"]),
             "share_of_gross": num(r["gross_exposure"] / gross) if gross else None}
            for r in inputs.rows("tag_exposures", pid)]
    return sorted(rows, key=lambda r: (-(r["gross_exposure"] or 0.0), r["tag"]))


def _greeks(positions: list[dict], summary_snapshot: dict | None, day: dt.date) -> dict:
    options = [p for p in positions if p["position_type"] in OPTION_TYPES]
    with_greeks = [p for p in options if p["delta"] is not None]
    keys = ("position_id", "symbol", "position_type", "quantity", "underlying_symbol",
            "underlying_price", "strike", "expiration", "days_to_expiry", "option_type",
            "price", "price_source", "implied_vol", "vol_source", "delta", "gamma", "theta",
            "vega", "rho", "position_delta", "position_gamma", "position_theta",
            "position_vega", "position_rho", "dollar_delta", "dollar_gamma_1pct", "flags")
    rows = sorted(({k: p[k] for k in keys} for p in with_greeks),
                  key=lambda r: (r["underlying_symbol"] or "", r["expiration"] or "",
                                 r["symbol"], r["position_id"]))
    snap = summary_snapshot or {}
    reason = None
    if not options:
        reason = f"no option positions held on {day.isoformat()}"
    elif len(with_greeks) < len(options):
        reason = (f"{len(options) - len(with_greeks)} of {len(options)} options have no row in "
                  f"sigmasight.position_greeks for {day.isoformat()}")
    return {
        "available": bool(rows),
        "reason": reason,
        "model": GREEKS_MODEL,
        "option_count": len(options),
        "options": rows,
        "portfolio": {name: money(snap.get(name)) for name in
                      ("dollar_delta", "dollar_gamma_1pct", "dollar_theta", "dollar_vega",
                       "dollar_rho")},
    }


def _correlation_matrix(frame: pd.DataFrame) -> tuple[list[str], list[list], int | None]:
    names = sorted(set(frame["factor_a"]) | set(frame["factor_b"]), key=_factor_key)
    lookup = {(r["factor_a"], r["factor_b"]): r["correlation"] for r in _records(frame)}
    matrix = [[num(lookup.get((a, b), lookup.get((b, a)))) for b in names] for a in names]
    return names, matrix, _int(frame["n_obs"].max())


def _factor_correlations(inputs: ReportInputs) -> dict:
    frame = inputs.table("factor_correlations")
    day = inputs.day
    if frame.empty:
        return {"available": False, "reason": unavailable(
            "factor_correlations", day, "asset not materialized, or insufficient history"),
            "factors": [], "correlation": [], "n_obs": None}
    # the book's one matrix: computed once per frame, copied into each document
    names, matrix, n_obs = _once_per_frame(frame, _correlation_matrix)
    return {"available": True, "reason": None, "factors": list(names),
            "correlation": [list(row) for row in matrix], "n_obs": n_obs}


def _factor_exposures(inputs: ReportInputs, pid: str, position_betas: list[tuple]) -> dict:
    """``position_betas``: the position_factor_exposures rows of the valued positions
    (``(position_id, factor, beta, quality)``, :func:`_beta_rows`)."""
    day = inputs.day
    # regressions by quality: each position's first row counts (missing qualities do not)
    counts: dict[Any, int] = {}
    seen: set = set()
    for pos_id, _, _, q in position_betas:
        if pos_id not in seen:
            seen.add(pos_id)
            if not _missing(q):
                counts[q] = counts.get(q, 0) + 1
    quality = {str(k): int(v) for k, v in sorted(counts.items())}
    factors = sorted(({"factor": r["factor"], "beta": num(r["beta"]),
                       "dollar_exposure": money(r["dollar_exposure"]),
                       "coverage": num(r["coverage"])}
                      for r in inputs.rows("portfolio_factor_exposures", pid)),
                     key=lambda r: _factor_key(r["factor"]))
    coverage = [f["coverage"] for f in factors if f["factor"] != "Rate"
                and f["coverage"] is not None]
    return {
        "available": bool(factors),
        "reason": None if factors else unavailable(
            "portfolio_factor_exposures", day, "asset not materialized, or insufficient history"),
        "units": "beta: $ of factor exposure per $ of gross exposure; dollar_exposure: US$ "
                 "(Rate: US$ per +1 percentage point of DGS10); coverage: share of gross "
                 "exposure with a beta",
        "factors": factors,
        "coverage": min(coverage) if coverage else None,
        "position_quality": quality,
        "factor_correlations": _factor_correlations(inputs),
    }


def _market_risk(inputs: ReportInputs, pid: str) -> dict:
    rows = sorted(({"scenario": r["scenario"], "scenario_type": r["scenario_type"],
                    "shock": num(r["shock"]), "pnl": money(r["pnl"]),
                    "pnl_pct": num(r["pnl_pct"]), "option_pnl": money(r["option_pnl"]),
                    "flags": _flags(r.get("flags"))}
                   for r in inputs.rows("market_risk_scenarios", pid)),
                  key=lambda r: (r["pnl"], r["scenario"]))
    return {"available": bool(rows),
            "reason": None if rows else unavailable("market_risk_scenarios", inputs.day,
                                                    "asset not materialized"),
            "method": MARKET_RISK_METHOD, "scenarios": rows}


def _impacts(value: Any) -> list[dict]:
    if not isinstance(value, dict):
        return []
    rows = []
    for factor, parts in value.items():
        parts = parts if isinstance(parts, dict) else {"pnl": parts}
        rows.append({"factor": str(factor), "shock": num(parts.get("shock")),
                     "dollar_exposure": money(parts.get("dollar_exposure")),
                     "pnl": money(parts.get("pnl"))})
    return sorted(rows, key=lambda r: _factor_key(r["factor"]))


def _stress(inputs: ReportInputs, pid: str) -> dict:
    rows = sorted(({"scenario": r["scenario"], "category": r["category"],
                    "severity": r["severity"], "direct_pnl": money(r["direct_pnl"]),
                    "direct_pct": num(r["direct_pct"]),
                    "correlated_pnl": money(r["correlated_pnl"]),
                    "correlated_pct": num(r["correlated_pct"]),
                    "factor_impacts": _impacts(r["factor_impacts"]),
                    "flags": _flags(r.get("flags"))}
                   for r in inputs.rows("stress_test_results", pid)),
                  key=lambda r: (r["correlated_pnl"], r["scenario"]))
    return {"available": bool(rows),
            "reason": None if rows else unavailable("stress_test_results", inputs.day,
                                                    "asset not materialized"),
            "method": STRESS_METHOD, "scenarios": rows}


def _cluster_members(cluster: Any) -> list[str]:
    if isinstance(cluster, dict):
        for key in ("members", "symbols", "underlyings"):
            if key in cluster:
                return sorted(str(s) for s in cluster[key])
        return []
    if isinstance(cluster, (list, tuple)):
        return sorted(str(s) for s in cluster)
    return [str(cluster)]


def _correlations(inputs: ReportInputs, pid: str, top: int = TOP_PAIRS) -> dict:
    """``position_correlations`` rows may be all of the portfolio's pairs, or (as
    report_store.read_top_pairs reads them) those that can rank in the top ``top``, with
    the portfolio's ``pair_count``."""
    day = inputs.day
    summary = inputs.rows("correlation_summaries", pid)
    pairs = inputs.rows("position_correlations", pid)
    pair_rows = sorted(({"symbol_a": r["symbol_a"], "symbol_b": r["symbol_b"],
                         "correlation": num(r["correlation"]), "n_obs": _int(r["n_obs"])}
                        for r in pairs if r["symbol_a"] != r["symbol_b"]),
                       key=lambda r: (-abs(r["correlation"] or 0.0), r["symbol_a"],
                                      r["symbol_b"]))
    count = int(pairs[0]["pair_count"]) if pairs and "pair_count" in pairs[0] \
        else len(pair_rows)
    if not summary:
        return {"available": False, "reason": unavailable(
            "correlation_summaries", day,
            "asset not materialized, or fewer than two underlyings qualify"),
            "method": CORRELATION_METHOD, "n_positions": None, "avg_abs_correlation": None,
            "effective_bets": None, "clusters": [], "pair_count": count,
            "top_pairs": pair_rows[:top]}
    s = summary[0]
    raw = s["clusters"]
    if isinstance(raw, dict):
        raw = raw.get("clusters", list(raw.values()))
    members = sorted((_cluster_members(c) for c in (raw or [])), key=lambda m: (-len(m), m))
    clusters = [{"id": i + 1, "members": m, "size": len(m)} for i, m in enumerate(members)]
    return {"available": True, "reason": None, "method": CORRELATION_METHOD,
            "n_positions": _int(s["n_positions"]),
            "avg_abs_correlation": num(s["avg_abs_correlation"]),
            "effective_bets": num(s["effective_bets"]), "clusters": clusters,
            "pair_count": count, "top_pairs": pair_rows[:top]}


def _issues(inputs: ReportInputs, pid: str) -> dict:
    # the portfolio's issues and the book-wide ones (no portfolio)
    mine = inputs.select(inputs.table("data_quality_issues"), "portfolio_id", (pid,),
                         with_null=True)
    rank = {"error": 0, "warning": 1, "info": 2}
    rows = sorted(({"severity": r["severity"], "code": r["code"], "asset": r["asset"],
                    "symbol": _str(r["symbol"]), "position_id": _str(r["position_id"]),
                    "message": r["message"]} for r in mine),
                  key=lambda r: (rank.get(r["severity"], 3), r["code"], r["asset"],
                                 r["symbol"] or "", r["position_id"] or "", r["message"]))
    by_sev = {s: sum(1 for r in rows if r["severity"] == s) for s in ("error", "warning", "info")}
    codes: dict[str, int] = {}
    for r in rows:
        codes[r["code"]] = codes.get(r["code"], 0) + 1
    return {"issue_count": len(rows), "by_severity": by_sev,
            "by_code": dict(sorted(codes.items())), "issues": rows}


def _history(inputs: ReportInputs, pid: str) -> list[dict]:
    snaps = inputs.select(inputs.history, "portfolio_id", (pid,))
    expo = {r.pop("date"): r for r in
            inputs.select(inputs.exposure_history, "portfolio_id", (pid,))}
    rows = []
    for r in sorted(snaps, key=lambda r: r["date"]):
        e = expo.get(r["date"], {})
        rows.append({"date": _iso(r["date"]), "total_value": money(r["total_value"]),
                     "daily_pnl": money(r["daily_pnl"]), "daily_return": num(r["daily_return"]),
                     "cumulative_pnl": money(r["cumulative_pnl"]),
                     "gross_exposure": money(r["gross_exposure"]),
                     "net_exposure": money(r["net_exposure"]),
                     "long_exposure": money(e.get("long_exposure")),
                     "short_exposure": money(e.get("short_exposure"))})
    return rows


# --- the document ------------------------------------------------------------------------

def portfolios_to_report(inputs: ReportInputs) -> list[dict]:
    """Portfolios with a snapshot on the day (the ones a report is written for), by name."""
    snaps = inputs.table("portfolio_snapshots")
    have = set(snaps["portfolio_id"])
    return [p for p in _records(inputs.portfolios.sort_values("name"))
            if p["portfolio_id"] in have]


def build_document(inputs: ReportInputs, portfolio_id: str, slug: str | None = None) -> dict:
    """The report of one portfolio on ``inputs.day`` as a JSON-ready dict."""
    day = inputs.day
    port = inputs.select(inputs.portfolios, "portfolio_id", (portfolio_id,))
    if not port:
        raise KeyError(f"no portfolio with id {portfolio_id}")
    port = port[0]
    snaps = inputs.rows("portfolio_snapshots", portfolio_id)
    snapshot = snaps[0] if snaps else None
    expos = inputs.rows("portfolio_exposures", portfolio_id)
    summary = _summary(snapshot, expos[0] if expos else None, day)
    gross = summary["gross_exposure"]
    positions, position_betas = _positions(inputs, portfolio_id, gross)
    doc = {
        "schema_version": SCHEMA_VERSION,
        "report_type": REPORT_TYPE,
        "date": day.isoformat(),
        "portfolio": {"id": portfolio_id, "name": port["name"],
                      "slug": slug or portfolio_slug(port["name"]),
                      "owner": _str(port["owner_email"]),
                      "description": _str(port["description"])},
        "data_source": data_source_of(snapshot),
        "conventions": {
            "currency": "USD",
            "money_decimals": MONEY_DP,
            "other_decimals": OTHER_DP,
            "decimals": "returns, weights, shocks, volatilities, coverage and P&L "
                        "percentages are decimals (0.25 = 25 %)",
            "as_of": f"close of the NYSE session {day.isoformat()}",
        },
        "data_quality": _issues(inputs, portfolio_id),
        "summary": summary,
        "positions": positions,
        "tag_exposures": _tag_exposures(inputs, portfolio_id, gross),
        "greeks": _greeks(positions, snapshot, day),
        "factor_exposures": _factor_exposures(inputs, portfolio_id, position_betas),
        "market_risk": _market_risk(inputs, portfolio_id),
        "stress_tests": _stress(inputs, portfolio_id),
        "correlations": _correlations(inputs, portfolio_id),
        "history": _history(inputs, portfolio_id),
        # Portfolio risk II (SPEC §7.6-7.8): backtest, pnl_attribution, performance
        **risk_ii_blocks(inputs.risk_ii, portfolio_id, day, select=inputs.select),
        # second release, SPEC §7.9
        "sectors_concentration": sectors_concentration_section(inputs, portfolio_id),
        "limits": limits_section(inputs, portfolio_id),
    }
    _add_risk(doc, inputs, portfolio_id)
    return doc


def _add_risk(doc: dict, inputs: ReportInputs, portfolio_id: str) -> None:
    """Schema 1.1: the Risk section, and each position's risk contributions."""
    from .risk_section import position_risk_fields, risk_section

    doc["risk"] = risk_section(inputs, portfolio_id)
    fields = position_risk_fields(inputs, portfolio_id)
    empty = {"component_vol": None, "pct_of_risk": None, "component_es_hist": None}
    for p in doc["positions"]:
        p.update(fields.get(p["position_id"], empty))
