"""What every daily asset shares: partitions, backfill policy, retries, issue writing."""

from __future__ import annotations

import datetime as dt
import warnings
from collections import Counter

import numpy as np
import pandas as pd
from dagster import (
    AssetExecutionContext,
    BackfillPolicy,
    Backoff,
    BetaWarning,
    PreviewWarning,
    RetryPolicy,
)
from sqlalchemy.engine import Connection

from ..partitions import partition_date, trading_day_partitions
from ..warehouse.tables import data_quality_issues
from ..warehouse.writer import replace_partition

# Start-up noise, not news: every daily asset uses the (beta) single-run backfill policy and
# every check on one the (preview) partitioned check spec ON PURPOSE (DAGSTER_FACTS.md); the
# warnings repeat once per asset and check in each process that loads the code location.
warnings.filterwarnings("ignore", message=r"Parameter `backfill_policy`", category=BetaWarning)
warnings.filterwarnings("ignore", message=r"Specifying a partitions_def on an AssetCheckSpec",
                        category=PreviewWarning)

#: the concurrency pool of every warehouse-writing trading-day asset; dagster.yaml limits it
#: to one run at a time (run granularity), so two runs never write the same day at once
WAREHOUSE_POOL = "sigmasight_warehouse"

#: keyword arguments of every trading-day asset: ranges run as one run (DAGSTER_FACTS.md)
DAILY = {
    "partitions_def": trading_day_partitions,
    "backfill_policy": BackfillPolicy.single_run(),
    "pool": WAREHOUSE_POOL,
}

#: provider outages are retried; data errors raise Failure(allow_retries=False)
PROVIDER_RETRY = RetryPolicy(max_retries=3, delay=2, backoff=Backoff.EXPONENTIAL)

ISSUE_COLUMNS = ["date", "asset", "portfolio_id", "position_id", "symbol", "code", "severity",
                 "message"]


def partition_days(context: AssetExecutionContext) -> list[dt.date]:
    """The trading days of this run, in order (one for a single partition)."""
    return sorted(partition_date(k) for k in context.partition_keys)


def write_issues(conn: Connection, asset: str, days: list[dt.date], issues: pd.DataFrame) -> int:
    """Replace ``asset``'s data-quality rows for ``days`` with ``issues``."""
    frame = issues.reindex(columns=ISSUE_COLUMNS).assign(asset=asset)
    return replace_partition(conn, data_quality_issues, days, frame, scope={"asset": asset})


def issue_counts(issues: pd.DataFrame) -> dict[str, int]:
    return issues["code"].value_counts().to_dict() if len(issues) else {}


# --- per-partition metadata -------------------------------------------------------------
# A range run is one step over many days. What an asset returns in its MaterializeResult is
# stamped on EVERY day's materialization event; what it adds per partition key through
# `context.add_asset_metadata(..., partition_key=day)` overrides that key for that day only
# (dagster 1.13 `_get_output_asset_events`). So: range totals in the result, each day's own
# rows, data-quality counts, preview and links through DayMetadata.


def format_number(x) -> str:
    """One number format for previews: thousands separators and 2 decimals from 1 up
    (money, shares), 4 significant digits below (Greeks, betas, returns); never 1e+06."""
    if x is None or (isinstance(x, float) and x != x):
        return ""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return str(x)
    if isinstance(x, int):
        return f"{x:,}"
    return f"{x:,.2f}" if abs(x) >= 1 else f"{x:.4g}"


def preview(frame: pd.DataFrame, columns: list[str], names: dict[str, str] | None = None,
            n: int = 10):
    """A Markdown table of ``frame``'s first ``n`` rows: portfolio ids shown as their names
    (``names``: id → name), numbers in :func:`format_number`'s one format."""
    from dagster import MetadataValue

    if frame.empty:
        return MetadataValue.md("_no rows_")
    view = frame.head(n)[columns].copy()  # n rows first: not a copy of every row
    if names is not None and "portfolio_id" in view.columns:
        view["portfolio_id"] = view["portfolio_id"].astype(str).map(names).fillna(
            view["portfolio_id"].astype(str))
        view = view.rename(columns={"portfolio_id": "portfolio"})
    for col in view.columns:
        if pd.api.types.is_numeric_dtype(view[col]) and not pd.api.types.is_bool_dtype(view[col]):
            view[col] = [format_number(v.item() if hasattr(v, "item") else v) for v in view[col]]
    return MetadataValue.md(view.to_markdown(index=False, disable_numparse=True))


