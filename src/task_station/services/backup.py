"""Backup and restore of a whole station: its database, the trader's files and the
encrypted vault file, in one ``.tar.gz`` archive with a manifest.

The manifest names the station and schema versions and the SHA-256 of every file. A
restore checks all of it before it touches anything (readable archive, known format,
no odd member names, every checksum, a database of the same kind and a schema revision
this version knows), then swaps the files and the database in, and finally migrates an
older schema to this version's head. A secret is never written in clear: the archive
holds the vault file only as ``keyrings.cryptfile`` encrypted it (it needs the same
master password after a restore), and an OS keyring's secrets stay in the OS keyring.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from task_station import __version__
from task_station.domain.clock import Clock
from task_station.domain.errors import DataError, ValidationError
from task_station.logging_setup import redact

log = logging.getLogger(__name__)

FORMAT = "task-station-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SETTINGS = "settings.json"
VAULT_FILE = "secrets.cfg"
#: Folders of the data directory that belong to the trader (logs and caches do not).
DATA_FOLDERS = ("strategies", "presets", "backtests")
_SECRET_WORDS = ("password", "secret", "token", "key")


class DatabaseDumper(Protocol):
    """What the service needs from persistence (``persistence.backup.DatabaseBackup``)."""

    @property
    def dialect(self) -> str: ...
    def dump(self, directory: Path) -> Any: ...
    def check(self, dump: Path) -> str | None: ...
    def restore(self, dump: Path) -> Path | None: ...


@dataclass(frozen=True, slots=True)
class BackupReport:
    path: Path
    dialect: str
    revision: str | None
    files: int
    size: int


@dataclass(frozen=True, slots=True)
class RestoreReport:
    path: Path
    dialect: str
    revision_restored: str | None
    revision_now: str | None
    files: int
    previous_database: Path | None
    station_version: str


@dataclass(frozen=True, slots=True)
class StationLayout:
    """Where the station being backed up or restored keeps its things."""

    data_dir: Path
    vault_backend: str
    known_revisions: tuple[str, ...]
    settings: Mapping[str, object]


class BackupService:
    """Create and restore station archives.

    Parameters
    ----------
    layout
        The data directory, vault kind, schema revisions and (non-secret) settings.
    database
        Dumps and restores the database.
    migrate
        Upgrades the restored database to the head revision; returns the revision.
    clock
        For the manifest's ``created_at``.
    """

    def __init__(
        self,
        layout: StationLayout,
        database: DatabaseDumper,
        migrate: Callable[[], str | None],
        clock: Clock,
    ) -> None:
        self._layout = layout
        self._database = database
        self._migrate = migrate
        self._clock = clock

    # -- backup ------------------------------------------------------------------------

    def backup(self, path: Path) -> BackupReport:
        """Write the station's archive to ``path`` (``.tar.gz``; replaced if it exists)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with _scratch(path.parent) as scratch:
            root = scratch / "archive"
            (root / "database").mkdir(parents=True)
            dump = self._database.dump(root / "database")
            self._copy_trader_files(root / "files")
            (root / SETTINGS).write_text(
                json.dumps(public_settings(self._layout.settings), indent=2, default=str),
                encoding="utf-8",
            )
            members = _checksums(root)
            manifest = self._manifest(Path(dump.path).relative_to(root), dump.revision, members)
            (root / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
            partial = scratch / "backup.tar.gz"
            with tarfile.open(partial, "w:gz") as archive:
                archive.add(root / MANIFEST, MANIFEST)  # first: read without unpacking
                for name in sorted(members):
                    archive.add(root / name, name)
            shutil.move(partial, path)
        log.info("backup written to %s (%d files)", path, len(members))
        return BackupReport(
            path, self._database.dialect, dump.revision, len(members), path.stat().st_size
        )

    def _copy_trader_files(self, target: Path) -> None:
        data = self._layout.data_dir
        for name in DATA_FOLDERS:
            if (data / name).is_dir():
                shutil.copytree(data / name, target / name, ignore=_skip_caches)
        vault = data / VAULT_FILE
        if vault.is_file():  # encrypted by keyrings.cryptfile: never clear text
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(vault, target / VAULT_FILE)

    def _manifest(
        self, dump: Path, revision: str | None, members: Mapping[str, Mapping[str, object]]
    ) -> dict[str, object]:
        vault_included = f"files/{VAULT_FILE}" in members
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": self._clock.now().isoformat(),
            "station_version": __version__,
            "python_version": platform.python_version(),
            "database": {
                "dialect": self._database.dialect,
                "revision": revision,
                "head_revision": self._layout.known_revisions[-1],
                "file": dump.as_posix(),
            },
            "vault": {
                "backend": self._layout.vault_backend,
                "file": f"files/{VAULT_FILE}" if vault_included else None,
                "note": "encrypted file: restore needs its master password"
                if vault_included
                else "secrets stay in the OS keyring; the database holds only references",
            },
            "files": dict(members),
        }

    # -- restore -----------------------------------------------------------------------

    def restore(self, path: Path) -> RestoreReport:
        """Put the archive's database and files in place of the station's own.

        Everything is checked first; a refused archive changes nothing. The station
        must not be running meanwhile.
        """
        path = Path(path)
        data = self._layout.data_dir
        data.mkdir(parents=True, exist_ok=True)
        with _scratch(data) as scratch:
            manifest = self._unpack(path, scratch / "unpacked")
            root = scratch / "unpacked"
            database = manifest["database"]
            dump = root / str(database["file"])
            found = self._database.check(dump)
            if found is not None and found != database["revision"]:
                raise DataError(
                    f"the backup's database is at schema {found}, its manifest says "
                    f"{database['revision']}: the archive is inconsistent"
                )
            swapped = _swap_files(root / "files", data, scratch / "previous")
            try:
                previous = self._database.restore(dump)
            except BaseException:
                swapped.undo()
                raise
            swapped.commit()
        revision_now = self._migrate()
        log.info("restored %s (schema %s -> %s)", path, database["revision"], revision_now)
        return RestoreReport(
            path=path,
            dialect=str(database["dialect"]),
            revision_restored=database["revision"],
            revision_now=revision_now,
            files=len(manifest["files"]),
            previous_database=previous,
            station_version=str(manifest.get("station_version")),
        )

    def _unpack(self, path: Path, into: Path) -> dict[str, Any]:
        """Read, check and unpack the archive into ``into``; its manifest."""
        if not path.is_file():
            raise ValidationError(f"no backup at {path}")
        try:
            with tarfile.open(path, "r:gz") as archive:
                members = archive.getmembers()
                manifest = _read_manifest(archive, path)
                expected = self._check_manifest(manifest, path)
                _check_members(members, expected, path)
                into.mkdir(parents=True, exist_ok=True)
                if hasattr(tarfile, "data_filter"):  # Python 3.11.4+: refuse odd members
                    archive.extractall(into, filter="data")
                else:  # pragma: no cover - the members were checked above
                    archive.extractall(into)  # noqa: S202
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise DataError(f"{path} is damaged or not a TASK Station backup: {exc}") from None
        for name, entry in expected.items():
            if _sha256(into / name) != entry["sha256"]:
                raise DataError(f"{path} is corrupt: {name} does not match its checksum")
        return manifest

    def _check_manifest(self, manifest: dict[str, Any], path: Path) -> dict[str, Any]:
        if manifest.get("format") != FORMAT:
            raise DataError(f"{path} is not a TASK Station backup (unknown manifest format)")
        version = manifest.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise DataError(
                f"{path} was written by a newer TASK Station (backup format {version}); "
                "upgrade this station first"
            )
        database = manifest.get("database")
        files = manifest.get("files")
        if not isinstance(database, dict) or not isinstance(files, dict):
            raise DataError(f"{path} has an incomplete manifest")
        if database.get("file") not in files:
            raise DataError(f"{path} has no database file")
        dialect = database.get("dialect")
        if dialect != self._database.dialect:
            raise DataError(
                f"{path} holds a {dialect} database but this station uses "
                f"{self._database.dialect}: restore it into a station of the same kind"
            )
        revision = database.get("revision")
        if revision is not None and revision not in self._layout.known_revisions:
            raise DataError(
                f"{path} holds schema {revision}, which this version does not know "
                f"(it knows up to {self._layout.known_revisions[-1]}): it comes from a "
                "newer TASK Station; upgrade this station first"
            )
        return files


