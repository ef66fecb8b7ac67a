"""Proposals and approval rules on both backends: exact money, UTC times, decisions."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from task_station.domain.bots import BotDefinition
from task_station.domain.commands import SubmitOrder
from task_station.domain.errors import ConflictError, NotFoundError
from task_station.domain.orders import OrderSide, OrderType, TimeInForce
from task_station.domain.proposals import (
    ApprovalRules,
    ControlMode,
    Proposal,
    ProposalStatus,
    edit,
    propose,
    reject,
)
from task_station.persistence import Database
from task_station.persistence.proposals import SqlProposalStore

from .factories import BIG, PLUS_TWO, T0, at

RULES = ApprovalRules(expiry_seconds=60, max_drift_bps=None)


def bot(bot_id: str = "bot-1", **changes: object) -> BotDefinition:
    record = BotDefinition(
        id=bot_id, name=f"bot {bot_id}", strategy="sma_cross", params={}, venue="paper",
        symbol="BTC/USDT", timeframe="1h", quote_budget=Decimal(1000), created_at=T0,
    )  # fmt: skip
    return replace(record, **changes)  # type: ignore[arg-type]


@pytest.fixture
def store(database: Database) -> SqlProposalStore:
    database.bots.add(bot())
    return SqlProposalStore.on(database)


def limit_buy(pid: str = "p-1", created: float = 0, bot_id: str = "bot-1") -> Proposal:
    command = SubmitOrder(
        "BTC/USDT", OrderSide.BUY, OrderType.LIMIT, quantity=BIG, price=Decimal("0.1"),
        time_in_force=TimeInForce.IOC, post_only=True,
    )  # fmt: skip
    return propose(pid, bot_id, command, Decimal("30000.123456789"), at(created), RULES)


def test_pending_proposal_round_trips_exactly_in_utc(store: SqlProposalStore) -> None:
    proposal = limit_buy()
    shifted = replace(proposal, created_at=proposal.created_at.astimezone(PLUS_TWO))
    store.add(shifted)
    assert store.get("p-1") == proposal
    assert store.get("nope") is None


def test_edited_decision_round_trips_with_the_edited_order(store: SqlProposalStore) -> None:
    store.add(limit_buy())
    decided = edit(
        limit_buy(), actor="alice", now=at(5), mark=Decimal(30000), rules=RULES,
        quantity=Decimal("0.000000000000000001"), price=Decimal("29999.99"),
    )  # fmt: skip
    decided = replace(decided, client_order_id="ts-abc")
    store.update(decided)
    back = store.get("p-1")
    assert back == decided
    assert back is not None and back.order.quantity == Decimal("0.000000000000000001")
    assert back.command.quantity == BIG  # what the bot proposed is kept beside the edit


def test_quote_sized_proposal_round_trips(store: SqlProposalStore) -> None:
    command = SubmitOrder("BTC/USDT", OrderSide.BUY, quote_quantity=Decimal("999.99"))
    proposal = propose("p-q", "bot-1", command, Decimal(100), T0, RULES)
    store.add(proposal)
    assert store.get("p-q") == proposal


def test_list_filters_by_bot_and_status_newest_first(
    database: Database, store: SqlProposalStore
) -> None:
    database.bots.add(bot("bot-2"))
    for n in range(3):
        store.add(limit_buy(f"p-{n}", created=n))
    store.add(limit_buy("other", created=9, bot_id="bot-2"))
    store.update(reject(limit_buy("p-1", created=1), actor="bob", now=at(2)))
    assert [p.id for p in store.list(bot_id="bot-1")] == ["p-2", "p-1", "p-0"]
    pending = store.list(bot_id="bot-1", statuses=[ProposalStatus.PENDING])
    assert [p.id for p in pending] == ["p-2", "p-0"]
    assert [p.id for p in store.list(statuses=[ProposalStatus.REJECTED])] == ["p-1"]
    assert [p.id for p in store.list(limit=1)] == ["other"]


def test_duplicate_id_conflicts_and_unknown_bot_or_id_not_found(store: SqlProposalStore) -> None:
    store.add(limit_buy())
    with pytest.raises(ConflictError, match="already exists"):
        store.add(limit_buy())
    with pytest.raises(NotFoundError):
        store.add(limit_buy("p-x", bot_id="ghost"))
    with pytest.raises(NotFoundError, match="does not exist"):
        store.update(limit_buy("never-added"))


def test_rules_save_replace_and_read_back_exactly(store: SqlProposalStore) -> None:
    assert store.get_rules("bot-1") is None
    rules = ApprovalRules(120, Decimal("12.5"), Decimal("0.000000001"), Decimal(0))
    store.save_rules("bot-1", rules, T0)
    assert store.get_rules("bot-1") == rules
    store.save_rules("bot-1", ApprovalRules(), T0 + timedelta(seconds=1))
    assert store.get_rules("bot-1") == ApprovalRules()
    with pytest.raises(NotFoundError):
        store.save_rules("ghost", rules, T0)


def test_bot_control_mode_round_trips_and_defaults_to_automated(database: Database) -> None:
    database.bots.add(bot("auto"))
    database.bots.add(bot("mixed", control_mode=ControlMode.MIXED))
    auto, mixed = database.bots.get("auto"), database.bots.get("mixed")
    assert auto is not None and auto.control_mode is ControlMode.AUTOMATED
    assert mixed is not None and mixed.control_mode is ControlMode.MIXED
    database.bots.update(replace(mixed, control_mode=ControlMode.MANUAL))
    back = database.bots.get("mixed")
    assert back is not None and back.control_mode is ControlMode.MANUAL


def test_upgrade_from_0003_keeps_bots_as_automated(empty_database: Database) -> None:
    empty_database.upgrade("0003")
    with empty_database.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO bots (id, name, strategy, params, venue, symbol, timeframe, "
            "quote_budget, created_at, mode, status, data_source, fee_bps) VALUES "
            "('old', 'old bot', 'sma_cross', '{}', 'paper', 'BTC/USDT', '1h', '1000', "
            "'2024-01-01 00:00:00+00:00', 'paper', 'created', 'synthetic:7', '10')"
        )
    empty_database.upgrade()
    old = empty_database.bots.get("old")
    assert old is not None and old.control_mode is ControlMode.AUTOMATED
    empty_database.downgrade("0003")
    assert "proposals" not in empty_database.table_names()
