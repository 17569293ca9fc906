"""Names of the model's factors (SPEC §5.3, §5.4), shared by the scenario engines.

``EQUITY_FACTORS`` are the six equity factors (Market = total market return, the others the
long-short spread returns of §5.3); ``RATE_FACTOR`` is the interest-rate factor, whose moves
are decimal yield changes (0.0025 = +25 bp). The names match ``engines/factors.py``.
"""

from __future__ import annotations

EQUITY_FACTORS: list[str] = ["Market", "Value", "Size", "Momentum", "Quality", "Low Volatility"]
RATE_FACTOR: str = "Rate"
ALL_FACTORS: list[str] = EQUITY_FACTORS + [RATE_FACTOR]
