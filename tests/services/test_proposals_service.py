"""Modes, proposals and the order ticket through the services, on the real container
(SQLite file, then PostgreSQL): a running mixed bot's proposals are decided by people
with the trader role, every decision is audited under their name, and a bot that stops
leaves nothing decidable behind."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from task_station.container import Container, build_container
from task_station.domain.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from task_station.domain.events import BotControlChanged, ProposalCreated
from task_station.domain.orders import Order, OrderStatus
from task_station.domain.proposals import ApprovalRules, ControlMode, Proposal, ProposalStatus
from task_station.persistence.proposals import SqlProposalStore
from task_station.services.principal import Principal
from task_station.services.proposals import ProposalView
from tests.persistence.conftest import _postgres_database, pg_admin  # noqa: F401  (fixture)

LOOSE = {"expiry_seconds": 300, "max_drift_bps": None}
PACE = 0.005  # seconds per replayed bar: a run lasts long enough to decide during it


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def station(
    request: pytest.FixtureRequest, settings_factory: Callable[..., Any]
) -> AsyncIterator[Container]:
    if request.param == "sqlite":
        built = build_container(settings_factory(demo_pace_seconds=PACE))
        yield built
        await built.aclose()
        return
    with _postgres_database(request.getfixturevalue("pg_admin")) as url:
        built = build_container(settings_factory(demo_pace_seconds=PACE, database_url=url))
        try:
            yield built
        finally:
            await built.aclose()


def principal(station: Container, username: str, role: str, admin: Principal | None) -> Principal:
    station.services.users.create(username, f"{username}-password-1", role, actor=admin)
    return station.services.auth.login(username, f"{username}-password-1").principal


@pytest.fixture
def admin(station: Container) -> Principal:
    return principal(station, "admin", "admin", None)


@pytest.fixture
def viewer(station: Container, admin: Principal) -> Principal:
    return principal(station, "vera", "viewer", admin)


@pytest.fixture
def trader(station: Container, admin: Principal) -> Principal:
    return principal(station, "tom", "trader", admin)


def new_bot(station: Container, actor: Principal, name: str = "mixed") -> str:
    bot = station.services.bots.create(
        actor, name=name, strategy="sma_cross", params={"fast": 3, "slow": 8},
        quote_budget="10000", data_source="synthetic:5",
    )  # fmt: skip
    return bot.id


async def until(predicate: Callable[[], bool], what: str, timeout: float = 30) -> None:
    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.005)

    try:
        await asyncio.wait_for(poll(), timeout)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


async def first_pending(station: Container, bot_id: str) -> ProposalView:
    views: list[ProposalView] = []

    def found() -> bool:
        views[:] = station.services.proposals.pending(bot_id)
        return bool(views)

    await until(found, "a proposal")
    return views[0]


def order_of(station: Container, client_order_id: str) -> Order | None:
    found = [o for o in station.services.orders.list() if o.client_order_id == client_order_id]
    return found[0] if found else None


def audit(station: Container, subject: str) -> list[tuple[str | None, str]]:
    entries = station.database.audit.list_recent(500)
    return [(e.actor, e.action) for e in reversed(entries) if e.subject == subject]


async def test_set_mode_persists_mode_and_rules_and_is_audited(
    station: Container, trader: Principal
) -> None:
    s = station.services
    bot_id = new_bot(station, trader)
    changes: list[BotControlChanged] = []
    s.events.subscribe(BotControlChanged, changes.append)
    assert s.proposals.control(bot_id).mode is ControlMode.AUTOMATED
    control = s.proposals.set_mode(
        trader, bot_id, "mixed", {"expiry_seconds": 90, "auto_approve_below": "250.5"}
    )
    assert control.mode is ControlMode.MIXED and not control.running
    assert control.rules == ApprovalRules(90, Decimal(100), Decimal("250.5"), None)
    assert s.bots.get(bot_id).control_mode is ControlMode.MIXED
    assert s.proposals.control(bot_id) == control
    s.proposals.set_mode(trader, bot_id, ControlMode.MANUAL)  # rules kept when not given
    assert s.proposals.control(bot_id).rules == control.rules
    assert audit(station, bot_id)[-2:] == [("tom", "bot.mode"), ("tom", "bot.mode")]
    assert [(c.mode, c.actor) for c in changes] == [
        (ControlMode.MIXED, "tom"),
        (ControlMode.MANUAL, "tom"),
    ]
    with pytest.raises(ValidationError, match="not one of"):
        s.proposals.set_mode(trader, bot_id, "semi")
    with pytest.raises(ValidationError, match="unknown approval rule"):
        s.proposals.set_mode(trader, bot_id, "mixed", {"max_drfit_bps": 3})


async def test_viewer_reads_but_cannot_act(
    station: Container, trader: Principal, viewer: Principal
) -> None:
    s = station.services
    bot_id = new_bot(station, trader)
    assert s.proposals.list(bot_id) == []
    assert s.proposals.pending() == []
    assert s.proposals.control(bot_id).mode is ControlMode.AUTOMATED
    with pytest.raises(PermissionDeniedError, match="vera"):
        s.proposals.set_mode(viewer, bot_id, "mixed")
    with pytest.raises(PermissionDeniedError):
        await s.proposals.approve(viewer, bot_id, "pr-x")
    with pytest.raises(PermissionDeniedError):
        await s.proposals.edit(viewer, bot_id, "pr-x", quantity="1")
    with pytest.raises(PermissionDeniedError):
        s.proposals.reject(viewer, bot_id, "pr-x")
    with pytest.raises(PermissionDeniedError):
        await s.proposals.place_manual_order(viewer, bot_id, "buy", "1")


async def test_mixed_bot_proposal_approved_by_trader_fills_and_stop_expires_the_rest(
    station: Container, trader: Principal
) -> None:
    s = station.services
    bot_id = new_bot(station, trader)
    s.proposals.set_mode(trader, bot_id, "mixed", LOOSE)
    created: list[ProposalCreated] = []
    s.events.subscribe(ProposalCreated, created.append)
    await s.bots.start(trader, bot_id)
    view = await first_pending(station, bot_id)
    assert view.bot_name == "mixed" and view.mark is not None and view.drift_bps is not None
    assert view.expires_in_seconds is not None and 0 < view.expires_in_seconds <= 300
    assert s.orders.list(bot_id=bot_id) == []  # nothing sent before a decision
    approved = await s.proposals.approve(trader, bot_id, view.proposal.id)
    assert approved.status is ProposalStatus.APPROVED and approved.decided_by == "tom"

    def filled() -> bool:
        order = order_of(station, approved.client_order_id or "")
        return order is not None and order.status is OrderStatus.FILLED

    await until(filled, "the approved order to fill")
    stored = s.proposals.get(bot_id, approved.id).proposal
    assert stored == approved
    assert audit(station, approved.id) == [
        ("system", "proposal.create"),
        ("tom", "proposal.approve"),
    ]
    await first_pending(station, bot_id)  # the strategy proposes again once flat/long
    await s.bots.stop(trader, bot_id)
    assert s.proposals.pending(bot_id) == []
    expired = s.proposals.list(bot_id, status=ProposalStatus.EXPIRED)
    assert expired and all(p.proposal.reason == "the bot stopped" for p in expired)
    assert len(created) == len(s.proposals.list(bot_id))


async def test_edit_and_reject_through_the_service(station: Container, trader: Principal) -> None:
    s = station.services
    bot_id = new_bot(station, trader)
    s.proposals.set_mode(trader, bot_id, "mixed", LOOSE)
    await s.bots.start(trader, bot_id)
    view = await first_pending(station, bot_id)
    pid = view.proposal.id
    with pytest.raises(ValidationError, match="quantity must be positive"):
        await s.proposals.edit(trader, bot_id, pid, quantity="-1")
    with pytest.raises(ValidationError, match="no price to edit"):
        await s.proposals.edit(trader, bot_id, pid, price="100")
    edited = await s.proposals.edit(trader, bot_id, pid, quantity="0.01")
    assert edited.status is ProposalStatus.EDITED and edited.order.quantity == Decimal("0.01")

    def filled() -> bool:
        order = order_of(station, edited.client_order_id or "")
        return order is not None and order.status is OrderStatus.FILLED

    await until(filled, "the edited order to fill")
    (fill,) = [
        f for f in s.orders.fills(bot_id=bot_id) if f.client_order_id == edited.client_order_id
    ]
    assert fill.quantity == Decimal("0.01")
    following = await first_pending(station, bot_id)
    rejected = s.proposals.reject(trader, bot_id, following.proposal.id, "  ")
    assert rejected.status is ProposalStatus.REJECTED and rejected.reason is None
    with pytest.raises(ConflictError, match="already rejected"):
        await s.proposals.approve(trader, bot_id, rejected.id)
    await s.bots.stop(trader, bot_id)
    assert [a for a in audit(station, pid) if a[1] != "proposal.create"] == [
        ("tom", "proposal.edit")
    ]
    assert audit(station, rejected.id)[-1] == ("tom", "proposal.reject")


async def test_decisions_on_a_stopped_bot_or_unknown_ids_are_refused(
    station: Container, trader: Principal
) -> None:
    s = station.services
    bot_id = new_bot(station, trader)
    with pytest.raises(NotFoundError, match="no bot"):
        s.proposals.list("ghost")
    with pytest.raises(NotFoundError, match="has no proposal"):
        await s.proposals.approve(trader, bot_id, "pr-ghost")
    store = SqlProposalStore.on(station.database)
    stale = _pending_proposal(bot_id, s.clock.now())
    store.add(stale)
    with pytest.raises(ConflictError, match="not running"):
        await s.proposals.approve(trader, bot_id, stale.id)
    assert s.proposals.get(bot_id, stale.id).proposal.status is ProposalStatus.EXPIRED


def _pending_proposal(bot_id: str, now: Any) -> Proposal:
    from task_station.domain.commands import SubmitOrder
    from task_station.domain.orders import OrderSide
    from task_station.domain.proposals import propose

    command = SubmitOrder("BTC/USDT", OrderSide.BUY, quantity=Decimal("0.1"))
    return propose("pr-stale", bot_id, command, Decimal(30000), now, ApprovalRules())


async def test_restart_expires_proposals_left_pending(
    settings_factory: Callable[..., Any],
) -> None:
    first = build_container(settings_factory())
    try:
        admin = principal(first, "admin", "admin", None)
        bot_id = new_bot(first, admin)
        SqlProposalStore.on(first.database).add(
            _pending_proposal(bot_id, first.services.clock.now())
        )
    finally:
        await first.aclose()
    second = build_container(settings_factory())
    try:
        (view,) = second.services.proposals.list(bot_id)
        assert view.proposal.status is ProposalStatus.EXPIRED
        assert view.proposal.reason == "left over from an earlier run of the bot"
    finally:
        await second.aclose()


async def test_manual_bot_order_ticket_fills_in_the_bots_book(
    station: Container, trader: Principal
) -> None:
    s = station.services
    bot_id = new_bot(station, trader, "by hand")
    s.proposals.set_mode(trader, bot_id, "manual")
    with pytest.raises(ConflictError, match="not running"):
        await s.proposals.place_manual_order(trader, bot_id, "buy", "0.01")
    await s.bots.start(trader, bot_id)
    with pytest.raises(ValidationError, match="limit order needs a price"):
        await s.proposals.place_manual_order(trader, bot_id, "buy", "0.01", "limit")
    with pytest.raises(ValidationError, match="takes no price"):
        await s.proposals.place_manual_order(trader, bot_id, "buy", "0.01", "market", "1")
    with pytest.raises(ValidationError, match="not one of"):
        await s.proposals.place_manual_order(trader, bot_id, "hold", "0.01")
    order = await s.proposals.place_manual_order(trader, bot_id, "BUY", "0.02")
    assert order.bot_id == bot_id and order.quantity == Decimal("0.02")

    def filled() -> bool:
        current = order_of(station, order.client_order_id)
        return current is not None and current.status is OrderStatus.FILLED

    await until(filled, "the ticket's order to fill")
    await s.bots.stop(trader, bot_id)
    assert s.orders.list(bot_id=bot_id) == [
        order_of(station, order.client_order_id)
    ]  # strategy silent
    assert s.portfolio.book(bot_id).balances["BTC"] == Decimal("0.02")
    assert audit(station, order.client_order_id) == [("tom", "order.manual")]


async def test_order_ticket_refused_for_automated_bot(
    station: Container, trader: Principal
) -> None:
    s = station.services
    bot_id = new_bot(station, trader)
    await s.bots.start(trader, bot_id)
    try:
        with pytest.raises(ConflictError, match="automated"):
            await s.proposals.place_manual_order(trader, bot_id, "buy", "0.01")
    finally:
        await s.bots.stop(trader, bot_id)


async def test_expiry_timer_expires_undecided_proposals(
    station: Container, trader: Principal
) -> None:
    s = station.services
    bot_id = new_bot(station, trader)
    s.proposals.set_mode(trader, bot_id, "mixed", {"expiry_seconds": 5, "max_drift_bps": None})
    await s.bots.start(trader, bot_id)
    view = await first_pending(station, bot_id)
    assert replace(view.proposal, status=ProposalStatus.PENDING) == view.proposal

    def expired() -> bool:
        return s.proposals.get(bot_id, view.proposal.id).proposal.status is ProposalStatus.EXPIRED

    await until(expired, "the proposal to expire", timeout=20)
    got = s.proposals.get(bot_id, view.proposal.id).proposal
    assert got.decided_at is not None and got.decided_at - got.created_at >= timedelta(seconds=5)
    await s.bots.stop(trader, bot_id)
