"""GUI fixtures: the real container, a qasync loop on pytest-qt's QApplication, and a
check that no top-level widget outlives its test.

Everything asynchronous runs through ``qloop.run_until_complete``: Qt's event loop turns
while the coroutine awaits, so bots (asyncio tasks), QTimers and widget repaints all make
progress together, as they do in the real application.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest
import qasync
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication

from task_station.container import Container, build_container
from task_station.gui.theme import apply_theme
from task_station.services.bundle import Services
from task_station.services.users import LoginResult

from .helpers import ADMIN_PASSWORD

T = TypeVar("T")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Qt warnings fail GUI tests, except the offscreen plugin's note about size hints."""
    for item in items:
        if "tests/gui/" in item.nodeid.replace("\\", "/"):
            item.add_marker(pytest.mark.qt_log_level_fail("WARNING"))
            item.add_marker(pytest.mark.qt_log_ignore("does not support propagateSizeHints"))


@pytest.fixture(scope="session", autouse=True)
def _themed(qapp: QApplication) -> None:
    """Test the widgets as users see them: with the station's stylesheet."""
    apply_theme(qapp)


@pytest.fixture(autouse=True)
def _no_leaked_widgets(qapp: QApplication) -> Iterator[None]:
    before = set(map(id, QApplication.topLevelWidgets()))
    yield
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QApplication.processEvents()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()  # pyqtgraph's parentless context menus go with their Python owners
    leaked = [w for w in QApplication.topLevelWidgets() if id(w) not in before]
    for widget in leaked:
        widget.close()
        widget.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert not leaked, f"top-level widgets leaked: {[type(w).__name__ for w in leaked]}"


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[qasync.QEventLoop]:
    """A qasync loop over pytest-qt's QApplication, set as the current asyncio loop."""
    qapp.setQuitOnLastWindowClosed(False)  # the session has moments without any window
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    yield loop
    loop.close()
    asyncio.set_event_loop(None)


@pytest.fixture
def run(qloop: qasync.QEventLoop) -> Callable[[Coroutine[Any, Any, T]], T]:
    """Run a coroutine to completion while Qt processes events."""

    def runner(coro: Coroutine[Any, Any, T]) -> T:
        return qloop.run_until_complete(coro)  # type: ignore[no-any-return]

    return runner


@pytest.fixture
def station(settings_factory: Callable[..., Any], qloop: qasync.QEventLoop) -> Iterator[Container]:
    """The real container on a throw-away data directory; bots stopped at the end."""
    container = build_container(settings_factory())
    yield container
    qloop.run_until_complete(container.aclose())


@pytest.fixture
def services(station: Container) -> Services:
    return station.services


@pytest.fixture
def admin(services: Services) -> LoginResult:
    services.users.create("admin", ADMIN_PASSWORD, "admin", None)
    return services.auth.login("admin", ADMIN_PASSWORD)
