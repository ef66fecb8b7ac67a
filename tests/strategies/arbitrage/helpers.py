"""A plain ``ArbitrageContext`` for strategy tests, and the tokens and pools they use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from task_station.domain.arbitrage import OrderBook, PoolMarket
from task_station.domain.dex import PoolState, Token

D = Decimal
HALF = Decimal("0.5")
T0 = datetime(2024, 1, 1, tzinfo=UTC)
WETH = Token("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", "WETH", 18)
USDC = Token("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", "USDC", 6)


class Ctx:
    """Balances by (venue, asset); records logs and alerts."""

    def __init__(self, balances: dict[tuple[str, str], Decimal] | None = None) -> None:
        self.now = T0
        self.balances = balances or {}
        self.logs: list[str] = []
        self.alerts: list[str] = []

    def balance(self, venue: str, asset: str) -> Decimal:
        return self.balances.get((venue, asset), D("1000000"))

    def log(self, message: str) -> None:
        self.logs.append(message)

    def alert(self, message: str) -> None:
        self.alerts.append(message)

    def later(self, ms: int) -> None:
        self.now = self.now + timedelta(milliseconds=ms)


def weth_pool(price: Decimal, eth: int = 1000) -> PoolMarket:
    state = PoolState("0x" + "33" * 20, USDC, WETH, int(D(eth) * price * 10**6), eth * 10**18)
    return PoolMarket(state, WETH, USDC)


def ladder(
    mid: Decimal, step: Decimal = HALF, sizes: tuple[str, ...] = ("1", "2", "3")
) -> OrderBook:
    bids = [(mid - step * (i + 1), D(s)) for i, s in enumerate(sizes)]
    asks = [(mid + step * (i + 1), D(s)) for i, s in enumerate(sizes)]
    return OrderBook.of(bids, asks)
