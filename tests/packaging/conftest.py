"""Packaging tools (PyInstaller, Pillow) come with the ``test`` extra: they must be
there under CI; a workstation without them skips these tests."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"


def require(module: str) -> None:
    """Skip without ``module`` on a workstation; fail under CI, where it must be."""
    if importlib.util.find_spec(module) is None:
        message = f"{module} is not installed (pip install -e '.[packaging]')"
        if os.environ.get("CI"):
            pytest.fail(message + " and CI is set")
        pytest.skip(message)


@pytest.fixture(scope="session")
def packaging_scripts() -> Path:
    """``packaging/`` on ``sys.path``, so its scripts import as modules."""
    if str(PACKAGING) not in sys.path:
        sys.path.insert(0, str(PACKAGING))
    return PACKAGING
