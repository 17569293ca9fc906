"""The JSON report: the document itself, validated against ``report.schema.json``."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from json.encoder import encode_basestring

_INF = float("inf")

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


def render_json(doc: dict, check: bool = True) -> str:
    """Stable text: keys in document order, 2-space indent, no NaN, one final newline."""
    if check:
        validate(doc)
    try:
        return dumps_indent2(doc) + "\n"
    except _Unusual:
        # a type the fast encoder does not know: the standard library decides (same text,
        # or its error)
        return json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


class _Unusual(Exception):
    pass


def dumps_indent2(doc) -> str:
    """``json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False)``, byte for byte,
    for documents of dict / list / str / int / float / bool / None with str keys (anything
    else raises :class:`_Unusual`). The standard library's encoder is pure Python once
    ``indent`` is set (a generator per container): a third of a report set's rendering."""
    out: list[str] = []
    _encode(doc, "\n", out)
    return "".join(out)


def _encode(o, newline: str, out: list[str]) -> None:  # noqa: C901 - one dispatch
    t = type(o)
    if t is str:
        out.append(encode_basestring(o))
    elif t is float:
        if o != o or o == _INF or o == -_INF:
            raise _Unusual  # the standard library raises its ValueError
        out.append(float.__repr__(o))
    elif o is None:
        out.append("null")
    elif o is True:
        out.append("true")
    elif o is False:
        out.append("false")
    elif t is int:
        out.append(int.__repr__(o))
    elif t is dict:
        if not o:
            out.append("{}")
            return
        inner = newline + "  "
        sep = "{" + inner
        for k, v in o.items():
            if type(k) is not str:
                raise _Unusual
            out.append(sep)
            out.append(encode_basestring(k))
            out.append(": ")
            _encode(v, inner, out)
            sep = "," + inner
        out.append(newline + "}")
    elif t is list or t is tuple:
        if not o:
            out.append("[]")
            return
        inner = newline + "  "
        sep = "[" + inner
        for v in o:
            out.append(sep)
            _encode(v, inner, out)
            sep = "," + inner
        out.append(newline + "]")
    else:
        raise _Unusual
