"""Turning a match into a fill: sizing, caps, slippage, fees and settlement.

Kept apart from the engine's order flow so the money rules sit in one place: a buy is
paid from the funds its order locked, a sell delivers the base it locked, and the fee
(in the quote currency, as in v1) leaves the account.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from task_station.domain.instruments import Instrument
from task_station.domain.money import ZERO, quantize_down
from task_station.domain.orders import OrderType, TimeInForce
from task_station.venues.matching.depth import DepthBook
from task_station.venues.matching.ledger import Ledger
from task_station.venues.matching.model import (
    TAKER,
    Canceled,
    EngineEvent,
    Filled,
    MatchingConfig,
    WorkingOrder,
)
from task_station.venues.matching.scale import Scale
from task_station.venues.matching.slippage import SlipContext


class Executor:
    """Fill mechanics shared by candle and depth matching (mixed into the engine)."""

    instrument: Instrument
    config: MatchingConfig
    ledger: Ledger
    prices: Scale
    sizes: Scale
    lot_size: Decimal
    working: dict[str, WorkingOrder]
    book: DepthBook | None
    bar_volume: Decimal | None
    #: Quote lost to the slippage model so far: |slipped - reference| x quantity.
    slippage_paid: Decimal = ZERO

    def fill_at(
        self,
        w: WorkingOrder,
        price: Decimal,
        role: str,
        cap: int | None,
        events: list[EngineEvent],
    ) -> None:
        """Fill as much of ``w`` as the bar allows at ``price`` (slipped if taker)."""
        reference = price
        if role == TAKER:
            price = self._slip(w, price)
        fee_rate = self.config.taker_fee if role == TAKER else self.config.maker_fee
        if w.quote_left is not None:
            lots = self.lots_for_quote(w.quote_left, price, fee_rate)
            if lots <= 0 or self.sizes.to_dec(lots) < self.instrument.min_size:
                reason = f"{self.instrument.symbol}: the quote left buys less than one lot"
                self.close(w, Canceled(w.cid, reason), events)
                return
        else:
            lots = self.fillable_lots(w, w.lots - w.filled)
        if cap is not None and lots > cap:
            if w.tif is TimeInForce.FOK:
                self.close(w, Canceled(w.cid, "FOK order exceeds the bar's volume"), events)
                return
            lots = cap
        if lots > 0:
            self.execute(w, price, lots, role, events)
            fill = events[-1] if events else None
            if price != reference and isinstance(fill, Filled) and fill.cid == w.cid:
                self.slippage_paid += abs(price - reference) * fill.quantity

    def fillable_lots(self, w: WorkingOrder, lots: int) -> int:
        """Clip a reduce-only sell to the base it could lock (it never goes short)."""
        if w.reduce_only:
            return min(lots, self.sizes.to_int_down(w.locked))
        return lots

    def take_quote_sized(self, w: WorkingOrder, book: DepthBook, events: list[EngineEvent]) -> None:
        """Walk the asks with a quote budget, level by level."""
        fee_rate = self.config.taker_fee
        while w.cid in self.working and w.quote_left is not None:
            best = book.best(w.side)
            if best is None:
                return
            price = self.prices.to_dec(best)
            lots = min(
                book.available(w.side, best), self.lots_for_quote(w.quote_left, price, fee_rate)
            )
            if lots <= 0:
                self.close(w, Canceled(w.cid, "the quote left buys less than one lot"), events)
                return
            book.take(w.side, lots, best)
            self.execute(w, price, lots, TAKER, events)

    def execute(
        self, w: WorkingOrder, price: Decimal, lots: int, role: str, events: list[EngineEvent]
    ) -> None:
        """Settle one fill of ``lots`` at ``price`` and emit it."""
        inst, ledger = self.instrument, self.ledger
        qty = self.sizes.to_dec(lots)
        notional = qty * price
        fee = notional * (self.config.taker_fee if role == TAKER else self.config.maker_fee)
        quote_sized = w.quote_left is not None
        if w.side > 0:
            last = quote_sized or w.filled + lots == w.lots
            release = w.locked if last else w.lock_per_lot * lots
            if release:
                ledger.release(inst.quote, release)
                w.locked -= release
            cost = notional + fee
            if cost > ledger.available(inst.quote):
                reason = f"insufficient {inst.quote} to buy {qty} at {price}"
                self.close(w, Canceled(w.cid, reason), events)
                return
            ledger.debit(inst.quote, cost)
            ledger.credit(inst.base, qty)
        else:
            ledger.spend_locked(inst.base, qty)
            w.locked -= qty
            ledger.credit(inst.quote, notional - fee)
        w.filled += lots
        if w.quote_left is not None:
            w.quote_left -= notional + fee
            complete = self.lots_for_quote(w.quote_left, price, self.config.taker_fee) <= 0
            if not complete:
                w.locked = min(w.quote_left, ledger.available(inst.quote))
                ledger.lock(inst.quote, w.locked)
        else:
            complete = w.filled == w.lots
        events.append(Filled(w.cid, price, qty, fee, role, complete))
        if complete:
            self.close(w, None, events)
        elif w.reduce_only and w.locked <= 0:
            self.close(w, Canceled(w.cid, "reduce-only order reduced to the position"), events)

    def close(self, w: WorkingOrder, event: Canceled | None, events: list[EngineEvent]) -> None:
        """Remove ``w``, hand back what it still locked and emit ``event`` if any."""
        del self.working[w.cid]
        if w.locked:
            self.ledger.release(
                self.instrument.base if w.side < 0 else self.instrument.quote, w.locked
            )
            w.locked = ZERO
        if event is not None:
            events.append(event)

    def lots_for_quote(self, quote: Decimal, price: Decimal, fee_rate: Decimal) -> int:
        """Largest size whose cost, fee included, stays within ``quote`` (v1's rule)."""
        step = self.instrument.size_increment or self.lot_size
        size = quantize_down(quote / (price * (1 + fee_rate)), step)
        while size > ZERO and size * price + size * price * fee_rate > quote:
            size -= step
        return self.sizes.to_int_down(size) if size > ZERO else 0

    def _slip(self, w: WorkingOrder, price: Decimal) -> Decimal:
        model = self.config.slippage
        qty = self.sizes.to_dec(w.lots - w.filled) if w.lots else (w.quote_left or ZERO) / price
        spread = None
        if self.book is not None and (ticks := self.book.spread()) is not None:
            spread = self.prices.to_dec(ticks)
        slipped = model.slipped_price(SlipContext(w.side, price, qty, self.bar_volume, spread))
        if slipped == price:
            return price
        if w.price is not None and w.kind in (OrderType.LIMIT, OrderType.STOP_LIMIT):
            slipped = min(slipped, w.price) if w.side > 0 else max(slipped, w.price)
        step = self.instrument.price_increment
        if step is not None:  # round against the taker, onto the tick
            rounding = ROUND_CEILING if w.side > 0 else ROUND_FLOOR
            slipped = (slipped / step).to_integral_value(rounding=rounding) * step
        return slipped
