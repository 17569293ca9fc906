"""The positions inbox: CSV files dropped into a directory, imported through the same
validated importer as `sigmasight positions import`, then moved out of the way.

``<inbox>/*.csv`` → validated (``positions_file.read_positions_csv``) → loaded in one
transaction (``positions_store.load_positions``) → moved to ``<inbox>/done/``; a file with
problems loads nothing and goes to ``<inbox>/rejected/`` with ``<name>.errors.txt`` beside it
(every problem with its line and column). A name already taken in done/ or rejected/ gets a
``-2``, ``-3``… suffix, so nothing is overwritten.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Connection

from .positions_file import PositionsFileError, read_positions_csv
from .warehouse.positions_store import load_positions

DONE, REJECTED = "done", "rejected"


@dataclass(frozen=True)
class InboxResult:
    name: str
    imported: bool
    moved_to: Path
    message: str  # the load summary, or the error list


def pending(inbox: Path) -> list[Path]:
    """The CSV files waiting in ``inbox`` (not in its subdirectories), oldest name first."""
    if not inbox.is_dir():
        return []
    return sorted(p for p in inbox.iterdir() if p.is_file() and p.suffix.lower() == ".csv"
                  and not p.name.startswith("."))


def _free_name(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target, n = folder / name, 1
    stem, suffix = Path(name).stem, Path(name).suffix
    while target.exists():
        n += 1
        target = folder / f"{stem}-{n}{suffix}"
    return target


def import_file(path: Path, begin: Callable[[], AbstractContextManager[Connection]]
                ) -> InboxResult:
    """Validate and load one file (``begin()`` opens the transaction), then move it."""
    inbox = path.parent
    try:
        book = read_positions_csv(path)
    except PositionsFileError as exc:
        target = _free_name(inbox / REJECTED, path.name)
        shutil.move(path, target)
        target.with_name(target.name + ".errors.txt").write_text(str(exc) + "\n",
                                                                encoding="utf-8")
        return InboxResult(path.name, False, target, str(exc))
    with begin() as conn:
        summary = load_positions(conn, book)
    target = _free_name(inbox / DONE, path.name)
    shutil.move(path, target)
    message = (f"{summary.positions_in_file} positions in {summary.portfolios} portfolio(s); "
               f"{summary.positions_added} added; {summary.positions_total} in the warehouse")
    return InboxResult(path.name, True, target, message)


def process_inbox(inbox: Path, begin: Callable[[], AbstractContextManager[Connection]]
                  ) -> list[InboxResult]:
    """Import every pending file of ``inbox``, in name order."""
    return [import_file(path, begin) for path in pending(inbox)]
