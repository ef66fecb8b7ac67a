"""Cross-exchange arbitrage: one symbol on two order books.

When one venue's bid tops the other's ask by more than both taker fees and the buffer,
lift the cheap asks and hit the rich bids for as long as the marginal unit still pays.
Both legs are immediate-or-cancel limits at the last level walked.
"""

from __future__ import annotations

from decimal import Decimal

from task_station.domain.arbitrage import (
    ArbLeg,
    ArbPlan,
    MarketSnapshot,
    OrderBook,
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
from task_station.strategies.arbitrage.sizing import CrossCexSize, size_cross_cex
from task_station.strategies.params import Param

FIRST_LEGS = ("buy", "sell", "parallel")


def _fee_param(name: str, venue: str) -> Param:
    return Param(
        name,
        Decimal,
        Decimal("10"),
        f"taker fee on {venue} in basis points",
        minimum=Decimal(0),
        maximum=Decimal(1000),
    )


class CrossCexArbitrage(ArbitrageStrategy):
    name = "cross_cex"
    description = (
        "Buy on one exchange and sell on another when their books cross by more than fees."
    )
    params = (
        Param("venue_a", str, "cex-a", "the first order-book venue"),
        Param("venue_b", str, "cex-b", "the second order-book venue"),
        Param("symbol", str, "BTC/USDT", "the symbol traded on both"),
        *common_params(),
        Param(
            "max_base", Decimal, Decimal("1"), "most base traded per arbitrage", minimum=Decimal(0)
        ),
        _fee_param("fee_a_bps", "venue A"),
        _fee_param("fee_b_bps", "venue B"),
        Param("first_leg", str, "buy", "which leg goes first: buy, sell or parallel"),
    )

    def check_params(self) -> None:
        super().check_params()
        split_symbol(self.text("symbol"))
        if self.text("venue_a") == self.text("venue_b"):
            raise ValidationError("cross_cex: the two venues must differ")
        if self.text("first_leg") not in FIRST_LEGS:
            raise ValidationError(
                f"cross_cex: first_leg must be one of {', '.join(FIRST_LEGS)}, "
                f"got {self.text('first_leg')!r}"
            )

    def markets(self) -> tuple[tuple[str, str, VenueKind], ...]:
        symbol = self.text("symbol")
        return (
            (self.text("venue_a"), symbol, VenueKind.CEX),
            (self.text("venue_b"), symbol, VenueKind.CEX),
        )

    def on_market(self, ctx: ArbitrageContext, snapshot: MarketSnapshot) -> ArbPlan | None:
        if self.cooling_down(ctx.now):
            return None
        symbol = self.text("symbol")
        a, b = self.text("venue_a"), self.text("venue_b")
        book_a, book_b = snapshot.books.get((a, symbol)), snapshot.books.get((b, symbol))
        if book_a is None or book_b is None:
            return None
        fees = {a: self.rate("fee_a_bps"), b: self.rate("fee_b_bps")}
        books = {a: book_a, b: book_b}
        best: tuple[str, str, CrossCexSize] | None = None
        for buy, sell in ((a, b), (b, a)):
            size = self._size(ctx, buy, sell, books, fees)
            if size is not None and (best is None or size.net > best[2].net):
                best = (buy, sell, size)
        if best is None or best[2].net < self.dec("min_profit"):
            return None
        self.planned(ctx.now)
        return self._plan(*best, books)

    def _size(
        self,
        ctx: ArbitrageContext,
        buy: str,
        sell: str,
        books: dict[str, OrderBook],
        fees: dict[str, Decimal],
    ) -> CrossCexSize | None:
        base, quote = split_symbol(self.text("symbol"))
        return size_cross_cex(
            books[buy],
            books[sell],
            buy_fee=fees[buy],
            sell_fee=fees[sell],
            slippage=self.rate("slippage_bps"),
            max_base=self.dec("max_base"),
            buy_quote=ctx.balance(buy, quote),
            sell_base=ctx.balance(sell, base),
            size_step=self.size_step,
        )

    def _plan(
        self, buy: str, sell: str, size: CrossCexSize, books: dict[str, OrderBook]
    ) -> ArbPlan:
        symbol = self.text("symbol")
        base, quote = split_symbol(symbol)
        qty = size.quantity
        buy_leg = ArbLeg(buy, symbol, OrderSide.BUY, qty, size.buy_worst, size.buy_notional / qty)
        sell_leg = ArbLeg(
            sell, symbol, OrderSide.SELL, qty, size.sell_worst, size.sell_notional / qty
        )
        first = self.text("first_leg")
        legs = (sell_leg, buy_leg) if first == "sell" else (buy_leg, sell_leg)
        mids = [m for m in (books[buy].mid, books[sell].mid) if m is not None]
        mark = sum(mids, Decimal(0)) / len(mids)
        reason = (
            f"buy {qty} {base} on {buy} at {size.buy_notional / qty:.6f}, sell on {sell} at "
            f"{size.sell_notional / qty:.6f}: gross {size.gross:.6f}, fees {size.fees:.6f}, "
            f"buffer {size.buffer:.6f}, net {size.net:.6f} {quote}"
        )
        return ArbPlan(
            legs=legs,
            quote_asset=quote,
            expected_gross=size.gross,
            expected_net=size.net,
            reason=reason,
            marks={base: mark},
            policy=self.policy,
            parallel=first == "parallel",
            strategy=self.name,
        )
