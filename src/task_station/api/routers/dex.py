"""DEX registry and reads: chains, wallets, DEXes, followed tokens, pools and quotes.

Permissions are the service's job (viewers read and quote, traders and admins change
the registry). Private keys and RPC URLs arrive in ``POST`` bodies only and never
appear in a response.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from task_station.api.deps import REQUIRE_LOGIN, PrincipalDep, ServicesDep
from task_station.api.dex_schemas import (
    ChainCheckOut,
    ChainCreate,
    ChainOut,
    DexCreate,
    DexOut,
    FollowedTokenOut,
    PoolOut,
    QuoteOut,
    QuoteRequest,
    TokenBalanceOut,
    TokenCreate,
    WalletCreate,
    WalletOut,
)
from task_station.domain.dex_registry import FollowedToken

#: An EVM chain id as stored (a signed 64-bit column): larger numbers are refused (422).
ChainId = Annotated[int, Path(gt=0, lt=2**63)]
ChainIdQuery = Annotated[int | None, Query(gt=0, lt=2**63)]

router = APIRouter(tags=["dex"], dependencies=REQUIRE_LOGIN)


def _followed(followed: FollowedToken) -> FollowedTokenOut:
    token = followed.token
    return FollowedTokenOut(
        dex_id=followed.dex_id,
        address=token.address,
        symbol=token.symbol,
        decimals=token.decimals,
        created_at=followed.created_at,
    )


# --- chains ----------------------------------------------------------------------------


@router.get("/chains")
async def list_chains(services: ServicesDep) -> list[ChainOut]:
    return [ChainOut.of(c) for c in services.dex.list_chains()]


@router.post("/chains", status_code=201)
async def add_chain(body: ChainCreate, principal: PrincipalDep, services: ServicesDep) -> ChainOut:
    chain = services.dex.add_chain(
        principal, body.name, body.rpc_url.get_secret_value(), body.chain_id, body.native_symbol
    )
    return ChainOut.of(chain)


@router.delete("/chains/{chain_id}", status_code=204)
async def remove_chain(
    chain_id: ChainId, principal: PrincipalDep, services: ServicesDep
) -> Response:
    services.dex.remove_chain(principal, chain_id)
    return Response(status_code=204)


@router.post("/chains/{chain_id}/check")
async def check_chain(chain_id: ChainId, services: ServicesDep) -> ChainCheckOut:
    return ChainCheckOut.of(await services.dex.check_chain(chain_id))


# --- wallets ---------------------------------------------------------------------------


@router.get("/wallets")
async def list_wallets(services: ServicesDep, chain_id: ChainIdQuery = None) -> list[WalletOut]:
    return [WalletOut.model_validate(w) for w in services.dex.list_wallets(chain_id)]


@router.post("/wallets", status_code=201)
async def add_wallet(
    body: WalletCreate, principal: PrincipalDep, services: ServicesDep
) -> WalletOut:
    wallet = services.dex.add_wallet(
        principal,
        body.chain_id,
        body.label,
        private_key=body.private_key.get_secret_value() if body.private_key else None,
        address=body.address,
    )
    return WalletOut.model_validate(wallet)


@router.delete("/wallets/{wallet_id}", status_code=204)
async def remove_wallet(wallet_id: str, principal: PrincipalDep, services: ServicesDep) -> Response:
    services.dex.remove_wallet(principal, wallet_id)
    return Response(status_code=204)


@router.get("/wallets/{wallet_id}/balances")
async def wallet_balances(wallet_id: str, services: ServicesDep) -> list[TokenBalanceOut]:
    balances = await services.dex.wallet_balances(wallet_id)
    return [TokenBalanceOut.model_validate(b) for b in balances]


# --- DEXes and their tokens --------------------------------------------------------------


@router.get("/dexes")
async def list_dexes(services: ServicesDep, chain_id: ChainIdQuery = None) -> list[DexOut]:
    return [DexOut.model_validate(d) for d in services.dex.list_dexes(chain_id)]


@router.post("/dexes", status_code=201)
async def add_dex(body: DexCreate, principal: PrincipalDep, services: ServicesDep) -> DexOut:
    dex = await services.dex.add_dex(
        principal, body.chain_id, body.name, body.router, body.factory, body.fee_bps
    )
    return DexOut.model_validate(dex)


@router.delete("/dexes/{dex_id}", status_code=204)
async def remove_dex(dex_id: str, principal: PrincipalDep, services: ServicesDep) -> Response:
    services.dex.remove_dex(principal, dex_id)
    return Response(status_code=204)


@router.get("/dexes/{dex_id}/tokens")
async def list_tokens(dex_id: str, services: ServicesDep) -> list[FollowedTokenOut]:
    return [_followed(t) for t in services.dex.list_tokens(dex_id)]


@router.post("/dexes/{dex_id}/tokens", status_code=201)
async def add_token(
    dex_id: str, body: TokenCreate, principal: PrincipalDep, services: ServicesDep
) -> FollowedTokenOut:
    return _followed(await services.dex.add_token(principal, dex_id, body.address, body.symbol))


@router.delete("/dexes/{dex_id}/tokens/{address}", status_code=204)
async def remove_token(
    dex_id: str, address: str, principal: PrincipalDep, services: ServicesDep
) -> Response:
    services.dex.remove_token(principal, dex_id, address)
    return Response(status_code=204)


# --- pools and quotes --------------------------------------------------------------------


@router.get("/dexes/{dex_id}/pools")
async def list_pools(dex_id: str, services: ServicesDep) -> list[PoolOut]:
    return [PoolOut.model_validate(p) for p in await services.dex.list_pools(dex_id)]


@router.post("/dexes/{dex_id}/quote")
async def quote(dex_id: str, body: QuoteRequest, services: ServicesDep) -> QuoteOut:
    result = await services.dex.quote(
        dex_id, body.token_in, body.token_out, body.amount, body.wallet_id
    )
    return QuoteOut.model_validate(result)
