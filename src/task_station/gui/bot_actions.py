"""Start, stop and resume bots from buttons: async service calls on the qasync loop.

A button's slot cannot await, so the call becomes a task on the one asyncio loop; its
outcome comes back as a signal. A refused command (``TaskStationError``: already running,
no permission) is reported with the service's own message; anything else is logged and
reported too. Either way the window keeps running.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from PySide6.QtCore import QObject, Signal

from task_station.domain.bots import BotDefinition, BotStatus
from task_station.domain.errors import TaskStationError
from task_station.services.bots import BotService
from task_station.services.principal import Principal

log = logging.getLogger(__name__)

#: How ``BotService`` words the error of a bot a risk limit paused (while it runs).
PAUSED_PREFIX = "paused by a risk limit"


def is_paused(bot: BotDefinition) -> bool:
    """Whether a risk limit paused ``bot``, so a trader may resume it.

    Accepts a ``paused`` status and a running bot whose error carries the pause reason,
    the two ways the station has said it.
    """
    if bot.status.value == "paused":
        return True
    return bot.status is BotStatus.RUNNING and (bot.error or "").startswith(PAUSED_PREFIX)


class BotActions(QObject):
    """``failed(message)`` on any error, ``done(message)`` on success."""

    failed = Signal(str)
    done = Signal(str)

    def __init__(self, bots: BotService, actor: Principal, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._bots = bots
        self._actor = actor
        self._tasks: set[asyncio.Future[BotDefinition]] = set()

    def start(self, bot_id: str) -> asyncio.Future[BotDefinition]:
        """Start ``bot_id``; the returned future may be awaited (tests) or ignored."""
        return self._launch("start", lambda: self._bots.start(self._actor, bot_id))

    def stop(self, bot_id: str) -> asyncio.Future[BotDefinition]:
        return self._launch("stop", lambda: self._bots.stop(self._actor, bot_id))

    def resume(self, bot_id: str) -> asyncio.Future[BotDefinition]:
        """Resume a bot a risk limit paused; refused (``failed``) when it is not paused."""

        async def call() -> BotDefinition:
            return self._bots.resume(self._actor, bot_id)

        return self._launch("resume", call)

    @property
    def pending(self) -> int:
        return len(self._tasks)

    def _launch(
        self, verb: str, call: Callable[[], Awaitable[BotDefinition]]
    ) -> asyncio.Future[BotDefinition]:
        future = asyncio.ensure_future(call())
        self._tasks.add(future)
        future.add_done_callback(lambda f: self._finished(verb, f))
        return future

    def _finished(self, verb: str, future: asyncio.Future[BotDefinition]) -> None:
        self._tasks.discard(future)
        if future.cancelled():
            return
        exc = future.exception()
        try:
            if exc is None:
                bot = future.result()
                self.done.emit(f"bot {bot.name!r} is {bot.status.value}")
            elif isinstance(exc, TaskStationError):
                self.failed.emit(f"could not {verb} the bot: {exc}")
            else:
                log.error("could not %s a bot", verb, exc_info=exc)
                self.failed.emit(
                    f"could not {verb} the bot (internal error: {type(exc).__name__}: {exc})"
                )
        except RuntimeError:  # the widget that owned us is gone; nobody to tell
            log.debug("bot %s finished after its window closed", verb)
