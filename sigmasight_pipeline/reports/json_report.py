"""The JSON report: the document itself, validated against ``report.schema.json``."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

SCHEMA_FILE = "report.schema.json"


@lru_cache(maxsize=1)
def report_schema() -> dict:
    text = (resources.files("sigmasight_pipeline.reports") / SCHEMA_FILE).read_text("utf-8")
    return json.loads(text)


def validate(doc: dict) -> None:
    """Raise ``jsonschema.ValidationError`` when ``doc`` breaks the shipped schema."""
    import jsonschema

    jsonschema.Draft202012Validator(report_schema(),
                                    format_checker=jsonschema.FormatChecker()).validate(doc)


def render_json(doc: dict, check: bool = True) -> str:
    """Stable text: keys in document order, 2-space indent, no NaN, one final newline."""
    if check:
        validate(doc)
    return json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
