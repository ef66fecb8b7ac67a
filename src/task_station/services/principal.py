"""Who is asking, and what their role lets them do.

Roles are ordered: viewers read, traders also trade (bots, orders, tasks, backtests),
admins also manage users, settings, secrets and the audit trail. Every service method
that changes something checks its actor here, whichever face called it; the API checks
its route policy too, but only as a second line.
"""

from __future__ import annotations

from dataclasses import dataclass

from task_station.domain.errors import PermissionDeniedError
from task_station.domain.users import Role

#: Each role's rank: a role may do what any lower-ranked role may.
RANK = {Role.VIEWER: 0, Role.TRADER: 1, Role.ADMIN: 2}


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: str
    username: str
    role: Role
    #: The login session (family) the request came with; ``None`` in-process (GUI, CLI).
    session_id: str | None = None

    def at_least(self, role: Role) -> bool:
        return RANK[self.role] >= RANK[role]

    def require(self, role: Role, action: str) -> None:
        """Raise ``PermissionDeniedError`` unless this principal ranks at least ``role``."""
        if role is Role.ADMIN:
            self.require_admin(action)
        elif role is Role.TRADER:
            self.require_trader(action)

    def require_trader(self, action: str) -> None:
        if not self.role.can_trade():
            raise PermissionDeniedError(
                f"{self.username} ({self.role.value}) may not {action}; ask an admin for the trader role"
            )

    def require_admin(self, action: str) -> None:
        if self.role is not Role.ADMIN:
            raise PermissionDeniedError(
                f"{self.username} ({self.role.value}) may not {action}; admins only"
            )


#: The identity used by the station itself (demo set-up, automation) where no user acts.
SYSTEM = Principal(user_id="system", username="system", role=Role.ADMIN)
