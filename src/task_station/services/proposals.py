"""Bot modes, proposals and the order ticket: who decides a bot's orders, and deciding.

Everyone logged in may read (a viewer watches the queue); deciding, changing a mode or
placing an order by hand needs the trader role, and every one of those acts is in the
audit log under the person's name. Decisions on a running bot go through its
``ApprovalQueue`` (the drift guard, expiry and the order manager live there); a bot that
is not running has no order manager, so nothing can be sent for it.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from task_station.domain.bots import BotDefinition
from task_station.domain.clock import Clock
from task_station.domain.commands import SubmitOrder
from task_station.domain.errors import ConflictError, NotFoundError, ValidationError
from task_station.domain.events import BotControlChanged
from task_station.domain.money import ZERO, to_decimal
from task_station.domain.orders import Order, OrderSide, OrderType
from task_station.domain.ports import AuditLog, BotStore
from task_station.domain.proposals import ApprovalRules, ControlMode, Proposal, ProposalStatus
from task_station.engine.approvals import ApprovalQueue, ApprovalRegistry
from task_station.engine.bus import EventBus
from task_station.services.principal import Principal

#: Order types a trader can send from the ticket (stops belong to the risk settings).
TICKET_TYPES = (OrderType.MARKET, OrderType.LIMIT)


@dataclass(frozen=True, slots=True)
class ProposalView:
    """A proposal with what a trader needs to decide: the bot's name and, while the bot
    runs, the latest price and how far it moved from the proposal's reference."""

    proposal: Proposal
    bot_name: str
    mark: Decimal | None
    drift_bps: Decimal | None
    expires_in_seconds: int | None  # while pending; never below 0


@dataclass(frozen=True, slots=True)
class BotControl:
    """Who decides a bot's orders, under which rules, and whether it runs now."""

    bot_id: str
    mode: ControlMode
    rules: ApprovalRules
    running: bool


def _enum(kind: type[OrderSide] | type[OrderType] | type[ControlMode], value: object) -> str:
    text = str(value).strip().lower()
    allowed = [m.value for m in kind]
    if text not in allowed:
        raise ValidationError(f"{value!r} is not one of {', '.join(allowed)}")
    return text


def _positive(value: object, name: str) -> Decimal:
    number = to_decimal(value, name=name)
    if number <= ZERO:
        raise ValidationError(f"{name} must be positive, got {number}")
    return number


