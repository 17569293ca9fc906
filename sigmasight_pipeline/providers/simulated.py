"""A seeded multi-factor market, the default provider when no API key is configured.

Everything here is a deterministic function of ``(seed, symbol, date)``: the provider
simulates one daily path per symbol over every NYSE session of the calendar
(:func:`sigmasight_pipeline.calendar.all_sessions`, 2015-01-02 .. 2030-12-31) and slices the
requested window out of it, so a single day generated alone equals the same day inside any
longer range, and a backfill agrees with the daily runs that preceded it.

The model (daily, per session)
------------------------------
- **Common factors**, each drawn from its own generator keyed by ``(seed, crc32(name))``:
  ``market`` (log drift 6 %/yr, volatility 0.95 % × VIX₍t−1₎/16, so about 1 %/day and higher
  after VIX spikes), long-short styles ``value`` (0.6 %), ``size`` (0.6 %), ``momentum``
  (0.6 %), ``quality`` (0.3 %), ``low_volatility`` (0.35 %), ``gold`` (0.9 %), ``commodity``
  (1.0 %), ``international`` (0.6 %), and ``rates`` = the daily change of DGS10 in
  percentage points.
- **VIX** = 9 + 7·exp(x), x an Ornstein-Uhlenbeck process around 0 (half-life about 20
  sessions, stationary std 0.49) whose shocks have correlation −0.75 with the market's: a
  median of 16, about 95 % of days between 10 and 28, spikes when the market falls.
- **Treasury yields** (DGS3MO, DGS2, DGS10, DGS30, percent) are means of 4.3–4.6 % plus a
  mean-reverting level factor, a slope factor and a small own term: a few bp a day,
  correlated along the curve, rounded to 2 decimals like FRED.
- **Symbols**: log total return = Σ loading × factor + idiosyncratic noise from a generator
  keyed by ``(seed, crc32(symbol))`` (+ a carry for bonds and gold). The factor ETFs are
  built the way SPEC §5.3 reads them: SPY ≈ market, VTV = market + ½·value, VUG = market −
  ½·value (so SPY ≈ ½ VTV + ½ VUG and Value = VTV − VUG), IWM, MTUM, QUAL, USMV carry their
  style. A built-in table gives the demo symbols realistic loadings; any other
  syntactically valid ticker (``[A-Z0-9.-]{1,10}``) gets loadings hashed from its name.

Prices, dividends and ``adj_close``
-----------------------------------
The level is calibrated so that ``close`` on 2024-01-16 is the demo's entry price (or, for
a ticker outside the table, a level between $20 and $500 hashed from its name). Dividend
payers go ex-dividend on fixed days of fixed months; on the ex-date ``close`` drops by the
dividend (in cents, set each year as the yield's share of the price then), and ``adj_close`` is the
total-return series **anchored at the base date** (``adj_close == close`` on 2015-01-02)
and compounded *forward*: ``adj_close_t / adj_close_(t−1) = (close_t + dividend_t) /
close_(t−1)``. Unlike a vendor's back-adjusted series it never changes for a past date
when later dates are generated, so re-running history gives the same returns. Demo symbols split on
their real ex-dates (``SPLITS``, e.g. NVDA 10-for-1 on 2024-06-10): ``close``, open, high,
low and dividends are per share of the day and drop by the ratio on the ex-date, volume
rises by it, ``adj_close`` is unchanged (levels are calibrated on the 2024-01-16 share basis).
Volumes are
positive integers; open/high/low surround the close (low ≤ open, close ≤ high); mutual
funds publish one NAV a day (open = high = low = close).

Options
-------
:meth:`SimulatedProvider.option_quotes` prices each contract with Black-Scholes
(:func:`sigmasight_pipeline.engines.black_scholes.bs_price`) on the underlying's simulated
close (spot VIX for VIX options), r = 2·ln(1 + DGS3MO/200) of the day, T = calendar days /
365, and an implied volatility on a smile around the underlying's own model volatility:
``σ_ATM × (1 + skew·(−ln K/S) + curvature·(ln K/S)²)`` bounded to [0.05, 3.0]. bid and ask
sit symmetrically around that model value (spread ≥ $0.01, 1–5 % of it), so the quoted
``implied_vol`` reprices the mid exactly.
"""

from __future__ import annotations

import datetime as dt
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from sigmasight_pipeline import calendar
from sigmasight_pipeline.engines.black_scholes import bs_price, continuous_rate_from_bey

from .base import (
    CORPORATE_ACTION_COLUMNS,
    OPTION_QUOTE_COLUMNS,
    PRICE_COLUMNS,
    SECURITY_COLUMNS,
    TREASURY_SERIES,
    YIELD_COLUMNS,
    empty_frame,
)
from .sectors import hashed_gics_sector

__all__ = ["SimulatedProvider", "TICKER_PATTERN", "OCC_PATTERN"]

SOURCE = "simulated"

#: a ticker the simulated market knows (unless declared unknown)
TICKER_PATTERN = re.compile(r"^[A-Z0-9.\-]{1,10}$")
#: OCC option symbol: root, YYMMDD expiration, C/P, strike × 1000 on 8 digits
OCC_PATTERN = re.compile(r"^([A-Z0-9.\-]{1,6})(\d{6})([CP])(\d{8})$")

#: close on this session equals the profile's ``level`` (the demo's entry prices)
ANCHOR_DATE = dt.date(2024, 1, 16)
SESSIONS_PER_YEAR = 252

# --- market factor and VIX -------------------------------------------------------------
MARKET_LOG_DRIFT = 0.06 / SESSIONS_PER_YEAR
MARKET_VOL = 0.0095  # daily, when VIX is at its median
# VIX = VIX_FLOOR + (VIX_MEDIAN − VIX_FLOOR)·exp(x), x an AR(1) around 0: a shifted
# lognormal that never goes below the floor and spikes to the 30s now and then.
VIX_MEDIAN = 16.0
VIX_FLOOR = 9.0
VIX_KAPPA = 0.035  # mean reversion per session (half-life ≈ 20 sessions)
VIX_SHOCK = 0.13  # daily std of x's shocks (stationary std ≈ 0.49)
VIX_MARKET_CORR = -0.75

