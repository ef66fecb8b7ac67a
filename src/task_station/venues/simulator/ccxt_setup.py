"""Point a real ccxt exchange object at the loopback simulator.

Every API URL is rewritten to the simulator (``https`` to ``http``, ``wss`` to ``ws``,
host to 127.0.0.1) and binance is told to load only spot markets, so ``load_markets``
never reaches for margin, currency, futures or options endpoints.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

#: The ccxt binance options that keep ``load_markets`` on the endpoints the simulator has.
SPOT_ONLY_OPTIONS: dict[str, Any] = {
    "fetchCurrencies": False,
    "fetchMargins": False,
    "fetchMarkets": {"types": ["spot"]},
}
#: The ccxt class whose dialect the simulator speaks.
SIMULATOR_EXCHANGE_ID = "binance"


def _rewrite(url: str, base: str) -> str:
    target = urlsplit(base)
    parts = urlsplit(url)
    scheme = "ws" if parts.scheme in ("ws", "wss") else "http"
    return f"{scheme}://{target.netloc}{parts.path}" + (f"?{parts.query}" if parts.query else "")


def _rewrite_tree(node: Any, base: str) -> Any:
    if isinstance(node, str):
        return _rewrite(node, base)
    if isinstance(node, dict):
        return {k: _rewrite_tree(v, base) for k, v in node.items()}
    return node


def point_ccxt_at(exchange: Any, base_url: str) -> Any:
    """Rewrite ``exchange.urls["api"]`` to ``base_url`` and set spot-only options."""
    exchange.urls["api"] = _rewrite_tree(exchange.urls["api"], base_url)
    for key, value in SPOT_ONLY_OPTIONS.items():
        exchange.options[key] = dict(value) if isinstance(value, dict) else value
    return exchange
