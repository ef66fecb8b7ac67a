"""Risk and arbitrage events as WebSocket messages: exact money as strings, a topic each."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from task_station.api.messages import CONVERTERS, DEFAULT_TOPICS
from task_station.domain.events import ArbitrageAlert, ArbitrageTradeCompleted, RiskBreached

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def test_an_arbitrage_trade_keeps_its_money_exact() -> None:
    event = ArbitrageTradeCompleted(
        T0, "arb-1", "cex_dex", "completed", 2, Decimal("235.7393434566"),
        Decimal("6.50371380"), Decimal("0.3449"), "USDT", "pool below bid",
    )  # fmt: skip
    topic, convert = CONVERTERS[ArbitrageTradeCompleted]
    message = convert(event)
    assert topic == "arbitrage" and topic in DEFAULT_TOPICS
    assert message["type"] == "arbitrage_trade"
    assert message["data"]["realized_pnl"] == "235.7393434566"
    assert message["data"]["gas"] == "0.3449"


def test_alerts_and_breaches_say_whether_they_paused() -> None:
    alert = CONVERTERS[ArbitrageAlert][1](ArbitrageAlert(T0, "arb-1", "cex_dex", "held", True))
    breach = CONVERTERS[RiskBreached][1](
        RiskBreached(T0, "bot-1", "max_daily_loss", "bot", "daily loss 510 above 500", True)
    )
    assert alert["data"]["paused"] is True and alert["type"] == "arbitrage_alert"
    assert breach["data"]["limit"] == "max_daily_loss" and breach["type"] == "risk_breach"
