"""The proposals dock over the real services while a mixed bot runs: the table follows
the bus, and Approve / Edit / Reject and the order ticket do what the trader clicked."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from decimal import Decimal
from typing import Any

import pytest
import qasync
from pytestqt.qtbot import QtBot

from task_station.container import Container, build_container
from task_station.domain.orders import Order, OrderStatus
from task_station.domain.proposals import ProposalStatus
from task_station.gui.docks.proposals import ProposalsDock
from task_station.services.bundle import Services
from task_station.services.users import LoginResult

from .helpers import make_bot, settle, until

Run = Callable[[Coroutine[Any, Any, Any]], Any]
LOOSE = {"expiry_seconds": 300, "max_drift_bps": None}


@pytest.fixture
def station(settings_factory: Callable[..., Any], qloop: qasync.QEventLoop) -> Iterator[Container]:
    """The real container, replaying 5 ms a bar so a run lasts while the trader clicks."""
    container = build_container(settings_factory(demo_pace_seconds=0.005))
    yield container
    qloop.run_until_complete(container.aclose())


@pytest.fixture
def dock(qtbot: QtBot, services: Services, admin: LoginResult) -> ProposalsDock:
    widget = ProposalsDock(services.proposals, services.bots, services.events, admin.principal)
    qtbot.addWidget(widget)
    return widget


def order_of(services: Services, client_order_id: str | None) -> Order | None:
    return next((o for o in services.orders.list() if o.client_order_id == client_order_id), None)


def filled(services: Services, client_order_id: str | None) -> bool:
    order = order_of(services, client_order_id)
    return order is not None and order.status is OrderStatus.FILLED


def test_approve_from_the_dock_sends_the_order_and_the_row_goes(
    dock: ProposalsDock,
    station: Container,
    services: Services,
    admin: LoginResult,
    run: Run,
) -> None:
    bot = make_bot(services, admin, "mixed", seed=11)
    services.proposals.set_mode(admin.principal, bot.id, "mixed", LOOSE)
    dock.refresh_bots()
    assert dock.chosen_bot_id() == bot.id and dock.mode_combo.currentText() == "mixed"
    assert not dock.approve_button.isEnabled()

    async def scenario() -> str:
        await services.bots.start(admin.principal, bot.id)
        await until(lambda: dock.model.rowCount() == 1, 30, "a proposal row")
        assert dock.cell_text(0, "Bot") == "mixed"
        assert dock.cell_text(0, "Side") == "buy"
        assert dock.cell_text(0, "Drift now").endswith("bps")
        assert ":" in dock.cell_text(0, "Expires in")
        proposal_id = dock.model.row_record(0).proposal.id
        assert dock.select_proposal(proposal_id) and dock.approve_button.isEnabled()
        dock.approve_button.click()  # the dock is not shown: no mouse event reaches it
        assert dock.pending == 1
        await until(lambda: dock.pending == 0, 30, "the approval to be sent")
        decided = services.proposals.get(bot.id, proposal_id).proposal
        assert decided.status is ProposalStatus.APPROVED
        assert decided.decided_by == "admin"
        await until(lambda: filled(services, decided.client_order_id), 30, "the fill")
        await until(lambda: dock.model.row_of(proposal_id) is None, 10, "the row to go")
        await services.bots.stop(admin.principal, bot.id)
        await settle()
        return proposal_id

    proposal_id = run(scenario())
    assert "approved" in dock.status.text()
    assert dock.model.rowCount() == 0  # the stop expired whatever was still waiting
    actions = [(e.actor, e.action) for e in station.database.audit.list_recent(500)]
    subjects = {e.subject for e in station.database.audit.list_recent(500)}
    assert ("admin", "proposal.approve") in actions and proposal_id in subjects


def test_edit_and_reject_from_the_dock(
    dock: ProposalsDock, services: Services, admin: LoginResult, run: Run
) -> None:
    bot = make_bot(services, admin, "mixed", seed=11)
    services.proposals.set_mode(admin.principal, bot.id, "mixed", LOOSE)

    async def scenario() -> None:
        await services.bots.start(admin.principal, bot.id)
        await until(lambda: dock.model.rowCount() == 1, 30, "a proposal row")
        first = dock.model.row_record(0).proposal
        dock.select_proposal(first.id)
        dialog = dock.open_edit_dialog()
        assert dialog is not None and not dialog.price.isEnabled()  # a market order
        dialog.quantity.setText("0.005")
        dialog.accept()
        await until(lambda: dock.pending == 0, 30, "the edit to be sent")
        edited = services.proposals.get(bot.id, first.id).proposal
        assert edited.status is ProposalStatus.EDITED
        await until(lambda: filled(services, edited.client_order_id), 30, "the edited fill")
        (fill,) = [
            f for f in services.orders.fills(bot_id=bot.id)
            if f.client_order_id == edited.client_order_id
        ]  # fmt: skip
        assert fill.quantity == Decimal("0.005")
        await until(lambda: dock.model.row_of(first.id) is None, 10, "the edited row to go")
        await until(lambda: dock.model.rowCount() == 1, 30, "the next proposal row")
        second = dock.model.row_record(0).proposal
        dock.select_proposal(second.id)
        dock.reject_selected()
        assert services.proposals.get(bot.id, second.id).proposal.status is ProposalStatus.REJECTED
        assert dock.model.row_of(second.id) is None
        await services.bots.stop(admin.principal, bot.id)
        await settle()

    run(scenario())


def test_mode_and_order_ticket_for_a_manual_bot(
    dock: ProposalsDock, services: Services, admin: LoginResult, run: Run
) -> None:
    bot = make_bot(services, admin, "by hand", seed=11)
    dock.refresh_bots()
    assert dock.choose_bot(bot.id)
    dock.mode_combo.setCurrentText("manual")
    dock.apply_mode()
    assert services.bots.get(bot.id).control_mode.value == "manual"
    assert "manual" in dock.status.text()

    async def scenario() -> None:
        await services.bots.start(admin.principal, bot.id)
        dialog = dock.open_order_ticket()
        assert dialog is not None and not dialog.price.isEnabled()
        dialog.type.setCurrentText("limit")
        assert dialog.price.isEnabled()
        dialog.quantity.setText("0.01")
        refused = dialog.submit()
        assert refused is not None
        await until(refused.done, 10, "the refusal")
        assert "needs a price" in dialog.error_text and dialog.isVisible()
        dialog.type.setCurrentText("market")
        sent = dialog.submit()
        assert sent is not None
        await until(sent.done, 10, "the order")
        assert dialog.order is not None and dialog.order.bot_id == bot.id
        order_id = dialog.order.client_order_id
        await until(lambda: filled(services, order_id), 30, "the ticket's fill")
        await services.bots.stop(admin.principal, bot.id)
        await settle()

    run(scenario())
    assert services.portfolio.book(bot.id).balances["BTC"] == Decimal("0.01")
    assert "buy BTC/USDT" in dock.status.text()


def test_viewer_sees_the_queue_with_every_action_disabled(
    qtbot: QtBot, services: Services, admin: LoginResult
) -> None:
    from task_station.domain.users import Role

    make_bot(services, admin, "watched", seed=3)
    services.users.create("vera", "vera-password-1", Role.VIEWER.value, admin.principal)
    viewer = services.auth.login("vera", "vera-password-1").principal
    dock = ProposalsDock(services.proposals, services.bots, services.events, viewer)
    qtbot.addWidget(dock)
    assert dock.bot_combo.count() == 1
    for button in (
        dock.approve_button, dock.edit_button, dock.reject_button, dock.mode_button,
        dock.ticket_button,
    ):  # fmt: skip
        assert not button.isEnabled()
