"""Nonces for several transactions in flight from one address.

Asking the node for the nonce before each send races with our own unmined
transactions; instead the first use reads the pending count and later ones count up
locally, under a lock. A send the node refused gives its nonce back by resyncing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


class NonceManager:
    def __init__(self, fetch_pending_count: Callable[[], Awaitable[int]]) -> None:
        self._fetch = fetch_pending_count
        self._next: int | None = None
        self.lock = asyncio.Lock()

    async def take(self) -> int:
        """The next nonce; call with ``lock`` held so allocation and sending stay in order."""
        if self._next is None:
            self._next = await self._fetch()
        nonce = self._next
        self._next += 1
        return nonce

    async def resync(self) -> None:
        """Forget local counting (after a refused send) and ask the node next time."""
        self._next = None

    @property
    def next_local(self) -> int | None:
        return self._next
