"""The run's progress lines (orchestration._progress) outlive a poll the event storage
refuses: an ephemeral instance's in-memory sqlite answers "database table is locked" to the
watcher thread while the run writes, which once ended the thread and lost a failed run's
"FAILED <step>" lines."""

from __future__ import annotations

import sqlite3
import threading
from types import SimpleNamespace

from sigmasight_pipeline import orchestration


class _Storage:
    """get_runs and get_records_for_run refusing the first ``refusals`` calls each."""

    def __init__(self, events: list[str], refusals: int):
        self.events, self.refusals = events, {"runs": refusals, "records": refusals}

    def _refuse(self, what: str) -> None:
        if self.refusals[what] != 0:
            self.refusals[what] -= 1
            raise sqlite3.OperationalError(f"database table is locked: {what}")

    def get_runs(self, filters, limit):
        self._refuse("runs")
        return [SimpleNamespace(run_id="run-1")]

    def get_records_for_run(self, run_id, cursor, of_type, limit):
        self._refuse("records")
        start = 0 if cursor is None else int(cursor)
        chunk = self.events[start:start + 2]  # two a page: has_more paging is exercised
        records = [SimpleNamespace(event_log_entry=SimpleNamespace(dagster_event=e, text=e))
                   for e in chunk]
        return SimpleNamespace(records=records, cursor=str(start + len(chunk)),
                               has_more=start + len(chunk) < len(self.events))


class _Display:
    def __init__(self):
        self.shown: list[str] = []

    def event(self, entry, seconds):
        self.shown.append(entry.text)


def test_refused_polls_are_retried_and_every_event_is_shown_once():
    events = ["running market_prices", "FAILED market_prices", "FAILED securities"]
    display, stop = _Display(), threading.Event()
    stop.set()  # the run has ended: only the last drain is left, and it is refused twice
    orchestration._progress(_Storage(events, refusals=2), "token", display, stop, 0.0)
    assert display.shown == events


def test_a_storage_that_never_answers_ends_the_drain(monkeypatch):
    monkeypatch.setattr(orchestration, "_DRAIN_RETRIES", 3)
    display, stop = _Display(), threading.Event()
    stop.set()
    orchestration._progress(_Storage(["x"], refusals=-1), "token", display, stop, 0.0)
    assert display.shown == []
