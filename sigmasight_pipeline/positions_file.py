"""Reading and validating a positions CSV (SPEC §2). Pure: no database.

Every row is checked and every problem reported with its line number (the header is line
1), so that a file with any bad row loads nothing and the user fixes them all at once.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

REQUIRED_COLUMNS = ("symbol", "quantity", "entry_price", "entry_date")
KNOWN_COLUMNS = (
    "portfolio", "owner", "symbol", "quantity", "entry_price", "entry_date", "underlying",
    "strike", "expiration", "option_type", "tags", "exit_date", "exit_price",
)
OPTION_COLUMNS = ("underlying", "strike", "expiration", "option_type")
OPTION_MULTIPLIER = 100

# OCC: root (1-6), YYMMDD, C/P, strike × 1000 in 8 digits.
_OCC = re.compile(r"^(?P<root>[A-Z][A-Z0-9.\-]{0,5})(?P<ymd>\d{6})(?P<cp>[CP])(?P<strike>\d{8})$")
_TICKER = re.compile(r"^[A-Z][A-Z0-9.\-]{0,9}$")


@dataclass(frozen=True)
class RowProblem:
    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.reason}"


class PositionsFileError(ValueError):
    """The file has problems; ``problems`` lists each with its line and column."""

    def __init__(self, path: str, problems: list[RowProblem]):
        self.problems = problems
        lines = sorted({p.line for p in problems})
        header = (f"{path}: {len(lines)} invalid row(s) (lines {', '.join(map(str, lines))}); "
                  "nothing was loaded")
        super().__init__("\n".join([header, *(f"  {p}" for p in problems)]))


def parse_occ(symbol: str) -> tuple[str, dt.date, str, float] | None:
    """(root, expiration, 'C'|'P', strike) of an OCC option symbol, or None."""
    m = _OCC.match(symbol)
    if not m:
        return None
    try:
        expiry = dt.datetime.strptime(m["ymd"], "%y%m%d").date()
    except ValueError:
        return None
    return m["root"], expiry, m["cp"], int(m["strike"]) / 1000.0


def position_type(quantity: float, option_type: str | None) -> str:
    """LONG/SHORT for stocks, ETFs and funds; LC/SC/LP/SP for options (sign of quantity)."""
    if option_type is None:
        return "LONG" if quantity > 0 else "SHORT"
    return ("L" if quantity > 0 else "S") + option_type


def _date(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


def _number(value: str) -> float:
    x = float(value.replace(",", "")) if value else math.nan
    if not math.isfinite(x):
        raise ValueError
    return x


def read_positions_csv(source: str | Path | io.TextIOBase, portfolio: str | None = None,
                       owner: str | None = None) -> pd.DataFrame:
    """Parse and validate; return one row per position or raise PositionsFileError.

    ``portfolio`` (the ``--portfolio`` option) puts every row in that portfolio; the
    file's ``portfolio`` column is then optional and must agree where it is filled.
    Columns of the result: portfolio, owner, symbol, position_type, quantity (signed),
    multiplier, entry_price ($ per share), entry_date, exit_date, exit_price,
    underlying_symbol, strike, expiration, option_type, tags (list[str]), line.
    """
    name = str(source) if isinstance(source, (str, Path)) else "<stream>"
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise PositionsFileError(name, [RowProblem(0, "-", "file not found")])
        data = path.read_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[:exc.start].count(b"\n") + 1
            raise PositionsFileError(name, [RowProblem(
                line, "-", f"not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file as "
                "UTF-8")]) from None
    else:
        text = source.read().removeprefix("\ufeff")
    nul_lines = [i for i, ln in enumerate(text.split("\n"), start=1) if "\x00" in ln]
    if nul_lines:  # PostgreSQL text cannot hold NUL; a binary file usually has some
        raise PositionsFileError(name, [RowProblem(i, "-", "contains a NUL character (is this "
                                                   "a CSV text file?)") for i in nul_lines])
    reader = csv.DictReader(io.StringIO(text))
    try:
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise PositionsFileError(name, [RowProblem(1, "-", f"unreadable CSV ({exc})")]) from None
    reader.fieldnames = header
    required = list(REQUIRED_COLUMNS) + ([] if portfolio else ["portfolio"])
    missing = [c for c in required if c not in header]
    if missing:
        raise PositionsFileError(name, [RowProblem(1, c, "required column is missing")
                                        for c in missing])
    problems: list[RowProblem] = []
    rows: list[dict] = []
    seen: dict[tuple, int] = {}
    records = iter(reader)
    line = 1
    while True:
        try:
            raw = next(records)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(RowProblem(reader.line_num, "-", f"unreadable CSV ({exc})"))
            break
        line += 1
        rec = {k: (v or "").strip() for k, v in raw.items() if k}
        if not any(rec.values()):
            continue
        row, row_problems = _validate_row(rec, line, portfolio, owner)
        problems += row_problems
        if row_problems:
            continue
        key = (row["portfolio"], row["symbol"], row["entry_date"], row["quantity"],
               row["entry_price"])
        if key in seen:
            problems.append(RowProblem(line, "symbol", f"duplicate of line {seen[key]} (same "
                                       "portfolio, symbol, entry date, quantity and price)"))
            continue
        seen[key] = line
        rows.append(row)
    if problems:
        raise PositionsFileError(name, problems)
    if not rows:
        raise PositionsFileError(name, [RowProblem(1, "-", "the file holds no positions")])
    return pd.DataFrame(rows)


def _validate_row(rec: dict, line: int, portfolio: str | None, owner: str | None
                  ) -> tuple[dict, list[RowProblem]]:
    bad: list[RowProblem] = []

    def fail(column: str, reason: str) -> None:
        bad.append(RowProblem(line, column, reason))

    port = rec.get("portfolio", "")
    if portfolio:
        if port and port != portfolio:
            fail("portfolio", f"row names portfolio {port!r} but --portfolio is {portfolio!r}")
        port = portfolio
    elif not port:
        fail("portfolio", "empty")
    symbol = rec.get("symbol", "").upper()
    if not symbol:
        fail("symbol", "empty")

    def number(col: str, positive: bool = False, nonzero: bool = False) -> float | None:
        try:
            x = _number(rec.get(col, ""))
        except ValueError:
            fail(col, f"not a number: {rec.get(col, '')!r}" if rec.get(col) else "empty")
            return None
        if positive and x <= 0:
            fail(col, f"must be > 0, got {x:g}")
        if nonzero and x == 0:
            fail(col, "must not be 0 (negative = short)")
        return x

    def date(col: str, required: bool = True) -> dt.date | None:
        v = rec.get(col, "")
        if not v:
            if required:
                fail(col, "empty")
            return None
        try:
            return _date(v)
        except ValueError:
            fail(col, f"not a date (YYYY-MM-DD): {v!r}")
            return None

    quantity = number("quantity", nonzero=True)
    entry_price = number("entry_price", positive=True)
    entry_date = date("entry_date")
    exit_date = date("exit_date", required=False)
    exit_price = number("exit_price", positive=True) if rec.get("exit_price") else None
    if exit_date and exit_price is None and not any(p.column == "exit_price" for p in bad):
        fail("exit_price", "required when exit_date is given")
    if exit_price is not None and not rec.get("exit_date"):
        fail("exit_date", "required when exit_price is given")
    if exit_date and entry_date and exit_date <= entry_date:
        fail("exit_date", f"must be after entry_date {entry_date}")

    option_fields = {c: rec.get(c, "") for c in OPTION_COLUMNS}
    occ = parse_occ(symbol) if symbol else None
    underlying = strike = expiration = option_type = None
    if any(option_fields.values()) or occ:
        for c, v in option_fields.items():
            if not v:
                fail(c, "required for an option" + (f" ({symbol} is an OCC option symbol)"
                                                    if occ else ""))
        underlying = option_fields["underlying"].upper() or None
        strike = number("strike", positive=True) if option_fields["strike"] else None
        expiration = date("expiration") if option_fields["expiration"] else None
        option_type = option_fields["option_type"].upper() or None
        if option_type and option_type not in ("C", "P"):
            fail("option_type", f"must be C or P, got {option_type!r}")
            option_type = None
        if symbol and not occ:
            fail("symbol", f"{symbol!r} is not an OCC option symbol (e.g. AAPL250815P00200000)")
        elif occ:
            root, occ_exp, occ_cp, occ_strike = occ
            if underlying and root != underlying:
                fail("underlying", f"{underlying} disagrees with the OCC symbol's root {root}")
            if expiration and occ_exp != expiration:
                fail("expiration", f"{expiration} disagrees with the OCC symbol ({occ_exp})")
            if option_type and occ_cp != option_type:
                fail("option_type", f"{option_type} disagrees with the OCC symbol ({occ_cp})")
            if strike is not None and abs(occ_strike - strike) > 1e-6:
                fail("strike", f"{strike:g} disagrees with the OCC symbol ({occ_strike:g})")
        if expiration and entry_date and expiration < entry_date:
            fail("expiration", f"{expiration} is before entry_date {entry_date}")
    elif symbol and not _TICKER.match(symbol):
        fail("symbol", f"{symbol!r} is not a ticker (A-Z, digits, '.', '-', up to 10)")

    tags = list(dict.fromkeys(t.strip() for t in rec.get("tags", "").split(";") if t.strip()))
    row = {
        "portfolio": port,
        "owner": rec.get("owner") or owner or None,
        "symbol": symbol,
        "position_type": position_type(quantity, option_type) if quantity else None,
        "quantity": quantity,
        "multiplier": OPTION_MULTIPLIER if option_type else 1,
        "entry_price": entry_price,
        "entry_date": entry_date,
        "exit_date": exit_date,
        "exit_price": exit_price,
        "underlying_symbol": underlying,
        "strike": strike,
        "expiration": expiration,
        "option_type": option_type,
        "tags": tags,
        "line": line,
    }
    return row, bad
