"""Writes: a day's replace of 100,000 position_values rows into a table already holding
``--days`` days, plain table vs the product's table range-partitioned by day (a script).

    python -m benchmarks.bench_partitions [--days 250] [--rows 100000] [--repeat 3]

Own embedded PostgreSQL under ``$SIGMASIGHT_BENCH_DIR/partitions``. Two copies of
``sigmasight.position_values`` (same columns and defaults; primary key (date, position_id)
and the (portfolio_id, date) index, as the product's table), one plain and one
partitioned by day with a default partition as migration 0009 builds the product's, are
filled with the same ``--days`` days: the last day is generated and written by
``replace_partition``, the others are one server-side ``INSERT … SELECT`` of it over
``unnest`` of the dates (new position ids), the partitioned copy one ``INSERT … SELECT *``
of the plain one; the keys and indexes are built after the fill (a sort per index, not
25 M index inserts). Then the last day is replaced ``--repeat`` times per variant
(variants interleaved), each in one transaction, timed:

- ``plain``: ``replace_partition`` on a plain table (advisory lock, DELETE of the day,
  COPY into the indexed table), what the product did before migration 0009;
- ``partitioned, TRUNCATE``: lock, ``TRUNCATE`` of the day's partition, the same COPY
  into the indexed partition (measured, not used);
- ``partitioned, swap``: the product's ``replace_partition`` on a table partitioned by day
  (warehouse/day_partitions.py): COPY into a new table without indexes, its key and index
  built (a sort each), then the day's partition detached and dropped and the new one
  attached in its place.

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
S = "sigmasight"
PLAIN, PART = "bench_pv_plain", "bench_pv_part"


def _tables():
    from sqlalchemy import MetaData

    from sigmasight_pipeline.warehouse import tables as t

    md = MetaData()
    tables = {name: t.position_values.to_metadata(md, name=name) for name in (PLAIN, PART)}
    tables[PLAIN].dialect_options["postgresql"]["partition_by"] = None  # the plain copy
    return tables


def _create(conn, tables, days: list[dt.date]) -> None:
    """Both tables without keys or indexes (built after the fill), a partition per day
    named as the product names them (the swap finds the day's partition by its name)."""
    from sqlalchemy import text

    from sigmasight_pipeline.warehouse.day_partitions import partition_name

    like = f"(LIKE {S}.position_values INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
    conn.execute(text(f"CREATE TABLE {S}.{PLAIN} {like}"))
    conn.execute(text(f"CREATE TABLE {S}.{PART} {like} PARTITION BY RANGE (date)"))
    for d in days:
        conn.execute(text(f"CREATE TABLE {S}.{partition_name(tables[PART], d)} PARTITION OF "
                          f"{S}.{PART} FOR VALUES FROM ('{d}') TO ('{d + dt.timedelta(days=1)}')"))


def _fill(conn, tables, days: list[dt.date], frame) -> None:
    """The last day written by the product, the other days copied from it server-side."""
    from sqlalchemy import text

    from sigmasight_pipeline.warehouse.writer import replace_partition

    plain = tables[PLAIN]
    replace_partition(conn, plain, days[-1], frame)
    cols = [c.name for c in plain.columns]
    select_cols = ", ".join("d.day" if c == "date" else
                            ("gen_random_uuid()" if c == "position_id" else f'src."{c}"')
                            for c in cols)
    names = ", ".join(f'"{c}"' for c in cols)
    conn.execute(text(f"INSERT INTO {S}.{PLAIN} ({names}) SELECT {select_cols} "
                      f"FROM {S}.{PLAIN} src CROSS JOIN unnest(CAST(:days AS date[])) d(day) "
                      "WHERE src.date = :last"),
                 {"days": days[:-1], "last": days[-1]})
    conn.execute(text(f"INSERT INTO {S}.{PART} SELECT * FROM {S}.{PLAIN}"))


def _index(conn, name: str) -> None:
    """The product table's key and index (on a partitioned table: on every partition)."""
    from sqlalchemy import text

    conn.execute(text(f"ALTER TABLE {S}.{name} ADD PRIMARY KEY (date, position_id)"))
    conn.execute(text(f"CREATE INDEX ON {S}.{name} (portfolio_id, date)"))


def _replace_truncate(conn, table, day: dt.date, frame) -> int:
    from sqlalchemy import text

    from sigmasight_pipeline.warehouse import day_partitions
    from sigmasight_pipeline.warehouse.writer import _copy, _known_columns, lock_partition

    lock_partition(conn, table, [day])
    conn.execute(text(f"TRUNCATE {S}.{day_partitions.partition_name(table, day)}"))
    return _copy(conn, f"{S}.{table.name}", table, frame, _known_columns(table, frame))


def run(n_days: int, n_rows: int, repeat: int, workdir: Path, echo=print,
        reuse: bool = False) -> list[dict]:
    """The variants' timings; ``reuse`` keeps a previous run's filled tables (same
    ``--days``/``--rows``) instead of starting from an empty warehouse."""
    from sqlalchemy import text

    from sigmasight_pipeline.calendar import sessions_back
    from sigmasight_pipeline.warehouse.database import get_engine
    from sigmasight_pipeline.warehouse.writer import replace_partition

    home = workdir / "home"
    reuse = reuse and home.exists()
    url = run_scale.start_warehouse(home, fresh=not reuse)
    engine = get_engine(url)
    try:
        days = sessions_back(DAY, n_days)
        frame = position_values_frame(n_rows, DAY)
        tables = _tables()
        if not reuse:
            t0 = time.perf_counter()
            with engine.begin() as conn:
                _create(conn, tables, days)
                _fill(conn, tables, days, frame)
            t1 = time.perf_counter()
            with engine.begin() as conn:
                conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
                for name in tables:
                    _index(conn, name)
            t2 = time.perf_counter()
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
            echo(f"  {len(tables)} tables × {n_days} days × {n_rows:,} rows: filled in "
                 f"{t1 - t0:.0f} s, keys and indexes built in {t2 - t1:.0f} s, vacuumed in "
                 f"{time.perf_counter() - t2:.0f} s")
        with engine.begin() as conn:  # as migration 0009 (also in tables filled before it)
            conn.execute(text(f"CREATE TABLE IF NOT EXISTS {S}.{PART}_default "
                              f"PARTITION OF {S}.{PART} DEFAULT"))

        def size(name: str) -> float:
            with engine.connect() as conn:
                return conn.execute(text(
                    "SELECT coalesce((SELECT sum(pg_total_relation_size(inhrelid)) "
                    "FROM pg_inherits WHERE inhparent = CAST(:n AS regclass)), "
                    "pg_total_relation_size(CAST(:n AS regclass)))"),
                    {"n": f"{S}.{name}"}).scalar() / 2**20

        variants = [("plain table, replace_partition (lock, DELETE, COPY)",
                     tables[PLAIN], replace_partition),
                    ("partitioned by day, lock + TRUNCATE of the day's partition + COPY",
                     tables[PART], _replace_truncate),
                    ("partitioned by day, the product's replace_partition (COPY into a new "
                     "table, its key and index, swap)", tables[PART], replace_partition)]
        secs: dict[str, list[float]] = {what: [] for what, _, _ in variants}
        loads: dict[str, list[float]] = {what: [] for what, _, _ in variants}
        for _ in range(repeat):  # interleaved: the machine's load drifts
            for what, table, fn in variants:
                t0 = time.perf_counter()
                with engine.begin() as conn:
                    fn(conn, table, DAY, frame)
                secs[what].append(time.perf_counter() - t0)
                loads[what].append(os.getloadavg()[0])
        out = []
        for what, table, fn in variants:
            best, med = min(secs[what]), statistics.median(secs[what])
            mb, load = size(table.name), statistics.mean(loads[what])
            out.append({"what": what, "product": fn is replace_partition and table is tables[PART],
                        "rows": n_rows, "days": n_days, "best_s": best,
                        "median_s": med, "rows_per_s": n_rows / best,
                        "rows_per_s_median": n_rows / med, "table_mb": mb, "load": load})
            echo(f"  {what}: best {best:.2f} s ({n_rows / best:,.0f} rows/s), median "
                 f"{med:.2f} s; table {mb:,.0f} MB; load {load:.1f}")
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
    parser.add_argument("--reuse", action="store_true",
                        help="time the replaces on the tables a previous run filled")
    args = parser.parse_args(argv)
    rows = run(args.days, args.rows, args.repeat, args.workdir, reuse=args.reuse)
    print("| replace of one day | rows/s (best) | rows/s (median) | vs ≥ 400,000 |")
    print("|---|---:|---:|---|")
    for r in rows:
        met = "met" if r["rows_per_s"] >= TARGET_ROWS_PER_S else "MISSED"
        print(f"| {r['what']} ({r['days']} days held) | {r['rows_per_s']:,.0f} | "
              f"{r['rows_per_s_median']:,.0f} | {met} |")


if __name__ == "__main__":
    main()