#: daily volatility of the zero-mean factors (decimal returns)
STYLE_VOLS = {
    "value": 0.006,
    "size": 0.006,
    "momentum": 0.006,
    "quality": 0.003,
    "low_volatility": 0.0035,
    "gold": 0.009,
    "commodity": 0.010,
    "international": 0.006,
}
FACTORS = ("market", *STYLE_VOLS, "rates")

# --- treasury curve (percent) ------------------------------------------------------------
YIELD_MEANS = {"DGS3MO": 4.6, "DGS2": 4.3, "DGS10": 4.3, "DGS30": 4.5}
#: (level loading, slope loading) per series
YIELD_LOADINGS = {
    "DGS3MO": (0.5, -1.0),
    "DGS2": (1.0, -0.5),
    "DGS10": (1.0, 0.3),
    "DGS30": (0.85, 0.6),
}
LEVEL_KAPPA, LEVEL_SHOCK = 0.008, 0.045  # pp; stationary std ≈ 0.36 pp
SLOPE_KAPPA, SLOPE_SHOCK = 0.01, 0.02
OWN_KAPPA, OWN_SHOCK = 0.05, 0.008
LEVEL_MARKET_CORR = 0.25  # yields tend to rise on up days (risk-on)


@dataclass(frozen=True)
class _Profile:
    """How one symbol loads on the factors. Loadings are per unit of factor return;
    ``rates`` is the log return per +1 pp of DGS10; vols and drifts are per session."""

    level: float  # close on ANCHOR_DATE, $
    market: float = 1.0
    value: float = 0.0
    size: float = 0.0
    momentum: float = 0.0
    quality: float = 0.0
    low_volatility: float = 0.0
    gold: float = 0.0
    commodity: float = 0.0
    international: float = 0.0
    rates: float = 0.0
    idio_vol: float = 0.015
    carry: float = 0.0  # extra annual log drift (bond coupons, gold lease)
    div_yield: float = 0.0  # annual dividend yield
    div_freq: int = 4  # ex-dates per year: 1, 2, 4 or 12
    div_month: int = 3  # month of the first ex-date of the year
    div_day: int = 15  # ex-date = first session on or after this day of the month
    skew: float = 0.4  # option smile
    curvature: float = 1.0
    volume: float = 5e6  # typical shares per day
    nav_only: bool = False  # mutual fund: one NAV a day
    loadings: tuple[float, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "loadings", tuple(getattr(self, f) for f in FACTORS))

    def daily_vol(self, market_vol: float | np.ndarray = MARKET_VOL) -> float | np.ndarray:
        """Model standard deviation of the daily log return (decimal)."""
        var = (self.market * market_vol) ** 2 + self.idio_vol**2
        var += sum((getattr(self, f) * v) ** 2 for f, v in STYLE_VOLS.items())
        var += (self.rates * _DGS10_DAILY_CHANGE_STD) ** 2
        return np.sqrt(var)


_DGS10_DAILY_CHANGE_STD = float(np.sqrt(LEVEL_SHOCK**2 + (0.3 * SLOPE_SHOCK) ** 2 + OWN_SHOCK**2))

