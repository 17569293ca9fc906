"""Bad positions files (hypothesis and hand-picked): the importer answers with
PositionsFileError (the CLI: its message, exit code 1, no traceback) or loads the whole
file — never an unexpected exception, never half a file."""

from __future__ import annotations

import csv
import io

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from sigmasight_pipeline.cli import main
from sigmasight_pipeline.positions_file import PositionsFileError, read_positions_csv

HEADER = ["portfolio", "owner", "symbol", "quantity", "entry_price", "entry_date",
          "underlying", "strike", "expiration", "option_type", "tags"]
GOOD = ["Book", "a@x.com", "AAPL", "10", "190.5", "2024-03-01", "", "", "", "", "Core"]
OPTION = ["Book", "a@x.com", "AAPL250815P00200000", "-1", "4.5", "2024-03-01", "AAPL", "200",
          "2025-08-15", "P", "Hedge"]
FUZZ = settings(max_examples=80, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

nasty = st.sampled_from([
    "", " ", "nan", "NaN", "inf", "-inf", "0", "-0", "-1", "1e309", "1e-320", "1,000",
    "2024-02-30", "2025-08-14", "1999-01-01", "9999-12-31", "x" * 10_000, "\x00", "\ufeff",
    "'; DROP TABLE x; --", "AAPL", "aapl", "AAPL250815C00200000", "C", "P", "Q", "🙂",
    "\u202eRTL", "e\u0301", "\r\n", '"', "a;b;;c",
])
field = st.one_of(nasty, st.text(max_size=30))


def _csv(rows) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue()


def _mutated(base, index, value):
    row = list(base)
    row[index] = value
    return row


@FUZZ
@given(edits=st.lists(st.tuples(st.sampled_from([0, 1]), st.integers(0, len(HEADER) - 1),
                                field), min_size=1, max_size=4),
       duplicate=st.booleans())
def test_read_positions_csv_answers_with_a_frame_or_positions_file_error(edits, duplicate):
    rows = [list(GOOD), list(OPTION)]
    for which, column, value in edits:
        rows[which] = _mutated(rows[which], column, value)
    if duplicate:
        rows.append(list(rows[0]))
    try:
        book = read_positions_csv(io.StringIO(_csv(rows)))
    except PositionsFileError as exc:
        assert exc.problems and "nothing was loaded" in str(exc)
        return
    assert len(book) == len(rows) - sum(not any(r) for r in rows)
    assert (book["entry_price"] > 0).all() and (book["quantity"] != 0).all()
    assert book["quantity"].map(lambda q: q == q and abs(q) < float("inf")).all()


H = b"portfolio,symbol,quantity,entry_price,entry_date\n"
RAW_FILES = {
    "not utf-8": H + b"B\xff\xfe,AAPL,1,2,2024-01-02\n",
    "latin-1": "portfolio,symbol,quantity,entry_price,entry_date\nCaf\xe9,AAPL,1,2,2024-01-02\n"
               .encode("latin-1"),
    "utf-16": "portfolio,symbol,quantity,entry_price,entry_date\nB,AAPL,1,2,2024-01-02\n"
              .encode("utf-16"),
    "binary": bytes(range(256)) * 4,
    "empty": b"",
    "header only": b"portfolio,symbol,quantity,entry_price,entry_date\n",
    "NUL in a name": H + b"B\x00x,AAPL,1,2,2024-01-02\n",
    "huge field": b"portfolio,symbol,quantity,entry_price,entry_date\nB,AAPL,1,2,2024-01-02,"
                  + b"x" * 200_000 + b"\n",
    "unclosed quote": b'portfolio,symbol,quantity,entry_price,entry_date\n"B,AAPL,1,2,2024-01-02\n',
    "10k-char symbol": b"portfolio,symbol,quantity,entry_price,entry_date\nB," + b"A" * 10_000
                       + b",1,2,2024-01-02\n",
}


def _invoke(path):
    return CliRunner().invoke(main, ["positions", "import", str(path)])


def _counts(engine):
    with engine.connect() as conn:
        return conn.execute(text("SELECT (SELECT count(*) FROM sigmasight.portfolios), "
                                 "(SELECT count(*) FROM sigmasight.positions)")).one()


@pytest.mark.parametrize("name", sorted(RAW_FILES))
def test_cli_rejects_bad_bytes_with_a_message_exit_1_and_no_traceback(engine, cli_env, name):
    path = cli_env / "book.csv"
    path.write_bytes(RAW_FILES[name])
    result = _invoke(path)
    assert result.exit_code == 1, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output and "nothing was loaded" in result.output
    assert tuple(_counts(engine)) == (0, 0)


def test_cli_reads_a_file_with_a_byte_order_mark(engine, cli_env):
    path = cli_env / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + _csv([GOOD, OPTION]).encode())
    result = _invoke(path)
    assert result.exit_code == 0, result.output
    assert tuple(_counts(engine)) == (1, 2)


def test_cli_on_a_missing_file_and_a_directory(engine, cli_env):
    for target in (cli_env / "nope.csv", cli_env):
        result = _invoke(target)
        assert result.exit_code != 0 and "Traceback" not in result.output
        assert isinstance(result.exception, SystemExit)


@FUZZ
@given(edits=st.lists(st.tuples(st.integers(0, len(HEADER) - 1), field), min_size=1,
                      max_size=3))
def test_cli_import_of_fuzzed_rows_loads_all_or_nothing_without_traceback(engine, cli_env,
                                                                          edits):
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE sigmasight.portfolios CASCADE"))
    row = list(GOOD)
    for column, value in edits:
        row = _mutated(row, column, value)
    path = cli_env / "fuzz.csv"
    path.write_text(_csv([row, OPTION]), encoding="utf-8")
    result = _invoke(path)
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit | None), repr(result.exception)
    portfolios, positions = _counts(engine)
    if result.exit_code == 0:
        assert positions == 2
    else:
        assert result.exit_code == 1 and (portfolios, positions) == (0, 0), result.output
