"""Report inputs as row dicts: the row index of ``ReportInputs.indexed()`` answers ``select``
with the same dicts (values, types, order) as filtering the frame and ``to_dict``, and
``shared_values`` changes no frame (values, dtypes), only which objects hold them."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

from sigmasight_pipeline.reports.inputs import ReportInputs, shared_values

DAY = dt.date(2025, 6, 30)


def _same(a: list[dict], b: list[dict]) -> bool:
    def eq(x, y):
        if isinstance(x, float) and math.isnan(x):
            return isinstance(y, float) and math.isnan(y)
        return type(x) is type(y) and x == y

    return len(a) == len(b) and all(
        list(r) == list(s) and all(eq(r[k], s[k]) for k in r) for r, s in zip(a, b, strict=True))


def _inputs() -> ReportInputs:
    values = pd.DataFrame({
        "date": [dt.date(2025, 6, 30) for _ in range(5)],  # equal, distinct objects
        "portfolio_id": pd.array(["A", "B", None, "A", "C"], dtype="str"),
        "position_id": pd.array(["a2", "b1", "x", "a1", "c1"], dtype="str"),
        "price": [1.5, np.nan, 2.0, 3.25, 4.0],
        "quantity": np.array([1, 2, 3, 4, 5], dtype=np.int64),
        "flags": [["stale"], None, [], None, ["a", "b"]],
        "stamp": pd.to_datetime(["2025-06-30"] * 5),
        "beta": np.array([np.float64(1.0), None, np.float64(2.5), 0.5, None], dtype=object),
    })
    return ReportInputs(day=DAY, portfolios=pd.DataFrame({"portfolio_id": ["A", "B", "C"]}),
                        positions=values[["position_id", "portfolio_id"]],
                        tags=pd.DataFrame(columns=["position_id", "tag"]),
                        securities=pd.DataFrame(columns=["symbol"]),
                        tables={"position_values": values})


def test_indexed_select_gives_the_rows_the_frame_filter_gives():
    inputs = _inputs()
    indexed = inputs.indexed()
    frame = inputs.tables["position_values"]
    for column, keys, with_null in [("portfolio_id", ["A"], False), ("portfolio_id", ["A"], True),
                                    ("portfolio_id", ["C", "A"], False),
                                    ("position_id", ["c1", "a2", "nope"], False),
                                    ("portfolio_id", ["nope"], False)]:
        plain = inputs.select(frame, column, keys, with_null)
        assert _same(indexed.select(frame, column, keys, with_null), plain), (column, keys)
    assert [r["position_id"] for r in indexed.select(frame, "portfolio_id", ["A"], True)] == \
        ["a2", "x", "a1"]  # the book-wide row (no portfolio) in frame order
    assert _same(indexed.rows("position_values", "A"),
                 frame[frame["portfolio_id"] == "A"].to_dict("records"))
    # fresh dicts: a caller may pop keys
    indexed.select(frame, "portfolio_id", ["A"])[0].pop("price")
    assert "price" in indexed.select(frame, "portfolio_id", ["A"])[0]
    assert indexed.select(None, "portfolio_id", ["A"]) == []
    assert indexed.select(frame, "no_such_column", ["A"]) == []


def test_shared_values_keeps_frames_equal_with_one_object_per_value():
    inputs = _inputs()
    shared = shared_values(inputs)
    before, after = inputs.tables["position_values"], shared.tables["position_values"]
    assert after.equals(before) and after.dtypes.equals(before.dtypes)
    dates = after["date"].tolist()
    assert all(d is dates[0] for d in dates)
    assert before["date"].tolist() == dates  # the caller's frame is not changed
