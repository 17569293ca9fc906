"""Daily portfolio snapshots: value, exposure, P&L and dollar Greeks (SPEC §5.8, §4).

Units: US dollars throughout; ``daily_return`` is a decimal (0.01 = 1 %).

Value and exposure (valued positions only; a ``missing_price`` position is in none of them):

* total_value = Σ market_value; long_value = Σ max(market_value, 0); short_value =
  Σ min(market_value, 0) (≤ 0).
* gross_exposure / net_exposure from the portfolio_exposures row; dollar_delta =
  net_exposure (delta-adjusted $).
* dollar_gamma_1pct, dollar_theta ($/calendar day), dollar_vega ($ per vol point),
  dollar_rho ($ per rate point) = Σ over valued options of the Greeks frame's
  dollar_gamma_1pct, position_theta, position_vega, position_rho.

Daily P&L of trading day t (t−1 = the previous session), position by position, with
q = signed quantity and m = multiplier:

* held on both days (in ``prev_values`` and ``values``): stocks/ETFs/funds
  MV_(t−1) × (adj_close_t / adj_close_(t−1) − 1), so a split or a dividend (close drops,
  adj_close does not) makes no false P&L; options q × m × (price_t − price_(t−1)), and the
  snapshot gets flag ``price_source_changed`` when the two prices come from different
  sources (e.g. mid yesterday, model today);
* entered on t: q × m × (price_t − entry_price);
* exited on t (so not in today's values): q × m × (exit_price − price_(t−1));
* entered and exited on t: q × m × (exit_price − entry_price).

"On t" means dated after the previous session and up to t (``prev_date`` < date ≤ t), so
a trade dated on a weekend or holiday is booked on the next session.

A position held today (or exited on t) with entry before t but absent from ``prev_values``
(its value was missing yesterday, e.g. a stretch of days without a price) books the move
since its last value in ``last_values`` on t: stocks MV_last × (adj_close_t / adj_close_last
− 1), options q × m × (price_t − price_last) (exits: exit_price − price_last), with flag
``price_gap``; so cumulative P&L = change in value + realized P&L.

A position whose P&L cannot be measured contributes **nothing** and the snapshot gets flag
``missing_price``: held today with entry before t, absent from ``prev_values`` and without
an earlier value; exited on t likewise; held both days as a stock without an adj_close on
either day; an exit without exit_price or an entry without entry_price; or held today (per
``positions``) but not valued today (missing price today, so also absent from every total).

History: a portfolio's first snapshot (no snapshot before t) has daily_pnl 0, daily_return
NaN and cumulative_pnl 0. Otherwise cumulative_pnl = previous snapshot's cumulative_pnl +
daily_pnl and daily_return = daily_pnl / previous snapshot's gross_exposure (NaN when that
is 0). When the previous session's snapshot is missing although an earlier one exists,
cumulative_pnl and daily_return are NaN with flag ``history_gap`` (daily_pnl is still
computed from ``prev_values``). A previous snapshot whose cumulative_pnl is itself NaN
(an unrepaired earlier gap) keeps cumulative_pnl NaN and the ``history_gap`` flag: the fix
is to backfill the missing day and re-run the following days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from sigmasight_pipeline.engines.activity import (
    active_mask,
    as_float,
    between_sessions,
    id_key,
    is_option,
    to_timestamps,
)

SNAPSHOT_COLUMNS = [
    "portfolio_id",
    "total_value",
    "long_value",
    "short_value",
    "gross_exposure",
    "net_exposure",
    "daily_pnl",
    "daily_return",
    "cumulative_pnl",
    "dollar_delta",
    "dollar_gamma_1pct",
    "dollar_theta",
    "dollar_vega",
    "dollar_rho",
    "position_count",
    "data_source",
    "flags",
]

_GREEK_SUMS = {
    "dollar_gamma_1pct": "dollar_gamma_1pct",
    "position_theta": "dollar_theta",
    "position_vega": "dollar_vega",
    "position_rho": "dollar_rho",
}


def _adj_close_series(adj: pd.Series | pd.DataFrame | Mapping | None) -> pd.Series:
    """adj_close by symbol from a Series, a resolve_closes frame or a mapping."""
    if adj is None:
        return pd.Series(dtype=float)
    if isinstance(adj, pd.DataFrame):
        frame = adj.set_index("symbol") if "symbol" in adj.columns else adj
        adj = frame["adj_close"]
    elif not isinstance(adj, pd.Series):
        adj = pd.Series(dict(adj), dtype=float)
    adj = pd.to_numeric(adj, errors="coerce")
    return adj[~adj.index.duplicated(keep="last")]


def _earlier_keys(has_earlier_snapshot: Iterable | Mapping | pd.Series | None) -> set[str]:
    """Keys of the portfolios that have some snapshot before t."""
    if has_earlier_snapshot is None:
        return set()
    if isinstance(has_earlier_snapshot, pd.Series) and has_earlier_snapshot.dtype == bool:
        ids = has_earlier_snapshot.index[has_earlier_snapshot.to_numpy()]
    elif isinstance(has_earlier_snapshot, Mapping):
        ids = [k for k, v in has_earlier_snapshot.items() if bool(v)]
    else:
        ids = list(has_earlier_snapshot)
    return set(id_key(pd.Series(list(ids), dtype=object)))


def _flag_frame(keys: pd.Series, mask: np.ndarray, flag: str, pnl_only: bool) -> pd.DataFrame:
    """Rows (_pf, flag, pnl_only) for the masked positions; pnl_only flags concern P&L only."""
    return pd.DataFrame(
        {"_pf": keys.to_numpy(dtype=object)[mask], "flag": flag, "pnl_only": pnl_only}
    )


def _last_value_columns(keys: pd.Series, last_values: pd.DataFrame | None
                        ) -> dict[str, np.ndarray]:
    """price, market_value, adj_close and split factor of each position's last value (NaN
    where there is none; factor 1 where unknown), aligned with ``keys``."""
    n = len(keys)
    if last_values is None or last_values.empty:
        nan = np.full(n, np.nan)
        return {"price": nan, "market_value": nan, "adj_close": nan, "factor": np.ones(n)}
    last = last_values.assign(_pos=id_key(last_values["position_id"])).drop_duplicates(
        "_pos", keep="last").set_index("_pos")
    out = {}
    for column in ("price", "market_value", "adj_close", "split_factor"):
        values = (pd.to_numeric(last[column], errors="coerce") if column in last
                  else pd.Series(np.nan, index=last.index))
        out[column] = keys.map(values).to_numpy(dtype=float, na_value=np.nan)
    out["factor"] = np.nan_to_num(out.pop("split_factor"), nan=1.0)
    return out


def _position_pnl(
    as_of: dt.date,
    prev_date: dt.date | None,
    positions: pd.DataFrame,
    values: pd.DataFrame,
    prev_values: pd.DataFrame,
    prev_adj: pd.Series,
    today_adj: pd.Series,
    last_values: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-position daily P&L (_pf, pnl) and flags (_pf, flag, pnl_only).

    ``pnl_only`` flags describe P&L that could not be measured; they do not apply to a
    portfolio's first snapshot, which books no P&L.
    """
    pos = positions.assign(
        _pos=id_key(positions["position_id"]), _pf=id_key(positions["portfolio_id"])
    ).drop_duplicates("_pos")
    today = pd.DataFrame(
        {
            "_pos": id_key(values["position_id"]).to_numpy(dtype=object),
            "_price_t": as_float(values["price"]),
            "_src_t": values["price_source"].to_numpy(dtype=object),
        }
    )
    if prev_values is None or prev_values.empty:
        prev = pd.DataFrame(
            {c: pd.Series(dtype=float if c in ("_price_p", "_mv_p") else object)
             for c in ("_pos", "_price_p", "_src_p", "_mv_p")}
        )
    else:
        prev = pd.DataFrame(
            {
                "_pos": id_key(prev_values["position_id"]).to_numpy(dtype=object),
                "_price_p": as_float(prev_values["price"]),
                "_src_p": prev_values["price_source"].to_numpy(dtype=object),
                "_mv_p": as_float(prev_values["market_value"]),
                "_factor_p": (as_float(prev_values["split_factor"])
                              if "split_factor" in prev_values else 1.0),
            }
        )
    entry_ts = to_timestamps(pos["entry_date"])
    exit_col = pos["exit_date"] if "exit_date" in pos else pd.Series(None, index=pos.index)
    entered = between_sessions(pos["entry_date"], as_of, prev_date).to_numpy(dtype=bool)
    exited = between_sessions(exit_col, as_of, prev_date).to_numpy(dtype=bool)
    in_today = pos["_pos"].isin(set(today["_pos"])).to_numpy(dtype=bool)
    held_today = active_mask(pos, as_of).to_numpy(dtype=bool)
    started = (entry_ts <= pd.Timestamp(as_of)).to_numpy(dtype=bool)
    universe = started & (in_today | held_today | exited)
    u = pos.loc[universe].merge(today, on="_pos", how="left").merge(prev, on="_pos", how="left")
    entered, exited, in_today, held_today = (
        entered[universe], exited[universe], in_today[universe], held_today[universe]
    )

    option = is_option(u["position_type"]).to_numpy(dtype=bool)
    qm = as_float(u["quantity"]) * as_float(u["multiplier"])
    entry_price = as_float(u["entry_price"])
    exit_price = as_float(u["exit_price"]) if "exit_price" in u else np.full(len(u), np.nan)
    price_t, price_p, mv_p = as_float(u["_price_t"]), as_float(u["_price_p"]), as_float(u["_mv_p"])
    if "_factor_p" in u and "split_factor" in u:
        # SPEC §8: yesterday's price on today's share basis (an option split on t divides
        # it by the day's ratio, as q × m grows by it); no split: the price itself
        factor_p = np.nan_to_num(as_float(u["_factor_p"]), nan=1.0)
        factor_t = as_float(u["split_factor"])
        price_p = np.where(factor_p == factor_t, price_p, price_p * factor_p / factor_t)
    in_prev = u["_pos"].isin(set(prev["_pos"])).to_numpy(dtype=bool)
    symbols = u["symbol"]
    adj_t = symbols.map(today_adj).to_numpy(dtype=float, na_value=np.nan)
    adj_p = symbols.map(prev_adj).to_numpy(dtype=float, na_value=np.nan)

    held_both = in_today & in_prev
    new_today = in_today & ~in_prev & entered
    gone_unseen = in_today & ~in_prev & ~entered  # value was missing yesterday
    round_trip = ~in_today & exited & entered
    closed = ~in_today & exited & ~entered & in_prev
    closed_unseen = ~in_today & exited & ~entered & ~in_prev
    unvalued_today = ~in_today & held_today & ~exited

    with np.errstate(divide="ignore", invalid="ignore"):
        stock_pnl = mv_p * (adj_t / adj_p - 1.0)
    option_pnl = qm * (price_t - price_p)

    # A value missing yesterday (a stretch without a price): the move since the last value
    # is booked today, flag price_gap, so cumulative P&L = change in value + realized P&L.
    last = _last_value_columns(u["_pos"], last_values)
    factor_now = (np.nan_to_num(as_float(u["split_factor"]), nan=1.0) if "split_factor" in u
                  else np.ones(len(u)))
    price_l = last["price"] * last["factor"] / factor_now  # on today's share basis
    has_last = np.isfinite(last["price"])
    with np.errstate(divide="ignore", invalid="ignore"):
        gap_held = np.where(option, qm * (price_t - price_l),
                            last["market_value"] * (adj_t / last["adj_close"] - 1.0))
    gap_closed = qm * (exit_price - price_l)
    reopened = gone_unseen & has_last
    closed_late = closed_unseen & has_last

    candidates = [
        np.where(option, option_pnl, stock_pnl),
        qm * (price_t - entry_price),
        qm * (exit_price - entry_price),
        qm * (exit_price - price_p),
        gap_held,
        gap_closed,
    ]
    pnl = np.select([held_both, new_today, round_trip, closed, reopened, closed_late],
                    candidates, default=0.0)
    measured = np.isfinite(pnl)
    pnl = np.where(measured, pnl, 0.0)
    booked = held_both | new_today | round_trip | closed | reopened | closed_late
    unmeasured = booked & ~measured
    pnl_missing = (unmeasured | (gone_unseen & ~has_last) | (closed_unseen & ~has_last))
    gap_booked = (reopened | closed_late) & measured
    source_changed = (
        held_both
        & option
        & (u["_src_t"].astype(object).to_numpy() != u["_src_p"].astype(object).to_numpy())
    )

    pnl_rows = pd.DataFrame({"_pf": u["_pf"].to_numpy(dtype=object), "pnl": pnl,
                             # for the P&L attribution (SPEC §7.7): which rows are the
                             # held-on-both-days P&L, which the entry/exit (trading) P&L,
                             # which the move over a price gap booked on its return
                             "_pos": u["_pos"].to_numpy(dtype=object),
                             "kind": np.where(held_both, "held", np.where(
                                 new_today | round_trip | closed, "trading",
                                 np.where(gap_booked, "gap", "none"))),
                             "measured": measured & ~pnl_missing})
    flags = pd.concat(
        [
            _flag_frame(u["_pf"], pnl_missing, "missing_price", pnl_only=True),
            _flag_frame(u["_pf"], unvalued_today, "missing_price", pnl_only=False),
            _flag_frame(u["_pf"], source_changed, "price_source_changed", pnl_only=True),
            _flag_frame(u["_pf"], gap_booked, "price_gap", pnl_only=True),
        ],
        ignore_index=True,
    )
    return pnl_rows, flags


