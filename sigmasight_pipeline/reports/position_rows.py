"""The document's position rows (``positions``), built a column at a time.

A row holds ~50 fields of one position: its book entry, its ``position_values`` and
``position_greeks`` rows, tags, sector, factor betas. Built field by field from one row dict
per table, that was ~40 % of a report's build time (a ``num`` call and a dict lookup per
field). Here each field is computed for every position of the inputs at once: one list per
column, rounded by the same rule as :func:`.document.num` / :func:`.document.money` (Python's
``round`` of the same values, so the same numbers and bytes), then framed as one partial row
per position. A worker's chunk of portfolios does that once (:meth:`ReportInputs.indexed`
inputs keep the result); a report of one portfolio of a whole day first narrows the frames
to that portfolio. Per portfolio only what depends on the portfolio is added: the weight of
its gross exposure, the columns of its factor betas, the order of its rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..engines.sectors import UNCLASSIFIED as UNCLASSIFIED_SECTOR
from .document import (
    _MONEY,
    MONEY_DP,
    OPTION_TYPES,
    OTHER_DP,
    STRATEGY_TAGS,
    _beta_rows,
    _factor_key,
    _flags,
    _int,
    _iso,
    _missing,
    _sector_buckets,
    _securities_by_symbol,
    _str,
    num,
)
from .inputs import ReportInputs, column_values

#: position_greeks fields of a row, in row order (money ones rounded to cents)
GREEK_FIELDS = ("implied_vol", "delta", "gamma", "theta", "vega", "rho", "position_delta",
                "position_gamma", "position_theta", "position_vega", "position_rho",
                "dollar_delta", "dollar_gamma_1pct", "years_to_expiry")


def nums(values: list, dp: int = OTHER_DP) -> list:
    """``[num(v, dp) for v in values]``, with num's float case inline (most values)."""
    return [round(x, dp) + 0.0 if type(x) is float and x - x == 0.0
            else (None if type(x) is float else num(x, dp)) for x in values]


class _Columns:
    """A frame's columns as the values ``to_dict("records")`` holds, read on first use;
    a column the frame lacks is None (the row dict's ``get`` default then applies)."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame
        self._cols: dict[str, list | None] = {}

    def __call__(self, name: str) -> list | None:
        if name not in self._cols:
            self._cols[name] = (column_values(self.frame[name]) if name in self.frame.columns
                                else None)
        return self._cols[name]

    def keyed(self) -> dict[tuple, int]:
        """(portfolio_id, position_id) → the row number (the last row of a repeated key,
        as a dict of the rows by position id keeps it)."""
        return {key: i for i, key in enumerate(zip(self("portfolio_id"), self("position_id"),
                                                   strict=True))}


def _cells(values: list | None, fn, n: int, default=None) -> list:
    """``fn`` of each value, or ``default`` for every row of a frame without the column."""
    return fn(values) if values is not None else [default] * n


def _strs(values: list) -> list:
    return [_str(x) for x in values]


def _isos(values: list) -> list:
    return [_iso(x) for x in values]


def _money(values: list) -> list:
    return nums(values, MONEY_DP)


def _flag_lists(values: list) -> list:
    # most positions have no flags: an empty list needs no sort
    return [[] if type(x) is list and not x else _flags(x) for x in values]


@dataclass(frozen=True)
class _Entry:
    """A position's row without the portfolio-dependent fields, and what those need."""

    row: dict
    exposure: object  # the unrounded exposure (None when not valued)
    valued: bool
    beta_symbol: str


