"""Position values of a trading day: price, market value, exposure, notional, P&L (SPEC §4, §5.1).

Units and signs (all money in US dollars):

* ``price``: $ per share — the close for stocks, ETFs and funds; the option price per
  share (not ×100) for options.
* ``market_value`` = quantity × multiplier × price, signed (a short is negative).
* ``exposure``: stocks/ETFs/funds = market_value; options = quantity × multiplier × delta ×
  underlying price (delta-adjusted dollars, the option's dollar_delta). A long put and a
  short call have negative exposure.
* ``notional`` = |quantity| × multiplier × underlying price (≥ 0; for stocks the
  underlying is the stock itself).
* ``cost_basis`` = quantity × multiplier × entry_price (signed);
  ``unrealized_pnl`` = market_value − cost_basis.
* ``effective_quantity`` = the quantity valued and ``split_factor`` its split factor (SPEC
  §8): callers pass the effective positions of the day
  (:func:`~sigmasight_pipeline.engines.corporate_actions.effective_positions`), whose
  quantity is already × split_factor and entry_price ÷ it, so cost_basis is unchanged.

A stock without a usable close, or an option without a Greeks/price row, is *not valued*:
it is absent from ``values`` (never valued at 0) and gets a ``missing_price`` error row in
``issues``, so every aggregate downstream leaves it out.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from sigmasight_pipeline.engines.activity import as_float, id_key, is_option

#: columns of the ``values`` frame, in order (the position_values table minus ``date``)
VALUE_COLUMNS = [
    "position_id",
    "portfolio_id",
    "symbol",
    "price",
    "price_source",
    "price_date",
    "underlying_price",
    "market_value",
    "exposure",
    "notional",
    "cost_basis",
    "unrealized_pnl",
    "flags",
    "effective_quantity",
    "split_factor",
]
#: columns of a data-quality ``issues`` frame
ISSUE_COLUMNS = ["position_id", "portfolio_id", "symbol", "code", "severity", "message"]

_GREEKS_NEEDED = ["position_id", "option_price", "price_source", "delta", "underlying_price"]
_FLOAT_COLS = {
    "price", "underlying_price", "market_value", "exposure", "notional", "cost_basis",
    "unrealized_pnl", "effective_quantity", "split_factor",
}


def empty_values() -> pd.DataFrame:
    """A ``values`` frame with no rows and the right columns."""
    return pd.DataFrame(
        {c: pd.Series(dtype=float if c in _FLOAT_COLS else object) for c in VALUE_COLUMNS}
    )


def empty_issues() -> pd.DataFrame:
    """An ``issues`` frame with no rows."""
    return pd.DataFrame({c: pd.Series(dtype=object) for c in ISSUE_COLUMNS})



def _flag_lists(raw: pd.Series, add_stale: np.ndarray) -> list[list[str]]:
    """Each row's flags (list, array, None) as a sorted unique list (+ 'stale_price' if asked)."""
    out = []
    for flags, stale in zip(raw.tolist(), add_stale.tolist(), strict=True):
        if flags is None or (isinstance(flags, float) and np.isnan(flags)):
            codes = set()
        elif isinstance(flags, str):
            codes = {flags}
        else:
            codes = {str(f) for f in flags}
        if stale:
            codes.add("stale_price")
        out.append(sorted(codes))
    return out


def _closes_table(closes: pd.DataFrame) -> pd.DataFrame:
    """resolve_closes output as a plain frame with a ``symbol`` column."""
    table = closes if "symbol" in closes.columns else closes.rename_axis("symbol").reset_index()
    return table.loc[:, ["symbol", "price", "price_date", "stale", "sessions_old"]]


def _issue_rows(rows: pd.DataFrame, code: str, severity: str, messages: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "position_id": rows["position_id"].to_numpy(dtype=object),
            "portfolio_id": rows["portfolio_id"].to_numpy(dtype=object),
            "symbol": rows["symbol"].to_numpy(dtype=object),
            "code": code,
            "severity": severity,
            "message": messages,
        },
        columns=ISSUE_COLUMNS,
    )


