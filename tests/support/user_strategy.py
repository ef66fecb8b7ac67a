"""A trader's strategy file, as the tests write it into a station's data directory."""

from __future__ import annotations

import os
from pathlib import Path

HOLD = """\
from decimal import Decimal

from task_station.domain.candles import Candle
from task_station.strategies.base import Strategy, StrategyContext
from task_station.strategies.params import Param

SHARE = Decimal("{share}")


class ShareIn(Strategy):
    name = "{name}"
    description = "buy once with a share of the cash, then hold"
    params = (Param("delay", int, 0, "bars to wait before buying", minimum=0),)

    def on_bar(self, ctx: StrategyContext, candle: Candle) -> None:
        self.seen = getattr(self, "seen", 0) + 1
        if self.seen > self.p["delay"] and ctx.position == 0 and not ctx.has_open_orders:
            ctx.buy(quote_quantity=ctx.cash * SHARE)
"""

BROKEN = """\
from task_station.strategies.base import Strategy


class Broken(Strategy)  # the colon is missing
    name = "broken"
"""


def write_strategy(folder: Path, text: str, file: str = "my_hold.py") -> Path:
    """Write ``text`` as ``folder/file`` with a modification time the reload will see."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file
    old = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    stamp = max(path.stat().st_mtime_ns, old + 1_000_000)
    os.utime(path, ns=(stamp, stamp))
    return path


def hold(share: str = "0.5", name: str = "my_hold") -> str:
    """The source of a strategy ``name`` that buys ``share`` of its cash once."""
    return HOLD.format(share=share, name=name)