def portfolio_names(conn: Connection) -> dict[str, str]:
    """Portfolio id (text) → name, for previews."""
    from sqlalchemy import select

    from ..warehouse.tables import portfolios

    return {str(i): n for i, n in conn.execute(select(portfolios.c.id, portfolios.c.name))}


def _day_keys(frame: pd.DataFrame) -> pd.Series:
    dates = frame["date"]
    if pd.api.types.is_datetime64_any_dtype(dates):
        return dates.dt.date
    return dates


class DayMetadata:
    """Each day's own metadata in a (range) run: rows written, data-quality counts, a preview,
    report links. Collect with :meth:`add`, :meth:`rows` and :meth:`issues`, then call
    :meth:`record` once before returning the MaterializeResult (one partition-scoped
    ``add_asset_metadata`` per day)::

        meta = DayMetadata(context)
        meta.rows(written_frame, preview=["date", "symbol", "market_value"], names=names)
        meta.issues(issues)
        meta.record()
        return MaterializeResult(metadata={"rows_written": total, ...})  # the range's totals
    """

    def __init__(self, context: AssetExecutionContext, asset_key: str | None = None):
        self.context, self.asset_key = context, asset_key
        self.days = partition_days(context)
        self.by_day: dict[dt.date, dict] = {d: {} for d in self.days}

    def add(self, day: dt.date, **metadata) -> DayMetadata:
        self.by_day.setdefault(day, {}).update(metadata)
        return self

    def rows(self, frame: pd.DataFrame, preview_columns: list[str] | None = None,
             names: dict[str, str] | None = None, n: int = 10, key: str = "rows_written",
             sort_by: str | None = None, ascending: bool = True,
             preview_key: str = "preview") -> DayMetadata:
        """``key`` = the day's row count of ``frame`` (a ``date`` column), and its preview."""
        groups = frame.groupby(_day_keys(frame), sort=False).indices if len(frame) else {}
        for day in self.days:
            idx = groups.get(day, np.empty(0, dtype=np.intp))
            self.by_day[day][key] = len(idx)
            if preview_columns is not None and not frame.empty:
                if sort_by is not None and len(idx):
                    # the day's rows in sort_values' order (one column sorted, the same
                    # permutation), then only the previewed ones taken
                    order = frame[sort_by].iloc[idx].reset_index(drop=True).sort_values(
                        ascending=ascending).index.to_numpy()
                    idx = idx[order[:n]]
                self.by_day[day][preview_key] = preview(frame.iloc[idx[:n]], preview_columns,
                                                        names, n)
        return self

    def issues(self, issues: pd.DataFrame) -> DayMetadata:
        """The day's data-quality counts by code (``{}`` for a clean day)."""
        for day in self.days:
            self.by_day[day]["data_quality"] = {}
        if len(issues):
            counts = issues.groupby([_day_keys(issues), issues["code"]]).size()
            for (day, code), n in counts.items():
                if day in self.by_day:
                    self.by_day[day]["data_quality"][code] = int(n)
        return self

    def record(self) -> None:
        entries = {day.isoformat(): dict(m) for day, m in self.by_day.items()
                   if m and day in self.days}
        if not entries:
            return
        if _record_in_bulk(self.context, self.asset_key, entries):
            return
        for key, metadata in entries.items():
            self.context.add_asset_metadata(metadata, asset_key=self.asset_key,
                                            partition_key=key)


class DayWrites:
    """Tables of a range written a day at a time (one transaction, memory of a day): totals,
    each day's own row count and the last day's rows per table, then each day's count on
    its partition of the table's asset (multi-assets name their assets after their tables).
    """

    def __init__(self, tables):
        self.written: Counter = Counter()
        self.per_day: dict[str, dict[dt.date, int]] = {t.name: {} for t in tables}
        self.last: dict[str, pd.DataFrame] = {}

    def replace(self, conn: Connection, table, day: dt.date, rows: pd.DataFrame) -> int:
        """``replace_partition`` of ``table`` on ``day`` with ``rows`` (dated ``day``)."""
        rows = rows.assign(date=day) if len(rows) else rows
        n = replace_partition(conn, table, day, rows)
        self.written[table.name] += n
        self.per_day[table.name][day] = n
        if len(rows):
            self.last[table.name] = rows
        return n

    def record(self, context: AssetExecutionContext, issues: pd.DataFrame | None = None
               ) -> None:
        """Each day's rows on each asset's partition; ``issues`` (with a ``date`` column)
        counted on the first table's."""
        for i, (name, counts) in enumerate(self.per_day.items()):
            meta = DayMetadata(context, asset_key=name)
            for day, n in counts.items():
                meta.add(day, rows_written=n)
            if i == 0 and issues is not None and "date" in issues:
                meta.issues(issues)
            meta.record()


