"""uvicorn as a task on the *running* event loop.

The station has one asyncio loop (qasync under the GUI, plain asyncio headless); the API
must serve from it so routes and the GUI share objects without IPC. So uvicorn is not
``run()``: its ``serve()`` becomes a task, ``loop="none"`` stops it from choosing a loop,
and signal handling is left to the application that owns shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp

from task_station.domain.errors import ConfigurationError

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


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and the loopback addresses (127.0.0.0/8, ::1)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere


def check_bind_host(host: str, allow_remote: bool) -> None:
    """Refuse to listen beyond this machine unless explicitly allowed."""
    if not is_loopback(host) and not allow_remote:
        raise ConfigurationError(
            f"refusing to serve the API on {host!r}: it is not a loopback address, so other "
            "machines could reach it. Keep TASK_API_HOST=127.0.0.1, or set "
            "TASK_API_ALLOW_REMOTE=true and put TLS in front of it (see the README)"
        )


class ApiServer:
    """Serve ``app`` on ``host:port`` from the running loop; ``port=0`` picks a free one.

    Only loopback hosts are accepted unless ``allow_remote`` says otherwise."""

    def __init__(
        self,
        app: ASGIApp,
        host: str = "127.0.0.1",
        port: int = 8765,
        *,
        allow_remote: bool = False,
        log_level: str = "warning",
        shutdown_timeout: int = 5,
    ) -> None:
        check_bind_host(host, allow_remote)
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            loop="none",
            lifespan="on",
            ws="websockets-sansio",
            log_config=None,
            log_level=log_level,
            # The peer address drives rate limits and lockouts: never take it from a
            # client-supplied X-Forwarded-For, and do not advertise the server.
            proxy_headers=False,
            server_header=False,
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
