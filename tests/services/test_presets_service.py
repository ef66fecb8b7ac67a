"""The presets service: the one door every face uses to find and read presets."""

from __future__ import annotations

import pytest

from task_station.container import Container
from task_station.domain.errors import NotFoundError, ValidationError
from task_station.services.presets import PresetService
from task_station.strategies.presets import load_presets


def test_list_without_filters_gives_every_shipped_preset() -> None:
    assert PresetService().list() == load_presets()


def test_filters_combine() -> None:
    found = PresetService().list(family="rsi_reversion", timeframe="1d", risk="conservative")
    assert found
    assert all(
        (p.family, p.timeframe, p.risk_profile) == ("rsi_reversion", "1d", "conservative")
        for p in found
    )
    eth = PresetService().list(family="rsi_reversion", search="eth")
    assert eth and all(p.symbol == "ETH/USDT" for p in eth)
    tagged = PresetService().list(tag="grid")
    assert tagged and all("grid" in p.tags for p in tagged)


def test_a_blank_search_matches_everything() -> None:
    assert len(PresetService().list(search="  ")) == len(load_presets())


def test_unknown_filters_are_validation_errors() -> None:
    with pytest.raises(ValidationError, match="unknown family 'nope'"):
        PresetService().list(family="nope")
    with pytest.raises(ValidationError, match="unknown risk profile"):
        PresetService().list(risk="reckless")


def test_get_returns_the_preset_or_not_found() -> None:
    got = PresetService().get("rsi-reversion-classic-btc-1h-conservative")
    assert got.family == "rsi_reversion" and got.params["period"] == 14
    with pytest.raises(NotFoundError, match="unknown preset 'rsi-reversion-nope'"):
        PresetService().get("rsi-reversion-nope")


def test_a_given_collection_replaces_the_shipped_one() -> None:
    two = load_presets()[:2]
    service = PresetService(two)
    assert service.list() == two
    assert service.get(two[1].name) == two[1]
    with pytest.raises(NotFoundError):
        service.get(load_presets()[5].name)
    assert service.families() == sorted({p.family for p in two})


def test_the_container_wires_the_service(container: Container) -> None:
    presets = container.services.presets
    assert isinstance(presets, PresetService)
    assert "sma_cross" in presets.families()
