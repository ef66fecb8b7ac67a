"""The trader's own strategies: Python files in a folder of the data directory.

Every ``*.py`` file of the folder (the app passes ``settings.data_dir / "strategies"``;
names starting with ``_`` or ``.`` are skipped, so helpers can be kept there) is
imported on its own, under a unique module name, and every concrete ``Strategy``
subclass *defined in it* is collected. Each one is checked before it is offered:

- its ``name`` is a short identifier (letters, digits, ``_``, ``-``), unique among the
  user files and different from every built-in strategy;
- its ``params`` is a sequence of ``Param`` with distinct names whose defaults parse;
- it can be instantiated with its default parameters.

A file that does not import (a syntax error, an exception at import time) or a class
that fails a check becomes a ``UserStrategyError`` (file, line, message) instead of
crashing the station; the other files still load. ``UserStrategies.reload_if_changed()``
re-imports the files whose modification time or size changed, drops the removed ones
and says what changed, so the GUI can offer a "reload" button or poll the folder.

**Trust model.** These files are the trader's own code and run inside the station's
process with the station's rights: they can read the data directory, the network and
anything the user can. Loading them is exactly as safe as running a script the trader
wrote; do not put files from people you do not trust there. The ``StrategySandbox``
around every strategy call only *contains failures* (an exception pauses that bot and
the engine keeps running); it is not a security boundary, and nothing here tries to be
one. A file may import the station's public strategy API (``task_station.strategies``
and ``task_station.domain``) and any installed package; it is not on ``sys.path``, so it
cannot import its neighbours by name.
"""

from __future__ import annotations

import importlib.util
import inspect
import logging
import re
import sys
import traceback
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from types import ModuleType

from task_station.domain.errors import TaskStationError, ValidationError
from task_station.strategies.base import Strategy
from task_station.strategies.params import Param

log = logging.getLogger(__name__)

NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_\-]{0,63}")
MODULE_PREFIX = "task_station_user_strategies"
_serial = count(1)


@dataclass(frozen=True, slots=True)
class UserStrategyError:
    """Why a file, or one strategy in it, is not offered."""

    file: Path
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.file.name if self.line is None else f"{self.file.name}:{self.line}"
        return f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class LoadedFile:
    """One imported file: what it defines (before cross-file checks) and its errors."""

    path: Path
    mtime_ns: int
    size: int
    module: str | None
    strategies: tuple[type[Strategy], ...]
    errors: tuple[UserStrategyError, ...]


