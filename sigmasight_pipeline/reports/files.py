"""Report file names and writes: portfolio slugs, atomic writes, sha256."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

FORMATS = ("md", "json", "csv", "png")
#: what `reports download` offers (SPEC §1); png is the Markdown's chart
DOWNLOAD_FORMATS = ("md", "json", "csv")


#: file names stay far below the 255-byte limit of common file systems (with the temp suffix)
MAX_SLUG = 80


def portfolio_slug(name: str) -> str:
    """Lower case, each run of non-alphanumerics one ``-``, no leading/trailing ``-``.

    A name longer than :data:`MAX_SLUG` characters is cut and given a short hash of the
    whole name, so two long names sharing a prefix still get different files.
    """
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    if len(slug) > MAX_SLUG:
        digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:10]
        slug = f"{slug[:MAX_SLUG - 11].rstrip('-')}-{digest}"
    return slug or "portfolio"


def portfolio_slugs(portfolios: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Slug per portfolio id for (id, name) pairs; names that collide get an id suffix."""
    pairs = sorted(portfolios, key=lambda p: (p[1], p[0]))
    counts: dict[str, int] = {}
    for _, name in pairs:
        counts[portfolio_slug(name)] = counts.get(portfolio_slug(name), 0) + 1
    return {pid: portfolio_slug(name) if counts[portfolio_slug(name)] == 1
            else f"{portfolio_slug(name)}-{pid.replace('-', '')[:8]}" for pid, name in pairs}


def report_path(reports_dir: Path, day: str, slug: str, fmt: str) -> Path:
    return Path(reports_dir) / day / f"{slug}.{fmt}"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class WrittenFile:
    path: Path
    bytes: int
    sha256: str


def atomic_write(path: Path, data: bytes) -> WrittenFile:
    """Write ``data`` to ``path`` via a temporary file in the same directory + os.replace:
    a reader sees the old file or the new one, never a partial one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return WrittenFile(path=path, bytes=len(data), sha256=sha256_hex(data))