def public_settings(values: Mapping[str, object]) -> dict[str, object]:
    """The settings without secrets: secret-named fields dropped, URLs' passwords masked."""
    kept: dict[str, object] = {}
    for name, value in values.items():
        if any(word in name.lower() for word in _SECRET_WORDS):
            continue
        kept[name] = redact(value) if isinstance(value, str) else value
    return kept


# -- helpers ---------------------------------------------------------------------------


@contextmanager
def _scratch(near: Path) -> Iterator[Path]:
    """A private scratch directory on the same file system as ``near`` (cheap moves)."""
    near.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".task-station-backup-", dir=near))
    try:
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _skip_caches(_directory: str, names: list[str]) -> list[str]:
    return [n for n in names if n == "__pycache__" or n.endswith((".pyc", ".tmp"))]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _checksums(root: Path) -> dict[str, dict[str, object]]:
    return {
        file.relative_to(root).as_posix(): {"sha256": _sha256(file), "size": file.stat().st_size}
        for file in sorted(root.rglob("*"))
        if file.is_file()
    }


def _read_manifest(archive: tarfile.TarFile, path: Path) -> dict[str, Any]:
    try:
        handle = archive.extractfile(MANIFEST)
    except KeyError:
        raise DataError(f"{path} is not a TASK Station backup: {MANIFEST} is missing") from None
    if handle is None:
        raise DataError(f"{path} is not a TASK Station backup: {MANIFEST} is not a file")
    try:
        manifest = json.loads(handle.read().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise DataError(f"{path} has a damaged {MANIFEST}") from None
    if not isinstance(manifest, dict):
        raise DataError(f"{path} has a damaged {MANIFEST}")
    return manifest


def _check_members(members: list[tarfile.TarInfo], files: Mapping[str, Any], path: Path) -> None:
    """Regular files with plain relative names, exactly those the manifest lists."""
    names: set[str] = set()
    for member in members:
        name = PurePosixPath(member.name)
        if not member.isfile() or name.is_absolute() or ".." in name.parts:
            raise DataError(f"{path} holds an unexpected entry {member.name!r}; refused")
        names.add(name.as_posix())
    listed = set(files) | {MANIFEST}
    if names != listed:
        odd = sorted(names ^ listed)
        raise DataError(f"{path} does not match its manifest (files {', '.join(odd)}); refused")
    for listed_name, entry in files.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
            raise DataError(f"{path} has no checksum for {listed_name}")


class _Swap:
    """Files moved into the data directory, with what they replaced kept to undo it."""

    def __init__(self, data_dir: Path, previous: Path) -> None:
        self._data = data_dir
        self._previous = previous
        self._done: list[str] = []

    def put(self, source: Path, name: str) -> None:
        target = self._data / name
        if target.exists():
            self._previous.mkdir(parents=True, exist_ok=True)
            shutil.move(target, self._previous / name)
        self._done.append(name)
        shutil.move(source, target)

    def undo(self) -> None:
        for name in reversed(self._done):
            target = self._data / name
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)
            if (self._previous / name).exists():
                shutil.move(self._previous / name, target)

    def commit(self) -> None:
        if self._previous.exists():
            shutil.rmtree(self._previous, ignore_errors=True)


def _swap_files(source: Path, data_dir: Path, previous: Path) -> _Swap:
    swap = _Swap(data_dir, previous)
    if not source.is_dir():
        return swap
    try:
        for entry in sorted(source.iterdir()):
            if entry.name in (*DATA_FOLDERS, VAULT_FILE):
                swap.put(entry, entry.name)
    except BaseException:
        swap.undo()
        raise
    return swap


def describe(report: BackupReport | RestoreReport) -> str:
    """One line for a terminal."""
    if isinstance(report, BackupReport):
        return (
            f"backup written: {report.path} ({report.dialect}, schema {report.revision}, "
            f"{report.files} files, {report.size:,} bytes)"
        )
    kept = f"; the previous database is kept at {report.previous_database}" if (
        report.previous_database
    ) else ""  # fmt: skip
    return (
        f"restored {report.path} (station {report.station_version}, {report.dialect}, "
        f"schema {report.revision_restored} -> {report.revision_now}){kept}"
    )
