"""Portfolio risk I (SPEC §7.1-7.5): the 7 × 7 risk-factor covariance, parametric and
historical VaR/ES, and the Euler risk decomposition.

Thin assets: per day, read (the shared ScenarioInputs book, the security tables, the price
history of one range read) → the pure engines (engines/risk_factors.py, engines/var.py,
engines/risk_decomposition.py) → replace_partition, every day of a range inside one
transaction. Lineage: factor_returns → risk_factor_covariance; security_factor_exposures,
security_specific_risk, security_rate_betas, position_greeks, risk_factor_covariance →
portfolio_var, factor_risk_contributions, position_risk_contributions.
"""


import datetime as dt

import numpy as np
import pandas as pd
from dagster import (
    AssetCheckExecutionContext,
    AssetExecutionContext,
    AssetSpec,
    MaterializeResult,
    asset,
    asset_check,
    multi_asset,
)

from ...calendar import all_sessions
from ...engines.activity import active_positions
from ...engines.factors import EQUITY_FACTORS, InsufficientHistoryError, daily_returns
from ...engines.factors import factor_returns as factor_returns_engine
from ...engines.risk_decomposition import (
    component_es,
    factor_contributions,
    position_contributions,
)
from ...engines.risk_factors import (
    RISK_FACTORS,
    rate_changes,
    risk_covariance_rows,
    risk_factor_covariance,
)
from ...engines.var import exposures, historical_pnl, historical_var, parametric_var
from ...resources import WarehouseResource
from ...settings import get_settings
from ...warehouse.market_data_store import read_yields
from ...warehouse.tables import (
    factor_risk_contributions,
    portfolio_var,
    position_risk_contributions,
    security_specific_risk,
)
from ...warehouse.tables import (
    risk_factor_covariance as risk_factor_covariance_table,
)
from ...warehouse.writer import replace_partition
from ..common import (
    DAILY,
    DAILY_CHECK,
    DayMetadata,
    DayWrites,
    issue_counts,
    partition_days,
    write_issues,
)
from .assets import GROUP, _concat, _preview
from .checks import _days, _query, _result
from .factor_assets import HISTORY_LOOKBACK, PROXY_SYMBOLS, factor_returns_asset
from .inputs import ADJ_CLOSE_COLUMNS, load_range
from .scenario_assets import ScenarioInputs

#: relative tolerance of the Euler sums (SPEC §7.5 check)
SUM_RTOL = 1e-9
MATRIX_TOL = 1e-9


def _equity_factors(inputs) -> pd.DataFrame:
    return factor_returns_engine(inputs.adj_close_wide(), all_sessions())


@asset(name="risk_factor_covariance", group_name=GROUP, kinds={"postgres", "numpy"},
       deps=[factor_returns_asset],
       description="7 × 7 zero-mean EWMA covariance (λ 0.94, last 252 sessions, daily scale) "
                   "of the six equity factors and Rate = the daily change of DGS10 in "
                   "percentage points; its equity block equals factor_correlations "
                   "(sigmasight.risk_factor_covariance).", **DAILY)
def risk_factor_covariance_asset(context: AssetExecutionContext, warehouse: WarehouseResource
                                 ) -> MaterializeResult:
    days = partition_days(context)
    engine = warehouse.engine()
    with engine.connect() as conn:
        inputs = load_range(conn, days, lookback=HISTORY_LOOKBACK, symbols=PROXY_SYMBOLS,
                            price_columns=ADJ_CLOSE_COLUMNS)
        start = inputs.prices["date"].min() if len(inputs.prices) else days[0]
        yields = read_yields(conn, "DGS10", start, days[-1])
    factors = _equity_factors(inputs)
    rate = rate_changes(pd.Series(yields["value"].to_numpy(dtype=float),
                                  index=list(yields["date"])), all_sessions())
    frames, problems = [], []
    for day in days:
        try:
            cov, n_obs = risk_factor_covariance(factors, rate, day)
        except InsufficientHistoryError as exc:
            problems.append({"date": day, "code": "insufficient_history", "severity": "warning",
                             "message": f"{exc}; no risk-factor covariance: parametric VaR "
                                        "and the risk decomposition are left out that day"})
            continue
        frames.append(risk_covariance_rows(cov, n_obs).assign(date=day))
    rows, issues = _concat(frames), pd.DataFrame(problems)
    with engine.begin() as conn:
        written = replace_partition(conn, risk_factor_covariance_table, days, rows)
        write_issues(conn, "risk_factor_covariance", days, issues)
    last = rows[rows["date"] == rows["date"].max()] if written else rows
    meta = DayMetadata(context).rows(rows)
    if "date" in issues:
        meta.issues(issues)
    meta.record()
    return MaterializeResult(metadata={
        "rows_written": written, "data_quality": issue_counts(issues),
        "covariance": _preview(
            last.pivot(index="factor_a", columns="factor_b", values="covariance")
            .reindex(index=RISK_FACTORS, columns=RISK_FACTORS).reset_index()
            if written else last, ["factor_a", *RISK_FACTORS] if written else ["date"]),
    })