def position_entries(inputs: ReportInputs, positions: pd.DataFrame, values: pd.DataFrame,
                     greeks: pd.DataFrame, issues: pd.DataFrame, tags: pd.DataFrame
                     ) -> dict[str, list[_Entry]]:
    """Portfolio id → its held positions' entries, in the order of ``positions``.

    Held: valued on the day (a ``values`` row of the portfolio), or not valued with a
    ``missing_price`` issue of the portfolio naming the position (listed with empty values,
    never as 0). A valued position takes its fields from its ``values`` row (a column the
    frame lacks gives the field's default, as the row dict's ``get`` did), the Greeks'
    fields from its ``greeks`` row, or None. Each field is one list over the held
    positions (gathered by row number), the rows are zipped from them.
    """
    day = inputs.day
    v, g, p = _Columns(values), _Columns(greeks), _Columns(positions)
    v_at, g_at = v.keyed(), g.keyed()
    nv, ng = len(values), len(greeks)

    missing = set()
    if len(issues):
        dq = _Columns(issues)
        for pid, pos_id, code in zip(dq("portfolio_id"), dq("position_id"), dq("code"),
                                     strict=True):
            if code == "missing_price" and not _missing(pos_id) and (pid, pos_id) not in v_at:
                missing.add((pid, pos_id))

    # the held positions: their row numbers in positions (rows), values (at_v: None when
    # not valued) and greeks (at_g)
    held = [(j, key) for j, key in enumerate(zip(p("portfolio_id"), p("position_id"),
                                                 strict=True))
            if key in v_at or key in missing]
    rows = [j for j, _ in held]
    at_v = [v_at.get(key) for _, key in held]
    at_g = [g_at.get(key) for _, key in held]
    pids = [key[0] for _, key in held]
    ids = [key[1] for _, key in held]
    n = len(held)

    def of_book(name: str) -> list:
        column = p(name)
        return [column[j] for j in rows]

    def of_values(cells: list, default=None) -> list:
        return [default if i is None else cells[i] for i in at_v]

    def of_greeks(cells: list) -> list:
        return [None if k is None else cells[k] for k in at_g]

    symbols, types = of_book("symbol"), of_book("position_type")
    unders = of_book("underlying_symbol")
    options = [t in OPTION_TYPES for t in types]
    beta_symbols = [u if o else s for s, u, o in zip(symbols, unders, options, strict=True)]
    raw_q, raw_m, raw_e = of_book("quantity"), of_book("multiplier"), of_book("entry_price")
    quantity = nums(raw_q)
    expiration = of_book("expiration")
    v_eff = v("effective_quantity")
    effective = (quantity if v_eff is None else
                 [q if i is None else c for q, i, c in zip(
                     quantity, at_v, of_values(nums(v_eff)), strict=True)])
    g_under = of_greeks(_cells(g("underlying_price"), nums, ng))
    v_under = v("underlying_price")
    underlying_price = (g_under if v_under is None else
                        [u if i is None else c for u, i, c in zip(
                            g_under, at_v, of_values(nums(v_under)), strict=True)])
    v_exposure = v("exposure")
    exposures = [None] * n if v_exposure is None else of_values(v_exposure)

    tag_map: dict = {}
    if len(tags):
        t = _Columns(tags)
        for pos_id, tag in zip(t("position_id"), t("tag"), strict=True):
            tag_map.setdefault(pos_id, []).append(tag)
        for listed in tag_map.values():
            listed.sort()
    row_tags = [tag_map.get(pos_id, []) for pos_id in ids]
    secs = _securities_by_symbol(inputs.securities)
    sector_buckets = _sector_buckets(inputs.securities)
    sec_rows = [secs.get(b, {}) for b in beta_symbols]
    v_flags = of_values(_cells(v("flags"), _flag_lists, nv, []), [])
    g_flags = [f or [] for f in of_greeks(_cells(g("flags"), _flag_lists, ng, []))]
    none = [None] * n

    columns = {
        "position_id": ids,
        "symbol": symbols,
        "position_type": types,
        "quantity": quantity,
        "effective_quantity": effective,
        "split_factor": of_values(_cells(v("split_factor"), nums, nv, 1.0), 1.0),
        "multiplier": [_int(x) for x in raw_m],
        "entry_price": nums(raw_e),
        "entry_date": _isos(of_book("entry_date")),
        "exit_date": _isos(of_book("exit_date")),
        "valued": [i is not None for i in at_v],
        "price": of_values(_cells(v("price"), nums, nv)),
        "price_source": of_values(_cells(v("price_source"), _strs, nv)),
        "price_date": of_values(_cells(v("price_date"), _isos, nv)),
        "underlying_symbol": _strs(unders),
        "underlying_price": underlying_price,
        "strike": nums(of_book("strike")),
        "expiration": _isos(expiration),
        "option_type": _strs(of_book("option_type")),
        "days_to_expiry": [None if _missing(x) else (x - day).days for x in expiration],
        "market_value": of_values(_cells(v("market_value"), _money, nv)),
        "exposure": of_values(_cells(v_exposure, _money, nv)),
        "notional": of_values(_cells(v("notional"), _money, nv)),
        # the multiplier applies: quantity × multiplier × entry price (signed)
        "cost_basis": _money([q * m * e for q, m, e in zip(raw_q, raw_m, raw_e, strict=True)]),
        "unrealized_pnl": of_values(_cells(v("unrealized_pnl"), _money, nv)),
        # only open positions are listed (held at the close): nothing realized yet
        "realized_pnl": [0.0] * n,
        "weight_of_gross": none,  # the portfolio's: set by portfolio_positions
        "tags": row_tags,
        "strategy_tags": [[x for x in listed if x in STRATEGY_TAGS] if listed else []
                          for listed in row_tags],
        # the bucket sector_exposures counts it under (GICS sector, ETF, Mutual fund,
        # (unclassified)): the CSV's Sector column agrees with the Sectors section
        "sector": [sector_buckets.get(b, UNCLASSIFIED_SECTOR) for b in beta_symbols],
        "industry": [_str(sec.get("industry")) for sec in sec_rows],
        "asset_class": ["option" if o else _str(sec.get("asset_class"))
                        for o, sec in zip(options, sec_rows, strict=True)],
        **{name: of_greeks(_cells(g(name), _money if name in _MONEY else nums, ng))
           for name in GREEK_FIELDS},
        "vol_source": of_greeks(_cells(g("vol_source"), _strs, ng)),
        # the portfolio's factors: set by portfolio_positions
        "factor_betas": none,
        "factor_quality": none,
        "ir_beta": none,
        "flags": [sorted(set(a) | set(b)) if a or b else []
                  for a, b in zip(v_flags, g_flags, strict=True)],
    }
    keys = tuple(columns)  # the row's fields, in the document's order
    out: dict[str, list[_Entry]] = {}
    for pid, cells, exposure, i, beta_symbol in zip(
            pids, zip(*columns.values(), strict=True), exposures, at_v, beta_symbols,
            strict=True):
        out.setdefault(pid, []).append(
            _Entry(dict(zip(keys, cells, strict=True)), exposure, i is not None,
                   beta_symbol))
    return out


