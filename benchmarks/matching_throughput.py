"""Orders per second through the matching engine, scenario by scenario.

Run: ``.venv/bin/python benchmarks/matching_throughput.py [--orders N]``. Orders are
built before the clock starts (building a frozen domain ``Order`` is the caller's cost);
"engine" rows drive ``MatchingEngine`` directly, "venue" rows go through
``MatchingPaperVenue`` and so include the domain state machine and the venue reports.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from task_station.domain.candles import Candle
from task_station.domain.clock import ManualClock
from task_station.domain.instruments import Instrument
from task_station.domain.orders import Order, OrderSide, OrderType
from task_station.venues.matching.engine import MatchingEngine
from task_station.venues.matching.paper_venue import MatchingPaperVenue

T0 = datetime(2024, 1, 1, tzinfo=UTC)
INST = Instrument.from_symbol(
    "BTC/USDT", price_increment=Decimal("0.01"), size_increment=Decimal("0.00001")
)
RICH = {"USDT": Decimal(10) ** 15, "BTC": Decimal(10) ** 9}


def limit(i: int, side: OrderSide, price: Decimal, qty: str = "0.01") -> Order:
    return Order(f"c{i}", "paper", INST.symbol, side, OrderType.LIMIT, T0,
                 quantity=Decimal(qty), price=price)  # fmt: skip


def market(i: int, side: OrderSide, qty: str) -> Order:
    return Order(f"c{i}", "paper", INST.symbol, side, OrderType.MARKET, T0, quantity=Decimal(qty))


def book(levels: int) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
    bids = [(Decimal(30000) - Decimal(i) / 100, Decimal("0.5")) for i in range(1, levels + 1)]
    asks = [(Decimal(30000) + Decimal(i) / 100, Decimal("0.5")) for i in range(1, levels + 1)]
    return bids, asks


def engine_add_cancel(n: int) -> float:
    eng = MatchingEngine(INST, RICH)
    orders = [limit(i, OrderSide.BUY, Decimal(29000) + Decimal(i % 500) / 100) for i in range(n)]
    start = time.perf_counter()
    for o in orders:
        eng.submit(o, 0)
        eng.cancel(o.client_order_id)
    return time.perf_counter() - start


def engine_market_vs_depth(n: int) -> float:
    eng = MatchingEngine(INST, RICH)
    bids, asks = book(200)
    orders = [market(i, OrderSide.BUY if i % 2 else OrderSide.SELL, "1.2") for i in range(n)]
    start = time.perf_counter()
    for i, o in enumerate(orders):
        if i % 100 == 0:
            eng.set_book(bids, asks)  # replenish what 100 orders took
        eng.submit(o, 0)
    return time.perf_counter() - start


def engine_candles(n: int, per_bar: int = 1000) -> float:
    eng = MatchingEngine(INST, RICH)
    orders = [limit(i, OrderSide.BUY if i % 2 else OrderSide.SELL,
                    Decimal(29950) + Decimal(i % 100)) for i in range(n)]  # fmt: skip
    bars = [Candle(T0 + timedelta(hours=k), Decimal(30000), Decimal(30100), Decimal(29900),
                   Decimal(30000), Decimal(1000)) for k in range(n // per_bar + 1)]  # fmt: skip
    start = time.perf_counter()
    for k in range(0, n, per_bar):
        for o in orders[k : k + per_bar]:
            eng.submit(o, 0)
        eng.on_bar(bars[k // per_bar])
    return time.perf_counter() - start


def venue_add_cancel(n: int) -> float:
    venue = MatchingPaperVenue(INST, dict(RICH), ManualClock(T0))
    orders = [limit(i, OrderSide.BUY, Decimal(29000)).submit(T0) for i in range(n)]
    start = time.perf_counter()
    for o in orders:
        venue.submit_now(o)
        venue.cancel_now(o.client_order_id)
    return time.perf_counter() - start


def venue_market_vs_depth(n: int) -> float:
    venue = MatchingPaperVenue(INST, dict(RICH), ManualClock(T0))
    bids, asks = book(200)
    orders = [market(i, OrderSide.BUY if i % 2 else OrderSide.SELL, "1.2").submit(T0)
              for i in range(n)]  # fmt: skip
    start = time.perf_counter()
    for i, o in enumerate(orders):
        if i % 100 == 0:
            venue.set_book(bids, asks)
        venue.submit_now(o)
    return time.perf_counter() - start


SCENARIOS: list[tuple[str, str, Callable[[int], float]]] = [
    ("engine", "limit add + cancel", engine_add_cancel),
    ("engine", "market vs 200-level book (3 levels/order)", engine_market_vs_depth),
    ("engine", "limit add + candle match (1000/bar)", engine_candles),
    ("venue", "limit add + cancel (domain state machine)", venue_add_cancel),
    ("venue", "market vs book (domain state machine)", venue_market_vs_depth),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=50_000)
    args = parser.parse_args()
    print(f"{'layer':<7} {'scenario':<46} {'orders':>8} {'seconds':>8} {'orders/s':>10}")
    for layer, label, run in SCENARIOS:
        best = min(run(args.orders) for _ in range(3))
        print(f"{layer:<7} {label:<46} {args.orders:>8} {best:>8.3f} {args.orders / best:>10,.0f}")


if __name__ == "__main__":
    main()
