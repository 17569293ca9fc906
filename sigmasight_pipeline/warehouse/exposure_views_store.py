"""Reading what the sector, concentration and limit assets need beyond the day's values:
the Market betas of underlyings, and parametric VaR when its table exists.

Each input sits behind one small function so that its source can be re-pointed in one
place: :func:`read_market_betas` reads ``security_factor_exposures`` (one Market beta per
symbol); :func:`read_parametric_var` reads
``sigmasight.portfolio_var`` (SPEC §7.5) only when that table exists.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Connection

#: the VaR the max_var_99_1d_pct_gross limit compares: parametric, 99 %, 1 trading day
VAR_METHOD, VAR_CONFIDENCE, VAR_HORIZON_DAYS = "parametric", 0.99, 1
VAR_TABLE = "sigmasight.portfolio_var"


def read_market_betas(conn: Connection, day: dt.date) -> pd.Series:
    """Market beta per beta symbol on ``day`` (NaN/absent where there is none).

    From ``security_factor_exposures`` (SPEC §7.1: one row per symbol, factor and day);
    positions join it by their beta symbol (an option's underlying, else their own symbol).
    """
    frame = pd.read_sql(text("""
        SELECT symbol, beta
          FROM sigmasight.security_factor_exposures
         WHERE date = :day AND factor = 'Market'"""), conn, params={"day": day})
    return pd.Series(frame["beta"].to_numpy(dtype=float), index=frame["symbol"],
                     name="market_beta")


def var_table_exists(conn: Connection) -> bool:
    return conn.execute(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": VAR_TABLE}).scalar()


def read_parametric_var(conn: Connection, day: dt.date) -> pd.DataFrame | None:
    """(portfolio_id, var) of parametric 99 % 1-day VaR on ``day`` in US$, or None when
    ``sigmasight.portfolio_var`` does not exist (a portfolio without a row is absent)."""
    if not var_table_exists(conn):
        return None
    frame = pd.read_sql(text(f"""
        SELECT portfolio_id::text AS portfolio_id, var
          FROM {VAR_TABLE}
         WHERE date = :day AND method = :method AND horizon_days = :horizon
           AND abs(confidence - :confidence) < 1e-9 AND var IS NOT NULL"""), conn,
        params={"day": day, "method": VAR_METHOD, "horizon": VAR_HORIZON_DAYS,
                "confidence": VAR_CONFIDENCE})
    return frame
