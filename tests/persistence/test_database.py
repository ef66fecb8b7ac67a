"""Building a ``Database`` from a URL, and where the migrations are found."""

from __future__ import annotations

from pathlib import Path

import pytest

from task_station.domain.errors import ConfigurationError
from task_station.persistence import Database, migrations_dir, sqlite_url
from task_station.persistence.database import normalize_url


def test_plain_postgresql_url_gets_psycopg_driver() -> None:
    url = normalize_url("postgresql://postgres:secret@127.0.0.1:5432/test")
    assert url.drivername == "postgresql+psycopg"


def test_database_url_property_masks_password() -> None:
    database = Database("postgresql://postgres:secret@127.0.0.1:5432/test")
    try:
        assert "secret" not in database.url
        assert database.dialect == "postgresql"
    finally:
        database.dispose()


def test_unsupported_backend_raises_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="unsupported database"):
        Database("mysql://root@localhost/x")


def test_garbage_url_raises_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="not valid"):
        Database("not a url")


def test_migrations_dir_in_checkout_finds_repository_scripts() -> None:
    found = migrations_dir()
    assert (found / "env.py").is_file()
    assert (found / "versions" / "0001_initial.py").is_file()


def test_sqlite_url_of_nested_path_creates_parent(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "station.db"
    database = Database(sqlite_url(path))
    try:
        database.upgrade()
        assert path.is_file()
    finally:
        database.dispose()


def test_sqlite_connection_pragmas_are_set(tmp_path: Path) -> None:
    database = Database(sqlite_url(tmp_path / "p.db"))
    try:
        with database.engine.connect() as connection:
            mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
            keys = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
            timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
        assert (mode, keys, timeout) == ("wal", 1, 5000)
    finally:
        database.dispose()


def test_sqlite_after_migration_keeps_foreign_keys_on(tmp_path: Path) -> None:
    database = Database(sqlite_url(tmp_path / "f.db"))
    try:
        database.upgrade()
        with database.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        database.dispose()


def test_in_memory_sqlite_shares_one_database() -> None:
    database = Database("sqlite://")
    try:
        database.upgrade()
        assert database.users.count() == 0
    finally:
        database.dispose()
