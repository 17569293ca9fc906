"""What every daily asset shares: partitions, backfill policy, retries, issue writing."""

import datetime as dt

import pandas as pd
from dagster import AssetExecutionContext, BackfillPolicy, Backoff, RetryPolicy
from sqlalchemy.engine import Connection

from ..partitions import partition_date, trading_day_partitions
from ..warehouse.tables import data_quality_issues
from ..warehouse.writer import replace_partition

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
