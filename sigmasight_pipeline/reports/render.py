"""One report set per portfolio and day: the document rendered to every format."""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .chart import render_chart
from .csv_report import render_csv
from .document import build_document, portfolios_to_report
from .files import AtomicBatch, WrittenFile, portfolio_slugs, report_path
from .inputs import ReportInputs, shared_values, split_inputs
from .json_report import render_json
from .markdown import render_markdown, summary_preview


def render_formats(doc: dict, formats=("md", "json", "csv", "png")) -> dict[str, bytes]:
    """The bytes of each format (UTF-8 text, PNG) for one document."""
    renderers = {
        "md": lambda: render_markdown(doc).encode("utf-8"),
        "json": lambda: render_json(doc).encode("utf-8"),
        "csv": lambda: render_csv(doc).encode("utf-8"),
        "png": lambda: render_chart(doc),
    }
    return {fmt: renderers[fmt]() for fmt in formats}


@dataclass(frozen=True)
class PortfolioReport:
    """One portfolio's written report set. The document itself stays in the process that
    rendered it (sent back from a worker, 2,000 documents were ~100 MB of pickled dicts for
    the parent to load): ``preview`` is the part Dagster's metadata shows."""

    portfolio_id: str
    name: str
    slug: str
    #: Markdown header and summary (:func:`~.markdown.summary_preview`)
    preview: str
    files: dict[str, WrittenFile]
    seconds: float


def slugs_for(inputs: ReportInputs) -> dict[str, str]:
    ports = inputs.portfolios
    return portfolio_slugs(zip(ports["portfolio_id"], ports["name"], strict=True))


#: below this many portfolios a worker process costs more (start-up, pickling) than it saves
MIN_PORTFOLIOS_PER_WORKER = 50
#: chunks per worker: the last chunks finish together even when portfolios differ in size
CHUNKS_PER_WORKER = 4


def render_portfolios(inputs: ReportInputs, ports: list[dict], slugs: dict[str, str],
                      reports_dir: Path) -> list[PortfolioReport]:
    """Render and atomically write the report sets of ``ports`` (in that order); the files
    are on disk when this returns (one :class:`~.files.AtomicBatch`).

    Each document is built from the inputs' row indexes (:meth:`ReportInputs.indexed`, one
    per table for all of ``ports``); the bytes are those of ``build_document(inputs, pid)``.
    """
    indexed = inputs.indexed()
    day = inputs.day.isoformat()
    out = []
    with AtomicBatch() as batch:
        for port in ports:
            t0 = time.perf_counter()
            pid = port["portfolio_id"]
            doc = build_document(indexed, pid, slug=slugs[pid])
            files = {fmt: batch.write(report_path(reports_dir, day, slugs[pid], fmt), data)
                     for fmt, data in render_formats(doc).items()}
            out.append(PortfolioReport(pid, port["name"], slugs[pid], summary_preview(doc),
                                       files, time.perf_counter() - t0))
    return out


def _started() -> None:
    """Nothing: a task that has a worker process start (and import this module) early."""


def report_pool(workers: int) -> ProcessPoolExecutor:
    """``workers`` rendering processes, started now (a process and its imports take ~1 s
    each: a caller starts them before reading the day, and they import while it reads)."""
    # spawn, not fork: the caller may hold database connections and Dagster's threads
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    for _ in range(workers):
        pool.submit(_started)
    return pool


def workers_for(portfolios: int, workers: int) -> int:
    """The worker processes worth starting for a day of ``portfolios`` (1: render here)."""
    return max(1, min(workers, portfolios // MIN_PORTFOLIOS_PER_WORKER))


def write_day(inputs: ReportInputs, reports_dir: Path, workers: int = 1,
              pool: ProcessPoolExecutor | None = None) -> list[PortfolioReport]:
    """Render and atomically write every portfolio's report set for ``inputs.day``.

    With ``workers`` > 1 (and enough portfolios) the portfolios are rendered in that many
    worker processes (``pool``'s, started by :func:`report_pool`, or a pool of this call),
    each sent only its portfolios' rows; the files and their order are the same as
    in-process.
    """
    slugs = slugs_for(inputs)
    ports = portfolios_to_report(inputs)
    workers = workers_for(len(ports), workers)
    if workers < 2:
        return render_portfolios(inputs, ports, slugs, reports_dir)
    if pool is None:
        with report_pool(workers) as own:
            return _render_in(own, workers, inputs, ports, slugs, reports_dir)
    return _render_in(pool, workers, inputs, ports, slugs, reports_dir)


def _render_in(pool: ProcessPoolExecutor, workers: int, inputs: ReportInputs, ports: list[dict],
               slugs: dict[str, str], reports_dir: Path) -> list[PortfolioReport]:
    n = min(len(ports), workers * CHUNKS_PER_WORKER)
    chunks = [ports[i * len(ports) // n:(i + 1) * len(ports) // n] for i in range(n)]
    parts = split_inputs(shared_values(inputs), [[p["portfolio_id"] for p in c] for c in chunks])
    done = pool.map(render_portfolios, parts, chunks, [slugs] * n, [reports_dir] * n)
    return [r for part in done for r in part]
