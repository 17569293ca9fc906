"""Asset checks on the exposure views.

- sector_exposures (blocking): each portfolio's sectors sum to its gross exposure in
  portfolio_exposures (a position left out of every sector would understate concentration);
- limit_checks (non-blocking, severity WARN): fails when any limit is breached and lists the
  breaches per day in its metadata. A breach is a finding about the book, not a broken
  result, so the reports after it still run.
"""


from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    MetadataValue,
    asset_check,
)

from ...resources import WarehouseResource
from .checks import MONEY_TOL, _days, _query, _result
from .exposure_view_assets import (
    breaches_markdown,
    limit_checks_asset,
    sector_exposures_asset,
)


@asset_check(asset=sector_exposures_asset, blocking=True,
             description="Σ sector gross exposure = the portfolio's gross exposure, every "
                         "portfolio and day (unclassified positions included).")
def sector_gross_sums_to_portfolio_gross(context: AssetCheckExecutionContext,
                                         warehouse: WarehouseResource) -> AssetCheckResult:
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
    return _result(bad, len(rows), "portfolios whose sector gross differs from their gross")


def _describe(breaches) -> str:
    """"N breach(es) on D day(s); on <last day>: <portfolio> <limit> <value> > <threshold>"."""
    last = breaches["date"].max()
    latest = "; ".join(
        f"{r.name} {r.limit_name} {r.value:,.4g} {'>' if r.limit_name.startswith('max_') else '<'}"
        f" {r.threshold:,.4g}" for r in breaches[breaches["date"] == last].itertuples())
    return (f"{len(breaches)} limit breach(es) on {breaches['date'].nunique()} day(s); "
            f"on {last}: {latest}")


@asset_check(asset=limit_checks_asset, blocking=False,
             description="Warns (does not block) when any portfolio breaches a limit; the "
                         "breaches are listed per day in the metadata.")
def no_limit_breaches(context: AssetCheckExecutionContext, warehouse: WarehouseResource
                      ) -> AssetCheckResult:
    rows = _query(warehouse, """
        SELECT l.date, p.name, l.limit_name, l.value, l.threshold, l.status
          FROM sigmasight.limit_checks l JOIN sigmasight.portfolios p ON p.id = l.portfolio_id
         WHERE l.date = ANY(:days)""", _days(context))
    breaches = rows[rows["status"] == "breach"]
    per_day = {str(day): int(n) for day, n in breaches.groupby("date").size().items()}
    return AssetCheckResult(
        passed=breaches.empty,
        severity=AssetCheckSeverity.WARN,
        description=None if breaches.empty else _describe(breaches),
        metadata={"limits_checked": len(rows), "breaches": len(breaches),
                  "breaches_per_day": per_day,
                  "not_available": int((rows["status"] == "not_available").sum()),
                  "breach_list": MetadataValue.md(breaches_markdown(breaches))},
    )



