"""Range runs in the UI: each partition's materialization carries its own day's metadata,
checks pass or fail per day, and CLI runs are `daily_risk` runs tagged with their range."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from dagster import AssetCheckKey, AssetKey, DagsterInstance
from sqlalchemy import text

from sigmasight_pipeline.orchestration import run_range

DAYS = [dt.date(2025, 6, 26), dt.date(2025, 6, 27), dt.date(2025, 6, 30)]


def _materializations(instance, asset: str) -> dict[str, dict]:
    records = instance.fetch_materializations(AssetKey(asset), limit=100).records
    out = {}
    for rec in records:
        mat = rec.asset_materialization
        out[mat.partition] = {k: v.value for k, v in mat.metadata.items()}
    return out


def _counts(engine, table: str, extra: str = "") -> dict[str, int]:
    with engine.connect() as conn:
        rows = pd.read_sql(text(f"SELECT date, count(*) AS n FROM sigmasight.{table} "
                                f"WHERE date BETWEEN :a AND :b {extra} GROUP BY date"), conn,
                           params={"a": DAYS[0], "b": DAYS[-1]})
    return {d.isoformat(): int(n) for d, n in zip(rows["date"], rows["n"], strict=True)}


def test_three_day_range_run_records_each_days_own_metadata(demo_book, cli_env):
    engine = demo_book
    # a position opened on the last day: the days' row counts differ
    with engine.begin() as conn:
        conn.execute(text("""
            INSERT INTO sigmasight.positions (id, portfolio_id, symbol, position_type,
                   quantity, multiplier, entry_price, entry_date)
            SELECT gen_random_uuid(), portfolio_id, 'AAPL', 'LONG', 10, 1, 150, :d
              FROM sigmasight.positions LIMIT 1"""), {"d": DAYS[-1]})
    lines: list[str] = []
    with DagsterInstance.ephemeral() as instance:
        report = run_range(DAYS[0], DAYS[-1], echo=lines.append, instance=instance,
                           command="materialize")
        assert report.success, "\n".join(lines)
        run = instance.get_run_by_id(report.run_ids[0])
        values = _materializations(instance, "position_values")
        snaps = _materializations(instance, "portfolio_snapshots")
        markdown = _materializations(instance, "report_markdown")
        checks = instance.event_log_storage.get_asset_check_execution_history(
            AssetCheckKey(AssetKey("position_values"), "every_position_valued"), limit=10)

    # CLI runs are runs of the schedule's job, tagged with the command and the range
    assert run.job_name == "daily_risk"
    assert run.tags["sigmasight/command"] == "sigmasight materialize"
    assert run.tags["sigmasight/range"] == "2025-06-26..2025-06-30"
    # ... of the code location, so the Overview timeline and the job's page show them
    origin = run.remote_job_origin.repository_origin
    assert origin.code_location_origin.location_name == "sigmasight_pipeline.definitions"
    assert origin.repository_name == "__repository__"

    keys = [d.isoformat() for d in DAYS]
    expected_values = _counts(engine, "position_values")
    assert sorted(values) == keys
    assert {k: values[k]["rows_written"] for k in keys} == expected_values
    assert expected_values[keys[-1]] == expected_values[keys[0]] + 1  # the new position
    issues = _counts(engine, "data_quality_issues", "AND asset = 'position_values'")
    for k in keys:
        assert sum(values[k]["data_quality"].values()) == issues.get(k, 0)
        # the preview is that day's rows
        assert k in values[k]["preview"] and all(o not in values[k]["preview"]
                                                 for o in keys if o != k)
    assert {k: snaps[k]["rows_written"] for k in keys} == _counts(engine, "portfolio_snapshots")
    # portfolio names, not ids, and one number format (no 1e+06) in the preview
    assert "Demo Hedge Fund Style Investor Portfolio" in snaps[keys[0]]["preview"]
    assert "e+0" not in snaps[keys[0]]["preview"]
    # each day's report links point at that day's files
    for k in keys:
        links = [v for name, v in markdown[k].items() if name.endswith(".md")]
        assert links and all(f"/reports/{k}/" in v for v in links), markdown[k]
        html = [v for name, v in markdown[k].items() if name.endswith(".html")]
        assert html and all(v.endswith(".html") and f"/reports/{k}/" in v for v in html)
    # one check result per day, tied to its partition
    assert sorted(c.partition for c in checks) == keys
    assert all(c.status.value == "SUCCEEDED" for c in checks)
    # the progress line sums the days' rows and names the span once
    line = next(ln for ln in lines if "materialized position_values" in ln)
    assert f"({len(DAYS)} days), {sum(expected_values.values()):,} rows" in line


def test_each_days_preview_is_its_own_rows_filtered_and_sorted_by_pandas():
    """DayMetadata.rows takes each day's previewed rows without copying the day: the same
    row count and the same Markdown as pandas' mask of the day, sort_values (NaN last, ties)
    and head, on a frame with ties, NaN, an empty day and names for portfolio ids."""
    import numpy as np

    from sigmasight_pipeline.defs.common import DayMetadata, preview

    class Context:
        partition_keys = [d.isoformat() for d in DAYS]

    rng = np.random.default_rng(3)
    n = 120
    frame = pd.DataFrame({
        "date": rng.choice(DAYS[:2], n),  # the last day has no rows
        "portfolio_id": rng.choice(["p1", "p2", "p3"], n),
        "pnl": rng.choice([-2.5, 0.0, 1.25, np.nan, 1e6], n),  # ties and NaN
        "symbol": rng.choice(["AAPL", "MSFT", "SPY"], n)})
    names = {"p1": "Growth", "p2": "Value"}
    columns = ["date", "portfolio_id", "pnl", "symbol"]
    for kwargs in ({}, {"sort_by": "pnl"}, {"sort_by": "pnl", "ascending": False}):
        meta = DayMetadata(Context()).rows(frame, columns, names, n=7, **kwargs)
        for day in DAYS:
            rows = frame[frame["date"] == day]
            assert meta.by_day[day]["rows_written"] == len(rows)
            if "sort_by" in kwargs and len(rows):
                rows = rows.sort_values("pnl", ascending=kwargs.get("ascending", True))
            want = preview(rows, columns, names, 7)
            assert meta.by_day[day]["preview"].value == want.value, (day, kwargs)
        assert meta.by_day[DAYS[-1]]["preview"].value == "_no rows_"
