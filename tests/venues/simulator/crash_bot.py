"""A trading process for the crash test: real engine parts against the simulator.

``trade`` mode places orders forever (printing a line per acknowledged order) until it
is killed; ``recover`` mode rebuilds the book from the stored fills, reconciles with the
simulator and prints a JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from decimal import Decimal

import ccxt.async_support as ccxt_async

from task_station.domain.clock import SystemClock
from task_station.domain.commands import SubmitOrder
from task_station.domain.errors import VenueError
from task_station.domain.orders import OrderSide, OrderType
from task_station.engine.bus import EventBus
from task_station.engine.order_manager import OrderManager
from task_station.engine.portfolio import Portfolio
from task_station.persistence import Database, sqlite_url
from task_station.venues.ccxt_cex.retry import RetryPolicy
from task_station.venues.ccxt_cex.venue import CcxtVenue
from task_station.venues.simulator.ccxt_setup import point_ccxt_at

INITIAL = {"USDT": Decimal("1000000"), "BTC": Decimal("100")}


async def run(args: argparse.Namespace) -> None:
    db = Database(sqlite_url(args.db))
    db.upgrade()
    ex = ccxt_async.binance({"apiKey": args.key, "secret": args.secret, "timeout": 3000})
    point_ccxt_at(ex, args.url)
    venue = CcxtVenue(
        ex, SystemClock(), secrets=(args.key, args.secret), retry=RetryPolicy(6, 0.01, 1)
    )
    try:
        await venue.load_markets()
        book = Portfolio.from_fills(
            "bot",
            "USDT",
            dict(INITIAL),
            db.orders.list_fills(bot_id="bot", limit=10**6),
            venue.instrument,
        )
        om = OrderManager(
            venue=venue, store=db.orders, portfolio=book, bus=EventBus(), clock=SystemClock(),
            portfolio_store=db.portfolio,
        )  # fmt: skip
        if args.mode == "recover":
            report = await om.reconcile(db.audit)
            print(json.dumps({
                "checked": report.checked, "fills_recorded": len(report.fills_recorded),
                "status_changes": len(report.status_changes), "unknown": len(report.unknown_to_venue),
                "balances": {b.asset: str(b.total) for b in book.snapshot().balances},
            }), flush=True)  # fmt: skip
            return
        mid = Decimal(str((await ex.fetch_ticker("BTC/USDT"))["last"]))
        n = 0
        while True:
            n += 1
            side = OrderSide.BUY if n % 2 else OrderSide.SELL
            if n % 3 == 0:
                cmd = SubmitOrder("BTC/USDT", side, OrderType.MARKET, quantity=Decimal("0.01"))
            else:
                factor = Decimal("0.997") if side is OrderSide.BUY else Decimal("1.003")
                price = (mid * factor).quantize(Decimal("0.01"))
                cmd = SubmitOrder(
                    "BTC/USDT", side, OrderType.LIMIT, quantity=Decimal("0.01"), price=price
                )
            try:
                order = await om.submit(cmd)
                print(f"placed {n} {order.client_order_id} {order.status.value}", flush=True)
            except VenueError as exc:
                print(f"unknown {n} {exc}", flush=True)
    finally:
        await ex.close()
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["trade", "recover"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--secret", required=True)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
