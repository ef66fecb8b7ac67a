"""Presets: the shipped JSON files load, validate against their family's schema, are
findable, and a broken file is refused with a message naming the preset."""

from __future__ import annotations

import json
import shutil
from collections import Counter, defaultdict
from importlib.resources import files
from pathlib import Path

import pytest

from task_station.domain.errors import DataError, NotFoundError, ValidationError
from task_station.strategies.presets import (
    RISK_PROFILES,
    find_presets,
    load_presets,
    preset,
)
from task_station.strategies.registry import BUILTIN, build_strategy

PACKAGE = files("task_station.strategies.presets")


def test_every_preset_loads_and_validates() -> None:
    presets = load_presets()
    assert len(presets) >= 300
    families = Counter(p.family for p in presets)
    assert set(families) == set(BUILTIN), "every built-in family has presets"
    assert len(families) >= 13
    for p in presets:
        strategy = build_strategy(p.family, p.params)  # schema and cross-parameter checks
        assert strategy.p == p.validated_params()
        assert p.market_type == "spot"
        assert p.risk_profile in RISK_PROFILES
        assert p.description.endswith(".") and len(p.description) > 60, p.name
        assert p.timeframe in p.tags and p.risk_profile in p.tags


def test_names_are_unique_and_kebab_case() -> None:
    names = [p.name for p in load_presets()]
    assert len(names) == len(set(names))
    assert all(n == n.lower() and "_" not in n and " " not in n for n in names)


def test_no_two_presets_of_a_market_share_their_settings() -> None:
    seen: dict[tuple[str, str, str, str], str] = {}
    for p in load_presets():
        key = (p.family, p.symbol, p.timeframe, json.dumps(dict(p.params), sort_keys=True))
        assert key not in seen, f"{p.name} duplicates {seen.get(key)}"
        seen[key] = p.name


def test_each_family_has_all_three_risk_profiles() -> None:
    risks: dict[str, set[str]] = defaultdict(set)
    for p in load_presets():
        risks[p.family].add(p.risk_profile)
    assert all(r == set(RISK_PROFILES) for r in risks.values()), risks


def test_the_json_files_ship_inside_the_package() -> None:
    names = {f.name for f in PACKAGE.iterdir() if f.name.endswith(".json")}
    assert {f"{family}.json" for family in BUILTIN} <= names


def test_filters_and_search() -> None:
    rsi = find_presets(family="rsi_reversion")
    assert rsi and all(p.family == "rsi_reversion" for p in rsi)
    daily_aggressive = find_presets(timeframe="1d", risk="aggressive")
    assert daily_aggressive
    assert all(p.timeframe == "1d" and p.risk_profile == "aggressive" for p in daily_aggressive)
    assert {p.family for p in find_presets(tag="mean-reversion")} == {
        "rsi_reversion",
        "bollinger_reversion",
        "pairs_trading",
    }
    turtles = find_presets(search="Turtle ETH", risk="balanced")
    assert turtles and all(p.family == "donchian_breakout" and "eth" in p.tags for p in turtles)
    assert find_presets(search="no such words anywhere") == []
    assert find_presets(family="grid", timeframe="1h", risk="balanced", tag="btc") == [
        p
        for p in load_presets()
        if p.name.startswith("grid-") and p.name.endswith("btc-1h-balanced")
    ]
    with pytest.raises(ValidationError, match="unknown risk profile"):
        find_presets(risk="yolo")
    with pytest.raises(ValidationError, match="unknown family"):
        find_presets(family="nope")


def test_preset_by_name() -> None:
    first = load_presets()[0]
    assert preset(first.name) == first
    with pytest.raises(NotFoundError, match="unknown preset 'rsi-nope'"):
        preset("rsi-nope")


