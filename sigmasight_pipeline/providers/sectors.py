"""GICS sectors for the providers: the 11 sector names, Polygon's SIC code mapped to them,
and a stable hashed sector for symbols a simulated market invents.

The SIC → GICS table is data, ``sigmasight_pipeline/data/sic_gics_sectors.csv`` (ranges of
4-digit SIC codes; the narrowest range containing a code decides; see the file's header for
the rule and its known approximations). It is read once per process and validated: every
sector must be one of :data:`GICS_SECTORS`, every range well formed, and no two ranges of
the same width may overlap (the narrowest-range rule would be ambiguous).
"""

from __future__ import annotations

import csv
import io
import zlib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

#: the 11 GICS sectors (2023 structure), in MSCI/S&P's order
GICS_SECTORS: tuple[str, ...] = (
    "Energy",
    "Materials",
    "Industrials",
    "Consumer Discretionary",
    "Consumer Staples",
    "Health Care",
    "Financials",
    "Information Technology",
    "Communication Services",
    "Utilities",
    "Real Estate",
)

SIC_TABLE_FILE = "sic_gics_sectors.csv"


@dataclass(frozen=True)
class SicRange:
    low: int
    high: int
    sector: str
    description: str


class SectorTableError(ValueError):
    """The packaged SIC → GICS table is malformed (names the file and line)."""


def parse_sic_table(text: str, name: str = SIC_TABLE_FILE) -> tuple[SicRange, ...]:
    """Ranges from the table's text (``#`` lines are comments), validated."""
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1)
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise SectorTableError(f"{name}: no rows")
    reader = csv.DictReader(io.StringIO("\n".join(line for _, line in lines)))
    ranges = []
    for (number, _), row in zip(lines[1:], reader, strict=True):
        try:
            low, high = int(row["sic_from"]), int(row["sic_to"])
        except (TypeError, ValueError):
            raise SectorTableError(f"{name}: line {number}: sic_from/sic_to must be integers"
                                   ) from None
        if not 0 <= low <= high <= 9999:
            raise SectorTableError(f"{name}: line {number}: range {low}-{high} is not within "
                                   "0000-9999 with sic_from <= sic_to")
        if row["gics_sector"] not in GICS_SECTORS:
            raise SectorTableError(f"{name}: line {number}: {row['gics_sector']!r} is not one "
                                   f"of the 11 GICS sectors {', '.join(GICS_SECTORS)}")
        ranges.append(SicRange(low, high, row["gics_sector"], row.get("sic_description") or ""))
    for i, a in enumerate(ranges):
        for b in ranges[i + 1:]:
            if a.high - a.low == b.high - b.low and a.low <= b.high and b.low <= a.high:
                raise SectorTableError(f"{name}: ranges {a.low}-{a.high} and {b.low}-{b.high} "
                                       "overlap with the same width (ambiguous)")
    # narrowest first: the first range containing a code is the one that decides
    return tuple(sorted(ranges, key=lambda r: (r.high - r.low, r.low)))


@lru_cache(maxsize=1)
def sic_table() -> tuple[SicRange, ...]:
    """The packaged SIC → GICS ranges, narrowest first."""
    ref = resources.files("sigmasight_pipeline") / "data" / SIC_TABLE_FILE
    return parse_sic_table(ref.read_text("utf-8"))


def gics_sector_of_sic(sic_code: Any, table: tuple[SicRange, ...] | None = None) -> str | None:
    """The GICS sector of a SIC code (``"3571"``, 3571), or None when it has none.

    None for a missing or non-numeric code and for codes no range covers (public
    administration, nonclassifiable establishments).
    """
    if sic_code is None:
        return None
    text = str(sic_code).strip()
    if not text.isdigit():
        return None
    code = int(text)
    for entry in table if table is not None else sic_table():
        if entry.low <= code <= entry.high:
            return entry.sector
    return None


def hashed_gics_sector(symbol: str) -> str:
    """A stable GICS sector for an invented symbol: CRC-32 of the symbol modulo 11.

    Deterministic across processes and machines (Python's ``hash`` is salted); used only by
    the simulated market for tickers outside its reference table.
    """
    return GICS_SECTORS[zlib.crc32(symbol.encode("utf-8")) % len(GICS_SECTORS)]
