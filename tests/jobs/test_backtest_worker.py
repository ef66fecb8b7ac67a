"""A stored run stays small: trades capped, the equity curve sampled, JSON-safe floats."""

from __future__ import annotations

import pickle
from decimal import Decimal

from task_station.jobs.backtest_worker import (
    MAX_CURVE_POINTS,
    MAX_STORED_TRADES,
    BacktestSpec,
    run_document,
    sample_indices,
)


def test_sampled_indices_keep_first_and_last_and_never_exceed_the_limit() -> None:
    assert sample_indices(5, 10) == [0, 1, 2, 3, 4]
    picked = sample_indices(1_000_000, 400)
    assert len(picked) == 400 and picked[0] == 0 and picked[-1] == 999_999
    assert picked == sorted(set(picked))


def test_run_document_caps_trades_and_drops_non_finite_numbers() -> None:
    trades = [{"side": "buy", "price": str(i)} for i in range(MAX_STORED_TRADES + 7)]
    summary = {"final_equity": "1.5", "trades": trades,
               "metrics": {"sharpe": float("nan"), "profit_factor": float("inf"), "calmar": 2.0}}  # fmt: skip
    curve = [(f"t{i}", str(i)) for i in range(MAX_CURVE_POINTS)]
    document = run_document(summary, curve)
    assert len(document["trades"]) == MAX_STORED_TRADES and document["trades_total"] == 507
    assert document["metrics"] == {"sharpe": None, "profit_factor": None, "calmar": 2.0}
    assert document["equity_curve"][-1] == [f"t{MAX_CURVE_POINTS - 1}", str(MAX_CURVE_POINTS - 1)]
    assert document["final_equity"] == "1.5"


def test_spec_travels_to_a_worker_unchanged() -> None:
    spec = BacktestSpec("sma_cross", "/data/x.parquet", "BTC/USDT", Decimal("0.1"), Decimal(7),
                        {"fast": 5}, "/strategies", "/reports/r1")  # fmt: skip
    assert pickle.loads(pickle.dumps(spec)) == spec
