"""Bots, portfolio books, users, sessions and the audit log on both backends."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from task_station.domain.balances import Balance
from task_station.domain.bots import BotStatus
from task_station.domain.errors import ConflictError, NotFoundError, ValidationError
from task_station.domain.ports import PortfolioSnapshot
from task_station.domain.positions import Position
from task_station.persistence import Database

from .factories import BIG, PLUS_TWO, T0, at, bot, user

# --- bots -----------------------------------------------------------------------------


def test_bot_round_trips_with_exact_params(database: Database) -> None:
    definition = bot()
    database.bots.add(definition)
    back = database.bots.get(definition.id)
    assert back == definition
    assert back is not None and back.params["step"] == Decimal("0.000000000000000123")


def test_duplicate_bot_raises_conflict_and_keeps_table(database: Database) -> None:
    database.bots.add(bot())
    with pytest.raises(ConflictError, match="already exists"):
        database.bots.add(bot(name="other"))
    assert database.bots.list() == [bot()]


def test_bot_update_persists_status(database: Database) -> None:
    definition = bot()
    database.bots.add(definition)
    running = definition.with_status(BotStatus.STARTING).with_status(BotStatus.RUNNING)
    database.bots.update(running)
    assert database.bots.get(definition.id) == running


def test_bot_update_of_unknown_raises_not_found(database: Database) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        database.bots.update(bot("ghost"))
    assert database.bots.get("ghost") is None


def test_bot_list_oldest_first(database: Database) -> None:
    later = replace(bot("b-2", "later"), created_at=at(10))
    database.bots.add(later)
    database.bots.add(bot("b-1"))
    assert [b.id for b in database.bots.list()] == ["b-1", "b-2"]


# --- portfolio ------------------------------------------------------------------------


def _book(bot_id: str | None, cash: Decimal, *symbols: str) -> PortfolioSnapshot:
    return PortfolioSnapshot(
        bot_id=bot_id,
        balances=(Balance("USDT", cash, Decimal("1.5")), Balance("BTC", BIG)),
        positions=tuple(
            Position(s, BIG, Decimal("-0.000000000000000001"), Decimal("7"), Decimal("0.1"), bot_id)
            for s in symbols
        ),
        marks=tuple((s, Decimal("65000.123456789012345678")) for s in symbols),
    )


def test_portfolio_round_trips_equal(database: Database) -> None:
    snapshot = _book("bot-1", Decimal("1000"), "BTC/USDT", "ETH/USDT")
    database.portfolio.save(snapshot, T0)
    assert database.portfolio.load("bot-1") == snapshot


def test_portfolio_never_saved_loads_none(database: Database) -> None:
    assert database.portfolio.load("bot-1") is None
    assert database.portfolio.load(None) is None


def test_portfolio_saved_empty_loads_empty(database: Database) -> None:
    empty = PortfolioSnapshot(bot_id=None, balances=(), positions=())
    database.portfolio.save(empty, T0)
    assert database.portfolio.load(None) == empty


def test_portfolio_save_replaces_previous_book(database: Database) -> None:
    database.portfolio.save(_book("bot-1", Decimal("1000"), "BTC/USDT", "ETH/USDT"), T0)
    replacement = PortfolioSnapshot(
        bot_id="bot-1", balances=(Balance("EUR", Decimal("3")),), positions=()
    )
    database.portfolio.save(replacement, at(60))
    assert database.portfolio.load("bot-1") == replacement


def test_account_and_bot_books_coexist(database: Database) -> None:
    account = _book(None, Decimal("5000"), "BTC/USDT")
    bot_book = _book("bot-1", Decimal("250"), "ETH/USDT")
    database.portfolio.save(account, T0)
    database.portfolio.save(bot_book, T0)
    database.portfolio.save(account, at(1))  # re-saving the account book keeps one copy
    assert database.portfolio.load(None) == account
    assert database.portfolio.load("bot-1") == bot_book


def test_portfolio_duplicate_asset_raises_validation(database: Database) -> None:
    bad = PortfolioSnapshot(bot_id=None, balances=(Balance("BTC"), Balance("BTC")), positions=())
    with pytest.raises(ValidationError, match="BTC twice"):
        database.portfolio.save(bad, T0)
    assert database.portfolio.load(None) is None


def test_portfolio_empty_bot_id_raises_validation(database: Database) -> None:
    with pytest.raises(ValidationError, match="empty"):
        database.portfolio.load("")


# --- users ----------------------------------------------------------------------------


def test_user_round_trips_with_lower_case_name(database: Database) -> None:
    database.users.add(user())
    back = database.users.get("u-1")
    assert back == replace(user(), username="alice")
    assert database.users.get_by_username("ALICE") == back
    assert database.users.count() == 1


def test_username_other_case_raises_conflict(database: Database) -> None:
    database.users.add(user())
    with pytest.raises(ConflictError, match="'alice' is taken"):
        database.users.add(user("u-2", "aLiCe"))
    assert database.users.count() == 1


def test_duplicate_user_id_raises_conflict(database: Database) -> None:
    database.users.add(user())
    with pytest.raises(ConflictError):
        database.users.add(user("u-1", "bob"))
    assert database.users.count() == 1
    assert database.users.get_by_username("bob") is None


def test_unknown_user_lookups_return_none(database: Database) -> None:
    assert database.users.get("nobody") is None
    assert database.users.get_by_username("nobody") is None
    assert database.users.count() == 0


# --- sessions -------------------------------------------------------------------------


def test_session_active_until_expiry(database: Database) -> None:
    database.users.add(user())
    expires = T0 + timedelta(hours=1)
    database.sessions.open("s-1", "u-1", T0, expires)
    assert database.sessions.is_active("s-1", T0)
    assert database.sessions.is_active(
        "s-1", (expires - timedelta(microseconds=1)).astimezone(PLUS_TWO)
    )
    assert not database.sessions.is_active("s-1", expires)
    assert not database.sessions.is_active("unknown", T0)


def test_session_revoked_is_inactive(database: Database) -> None:
    database.users.add(user())
    database.sessions.open("s-1", "u-1", T0, T0 + timedelta(hours=1))
    database.sessions.revoke("s-1", at(5))
    database.sessions.revoke("s-1", at(6))  # idempotent
    database.sessions.revoke("never-opened", at(6))  # no-op
    assert not database.sessions.is_active("s-1", at(10))


def test_session_for_unknown_user_raises_not_found(database: Database) -> None:
    with pytest.raises(NotFoundError, match="user ghost"):
        database.sessions.open("s-1", "ghost", T0, T0 + timedelta(hours=1))


def test_duplicate_session_raises_conflict_without_id(database: Database) -> None:
    database.users.add(user())
    database.sessions.open("secret-token", "u-1", T0, T0 + timedelta(hours=1))
    with pytest.raises(ConflictError) as caught:
        database.sessions.open("secret-token", "u-1", T0, T0 + timedelta(hours=2))
    assert "secret-token" not in str(caught.value)
    assert caught.value.__cause__ is None
    assert not database.sessions.is_active("secret-token", T0 + timedelta(minutes=90))


# --- audit ----------------------------------------------------------------------------


def test_audit_events_read_back_newest_first(database: Database) -> None:
    database.audit.record(at(1), "alice", "bot.start", "bot-1", "grid one")
    database.audit.record(at(2), None, "system.boot", "station")
    entries = database.audit.list_recent()
    assert [(e.ts, e.actor, e.action, e.subject, e.detail) for e in entries] == [
        (at(2), None, "system.boot", "station", ""),
        (at(1), "alice", "bot.start", "bot-1", "grid one"),
    ]
    assert len(database.audit.list_recent(limit=1)) == 1
