"""Where an order trades inside one candle (the v1 paper venue's rules, extended).

A bar gives only open, high, low and close, so the rules are conservative: a limit
needs the bar to trade *through* it (touching is not enough), an order that arrives
when the bar opens beyond its price takes the open, and a stop gapped through fills at
the open rather than at a trigger price that never traded.
"""

from __future__ import annotations

from decimal import Decimal

from task_station.domain.candles import Candle
from task_station.venues.matching.model import MAKER, TAKER, WorkingOrder


def trigger_price(w: WorkingOrder, bar: Candle) -> Decimal | None:
    """The price at which ``w``'s stop fires in ``bar``, or None if it does not."""
    t = w.trigger
    assert t is not None
    if w.side > 0:
        if bar.open >= t:
            return bar.open
        return t if bar.high >= t else None
    if bar.open <= t:
        return bar.open
    return t if bar.low <= t else None


def limit_match(w: WorkingOrder, bar: Candle) -> tuple[Decimal, str] | None:
    """Price and liquidity role of a limit order in ``bar``, or None if it does not trade.

    An order that arrives with the bar (v1) takes the open when the bar opens through
    its limit; an order already resting in the book is hit at its own limit as maker.
    """
    limit = w.price
    assert limit is not None
    if w.side > 0:
        if bar.open <= limit:
            return (limit, MAKER) if w.rested else (bar.open, TAKER)
        return (limit, MAKER) if bar.low < limit else None
    if bar.open >= limit:
        return (limit, MAKER) if w.rested else (bar.open, TAKER)
    return (limit, MAKER) if bar.high > limit else None


def marketable_after_trigger(w: WorkingOrder, price: Decimal) -> bool:
    """True if a triggered stop-limit can trade at ``price`` without breaking its limit."""
    limit = w.price
    assert limit is not None
    return price <= limit if w.side > 0 else price >= limit
