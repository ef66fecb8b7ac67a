"""The SQL half of backup and restore: a consistent copy of the whole database, put back
atomically, and the schema revisions this version knows.

SQLite is copied with its online backup API (``sqlite3.Connection.backup``): a running
station may keep writing. PostgreSQL is dumped by ``pg_dump`` as plain SQL and restored
by ``psql`` in one transaction that first empties the ``public`` schema, so a failed
restore leaves the database as it was. The whole database is copied, so tables added by
later migrations are included without anyone listing them. The password of a
PostgreSQL URL goes to the tools through ``PGPASSWORD``, never on a command line.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL

from task_station.domain.errors import ConfigurationError, DataError
from task_station.persistence.database import Database, migrations_dir, normalize_url

SQLITE_DUMP = "database.sqlite3"
POSTGRES_DUMP = "database.sql"
TOOL_TIMEOUT_SECONDS = 1800
_WIPE_PUBLIC = "DROP SCHEMA IF EXISTS public CASCADE;\nCREATE SCHEMA public;\n"


@cache
def schema_revisions() -> tuple[str, ...]:
    """Every migration revision, oldest first ("0001", ..., head)."""
    script = ScriptDirectory(str(migrations_dir()))
    return tuple(rev.revision for rev in reversed(list(script.walk_revisions())))


def head_revision() -> str:
    """The newest schema revision this version of the station migrates to."""
    return schema_revisions()[-1]


@dataclass(frozen=True, slots=True)
class DatabaseDump:
    """A dump file and what it holds."""

    dialect: str  # "sqlite" or "postgresql"
    path: Path
    revision: str | None


class DatabaseBackup:
    """Dump and restore the database at ``url`` (SQLite file or PostgreSQL)."""

    def __init__(self, url: str) -> None:
        self._url = normalize_url(url)

    @property
    def dialect(self) -> str:
        return "sqlite" if self._url.get_backend_name() == "sqlite" else "postgresql"

    def dump(self, directory: Path) -> DatabaseDump:
        """Write a consistent copy of the whole database into ``directory``."""
        if self.dialect == "sqlite":
            return self._dump_sqlite(directory / SQLITE_DUMP)
        return self._dump_postgres(directory / POSTGRES_DUMP)

    def check(self, dump: Path) -> str | None:
        """Check a dump before restoring it; its schema revision when the file tells.

        A SQLite copy must pass ``PRAGMA integrity_check``; a PostgreSQL dump must be
        text that ``pg_dump`` wrote (its checksum was checked by the caller).
        """
        if self.dialect == "sqlite":
            return _sqlite_revision(dump)
        head = dump.read_bytes()[:4096]
        if b"PostgreSQL database dump" not in head:
            raise DataError(f"{dump.name} is not a PostgreSQL dump written by pg_dump")
        return None

    def restore(self, dump: Path) -> Path | None:
        """Replace the whole database by ``dump`` (all or nothing).

        Returns the SQLite file the previous database was moved to (kept beside the
        new one as ``*.pre-restore``), or None for PostgreSQL.
        """
        if self.dialect == "sqlite":
            return self._restore_sqlite(dump)
        self._restore_postgres(dump)
        return None

    # -- SQLite ------------------------------------------------------------------------

    def _sqlite_path(self) -> Path:
        database = self._url.database
        if not database or database == ":memory:":
            raise ConfigurationError("an in-memory database cannot be backed up or restored")
        return Path(database)

    def _dump_sqlite(self, target: Path) -> DatabaseDump:
        source_path = self._sqlite_path()
        if not source_path.is_file():
            raise ConfigurationError(f"no database at {source_path}: nothing to back up")
        with (
            _closing(sqlite3.connect(source_path)) as source,
            _closing(sqlite3.connect(target)) as copy,
        ):
            source.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        return DatabaseDump("sqlite", target, _sqlite_revision(target))

    def _restore_sqlite(self, dump: Path) -> Path | None:
        target = self._sqlite_path()
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = target.with_name(f".{target.name}.restoring")
        shutil.copyfile(dump, staged)
        previous = target.with_name(target.name + ".pre-restore")
        moved = False
        try:
            _sqlite_revision(staged)  # the copy we are about to use is sound
            if target.exists():
                _checkpoint(target)  # everything in the main file: the WAL can go
                os.replace(target, previous)
                moved = True
                for suffix in ("-wal", "-shm"):
                    target.with_name(target.name + suffix).unlink(missing_ok=True)
            os.replace(staged, target)
        except BaseException:
            if moved and not target.exists():
                os.replace(previous, target)
            raise
        finally:
            staged.unlink(missing_ok=True)
        return previous if moved else None

    # -- PostgreSQL --------------------------------------------------------------------

    def _dump_postgres(self, target: Path) -> DatabaseDump:
        _run_tool(
            ["pg_dump", "--format=plain", "--no-owner", "--no-privileges", "--file", str(target),
             "--dbname", _libpq_uri(self._url)],
            self._url,
        )  # fmt: skip
        return DatabaseDump("postgresql", target, self._postgres_revision())

    def _restore_postgres(self, dump: Path) -> None:
        wipe = dump.with_name("wipe-public.sql")
        wipe.write_text(_WIPE_PUBLIC, encoding="utf-8")
        _run_tool(
            ["psql", "--no-psqlrc", "--quiet", "--single-transaction", "--set", "ON_ERROR_STOP=1",
             "--file", str(wipe), "--file", str(dump), "--dbname", _libpq_uri(self._url)],
            self._url,
        )  # fmt: skip

    def _postgres_revision(self) -> str | None:
        out = _run_tool(
            ["psql", "--no-psqlrc", "--tuples-only", "--no-align", "--command",
             "SELECT version_num FROM alembic_version", "--dbname", _libpq_uri(self._url)],
            self._url,
        )  # fmt: skip
        return out.strip() or None


@contextlib.contextmanager
def _closing(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    try:
        yield connection
    finally:
        connection.close()


def _checkpoint(path: Path) -> None:
    with _closing(sqlite3.connect(path, timeout=5)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _sqlite_revision(path: Path) -> str | None:
    """The file's schema revision, after checking it is a sound SQLite database."""
    try:
        with _closing(sqlite3.connect(f"file:{path.as_posix()}?mode=ro", uri=True)) as db:
            verdict = db.execute("PRAGMA integrity_check").fetchone()
            if verdict is None or verdict[0] != "ok":
                raise DataError(f"{path.name} is damaged: {verdict[0] if verdict else '?'}")
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
            if "alembic_version" not in tables:
                return None
            row = db.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise DataError(f"{path.name} is not a readable SQLite database: {exc}") from None
    return None if row is None else str(row[0])


def _libpq_uri(url: URL) -> str:
    """``postgresql://user@host:port/db?...`` for libpq tools (no driver, no password)."""
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)


def _run_tool(argv: list[str], url: URL) -> str:
    tool = shutil.which(argv[0])
    if tool is None:
        raise ConfigurationError(
            f"{argv[0]} was not found: install the PostgreSQL client tools "
            "(Debian: apt-get install postgresql-client) to back up or restore PostgreSQL"
        )
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    try:
        done = subprocess.run(  # noqa: S603 - fixed tool, arguments from the URL
            [tool, *argv[1:]],
            env=env,
            capture_output=True,
            text=True,
            timeout=TOOL_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise DataError(f"{argv[0]} did not finish in {TOOL_TIMEOUT_SECONDS} s") from None
    if done.returncode != 0:
        message = done.stderr.strip().splitlines()
        raise DataError(f"{argv[0]} failed: {message[-1] if message else done.returncode}")
    return done.stdout


def migrate(url: str) -> str | None:
    """Upgrade the database at ``url`` to the head revision; the revision it ends at."""
    database = Database(url)
    try:
        database.upgrade()
        return database.current_revision()
    finally:
        database.dispose()
