"""``PaperAmmVenue``: a simulated wallet trading on constant-product pools.

Backtests, paper trading and the arbitrage engine need fills that are the fills the
chain would give, so an order runs through the same ``plan_swap``/``simulate`` rules as
the on-chain venue, in the pool's exact integers, and a refused swap carries the
router's own revert string. Swaps settle at once: there is never a working order.

Gas is not a token amount the pool sees, yet it is what makes small swaps unprofitable,
so each swap costs ``gas_per_swap * gas_price_wei`` of the native token, reported as the
fill's fee in the quote currency whenever a price for the native token is at hand.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from decimal import Context, Decimal, getcontext

from task_station.domain import amm
from task_station.domain.clock import Clock
from task_station.domain.dex import PoolState, Token
from task_station.domain.errors import NotFoundError, ValidationError
from task_station.domain.instruments import Instrument
from task_station.domain.money import ZERO
from task_station.domain.orders import Fill, Order, OrderSide, OrderStatus, OrderType
from task_station.venues.amm.plan import (
    BPS,
    SwapPlan,
    base_quote_amounts,
    plan_swap,
    simulate,
)
from task_station.venues.amm.plan import after_swap as moved_pool
from task_station.venues.base import (
    FillReport,
    OrderAcceptedReport,
    OrderRejectedReport,
    VenueCapabilities,
    VenueListener,
    VenueOrderState,
    VenueReport,
)

#: The pair's own check when a swap would send nothing out (the router lets an
#: ``amountOutMin`` of zero through, then ``UniswapV2Pair.swap`` refuses).
PAIR_INSUFFICIENT_OUTPUT = "UniswapV2: INSUFFICIENT_OUTPUT_AMOUNT"

#: Native tokens of EVM chains have 18 decimals.
NATIVE_DECIMALS = 18

#: Balances are sums of 18-decimal amounts that can exceed the default 28 digits; a
#: rounded balance would drift from the wallet the paper venue stands in for.
_EXACT = Context(prec=120)

AMM_CAPABILITIES = VenueCapabilities(
    order_types=frozenset({OrderType.MARKET, OrderType.LIMIT}),
    quote_sized_market_buy=True,
    candle_driven=False,
)


@dataclass(frozen=True, slots=True)
class PaperPool:
    """A pool the paper wallet trades, with the trader's names for its two sides."""

    symbol: str  # "WETH/USD" (base/quote as the trader names them)
    base: Token
    quote: Token
    pool: PoolState  # token0/token1 ordering as on chain; reserves in smallest units


@dataclass(frozen=True, slots=True)
class PaperGas:
    """What one swap costs in gas (an approval is not simulated)."""

    gas_per_swap: int = 120_000
    gas_price_wei: int = 20 * 10**9
    native_symbol: str = "ETH"

    def __post_init__(self) -> None:
        if self.gas_per_swap < 0 or self.gas_price_wei < 0:
            raise ValidationError("gas units and gas price cannot be negative")

    @property
    def per_swap(self) -> Decimal:
        """Native tokens paid per swap."""
        return Decimal(self.gas_per_swap * self.gas_price_wei).scaleb(-NATIVE_DECIMALS)


def _show(amount: Decimal) -> str:
    """A readable amount for a trader-facing message (no exponent, no trailing zeros)."""
    return format(_EXACT.normalize(amount), "f")


def _amount(token: Token, units: int) -> Decimal:
    """Smallest units -> Decimal, exact at any size.

    ``Token.from_units`` rounds to the default 28 significant digits (``scaleb`` obeys
    the context), which a large balance of an 18-decimal token exceeds.
    """
    return _EXACT.scaleb(Decimal(units), Decimal(-token.decimals))


def _too_long(amount: Decimal, token: Token) -> str:
    return (
        f"{amount} {token.symbol} has more significant digits than Decimal arithmetic "
        f"keeps here ({getcontext().prec}): it cannot be sized exactly"
    )


class _Refused(Exception):
    """Internal: the swap cannot run; ``args[0]`` is the reason the trader sees."""


@dataclass(frozen=True, slots=True)
class _Swap:
    """A swap that will run: everything to apply, computed before anything changes."""

    pool: PoolState
    fill: Fill
    balance_changes: dict[str, Decimal]
    gas_native: Decimal


