"""Portfolio and tag exposures of a trading day (SPEC §4 portfolio_exposures, tag_exposures).

Input is the valuation engine's ``values`` frame: only *valued* positions, so a position
without a price (``missing_price``) is left out of every sum and count here.

Sign conventions (US dollars): ``exposure`` is signed, delta-adjusted for options (a long
put and a short call are negative). long = Σ max(x, 0) ≥ 0; short = Σ min(x, 0) ≤ 0
(a negative number); gross = Σ |x| = long − short ≥ 0; net = Σ x = long + short.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from sigmasight_pipeline.engines.activity import as_float, id_key, is_option

PORTFOLIO_EXPOSURE_COLUMNS = [
    "portfolio_id",
    "long_exposure",
    "short_exposure",
    "gross_exposure",
    "net_exposure",
    "long_market_value",
    "short_market_value",
    "net_market_value",
    "long_count",
    "short_count",
    "option_count",
]
TAG_EXPOSURE_COLUMNS = ["portfolio_id", "tag", "gross_exposure", "net_exposure", "position_count"]
#: the tag under which positions without any tag are counted
UNTAGGED = "(untagged)"

_COUNT_COLUMNS = ("long_count", "short_count", "option_count")


def _portfolio_lookup(values: pd.DataFrame, portfolio_ids: Iterable | None) -> pd.DataFrame:
    """One row per portfolio (key, portfolio_id): those in values plus those in portfolio_ids.

    The portfolio_id object is taken from ``values`` where present (so UUIDs stay UUIDs).
    """
    ids = [values["portfolio_id"]]
    if portfolio_ids is not None:
        ids.append(pd.Series(list(portfolio_ids), dtype=object))
    all_ids = pd.concat(ids, ignore_index=True).astype(object)
    lookup = pd.DataFrame({"_pf": id_key(all_ids), "portfolio_id": all_ids})
    return lookup.drop_duplicates("_pf", keep="first").sort_values("_pf", kind="mergesort")


def portfolio_exposures(
    values: pd.DataFrame,
    positions: pd.DataFrame,
    portfolio_ids: Iterable | None = None,
) -> pd.DataFrame:
    """Long/short/gross/net exposure and market value per portfolio.

    Parameters
    ----------
    values:
        :func:`~sigmasight_pipeline.engines.valuation.value_positions` output (needs
        position_id, portfolio_id, exposure, market_value).
    positions:
        Positions (needs position_id, position_type) to tell options apart.
    portfolio_ids:
        Optional. Every portfolio listed here gets a row even when none of its positions is
        valued (all sums 0, all counts 0): an empty book has zero exposure, and the
        ``missing_price`` issues say why positions are absent. Portfolios present in
        ``values`` always get a row. ``None``: only portfolios with valued positions.

    Returns
    -------
    DataFrame with :data:`PORTFOLIO_EXPOSURE_COLUMNS`, one row per portfolio sorted by
    portfolio_id. Dollars: long_exposure = Σ max(exposure, 0), short_exposure =
    Σ min(exposure, 0) (≤ 0), gross_exposure = long − short = Σ |exposure|, net_exposure =
    Σ exposure; long/short/net_market_value likewise on market_value. Counts: long_count =
    positions with exposure > 0, short_count = exposure < 0 (a long put or short call
    counts short; a position with exactly 0 exposure, e.g. an expiring out-of-the-money
    option, counts in neither), option_count = valued option positions.
    """
    option_keys = id_key(positions.loc[is_option(positions["position_type"]), "position_id"])
    exposure = as_float(values["exposure"])
    market_value = as_float(values["market_value"])
    per_position = pd.DataFrame(
        {
            "_pf": id_key(values["portfolio_id"]).to_numpy(dtype=object),
            "long_exposure": np.maximum(exposure, 0.0),
            "short_exposure": np.minimum(exposure, 0.0),
            "net_exposure": exposure,
            "long_market_value": np.maximum(market_value, 0.0),
            "short_market_value": np.minimum(market_value, 0.0),
            "net_market_value": market_value,
            "long_count": (exposure > 0).astype("int64"),
            "short_count": (exposure < 0).astype("int64"),
            "option_count": id_key(values["position_id"]).isin(set(option_keys)).to_numpy(
                dtype="int64"
            ),
        }
    )
    sums = per_position.groupby("_pf", sort=False).sum()
    lookup = _portfolio_lookup(values, portfolio_ids)
    out = lookup.join(sums, on="_pf", how="left")
    money = [c for c in sums.columns if c not in _COUNT_COLUMNS]
    out[money] = out[money].fillna(0.0).astype(float)
    out[list(_COUNT_COLUMNS)] = out[list(_COUNT_COLUMNS)].fillna(0).astype("int64")
    # gross as long − short keeps the identity exact in the stored numbers
    out["gross_exposure"] = out["long_exposure"] - out["short_exposure"]
    return out.loc[:, PORTFOLIO_EXPOSURE_COLUMNS].reset_index(drop=True)


def tag_exposures(values: pd.DataFrame, tags: pd.DataFrame | None) -> pd.DataFrame:
    """Gross and net exposure per (portfolio, tag).

    Parameters
    ----------
    values:
        Valuation output (position_id, portfolio_id, exposure).
    tags:
        Frame (position_id, tag), one row per tag of a position; ``None`` or empty means no
        position is tagged. Blank tags are ignored; duplicate (position, tag) rows count once.

    Returns
    -------
    DataFrame with :data:`TAG_EXPOSURE_COLUMNS` sorted by portfolio_id, tag. A position
    counts fully under each of its tags (so tag rows of one portfolio may sum to more than
    its gross exposure); positions with no tag count under ``'(untagged)'``.
    gross_exposure = Σ |exposure| ($), net_exposure = Σ exposure ($), position_count =
    number of valued positions carrying the tag.
    """
    base = pd.DataFrame(
        {
            "_pos": id_key(values["position_id"]).to_numpy(dtype=object),
            "_pf": id_key(values["portfolio_id"]).to_numpy(dtype=object),
            "portfolio_id": values["portfolio_id"].to_numpy(dtype=object),
            "exposure": as_float(values["exposure"]),
        }
    )
    if tags is None or tags.empty:
        tag_map = pd.DataFrame({"_pos": pd.Series(dtype=object), "tag": pd.Series(dtype=object)})
    else:
        tag_map = pd.DataFrame(
            {
                "_pos": id_key(tags["position_id"]).to_numpy(dtype=object),
                "tag": tags["tag"].astype(object).map(
                    lambda t: t.strip() if isinstance(t, str) else None
                ).to_numpy(dtype=object),
            }
        )
        tag_map = tag_map.loc[tag_map["tag"].notna() & (tag_map["tag"] != "")]
        tag_map = tag_map.drop_duplicates(["_pos", "tag"])

    tagged = base.merge(tag_map, on="_pos", how="left")
    tagged["tag"] = tagged["tag"].fillna(UNTAGGED)
    tagged = tagged.assign(gross_exposure=np.abs(tagged["exposure"]))
    out = (
        tagged.groupby(["_pf", "tag"], sort=True)
        .agg(
            portfolio_id=("portfolio_id", "first"),
            gross_exposure=("gross_exposure", "sum"),
            net_exposure=("exposure", "sum"),
            position_count=("_pos", "nunique"),
        )
        .reset_index()
    )
    out["position_count"] = out["position_count"].astype("int64")
    return out.loc[:, TAG_EXPOSURE_COLUMNS].reset_index(drop=True)
