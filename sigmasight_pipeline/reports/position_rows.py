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
    money,
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


@dataclass
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
    never as 0).
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

    # position_values cells (a valued row takes these; an unvalued one the defaults)
    v_eff = v("effective_quantity")
    v_cells = {
        "price": _cells(v("price"), nums, nv),
        "price_source": _cells(v("price_source"), lambda c: [_str(x) for x in c], nv),
        "price_date": _cells(v("price_date"), lambda c: [_iso(x) for x in c], nv),
        "market_value": _cells(v("market_value"), lambda c: nums(c, MONEY_DP), nv),
        "exposure": _cells(v("exposure"), lambda c: nums(c, MONEY_DP), nv),
        "notional": _cells(v("notional"), lambda c: nums(c, MONEY_DP), nv),
        "unrealized_pnl": _cells(v("unrealized_pnl"), lambda c: nums(c, MONEY_DP), nv),
        "split_factor": _cells(v("split_factor"), nums, nv, 1.0),
        "flags": _cells(v("flags"), lambda c: [_flags(x) for x in c], nv, []),
    }
    v_eff_cells = nums(v_eff) if v_eff is not None else None
    v_exposure = v("exposure")
    v_under = v("underlying_price")
    v_under_cells = nums(v_under) if v_under is not None else None
    g_cells = {name: _cells(g(name), (lambda c: nums(c, MONEY_DP)) if name in _MONEY else nums,
                            ng) for name in GREEK_FIELDS}
    g_under = _cells(g("underlying_price"), nums, ng)
    g_vol_source = _cells(g("vol_source"), lambda c: [_str(x) for x in c], ng)
    g_flags = _cells(g("flags"), lambda c: [_flags(x) for x in c], ng, [])

    tag_map: dict = {}
    if len(tags):
        t = _Columns(tags)
        for pos_id, tag in zip(t("position_id"), t("tag"), strict=True):
            tag_map.setdefault(pos_id, []).append(tag)
        for listed in tag_map.values():
            listed.sort()

    secs = _securities_by_symbol(inputs.securities)
    sector_buckets = _sector_buckets(inputs.securities)
    quantity, multiplier, entry_price = p("quantity"), p("multiplier"), p("entry_price")
    expiration = p("expiration")
    pos_cells = {
        "quantity": nums(quantity),
        "multiplier": [_int(x) for x in multiplier],
        "entry_price": nums(entry_price),
        "entry_date": [_iso(x) for x in p("entry_date")],
        "exit_date": [_iso(x) for x in p("exit_date")],
        "underlying_symbol": [_str(x) for x in p("underlying_symbol")],
        "strike": nums(p("strike")),
        "expiration": [_iso(x) for x in expiration],
        "option_type": [_str(x) for x in p("option_type")],
        "days_to_expiry": [None if _missing(x) else (x - day).days for x in expiration],
    }
    out: dict[str, list[_Entry]] = {}
    for j, (pid, pos_id, symbol, ptype, under) in enumerate(zip(
            p("portfolio_id"), p("position_id"), p("symbol"), p("position_type"),
            p("underlying_symbol"), strict=True)):
        key = (pid, pos_id)
        i = v_at.get(key)
        if i is None and key not in missing:
            continue  # not held on the day
        k = g_at.get(key)
        option = ptype in OPTION_TYPES
        beta_symbol = under if option else symbol
        sec = secs.get(beta_symbol, {})
        row_tags = tag_map.get(pos_id, [])
        valued = i is not None
        if valued:
            eff = v_eff_cells[i] if v_eff_cells is not None else pos_cells["quantity"][j]
            if v_under_cells is not None:
                underlying_price = v_under_cells[i]
            else:
                underlying_price = g_under[k] if k is not None else None
        else:
            eff = pos_cells["quantity"][j]
            underlying_price = g_under[k] if k is not None else None
        row = {
            "position_id": pos_id,
            "symbol": symbol,
            "position_type": ptype,
            "quantity": pos_cells["quantity"][j],
            "effective_quantity": eff,
            "split_factor": v_cells["split_factor"][i] if valued else 1.0,
            "multiplier": pos_cells["multiplier"][j],
            "entry_price": pos_cells["entry_price"][j],
            "entry_date": pos_cells["entry_date"][j],
            "exit_date": pos_cells["exit_date"][j],
            "valued": valued,
            "price": v_cells["price"][i] if valued else None,
            "price_source": v_cells["price_source"][i] if valued else None,
            "price_date": v_cells["price_date"][i] if valued else None,
            "underlying_symbol": pos_cells["underlying_symbol"][j],
            "underlying_price": underlying_price,
            "strike": pos_cells["strike"][j],
            "expiration": pos_cells["expiration"][j],
            "option_type": pos_cells["option_type"][j],
            "days_to_expiry": pos_cells["days_to_expiry"][j],
            "market_value": v_cells["market_value"][i] if valued else None,
            "exposure": v_cells["exposure"][i] if valued else None,
            "notional": v_cells["notional"][i] if valued else None,
            # the multiplier applies: quantity × multiplier × entry price (signed)
            "cost_basis": money(quantity[j] * multiplier[j] * entry_price[j]),
            "unrealized_pnl": v_cells["unrealized_pnl"][i] if valued else None,
            # only open positions are listed (held at the close): nothing realized yet
            "realized_pnl": 0.0,
            "weight_of_gross": None,  # the portfolio's: set by portfolio_positions
            "tags": row_tags,
            "strategy_tags": [x for x in row_tags if x in STRATEGY_TAGS],
            # the bucket sector_exposures counts it under (GICS sector, ETF, Mutual fund,
            # (unclassified)): the CSV's Sector column agrees with the Sectors section
            "sector": sector_buckets.get(beta_symbol, UNCLASSIFIED_SECTOR),
            "industry": _str(sec.get("industry")),
            "asset_class": _str(sec.get("asset_class")) if not option else "option",
        }
        for name in GREEK_FIELDS:
            row[name] = g_cells[name][k] if k is not None else None
        row["vol_source"] = g_vol_source[k] if k is not None else None
        row["factor_betas"] = None  # the portfolio's factors: set by portfolio_positions
        row["factor_quality"] = None
        row["ir_beta"] = None
        flags = v_cells["flags"][i] if valued else []
        row["flags"] = sorted(set(flags) | set(g_flags[k] if k is not None else []))
        exposure = v_exposure[i] if valued and v_exposure is not None else None
        out.setdefault(pid, []).append(_Entry(row, exposure, valued, beta_symbol))
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