_P = _Profile
#: loadings and anchor levels of the demo symbols and the factor ETFs
PROFILES: dict[str, _Profile] = {
    # factor ETFs (SPEC §5.3 proxies)
    "SPY": _P(530.0, idio_vol=0.0003, div_yield=0.013, div_month=3, div_day=18, skew=1.0,
              volume=7e7),
    "VTV": _P(150.0, value=0.5, idio_vol=0.0015, div_yield=0.024, div_month=3, div_day=22,
              skew=0.9, volume=3e6),
    "VUG": _P(320.0, value=-0.5, idio_vol=0.0015, div_yield=0.005, div_month=3, div_day=22,
              skew=0.9, volume=1e6),
    "IWM": _P(195.0, market=1.1, size=1.0, idio_vol=0.002, div_yield=0.012, div_month=3,
              div_day=20, skew=0.9, volume=3e7),
    "MTUM": _P(170.0, momentum=1.0, idio_vol=0.002, div_yield=0.01, div_month=3, div_day=20,
               skew=0.8, volume=6e5),
    "QUAL": _P(150.0, quality=1.2, idio_vol=0.002, div_yield=0.012, div_month=3, div_day=20,
               skew=0.8, volume=1.5e6),
    "USMV": _P(80.0, market=0.75, low_volatility=1.0, idio_vol=0.0015, div_yield=0.016,
               div_month=3, div_day=20, skew=0.8, volume=2e6),
    "QQQ": _P(420.0, market=1.15, value=-0.4, momentum=0.2, idio_vol=0.003, div_yield=0.006,
              div_month=3, div_day=20, skew=1.0, volume=4e7),
    "VTI": _P(250.0, market=1.02, size=0.2, idio_vol=0.002, div_yield=0.014, div_month=3,
              div_day=24, skew=1.0, volume=3.5e6),
    # fixed income, real assets, funds
    "BND": _P(77.0, market=0.02, rates=-0.06, idio_vol=0.001, carry=0.035, div_yield=0.035,
              div_freq=12, div_day=1, skew=0.3, volume=6e6),
    "TLT": _P(98.0, market=-0.05, rates=-0.165, idio_vol=0.002, carry=0.04, div_yield=0.04,
              div_freq=12, div_day=1, skew=0.3, volume=3e7),
    "FXNAX": _P(20.0, market=0.02, rates=-0.063, idio_vol=0.001, carry=0.035, div_yield=0.033,
                div_freq=12, div_day=28, nav_only=True),
    "GLD": _P(219.23, market=0.05, gold=1.0, rates=-0.03, idio_vol=0.001, carry=0.04,
              skew=-0.1, volume=8e6),
    "DJP": _P(30.0, market=0.3, commodity=1.0, gold=0.2, idio_vol=0.002, skew=0.2,
              volume=2e5),
    "VNQ": _P(95.0, market=0.9, value=0.2, rates=-0.04, idio_vol=0.009, div_yield=0.04,
              div_month=3, div_day=25, volume=4e6),
    "VTIAX": _P(30.0, market=0.75, international=1.0, idio_vol=0.0015, div_yield=0.03,
                div_month=3, div_day=20, nav_only=True),
    "FCNTX": _P(15.0, market=1.05, value=-0.3, momentum=0.2, idio_vol=0.003, div_yield=0.002,
                div_freq=1, div_month=12, div_day=27, nav_only=True),
    "FMAGX": _P(15.0, market=1.05, value=-0.2, momentum=0.15, idio_vol=0.0035,
                div_yield=0.003, div_freq=1, div_month=12, div_day=27, nav_only=True),
    # stocks
    "AAPL": _P(225.0, market=1.15, value=-0.5, size=-0.1, momentum=0.3, quality=0.3,
               idio_vol=0.012, div_yield=0.005, div_month=2, div_day=9, volume=6e7),
    "MSFT": _P(420.0, market=1.1, value=-0.5, size=-0.2, momentum=0.3, quality=0.4,
               idio_vol=0.011, div_yield=0.008, div_month=2, div_day=14, volume=2.2e7),
    "AMZN": _P(170.0, market=1.25, value=-0.6, momentum=0.3, idio_vol=0.015, volume=4.5e7),
    "GOOGL": _P(160.0, market=1.15, value=-0.4, momentum=0.2, quality=0.2, idio_vol=0.014,
                div_yield=0.004, div_month=3, div_day=10, volume=3e7),
    "TSLA": _P(255.0, market=1.6, value=-1.0, size=0.3, momentum=0.6, quality=-0.5,
               idio_vol=0.019, volume=1e8),
    "NVDA": _P(700.0, market=1.6, value=-0.8, momentum=0.8, quality=0.2, idio_vol=0.019,
               div_yield=0.0003, div_month=3, div_day=5, volume=4.5e7),
    "META": _P(530.0, market=1.3, value=-0.5, momentum=0.4, quality=0.2, idio_vol=0.018,
               div_yield=0.004, div_month=2, div_day=21, volume=1.5e7),
    "AMD": _P(162.0, market=1.6, value=-0.7, size=0.2, momentum=0.5, idio_vol=0.019,
              volume=5e7),
    "NFLX": _P(490.0, market=1.3, value=-0.6, size=0.1, momentum=0.3, idio_vol=0.021,
               volume=5e6),
    "SHOP": _P(195.0, market=1.6, value=-0.9, size=0.4, momentum=0.3, quality=-0.3,
               idio_vol=0.019, volume=8e6),
    "ZOOM": _P(70.0, market=1.1, value=-0.5, size=0.3, quality=0.1, idio_vol=0.02,
               volume=3e6),
    "PTON": _P(40.0, market=1.5, value=-0.5, size=0.6, quality=-0.5, idio_vol=0.019,
               volume=1e7),
    "ROKU": _P(60.0, market=1.5, value=-0.6, size=0.5, quality=-0.4, idio_vol=0.019,
               volume=4e6),
    "JNJ": _P(160.0, market=0.55, value=0.5, size=-0.2, momentum=-0.1, quality=0.4,
              low_volatility=0.6, idio_vol=0.011, div_yield=0.03, div_month=2, div_day=20,
              skew=0.3, volume=7e6),
    "JPM": _P(170.0, market=1.1, value=0.7, size=0.1, rates=0.01, idio_vol=0.012,
              div_yield=0.024, div_month=1, div_day=5, volume=9e6),
    "V": _P(268.0, market=0.95, value=-0.1, size=-0.2, momentum=0.1, quality=0.4,
            low_volatility=0.2, idio_vol=0.011, div_yield=0.0075, div_month=2, div_day=8,
            volume=6e6),
    "BRK-B": _P(440.0, market=0.85, value=0.5, size=-0.1, quality=0.3, low_volatility=0.3,
                idio_vol=0.01, skew=0.3, volume=4e6),
    "UNH": _P(545.0, market=0.7, value=0.2, size=-0.1, quality=0.3, low_volatility=0.3,
              idio_vol=0.014, div_yield=0.015, div_month=3, div_day=15, skew=0.3, volume=3e6),
    "HD": _P(350.0, market=1.0, value=0.2, quality=0.3, idio_vol=0.011, div_yield=0.024,
             div_month=3, div_day=12, volume=4e6),
    "PG": _P(165.0, market=0.5, value=0.3, size=-0.2, quality=0.3, low_volatility=0.6,
             idio_vol=0.011, div_yield=0.024, div_month=1, div_day=19, skew=0.3, volume=7e6),
    "XOM": _P(110.0, market=0.7, value=0.8, commodity=0.6, idio_vol=0.013, div_yield=0.033,
              div_month=2, div_day=13, volume=1.6e7),
    "F": _P(12.0, market=1.2, value=0.7, size=0.3, quality=-0.2, idio_vol=0.016,
            div_yield=0.05, div_month=2, div_day=2, volume=5e7),
    "GE": _P(140.0, market=1.1, value=0.4, momentum=0.3, idio_vol=0.015, div_yield=0.008,
             div_month=3, div_day=7, volume=6e6),
    "C": _P(55.0, market=1.3, value=0.9, size=0.2, quality=-0.2, rates=0.01, idio_vol=0.014,
            div_yield=0.035, div_month=2, div_day=2, volume=1.5e7),
}
del _P

#: real split history of the demo symbols (ex-date, new shares per old share), SPEC §8:
#: ``close`` (and open, high, low, dividends) are on the shares of the day, so they drop by
#: the ratio on the ex-date, while ``adj_close`` stays continuous. Prices are calibrated on
#: ANCHOR_DATE's share basis: dates before a split before the anchor are scaled up by it.
SPLITS: dict[str, tuple[tuple[dt.date, float], ...]] = {
    "AAPL": ((dt.date(2020, 8, 31), 4.0),),
    "AMZN": ((dt.date(2022, 6, 6), 20.0),),
    "GOOGL": ((dt.date(2022, 7, 18), 20.0),),
    "NFLX": ((dt.date(2025, 11, 17), 10.0),),
    "NVDA": ((dt.date(2021, 7, 20), 4.0), (dt.date(2024, 6, 10), 10.0)),
    "SHOP": ((dt.date(2022, 6, 29), 10.0),),
    "TSLA": ((dt.date(2020, 8, 31), 5.0), (dt.date(2022, 8, 25), 3.0)),
}

