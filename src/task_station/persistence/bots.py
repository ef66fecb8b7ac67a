"""``BotStore`` on SQL. Parameters are a JSON document that keeps Decimals exact."""

from __future__ import annotations

import builtins
from collections.abc import Mapping

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from task_station.domain.bots import BotDefinition, BotMode, BotStatus
from task_station.domain.errors import NotFoundError
from task_station.domain.proposals import ControlMode
from task_station.persistence._tx import SessionFactory, translated
from task_station.persistence.models import BotRow


def _write(row: BotRow, bot: BotDefinition) -> None:
    row.name = bot.name
    row.strategy = bot.strategy
    row.params = dict(bot.params)
    row.venue = bot.venue
    row.symbol = bot.symbol
    row.timeframe = bot.timeframe
    row.quote_budget = bot.quote_budget
    row.created_at = bot.created_at
    row.mode = bot.mode.value
    row.status = bot.status.value
    row.owner = bot.owner
    row.error = bot.error
    row.data_source = bot.data_source
    row.fee_bps = bot.fee_bps
    row.control_mode = bot.control_mode.value


def _to_bot(row: BotRow) -> BotDefinition:
    return BotDefinition(
        id=row.id,
        name=row.name,
        strategy=row.strategy,
        params=dict(row.params),
        venue=row.venue,
        symbol=row.symbol,
        timeframe=row.timeframe,
        quote_budget=row.quote_budget,
        created_at=row.created_at,
        mode=BotMode(row.mode),
        status=BotStatus(row.status),
        owner=row.owner,
        error=row.error,
        data_source=row.data_source,
        fee_bps=row.fee_bps,
        control_mode=ControlMode(row.control_mode),
    )


class SqlBotStore:
    """Implements ``domain.ports.BotStore``: ConflictError on a duplicate id,
    NotFoundError when updating an unknown bot."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    def add(self, bot: BotDefinition) -> None:
        record = f"bot {bot.name!r} ({bot.id})"
        with translated(record, conflict=f"{record} already exists"), self._sessions.begin() as s:
            row = BotRow(id=bot.id)
            _write(row, bot)
            s.add(row)

    def update(self, bot: BotDefinition) -> None:
        with translated(f"bot {bot.name!r} ({bot.id})"), self._sessions.begin() as s:
            row = s.get(BotRow, bot.id)
            if row is None:
                raise NotFoundError(f"bot {bot.name!r} ({bot.id}) does not exist")
            _write(row, bot)

    def get(self, bot_id: str) -> BotDefinition | None:
        with self._sessions.begin() as s:
            row = s.get(BotRow, bot_id)
            return None if row is None else _to_bot(row)

    def list(self) -> builtins.list[BotDefinition]:
        """Oldest first, the order in which they were created."""
        with self._sessions.begin() as s:
            rows = s.scalars(select(BotRow).order_by(BotRow.created_at, BotRow.id))
            return [_to_bot(r) for r in rows]

    def progress(self, bot_id: str) -> int:
        with self._sessions.begin() as s:
            return self._row(s, bot_id).bars_done

    def risk_marks(self, bot_id: str) -> Mapping[str, str]:
        with self._sessions.begin() as s:
            stored = self._row(s, bot_id).risk_marks or {}
            return {str(k): str(v) for k, v in stored.items()}

    def save_risk_marks(self, bot_id: str, marks: Mapping[str, str]) -> None:
        """One column only, like ``save_progress``."""
        self._set_columns(bot_id, risk_marks=dict(marks))

    def save_progress(self, bot_id: str, bars_done: int) -> None:
        """One column only: a concurrent ``update`` of the definition cannot undo it."""
        if bars_done < 0:
            raise ValueError(f"bars_done must be >= 0, got {bars_done}")
        self._set_columns(bot_id, bars_done=bars_done)

    @staticmethod
    def _row(s: Session, bot_id: str) -> BotRow:
        row = s.get(BotRow, bot_id)
        if row is None:
            raise NotFoundError(f"bot {bot_id} does not exist")
        return row

    def _set_columns(self, bot_id: str, **values: object) -> None:
        """Write only ``values``' columns of one bot (NotFoundError when it is unknown)."""
        with self._sessions.begin() as s:
            done = s.execute(update(BotRow).where(BotRow.id == bot_id).values(**values))
            if getattr(done, "rowcount", 1) == 0:
                raise NotFoundError(f"bot {bot_id} does not exist")