def _entries(inputs: ReportInputs, pid: str) -> list[_Entry]:
    """``pid``'s entries: from the chunk's (built once per indexed inputs), or from the
    frames narrowed to ``pid`` (one report of a whole day)."""
    tables = inputs.tables
    values = tables["position_values"]
    if inputs.index_rows:
        key = ("position_entries", id(values))
        hit = inputs._indexes.get(key)
        if hit is None or hit[0] is not values:
            hit = inputs._indexes[key] = (values, position_entries(
                inputs, inputs.positions, values, tables["position_greeks"],
                tables["data_quality_issues"], inputs.tags))
        return hit[1].get(pid, [])

    def mine(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[frame["portfolio_id"] == pid]

    positions = mine(inputs.positions)
    tags = inputs.tags[inputs.tags["position_id"].isin(positions["position_id"])]
    return position_entries(inputs, positions, mine(values), mine(tables["position_greeks"]),
                            mine(tables["data_quality_issues"]), tags).get(pid, [])


def portfolio_positions(inputs: ReportInputs, pid: str, gross: float | None
                        ) -> tuple[list[dict], list[dict]]:
    """The document's position rows of ``pid`` (largest |exposure| first), and the
    position_factor_exposures rows (SPEC §7.1) of the valued ones (``(position_id,
    factor, beta, quality)``)."""
    entries = _entries(inputs, pid)
    symbol_of = {e.row["position_id"]: e.beta_symbol for e in entries if e.valued}
    pfe = _beta_rows(inputs, "security_factor_exposures", symbol_of)
    factors = sorted({f for _, f, _, _ in pfe}, key=_factor_key)
    betas = {(pos_id, f): (beta, q) for pos_id, f, beta, q in pfe}
    irb = dict(_beta_rows(inputs, "security_rate_betas", symbol_of))
    rows = []
    for e in entries:
        row = dict(e.row)  # the entry is shared by the chunk's documents: a row of its own
        pos_id = row["position_id"]
        exposure = e.exposure
        row["weight_of_gross"] = (num(exposure / gross) if gross and not _missing(exposure)
                                  else None)
        row["tags"] = list(row["tags"])
        row["strategy_tags"] = list(row["strategy_tags"])
        row["flags"] = list(row["flags"])
        row["factor_betas"] = {f: num(betas[(pos_id, f)][0]) if (pos_id, f) in betas
                               else None for f in factors}
        qualities = sorted({betas[(pos_id, f)][1] for f in factors if (pos_id, f) in betas})
        row["factor_quality"] = "+".join(qualities) if qualities else None
        row["ir_beta"] = num(irb[pos_id]) if pos_id in irb else None
        rows.append(row)
    rows.sort(key=lambda r: (-abs(r["exposure"] or 0.0), r["symbol"], r["position_id"]))
    return rows, pfe
