"""The project's dagster.yaml: runs, events and schedules in PostgreSQL, the event log over a
connection pool (sigmasight_pipeline/dagster_storage.py)."""

from __future__ import annotations

import shutil

import sqlalchemy
from dagster import AssetCheckResult, DagsterInstance, asset, asset_check, materialize

from sigmasight_pipeline.dagster_storage import PooledPostgresEventLogStorage
from sigmasight_pipeline.runtime import PROJECT_ROOT
from sigmasight_pipeline.warehouse.database import dagster_storage_url


@asset
def pooled_demo_asset() -> int:
    return 1


@asset_check(asset=pooled_demo_asset)
def pooled_demo_check() -> AssetCheckResult:
    return AssetCheckResult(passed=True)


def test_event_log_is_pooled_and_records_runs(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("SIGMASIGHT_DAGSTER_PG_URL", dagster_storage_url(database_url))
    home = tmp_path / "dagster"
    home.mkdir()
    shutil.copyfile(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    with DagsterInstance.from_config(str(home)) as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, PooledPostgresEventLogStorage)
        assert isinstance(storage._engine.pool, sqlalchemy.pool.QueuePool)
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"

        for _ in range(2):  # the second run reuses pooled connections
            result = materialize([pooled_demo_asset, pooled_demo_check], instance=instance)
            assert result.success
        # the pool holds at most POOL_SIZE idle connections, whatever the number of events
        assert storage._engine.pool.checkedin() <= 2
        assert storage._engine.pool.checkedout() == 0

        events = instance.fetch_materializations(pooled_demo_asset.key, limit=10).records
        assert len(events) == 2
        check = instance.event_log_storage.get_asset_check_execution_history(
            pooled_demo_check.check_key, limit=10)
        assert len(check) == 2 and all(c.status.value == "SUCCEEDED" for c in check)
        assert "asset_check_executions" in storage._tables_present
        # a table that does not exist is never remembered as present
        assert not storage.has_table("no_such_table_here")
        assert "no_such_table_here" not in storage._tables_present
