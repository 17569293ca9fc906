"""The JSON report: the document itself, validated against ``report.schema.json``."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

import orjson

_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE

SCHEMA_FILE = "report.schema.json"


@lru_cache(maxsize=1)
def report_schema() -> dict:
    text = (resources.files("sigmasight_pipeline.reports") / SCHEMA_FILE).read_text("utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def _fast_validator():
    """The schema compiled once (jsonschema-rs, formats checked): ~100× faster than the
    pure-Python validator, which took half of a report set's rendering time."""
    import jsonschema_rs

    return jsonschema_rs.validator_for(report_schema(), validate_formats=True)


def validate(doc: dict) -> None:
    """Raise ``jsonschema.ValidationError`` when ``doc`` breaks the shipped schema."""
    if _fast_validator().is_valid(doc):
        return
    import jsonschema

    # a rejected document is judged (and its error named) by the reference validator
    jsonschema.Draft202012Validator(report_schema(),
                                    format_checker=jsonschema.FormatChecker()).validate(doc)


def render_json(doc: dict) -> str:
    """Stable text: keys in document order, 2-space indent, no NaN or infinity, one final
    newline. Validated against the shipped schema first.

    Written by orjson (a compiled encoder; the standard library's is pure Python once
    ``indent`` is set and took a third of a report set's rendering). Floats are written in
    their shortest round-trip form (``1e-6``, ``-0.000099``): the same numbers as
    ``json.dumps`` when parsed, and the same bytes on every run and platform."""
    validate(doc)
    try:
        text = orjson.dumps(doc, option=_OPTIONS)
    except TypeError:
        text = None  # a type orjson does not know
    # orjson writes NaN and infinity as null: the text must parse back to the document
    # (C-speed comparison), or the standard library decides (its text, or its ValueError)
    if text is not None and orjson.loads(text) == doc:
        return text.decode("utf-8")
    return json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
