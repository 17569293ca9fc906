"""The run-failure sensor: every failed run (scheduled, backfilled, launched from the UI or
by `sigmasight materialize`) is recorded in ``sigmasight.run_failures``, which the report
server's index lists with a link to the run in the Dagster UI."""

import datetime as dt

from dagster import (
    DagsterEventType,
    DefaultSensorStatus,
    RunFailureSensorContext,
    run_failure_sensor,
)

from ...resources import WarehouseResource
from ...warehouse.run_failures_store import record_failure

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def partitions_of(tags: dict) -> str | None:
    """The day, or ``first..last``, a run covered (from Dagster's partition tags)."""
    if tags.get("dagster/partition"):
        return tags["dagster/partition"]
    if tags.get(RANGE_START):
        return f"{tags[RANGE_START]}..{tags.get(RANGE_END, tags[RANGE_START])}"
    return None


@run_failure_sensor(name="record_run_failures", monitor_all_code_locations=True,
                    default_status=DefaultSensorStatus.RUNNING, minimum_interval_seconds=30,
                    description="Records each failed run (job, days, failed steps, error) in "
                                "sigmasight.run_failures; the report server's index lists them.")
def record_run_failures(context: RunFailureSensorContext, warehouse: WarehouseResource) -> None:
    run = context.dagster_run
    steps = [e.step_key for e in context.get_step_failure_events() if e.step_key]
    event = context.failure_event
    message = event.message or "run failed"
    if event.event_type == DagsterEventType.RUN_FAILURE and steps:
        message = f"steps failed: {', '.join(steps)}. {message}"
    failed_at = dt.datetime.fromtimestamp(
        context.instance.get_run_record_by_id(run.run_id).end_time or dt.datetime.now().timestamp(),
        dt.UTC)
    with warehouse.engine().begin() as conn:
        record_failure(conn, run.run_id, run.job_name, failed_at, message,
                       partitions_of(run.tags), steps)
    context.log.info(f"recorded failure of run {run.run_id} ({run.job_name})")
