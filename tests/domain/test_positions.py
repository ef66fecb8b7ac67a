"""Average-cost P&L: equity = starting cash + realized + unrealized.

Whole-fill opens and closes are exact. A partial close divides the cost basis
(``cost * closed / held``), which a 28-digit decimal context rounds at its last digit,
so the identity is checked to 1e-18 of the traded value: far below any currency unit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from task_station.domain.orders import Fill, OrderSide
from task_station.domain.positions import Position

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def f(side: OrderSide, price: str, qty: str, fee: str = "0", n: int = 0) -> Fill:
    return Fill(
        f"t{n}", "c", "X/USD", side, Decimal(price), Decimal(qty), Decimal(fee), "USD", "taker", T0
    )


def test_buy_fees_enter_cost_and_sell_fees_reduce_realized() -> None:
    pos = Position("X/USD").apply(f(OrderSide.BUY, "100", "2", "1"))
    assert pos.average_price == Decimal("100.5")
    pos = pos.apply(f(OrderSide.SELL, "110", "1", "0.5", 1))
    # proceeds 110 - 0.5 fee, cost of one unit 100.5
    assert pos.realized_pnl == Decimal("9.0")
    assert pos.quantity == Decimal("1")
    assert pos.unrealized_pnl(Decimal("120")) == Decimal("19.5")
    assert pos.fees_paid == Decimal("1.5")


def test_flip_from_long_to_short_opens_the_rest_at_fill_price() -> None:
    pos = Position("X/USD").apply(f(OrderSide.BUY, "100", "1"))
    pos = pos.apply(f(OrderSide.SELL, "90", "3", n=1))
    assert pos.realized_pnl == Decimal("-10")
    assert pos.quantity == Decimal("-2")
    assert pos.average_price == Decimal("90")
    assert pos.unrealized_pnl(Decimal("80")) == Decimal("20")


def test_closing_a_short_realizes_the_difference() -> None:
    pos = Position("X/USD").apply(f(OrderSide.SELL, "50", "2", "1"))
    pos = pos.apply(f(OrderSide.BUY, "40", "2", "1", 1))
    assert pos.is_flat
    assert pos.realized_pnl == Decimal("18")  # 100 - 1 received, 80 + 1 paid


prices = st.decimals(min_value="0.01", max_value="100000", places=2)
qtys = st.decimals(min_value="0.001", max_value="50", places=3)
fee_rates = st.sampled_from([Decimal(0), Decimal("0.001"), Decimal("0.0025")])


@given(
    trades=st.lists(
        st.tuples(st.sampled_from(list(OrderSide)), prices, qtys), min_size=1, max_size=30
    ),
    fee=fee_rates,
    mark=prices,
)
def test_equity_identity_holds_for_any_trade_sequence(
    trades: list[tuple[OrderSide, Decimal, Decimal]], fee: Decimal, mark: Decimal
) -> None:
    pos = Position("X/USD")
    cash = Decimal(0)
    for n, (side, price, qty) in enumerate(trades):
        fill = f(side, str(price), str(qty), str(price * qty * fee), n)
        pos = pos.apply(fill)
        sign = 1 if side is OrderSide.BUY else -1
        cash -= sign * fill.notional + fill.fee
    equity_change = cash + pos.quantity * mark
    scale = 1 + sum(p * q for _, p, q in trades)
    assert abs(equity_change - (pos.realized_pnl + pos.unrealized_pnl(mark))) <= scale * Decimal(
        "1e-18"
    )