#: the VIX index: no factor loadings, its own process (level on ANCHOR_DATE is simulated)
VIX = "VIX"
VIX_SKEW, VIX_CURVATURE = -0.8, 0.5  # call skew: upside strikes carry more vol
OPTION_VOL_PREMIUM = 1.05  # implied over model volatility

#: name, asset_class, sector (GICS; None for funds, ETFs and indices without one), industry
REFERENCE: dict[str, tuple[str, str, str | None, str | None]] = {
    "AAPL": ("Apple Inc.", "equity", "Information Technology", "Consumer Electronics"),
    "MSFT": ("Microsoft Corporation", "equity", "Information Technology",
             "Software - Infrastructure"),
    "AMZN": ("Amazon.com, Inc.", "equity", "Consumer Discretionary", "Internet Retail"),
    "GOOGL": ("Alphabet Inc. Class A", "equity", "Communication Services",
              "Internet Content & Information"),
    "TSLA": ("Tesla, Inc.", "equity", "Consumer Discretionary", "Auto Manufacturers"),
    "NVDA": ("NVIDIA Corporation", "equity", "Information Technology", "Semiconductors"),
    "META": ("Meta Platforms, Inc. Class A", "equity", "Communication Services",
             "Internet Content & Information"),
    "AMD": ("Advanced Micro Devices, Inc.", "equity", "Information Technology",
            "Semiconductors"),
    "NFLX": ("Netflix, Inc.", "equity", "Communication Services", "Entertainment"),
    "SHOP": ("Shopify Inc. Class A", "equity", "Information Technology",
             "Software - Application"),
    "ZOOM": ("Zoom Video Communications, Inc.", "equity", "Information Technology",
             "Software - Application"),
    "PTON": ("Peloton Interactive, Inc.", "equity", "Consumer Discretionary", "Leisure"),
    "ROKU": ("Roku, Inc.", "equity", "Communication Services", "Entertainment"),
    "JNJ": ("Johnson & Johnson", "equity", "Health Care", "Drug Manufacturers - General"),
    "JPM": ("JPMorgan Chase & Co.", "equity", "Financials", "Banks - Diversified"),
    "V": ("Visa Inc. Class A", "equity", "Financials", "Credit Services"),
    "BRK-B": ("Berkshire Hathaway Inc. Class B", "equity", "Financials",
              "Insurance - Diversified"),
    "UNH": ("UnitedHealth Group Incorporated", "equity", "Health Care", "Healthcare Plans"),
    "HD": ("The Home Depot, Inc.", "equity", "Consumer Discretionary", "Home Improvement Retail"),
    "PG": ("The Procter & Gamble Company", "equity", "Consumer Staples",
           "Household & Personal Products"),
    "XOM": ("Exxon Mobil Corporation", "equity", "Energy", "Oil & Gas Integrated"),
    "F": ("Ford Motor Company", "equity", "Consumer Discretionary", "Auto Manufacturers"),
    "GE": ("GE Aerospace", "equity", "Industrials", "Aerospace & Defense"),
    "C": ("Citigroup Inc.", "equity", "Financials", "Banks - Diversified"),
    "SPY": ("SPDR S&P 500 ETF Trust", "etf", None, "Large Blend"),
    "VTV": ("Vanguard Value ETF", "etf", None, "Large Value"),
    "VUG": ("Vanguard Growth ETF", "etf", None, "Large Growth"),
    "MTUM": ("iShares MSCI USA Momentum Factor ETF", "etf", None, "Large Growth"),
    "QUAL": ("iShares MSCI USA Quality Factor ETF", "etf", None, "Large Blend"),
    "IWM": ("iShares Russell 2000 ETF", "etf", None, "Small Blend"),
    "USMV": ("iShares MSCI USA Min Vol Factor ETF", "etf", None, "Large Blend"),
    "QQQ": ("Invesco QQQ Trust, Series 1", "etf", None, "Large Growth"),
    "VTI": ("Vanguard Total Stock Market ETF", "etf", None, "Large Blend"),
    "BND": ("Vanguard Total Bond Market ETF", "etf", None, "Intermediate Core Bond"),
    "TLT": ("iShares 20+ Year Treasury Bond ETF", "etf", None, "Long Government"),
    "GLD": ("SPDR Gold Shares", "etf", None, "Commodities Focused"),
    "DJP": ("iPath Bloomberg Commodity Index Total Return ETN", "etf", None,
            "Commodities Broad Basket"),
    "VNQ": ("Vanguard Real Estate ETF", "etf", "Real Estate", "REIT - Diversified"),
    "FXNAX": ("Fidelity U.S. Bond Index Fund", "mutual_fund", None, "Intermediate Core Bond"),
    "FCNTX": ("Fidelity Contrafund", "mutual_fund", None, "Large Growth"),
    "FMAGX": ("Fidelity Magellan Fund", "mutual_fund", None, "Large Growth"),
    "VTIAX": ("Vanguard Total International Stock Index Fund Admiral Shares", "mutual_fund",
              None, "Foreign Large Blend"),
    "VIX": ("CBOE Volatility Index", "index", None, None),
}


def _invented_sector(symbol: str) -> str:
    """The sector of a ticker the simulated market invents: stable per symbol (hashed)."""
    return hashed_gics_sector(symbol)


def _crc(text: str) -> int:
    """A stable 32-bit hash (Python's ``hash`` is salted per process)."""
    return zlib.crc32(text.encode("utf-8"))


def _rng(*keys: int | str) -> np.random.Generator:
    return np.random.default_rng([k if isinstance(k, int) else _crc(k) for k in keys])


def _ar1(shocks: np.ndarray, kappa: float) -> np.ndarray:
    """x_t = (1 − κ)·x_(t−1) + shock_t from x_(−1) = 0, along the last axis."""
    return lfilter([1.0], [1.0, -(1.0 - kappa)], shocks, axis=-1)


