"""``PaperAccountVenue``: one simulated spot account trading several instruments,
shared by several bots.

Each instrument has its own matching engine, but all of them draw on one ``Ledger``, as
one exchange account does: cash locked by an order on ETH/USDT is not free for an order
on BTC/USDT, whichever bot sent it. Bots reach the account through ``view(bot_id)``,
which is an ordinary ``Venue``: its reports go to that bot's order manager only, so two
bots on one account never see, fill or cancel each other's orders. A single trader
(the arbitrage runtime) may also use the account itself as its ``Venue``: it then hears
every report.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

from task_station.domain.candles import Candle
from task_station.domain.clock import Clock
from task_station.domain.errors import ValidationError
from task_station.domain.instruments import Instrument
from task_station.domain.money import ZERO
from task_station.domain.orders import Fill, Order
from task_station.venues.base import (
    FillReport,
    OrderRejectedReport,
    VenueCapabilities,
    VenueListener,
    VenueOrderState,
    VenueReport,
)
from task_station.venues.matching.ledger import Ledger
from task_station.venues.matching.model import MatchingConfig
from task_station.venues.matching.paper_venue import MATCHING_CAPABILITIES, MatchingPaperVenue


class PaperAccountVenue:
    """A simulated account on several instruments; bots trade it through ``view``."""

    capabilities = MATCHING_CAPABILITIES

    def __init__(
        self,
        instruments: Sequence[Instrument],
        balances: Mapping[str, Decimal],
        clock: Clock,
        *,
        maker_fee: Decimal = ZERO,
        taker_fee: Decimal = ZERO,
        name: str = "paper",
        config: MatchingConfig | None = None,
    ) -> None:
        if not instruments:
            raise ValidationError("a paper account needs at least one instrument")
        self.name = name
        self._clock = clock
        self.ledger = Ledger(balances)
        ids = itertools.count(1).__next__
        self._books: dict[str, MatchingPaperVenue] = {}
        for instrument in instruments:
            if instrument.symbol in self._books:
                raise ValidationError(f"{instrument.symbol} is listed twice for one account")
            book = MatchingPaperVenue(
                instrument,
                {},
                clock,
                maker_fee=maker_fee,
                taker_fee=taker_fee,
                name=name,
                config=config,
                ledger=self.ledger,
                ids=ids,
            )
            book.set_listener(_Dispatch(self, book))
            self._books[instrument.symbol] = book
        self._listeners: dict[str | None, VenueListener] = {}
        self._observers: list[VenueListener] = []

    # -- the account --------------------------------------------------------------------

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(self._books)

    @property
    def books(self) -> Mapping[str, MatchingPaperVenue]:
        """One simulated book per instrument, by symbol."""
        return self._books

    def instrument(self, symbol: str) -> Instrument:
        return self._book(symbol).engine.instrument

    def view(self, bot_id: str | None) -> AccountVenueView:
        """The account as one bot's venue (``None``: orders no bot owns, e.g. manual)."""
        return AccountVenueView(self, bot_id)

    def observe(self, listener: VenueListener) -> None:
        """Also hand every report, of every bot, to ``listener`` (the account's book)."""
        self._observers.append(listener)

    # -- the account as one trader's venue ------------------------------------------------

    def set_listener(self, listener: VenueListener) -> None:
        """Use the whole account as one ``Venue``: ``listener`` hears every report."""
        self.observe(listener)

    async def submit_order(self, order: Order) -> None:
        book = self._books.get(order.symbol)
        if book is None:
            reason = f"{self.name} has no {order.symbol} book"
            for observer in self._observers:
                observer.on_venue_report(
                    OrderRejectedReport(order.client_order_id, reason, self._clock.now())
                )
            return
        book.submit_now(order)

    async def cancel_order(self, order: Order) -> None:
        book = self._books.get(order.symbol)
        if book is not None:
            book.cancel_now(order.client_order_id)

    async def fetch_order_state(self, order: Order) -> VenueOrderState | None:
        book = self._books.get(order.symbol)
        return None if book is None else await book.fetch_order_state(order)

    async def fetch_fills(self, order: Order) -> list[Fill]:
        book = self._books.get(order.symbol)
        return [] if book is None else await book.fetch_fills(order)

    async def fetch_balances(self) -> dict[str, Decimal]:
        """Free plus locked per asset: what the whole account owns."""
        return self.ledger.totals()

    def balance_detail(self) -> dict[str, tuple[Decimal, Decimal]]:
        ledger = self.ledger
        return {a: (ledger.free.get(a, ZERO), ledger.locked.get(a, ZERO)) for a in ledger.totals()}

    @property
    def open_orders(self) -> list[Order]:
        return [o for book in self._books.values() for o in book.open_orders]

    def process_bars(self, bars: Mapping[str, Candle]) -> None:
        """Match each instrument's working orders against its bar of this time step."""
        for symbol, candle in bars.items():
            book = self._books.get(symbol)
            if book is not None:
                book.process_bar(candle)

    def process_bar(self, candle: Candle) -> None:
        """The single-instrument form of ``process_bars`` (a one-symbol account)."""
        if len(self._books) != 1:
            raise ValidationError(
                "this account trades several instruments: use process_bars({symbol: bar})"
            )
        next(iter(self._books.values())).process_bar(candle)

    def set_book(
        self,
        symbol: str,
        bids: Iterable[tuple[Decimal, Decimal]],
        asks: Iterable[tuple[Decimal, Decimal]],
    ) -> None:
        self._book(symbol).set_book(bids, asks)

    # -- orders (through a view) --------------------------------------------------------

    def _book(self, symbol: str) -> MatchingPaperVenue:
        try:
            return self._books[symbol]
        except KeyError:
            listed = ", ".join(self._books)
            raise ValidationError(
                f"the {self.name} account does not trade {symbol}; it trades {listed}"
            ) from None

    def _known(self, order: Order) -> Order | None:
        book = self._books.get(order.symbol)
        return None if book is None else book.orders.get(order.client_order_id)

    def _deliver(self, book: MatchingPaperVenue, report: VenueReport) -> None:
        cid = (
            report.fill.client_order_id
            if isinstance(report, FillReport)
            else report.client_order_id
        )
        order = book.orders.get(cid)
        owner = order.bot_id if order is not None else None
        for observer in self._observers:
            observer.on_venue_report(report)
        listener = self._listeners.get(owner)
        if listener is not None:
            listener.on_venue_report(report)


