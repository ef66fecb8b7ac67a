"""bcrypt password hashing.

bcrypt only reads 72 bytes (bcrypt 5 raises beyond); we refuse longer passwords with a
clear message rather than silently truncating or pre-hashing.
"""

from __future__ import annotations

import bcrypt

from task_station.domain.errors import ValidationError

MIN_LENGTH = 8
MAX_BYTES = 72


def check_policy(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise ValidationError(f"the password must have at least {MIN_LENGTH} characters")
    if len(password.encode("utf-8")) > MAX_BYTES:
        raise ValidationError(
            f"the password must be at most {MAX_BYTES} bytes long (UTF-8): bcrypt ignores "
            "anything after that, so a longer one would be weaker than it looks"
        )
    if "\x00" in password:
        raise ValidationError("the password must not contain a NUL character")


def hash_password(password: str, rounds: int = 12) -> str:
    check_policy(password)
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds)).decode("ascii")


def verify_password(password: str, password_hash: str) -> bool:
    data = password.encode("utf-8")
    if len(data) > MAX_BYTES:
        return False
    try:
        return bcrypt.checkpw(data, password_hash.encode("ascii"))
    except ValueError:
        return False
