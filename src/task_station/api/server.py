"""uvicorn as a task on the *running* event loop.

The station has one asyncio loop (qasync under the GUI, plain asyncio headless); the API
must serve from it so routes and the GUI share objects without IPC. So uvicorn is not
``run()``: its ``serve()`` becomes a task, ``loop="none"`` stops it from choosing a loop,
and signal handling is left to the application that owns shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp

log = logging.getLogger(__name__)

_STARTUP_POLL_SECONDS = 0.01


class ApiStartupError(RuntimeError):
    """uvicorn could not start (port in use, lifespan failure); see the log for why."""


class _TaskServer(uvicorn.Server):
    """A uvicorn server that never touches signal handlers (the app owns shutdown)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    def install_signal_handlers(self) -> None:  # older uvicorn releases call this
        return None


class ApiServer:
    """Serve ``app`` on ``host:port`` from the running loop; ``port=0`` picks a free one."""

    def __init__(
        self,
        app: ASGIApp,
        host: str = "127.0.0.1",
        port: int = 8765,
        *,
        log_level: str = "warning",
        shutdown_timeout: int = 5,
    ) -> None:
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            loop="none",
            lifespan="on",
            ws="websockets-sansio",
            log_config=None,
            log_level=log_level,
            # Without a limit, stop() would wait forever on a client that never hangs up.
            timeout_graceful_shutdown=shutdown_timeout,
        )
        self.host = host
        self._requested_port = port
        self._server = _TaskServer(config)
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        """The bound port (the real one when 0 was asked for); only after ``start``."""
        if not self._server.started:
            raise RuntimeError("the API server is not started")
        sockets = self._server.servers[0].sockets
        return int(sockets[0].getsockname()[1]) if sockets else self._requested_port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        """Start serving and return once the socket is bound and the app started."""
        if self._task is not None:
            raise RuntimeError("the API server was already started")
        task = self._task = asyncio.create_task(self._serve(), name="api-server")
        while not self._server.started:
            if task.done():
                self._task = None
                await task  # re-raise why it stopped
                raise ApiStartupError("the API server stopped while starting")
            await asyncio.sleep(_STARTUP_POLL_SECONDS)
        log.info("API listening on %s", self.url)

    async def stop(self) -> None:
        """Close connections, run the app's shutdown and wait for the task to end."""
        if self._task is None:
            return
        self._server.should_exit = True
        task, self._task = self._task, None
        await task

    async def _serve(self) -> None:
        try:
            await self._server.serve()
        except SystemExit as exc:
            # uvicorn exits the process when it cannot bind or the lifespan fails; as a
            # task on a shared loop that would take the whole station down with it.
            raise ApiStartupError(
                f"the API server could not start on {self.host}:{self._requested_port}"
            ) from exc
