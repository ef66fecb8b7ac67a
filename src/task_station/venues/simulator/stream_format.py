"""Binance spot WebSocket stream events (miniTicker, trade, depthUpdate, kline)."""

from __future__ import annotations

from task_station.domain.candles import Candle
from task_station.domain.money import ZERO
from task_station.venues.simulator.binance_format import Json, kline_row, num
from task_station.venues.simulator.market import PublicTrade


def mini_ticker(sym: str, bars: list[Candle], now_ms: int) -> Json:
    """A ``24hrMiniTicker`` stream event over ``bars``."""
    volume = sum((b.volume for b in bars), ZERO)
    return {
        "e": "24hrMiniTicker",
        "E": now_ms,
        "s": sym,
        "c": num(bars[-1].close),
        "o": num(bars[0].open),
        "h": num(max(b.high for b in bars)),
        "l": num(min(b.low for b in bars)),
        "v": num(volume),
        "q": num(sum((b.volume * b.close for b in bars), ZERO)),
    }


def trade_event(sym: str, trade: PublicTrade, now_ms: int) -> Json:
    return {
        "e": "trade",
        "E": now_ms,
        "s": sym,
        "t": trade.trade_id,
        "p": num(trade.price),
        "q": num(trade.quantity),
        "T": trade.ts_ms,
        "m": trade.buyer_is_maker,
        "M": True,
    }


def depth_diff(
    sym: str,
    update_id: int,
    now_ms: int,
    before: tuple[list[list[str]], list[list[str]]],
    after: tuple[list[list[str]], list[list[str]]],
) -> Json:
    """A ``depthUpdate`` turning book ``before`` into ``after`` (gone levels at qty 0)."""

    def diff(old: list[list[str]], new: list[list[str]]) -> list[list[str]]:
        kept = {p for p, _ in new}
        return [[p, num(ZERO)] for p, _ in old if p not in kept] + new

    return {
        "e": "depthUpdate",
        "E": now_ms,
        "s": sym,
        "U": update_id,
        "u": update_id,
        "b": diff(before[0], after[0]),
        "a": diff(before[1], after[1]),
    }


def kline_event(sym: str, bar: Candle, timeframe: str, now_ms: int) -> Json:
    row = kline_row(bar, timeframe)
    return {
        "e": "kline",
        "E": now_ms,
        "s": sym,
        "k": {
            "t": row[0], "T": row[6], "s": sym, "i": timeframe, "f": 0, "L": 3,
            "o": row[1], "c": row[4], "h": row[2], "l": row[3], "v": row[5], "n": 4,
            "x": True, "q": row[7], "V": row[9], "Q": row[10], "B": "0",
        },
    }  # fmt: skip


def agg_trade_row(trade: PublicTrade) -> Json:
    """One ``GET /api/v3/aggTrades`` entry.

    The simulator prints no partial fills, so each trade is its own aggregate: ``a``
    (and ``f``, ``l``) is the trade id, the same id the ``@trade`` stream sends.
    """
    return {
        "a": trade.trade_id,
        "p": num(trade.price),
        "q": num(trade.quantity),
        "f": trade.trade_id,
        "l": trade.trade_id,
        "T": trade.ts_ms,
        "m": trade.buyer_is_maker,
        "M": True,
    }


def agg_trade_event(sym: str, trade: PublicTrade, now_ms: int) -> Json:
    """An ``aggTrade`` stream event (ids shared with ``aggTrades`` over REST)."""
    return {"e": "aggTrade", "E": now_ms, "s": sym, **agg_trade_row(trade)}


def select_agg_trades(
    trades: list[PublicTrade],
    *,
    from_id: int | None,
    start_ms: int | None,
    end_ms: int | None,
    limit: int,
) -> list[Json]:
    """``aggTrades`` query semantics: ``fromId`` onwards, or a time window (oldest
    first, at most ``limit``), or else the most recent ``limit`` trades."""
    if from_id is not None:
        chosen = [t for t in trades if t.trade_id >= from_id][:limit]
    elif start_ms is not None or end_ms is not None:
        lo, hi = start_ms or 0, end_ms if end_ms is not None else 2**62
        chosen = [t for t in trades if lo <= t.ts_ms <= hi][:limit]
    else:
        chosen = trades[-limit:]
    return [agg_trade_row(t) for t in chosen]
