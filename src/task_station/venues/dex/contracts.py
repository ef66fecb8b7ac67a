"""The contract interfaces (ABIs) the DEX venue talks to, shipped with the package."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

ABI_NAMES = ("erc20", "pair", "factory", "router", "weth")


@cache
def abi(name: str) -> list[dict[str, Any]]:
    """The ABI ``name`` (one of ``ABI_NAMES``), parsed once."""
    if name not in ABI_NAMES:
        raise KeyError(f"no ABI named {name!r}; known: {', '.join(ABI_NAMES)}")
    text = resources.files("task_station.venues.dex").joinpath("abi", f"{name}.json").read_text()
    data: list[dict[str, Any]] = json.loads(text)
    return data
