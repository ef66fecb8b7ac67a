"""Fixtures: a fresh, migrated ``Database`` on SQLite and on real PostgreSQL.

Each PostgreSQL test gets its own database (``CREATE DATABASE ts_test_<hex>``), dropped
afterwards, so tests never see each other's rows. Without a server the PostgreSQL half
is skipped on a workstation, and fails under CI (``CI`` set), where it must run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import OperationalError

from task_station.persistence import Database, sqlite_url

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
PG_ADMIN_URL = f"{PG_SERVER}/test"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[Engine]:
    """An AUTOCOMMIT engine on the ``test`` database, for CREATE/DROP DATABASE."""
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except OperationalError:
        engine.dispose()
        message = "PostgreSQL not reachable on 127.0.0.1:5432"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI is set: PostgreSQL tests must run)")
        pytest.skip(message)
    yield engine
    engine.dispose()


@contextmanager
def _postgres_database(admin: Engine) -> Iterator[str]:
    name = f"ts_test_{uuid.uuid4().hex}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def make_database(
    backend: str, directory: Path, request: pytest.FixtureRequest, *, migrate: bool = True
) -> Iterator[Database]:
    """A fresh ``Database`` on ``backend``; migrated to head unless ``migrate`` is False."""
    if backend == "sqlite":
        database = Database(sqlite_url(directory / "station.db"))
        try:
            if migrate:
                database.upgrade()
            yield database
        finally:
            database.dispose()
        return
    admin = request.getfixturevalue("pg_admin")
    with _postgres_database(admin) as url:
        database = Database(url)
        try:
            if migrate:
                database.upgrade()
            yield database
        finally:
            database.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def empty_database(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Database]:
    """A fresh database with no schema at all."""
    with make_database(backend, tmp_path, request, migrate=False) as database:
        yield database


@pytest.fixture
def database(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Database]:
    """A fresh database migrated to head."""
    with make_database(backend, tmp_path, request) as database:
        yield database


@pytest.fixture(scope="module", params=BACKENDS)
def module_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """One migrated database per module, for property tests that write many rows."""
    directory = tmp_path_factory.mktemp("module-db")
    with make_database(str(request.param), directory, request) as database:
        yield database
