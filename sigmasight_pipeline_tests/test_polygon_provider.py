"""PolygonProvider against a local HTTP server that answers like api.polygon.io."""

from __future__ import annotations

import datetime as dt
import logging
import math
import socket
import traceback
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from sigmasight_pipeline.providers.base import (
    CONTRACT_COLUMNS,
    OPTION_QUOTE_COLUMNS,
    PRICE_COLUMNS,
    SECURITY_COLUMNS,
    MarketDataProvider,
    ProviderError,
    ProviderUnreachable,
)
from sigmasight_pipeline.providers.polygon import (
    PolygonProvider,
    RateLimiter,
    dividend_factors,
    polygon_ticker,
    session_state,
)

NY = ZoneInfo("America/New_York")
KEY = "SECRETKEY123xyz"
#: Tuesday 2025-07-01, after the close: the last completed session is 2025-07-01.
AFTER_CLOSE = dt.datetime(2025, 7, 1, 20, 0, tzinfo=NY)
#: the same Tuesday during the session: the last completed session is Monday 2025-06-30.
MID_SESSION = dt.datetime(2025, 7, 1, 11, 0, tzinfo=NY)

D26, D27, D30, J01 = (dt.date(2025, 6, 26), dt.date(2025, 6, 27), dt.date(2025, 6, 30),
                      dt.date(2025, 7, 1))
AGGS_QUERY = {"sort": "asc", "limit": "50000"}


def ms(day: dt.date) -> int:
    """Polygon's daily-bar timestamp: midnight New York time, in ms since the epoch (UTC)."""
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=NY).timestamp() * 1000)


def ns(day: dt.date, hour: int = 16, minute: int = 0) -> int:
    stamp = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=NY).timestamp()
    return int(stamp) * 1_000_000_000


def bar(day, o, h, low, c, v, vw=None, n=None) -> dict:
    out = {"o": o, "h": h, "l": low, "c": c, "v": v, "t": ms(day)}
    if vw is not None:
        out["vw"] = vw
    if n is not None:
        out["n"] = n
    return out


def aggs_body(ticker: str, bars: list[dict], adjusted: bool) -> dict:
    body = {
        "ticker": ticker,
        "queryCount": len(bars),
        "resultsCount": len(bars),
        "adjusted": adjusted,
        "status": "OK",
        "request_id": "6a7e466379af0a71039d60cc78e72282",
        "count": len(bars),
    }
    if bars:  # Polygon leaves "results" out when there are none
        body["results"] = bars
    return body


def aggs_path(ticker: str, start: dt.date, end: dt.date) -> str:
    return f"/v2/aggs/ticker/{ticker}/range/1/day/{start.isoformat()}/{end.isoformat()}"


def expect_aggs(server, ticker, start, end, adjusted, bars):
    server.expect_request(
        aggs_path(ticker, start, end),
        method="GET",
        query_string={**AGGS_QUERY, "adjusted": "true" if adjusted else "false"},
    ).respond_with_json(aggs_body(ticker, bars, adjusted))


def expect_dividends(server, ticker, start, today, results):
    server.expect_request(
        "/v3/reference/dividends",
        query_string={
            "ticker": ticker,
            "ex_dividend_date.gt": start.isoformat(),
            "ex_dividend_date.lte": today.isoformat(),
            "limit": "1000",
        },
    ).respond_with_json({"results": results, "status": "OK", "request_id": "r1"})


