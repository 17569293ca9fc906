"""Asset checks on the exposure views.

- sector_exposures (blocking): each portfolio's sectors sum to its gross exposure in
  portfolio_exposures (a position left out of every sector would understate concentration);
- limit_checks (non-blocking, severity WARN): fails when any limit is breached and lists the
  breaches per day in its metadata. A breach is a finding about the book, not a broken
  result, so the reports after it still run.
"""


from dagster import (
    AssetCheckExecutionContext,
    AssetCheckSeverity,
    MetadataValue,
    asset_check,
)

from ...resources import WarehouseResource
from ..common import DAILY_CHECK, check_results_by_day
from .checks import MONEY_TOL, _days, _query, _result
from .exposure_view_assets import (
    breaches_markdown,
    limit_checks_asset,
    sector_exposures_asset,
)


@asset_check(asset=sector_exposures_asset, blocking=True, **DAILY_CHECK,
             description="Σ sector gross exposure = the portfolio's gross exposure, every "
                         "portfolio and day (unclassified positions included).")
def sector_gross_sums_to_portfolio_gross(context: AssetCheckExecutionContext,
                                         warehouse: WarehouseResource):
    rows = _query(warehouse, """
        SELECT e.date, p.name AS portfolio, e.gross_exposure,
               COALESCE(s.gross, 0) AS sector_gross
          FROM sigmasight.portfolio_exposures e
          JOIN sigmasight.portfolios p ON p.id = e.portfolio_id
          LEFT JOIN (SELECT date, portfolio_id, sum(gross_exposure) AS gross
                       FROM sigmasight.sector_exposures WHERE date = ANY(:days)
                      GROUP BY 1, 2) s ON s.date = e.date AND s.portfolio_id = e.portfolio_id
         WHERE e.date = ANY(:days)""", _days(context))
    tol = MONEY_TOL * rows["gross_exposure"].abs().clip(lower=1.0)
    bad = rows[(rows["gross_exposure"] - rows["sector_gross"]).abs() > tol]
    yield from _result(context, bad, rows, "portfolios whose sector gross differs from their gross")


def _describe(breaches) -> str:
    """"N breach(es) on D day(s); on <last day>: <portfolio> <limit> <value> > <threshold>"."""
    last = breaches["date"].max()
    latest = "; ".join(
        f"{r.name} {r.limit_name} {r.value:,.4g} {'>' if r.limit_name.startswith('max_') else '<'}"
        f" {r.threshold:,.4g}" for r in breaches[breaches["date"] == last].itertuples())
    return (f"{len(breaches)} limit breach(es) on {breaches['date'].nunique()} day(s); "
            f"on {last}: {latest}")


@asset_check(asset=limit_checks_asset, blocking=False, **DAILY_CHECK,
             description="Warns (does not block) when any portfolio breaches a limit; the "
                         "breaches are listed per day in the metadata.")
def no_limit_breaches(context: AssetCheckExecutionContext, warehouse: WarehouseResource):
    rows = _query(warehouse, """
        SELECT l.date, p.name, l.limit_name, l.value, l.threshold, l.status
          FROM sigmasight.limit_checks l JOIN sigmasight.portfolios p ON p.id = l.portfolio_id
         WHERE l.date = ANY(:days)""", _days(context))
    breaches = rows[rows["status"] == "breach"]
    # one WARN evaluation per day: the UI shows each day's breaches on its partition
    yield from check_results_by_day(
        context, breaches, "limit breaches", rows, severity=AssetCheckSeverity.WARN,
        describe=_describe,
        day_metadata=lambda day_bad: {
            "breaches": len(day_bad),
            "breach_list": MetadataValue.md(breaches_markdown(day_bad))})
