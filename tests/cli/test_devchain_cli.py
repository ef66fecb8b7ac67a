"""``task-station devchain`` serves a chain with Uniswap V2 that the DEX client can read."""

from __future__ import annotations

import subprocess
import sys

from task_station.domain.dex import DexSpec
from task_station.venues.dex.client import UniswapV2Client, http_web3
from tests.support.uniswap import artifacts_or_skip


async def test_devchain_prints_a_working_url_and_a_seeded_pool() -> None:
    artifacts = artifacts_or_skip()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "task_station",
            "devchain",
            "--port",
            "0",
            "--uniswap",
            str(artifacts),
            "--price",
            "2500",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines: dict[str, str] = {}
        for line in proc.stdout:
            key, _, rest = line.strip().partition(" ")
            lines[key] = rest.strip()
            if line.startswith("dev account 2"):
                break
        url = lines["chain"].split(" at ")[1]
        client = UniswapV2Client(
            http_web3(url),
            DexSpec("uniswap-v2", 1, router=lines["router"], factory=lines["factory"]),
        )
        try:
            pool = await client.pool_for(lines["WETH"], lines["USD"])
            weth = pool.token(lines["WETH"])
            assert pool.mid_price(weth) == 2500
        finally:
            await client.w3.provider.disconnect()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