def _values_frame(priced: pd.DataFrame, price, price_source, price_date, underlying_price,
                  delta, flags) -> pd.DataFrame:
    """SPEC §4 position values of priced rows, stocks and options alike ($, signed).

    market_value = q·m·price; exposure = q·m·delta·underlying price (delta 1 for stocks,
    so exposure = market value); notional = |q|·m·underlying price; cost_basis =
    q·m·entry_price. ``unrealized_pnl`` is added by the caller.
    """
    qm = as_float(priced["quantity"]) * as_float(priced["multiplier"])
    return pd.DataFrame(
        {
            "_order": priced["_order"].to_numpy(),
            "position_id": priced["position_id"].to_numpy(dtype=object),
            "portfolio_id": priced["portfolio_id"].to_numpy(dtype=object),
            "symbol": priced["symbol"].to_numpy(dtype=object),
            "price": price,
            "price_source": price_source,
            "price_date": price_date,
            "underlying_price": underlying_price,
            "market_value": qm * price,
            "exposure": qm * delta * underlying_price,
            "notional": np.abs(qm) * underlying_price,
            "cost_basis": qm * as_float(priced["entry_price"]),
            "flags": flags,
            # SPEC §8: the quantity valued (after splits) and its factor; 1 without splits
            "effective_quantity": as_float(priced["quantity"]),
            "split_factor": (as_float(priced["split_factor"]) if "split_factor" in priced
                             else np.ones(len(priced))),
        }
    )


def _value_stocks(stocks: pd.DataFrame, closes: pd.DataFrame, as_of: dt.date):
    priced = stocks.merge(_closes_table(closes), on="symbol", how="left", validate="m:1")
    price = as_float(priced["price"])
    ok = np.isfinite(price)
    missing = priced.loc[~ok]
    priced = priced.loc[ok]
    price = price[ok]
    stale = priced["stale"].to_numpy(dtype=bool)
    values = _values_frame(
        priced, price, "close", priced["price_date"].to_numpy(dtype=object), price,
        delta=np.ones(len(price)), flags=[["stale_price"] if s else [] for s in stale.tolist()],
    )
    stale_rows = priced.loc[stale]
    stale_issues = _issue_rows(
        stale_rows,
        "stale_price",
        "warning",
        [
            f"{sym} has no close on {as_of}; valued at the close of {d} ({n} session(s) old) "
            f"and flagged stale_price (portfolio {pf}, position {pid})."
            for sym, d, n, pf, pid in zip(
                stale_rows["symbol"], stale_rows["price_date"], stale_rows["sessions_old"],
                stale_rows["portfolio_id"], stale_rows["position_id"], strict=True,
            )
        ],
    )
    missing_issues = _issue_rows(
        missing,
        "missing_price",
        "error",
        [
            f"No usable close for {sym} on {as_of} (none that day nor within the stale-price "
            f"limit of earlier sessions) in portfolio {pf}, position {pid}; the position is not "
            "valued and is left out of every aggregate (exposures, P&L, risk), not counted as 0."
            for sym, pf, pid in zip(
                missing["symbol"], missing["portfolio_id"], missing["position_id"], strict=True
            )
        ],
    )
    return values, [missing_issues, stale_issues]


