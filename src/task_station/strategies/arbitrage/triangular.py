"""Triangular arbitrage: three books on one venue that disagree about one exchange rate.

With a home asset A and two others B and C (books ``B/A``, ``C/B``, ``C/A``, e.g.
BTC/USDT, ETH/BTC, ETH/USDT), going round A -> B -> C -> A (or the reverse) should give
back what it started with; when it gives more than its three taker fees and the buffer,
trade the cycle at the size the three top levels allow. Legs run in cycle order, each
using what the previous one bought.
"""

from __future__ import annotations

from decimal import Decimal

from task_station.domain.arbitrage import (
    ArbLeg,
    ArbPlan,
    MarketSnapshot,
    VenueKind,
    split_symbol,
)
from task_station.domain.errors import ValidationError
from task_station.domain.orders import OrderSide
from task_station.strategies.arbitrage.base import (
    ArbitrageContext,
    ArbitrageStrategy,
    common_params,
)
from task_station.strategies.arbitrage.sizing import TriangleSize, size_triangular
from task_station.strategies.params import Param


class TriangularArbitrage(ArbitrageStrategy):
    name = "triangular"
    description = (
        "Trade a cycle through three books on one venue when it returns more than it costs."
    )
    params = (
        Param("venue", str, "cex", "the order-book venue"),
        Param("symbol_ba", str, "BTC/USDT", "book B/A: the bridge asset priced in the home asset"),
        Param("symbol_cb", str, "ETH/BTC", "book C/B: the third asset priced in the bridge"),
        Param("symbol_ca", str, "ETH/USDT", "book C/A: the third asset priced in the home asset"),
        *common_params(),
        Param(
            "fee_bps",
            Decimal,
            Decimal("10"),
            "taker fee per leg in basis points",
            minimum=Decimal(0),
            maximum=Decimal(1000),
        ),
        Param(
            "max_quote",
            Decimal,
            Decimal("1000"),
            "most of the home asset spent per cycle",
            minimum=Decimal(0),
        ),
    )

    def check_params(self) -> None:
        super().check_params()
        b, a = split_symbol(self.text("symbol_ba"))
        c, b2 = split_symbol(self.text("symbol_cb"))
        c2, a2 = split_symbol(self.text("symbol_ca"))
        if b != b2 or c != c2 or a != a2 or len({a, b, c}) != 3:
            raise ValidationError(
                "triangular: the books must be B/A, C/B and C/A for three distinct assets "
                f"(got {self.text('symbol_ba')}, {self.text('symbol_cb')}, {self.text('symbol_ca')})"
            )

    @property
    def assets(self) -> tuple[str, str, str]:
        """``(A, B, C)``: home, bridge, third."""
        b, a = split_symbol(self.text("symbol_ba"))
        c, _ = split_symbol(self.text("symbol_cb"))
        return a, b, c

    def markets(self) -> tuple[tuple[str, str, VenueKind], ...]:
        venue = self.text("venue")
        return tuple(
            (venue, self.text(s), VenueKind.CEX) for s in ("symbol_ba", "symbol_cb", "symbol_ca")
        )

    def on_market(self, ctx: ArbitrageContext, snapshot: MarketSnapshot) -> ArbPlan | None:
        if self.cooling_down(ctx.now):
            return None
        venue = self.text("venue")
        books = [
            snapshot.books.get((venue, self.text(s)))
            for s in ("symbol_ba", "symbol_cb", "symbol_ca")
        ]
        ba, cb, ca = books
        if ba is None or cb is None or ca is None:
            return None
        home = self.assets[0]
        size = size_triangular(
            ba,
            cb,
            ca,
            fee=self.rate("fee_bps"),
            slippage=self.rate("slippage_bps"),
            max_start=self.dec("max_quote"),
            start_balance=ctx.balance(venue, home),
            size_step=self.size_step,
        )
        if size is None or size.net < self.dec("min_profit"):
            return None
        mid_ba, mid_ca = ba.mid, ca.mid
        if mid_ba is None or mid_ca is None:
            return None
        self.planned(ctx.now)
        return self._plan(size, mid_ba, mid_ca)

    def _plan(self, size: TriangleSize, mid_ba: Decimal, mid_ca: Decimal) -> ArbPlan:
        venue = self.text("venue")
        s_ba, s_cb, s_ca = (self.text(s) for s in ("symbol_ba", "symbol_cb", "symbol_ca"))
        a, b, c = self.assets
        p1, p2, p3 = size.prices
        qb, qc = size.b_quantity, size.c_quantity
        if size.forward:
            legs = (
                ArbLeg(venue, s_ba, OrderSide.BUY, qb, p1, p1),
                ArbLeg(venue, s_cb, OrderSide.BUY, qc, p2, p2),
                ArbLeg(venue, s_ca, OrderSide.SELL, qc, p3, p3),
            )
            route = f"{a} -> {b} -> {c} -> {a}"
        else:
            legs = (
                ArbLeg(venue, s_ca, OrderSide.BUY, qc, p3, p3),
                ArbLeg(venue, s_cb, OrderSide.SELL, qc, p2, p2),
                ArbLeg(venue, s_ba, OrderSide.SELL, qb, p1, p1),
            )
            route = f"{a} -> {c} -> {b} -> {a}"
        reason = (
            f"{route} on {venue}: spend {size.spent:.6f}, receive {size.received:.6f}, "
            f"fees {size.fees:.6f}, buffer {size.buffer:.6f}, net {size.net:.6f} {a}"
        )
        return ArbPlan(
            legs=legs,
            quote_asset=a,
            expected_gross=size.net + size.fees + size.buffer,
            expected_net=size.net,
            reason=reason,
            marks={b: mid_ba, c: mid_ca},
            policy=self.policy,
            parallel=False,
            strategy=self.name,
        )
