"""HTTP retry plumbing shared by the providers that call a web API (Polygon, FRED).

Retry policy (:func:`request_with_retries`): a call that fails with a transport error (no
usable HTTP answer) or a retryable status (429, 5xx, plus any statuses a provider adds) is
tried again after ``backoff_seconds × 2^k`` seconds (k = 0, 1, …; each wait capped at
:data:`MAX_BACKOFF_SECONDS`), or after the server's ``Retry-After`` when that is longer (capped
at :data:`MAX_RETRY_AFTER_SECONDS`), ``max_retries`` times after the first attempt; then
:class:`ProviderError`. A rejected key (401/403, or whatever the provider recognises as one)
and any other status raise at once. Each provider supplies its own messages and its own
answers (a 404 becomes its "not found" sentinel).

Keys never reach a message: every failure text is built with :func:`redact`, and every
:class:`ProviderError` is raised after its ``except`` block has ended, so neither
``__cause__`` nor ``__context__`` can carry a client's text (a URL with the key, say).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
import socket
from collections.abc import Callable, Container
from email.utils import parsedate_to_datetime
from typing import Any

from sigmasight_pipeline.providers.base import ProviderError, ProviderUnreachable

#: Longest single wait between attempts, and the cap on a server's Retry-After.
MAX_BACKOFF_SECONDS = 60.0
MAX_RETRY_AFTER_SECONDS = 120.0
#: Statuses worth another attempt.
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Statuses that mean the key is missing, invalid or not entitled.
AUTH_STATUSES = frozenset({401, 403})
#: The status of an :class:`HTTPStatusError` that had no HTTP answer (connection refused or
#: reset, timeout, TLS error, unreadable body); always retried.
TRANSPORT_FAILURE = 0

_KEY_PARAMETER = re.compile(r"(?i)(api_?key=)[^&\s\"']+")
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s\"',]+")


class HTTPStatusError(Exception):
    """A failed request: its status (:data:`TRANSPORT_FAILURE` without an HTTP answer), a
    redacted detail and the server's ``Retry-After`` in seconds, if it sent one.

    ``str()`` is ``"HTTP <status>: <detail>"``, or the detail alone for a transport failure.
    """

    def __init__(self, status: int, detail: str, retry_after: float | None = None,
                 unreachable: str | None = None):
        super().__init__(detail if status == TRANSPORT_FAILURE else f"HTTP {status}: {detail}")
        self.status = status
        self.detail = detail
        self.retry_after = retry_after
        #: why the host could not be reached at all (see :func:`cannot_connect`), else None
        self.unreachable = unreachable


def cannot_connect(exc: BaseException) -> str | None:
    """"name resolution failed" or "connection refused" when ``exc`` (or an exception it
    wraps: ``__cause__``, ``__context__``, ``URLError.reason``) says the host cannot be
    reached at all; None for anything else (a timeout or a reset may pass: retried)."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen or not isinstance(e, BaseException):
            continue
        seen.add(id(e))
        if isinstance(e, socket.gaierror):
            return "name resolution failed"
        if isinstance(e, ConnectionRefusedError):
            return "connection refused"
        todo += [e.__cause__, e.__context__, getattr(e, "reason", None)]
    return None


def retry_after_seconds(value: str | None) -> float | None:
    """A ``Retry-After`` header (delta-seconds or HTTP-date) in seconds from now, at least 0.

    ``None`` when the header is absent, unparseable or not finite.
    """
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = (when - dt.datetime.now(dt.UTC)).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def backoff_delay(attempt: int, backoff_seconds: float, retry_after: float | None) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based).

    ``min(backoff_seconds × 2^(attempt−1), MAX_BACKOFF_SECONDS)``, raised to
    ``min(retry_after, MAX_RETRY_AFTER_SECONDS)`` when the server sent a Retry-After.
    """
    delay = min(backoff_seconds * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER_SECONDS))
    return delay


def redact(text: str, secret: str) -> str:
    """``text`` with ``secret``, ``api_key=…``/``apiKey=…`` values and bearer tokens → ``***``."""
    if secret:
        text = text.replace(secret, "***")
    text = _KEY_PARAMETER.sub(r"\1***", text)
    return _BEARER.sub(r"\1***", text)


def _no_answer(failure: HTTPStatusError) -> None:
    return None


def _no_refusal(failure: HTTPStatusError) -> None:
    return None


def _unchanged(text: str) -> str:
    return text


def request_with_retries(
    call: Callable[[], Any],
    *,
    service: str,
    what: str,
    max_retries: int,
    backoff_seconds: float,
    sleep: Callable[[float], Any],
    logger: logging.Logger,
    exhausted_hint: str,
    answer: Callable[[HTTPStatusError], Any] = _no_answer,
    refusal: Callable[[HTTPStatusError], str | None] = _no_refusal,
    retryable: Container[int] = RETRYABLE_STATUSES,
    transport_errors: tuple[type[BaseException], ...] = (),
    redact: Callable[[str], str] = _unchanged,
    unreachable_hint: str | None = None,
) -> Any:
    """``call()``, retried by the module's policy; ``service`` names the API in messages.

    ``call`` fails by raising :class:`HTTPStatusError`, or one of ``transport_errors``
    (turned into a :data:`TRANSPORT_FAILURE` whose detail is passed through ``redact``);
    anything else propagates. For each failure, in this order:

    1. ``answer(failure)`` is not ``None``: it is returned (a provider's not-found sentinel);
    2. ``refusal(failure)`` is not ``None``: :class:`ProviderError` with that message, at once;
       a host that cannot be reached at all (:func:`cannot_connect`: name resolution failed,
       connection refused) raises :class:`ProviderUnreachable` at once when the provider
       gives an ``unreachable_hint`` (naming the host and the setting): no back-off;
    3. a transport failure or a status in ``retryable``: wait :func:`backoff_delay` (via
       ``sleep``, logged as a warning) and call again, ``max_retries`` times after the first
       attempt; then :class:`ProviderError` "… after N attempts (last: …). <exhausted_hint>";
    4. otherwise :class:`ProviderError` "<service> could not answer the request for <what>:
       HTTP <status>: <detail>", at once.
    """
    if max_retries < 0:
        raise ValueError("max_retries must be >= 0")
    attempts = max_retries + 1
    failure: HTTPStatusError | None = None
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except HTTPStatusError as exc:
            failure = exc
        except transport_errors as exc:
            failure = HTTPStatusError(TRANSPORT_FAILURE, redact(f"{type(exc).__name__}: {exc}"),
                                      unreachable=cannot_connect(exc))
        # Out of the except block from here on: a ProviderError gets no __context__.
        result = answer(failure)
        if result is not None:
            return result
        message = refusal(failure)
        if message is not None:
            raise ProviderError(message)
        if failure.unreachable and unreachable_hint is not None:
            raise ProviderUnreachable(
                f"{service} is unreachable ({failure.unreachable}) while requesting {what}. "
                f"{unreachable_hint}"
            )
        if failure.status != TRANSPORT_FAILURE and failure.status not in retryable:
            raise ProviderError(
                f"{service} could not answer the request for {what}: HTTP {failure.status}: "
                f"{failure.detail}"
            )
        if attempt == attempts:
            break
        delay = backoff_delay(attempt, backoff_seconds, failure.retry_after)
        logger.warning(
            "%s %s failed (%s), attempt %d of %d; retrying in %.1f s",
            service,
            what,
            failure,
            attempt,
            attempts,
            delay,
        )
        sleep(delay)
    raise ProviderError(
        f"{service} could not answer the request for {what} after {attempts} attempts "
        f"(last: {failure}). {exhausted_hint}"
    )
