"""``task-station presets``: list (table or JSON, filtered) and show, as a user runs it."""

from __future__ import annotations

import json

from tests.cli.test_cli import run_cli


def test_list_json_gives_every_preset() -> None:
    done = run_cli("presets", "list", "--json")
    assert done.returncode == 0, done.stderr
    presets = json.loads(done.stdout)
    assert len(presets) >= 300
    assert len({p["family"] for p in presets}) >= 13
    assert all(
        {"name", "family", "params", "description", "risk_profile"} <= set(p) for p in presets
    )


def test_list_filters_and_prints_a_table() -> None:
    done = run_cli(
        "presets", "list", "--family", "rsi_reversion", "--risk", "conservative",
        "--timeframe", "1d", "--search", "eth",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["NAME", "FAMILY", "TF", "RISK", "SYMBOL"]
    rows = lines[1:-1]
    assert rows and all("rsi_reversion" in r and "1d" in r and "ETH/USDT" in r for r in rows)
    assert lines[-1] == f"{len(rows)} preset(s)"


def test_show_prints_params_and_description() -> None:
    done = run_cli("presets", "show", "rsi-reversion-classic-btc-1h-conservative")
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["family"] == "rsi_reversion"
    assert shown["params"]["period"] == 14
    assert "RSI" in shown["description"]


def test_an_unknown_preset_is_a_clear_error() -> None:
    done = run_cli("presets", "show", "rsi-reversion-nope")
    assert done.returncode == 2
    assert "unknown preset 'rsi-reversion-nope'" in done.stderr
    assert "Traceback" not in done.stderr
    bad = run_cli("presets", "list", "--family", "nope")
    assert bad.returncode == 2 and "unknown family 'nope'" in bad.stderr