def _hashed_profile(symbol: str) -> _Profile:
    """Loadings for a ticker outside the table: a plausible stock, fixed by its name."""
    g = _rng("profile", symbol)
    level = float(np.exp(g.uniform(np.log(20.0), np.log(500.0))))
    pays = g.uniform() < 0.6
    return _Profile(
        level=round(level, 2),
        market=float(g.uniform(0.6, 1.5)),
        value=float(g.normal(0.0, 0.4)),
        size=float(g.uniform(-0.2, 0.6)),
        momentum=float(g.normal(0.0, 0.3)),
        quality=float(g.normal(0.0, 0.2)),
        idio_vol=float(g.uniform(0.010, 0.022)),
        div_yield=float(g.uniform(0.005, 0.03)) if pays else 0.0,
        div_month=int(g.integers(1, 4)),
        div_day=int(g.integers(1, 28)),
        volume=float(np.exp(g.uniform(np.log(2e5), np.log(3e7)))),
    )


@dataclass(frozen=True)
class _Path:
    """One symbol over every session of the calendar (arrays of length n_sessions)."""

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    adj_close: np.ndarray
    volume: np.ndarray
    ex_index: np.ndarray  # session indices of ex-dividend dates
    dividend: np.ndarray  # $ per share on those dates


@dataclass(frozen=True)
class _CommonPaths:
    factors: np.ndarray  # (n_factors, n_sessions), daily log returns; rates in pp
    vix: np.ndarray  # (n_sessions,) index level
    market_vol: np.ndarray  # (n_sessions,) daily market vol for the *next* session
    yields: dict[str, np.ndarray]  # series -> (n_sessions,) percent, 2 decimals