class _Dispatch:
    """Routes one instrument book's reports to the bot that owns the order."""

    def __init__(self, account: PaperAccountVenue, book: MatchingPaperVenue) -> None:
        self._account = account
        self._book = book

    def on_venue_report(self, report: VenueReport) -> None:
        self._account._deliver(self._book, report)


class AccountVenueView:
    """One bot's window on a ``PaperAccountVenue``: a ``Venue`` and ``Reconcilable``."""

    capabilities: VenueCapabilities = MATCHING_CAPABILITIES

    def __init__(self, account: PaperAccountVenue, bot_id: str | None) -> None:
        self.account = account
        self.bot_id = bot_id
        self.name = account.name

    def set_listener(self, listener: VenueListener) -> None:
        if self.bot_id in self.account._listeners:
            raise ValidationError(f"bot {self.bot_id} already trades this account")
        self.account._listeners[self.bot_id] = listener

    def instrument(self, symbol: str) -> Instrument:
        return self.account.instrument(symbol)

    async def submit_order(self, order: Order) -> None:
        self._check_owner(order)
        self.account._book(order.symbol).submit_now(order)

    async def cancel_order(self, order: Order) -> None:
        self._check_owner(order)
        self.account._book(order.symbol).cancel_now(order.client_order_id)

    async def fetch_balances(self) -> dict[str, Decimal]:
        return await self.account.fetch_balances()

    async def fetch_order_state(self, order: Order) -> VenueOrderState | None:
        known = self.account._known(order)
        if known is None or known.venue_order_id is None or known.bot_id != self.bot_id:
            return None
        return VenueOrderState(
            known.client_order_id, known.venue_order_id, known.status, known.filled_quantity
        )

    async def fetch_fills(self, order: Order) -> list[Fill]:
        known = self.account._known(order)
        return list(known.fills) if known is not None and known.bot_id == self.bot_id else []

    @property
    def open_orders(self) -> list[Order]:
        return [o for o in self.account.open_orders if o.bot_id == self.bot_id]

    def _check_owner(self, order: Order) -> None:
        if order.bot_id != self.bot_id:
            raise ValidationError(
                f"order {order.client_order_id} belongs to bot {order.bot_id}, "
                f"not to bot {self.bot_id}"
            )
