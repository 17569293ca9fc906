"""Writes: a day's replace of 100,000 position_values rows into a table already holding
``--days`` days, plain table vs declarative range partitioning by date (a script).

    python -m benchmarks.bench_partitions [--days 250] [--rows 100000] [--repeat 3]

Own embedded PostgreSQL under ``$SIGMASIGHT_BENCH_DIR/partitions``. Three copies of
``sigmasight.position_values`` (``LIKE … INCLUDING ALL``: same columns, primary key
(date, position_id) and portfolio index) are filled with the same ``--days`` days
(server-side ``INSERT … SELECT`` of one generated day with the date shifted), then the last
day is replaced ``--repeat`` times, each in one transaction, timed:

- ``plain``: the product's ``replace_partition`` (advisory lock, DELETE of the day, COPY);
- ``partitioned, DELETE``: the same call on a table partitioned by day (the DELETE is
  pruned to one partition);
- ``partitioned, TRUNCATE``: lock, ``TRUNCATE`` of the day's partition, the same COPY.

Target (issue 16): ≥ 400,000 rows/s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import time
from pathlib import Path

from benchmarks import run_scale
from benchmarks.bench_originals import position_values_frame

TARGET_ROWS_PER_S = 400_000.0
DAY = dt.date(2025, 6, 30)


def _tables():
    from sqlalchemy import MetaData

    from sigmasight_pipeline.warehouse import tables as t

    md = MetaData()
    return {name: t.position_values.to_metadata(md, name=name)
            for name in ("bench_pv_plain", "bench_pv_part_delete", "bench_pv_part_truncate")}


def _create(conn, days: list[dt.date]) -> None:
    from sqlalchemy import text

    s = "sigmasight"
    conn.execute(text(f"CREATE TABLE {s}.bench_pv_plain "
                      f"(LIKE {s}.position_values INCLUDING ALL)"))
    for name in ("bench_pv_part_delete", "bench_pv_part_truncate"):
        # LIKE copies the columns; keys and indexes are declared on the partitioned parent
        conn.execute(text(f"CREATE TABLE {s}.{name} (LIKE {s}.position_values INCLUDING "
                          "DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (date)"))
        conn.execute(text(f"ALTER TABLE {s}.{name} ADD PRIMARY KEY (date, position_id)"))
        conn.execute(text(f"CREATE INDEX ON {s}.{name} (portfolio_id, date)"))
        for d in days:
            conn.execute(text(f"CREATE TABLE {s}.{name}_{d:%Y%m%d} PARTITION OF {s}.{name} "
                              f"FOR VALUES FROM ('{d}') TO ('{d + dt.timedelta(days=1)}')"))


def _fill(conn, table, days: list[dt.date], frame) -> None:
    """Every table gets the same rows: one day COPYed, the others copied server-side."""
    from sqlalchemy import text

    from sigmasight_pipeline.warehouse.writer import replace_partition

    replace_partition(conn, table, days[-1], frame)
    cols = [c.name for c in table.columns]
    select_cols = ", ".join("(date + :shift)::date" if c == "date" else
                            ("gen_random_uuid()" if c == "position_id" else f'"{c}"')
                            for c in cols)
    for d in days[:-1]:
        conn.execute(text(f'INSERT INTO sigmasight.{table.name} ({", ".join(cols)}) '
                          f"SELECT {select_cols} FROM sigmasight.{table.name} "
                          f"WHERE date = :last"),
                     {"shift": (d - days[-1]).days, "last": days[-1]})


def _replace_truncate(conn, table, day: dt.date, frame) -> int:
    from sqlalchemy import text

    from sigmasight_pipeline.warehouse.writer import _copy, _known_columns, lock_partition

    lock_partition(conn, table, [day])
    conn.execute(text(f"TRUNCATE sigmasight.{table.name}_{day:%Y%m%d}"))
    return _copy(conn, f"sigmasight.{table.name}", table, frame, _known_columns(table, frame))


def run(n_days: int, n_rows: int, repeat: int, workdir: Path, echo=print) -> list[dict]:
    from sqlalchemy import text

    from sigmasight_pipeline.calendar import sessions_back
    from sigmasight_pipeline.warehouse.database import get_engine
    from sigmasight_pipeline.warehouse.writer import replace_partition

    home = workdir / "home"
    url = run_scale.start_warehouse(home)
    engine = get_engine(url)
    try:
        days = sessions_back(DAY, n_days)
        frame = position_values_frame(n_rows, DAY)
        tables = _tables()
        t0 = time.perf_counter()
        with engine.begin() as conn:
            _create(conn, days)
        for table in tables.values():
            with engine.begin() as conn:
                _fill(conn, table, days, frame)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
            sizes = {name: conn.execute(text(
                "SELECT pg_total_relation_size(c.oid) FROM pg_class c WHERE relname = :n"),
                {"n": name}).scalar() for name in tables}
            part_sizes = {name: conn.execute(text(
                "SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits i "
                "JOIN pg_class c ON c.oid = i.inhparent WHERE c.relname = :n"),
                {"n": name}).scalar() for name in tables}
        echo(f"  {len(tables)} tables × {n_days} days × {n_rows:,} rows filled in "
             f"{time.perf_counter() - t0:.0f} s")
        variants = [("plain table, replace_partition (lock, DELETE, COPY)",
                     tables["bench_pv_plain"], replace_partition),
                    ("partitioned by day, replace_partition (DELETE pruned to the day)",
                     tables["bench_pv_part_delete"], replace_partition),
                    ("partitioned by day, lock + TRUNCATE of the day's partition + COPY",
                     tables["bench_pv_part_truncate"], _replace_truncate)]
        out = []
        for what, table, fn in variants:
            secs = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                with engine.begin() as conn:
                    fn(conn, table, DAY, frame)
                secs.append(time.perf_counter() - t0)
            best, med = min(secs), statistics.median(secs)
            size = (part_sizes[table.name] or sizes[table.name] or 0) / 2**20
            out.append({"what": what, "rows": n_rows, "days": n_days, "best_s": best,
                        "median_s": med, "rows_per_s": n_rows / best,
                        "rows_per_s_median": n_rows / med, "table_mb": size,
                        "load": os.getloadavg()[0]})
            echo(f"  {what}: best {best:.2f} s ({n_rows / best:,.0f} rows/s), median "
                 f"{med:.2f} s; table {size:,.0f} MB; load {os.getloadavg()[0]:.1f}")
        return out
    finally:
        run_scale.stop_warehouse(home)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=250)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=run_scale.DEFAULT_WORKDIR / "partitions")
    args = parser.parse_args(argv)
    rows = run(args.days, args.rows, args.repeat, args.workdir)
    print("| replace of one day | rows/s (best) | rows/s (median) | vs ≥ 400,000 |")
    print("|---|---:|---:|---|")
    for r in rows:
        met = "met" if r["rows_per_s"] >= TARGET_ROWS_PER_S else "MISSED"
        print(f"| {r['what']} ({r['days']} days held) | {r['rows_per_s']:,.0f} | "
              f"{r['rows_per_s_median']:,.0f} | {met} |")


if __name__ == "__main__":
    main()
