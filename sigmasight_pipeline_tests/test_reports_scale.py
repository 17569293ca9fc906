"""Reports at scale: the day split per portfolio and rendered in worker processes gives the
same bytes as each portfolio rendered alone from the whole day's inputs (as `reports
download` does), and the chart is a well-formed, deterministic PNG."""

from __future__ import annotations

import datetime as dt
import io

import pandas as pd

from sigmasight_pipeline.reports import render
from sigmasight_pipeline.reports.chart import date_ticks, nice_ticks, render_chart
from sigmasight_pipeline.reports.document import build_document, portfolios_to_report
from sigmasight_pipeline.reports.inputs import ReportInputs, split_inputs
from sigmasight_pipeline.reports.markdown import summary_preview
from sigmasight_pipeline.warehouse.report_store import read_report_inputs

END = dt.date(2025, 6, 30)


def test_multi_portfolio_render_in_workers_equals_single_portfolio_renders(
        demo_book, run_days, cli_env, tmp_path, monkeypatch):
    run_days(END, END)
    with demo_book.connect() as conn:
        inputs = read_report_inputs(conn, END)
    ports = portfolios_to_report(inputs)
    assert len(ports) == 3
    monkeypatch.setattr(render, "MIN_PORTFOLIOS_PER_WORKER", 1)  # 3 portfolios → 2 workers
    in_workers = render.write_day(inputs, tmp_path / "workers", workers=2)
    in_process = render.write_day(inputs, tmp_path / "serial", workers=1)
    with render.report_pool(2) as pool:  # started before the day is read (reports/days.py)
        in_pool = render.write_day(inputs, tmp_path / "pool", workers=2, pool=pool)
    assert [r.portfolio_id for r in in_workers] == [p["portfolio_id"] for p in ports]
    for p, w in zip(in_pool, in_workers, strict=True):
        assert p.portfolio_id == w.portfolio_id and sorted(p.files) == sorted(w.files)
        for fmt, f in p.files.items():
            assert f.path.parent == tmp_path / "pool" / END.isoformat()
            assert f.path.read_bytes() == w.files[fmt].path.read_bytes(), (p.slug, fmt)
    slugs = render.slugs_for(inputs)
    for w, s in zip(in_workers, in_process, strict=True):
        # the reference: one portfolio, built from the whole (unsplit) day
        alone = render.render_formats(build_document(inputs, w.portfolio_id,
                                                     slug=slugs[w.portfolio_id]))
        assert sorted(alone) == sorted(w.files) == ["csv", "json", "md", "png"]
        for fmt, data in alone.items():
            assert w.files[fmt].path.read_bytes() == data, (w.slug, fmt)
            assert s.files[fmt].path.read_bytes() == data, (w.slug, fmt)
            assert w.files[fmt].sha256 == s.files[fmt].sha256
        assert w.preview == s.preview == summary_preview(build_document(
            inputs, w.portfolio_id, slug=slugs[w.portfolio_id]))


def _frame(rows, columns):
    return pd.DataFrame(rows, columns=columns)


def test_split_inputs_keeps_each_portfolios_rows_in_order_and_book_wide_rows():
    positions = _frame([("x1", "A"), ("y1", "B"), ("x2", "A"), ("z1", "C")],
                       ["position_id", "portfolio_id"])
    values = _frame([("x2", "A", 2.0), ("y1", "B", 3.0), ("x1", "A", 1.0), ("z1", "C", 9.0)],
                    ["position_id", "portfolio_id", "market_value"])
    issues = _frame([("A", "a"), (None, "book"), ("B", "b"), ("A", "a2")],
                    ["portfolio_id", "code"])
    betas = _frame([("y1", 0.5), ("x1", 1.5), ("x2", 2.5), ("gone", 9.9)],
                   ["position_id", "beta"])
    corr = _frame([("Market", "Value", 0.2)], ["factor_a", "factor_b", "correlation"])
    inputs = ReportInputs(day=END, portfolios=_frame([("A",), ("B",), ("C",)], ["portfolio_id"]),
                          positions=positions, tags=_frame([("x1", "t")], ["position_id", "tag"]),
                          securities=_frame([], ["symbol"]),
                          tables={"position_values": values, "data_quality_issues": issues,
                                  "position_risk_contributions": betas,
                                  "factor_correlations": corr})
    a, bc = split_inputs(inputs, [["A"], ["B", "C"]])
    assert a.tables["position_values"]["position_id"].tolist() == ["x2", "x1"]
    assert bc.tables["position_values"]["position_id"].tolist() == ["y1", "z1"]
    # a book-wide issue (no portfolio) belongs to every group, in the frame's order
    assert a.tables["data_quality_issues"]["code"].tolist() == ["a", "book", "a2"]
    assert bc.tables["data_quality_issues"]["code"].tolist() == ["book", "b"]
    # rows keyed by position only follow their position's portfolio
    assert a.tables["position_risk_contributions"]["beta"].tolist() == [1.5, 2.5]
    assert bc.tables["position_risk_contributions"]["beta"].tolist() == [0.5]
    assert a.tags["position_id"].tolist() == ["x1"] and bc.tags.empty
    assert a.tables["factor_correlations"] is corr  # shared, not copied
    assert a.tables["position_values"].dtypes.equals(values.dtypes)
    assert a.day == END and a.portfolios["portfolio_id"].tolist() == ["A"]