def portfolio_snapshots(
    as_of: dt.date,
    portfolio_ids: Iterable,
    positions: pd.DataFrame,
    values: pd.DataFrame,
    greeks: pd.DataFrame | None,
    exposures: pd.DataFrame | None,
    prev_values: pd.DataFrame | None,
    prev_adj_close: pd.Series | pd.DataFrame | Mapping | None,
    today_adj_close: pd.Series | pd.DataFrame | Mapping | None,
    prev_snapshots: pd.DataFrame | None,
    has_earlier_snapshot: Iterable | Mapping | pd.Series | None,
    data_source: str,
    prev_date: dt.date | None = None,
    last_values: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One snapshot row per portfolio for trading day ``as_of`` (rules in the module docstring).

    Parameters
    ----------
    as_of:
        Trading day t.
    portfolio_ids:
        The portfolios to snapshot; one row each (a portfolio with no valued position gets
        zeros). Ids may be UUIDs or strings; the output carries these objects.
    positions:
        Every position of those portfolios, open or closed (position_id, portfolio_id,
        symbol, position_type, quantity, multiplier, entry_price, entry_date, exit_date,
        exit_price, expiration): needed for entries, exits and positions unvalued today.
    values:
        Today's position values (valuation output: position_id, portfolio_id, price,
        price_source, market_value).
    greeks:
        Today's Greeks frame (position_id, dollar_gamma_1pct, position_theta,
        position_vega, position_rho); only rows of valued positions are summed.
    exposures:
        Today's portfolio_exposures (portfolio_id, gross_exposure, net_exposure). A
        portfolio without a row takes the sums over its ``values`` rows instead.
    prev_values:
        The previous session's position values (position_id, price, price_source,
        market_value); None/empty when there is none.
    prev_adj_close, today_adj_close:
        adj_close by symbol on t−1 and t: a Series indexed by symbol, a mapping, or a
        :func:`~sigmasight_pipeline.engines.prices.resolve_closes` frame (pass the same
        resolved closes the values were computed from, so a stale price gives 0 P&L).
    prev_snapshots:
        The previous session's snapshots (portfolio_id, gross_exposure, cumulative_pnl);
        only that day's rows.
    has_earlier_snapshot:
        Which portfolios have any snapshot dated before t: a collection of portfolio ids,
        a mapping id → bool, or a boolean Series indexed by id. A row in ``prev_snapshots``
        also counts as an earlier snapshot.
    data_source:
        The market-data source name, copied to every row.
    prev_date:
        The previous NYSE session (t−1); entries and exits dated in (prev_date, t] count
        as on t. None: only dates equal to t.
    last_values:
        For positions absent from ``prev_values``: their latest earlier value (position_id,
        price, market_value, split_factor, adj_close of the price used). The move since then
        is booked on t with flag ``price_gap``. None: such positions book nothing
        (``missing_price``).

    Returns
    -------
    DataFrame with :data:`SNAPSHOT_COLUMNS`, one row per portfolio in ``portfolio_ids``
    order; ``flags`` is a sorted list of unique codes; position_count = valued positions.
    """
    ids = pd.Series(list(portfolio_ids), dtype=object)
    base = pd.DataFrame({"_pf": id_key(ids).to_numpy(dtype=object), "portfolio_id": ids})
    base = base.drop_duplicates("_pf").reset_index(drop=True)

    # --- value, exposure and Greeks sums ---------------------------------------------------
    mv = as_float(values["market_value"])
    exposure = as_float(values["exposure"]) if "exposure" in values else np.full(len(mv), np.nan)
    value_keys = id_key(values["position_id"])
    per_value = pd.DataFrame(
        {
            "_pf": id_key(values["portfolio_id"]).to_numpy(dtype=object),
            "total_value": mv,
            "long_value": np.maximum(mv, 0.0),
            "short_value": np.minimum(mv, 0.0),
            "_gross_v": np.abs(exposure),
            "_net_v": exposure,
            "position_count": np.ones(len(mv), dtype="int64"),
        }
    )
    value_sums = per_value.groupby("_pf", sort=False).sum()

    if exposures is not None and not exposures.empty:
        exp = pd.DataFrame(
            {
                "_pf": id_key(exposures["portfolio_id"]).to_numpy(dtype=object),
                "gross_exposure": as_float(exposures["gross_exposure"]),
                "net_exposure": as_float(exposures["net_exposure"]),
            }
        ).drop_duplicates("_pf", keep="last").set_index("_pf")
    else:
        exp = pd.DataFrame(
            {"gross_exposure": pd.Series(dtype=float), "net_exposure": pd.Series(dtype=float)}
        )

    if greeks is not None and not greeks.empty:
        g = greeks.assign(_pos=id_key(greeks["position_id"]))
        g = g.loc[g["_pos"].isin(set(value_keys))]
        valued_pf = pd.Series(
            id_key(values["portfolio_id"]).to_numpy(dtype=object), index=value_keys.to_numpy()
        )
        greek_rows = pd.DataFrame(
            {new: as_float(g[old]) for old, new in _GREEK_SUMS.items()}
        ).assign(_pf=g["_pos"].map(valued_pf).to_numpy(dtype=object))
        greek_sums = greek_rows.groupby("_pf", sort=False).sum()
    else:
        greek_sums = pd.DataFrame({new: pd.Series(dtype=float) for new in _GREEK_SUMS.values()})

    # --- P&L --------------------------------------------------------------------------------
    pnl_rows, flags = _position_pnl(
        as_of,
        prev_date,
        positions,
        values,
        prev_values,
        _adj_close_series(prev_adj_close),
        _adj_close_series(today_adj_close),
        last_values,
    )
    pnl = pnl_rows.groupby("_pf", sort=False)["pnl"].sum()

    out = base.join(value_sums, on="_pf").join(exp, on="_pf").join(greek_sums, on="_pf")
    for col in ("total_value", "long_value", "short_value", "_gross_v", "_net_v",
                *_GREEK_SUMS.values()):
        out[col] = out[col].fillna(0.0).astype(float)
    out["position_count"] = out["position_count"].fillna(0).astype("int64")
    no_exposure_row = out["gross_exposure"].isna()
    out["gross_exposure"] = out["gross_exposure"].where(~no_exposure_row, out["_gross_v"])
    out["net_exposure"] = out["net_exposure"].where(~no_exposure_row, out["_net_v"])
    out["dollar_delta"] = out["net_exposure"]
    out["daily_pnl"] = out["_pf"].map(pnl).fillna(0.0).astype(float)

    # --- history ----------------------------------------------------------------------------
    if prev_snapshots is not None and not prev_snapshots.empty:
        prev = pd.DataFrame(
            {
                "_pf": id_key(prev_snapshots["portfolio_id"]).to_numpy(dtype=object),
                "_prev_gross": as_float(prev_snapshots["gross_exposure"]),
                "_prev_cum": as_float(prev_snapshots["cumulative_pnl"]),
            }
        ).drop_duplicates("_pf", keep="last").set_index("_pf")
    else:
        prev = pd.DataFrame(
            {"_prev_gross": pd.Series(dtype=float), "_prev_cum": pd.Series(dtype=float)}
        )
    out = out.join(prev, on="_pf")
    has_prev = out["_pf"].isin(set(prev.index)).to_numpy(dtype=bool)
    earlier = out["_pf"].isin(_earlier_keys(has_earlier_snapshot)).to_numpy(dtype=bool)
    first = ~earlier & ~has_prev
    prev_gross = out["_prev_gross"].to_numpy(dtype=float)
    prev_cum = out["_prev_cum"].to_numpy(dtype=float)
    daily_pnl = np.where(first, 0.0, out["daily_pnl"].to_numpy(dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        ret = np.where(has_prev & (prev_gross != 0), daily_pnl / prev_gross, np.nan)
    cumulative = np.where(first, 0.0, np.where(has_prev, prev_cum + daily_pnl, np.nan))
    gap = ~first & ~np.isfinite(cumulative)
    out["daily_pnl"] = daily_pnl
    out["daily_return"] = ret
    out["cumulative_pnl"] = cumulative
    out["data_source"] = data_source

    # --- flags ------------------------------------------------------------------------------
    # a first snapshot books no P&L, so P&L-measurement flags do not apply to it; a
    # position held but unvalued today still flags it (it is missing from every total)
    first_keys = set(out.loc[first, "_pf"])
    flags = flags.loc[~(flags["pnl_only"] & flags["_pf"].isin(first_keys))]
    flag_rows = pd.concat(
        [flags, _flag_frame(out["_pf"], gap, "history_gap", pnl_only=False)], ignore_index=True
    )
    flag_lists = flag_rows.groupby("_pf")["flag"].agg(lambda f: sorted(set(f)))
    out["flags"] = [list(flag_lists.get(k, [])) for k in out["_pf"].tolist()]
    return out.loc[:, SNAPSHOT_COLUMNS].reset_index(drop=True)


def position_pnl(
    as_of: dt.date,
    prev_date: dt.date | None,
    positions: pd.DataFrame,
    values: pd.DataFrame,
    prev_values: pd.DataFrame | None,
    prev_adj_close: pd.Series | pd.DataFrame | Mapping | None,
    today_adj_close: pd.Series | pd.DataFrame | Mapping | None,
    last_values: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The position-by-position daily P&L that :func:`portfolio_snapshots` sums (same rules,
    same inputs, ``last_values`` included), for the P&L attribution.

    Returns (portfolio_id, position_id, kind, pnl, measured) as string ids, kind ∈ {held
    (held on both days), trading (entered and/or exited on t), gap (the move over a price gap,
    booked the day the price returns), none (nothing booked)};
    pnl is 0 where it could not be measured (``measured`` False), as in the snapshot.
    A portfolio's first snapshot books 0 whatever these rows say: the caller drops them.
    """
    rows, _ = _position_pnl(as_of, prev_date, positions, values, prev_values,
                            _adj_close_series(prev_adj_close), _adj_close_series(today_adj_close),
                            last_values)
    return pd.DataFrame({"portfolio_id": rows["_pf"].astype(str).to_numpy(),
                         "position_id": rows["_pos"].astype(str).to_numpy(),
                         "kind": rows["kind"].to_numpy(), "pnl": rows["pnl"].to_numpy(),
                         "measured": rows["measured"].to_numpy(dtype=bool)})
