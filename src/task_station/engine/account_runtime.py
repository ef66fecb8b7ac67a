"""Several bots on one account: one venue, one clock, one feed, a book per bot.

``AccountRuntime`` is what makes "many bots on one account" real rather than several
isolated simulations. Per time step it (1) matches every working order of every bot
against the step's bars once, on the shared ``PaperAccountVenue``, so fills draw on
one ledger, (2) lets each bot mark, check its risk and run its strategy in turn, and
(3) keeps the account's own book, built from every fill the venue reports, so the
bots' books can be checked against it at any moment.

A bot that keeps failing is stopped and its orders canceled; the others go on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from task_station.domain.bots import BotStatus
from task_station.domain.clock import ManualClock
from task_station.domain.errors import StrategyError
from task_station.engine.feeds import BarSlice
from task_station.engine.portfolio import Portfolio, Valuation
from task_station.engine.runtime import BotRuntime, EquityPoint
from task_station.venues.base import FillReport, VenueReport
from task_station.venues.matching.account_venue import PaperAccountVenue

log = logging.getLogger(__name__)


class AccountBook:
    """The whole account's book: every fill of every bot, as the venue reported it."""

    def __init__(self, venue: PaperAccountVenue, quote: str, balances: dict[str, Decimal]):
        self.portfolio = Portfolio(None, quote, balances)
        self._venue = venue
        venue.observe(self)

    def on_venue_report(self, report: VenueReport) -> None:
        if isinstance(report, FillReport):
            fill = report.fill
            self.portfolio.apply_fill(fill, self._venue.instrument(fill.symbol))


@dataclass(frozen=True, slots=True)
class BotOutcome:
    bot_id: str
    status: BotStatus
    error: str | None
    valuation: Valuation


class AccountRuntime:
    """Drives every bot of one paper account from one feed of time steps."""

    def __init__(
        self,
        *,
        venue: PaperAccountVenue,
        book: AccountBook,
        bots: Sequence[BotRuntime],
        feed: AsyncIterable[BarSlice],
        clock: ManualClock,
        record_equity: bool = False,
    ) -> None:
        self.venue = venue
        self.book = book
        self.bots = list(bots)
        self._feed = feed
        self._clock = clock
        self._stop = asyncio.Event()
        self._errors: dict[str, str] = {}
        self.steps = 0
        self.equity_curve: list[EquityPoint] | None = [] if record_equity else None

    def request_stop(self) -> None:
        self._stop.set()

    async def run(self) -> list[BotOutcome]:
        """Run until the feed ends or a stop is requested; one outcome per bot."""
        active = []
        for bot in self.bots:
            try:
                bot.start()
                active.append(bot)
            except StrategyError as exc:
                await self._retire(bot, exc)
        async for step in self._feed:
            if self._stop.is_set():
                break
            self._clock.set(step.ts)
            self.venue.process_bars(step.bars)
            for bot in self.bots:
                if bot not in active:  # retired: what it holds is still on the account
                    for symbol in bot.symbols:
                        if (candle := step.bars.get(symbol)) is not None:
                            bot.portfolio.mark(symbol, candle.close)
            for bot in list(active):
                if bot.stop_requested:
                    continue
                try:
                    await bot.advance(step.ts, step.bars)
                except StrategyError as exc:
                    active.remove(bot)
                    await self._retire(bot, exc)
            self._mark(step)
        outcomes = []
        for bot in self.bots:
            status = BotStatus.ERROR
            if bot.bot_id not in self._errors:
                status = await bot.finish()
                if self._stop.is_set():
                    status = BotStatus.STOPPED
            outcomes.append(
                BotOutcome(
                    bot.bot_id, status, self._errors.get(bot.bot_id), bot.portfolio.valuation()
                )
            )
        return outcomes

    def _mark(self, step: BarSlice) -> None:
        self.steps += 1
        for symbol, candle in step.bars.items():
            self.book.portfolio.mark(symbol, candle.close)
        if self.equity_curve is not None:
            close = self._clock.now()
            self.equity_curve.append(EquityPoint(close, self.book.portfolio.valuation().equity))

    async def _retire(self, bot: BotRuntime, exc: StrategyError) -> None:
        log.error("bot %s stopped on its account: %s", bot.bot_id, exc)
        self._errors[bot.bot_id] = str(exc)
        await bot.orders.cancel_all()
