"""Backup and restore of a whole station, on SQLite and on PostgreSQL.

A station that traded is backed up, restored into a new data directory (and a new
database), and started again: its users log in, its bots, orders, fills, tasks and
audit history are back, and every table holds the same rows. Damaged, foreign or
newer archives are refused without touching anything.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text

from task_station.config import Settings
from task_station.container import backup_service, build_container
from task_station.domain.errors import DataError
from task_station.persistence import Database
from task_station.persistence.backup import head_revision
from tests.persistence.conftest import _postgres_database, pg_admin  # noqa: F401  (fixture)

PASSWORD = "admin-password-1"
STRATEGY_FILE = "class Mine:  # a trader's own strategy file\n    pass\n"


@contextmanager
def _database_url(backend: str, request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None (SQLite in the data directory) or a fresh PostgreSQL database's URL."""
    if backend == "sqlite":
        yield None
        return
    with _postgres_database(request.getfixturevalue("pg_admin")) as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def stations(
    request: pytest.FixtureRequest, tmp_path: Path, settings_factory: Callable[..., Settings]
) -> Iterator[tuple[Settings, Settings]]:
    """The settings of two stations on the same backend: the original and the new one."""
    backend = str(request.param)
    with _database_url(backend, request) as a, _database_url(backend, request) as b:
        yield (
            settings_factory(data_dir=tmp_path / "a", database_url=a),
            settings_factory(data_dir=tmp_path / "b", database_url=b),
        )


def _row_counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            names = inspect(connection).get_table_names()
            return {
                name: connection.execute(text(f'SELECT COUNT(*) FROM "{name}"')).scalar_one()
                for name in names
            }
    finally:
        engine.dispose()


def _add_task_if_the_table_exists(database: Database) -> bool:
    if "tasks" not in database.table_names():
        return False
    with database.engine.begin() as connection:
        connection.execute(
            text("INSERT INTO tasks (id, name, description, enabled, owner, created_at) "
                 "VALUES ('t-1', 'nightly report', 'kept by the backup', :yes, 'admin', :at)"),
            {"yes": True, "at": "2026-01-01 00:00:00+00:00"},
        )  # fmt: skip
    return True


async def _trade(settings: Settings) -> dict[str, Any]:
    """Run a paper bot to the end on a new station; what it left behind."""
    container = build_container(settings)
    try:
        s = container.services
        s.users.create("admin", PASSWORD, "admin", actor=None)
        admin = s.auth.login("admin", PASSWORD).principal
        bot = s.bots.create(
            admin, name="keeper", strategy="sma_cross", params={"fast": 3, "slow": 8},
            quote_budget="1000", data_source="synthetic:7",
        )  # fmt: skip
        await s.bots.start(admin, bot.id)
        while s.bots.is_running(bot.id):
            await asyncio.sleep(0.01)
        has_tasks = _add_task_if_the_table_exists(container.database)
        return {
            "bot": s.bots.get(bot.id),
            "orders": s.orders.list(bot_id=bot.id, limit=5000),
            "fills": s.orders.fills(bot_id=bot.id),
            "book": s.portfolio.book(bot.id),
            "has_tasks": has_tasks,
            "url": settings.resolved_database_url,
        }
    finally:
        await container.aclose()


def _tree(directory: Path) -> dict[str, str]:
    """Every file under ``directory`` with its hash: proof that nothing changed."""
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


async def test_backup_restored_into_a_new_station_brings_everything_back(
    stations: tuple[Settings, Settings], tmp_path: Path
) -> None:
    old, new = stations
    before = await _trade(old)
    assert before["fills"], "the bot should have traded"
    (old.data_dir / "strategies" / "mine.py").write_text(STRATEGY_FILE, encoding="utf-8")
    archive = tmp_path / "backups" / "station.tar.gz"

    made = backup_service(old).backup(archive)
    assert made.revision == head_revision() and archive.is_file()
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        settings_json = json.load(tar.extractfile("settings.json"))  # type: ignore[arg-type]
        names = tar.getnames()
    assert manifest["database"]["revision"] == head_revision()
    assert "files/strategies/mine.py" in names and "files/secrets.cfg" in names
    assert "keyring_password" not in settings_json

    restored = backup_service(new).restore(archive)
    assert restored.revision_now == head_revision()
    assert _row_counts(new.resolved_database_url) == _row_counts(before["url"])

    container = build_container(new)  # the same vault password opens the restored vault
    try:
        s = container.services
        assert s.auth.login("admin", PASSWORD).principal.username == "admin"
        bot = before["bot"]
        assert s.bots.get(bot.id) == bot
        assert s.orders.list(bot_id=bot.id, limit=5000) == before["orders"]
        assert s.orders.fills(bot_id=bot.id) == before["fills"]
        assert s.portfolio.book(bot.id) == before["book"]
        if before["has_tasks"]:
            with container.database.engine.connect() as connection:
                name = connection.execute(text("SELECT name FROM tasks WHERE id = 't-1'"))
                assert name.scalar_one() == "nightly report"
    finally:
        await container.aclose()
    assert (new.data_dir / "strategies" / "mine.py").read_text() == STRATEGY_FILE


