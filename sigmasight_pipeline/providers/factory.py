"""Choosing the providers from the settings.

``simulated`` (the default with no keys) and ``files`` answer every question themselves.
``polygon`` takes prices, option quotes and reference data from Polygon and treasury
yields from FRED. A FRED key, when set, also supplies the yields for the other sources.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .base import MarketDataProvider, ProviderError


@dataclass
class CompositeProvider:
    """Prices/quotes/securities from one provider, treasury yields from another."""

    market: MarketDataProvider
    rates: MarketDataProvider

    @property
    def source(self) -> str:
        if self.market.source == self.rates.source:
            return self.market.source
        return f"{self.market.source}+{self.rates.source}"

    def prices(self, symbols: Sequence[str], start: dt.date, end: dt.date) -> pd.DataFrame:
        return self.market.prices(symbols, start, end)

    def daily_prices(self, symbols: Sequence[str], start: dt.date, end: dt.date
                     ) -> pd.DataFrame:
        """prices() of symbols whose history is stored, the market provider's cheapest way
        (Polygon: grouped daily bars); prices() itself for providers without one."""
        bulk = getattr(self.market, "daily_prices", None)
        return (bulk or self.market.prices)(symbols, start, end)

    def option_quotes(self, contracts: pd.DataFrame, day: dt.date) -> pd.DataFrame:
        return self.market.option_quotes(contracts, day)

    def securities(self, symbols: Sequence[str]) -> pd.DataFrame:
        return self.market.securities(symbols)

    def corporate_actions(self, symbols: Sequence[str], start: dt.date, end: dt.date
                          ) -> pd.DataFrame:
        return self.market.corporate_actions(symbols, start, end)

    def treasury_yields(self, series_ids: Sequence[str], start: dt.date, end: dt.date
                        ) -> pd.DataFrame:
        return self.rates.treasury_yields(series_ids, start, end)


def build_provider(
    source: str,
    *,
    data_dir: Path | None = None,
    polygon_api_key: str | None = None,
    fred_api_key: str | None = None,
    seed: int = 7,
    polygon_base_url: str | None = None,
    fred_base_url: str | None = None,
) -> CompositeProvider:
    """The provider set for ``source`` ∈ {simulated, files, polygon}."""
    if source == "simulated":
        from .simulated import SimulatedProvider

        market: MarketDataProvider = SimulatedProvider(seed=seed)
    elif source == "files":
        from .files import FilesProvider

        if data_dir is None:
            raise ProviderError("SIGMASIGHT_MARKET_DATA=files needs SIGMASIGHT_MARKET_DATA_DIR, "
                                "the directory holding prices.csv (README: market-data files)")
        market = FilesProvider(Path(data_dir))
    elif source == "polygon":
        from .polygon import PolygonProvider

        if not polygon_api_key:
            raise ProviderError("SIGMASIGHT_MARKET_DATA=polygon needs POLYGON_API_KEY to be set")
        kwargs = {"base_url": polygon_base_url} if polygon_base_url else {}
        market = PolygonProvider(api_key=polygon_api_key, **kwargs)
    else:
        raise ProviderError(f"unknown market-data source {source!r} "
                            "(SIGMASIGHT_MARKET_DATA: simulated, files or polygon)")
    if fred_api_key:
        from .fred import FredProvider

        kwargs = {"base_url": fred_base_url} if fred_base_url else {}
        rates: MarketDataProvider = FredProvider(api_key=fred_api_key, **kwargs)
    elif source == "polygon":
        raise ProviderError("SIGMASIGHT_MARKET_DATA=polygon takes treasury yields from FRED: "
                            "set FRED_API_KEY as well")
    else:
        rates = market
    return CompositeProvider(market=market, rates=rates)
