"""Upgrades from every earlier schema revision keep the station's rows.

For each revision before head (found from the migration scripts, so a new one is tested
without touching this file), an empty database is migrated to it, one representative
row goes into every table that revision has, and the database is upgraded to head. Every
value of every seeded row must read back the same (columns dropped on purpose by a later
revision excepted), and the repositories must read the old rows as domain objects.

``test_migrations.py`` checks single steps in detail (0001 -> 0002 orders, 0004 -> 0005
bots); this checks every path to head.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    Table,
    select,
)

from task_station.domain.bots import BotStatus
from task_station.domain.orders import OrderStatus
from task_station.persistence import Database
from task_station.persistence.backup import schema_revisions

T0 = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
ADDRESS = "0x" + "ab" * 20

#: One row per table, with the columns the table had when it was introduced. Later
#: revisions only add columns with defaults (or nullable ones): that is what lets an
#: old row upgrade at all. Tables are filled in this order (foreign keys first).
SEEDS: dict[str, dict[str, Any]] = {
    "users": {"id": "u-1", "username": "veteran", "role": "admin",
              "password_hash": "$2b$04$" + "x" * 53, "active": True, "created_at": T0},
    "sessions": {"id": "s-1", "user_id": "u-1", "created_at": T0,
                 "expires_at": T0 + timedelta(hours=12), "revoked_at": None},
    "accounts": {"id": "a-1", "name": "main", "venue": "binance", "sandbox": True,
                 "secret_ref": "account:a-1", "created_at": T0},
    "strategies": {"id": 1, "name": "sma_cross", "version": "1",
                   "params_schema": {"fast": "int"}, "created_at": T0},
    "bots": {"id": "b-1", "name": "old bot", "strategy": "sma_cross",
             "params": {"fast": 3, "slow": 8}, "venue": "paper", "symbol": "BTC/USDT",
             "timeframe": "1h", "quote_budget": "1000", "created_at": T0, "mode": "paper",
             "status": "running", "owner": "veteran", "error": None,
             "data_source": "synthetic:7", "fee_bps": "10"},
    "orders": {"id": 1, "client_order_id": "o-1", "venue": "paper", "symbol": "BTC/USDT",
               "side": "buy", "type": "limit", "created_at": T0, "quantity": "1.5",
               "quote_quantity": None, "price": "100", "bot_id": "b-1", "status": "filled",
               "filled_quantity": "1.5", "filled_notional": "150", "fees": "0.15",
               "venue_order_id": "v-1", "reason": None, "updated_at": T0},
    "fills": {"id": 1, "order_id": 1, "trade_id": "t-1", "symbol": "BTC/USDT", "side": "buy",
              "price": "100", "quantity": "1.5", "fee": "0.15", "fee_currency": "USDT",
              "liquidity": "taker", "ts": T0, "bot_id": "b-1"},
    "portfolio_books": {"book": "b-1", "saved_at": T0},
    "balances": {"id": 1, "book": "b-1", "asset": "USDT", "total": "849.85", "locked": "0"},
    "positions": {"id": 1, "book": "b-1", "symbol": "BTC/USDT", "quantity": "1.5",
                  "cost": "150.15", "realized_pnl": "0", "fees_paid": "0.15"},
    "portfolio_marks": {"id": 1, "book": "b-1", "symbol": "BTC/USDT", "price": "101"},
    "tasks": {"id": "t-1", "name": "nightly", "description": "report", "enabled": True,
              "owner": "veteran", "created_at": T0, "updated_at": None},
    "triggers": {"id": 1, "task_id": "t-1", "kind": "cron", "config": {"cron": "0 0 * * *"},
                 "enabled": True},
    "actions": {"id": 1, "task_id": "t-1", "position": 0, "kind": "notify",
                "config": {"text": "done"}},
    "runs": {"id": 1, "task_id": "t-1", "trigger_id": 1, "started_at": T0,
             "finished_at": T0 + timedelta(seconds=3), "status": "succeeded", "output": "ok"},
    "audit_events": {"id": 1, "ts": T0, "actor": "veteran", "action": "bot.create",
                     "subject": "b-1", "detail": "created"},
    "system_logs": {"id": 1, "ts": T0, "level": "INFO", "logger": "task_station",
                    "message": "hello"},
    "price_ticks": {"venue": "paper", "symbol": "BTC/USDT", "ts": T0, "bid": "100",
                    "ask": "101", "last": "100.5"},
    # 0003
    "chains": {"chain_id": 31337, "name": "dev", "rpc_url": "http://127.0.0.1:8545",
               "native_symbol": "ETH", "rpc_secret_ref": None, "created_at": T0},
    "wallets": {"id": "w-1", "chain_id": 31337, "address": ADDRESS, "label": "hot",
                "watch_only": True, "secret_ref": None, "created_at": T0},
    "dexes": {"id": "d-1", "chain_id": 31337, "name": "uni", "router": ADDRESS,
              "factory": ADDRESS, "fee_bps": 30, "created_at": T0},
    "dex_tokens": {"id": 1, "dex_id": "d-1", "address": ADDRESS, "symbol": "WETH",
                   "decimals": 18, "created_at": T0},
    # 0004
    "proposals": {"id": "p-1", "bot_id": "b-1", "symbol": "BTC/USDT", "side": "buy",
                  "type": "limit", "quantity": "1", "quote_quantity": None, "price": "100",
                  "trigger_price": None, "time_in_force": "gtc", "post_only": False,
                  "reduce_only": False, "reference_price": "100", "created_at": T0,
                  "expires_at": T0 + timedelta(minutes=5), "status": "pending",
                  "decided_by": None, "decided_at": None, "reason": None, "edited": False,
                  "edited_quantity": None, "edited_quote_quantity": None,
                  "edited_price": None, "client_order_id": None},
    "approval_rules": {"bot_id": "b-1", "expiry_seconds": 300, "max_drift_bps": "50",
                       "auto_approve_below": None, "auto_approve_within_bps": None,
                       "updated_at": T0},
    # 0005
    "kill_switch": {"id": "global", "engaged": False, "actor": None, "reason": None,
                    "since": None},
    # 0007
    "backtest_runs": {"id": "r-1", "created_at": T0, "started_at": T0, "finished_at": T0,
                      "created_by": "veteran", "status": "finished", "progress": 1.0,
                      "strategy": "sma_cross", "params": {"fast": 3}, "symbol": "BTC/USDT",
                      "timeframe": "1h", "data_source": "synthetic:7", "bars": 100,
                      "cash": "1000", "fee_bps": "10", "final_equity": "1010",
                      "trade_count": 2, "metrics": {"sharpe": 1.25}, "result": None,
                      "error": None, "report_path": None},
    # 0008
    "webhook_receipts": {"id": 1, "trigger_id": 1, "fingerprint": "f" * 64,
                         "received_at": T0, "run_id": 1},
    "task_schedules": {"id": "job-1", "next_run_time": 1_700_000_000.0,
                       "job_state": b"\x80\x04N."},
}  # fmt: skip

EARLIER = schema_revisions()[:-1]


def _stored_time(value: datetime, dialect: str) -> datetime:
    """What the station writes: naive UTC on SQLite, aware elsewhere."""
    return value.replace(tzinfo=None) if dialect == "sqlite" else value


def _filler(column: Any, dialect: str) -> Any:
    """A value for a required column a seed does not name (added by a later revision)."""
    kind = column.type
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, DateTime):
        return _stored_time(T0, dialect)
    if isinstance(kind, Integer | Float | Numeric):
        return 0
    if isinstance(kind, JSON):
        return {}
    if isinstance(kind, LargeBinary):
        return b""
    return "x"


def _seed(connection: Connection, tables: dict[str, Table]) -> None:
    dialect = connection.dialect.name
    for name, seed in SEEDS.items():
        table = tables.get(name)
        if table is None:
            continue
        row = {k: _stored_time(v, dialect) if isinstance(v, datetime) else v
               for k, v in seed.items() if k in table.c}  # fmt: skip
        for column in table.c:
            required = not column.nullable and column.server_default is None
            if column.name not in row and required and column.autoincrement is not True:
                row[column.name] = _filler(column, dialect)
        connection.execute(table.insert(), [row])


def _normal(value: Any) -> Any:
    """One representation per value, whatever type a column was reflected with."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, str | int | float | Decimal) and not isinstance(value, bool):
        try:
            return Decimal(str(value)).normalize()
        except InvalidOperation:
            return value
    return value


