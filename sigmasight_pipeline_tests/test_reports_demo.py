"""Reports end to end: demo book, simulated market, real PostgreSQL, Dagster runs."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from pathlib import Path

import jsonschema
import pandas as pd
from click.testing import CliRunner
from sqlalchemy import text

from sigmasight_pipeline.cli import main
from sigmasight_pipeline.reports.csv_report import ORIGINAL_COLUMNS
from sigmasight_pipeline.reports.json_report import report_schema

END = dt.date(2025, 6, 30)
START = dt.date(2025, 6, 26)
SLUGS = ["demo-hedge-fund-style-investor-portfolio", "demo-high-net-worth-investor-portfolio",
         "demo-individual-investor-portfolio"]
HF = "Demo Hedge Fund Style Investor Portfolio"


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_demo_window_writes_every_format_deterministically(demo_book, run_days, cli_env):
    engine = demo_book
    lines = run_days(START, END)
    assert any("report_" in ln for ln in lines), lines
    folder = cli_env / "reports" / END.isoformat()
    files = _files(folder)
    assert sorted(files) == sorted(f"{s}.{e}" for s in SLUGS for e in ("csv", "json", "md",
                                                                         "png"))
    # earlier days of the window have their reports too
    assert len(list((cli_env / "reports" / START.isoformat()).glob("*.md"))) == 3

    validator = jsonschema.Draft202012Validator(report_schema())
    csv_rows = 0
    for slug in SLUGS:
        doc = json.loads(files[f"{slug}.json"])
        validator.validate(doc)
        assert doc["schema_version"] == "1.2.0" and doc["date"] == "2025-06-30"
        assert doc["backtest"]["available"] and doc["pnl_attribution"]["available"]
        assert doc["data_source"] == {**doc["data_source"], "code": "simulated",
                                      "simulated": True}
        md = files[f"{slug}.md"].decode()
        head = "\n".join(md.splitlines()[:4])
        assert "Data source: simulated" in head and "OFFLINE SIMULATED" in head
        assert "NOT real prices" in head
        assert "## Summary" in md and "## History (last 3 trading days)" in md
        rows = list(csv.reader(io.StringIO(files[f"{slug}.csv"].decode())))
        assert rows[0][:26] == ORIGINAL_COLUMNS
        csv_rows += len(rows) - 1
        assert files[f"{slug}.png"].startswith(b"\x89PNG\r\n\x1a\n")
        assert b"Software" not in files[f"{slug}.png"]
    assert csv_rows == 63

    # CSV: the multiplier applies to cost basis; days to expiry from the report date; tags
    hf = pd.read_csv(io.BytesIO(files[f"{SLUGS[0]}.csv"]), keep_default_na=False)
    put = hf[hf.Symbol == "AAPL250815P00200000"].iloc[0]
    assert float(put.Cost_Basis) == -100 * 100 * 4.50
    assert int(put.Days_To_Expiry) == (dt.date(2025, 8, 15) - END).days
    assert put.Tags == "Options Overlay" and put.Underlying_Symbol == "AAPL"
    assert (hf.Tags != "").all() and (hf.Sector != "").sum() > 0

    # the reports table: one row per file, bytes and sha256 of the file on disk
    with engine.connect() as conn:
        table = pd.read_sql(text("SELECT * FROM sigmasight.reports WHERE date = :d"), conn,
                            params={"d": END})
        days = conn.execute(text("SELECT count(DISTINCT date) FROM sigmasight.reports")).scalar()
    assert len(table) == 12 and days == 3
    assert sorted(table.format.unique()) == ["csv", "json", "md", "png"]
    for row in table.itertuples():
        data = Path(row.path).read_bytes()
        assert row.bytes == len(data) and row.sha256 == hashlib.sha256(data).hexdigest()
        assert Path(row.path).parent == folder

    # the same day again: byte-identical files, same table rows
    run_days(END)
    assert _files(folder) == files
    with engine.connect() as conn:
        again = pd.read_sql(text("SELECT format, path, bytes, sha256 FROM sigmasight.reports "
                                 "WHERE date = :d ORDER BY path, format"), conn,
                            params={"d": END})
    assert again.to_dict("records") == table.sort_values(["path", "format"])[
        ["format", "path", "bytes", "sha256"]].to_dict("records")

    # download: the stored file's bytes
    runner = CliRunner()
    out = cli_env / "downloads"
    for fmt in ("md", "json", "csv"):
        result = runner.invoke(main, ["reports", "download", "--portfolio", HF, "--date",
                                      END.isoformat(), "--format", fmt, "--out", str(out)])
        assert result.exit_code == 0, result.output
        got = (out / f"{SLUGS[0]}_{END.isoformat()}.{fmt}").read_bytes()
        assert got == files[f"{SLUGS[0]}.{fmt}"]
        assert "stored report" in result.output

    # not stored (rows deleted): rendered from the warehouse, the same bytes
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM sigmasight.reports"))
    result = runner.invoke(main, ["reports", "download", "--portfolio", HF, "--date",
                                  END.isoformat(), "--format", "json", "--out", str(out)])
    assert result.exit_code == 0 and "rendered from the warehouse" in result.output
    assert (out / f"{SLUGS[0]}_{END.isoformat()}.json").read_bytes() == files[f"{SLUGS[0]}.json"]

    # errors: unknown portfolio, a day without data
    bad = runner.invoke(main, ["reports", "download", "--portfolio", "No Such Book", "--date",
                               END.isoformat(), "--format", "md", "--out", str(out)])
    assert bad.exit_code == 1
    assert "unknown portfolio 'No Such Book'" in bad.output and HF in bad.output
    early = runner.invoke(main, ["reports", "download", "--portfolio", HF, "--date",
                                 "2025-06-02", "--format", "csv", "--out", str(out)])
    assert early.exit_code == 1 and "no data for" in early.output
    assert runner.invoke(main, ["reports", "download", "--portfolio", HF, "--date",
                                "2025-06-30", "--format", "pdf"]).exit_code == 2


def test_range_rendered_in_worker_processes_equals_serial(demo_book, run_days, cli_env,
                                                          monkeypatch):
    from sigmasight_pipeline.reports import days as report_days

    root = cli_env / "reports"
    monkeypatch.setattr(report_days, "MIN_DAYS_PER_WORKER", 1)  # 3 days → worker processes
    run_days(START, END)
    parallel = {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*.*"))}
    with demo_book.connect() as conn:
        rows = pd.read_sql(text("SELECT date, path, sha256 FROM sigmasight.reports"), conn)
    assert len(parallel) == 3 * 3 * 4 == len(rows)
    assert all(hashlib.sha256(Path(p).read_bytes()).hexdigest() == h
               for p, h in zip(rows.path, rows.sha256, strict=True))

    monkeypatch.setattr(report_days, "MIN_DAYS_PER_WORKER", 10_000)  # in process
    run_days(START, END)
    serial = {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*.*"))}
    assert serial == parallel
