"""First-run set-up: what the wizard needs before the station itself exists.

The wizard chooses where the data lives and how secrets are kept, so it runs before
the container is built; these functions are the checks and the saving it calls (the
GUI stays a face: it never opens a database or a keyring itself).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from task_station import settings_file
from task_station.domain.errors import ConfigurationError, TaskStationError
from task_station.persistence.database import Database
from task_station.security.passwords import check_policy
from task_station.security.vault import os_keyring_available


@dataclass(frozen=True, slots=True)
class FirstRunChoices:
    """What the trader chose. Passwords stay in memory: the vault password unlocks the
    encrypted-file vault, the admin password becomes a bcrypt hash; neither is saved."""

    admin_username: str
    admin_password: str
    database_url: str | None = None  # None: SQLite in the data directory
    keyring_backend: str = "auto"  # "auto" (OS keyring when there is one) or "cryptfile"
    vault_password: str | None = None
    demo_bots: bool = False


def check_database(url: str) -> str:
    """Connect to ``url`` and say what it is; ``ConfigurationError`` if it cannot be
    used (the message says why, never the password in the URL)."""
    try:
        with Database(url) as db:
            with db.engine.connect() as connection:
                query = "select sqlite_version()" if db.dialect == "sqlite" else "select version()"
                version = connection.exec_driver_sql(query).scalar()
            return f"{db.dialect}: {version}"
    except TaskStationError:
        raise
    except Exception as exc:
        reason = str(exc).splitlines()[0][:300]
        raise ConfigurationError(f"cannot use that database: {reason}") from None


def check_admin_password(password: str, confirm: str) -> None:
    if password != confirm:
        raise ConfigurationError("the two passwords differ")
    check_policy(password)


def save_choices(choices: FirstRunChoices, path: Path | None = None) -> Path:
    """Write the choices that are settings (database, keyring backend) to the settings
    file; the rest is used once by the start-up that follows."""
    return settings_file.save(
        {"database_url": choices.database_url, "keyring_backend": choices.keyring_backend},
        path,
    )


def has_os_keyring() -> bool:
    return os_keyring_available()