class ProposalService:
    def __init__(
        self,
        *,
        bots: BotStore,
        approvals: ApprovalRegistry,
        audit: AuditLog,
        bus: EventBus,
        clock: Clock,
    ) -> None:
        self._bots = bots
        self._approvals = approvals
        self._store = approvals.store
        self._audit = audit
        self._bus = bus
        self._clock = clock

    # -- queries -----------------------------------------------------------------------

    def list(
        self, bot_id: str, *, status: ProposalStatus | None = None, limit: int = 200
    ) -> builtins.list[ProposalView]:
        """The bot's proposals, newest first; only those in ``status`` when given."""
        bot = self._bot(bot_id)
        self._sweep(bot_id)
        statuses = None if status is None else [status]
        found = self._store.list(bot_id=bot_id, statuses=statuses, limit=max(1, min(limit, 1000)))
        return [self._view(p, bot) for p in found]

    def pending(self, bot_id: str | None = None) -> builtins.list[ProposalView]:
        """Undecided proposals (of every bot unless ``bot_id``), oldest first: the queue
        a trader works through."""
        if bot_id is not None:
            self._bot(bot_id)
        self._sweep(bot_id)
        found = self._store.list(bot_id=bot_id, statuses=[ProposalStatus.PENDING])
        names: dict[str, BotDefinition] = {}
        views = []
        for proposal in reversed(found):
            bot = names.get(proposal.bot_id)
            if bot is None:
                bot = names[proposal.bot_id] = self._bot(proposal.bot_id)
            views.append(self._view(proposal, bot))
        return views

    def get(self, bot_id: str, proposal_id: str) -> ProposalView:
        bot = self._bot(bot_id)
        return self._view(self._proposal(bot, proposal_id), bot)

    def control(self, bot_id: str) -> BotControl:
        bot = self._bot(bot_id)
        return BotControl(
            bot.id,
            bot.control_mode,
            self._approvals.rules(bot.id),
            self._approvals.get(bot.id) is not None,
        )

    def mark(self, bot_id: str) -> Decimal | None:
        """The latest price a running bot saw (None when it is not running)."""
        queue = self._approvals.get(bot_id)
        return None if queue is None else queue.mark

    # -- decisions ---------------------------------------------------------------------

    async def approve(self, actor: Principal, bot_id: str, proposal_id: str) -> Proposal:
        """Send the proposed order; the result may be REFUSED_DRIFT (see the reason)."""
        actor.require_trader("approve proposals")
        queue = self._queue_for(bot_id, proposal_id, "approve proposals")
        return await queue.approve(proposal_id, actor.username)

    async def edit(
        self,
        actor: Principal,
        bot_id: str,
        proposal_id: str,
        *,
        quantity: object | None = None,
        price: object | None = None,
    ) -> Proposal:
        """Send the proposed order with the trader's quantity and/or limit price."""
        actor.require_trader("edit proposals")
        qty = None if quantity is None else _positive(quantity, "quantity")
        limit = None if price is None else _positive(price, "price")
        queue = self._queue_for(bot_id, proposal_id, "edit proposals")
        return await queue.edit(proposal_id, actor.username, quantity=qty, price=limit)

    def reject(
        self, actor: Principal, bot_id: str, proposal_id: str, reason: str | None = None
    ) -> Proposal:
        actor.require_trader("reject proposals")
        if reason is not None and len(reason) > 500:
            raise ValidationError("a rejection reason has at most 500 characters")
        queue = self._queue_for(bot_id, proposal_id, "reject proposals")
        return queue.reject(proposal_id, actor.username, (reason or "").strip() or None)

    # -- modes and rules ---------------------------------------------------------------

    def set_mode(
        self,
        actor: Principal,
        bot_id: str,
        mode: ControlMode | str,
        rules: ApprovalRules | Mapping[str, object] | None = None,
    ) -> BotControl:
        """Change who decides the bot's orders (and, if given, the approval rules).

        A running bot follows at its next bar. Proposals already waiting stay decidable
        whatever the new mode: they were made under the old one and the trader saw them.
        """
        actor.require_trader("change bot modes")
        bot = self._bot(bot_id)
        new_mode = ControlMode(_enum(ControlMode, mode))
        if rules is None or isinstance(rules, ApprovalRules):
            new_rules = rules
        else:
            new_rules = ApprovalRules.from_mapping(rules)
        now = self._clock.now()
        if new_rules is not None:
            self._store.save_rules(bot.id, new_rules, now)
        if new_mode is not bot.control_mode:
            self._bots.update(replace(self._bot(bot_id), control_mode=new_mode))
        queue = self._approvals.get(bot.id)
        if queue is not None:
            queue.mode = new_mode
            if new_rules is not None:
                queue.rules = new_rules
        control = self.control(bot.id)
        self._audit.record(
            now, actor.username, "bot.mode", bot.id, f"{new_mode.value}; {control.rules}"
        )
        self._bus.publish(BotControlChanged(now, bot.id, new_mode, actor.username))
        return control

    # -- the order ticket --------------------------------------------------------------

    async def place_manual_order(
        self,
        actor: Principal,
        bot_id: str,
        side: OrderSide | str,
        quantity: object,
        type: OrderType | str = OrderType.MARKET,
        price: object | None = None,
    ) -> Order:
        """Send the trader's own order through the bot's order manager (its book, its
        checks), for a bot in manual or mixed mode that is running.

        Automated bots refuse: their strategy sizes from the book and would be surprised
        by an order it did not place.
        """
        actor.require_trader("place orders")
        bot = self._bot(bot_id)
        order_side = OrderSide(_enum(OrderSide, side))
        order_type = OrderType(_enum(OrderType, type))
        if order_type not in TICKET_TYPES:
            raise ValidationError("the order ticket sends market or limit orders")
        qty = _positive(quantity, "quantity")
        if order_type is OrderType.LIMIT:
            if price is None:
                raise ValidationError("a limit order needs a price")
            limit: Decimal | None = _positive(price, "price")
        else:
            if price is not None:
                raise ValidationError("a market order takes no price; choose limit to set one")
            limit = None
        queue = self._running(bot, "take orders by hand")
        if queue.mode is ControlMode.AUTOMATED:
            raise ConflictError(
                f"bot {bot.name!r} is automated: its strategy places its orders; switch it to "
                "manual or mixed to trade it by hand"
            )
        command = SubmitOrder(
            symbol=bot.symbol,
            side=order_side,
            type=order_type,
            quantity=qty,
            price=limit,
            bot_id=bot.id,
        )
        order = await queue.submit(command)
        price_text = f" @ {limit}" if limit is not None else ""
        self._audit.record(
            self._clock.now(),
            actor.username,
            "order.manual",
            order.client_order_id,
            f"bot {bot.id}: {order_side.value} {qty} {bot.symbol} {order_type.value}"
            f"{price_text} -> {order.status.value}",
        )
        return order

    # -- internals ---------------------------------------------------------------------

    def _bot(self, bot_id: str) -> BotDefinition:
        bot = self._bots.get(bot_id)
        if bot is None:
            raise NotFoundError(f"no bot with id {bot_id!r}")
        return bot

    def _proposal(self, bot: BotDefinition, proposal_id: str) -> Proposal:
        proposal = self._store.get(proposal_id)
        if proposal is None or proposal.bot_id != bot.id:
            raise NotFoundError(f"bot {bot.name!r} has no proposal {proposal_id!r}")
        return proposal

    def _running(self, bot: BotDefinition, action: str) -> ApprovalQueue:
        queue = self._approvals.get(bot.id)
        if queue is None:
            self._approvals.expire_leftovers(bot.id)
            raise ConflictError(
                f"bot {bot.name!r} is not running, so it cannot {action}; start it first"
            )
        return queue

    def _queue_for(self, bot_id: str, proposal_id: str, action: str) -> ApprovalQueue:
        bot = self._bot(bot_id)
        self._proposal(bot, proposal_id)  # 404 before 409: name what does not exist first
        return self._running(bot, action)

    def _sweep(self, bot_id: str | None) -> None:
        """Expire what is due before reading, so a listed pending proposal is decidable."""
        if bot_id is not None:
            queue = self._approvals.get(bot_id)
            if queue is not None:
                queue.sweep()
            return
        for queue in self._approvals.queues():
            queue.sweep()

    def _view(self, proposal: Proposal, bot: BotDefinition) -> ProposalView:
        mark = self.mark(bot.id)
        pending = proposal.is_pending
        drift = proposal.drift_bps(mark) if mark is not None and pending else None
        left = None
        if pending:
            left = max(0, int(proposal.expires_in(self._clock.now()).total_seconds()))
        return ProposalView(proposal, bot.name, mark, drift, left)