class PaperAmmVenue:
    """A simulated wallet on Uniswap V2-style pools, exact to the wei."""

    capabilities = AMM_CAPABILITIES

    def __init__(
        self,
        pools: Iterable[PaperPool],
        balances: dict[str, Decimal],
        clock: Clock,
        *,
        name: str = "paper-amm",
        gas: PaperGas | None = None,
        slippage_bps: int = 50,
        native_price: Callable[[], Decimal | None] | None = None,
    ) -> None:
        if not 0 <= slippage_bps < BPS:
            raise ValidationError(f"slippage {slippage_bps} bps is out of range")
        self.name = name
        self._clock = clock
        self._gas = gas if gas is not None else PaperGas()
        self._slippage_bps = slippage_bps
        self._native_price = native_price
        self._pools: dict[str, PaperPool] = {}
        self._state: dict[str, PoolState] = {}
        for entry in pools:
            self._add_pool(entry)
        self._balances: dict[str, Decimal] = dict(balances)
        #: Every order the venue has seen, by client order id, as the venue knows it.
        self.orders: dict[str, Order] = {}
        #: Total native token paid for gas by the swaps that ran.
        self.gas_spent: Decimal = ZERO
        self._listener: VenueListener | None = None
        self._ids: Callable[[], int] = itertools.count(1).__next__

    def _add_pool(self, entry: PaperPool) -> None:
        if entry.symbol in self._pools:
            raise ValidationError(f"{self.name}: pool {entry.symbol} is given twice")
        addresses = {entry.pool.token0.address.lower(), entry.pool.token1.address.lower()}
        if entry.base.address.lower() == entry.quote.address.lower() or addresses != {
            entry.base.address.lower(),
            entry.quote.address.lower(),
        }:
            raise ValidationError(
                f"{self.name}: {entry.symbol} needs the two distinct tokens of pool "
                f"{entry.pool.pair} as base and quote"
            )
        self._pools[entry.symbol] = entry
        self._state[entry.symbol] = entry.pool

    # -- the Venue protocol -----------------------------------------------------------

    def set_listener(self, listener: VenueListener) -> None:
        self._listener = listener

    def instrument(self, symbol: str) -> Instrument:
        entry = self._entry(symbol)
        return Instrument(
            venue=self.name,
            symbol=symbol,
            base=entry.base.symbol,
            quote=entry.quote.symbol,
            size_increment=Decimal(1).scaleb(-entry.base.decimals),
        )

    async def submit_order(self, order: Order) -> None:
        self.submit_now(order)

    def submit_now(self, order: Order) -> Order:
        """Synchronous submit: swap or refuse now, and return the venue's copy."""
        cid = order.client_order_id
        now = self._clock.now()
        known = self.orders.get(cid)
        if known is not None:
            # A resend after an unknown outcome: never swap twice, repeat the ack.
            if known.venue_order_id is not None:
                self._emit(OrderAcceptedReport(cid, known.venue_order_id, now))
            return known
        if order.status is OrderStatus.INITIALIZED:
            order = order.submit(now)
        self.orders[cid] = order
        try:
            swap = self._prepare(order)
        except _Refused as refused:
            reason = str(refused.args[0])
            self.orders[cid] = order.reject(reason, now)
            self._emit(OrderRejectedReport(cid, reason, now))
            return self.orders[cid]
        venue_id = str(self._ids())
        accepted = order.accept(venue_id, now)
        filled = accepted.fill(swap.fill, complete=True)
        # Every transition succeeded: only now does the wallet or the pool change.
        self._state[order.symbol] = swap.pool
        for asset, change in swap.balance_changes.items():
            self._balances[asset] = _EXACT.add(self._balances.get(asset, ZERO), change)
        self.gas_spent = _EXACT.add(self.gas_spent, swap.gas_native)
        self.orders[cid] = filled
        self._emit(OrderAcceptedReport(cid, venue_id, now))
        self._emit(FillReport(swap.fill, order_complete=True))
        return filled

    async def cancel_order(self, order: Order) -> None:
        """Nothing to do: a swap settled or was refused the moment it was submitted."""

    async def fetch_balances(self) -> dict[str, Decimal]:
        return dict(self._balances)

    async def fetch_order_state(self, order: Order) -> VenueOrderState | None:
        known = self.orders.get(order.client_order_id)
        if known is None or known.venue_order_id is None:
            return None
        return VenueOrderState(
            known.client_order_id, known.venue_order_id, known.status, known.filled_quantity
        )

    async def fetch_fills(self, order: Order) -> list[Fill]:
        known = self.orders.get(order.client_order_id)
        return list(known.fills) if known is not None else []

    # -- pools --------------------------------------------------------------------------

    def balance(self, asset: str) -> Decimal:
        """One balance, synchronously (tests, benchmarks, the arbitrage sizing)."""
        return self._balances.get(asset, ZERO)

    def pool(self, symbol: str) -> PoolState:
        """The pool's reserves now (after our swaps and any ``set_reserves``)."""
        self._entry(symbol)
        return self._state[symbol]

    def set_reserves(self, symbol: str, reserve0: int, reserve1: int, block: int = 0) -> None:
        """Move the pool as other traders did (a feed's ``Sync``, a recording)."""
        self._entry(symbol)
        if reserve0 < 0 or reserve1 < 0:
            raise ValidationError(f"{symbol}: reserves cannot be negative")
        self._state[symbol] = replace(
            self._state[symbol], reserve0=reserve0, reserve1=reserve1, block=block
        )

    def quote(self, symbol: str, side: OrderSide, quantity: Decimal) -> Decimal:
        """Average price, quote per base, for exactly ``quantity`` base now.

        A sell is an exact input, a buy an exact output, as ``plan_swap`` would run
        them; the LP fee is in the price, gas is not.
        """
        entry = self._entry(symbol)
        pool = self._state[symbol]
        base, quote = entry.base, entry.quote
        units = base.to_units(quantity)
        if units <= 0:
            raise ValidationError(f"{quantity} {base.symbol} is below one smallest unit")
        if side is OrderSide.SELL:
            r_in, r_out = pool.reserves_for(base.address)
            quote_units = amm.get_amount_out(units, r_in, r_out, pool.fee_bps)
        else:
            r_in, r_out = pool.reserves_for(quote.address)
            quote_units = amm.get_amount_in(units, r_in, r_out, pool.fee_bps)
        return _amount(quote, quote_units) / _amount(base, units)

    # -- internals ----------------------------------------------------------------------

    def _entry(self, symbol: str) -> PaperPool:
        entry = self._pools.get(symbol)
        if entry is None:
            known = ", ".join(sorted(self._pools)) or "nothing"
            raise NotFoundError(f"{self.name} has no pool for {symbol} (it trades {known})")
        return entry

    def _prepare(self, order: Order) -> _Swap:
        """The swap ``order`` makes, or ``_Refused`` with the reason; changes nothing."""
        entry = self._pools.get(order.symbol)
        if entry is None:
            known = ", ".join(sorted(self._pools)) or "nothing"
            raise _Refused(f"{self.name} has no pool for {order.symbol} (it trades {known})")
        pool = self._state[order.symbol]
        base, quote = entry.base, entry.quote
        try:
            plan = plan_swap(order, pool, base, quote, slippage_bps=self._slippage_bps)
        except ValidationError as exc:
            raise _Refused(str(exc)) from None
        self._check_sizes(order, plan, base, quote)
        outcome = simulate(plan, pool)
        if outcome.reverted is not None:
            raise _Refused(outcome.reverted)
        if outcome.amount_out <= 0:
            raise _Refused(PAIR_INSUFFICIENT_OUTPUT)
        base_units, quote_units = base_quote_amounts(plan, outcome, base)
        base_amount, quote_amount = _amount(base, base_units), _amount(quote, quote_units)
        price = quote_amount / base_amount
        fee, fee_currency = self._gas_fee(base, quote, price)
        changes = self._balance_changes(plan, outcome.amount_in, outcome.amount_out)
        gas_native = self._gas.per_swap
        native = self._gas.native_symbol
        if native in self._balances:
            changes[native] = _EXACT.subtract(changes.get(native, ZERO), gas_native)
        elif fee_currency == quote.symbol:
            changes[quote.symbol] = _EXACT.subtract(changes.get(quote.symbol, ZERO), fee)
        for asset, change in changes.items():
            have = self._balances.get(asset, ZERO)
            if _EXACT.add(have, change) < ZERO:
                need = _show(_EXACT.minus(change))
                raise _Refused(f"insufficient {asset}: have {_show(have)}, need {need}")
        fill = Fill(
            trade_id=f"{order.client_order_id}-1",
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            price=price,
            quantity=base_amount,
            fee=fee,
            fee_currency=fee_currency,
            liquidity="taker",
            ts=self._clock.now(),
            bot_id=order.bot_id,
        )
        moved = moved_pool(pool, plan.token_in, outcome.amount_in, outcome.amount_out)
        return _Swap(moved, fill, changes, gas_native)

    @staticmethod
    def _check_sizes(order: Order, plan: SwapPlan, base: Token, quote: Token) -> None:
        """Refuse an order the planner could not size exactly.

        ``Token.to_units`` works in the current ``Decimal`` context (28 digits by
        default), so an amount with more significant digits is rounded, possibly up.
        A base quantity must also be whole units, or the fill would fall short of it
        and leave the order open forever.
        """
        if order.quantity is not None:
            moved = plan.amount_in if plan.token_in == base else plan.amount_out
            if _amount(base, moved) != order.quantity:
                if len(order.quantity.as_tuple().digits) > getcontext().prec:
                    raise _Refused(_too_long(order.quantity, base))
                raise _Refused(
                    f"{order.quantity} {base.symbol} is finer than its smallest unit "
                    f"(10^-{base.decimals})"
                )
        elif order.quote_quantity is not None and _amount(quote, plan.amount_in) > (
            order.quote_quantity
        ):
            raise _Refused(_too_long(order.quote_quantity, quote))

    @staticmethod
    def _balance_changes(plan: SwapPlan, amount_in: int, amount_out: int) -> dict[str, Decimal]:
        return {
            plan.token_in.symbol: _EXACT.minus(_amount(plan.token_in, amount_in)),
            plan.token_out.symbol: _amount(plan.token_out, amount_out),
        }

    def _gas_fee(self, base: Token, quote: Token, price: Decimal) -> tuple[Decimal, str]:
        """The gas as a fee: in the quote currency when we can price it, else native."""
        native = self._gas.per_swap
        wrapped = {self._gas.native_symbol, "W" + self._gas.native_symbol}
        if quote.symbol in wrapped:
            return native, quote.symbol
        if base.symbol in wrapped:
            return native * price, quote.symbol
        native_price = self._native_price() if self._native_price is not None else None
        if native_price is not None:
            return native * native_price, quote.symbol
        return native, self._gas.native_symbol

    def _emit(self, report: VenueReport) -> None:
        if self._listener is not None:
            self._listener.on_venue_report(report)
