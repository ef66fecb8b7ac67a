"""Crash-safe file writes and one writer per series at a time.

A file is written to a temporary name in its own directory, flushed to disk (fsync),
then renamed over the old one (``os.replace`` is atomic), and the directory itself is
synced so the rename survives a power cut. A reader therefore sees the old file or the
new one, never half of either; a writer killed midway leaves only a ``.tmp`` file that
readers ignore and the next writer of that series removes.

Writers of one series take an exclusive lock on its ``.lock`` file (``flock`` on POSIX,
``msvcrt.locking`` on Windows), so two processes (the GUI and a CLI download) or two
threads merging into the same file cannot lose each other's rows.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from task_station.domain.errors import DataError

LOCK_NAME = ".lock"
TMP_SUFFIX = ".tmp"
COMPRESSION = "zstd"


def temp_path(path: Path) -> Path:
    """A fresh hidden temporary name beside ``path`` (same directory, same filesystem)."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{TMP_SUFFIX}")


def sync_directory(directory: Path) -> None:
    """Make renames in ``directory`` durable (a no-op where directories cannot be opened)."""
    if sys.platform == "win32":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_table_tmp(table: Any, path: Path) -> Path:
    """Write a pyarrow table to a synced temporary file beside ``path``; return its name."""
    import pyarrow.parquet as pq

    tmp = temp_path(path)
    try:
        with open(tmp, "wb") as sink:
            pq.write_table(
                table,
                sink,
                compression=COMPRESSION,
                use_dictionary=["side", "id"],
                write_statistics=["ts"],
            )
            sink.flush()
            os.fsync(sink.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _replace(tmp: Path, target: Path) -> None:
    # Windows refuses to replace a file while a reader has it open: wait for the reader.
    for attempt in range(50):
        try:
            os.replace(tmp, target)
            return
        except PermissionError:
            if sys.platform != "win32" or attempt == 49:
                raise
            time.sleep(0.02)


def commit(pairs: list[tuple[Path, Path]]) -> None:
    """Rename each temporary file over its target, then sync the directories."""
    for tmp, target in pairs:
        _replace(tmp, target)
    for directory in {target.parent for _, target in pairs}:
        sync_directory(directory)


def write_json_atomic(path: Path, payload: object) -> None:
    """Replace ``path`` with ``payload`` as JSON, crash-safe like the data files."""
    tmp = temp_path(path)
    try:
        with open(tmp, "w", encoding="utf-8") as sink:
            json.dump(payload, sink, indent=1)
            sink.flush()
            os.fsync(sink.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    commit([(tmp, path)])


def read_json(path: Path) -> Any:
    """``path`` as JSON, or None when it does not exist."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise DataError(f"{path} cannot be read ({exc}); delete it to reset it") from None


def remove_stale_temps(directory: Path) -> None:
    """Delete temporary files that dead writers left (call only holding the lock)."""
    for path in directory.glob(f".*{TMP_SUFFIX}"):
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def series_lock(directory: Path) -> Iterator[None]:
    """Hold the exclusive write lock of the series in ``directory`` (created if needed)."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / LOCK_NAME, "a+b") as handle:
        _lock(handle.fileno())
        try:
            yield
        finally:
            _unlock(handle.fileno())


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        while True:
            try:
                msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
                return
            except OSError:  # LK_LOCK gives up after 10 s; keep waiting
                continue

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


def read_table(path: Path, columns: list[str] | None = None) -> Any:
    """One data file as a pyarrow table; a damaged file is a ``DataError`` that says what
    to do (the atomic writes make this a disk fault or a hand-copied file, not a crash)."""
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path).read(columns=columns, use_threads=True)
    except FileNotFoundError:
        raise
    except Exception as exc:  # pyarrow raises several types for damaged files
        raise DataError(
            f"stored file {path} is damaged ({exc}); delete it and download that period again"
        ) from None