def _copy(tmp_path: Path) -> Path:
    directory = tmp_path / "presets"
    directory.mkdir()
    for f in PACKAGE.iterdir():
        if f.name.endswith(".json"):
            (directory / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    assert len(load_presets(directory)) == len(load_presets())
    return directory


def _edit(directory: Path, file: str, index: int, **changes: object) -> str:
    path = directory / f"{file}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    for key, value in changes.items():
        if key == "params":
            assert isinstance(value, dict)
            data[index]["params"].update(value)
        else:
            data[index][key] = value
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(data[index]["name"])


@pytest.mark.parametrize(
    ("family", "change", "error", "message"),
    [
        ("sma_cross", {"params": {"fast": 40, "slow": 20}}, ValidationError, "must be smaller"),
        ("rsi_reversion", {"params": {"period": 0}}, ValidationError, "at least 2"),
        ("supertrend", {"params": {"multiplier": "3.05"}}, ValidationError, "multiple of"),
        ("grid", {"params": {"levles": 5}}, ValidationError, "unknown parameter"),
        ("dca", {"family": "nope"}, DataError, "unknown family 'nope'"),
        ("twap", {"risk_profile": "yolo"}, DataError, "risk_profile"),
        ("vwap", {"timeframe": "7x"}, DataError, "unknown timeframe"),
        ("ema_cross", {"market_type": "perp"}, DataError, "market_type"),
        ("macd_trend", {"tags": "trend"}, DataError, "tags"),
    ],
)
def test_a_broken_preset_is_refused_naming_it(
    tmp_path: Path, family: str, change: dict[str, object], error: type[Exception], message: str
) -> None:
    directory = _copy(tmp_path)
    name = _edit(directory, family, 1, **change)
    with pytest.raises(error, match=message) as info:
        load_presets(directory)
    assert f"preset {name!r}" in str(info.value)
    assert f"{family}.json" in str(info.value)


def test_bad_names_duplicates_and_files_are_refused(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    _edit(directory, "grid", 0, name="Grid Preset")
    with pytest.raises(DataError, match="'Grid Preset'.*kebab-case"):
        load_presets(directory)
    shutil.rmtree(directory)
    directory = _copy(tmp_path)
    twin = load_presets(directory)[0].name
    _edit(directory, "vwap", 0, name=twin)
    with pytest.raises(DataError, match=f"preset '{twin}' .* defined twice"):
        load_presets(directory)
    (directory / "broken.json").write_text("[{", encoding="utf-8")
    with pytest.raises(DataError, match="broken.json"):
        load_presets(directory)
    (directory / "broken.json").write_text('{"name": "x"}', encoding="utf-8")
    with pytest.raises(DataError, match="broken.json: must hold a JSON list"):
        load_presets(directory)
    (directory / "broken.json").write_text('[{"name": "lonely-preset"}]', encoding="utf-8")
    with pytest.raises(DataError, match="preset 'lonely-preset'.*missing field"):
        load_presets(directory)


def test_multi_symbol_presets_list_their_basket_and_single_ones_do_not() -> None:
    presets = load_presets()
    multi = [p for p in presets if p.multi_symbol]
    assert {p.family for p in multi} == {"momentum_rotation", "pairs_trading"}
    for p in multi:
        assert p.all_symbols == ("ETH/USDT", "BTC/USDT") and p.symbol == "ETH/USDT"
        assert p.to_json()["symbols"] == ["ETH/USDT", "BTC/USDT"]
    assert all(p.all_symbols == (p.symbol,) and "symbols" not in p.to_json()
               for p in presets if not p.multi_symbol)  # fmt: skip


def test_a_pairs_preset_without_its_second_symbol_is_refused(tmp_path: Path) -> None:
    raw = next(p for p in load_presets() if p.family == "pairs_trading").to_json()
    raw["symbols"] = ["ETH/USDT"]
    (tmp_path / "bad.json").write_text(json.dumps([raw]))
    with pytest.raises(DataError, match="pairs_trading trades 2 symbols at least"):
        load_presets(tmp_path)
