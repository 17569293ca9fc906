"""HTTP faults the provider unit tests leave out: truncated JSON, read timeouts, a failure
between the requests of one symbol, a stalled FRED. Each ends in a retry that recovers or
a ProviderError naming the request, never an empty or partial frame passed off as data."""

from __future__ import annotations

import time

import pytest
from werkzeug import Response

from sigmasight_pipeline.providers.base import ProviderError
from sigmasight_pipeline.providers.fred import FredProvider
from sigmasight_pipeline_tests.test_fred_provider import END, START, expect_series
from sigmasight_pipeline_tests.test_fred_provider import observations_xml as fred_xml
from sigmasight_pipeline_tests.test_polygon_provider import (
    D30,
    KEY,
    Recorder,
    aggs_body,
    aggs_path,
    bar,
    expect_aggs,
    make_provider,
    requests_to,
)

BARS = [bar(D30, 100.0, 102.0, 99.0, 101.0, 5_000)]


@pytest.fixture
def server(httpserver_ipv4):
    return httpserver_ipv4


@pytest.fixture
def recorder():
    return Recorder()


def _truncated(ticker: str) -> str:
    import json

    body = json.dumps(aggs_body(ticker, BARS, False))
    return body[: len(body) // 2]


def test_truncated_json_is_retried_then_parsed(server, recorder):
    path = aggs_path("AAPL", D30, D30)
    server.expect_oneshot_request(path).respond_with_data(
        _truncated("AAPL"), content_type="application/json")
    expect_aggs(server, "AAPL", D30, D30, False, BARS)
    expect_aggs(server, "AAPL", D30, D30, True, BARS)
    frame = make_provider(server, recorder, adjust_dividends=False).prices(["AAPL"], D30, D30)
    assert frame["close"].tolist() == [101.0]
    assert recorder.sleeps == [0.5]


def test_persistently_truncated_json_fails_naming_the_request(server, recorder):
    server.expect_request(aggs_path("AAPL", D30, D30)).respond_with_data(
        _truncated("AAPL"), content_type="application/json")
    with pytest.raises(ProviderError, match="not JSON") as info:
        make_provider(server, recorder, adjust_dividends=False).prices(["AAPL"], D30, D30)
    assert "AAPL" in str(info.value) and "after 4 attempts" in str(info.value)


def test_a_failure_between_the_requests_of_one_symbol_recovers_with_the_right_numbers(
        server, recorder):
    # the unadjusted bars arrive, the split-adjusted request gets a 503 once
    expect_aggs(server, "MSFT", D30, D30, False, BARS)
    server.expect_oneshot_request(aggs_path("MSFT", D30, D30),
                                  query_string={"adjusted": "true", "sort": "asc",
                                                "limit": "50000"}).respond_with_data(
        "service unavailable", status=503, headers={"Retry-After": "3"})
    expect_aggs(server, "MSFT", D30, D30, True, [bar(D30, 50.0, 51.0, 49.5, 50.5, 10_000)])
    frame = make_provider(server, recorder, adjust_dividends=False).prices(["MSFT"], D30, D30)
    assert (frame["close"].tolist(), frame["adj_close"].tolist()) == ([101.0], [50.5])
    assert recorder.sleeps == [3.0]


def _slow(seconds: float, body: str, content_type: str):
    def handler(request):
        time.sleep(seconds)
        return Response(body, content_type=content_type)
    return handler


def test_a_read_timeout_is_retried_then_fails_naming_the_request(server, recorder):
    import json

    path = aggs_path("NVDA", D30, D30)
    server.expect_request(path).respond_with_handler(
        _slow(0.6, json.dumps(aggs_body("NVDA", BARS, False)), "application/json"))
    provider = make_provider(server, recorder, timeout=0.2, max_retries=1,
                             adjust_dividends=False)
    started = time.monotonic()
    with pytest.raises(ProviderError) as info:
        provider.prices(["NVDA"], D30, D30)
    assert time.monotonic() - started < 5  # the timeout is applied, nothing hangs
    message = str(info.value)
    assert "after 2 attempts" in message and "NVDA" in message
    assert "timed out" in message.lower() or "timeout" in message.lower(), message
    assert KEY not in message


def test_a_slow_answer_once_is_retried_and_used(server, recorder):
    import json

    path = aggs_path("NVDA", D30, D30)
    server.expect_oneshot_request(path).respond_with_handler(
        _slow(0.6, json.dumps(aggs_body("NVDA", BARS, False)), "application/json"))
    expect_aggs(server, "NVDA", D30, D30, False, BARS)
    expect_aggs(server, "NVDA", D30, D30, True, BARS)
    frame = make_provider(server, recorder, timeout=0.3, adjust_dividends=False).prices(
        ["NVDA"], D30, D30)
    assert frame["close"].tolist() == [101.0]
    # (the test server answers one request at a time, so the retry may time out once more)
    assert len(requests_to(server, path)) >= 3 and recorder.sleeps[:1] == [0.5]


def test_a_stalled_fred_times_out_and_fails_naming_the_series(server):
    server.expect_request("/fred/series/observations").respond_with_handler(
        _slow(0.6, fred_xml([("2025-06-26", "4.26")]), "text/xml"))
    sleeps: list[float] = []
    provider = FredProvider("FREDKEY987", base_url=server.url_for("/fred"), max_retries=1,
                            backoff_seconds=0.1, sleep=sleeps.append, timeout=0.2)
    with pytest.raises(ProviderError, match="after 2 attempts") as info:
        provider.treasury_yields(["DGS10"], START, END)
    assert "DGS10" in str(info.value) and "FREDKEY987" not in str(info.value)


def test_fred_429_with_retry_after_then_an_empty_series(server):
    expect_series(server, "DGS2", "rate limited", status=429, headers={"Retry-After": "4"},
                  oneshot=True)
    expect_series(server, "DGS2", fred_xml([]))
    sleeps: list[float] = []
    from sigmasight_pipeline_tests.test_fred_provider import make_provider as fred_provider

    frame = fred_provider(server, sleeps).treasury_yields(["DGS2"], START, END)
    assert frame.empty and sleeps == [4.0]
