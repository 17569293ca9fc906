"""Positions import and demo seed against the real warehouse."""

from __future__ import annotations

import textwrap

from click.testing import CliRunner
from sqlalchemy import text

from sigmasight_pipeline.cli import main
from sigmasight_pipeline.positions_file import parse_occ

HEADER = ("portfolio,owner,symbol,quantity,entry_price,entry_date,underlying,strike,expiration,"
          "option_type,tags\n")


def _count(engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM sigmasight.{table}")).scalar_one()


def test_seed_demo_loads_63_positions_in_3_portfolios_idempotently(engine, cli_env):
    runner = CliRunner()
    first = runner.invoke(main, ["seed", "demo"])
    assert first.exit_code == 0, first.output
    assert (_count(engine, "positions"), _count(engine, "portfolios")) == (63, 3)
    tags_before = _count(engine, "position_tags")
    second = runner.invoke(main, ["seed", "demo"])
    assert second.exit_code == 0, second.output
    assert "0 added" in second.output
    assert (_count(engine, "positions"), _count(engine, "portfolios")) == (63, 3)
    assert _count(engine, "position_tags") == tags_before == 69  # 6 rows carry two tags
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT position_type, count(*), min(multiplier), max(multiplier) "
            "FROM sigmasight.positions GROUP BY position_type")).all()
        by_type = {r[0]: r[1:] for r in rows}
    assert by_type == {"LONG": (46, 1, 1), "SHORT": (9, 1, 1), "LC": (4, 100, 100),
                       "SC": (1, 100, 100), "SP": (3, 100, 100)}


def test_import_with_three_bad_rows_names_each_line_and_loads_nothing(engine, cli_env):
    csv = cli_env / "book.csv"
    csv.write_text(HEADER + textwrap.dedent("""\
        Book A,a@x.com,AAPL,10,190.5,2024-03-01,,,,,Core
        Book A,a@x.com,MSFT,ten,400,2024-03-01,,,,,Core
        Book A,a@x.com,NVDA,5,800,2024-13-01,,,,,Core
        Book A,a@x.com,AAPL250815P00200000,-1,4.5,2024-03-01,AAPL,210,2025-08-15,P,Hedge
        Book A,a@x.com,GOOGL,7,150,2024-03-01,,,,,
        """))
    result = CliRunner().invoke(main, ["positions", "import", str(csv)])
    assert result.exit_code != 0
    out = result.output
    for line, column in ((3, "quantity"), (4, "entry_date"), (5, "strike")):
        assert f"line {line}, column {column}" in out, out
    assert "line 2," not in out and "line 6," not in out
    assert "nothing was loaded" in out
    assert _count(engine, "positions") == 0 and _count(engine, "portfolios") == 0


def test_import_rejects_duplicates_and_inconsistent_option_fields(engine, cli_env):
    csv = cli_env / "book.csv"
    csv.write_text(HEADER + textwrap.dedent("""\
        Book B,b@x.com,AAPL,10,190.5,2024-03-01,,,,,Core
        Book B,b@x.com,AAPL,10,190.5,2024-03-01,,,,,Core
        Book B,b@x.com,SPY250919C00460000,2,7,2024-03-01,QQQ,460,2025-09-19,C,
        Book B,b@x.com,SPY250919C00460000,2,7,2024-03-01,SPY,460,2025-09-19,P,
        Book B,b@x.com,SPY250919C00460000,2,7,2024-03-01,,,,,
        Book B,b@x.com,SPY,0,500,2024-03-01,,,,,
        """))
    result = CliRunner().invoke(main, ["positions", "import", str(csv)])
    assert result.exit_code != 0
    out = result.output
    assert "line 3, column symbol: duplicate of line 2" in out
    assert "line 4, column underlying" in out
    assert "line 5, column option_type" in out
    assert "line 6, column underlying: required for an option" in out
    assert "line 7, column quantity: must not be 0" in out
    assert _count(engine, "positions") == 0


def test_import_with_portfolio_option_and_reimport_adds_exit(engine, cli_env):
    csv = cli_env / "mine.csv"
    csv.write_text("symbol,quantity,entry_price,entry_date,tags\nAAPL,-5,200,2024-02-01,A;B\n")
    runner = CliRunner()
    assert runner.invoke(main, ["positions", "import", str(csv), "--portfolio", "Mine"]
                         ).exit_code == 0
    csv.write_text("symbol,quantity,entry_price,entry_date,tags,exit_date,exit_price\n"
                   "AAPL,-5,200,2024-02-01,A,2024-03-01,180\n")
    result = runner.invoke(main, ["positions", "import", str(csv), "--portfolio", "Mine"])
    assert result.exit_code == 0, result.output
    with engine.connect() as conn:
        row = conn.execute(text("SELECT position_type, exit_date, exit_price "
                                "FROM sigmasight.positions")).one()
        tags = conn.execute(text("SELECT tag FROM sigmasight.position_tags")).scalars().all()
    assert row[0] == "SHORT" and str(row[1]) == "2024-03-01" and row[2] == 180
    assert tags == ["A"]


def test_parse_occ():
    root, expiry, cp, strike = parse_occ("AAPL250815P00200000")
    assert (root, expiry.isoformat(), cp, strike) == ("AAPL", "2025-08-15", "P", 200.0)
    assert parse_occ("BRK-B") is None
    assert parse_occ("AAPL") is None
