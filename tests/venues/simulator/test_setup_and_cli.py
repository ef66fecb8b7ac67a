"""The command-line parsing and the ccxt URL rewrite, without a running server."""

from __future__ import annotations

from pathlib import Path

import ccxt.pro as ccxt_pro

from task_station.venues.simulator.ccxt_setup import point_ccxt_at
from task_station.venues.simulator.server import parse_args


def test_cli_arguments_map_onto_config() -> None:
    config = parse_args(
        ["--port", "0", "--seed", "5", "--data", "x/BTC_USDT-1h.parquet",
         "--faults", "rate429=0.1", "--api-key", "k", "--api-secret", "s"]
    )  # fmt: skip
    assert (config.port, config.seed, config.faults) == (0, 5, "rate429=0.1")
    assert config.data == Path("x/BTC_USDT-1h.parquet")
    assert (config.api_key, config.api_secret) == ("k", "s")


async def test_point_ccxt_at_rewrites_every_api_url_to_loopback() -> None:
    ex = ccxt_pro.binance()
    try:
        point_ccxt_at(ex, "http://127.0.0.1:9999")
        urls: list[str] = []

        def collect(node: object) -> None:
            if isinstance(node, str):
                urls.append(node)
            elif isinstance(node, dict):
                for value in node.values():
                    collect(value)

        collect(ex.urls["api"])
        assert urls and all(
            u.startswith(("http://127.0.0.1:9999/", "ws://127.0.0.1:9999/")) for u in urls
        )
        assert ex.urls["api"]["ws"]["spot"] == "ws://127.0.0.1:9999/ws"
        assert ex.options["fetchMarkets"] == {"types": ["spot"]}
    finally:
        await ex.close()