def _value_options(options: pd.DataFrame, closes: pd.DataFrame, option_values: pd.DataFrame,
                   as_of: dt.date):
    greeks = option_values.loc[:, [*_GREEKS_NEEDED, *(["flags"] if "flags" in option_values
                                                      else [])]]
    greeks = greeks.assign(_key=id_key(greeks["position_id"])).drop(columns="position_id")
    duplicated = greeks["_key"].duplicated(keep=False)
    if duplicated.any():
        raise ValueError(
            "option_values has several rows for position(s) "
            f"{sorted(greeks.loc[duplicated, '_key'].unique())}; expected one per position"
        )
    underlying = _closes_table(closes).rename(
        columns={
            "symbol": "underlying_symbol",
            "price": "_u_close",
            "price_date": "_u_date",
            "stale": "_u_stale",
            "sessions_old": "_u_old",
        }
    )
    opts = options.assign(_key=id_key(options["position_id"]))
    if "underlying_symbol" not in opts:
        opts = opts.assign(underlying_symbol=None)
    priced = opts.merge(greeks, on="_key", how="left", validate="1:1").merge(
        underlying, on="underlying_symbol", how="left", validate="m:1"
    )
    price = as_float(priced["option_price"])
    delta = as_float(priced["delta"])
    spot = as_float(priced["underlying_price"])
    ok = np.isfinite(price) & np.isfinite(delta) & np.isfinite(spot)
    missing = priced.loc[~ok]
    priced = priced.loc[ok]
    price, delta, spot = price[ok], delta[ok], spot[ok]

    u_stale = priced["_u_stale"].astype(object).eq(True).to_numpy(dtype=bool)
    u_date = priced["_u_date"].to_numpy(dtype=object)
    price_date = np.where(u_stale, u_date, as_of)
    raw_flags = priced["flags"] if "flags" in priced else pd.Series([None] * len(priced))
    values = _values_frame(
        priced, price, priced["price_source"].to_numpy(dtype=object), price_date.astype(object),
        spot, delta=delta, flags=_flag_lists(raw_flags, u_stale),
    )
    no_underlying = missing["_u_close"].isna().to_numpy(dtype=bool)
    missing_issues = _issue_rows(
        missing,
        "missing_price",
        "error",
        [
            f"No option price or Greeks for {sym} on {as_of} in portfolio {pf}, position {pid}"
            + (f" (its underlying {u} has no usable close)" if no_u else "")
            + "; the position is not valued and is left out of every aggregate "
            "(exposures, P&L, risk), not counted as 0."
            for sym, pf, pid, u, no_u in zip(
                missing["symbol"], missing["portfolio_id"], missing["position_id"],
                missing["underlying_symbol"], no_underlying, strict=True,
            )
        ],
    )
    return values, [missing_issues]


def value_positions(
    positions: pd.DataFrame,
    closes: pd.DataFrame,
    option_values: pd.DataFrame,
    as_of: dt.date,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Value the positions held on ``as_of``.

    Parameters
    ----------
    positions:
        The *active* positions (:func:`~sigmasight_pipeline.engines.activity.active_positions`):
        position_id, portfolio_id, symbol, position_type, quantity (signed), multiplier,
        entry_price ($/share), underlying_symbol (options).
    closes:
        :func:`~sigmasight_pipeline.engines.prices.resolve_closes` for ``as_of`` (stocks'
        closes; for options, the underlying's ``price_date``/``stale``).
    option_values:
        The Greeks engine's frame (one row per option position): position_id, option_price
        ($/share), price_source (mid/last/model/intrinsic), delta (per $1 of underlying),
        underlying_price ($), flags.
    as_of:
        The trading day.

    Returns
    -------
    (values, issues)
        ``values`` has exactly the columns :data:`VALUE_COLUMNS`, one row per valued
        position in the input order. Stocks: price = close, price_source 'close',
        price_date = the close's date, underlying_price = price, flag ``stale_price`` when
        the close is from an earlier session. Options: price/price_source/underlying_price
        from the Greeks row with its flags carried (sorted, unique); price_date = ``as_of``,
        or the underlying's close date when that close is stale (then ``stale_price`` is
        added to the flags).
        ``issues`` (:data:`ISSUE_COLUMNS`): ``missing_price``/error for every position
        left unvalued, and ``stale_price``/warning for every stock valued at a stale close
        (option staleness is reported by the Greeks engine, which priced them).
    """
    if positions.empty:
        return empty_values(), empty_issues()
    if closes is None:
        closes = pd.DataFrame(columns=["price", "price_date", "stale", "sessions_old"])
    if option_values is None:
        option_values = pd.DataFrame(columns=_GREEKS_NEEDED)

    pos = positions.reset_index(drop=True)
    pos = pos.assign(_order=np.arange(len(pos)))
    option = is_option(pos["position_type"]).to_numpy(dtype=bool)

    stock_values, stock_issues = _value_stocks(pos.loc[~option], closes, as_of)
    option_values_, option_issues = _value_options(pos.loc[option], closes, option_values, as_of)

    parts = [frame for frame in (stock_values, option_values_) if not frame.empty]
    if parts:
        values = pd.concat(parts, ignore_index=True).sort_values("_order", kind="mergesort")
        values = values.assign(unrealized_pnl=values["market_value"] - values["cost_basis"])
        values = values.loc[:, VALUE_COLUMNS].reset_index(drop=True)
    else:
        values = empty_values()

    issue_parts = [frame for frame in (*stock_issues, *option_issues) if not frame.empty]
    issues = (
        pd.concat(issue_parts, ignore_index=True) if issue_parts else empty_issues()
    )
    return values, issues
