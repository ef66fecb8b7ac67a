"""The approval queue: "the bot proposes, the trader approves".

In mixed mode the runtime hands each strategy order to the bot's ``ApprovalQueue``
instead of its order manager. The queue stores the proposal, publishes it, applies the
trader's auto-approve rules, expires what nobody decided in time, and on approval checks
how far the market moved since the proposal before it submits through the bot's own
``OrderManager`` (so the bot's book tracks the order exactly as if the strategy had sent
it).

Decisions happen on the one event loop. A proposal leaves the in-memory pending set and
its decision is stored *before* the order is awaited, so a second click arriving while
the first order is being sent finds it decided, and a crash mid-send leaves a record
saying it was approved.

The queue's clock is the station's (wall) clock, not the bot's replay clock: expiry is
how long a person has to decide, and a replayed hour of bars may take a millisecond.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from task_station.domain import proposals as transitions
from task_station.domain.bots import BotDefinition
from task_station.domain.clock import Clock
from task_station.domain.commands import SubmitOrder
from task_station.domain.errors import ConflictError, NotFoundError
from task_station.domain.events import BarClosed, ProposalCreated, ProposalDecided
from task_station.domain.orders import Order, OrderStatus
from task_station.domain.ports import AuditLog, ProposalStore
from task_station.domain.proposals import (
    SYSTEM_ACTOR,
    ApprovalRules,
    ControlMode,
    Proposal,
    ProposalExpired,
    ProposalStatus,
)
from task_station.engine.bus import EventBus
from task_station.engine.order_manager import OrderManager

log = logging.getLogger(__name__)

#: Audit action per decision; every decision is recorded, whoever (or whatever) made it.
AUDIT_ACTIONS: dict[ProposalStatus, str] = {
    ProposalStatus.APPROVED: "proposal.approve",
    ProposalStatus.EDITED: "proposal.edit",
    ProposalStatus.REJECTED: "proposal.reject",
    ProposalStatus.EXPIRED: "proposal.expire",
    ProposalStatus.REFUSED_DRIFT: "proposal.refuse_drift",
    ProposalStatus.AUTO_APPROVED: "proposal.auto_approve",
}


def new_proposal_id() -> str:
    return "pr-" + uuid.uuid4().hex[:24]


def record_decision(
    decided: Proposal, *, store: ProposalStore, bus: EventBus, audit: AuditLog, when: datetime
) -> Proposal:
    """Store, audit and publish a decision (shared by the queue and the registry)."""
    store.update(decided)
    detail = decided.describe() + (f"; {decided.reason}" if decided.reason else "")
    if decided.client_order_id is not None:
        detail += f"; order {decided.client_order_id}"
    audit.record(when, decided.decided_by, AUDIT_ACTIONS[decided.status], decided.id, detail[:2000])
    bus.publish(ProposalDecided(when, decided))
    return decided


class ApprovalQueue:
    """The proposals of one running bot, and the only way they reach its order manager.

    ``mode`` and ``rules`` are read at each decision, so a trader who changes them while
    the bot runs changes what happens to the next proposal.
    """

    def __init__(
        self,
        *,
        bot_id: str,
        symbol: str,
        orders: OrderManager,
        store: ProposalStore,
        bus: EventBus,
        clock: Clock,
        audit: AuditLog,
        mode: ControlMode = ControlMode.AUTOMATED,
        rules: ApprovalRules | None = None,
        ids: Callable[[], str] = new_proposal_id,
    ) -> None:
        self.bot_id = bot_id
        self.symbol = symbol
        self.mode = mode
        self.rules = rules if rules is not None else ApprovalRules()
        self._orders = orders
        self._store = store
        self._bus = bus
        self._clock = clock
        self._audit = audit
        self._ids = ids
        self._pending: dict[str, Proposal] = {}
        self._mark: Decimal | None = None
        self._closed = False
        self._timer: asyncio.Task[None] | None = None
        self._unsubscribe = bus.subscribe(BarClosed, self._on_bar)

    # -- state -------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def mark(self) -> Decimal | None:
        """The latest market price of the bot's symbol (the last bar's close)."""
        return self._mark

    def update_mark(self, price: Decimal) -> None:
        self._mark = price

    @property
    def pending(self) -> builtins.list[Proposal]:
        """Undecided proposals, oldest first."""
        return list(self._pending.values())

    def _on_bar(self, event: BarClosed) -> None:
        if event.bot_id == self.bot_id and event.symbol == self.symbol:
            self._mark = event.candle.close

    def _require_open(self, what: str) -> None:
        if self._closed:
            raise ConflictError(f"bot {self.bot_id} is not running; cannot {what}")

    # -- proposals ---------------------------------------------------------------------

    async def propose(self, command: SubmitOrder, reference_price: Decimal) -> Proposal:
        """Hold ``command`` for a decision; send it at once if the rules auto-approve it."""
        self._require_open("propose orders")
        now = self._clock.now()
        proposal = transitions.propose(
            self._ids(), self.bot_id, command, reference_price, now, self.rules
        )
        self._store.add(proposal)
        self._pending[proposal.id] = proposal
        self._audit.record(now, SYSTEM_ACTOR, "proposal.create", proposal.id, proposal.describe())
        self._bus.publish(ProposalCreated(now, proposal))
        auto = transitions.auto_approve(
            proposal, now=now, mark=self._mark_for(proposal), rules=self.rules
        )
        if auto is None:
            return proposal
        return await self._send(auto)

    async def approve(self, proposal_id: str, actor: str) -> Proposal:
        """Send the proposal as proposed; REFUSED_DRIFT (not sent) if the price ran away.

        Raises ``ProposalExpired`` when it is too late (the proposal is then recorded as
        expired) and ``ConflictError`` when it was already decided.
        """
        proposal = self._lookup(proposal_id)
        now = self._clock.now()
        try:
            decided = transitions.approve(
                proposal, actor=actor, now=now, mark=self._mark_for(proposal), rules=self.rules
            )
        except ProposalExpired:
            self._expire(proposal, now)
            raise
        return await self._conclude(decided)

    async def edit(
        self,
        proposal_id: str,
        actor: str,
        *,
        quantity: Decimal | None = None,
        price: Decimal | None = None,
    ) -> Proposal:
        """Send the proposal with the trader's quantity and/or price (see ``domain``)."""
        proposal = self._lookup(proposal_id)
        now = self._clock.now()
        try:
            decided = transitions.edit(
                proposal,
                actor=actor,
                now=now,
                mark=self._mark_for(proposal),
                rules=self.rules,
                quantity=quantity,
                price=price,
            )
        except ProposalExpired:
            self._expire(proposal, now)
            raise
        return await self._conclude(decided)

    def reject(self, proposal_id: str, actor: str, reason: str | None = None) -> Proposal:
        proposal = self._lookup(proposal_id)
        now = self._clock.now()
        decided = transitions.reject(proposal, actor=actor, now=now, reason=reason)
        self._pending.pop(proposal.id, None)
        return self._record(decided, now)

    def sweep(self, now: datetime | None = None) -> builtins.list[Proposal]:
        """Expire every pending proposal past its expiry; returns them."""
        now = now if now is not None else self._clock.now()
        due = [p for p in self._pending.values() if p.is_expired(now)]
        return [self._expire(p, now) for p in due]

    async def submit(self, command: SubmitOrder) -> Order:
        """Send a trader's own order (the order ticket) through the bot's order manager."""
        self._require_open("place orders")
        return await self._orders.submit(replace(command, bot_id=self.bot_id))

    # -- lifecycle ---------------------------------------------------------------------

    def start_expiry_timer(self, every: float) -> None:
        """Sweep every ``every`` seconds on the running loop until ``close``."""
        if self._timer is None and not self._closed:
            self._timer = asyncio.get_running_loop().create_task(
                self._sweep_every(every), name=f"approvals-{self.bot_id}"
            )

    async def _sweep_every(self, every: float) -> None:
        while not self._closed:
            await asyncio.sleep(every)
            try:
                self.sweep()
            except Exception:  # a failed sweep must not end the timer; the next one retries
                log.exception("expiring the proposals of bot %s failed", self.bot_id)

    def close(self, reason: str) -> builtins.list[Proposal]:
        """The bot stopped: nothing can be sent any more, so every pending proposal
        expires now with ``reason``. Idempotent."""
        if self._closed:
            return []
        self._closed = True
        self._unsubscribe()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        now = self._clock.now()
        return [self._expire(p, now, reason) for p in list(self._pending.values())]

    # -- internals ---------------------------------------------------------------------

    def _mark_for(self, proposal: Proposal) -> Decimal:
        return self._mark if self._mark is not None else proposal.reference_price

    def _lookup(self, proposal_id: str) -> Proposal:
        found = self._pending.get(proposal_id)
        if found is not None:
            return found
        stored = self._store.get(proposal_id)
        if stored is None or stored.bot_id != self.bot_id:
            raise NotFoundError(f"bot {self.bot_id} has no proposal {proposal_id!r}")
        if stored.is_pending:  # from an earlier run of the bot: it can no longer be sent
            self._expire(stored, self._clock.now(), "left over from an earlier run of the bot")
            raise ConflictError(
                f"proposal {proposal_id} was left over from an earlier run of the bot and "
                "has expired; nothing was sent"
            )
        raise ConflictError(
            f"proposal {proposal_id} is already {stored.status.value}; nothing more can be done"
        )

    def _expire(self, proposal: Proposal, now: datetime, reason: str | None = None) -> Proposal:
        self._pending.pop(proposal.id, None)
        return self._record(transitions.expire(proposal, now=now, reason=reason), now)

    def _record(self, decided: Proposal, now: datetime) -> Proposal:
        return record_decision(
            decided, store=self._store, bus=self._bus, audit=self._audit, when=now
        )

    async def _conclude(self, decided: Proposal) -> Proposal:
        if decided.status.is_sent:
            return await self._send(decided)
        self._pending.pop(decided.id, None)
        return self._record(decided, self._clock.now())

    async def _send(self, decided: Proposal) -> Proposal:
        # Decided before sending (see the module doc): no await until it is stored.
        self._pending.pop(decided.id, None)
        self._store.update(decided)
        try:
            order = await self._orders.submit(decided.order)
        except Exception as exc:
            failed = replace(decided, reason=f"approved, but the order failed: {exc}")
            self._record(failed, self._clock.now())
            raise
        sent = replace(decided, client_order_id=order.client_order_id)
        if order.status in (OrderStatus.DENIED, OrderStatus.REJECTED) and order.reason:
            sent = replace(sent, reason=f"order {order.status.value}: {order.reason}")
        return self._record(sent, self._clock.now())


