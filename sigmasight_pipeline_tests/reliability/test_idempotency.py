"""Materializing a day again gives exactly the same warehouse rows (and report files)."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
from sqlalchemy import text

from .conftest import dated_tables, diff_states, warehouse_state

D = dt.date(2025, 6, 27)
NEXT = dt.date(2025, 6, 30)


def test_a_day_materialized_again_gives_identical_rows_in_every_table(demo_book, run_days):
    run_days(D)
    first = warehouse_state(demo_book)
    first_d = warehouse_state(demo_book, dated_tables(), days=[D])
    filled = {name for name, rows in first.items() if rows}
    assert {"market_prices", "position_values", "portfolio_snapshots"} <= filled, filled
    run_days(NEXT)
    both_days = warehouse_state(demo_book)
    run_days(D)  # again, after a later day exists
    again = warehouse_state(demo_book)
    assert diff_states(both_days, again) == []
    # and D's rows are what the first run wrote, in every table with a date column
    assert diff_states(first_d, warehouse_state(demo_book, dated_tables(), days=[D])) == []


def _report_assets() -> list[str]:
    from dagster import AssetsDefinition

    from sigmasight_pipeline.definitions import all_assets_and_checks

    return [key.to_user_string() for a in all_assets_and_checks()
            if isinstance(a, AssetsDefinition)
            for key, group in a.group_names_by_key.items() if group == "reports"]


def _report_files(engine, day) -> dict[str, bytes]:
    with engine.connect() as conn:
        paths = [r[0] for r in conn.execute(
            text("SELECT path FROM sigmasight.reports WHERE date = :d ORDER BY path"), {"d": day})]
    return {p: Path(p).read_bytes() for p in paths}


def test_report_files_are_byte_identical_when_a_day_is_materialized_again(demo_book, run_days):
    if not _report_assets():
        pytest.skip("no report assets are defined yet (group 'reports' is empty)")
    run_days(D)
    first = _report_files(demo_book, D)
    assert first, "report assets exist but wrote no rows to sigmasight.reports for the day"
    with demo_book.connect() as conn:
        listed = conn.execute(text("SELECT path, bytes, sha256 FROM sigmasight.reports "
                                   "WHERE date = :d"), {"d": D}).all()
    for path, size, sha in listed:
        assert (size, sha) == (len(first[path]), hashlib.sha256(first[path]).hexdigest()), path
    run_days(D)
    assert _report_files(demo_book, D) == first
