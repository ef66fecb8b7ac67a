"""A dev chain with the real Uniswap V2 contracts deployed, for the DEX tests.

The artifacts are the npm packages ``@uniswap/v2-core`` and ``@uniswap/v2-periphery``
(``tests/evm/package.json``), deployed untouched. ``WETH`` is WETH9 and ``USD`` is the
v2-core test ERC-20 (18 decimals).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from task_station.domain.dex import DexSpec, Token
from task_station.venues.dex.devchain import (
    DevChain,
    UniswapV2Deployment,
    deploy,
    deploy_uniswap_v2,
    load_artifact,
)

ARTIFACTS = Path(__file__).resolve().parents[1] / "evm" / "node_modules" / "@uniswap"
DEADLINE = 2**40
E18 = 10**18


def artifacts_or_skip() -> Path:
    """The npm artifacts; skipped with the fix where absent (a failure in CI)."""
    if not (ARTIFACTS / "v2-core" / "build" / "UniswapV2Pair.json").is_file():
        message = (
            f"Uniswap V2 artifacts not found under {ARTIFACTS}: "
            "run `npm ci --prefix tests/evm` (scripts/check.sh does)"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return ARTIFACTS


@dataclass
class UniswapWorld:
    """A chain, a Uniswap V2 deployment and a WETH/USD pool the tests trade on."""

    chain: DevChain
    deployment: UniswapV2Deployment
    weth: Token
    usd: Token
    owner: str  # dev account 0: deployed everything, holds the USD supply
    artifacts: Path
    contracts: dict[str, Any] = field(default_factory=dict)

    @property
    def dex(self) -> DexSpec:
        return DexSpec(
            name="uniswap-v2",
            chain_id=self.chain.chain_id,
            router=self.deployment.router,
            factory=self.deployment.factory,
        )

    def contract(self, name: str, address: str) -> Any:
        package, artifact = {
            "router": ("v2-periphery", "UniswapV2Router02"),
            "pair": ("v2-core", "UniswapV2Pair"),
            "factory": ("v2-core", "UniswapV2Factory"),
            "erc20": ("v2-core", "ERC20"),
            "weth": ("v2-periphery", "WETH9"),
        }[name]
        abi = load_artifact(self.artifacts, package, artifact)["abi"]
        return self.chain.w3.eth.contract(address=address, abi=abi)

    def transact(self, fn: Any, sender: str, value: int = 0) -> Any:
        """Send a contract call from a dev account and wait for the receipt."""

        def run() -> Any:
            tx = fn.transact({"from": sender, "value": value})
            return self.chain.w3.eth.wait_for_transaction_receipt(tx)

        return self.chain.run_sync(run)

    def call(self, fn: Any) -> Any:
        return self.chain.run_sync(fn.call)

    def fund(self, to: str, *, eth: int = 0, weth: int = 0, usd: int = 0) -> None:
        """Give ``to`` native ETH, WETH and USD (smallest units) from the owner."""
        w3 = self.chain.w3
        if eth:
            self.chain.run_sync(
                lambda: w3.eth.wait_for_transaction_receipt(
                    w3.eth.send_transaction({"from": self.owner, "to": to, "value": eth})
                )
            )
        if weth:
            self.transact(
                self.contract("weth", self.weth.address).functions.deposit(), self.owner, weth
            )
            self.transact(
                self.contract("erc20", self.weth.address).functions.transfer(to, weth), self.owner
            )
        if usd:
            self.transact(
                self.contract("erc20", self.usd.address).functions.transfer(to, usd), self.owner
            )

    def balance(self, token: Token, owner: str) -> int:
        return int(self.call(self.contract("erc20", token.address).functions.balanceOf(owner)))

    def reserves(self) -> tuple[int, int, str, str]:
        """``(reserve0, reserve1, token0, token1)`` of the WETH/USD pair."""
        pair = self.pair_address()
        c = self.contract("pair", pair)
        r0, r1, _ = self.call(c.functions.getReserves())
        return (
            int(r0),
            int(r1),
            str(self.call(c.functions.token0())),
            str(self.call(c.functions.token1())),
        )

    def pair_address(self) -> str:
        factory = self.contract("factory", self.deployment.factory)
        return str(self.call(factory.functions.getPair(self.weth.address, self.usd.address)))

    def swap_exact_in(self, sender: str, token_in: Token, token_out: Token, amount_in: int) -> Any:
        """Someone else trades on the pool (moves the price), approving as needed."""
        router = self.contract("router", self.deployment.router)
        erc = self.contract("erc20", token_in.address)
        self.transact(erc.functions.approve(self.deployment.router, amount_in), sender)
        return self.transact(
            router.functions.swapExactTokensForTokens(
                amount_in, 0, [token_in.address, token_out.address], sender, DEADLINE
            ),
            sender,
        )


async def uniswap_world(
    *, weth_liquidity: int = 1_000 * E18, usd_liquidity: int = 2_000_000 * E18
) -> UniswapWorld:
    """Start a chain, deploy Uniswap V2, create WETH/USD and seed it with liquidity."""
    artifacts = artifacts_or_skip()
    chain = DevChain()
    await chain.start()
    owner = chain.address(0)
    deployment = deploy_uniswap_v2(chain, artifacts, owner)
    usd_address = chain.run_sync(
        lambda: deploy(chain.w3, load_artifact(artifacts, "v2-core", "ERC20"), owner, 10**33)
    )
    world = UniswapWorld(
        chain=chain,
        deployment=deployment,
        weth=Token(deployment.weth, "WETH", 18),
        usd=Token(usd_address, "USD", 18),
        owner=owner,
        artifacts=artifacts,
    )
    router = world.contract("router", deployment.router)
    weth = world.contract("weth", deployment.weth)
    world.transact(weth.functions.deposit(), owner, weth_liquidity)
    for token in (world.weth, world.usd):
        world.transact(
            world.contract("erc20", token.address).functions.approve(deployment.router, 2**256 - 1),
            owner,
        )
    world.transact(
        router.functions.addLiquidity(
            world.weth.address,
            world.usd.address,
            weth_liquidity,
            usd_liquidity,
            0,
            0,
            owner,
            DEADLINE,
        ),
        owner,
    )
    return world


def to_decimal(units: int) -> Decimal:
    return Decimal(units).scaleb(-18)
