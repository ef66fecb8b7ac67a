"""CEX↔DEX arbitrage: one symbol on an order-book exchange and on a Uniswap V2 pool.

When the pool's price leaves the book's spread by more than the costs, trade the size
that maximises net profit (see ``sizing``): buy where it is cheap, sell where it is
rich. The CEX leg is an immediate-or-cancel limit at the last book level the size walks;
the DEX leg is a limit swap whose bound is the expected price moved by the slippage
allowance, so a pool that moved away reverts instead of filling at a loss.
"""

from __future__ import annotations

from decimal import Decimal

from task_station.domain.arbitrage import (
    ArbLeg,
    ArbPlan,
    MarketSnapshot,
    OrderBook,
    PoolMarket,
    VenueKind,
    split_symbol,
)
from task_station.domain.errors import ValidationError
from task_station.domain.money import ONE
from task_station.domain.orders import OrderSide
from task_station.strategies.arbitrage.base import (
    ArbitrageContext,
    ArbitrageStrategy,
    common_params,
)
from task_station.strategies.arbitrage.sizing import (
    CexDexCosts,
    CexDexDirection,
    CexDexLimits,
    CexDexSize,
    dex_limit_price,
    size_cex_dex,
)
from task_station.strategies.params import Param

FIRST_LEGS = ("cex", "dex", "parallel")
WEI_PER_NATIVE = Decimal(10) ** 18
GWEI = 10**9