def _snapshot(connection: Connection, names: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The row of each of the tables ``names`` that exists, by column."""
    metadata = MetaData()
    metadata.reflect(connection)
    rows: dict[str, dict[str, Any]] = {}
    for name in names:
        if name in metadata.tables:
            found = connection.execute(select(metadata.tables[name])).mappings().all()
            assert len(found) == 1, f"{name}: {len(found)} rows"
            rows[name] = {k: _normal(v) for k, v in found[0].items()}
    return rows


@pytest.mark.parametrize("revision", EARLIER)
def test_upgrade_from_each_earlier_revision_keeps_every_row(
    empty_database: Database, revision: str
) -> None:
    empty_database.upgrade(revision)
    metadata = MetaData()
    with empty_database.engine.begin() as connection:
        metadata.reflect(connection)
        _seed(connection, dict(metadata.tables))
    with empty_database.engine.connect() as connection:
        before = _snapshot(connection, SEEDS)
    assert {"users", "bots", "orders", "fills", "tasks"} <= set(before)

    empty_database.upgrade()

    assert empty_database.current_revision() == schema_revisions()[-1]
    assert empty_database.schema_drift() == []
    with empty_database.engine.connect() as connection:
        after = _snapshot(connection, before)
    for table, row in before.items():
        assert table in after, f"{table} was dropped by the upgrade from {revision}"
        kept = {k: v for k, v in row.items() if k in after[table]}
        assert {k: after[table][k] for k in kept} == kept, f"{table} changed"
    _read_as_domain_objects(empty_database)


def _read_as_domain_objects(database: Database) -> None:
    """The repositories of head read the old rows."""
    user = database.users.get_by_username("veteran")
    assert user is not None and user.id == "u-1"
    bot = database.bots.get("b-1")
    assert bot is not None and bot.status is BotStatus.RUNNING
    assert bot.params == {"fast": 3, "slow": 8} and bot.quote_budget == Decimal("1000")
    order = database.orders.get("o-1")
    assert order is not None and order.status is OrderStatus.FILLED
    assert order.quantity == Decimal("1.5") and order.created_at == T0
    fills = database.orders.list_fills(bot_id="b-1")
    assert [(f.trade_id, f.fee) for f in fills] == [("t-1", Decimal("0.15"))]
    book = database.portfolio.load("b-1")
    assert book is not None
    assert {b.asset: b.total for b in book.balances} == {"USDT": Decimal("849.85")}
    assert [a.id for a in database.accounts.list()] == ["a-1"]
