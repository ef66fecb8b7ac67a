"""``task-station devchain``: a local EVM with Uniswap V2, for demos and manual testing.

Prints the JSON-RPC URL, the deployed router and factory, a WETH/USD pool and the dev
accounts' keys (well-known test keys of eth-tester's genesis: never fund them anywhere
real). Point the station's "add chain" and "add DEX" forms at what it prints.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from pathlib import Path

from task_station.domain.errors import TaskStationError
from task_station.venues.dex.devchain import DevChain, deploy, deploy_uniswap_v2, load_artifact

E18 = 10**18


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="task-station devchain",
        description="Serve a local EVM (py-evm) over JSON-RPC on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=8545)
    parser.add_argument(
        "--uniswap",
        type=Path,
        default=None,
        metavar="DIR",
        help="node_modules/@uniswap of `npm i @uniswap/v2-core @uniswap/v2-periphery`: "
        "deploy Uniswap V2 and a seeded WETH/USD pool",
    )
    parser.add_argument("--price", type=int, default=2000, help="USD per WETH in the pool")
    parser.add_argument("--weth", type=int, default=1000, help="WETH in the pool")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    chain = DevChain()
    await chain.start(args.port)
    print(f"chain id {chain.chain_id} at {chain.url}", flush=True)
    if args.uniswap is not None:
        owner = chain.address(0)
        dep = deploy_uniswap_v2(chain, args.uniswap, owner)
        usd = chain.run_sync(
            lambda: deploy(chain.w3, load_artifact(args.uniswap, "v2-core", "ERC20"), owner, 10**33)
        )
        _seed_pool(chain, args, dep.router, dep.weth, usd, owner)
        print(f"router  {dep.router}\nfactory {dep.factory}\nWETH    {dep.weth}\nUSD     {usd}")
    for i in range(3):
        print(f"dev account {i}: {chain.address(i)} key {chain.private_key(i)}")
    try:
        await asyncio.Event().wait()
    finally:
        await chain.stop()


def _seed_pool(
    chain: DevChain, args: argparse.Namespace, router: str, weth: str, usd: str, owner: str
) -> None:
    arts: Path = args.uniswap
    w3 = chain.w3
    weth, usd, router = (w3.to_checksum_address(a) for a in (weth, usd, router))

    def run() -> None:
        weth_c = w3.eth.contract(
            address=weth, abi=load_artifact(arts, "v2-periphery", "WETH9")["abi"]
        )
        erc = load_artifact(arts, "v2-core", "ERC20")["abi"]
        amount_weth = args.weth * E18
        w3.eth.wait_for_transaction_receipt(
            weth_c.functions.deposit().transact({"from": owner, "value": amount_weth})
        )
        for token in (weth, usd):
            c = w3.eth.contract(address=token, abi=erc)
            w3.eth.wait_for_transaction_receipt(
                c.functions.approve(router, 2**256 - 1).transact({"from": owner})
            )
        r = w3.eth.contract(
            address=router, abi=load_artifact(arts, "v2-periphery", "UniswapV2Router02")["abi"]
        )
        w3.eth.wait_for_transaction_receipt(
            r.functions.addLiquidity(
                weth, usd, amount_weth, amount_weth * args.price, 0, 0, owner, 2**40
            ).transact({"from": owner})
        )

    chain.run_sync(run)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(args))
    except TaskStationError as exc:
        print(f"error: {exc}")
        return 2
    return 0
