"""Report sets of stored days: read the days' inputs from the warehouse (a chunk of
consecutive days at a time, one query per table), render, write.

Kept apart from the Dagster asset module: a range run's worker processes import this
module (and the rendering it uses) only, not Dagster and the code location (~1.2 s of
imports per worker instead of ~3.6 s).
"""

from __future__ import annotations

import datetime as dt
import itertools
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
from ..warehouse.report_store import read_report_days
from ..warehouse.tables import portfolios
from .render import PortfolioReport, report_pool, workers_for, write_day

#: days rendered per worker process in a range run (rendering, the chart above all, is CPU)
MIN_DAYS_PER_WORKER = 5
#: portfolio-days read in one chunk of a range (one query per table for the chunk's days:
#: their 60-day chart windows overlap, so a year-day read each window's rows 60 times over);
#: 10 days of 200 portfolios, one day of 2,000 or more
PORTFOLIO_DAYS_PER_CHUNK = 2_000
#: most days in one chunk (a small book's range still spreads over the workers)
MAX_CHUNK_DAYS = 25


@cache
def _engine(url: str) -> Engine:
    """One engine (and connection pool) per URL in a worker: its days reuse connections."""
    return get_engine(url)


def day_chunks(days: list[dt.date], portfolios: int, workers: int) -> list[list[dt.date]]:
    """``days`` in order, cut into runs of consecutive days read together: at most
    :data:`PORTFOLIO_DAYS_PER_CHUNK` portfolio-days and :data:`MAX_CHUNK_DAYS` days each,
    at least two chunks a worker when the range allows, and as many chunks as a whole
    number of rounds of the workers, the larger first (workers take the next chunk as they
    finish: they then finish together)."""
    workers = max(1, workers)
    size = max(1, min(MAX_CHUNK_DAYS, PORTFOLIO_DAYS_PER_CHUNK // max(1, portfolios),
                      -(-len(days) // (2 * workers))))
    n = -(-len(days) // size)
    n = min(len(days), -(-n // workers) * workers)
    q, r = divmod(len(days), n) if n else (0, 0)
    bounds = [0]
    for i in range(n):
        bounds.append(bounds[-1] + q + (i < r))
    return [days[a:b] for a, b in itertools.pairwise(bounds)]


def render_stored_days(url: str, days: list[dt.date], root: Path
                       ) -> list[tuple[dt.date, list[PortfolioReport]]]:
    """Read the report inputs of ``days`` (one query per table) and write each day's files
    (runs in a worker for ranges)."""
    with _engine(url).connect() as conn:
        inputs = read_report_days(conn, days)
    return [(day, write_day(inputs.pop(day), root)) for day in sorted(inputs)]


def _portfolio_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(portfolios)).scalar_one()


def rendered_days(url: str, days: list[dt.date], root: Path
                  ) -> Iterator[tuple[dt.date, list[PortfolioReport]]]:
    """Each day's written reports, in day order; a long range renders on every core.

    Files are written by the workers (atomically, one name per portfolio and day); the
    ``reports`` rows are replaced by the caller, one transaction per day, in order.
    """
    days = sorted(days)
    cores = os.cpu_count() or 1
    workers = min(cores, len(days) // MIN_DAYS_PER_WORKER)
    engine = get_engine(url)  # one pool for the range's reads (and the pairs' thread)
    try:
        book = _portfolio_count(engine)
        if workers < 2:
            # a short range: read here, a chunk of days at a time, each day's portfolios
            # rendered on every core by workers started before the read (they import while
            # it runs), when the book has enough portfolios for them
            workers = workers_for(book, cores)
            with report_pool(workers) if workers > 1 else nullcontext() as pool:
                for chunk in day_chunks(days, book, 1):
                    with engine.connect() as conn:
                        inputs = read_report_days(conn, chunk)
                    for day in chunk:
                        yield day, write_day(inputs.pop(day), root, workers=workers, pool=pool)
            return
    finally:
        engine.dispose()
    # a chunk of days per worker task; spawn, not fork: the parent holds database
    # connections and Dagster's threads
    chunks = day_chunks(days, book, workers)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        for done in pool.map(render_stored_days, [url] * len(chunks), chunks,
                             [root] * len(chunks)):
            yield from done
