"""The metrics collector counts what the bus tells it, and only that."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from task_station.domain.bots import BotStatus
from task_station.domain.candles import Candle
from task_station.domain.events import (
    BarClosed,
    BotStatusChanged,
    OrderDenied,
    OrderFilled,
    OrderUpdated,
)
from task_station.domain.orders import Fill, Order, OrderSide, OrderType
from task_station.engine.bus import EventBus
from task_station.services.metrics import StationMetrics

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


@pytest.fixture
def bus() -> EventBus:
    return EventBus()


@pytest.fixture
def metrics(bus: EventBus) -> Iterator[StationMetrics]:
    collector = StationMetrics(
        bus, wall_clock=lambda: NOW, logger=logging.getLogger("task_station.test_metrics")
    )
    yield collector
    collector.close()


def _order(coid: str = "o-1", venue: str = "paper") -> Order:
    return Order(
        client_order_id=coid, venue=venue, symbol="BTC/USDT", side=OrderSide.BUY,
        type=OrderType.LIMIT, created_at=NOW, quantity=Decimal("1"), price=Decimal("100"),
    )  # fmt: skip


def _fill(order: Order) -> Fill:
    return Fill(
        trade_id=f"t-{order.client_order_id}", client_order_id=order.client_order_id,
        symbol=order.symbol, side=order.side, price=Decimal("100"), quantity=Decimal("1"),
        fee=Decimal("0.1"), fee_currency="USDT", liquidity="taker", ts=NOW,
    )  # fmt: skip


def test_order_lifecycle_counts_submitted_filled_and_round_trip(
    bus: EventBus, metrics: StationMetrics
) -> None:
    submitted = _order().submit(NOW)
    bus.publish(OrderUpdated(NOW, submitted))
    accepted = submitted.accept("v-1", NOW)
    bus.publish(OrderUpdated(NOW, accepted))
    fill = _fill(accepted)
    bus.publish(OrderFilled(NOW, accepted.fill(fill, complete=True), fill))
    assert metrics.value("task_station_orders_submitted_total", venue="paper") == 1
    assert metrics.value("task_station_orders_filled_total", venue="paper") == 1
    assert metrics.value("task_station_fills_total", venue="paper", side="buy") == 1
    # one round trip: submitted -> accepted (the fill after it is not a second one)
    assert metrics.value("task_station_order_round_trip_seconds_count") == 1
    assert b"task_station_orders_submitted_total" in metrics.render()


def test_rejected_and_denied_orders_are_counted_apart(
    bus: EventBus, metrics: StationMetrics
) -> None:
    submitted = _order("o-2", venue="binance").submit(NOW)
    bus.publish(OrderUpdated(NOW, submitted))
    bus.publish(OrderUpdated(NOW, submitted.reject("insufficient balance", NOW)))
    bus.publish(OrderDenied(NOW, _order("o-3").deny("over the limit", NOW), "over the limit"))
    assert metrics.value("task_station_orders_rejected_total", venue="binance") == 1
    assert metrics.value("task_station_orders_denied_total", venue="paper") == 1
    assert metrics.value("task_station_orders_submitted_total", venue="paper") == 0
    assert metrics.value("task_station_order_round_trip_seconds_count") == 1


def test_bots_running_follows_status_events_and_errors_count_once(
    bus: EventBus, metrics: StationMetrics
) -> None:
    bus.publish(BotStatusChanged(NOW, "a", "a", BotStatus.RUNNING))
    bus.publish(BotStatusChanged(NOW, "b", "b", BotStatus.RUNNING))
    bus.publish(BotStatusChanged(NOW, "b", "b", BotStatus.PAUSED))
    assert metrics.value("task_station_bots_running") == 2
    bus.publish(BotStatusChanged(NOW, "a", "a", BotStatus.ERROR, "boom"))
    bus.publish(BotStatusChanged(NOW, "a", "a", BotStatus.ERROR, "boom"))
    assert metrics.value("task_station_bots_running") == 1
    assert metrics.value("task_station_errors_total", source="bot") == 1


def test_error_log_records_are_counted_until_closed(metrics: StationMetrics) -> None:
    logger = logging.getLogger("task_station.test_metrics.child")
    logger.warning("only a warning")
    logger.error("a real error")
    assert metrics.value("task_station_errors_total", source="log") == 1
    metrics.close()
    logger.error("after close")
    assert metrics.value("task_station_errors_total", source="log") == 1


def test_feed_lag_counts_live_bars_and_ignores_replayed_history(
    bus: EventBus, metrics: StationMetrics
) -> None:
    candle = Candle(NOW, Decimal(1), Decimal(1), Decimal(1), Decimal(1), Decimal(1))
    bus.publish(BarClosed(NOW - timedelta(seconds=2), None, "binance", "BTC/USDT", "1m", candle))
    bus.publish(BarClosed(NOW - timedelta(days=400), "bot", "paper", "ETH/USDT", "1h", candle))
    assert metrics.feed_lags() == {"binance:BTC/USDT:1m": 2.0}
    assert metrics.value("task_station_feed_lag_seconds", feed="binance:BTC/USDT:1m") == 2.0


def test_close_unsubscribes_from_the_bus(bus: EventBus, metrics: StationMetrics) -> None:
    assert bus.listeners(OrderUpdated) == 1
    metrics.close()
    assert bus.listeners(OrderUpdated) == 0 and bus.listeners(BarClosed) == 0
