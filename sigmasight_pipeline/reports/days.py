"""Report sets of stored days: read a day's inputs from the warehouse, render, write.

Kept apart from the Dagster asset module: a range run's worker processes import this
module (and the rendering it uses) only, not Dagster and the code location (~1.2 s of
imports per worker instead of ~3.6 s).
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from functools import cache
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from ..warehouse.database import get_engine
from ..warehouse.report_store import read_report_inputs
from ..warehouse.tables import portfolios
from .render import PortfolioReport, report_pool, workers_for, write_day

#: days rendered per worker process in a range run (rendering, the chart above all, is CPU)
MIN_DAYS_PER_WORKER = 5


@cache
def _engine(url: str) -> Engine:
    """One engine (and connection pool) per URL in a worker: its days reuse connections."""
    return get_engine(url)


def render_stored_day(url: str, day: dt.date, root: Path
                      ) -> tuple[dt.date, list[PortfolioReport]]:
    """Read one day's report inputs and write its files (runs in a worker for ranges)."""
    with _engine(url).connect() as conn:
        inputs = read_report_inputs(conn, day)
    return day, write_day(inputs, root)


def rendered_days(url: str, days: list[dt.date], root: Path
                  ) -> Iterator[tuple[dt.date, list[PortfolioReport]]]:
    """Each day's written reports, in day order; a long range renders on every core.

    Files are written by the workers (atomically, one name per portfolio and day); the
    ``reports`` rows are replaced by the caller, one transaction per day, in order.
    """
    workers = min(os.cpu_count() or 1, len(days) // MIN_DAYS_PER_WORKER)
    if workers < 2:
        # a short range: each day read once here, its portfolios rendered on every core by
        # workers started before the read (they import while it runs), when the book has
        # enough portfolios for them
        engine = get_engine(url)  # one pool for the range's days (and the pairs' thread)
        try:
            with engine.connect() as conn:
                book = conn.execute(select(func.count()).select_from(portfolios)).scalar_one()
            workers = workers_for(book, os.cpu_count() or 1)
            with report_pool(workers) if workers > 1 else nullcontext() as pool:
                for day in days:
                    with engine.connect() as conn:
                        inputs = read_report_inputs(conn, day)
                    yield day, write_day(inputs, root, workers=workers, pool=pool)
        finally:
            engine.dispose()
        return
    # spawn, not fork: the parent holds database connections and Dagster's threads
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield from pool.map(render_stored_day, [url] * len(days), days, [root] * len(days))
