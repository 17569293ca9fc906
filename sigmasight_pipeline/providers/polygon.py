"""Market data from Polygon.io (``SIGMASIGHT_MARKET_DATA=polygon``, key in ``POLYGON_API_KEY``).

Built on ``polygon.RESTClient`` (polygon-api-client), which builds the requests and parses
the responses. The client's own transport behaviour is replaced, because in 1.16.3 it:

- retries 413/429/499/5xx inside urllib3 (``Retry(total=retries, backoff_factor=0.1)``) with
  ``time.sleep`` that cannot be injected, and raises urllib3's ``MaxRetryError`` when done;
- raises ``BadResponse(body)`` for any other non-200 status, without the status code, so a
  401 cannot be told from a 404 except by parsing the body;
- configures connect/read timeouts but never passes them to the request (no timeout at all).

So the provider puts a thin guard in front of the client's ``urllib3.PoolManager``
(``RESTClient.client``): every HTTP request goes through the rate limiter, is sent with
urllib3 retries disabled and this provider's timeout, and a non-200 status raises
:class:`~sigmasight_pipeline.providers.http_retry.HTTPStatusError` carrying the status and
``Retry-After``. Around each logical call :meth:`PolygonProvider._request` retries 429, 499,
5xx, connection errors and non-JSON bodies with exponential backoff (``backoff_seconds ×
2^k``, at least ``Retry-After`` when the server sends one; see ``http_retry``),
``max_retries`` times after the first attempt, then raises :class:`ProviderError`.
401/403 raise at once. The key travels only in the ``Authorization: Bearer`` header; every
message is redacted anyway and every :class:`ProviderError` is raised outside the ``except``
block, so neither ``__cause__`` nor ``__context__`` can carry client text.

Conventions of the frames returned (see ``base.py`` for the columns):

- ``prices``: ``close`` and OHLC are the *unadjusted* bars (``adjusted=false``), the prices
  that actually traded. ``adj_close`` is Polygon's split-adjusted close (``adjusted=true``)
  multiplied by a cash-dividend factor ``Π (1 − D / close before the ex-date)`` over the
  ex-dividend dates after the bar, taken from ``/v3/reference/dividends`` (Polygon adjusts
  aggregates for splits only). Both adjustments run as of the fetch ("now"), like a vendor's
  adjusted close: ratios of ``adj_close`` are total returns. Three requests per symbol
  (two with ``adjust_dividends=False``, whose ``adj_close`` is split-adjusted only).
- Bars are dated by the America/New_York session date of their millisecond UTC timestamp.
  Only completed sessions are returned: today's bar is dropped until 16:00 New York time.
- Symbols use the pipeline's spelling; the Polygon ticker is derived (``BRK-B`` → ``BRK.B``,
  ``VIX``/``^VIX`` → ``I:VIX``, options ``AAPL250815P00200000`` → ``O:AAPL250815P00200000``).
- Unknown symbols, contracts without data and 404s are absent from the result.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import urllib3
from polygon import RESTClient

from sigmasight_pipeline import calendar as nyse
from sigmasight_pipeline.providers.base import (
    CORPORATE_ACTION_COLUMNS,
    OPTION_QUOTE_COLUMNS,
    PRICE_COLUMNS,
    SECURITY_COLUMNS,
    ProviderError,
    empty_frame,
)
from sigmasight_pipeline.providers.http_retry import (
    AUTH_STATUSES,
    RETRYABLE_STATUSES,
    HTTPStatusError,
    redact,
    request_with_retries,
    retry_after_seconds,
)
from sigmasight_pipeline.providers.sectors import gics_sector_of_sic

logger = logging.getLogger(__name__)

NEW_YORK = ZoneInfo("America/New_York")
SESSION_OPEN = dt.time(9, 30)
SESSION_CLOSE = dt.time(16, 0)

#: Statuses worth another attempt: the shared set plus 499 (Polygon's client retries the same
#: set, plus 413) and 200, which :class:`_GuardedPool` raises for a body that is not JSON.
_RETRY_STATUSES = RETRYABLE_STATUSES | {499, 200}

#: Pipeline symbols that are indices at Polygon (``I:`` tickers, Indices plans).
INDEX_TICKERS = {
    "VIX": "I:VIX",
    "SPX": "I:SPX",
    "NDX": "I:NDX",
    "RUT": "I:RUT",
    "DJI": "I:DJI",
}
#: Polygon ticker types → SPEC asset_class.
ETF_TYPES = frozenset({"ETF", "ETN", "ETV", "ETS"})
FUND_TYPES = frozenset({"FUND"})

OCC_PATTERN = re.compile(
    r"^(?P<root>[A-Z0-9.]{1,6})(?P<expiry>\d{6})(?P<right>[CP])(?P<strike>\d{8})$"
)

_NOT_FOUND = object()
_FORBIDDEN = object()
#: corporate actions of a window up to this many calendar days come from market-wide
#: listings (a few pages for every US stock) rather than two requests per symbol
MARKET_WIDE_DAYS = 31


class RateLimiter:
    """At most ``max_per_period`` acquisitions in any sliding window of ``period`` seconds.

    ``None`` means unlimited. ``sleep`` and ``clock`` are injectable so tests do not wait;
    after a sleep the limiter assumes the time has passed even if ``clock`` disagrees.
    """

    def __init__(
        self,
        max_per_period: int | None,
        period: float = 60.0,
        sleep: Callable[[float], Any] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        if max_per_period is not None and max_per_period < 1:
            raise ValueError("max_requests_per_minute must be a positive integer or None")
        self.max_per_period = max_per_period
        self.period = period
        self._sleep = sleep
        self._clock = clock
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        if self.max_per_period is None:
            return
        with self._lock:
            now = self._clock()
            while self._sent and self._sent[0] <= now - self.period:
                self._sent.popleft()
            if len(self._sent) >= self.max_per_period:
                wait = self._sent[0] + self.period - now
                if wait > 0:
                    logger.debug("Polygon rate limit: waiting %.1f s", wait)
                    self._sleep(wait)
                now = max(self._clock(), self._sent[0] + self.period)
                while self._sent and self._sent[0] <= now - self.period:
                    self._sent.popleft()
            self._sent.append(now)


class _GuardedPool:
    """Stands in for ``RESTClient.client`` (a ``urllib3.PoolManager``).

    Rate-limits every request, disables urllib3's retries, applies the timeout, and turns a
    non-200 status or a non-JSON body into :class:`HTTPStatusError`.
    """

    def __init__(
        self,
        pool: urllib3.PoolManager,
        limiter: RateLimiter,
        timeout: float,
        redact: Callable[[str], str],
    ):
        self._pool = pool
        self._limiter = limiter
        self._timeout = urllib3.Timeout(connect=timeout, read=timeout)
        self._redact = redact

    def request(self, method: str, url: str, **kwargs: Any) -> urllib3.BaseHTTPResponse:
        self._limiter.acquire()
        kwargs["retries"] = False
        kwargs.setdefault("timeout", self._timeout)
        response = self._pool.request(method, url, **kwargs)
        if response.status != 200:
            raise HTTPStatusError(
                response.status,
                self._redact(_error_detail(response.data)),
                retry_after_seconds(response.headers.get("Retry-After")),
            )
        try:
            json.loads(response.data)
        except ValueError:
            # The client would log this and return no rows, which reads as "no data".
            raise HTTPStatusError(200, "the response body was not JSON") from None
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)


class PolygonProvider:
    """Daily bars, option quotes and reference data from Polygon.io.

    ``max_retries`` is the number of retries after the first attempt (so a persistent 500
    is seen ``max_retries + 1`` times). ``max_requests_per_minute`` throttles every HTTP
    request (Polygon's free plan allows 5); ``None`` disables the limiter. ``sleep``,
    ``clock`` and ``now`` (an aware datetime; New York time is derived from it) are
    injectable for tests.
    """

    source = "polygon"

    def __init__(
        self,
        api_key: str,
        base_url: str = "https://api.polygon.io",
        max_requests_per_minute: int | None = 5,
        max_retries: int = 5,
        backoff_seconds: float = 1.0,
        timeout: float = 10.0,
        *,
        adjust_dividends: bool = True,
        sleep: Callable[[float], Any] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], dt.datetime] | None = None,
    ):
        if not api_key or not api_key.strip():
            raise ProviderError(
                "Polygon: no API key. Set POLYGON_API_KEY to your Polygon.io key, or choose "
                "another source with SIGMASIGHT_MARKET_DATA=simulated or files."
            )
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self.backoff_seconds = backoff_seconds
        self.adjust_dividends = adjust_dividends
        self._sleep = sleep
        self._now = now or (lambda: dt.datetime.now(NEW_YORK))
        self._limiter = RateLimiter(max_requests_per_minute, sleep=sleep, clock=clock)
        self._client = RESTClient(
            api_key=api_key,
            base=self.base_url,
            connect_timeout=timeout,
            read_timeout=timeout,
            retries=0,
            pagination=True,
        )
        self._client.client = _GuardedPool(
            self._client.client, self._limiter, timeout, self._redact
        )

    def __repr__(self) -> str:
        return f"PolygonProvider(base_url={self.base_url!r})"

    # -- the four questions --------------------------------------------------------------

    def prices(self, symbols: Sequence[str], start: dt.date, end: dt.date) -> pd.DataFrame:
        """Daily bars in [start, end] for each symbol (PRICE_COLUMNS); see module docstring."""
        now = self._now_ny()
        completed, _ = session_state(now)
        last_day = min(end, completed)
        frames = []
        if start <= last_day:
            for symbol in _unique(symbols):
                frame = self._symbol_prices(symbol, start, last_day, now.date())
                if frame is not None:
                    frames.append(frame)
        if not frames:
            return empty_frame(PRICE_COLUMNS)
        out = pd.concat(frames, ignore_index=True)
        return out.sort_values(["symbol", "date"], ignore_index=True)[PRICE_COLUMNS]

    def option_quotes(self, contracts: pd.DataFrame, day: dt.date) -> pd.DataFrame:
        """End-of-day quotes on ``day`` for ``contracts`` (OPTION_QUOTE_COLUMNS).

        When ``day`` is the last completed session and no later session has opened, the
        live snapshot supplies bid/ask (last quote), last (the day bar's close), implied
        volatility and open interest. For earlier days Polygon keeps no historical snapshot:
        ``last`` is the close of the contract's daily bar, bid/ask/implied_vol/open_interest
        are NaN (the Greeks engine then implies or estimates the volatility). A session that
        has not closed yet returns no rows.
        """
        if contracts is None or len(contracts) == 0:
            return empty_frame(OPTION_QUOTE_COLUMNS)
        completed, live = session_state(self._now_ny())
        if day > completed:
            logger.info("Polygon: no option quotes for %s, the session has not closed yet", day)
            return empty_frame(OPTION_QUOTE_COLUMNS)
        use_snapshot = day == completed == live
        rows = []
        seen = set()
        for record in contracts.to_dict("records"):
            symbol = str(record["symbol"]).strip()
            if symbol in seen:
                continue
            seen.add(symbol)
            occ = occ_code(symbol)
            underlying = _text(record.get("underlying")) or _occ_root(occ)
            row = None
            need_aggregates = True
            if use_snapshot and underlying:
                result = self._snapshot_quote(symbol, occ, underlying, day)
                if result is _FORBIDDEN:
                    use_snapshot = False  # not entitled: aggregates for every contract
                    logger.warning(
                        "Polygon refused option snapshots (HTTP 403: the plan does not include "
                        "them); using daily aggregates for %s, without bid/ask/implied vol",
                        day,
                    )
                elif result is not _NOT_FOUND:
                    row, need_aggregates = result, False
            if need_aggregates:
                row = self._aggregate_quote(symbol, occ, underlying, day)
            if row is not None:
                rows.append(row)
        if not rows:
            return empty_frame(OPTION_QUOTE_COLUMNS)
        return pd.DataFrame(rows, columns=OPTION_QUOTE_COLUMNS)

    def treasury_yields(
        self, series_ids: Sequence[str], start: dt.date, end: dt.date
    ) -> pd.DataFrame:
        raise NotImplementedError(
            "Polygon does not provide Treasury yields to this pipeline: FRED provides yields "
            "(FredProvider, key in FRED_API_KEY)."
        )

    def securities(self, symbols: Sequence[str]) -> pd.DataFrame:
        """Name, asset class, sector and industry (SECURITY_COLUMNS) from ticker details.

        ``sector`` is the GICS sector of Polygon's ``sic_code`` by the packaged SIC → GICS
        table (:func:`~sigmasight_pipeline.providers.sectors.gics_sector_of_sic`; Polygon has
        no GICS sectors) and ``industry`` its ``sic_description``; both are empty for funds.
        OCC option symbols are described from the code itself, without a request.
        """
        rows = []
        for symbol in _unique(symbols):
            option = _option_security(symbol)
            if option is not None:
                rows.append(option)
                continue
            ticker = polygon_ticker(symbol)
            details = self._request(
                f"ticker details for {symbol}",
                lambda ticker=ticker: self._client.get_ticker_details(ticker),
            )
            if details is _NOT_FOUND or not hasattr(details, "name"):
                logger.info("Polygon has no ticker details for %s", symbol)
                continue
            industry = _text(details.sic_description)
            rows.append(
                {
                    "symbol": symbol,
                    "name": _text(details.name),
                    "asset_class": asset_class(details.type, details.market, ticker),
                    "sector": gics_sector_of_sic(details.sic_code),
                    "industry": industry.title() if industry else None,
                    "source": self.source,
                }
            )
        if not rows:
            return empty_frame(SECURITY_COLUMNS)
        return pd.DataFrame(rows, columns=SECURITY_COLUMNS)

    def corporate_actions(self, symbols: Sequence[str], start: dt.date, end: dt.date
                          ) -> pd.DataFrame:
        """Splits (``/v3/reference/splits``: ratio = split_to / split_from) and cash
        dividends (``/v3/reference/dividends``) with ex_date in [start, end], SPEC §8.

        Two requests per stock (indices have neither); for a window of at most
        :data:`MARKET_WIDE_DAYS` days (a daily run) two market-wide listings instead.
        """
        rows = []
        tickers = {polygon_ticker(s): s for s in _unique(symbols)
                   if not polygon_ticker(s).startswith("I:")}
        if tickers and (end - start).days <= MARKET_WIDE_DAYS and len(tickers) > 1:
            splits = self._market_splits(tickers, start, end)
            dividends = self._market_dividends(tickers, start - dt.timedelta(days=1), end)
        else:
            splits = {s: self._splits(s, t, start, end) for t, s in tickers.items()}
            dividends = {s: self._dividends(s, t, start - dt.timedelta(days=1), end)
                         for t, s in tickers.items()}
        for symbol in tickers.values():
            rows.extend((symbol, ex, "split", ratio, math.nan)
                        for ex, ratio in splits.get(symbol, []))
            rows.extend((symbol, ex, "dividend", math.nan, cash)
                        for ex, cash in dividends.get(symbol, []) if ex <= end)
        if not rows:
            return empty_frame(CORPORATE_ACTION_COLUMNS)
        frame = pd.DataFrame(rows, columns=CORPORATE_ACTION_COLUMNS[:-1])
        frame["source"] = self.source
        # Polygon can list a dividend twice (e.g. regular and special on one day): one row
        frame = frame.groupby(["symbol", "ex_date", "action"], as_index=False, sort=True).agg(
            ratio=("ratio", "prod"), cash_amount=("cash_amount", "sum"), source=("source", "first"))
        split = frame["action"] == "split"
        frame.loc[split, "cash_amount"] = math.nan
        frame.loc[~split, "ratio"] = math.nan
        return frame[CORPORATE_ACTION_COLUMNS]

    def _splits(self, symbol: str, ticker: str, start: dt.date, end: dt.date
                ) -> list[tuple[dt.date, float]]:
        records = self._request(
            f"splits of {symbol} {start}..{end}",
            lambda: list(
                self._client.list_splits(
                    ticker=ticker,
                    execution_date_gte=start.isoformat(),
                    execution_date_lte=end.isoformat(),
                    limit=1000,
                )
            ),
        )
        return [] if records is _NOT_FOUND else _split_ratios(symbol, records)

    # -- prices ----------------------------------------------------------------------------

    def _symbol_prices(
        self, symbol: str, start: dt.date, end: dt.date, today: dt.date
    ) -> pd.DataFrame | None:
        ticker = polygon_ticker(symbol)
        with_dividends = self.adjust_dividends and not ticker.startswith("I:")
        # Unadjusted bars run to today so that the close before every later ex-date is known.
        fetch_to = max(end, today) if with_dividends else end
        bars = self._bars(symbol, ticker, start, fetch_to, adjusted=False)
        if bars.empty:
            logger.info("Polygon has no daily bars for %s in %s..%s", symbol, start, end)
            return None
        in_window = bars[(bars["date"] >= start) & (bars["date"] <= end)]
        if in_window.empty:
            logger.info("Polygon has no daily bars for %s in %s..%s", symbol, start, end)
            return None
        split_adjusted = self._bars(symbol, ticker, start, end, adjusted=True)
        adj_close = (
            in_window["date"]
            .map(split_adjusted.set_index("date")["close"])
            .astype("float64")
            .to_numpy()
        )
        if with_dividends:
            dividends = self._dividends(symbol, ticker, start, today)
            factors = dividend_factors(bars["date"].tolist(), bars["close"].to_numpy(), dividends)
            adj_close = adj_close * factors[in_window.index.to_numpy()]
        out = in_window.assign(symbol=symbol, adj_close=adj_close, source=self.source)
        return out[PRICE_COLUMNS]

    def _bars(
        self, symbol: str, ticker: str, start: dt.date, end: dt.date, *, adjusted: bool
    ) -> pd.DataFrame:
        """Daily bars as a frame (date, open, high, low, close, volume), index 0..n-1."""
        kind = "split-adjusted" if adjusted else "unadjusted"
        aggs = self._request(
            f"{kind} daily bars for {symbol} {start}..{end}",
            lambda: list(
                self._client.list_aggs(
                    ticker,
                    1,
                    "day",
                    start.isoformat(),
                    end.isoformat(),
                    adjusted=adjusted,
                    sort="asc",
                    limit=50000,
                )
            ),
        )
        return bars_frame([] if aggs is _NOT_FOUND else aggs)

    def _dividends(
        self, symbol: str, ticker: str, start: dt.date, today: dt.date
    ) -> list[tuple[dt.date, float]]:
        records = self._request(
            f"dividends of {symbol} after {start}",
            lambda: list(
                self._client.list_dividends(
                    ticker=ticker,
                    ex_dividend_date_gt=start.isoformat(),
                    ex_dividend_date_lte=today.isoformat(),
                    limit=1000,
                )
            ),
        )
        return [] if records is _NOT_FOUND else _cash_dividends(symbol, records)

    # -- grouped daily bars (one request per session for every US stock) -----------------

    def daily_prices(self, symbols: Sequence[str], start: dt.date, end: dt.date
                     ) -> pd.DataFrame:
        """The frame of :meth:`prices` in the fewest requests, for symbols whose history is
        already stored (the daily run).

        Grouped daily bars (``get_grouped_daily_aggs``: every US stock of one session in one
        request) when that costs fewer requests than per-symbol history: unadjusted bars for
        each session from ``start`` to the last completed one (the close before every later
        ex-date, as :meth:`prices` reads), split-adjusted bars for [start, end], and one
        market-wide dividends listing — against three requests per symbol. Symbols the
        grouped bars lack (indices, mutual funds) are fetched per symbol.
        """
        now = self._now_ny()
        completed, _ = session_state(now)
        last_day = min(end, completed)
        wanted = _unique(symbols)
        stocks = [s for s in wanted if not polygon_ticker(s).startswith("I:")]
        window = _sessions_between(start, last_day)
        raw_days = _sessions_between(start, completed) if self.adjust_dividends else window
        grouped_cost = len(raw_days) + len(window) + int(self.adjust_dividends)
        per_symbol_cost = len(stocks) * (3 if self.adjust_dividends else 2)
        if not window or grouped_cost >= per_symbol_cost:
            return self.prices(wanted, start, end)
        tickers = {polygon_ticker(s): s for s in stocks}
        raw = pd.concat([self._grouped(d, tickers, adjusted=False) for d in raw_days],
                        ignore_index=True)
        split_adjusted = pd.concat([self._grouped(d, tickers, adjusted=True)[
            ["symbol", "date", "close"]] for d in window], ignore_index=True)
        dividends = (self._market_dividends(tickers, start, now.date())
                     if self.adjust_dividends else {})
        frames = []
        for symbol, bars in raw.groupby("symbol", sort=True):
            bars = bars.sort_values("date", ignore_index=True)
            in_window = bars[(bars["date"] >= start) & (bars["date"] <= last_day)]
            if in_window.empty:
                continue
            adjusted = split_adjusted[split_adjusted["symbol"] == symbol].set_index("date")
            adj_close = in_window["date"].map(adjusted["close"]).astype("float64").to_numpy()
            if self.adjust_dividends:
                factors = dividend_factors(bars["date"].tolist(), bars["close"].to_numpy(),
                                           dividends.get(symbol, []))
                adj_close = adj_close * factors[in_window.index.to_numpy()]
            frames.append(in_window.assign(adj_close=adj_close, source=self.source))
        found = {f["symbol"].iloc[0] for f in frames}
        rest = [s for s in wanted if s not in found]
        if rest:  # indices, funds, anything the grouped bars lack: per symbol
            frames.append(self.prices(rest, start, end))
        frames = [f[PRICE_COLUMNS] for f in frames if len(f)]
        if not frames:
            return empty_frame(PRICE_COLUMNS)
        out = pd.concat(frames, ignore_index=True)
        return out.sort_values(["symbol", "date"], ignore_index=True)[PRICE_COLUMNS]

    def _grouped(self, day: dt.date, tickers: dict[str, str], *, adjusted: bool
                 ) -> pd.DataFrame:
        """One session's grouped daily bars of ``tickers`` (Polygon ticker → symbol)."""
        kind = "split-adjusted" if adjusted else "unadjusted"
        aggs = self._request(
            f"{kind} grouped daily bars of {day}",
            lambda: self._client.get_grouped_daily_aggs(day.isoformat(), adjusted=adjusted),
        )
        rows = [
            {"symbol": tickers[a.ticker], "date": day, "open": getattr(a, "open", None),
             "high": getattr(a, "high", None), "low": getattr(a, "low", None),
             "close": a.close, "volume": getattr(a, "volume", None)}
            for a in ([] if aggs is _NOT_FOUND else aggs or [])
            if getattr(a, "ticker", None) in tickers and getattr(a, "close", None) is not None
        ]
        columns = ["symbol", "date", "open", "high", "low", "close", "volume"]
        frame = pd.DataFrame(rows, columns=columns)
        for column in ("open", "high", "low", "close", "volume"):
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
        return frame

    def _market_dividends(self, tickers: dict[str, str], start: dt.date, end: dt.date
                          ) -> dict[str, list[tuple[dt.date, float]]]:
        """Cash dividends of ``tickers`` with ex-date in (start, end], one market-wide listing."""
        records = self._request(
            f"dividends of all tickers after {start}",
            lambda: list(self._client.list_dividends(
                ex_dividend_date_gt=start.isoformat(), ex_dividend_date_lte=end.isoformat(),
                limit=1000)),
        )
        by_symbol = _by_symbol(records, tickers)
        return {symbol: _cash_dividends(symbol, rows) for symbol, rows in by_symbol.items()}

    def _market_splits(self, tickers: dict[str, str], start: dt.date, end: dt.date
                       ) -> dict[str, list[tuple[dt.date, float]]]:
        """Splits of ``tickers`` executed in [start, end], one market-wide listing."""
        records = self._request(
            f"splits of all tickers {start}..{end}",
            lambda: list(self._client.list_splits(
                execution_date_gte=start.isoformat(), execution_date_lte=end.isoformat(),
                limit=1000)),
        )
        by_symbol = _by_symbol(records, tickers)
        return {symbol: _split_ratios(symbol, rows) for symbol, rows in by_symbol.items()}

    # -- options ---------------------------------------------------------------------------

    def _snapshot_quote(self, symbol: str, occ: str, underlying: str, day: dt.date) -> Any:
        snapshot = self._request(
            f"option snapshot for {symbol}",
            lambda: self._client.get_snapshot_option(
                polygon_ticker(underlying), "O:" + occ
            ),
            forbidden_ok=True,
        )
        if snapshot is _NOT_FOUND or snapshot is _FORBIDDEN:
            return snapshot
        if not hasattr(snapshot, "implied_volatility"):
            return _NOT_FOUND
        bid = ask = last = math.nan
        quote = snapshot.last_quote
        if quote is not None and _same_day(quote.last_updated, day):
            bid, ask = _float(quote.bid), _float(quote.ask)
        bar = snapshot.day
        if bar is not None and bar.close is not None and _same_day(bar.last_updated, day):
            last = _float(bar.close)
        elif snapshot.last_trade is not None and _same_day(
            snapshot.last_trade.sip_timestamp, day, missing=False
        ):
            last = _float(snapshot.last_trade.price)
        implied_vol = _float(snapshot.implied_volatility)
        if all(math.isnan(v) for v in (bid, ask, last, implied_vol)):
            logger.info("Polygon's snapshot of %s has no quote for %s", symbol, day)
            return None
        return {
            "date": day,
            "symbol": symbol,
            "underlying": underlying,
            "bid": bid,
            "ask": ask,
            "last": last,
            "implied_vol": implied_vol,
            "open_interest": _float(snapshot.open_interest),
            "source": self.source,
        }

    def _aggregate_quote(
        self, symbol: str, occ: str, underlying: str, day: dt.date
    ) -> dict[str, Any] | None:
        bars = self._bars(symbol, "O:" + occ, day, day, adjusted=False)
        bars = bars[bars["date"] == day]
        if bars.empty or math.isnan(bars["close"].iloc[-1]):
            logger.info("Polygon has no daily bar for option %s on %s", symbol, day)
            return None
        return {
            "date": day,
            "symbol": symbol,
            "underlying": underlying,
            "bid": math.nan,
            "ask": math.nan,
            "last": float(bars["close"].iloc[-1]),
            "implied_vol": math.nan,
            "open_interest": math.nan,
            "source": self.source,
        }

    # -- transport -------------------------------------------------------------------------

    def _now_ny(self) -> dt.datetime:
        now = self._now()
        if now.tzinfo is None:
            raise ValueError("PolygonProvider's now() must return a timezone-aware datetime")
        return now.astimezone(NEW_YORK)

    def _redact(self, text: str) -> str:
        return redact(text, self._api_key)

    def _request(self, what: str, call: Callable[[], Any], *, forbidden_ok: bool = False) -> Any:
        """``call()`` with retries; ``_NOT_FOUND`` on 404 (``_FORBIDDEN`` on 403 if allowed).

        401/403 raise at once; 429, 499, 5xx, connection errors and non-JSON bodies are
        retried (see :func:`~sigmasight_pipeline.providers.http_retry.request_with_retries`).
        Every ProviderError is raised after its ``except`` block has ended, so it has no
        ``__context__`` that could hold a client message.
        """

        def answer(failure: HTTPStatusError) -> Any:
            if failure.status == 404:
                return _NOT_FOUND
            if failure.status == 403 and forbidden_ok:
                return _FORBIDDEN
            return None

        def refusal(failure: HTTPStatusError) -> str | None:
            if failure.status not in AUTH_STATUSES:
                return None
            return (
                f"Polygon refused the request for {what} (HTTP {failure.status}: "
                f"{failure.detail}). The Polygon key in POLYGON_API_KEY is missing or was "
                "rejected (a 403 can also mean your Polygon plan does not include this data): "
                "set POLYGON_API_KEY to a valid key with access to it."
            )

        return request_with_retries(
            call,
            service="Polygon",
            what=what,
            max_retries=self.max_retries,
            backoff_seconds=self.backoff_seconds,
            sleep=self._sleep,
            logger=logger,
            exhausted_hint="Polygon may be down or rate-limiting this key; try again later "
            "(lower max_requests_per_minute if it keeps happening).",
            answer=answer,
            refusal=refusal,
            retryable=_RETRY_STATUSES,
            # connection refused/reset, timeouts, TLS errors (urllib3 retries are off)
            transport_errors=(urllib3.exceptions.HTTPError, OSError),
            redact=self._redact,
            unreachable_hint=(
                f"Cannot connect to {self._host}: Polygon is the market-data source because "
                "POLYGON_API_KEY is set (or SIGMASIGHT_MARKET_DATA=polygon). Check the network "
                "connection, or run offline with SIGMASIGHT_MARKET_DATA=simulated or files."
            ),
        )

    @property
    def _host(self) -> str:
        return urllib3.util.parse_url(self.base_url).host or self.base_url


# -- helpers (pure) --------------------------------------------------------------------------


def session_state(now_ny: dt.datetime) -> tuple[dt.date, dt.date]:
    """(last completed NYSE session, session a live snapshot describes) at ``now_ny``.

    After 16:00 on a session day both are today; during the session the snapshot is
    today's (intraday) while the last completed one is the previous session; before the
    open, and on weekends and holidays, both are the previous session.
    """
    today, clock = now_ny.date(), now_ny.time()
    if nyse.is_trading_day(today):
        if clock >= SESSION_CLOSE:
            return today, today
        if clock >= SESSION_OPEN:
            return nyse.previous_trading_day(today), today
    previous = nyse.previous_trading_day(today)
    return previous, previous


def polygon_ticker(symbol: str) -> str:
    """The Polygon ticker for a pipeline symbol (share classes, indices, options)."""
    symbol = symbol.strip().upper()
    if symbol.startswith(("I:", "O:", "X:", "C:")):
        return symbol
    if symbol.startswith("^"):
        return "I:" + symbol[1:]
    if symbol in INDEX_TICKERS:
        return INDEX_TICKERS[symbol]
    if OCC_PATTERN.match(occ_code(symbol)):
        return "O:" + occ_code(symbol)
    return symbol.replace("-", ".").replace("/", ".")


def occ_code(symbol: str) -> str:
    """An OCC option code without padding or Polygon's ``O:`` prefix."""
    symbol = symbol.strip().upper()
    if symbol.startswith("O:"):
        symbol = symbol[2:]
    return symbol.replace(" ", "")


def asset_class(polygon_type: str | None, market: str | None, ticker: str = "") -> str:
    kind = (polygon_type or "").upper()
    if kind == "INDEX" or market == "indices" or ticker.startswith("I:"):
        return "index"
    if kind in ETF_TYPES:
        return "etf"
    if kind in FUND_TYPES:
        return "mutual_fund"
    return "equity"


def bars_frame(aggs: Iterable[Any]) -> pd.DataFrame:
    """polygon ``Agg`` objects → date (New York session), open, high, low, close, volume.

    Bars without a timestamp or a close are dropped; other missing fields become NaN.
    """
    records = [
        {
            "t": getattr(a, "timestamp", None),
            "open": getattr(a, "open", None),
            "high": getattr(a, "high", None),
            "low": getattr(a, "low", None),
            "close": getattr(a, "close", None),
            "volume": getattr(a, "volume", None),
        }
        for a in aggs
    ]
    records = [r for r in records if r["t"] is not None and r["close"] is not None]
    columns = ["date", "open", "high", "low", "close", "volume"]
    if not records:
        return pd.DataFrame(
            {c: pd.Series(dtype="object" if c == "date" else "float64") for c in columns}
        )
    frame = pd.DataFrame.from_records(records)
    stamps = pd.to_datetime(frame["t"].astype("int64"), unit="ms", utc=True)
    frame["date"] = stamps.dt.tz_convert(NEW_YORK).dt.date
    for column in ("open", "high", "low", "close", "volume"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    frame = frame.drop_duplicates("date", keep="last").sort_values("date", ignore_index=True)
    return frame[columns]


def dividend_factors(
    dates: Sequence[dt.date], closes: np.ndarray, dividends: Sequence[tuple[dt.date, float]]
) -> np.ndarray:
    """Cumulative cash-dividend adjustment for each bar (CRSP/vendor convention).

    A dividend D going ex on date x multiplies every bar before x by 1 − D / P, with P the
    unadjusted close of the last bar before x. Dividends with no earlier bar, or with
    D ≥ P, are ignored.
    """
    factors = np.ones(len(dates))
    positions = np.asarray([d.toordinal() for d in dates])
    for ex_date, cash in dividends:
        before = positions < ex_date.toordinal()
        if not before.any():
            continue
        previous_close = closes[np.flatnonzero(before)[-1]]
        if not (previous_close > 0 and 0 < cash < previous_close):
            continue
        factors[before] *= 1.0 - cash / previous_close
    return factors


def _by_symbol(records, tickers: dict[str, str]) -> dict[str, list]:
    """A market-wide listing's records grouped by our symbol (Polygon ticker → symbol);
    records of other tickers are dropped."""
    by_symbol: dict[str, list] = {}
    for record in [] if records is _NOT_FOUND else records:
        symbol = tickers.get(getattr(record, "ticker", None))
        if symbol is not None:
            by_symbol.setdefault(symbol, []).append(record)
    return by_symbol


def _cash_dividends(symbol: str, records: Iterable[Any]) -> list[tuple[dt.date, float]]:
    """(ex-date, $ per share) of USD cash dividends, sorted; malformed records skipped."""
    out = set()
    for record in records:
        ex_date = _parse_date(getattr(record, "ex_dividend_date", None))
        cash = _float(getattr(record, "cash_amount", None))
        currency = getattr(record, "currency", None)
        if ex_date is None or not cash > 0:
            continue
        if currency not in (None, "", "USD"):
            logger.warning(
                "Polygon: ignoring a %s dividend of %s on %s (prices are in USD)",
                currency,
                symbol,
                ex_date,
            )
            continue
        out.add((ex_date, cash, getattr(record, "dividend_type", None)))
    return sorted((ex_date, cash) for ex_date, cash, _ in out)


def _split_ratios(symbol: str, records: Iterable[Any]) -> list[tuple[dt.date, float]]:
    """(execution date, split_to / split_from) of splits, sorted; malformed records skipped."""
    out = {}
    for record in records:
        ex_date = _parse_date(getattr(record, "execution_date", None))
        split_from = _float(getattr(record, "split_from", None))
        split_to = _float(getattr(record, "split_to", None))
        if ex_date is None or not (split_from > 0 and split_to > 0):
            logger.warning("Polygon: ignoring a malformed split of %s: %r", symbol, record)
            continue
        out[ex_date] = split_to / split_from
    return sorted(out.items())


def _sessions_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """NYSE sessions in [start, end]."""
    sessions = nyse.all_sessions()
    return [d.date() for d in sessions[(sessions >= pd.Timestamp(start))
                                       & (sessions <= pd.Timestamp(end))]]


def _option_security(symbol: str) -> dict[str, Any] | None:
    occ = occ_code(symbol)
    match = OCC_PATTERN.match(occ)
    if not match or symbol.upper().startswith(("I:", "X:", "C:")):
        return None
    expiry = dt.datetime.strptime(match["expiry"], "%y%m%d").date()
    strike = int(match["strike"]) / 1000
    right = "Call" if match["right"] == "C" else "Put"
    return {
        "symbol": symbol,
        "name": f"{match['root']} {expiry.isoformat()} {strike:g} {right}",
        "asset_class": "option",
        "sector": None,
        "industry": None,
        "source": PolygonProvider.source,
    }


def _occ_root(occ: str) -> str | None:
    match = OCC_PATTERN.match(occ)
    return match["root"] if match else None


def _same_day(stamp: Any, day: dt.date, *, missing: bool = True) -> bool:
    """Whether an epoch timestamp (s/ms/µs/ns, by magnitude) falls on ``day`` in New York."""
    value = _float(stamp)
    if math.isnan(value):
        return missing
    unit = next(
        (u for threshold, u in ((1e17, "ns"), (1e14, "us"), (1e11, "ms")) if value >= threshold),
        "s",
    )
    when = pd.Timestamp(int(value), unit=unit, tz="UTC").tz_convert(NEW_YORK)
    return when.date() == day


def _error_detail(body: bytes) -> str:
    text = body.decode("utf-8", errors="replace").strip()
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if isinstance(document, dict):
        message = document.get("error") or document.get("message") or document.get("status")
        if message:
            text = str(message)
    return " ".join(text.split())[:300] or "(empty body)"


def _unique(symbols: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(str(s).strip() for s in symbols if s is not None and str(s).strip()))


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _float(value: Any) -> float:
    if value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _parse_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None
