"""The HTTP retry plumbing shared by the Polygon and FRED providers."""

from __future__ import annotations

import datetime as dt
import logging
from email.utils import format_datetime

import pytest

from sigmasight_pipeline.providers.base import ProviderError
from sigmasight_pipeline.providers.http_retry import (
    MAX_BACKOFF_SECONDS,
    MAX_RETRY_AFTER_SECONDS,
    HTTPStatusError,
    backoff_delay,
    redact,
    request_with_retries,
    retry_after_seconds,
)

KEY = "SECRETKEY123xyz"
logger = logging.getLogger(__name__)


def test_backoff_delay_doubles_up_to_the_cap():
    assert MAX_BACKOFF_SECONDS == 60.0 and MAX_RETRY_AFTER_SECONDS == 120.0
    assert [backoff_delay(a, 0.5, None) for a in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]
    assert [backoff_delay(a, 1.0, None) for a in (6, 7, 8)] == [32.0, 60.0, 60.0]


def test_backoff_delay_honours_retry_after_up_to_its_cap():
    assert backoff_delay(1, 1.0, 7.0) == 7.0  # longer than the backoff: wait for the server
    assert backoff_delay(3, 1.0, 2.0) == 4.0  # shorter: the backoff wins
    assert backoff_delay(1, 1.0, 0.0) == 1.0
    assert backoff_delay(1, 1.0, 500.0) == 120.0  # Retry-After capped at 120 s
    assert backoff_delay(8, 1.0, 90.0) == 90.0  # above the 60 s backoff cap, below 120


def test_retry_after_seconds():
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(" 2.5 ") == 2.5
    assert retry_after_seconds("-3") == 0.0
    soon = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=30)
    assert 27.0 <= retry_after_seconds(format_datetime(soon, usegmt=True)) <= 30.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 -0000") == 0.0  # naive: UTC
    for garbage in (None, "", "soon", "inf", "nan", "Wed, 99 Foo 2015"):
        assert retry_after_seconds(garbage) is None


def test_redact_removes_the_key_in_every_form():
    text = f"GET /v3?apiKey={KEY}&x=1 api_key=other Authorization: Bearer tok.en, key {KEY} again"
    out = redact(text, KEY)
    assert KEY not in out and "other" not in out and "tok.en" not in out
    assert out == "GET /v3?apiKey=***&x=1 api_key=*** Authorization: Bearer ***, key *** again"
    assert redact("nothing secret", "") == "nothing secret"


def test_http_status_error_text():
    assert str(HTTPStatusError(503, "busy", 4.0)) == "HTTP 503: busy"
    assert str(HTTPStatusError(0, "ConnectionRefusedError: refused")) == (
        "ConnectionRefusedError: refused"
    )


def run(outcomes, sleeps, **options):
    """request_with_retries over a call that raises (or returns) ``outcomes`` in turn."""
    outcomes = iter(outcomes)

    def call():
        outcome = next(outcomes)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    defaults = dict(
        service="Test",
        what="thing",
        max_retries=2,
        backoff_seconds=0.5,
        sleep=sleeps.append,
        logger=logger,
        exhausted_hint="Try later.",
    )
    return request_with_retries(call, **{**defaults, **options})


def test_retries_transport_and_retryable_statuses_then_succeeds():
    sleeps = []
    outcomes = [ConnectionResetError("reset"), HTTPStatusError(429, "slow down", 3.0), "ok"]
    assert run(outcomes, sleeps, transport_errors=(OSError,)) == "ok"
    assert sleeps == [0.5, 3.0]


def test_gives_up_after_all_attempts_without_context():
    sleeps = []
    with pytest.raises(ProviderError) as info:
        run([HTTPStatusError(500, "boom")] * 3, sleeps)
    assert str(info.value) == (
        "Test could not answer the request for thing after 3 attempts (last: HTTP 500: boom). "
        "Try later."
    )
    assert sleeps == [0.5, 1.0]
    assert info.value.__context__ is None and info.value.__cause__ is None


def test_answers_refusals_and_other_statuses_end_at_once():
    sleeps = []

    def answer(failure):
        return "absent" if failure.status == 404 else None

    def refusal(failure):
        return "bad key" if failure.status == 401 else None

    assert run([HTTPStatusError(404, "nope")], sleeps, answer=answer) == "absent"
    with pytest.raises(ProviderError, match="^bad key$") as info:
        run([HTTPStatusError(401, "who?")], sleeps, refusal=refusal)
    assert info.value.__context__ is None
    with pytest.raises(ProviderError) as info:
        run([HTTPStatusError(400, "bad date")], sleeps)
    assert str(info.value) == "Test could not answer the request for thing: HTTP 400: bad date"
    assert info.value.__context__ is None
    assert sleeps == []


def test_transport_failure_text_is_redacted():
    sleeps = []
    with pytest.raises(ProviderError) as info:
        run(
            [OSError(f"refused for ?api_key={KEY}")] * 3,
            sleeps,
            transport_errors=(OSError,),
            redact=lambda text: redact(text, KEY),
        )
    assert KEY not in str(info.value) and "OSError: refused for ?api_key=***" in str(info.value)
