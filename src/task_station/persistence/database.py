"""The database handle: engine, sessions, repositories and migrations, from one URL.

SQLite is the embedded default. Its driver's own transaction handling (Python's
``sqlite3`` module) neither wraps DDL nor takes the write lock up front, so the engine
switches it off and issues ``BEGIN IMMEDIATE`` itself: migrations become atomic and a
read-then-write transaction cannot fail with ``SQLITE_BUSY`` halfway under WAL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import StaticPool

import task_station
from task_station.domain.errors import ConfigurationError
from task_station.persistence.accounts import SqlAccountStore
from task_station.persistence.audit import SqlAuditLog
from task_station.persistence.bots import SqlBotStore
from task_station.persistence.identity import SqlSessionStore, SqlUserStore
from task_station.persistence.models import Base
from task_station.persistence.orders import SqlOrderStore
from task_station.persistence.portfolio import SqlPortfolioStore
from task_station.persistence.risk import SqlKillSwitchStore

_SQLITE_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA foreign_keys=ON", "PRAGMA busy_timeout=5000")


def sqlite_url(path: Path) -> str:
    """A SQLAlchemy URL for the SQLite file at ``path`` (absolute, forward slashes)."""
    return f"sqlite:///{Path(path).resolve().as_posix()}"


def migrations_dir() -> Path:
    """Where the Alembic scripts are: inside the wheel, else the repository's top level."""
    candidates = (
        Path(task_station.__file__).parent / "_migrations",
        Path(__file__).resolve().parents[3] / "migrations",
    )
    for candidate in candidates:
        if (candidate / "env.py").is_file():
            return candidate
    tried = ", ".join(str(c) for c in candidates)
    raise ConfigurationError(f"database migrations are missing (looked in {tried}); reinstall")


def normalize_url(url: str) -> URL:
    """Parse ``url``; ``postgresql://`` means psycopg 3, the only PostgreSQL driver shipped."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigurationError("the database URL is not valid") from None
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        return parsed
    raise ConfigurationError(f"unsupported database {backend!r}: use sqlite or postgresql")


def _on_sqlite_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (see module doc)
    cursor = dbapi_connection.cursor()
    try:
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def _on_sqlite_begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _build_engine(url: URL) -> Engine:
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    in_memory = url.database in (None, "", ":memory:")
    if not in_memory and url.database:
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    if in_memory:
        options["poolclass"] = StaticPool  # one shared connection, or each one is empty
    engine = create_engine(url, **options)
    event.listen(engine, "connect", _on_sqlite_connect)
    event.listen(engine, "begin", _on_sqlite_begin)
    return engine


class Database:
    """Everything persistence offers, built from one URL.

    Repositories are attributes; each of their methods is its own short transaction.
    The schema is managed only through Alembic (``upgrade``/``downgrade``).
    """

    def __init__(self, url: str) -> None:
        self._url = normalize_url(url)
        self._engine = _build_engine(self._url)
        self._sessions = sessionmaker(self._engine, expire_on_commit=False)
        self.orders = SqlOrderStore(self._sessions)
        self.bots = SqlBotStore(self._sessions)
        self.portfolio = SqlPortfolioStore(self._sessions)
        self.users = SqlUserStore(self._sessions)
        self.sessions = SqlSessionStore(self._sessions)
        self.audit = SqlAuditLog(self._sessions)
        self.accounts = SqlAccountStore(self._sessions)
        self.kill_switch = SqlKillSwitchStore(self._sessions)

    @property
    def url(self) -> str:
        """The URL with any password masked, safe to log."""
        return self._url.render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, for migrations and tests inside ``persistence`` only."""
        return self._engine

    # --- migrations -------------------------------------------------------------------

    def upgrade(self, revision: str = "head") -> None:
        with self._migration_connection() as connection:
            command.upgrade(self._alembic_config(connection), revision)

    def downgrade(self, revision: str) -> None:
        with self._migration_connection() as connection:
            command.downgrade(self._alembic_config(connection), revision)

    def current_revision(self) -> str | None:
        with self._engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def schema_drift(self) -> list[str]:
        """Differences between the models and the migrated database (empty when in sync)."""
        with self._engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return [repr(diff) for diff in compare_metadata(context, Base.metadata)]

    def table_names(self) -> set[str]:
        with self._engine.connect() as connection:
            return set(inspect(connection).get_table_names())

    def dispose(self) -> None:
        """Close every pooled connection (call before deleting the file or the database)."""
        self._engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.dispose()

    def _alembic_config(self, connection: Connection) -> Config:
        config = Config()
        config.set_main_option("script_location", str(migrations_dir()).replace("%", "%%"))
        config.attributes["connection"] = connection
        return config

    @contextmanager
    def _migration_connection(self) -> Iterator[Connection]:
        """One transaction for the whole migration.

        On SQLite, foreign keys are switched off meanwhile (it only works outside a
        transaction): batch migrations copy and drop tables, which would otherwise
        cascade-delete child rows. The result is checked before committing.
        """
        with self._engine.connect() as connection:
            sqlite = self.dialect == "sqlite"
            if sqlite:
                _raw_sqlite(connection).execute("PRAGMA foreign_keys=OFF")
            try:
                with connection.begin():
                    yield connection
                    if sqlite:
                        _check_sqlite_foreign_keys(connection)
            finally:
                if sqlite:
                    _raw_sqlite(connection).execute("PRAGMA foreign_keys=ON")


def _raw_sqlite(connection: Connection) -> sqlite3.Connection:
    raw = connection.connection.driver_connection
    assert isinstance(raw, sqlite3.Connection)
    return raw


def _check_sqlite_foreign_keys(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        tables = sorted({str(row[0]) for row in broken})
        raise ConfigurationError(f"migration left dangling foreign keys in {', '.join(tables)}")
