"""Roles are enforced by the services themselves, whichever face calls them.

Each call is made straight on the real services (no HTTP), as a role that may not make
it: it must raise ``PermissionDeniedError`` and change nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from task_station.config import Settings
from task_station.container import Container, build_container
from task_station.domain.errors import PermissionDeniedError
from task_station.domain.users import Role
from task_station.services.bundle import Services
from task_station.services.principal import Principal

Call = Callable[[Services, Principal], Any]

#: (what, the least role, the call)
CALLS: list[tuple[str, Role, Call]] = [
    ("create a bot", Role.TRADER, lambda s, p: s.bots.create(
        p, name="b", strategy="sma_cross", params={"fast": 3, "slow": 8}, quote_budget="100")),
    ("reload strategies", Role.TRADER, lambda s, p: s.strategies.reload(p)),
    ("add an exchange account", Role.TRADER,
     lambda s, p: s.accounts.add(p, "acct", "binance", "key-123456", "secret-123456")),
    ("create a task", Role.TRADER, lambda s, p: s.tasks.create(
        p, name="t", triggers=[{"kind": "schedule", "config": {"every": "1h"}}],
        actions=[{"kind": "notify", "config": {"title": "x"}}])),
    ("create a user", Role.ADMIN,
     lambda s, p: s.users.create("newbie", "newbie-password-1", "viewer", p)),
    ("list users", Role.ADMIN, lambda s, p: s.users.list(p)),
    ("change a user's role", Role.ADMIN, lambda s, p: s.users.update(p, "admin", role="viewer")),
    ("reset a password", Role.ADMIN,
     lambda s, p: s.users.reset_password(p, "admin", "stolen-password-1")),
    ("see another user's sessions", Role.ADMIN, lambda s, p: s.auth.sessions(p, "admin")),
    ("read the audit trail", Role.ADMIN,
     lambda s, p: s.audit.search(p, s.audit.filters())),
    ("verify the audit trail", Role.ADMIN, lambda s, p: s.audit.verify(p)),
    ("read the station log", Role.ADMIN, lambda s, p: s.logs.tail(p)),
    ("configure a notification channel", Role.ADMIN,
     lambda s, p: s.notifications.set_channel(p, "ops", type="desktop")),
    ("release the kill switch", Role.ADMIN, lambda s, p: s.bots.release_kill_switch(p)),
]  # fmt: skip
BELOW = {Role.TRADER: [Role.VIEWER], Role.ADMIN: [Role.VIEWER, Role.TRADER]}


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Container]:
    """One station for the module: every call here is refused, so none changes it."""
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("roles") / "station",
        keyring_backend="cryptfile",
        keyring_password="test-vault-password",
        bcrypt_rounds=4,
    )
    container = build_container(settings)
    container.services.users.create("admin", "admin-password-1", "admin", None)
    yield container
    asyncio.run(container.aclose())


@pytest.mark.parametrize(
    ("what", "role", "call"),
    [(what, low, call) for what, least, call in CALLS for low in BELOW[least]],
    ids=[f"{low.value} may not {what}" for what, least, _ in CALLS for low in BELOW[least]],
)
def test_service_refuses_a_role_below_the_one_it_needs(
    what: str, role: Role, call: Call, station: Container
) -> None:
    services = station.services
    before = (len(services.bots.list()), services.users.needs_first_admin())
    audit_before = sum(1 for _ in station.database.audit.events())
    with pytest.raises(PermissionDeniedError, match="may not"):
        call(services, Principal("u-1", f"low-{role.value}", role))
    assert (len(services.bots.list()), services.users.needs_first_admin()) == before
    assert sum(1 for _ in station.database.audit.events()) == audit_before
