"""Shared plumbing for the repositories: sessions and error translation.

Database errors must reach the trader as the project's own errors, naming the record
that clashed; the driver's message (which carries the SQL and its parameters) is not
chained, so a logged traceback cannot leak a stored value.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session, sessionmaker

from task_station.domain.errors import ConflictError, NotFoundError, ValidationError

SessionFactory = sessionmaker[Session]
log = logging.getLogger(__name__)


def constraint_name(exc: IntegrityError) -> str:
    """The violated constraint (PostgreSQL) or the columns (SQLite), without values."""
    diag = getattr(exc.orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    if name:
        return str(name)
    text = str(exc.orig)
    return text.split(":", 1)[1].strip() if ":" in text else text.splitlines()[0]


def is_foreign_key_violation(exc: IntegrityError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == "23503" or "FOREIGN KEY" in str(exc.orig)


@contextmanager
def translated(record: str, *, conflict: str | None = None) -> Iterator[None]:
    """Turn database errors raised while writing ``record`` into the project's errors."""
    try:
        yield
    except IntegrityError as exc:
        where = constraint_name(exc)
        log.debug("integrity error on %s: %s", record, where)
        if is_foreign_key_violation(exc):
            raise NotFoundError(f"{record} refers to a record that does not exist") from None
        raise ConflictError(
            conflict or f"{record} conflicts with a stored record ({where})"
        ) from None
    except StatementError as exc:
        if isinstance(exc.orig, ValueError | TypeError):
            raise ValidationError(f"{record}: {exc.orig}") from None
        raise


__all__ = ["SessionFactory", "translated"]
