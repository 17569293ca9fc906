"""Polygon on a real account: grouped daily bars for symbols whose history is stored, and
market-wide corporate-action listings, against a local server that answers like
api.polygon.io for every endpoint the provider uses (one fake market behind all of them)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from werkzeug import Response

from sigmasight_pipeline.providers.polygon import PolygonProvider, polygon_ticker

NY = ZoneInfo("America/New_York")
KEY = "SECRETKEY123xyz"
#: Tuesday 2025-07-01 after the close: the last completed session is 2025-07-01
AFTER_CLOSE = dt.datetime(2025, 7, 1, 20, 0, tzinfo=NY)
SESSIONS = [dt.date(2025, 6, 25), dt.date(2025, 6, 26), dt.date(2025, 6, 27),
            dt.date(2025, 6, 30), dt.date(2025, 7, 1)]
D27, D30 = dt.date(2025, 6, 27), dt.date(2025, 6, 30)
#: the demo book's symbols (price_symbols of demo_positions.csv): stocks, ETFs, funds, VIX
DEMO_SYMBOLS = [
    "AAPL", "AMD", "AMZN", "BND", "BRK-B", "C", "DJP", "F", "FCNTX", "FMAGX", "FXNAX", "GE",
    "GLD", "GOOGL", "HD", "IWM", "JNJ", "JPM", "META", "MSFT", "MTUM", "NFLX", "NVDA", "PG",
    "PTON", "QQQ", "QUAL", "ROKU", "SHOP", "SPY", "TSLA", "UNH", "USMV", "V", "VIX", "VNQ",
    "VTI", "VTIAX", "VTV", "VUG", "XOM", "ZOOM"]
#: mutual funds: absent from the stocks' grouped bars, fetched per symbol
FUNDS = {"FCNTX", "FMAGX", "FXNAX", "VTIAX"}


def _ms(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=NY).timestamp() * 1000)


class FakeMarket:
    """Bars, one 2-for-1 split (NVDA ex 06-30) and one dividend (AAPL ex 06-30) per ticker."""

    def __init__(self, symbols):
        self.tickers = [polygon_ticker(s) for s in symbols]

    def raw_close(self, ticker: str, day: dt.date) -> float:
        base = 50.0 + 3.0 * (sum(map(ord, ticker)) % 40) + SESSIONS.index(day)
        return base * 2 if ticker == "NVDA" and day < D30 else base

    def adjusted_close(self, ticker: str, day: dt.date) -> float:
        raw = self.raw_close(ticker, day)
        return raw / 2 if ticker == "NVDA" and day < D30 else raw

    def bar(self, ticker: str, day: dt.date, adjusted: bool) -> dict:
        c = self.adjusted_close(ticker, day) if adjusted else self.raw_close(ticker, day)
        return {"o": c - 0.5, "h": c + 1.0, "l": c - 1.0, "c": c, "v": 1_000_000.0,
                "t": _ms(day)}

    def handle(self, request) -> Response:
        path, args = request.path, request.args
        adjusted = args.get("adjusted") == "true"
        if m := re.fullmatch(r"/v2/aggs/ticker/([^/]+)/range/1/day/([\d-]+)/([\d-]+)", path):
            ticker, lo, hi = m[1], dt.date.fromisoformat(m[2]), dt.date.fromisoformat(m[3])
            results = [self.bar(ticker, d, adjusted) for d in SESSIONS if lo <= d <= hi]
            body = {"ticker": ticker, "status": "OK", "results": results,
                    "resultsCount": len(results)}
        elif m := re.fullmatch(r"/v2/aggs/grouped/locale/us/market/stocks/([\d-]+)", path):
            day = dt.date.fromisoformat(m[1])
            results = [{"T": t, **self.bar(t, day, adjusted)} for t in self.tickers
                       if not t.startswith("I:") and t not in FUNDS]
            body = {"status": "OK", "results": results, "resultsCount": len(results)}
        elif path == "/v3/reference/dividends":
            gt, lte = args.get("ex_dividend_date.gt"), args.get("ex_dividend_date.lte")
            rows = [{"ticker": "AAPL", "ex_dividend_date": "2025-06-30", "cash_amount": 0.26,
                     "currency": "USD", "dividend_type": "CD"}]
            rows = [r for r in rows if gt < r["ex_dividend_date"] <= lte
                    and args.get("ticker") in (None, r["ticker"])]
            body = {"status": "OK", "results": rows}
        elif path == "/v3/reference/splits":
            rows = [{"ticker": "NVDA", "execution_date": "2025-06-30", "split_from": 1,
                     "split_to": 2}]
            rows = [r for r in rows if args["execution_date.gte"] <= r["execution_date"]
                    <= args["execution_date.lte"] and args.get("ticker") in (None, r["ticker"])]
            body = {"status": "OK", "results": rows}
        else:
            return Response("not found", status=404)
        return Response(json.dumps(body), content_type="application/json")


@pytest.fixture
def market(httpserver_ipv4):
    fake = FakeMarket(DEMO_SYMBOLS)
    httpserver_ipv4.expect_request(re.compile(".*")).respond_with_handler(fake.handle)
    return httpserver_ipv4


def _provider(server) -> PolygonProvider:
    return PolygonProvider(KEY, base_url=server.url_for("/").rstrip("/"),
                           max_requests_per_minute=None, max_retries=0,
                           sleep=lambda s: None, now=lambda: AFTER_CLOSE)


def _kinds(server) -> Counter:
    def kind(path: str) -> str:
        if path.startswith("/v2/aggs/grouped"):
            return "grouped"
        if path.startswith("/v2/aggs/ticker"):
            return "per-symbol bars"
        return path.rsplit("/", 1)[-1]
    return Counter(kind(request.path) for request, _ in server.log)


def test_grouped_daily_bars_give_exactly_the_per_symbol_frame_in_far_fewer_requests(market):
    per_symbol = _provider(market).prices(DEMO_SYMBOLS, D27, D30)
    before = len(market.log)
    market.clear_log()
    grouped = _provider(market).daily_prices(DEMO_SYMBOLS, D27, D30)
    after = len(market.log)
    pd.testing.assert_frame_equal(grouped, per_symbol)
    # NVDA's split and AAPL's dividend are in adj_close exactly as on the per-symbol path
    nvda = grouped[grouped["symbol"] == "NVDA"].set_index("date")
    assert nvda.loc[D27, "close"] == 2 * nvda.loc[D27, "adj_close"]
    # before: 2 bar series + dividends per stock, 2 bar series for VIX (index)
    assert before == 3 * (len(DEMO_SYMBOLS) - 1) + 2 == 125
    # after: unadjusted grouped bars 06-27..07-01 (3 sessions: the close before any later
    # ex-date), split-adjusted 06-27 and 06-30, one market-wide dividends listing; the four
    # mutual funds and VIX per symbol (3 × 4 + 2)
    assert _kinds(market) == Counter({"grouped": 5, "dividends": 5, "per-symbol bars": 10})
    assert after == 20


def test_corporate_actions_of_a_daily_window_come_from_market_wide_listings(market):
    actions = _provider(market).corporate_actions(DEMO_SYMBOLS, D27, D30)
    assert len(market.log) == 2  # splits + dividends for every ticker at once
    assert actions[["symbol", "ex_date", "action", "ratio"]].astype(object).where(
        actions[["symbol", "ex_date", "action", "ratio"]].notna(), None).values.tolist() == [
        ["AAPL", D30, "dividend", None], ["NVDA", D30, "split", 2.0]]
    assert actions.loc[actions["action"] == "dividend", "cash_amount"].tolist() == [0.26]
    market.clear_log()
    per_symbol = _provider(market).corporate_actions(["AAPL", "NVDA"], dt.date(2024, 1, 2), D30)
    pd.testing.assert_frame_equal(per_symbol, actions)
    assert len(market.log) == 4  # a long window: two requests per stock