class Recorder:
    """A fake clock whose sleep advances it, recording every wait."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


@pytest.fixture
def server(httpserver_ipv4):
    return httpserver_ipv4


@pytest.fixture
def recorder():
    return Recorder()


def make_provider(server, recorder, now=AFTER_CLOSE, **kwargs) -> PolygonProvider:
    options = {
        "max_requests_per_minute": None,
        "max_retries": 3,
        "backoff_seconds": 0.5,
        "timeout": 5.0,
        "sleep": recorder.sleep,
        "clock": recorder.clock,
        "now": lambda: now,
    }
    options.update(kwargs)
    base_url = server.url_for("/").rstrip("/") if server is not None else kwargs["base_url"]
    options.setdefault("base_url", base_url)
    return PolygonProvider(KEY, **options)


def requests_to(server, path: str) -> list:
    return [request for request, _ in server.log if request.path == path]


# -- prices ----------------------------------------------------------------------------------


def test_prices_parse_bars_splits_and_dividends_exactly(server, recorder):
    aapl = [
        bar(D26, 200.0, 202.0, 199.0, 201.0, 50_000_000, vw=200.9, n=600_000),
        bar(D27, 201.5, 203.0, 200.5, 202.0, 45_000_000, vw=201.8, n=550_000),
        bar(D30, 202.5, 204.0, 202.0, 203.5, 40_000_000, vw=203.1, n=500_000),
        bar(J01, 203.0, 206.0, 202.5, 205.0, 42_000_000, vw=204.6, n=510_000),
    ]
    expect_aggs(server, "AAPL", D26, J01, False, aapl)
    expect_aggs(server, "AAPL", D26, D30, True, aapl[:3])
    expect_dividends(server, "AAPL", D26, J01, [{
        "cash_amount": 0.26, "currency": "USD", "declaration_date": "2025-06-12",
        "dividend_type": "CD", "ex_dividend_date": "2025-06-30", "frequency": 4,
        "id": "E1", "pay_date": "2025-07-10", "record_date": "2025-06-30", "ticker": "AAPL",
    }])
    # a 10-for-1 split going ex on 06-27: the unadjusted close drops, the adjusted one does not
    nvda_raw = [
        bar(D26, 1190.0, 1210.0, 1185.0, 1200.0, 4_000_000),
        bar(D27, 120.5, 122.0, 119.0, 121.0, 41_000_000),
        bar(D30, 121.0, 123.0, 120.0, 122.0, 39_000_000),
        bar(J01, 122.0, 124.0, 121.0, 123.0, 38_000_000),
    ]
    nvda_adjusted = [
        bar(D26, 119.0, 121.0, 118.5, 120.0, 40_000_000),
        nvda_raw[1],
        nvda_raw[2],
    ]
    expect_aggs(server, "NVDA", D26, J01, False, nvda_raw)
    expect_aggs(server, "NVDA", D26, D30, True, nvda_adjusted)
    expect_dividends(server, "NVDA", D26, J01, [])

    provider = make_provider(server, recorder)
    frame = provider.prices(["NVDA", "AAPL", "AAPL"], D26, D30)

    assert list(frame.columns) == PRICE_COLUMNS
    assert frame["source"].eq("polygon").all()
    assert all(type(d) is dt.date for d in frame["date"])
    rows = {(r.symbol, r.date): r for r in frame.itertuples()}
    assert sorted(rows) == [("AAPL", D26), ("AAPL", D27), ("AAPL", D30),
                            ("NVDA", D26), ("NVDA", D27), ("NVDA", D30)]
    a26 = rows[("AAPL", D26)]
    assert (a26.open, a26.high, a26.low, a26.close, a26.volume) == (200.0, 202.0, 199.0, 201.0,
                                                                    50_000_000.0)
    factor = 1 - 0.26 / 202.0  # the close before the ex-date
    assert a26.adj_close == pytest.approx(201.0 * factor, rel=1e-12)
    assert rows[("AAPL", D27)].adj_close == pytest.approx(202.0 * factor, rel=1e-12)
    assert rows[("AAPL", D30)].adj_close == 203.5
    # total return over the ex-date = (price + dividend) / previous price
    assert rows[("AAPL", D30)].adj_close / rows[("AAPL", D27)].adj_close == pytest.approx(
        203.5 / (202.0 - 0.26), rel=1e-12
    )
    assert rows[("NVDA", D26)].close == 1200.0
    assert rows[("NVDA", D26)].adj_close == 120.0
    assert rows[("NVDA", D27)].adj_close == 121.0

    # three requests per symbol (duplicate symbols asked once), the key only in the header
    assert len(server.log) == 6
    for request, _ in server.log:
        assert request.headers["Authorization"] == f"Bearer {KEY}"
        assert KEY not in request.full_path
    assert recorder.sleeps == []


def test_prices_empty_response_gives_empty_frame(server, recorder):
    expect_aggs(server, "ZZZZ", D26, J01, False, [])
    frame = make_provider(server, recorder).prices(["ZZZZ"], D26, D30)
    assert frame.empty
    assert list(frame.columns) == PRICE_COLUMNS
    assert len(server.log) == 1  # no adjusted or dividend request for an unknown symbol
    assert make_provider(server, recorder).prices([], D26, D30).empty


def test_prices_partial_response(server, recorder):
    rows = [
        bar(D26, 100.0, 101.0, 99.0, 100.5, 1_000, vw=100.2, n=10),
        {"h": 102.0, "l": 100.0, "c": 101.5, "t": ms(D27)},  # no open, volume, vw, n
        {"o": 101.0, "h": 103.0, "l": 100.5, "v": 900, "t": ms(D30)},  # no close: dropped
    ]
    expect_aggs(server, "SPY", D26, D30, False, rows)
    expect_aggs(server, "SPY", D26, D30, True, rows[:1])  # adjusted bar of 06-27 missing
    server.expect_request(aggs_path("QQQQ", D26, D30)).respond_with_json(
        {"status": "NOT_FOUND", "request_id": "x", "message": "Ticker not found."}, status=404
    )
    expect_aggs(server, "ZZZZ", D26, D30, False, [])

    provider = make_provider(server, recorder, adjust_dividends=False)
    frame = provider.prices(["SPY", "QQQQ", "ZZZZ"], D26, D30)

    assert frame["symbol"].tolist() == ["SPY", "SPY"]
    assert frame["date"].tolist() == [D26, D27]
    first, second = frame.iloc[0], frame.iloc[1]
    assert (first.close, first.adj_close, first.volume) == (100.5, 100.5, 1000.0)
    assert second.close == 101.5 and second.high == 102.0
    assert math.isnan(second.open) and math.isnan(second.volume) and math.isnan(second.adj_close)
    assert recorder.sleeps == []  # a 404 is an answer, not a failure


def test_prices_drop_a_session_that_has_not_closed(server, recorder):
    rows = [bar(D30, 10.0, 11.0, 9.0, 10.5, 100), bar(J01, 10.5, 11.5, 10.0, 11.0, 50)]
    expect_aggs(server, "F", D30, D30, False, rows)  # Polygon may send today's partial bar
    expect_aggs(server, "F", D30, D30, True, rows)
    provider = make_provider(server, recorder, now=MID_SESSION, adjust_dividends=False)
    frame = provider.prices(["F"], D30, J01)
    assert frame["date"].tolist() == [D30]
    assert provider.prices(["F"], J01, J01).empty


def test_bar_dates_are_new_york_session_dates(server, recorder):
    # Polygon stamps a daily bar at midnight New York time: 04:00 UTC in summer, 05:00 in winter
    winter = dt.date(2025, 1, 3)
    assert ms(winter) == int(dt.datetime(2025, 1, 3, 5, tzinfo=dt.UTC).timestamp() * 1000)
    expect_aggs(server, "GE", winter, winter, False, [bar(winter, 1, 1, 1, 1, 1)])
    expect_aggs(server, "GE", winter, winter, True, [bar(winter, 1, 1, 1, 1, 1)])
    frame = make_provider(server, recorder, adjust_dividends=False).prices(["GE"], winter, winter)
    assert frame["date"].tolist() == [winter]


def test_prices_429_then_success_honours_retry_after(server, recorder):
    path = aggs_path("AAPL", D30, D30)
    server.expect_oneshot_request(path).respond_with_json(
        {"status": "ERROR", "request_id": "r", "error": "You've exceeded the maximum requests "
         "per minute, please wait or upgrade your subscription to continue."},
        status=429,
        headers={"Retry-After": "7"},
    )
    expect_aggs(server, "AAPL", D30, D30, False, [bar(D30, 1, 2, 0.5, 1.5, 10)])
    expect_aggs(server, "AAPL", D30, D30, True, [bar(D30, 1, 2, 0.5, 1.5, 10)])
    frame = make_provider(server, recorder, adjust_dividends=False).prices(["AAPL"], D30, D30)
    assert frame["close"].tolist() == [1.5]
    assert recorder.sleeps == [7.0]
    assert len(requests_to(server, path)) == 3  # 429, then unadjusted and adjusted


def test_persistent_500_raises_after_all_attempts(server, recorder):
    path = aggs_path("AAPL", D30, D30)
    server.expect_request(path).respond_with_data("upstream error", status=500)
    provider = make_provider(server, recorder, max_retries=3, adjust_dividends=False)
    with pytest.raises(ProviderError) as info:
        provider.prices(["AAPL"], D30, D30)
    assert len(requests_to(server, path)) == 4  # the first attempt and 3 retries
    assert recorder.sleeps == [0.5, 1.0, 2.0]  # exponential backoff
    assert "after 4 attempts" in str(info.value)
    assert "HTTP 500" in str(info.value)


def test_connection_refused_fails_at_once_naming_the_host_and_the_setting(recorder):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = make_provider(
        None, recorder, base_url=f"http://127.0.0.1:{port}", max_retries=5, adjust_dividends=False
    )
    with pytest.raises(ProviderUnreachable) as info:
        provider.prices(["AAPL"], D30, D30)
    assert recorder.sleeps == []  # no back-off: nothing answers, waiting does not help
    message = str(info.value)
    assert "connection refused" in message and "127.0.0.1" in message
    assert "POLYGON_API_KEY" in message and "SIGMASIGHT_MARKET_DATA" in message


def test_a_name_that_does_not_resolve_fails_at_once(recorder):
    provider = make_provider(None, recorder, base_url="http://api.polygon.invalid",
                             max_retries=5, adjust_dividends=False)
    with pytest.raises(ProviderUnreachable, match="name resolution failed") as info:
        provider.prices(["AAPL"], D30, D30)
    assert recorder.sleeps == [] and "api.polygon.invalid" in str(info.value)


def test_a_503_still_gets_the_long_back_off(server, recorder):
    server.expect_request(aggs_path("AAPL", D30, D30)).respond_with_data("busy", status=503)
    provider = make_provider(server, recorder, max_retries=3, adjust_dividends=False)
    with pytest.raises(ProviderError, match="after 4 attempts") as info:
        provider.prices(["AAPL"], D30, D30)
    assert not isinstance(info.value, ProviderUnreachable)
    assert recorder.sleeps == [0.5, 1.0, 2.0]


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


@pytest.mark.parametrize("status", [401, 403])
def test_rejected_key_fails_at_once_without_leaking_it(server, recorder, caplog, capsys, status):
    caplog.set_level(logging.DEBUG)  # urllib3 and polygon's own loggers included
    body = {"status": "ERROR", "request_id": "r", "error": f"Unknown API Key {KEY}"}
    server.expect_request("/v3/reference/tickers/AAPL").respond_with_json(body, status=status)
    with pytest.raises(ProviderError) as info:
        make_provider(server, recorder).securities(["AAPL"])
    message = str(info.value)
    assert "POLYGON_API_KEY" in message and "missing or was rejected" in message
    assert f"HTTP {status}" in message
    assert len(server.log) == 1 and recorder.sleeps == []
    assert_no_key_anywhere(info.value, caplog, capsys)


def test_failures_after_retries_do_not_leak_the_key(server, recorder, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    server.expect_request("/v3/reference/tickers/AAPL").respond_with_data(
        f"<html>bad gateway for /v3/reference/tickers/AAPL?apiKey={KEY}</html>", status=502
    )
    with pytest.raises(ProviderError) as info:
        make_provider(server, recorder, max_retries=1).securities(["AAPL"])
    assert "apiKey=***" in str(info.value)
    assert_no_key_anywhere(info.value, caplog, capsys)


def test_empty_key_is_refused_with_a_hint():
    with pytest.raises(ProviderError, match="POLYGON_API_KEY"):
        PolygonProvider("  ")


def test_rate_limiter_spaces_requests(server, recorder):
    for ticker in ("AAPL", "MSFT", "JPM"):
        server.expect_request(f"/v3/reference/tickers/{ticker}").respond_with_json(
            {"results": {"ticker": ticker, "name": ticker, "type": "CS", "market": "stocks"},
             "status": "OK", "request_id": "r"}
        )
    provider = make_provider(server, recorder, max_requests_per_minute=2)
    frame = provider.securities(["AAPL", "MSFT", "JPM"])
    assert len(frame) == 3
    assert recorder.sleeps == [pytest.approx(60.0)]


def test_rate_limiter_sliding_window():
    recorder = Recorder()
    limiter = RateLimiter(5, sleep=recorder.sleep, clock=recorder.clock)
    for _ in range(5):
        limiter.acquire()
    assert recorder.sleeps == []
    recorder.now += 20
    limiter.acquire()  # the 6th request in the minute waits for the first to age out
    assert recorder.sleeps == [pytest.approx(40.0)]
    unlimited = RateLimiter(None, sleep=recorder.sleep, clock=recorder.clock)
    for _ in range(100):
        unlimited.acquire()
    assert len(recorder.sleeps) == 1


# -- securities ------------------------------------------------------------------------------


def details(ticker: str, **fields) -> dict:
    return {"request_id": "r", "status": "OK", "results": {"ticker": ticker, **fields}}


def test_securities_success_partial_and_absent(server, recorder):
    server.expect_request("/v3/reference/tickers/AAPL").respond_with_json(details(
        "AAPL", name="Apple Inc.", market="stocks", locale="us", primary_exchange="XNAS",
        type="CS", active=True, currency_name="usd", cik="0000320193", sic_code="3571",
        sic_description="ELECTRONIC COMPUTERS", market_cap=3.1e12,
    ))
    server.expect_request("/v3/reference/tickers/SPY").respond_with_json(details(
        "SPY", name="SPDR S&P 500 ETF Trust", market="stocks", type="ETF", active=True,
    ))
    server.expect_request("/v3/reference/tickers/BRK.B").respond_with_json(details(
        "BRK.B", name="Berkshire Hathaway Inc.", market="stocks", type="CS", sic_code="6331",
        sic_description="FIRE, MARINE & CASUALTY INSURANCE",
    ))
    server.expect_request("/v3/reference/tickers/I:VIX").respond_with_json(details(
        "I:VIX", name="Cboe Volatility Index", market="indices", type="INDEX",
    ))
    server.expect_request("/v3/reference/tickers/NONAME").respond_with_json(details(
        "NONAME", market="stocks", type="CS",
    ))
    server.expect_request("/v3/reference/tickers/FXNAX").respond_with_json(
        {"status": "NOT_FOUND", "request_id": "r", "message": "Ticker not found."}, status=404
    )
    server.expect_request("/v3/reference/tickers/EMPTY").respond_with_json(
        {"status": "OK", "request_id": "r"}
    )
    symbols = ["AAPL", "SPY", "BRK-B", "VIX", "NONAME", "FXNAX", "EMPTY", "AAPL250815P00200000"]
    frame = make_provider(server, recorder).securities(symbols)

    assert list(frame.columns) == SECURITY_COLUMNS
    rows = frame.set_index("symbol").to_dict("index")
    assert set(rows) == {"AAPL", "SPY", "BRK-B", "VIX", "NONAME", "AAPL250815P00200000"}
    assert rows["AAPL"] == {"name": "Apple Inc.", "asset_class": "equity",
                            "sector": "Information Technology",  # SIC 3571 → GICS
                            "industry": "Electronic Computers",
                            "source": "polygon"}
    assert rows["SPY"]["asset_class"] == "etf"
    assert pd.isna(rows["SPY"]["sector"]) and pd.isna(rows["SPY"]["industry"])
    assert rows["BRK-B"]["sector"] == "Financials"  # SIC 6331
    assert rows["VIX"]["asset_class"] == "index"
    assert pd.isna(rows["NONAME"]["name"]) and rows["NONAME"]["asset_class"] == "equity"
    assert rows["AAPL250815P00200000"]["asset_class"] == "option"
    assert rows["AAPL250815P00200000"]["name"] == "AAPL 2025-08-15 200 Put"
    assert len(server.log) == 7  # the option is described without a request


def test_polygon_tickers():
    assert polygon_ticker("BRK-B") == "BRK.B"
    assert polygon_ticker("VIX") == "I:VIX"
    assert polygon_ticker("^SPX") == "I:SPX"
    assert polygon_ticker("AAPL250815P00200000") == "O:AAPL250815P00200000"
    assert polygon_ticker("O:AAPL250815P00200000") == "O:AAPL250815P00200000"
    assert polygon_ticker("aapl") == "AAPL"


# -- option quotes ---------------------------------------------------------------------------


def contracts(*rows) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=CONTRACT_COLUMNS)


AAPL_PUT = ("AAPL250815P00200000", "AAPL", 200.0, dt.date(2025, 8, 15), "P")
VIX_CALL = ("VIX250716C00025000", "VIX", 25.0, dt.date(2025, 7, 16), "C")
MSFT_PUT = ("MSFT250919P00380000", "MSFT", 380.0, dt.date(2025, 9, 19), "P")


def snapshot_body(ticker: str, **results) -> dict:
    return {"request_id": "r", "status": "OK", "results": {
        "details": {"contract_type": "put", "exercise_style": "american",
                    "expiration_date": "2025-08-15", "shares_per_contract": 100,
                    "strike_price": 200, "ticker": ticker},
        **results,
    }}


def test_option_quotes_from_the_snapshot_on_the_latest_session(server, recorder):
    server.expect_request("/v3/snapshot/options/AAPL/O:AAPL250815P00200000").respond_with_json(
        snapshot_body(
            "O:AAPL250815P00200000",
            break_even_price=195.9,
            day={"change": -0.2, "change_percent": -4.6, "close": 4.1, "high": 4.6,
                 "last_updated": ns(J01), "low": 3.9, "open": 4.4, "previous_close": 4.3,
                 "volume": 1520, "vwap": 4.21},
            greeks={"delta": -0.31, "gamma": 0.02, "theta": -0.05, "vega": 0.3},
            implied_volatility=0.2547,
            last_quote={"ask": 4.15, "ask_size": 30, "bid": 4.05, "bid_size": 25,
                        "last_updated": ns(J01, 15, 59), "midpoint": 4.1,
                        "timeframe": "REAL-TIME"},
            last_trade={"price": 4.12, "sip_timestamp": ns(J01, 15, 58), "size": 2},
            open_interest=12345,
            underlying_asset={"price": 207.8, "ticker": "AAPL", "timeframe": "REAL-TIME"},
        )
    )
    # partial: no quote, no greeks; the VIX option's underlying is the index I:VIX
    server.expect_request("/v3/snapshot/options/I:VIX/O:VIX250716C00025000").respond_with_json(
        snapshot_body("O:VIX250716C00025000", day={"close": 0.95, "last_updated": ns(J01)},
                      implied_volatility=1.12)
    )
    # unknown to the snapshot and without bars: absent
    server.expect_request("/v3/snapshot/options/MSFT/O:MSFT250919P00380000").respond_with_json(
        {"status": "NOT_FOUND", "request_id": "r", "message": "Contract not found."}, status=404
    )
    expect_aggs(server, "O:MSFT250919P00380000", J01, J01, False, [])

    frame = make_provider(server, recorder).option_quotes(
        contracts(AAPL_PUT, VIX_CALL, MSFT_PUT), J01
    )

    assert list(frame.columns) == OPTION_QUOTE_COLUMNS
    assert frame["symbol"].tolist() == ["AAPL250815P00200000", "VIX250716C00025000"]
    aapl = frame.iloc[0]
    assert (aapl.date, aapl.underlying, aapl.bid, aapl.ask, aapl.last) == (
        J01, "AAPL", 4.05, 4.15, 4.1)
    assert aapl.implied_vol == 0.2547 and aapl.open_interest == 12345.0
    assert aapl.source == "polygon"
    vix = frame.iloc[1]
    assert math.isnan(vix.bid) and math.isnan(vix.ask) and math.isnan(vix.open_interest)
    assert (vix.last, vix.implied_vol, vix.underlying) == (0.95, 1.12, "VIX")


def test_option_quotes_ignore_a_quote_from_another_day(server, recorder):
    server.expect_request("/v3/snapshot/options/AAPL/O:AAPL250815P00200000").respond_with_json(
        snapshot_body("O:AAPL250815P00200000", implied_volatility=0.3,
                      last_quote={"bid": 1.0, "ask": 1.2, "last_updated": ns(D27)},
                      day={"close": 1.1, "last_updated": ns(D27)})
    )
    frame = make_provider(server, recorder).option_quotes(contracts(AAPL_PUT), J01)
    row = frame.iloc[0]
    assert math.isnan(row.bid) and math.isnan(row.ask) and math.isnan(row.last)
    assert row.implied_vol == 0.3


def test_option_quotes_for_a_past_day_use_the_daily_bar(server, recorder):
    expect_aggs(server, "O:AAPL250815P00200000", D27, D27, False,
                [bar(D27, 4.0, 4.5, 3.8, 4.25, 812, vw=4.2, n=90)])
    expect_aggs(server, "O:MSFT250919P00380000", D27, D27, False, [])
    frame = make_provider(server, recorder).option_quotes(contracts(AAPL_PUT, MSFT_PUT), D27)
    assert frame["symbol"].tolist() == ["AAPL250815P00200000"]
    row = frame.iloc[0]
    assert (row.date, row.last, row.underlying) == (D27, 4.25, "AAPL")
    assert all(math.isnan(row[c]) for c in ("bid", "ask", "implied_vol", "open_interest"))
    assert not any("snapshot" in r.path for r, _ in server.log)


def test_option_quotes_during_the_next_session_use_bars_not_the_live_snapshot(server, recorder):
    expect_aggs(server, "O:AAPL250815P00200000", D30, D30, False, [bar(D30, 4, 4, 4, 4.0, 1)])
    provider = make_provider(server, recorder, now=MID_SESSION)
    assert provider.option_quotes(contracts(AAPL_PUT), D30)["last"].tolist() == [4.0]
    assert provider.option_quotes(contracts(AAPL_PUT), J01).empty  # not closed yet
    assert len(server.log) == 1


def test_option_snapshot_not_entitled_falls_back_to_bars(server, recorder, caplog):
    server.expect_request("/v3/snapshot/options/AAPL/O:AAPL250815P00200000").respond_with_json(
        {"status": "NOT_AUTHORIZED", "request_id": "r",
         "message": "You are not entitled to this data. Please upgrade your plan."}, status=403
    )
    expect_aggs(server, "O:AAPL250815P00200000", J01, J01, False, [bar(J01, 4, 4, 4, 4.2, 3)])
    expect_aggs(server, "O:MSFT250919P00380000", J01, J01, False, [bar(J01, 6, 6, 6, 6.1, 3)])
    with caplog.at_level(logging.WARNING):
        frame = make_provider(server, recorder).option_quotes(contracts(AAPL_PUT, MSFT_PUT), J01)
    assert frame["last"].tolist() == [4.2, 6.1]
    assert "not include" in caplog.text
    # one refused snapshot, then bars only
    assert sum("snapshot" in r.path for r, _ in server.log) == 1


def test_option_quotes_with_no_contracts(server, recorder):
    frame = make_provider(server, recorder).option_quotes(contracts(), J01)
    assert frame.empty and list(frame.columns) == OPTION_QUOTE_COLUMNS


# -- the rest --------------------------------------------------------------------------------


def test_treasury_yields_are_freds_job(server, recorder):
    provider = make_provider(server, recorder)
    assert isinstance(provider, MarketDataProvider) and provider.source == "polygon"
    with pytest.raises(NotImplementedError, match="FRED provides yields"):
        provider.treasury_yields(["DGS10"], D26, D30)
    assert KEY not in repr(provider)


def test_session_state():
    def at(day, hour, minute=0):
        return session_state(dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=NY))

    assert at(J01, 20) == (J01, J01)
    assert at(J01, 16) == (J01, J01)
    assert at(J01, 11) == (D30, J01)
    assert at(J01, 8) == (D30, D30)
    saturday = dt.date(2025, 7, 5)
    assert at(saturday, 12) == (dt.date(2025, 7, 3), dt.date(2025, 7, 3))  # 07-04 is a holiday
    utc_evening = dt.datetime(2025, 7, 2, 1, 0, tzinfo=dt.UTC).astimezone(NY)  # 21:00 in NY
    assert session_state(utc_evening) == (J01, J01)


def test_dividend_factors():
    dates = [D26, D27, D30, J01]
    closes = pd.Series([100.0, 100.0, 99.0, 98.0]).to_numpy()
    factors = dividend_factors(dates, closes, [(D30, 1.0), (J01, 0.99), (D26, 5.0)])
    assert factors.tolist() == pytest.approx([0.99 * 0.99, 0.99 * 0.99, 0.99, 1.0])


# -- GICS sectors from SIC codes -------------------------------------------------------------

#: (ticker, SIC code Polygon reports, the company's actual GICS sector as S&P/MSCI publish it)
SIC_CASES = [
    ("TSLA", "3711", "Consumer Discretionary"),   # motor vehicles
    ("JNJ", "2834", "Health Care"),               # pharmaceutical preparations
    ("UNH", "6324", "Health Care"),               # hospital & medical service plans
    ("GOOGL", "7370", "Communication Services"),  # interactive media
    ("MSFT", "7372", "Information Technology"),   # prepackaged software
    ("NVDA", "3674", "Information Technology"),   # semiconductors
    ("XOM", "2911", "Energy"),                    # petroleum refining
    ("PG", "2840", "Consumer Staples"),           # soaps, detergents
    ("NEE", "4911", "Utilities"),                 # electric services
    ("O", "6798", "Real Estate"),                 # REIT
    ("JPM", "6021", "Financials"),                # national commercial banks
    ("GE", "3724", "Industrials"),                # aircraft engines
    ("NFLX", "7841", "Communication Services"),   # video tape rental
    ("LIN", "2810", "Materials"),                 # industrial inorganic chemicals
    ("KMI", "4922", "Energy"),                    # natural gas transmission
    ("WMT", "5331", "Consumer Staples"),          # variety stores
    ("AMZN", "5961", "Consumer Discretionary"),   # catalog & mail-order houses
]


def test_securities_sector_is_the_gics_sector_of_the_sic_code(server, recorder):
    for ticker, sic, _ in SIC_CASES:
        server.expect_request(f"/v3/reference/tickers/{ticker}").respond_with_json(details(
            ticker, name=ticker, market="stocks", type="CS", sic_code=sic,
            sic_description="X"))
    server.expect_request("/v3/reference/tickers/SHELL").respond_with_json(details(
        "SHELL", name="Blank check", market="stocks", type="CS", sic_code="9995",
        sic_description="NON-OPERATING ESTABLISHMENTS"))
    frame = make_provider(server, recorder).securities([t for t, _, _ in SIC_CASES] + ["SHELL"])
    sectors = frame.set_index("symbol")["sector"].to_dict()
    assert {t: sectors[t] for t, _, _ in SIC_CASES} == {t: g for t, _, g in SIC_CASES}
    assert pd.isna(sectors["SHELL"])  # 99xx nonclassifiable: no sector → "(unclassified)"
    assert len(server.log) == len(SIC_CASES) + 1
