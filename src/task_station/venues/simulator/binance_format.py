"""Domain objects rendered as Binance spot JSON (shapes copied from real responses).

Pure functions: no I/O, so every payload the simulator sends can be checked in a test.
Numbers are strings with eight decimals, as Binance prints them.
"""

from __future__ import annotations

from decimal import Decimal

from task_station.domain.candles import TIMEFRAME_SECONDS, Candle
from task_station.domain.clock import datetime_to_ms
from task_station.domain.instruments import Instrument
from task_station.domain.money import ZERO
from task_station.domain.orders import Fill, Order, OrderStatus, OrderType, TimeInForce

Json = dict[str, object]

BINANCE_TYPES = {
    OrderType.MARKET: "MARKET",
    OrderType.LIMIT: "LIMIT",
    OrderType.STOP_MARKET: "STOP_LOSS",
    OrderType.STOP_LIMIT: "STOP_LOSS_LIMIT",
}


def num(value: Decimal | None) -> str:
    """Binance's fixed eight-decimal number string."""
    return f"{(value or ZERO):.8f}"


def market_id(inst: Instrument) -> str:
    return f"{inst.base}{inst.quote}"


def symbol_info(inst: Instrument) -> Json:
    """One ``exchangeInfo.symbols`` entry with PRICE_FILTER, LOT_SIZE and NOTIONAL."""
    return {
        "symbol": market_id(inst),
        "status": "TRADING",
        "baseAsset": inst.base,
        "baseAssetPrecision": 8,
        "quoteAsset": inst.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT"],
        "icebergAllowed": False,
        "ocoAllowed": False,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": num(inst.price_increment),
                "maxPrice": "1000000.00000000",
                "tickSize": num(inst.price_increment),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": num(inst.min_size or inst.size_increment),
                "maxQty": "9000.00000000",
                "stepSize": num(inst.size_increment),
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": num(inst.min_notional),
                "applyMinToMarket": True,
                "maxNotional": "9000000.00000000",
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "NONE",
        "allowedSelfTradePreventionModes": ["NONE"],
    }


def status_of(order: Order) -> str:
    """Binance's status word; an IOC/FOK remainder that died is EXPIRED there."""
    status = order.status
    if status in (OrderStatus.ACCEPTED, OrderStatus.TRIGGERED, OrderStatus.SUBMITTED):
        return "NEW"
    if status is OrderStatus.CANCELED and order.time_in_force is not TimeInForce.GTC:
        return "EXPIRED"
    if status is OrderStatus.CANCELED and order.type is OrderType.MARKET:
        return "EXPIRED"
    return status.value.upper()


def order_json(order: Order, inst: Instrument, order_id: int, transact_ms: int) -> Json:
    """The ``RESULT``-style order object of POST/GET/DELETE ``/api/v3/order``."""
    kind = "LIMIT_MAKER" if order.post_only else BINANCE_TYPES[order.type]
    created = datetime_to_ms(order.created_at)
    return {
        "symbol": market_id(inst),
        "orderId": order_id,
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        "transactTime": transact_ms,
        "price": num(order.price),
        "origQty": num(order.quantity or order.filled_quantity),
        "executedQty": num(order.filled_quantity),
        "origQuoteOrderQty": num(order.quote_quantity),
        "cummulativeQuoteQty": num(order.filled_notional),
        "status": status_of(order),
        "timeInForce": order.time_in_force.value.upper(),
        "type": kind,
        "side": order.side.value.upper(),
        "stopPrice": num(order.trigger_price),
        "icebergQty": num(ZERO),
        "time": created,
        "updateTime": transact_ms,
        "isWorking": order.status.is_open,
        "workingTime": created,
        "selfTradePreventionMode": "NONE",
    }


def trade_json(fill: Fill, inst: Instrument, trade_id: int, order_id: int) -> Json:
    """One ``myTrades`` entry."""
    return {
        "symbol": market_id(inst),
        "id": trade_id,
        "orderId": order_id,
        "orderListId": -1,
        "price": num(fill.price),
        "qty": num(fill.quantity),
        "quoteQty": num(fill.notional),
        "commission": num(fill.fee),
        "commissionAsset": fill.fee_currency,
        "time": datetime_to_ms(fill.ts),
        "isBuyer": fill.side.value == "buy",
        "isMaker": fill.liquidity == "maker",
        "isBestMatch": True,
    }


def kline_row(bar: Candle, timeframe: str) -> list[object]:
    """One ``/api/v3/klines`` row."""
    open_ms = datetime_to_ms(bar.ts)
    close_ms = open_ms + TIMEFRAME_SECONDS[timeframe] * 1000 - 1
    quote_volume = bar.volume * bar.close
    return [open_ms, num(bar.open), num(bar.high), num(bar.low), num(bar.close),
            num(bar.volume), close_ms, num(quote_volume), 4, num(bar.volume / 2),
            num(quote_volume / 2), "0"]  # fmt: skip


def ticker_24h(inst: Instrument, bars: list[Candle], book: tuple[list[list[str]], ...]) -> Json:
    """``/api/v3/ticker/24hr`` for one symbol over ``bars`` (the last day)."""
    first, last = bars[0], bars[-1]
    volume = sum((b.volume for b in bars), ZERO)
    quote_volume = sum((b.volume * b.close for b in bars), ZERO)
    change = last.close - first.open
    bids, asks = book
    return {
        "symbol": market_id(inst),
        "priceChange": num(change),
        "priceChangePercent": f"{change / first.open * 100:.3f}",
        "weightedAvgPrice": num(quote_volume / volume if volume else last.close),
        "prevClosePrice": num(first.open),
        "lastPrice": num(last.close),
        "lastQty": num(ZERO),
        "bidPrice": bids[0][0] if bids else num(ZERO),
        "bidQty": bids[0][1] if bids else num(ZERO),
        "askPrice": asks[0][0] if asks else num(ZERO),
        "askQty": asks[0][1] if asks else num(ZERO),
        "openPrice": num(first.open),
        "highPrice": num(max(b.high for b in bars)),
        "lowPrice": num(min(b.low for b in bars)),
        "volume": num(volume),
        "quoteVolume": num(quote_volume),
        "openTime": datetime_to_ms(first.ts),
        "closeTime": datetime_to_ms(last.ts) + 1,
        "firstId": 0,
        "lastId": 0,
        "count": len(bars) * 4,
    }