@dataclass(frozen=True, slots=True)
class ReloadReport:
    """What a reload changed, by strategy name, and every current error."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    reloaded_files: tuple[Path, ...] = ()
    errors: tuple[UserStrategyError, ...] = field(default_factory=tuple)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.reloaded_files)


class UserStrategies:
    """The strategies of one folder, reloaded on demand.

    ``reserved`` are the names user strategies may not take (by default the built-ins
    of ``strategies.registry``).
    """

    def __init__(self, folder: Path, reserved: Collection[str] | None = None) -> None:
        if reserved is None:
            from task_station.strategies.registry import BUILTIN

            reserved = tuple(BUILTIN)
        self.folder = folder
        self.reserved = frozenset(reserved)
        self._files: dict[Path, LoadedFile] = {}
        self._strategies: dict[str, type[Strategy]] = {}
        self._origin: dict[str, Path] = {}
        self._errors: tuple[UserStrategyError, ...] = ()

    # -- reading ---------------------------------------------------------------------

    @property
    def strategies(self) -> Mapping[str, type[Strategy]]:
        """The valid user strategies by name."""
        return dict(self._strategies)

    @property
    def errors(self) -> tuple[UserStrategyError, ...]:
        return self._errors

    @property
    def files(self) -> Mapping[Path, LoadedFile]:
        return dict(self._files)

    def origin(self, name: str) -> Path:
        """The file that defines strategy ``name``."""
        return self._origin[name]

    def get(self, name: str) -> type[Strategy]:
        try:
            return self._strategies[name]
        except KeyError:
            raise ValidationError(
                f"unknown user strategy {name!r}; loaded: "
                f"{', '.join(sorted(self._strategies)) or 'none'}"
            ) from None

    # -- loading ---------------------------------------------------------------------

    def reload_if_changed(self) -> ReloadReport:
        """Import new and changed files, drop removed ones; return what changed.

        The first call loads everything. A missing folder means no user strategies.
        """
        before = dict(self._strategies)
        seen: dict[Path, tuple[int, int]] = {}
        if self.folder.is_dir():
            for path in sorted(self.folder.glob("*.py")):
                if path.name.startswith(("_", ".")) or not path.is_file():
                    continue
                try:
                    stat = path.stat()
                except OSError:
                    continue
                seen[path] = (stat.st_mtime_ns, stat.st_size)
        reloaded: list[Path] = []
        for path in list(self._files):
            if path not in seen:
                _forget(self._files.pop(path))
        for path, (mtime_ns, size) in seen.items():
            old = self._files.get(path)
            if old is not None and (old.mtime_ns, old.size) == (mtime_ns, size):
                continue
            if old is not None:
                _forget(old)
            self._files[path] = load_file(path, mtime_ns, size)
            reloaded.append(path)
        self._assemble()
        after = self._strategies
        updated = tuple(sorted(n for n in after if n in before and self._origin[n] in reloaded))
        report = ReloadReport(
            added=tuple(sorted(set(after) - set(before))),
            updated=updated,
            removed=tuple(sorted(set(before) - set(after))),
            reloaded_files=tuple(reloaded),
            errors=self._errors,
        )
        if report.changed:
            log.info(
                "user strategies in %s: added %s, updated %s, removed %s, %d error(s)",
                self.folder, list(report.added), list(report.updated), list(report.removed),
                len(report.errors),
            )  # fmt: skip
        return report

    def _assemble(self) -> None:
        strategies: dict[str, type[Strategy]] = {}
        origin: dict[str, Path] = {}
        errors: list[UserStrategyError] = []
        for path in sorted(self._files):
            loaded = self._files[path]
            errors.extend(loaded.errors)
            for cls in loaded.strategies:
                name = cls.name
                line = _line_of(cls)
                if name in self.reserved:
                    errors.append(
                        UserStrategyError(
                            path, line,
                            f"{cls.__name__}: the name {name!r} is a built-in strategy; "
                            f"choose another name",
                        )
                    )  # fmt: skip
                elif name in strategies:
                    errors.append(
                        UserStrategyError(
                            path, line,
                            f"{cls.__name__}: the name {name!r} is already used by "
                            f"{origin[name].name}; choose another name",
                        )
                    )  # fmt: skip
                else:
                    strategies[name] = cls
                    origin[name] = path
        self._strategies, self._origin, self._errors = strategies, origin, tuple(errors)


def load_file(path: Path, mtime_ns: int = 0, size: int = 0) -> LoadedFile:
    """Import one file in isolation and check the strategies it defines."""
    module_name = f"{MODULE_PREFIX}.{_safe(path.stem)}_{next(_serial)}"
    try:
        module = _import(path, module_name)
    except SyntaxError as exc:
        message = f"syntax error: {exc.msg}"
        return LoadedFile(
            path, mtime_ns, size, None, (), (UserStrategyError(path, exc.lineno, message),)
        )
    except (Exception, SystemExit) as exc:
        sys.modules.pop(module_name, None)
        error = UserStrategyError(
            path, _error_line(exc, path), f"import failed: {type(exc).__name__}: {exc}"
        )
        return LoadedFile(path, mtime_ns, size, None, (), (error,))
    found: list[type[Strategy]] = []
    errors: list[UserStrategyError] = []
    for cls in _strategy_classes(module, module_name):
        problem = check_strategy_class(cls)
        if problem is None:
            found.append(cls)
        else:
            errors.append(UserStrategyError(path, _line_of(cls), f"{cls.__name__}: {problem}"))
    if not found and not errors:
        errors.append(UserStrategyError(path, None, "defines no Strategy subclass with a name"))
    return LoadedFile(path, mtime_ns, size, module_name, tuple(found), tuple(errors))


def check_strategy_class(cls: type[Strategy]) -> str | None:
    """Why ``cls`` cannot be offered, or None (cross-file name checks are done later)."""
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        return (
            f"needs a class attribute name = '...' (a letter, then up to 63 letters, digits, "
            f"_ or -), got {name!r}"
        )
    params = getattr(cls, "params", ())
    if isinstance(params, str | bytes) or not isinstance(params, Iterable):
        return "params must be a tuple of Param"
    names: set[str] = set()
    for p in params:
        if not isinstance(p, Param):
            return f"params must hold Param objects, got {p!r}"
        if p.name in names:
            return f"parameter {p.name!r} is declared twice"
        names.add(p.name)
        try:
            p.parse(p.default, name)
        except TaskStationError as exc:
            return f"the default of parameter {p.name!r} is invalid: {exc}"
    try:
        cls()
    except (Exception, SystemExit) as exc:
        return f"cannot be created with its default parameters: {type(exc).__name__}: {exc}"
    return None


def _import(path: Path, module_name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    # Registered (dataclasses, pickling and typing look the module up by name) under a
    # name of its own, so two files, or two versions of one file, never share a module.
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def _strategy_classes(module: ModuleType, module_name: str) -> list[type[Strategy]]:
    out = []
    for obj in vars(module).values():
        if (
            isinstance(obj, type)
            and issubclass(obj, Strategy)
            and obj.__module__ == module_name
            and not inspect.isabstract(obj)
        ):
            out.append(obj)
    return out


def _forget(loaded: LoadedFile) -> None:
    if loaded.module is not None:
        sys.modules.pop(loaded.module, None)


def _line_of(cls: type) -> int | None:
    try:
        return inspect.getsourcelines(cls)[1]
    except (OSError, TypeError):
        return None


def _error_line(exc: BaseException, path: Path) -> int | None:
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename) == path:
            line = frame.lineno
    return line


def _safe(stem: str) -> str:
    return re.sub(r"\W", "_", stem) or "file"
