"""A fresh chain with Uniswap V2 per test: tests may move prices and nonces freely."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.uniswap import UniswapWorld, uniswap_world


@pytest.fixture
async def world() -> AsyncIterator[UniswapWorld]:
    w = await uniswap_world()
    try:
        yield w
    finally:
        await w.chain.stop()
