"""Portfolio reports: Markdown (+ PNG chart), JSON and CSV per portfolio and trading day.

One multi-asset run per range of days: for each day it reads every table the reports show
(one query per table, all portfolios at once), renders each portfolio's report set from
plain data (``sigmasight_pipeline.reports``), writes the files atomically under
``<reports dir>/<date>/<portfolio-slug>.{md,json,csv,png}`` and replaces that day's rows
of ``sigmasight.reports`` (path, bytes, sha256) in one transaction.
"""

import datetime as dt
from pathlib import Path

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from ...reports.days import rendered_days
from ...reports.render import PortfolioReport
from ...resources import ReportsResource, WarehouseResource
from ...warehouse.tables import reports as reports_table
from ...warehouse.writer import replace_partition
from ..common import DAILY, DayMetadata, partition_days

GROUP = "reports"

#: the warehouse assets the reports read; engines not listed yet are shown when present
REPORT_INPUTS = [
    AssetKey("positions"),
    AssetKey("position_values"),
    AssetKey("position_greeks"),
    AssetKey("portfolio_exposures"),
    AssetKey("tag_exposures"),
    AssetKey("portfolio_snapshots"),
    AssetKey("portfolio_factor_exposures"),
    AssetKey("security_factor_exposures"),
    AssetKey("security_rate_betas"),
    AssetKey("factor_correlations"),
    AssetKey("market_risk_scenarios"),
    AssetKey("stress_test_results"),
    AssetKey("position_correlations"),
    AssetKey("correlation_summaries"),
    AssetKey("portfolio_var"),
    AssetKey("factor_risk_contributions"),
    AssetKey("position_risk_contributions"),
    AssetKey("sector_exposures"),
    AssetKey("portfolio_concentration"),
    AssetKey("limit_checks"),
]

#: asset name → the file formats it owns
ASSET_FORMATS = {
    "report_markdown": ("md", "png"),
    "report_json": ("json",),
    "report_csv": ("csv",),
}

_DESCRIPTIONS = {
    "report_markdown": "Markdown report per portfolio and day (header with data source and "
                       "data quality, summary, positions, tags, Greeks, factors, market risk, "
                       "stress, correlations, issues, 30-day history) with a PNG chart of "
                       "cumulative P&L and exposure.",
    "report_json": "JSON report per portfolio and day: the same content as a versioned "
                   "document (schema_version; sigmasight_pipeline/reports/report.schema.json).",
    "report_csv": "CSV per portfolio and day: one row per position with values, exposures, "
                  "Greeks and factor betas (the original system's 26 columns and more).",
}


def _row_frame(day: dt.date, written: list[PortfolioReport]) -> pd.DataFrame:
    rows = [{"date": day, "portfolio_id": r.portfolio_id, "format": fmt, "path": str(f.path),
             "bytes": f.bytes, "sha256": f.sha256}
            for r in written for fmt, f in sorted(r.files.items())]
    return pd.DataFrame(rows, columns=["date", "portfolio_id", "format", "path", "bytes",
                                       "sha256"])


#: portfolios linked (and previewed) in an asset's metadata: the first in report order; the
#: day's index page on the report server lists every one (2,000 portfolios' links made the
#: event log entry thousands of entries long and the UI page unreadable)
LINKED_PORTFOLIOS = 10


def _links(day: dt.date, written: list[PortfolioReport], formats: tuple[str, ...], root: Path,
           reports: ReportsResource) -> dict:
    """The day's index page, and the URL (and path) of the files of ``formats`` of the first
    :data:`LINKED_PORTFOLIOS` portfolios; the HTML view of each Markdown report (served by
    the report server from the .md file) beside it."""
    metadata: dict = {"day_index": MetadataValue.url(reports.url(f"{day.isoformat()}/"))}
    for r in written[:LINKED_PORTFOLIOS]:
        for fmt in formats:
            f = r.files[fmt]
            rel = f.path.relative_to(root).as_posix()
            if fmt == "md":
                metadata[f"{r.slug}.html"] = MetadataValue.url(
                    reports.url(rel[: -len(".md")] + ".html"))
            metadata[f"{r.slug}.{fmt}"] = MetadataValue.url(reports.url(rel))
            metadata[f"{r.slug}.{fmt} path"] = MetadataValue.path(str(f.path))
    return metadata


def _preview(day: dt.date, written: list[PortfolioReport], reports: ReportsResource
             ) -> MetadataValue:
    """Header and summary of the first :data:`LINKED_PORTFOLIOS` portfolios' reports."""
    if not written:
        return MetadataValue.md(f"no portfolio has a snapshot on {day}")
    blocks = [r.preview for r in written[:LINKED_PORTFOLIOS]]
    if len(written) > LINKED_PORTFOLIOS:
        blocks.append(f"… and {len(written) - LINKED_PORTFOLIOS:,} more portfolios: "
                      f"[{day} on the report server]({reports.url(f'{day.isoformat()}/')})")
    return MetadataValue.md("\n\n".join(blocks))


def _day_metadata(day: dt.date, written: list[PortfolioReport], rows: pd.DataFrame, root: Path,
                  reports: ReportsResource) -> dict[str, dict]:
    """Asset name → that day's own metadata: files written, links, the summary preview."""
    out = {}
    for name, formats in ASSET_FORMATS.items():
        meta = {"rows_written": int(rows["format"].isin(formats).sum()),
                "portfolios": len(written), **_links(day, written, formats, root, reports)}
        if name == "report_markdown":
            meta["preview"] = _preview(day, written, reports)
        out[name] = meta
    return out


@multi_asset(
    specs=[AssetSpec(name, deps=REPORT_INPUTS, group_name=GROUP, description=_DESCRIPTIONS[name],
                     kinds={"markdown"} if name == "report_markdown" else {name[7:]})
           for name in ASSET_FORMATS],
    can_subset=False,
    **DAILY,
)
def portfolio_reports(context: AssetExecutionContext, warehouse: WarehouseResource,
                      reports: ReportsResource):
    days = partition_days(context)
    root = reports.directory()
    engine = warehouse.engine()
    last: list[PortfolioReport] = []
    rows_by_format: dict[str, int] = {}
    seconds: list[float] = []
    by_day: dict[dt.date, dict[str, dict]] = {}
    for day, written in rendered_days(warehouse.url(), days, root):
        rows = _row_frame(day, written)
        by_day[day] = _day_metadata(day, written, rows, root, reports)
        with engine.begin() as conn:
            replace_partition(conn, reports_table, day, rows)
        for fmt, n in rows["format"].value_counts().items():
            rows_by_format[fmt] = rows_by_format.get(fmt, 0) + int(n)
        seconds += [r.seconds for r in written]
        last = written
    for name, formats in ASSET_FORMATS.items():
        metadata: dict = {
            "reports_dir": MetadataValue.path(str(root)),
            "days": len(days),
            "portfolios": len(last),
            # rows of sigmasight.reports (= files written) for this asset's formats
            "rows_written": sum(rows_by_format.get(fmt, 0) for fmt in formats),
            "render_seconds_per_portfolio": round(sum(seconds) / len(seconds), 3)
            if seconds else 0.0,
        }
        metadata.update(_links(days[-1], last, formats, root, reports))
        day_meta = DayMetadata(context, asset_key=name)
        for day, per_asset in by_day.items():
            day_meta.add(day, **per_asset[name])
        day_meta.record()
        if name == "report_markdown":
            metadata["preview"] = _preview(days[-1], last, reports)
        yield MaterializeResult(asset_key=name, metadata=metadata)
