"""CcxtVenue against a closed loopback port: error translation, no secret leaks,
pre-send validation and capabilities. Nothing here reaches the internet."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import ccxt.async_support as ccxt
import pytest

from task_station.domain.errors import (
    InsufficientFunds,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
    VenueAuthenticationError,
    VenueError,
)
from task_station.domain.orders import Order, OrderSide, OrderType, TimeInForce
from task_station.venues.base import OrderRejectedReport
from task_station.venues.ccxt_cex import CcxtVenue
from task_station.venues.ccxt_cex.errors import Action, translate
from tests.venues.ccxt_cex.conftest import API_KEY, API_SECRET, BTC_USDT, Recorder

SECRETS = (API_KEY, API_SECRET, "PASS-DISTINCTIVE-99")


def _order(**changes: object) -> Order:
    values: dict[str, object] = {
        "client_order_id": "cid-0001",
        "venue": "binance",
        "symbol": "BTC/USDT",
        "side": OrderSide.BUY,
        "type": OrderType.LIMIT,
        "created_at": datetime(2024, 1, 2, tzinfo=UTC),
        "quantity": Decimal("0.001"),
        "price": Decimal("30000"),
    }
    values.update(changes)
    return Order(**values).submit(datetime(2024, 1, 2, tzinfo=UTC))  # type: ignore[arg-type]


def _assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def _assert_clean(exc: BaseException, caplog: pytest.LogCaptureFixture) -> None:
    _assert_no_secret(str(exc))
    _assert_no_secret(repr(exc))
    _assert_no_secret("".join(traceback.format_exception(exc)))
    for record in caplog.records:
        _assert_no_secret(record.getMessage())
        _assert_no_secret(str(record.args))


async def test_unreachable_exchange_balances_raise_venue_error_without_secrets(
    offline_venue: Callable[..., CcxtVenue], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    venue = offline_venue("binance")
    with pytest.raises(VenueError, match="binance: fetch balances failed") as info:
        await venue.fetch_balances()
    _assert_clean(info.value, caplog)


async def test_unknown_create_outcome_unresolvable_raises_without_secrets(
    offline_venue: Callable[..., CcxtVenue], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    venue = offline_venue("binance")
    venue.set_markets([BTC_USDT])
    recorder = Recorder()
    venue.set_listener(recorder)
    with pytest.raises(VenueError, match="outcome unknown") as info:
        await venue.submit_order(_order())
    assert recorder.reports == []  # neither accepted nor rejected: reconciliation decides
    assert "buy 0.001 BTC/USDT @ 30000" in str(info.value)
    _assert_clean(info.value, caplog)


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (ccxt.AuthenticationError, VenueAuthenticationError),
        (ccxt.PermissionDenied, PermissionDeniedError),
        (ccxt.InsufficientFunds, InsufficientFunds),
        (ccxt.InvalidOrder, ValidationError),
        (ccxt.BadRequest, ValidationError),
        (ccxt.OrderNotFound, NotFoundError),
        (ccxt.RateLimitExceeded, VenueError),
        (ccxt.DDoSProtection, VenueError),
        (ccxt.RequestTimeout, VenueError),
        (ccxt.ExchangeNotAvailable, VenueError),
        (ccxt.NetworkError, VenueError),
    ],
)
def test_ccxt_error_translates_to_policy_class_with_masked_secret(
    raised: type[Exception], expected: type[Exception]
) -> None:
    exc = raised(f'binance {{"msg": "bad key {API_KEY} sig for {API_SECRET}"}}')
    action = Action("binance", "create", "BTC/USDT", "buy", Decimal("0.5"), Decimal("100"))
    result = translate(exc, action, SECRETS)
    assert type(result) is expected
    assert str(result).startswith("binance: create buy 0.5 BTC/USDT @ 100 failed:")
    _assert_no_secret(str(result))


async def test_order_below_minimum_is_rejected_before_sending_with_clear_reason(
    offline_venue: Callable[..., CcxtVenue],
) -> None:
    venue = offline_venue("binance")
    venue.set_markets([BTC_USDT])
    recorder = Recorder()
    venue.set_listener(recorder)
    await venue.submit_order(_order(quantity=Decimal("0.0001"), price=Decimal("100")))
    (report,) = recorder.reports
    assert isinstance(report, OrderRejectedReport)
    assert report.reason.startswith("binance: buy 0.0001 BTC/USDT @ 100 refused")
    assert "below the minimum 5.0" in report.reason


async def test_amount_and_price_are_rounded_to_market_precision_before_checks(
    offline_venue: Callable[..., CcxtVenue],
) -> None:
    venue = offline_venue("binance")
    venue.set_markets([BTC_USDT])
    recorder = Recorder()
    venue.set_listener(recorder)
    await venue.submit_order(_order(quantity=Decimal("0.000004"), price=Decimal("30000.004")))
    (report,) = recorder.reports
    assert isinstance(report, OrderRejectedReport)
    assert "rounds to zero" in report.reason


def test_binance_instrument_has_tick_and_lot_steps(
    offline_venue: Callable[..., CcxtVenue],
) -> None:
    venue = offline_venue("binance")
    venue.set_markets([BTC_USDT])
    inst = venue.instrument("BTC/USDT")
    assert inst.price_increment == Decimal("0.01")
    assert inst.size_increment == Decimal("0.00001")
    assert inst.min_notional == Decimal("5")
    with pytest.raises(ValidationError, match="no market 'ETH/BTC'"):
        venue.instrument("ETH/BTC")


def test_capabilities_come_from_exchange_tables(offline_venue: Callable[..., CcxtVenue]) -> None:
    binance = offline_venue("binance")
    assert OrderType.STOP_LIMIT in binance.capabilities.order_types
    assert binance.capabilities.websocket
    assert binance.capabilities.quote_sized_market_buy
    assert TimeInForce.FOK in binance.features.time_in_force
    assert "watchTicker" in binance.features.watches
    assert binance.capabilities.max_candles_per_request == 1000
