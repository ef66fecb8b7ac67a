"""Every strategy one station offers: the built-ins plus the trader's own files.

``strategies.registry`` is the fixed list of built-ins, enough for code that never sees
a data directory (presets, reference tests). A running station also offers the
strategies of its ``<data dir>/strategies`` folder, and those change while it runs; a
``StrategyCatalog`` is the one object that answers "which strategies exist, where do
they come from, build me one" for that station, so the bots, the backtests and every
face agree on the list. It holds no global state: two stations (two tests) with two
folders never see each other's strategies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from task_station.domain.errors import ValidationError
from task_station.strategies.base import Strategy
from task_station.strategies.params import Param
from task_station.strategies.registry import BUILTIN
from task_station.strategies.user_files import ReloadReport, UserStrategies, UserStrategyError

BUILTIN_ORIGIN = "builtin"
USER_ORIGIN = "user"


@dataclass(frozen=True, slots=True)
class StrategyInfo:
    """One offered strategy and where it comes from (``path`` only for user files)."""

    name: str
    cls: type[Strategy]
    origin: str  # BUILTIN_ORIGIN or USER_ORIGIN
    path: Path | None = None

    @property
    def description(self) -> str:
        return self.cls.description

    @property
    def params(self) -> tuple[Param, ...]:
        return tuple(self.cls.params)

    @property
    def origin_text(self) -> str:
        """``built-in`` or ``your file NAME.py``: what a trader reads next to the name."""
        return "built-in" if self.path is None else f"your file {self.path.name}"


class StrategyCatalog:
    """The built-in strategies and, optionally, a folder of user strategy files.

    A catalog without ``user`` offers the built-ins only (what services fall back to
    when nothing is wired). User strategies are (re)loaded by ``reload()`` only, never
    behind the caller's back, so a bot being created sees one consistent list.
    """

    def __init__(
        self,
        user: UserStrategies | None = None,
        builtin: Mapping[str, type[Strategy]] | None = None,
    ) -> None:
        self._builtin = dict(BUILTIN if builtin is None else builtin)
        self._user = user

    @classmethod
    def with_folder(cls, folder: Path, *, create: bool = False) -> StrategyCatalog:
        """A catalog over ``folder``'s files, loaded now (``create``: make the folder)."""
        if create:
            folder.mkdir(parents=True, exist_ok=True)
        catalog = cls(UserStrategies(folder, reserved=tuple(BUILTIN)))
        catalog.reload()
        return catalog

    # -- reading ---------------------------------------------------------------------

    @property
    def folder(self) -> Path | None:
        """Where the trader's strategy files live (None: built-ins only)."""
        return None if self._user is None else self._user.folder

    @property
    def errors(self) -> tuple[UserStrategyError, ...]:
        """Why some user files or classes are not offered, as of the last reload."""
        return () if self._user is None else self._user.errors

    def names(self) -> list[str]:
        """Every offered name, sorted (built-ins and user strategies mixed)."""
        return sorted({*self._builtin, *self._user_strategies()})

    def strategy_class(self, name: str) -> type[Strategy]:
        cls = self._builtin.get(name) or self._user_strategies().get(name)
        if cls is None:
            raise ValidationError(
                f"unknown strategy {name!r}; available: {', '.join(self.names())}"
            )
        return cls

    def build(self, name: str, params: Mapping[str, object]) -> Strategy:
        """Instantiate ``name`` with validated ``params`` (raises ValidationError)."""
        return self.strategy_class(name)(params)

    def info(self, name: str) -> StrategyInfo:
        cls = self.strategy_class(name)
        if name in self._builtin or self._user is None:
            return StrategyInfo(name, cls, BUILTIN_ORIGIN)
        return StrategyInfo(name, cls, USER_ORIGIN, self._user.origin(name))

    def infos(self) -> list[StrategyInfo]:
        """``info`` of every offered strategy, by name."""
        return [self.info(name) for name in self.names()]

    # -- loading ---------------------------------------------------------------------

    def reload(self) -> ReloadReport:
        """Re-import the user files that changed since the last call (a stat per file
        when nothing did); an empty report without a user folder."""
        return ReloadReport() if self._user is None else self._user.reload_if_changed()

    def _user_strategies(self) -> Mapping[str, type[Strategy]]:
        return {} if self._user is None else self._user.strategies
