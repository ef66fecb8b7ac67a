"""Exchange accounts: list, add, remove, test, balances (permissions are the services' job).

Secrets arrive in the ``POST`` body only and never appear in a response.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from task_station.api.deps import REQUIRE_LOGIN, PrincipalDep, ServicesDep
from task_station.api.schemas import (
    AccountBalanceOut,
    AccountCreate,
    AccountOut,
    ConnectionTestOut,
)

router = APIRouter(prefix="/accounts", tags=["accounts"], dependencies=REQUIRE_LOGIN)


@router.get("")
async def list_accounts(services: ServicesDep) -> list[AccountOut]:
    return [AccountOut.model_validate(a) for a in services.accounts.list()]


@router.post("", status_code=201)
async def add_account(
    body: AccountCreate, principal: PrincipalDep, services: ServicesDep
) -> AccountOut:
    account = services.accounts.add(
        principal,
        body.name,
        body.exchange_id,
        body.api_key.get_secret_value(),
        body.api_secret.get_secret_value(),
        body.password.get_secret_value() if body.password else None,
        body.sandbox,
    )
    return AccountOut.model_validate(account)


@router.delete("/{account_id}", status_code=204)
async def remove_account(
    account_id: str, principal: PrincipalDep, services: ServicesDep
) -> Response:
    services.accounts.remove(principal, account_id)
    return Response(status_code=204)


@router.post("/{account_id}/test")
async def test_account(
    account_id: str, principal: PrincipalDep, services: ServicesDep
) -> ConnectionTestOut:
    return ConnectionTestOut.model_validate(
        await services.accounts.test_connection(principal, account_id)
    )


@router.get("/{account_id}/balances")
async def account_balances(
    account_id: str, principal: PrincipalDep, services: ServicesDep
) -> list[AccountBalanceOut]:
    balances = await services.accounts.balances(principal, account_id)
    return [AccountBalanceOut.model_validate(b) for b in balances]
