"""What the reports read from the warehouse: the strongest correlation pairs filtered in
PostgreSQL (``read_top_pairs``) give the report the same top pairs and pair count as the
whole ``position_correlations`` table, near-ties included; and a position's betas joined from
the security tables in the report are the rows of the SPEC §7.1 views."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter

import pandas as pd
from sqlalchemy import text

from sigmasight_pipeline.reports.document import (
    BETA_COLUMNS,
    OPTION_TYPES,
    _beta_rows,
    _correlations,
    portfolios_to_report,
)
from sigmasight_pipeline.reports.inputs import ReportInputs
from sigmasight_pipeline.warehouse import tables as t
from sigmasight_pipeline.warehouse.engine_store import read_days
from sigmasight_pipeline.warehouse.report_store import read_report_inputs, read_top_pairs

DAY = dt.date(2025, 6, 30)


def _report_pairs(frame: pd.DataFrame, pid: str) -> dict:
    inputs = ReportInputs(day=DAY, portfolios=pd.DataFrame({"portfolio_id": [pid]}),
                          positions=pd.DataFrame(columns=["position_id", "portfolio_id"]),
                          tags=pd.DataFrame(columns=["position_id", "tag"]),
                          securities=pd.DataFrame(columns=["symbol"]),
                          tables={"position_correlations": frame,
                                  "correlation_summaries": pd.DataFrame(
                                      columns=["portfolio_id"])})
    section = _correlations(inputs, pid)
    return {"pair_count": section["pair_count"], "top_pairs": section["top_pairs"]}


def test_top_pairs_read_in_sql_rank_like_the_report_near_ties_included(engine):
    big, small = str(uuid.uuid4()), str(uuid.uuid4())
    # big: a self-pair, ten clear pairs (the 10th strongest |ρ| is 0.45, pair Y-Z), then
    # 0.4499996 (A-B: rounds to 0.45 and, by symbol, beats Y-Z into the top ten), 0.449998
    # (2e-6 below the 10th: can never rank), and weak pairs
    values = [("AAA", "AAA", 1.0), ("C", "D", 0.9), ("C", "E", -0.85), ("C", "F", 0.8),
              ("D", "E", 0.75), ("D", "F", -0.7), ("E", "F", 0.65), ("G", "H", 0.6),
              ("G", "I", 0.55), ("H", "I", -0.5), ("Y", "Z", -0.45), ("A", "B", 0.4499996),
              ("A", "C", 0.449998), ("B", "C", 0.1), ("B", "D", 0.0)]
    rows = [{"date": DAY, "portfolio_id": big, "symbol_a": a, "symbol_b": b, "correlation": r,
             "n_obs": 60} for a, b, r in values]
    rows += [{"date": DAY, "portfolio_id": small, "symbol_a": a, "symbol_b": b,
              "correlation": r, "n_obs": 30} for a, b, r in
             [("X", "X", 1.0), ("X", "Y", 0.3), ("X", "Z", -0.2), ("Y", "Z", 0.1)]]
    # another day's pairs are not read
    rows.append({"date": DAY - dt.timedelta(days=3), "portfolio_id": big, "symbol_a": "P",
                 "symbol_b": "Q", "correlation": 0.99, "n_obs": 60})
    with engine.begin() as conn:
        conn.execute(t.position_correlations.insert(), rows)
    with engine.connect() as conn:
        top = read_top_pairs(conn, DAY)
        whole = read_days(conn, t.position_correlations, DAY)

    kept = top[top["portfolio_id"] == big]
    assert set(zip(kept["symbol_a"], kept["symbol_b"], strict=True)) == {
        (a, b) for a, b, r in values if a != b and abs(r) >= 0.4499996}
    assert kept["pair_count"].unique().tolist() == [14]  # self-pair not counted
    assert top[top["portfolio_id"] == small]["pair_count"].unique().tolist() == [3]
    assert len(top[top["portfolio_id"] == small]) == 3
    assert not (top["symbol_a"] == top["symbol_b"]).any()
    assert (top["date"] == DAY).all()
    # primary-key order, as read_days gives
    key = ["portfolio_id", "symbol_a", "symbol_b"]
    assert top[key].values.tolist() == top.sort_values(key)[key].values.tolist()

    for pid in (big, small):
        assert _report_pairs(top, pid) == _report_pairs(whole, pid)
    listed = _report_pairs(top, big)["top_pairs"]
    # A-B ties Y-Z at 0.45 (rounded) and wins on symbols: Y-Z is the 11th
    assert [(p["symbol_a"], p["symbol_b"]) for p in listed][-2:] == [("H", "I"), ("A", "B")]
    assert len(listed) == 10


def test_report_inputs_match_the_warehouse_views_on_a_materialized_day(demo_book, run_days):
    run_days(DAY)
    with demo_book.connect() as conn:
        inputs = read_report_inputs(conn, DAY)
        whole = read_days(conn, t.position_correlations, DAY)
        views = {name: pd.read_sql(text(f"SELECT * FROM sigmasight.{name} WHERE date = :d"),
                                   conn, params={"d": DAY})
                 for name in ("position_factor_exposures", "position_interest_rate_betas")}
    assert len(whole) > 0
    positions = inputs.positions
    ports = portfolios_to_report(inputs)
    assert len(ports) == 3
    checked = 0
    for port in ports:
        pid = port["portfolio_id"]
        valued = {r["position_id"] for r in inputs.rows("position_values", pid)}
        book = [r for r in inputs.select(positions, "portfolio_id", (pid,))
                if r["position_id"] in valued]
        # SPEC §7.1: an option's betas are its underlying's, a stock's its own
        symbol_of = {r["position_id"]: r["underlying_symbol"]
                     if r["position_type"] in OPTION_TYPES else r["symbol"] for r in book}
        for view, table, key in [
                ("position_factor_exposures", "security_factor_exposures",
                 ["position_id", "factor"]),
                ("position_interest_rate_betas", "security_rate_betas", ["position_id"])]:
            # the columns a report reads, of every row the view has for the positions
            cols = ["position_id", *BETA_COLUMNS[table]]
            joined = pd.DataFrame(_beta_rows(inputs, table, symbol_of), columns=cols)
            expected = views[view][views[view]["position_id"].astype(str).isin(valued)]
            expected = expected.assign(position_id=expected["position_id"].astype(str))
            assert len(joined) == len(expected) > 0, (pid, view)
            got = joined[cols].sort_values(key).reset_index(drop=True)
            want = expected[cols].sort_values(key).reset_index(drop=True)
            pd.testing.assert_frame_equal(got, want, check_dtype=False)
            checked += len(joined)
        assert _report_pairs(inputs.tables["position_correlations"], pid) == \
            _report_pairs(whole, pid)
    assert checked > 100


def _inputs_frames(inputs: ReportInputs) -> dict[str, pd.DataFrame]:
    frames = {f: getattr(inputs, f) for f in ("portfolios", "positions", "tags", "securities",
                                              "history", "exposure_history")}
    frames.update({f"tables.{k}": v for k, v in inputs.tables.items()})
    frames.update({f"risk_ii.{k}": v for k, v in inputs.risk_ii.items()})
    return frames


def _tree(root) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def _selects_by_table(monkeypatch, read) -> Counter:
    """The SELECT statements ``read()`` sends through psycopg (both connections), by the
    first warehouse table each names."""
    import re

    import psycopg

    seen: Counter = Counter()
    table = re.compile(r"\bFROM\s+sigmasight\.(\w+)", re.IGNORECASE)
    original = psycopg.Cursor.execute

    def execute(cursor, query, *args, **kwargs):
        text_ = query if isinstance(query, str) else str(query)
        m = table.search(text_)
        if m and text_.lstrip().upper().startswith("SELECT"):
            seen[m.group(1)] += 1
        return original(cursor, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", execute)
    try:
        read()
    finally:
        monkeypatch.setattr(psycopg.Cursor, "execute", original)
    return seen


def test_a_range_read_in_one_query_per_table_gives_each_day_its_own_read(demo_book, run_days,
                                                                         tmp_path, monkeypatch):
    """read_report_days of consecutive days (their chart, attribution and VaR windows
    overlapping) sends the statements one day's read sends, table for table, and gives each
    day exactly what read_report_inputs of that day alone gives, frame for frame (rows,
    order, dtypes); and the range's report files, rendered a chunk of days at a time by the
    range run, are byte for byte those of each day rendered alone."""
    from sigmasight_pipeline.calendar import sessions_back
    from sigmasight_pipeline.reports import days as report_days
    from sigmasight_pipeline.reports.render import write_day
    from sigmasight_pipeline.warehouse.report_store import read_report_days, read_top_pairs_days

    days = sessions_back(DAY, 4)
    run_days(days[0], days[-1])  # the range run renders its reports in chunks of 2 days
    assert report_days.day_chunks(days, 3, 1) == [days[:2], days[2:]]
    alone = tmp_path / "alone"
    with demo_book.connect() as conn:
        read_report_inputs(conn, days[0])  # the book read and kept (later: a version check)
        one_day = _selects_by_table(monkeypatch, lambda: read_report_inputs(conn, days[-1]))
        four_days = _selects_by_table(monkeypatch, lambda: read_report_days(conn, days))
        assert four_days == one_day and len(one_day) >= 20, (four_days, one_day)
        together = read_report_days(conn, days)
        pairs = read_top_pairs_days(conn, days)
        assert sorted(together) == days
        for day in days:
            single = read_report_inputs(conn, day)
            got, want = _inputs_frames(together[day]), _inputs_frames(single)
            assert list(got) == list(want)
            for name in want:
                pd.testing.assert_frame_equal(got[name], want[name], obj=f"{day} {name}")
            assert len(want["history"]) > 0 and len(want["tables.position_values"]) > 0
            assert together[day].risk_ii["history"] is together[day].history
            # each day's pairs ranked within that day alone
            pd.testing.assert_frame_equal(pairs[day], read_top_pairs(conn, day))
            write_day(single, alone)
        # history windows overlap: the last day's history holds the first day's rows
        assert set(together[days[-1]].history["date"]) >= set(days)
    ranged, single_files = _tree(tmp_path / "reports"), _tree(alone)
    assert len(single_files) == len(days) * 3 * 4  # 3 portfolios × md, json, csv, png
    assert ranged == single_files

    # a worker's task of a long range (a chunk of days read together) writes the same bytes
    worker = tmp_path / "worker"
    url = demo_book.url.render_as_string(hide_password=False)
    done = report_days.render_stored_days(url, days[1:], worker)
    assert [day for day, _ in done] == days[1:]
    assert _tree(worker) == {name: data for name, data in single_files.items()
                             if not name.startswith(days[0].isoformat())}


def test_day_chunks_bound_a_chunk_and_keep_the_workers_busy():
    from sigmasight_pipeline.calendar import sessions_back
    from sigmasight_pipeline.reports.days import (
        MAX_CHUNK_DAYS,
        PORTFOLIO_DAYS_PER_CHUNK,
        day_chunks,
    )

    year = sessions_back(DAY, 250)
    for days, portfolios, workers in [(year, 200, 2), (year, 3, 2), (year, 2000, 2),
                                      (year[:10], 200, 2), (year[:11], 200, 2),
                                      (year[:4], 3, 1), (year[:1], 200, 1), ([], 200, 2)]:
        chunks = day_chunks(days, portfolios, workers)
        assert [d for c in chunks for d in c] == days  # every day once, in order
        sizes = [len(c) for c in chunks]
        assert all(s >= 1 for s in sizes)
        assert max(sizes, default=0) <= min(MAX_CHUNK_DAYS,
                                            max(1, PORTFOLIO_DAYS_PER_CHUNK // portfolios))
        assert sizes == sorted(sizes, reverse=True)  # larger first
        assert max(sizes, default=0) - min(sizes, default=0) <= 1  # even
        if len(days) >= workers:
            assert len(chunks) % workers == 0  # whole rounds of the workers
    assert [len(c) for c in day_chunks(year, 200, 2)] == [10] * 16 + [9] * 10
    assert len(day_chunks(year, 2000, 2)) == 250  # a large book: one day a chunk
    assert [len(c) for c in day_chunks(year[:10], 200, 2)] == [3, 3, 2, 2]
