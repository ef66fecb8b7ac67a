"""Strategies as a use case: what the station offers, and reloading the trader's files.

Every face lists strategies through this service (the API's ``GET /strategies``, the
CLI, the GUI's new-bot form), so a strategy file dropped into the data directory shows
up everywhere at once, with where it comes from.
"""

from __future__ import annotations

import builtins
import logging
from dataclasses import dataclass

from task_station.domain.clock import Clock
from task_station.domain.ports import AuditLog
from task_station.services.principal import Principal
from task_station.strategies.catalog import StrategyCatalog, StrategyInfo
from task_station.strategies.user_files import ReloadReport

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StrategyReload:
    """What a reload changed, by strategy name, and why files were refused (readable)."""

    added: tuple[str, ...]
    updated: tuple[str, ...]
    removed: tuple[str, ...]
    errors: tuple[str, ...]
    changed: bool

    @classmethod
    def of(cls, report: ReloadReport) -> StrategyReload:
        return cls(
            added=report.added,
            updated=report.updated,
            removed=report.removed,
            errors=tuple(str(e) for e in report.errors),
            changed=report.changed,
        )

    @property
    def summary(self) -> str:
        """One line for a status bar: what changed, and how many files were refused."""
        parts = [
            f"{label} {', '.join(names)}"
            for label, names in (
                ("added", self.added),
                ("updated", self.updated),
                ("removed", self.removed),
            )
            if names
        ]
        text = "strategies: " + ("; ".join(parts) if parts else "no change")
        if self.errors:
            text += f"; {len(self.errors)} problem(s) in your strategy files"
        return text


class StrategyService:
    """The strategies of one station (built-ins only without a catalog)."""

    def __init__(
        self,
        catalog: StrategyCatalog | None = None,
        *,
        audit: AuditLog | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.catalog = catalog if catalog is not None else StrategyCatalog()
        self._audit = audit
        self._clock = clock

    def list(self) -> builtins.list[StrategyInfo]:
        """Every offered strategy, by name, with its origin and parameter schema."""
        return self.catalog.infos()

    def get(self, name: str) -> StrategyInfo:
        """One strategy (``ValidationError`` naming the available ones if unknown)."""
        return self.catalog.info(name)

    def errors(self) -> builtins.list[str]:
        """Why some of the trader's files are not offered, as of the last reload."""
        return [str(e) for e in self.catalog.errors]

    def reload(self, actor: Principal) -> StrategyReload:
        """Re-read the trader's strategy files now (a trader's command, audited).

        Bots already running keep the strategy object they were started with; new bots,
        restarts and backtests use the reloaded code.
        """
        actor.require_trader("reload strategy files")
        result = StrategyReload.of(self.catalog.reload())
        if self._audit is not None and self._clock is not None:
            detail = result.summary
            self._audit.record(
                self._clock.now(), actor.username, "strategies.reload", "station", detail
            )
        return result

    def poll(self) -> StrategyReload:
        """Pick up edited, new and deleted files (the GUI calls this every few seconds).

        Costs one ``stat`` per file when nothing changed, so it is cheap to call often.
        """
        result = StrategyReload.of(self.catalog.reload())
        if result.changed:
            log.info("%s", result.summary)
        return result