def _covariance(conn, day: dt.date, inputs: ScenarioInputs) -> pd.DataFrame | None:
    rows = inputs.read(conn, risk_factor_covariance_table, day)
    if rows.empty:
        return None
    return (rows.pivot(index="factor_a", columns="factor_b", values="covariance")
            .reindex(index=RISK_FACTORS, columns=RISK_FACTORS).astype(float))


def _scenario_window(factors: pd.DataFrame, returns: pd.DataFrame, day: dt.date, n: int):
    """The last ``n`` sessions ≤ ``day`` with a Market return: (own returns, factor returns)."""
    market = factors["Market"]
    dates = [d for d in market.index[market.notna().to_numpy()] if d <= day][-n:]
    return returns.reindex(dates), factors.reindex(dates)


def _unpriced_issues(held: pd.DataFrame, priced: set, day: dt.date) -> list[dict]:
    """A row per portfolio holding positions of which none has a value that day."""
    out = []
    for (pid, name), group in held.groupby(["portfolio_id", "portfolio"]):
        if pid not in priced:
            out.append({"date": day, "portfolio_id": pid, "code": "missing_price",
                        "severity": "error",
                        "message": f"{name}: none of its {len(group)} held positions has a "
                                   f"price on {day} (see position_values' missing_price rows); "
                                   "no VaR, ES or risk decomposition is computed for it"})
    return out


def _proxy_issues(book: pd.DataFrame, window: pd.DataFrame, day: dt.date) -> list[dict]:
    """A row per (portfolio, symbol) whose own return is missing on some scenario day."""
    symbols = pd.unique(book["beta_symbol"].astype(object))
    missing = window.reindex(columns=symbols).isna().sum()
    missing = missing[missing > 0]
    if missing.empty or window.empty:
        return []
    hit = book[book["beta_symbol"].isin(missing.index)].drop_duplicates(
        ["portfolio_id", "beta_symbol"])
    return [{"date": day, "portfolio_id": r.portfolio_id, "symbol": r.beta_symbol,
             "code": "hist_proxy", "severity": "info",
             "message": f"{r.beta_symbol}: no own return on {int(missing[r.beta_symbol])} of "
                        f"{len(window)} historical-VaR scenario days; moved by its factor "
                        "betas × that day's factor returns (Market alone without betas)"}
            for r in hit.itertuples()]


def _risk_day(conn, inputs: ScenarioInputs, held_book: pd.DataFrame, returns, factors,
              day: dt.date, n_scenarios: int):
    """(portfolio_var, factor contributions, position contributions, issues) of one day."""
    book = inputs.read_day(conn, day).book(day)
    held = active_positions(held_book, day)
    issues = _unpriced_issues(held, set(book["portfolio_id"]), day)
    if book.empty:
        return pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), issues
    specific_rows = inputs.read(conn, security_specific_risk, day)
    specific = pd.Series(specific_rows["specific_vol"].to_numpy(dtype=float),
                         index=specific_rows["symbol"])
    betas, ir = inputs.factor_betas(day, book), inputs.rate_betas(day, book)
    expo = exposures(book, betas, ir, specific)
    cov = _covariance(conn, day, inputs)
    window, window_factors = _scenario_window(factors, returns, day, n_scenarios)
    hist = historical_pnl(expo.book, expo, betas, window,
                          window_factors.reindex(columns=EQUITY_FACTORS))
    var_rows = pd.concat([parametric_var(expo, cov), historical_var(hist, expo.gross)],
                         ignore_index=True)
    es_hist = component_es(hist)
    if cov is None:
        factor_rows = position_rows = pd.DataFrame()
    else:
        factor_rows = factor_contributions(expo, cov)
        position_rows = position_contributions(expo, cov, es_hist)
    issues += _proxy_issues(book, window, day)
    return var_rows, factor_rows, position_rows, issues


#: what every risk asset reads (the shared scenario book, the security model, the covariance)
_RISK_DEPS = ["security_factor_exposures", "security_specific_risk", "security_rate_betas",
              "risk_factor_covariance", "position_greeks", "position_values"]


