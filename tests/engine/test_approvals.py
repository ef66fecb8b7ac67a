"""A mixed-mode paper bot on the seeded synthetic market: what the trader decides is
exactly what reaches the venue, and every decision is in the audit log.

The feed is scripted: before bar ``i`` is handed to the runtime, the script's step for
``i`` runs (approve, edit, reject, let time pass), as a trader would between two bars.
An order sent before bar ``i`` is matched on bar ``i`` (at its open for a market order).
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from task_station.domain.candles import Candle
from task_station.domain.clock import ManualClock
from task_station.domain.errors import ConflictError, NotFoundError
from task_station.domain.events import Event, ProposalCreated, ProposalDecided
from task_station.domain.instruments import Instrument
from task_station.domain.orders import OrderStatus
from task_station.domain.proposals import (
    ApprovalRules,
    ControlMode,
    Proposal,
    ProposalExpired,
    ProposalStatus,
)
from task_station.engine.approvals import ApprovalQueue
from task_station.engine.bus import EventBus
from task_station.engine.memory import MemoryOrderStore
from task_station.engine.order_manager import OrderManager
from task_station.engine.portfolio import Portfolio
from task_station.engine.runtime import BotRuntime
from task_station.marketdata.candle_files import frame_to_candles
from task_station.marketdata.synthetic import SyntheticMarketSpec, generate_frame
from task_station.strategies.base import Strategy, StrategyContext
from task_station.venues.matching.paper_venue import MatchingPaperVenue

BOT = "bot-1"
INST = Instrument.from_symbol("BTC/USDT")
CANDLES: list[Candle] = list(frame_to_candles(generate_frame(SyntheticMarketSpec(seed=7, bars=40))))
WALL_T0 = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
LOOSE = ApprovalRules(expiry_seconds=300, max_drift_bps=None)


class MemoryProposalStore:
    """``ProposalStore`` in memory (the SQL one is tested in tests/persistence)."""

    def __init__(self) -> None:
        self.proposals: dict[str, Proposal] = {}
        self.rules: dict[str, ApprovalRules] = {}

    def add(self, proposal: Proposal) -> None:
        if proposal.id in self.proposals:
            raise ConflictError(proposal.id)
        self.proposals[proposal.id] = proposal

    def update(self, proposal: Proposal) -> None:
        if proposal.id not in self.proposals:
            raise NotFoundError(proposal.id)
        self.proposals[proposal.id] = proposal

    def get(self, proposal_id: str) -> Proposal | None:
        return self.proposals.get(proposal_id)

    def list(
        self,
        *,
        bot_id: str | None = None,
        statuses: Sequence[ProposalStatus] | None = None,
        limit: int = 500,
    ) -> builtins.list[Proposal]:
        found = [
            p
            for p in reversed(self.proposals.values())
            if (bot_id is None or p.bot_id == bot_id) and (statuses is None or p.status in statuses)
        ]
        return found[:limit]

    def get_rules(self, bot_id: str) -> ApprovalRules | None:
        return self.rules.get(bot_id)

    def save_rules(self, bot_id: str, rules: ApprovalRules, when: datetime) -> None:
        self.rules[bot_id] = rules


@dataclass
class RecordingAudit:
    entries: list[tuple[str | None, str, str, str]] = field(default_factory=list)

    def record(
        self, when: datetime, actor: str | None, action: str, subject: str, detail: str = ""
    ) -> None:
        self.entries.append((actor, action, subject, detail))

    def actions(self, subject: str) -> list[tuple[str | None, str]]:
        return [(a, act) for a, act, s, _ in self.entries if s == subject]


class BuyOnBars(Strategy):
    """Buys ``quantity`` on the given bar indices, unless an order or proposal waits."""

    name = "buy_on_bars"

    def __init__(self, bars: dict[int, Decimal], *, respect_open: bool = True) -> None:
        super().__init__({})
        self.bars = bars
        self.respect_open = respect_open
        self.calls = 0
        self.skipped_while_waiting = 0

    def on_bar(self, ctx: StrategyContext, candle: Candle) -> None:
        index = self.calls
        self.calls += 1
        if index in self.bars:
            if self.respect_open and ctx.has_open_orders:
                self.skipped_while_waiting += 1
                return
            ctx.buy(quantity=self.bars[index])


Step = Callable[[], Awaitable[None]]


@dataclass
class Harness:
    runtime: BotRuntime
    queue: ApprovalQueue
    orders: MemoryOrderStore
    proposals: MemoryProposalStore
    audit: RecordingAudit
    wall: ManualClock
    events: list[Event]
    script: dict[int, Step]

    def only_pending(self) -> Proposal:
        (proposal,) = self.queue.pending
        return proposal

    def fills(self) -> list[Decimal]:
        return [f.quantity for f in self.orders.list_fills(bot_id=BOT)]


def harness(
    strategy: Strategy,
    *,
    mode: ControlMode = ControlMode.MIXED,
    rules: ApprovalRules = LOOSE,
    bars: int = 30,
) -> Harness:
    bot_clock = ManualClock(CANDLES[0].ts)
    wall = ManualClock(WALL_T0)
    bus = EventBus()
    events: list[Event] = []
    bus.subscribe(ProposalCreated, events.append)
    bus.subscribe(ProposalDecided, events.append)
    budget = {"USDT": Decimal(100_000)}
    venue = MatchingPaperVenue(INST, dict(budget), bot_clock)
    portfolio = Portfolio(BOT, "USDT", dict(budget))
    store = MemoryOrderStore()
    orders = OrderManager(venue=venue, store=store, portfolio=portfolio, bus=bus, clock=bot_clock)
    proposals = MemoryProposalStore()
    audit = RecordingAudit()
    queue = ApprovalQueue(
        bot_id=BOT, symbol=INST.symbol, orders=orders, store=proposals, bus=bus,
        clock=wall, audit=audit, mode=mode, rules=rules,
    )  # fmt: skip
    script: dict[int, Step] = {}

    async def feed() -> AsyncIterator[Candle]:
        for i, candle in enumerate(CANDLES[:bars]):
            if i in script:
                await script[i]()
            yield candle

    runtime = BotRuntime(
        bot_id=BOT, strategy=strategy, instrument=INST, timeframe="1h", feed=feed(),
        venue=venue, orders=orders, portfolio=portfolio, bus=bus, clock=bot_clock,
        approvals=queue,
    )  # fmt: skip
    return Harness(runtime, queue, store, proposals, audit, wall, events, script)


async def test_approved_proposal_is_sent_and_fills_on_the_next_bar() -> None:
    h = harness(BuyOnBars({5: Decimal("0.01")}))
    decided: list[Proposal] = []

    async def approve() -> None:
        proposal = h.only_pending()
        assert proposal.reference_price == CANDLES[5].close
        h.wall.set(WALL_T0 + timedelta(seconds=20))
        decided.append(await h.queue.approve(proposal.id, "alice"))

    h.script[6] = approve
    await h.runtime.run()
    (approved,) = decided
    assert approved.status is ProposalStatus.APPROVED and approved.decided_by == "alice"
    order = h.orders.get(approved.client_order_id or "")
    assert order is not None and order.status is OrderStatus.FILLED
    (fill,) = h.orders.list_fills()
    assert (fill.quantity, fill.price) == (Decimal("0.01"), CANDLES[6].open)
    assert h.audit.actions(approved.id) == [
        ("system", "proposal.create"),
        ("alice", "proposal.approve"),
    ]
    assert [type(e) for e in h.events] == [ProposalCreated, ProposalDecided]


async def test_edited_proposal_fills_the_edited_size_not_the_proposed_one() -> None:
    h = harness(BuyOnBars({5: Decimal("0.01")}))

    async def edit() -> None:
        await h.queue.edit(h.only_pending().id, "alice", quantity=Decimal("0.003"))

    h.script[7] = edit
    await h.runtime.run()
    assert h.fills() == [Decimal("0.003")]
    (proposal,) = h.proposals.proposals.values()
    assert proposal.status is ProposalStatus.EDITED
    assert proposal.command.quantity == Decimal("0.01")
    assert h.audit.actions(proposal.id)[-1] == ("alice", "proposal.edit")


async def test_rejected_proposal_sends_nothing() -> None:
    h = harness(BuyOnBars({5: Decimal("0.01")}))

    async def reject() -> None:
        h.queue.reject(h.only_pending().id, "bob", "not now")

    h.script[6] = reject
    await h.runtime.run()
    assert h.orders.list() == [] and h.fills() == []
    (proposal,) = h.proposals.proposals.values()
    assert (proposal.status, proposal.reason) == (ProposalStatus.REJECTED, "not now")
    assert h.audit.actions(proposal.id)[-1] == ("bob", "proposal.reject")


async def test_expired_proposal_is_never_sent_and_late_approval_is_refused() -> None:
    h = harness(BuyOnBars({5: Decimal("0.01")}), rules=ApprovalRules(expiry_seconds=60))
    refusals: list[str] = []

    async def too_late() -> None:
        proposal = h.only_pending()
        h.wall.set(WALL_T0 + timedelta(seconds=61))
        with pytest.raises(ProposalExpired) as refused:
            await h.queue.approve(proposal.id, "alice")
        refusals.append(str(refused.value))

    h.script[6] = too_late
    await h.runtime.run()
    assert "expired" in refusals[0] and "nothing was sent" in refusals[0]
    assert h.orders.list() == []
    (proposal,) = h.proposals.proposals.values()
    assert proposal.status is ProposalStatus.EXPIRED and proposal.decided_by == "system"
    assert h.audit.actions(proposal.id)[-1] == ("system", "proposal.expire")


async def test_sweep_expires_due_proposals_only() -> None:
    h = harness(BuyOnBars({3: Decimal("0.01"), 8: Decimal("0.02")}, respect_open=False))
    swept: list[list[Proposal]] = []

    async def sweep() -> None:
        h.wall.set(WALL_T0 + timedelta(seconds=400))
        swept.append(h.queue.sweep())

    h.script[5] = sweep
    await h.runtime.run()
    assert [p.command.quantity for p in swept[0]] == [Decimal("0.01")]
    assert h.orders.list() == []
    statuses = sorted(p.status.value for p in h.proposals.proposals.values())
    # the second proposal waited until the feed ended; the runtime does not close the
    # queue (the bot service does), so it is still pending here
    assert statuses == ["expired", "pending"]


async def test_drift_guard_refuses_when_price_moved_beyond_the_limit() -> None:
    rules = ApprovalRules(max_drift_bps=Decimal(1))
    h = harness(BuyOnBars({5: Decimal("0.01")}), rules=rules)
    later = 12
    moved = abs(CANDLES[later - 1].close - CANDLES[5].close) * 10_000 / CANDLES[5].close
    assert moved > 1, "the seeded market must have moved for this test to mean anything"
    outcome: list[Proposal] = []

    async def approve_late() -> None:
        outcome.append(await h.queue.approve(h.only_pending().id, "alice"))

    h.script[later] = approve_late
    await h.runtime.run()
    (refused,) = outcome
    assert refused.status is ProposalStatus.REFUSED_DRIFT
    assert refused.reason is not None and "more than the 1 bps allowed" in refused.reason
    assert h.orders.list() == []
    assert h.audit.actions(refused.id)[-1] == ("alice", "proposal.refuse_drift")


async def test_drift_within_limit_is_approved_and_sent() -> None:
    moved = abs(CANDLES[11].close - CANDLES[5].close) * 10_000 / CANDLES[5].close
    rules = ApprovalRules(max_drift_bps=moved.to_integral_value() + 1)
    h = harness(BuyOnBars({5: Decimal("0.01")}), rules=rules)

    async def approve_late() -> None:
        await h.queue.approve(h.only_pending().id, "alice")

    h.script[12] = approve_late
    await h.runtime.run()
    assert h.fills() == [Decimal("0.01")]


async def test_auto_approve_below_size_sends_small_orders_and_holds_large_ones() -> None:
    small, large = Decimal("0.01"), Decimal("1")
    assert small * CANDLES[3].close < 1000 < large * CANDLES[9].close
    rules = ApprovalRules(auto_approve_below=Decimal(1000), max_drift_bps=None)
    h = harness(BuyOnBars({3: small, 9: large}), rules=rules)
    await h.runtime.run()
    assert h.fills() == [small]
    by_size = {p.command.quantity: p for p in h.proposals.proposals.values()}
    assert by_size[small].status is ProposalStatus.AUTO_APPROVED
    assert by_size[small].client_order_id is not None
    assert by_size[large].status is ProposalStatus.PENDING
    assert h.audit.actions(by_size[small].id) == [
        ("system", "proposal.create"),
        ("system", "proposal.auto_approve"),
    ]


async def test_strategy_waits_while_its_proposal_is_pending() -> None:
    strategy = BuyOnBars({3: Decimal("0.01"), 4: Decimal("0.01"), 5: Decimal("0.01")})
    h = harness(strategy)
    await h.runtime.run()
    assert len(h.proposals.proposals) == 1
    assert strategy.skipped_while_waiting == 2


async def test_second_decision_and_unknown_ids_are_refused() -> None:
    h = harness(BuyOnBars({2: Decimal("0.01")}))
    checks: list[str] = []

    async def decide_twice() -> None:
        proposal = h.only_pending()
        h.queue.reject(proposal.id, "bob")
        with pytest.raises(ConflictError, match="already rejected"):
            await h.queue.approve(proposal.id, "alice")
        with pytest.raises(NotFoundError):
            await h.queue.approve("pr-nope", "alice")
        checks.append("done")

    h.script[3] = decide_twice
    await h.runtime.run()
    assert checks == ["done"] and h.orders.list() == []


async def test_close_expires_pending_with_reason_and_refuses_new_work() -> None:
    h = harness(BuyOnBars({2: Decimal("0.01")}), bars=5)
    await h.runtime.run()
    (expired,) = h.queue.close("the bot stopped")
    assert (expired.status, expired.reason) == (ProposalStatus.EXPIRED, "the bot stopped")
    assert h.queue.close("again") == []
    with pytest.raises(ConflictError, match="not running"):
        await h.queue.submit(expired.command)


async def test_automated_mode_sends_without_proposals() -> None:
    h = harness(BuyOnBars({5: Decimal("0.01")}), mode=ControlMode.AUTOMATED)
    await h.runtime.run()
    assert h.fills() == [Decimal("0.01")] and h.proposals.proposals == {}


async def test_manual_mode_never_calls_strategy_and_trader_orders_fill_in_the_book() -> None:
    from task_station.domain.commands import SubmitOrder
    from task_station.domain.orders import OrderSide

    strategy = BuyOnBars({1: Decimal(1)})
    h = harness(strategy, mode=ControlMode.MANUAL)

    async def ticket() -> None:
        await h.queue.submit(SubmitOrder(INST.symbol, OrderSide.BUY, quantity=Decimal("0.02")))

    h.script[4] = ticket
    await h.runtime.run()
    assert strategy.calls == 0
    assert h.fills() == [Decimal("0.02")]
    assert h.runtime._portfolio.position(INST.symbol).quantity == Decimal("0.02")


async def test_mode_switch_mid_run_takes_effect_at_the_next_bar() -> None:
    strategy = BuyOnBars({4: Decimal("0.01"), 10: Decimal("0.02")}, respect_open=False)
    h = harness(strategy, mode=ControlMode.AUTOMATED)

    async def to_mixed() -> None:
        h.queue.mode = ControlMode.MIXED

    h.script[7] = to_mixed
    await h.runtime.run()
    assert h.fills() == [Decimal("0.01")]
    (proposal,) = h.proposals.proposals.values()
    assert proposal.command.quantity == Decimal("0.02") and proposal.is_pending


class BracketOnBar(Strategy):
    """Asks for one market-entry bracket on bar ``at``; records what it saw."""

    name = "bracket_on_bar"

    def __init__(self, at: int, quantity: Decimal) -> None:
        super().__init__({})
        self.at, self.quantity, self.calls = at, quantity, 0

    def on_bar(self, ctx: StrategyContext, candle: Candle) -> None:
        if self.calls == self.at:
            price = candle.close
            ctx.bracket("buy", self.quantity, None, price * Decimal("0.9"), price * Decimal("1.01"))
        self.calls += 1


async def test_a_mixed_bots_bracket_entry_waits_for_approval_then_its_exits_protect_it() -> None:
    h = harness(BracketOnBar(3, Decimal("0.01")))
    seen: list[int] = []

    async def look() -> None:
        seen.append(len(h.queue.pending))
        assert h.orders.list() == []  # nothing reached the venue before the decision

    async def approve() -> None:
        await h.queue.approve(h.only_pending().id, "alice")

    h.script[5] = look
    h.script[6] = approve
    await h.runtime.run()
    assert seen == [1]
    (proposal,) = h.proposals.proposals.values()
    assert proposal.status is ProposalStatus.APPROVED
    orders = list(reversed(h.orders.list()))
    entry = orders[0]
    assert (entry.client_order_id, entry.status) == (proposal.client_order_id, OrderStatus.FILLED)
    # The exits were placed without asking: a take-profit limit (and a watched stop).
    exits = orders[1:]
    assert exits and all(o.side.value == "sell" for o in exits)
    assert len(h.proposals.proposals) == 1


async def test_a_rejected_bracket_entry_ends_the_bracket_with_nothing_sent() -> None:
    h = harness(BracketOnBar(3, Decimal("0.01")))

    async def reject() -> None:
        h.queue.reject(h.only_pending().id, "bob", "not this one")

    h.script[6] = reject
    await h.runtime.run()
    assert h.orders.list() == [] and h.fills() == []
    (proposal,) = h.proposals.proposals.values()
    assert proposal.status is ProposalStatus.REJECTED
