"""``KillSwitchStore`` on SQL: the station's one kill-switch row."""

from __future__ import annotations

from task_station.domain.risk import KillSwitchState
from task_station.persistence._tx import SessionFactory, translated
from task_station.persistence.models import KILL_SWITCH_ID, KillSwitchRow


class SqlKillSwitchStore:
    """Implements ``domain.ports.KillSwitchStore``."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    def load(self) -> KillSwitchState | None:
        with self._sessions.begin() as s:
            row = s.get(KillSwitchRow, KILL_SWITCH_ID)
            if row is None:
                return None
            return KillSwitchState(row.engaged, row.actor, row.reason, row.since)

    def save(self, state: KillSwitchState) -> None:
        with translated("the kill switch"), self._sessions.begin() as s:
            row = s.get(KillSwitchRow, KILL_SWITCH_ID)
            if row is None:
                row = KillSwitchRow(id=KILL_SWITCH_ID)
                s.add(row)
            row.engaged = state.engaged
            row.actor = state.actor
            row.reason = state.reason
            row.since = state.since