def _sqlite_station(settings_factory: Callable[..., Settings], path: Path) -> Settings:
    settings = settings_factory(data_dir=path)
    with Database(settings.resolved_database_url) as database:
        database.upgrade()
        database.users.count()
    return settings


def _rewrite(archive: Path, target: Path, change: Callable[[str, bytes], bytes | None]) -> None:
    """Copy ``archive`` to ``target``, passing each member through ``change`` (None: drop)."""
    with tarfile.open(archive) as source, tarfile.open(target, "w:gz") as out:
        for member in source.getmembers():
            data = change(member.name, source.extractfile(member).read())  # type: ignore[union-attr]
            if data is not None:
                info = tarfile.TarInfo(member.name)
                info.size = len(data)
                out.addfile(info, io.BytesIO(data))


def _manifest_edit(edit: Callable[[dict[str, Any]], None]) -> Callable[[str, bytes], bytes]:
    def change(name: str, data: bytes) -> bytes:
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        edit(manifest)
        return json.dumps(manifest).encode()

    return change


def _set_revision(manifest: dict[str, Any]) -> None:
    manifest["database"]["revision"] = "9999"


def _set_format(manifest: dict[str, Any]) -> None:
    manifest["format_version"] = 99


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("truncated", "damaged or not a TASK Station backup"),
        ("tampered", "does not match its checksum"),
        ("no manifest", "manifest.json is missing"),
        ("extra file", "does not match its manifest"),
        ("newer schema", "newer TASK Station"),
        ("newer format", "newer TASK Station"),
        ("not an archive", "damaged or not a TASK Station backup"),
    ],
)
def test_damaged_or_mismatched_archive_is_refused_and_changes_nothing(
    settings_factory: Callable[..., Settings], tmp_path: Path, damage: str, message: str
) -> None:
    source = _sqlite_station(settings_factory, tmp_path / "source")
    archive = tmp_path / "good.tar.gz"
    backup_service(source).backup(archive)
    target = _sqlite_station(settings_factory, tmp_path / "target")
    (target.data_dir / "strategies").mkdir(exist_ok=True)
    (target.data_dir / "strategies" / "keep.py").write_text("# mine", encoding="utf-8")
    bad = tmp_path / "bad.tar.gz"
    if damage == "truncated":
        bad.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    elif damage == "tampered":
        _rewrite(archive, bad, lambda n, d: d + b"\0" if n.startswith("database/") else d)
    elif damage == "no manifest":
        _rewrite(archive, bad, lambda n, d: None if n == "manifest.json" else d)
    elif damage == "extra file":
        bad.write_bytes(archive.read_bytes())
        _append(bad, "files/strategies/evil.py", b"import os")
    elif damage == "newer schema":
        _rewrite(archive, bad, _manifest_edit(_set_revision))
    elif damage == "newer format":
        _rewrite(archive, bad, _manifest_edit(_set_format))
    else:
        bad.write_text("hello", encoding="utf-8")
    untouched = _tree(target.data_dir)
    with pytest.raises(DataError, match=message):
        backup_service(target).restore(bad)
    assert _tree(target.data_dir) == untouched


def _append(archive: Path, name: str, data: bytes) -> None:
    members: list[tuple[tarfile.TarInfo, bytes]] = []
    with tarfile.open(archive) as source:
        for member in source.getmembers():
            members.append((member, source.extractfile(member).read()))  # type: ignore[union-attr]
    with tarfile.open(archive, "w:gz") as out:
        for member, content in [*members, (tarfile.TarInfo(name), data)]:
            member.size = len(content)
            out.addfile(member, io.BytesIO(content))


def test_backup_of_an_older_schema_is_upgraded_after_restore(
    settings_factory: Callable[..., Settings], tmp_path: Path
) -> None:
    old = settings_factory(data_dir=tmp_path / "old")
    old.data_dir.mkdir(parents=True)
    with Database(old.resolved_database_url) as database:
        database.upgrade("0004")
        with database.engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO users (id, username, role, password_hash, active, created_at) "
                "VALUES ('u-1', 'veteran', 'admin', 'x', 1, '2024-01-01 00:00:00+00:00')"
            ))  # fmt: skip
    archive = tmp_path / "old.tar.gz"
    assert backup_service(old).backup(archive).revision == "0004"
    new = settings_factory(data_dir=tmp_path / "new")
    report = backup_service(new).restore(archive)
    assert (report.revision_restored, report.revision_now) == ("0004", head_revision())
    with Database(new.resolved_database_url) as database:
        veteran = database.users.get_by_username("veteran")
        assert veteran is not None and veteran.id == "u-1"


