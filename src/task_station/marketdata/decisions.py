"""The bots' decisions next to the market data: orders, fills and proposals as JSON lines.

``<root>/decisions/<bot_id>/<YYYY-MM-DD>.jsonl``, one object per line, partitioned by
the UTC day of its ``ts`` like the trades and book snapshots beside it. ``ts`` is
milliseconds since 1970 on the bot's clock, which is the market time of the bar it
acted on (live or replayed), so a replay can show market and decisions together. Money
is an exact decimal string. Orders sent by a trader rather than a bot are kept under
``manual``.

Lines are appended in batches (one ``write`` and ``fsync`` per file per batch). A
process killed mid-batch can leave a torn last line; ``read`` skips lines that do not
parse, and logs how many.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from task_station.domain.clock import datetime_to_ms
from task_station.domain.errors import ValidationError
from task_station.domain.events import (
    Event,
    OrderDenied,
    OrderFilled,
    OrderUpdated,
    ProposalCreated,
    ProposalDecided,
)
from task_station.domain.orders import Order

log = logging.getLogger(__name__)

DECISION_EVENTS: tuple[type[Event], ...] = (
    OrderUpdated,
    OrderDenied,
    OrderFilled,
    ProposalCreated,
    ProposalDecided,
)
MANUAL = "manual"
_BOT_DIR = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
Record = dict[str, Any]


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _order_fields(order: Order) -> Record:
    return {
        "client_order_id": order.client_order_id,
        "symbol": order.symbol,
        "side": order.side.value,
        "type": order.type.value,
        "status": order.status.value,
        "quantity": _text(order.quantity),
        "price": _text(order.price),
        "filled_quantity": _text(order.filled_quantity),
        "tag": order.tag,
    }


def decision_record(event: Event) -> Record | None:
    """A JSON-ready record of a decision event (None for any other event)."""
    ts = datetime_to_ms(event.ts)
    if isinstance(event, OrderFilled):
        fill = event.fill
        return {
            "ts": ts, "kind": "fill", "bot_id": event.order.bot_id,
            **_order_fields(event.order),
            "trade_id": fill.trade_id, "fill_price": _text(fill.price),
            "fill_quantity": _text(fill.quantity), "fee": _text(fill.fee),
            "fee_currency": fill.fee_currency, "liquidity": fill.liquidity,
        }  # fmt: skip
    if isinstance(event, OrderDenied):
        record = {"ts": ts, "kind": "order_denied", "bot_id": event.order.bot_id}
        return {**record, **_order_fields(event.order), "reason": event.reason}
    if isinstance(event, OrderUpdated):
        record = {"ts": ts, "kind": "order", "bot_id": event.order.bot_id}
        return {**record, **_order_fields(event.order), "reason": event.order.reason}
    if isinstance(event, ProposalCreated | ProposalDecided):
        proposal = event.proposal
        order = proposal.order
        return {
            "ts": ts, "kind": "proposal", "bot_id": proposal.bot_id,
            "proposal_id": proposal.id, "status": proposal.status.value,
            "symbol": order.symbol, "side": order.side.value, "type": order.type.value,
            "quantity": _text(order.quantity), "price": _text(order.price),
            "reference_price": _text(proposal.reference_price),
            "client_order_id": proposal.client_order_id, "reason": proposal.reason,
        }  # fmt: skip
    return None


def _bot_dir(bot_id: str | None) -> str:
    name = bot_id or MANUAL
    return name if _BOT_DIR.match(name) else re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:128] or MANUAL


def _day(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).strftime("%Y-%m-%d")


class DecisionLog:
    """Append and read the decision records under ``root/decisions``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root) / "decisions"

    def append(self, records: Iterable[Mapping[str, Any]]) -> int:
        """Append ``records`` (each with ``ts`` and ``bot_id``); returns how many."""
        files: defaultdict[Path, list[str]] = defaultdict(list)
        for record in records:
            path = self.root / _bot_dir(record.get("bot_id")) / f"{_day(int(record['ts']))}.jsonl"
            files[path].append(json.dumps(record, separators=(",", ":")) + "\n")
        for path, lines in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as handle:
                handle.write("".join(lines))
                handle.flush()
                os.fsync(handle.fileno())
        return sum(len(lines) for lines in files.values())

    def bots(self) -> list[str]:
        """The bots (and ``manual``) with recorded decisions."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir())

    def read(
        self, bot_id: str | None, start_ms: int | None = None, end_ms: int | None = None
    ) -> list[Record]:
        """The records of ``bot_id`` (None: manual orders) in ``[start_ms, end_ms)``,
        oldest first."""
        name = bot_id or MANUAL
        if not _BOT_DIR.match(name):
            raise ValidationError(f"{name!r} is not a bot id")
        directory = self.root / name
        if not directory.is_dir():
            return []
        out: list[Record] = []
        torn = 0
        first = None if start_ms is None else _day(start_ms)
        last = None if end_ms is None else _day(end_ms)
        for path in sorted(directory.glob("*.jsonl")):
            if (first is not None and path.stem < first) or (last is not None and path.stem > last):
                continue  # a day outside the range (ISO dates sort as text)
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    record = json.loads(line)
                    ts = int(record["ts"])
                except (ValueError, KeyError, TypeError):
                    torn += 1
                    continue
                if (start_ms is None or ts >= start_ms) and (end_ms is None or ts < end_ms):
                    out.append(record)
        if torn:
            log.warning("%d unreadable decision lines of %s skipped", torn, name)
        out.sort(key=lambda r: int(r["ts"]))  # stable: same-ms records keep their order
        return out
