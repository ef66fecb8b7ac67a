from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from task_station.container import Container, build_container
from task_station.services.principal import Principal


@pytest.fixture
async def container(settings_factory: Callable[..., Any]) -> AsyncIterator[Container]:
    built = build_container(settings_factory())
    yield built
    await built.aclose()


@pytest.fixture
async def paced_container(settings_factory: Callable[..., Any]) -> AsyncIterator[Container]:
    """A station whose replayed bots wait 10 ms a bar: slow enough to stop mid-run."""
    built = build_container(settings_factory(demo_pace_seconds=0.01))
    yield built
    await built.aclose()


@pytest.fixture
def admin(container: Container) -> Principal:
    container.services.users.create("admin", "admin-password", "admin", actor=None)
    return container.services.auth.login("admin", "admin-password").principal


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def any_container(
    request: pytest.FixtureRequest, settings_factory: Callable[..., Any]
) -> AsyncIterator[Container]:
    """The real container on a SQLite file, then on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        built = build_container(settings_factory())
        yield built
        await built.aclose()
        return
    from tests.persistence.conftest import _postgres_database

    with _postgres_database(request.getfixturevalue("pg_admin")) as url:
        built = build_container(settings_factory(database_url=url))
        try:
            yield built
        finally:
            await built.aclose()
