"""The JSON report text: orjson's rendering parses to exactly the document and is laid out as
``json.dumps(indent=2)`` lays it out (only the spelling of floats may differ: ``1e-6`` for
``1e-06``); NaN and infinity are refused, never written as null; text is not escaped."""

from __future__ import annotations

import json
import math
import re

import pytest

from sigmasight_pipeline.reports import json_report
from sigmasight_pipeline.reports.json_report import render_json

DOC = {
    "title": "Équité — “long/short” 株式",
    "n": 3,
    "flag": True,
    "nothing": None,
    "empty_list": [],
    "empty_dict": {},
    "values": [0.1, -0.000099, 1e-06, 1e16, 123456789.125, -0.0, 5e-324, 2.5, 1],
    "nested": {"rows": [{"a": 1.0, "b": [1, [2, {}]], "c": "tab\there \"q\" \\ \u0001"}]},
}

_FLOAT = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")


@pytest.fixture(autouse=True)
def _no_schema(monkeypatch):
    # the layout, not the report schema, is under test here
    monkeypatch.setattr(json_report, "validate", lambda doc: None)


def test_text_parses_to_the_document_bit_for_bit_with_the_standard_layout():
    text = render_json(DOC)
    reference = json.dumps(DOC, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    parsed = json.loads(text)
    assert parsed == DOC
    assert [math.copysign(1.0, v) for v in parsed["values"][:6]] == \
        [math.copysign(1.0, v) for v in DOC["values"][:6]]
    assert parsed["values"][6] == 5e-324
    # same lines, numbers aside
    assert _FLOAT.sub("#", text) == _FLOAT.sub("#", reference)
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert "Équité — “long/short” 株式" in text  # not \u-escaped
    assert '"c": "tab\\there \\"q\\" \\\\ \\u0001"' in text
    # without floats the bytes are the standard library's
    no_floats = {k: v for k, v in DOC.items() if k not in ("values", "nested")}
    assert render_json(no_floats) == json.dumps(no_floats, indent=2, ensure_ascii=False) + "\n"
    assert render_json(DOC) == text  # deterministic


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_are_refused_not_written_as_null(bad):
    with pytest.raises(ValueError, match="JSON compliant"):
        render_json({**DOC, "nested": {"rows": [{"a": bad}]}})


def test_types_orjson_does_not_know_fall_back_to_the_standard_library():
    class Big(int):
        pass

    assert render_json({"x": Big(2**70)}) == '{\n  "x": 1180591620717411303424\n}\n'
    with pytest.raises(TypeError):
        render_json({"x": object()})
