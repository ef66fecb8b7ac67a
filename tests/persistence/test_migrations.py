"""The migrations build the schema the models describe, and undo it cleanly."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData

from task_station.persistence import Database, migrations_dir
from task_station.persistence.models import Base

HEAD = "0010"

EXPECTED_TABLES = {
    "users",
    "sessions",
    "accounts",
    "strategies",
    "bots",
    "orders",
    "fills",
    "portfolio_books",
    "balances",
    "positions",
    "portfolio_marks",
    "tasks",
    "triggers",
    "actions",
    "runs",
    "webhook_receipts",
    "task_schedules",
    "audit_events",
    "system_logs",
    "price_ticks",
    "chains",
    "wallets",
    "dexes",
    "dex_tokens",
    "proposals",
    "approval_rules",
    "kill_switch",
    "backtest_runs",
    "jobs",
    "notifications",
    "notification_channels",
}


def test_upgrade_from_empty_creates_every_table(empty_database: Database) -> None:
    assert empty_database.current_revision() is None
    empty_database.upgrade()
    assert empty_database.current_revision() == HEAD
    assert empty_database.table_names() == EXPECTED_TABLES | {"alembic_version"}


def test_downgrade_to_base_removes_every_table(database: Database) -> None:
    database.downgrade("base")
    assert database.current_revision() is None
    assert database.table_names() - {"alembic_version"} == set()


def test_upgrade_after_downgrade_restores_schema(database: Database) -> None:
    database.downgrade("base")
    database.upgrade("head")
    assert database.current_revision() == HEAD
    assert database.table_names() == EXPECTED_TABLES | {"alembic_version"}
    assert database.schema_drift() == []


def test_models_compared_with_migration_have_no_diffs(database: Database) -> None:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_models_with_extra_column_compared_report_diff(database: Database) -> None:
    """The comparison is not vacuous: a drifted model is noticed."""
    drifted = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(drifted)
    drifted.tables["orders"].append_column(Column("extra", Integer(), nullable=True))
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, drifted)
    assert [d[0] for d in diffs] == ["add_column"]


def test_repositories_after_reupgrade_work(database: Database) -> None:
    database.downgrade("base")
    database.upgrade()
    assert database.users.count() == 0


def test_env_driven_by_url_upgrades_and_downgrades(empty_database: Database) -> None:
    """``env.py`` also works the developer way: a URL, no connection handed in."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("sqlalchemy.url", empty_database.url)
    command.upgrade(config, "head")
    assert empty_database.current_revision() == HEAD
    assert empty_database.schema_drift() == []
    command.downgrade(config, "base")
    assert empty_database.table_names() - {"alembic_version"} == set()


def test_upgrade_0001_to_0002_keeps_existing_orders(
    empty_database: Database,
) -> None:
    """An order stored under 0001 survives 0002 and reads back as a plain GTC order."""
    from datetime import UTC, datetime
    from decimal import Decimal

    from task_station.domain.orders import Order, OrderSide, OrderType, TimeInForce

    empty_database.upgrade("0001")
    with empty_database.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO orders (client_order_id, venue, symbol, side, type, created_at, "
            "quantity, price, status, filled_quantity, filled_notional, fees) VALUES "
            "('old-1', 'paper', 'BTC/USDT', 'buy', 'limit', '2024-01-01 00:00:00+00:00', "
            "'1.5', '100', 'accepted', '0', '0', '0')"
        )
    empty_database.upgrade()
    order = empty_database.orders.get("old-1")
    assert order is not None
    assert order.time_in_force is TimeInForce.GTC and not order.post_only
    assert order.quantity == Decimal("1.5")
    stop = Order(
        client_order_id="new-1", venue="paper", symbol="BTC/USDT", side=OrderSide.SELL,
        type=OrderType.STOP_LIMIT, created_at=datetime(2024, 1, 2, tzinfo=UTC),
        quantity=Decimal("1"), price=Decimal("90"), trigger_price=Decimal("95"),
        time_in_force=TimeInForce.IOC, reduce_only=True,
    )  # fmt: skip
    empty_database.orders.add(stop)
    assert empty_database.orders.get("new-1") == stop


def test_upgrade_0004_to_0005_keeps_bots_at_bar_zero_and_adds_the_kill_switch(
    empty_database: Database,
) -> None:
    """A bot stored under 0004 reads back unchanged at feed position 0; downgrading maps
    the statuses 0004 does not know to the nearest it does."""
    from task_station.domain.bots import BotStatus

    empty_database.upgrade("0004")
    with empty_database.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO bots (id, name, strategy, params, venue, symbol, timeframe, "
            "quote_budget, created_at, mode, status, owner, error, data_source, fee_bps, "
            "control_mode) VALUES ('old-bot', 'old', 'sma_cross', '{\"fast\": 3}', 'paper', "
            "'BTC/USDT', '1h', '1000', '2024-01-01 00:00:00+00:00', 'paper', 'running', "
            "'admin', NULL, 'synthetic:7', '10', 'automated')"
        )
    empty_database.upgrade()
    old = empty_database.bots.get("old-bot")
    assert old is not None and old.status is BotStatus.RUNNING and old.params == {"fast": 3}
    assert empty_database.bots.progress("old-bot") == 0
    assert empty_database.kill_switch.load() is None
    empty_database.bots.save_progress("old-bot", 42)
    empty_database.bots.update(old.with_status(BotStatus.STOPPING))
    empty_database.downgrade("0004")
    assert "kill_switch" not in empty_database.table_names()
    with empty_database.engine.connect() as conn:
        status = conn.exec_driver_sql("SELECT status FROM bots WHERE id = 'old-bot'").scalar()
    assert status == "stopped"