def _doc(history):
    return {"history": history, "portfolio": {"name": "Book — ü"}, "date": "2025-06-30",
            "data_source": {"simulated": True}}


def test_chart_is_a_900x550_png_drawing_its_series_and_the_same_bytes_each_time():
    from PIL import Image

    days = pd.bdate_range("2025-04-01", "2025-06-30")
    hist = [{"date": d.date().isoformat(), "cumulative_pnl": 1e5 * i if i != 10 else None,
             "gross_exposure": 5e6 + 1e4 * i, "net_exposure": 1e6 - 1e4 * i}
            for i, d in enumerate(days)]
    first = render_chart(_doc(hist))
    assert render_chart(_doc([{"date": "2025-06-30", "cumulative_pnl": None,
                               "gross_exposure": 1.0, "net_exposure": 0.0}]))  # one day
    empty = render_chart(_doc([]))
    assert render_chart(_doc(hist)) == first and first != empty
    img = Image.open(io.BytesIO(first))
    assert img.format == "PNG" and img.size == (900, 550)
    assert b"Software" not in first
    colors = {c for _, c in img.convert("RGB").getcolors(1 << 16)}

    def near(target):
        return any(sum(abs(a - b) for a, b in zip(c, target, strict=True)) < 30 for c in colors)

    assert near((31, 119, 180)) and near((255, 127, 14)) and near((44, 160, 44))


def test_tick_helpers_give_round_values_and_dates_inside_the_window():
    # (1.1e6 + 0.3e6) / 5 = 280,000 → the next round step is 500,000
    assert nice_ticks(-0.3e6, 1.1e6) == [0.0, 500000.0, 1000000.0]
    assert nice_ticks(0.0, 1.0) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    d = date_ticks(dt.date(2025, 4, 1), dt.date(2025, 6, 30))
    assert 2 <= len(d) <= 7 and all(dt.date(2025, 4, 1) <= x <= dt.date(2025, 6, 30) for x in d)


def test_tick_labels_have_the_decimals_their_step_needs():
    from sigmasight_pipeline.reports.chart import _decimals, _millions

    assert _decimals([0.0, 500000.0, 1000000.0]) == 2  # 0.50
    assert _decimals([-25000.0, 0.0, 25000.0]) == 3  # 0.025
    assert [_millions(v, 3) for v in (-25000.0, 0.0, 25000.0)] == ["-0.025", "0.000", "0.025"]
    assert _millions(-1.0) == "0.00"  # no "-0.00"


def test_asset_metadata_links_and_previews_the_first_portfolios_and_the_day_index(tmp_path):
    from pathlib import Path

    from sigmasight_pipeline.defs.reports.assets import LINKED_PORTFOLIOS, _links, _preview
    from sigmasight_pipeline.reports.files import WrittenFile
    from sigmasight_pipeline.resources import ReportsResource

    reports = ReportsResource(reports_dir=str(tmp_path), port=8123)
    written = [render.PortfolioReport(
        f"id{i}", f"Book {i}", f"book-{i:02d}", f"## Book {i}",
        {fmt: WrittenFile(Path(tmp_path, END.isoformat(), f"book-{i:02d}.{fmt}"), 1, "0" * 64)
         for fmt in ("md", "png")}, 0.01) for i in range(LINKED_PORTFOLIOS + 3)]
    links = _links(END, written, ("md", "png"), tmp_path, reports)
    assert links.pop("day_index").url == "http://127.0.0.1:8123/reports/2025-06-30/"
    # per portfolio: md, its html view, png, and the two paths
    assert len(links) == 5 * LINKED_PORTFOLIOS
    assert links["book-00.html"].url == "http://127.0.0.1:8123/reports/2025-06-30/book-00.html"
    assert "book-09.md" in links and not any(k.startswith("book-10") for k in links)
    text = _preview(END, written, reports).md_str
    assert "## Book 9" in text and "## Book 10" not in text
    assert text.endswith("… and 3 more portfolios: [2025-06-30 on the report server]"
                         "(http://127.0.0.1:8123/reports/2025-06-30/)")
    assert _preview(END, written[:2], reports).md_str == "## Book 0\n\n## Book 1"
    assert "no portfolio" in _preview(END, [], reports).md_str
