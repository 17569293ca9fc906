"""Blocking asset checks on the risk engines' results.

Each check re-reads what its asset wrote for the run's trading days and fails (blocking
the downstream assets in the same run) when the result is broken: a position held with
neither a value nor a recorded reason, Greeks outside their mathematical ranges, exposure
identities violated, a snapshot total that is not the sum of its positions.
"""

import datetime as dt

import pandas as pd
from dagster import AssetCheckExecutionContext, asset_check
from sqlalchemy import Table, text

from ...engines.activity import active_positions, is_option
from ...partitions import partition_date
from ...resources import WarehouseResource
from ...warehouse.engine_store import read_days
from ...warehouse.positions_store import read_positions
from ...warehouse.tables import position_greeks, position_values
from ..common import DAILY_CHECK, check_results_by_day
from .assets import (
    portfolio_exposures_asset,
    portfolio_snapshots_asset,
    position_greeks_asset,
    position_values_asset,
)

#: $ tolerance on sums of float64 dollar amounts
MONEY_TOL = 1e-6


def _days(context: AssetCheckExecutionContext) -> list[dt.date]:
    return sorted(partition_date(k) for k in context.op_execution_context.partition_keys)


def _query(warehouse: WarehouseResource, sql: str, days: list[dt.date]) -> pd.DataFrame:
    with warehouse.engine().connect() as conn:
        return pd.read_sql(text(sql), conn, params={"days": days})


def _unexplained(warehouse: WarehouseResource, days, table: Table, asset: str,
                 options_only: bool) -> pd.DataFrame:
    """Active positions with neither a row in ``table`` nor a data-quality row of ``asset``."""
    with warehouse.engine().connect() as conn:
        book = read_positions(conn, columns=("position_id", "portfolio", "symbol", "position_type",
                                             "entry_date", "exit_date", "expiration"))
        # (date, position_id) only, binary: a year of 10,000 positions is 2.5 million keys
        rows = read_days(conn, table, days, ["date", "position_id"])
    held = pd.concat([active_positions(book, d).assign(date=d) for d in days], ignore_index=True)
    if options_only:
        held = held[is_option(held["position_type"])]
    reasons = _query(warehouse, f"""
        SELECT date, position_id::text AS position_id FROM sigmasight.data_quality_issues
         WHERE date = ANY(:days) AND asset = '{asset}' AND position_id IS NOT NULL""", days)
    covered = pd.MultiIndex.from_frame(pd.concat([rows, reasons], ignore_index=True)
                                       .astype({"position_id": str}))
    missing = ~pd.MultiIndex.from_frame(held[["date", "position_id"]]).isin(covered)
    return held.loc[missing, ["date", "portfolio", "symbol"]]


def _result(context: AssetCheckExecutionContext, bad: pd.DataFrame, checked, what: str):
    """One evaluation per day of the run (``bad`` has a ``date`` column); see
    ``check_results_by_day``."""
    yield from check_results_by_day(context, bad, what, checked)


@asset_check(asset=position_values_asset, blocking=True, **DAILY_CHECK,
             description="Every position held has a value, or a recorded data-quality reason.")
def every_position_valued(context: AssetCheckExecutionContext, warehouse: WarehouseResource):
    days = _days(context)
    bad = _unexplained(warehouse, days, position_values, "position_values", False)
    yield from _result(context, bad, None,
                       "held positions without a value or a recorded reason")


@asset_check(asset=position_greeks_asset, blocking=True, **DAILY_CHECK,
             description="Every active option has Greeks or a recorded reason; call delta in "
                         "[0, 1], put delta in [-1, 0], gamma and vega >= 0.")
def greeks_complete_and_in_range(context: AssetCheckExecutionContext,
                                 warehouse: WarehouseResource):
    days = _days(context)
    missing = _unexplained(warehouse, days, position_greeks, "position_greeks", True)
    greeks = _query(warehouse, """
        SELECT g.date, g.symbol, p.option_type, g.delta, g.gamma, g.vega
          FROM sigmasight.position_greeks g JOIN sigmasight.positions p ON p.id = g.position_id
         WHERE g.date = ANY(:days)""", days)
    eps = 1e-12
    call, put = greeks["option_type"] == "C", greeks["option_type"] == "P"
    out_of_range = greeks[
        (call & ~greeks["delta"].between(-eps, 1 + eps))
        | (put & ~greeks["delta"].between(-1 - eps, eps))
        | (greeks["gamma"] < -eps) | (greeks["vega"] < -eps)
        | greeks[["delta", "gamma", "vega"]].isna().any(axis=1)
    ]
    bad = pd.concat([missing.assign(problem="no Greeks and no recorded reason"),
                     out_of_range.assign(problem="Greek outside its range")], ignore_index=True)
    yield from _result(context, bad, greeks, "options with missing or out-of-range Greeks")


@asset_check(asset=portfolio_exposures_asset, blocking=True, **DAILY_CHECK,
             description="gross = long + |short| and net = long + short for every portfolio.")
def exposure_identities(context: AssetCheckExecutionContext, warehouse: WarehouseResource):
    rows = _query(warehouse, "SELECT * FROM sigmasight.portfolio_exposures "
                             "WHERE date = ANY(:days)", _days(context))
    tol = MONEY_TOL * rows["gross_exposure"].abs().clip(lower=1.0)
    bad = rows[((rows["gross_exposure"] - (rows["long_exposure"] + rows["short_exposure"].abs()))
                .abs() > tol)
               | ((rows["net_exposure"] - (rows["long_exposure"] + rows["short_exposure"])).abs()
                  > tol)
               | (rows["short_exposure"] > 0) | (rows["long_exposure"] < 0)]
    yield from _result(context, bad[["date", "portfolio_id", "gross_exposure", "long_exposure",
                        "short_exposure"]], rows, "portfolios with broken identities")


@asset_check(asset=portfolio_snapshots_asset, blocking=True, **DAILY_CHECK,
             description="Snapshot total_value = Σ position market values of that day.")
def snapshot_total_is_sum_of_positions(context: AssetCheckExecutionContext,
                                       warehouse: WarehouseResource):
    rows = _query(warehouse, """
        SELECT s.date, s.portfolio_id::text AS portfolio_id, s.total_value,
               COALESCE(v.total, 0) AS positions_total
          FROM sigmasight.portfolio_snapshots s
          LEFT JOIN (SELECT date, portfolio_id, sum(market_value) AS total
                       FROM sigmasight.position_values WHERE date = ANY(:days)
                      GROUP BY 1, 2) v ON v.date = s.date AND v.portfolio_id = s.portfolio_id
         WHERE s.date = ANY(:days)""", _days(context))
    tol = MONEY_TOL * rows["positions_total"].abs().clip(lower=1.0)
    bad = rows[(rows["total_value"] - rows["positions_total"]).abs() > tol]
    yield from _result(context, bad, rows,
                       "snapshots whose total is not the sum of their positions")