@multi_asset(
    name="portfolio_risk", group_name=GROUP,
    specs=[
        AssetSpec("portfolio_var", group_name=GROUP, kinds={"postgres", "numpy"}, deps=_RISK_DEPS,
                  description="VaR and Expected Shortfall per portfolio at 95 / 97.5 / 99 % and "
                              "1 / 10 days: parametric (delta-normal factor model, SPEC §7.3) "
                              "and historical simulation over the last 250 sessions with full "
                              "Black-Scholes revaluation of options (§7.4) "
                              "(sigmasight.portfolio_var)."),
        AssetSpec("factor_risk_contributions", group_name=GROUP, kinds={"postgres", "numpy"},
                  deps=_RISK_DEPS,
                  description="Euler contributions of the seven factors and specific risk to "
                              "each portfolio's daily volatility; they sum to it "
                              "(sigmasight.factor_risk_contributions)."),
        AssetSpec("position_risk_contributions", group_name=GROUP,
                  kinds={"postgres", "numpy"}, deps=_RISK_DEPS,
                  description="Per position: marginal and component volatility, share of "
                              "risk and historical component ES at 97.5 %; components sum to "
                              "the portfolio's volatility and ES "
                              "(sigmasight.position_risk_contributions)."),
    ], **DAILY)
def portfolio_risk_asset(context: AssetExecutionContext, warehouse: WarehouseResource):
    days = partition_days(context)
    n_scenarios = get_settings().var_scenarios
    engine = warehouse.engine()
    with engine.connect() as conn:
        prices = load_range(conn, days, lookback=max(n_scenarios, HISTORY_LOOKBACK) + 1,
                            price_columns=ADJ_CLOSE_COLUMNS)
    returns = daily_returns(prices.adj_close_wide(), all_sessions())
    factors = _equity_factors(prices)
    tables = (portfolio_var, factor_risk_contributions, position_risk_contributions)
    writes, issue_frames = DayWrites(tables), []
    with engine.begin() as conn:
        inputs = ScenarioInputs(conn, days, prices.positions)
        for day in days:  # a day at a time: 100,000 position rows a day, one transaction
            frames = _risk_day(conn, inputs, prices.positions, returns, factors, day,
                               n_scenarios)
            for table, rows in zip(tables, frames[:3], strict=True):
                writes.replace(conn, table, day, rows)
            issue_frames.append(pd.DataFrame(frames[3]))
        issues = _concat(issue_frames) if issue_frames else pd.DataFrame()
        write_issues(conn, "portfolio_var", days, issues)
    writes.record(context, issues)
    written, last = writes.written, writes.last
    var_last = last.get("portfolio_var", pd.DataFrame())
    yield MaterializeResult(asset_key="portfolio_var", metadata={
        "rows_written": written["portfolio_var"], "scenarios_setting": n_scenarios,
        "data_quality": issue_counts(issues),
        "preview": _preview(var_last[(var_last["horizon_days"] == 1)] if len(var_last)
                            else var_last, ["date", "portfolio_id", "method", "confidence",
                                            "var", "es", "var_pct_gross", "n_scenarios"], n=12),
    })
    yield MaterializeResult(asset_key="factor_risk_contributions", metadata={
        "rows_written": written["factor_risk_contributions"],
        "preview": _preview(last.get("factor_risk_contributions", pd.DataFrame()),
                            ["date", "portfolio_id", "factor", "exposure", "contribution",
                             "pct_of_risk"], n=8),
    })
    yield MaterializeResult(asset_key="position_risk_contributions", metadata={
        "rows_written": written["position_risk_contributions"],
        "preview": _preview(last.get("position_risk_contributions", pd.DataFrame()),
                            ["date", "symbol", "exposure", "marginal_vol", "component_vol",
                             "pct_of_risk", "component_es_hist"]),
    })


# --- blocking checks --------------------------------------------------------------------


@asset_check(asset="portfolio_var", blocking=True, **DAILY_CHECK,
             description="Every portfolio with gross exposure has VaR rows for both methods, "
                         "3 confidences × 2 horizons each.")
def exposed_portfolios_have_var(context: AssetCheckExecutionContext,
                                warehouse: WarehouseResource):
    rows = _query(warehouse, """
        SELECT e.date, p.name AS portfolio, count(v.method) AS n_rows,
               count(DISTINCT v.method) AS n_methods
          FROM sigmasight.portfolio_exposures e
          JOIN sigmasight.portfolios p ON p.id = e.portfolio_id
          LEFT JOIN sigmasight.portfolio_var v
                 ON v.date = e.date AND v.portfolio_id = e.portfolio_id
         WHERE e.date = ANY(:days) AND e.gross_exposure > 0
         GROUP BY e.date, p.name""", _days(context))
    bad = rows[(rows["n_methods"] < 2) | (rows["n_rows"] < 12)]
    yield from _result(context, bad, rows, "exposed portfolios without VaR rows for both methods")