@pytest.mark.postgres
def test_sqlite_archive_is_refused_by_a_postgresql_station(
    settings_factory: Callable[..., Settings],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    source = _sqlite_station(settings_factory, tmp_path / "source")
    archive = tmp_path / "sqlite.tar.gz"
    backup_service(source).backup(archive)
    with _postgres_database(request.getfixturevalue("pg_admin")) as url:
        target = settings_factory(data_dir=tmp_path / "pg", database_url=url)
        with pytest.raises(DataError, match="holds a sqlite database but this station uses"):
            backup_service(target).restore(archive)
        assert _row_counts(url) == {}


@pytest.mark.postgres
def test_failed_postgresql_restore_leaves_the_database_as_it_was(
    settings_factory: Callable[..., Settings],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    """The dump passes every check but fails half-way: one transaction, rolled back."""
    admin = request.getfixturevalue("pg_admin")
    with _postgres_database(admin) as source_url, _postgres_database(admin) as target_url:
        source = settings_factory(data_dir=tmp_path / "a", database_url=source_url)
        target = settings_factory(data_dir=tmp_path / "b", database_url=target_url)
        for settings, user in ((source, "alice"), (target, "bob")):
            with Database(settings.resolved_database_url) as database:
                database.upgrade()
                with database.engine.begin() as connection:
                    connection.execute(text(
                        "INSERT INTO users (id, username, role, password_hash, active, "
                        "created_at) VALUES (:u, :u, 'admin', 'x', true, now())"
                    ), {"u": user})  # fmt: skip
        archive = tmp_path / "pg.tar.gz"
        backup_service(source).backup(archive)
        broken = tmp_path / "broken.tar.gz"
        sql = b"\nSELECT * FROM no_such_table;\n"
        digest: dict[str, str] = {}

        def change(name: str, data: bytes) -> bytes:
            if name == "database/database.sql":
                digest["sha256"] = hashlib.sha256(data + sql).hexdigest()
                return data + sql
            return data

        _rewrite(archive, tmp_path / "step.tar.gz", change)
        _rewrite(
            tmp_path / "step.tar.gz",
            broken,
            _manifest_edit(lambda m: m["files"]["database/database.sql"].update(digest)),
        )
        before = _row_counts(target_url)
        with pytest.raises(DataError, match="psql failed"):
            backup_service(target).restore(broken)
        assert _row_counts(target_url) == before
        with Database(target_url) as database:
            assert database.users.get_by_username("bob") is not None
            assert database.users.get_by_username("alice") is None


def test_backup_and_restore_commands(tmp_path: Path) -> None:
    """``task-station backup`` then ``restore`` into another data directory."""

    def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "TASK_DATA_DIR": str(data_dir), "TASK_KEYRING_BACKEND": "cryptfile",
               "TASK_KEYRING_PASSWORD": "cli-vault-password", "TASK_BCRYPT_ROUNDS": "4"}  # fmt: skip
        return subprocess.run(
            [sys.executable, "-m", "task_station", *args],
            capture_output=True, text=True, timeout=240, env=env,
        )  # fmt: skip

    created = subprocess.run(
        [sys.executable, "-m", "task_station", "user", "create", "--username", "root",
         "--role", "admin", "--password-stdin"],
        input="root-password-1\n", capture_output=True, text=True, timeout=240,
        env={**os.environ, "TASK_DATA_DIR": str(tmp_path / "a"), "TASK_BCRYPT_ROUNDS": "4",
             "TASK_KEYRING_BACKEND": "cryptfile", "TASK_KEYRING_PASSWORD": "cli-vault-password"},
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    archive = tmp_path / "station.tar.gz"
    made = cli(tmp_path / "a", "backup", str(archive))
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith(f"backup written: {archive} (sqlite, schema {head_revision()}")
    restored = cli(tmp_path / "b", "restore", str(archive))
    assert restored.returncode == 0, restored.stderr
    assert f"-> {head_revision()})" in restored.stdout
    refused = cli(tmp_path / "c", "restore", str(tmp_path / "missing.tar.gz"))
    assert refused.returncode == 2 and "no backup at" in refused.stderr
    with Database(f"sqlite:///{tmp_path / 'b' / 'task-station.db'}") as database:
        root = database.users.get_by_username("root")
        assert root is not None and root.role.value == "admin"
