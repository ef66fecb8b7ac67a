"""Arbitrage as a use case: the catalogue, and backtests on recordings or the demo market.

Every input is checked before any file is read: an unknown strategy or parameter, a
malformed balance or a missing recording is a ``ValidationError`` naming the fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from task_station.backtest.arbitrage import ArbBacktestResult, run_arbitrage_backtest
from task_station.domain.errors import ValidationError
from task_station.domain.money import BPS, ZERO, to_decimal
from task_station.marketdata.arb_recording import load_snapshots
from task_station.marketdata.synthetic_arb import SyntheticArbSpec, generate_arb_snapshots
from task_station.strategies.arbitrage.registry import (
    arbitrage_class,
    arbitrage_names,
    build_arbitrage,
)
from task_station.venues.amm.paper import PaperGas


@dataclass(frozen=True, slots=True)
class ArbitrageStrategyInfo:
    name: str
    description: str
    params: list[dict[str, object]]


def parse_balances(items: Mapping[str, object]) -> dict[str, dict[str, Decimal]]:
    """``{"cex:USDC": "100000", "dex:WETH": "10"}`` -> per venue, per asset."""
    out: dict[str, dict[str, Decimal]] = {}
    for key, raw in items.items():
        venue, sep, asset = key.partition(":")
        if not sep or not venue or not asset:
            raise ValidationError(f"balance {key!r} must look like VENUE:ASSET (cex:USDC)")
        amount = to_decimal(raw, name=f"balance {key}")
        if amount < ZERO:
            raise ValidationError(f"balance {key} cannot be negative")
        out.setdefault(venue, {})[asset] = amount
    return out


class ArbitrageService:
    def strategies(self) -> list[ArbitrageStrategyInfo]:
        """The arbitrage families with their parameter schemas (forms, presets)."""
        infos = []
        for name in arbitrage_names():
            cls = arbitrage_class(name)
            infos.append(
                ArbitrageStrategyInfo(
                    name=name,
                    description=cls.description,
                    params=[
                        {
                            "name": p.name,
                            "type": p.kind.__name__,
                            "default": str(p.default),
                            "description": p.description,
                        }
                        for p in cls.params
                    ],
                )
            )
        return infos

    async def backtest(
        self,
        *,
        strategy: str,
        params: Mapping[str, object],
        balances: Mapping[str, object],
        recording: Path | None = None,
        demo_seed: int | None = None,
        demo_steps: int = 2000,
        fees_bps: Mapping[str, object] | None = None,
        gas_per_swap: int = 150_000,
        gas_price_gwei: object = Decimal(20),
    ) -> ArbBacktestResult:
        """Replay a recording (or the seeded demo market) through the arbitrage runtime."""
        bot = build_arbitrage(strategy, params)
        books = parse_balances(balances)
        if not books:
            raise ValidationError("give the starting balances, e.g. cex:USDC=100000")
        fees = {
            venue: to_decimal(bps, name=f"fee of {venue}") / BPS
            for venue, bps in (fees_bps or {}).items()
        }
        gwei = to_decimal(gas_price_gwei, name="gas price")
        if gwei < ZERO or gas_per_swap < 0:
            raise ValidationError("gas cannot be negative")
        gas = PaperGas(gas_per_swap=gas_per_swap, gas_price_wei=int(gwei * 10**9))
        if (recording is None) == (demo_seed is None):
            raise ValidationError("give either a recording file or a demo seed")
        if recording is not None:
            if not recording.is_file():
                raise ValidationError(f"recording {recording} does not exist")
            snapshots = load_snapshots(recording)
        else:
            assert demo_seed is not None
            snapshots = generate_arb_snapshots(SyntheticArbSpec(seed=demo_seed, steps=demo_steps))
        return await run_arbitrage_backtest(bot, snapshots, books, fees=fees, gas=gas)
