"""Backtest reports: a self-contained HTML page, its JSON and its trades CSV.

The main fixture is a real sma_cross backtest on a seeded synthetic market, converted
to ``ReportData`` here; the million-bar case is built with numpy and hand-made fills.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from task_station.backtest.metrics import compute_metrics, trade_table
from task_station.backtest.report import (
    CSV_COLUMNS,
    MAX_LINE_POINTS,
    MAX_MARKERS,
    MAX_TABLE_ROWS,
    ReportData,
    downsample,
    render_html,
    report_json,
    trades_csv,
    write_report,
)
from task_station.backtest.runner import BacktestConfig, run_backtest_sync
from task_station.domain.errors import ValidationError
from task_station.domain.instruments import Instrument
from task_station.domain.orders import Fill, OrderSide
from task_station.marketdata.candle_files import frame_to_candles
from task_station.marketdata.synthetic import SyntheticMarketSpec, generate_frame

HOUR_NS = 3600 * 1_000_000_000
VOID = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "wbr"}


class Page(HTMLParser):
    """Checks tag nesting and collects what the tests read from the page."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: dict[str, str] = {}  # text of elements with data-metric / data-month
        self._capture: list[tuple[str, int]] = []  # (key, depth of its element)
        self._buffer: dict[str, str] = {}
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.tags.append((tag, found))
        if tag in VOID:
            return
        self.stack.append(tag)
        for kind in ("metric", "month"):
            if found.get(f"data-{kind}"):
                self._capture.append((f"{kind}:{found[f'data-{kind}']}", len(self.stack)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        if self._capture and self._capture[-1][1] == len(self.stack):
            key, _ = self._capture.pop()
            self.text[key] = self._buffer.pop(key, "").strip()
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        for key, _ in self._capture:
            self._buffer[key] = self._buffer.get(key, "") + data

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for t, attrs in self.tags if t == tag]


# --------------------------------------------------------------------- fixtures


def report_from_backtest(title: str, strategy_label: str) -> ReportData:
    frame = generate_frame(SyntheticMarketSpec(bars=2500, seed=11))
    config = BacktestConfig(
        strategy="sma_cross",
        params={"fast": 10, "slow": 30},
        candles=frame_to_candles(frame),
        instrument=Instrument.from_symbol("BTC/USDT"),
        timeframe="1h",
        cash=Decimal(10_000),
        maker_fee=Decimal("0.001"),
        taker_fee=Decimal("0.001"),
    )
    result = run_backtest_sync(config)
    opens = np.array([int(c.ts.timestamp()) for c in config.candles], dtype=np.int64) * 10**9
    close = np.array([float(c.close) for c in config.candles])
    equity = np.array([float(p.equity) for p in result.equity_curve])
    reasons = {o.client_order_id: o.tag for o in result.orders if o.tag}
    last = {"BTC/USDT": config.candles[-1].close}
    trades = trade_table(result.fills, reasons, last_price=last, bar_seconds=3600)
    metrics = compute_metrics(
        equity=equity, timestamps=opens + HOUR_NS, prices=close, fills=result.fills,
        starting_cash=config.cash, final_equity=result.final_equity, bar_seconds=3600,
        reasons=reasons,
    )  # fmt: skip
    return ReportData(
        title=title,
        strategy=strategy_label,
        params={**result.params, "note": "<b>bold</b> & co"},
        symbol="BTC/USDT",
        timeframe="1h",
        starting_cash=config.cash,
        final_equity=result.final_equity,
        timestamps=opens,
        open=np.array([float(c.open) for c in config.candles]),
        high=np.array([float(c.high) for c in config.candles]),
        low=np.array([float(c.low) for c in config.candles]),
        close=close,
        equity=equity,
        fills=result.fills,
        trades=trades,
        metrics=metrics,
    )


@pytest.fixture(scope="module")
def data() -> ReportData:
    return report_from_backtest("SMA <script>alert(1)</script>", "<script>evil()</script>")


@pytest.fixture(scope="module")
def page(data: ReportData) -> str:
    return render_html(data)


# ------------------------------------------------------------------------ HTML


def test_html_is_well_formed_and_has_one_svg_per_chart(page: str) -> None:
    parsed = Page(page)
    assert parsed.errors == [] and parsed.stack == []
    assert [svg.get("data-chart") for svg in parsed.all("svg")] == ["equity", "drawdown", "price"]
    for line in parsed.all("polyline"):
        assert len((line.get("points") or "").split()) <= MAX_LINE_POINTS


def test_html_is_self_contained(page: str) -> None:
    parsed = Page(page)
    assert not re.search(r"https?://", page)
    assert parsed.all("script") == [] and parsed.all("link") == [] and parsed.all("img") == []
    assert "@import" not in page and "url(" not in page


def test_every_user_string_is_escaped(page: str, data: ReportData) -> None:
    parsed = Page(page)
    assert parsed.all("script") == [] and parsed.all("b") != []  # only the page's own <b>
    assert "&lt;script&gt;evil()&lt;/script&gt;" in page
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; co" in page
    assert "<title>SMA &lt;script&gt;alert(1)&lt;/script&gt;</title>" in page


def test_metrics_table_shows_the_computed_values(page: str, data: ReportData) -> None:
    shown = Page(page).text
    m = data.metrics
    assert shown["metric:max_drawdown"].endswith(f"{m.max_drawdown * 100:.2f} %")
    assert shown["metric:total_return"].endswith(f"{m.total_return * 100:.2f} %")
    assert m.sharpe is not None and shown["metric:sharpe"].endswith(f"{m.sharpe:.2f}")
    assert shown["metric:fees_paid"].endswith(f"{m.fees_paid:,.2f}")
    assert shown["metric:round_trips"].endswith(str(m.round_trips))
    assert m.round_trips > 10  # the backtest really traded


def test_heatmap_has_a_cell_for_every_month_in_range(page: str, data: ReportData) -> None:
    shown = Page(page).text
    months = {
        datetime.fromtimestamp(int(t) / 1e9, tz=UTC).strftime("%Y-%m")
        for t in data.timestamps.tolist()
    }
    cells = {key.removeprefix("month:") for key in shown if key.startswith("month:")}
    assert cells == months and len(months) >= 3
    first = min(months)
    first_end = max(i for i, t in enumerate(data.timestamps.tolist())
                    if datetime.fromtimestamp(t / 1e9, tz=UTC).strftime("%Y-%m") == first)  # fmt: skip
    expected = data.equity[first_end] / float(data.starting_cash) - 1
    assert shown[f"month:{first}"] == f"{expected * 100:+.1f} %"


def test_trade_table_lists_every_trade_with_its_reasons(page: str, data: ReportData) -> None:
    rows = Page(page).all("tr")
    trade_rows = [r for r in rows if r.get("class") in ("pos", "neg", "")]
    assert len(trade_rows) == len(data.trades)
    assert "sma cross up" in page and "sma cross down" in page


# ---------------------------------------------------------------- data files


def test_csv_round_trips_every_decimal_exactly(data: ReportData) -> None:
    rows = list(csv.DictReader(io.StringIO(trades_csv(data.trades))))
    assert len(rows) == len(data.trades) > 0
    for row, t in zip(rows, data.trades, strict=True):
        assert Decimal(row["pnl"]) == t.pnl
        assert Decimal(row["fees"]) == t.fees
        assert Decimal(row["quantity"]) == t.quantity
        assert Decimal(row["entry_price"]) == t.entry_price
        assert (Decimal(row["exit_price"]) if row["exit_price"] else None) == t.exit_price
        assert datetime.fromisoformat(row["entry_time"]) == t.entry_ts
        assert (row["side"], row["entry_reason"]) == (t.side, t.entry_reason)
    assert sum(Decimal(r["fees"]) for r in rows) == sum(f.fee for f in data.fills)


def test_json_report_is_strict_json_with_a_downsampled_curve(data: ReportData) -> None:
    doc = report_json(data)
    parsed = json.loads(json.dumps(doc, allow_nan=False))
    assert parsed["metrics"]["max_drawdown"] == data.metrics.max_drawdown
    assert parsed["params"]["fast"] == 10 and parsed["final_equity"] == str(data.final_equity)
    assert len(parsed["trades"]) == len(data.trades)
    curve = parsed["equity_curve"]
    assert len(curve["ts"]) == len(curve["equity"]) <= MAX_LINE_POINTS
    assert max(curve["equity"]) == data.equity.max() and min(curve["equity"]) == data.equity.min()


def test_write_report_writes_three_files_and_no_leftovers(data: ReportData, tmp_path: Path) -> None:
    paths = write_report(data, tmp_path / "run.html")
    assert [p.name for p in paths] == ["run.html", "run.json", "run.trades.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)
    assert paths[0].read_text(encoding="utf-8") == render_html(data)
    assert json.loads(paths[1].read_text())["symbol"] == "BTC/USDT"
    write_report(data, tmp_path / "run.html")  # overwriting is fine
    assert len(list(tmp_path.iterdir())) == 3


def test_write_report_into_a_missing_folder_fails_clearly(data: ReportData, tmp_path: Path) -> None:
    target = tmp_path / "nope" / "run.html"
    with pytest.raises(ValidationError, match="folder .*nope does not exist"):
        write_report(data, target)
    assert list(tmp_path.iterdir()) == []


def test_write_report_leaves_nothing_when_a_target_is_blocked(
    data: ReportData, tmp_path: Path
) -> None:
    (tmp_path / "run.trades.csv").mkdir()
    with pytest.raises(ValidationError, match="is a folder"):
        write_report(data, tmp_path / "run.html")
    assert [p.name for p in tmp_path.iterdir()] == ["run.trades.csv"]


def test_a_one_bar_run_without_trades_still_renders(tmp_path: Path) -> None:
    opens = np.array([1_700_000_000 * 10**9], dtype=np.int64)
    one = np.array([100.0])
    metrics = compute_metrics(
        equity=one, timestamps=opens + HOUR_NS, prices=one, fills=[], starting_cash=Decimal(100),
        final_equity=Decimal(100), bar_seconds=3600,
    )  # fmt: skip
    data = ReportData(
        "flat", "idle", {}, "ETH/USDT", "1h", Decimal(100), Decimal(100),
        opens, one, one, one, one, one, [], [], metrics,
    )  # fmt: skip
    parsed = Page(render_html(data))
    assert parsed.errors == [] and len(parsed.all("svg")) == 3
    assert parsed.text["metric:sharpe"].endswith("—")  # undefined, shown as a dash
    paths = write_report(data, tmp_path / "flat.html")
    assert json.loads(paths[1].read_text())["metrics"]["sharpe"] is None
    assert paths[2].read_text().splitlines() == [",".join(CSV_COLUMNS)]


# ----------------------------------------------------------------- big runs


def test_downsample_keeps_every_bucket_extreme() -> None:
    values = np.sin(np.linspace(0, 60, 100_000)) + np.linspace(0, 1, 100_000)
    values[12_345], values[67_890] = 50.0, -50.0  # two one-bar spikes
    idx = downsample(values, 2000)
    assert len(idx) <= 2000 and np.all(np.diff(idx) > 0)
    assert {12_345, 67_890} <= set(idx.tolist())
    assert downsample(values[:10], 2000).tolist() == list(range(10))


def million_bar_report(trips: int = 5000) -> ReportData:
    n = 1_000_000
    rng = np.random.default_rng(5)
    start = datetime(2022, 1, 1, tzinfo=UTC)
    opens = int(start.timestamp()) * 10**9 + np.arange(n, dtype=np.int64) * 60 * 10**9
    close = 20_000 * np.exp(np.cumsum(rng.normal(0, 0.0005, n)))
    equity = 10_000 * np.exp(np.cumsum(rng.normal(0.000001, 0.0003, n)))
    bars = np.sort(rng.choice(n - 1, size=2 * trips, replace=False))
    fills = [
        Fill(
            trade_id=f"t{k}", client_order_id=f"o{k}", symbol="BTC/USDT",
            side=OrderSide.BUY if k % 2 == 0 else OrderSide.SELL,
            price=Decimal(repr(round(float(close[b]), 2))), quantity=Decimal("0.01"),
            fee=Decimal("0.2"), fee_currency="USDT", liquidity="taker",
            ts=start + timedelta(minutes=int(b) + 1),
        )
        for k, b in enumerate(bars.tolist())
    ]  # fmt: skip
    trades = trade_table(fills, bar_seconds=60)
    metrics = compute_metrics(
        equity=equity, timestamps=opens + 60 * 10**9, prices=close, fills=fills,
        starting_cash=Decimal(10_000), final_equity=Decimal(repr(float(equity[-1]))),
        bar_seconds=60,
    )  # fmt: skip
    return ReportData(
        "1M bars", "random", {}, "BTC/USDT", "1m", Decimal(10_000), metrics.final_equity,
        opens, close, close * 1.001, close * 0.999, close, equity, fills, trades, metrics,
    )  # fmt: skip


def test_a_million_bar_report_stays_small(tmp_path: Path) -> None:
    data = million_bar_report()
    page = render_html(data)
    assert len(page.encode()) < 2_000_000
    parsed = Page(page)
    assert parsed.errors == []
    assert len(parsed.all("path")) <= MAX_MARKERS
    assert all(
        len((p.get("points") or "").split()) <= MAX_LINE_POINTS for p in parsed.all("polyline")
    )
    trade_rows = [r for r in parsed.all("tr") if r.get("class") in ("pos", "neg", "")]
    assert len(trade_rows) == MAX_TABLE_ROWS < len(data.trades) == 5000
    assert "Showing the first 2,000 of 5,000 trades" in page
    assert len({k for k in Page(page).text if k.startswith("month:")}) == 23  # Jan 2022..Nov 2023
    csv_rows = list(csv.DictReader(io.StringIO(trades_csv(data.trades))))
    assert len(csv_rows) == 5000