@asset_check(asset="portfolio_var", blocking=True, **DAILY_CHECK,
             description="ES ≥ VaR for each method, confidence and horizon; no NULL figure "
                         "without the insufficient_history flag.")
def es_at_least_var(context: AssetCheckExecutionContext, warehouse: WarehouseResource):
    days = _days(context)
    bad = _query(warehouse, """
        SELECT date, portfolio_id::text AS portfolio_id, method, confidence, horizon_days,
               var, es, flags
          FROM sigmasight.portfolio_var
         WHERE date = ANY(:days)
           AND ((var IS NOT NULL AND es < var - 1e-9 * abs(var))
                OR ((var IS NULL OR es IS NULL)
                    AND NOT ('insufficient_history' = ANY(flags))))
         LIMIT 1000""", days)
    counts = _query(warehouse, "SELECT date, count(*) AS n FROM sigmasight.portfolio_var "
                               "WHERE date = ANY(:days) GROUP BY date", days)
    checked = {d: int(n) for d, n in zip(counts["date"], counts["n"], strict=True)}
    yield from _result(context, bad, checked, "VaR rows with ES below VaR or an unexplained NULL")


@asset_check(asset="factor_risk_contributions", blocking=True, **DAILY_CHECK,
             description="Factor and position contributions sum to the parametric volatility "
                         "and the historical component ES to the historical ES 97.5 % 1-day, "
                         "within 1e-9 relative.")
def decompositions_sum_to_totals(context: AssetCheckExecutionContext,
                                 warehouse: WarehouseResource):
    days = _days(context)
    rows = _query(warehouse, """
        WITH totals AS (
          SELECT date, portfolio_id,
                 max(volatility) FILTER (WHERE method = 'parametric') AS sigma,
                 max(es) FILTER (WHERE method = 'historical' AND confidence = 0.975)
                   AS es_hist
            FROM sigmasight.portfolio_var
           WHERE date = ANY(:days) AND horizon_days = 1
           GROUP BY date, portfolio_id),
        f AS (SELECT date, portfolio_id, sum(contribution) AS s
                FROM sigmasight.factor_risk_contributions WHERE date = ANY(:days)
               GROUP BY 1, 2),
        p AS (SELECT date, portfolio_id, sum(component_vol) AS s, sum(component_es_hist) AS es
                FROM sigmasight.position_risk_contributions WHERE date = ANY(:days)
               GROUP BY 1, 2)
        SELECT t.date, t.portfolio_id::text AS portfolio_id, t.sigma, f.s AS factor_sum,
               p.s AS position_sum, t.es_hist, p.es AS component_es_sum
          FROM totals t
          LEFT JOIN f ON f.date = t.date AND f.portfolio_id = t.portfolio_id
          LEFT JOIN p ON p.date = t.date AND p.portfolio_id = t.portfolio_id
         WHERE t.sigma > 0""", days)

    def off(a, b):
        a, b = a.astype(float), b.astype(float)
        return ~(np.abs(a - b) <= SUM_RTOL * np.abs(b))

    bad = rows[off(rows["factor_sum"], rows["sigma"]) | off(rows["position_sum"], rows["sigma"])
               | (rows["es_hist"].notna() & off(rows["component_es_sum"], rows["es_hist"]))]
    yield from _result(context, bad, rows, "portfolios whose risk decomposition misses its total")


@asset_check(asset=risk_factor_covariance_asset, blocking=True, **DAILY_CHECK,
             description="Each day's 7 × 7 risk-factor covariance is complete, symmetric and "
                         "positive semi-definite.")
def risk_covariance_symmetric_psd(context: AssetCheckExecutionContext,
                                  warehouse: WarehouseResource):
    rows = _query(warehouse, "SELECT date, factor_a, factor_b, covariance "
                             "FROM sigmasight.risk_factor_covariance WHERE date = ANY(:days)",
                  _days(context))
    problems = []
    for day, frame in rows.groupby("date"):
        c = (frame.pivot(index="factor_a", columns="factor_b", values="covariance")
             .reindex(index=RISK_FACTORS, columns=RISK_FACTORS).to_numpy(dtype=float))
        if np.isnan(c).any():
            problems.append((day, f"{day}: matrix incomplete"))
            continue
        scale = max(float(np.abs(c).max()), 1e-300)
        if np.abs(c - c.T).max() > MATRIX_TOL * scale:
            problems.append((day, f"{day}: not symmetric"))
        smallest = float(np.linalg.eigvalsh((c + c.T) / 2).min())
        if smallest < -MATRIX_TOL * scale:
            problems.append((day, f"{day}: not PSD (smallest eigenvalue {smallest:.3g})"))
    yield from _result(context, pd.DataFrame(problems, columns=["date", "problem"]),
                       rows.drop_duplicates("date"), "risk-factor covariance matrices broken")
