"""A real station serving its API from a background thread, for synchronous clients
(schemathesis calls it with ``requests``): the station's loop runs in that thread, so
the test thread may block on HTTP without stalling the server."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from task_station.api.app import create_app
from task_station.api.options import ApiOptions
from task_station.api.server import ApiServer
from task_station.config import Settings
from task_station.container import Container, build_container
from tests.api.helpers import ADMIN_PASSWORD


class LiveStation:
    def __init__(self, data_dir: Path, options: ApiOptions, **settings: Any) -> None:
        values: dict[str, Any] = {
            "data_dir": data_dir,
            "keyring_backend": "cryptfile",
            "keyring_password": "test-vault-password",
            "bcrypt_rounds": 4,
            "demo_pace_seconds": 0.001,
            "api_port": 0,
        }
        values.update(settings)
        self.settings = Settings(**values)
        self.options = options
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="live-station")
        self.container: Container | None = None
        self.server: ApiServer | None = None

    def __enter__(self) -> LiveStation:
        self._thread.start()
        self.run(self._start())
        return self

    def __exit__(self, *_exc: object) -> None:
        try:
            self.run(self._stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(30)
            self.loop.close()

    def run(self, coroutine: Any, timeout: float = 60) -> Any:
        """Run ``coroutine`` on the station's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def token(self, username: str = "admin", password: str = ADMIN_PASSWORD) -> str:
        """A fresh access token (logged in on the station's loop)."""

        async def login() -> str:
            assert self.container is not None
            return self.container.services.auth.login(username, password).token

        return str(self.run(login()))

    async def _start(self) -> None:
        self.container = build_container(self.settings)
        self.container.services.users.create("admin", ADMIN_PASSWORD, "admin", actor=None)
        app = create_app(self.container.services, options=self.options)
        self.server = ApiServer(app, "127.0.0.1", 0)
        await self.server.start()

    async def _stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
        if self.container is not None:
            await self.container.aclose()
