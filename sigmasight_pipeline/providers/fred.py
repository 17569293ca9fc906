"""Treasury constant-maturity yields from FRED (key in ``FRED_API_KEY``).

Built on ``fredapi.Fred``, which builds the ``series/observations`` URL, parses FRED's XML
answer and turns FRED's missing value ``.`` into NaN. Its transport is replaced, because in
fredapi 0.5.2 ``Fred.__fetch_data``:

- appends ``&api_key=<key>`` to the URL and calls ``urllib.request.urlopen(url)`` with no
  timeout (a stalled connection hangs the run);
- on an HTTP error raises ``ValueError(<FRED's message>)`` from inside the ``except
  HTTPError`` block, so the status code survives only on ``__context__`` (an ``HTTPError``
  whose ``url``/``filename`` hold the full URL with the key); a non-XML error body raises
  ``xml.etree.ElementTree.ParseError`` instead; connection errors escape as ``URLError``.

:class:`_Fred` overrides that one private method (name-mangled ``_Fred__fetch_data``): it
sends the same request with a timeout and raises
:class:`~sigmasight_pipeline.providers.http_retry.HTTPStatusError` (status, FRED's message,
``Retry-After``; status 0 for a transport error or a body that is not XML), built from
redacted text and raised outside any ``except`` block, so no exception ever references the
URL. The provider retries 429, 5xx and transport errors with exponential backoff
(``backoff_seconds × 2^k``, at least ``Retry-After``; see ``http_retry``), ``max_retries``
times after the first attempt, then raises :class:`ProviderError`. 400 errors about
``api_key``, 401 and 403 raise at once. A series FRED does not know (400 "The series does
not exist." or 404) is absent from the result.

Values are in percent, as FRED publishes them; observations with ``.`` are dropped.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import logging
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import quote_plus

import pandas as pd
from fredapi import Fred

from sigmasight_pipeline.providers.base import (
    YIELD_COLUMNS,
    ProviderError,
    empty_frame,
)
from sigmasight_pipeline.providers.http_retry import (
    AUTH_STATUSES,
    TRANSPORT_FAILURE,
    HTTPStatusError,
    cannot_connect,
    redact,
    request_with_retries,
    retry_after_seconds,
)

logger = logging.getLogger(__name__)

DEFAULT_ROOT_URL = "https://api.stlouisfed.org/fred"
SERIES_ID = re.compile(r"^[A-Za-z0-9_.]{1,64}$")

_NOT_FOUND = object()


class _Fred(Fred):
    """``fredapi.Fred`` with a transport that has a timeout and never leaks the key."""

    def __init__(
        self,
        api_key: str,
        root_url: str | None,
        timeout: float,
        redact: Callable[[str], str],
    ):
        super().__init__(api_key=api_key)
        self.root_url = (root_url or DEFAULT_ROOT_URL).rstrip("/")
        self._timeout = timeout
        self._redact = redact

    def _Fred__fetch_data(self, url: str) -> ET.Element:  # noqa: N802 (overrides a private)
        failure: Exception | None = None
        try:
            request_url = url + "&api_key=" + quote_plus(self.api_key)
            with urllib.request.urlopen(request_url, timeout=self._timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            try:
                error_body = exc.read()
            except (OSError, http.client.HTTPException):
                error_body = b""
            failure = HTTPStatusError(
                exc.code,
                self._redact(_error_message(error_body) or str(exc.reason)),
                retry_after_seconds(exc.headers.get("Retry-After") if exc.headers else None),
            )
            exc.close()
        except (OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", None) or exc
            failure = HTTPStatusError(
                TRANSPORT_FAILURE, self._redact(f"{type(exc).__name__}: {reason}"),
                unreachable=cannot_connect(exc),
            )
        if failure is not None:
            raise failure
        try:
            return ET.fromstring(body)
        except ET.ParseError:
            pass
        raise HTTPStatusError(TRANSPORT_FAILURE, "FRED answered with a body that is not XML")


class FredProvider:
    """Treasury yields (DGS3MO, DGS2, DGS10, DGS30, …) from the FRED API.

    ``max_retries`` counts retries after the first attempt; ``sleep`` is injectable so tests
    do not wait; ``base_url`` replaces ``https://api.stlouisfed.org/fred``.
    """

    source = "fred"

    def __init__(
        self,
        api_key: str,
        base_url: str | None = None,
        max_retries: int = 5,
        backoff_seconds: float = 1.0,
        sleep: Callable[[float], Any] = time.sleep,
        *,
        timeout: float = 30.0,
    ):
        if not api_key or not api_key.strip():
            raise ProviderError(
                "FRED: no API key. Set FRED_API_KEY to your FRED key (free at "
                "https://fred.stlouisfed.org/docs/api/api_key.html)."
            )
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self._api_key = api_key
        self.max_retries = max_retries
        self.backoff_seconds = backoff_seconds
        self._sleep = sleep
        self._fred = _Fred(api_key, base_url, timeout, self._redact)

    def __repr__(self) -> str:
        return f"FredProvider(base_url={self._fred.root_url!r})"

    def treasury_yields(
        self, series_ids: Sequence[str], start: dt.date, end: dt.date
    ) -> pd.DataFrame:
        """Observations in [start, end] (YIELD_COLUMNS): value in percent, ``.`` dropped."""
        frames = []
        for series_id in _unique(series_ids):
            if not SERIES_ID.match(series_id):
                raise ValueError(f"not a FRED series id: {series_id!r}")
            observations = self._request(
                f"series {series_id} {start}..{end}",
                lambda series_id=series_id: self._fred.get_series(
                    series_id, observation_start=start, observation_end=end
                ),
            )
            if observations is _NOT_FOUND:
                logger.warning("FRED does not know the series %s; it is left out", series_id)
                continue
            frame = _observations_frame(series_id, observations, start, end)
            if frame.empty:
                logger.info("FRED has no observations of %s in %s..%s", series_id, start, end)
                continue
            frames.append(frame.assign(source=self.source))
        if not frames:
            return empty_frame(YIELD_COLUMNS)
        out = pd.concat(frames, ignore_index=True)
        return out.sort_values(["series_id", "date"], ignore_index=True)[YIELD_COLUMNS]

    def prices(self, symbols: Sequence[str], start: dt.date, end: dt.date) -> pd.DataFrame:
        raise NotImplementedError(
            "FRED provides only Treasury yields; prices come from Polygon (PolygonProvider), "
            "the files provider or the simulated provider."
        )

    def option_quotes(self, contracts: pd.DataFrame, day: dt.date) -> pd.DataFrame:
        raise NotImplementedError(
            "FRED provides only Treasury yields; option quotes come from Polygon "
            "(PolygonProvider), the files provider or the simulated provider."
        )

    def securities(self, symbols: Sequence[str]) -> pd.DataFrame:
        raise NotImplementedError(
            "FRED provides only Treasury yields; security reference data comes from Polygon "
            "(PolygonProvider), the files provider or the simulated provider."
        )

    def corporate_actions(self, symbols: Sequence[str], start: dt.date, end: dt.date
                          ) -> pd.DataFrame:
        raise NotImplementedError(
            "FRED provides only Treasury yields; corporate actions come from Polygon "
            "(PolygonProvider), the files provider or the simulated provider."
        )

    # -- transport -------------------------------------------------------------------------

    def _redact(self, text: str) -> str:
        return redact(text, self._api_key)

    def _request(self, what: str, call: Callable[[], Any]) -> Any:
        """``call()`` with retries; ``_NOT_FOUND`` for an unknown series.

        401/403 and 400s about ``api_key`` raise at once; 429, 5xx and transport errors are
        retried (see :func:`~sigmasight_pipeline.providers.http_retry.request_with_retries`).
        Every ProviderError is raised after its ``except`` block has ended, so it carries no
        ``__context__``.
        """

        def answer(failure: HTTPStatusError) -> Any:
            status, message = failure.status, failure.detail.lower()
            if status == 404 or (status == 400 and "does not exist" in message):
                return _NOT_FOUND
            return None

        def refusal(failure: HTTPStatusError) -> str | None:
            status, message = failure.status, failure.detail
            key_error = status == 400 and "api_key" in message.lower()
            if status not in AUTH_STATUSES and not key_error:
                return None
            return (
                f"FRED refused the request for {what} (HTTP {status}: {message}). "
                "The FRED key in FRED_API_KEY is missing or was rejected: set "
                "FRED_API_KEY to a valid key (https://fred.stlouisfed.org/docs/api/"
                "api_key.html)."
            )

        return request_with_retries(
            call,
            service="FRED",
            what=what,
            max_retries=self.max_retries,
            backoff_seconds=self.backoff_seconds,
            sleep=self._sleep,
            logger=logger,
            exhausted_hint="FRED may be down or rate-limiting this key; try again later.",
            answer=answer,
            refusal=refusal,
            unreachable_hint=(
                f"Cannot connect to {urllib.parse.urlsplit(self._fred.root_url).hostname}: "
                "treasury yields come from FRED because FRED_API_KEY is set. Check the network "
                "connection, or unset FRED_API_KEY to take yields from the simulated or files "
                "source."
            ),
        )


def _observations_frame(
    series_id: str, observations: pd.Series, start: dt.date, end: dt.date
) -> pd.DataFrame:
    """fredapi's Series (DatetimeIndex → float, NaN for '.') → date, series_id, value."""
    if observations is None or len(observations) == 0:
        return pd.DataFrame(columns=["date", "series_id", "value"])
    values = pd.to_numeric(pd.Series(observations), errors="coerce").astype("float64")
    dates = [pd.Timestamp(i).date() for i in values.index]
    frame = pd.DataFrame({"date": dates, "series_id": series_id, "value": values.to_numpy()})
    keep = frame["value"].notna() & (frame["date"] >= start) & (frame["date"] <= end)
    return frame[keep].reset_index(drop=True)


def _error_message(body: bytes) -> str:
    """FRED's error message from an XML (``<error message=…>``) or JSON body, else the text."""
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        return ""
    try:
        root = ET.fromstring(text)
        if root.get("message"):
            return " ".join(root.get("message", "").split())
    except ET.ParseError:
        pass
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if isinstance(document, dict) and document.get("error_message"):
        return " ".join(str(document["error_message"]).split())
    return " ".join(text.split())[:300]


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(str(s).strip() for s in items if s is not None and str(s).strip()))
