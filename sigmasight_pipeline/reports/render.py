"""One report set per portfolio and day: the document rendered to every format."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from .chart import render_chart
from .csv_report import render_csv
from .document import build_document, portfolios_to_report
from .files import WrittenFile, atomic_write, portfolio_slugs, report_path
from .inputs import ReportInputs
from .json_report import render_json
from .markdown import render_markdown


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
    portfolio_id: str
    name: str
    slug: str
    document: dict
    files: dict[str, WrittenFile]
    seconds: float


def slugs_for(inputs: ReportInputs) -> dict[str, str]:
    ports = inputs.portfolios
    return portfolio_slugs(zip(ports["portfolio_id"], ports["name"], strict=True))


def write_day(inputs: ReportInputs, reports_dir: Path) -> list[PortfolioReport]:
    """Render and atomically write every portfolio's report set for ``inputs.day``."""
    slugs = slugs_for(inputs)
    out = []
    for port in portfolios_to_report(inputs):
        t0 = time.perf_counter()
        pid = port["portfolio_id"]
        doc = build_document(inputs, pid, slug=slugs[pid])
        files = {fmt: atomic_write(report_path(reports_dir, inputs.day.isoformat(), slugs[pid],
                                               fmt), data)
                 for fmt, data in render_formats(doc).items()}
        out.append(PortfolioReport(pid, port["name"], slugs[pid], doc, files,
                                   time.perf_counter() - t0))
    return out
