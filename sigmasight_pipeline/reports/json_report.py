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
    ``indent`` is set (a generator per container): a third of a report set's rendering.
    Scalars are encoded inline in their container's loop (no call per value) and each
    member's text is appended as one string."""
    out: list[str] = []
    t = type(doc)
    if t is dict:
        _encode_dict(doc, "\n", out)
    elif t is list or t is tuple:
        _encode_list(doc, "\n", out)
    else:
        out.append(_scalar(doc, t))
    return "".join(out)


def _scalar(o, t) -> str:
    """A scalar's JSON text (raises :class:`_Unusual` for any other type)."""
    if t is str:
        return encode_basestring(o)
    if t is float:
        if o != o or o == _INF or o == -_INF:
            raise _Unusual  # the standard library raises its ValueError
        return float.__repr__(o)
    if o is None:
        return "null"
    if o is True:
        return "true"
    if o is False:
        return "false"
    if t is int:
        return int.__repr__(o)
    raise _Unusual


#: '"key": ' of the keys met so far (documents repeat the same few hundred keys)
_KEYS: dict[str, str] = {}
_KEYS_MAX = 10_000


def _key(k) -> str:
    text = _KEYS.get(k)
    if text is None:
        if type(k) is not str:
            raise _Unusual
        text = encode_basestring(k) + ": "
        if len(_KEYS) < _KEYS_MAX:
            _KEYS[k] = text
    return text


def _encode_dict(o: dict, newline: str, out: list[str]) -> None:
    if not o:
        out.append("{}")
        return
    inner = newline + "  "
    sep = "{" + inner
    for k, v in o.items():
        t = type(v)
        if t is str:
            out.append(sep + _key(k) + encode_basestring(v))
        elif t is dict:
            out.append(sep + _key(k))
            _encode_dict(v, inner, out)
        elif t is list or t is tuple:
            out.append(sep + _key(k))
            _encode_list(v, inner, out)
        else:
            out.append(sep + _key(k) + _scalar(v, t))
        sep = "," + inner
    out.append(newline + "}")


def _encode_list(o, newline: str, out: list[str]) -> None:
    if not o:
        out.append("[]")
        return
    inner = newline + "  "
    sep = "[" + inner
    for v in o:
        t = type(v)
        if t is dict:
            out.append(sep)
            _encode_dict(v, inner, out)
        elif t is list or t is tuple:
            out.append(sep)
            _encode_list(v, inner, out)
        else:
            out.append(sep + _scalar(v, t))
        sep = "," + inner
    out.append(newline + "]")
