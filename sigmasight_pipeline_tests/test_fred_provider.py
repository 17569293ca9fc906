"""FredProvider against a local HTTP server that answers like api.stlouisfed.org.

fredapi does not ask for ``file_type=json``, so FRED answers ``series/observations`` in XML
(the same fields as the JSON form: one ``observation`` per date with ``date`` and ``value``,
``.`` for a missing value) and errors as ``<error code=… message=…/>``.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
import traceback

import pandas as pd
import pytest

from sigmasight_pipeline.providers.base import (
    YIELD_COLUMNS,
    MarketDataProvider,
    ProviderError,
    ProviderUnreachable,
)
from sigmasight_pipeline.providers.fred import FredProvider

KEY = "SECRETKEY123xyz"
START, END = dt.date(2025, 6, 26), dt.date(2025, 7, 3)
PATH = "/fred/series/observations"


def observations_xml(observations: list[tuple[str, str]]) -> str:
    lines = [
        '<?xml version="1.0" encoding="utf-8" ?>',
        '<observations realtime_start="2025-07-07" realtime_end="2025-07-07" '
        f'observation_start="{START}" observation_end="{END}" units="lin" output_type="1" '
        'file_type="xml" order_by="observation_date" sort_order="asc" '
        f'count="{len(observations)}" offset="0" limit="100000">',
    ]
    lines += [
        f'  <observation realtime_start="2025-07-07" realtime_end="2025-07-07" date="{d}" '
        f'value="{v}"/>'
        for d, v in observations
    ]
    lines.append("</observations>")
    return "\n".join(lines)


def error_xml(code: int, message: str) -> str:
    return f'<?xml version="1.0" encoding="utf-8" ?>\n<error code="{code}" message="{message}"/>'


def query(series_id: str) -> dict:
    return {
        "series_id": series_id,
        "observation_start": START.isoformat(),
        "observation_end": END.isoformat(),
        "api_key": KEY,
    }


def expect_series(server, series_id, body, status=200, headers=None, oneshot=False):
    expect = server.expect_oneshot_request if oneshot else server.expect_request
    expect(PATH, method="GET", query_string=query(series_id)).respond_with_data(
        body, status=status, headers=headers, content_type="text/xml; charset=UTF-8"
    )


@pytest.fixture
def server(httpserver_ipv4):
    return httpserver_ipv4


@pytest.fixture
def sleeps():
    return []


def make_provider(server, sleeps, **kwargs) -> FredProvider:
    options = {"max_retries": 3, "backoff_seconds": 0.5, "sleep": sleeps.append}
    options.update(kwargs)
    options.setdefault("base_url", server.url_for("/fred"))
    return FredProvider(KEY, **options)


def test_yields_parse_exactly_and_drop_missing_values(server, sleeps):
    expect_series(server, "DGS10", observations_xml([
        ("2025-06-26", "4.26"), ("2025-06-27", "4.29"), ("2025-06-30", "4.24"),
        ("2025-07-01", "4.26"), ("2025-07-02", "4.30"), ("2025-07-03", "4.35"),
    ]))
    expect_series(server, "DGS3MO", observations_xml([
        ("2025-06-26", "4.41"), ("2025-06-27", "4.40"), ("2025-06-30", "."),
        ("2025-07-01", "4.39"), ("2025-07-02", "4.40"), ("2025-07-03", "."),
    ]))
    frame = make_provider(server, sleeps).treasury_yields(["DGS3MO", "DGS10", "DGS10"], START, END)

    assert list(frame.columns) == YIELD_COLUMNS
    assert frame["source"].eq("fred").all()
    assert all(type(d) is dt.date for d in frame["date"])
    assert frame["value"].dtype == "float64"
    values = {(r.series_id, r.date): r.value for r in frame.itertuples()}
    assert len(values) == 10  # the two '.' observations are dropped
    assert values[("DGS10", dt.date(2025, 6, 26))] == 4.26
    assert values[("DGS10", dt.date(2025, 7, 3))] == 4.35
    assert values[("DGS3MO", dt.date(2025, 7, 1))] == 4.39
    assert ("DGS3MO", dt.date(2025, 6, 30)) not in values
    assert len(server.log) == 2  # one request per distinct series
    assert sleeps == []


def test_empty_series_gives_empty_frame(server, sleeps):
    expect_series(server, "DGS30", observations_xml([]))
    frame = make_provider(server, sleeps).treasury_yields(["DGS30"], START, END)
    assert frame.empty and list(frame.columns) == YIELD_COLUMNS
    assert make_provider(server, sleeps).treasury_yields([], START, END).empty


def test_partial_response(server, sleeps):
    expect_series(server, "DGS10", observations_xml([("2025-06-26", "4.26"), ("2025-06-27", ".")]))
    expect_series(server, "DGS30", observations_xml([("2025-06-27", ".")]))  # only missing
    expect_series(server, "DGS2", error_xml(400, "Bad Request.  The series does not exist."),
                  status=400)
    frame = make_provider(server, sleeps).treasury_yields(["DGS10", "DGS30", "DGS2"], START, END)
    assert frame[["series_id", "date", "value"]].values.tolist() == [
        ["DGS10", dt.date(2025, 6, 26), 4.26]
    ]
    assert sleeps == []  # an unknown series is absent, not retried


def test_429_then_success_honours_retry_after(server, sleeps):
    expect_series(server, "DGS10", error_xml(429, "Too Many Requests.  Exceeded Rate Limit"),
                  status=429, headers={"Retry-After": "20"}, oneshot=True)
    expect_series(server, "DGS10", observations_xml([("2025-06-26", "4.26")]))
    frame = make_provider(server, sleeps).treasury_yields(["DGS10"], START, END)
    assert frame["value"].tolist() == [4.26]
    assert sleeps == [20.0]
    assert len(server.log) == 2


def test_persistent_500_raises_after_all_attempts(server, sleeps):
    expect_series(server, "DGS10", "<html><body>Internal Server Error</body></html>", status=500)
    with pytest.raises(ProviderError) as info:
        make_provider(server, sleeps, max_retries=3).treasury_yields(["DGS10"], START, END)
    assert len(server.log) == 4  # the first attempt and 3 retries
    assert sleeps == [0.5, 1.0, 2.0]
    assert "after 4 attempts" in str(info.value) and "HTTP 500" in str(info.value)


def test_a_body_that_is_not_xml_is_retried(server, sleeps):
    expect_series(server, "DGS10", "<html>maintenance", oneshot=True)
    expect_series(server, "DGS10", observations_xml([("2025-06-26", "4.26")]))
    frame = make_provider(server, sleeps).treasury_yields(["DGS10"], START, END)
    assert frame["value"].tolist() == [4.26] and sleeps == [0.5]


def test_unreachable_server_fails_at_once_naming_the_host_and_the_setting(sleeps):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = FredProvider(KEY, base_url=f"http://127.0.0.1:{port}/fred", max_retries=2,
                            backoff_seconds=0.5, sleep=sleeps.append)
    with pytest.raises(ProviderUnreachable) as info:
        provider.treasury_yields(["DGS10"], START, END)
    assert sleeps == []
    message = str(info.value)
    assert "connection refused" in message and "127.0.0.1" in message
    assert "FRED_API_KEY" in message
    assert KEY not in "".join(traceback.format_exception(info.value))


def assert_no_key_anywhere(error: BaseException, caplog, capsys) -> None:
    assert KEY not in str(error)
    assert KEY not in repr(error)
    assert KEY not in "".join(traceback.format_exception(error))
    assert error.__cause__ is None and error.__context__ is None
    # every record but the fake server's own access log (the real API sees the key too)
    client_side = [r for r in caplog.records if not r.name.startswith("werkzeug")]
    assert not [r for r in client_side if KEY in r.getMessage()]
    captured = capsys.readouterr()
    assert KEY not in captured.out and KEY not in captured.err


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (400, "Bad Request.  The value for variable api_key is not registered.  Read "
              "https://fred.stlouisfed.org/docs/api/api_key.html for more information."),
        (400, f"Bad Request.  Variable api_key={KEY} is not 32 character alpha-numeric "
              "lower-case string."),
        (401, "Unauthorized"),
        (403, f"Forbidden for api_key {KEY}"),
    ],
)
def test_rejected_key_fails_at_once_without_leaking_it(server, sleeps, caplog, capsys, status,
                                                       message):
    caplog.set_level(logging.DEBUG)
    expect_series(server, "DGS10", error_xml(status, message), status=status)
    with pytest.raises(ProviderError) as info:
        make_provider(server, sleeps).treasury_yields(["DGS10"], START, END)
    text = str(info.value)
    assert "FRED_API_KEY" in text and "missing or was rejected" in text
    assert f"HTTP {status}" in text
    assert len(server.log) == 1 and sleeps == []
    assert_no_key_anywhere(info.value, caplog, capsys)


def test_retry_logs_do_not_leak_the_key(server, sleeps, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    expect_series(server, "DGS10", f"gateway timeout for ?api_key={KEY}", status=504)
    with pytest.raises(ProviderError) as info:
        make_provider(server, sleeps, max_retries=1).treasury_yields(["DGS10"], START, END)
    assert "api_key=***" in str(info.value)
    assert_no_key_anywhere(info.value, caplog, capsys)


def test_other_client_errors_fail_without_retry(server, sleeps):
    expect_series(server, "DGS10", error_xml(400, "Bad Request.  Variable observation_start is "
                                                  "not a valid date."), status=400)
    with pytest.raises(ProviderError, match="observation_start"):
        make_provider(server, sleeps).treasury_yields(["DGS10"], START, END)
    assert len(server.log) == 1 and sleeps == []


def test_empty_key_is_refused_with_a_hint():
    with pytest.raises(ProviderError, match="FRED_API_KEY"):
        FredProvider("")


def test_series_ids_are_validated(server, sleeps):
    with pytest.raises(ValueError, match="series id"):
        make_provider(server, sleeps).treasury_yields(["DGS10&api_key=x"], START, END)
    assert server.log == []


def test_other_questions_belong_to_other_providers(server, sleeps):
    provider = make_provider(server, sleeps)
    assert isinstance(provider, MarketDataProvider) and provider.source == "fred"
    with pytest.raises(NotImplementedError, match="prices come from Polygon"):
        provider.prices(["AAPL"], START, END)
    with pytest.raises(NotImplementedError, match="option quotes come from Polygon"):
        provider.option_quotes(pd.DataFrame(), START)
    with pytest.raises(NotImplementedError, match="security reference data comes from Polygon"):
        provider.securities(["AAPL"])
    assert KEY not in repr(provider)
