"""Users and roles."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    TRADER = "trader"
    VIEWER = "viewer"

    def can_trade(self) -> bool:
        return self in (Role.ADMIN, Role.TRADER)


@dataclass(frozen=True, slots=True)
class User:
    id: str
    username: str
    role: Role
    created_at: datetime
    password_hash: str
    active: bool = True
