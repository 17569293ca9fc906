"""The real Dagster UI (`dagster dev`: webserver + daemon, as `sigmasight dev` starts it)
against the test PostgreSQL: the asset graph over GraphQL, and a ranged run launched through
the API, queued by the project's dagster.yaml, dequeued by the daemon, run to SUCCESS."""

from __future__ import annotations

import os
import shutil
import time

from sqlalchemy import text

from sigmasight_pipeline.dagster_ui import dagster_ui, graphql
from sigmasight_pipeline.definitions import defs
from sigmasight_pipeline.warehouse.database import dagster_storage_url
from sigmasight_pipeline.warehouse.migrate import PROJECT_ROOT

LAUNCH = """
mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
  __typename
  ... on LaunchRunSuccess { run { runId status } }
  ... on PythonError { message }
  ... on RunConfigValidationInvalid { errors { message } }
  ... on InvalidSubsetError { message }
} }"""

RUN = """query($id: ID!) { runOrError(runId: $id) { __typename
  ... on Run { status tags { key value } } } }"""

LOCATIONS = """{ repositoriesOrError { ... on RepositoryConnection {
  nodes { name location { name } jobs { name } } } } }"""


def test_dagster_ui_serves_the_asset_graph_and_runs_a_range_as_one_run(demo_book, database_url,
                                                                       tmp_path):
    t0 = time.monotonic()
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")  # queued coordinator
    env = {**os.environ, "DAGSTER_HOME": str(home),
           "SIGMASIGHT_DATABASE_URL": database_url,
           "SIGMASIGHT_DAGSTER_PG_URL": dagster_storage_url(database_url),
           "SIGMASIGHT_HOME": str(tmp_path / ".sigmasight"),
           "SIGMASIGHT_MARKET_DATA": "simulated", "SIGMASIGHT_DAILY_SCHEDULE": "off"}
    with dagster_ui(env, tmp_path / "dagster_dev.log", daemon=True) as (base, asset_keys):
        expected = sorted(k.to_user_string() for k in
                          defs.resolve_asset_graph().get_all_asset_keys())
        assert asset_keys == expected

        (repo,) = graphql(base, LOCATIONS)["repositoriesOrError"]["nodes"]
        assert "daily_risk" in {j["name"] for j in repo["jobs"]}
        params = {
            "selector": {"repositoryLocationName": repo["location"]["name"],
                         "repositoryName": repo["name"], "jobName": "daily_risk"},
            "executionMetadata": {"tags": [
                {"key": "dagster/asset_partition_range_start", "value": "2025-06-27"},
                {"key": "dagster/asset_partition_range_end", "value": "2025-06-30"},
            ]},
        }
        launched = graphql(base, LAUNCH, {"params": params})["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        run_id = launched["run"]["runId"]
        assert launched["run"]["status"] == "QUEUED"  # the daemon dequeues it

        status, deadline = None, time.monotonic() + 120
        while time.monotonic() < deadline:
            status = graphql(base, RUN, {"id": run_id})["runOrError"]["status"]
            if status in ("SUCCESS", "FAILURE", "CANCELED"):
                break
            time.sleep(1)
        log = (tmp_path / "dagster_dev.log").read_text()[-4000:]
        assert status == "SUCCESS", f"run {run_id} ended {status}\n{log}"

    with demo_book.connect() as conn:
        days = conn.execute(text("SELECT array_agg(DISTINCT date::text ORDER BY date::text) "
                                 "FROM sigmasight.portfolio_snapshots")).scalar_one()
    assert days == ["2025-06-27", "2025-06-30"]  # both days of the range, in the one run
    # start-up is quiet: no beta/preview warnings per asset, no `dg dev` hint, and no
    # "dagster.yaml will not be used" (Dagster starts in DAGSTER_HOME, whose file is in force)
    startup = (tmp_path / "dagster_dev.log").read_text()
    for noise in ("BetaWarning", "PreviewWarning", "dg dev", "will not be used"):
        assert noise not in startup, noise
    print(f"dagster dev up, ranged run to SUCCESS, down: {time.monotonic() - t0:.1f} s")
