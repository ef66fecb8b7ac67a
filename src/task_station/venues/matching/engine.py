"""The matching engine: working orders, balances, and fills against candles or depth.

Deterministic (same inputs, same events, nothing random, no wall clock) and synchronous,
so backtests, paper trading and the exchange simulator share it. Prices and sizes are
integer ticks and lots on the hot path; fills and balances are exact ``Decimal``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from task_station.domain.candles import Candle
from task_station.domain.clock import datetime_to_ms
from task_station.domain.instruments import Instrument
from task_station.domain.orders import Order, OrderType, TimeInForce
from task_station.venues.matching import bar_rules
from task_station.venues.matching.admission import admit
from task_station.venues.matching.depth import DepthBook
from task_station.venues.matching.execution import Executor
from task_station.venues.matching.ledger import Ledger
from task_station.venues.matching.model import (
    TAKER,
    Accepted,
    Canceled,
    EngineEvent,
    MatchingConfig,
    Rejected,
    Triggered,
    WorkingOrder,
)
from task_station.venues.matching.scale import Scale


class MatchingEngine(Executor):
    """One instrument's simulated order book and account."""

    def __init__(
        self,
        instrument: Instrument,
        balances: Mapping[str, Decimal],
        config: MatchingConfig | None = None,
        *,
        name: str = "paper",
        ledger: Ledger | None = None,
    ) -> None:
        self.name = name
        self.instrument = instrument
        self.config = config or MatchingConfig()
        # A shared ledger makes several instruments one account (``PaperAccountVenue``):
        # an order on one symbol locks cash that another symbol's order cannot promise.
        self.ledger = Ledger(balances) if ledger is None else ledger
        self.prices = Scale(instrument.price_increment)
        self.sizes = Scale(instrument.size_increment)
        self.lot_size = self.sizes.to_dec(1)
        self.max_fee = max(self.config.maker_fee, self.config.taker_fee)
        self.working: dict[str, WorkingOrder] = {}
        self.book: DepthBook | None = None
        self.last_price: Decimal | None = None
        self.now_ms = 0
        self.bar_volume: Decimal | None = None

    # -- commands ----------------------------------------------------------------

    def submit(self, order: Order, now_ms: int) -> list[EngineEvent]:
        """Admit ``order``; with a known book and no latency it may trade at once."""
        self.now_ms = max(self.now_ms, now_ms)
        w = admit(self, order, now_ms)
        if isinstance(w, str):
            return [Rejected(order.client_order_id, w)]
        self.working[w.cid] = w
        events: list[EngineEvent] = [Accepted(w.cid)]
        if self._ready(w):
            self._arrive(w, events)
        return events

    def cancel(self, cid: str, reason: str | None = None) -> list[EngineEvent]:
        """Cancel a working order and free what it locked; unknown ids are ignored."""
        w = self.working.get(cid)
        if w is None:
            return []
        events: list[EngineEvent] = []
        self.close(w, Canceled(cid, reason), events)
        return events

    # -- market data -------------------------------------------------------------

    def on_bar(self, bar: Candle) -> list[EngineEvent]:
        """Match every eligible working order against ``bar``, in arrival order."""
        bar_ms = datetime_to_ms(bar.ts)
        self.now_ms = max(self.now_ms, bar_ms)
        self.bar_volume = bar.volume
        share = self.config.volume_participation
        cap = None if share is None else self.sizes.to_int_down(bar.volume * share)
        events: list[EngineEvent] = []
        for w in list(self.working.values()):
            if w.eligible_ms <= bar_ms:
                self._match_bar(w, bar, cap, events)
        self.last_price = bar.close
        return events

    def set_book(
        self,
        bids: Iterable[tuple[Decimal, Decimal]],
        asks: Iterable[tuple[Decimal, Decimal]],
        now_ms: int | None = None,
    ) -> list[EngineEvent]:
        """Replace the depth snapshot; orders that have not yet traded arrive against it."""
        p, s = self.prices.to_int, self.sizes.to_int_down
        self.book = DepthBook(((p(a), s(b)) for a, b in bids), ((p(a), s(b)) for a, b in asks))
        return self.advance(self.now_ms if now_ms is None else now_ms)

    def advance(self, now_ms: int) -> list[EngineEvent]:
        """Move market time on: orders whose latency has passed arrive at the book."""
        self.now_ms = max(self.now_ms, now_ms)
        events: list[EngineEvent] = []
        if self.book is None:
            return events
        for w in list(self.working.values()):
            if self._ready(w):
                self._arrive(w, events)
        return events

    def reference_price(self, side: int) -> Decimal | None:
        """Best price a taker on ``side`` would see now (book first, else last close)."""
        if self.book is not None:
            best = self.book.best(side)
            if best is not None:
                return self.prices.to_dec(best)
        return self.last_price

    # -- matching ----------------------------------------------------------------

    def _ready(self, w: WorkingOrder) -> bool:
        """True if ``w`` should take liquidity from the book now (stops wait for bars)."""
        return (
            self.book is not None
            and not w.rested
            and not w.kind.is_stop
            and w.eligible_ms <= self.now_ms
        )

    def _match_bar(
        self, w: WorkingOrder, bar: Candle, cap: int | None, events: list[EngineEvent]
    ) -> None:
        if w.kind.is_stop and not w.triggered:
            fired = bar_rules.trigger_price(w, bar)
            if fired is None:
                return
            w.triggered = True
            events.append(Triggered(w.cid))
            if w.kind is OrderType.STOP_LIMIT and not bar_rules.marketable_after_trigger(w, fired):
                w.rested = True  # now a plain limit resting at its price
                return
            hit: tuple[Decimal, str] | None = (fired, TAKER)
        elif w.kind in (OrderType.MARKET, OrderType.STOP_MARKET):
            hit = (bar.open, TAKER)
        else:
            hit = bar_rules.limit_match(w, bar)
        if hit is not None:
            self.fill_at(w, hit[0], hit[1], cap, events)
        if w.tif is not TimeInForce.GTC and w.cid in self.working:
            self.close(w, Canceled(w.cid, f"{w.tif.value.upper()} remainder canceled"), events)

    def _book_value(self, side: int) -> Decimal:
        """Quote a taker on ``side`` could spend on the whole book, taker fee included."""
        assert self.book is not None
        levels = self.book.asks if side > 0 else self.book.bids
        total = sum(ticks * lots for ticks, lots in levels)
        return self.prices.to_dec(1) * self.lot_size * total * (1 + self.config.taker_fee)

    def _arrive(self, w: WorkingOrder, events: list[EngineEvent]) -> None:
        """Trade ``w`` as a taker against the book, then let the rest rest (or die)."""
        book = self.book
        assert book is not None
        limit = w.ticks if w.kind is OrderType.LIMIT else None
        if w.quote_left is not None:
            if w.tif is TimeInForce.FOK and self._book_value(w.side) < w.quote_left:
                self.close(w, Canceled(w.cid, "FOK order could not be filled in full"), events)
                return
            self.take_quote_sized(w, book, events)
        else:
            want = self.fillable_lots(w, w.lots - w.filled)
            # All or nothing: a reduce-only clip below the quantity is "not in full" too.
            if w.tif is TimeInForce.FOK and (
                want < w.lots - w.filled or book.available(w.side, limit) < w.lots
            ):
                self.close(w, Canceled(w.cid, "FOK order could not be filled in full"), events)
                return
            for ticks, lots in book.take(w.side, want, limit):
                if w.cid not in self.working:
                    break
                self.execute(w, self.prices.to_dec(ticks), lots, TAKER, events)
        if w.cid not in self.working:
            return
        if w.tif is not TimeInForce.GTC:
            self.close(w, Canceled(w.cid, f"{w.tif.value.upper()} remainder canceled"), events)
        elif w.kind is OrderType.LIMIT:
            w.rested = True