def _record_in_bulk(context: AssetExecutionContext, asset_key: str | None,
                    entries: dict[str, dict]) -> bool:
    """Add every day's metadata to the step's metadata accumulator at once; False when this
    Dagster does not have the (private) accumulator, and the caller uses the public API.

    ``add_asset_metadata(partition_key=...)`` re-lists the run's partition keys to validate
    each call (13.6 ms for a year of trading days): 249 days × 20 assets added ~70 s to a
    one-year backfill. The keys here come from ``context.partition_keys``, so they are valid
    by construction. dagster is pinned (pyproject.toml); tests read the metadata back.
    """
    from dagster import AssetKey
    from dagster._core.execution.context.metadata_logging import (
        AssetMetadataHandle,
        OutputMetadataAccumulator,
    )

    step = context.get_step_execution_context()
    accumulator = getattr(step, "_metadata_accumulator", None)
    if not isinstance(accumulator, OutputMetadataAccumulator):
        return False
    key = AssetKey.from_coercible(asset_key) if asset_key else context.assets_def.key
    merged = dict(accumulator.per_output_metadata)
    for partition_key, metadata in entries.items():
        handle = AssetMetadataHandle(asset_key=key, partition_key=partition_key)
        merged[handle] = {**merged.get(handle, {}), **metadata}
    step._metadata_accumulator = OutputMetadataAccumulator(per_output_metadata=merged)
    return True


# --- per-partition check results --------------------------------------------------------
#: keyword arguments of every check on a trading-day asset: its results are per partition
DAILY_CHECK = {"partitions_def": trading_day_partitions}


def check_results_by_day(context, bad: pd.DataFrame, what: str, checked=None,
                         examples: int = 20, severity=None, describe=None, day_metadata=None):
    """Yield one check evaluation PER DAY of the run (pass/fail, violations and examples of
    that day), then the check's output. ``bad`` holds the violations with a ``date`` column;
    ``checked`` is the number of rows checked: a frame with a ``date`` column, a mapping
    day → count, or one int for the whole run.

    In a range run ``AssetCheckResult`` is recorded once, without a partition (dagster 1.13
    ties it to a partition only for one-partition steps); an ``AssetCheckEvaluation`` carries
    its ``partition``, so the UI shows each day passed or failed. A failed blocking day still
    stops the downstream steps of the run. ``severity`` (default ERROR), ``describe(day_bad)``
    (the failed day's description) and ``day_metadata(day_bad)`` (extra metadata) tailor it,
    e.g. for a WARN check.
    """
    from dagster import AssetCheckEvaluation, MetadataValue, Output

    op_context = context.op_execution_context
    spec = next(iter(context.check_specs))
    days = sorted(partition_date(k) for k in op_context.partition_keys)
    groups = bad.groupby(_day_keys(bad), sort=False).indices if len(bad) else {}
    if isinstance(checked, pd.DataFrame):
        checked = _day_keys(checked).value_counts().to_dict() if len(checked) else {}
    for day in days:
        idx = groups.get(day)
        day_bad = bad.iloc[idx] if idx is not None else bad.iloc[0:0]
        metadata = {"violations": len(day_bad),
                    "examples": MetadataValue.md(day_bad.head(examples).to_markdown(index=False)
                                                 if len(day_bad) else "none")}
        if isinstance(checked, dict):
            metadata["rows_checked"] = int(checked.get(day, 0))
        elif checked is not None:
            metadata["rows_checked_in_run"] = int(checked)
        yield AssetCheckEvaluation(
            asset_key=spec.asset_key, check_name=spec.name, passed=day_bad.empty,
            partition=day.isoformat(), blocking=spec.blocking,
            metadata={**metadata, **(day_metadata(day_bad) if day_metadata else {})},
            description=None if day_bad.empty else (
                describe(day_bad) if describe else f"{day}: {len(day_bad)} {what}"),
            **({} if severity is None else {"severity": severity}))
    # the check step's output (what an AssetCheckResult would have produced)
    yield Output(None, output_name=op_context.op_def.output_defs[0].name)
