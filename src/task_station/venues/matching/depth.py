"""Order-book depth as integer ticks and lots.

Levels are kept best-last so taking liquidity pops from the end of a list (O(1)); a
snapshot replaces the book, and what our own fills take is gone until the next snapshot,
so a large order walks the levels and a thin book gives partial fills.
"""

from __future__ import annotations

from collections.abc import Iterable


class DepthBook:
    """Bids and asks as ``[ticks, lots]`` pairs, best price last."""

    __slots__ = ("asks", "bids")

    def __init__(self, bids: Iterable[tuple[int, int]], asks: Iterable[tuple[int, int]]) -> None:
        self.bids = [[p, q] for p, q in sorted(bids) if q > 0]  # ascending: best bid last
        self.asks = [[p, q] for p, q in sorted(asks, reverse=True) if q > 0]

    def best(self, side: int) -> int | None:
        """Best price a taker on ``side`` (+1 buy, -1 sell) would hit."""
        levels = self.asks if side > 0 else self.bids
        return levels[-1][0] if levels else None

    def spread(self) -> int | None:
        if not self.bids or not self.asks:
            return None
        return self.asks[-1][0] - self.bids[-1][0]

    def available(self, side: int, limit: int | None) -> int:
        """Lots a taker on ``side`` could get at ``limit`` or better (None: any price)."""
        levels = self.asks if side > 0 else self.bids
        total = 0
        for price, lots in reversed(levels):
            if limit is not None and (price > limit if side > 0 else price < limit):
                break
            total += lots
        return total

    def take(self, side: int, lots: int, limit: int | None) -> list[tuple[int, int]]:
        """Consume up to ``lots`` at ``limit`` or better; return ``(ticks, lots)`` per level."""
        levels = self.asks if side > 0 else self.bids
        taken: list[tuple[int, int]] = []
        while lots > 0 and levels:
            level = levels[-1]
            price = level[0]
            if limit is not None and (price > limit if side > 0 else price < limit):
                break
            got = lots if lots < level[1] else level[1]
            taken.append((price, got))
            lots -= got
            if got == level[1]:
                levels.pop()
            else:
                level[1] -= got
        return taken
