"""Hostile text round-trips unchanged: import (CLI) → warehouse → read back, and through a
run into the tables the engines write with COPY (tag_exposures), so every statement on the
way is parameterized (SQLAlchemy ``:name`` binds and psycopg ``%s`` included)."""

from __future__ import annotations

import csv
import datetime as dt
import io

from click.testing import CliRunner
from sqlalchemy import inspect, text, update

from sigmasight_pipeline.cli import main
from sigmasight_pipeline.warehouse.positions_store import read_portfolios, read_tags
from sigmasight_pipeline.warehouse.tables import SCHEMA, metadata, portfolios

D = dt.date(2025, 6, 30)
NAMES = [
    "O'Brien \"Book\"; x",
    "'; DROP TABLE sigmasight.positions; --",
    "back\\slash \\\\ \\n \\x00",
    "🙂 émoji 📈",
    "שלום עולם \u202eRTL override",
    "e\u0301 combining a\u0308",
    "%s %(x)s :param ? $1",
    "x" * 10_000,
]
# (';' separates tags, SPEC §2, so a tag cannot hold one)
TAGS = ["O'Reilly", "back\\slash", "🙂", "مرحبا", "a\u0301", "') DROP TABLE x --",
        ":tag %s", "$$ dollar $$"]
SYMBOLS = ["AAPL", "MSFT", "NVDA", "XOM", "JPM", "SPY", "QQQ", "IWM"]


def _book() -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["portfolio", "owner", "symbol", "quantity", "entry_price", "entry_date",
                     "tags"])
    for name, sym, tag in zip(NAMES, SYMBOLS, TAGS, strict=True):
        writer.writerow([name, f"{name[:20]}@x.com", sym, 10, 100, "2024-01-02",
                         f"{tag};Core"])
    return out.getvalue()


def test_hostile_names_tags_and_descriptions_round_trip(engine, cli_env, run_days):
    path = cli_env / "hostile.csv"
    path.write_text(_book(), encoding="utf-8")
    result = CliRunner().invoke(main, ["positions", "import", str(path)])
    assert result.exit_code == 0, result.output
    again = CliRunner().invoke(main, ["positions", "import", str(path)])  # upsert path too
    assert again.exit_code == 0 and "0 added" in again.output, again.output

    with engine.begin() as conn:
        for name in NAMES:
            conn.execute(update(portfolios).where(portfolios.c.name == name)
                         .values(description=f"about {name}"))
        ports = read_portfolios(conn)
        tags = read_tags(conn)
    assert sorted(ports["name"]) == sorted(NAMES)
    assert all(d == f"about {n}" for n, d in zip(ports["name"], ports["description"],
                                                 strict=True))
    assert {n[:20] + "@x.com" for n in NAMES} == set(ports["owner_email"])
    assert set(tags["tag"]) == set(TAGS) | {"Core"}

    run_days(D)
    with engine.connect() as conn:
        tagged = {r[0] for r in conn.execute(text(
            "SELECT DISTINCT tag FROM sigmasight.tag_exposures WHERE date = :d"), {"d": D})}
        named = conn.execute(text(
            "SELECT count(DISTINCT p.name) FROM sigmasight.portfolio_snapshots s "
            "JOIN sigmasight.portfolios p ON p.id = s.portfolio_id WHERE s.date = :d"),
            {"d": D}).scalar_one()
        existing = set(inspect(conn).get_table_names(schema=SCHEMA))
    assert tagged == set(TAGS) | {"Core"}
    assert named == len(NAMES)
    assert {t.name for t in metadata.sorted_tables} <= existing  # nothing was dropped