class ApprovalRegistry:
    """The approval queues of the running bots, shared by the bot service (which opens
    and closes them with each run) and the proposal service (which decides)."""

    def __init__(
        self,
        *,
        store: ProposalStore,
        bus: EventBus,
        clock: Clock,
        audit: AuditLog,
        sweep_seconds: float | None = 1.0,
    ) -> None:
        self.store = store
        self._bus = bus
        self._clock = clock
        self._audit = audit
        self._sweep_seconds = sweep_seconds
        self._queues: dict[str, ApprovalQueue] = {}

    @property
    def clock(self) -> Clock:
        return self._clock

    def get(self, bot_id: str) -> ApprovalQueue | None:
        return self._queues.get(bot_id)

    def queues(self) -> builtins.list[ApprovalQueue]:
        return list(self._queues.values())

    def rules(self, bot_id: str) -> ApprovalRules:
        return self.store.get_rules(bot_id) or ApprovalRules()

    def open(self, bot: BotDefinition, orders: OrderManager) -> ApprovalQueue:
        """The queue for a bot that starts running (closing any earlier one)."""
        self.close(bot.id, "the bot was restarted")
        self.expire_leftovers(bot.id)
        queue = ApprovalQueue(
            bot_id=bot.id,
            symbol=bot.symbol,
            orders=orders,
            store=self.store,
            bus=self._bus,
            clock=self._clock,
            audit=self._audit,
            mode=bot.control_mode,
            rules=self.rules(bot.id),
        )
        if self._sweep_seconds is not None:
            with contextlib.suppress(RuntimeError):  # no running loop: sweep on demand only
                queue.start_expiry_timer(self._sweep_seconds)
        self._queues[bot.id] = queue
        return queue

    def close(self, bot_id: str, reason: str) -> builtins.list[Proposal]:
        queue = self._queues.pop(bot_id, None)
        return [] if queue is None else queue.close(reason)

    def expire_leftovers(self, bot_id: str | None = None) -> builtins.list[Proposal]:
        """Expire stored pending proposals that no running queue holds (the station
        stopped while they waited): their bot's run, and its order manager, are gone."""
        now = self._clock.now()
        expired = []
        for proposal in self.store.list(bot_id=bot_id, statuses=[ProposalStatus.PENDING]):
            if proposal.bot_id in self._queues:
                continue
            decided = transitions.expire(
                proposal, now=now, reason="left over from an earlier run of the bot"
            )
            expired.append(
                record_decision(
                    decided, store=self.store, bus=self._bus, audit=self._audit, when=now
                )
            )
        return expired