class CexDexArbitrage(ArbitrageStrategy):
    name = "cex_dex"
    description = (
        "Trade one symbol between an exchange's order book and a Uniswap V2 pool when "
        "their prices part by more than fees, gas and a slippage buffer."
    )
    params = (
        Param("cex_venue", str, "cex", "the order-book venue"),
        Param("dex_venue", str, "dex", "the AMM venue"),
        Param("symbol", str, "ETH/USDT", "the symbol on the CEX"),
        Param("dex_symbol", str, "", "the symbol on the DEX when it differs (WETH/USDC)"),
        *common_params(),
        Param(
            "max_base",
            Decimal,
            Decimal("1"),
            "most base traded per arbitrage",
            minimum=Decimal(0),
        ),
        Param(
            "cex_taker_fee_bps",
            Decimal,
            Decimal("10"),
            "the CEX taker fee in basis points",
            minimum=Decimal(0),
            maximum=Decimal(1000),
        ),
        Param("gas_units", int, 150_000, "gas one swap uses", minimum=0),
        Param(
            "gas_price_gwei",
            Decimal,
            Decimal("20"),
            "gas price assumed when the snapshot carries none",
            minimum=Decimal(0),
        ),
        Param("native_symbol", str, "ETH", "the chain's gas token"),
        Param("first_leg", str, "cex", "which leg goes first: cex, dex or parallel"),
    )

    def check_params(self) -> None:
        super().check_params()
        split_symbol(self.text("symbol"))
        split_symbol(self.dex_symbol)
        if self.text("first_leg") not in FIRST_LEGS:
            raise ValidationError(
                f"cex_dex: first_leg must be one of {', '.join(FIRST_LEGS)}, "
                f"got {self.text('first_leg')!r}"
            )
        if self.text("cex_venue") == self.text("dex_venue"):
            raise ValidationError("cex_dex: the CEX and DEX venues must differ")

    @property
    def dex_symbol(self) -> str:
        return self.text("dex_symbol") or self.text("symbol")

    def markets(self) -> tuple[tuple[str, str, VenueKind], ...]:
        return (
            (self.text("cex_venue"), self.text("symbol"), VenueKind.CEX),
            (self.text("dex_venue"), self.dex_symbol, VenueKind.DEX),
        )

    def on_market(self, ctx: ArbitrageContext, snapshot: MarketSnapshot) -> ArbPlan | None:
        if self.cooling_down(ctx.now):
            return None
        cex, dex = self.text("cex_venue"), self.text("dex_venue")
        book = snapshot.books.get((cex, self.text("symbol")))
        pool = snapshot.pools.get((dex, self.dex_symbol))
        if book is None or pool is None or book.mid is None:
            return None
        native = self._native_price(snapshot, book, pool)
        gas = self.gas_cost(snapshot, native)
        if gas is None:
            ctx.log(f"{self.name}: no price for {self.text('native_symbol')}; gas unknown, skipped")
            return None
        size = size_cex_dex(book, pool, self._costs(gas), self._limits(ctx))
        if size is None or size.net < self.dec("min_profit"):
            return None
        self.planned(ctx.now)
        return self._plan(size, book, pool, native)

    def gas_cost(self, snapshot: MarketSnapshot, native: Decimal | None) -> Decimal | None:
        """One swap's gas in the quote currency; None when the gas token has no price."""
        units = self.integer("gas_units")
        if units == 0:
            return Decimal(0)
        if native is None:
            return None
        wei = snapshot.gas_price_wei
        price_wei = Decimal(wei) if wei is not None else self.dec("gas_price_gwei") * GWEI
        return units * price_wei / WEI_PER_NATIVE * native

    def _native_price(
        self, snapshot: MarketSnapshot, book: OrderBook, pool: PoolMarket
    ) -> Decimal | None:
        if snapshot.native_price is not None:
            return snapshot.native_price
        native = self.text("native_symbol")
        if pool.base.symbol in (native, "W" + native):
            return book.mid
        return None

    def _costs(self, gas: Decimal) -> CexDexCosts:
        return CexDexCosts(self.rate("cex_taker_fee_bps"), self.rate("slippage_bps"), gas)

    def _limits(self, ctx: ArbitrageContext) -> CexDexLimits:
        cex, dex = self.text("cex_venue"), self.text("dex_venue")
        base, quote = split_symbol(self.text("symbol"))
        dex_base, dex_quote = split_symbol(self.dex_symbol)
        return CexDexLimits(
            max_base=self.dec("max_base"),
            cex_base=ctx.balance(cex, base),
            cex_quote=ctx.balance(cex, quote),
            dex_base=ctx.balance(dex, dex_base),
            dex_quote=ctx.balance(dex, dex_quote),
            size_step=self.size_step,
        )

    def _plan(
        self, size: CexDexSize, book: OrderBook, pool: PoolMarket, native: Decimal | None
    ) -> ArbPlan:
        cex, dex = self.text("cex_venue"), self.text("dex_venue")
        symbol = self.text("symbol")
        base, quote = split_symbol(symbol)
        dex_base, dex_quote = split_symbol(self.dex_symbol)
        qty = size.quantity
        dex_amount = size.dex_amount(pool.quote)
        buy_dex = size.direction is CexDexDirection.BUY_DEX
        slip = self.rate("slippage_bps")
        cex_leg = ArbLeg(
            cex,
            symbol,
            OrderSide.SELL if buy_dex else OrderSide.BUY,
            qty,
            size.cex_worst,
            size.cex_price,
        )
        dex_leg = ArbLeg(
            dex,
            self.dex_symbol,
            OrderSide.BUY if buy_dex else OrderSide.SELL,
            qty,
            dex_limit_price(buy_dex, qty, dex_amount, pool.quote, slip),
            dex_amount / qty,
        )
        first = self.text("first_leg")
        legs = (dex_leg, cex_leg) if first == "dex" else (cex_leg, dex_leg)
        mid = book.mid
        assert mid is not None
        marks = {base: mid, dex_base: mid, dex_quote: ONE}
        if native is not None:
            marks.setdefault(self.text("native_symbol"), native)
        where = (
            f"pool {dex_amount / qty:.6f} below bid; buy {qty} {dex_base} on {dex}, sell on {cex}"
            if buy_dex
            else f"pool {dex_amount / qty:.6f} above ask; buy {qty} {base} on {cex}, sell on {dex}"
        )
        reason = (
            f"{where}: gross {size.gross:.6f}, CEX fee {size.cex_fee:.6f}, gas {size.gas:.6f}, "
            f"buffer {size.buffer:.6f}, net {size.net:.6f} {quote}"
        )
        return ArbPlan(
            legs=legs,
            quote_asset=quote,
            expected_gross=size.gross,
            expected_net=size.net,
            reason=reason,
            marks=marks,
            policy=self.policy,
            parallel=first == "parallel",
            strategy=self.name,
        )
