"""ccxt's unified structures -> domain objects, with money kept exact.

ccxt parses the exchange's decimal strings into ``float``. ``repr`` of such a float is the
shortest string that maps back to it, which for every price and size an exchange sends
(at most 15 significant digits) is the exchange's own number; ``to_decimal`` goes through
``repr``, so no binary fraction ever reaches an ``Order``, ``Fill`` or balance.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from task_station.domain.balances import Balance
from task_station.domain.candles import Candle
from task_station.domain.clock import ms_to_datetime
from task_station.domain.errors import DataError, ValidationError
from task_station.domain.instruments import Instrument
from task_station.domain.money import ZERO, to_decimal
from task_station.domain.orders import Fill, OrderSide, OrderStatus
from task_station.venues.ccxt_cex.types import BookSnapshot, PublicTrade, Ticker

# ccxt.base.decimal_to_precision constants, repeated so this module stays import-light.
DECIMAL_PLACES = 2
SIGNIFICANT_DIGITS = 3
TICK_SIZE = 4

Raw = Mapping[str, Any]


def dec(value: object, name: str = "value") -> Decimal | None:
    """An exact Decimal from a ccxt number or string; None stays None."""
    if value is None or value == "":
        return None
    try:
        return to_decimal(value, name=name)
    except ValidationError as exc:
        raise DataError(str(exc)) from None


def dec0(value: object, name: str = "value") -> Decimal:
    result = dec(value, name)
    return ZERO if result is None else result


def step_from_precision(value: object, precision_mode: int) -> Decimal | None:
    """The tick/lot step a market's ``precision`` entry means under ``precision_mode``."""
    number = dec(value, "precision")
    if number is None or precision_mode == SIGNIFICANT_DIGITS:
        return None  # significant digits have no fixed step
    if precision_mode == DECIMAL_PLACES:
        return Decimal(1).scaleb(-int(number))
    return number if number > ZERO else None


def instrument_from_market(venue: str, market: Raw, precision_mode: int) -> Instrument:
    """Build an ``Instrument`` from a ccxt market (precision and limits included)."""
    precision = market.get("precision") or {}
    limits = market.get("limits") or {}
    amount_limits = limits.get("amount") or {}
    cost_limits = limits.get("cost") or {}
    return Instrument(
        venue=venue,
        symbol=str(market["symbol"]),
        base=str(market["base"]),
        quote=str(market["quote"]),
        price_increment=step_from_precision(precision.get("price"), precision_mode),
        size_increment=step_from_precision(precision.get("amount"), precision_mode),
        min_size=dec0(amount_limits.get("min"), "min amount"),
        min_notional=dec0(cost_limits.get("min"), "min cost"),
    )


_STATUS = {
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "cancelled": OrderStatus.CANCELED,
    "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
}


def order_status(order: Raw) -> OrderStatus:
    """Map a ccxt order's status (and filled amount) to ours."""
    status = order.get("status")
    if status in _STATUS:
        return _STATUS[status]
    if dec0(order.get("filled"), "filled") > ZERO:
        return OrderStatus.PARTIALLY_FILLED
    return OrderStatus.ACCEPTED


def timestamp(value: object, fallback: datetime) -> datetime:
    return fallback if value is None else ms_to_datetime(int(str(value)))


def fill_from_trade(
    trade: Raw,
    client_order_id: str,
    fallback_ts: datetime,
    bot_id: str | None = None,
    side: OrderSide | None = None,
) -> Fill:
    """One of our executions (a ccxt "my trade" or an order's ``trades`` entry).

    An order's embedded trades may lack side and time (binance's ``fills``): ``side`` and
    ``fallback_ts`` (the order's) fill them in.
    """
    fee = trade.get("fee") or {}
    symbol = str(trade["symbol"])
    quote = symbol.split("/")[-1].split(":")[0]
    return Fill(
        trade_id=str(trade.get("id") or f"{trade.get('order')}-{trade.get('timestamp')}"),
        client_order_id=client_order_id,
        symbol=symbol,
        side=OrderSide(str(trade["side"])) if trade.get("side") else _need(side),
        price=dec0(trade.get("price"), "price"),
        quantity=dec0(trade.get("amount"), "amount"),
        fee=dec0(fee.get("cost"), "fee"),
        fee_currency=str(fee.get("currency") or quote),
        liquidity=str(trade.get("takerOrMaker") or "taker"),
        ts=timestamp(trade.get("timestamp"), fallback_ts),
        bot_id=bot_id,
    )


def _need(side: OrderSide | None) -> OrderSide:
    if side is None:
        raise DataError("a trade without a side, and no order to take it from")
    return side


def balances_from(balance: Raw) -> dict[str, Balance]:
    """Per-asset ``Balance`` (total and locked) from a ccxt balance structure."""
    totals: Mapping[str, Any] = balance.get("total") or {}
    used: Mapping[str, Any] = balance.get("used") or {}
    free: Mapping[str, Any] = balance.get("free") or {}
    result: dict[str, Balance] = {}
    for asset in sorted(set(totals) | set(free)):
        total = dec(totals.get(asset), asset)
        locked = dec(used.get(asset), asset)
        if total is None:
            total = dec0(free.get(asset), asset) + (locked or ZERO)
        result[asset] = Balance(asset=asset, total=total, locked=locked or ZERO)
    return result


def ticker_from(ticker: Raw, fallback_ts: datetime) -> Ticker:
    return Ticker(
        symbol=str(ticker["symbol"]),
        ts=timestamp(ticker.get("timestamp"), fallback_ts),
        bid=dec(ticker.get("bid"), "bid"),
        ask=dec(ticker.get("ask"), "ask"),
        last=dec(ticker.get("last"), "last"),
        base_volume=dec(ticker.get("baseVolume"), "baseVolume"),
    )


def public_trade_from(trade: Raw, fallback_ts: datetime) -> PublicTrade:
    side = trade.get("side")
    return PublicTrade(
        id=str(trade.get("id") or ""),
        symbol=str(trade["symbol"]),
        ts=timestamp(trade.get("timestamp"), fallback_ts),
        side=OrderSide(str(side)) if side in ("buy", "sell") else None,
        price=dec0(trade.get("price"), "price"),
        amount=dec0(trade.get("amount"), "amount"),
    )


def _levels(levels: object) -> tuple[tuple[Decimal, Decimal], ...]:
    if not isinstance(levels, list):
        return ()
    return tuple((dec0(level[0], "price"), dec0(level[1], "amount")) for level in levels)


def book_from(book: Raw, symbol: str, fallback_ts: datetime) -> BookSnapshot:
    return BookSnapshot(
        symbol=str(book.get("symbol") or symbol),
        ts=timestamp(book.get("timestamp"), fallback_ts),
        bids=_levels(book.get("bids")),
        asks=_levels(book.get("asks")),
    )


def candle_from(row: list[Any] | tuple[Any, ...]) -> Candle:
    """One ccxt OHLCV row ``[ms, open, high, low, close, volume]``."""
    ts, o, h, low, c, v = row[:6]
    return Candle(
        ts=ms_to_datetime(int(ts)),
        open=dec0(o, "open"),
        high=dec0(h, "high"),
        low=dec0(low, "low"),
        close=dec0(c, "close"),
        volume=dec0(v, "volume"),
    )
