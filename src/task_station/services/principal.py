"""Who is asking, and what their role lets them do."""

from __future__ import annotations

from dataclasses import dataclass

from task_station.domain.errors import PermissionDeniedError
from task_station.domain.users import Role


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: str
    username: str
    role: Role

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
