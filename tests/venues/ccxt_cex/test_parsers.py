"""Recorded exchange responses -> ccxt's real parsers -> our conversions -> domain values.

Every expected number is read from the raw JSON string and compared as an exact Decimal,
so a float that slipped through would show. Sync ccxt classes are used: their parsers are
the same as the async ones and they hold no session to close. Offline: markets come from
recorded responses through ``set_markets``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt
import pytest

from task_station.domain.orders import OrderSide, OrderStatus
from task_station.venues.ccxt_cex import convert

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _load(root: Path, rel: str) -> Any:
    return json.loads((root / "exchange-responses" / rel).read_text())


@pytest.fixture(scope="module")
def binance(shared_data: Path) -> ccxt.binance:
    """binance with every spot market of the 2021 capture (parse_market needs the margin
    pair lists that load_markets would fetch; empty lists stand in for them)."""
    ex = ccxt.binance()
    ex.options["crossMarginPairsData"] = []
    ex.options["isolatedMarginPairsData"] = []
    info = _load(shared_data, "binance/capture-2021-10-12/rest-exchangeInfo.json")
    ex.set_markets([ex.parse_market(s) for s in info["symbols"]])
    return ex


def _filter(market: dict[str, Any], kind: str) -> dict[str, str]:
    return next(f for f in market["info"]["filters"] if f["filterType"] == kind)


def test_binance_market_becomes_instrument_with_exact_filters(binance: ccxt.binance) -> None:
    market = binance.markets["BTC/USDT"]
    inst = convert.instrument_from_market("binance", market, binance.precisionMode)
    assert inst.price_increment == Decimal(_filter(market, "PRICE_FILTER")["tickSize"])
    assert inst.size_increment == Decimal(_filter(market, "LOT_SIZE")["stepSize"])
    assert inst.min_size == Decimal(_filter(market, "LOT_SIZE")["minQty"])
    assert inst.min_notional == Decimal(_filter(market, "MIN_NOTIONAL")["minNotional"])
    assert (inst.base, inst.quote) == ("BTC", "USDT")


def test_decimal_places_precision_mode_gives_power_of_ten_steps() -> None:
    market = {
        "symbol": "X/Y",
        "base": "X",
        "quote": "Y",
        "precision": {"price": 2, "amount": 8},
        "limits": {},
    }
    inst = convert.instrument_from_market("v", market, convert.DECIMAL_PLACES)
    assert inst.price_increment == Decimal("0.01")
    assert inst.size_increment == Decimal("0.00000001")


def test_binance_full_order_response_gives_filled_status_and_exact_fills(
    binance: ccxt.binance, shared_data: Path
) -> None:
    raw = _load(shared_data, "binance/samples/spot/http_json/new_order_full_response.json")
    order = binance.parse_order(raw)
    assert convert.order_status(order) is OrderStatus.FILLED
    fills = [convert.fill_from_trade(t, "cid-1", T0, side=OrderSide.SELL) for t in order["trades"]]
    assert len(fills) == len(raw["fills"])
    for fill, expected in zip(fills, raw["fills"], strict=True):
        assert fill.price == Decimal(expected["price"])
        assert fill.quantity == Decimal(expected["qty"])
        assert fill.fee == Decimal(expected["commission"])
        assert fill.fee_currency == expected["commissionAsset"]
        assert fill.side is OrderSide.SELL
    assert sum(f.quantity for f in fills) == Decimal(raw["executedQty"])


def test_binance_my_trades_become_fills(binance: ccxt.binance, shared_data: Path) -> None:
    raws = _load(shared_data, "binance/samples/spot/http_json/account_trades_response.json")
    for raw in raws:
        fill = convert.fill_from_trade(binance.parse_trade(raw), "cid", T0)
        assert fill.trade_id == str(raw["id"])
        assert fill.price == Decimal(raw["price"])
        assert fill.quantity == Decimal(raw["qty"])
        assert fill.fee == Decimal(raw["commission"])
        assert fill.side is (OrderSide.BUY if raw["isBuyer"] else OrderSide.SELL)
        assert fill.liquidity == ("maker" if raw["isMaker"] else "taker")
        assert fill.ts == datetime.fromtimestamp(raw["time"] / 1000, UTC)


def test_binance_account_balances_are_exact(binance: ccxt.binance, shared_data: Path) -> None:
    raw = _load(shared_data, "binance/samples/spot/http_json/account_response.json")
    balances = convert.balances_from(binance.parse_balance_custom(raw, "spot"))
    for row in raw["balances"]:
        bal = balances[binance.safe_currency_code(row["asset"])]
        assert bal.free == Decimal(row["free"])
        assert bal.locked == Decimal(row["locked"])


def test_binance_depth_and_klines_keep_raw_strings(
    binance: ccxt.binance, shared_data: Path
) -> None:
    depth = _load(shared_data, "binance/samples/spot/http_json/depth_response.json")
    book = convert.book_from(binance.parse_order_book(depth, "BTC/USDT"), "BTC/USDT", T0)
    assert book.bids == tuple((Decimal(p), Decimal(q)) for p, q in depth["bids"])
    assert book.asks == tuple((Decimal(p), Decimal(q)) for p, q in depth["asks"])
    klines = _load(shared_data, "binance/samples/spot/http_json/klines_response.json")
    candle = convert.candle_from(binance.parse_ohlcv(klines[0]))
    assert (candle.open, candle.high, candle.low, candle.close, candle.volume) == tuple(
        Decimal(v) for v in klines[0][1:6]
    )


def _static_case(root: Path, exchange: str, method: str) -> dict[str, Any]:
    cases: dict[str, Any] = _load(root, f"{exchange}/ccxt-static-cases.json")
    case: dict[str, Any] = cases["methods"][method][0]
    return case


def test_kraken_ticker_case_gives_exact_bid_ask_last(shared_data: Path) -> None:
    case = _static_case(shared_data, "kraken", "fetchTicker")
    raw = case["httpResponse"]["result"]["XBTUSDT"]
    ticker = convert.ticker_from(ccxt.kraken().parse_ticker(raw, {"symbol": "BTC/USDT"}), T0)
    assert ticker.bid == Decimal(raw["b"][0])
    assert ticker.ask == Decimal(raw["a"][0])
    assert ticker.last == Decimal(raw["c"][0])
    assert ticker.symbol == case["parsedResponse"]["symbol"]


def test_kraken_open_order_case_maps_to_accepted(shared_data: Path) -> None:
    case = _static_case(shared_data, "kraken", "fetchOrder")
    ((order_id, raw),) = case["httpResponse"]["result"].items()
    kraken = ccxt.kraken()
    parsed = kraken.parse_order(dict(raw, id=order_id), {"symbol": "LTC/USDT"})
    assert convert.order_status(parsed) is OrderStatus.ACCEPTED
    assert convert.dec(parsed["amount"]) == Decimal(raw["vol"])
    assert convert.dec(parsed["price"]) == Decimal(raw["descr"]["price"])


def test_coinbase_my_trades_case_becomes_exact_fill(shared_data: Path) -> None:
    case = _static_case(shared_data, "coinbase", "fetchMyTrades")
    raw = case["httpResponse"]["fills"][0]
    market = {"symbol": "ADA/USDT", "base": "ADA", "quote": "USDT", "id": raw["product_id"]}
    fill = convert.fill_from_trade(ccxt.coinbase().parse_trade(raw, market), "cid", T0)
    assert fill.price == Decimal(raw["price"])
    assert fill.quantity == Decimal(raw["size"])
    assert fill.fee == Decimal(raw["commission"])
    assert fill.side is OrderSide(raw["side"].lower())


def test_okx_public_trades_keep_exact_price_and_size(shared_data: Path) -> None:
    raws = _load(shared_data, "okx/samples/http_get_trades.json")["data"]
    okx = ccxt.okx()
    market = {"symbol": "BTC/USDT", "base": "BTC", "quote": "USDT", "id": "BTC-USDT"}
    for raw in raws:
        trade = convert.public_trade_from(okx.parse_trade(raw, market), T0)
        assert (trade.price, trade.amount) == (Decimal(raw["px"]), Decimal(raw["sz"]))
        assert trade.side is OrderSide(raw["side"])
        assert trade.id == raw["tradeId"]


def test_bybit_canceled_order_maps_to_canceled_with_exact_amounts(shared_data: Path) -> None:
    raw = _load(shared_data, "bybit/samples/http_get_orders_history.json")["result"]["list"][0]
    market = {
        "symbol": "BTC/USDT",
        "base": "BTC",
        "quote": "USDT",
        "id": "BTCUSDT",
        "spot": True,
        "type": "spot",
        "contract": False,
        "linear": None,
        "inverse": None,
    }
    parsed = ccxt.bybit().parse_order(raw, market)
    assert convert.order_status(parsed) is OrderStatus.CANCELED
    assert convert.dec(parsed["amount"]) == Decimal(raw["qty"])
    assert convert.dec(parsed["price"]) == Decimal(raw["price"])
    assert parsed["clientOrderId"] == raw["orderLinkId"]
