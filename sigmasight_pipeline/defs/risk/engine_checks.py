"""Blocking asset checks on factor, correlation and stress results.

- factor betas are finite, within the cap, and NULL exactly when the history was short;
- factor correlation matrices are symmetric, unit-diagonal and positive semi-definite;
- a portfolio with exposure but no factor betas at all fails loudly (its scenario P&L would
  rest entirely on defaulted betas);
- stress results exist for every (portfolio with valued positions, active scenario).
"""

import numpy as np
import pandas as pd
from dagster import AssetCheckExecutionContext, asset_check

from ...engines.factors import BETA_CAP, EQUITY_FACTORS
from ...resources import WarehouseResource
from ..common import DAILY_CHECK
from .checks import _days, _query, _result
from .factor_assets import (
    factor_correlations_asset,
    portfolio_factor_exposures_asset,
)
from .scenario_assets import scenario_library, stress_test_results_asset

#: numerical slack for symmetry, the unit diagonal and the smallest eigenvalue
MATRIX_TOL = 1e-9


@asset_check(asset="security_factor_exposures", blocking=True, **DAILY_CHECK,
             description="Every stored beta is finite and within ±3; beta is NULL exactly when "
                         "quality is insufficient_history.")
def factor_betas_finite_and_capped(context: AssetCheckExecutionContext,
                                   warehouse: WarehouseResource):
    # In SQL: a year of betas for thousands of positions is millions of rows.
    # (PostgreSQL orders NaN above every number, so abs(NaN) > cap holds.)
    days = _days(context)
    bad = _query(warehouse, f"""
        SELECT date, symbol, factor, beta, quality
          FROM sigmasight.security_factor_exposures
         WHERE date = ANY(:days)
           AND ((quality = 'insufficient_history' AND beta IS NOT NULL)
                OR (quality <> 'insufficient_history'
                    AND (beta IS NULL OR abs(beta) > {BETA_CAP} + 1e-12))
                OR quality NOT IN ('ok', 'capped', 'insufficient_history'))
         LIMIT 1000""", days)
    counts = _query(warehouse, "SELECT date, count(*) AS n FROM "
                               "sigmasight.security_factor_exposures WHERE date = ANY(:days) "
                               "GROUP BY date", days)
    checked = {d: int(n) for d, n in zip(counts["date"], counts["n"], strict=True)}
    yield from _result(context, bad, checked,
                       "factor betas not finite, beyond the cap or mislabelled")


def _matrix_problems(day, frame: pd.DataFrame) -> list[str]:
    """What is wrong with ``day``'s matrix (empty when it is a correlation matrix)."""
    corr = (frame.pivot(index="factor_a", columns="factor_b", values="correlation")
            .reindex(index=EQUITY_FACTORS, columns=EQUITY_FACTORS).to_numpy(dtype=float))
    if np.isnan(corr).any():
        return [f"{day}: matrix incomplete (missing factor pairs)"]
    problems = []
    if np.abs(corr - corr.T).max() > MATRIX_TOL:
        problems.append(f"{day}: not symmetric")
    if np.abs(np.diag(corr) - 1.0).max() > MATRIX_TOL:
        problems.append(f"{day}: diagonal not 1")
    smallest = float(np.linalg.eigvalsh((corr + corr.T) / 2).min())
    if smallest < -MATRIX_TOL:
        problems.append(f"{day}: not PSD (smallest eigenvalue {smallest:.3g})")
    return problems


@asset_check(asset=factor_correlations_asset, blocking=True, **DAILY_CHECK,
             description="Each day's factor correlation matrix is complete, symmetric, "
                         "unit-diagonal and positive semi-definite.")
def factor_correlations_psd(context: AssetCheckExecutionContext, warehouse: WarehouseResource):
    rows = _query(warehouse, "SELECT date, factor_a, factor_b, correlation "
                             "FROM sigmasight.factor_correlations WHERE date = ANY(:days)",
                  _days(context))
    problems = pd.DataFrame([{"date": day, "problem": p} for day, frame in rows.groupby("date")
                             for p in _matrix_problems(day, frame)], columns=["date", "problem"])
    yield from _result(context, problems, rows.drop_duplicates("date"),
                       "factor correlation matrices broken")


@asset_check(asset=portfolio_factor_exposures_asset, blocking=True, **DAILY_CHECK,
             description="A portfolio with gross exposure has factor betas for some of it "
                         "(Market coverage > 0).")
def exposed_portfolios_have_betas(context: AssetCheckExecutionContext,
                                  warehouse: WarehouseResource):
    rows = _query(warehouse, """
        SELECT e.date, p.name AS portfolio, e.gross_exposure, f.coverage
          FROM sigmasight.portfolio_exposures e
          JOIN sigmasight.portfolios p ON p.id = e.portfolio_id
          LEFT JOIN sigmasight.portfolio_factor_exposures f
                 ON f.date = e.date AND f.portfolio_id = e.portfolio_id AND f.factor = 'Market'
         WHERE e.date = ANY(:days) AND e.gross_exposure > 0""", _days(context))
    bad = rows[rows["coverage"].isna() | (rows["coverage"] <= 0)]
    yield from _result(context, bad, rows, "portfolios with exposure but no factor betas at all")


@asset_check(asset=stress_test_results_asset, blocking=True, **DAILY_CHECK,
             description="A stress result exists for every portfolio with valued positions and "
                         "every active scenario of the library.")
def stress_results_complete(context: AssetCheckExecutionContext, warehouse: WarehouseResource):
    days = _days(context)
    expected = _query(warehouse, "SELECT DISTINCT date, portfolio_id::text AS portfolio_id "
                                 "FROM sigmasight.position_values WHERE date = ANY(:days)", days)
    scenario_ids = [s.id for s in scenario_library()]
    expected = expected.merge(pd.DataFrame({"scenario": scenario_ids}), how="cross")
    found = _query(warehouse, "SELECT date, portfolio_id::text AS portfolio_id, scenario "
                              "FROM sigmasight.stress_test_results WHERE date = ANY(:days)",
                   days)
    merged = expected.merge(found, how="left", indicator=True)
    bad = merged.loc[merged["_merge"] == "left_only", ["date", "portfolio_id", "scenario"]]
    yield from _result(context, bad, expected,
                       "(portfolio, scenario) pairs without a stress result")
