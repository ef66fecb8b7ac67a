"""The secrets vault: API keys, wallet keys, webhook secrets and the JWT key.

Secrets go to the OS keyring when a real one is available and otherwise to an
encrypted file (Argon2 + AES-GCM, ``keyrings.cryptfile``) unlocked with a master
password held only in memory. Plaintext, ``fail`` and ``null`` backends are refused: a
secret is never written where it can be read without a password. The database stores
only the reference names used here.
"""

from __future__ import annotations

import json
import logging
import secrets
from pathlib import Path
from typing import Any

from task_station.domain.errors import SecretStoreError
from task_station.redaction import remember_secret

log = logging.getLogger(__name__)

SERVICE = "task-station"
_REFUSED_BACKENDS = ("fail", "null", "plaintext", "keyrings.alt")


def os_keyring_available() -> bool:
    """True when the OS offers a keyring the station trusts with secrets."""
    return _os_keyring() is not None


def _os_keyring() -> Any | None:
    """The OS keyring backend if a trustworthy one is available, else None."""
    import keyring

    backend = keyring.get_keyring()
    name = f"{type(backend).__module__}.{type(backend).__name__}".lower()
    if any(bad in name for bad in _REFUSED_BACKENDS) or getattr(backend, "priority", 0) <= 0:
        return None
    if "cryptfile" in name:  # found via entry points: we configure that one ourselves
        return None
    return backend


def _remember(value: str) -> None:
    """Tell the redactor about a secret, and about each string inside a JSON one (a
    notification channel keeps several fields in one entry)."""
    remember_secret(value)
    if value.startswith("{"):
        try:
            fields = json.loads(value)
        except ValueError:
            return
        if isinstance(fields, dict):
            for field in fields.values():
                if isinstance(field, str):
                    remember_secret(field)


class SecretsVault:
    """Get and set secrets by reference name; refuses to work while locked."""

    def __init__(self, data_dir: Path, backend: str = "auto") -> None:
        if backend not in ("auto", "os", "cryptfile"):
            raise SecretStoreError(
                f"unknown keyring backend {backend!r}; use auto, os or cryptfile"
            )
        self._file = data_dir / "secrets.cfg"
        self._backend: Any | None = None
        self.kind = "locked"
        if backend in ("auto", "os"):
            os_backend = _os_keyring()
            if os_backend is not None:
                self._backend, self.kind = os_backend, "os"
            elif backend == "os":
                raise SecretStoreError(
                    "no OS keyring service is available; install one (e.g. gnome-keyring) "
                    "or use the encrypted-file vault"
                )
        self._cache: dict[str, str] = {}

    @property
    def is_unlocked(self) -> bool:
        return self._backend is not None

    @property
    def needs_master_password(self) -> bool:
        return self._backend is None

    @property
    def file_exists(self) -> bool:
        return self._file.exists()

    def unlock(self, master_password: str) -> None:
        """Open (or create) the encrypted-file vault; raises on a wrong password."""
        if self._backend is not None:
            return
        if len(master_password) < 8:
            raise SecretStoreError("the vault password must have at least 8 characters")
        from keyrings.cryptfile.cryptfile import CryptFileKeyring

        backend = CryptFileKeyring()
        backend.file_path = str(self._file)
        self._file.parent.mkdir(parents=True, exist_ok=True)
        try:
            backend.keyring_key = master_password
        except ValueError:
            raise SecretStoreError("wrong vault password") from None
        self._backend, self.kind = backend, "cryptfile"

    def _require(self) -> Any:
        if self._backend is None:
            raise SecretStoreError(
                "the secrets vault is locked: enter the vault password "
                "(headless: set TASK_KEYRING_PASSWORD)"
            )
        return self._backend

    def get(self, ref: str) -> str | None:
        if ref in self._cache:
            return self._cache[ref]
        try:
            value: str | None = self._require().get_password(SERVICE, ref)
        except SecretStoreError:
            raise
        except Exception as exc:
            raise SecretStoreError(
                f"cannot read secret {ref!r} from the vault: {type(exc).__name__}"
            ) from None
        if value is not None:
            self._cache[ref] = value
            _remember(value)  # masked in every log line and audit row from now on
        return value

    def set(self, ref: str, value: str) -> None:
        try:
            self._require().set_password(SERVICE, ref, value)
        except SecretStoreError:
            raise
        except Exception as exc:
            raise SecretStoreError(
                f"cannot store secret {ref!r} in the vault: {type(exc).__name__}"
            ) from None
        self._cache[ref] = value
        _remember(value)

    def delete(self, ref: str) -> None:
        """Remove the secret ``ref`` (no error if it is not there)."""
        self._cache.pop(ref, None)
        backend = self._require()
        try:
            if backend.get_password(SERVICE, ref) is not None:
                backend.delete_password(SERVICE, ref)
        except Exception as exc:
            raise SecretStoreError(
                f"cannot delete secret {ref!r} from the vault: {type(exc).__name__}"
            ) from None

    def get_or_create(self, ref: str, nbytes: int = 48) -> str:
        """Return the secret ``ref``, generating a random one on first use."""
        value = self.get(ref)
        if value is None:
            value = secrets.token_urlsafe(nbytes)
            self.set(ref, value)
        return value
