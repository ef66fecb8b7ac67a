"""Prebuilt strategy settings ("presets"): find them and read one, for every face.

The presets are data files shipped with ``strategies.presets``; this service is the one
door the GUI, the API and the CLI go through to read them.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence

from task_station.domain.errors import NotFoundError
from task_station.strategies.presets import RISK_PROFILES, Preset, find_presets, preset


class PresetService:
    """Read-only access to the presets (the shipped ones, or ``presets`` if given)."""

    risk_profiles: tuple[str, ...] = RISK_PROFILES

    def __init__(self, presets: Sequence[Preset] | None = None) -> None:
        self._presets = tuple(presets) if presets is not None else None

    def list(
        self,
        family: str | None = None,
        timeframe: str | None = None,
        risk: str | None = None,
        tag: str | None = None,
        search: str | None = None,
    ) -> builtins.list[Preset]:
        """The presets matching every filter given (``search``: all words, any order).

        An unknown ``family`` or ``risk`` profile is a ``ValidationError``; a blank
        ``search`` matches everything.
        """
        return find_presets(
            family=family,
            timeframe=timeframe,
            risk=risk,
            tag=tag,
            search=search if search and search.strip() else None,
            presets=self._presets,
        )

    def get(self, name: str) -> Preset:
        """The preset called ``name`` (``NotFoundError`` when there is none)."""
        if self._presets is None:
            return preset(name)
        for p in self._presets:
            if p.name == name:
                return p
        raise NotFoundError(f"unknown preset {name!r}")

    def families(self) -> builtins.list[str]:
        """The families that have at least one preset, sorted."""
        return sorted({p.family for p in self.list()})