class SimulatedProvider:
    """Seeded multi-factor market data (see the module docstring for the model).

    ``seed`` selects the market (same seed → identical numbers, in any process);
    ``unknown_symbols`` are tickers this market pretends not to know: they are absent from
    every result, like a delisted or mistyped symbol at a real vendor.

    Besides the :class:`~sigmasight_pipeline.providers.base.MarketDataProvider` methods it
    offers :meth:`dividends` (the ex-dates and amounts behind ``close`` / ``adj_close``).
    """

    source = SOURCE

    def __init__(self, seed: int = 7, unknown_symbols: Iterable[str] = ()) -> None:
        self.seed = int(seed) % 2**63
        self.unknown_symbols = frozenset(unknown_symbols)
        self._paths: dict[str, _Path] = {}

    def __repr__(self) -> str:
        return f"SimulatedProvider(seed={self.seed})"

    # --- calendar ----------------------------------------------------------------------

    @cached_property
    def _sessions(self) -> pd.DatetimeIndex:
        return calendar.all_sessions()

    @cached_property
    def _session_dates(self) -> np.ndarray:
        return np.array([d.date() for d in self._sessions], dtype=object)

    @cached_property
    def _anchor_index(self) -> int:
        return int(self._sessions.searchsorted(pd.Timestamp(ANCHOR_DATE)))

    def _window(self, start: dt.date, end: dt.date) -> slice:
        s = self._sessions
        return slice(
            int(s.searchsorted(pd.Timestamp(start), side="left")),
            int(s.searchsorted(pd.Timestamp(end), side="right")),
        )

    def _session_index(self, day: dt.date) -> int | None:
        i = int(self._sessions.searchsorted(pd.Timestamp(day)))
        if i < len(self._sessions) and self._sessions[i] == pd.Timestamp(day):
            return i
        return None

    # --- common factors ------------------------------------------------------------------

    @cached_property
    def _common(self) -> _CommonPaths:
        n = len(self._sessions)
        z_market = _rng(self.seed, "factor:market").standard_normal(n)
        z_vix = _rng(self.seed, "factor:vix").standard_normal(n)
        rho = VIX_MARKET_CORR
        x = _ar1(VIX_SHOCK * (rho * z_market + np.sqrt(1 - rho**2) * z_vix), VIX_KAPPA)
        vix = VIX_FLOOR + (VIX_MEDIAN - VIX_FLOOR) * np.exp(x)
        market_vol = MARKET_VOL * vix / VIX_MEDIAN  # for the next session
        prev_vol = np.concatenate([[MARKET_VOL], market_vol[:-1]])
        market = MARKET_LOG_DRIFT + prev_vol * z_market

        styles = [
            vol * _rng(self.seed, f"factor:{name}").standard_normal(n)
            for name, vol in STYLE_VOLS.items()
        ]

        z_level = _rng(self.seed, "factor:rate-level").standard_normal(n)
        c = LEVEL_MARKET_CORR
        level = _ar1(LEVEL_SHOCK * (c * z_market + np.sqrt(1 - c**2) * z_level), LEVEL_KAPPA)
        slope = _ar1(SLOPE_SHOCK * _rng(self.seed, "factor:rate-slope").standard_normal(n),
                     SLOPE_KAPPA)
        yields_raw = {}
        for sid, (a, b) in YIELD_LOADINGS.items():
            own = _ar1(OWN_SHOCK * _rng(self.seed, f"yield:{sid}").standard_normal(n), OWN_KAPPA)
            yields_raw[sid] = np.maximum(YIELD_MEANS[sid] + a * level + b * slope + own, 0.01)
        rates = np.diff(yields_raw["DGS10"], prepend=yields_raw["DGS10"][0])

        factors = np.vstack([market, *styles, rates])
        return _CommonPaths(
            factors=factors,
            vix=np.round(vix, 2),
            market_vol=market_vol,
            yields={sid: np.round(y, 2) for sid, y in yields_raw.items()},
        )

    # --- symbols -------------------------------------------------------------------------

    def _is_known(self, symbol: str) -> bool:
        return (
            isinstance(symbol, str)
            and TICKER_PATTERN.fullmatch(symbol) is not None
            and symbol not in self.unknown_symbols
        )

    def _profile(self, symbol: str) -> _Profile:
        return PROFILES.get(symbol) or _hashed_profile(symbol)

    def _ex_dates(self, profile: _Profile) -> np.ndarray:
        """Session indices (> 0) of the ex-dividend dates of every year of the calendar."""
        if profile.div_yield <= 0:
            return np.zeros(0, dtype=np.int64)
        step = 12 // profile.div_freq
        months = [(profile.div_month - 1 + step * j) % 12 + 1 for j in range(profile.div_freq)]
        years = range(calendar.CALENDAR_START.year, calendar.CALENDAR_END.year + 1)
        targets = sorted(
            pd.Timestamp(y, m, min(profile.div_day, 28)) for y in years for m in months
        )
        idx = self._sessions.searchsorted(pd.DatetimeIndex(targets), side="left")
        idx = np.unique(idx)
        return idx[(idx > 0) & (idx < len(self._sessions))].astype(np.int64)

    def _path(self, symbol: str) -> _Path:
        path = self._paths.get(symbol)
        if path is None:
            self._generate([symbol])
            path = self._paths[symbol]
        return path

    def _generate(self, symbols: Sequence[str]) -> None:
        """Simulate every missing symbol over the whole calendar (vectorized per batch)."""
        todo = [s for s in dict.fromkeys(symbols) if s not in self._paths]
        if not todo:
            return
        if VIX in todo:
            todo.remove(VIX)
            self._paths[VIX] = self._vix_path()
        if not todo:
            return
        common = self._common
        n = len(self._sessions)
        profiles = [self._profile(s) for s in todo]
        loadings = np.array([p.loadings for p in profiles])  # (n_symbols, n_factors)
        idio = np.array([p.idio_vol for p in profiles])[:, None]
        carry = np.array([p.carry for p in profiles])[:, None] / SESSIONS_PER_YEAR
        # five independent streams per symbol: idiosyncratic return, intraday share of the
        # move, high wick, low wick, volume
        z = np.stack([_rng(self.seed, "symbol", s).standard_normal((5, n)) for s in todo])

        log_tr = loadings @ common.factors + idio * z[:, 0] + carry  # (n_symbols, n)
        log_tr[:, 0] = 0.0
        growth = np.exp(np.cumsum(log_tr, axis=1))  # total return index, 1 on the base date

        a = self._anchor_index
        for k, (symbol, profile) in enumerate(zip(todo, profiles, strict=True)):
            ex_index = self._ex_dates(profile)
            q = profile.div_yield / profile.div_freq
            n_before = int(np.searchsorted(ex_index, a, side="right"))
            p0 = profile.level / (growth[k, a] * (1.0 - q) ** n_before)
            path = self._price_path(profile, p0 * growth[k], ex_index, q, z[k, 1:],
                                    common.market_vol)
            for _ in range(3):
                if not ex_index.size or abs(path.close[a] / profile.level - 1.0) < 5e-4:
                    break
                # dividends in whole cents shift the level a little: calibrate again
                p0 *= profile.level / path.close[a]
                path = self._price_path(profile, p0 * growth[k], ex_index, q, z[k, 1:],
                                        common.market_vol)
            self._paths[symbol] = self._split_path(symbol, path)

    def _share_basis(self, symbol: str) -> np.ndarray:
        """(n_sessions,) shares today per share of ANCHOR_DATE: Π ratio of the splits with
        ex-date ≤ session over Π ratio of those ≤ ANCHOR_DATE (1.0 for a symbol without)."""
        shares = np.ones(len(self._sessions))
        for ex_date, ratio in SPLITS.get(symbol, ()):
            shares[self._sessions.searchsorted(pd.Timestamp(ex_date)):] *= ratio
        return shares / shares[self._anchor_index]

    def _split_path(self, symbol: str, path: _Path) -> _Path:
        """``path`` with its raw prices, volumes and dividends on the shares of each day."""
        if symbol not in SPLITS:
            return path
        shares = self._share_basis(symbol)

        def per_share(x: np.ndarray) -> np.ndarray:
            return np.maximum(np.round(x / shares, 2), 0.01)

        return _Path(open=per_share(path.open), high=per_share(path.high),
                     low=per_share(path.low), close=per_share(path.close),
                     adj_close=path.adj_close,  # continuous: splits are no return
                     volume=np.maximum(np.rint(path.volume * shares), 1).astype(np.int64),
                     ex_index=path.ex_index,
                     dividend=np.round(path.dividend / shares[path.ex_index], 4))

    def corporate_actions(self, symbols: Sequence[str], start: dt.date, end: dt.date
                          ) -> pd.DataFrame:
        """The real splits (SPLITS) and the simulated dividends of ``symbols`` with ex_date in
        [start, end] (CORPORATE_ACTION_COLUMNS, sorted by symbol, ex_date)."""
        start, end = pd.Timestamp(start).date(), pd.Timestamp(end).date()
        known = sorted({s for s in symbols if self._is_known(s)})
        splits = [(s, d, "split", r, np.nan) for s in known for d, r in SPLITS.get(s, ())
                  if start <= d <= end]
        divs = self.dividends(known, start, end)
        rows = splits + [(r.symbol, r.date, "dividend", np.nan, r.amount)
                         for r in divs.itertuples(index=False)]
        frame = pd.DataFrame(rows, columns=CORPORATE_ACTION_COLUMNS[:-1])
        frame[["ratio", "cash_amount"]] = frame[["ratio", "cash_amount"]].astype(np.float64)
        frame["source"] = SOURCE
        return frame.sort_values(["symbol", "ex_date", "action"], ignore_index=True)

    def _price_path(
        self,
        profile: _Profile,
        total_return: np.ndarray,
        ex_index: np.ndarray,
        q: float,
        z: np.ndarray,
        market_vol: np.ndarray,
    ) -> _Path:
        """Close, adj_close and OHLCV from the total-return level and the ex-dates.

        ``close = factor × total_return`` where ``factor`` (1 on the base date) falls at
        each ex-date so that ``close`` drops by the dividend there; ``adj_close = close /
        factor`` then compounds ``(close + dividend) / previous close`` forward.
        """
        factor_after = np.empty(len(ex_index) + 1)
        factor_after[0] = f = 1.0
        dividends = np.empty(len(ex_index))
        ex_close = np.empty(len(ex_index))
        year = np.array([d.year for d in self._session_dates[ex_index]], dtype=np.int64)
        d_year = 0.0
        for j, i in enumerate(ex_index.tolist()):
            cum_dividend = f * float(total_return[i])
            if j == 0 or year[j] != year[j - 1]:
                # the board sets the dividend once a year, a share of the price then...
                d_year = max(round(q * cum_dividend, 2), 0.01)
            # ...and cuts it if the price has collapsed since
            d = min(d_year, max(round(3.0 * q * cum_dividend, 2), 0.01))
            c = max(round(cum_dividend - d, 2), 0.01)
            f *= c / (c + d)
            factor_after[j + 1] = f
            dividends[j] = d
            ex_close[j] = c
        n = len(total_return)
        factor = factor_after[np.searchsorted(ex_index, np.arange(n), side="right")]
        close_raw = factor * total_return
        close = np.maximum(np.round(close_raw, 2), 0.01)
        close[ex_index] = ex_close
        adj_close = close / factor

        sigma = profile.daily_vol(market_vol)
        price_move = np.diff(np.log(close_raw), prepend=np.log(close_raw[0]))
        intraday = 0.6 * price_move + 0.3 * sigma * z[0]
        if profile.nav_only:
            open_ = high = low = close.copy()
        else:
            open_raw = close_raw * np.exp(-intraday)
            top = np.maximum(open_raw, close_raw) * np.exp(0.6 * sigma * np.abs(z[1]))
            bottom = np.minimum(open_raw, close_raw) * np.exp(-0.6 * sigma * np.abs(z[2]))
            open_ = np.maximum(np.round(open_raw, 2), 0.01)
            high = np.maximum.reduce([np.round(top, 2), open_, close])
            low = np.maximum(np.minimum.reduce([np.round(bottom, 2), open_, close]), 0.01)
        surprise = np.abs(price_move) / sigma - 0.8
        volume = profile.volume * np.exp(0.35 * z[3] + 0.5 * surprise)
        return _Path(
            open=open_,
            high=high,
            low=low,
            close=close,
            adj_close=adj_close,
            volume=np.maximum(np.rint(volume), 1).astype(np.int64),
            ex_index=ex_index,
            dividend=dividends,
        )

    def _vix_path(self) -> _Path:
        common = self._common
        n = len(self._sessions)
        z = _rng(self.seed, "symbol", VIX).standard_normal((4, n))
        close = common.vix
        sigma = self._vix_log_vol(close)  # daily
        move = np.diff(np.log(close), prepend=np.log(close[0]))
        open_raw = close * np.exp(-(0.6 * move + 0.3 * sigma * z[0]))
        open_ = np.round(open_raw, 2)
        high = np.maximum.reduce([
            np.round(np.maximum(open_raw, close) * np.exp(0.5 * sigma * np.abs(z[1])), 2),
            open_, close,
        ])
        low = np.minimum.reduce([
            np.round(np.minimum(open_raw, close) * np.exp(-0.5 * sigma * np.abs(z[2])), 2),
            open_, close,
        ])
        volume = np.maximum(np.rint(1e5 * np.exp(0.3 * z[3])), 1).astype(np.int64)
        return _Path(open=open_, high=high, low=low, close=close.copy(), adj_close=close.copy(),
                     volume=volume, ex_index=np.zeros(0, dtype=np.int64),
                     dividend=np.zeros(0))

    @staticmethod
    def _vix_log_vol(vix):
        """Daily std of log VIX at level ``vix`` (higher when VIX is high, like the VVIX)."""
        return np.maximum(VIX_SHOCK * (vix - VIX_FLOOR) / vix, 0.02)

    def _atm_vol(self, symbol: str, i: int) -> float:
        """Annualized at-the-money implied vol of ``symbol`` on session ``i``: its model
        volatility under the current market regime (VIX), plus a small premium."""
        if symbol == VIX:
            vix = float(self._common.vix[i])
            return float(self._vix_log_vol(vix) * np.sqrt(SESSIONS_PER_YEAR) * OPTION_VOL_PREMIUM)
        daily = self._profile(symbol).daily_vol(float(self._common.market_vol[i]))
        return float(daily * np.sqrt(SESSIONS_PER_YEAR) * OPTION_VOL_PREMIUM)

    def _smile(self, symbol: str) -> tuple[float, float]:
        if symbol == VIX:
            return VIX_SKEW, VIX_CURVATURE
        p = self._profile(symbol)
        return p.skew, p.curvature

    # --- provider interface ----------------------------------------------------------------

    def prices(self, symbols: Sequence[str], start: dt.date, end: dt.date) -> pd.DataFrame:
        """Daily bars on NYSE sessions in [start, end] for the known symbols (PRICE_COLUMNS).

        Rows are sorted by date, then symbol. ``adj_close`` is forward-compounded from the
        base date (see the module docstring), so it is stable for any past date.
        """
        known = sorted({s for s in symbols if self._is_known(s)})
        window = self._window(start, end)
        if not known or window.start >= window.stop:
            return empty_frame(PRICE_COLUMNS)
        self._generate(known)
        paths = [self._paths[s] for s in known]
        n_days = window.stop - window.start

        def stacked(attr: str) -> np.ndarray:  # (n_days, n_symbols) flattened date-major
            return np.stack([getattr(p, attr)[window] for p in paths], axis=1).ravel()

        return pd.DataFrame({
            "date": np.repeat(self._session_dates[window], len(known)),
            "symbol": np.tile(np.array(known, dtype=object), n_days),
            "open": stacked("open"),
            "high": stacked("high"),
            "low": stacked("low"),
            "close": stacked("close"),
            "adj_close": stacked("adj_close"),
            "volume": stacked("volume").astype(np.int64),
            "source": SOURCE,
        })[PRICE_COLUMNS]

    def dividends(self, symbols: Sequence[str], start: dt.date, end: dt.date) -> pd.DataFrame:
        """Ex-dividend dates in [start, end] and the cash amount ($ per share) of each.

        Columns: date (ex-date, datetime.date), symbol, amount, source. On an ex-date
        ``close`` has dropped by ``amount`` and ``adj_close`` has not.
        """
        window = self._window(start, end)
        rows = []
        for s in sorted({s for s in symbols if self._is_known(s)}):
            p = self._path(s)
            keep = (p.ex_index >= window.start) & (p.ex_index < window.stop)
            rows.extend(
                (self._session_dates[i], s, float(d))
                for i, d in zip(p.ex_index[keep], p.dividend[keep], strict=True)
            )
        frame = pd.DataFrame(rows, columns=["date", "symbol", "amount"])
        frame["amount"] = frame["amount"].astype(np.float64)
        frame["source"] = SOURCE
        return frame.sort_values(["date", "symbol"], ignore_index=True)

    def treasury_yields(
        self, series_ids: Sequence[str], start: dt.date, end: dt.date
    ) -> pd.DataFrame:
        """DGS3MO, DGS2, DGS10, DGS30 in percent (2 decimals), one row per session and
        series; other series ids are absent."""
        wanted = [s for s in TREASURY_SERIES if s in set(series_ids)]
        window = self._window(start, end)
        if not wanted or window.start >= window.stop:
            return empty_frame(YIELD_COLUMNS)
        yields = self._common.yields
        n_days = window.stop - window.start
        return pd.DataFrame({
            "date": np.repeat(self._session_dates[window], len(wanted)),
            "series_id": np.tile(np.array(wanted, dtype=object), n_days),
            "value": np.stack([yields[s][window] for s in wanted], axis=1).ravel(),
            "source": SOURCE,
        })[YIELD_COLUMNS]

    def option_quotes(self, contracts: pd.DataFrame, day: dt.date) -> pd.DataFrame:
        """End-of-day quotes on ``day`` for the contracts still alive (expiration ≥ day)
        whose underlying is known; empty on a day that is not an NYSE session.

        mid = Black-Scholes value at the smile vol; bid/ask = mid ∓ half a spread of
        max($0.01, 1–5 % of mid) (5 % for pennies, 1 % from $10 up), but never more than
        half the mid so that bid > 0 even for a far out-of-the-money contract; last within
        [bid, ask]; implied_vol = the smile vol, which reprices (bid + ask)/2 exactly.
        """
        day = pd.Timestamp(day).date()
        i = self._session_index(day)
        if i is None or contracts is None or len(contracts) == 0:
            return empty_frame(OPTION_QUOTE_COLUMNS)
        c = pd.DataFrame({
            "symbol": contracts["symbol"].astype(str).str.strip().to_numpy(),
            "underlying": contracts["underlying"].astype(str).str.strip().to_numpy(),
            "strike": pd.to_numeric(contracts["strike"], errors="coerce").to_numpy(float),
            "expiration": [pd.Timestamp(x).date() if pd.notna(x) else None
                           for x in contracts["expiration"]],
            "is_call": contracts["option_type"].astype(str).str.strip().str.upper()
            .str[0].eq("C").to_numpy(),
        }).drop_duplicates("symbol")
        alive = np.array([e is not None and e >= day for e in c["expiration"]], dtype=bool)
        ok = (
            alive
            & np.isfinite(c["strike"].to_numpy())
            & (c["strike"].to_numpy() > 0)
            & np.array([self._is_known(u) for u in c["underlying"]], dtype=bool)
            & ~c["symbol"].isin(self.unknown_symbols).to_numpy()
        )
        c = c[ok].reset_index(drop=True)
        if c.empty:
            return empty_frame(OPTION_QUOTE_COLUMNS)
        underlyings = c["underlying"].tolist()
        self._generate(underlyings)

        spot = np.array([self._paths[u].close[i] for u in underlyings])
        strike = c["strike"].to_numpy(float)
        years = np.array([(e - day).days / 365.0 for e in c["expiration"]])
        rate = float(continuous_rate_from_bey(self._common.yields["DGS3MO"][i]))
        atm = np.array([self._atm_vol(u, i) for u in underlyings])
        skew, curvature = np.array([self._smile(u) for u in underlyings]).T
        moneyness = np.log(strike / spot)
        vol = np.clip(atm * (1.0 - skew * moneyness + curvature * moneyness**2), 0.05, 3.0)
        is_call = c["is_call"].to_numpy(bool)
        mid = bs_price(spot, strike, years, rate, vol, is_call)

        # per contract and day: spread jitter, last trade, open interest
        u = np.stack([_rng(self.seed, "quote", s, day.toordinal()).standard_normal(3)
                      for s in c["symbol"]])
        # about 5 % of a few cents' premium, 1 % of a premium of $10 or more
        spread_pct = (0.01 + 0.04 * np.exp(-mid / 2.0)) * np.exp(0.15 * u[:, 0])
        half = np.minimum(np.maximum(0.01, spread_pct * mid) / 2.0, 0.5 * mid)
        bid, ask = mid - half, mid + half
        last = np.clip(mid + 0.5 * half * u[:, 1], bid, ask)
        base_oi = np.where(np.isin(underlyings, ["SPY", "QQQ", "IWM", VIX]), 20000.0, 3000.0)
        open_interest = np.rint(base_oi * np.exp(-4.0 * np.abs(moneyness) + 0.7 * u[:, 2]))
        return pd.DataFrame({
            "date": [day] * len(c),
            "symbol": c["symbol"].to_numpy(object),
            "underlying": c["underlying"].to_numpy(object),
            "bid": bid.astype(np.float64),
            "ask": ask.astype(np.float64),
            "last": last.astype(np.float64),
            "implied_vol": vol.astype(np.float64),
            "open_interest": open_interest.astype(np.int64),
            "source": SOURCE,
        })[OPTION_QUOTE_COLUMNS]

    def securities(self, symbols: Sequence[str]) -> pd.DataFrame:
        """Reference data: the built-in table for the demo symbols and factor ETFs (real
        GICS sectors); OCC option symbols as ``option``; any other known ticker as a generic
        equity named after itself with a hashed GICS sector (:func:`_invented_sector`)."""
        rows = []
        for s in dict.fromkeys(symbols):
            if not isinstance(s, str) or s in self.unknown_symbols:
                continue
            occ = OCC_PATTERN.fullmatch(s)
            if occ is not None:
                if occ.group(1) in self.unknown_symbols:
                    continue
                root, ymd, kind, strike = occ.groups()
                expiry = dt.datetime.strptime(ymd, "%y%m%d").date()
                name = (f"{root} {expiry.isoformat()} {int(strike) / 1000:.2f} "
                        f"{'Call' if kind == 'C' else 'Put'}")
                rows.append((s, name, "option", None, None))
            elif s in REFERENCE:
                rows.append((s, *REFERENCE[s]))
            elif self._is_known(s):
                rows.append((s, s, "equity", _invented_sector(s), None))
        if not rows:
            return empty_frame(SECURITY_COLUMNS)
        frame = pd.DataFrame(rows, columns=SECURITY_COLUMNS[:-1], dtype=object)
        frame["source"] = SOURCE
        return frame[SECURITY_COLUMNS]

