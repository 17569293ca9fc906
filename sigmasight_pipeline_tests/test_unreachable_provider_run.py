"""A run with API keys set and no network fails fast, once, naming the host and the setting."""

from __future__ import annotations

import datetime as dt
import functools
import time

from sigmasight_pipeline import resources


def test_keys_set_and_no_network_fail_the_run_within_a_minute(demo_book, run_days, monkeypatch):
    # the code location is imported once per process; load it before the fake keys exist so
    # its resources (EnvVar only for variables set at import) do not outlive this test: the
    # keys reach the run through the settings, read at run time
    import sigmasight_pipeline.definitions  # noqa: F401
    from sigmasight_pipeline.settings import get_settings

    monkeypatch.setenv("POLYGON_API_KEY", "fake-polygon-key")
    monkeypatch.setenv("FRED_API_KEY", "fake-fred-key")
    monkeypatch.delenv("SIGMASIGHT_MARKET_DATA", raising=False)
    get_settings.cache_clear()
    # .invalid never resolves (RFC 6761): the machine behaves as if it had no network
    monkeypatch.setattr(resources, "build_provider", functools.partial(
        resources.build_provider, polygon_base_url="http://api.polygon.invalid",
        fred_base_url="http://api.fred.invalid/fred"))
    started = time.perf_counter()
    lines = run_days(dt.date(2025, 6, 30), expect_success=False)
    seconds = time.perf_counter() - started
    out = "\n".join(lines)
    assert seconds < 60, out
    assert not [line for line in lines if "retrying" in line], out  # no Dagster re-tries
    # the first Polygon assets fail (market_prices runs after corporate_actions, so it never
    # starts), each with one message naming the host and the setting; FRED likewise
    failed = [line for line in lines if "FAILED" in line and "Polygon is unreachable" in line]
    assert failed, out
    for line in failed:
        assert "api.polygon.invalid" in line and "name resolution failed" in line
        assert "POLYGON_API_KEY" in line
    fred = [line for line in lines if "FAILED" in line and "FRED is unreachable" in line]
    assert len(fred) == 1 and "api.fred.invalid" in fred[0] and "FRED_API_KEY" in fred[0], out
    assert "fake-polygon-key" not in out and "fake-fred-key" not in out
