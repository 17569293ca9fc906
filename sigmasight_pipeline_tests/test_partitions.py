"""Trading-day partitions: NYSE sessions only."""

from __future__ import annotations

import datetime as dt

from dagster import PartitionKeyRange

from sigmasight_pipeline.calendar import previous_trading_day, sessions_back, trading_days
from sigmasight_pipeline.partitions import trading_day_partitions


def test_2024_has_252_trading_day_partitions():
    keys = trading_day_partitions.get_partition_keys_in_range(
        PartitionKeyRange("2024-01-02", "2024-12-31"))
    assert len(keys) == 252
    assert "2024-07-04" not in keys and "2024-12-25" not in keys
    assert "2024-07-05" in keys
    assert "2024-01-06" not in keys  # a Saturday
    assert keys == [d.isoformat() for d in trading_days(dt.date(2024, 1, 1), dt.date(2024, 12, 31))]


def test_session_arithmetic_skips_weekends_and_holidays():
    assert previous_trading_day(dt.date(2024, 7, 5)) == dt.date(2024, 7, 3)
    assert previous_trading_day(dt.date(2024, 12, 30)) == dt.date(2024, 12, 27)
    assert sessions_back(dt.date(2024, 7, 8), 3) == [
        dt.date(2024, 7, 3), dt.date(2024, 7, 5), dt.date(2024, 7, 8)]
