"""Backtest reports: one self-contained HTML page, a JSON document and a trades CSV.

The HTML works offline and alone: no script, no CDN, no web font. Charts are inline SVG
drawn here from numpy arrays, downsampled with the minimum and maximum of each bucket so
a million-bar run still gives a page of a few hundred kilobytes that keeps every spike.
Every string a user chose (title, strategy, parameters, reasons) is HTML-escaped.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from html import escape
from pathlib import Path

import numpy as np
import numpy.typing as npt

from task_station.backtest.metrics import (
    BacktestMetrics,
    FloatArray,
    Trade,
    drawdown_series,
    monthly_returns,
    require_nanoseconds,
)
from task_station.domain.candles import TIMEFRAME_SECONDS
from task_station.domain.errors import DataError, ValidationError
from task_station.domain.orders import Fill

IntArray = npt.NDArray[np.int64]

MAX_LINE_POINTS = 2000  # per chart line: min and max of 1000 buckets
MAX_MARKERS = 1000  # trade markers on the price chart, entries and exits together
MAX_TABLE_ROWS = 2000  # trade rows in the HTML (the CSV has them all)
ACCENT = "#f5a623"
UP, DOWN, MUTED = "#3ecf8e", "#ef5350", "#8a93a6"


@dataclass(frozen=True, slots=True, eq=False)
class ReportData:
    """Everything a report shows; arrays are per bar, oldest first.

    ``timestamps`` are each bar's open (int64 ns UTC) and ``equity`` the book's equity at
    that bar's close.
    """

    title: str
    strategy: str
    params: Mapping[str, object]
    symbol: str
    timeframe: str
    starting_cash: Decimal
    final_equity: Decimal
    timestamps: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    equity: FloatArray
    fills: list[Fill]
    trades: list[Trade]
    metrics: BacktestMetrics
    bar_seconds: int = field(init=False)

    def __post_init__(self) -> None:
        n = len(self.timestamps)
        if n == 0:
            raise ValidationError("a report needs at least one bar")
        for name in ("open", "high", "low", "close", "equity"):
            if len(getattr(self, name)) != n:
                raise DataError(
                    f"report columns differ in length: {n} timestamps but "
                    f"{len(getattr(self, name))} {name} values"
                )
        object.__setattr__(self, "bar_seconds", TIMEFRAME_SECONDS.get(self.timeframe, 0))
        require_nanoseconds(self.timestamps, self.bar_seconds)

    @property
    def bars(self) -> int:
        return len(self.timestamps)

    @property
    def start_ns(self) -> int:
        return int(self.timestamps[0])

    @property
    def end_ns(self) -> int:
        """The last bar's close (its open when the timeframe is unknown)."""
        return int(self.timestamps[-1]) + self.bar_seconds * 1_000_000_000


# ------------------------------------------------------------------ downsampling


def downsample(values: FloatArray, max_points: int = MAX_LINE_POINTS) -> IntArray:
    """Indices of at most ``max_points`` values that keep each bucket's min and max.

    The values are cut into ``max_points // 2`` equal buckets; each gives its lowest
    and highest point in time order, so spikes survive any amount of reduction.
    """
    n = len(values)
    buckets = max(1, max_points // 2)
    if n <= max_points:
        return np.arange(n, dtype=np.int64)
    size = math.ceil(n / buckets)
    rows = math.ceil(n / size)
    padded = np.pad(values, (0, rows * size - n), mode="edge").reshape(rows, size)
    base = np.arange(rows, dtype=np.int64) * size
    lo, hi = base + padded.argmin(axis=1), base + padded.argmax(axis=1)
    pairs = np.column_stack([np.minimum(lo, hi), np.maximum(lo, hi)]).ravel()
    return np.unique(np.minimum(pairs, n - 1))


# ------------------------------------------------------------------------- charts


@dataclass(frozen=True, slots=True)
class _Plot:
    """Maps bar indices and values to SVG coordinates inside a fixed frame."""

    n: int
    lo: float
    hi: float
    width: int = 1000
    height: int = 240
    left: int = 78
    right: int = 12
    top: int = 12
    bottom: int = 26

    def x(self, idx: npt.NDArray[np.int64] | FloatArray) -> FloatArray:
        span = max(self.n - 1, 1)
        return self.left + idx.astype(np.float64) / span * (self.width - self.left - self.right)

    def y(self, values: FloatArray) -> FloatArray:
        inner = self.height - self.top - self.bottom
        if self.hi <= self.lo:
            return np.full(len(values), self.top + inner / 2)
        return self.top + (self.hi - values) / (self.hi - self.lo) * inner


def _points(xs: FloatArray, ys: FloatArray) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs.tolist(), ys.tolist(), strict=True))


def _bounds(*series: FloatArray) -> tuple[float, float]:
    finite = [s[np.isfinite(s)] for s in series]
    values = np.concatenate(finite) if finite else np.zeros(0)
    if len(values) == 0:
        return 0.0, 1.0
    lo, hi = float(values.min()), float(values.max())
    pad = (hi - lo) * 0.04 or abs(hi) * 0.01 or 1.0
    return lo - pad, hi + pad


def _axes(plot: _Plot, data: ReportData, y_label: Callable[[float], str]) -> list[str]:
    """Grid lines with value labels on the left and date labels along the bottom."""
    out: list[str] = []
    bottom = plot.height - plot.bottom
    for k in range(5):
        value = plot.lo + (plot.hi - plot.lo) * k / 4
        y = float(plot.y(np.array([value]))[0])
        out.append(
            f'<line x1="{plot.left}" y1="{y:.1f}" x2="{plot.width - plot.right}" '
            f'y2="{y:.1f}" class="grid"/>'
            f'<text x="{plot.left - 6}" y="{y + 4:.1f}" text-anchor="end">{y_label(value)}</text>'
        )
    ticks = np.unique(np.linspace(0, data.bars - 1, 6).round().astype(np.int64))
    labels = np.datetime_as_string(data.timestamps[ticks].astype("datetime64[ns]"), unit="D")
    anchors = ["middle"] * len(ticks)
    anchors[0], anchors[-1] = "start", "end"  # keep the outer labels inside the frame
    for x, label, anchor in zip(plot.x(ticks).tolist(), labels.tolist(), anchors, strict=True):
        out.append(f'<text x="{x:.1f}" y="{bottom + 18}" text-anchor="{anchor}">{label}</text>')
    return out


def _svg(kind: str, plot: _Plot, body: Iterable[str], label: str) -> str:
    return (
        f'<svg data-chart="{kind}" viewBox="0 0 {plot.width} {plot.height}" role="img" '
        f'aria-label="{escape(label)}" preserveAspectRatio="none">' + "".join(body) + "</svg>"
    )


def _money_label(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.4g}"


def equity_chart(data: ReportData) -> str:
    """The equity curve, with buy and hold of the same starting cash for reference."""
    idx = downsample(data.equity)
    start = float(data.starting_cash)
    first = float(data.close[0])
    hold = data.close[idx] / first * start if first > 0 else np.full(len(idx), start)
    plot = _Plot(data.bars, *_bounds(data.equity[idx], hold))
    xs = plot.x(idx)
    body = _axes(plot, data, _money_label)
    body.append(f'<polyline class="hold" points="{_points(xs, plot.y(hold))}"/>')
    body.append(f'<polyline class="equity" points="{_points(xs, plot.y(data.equity[idx]))}"/>')
    body.append(
        f'<text x="{plot.left + 8}" y="{plot.top + 14}" class="legend">'
        f'<tspan fill="{ACCENT}">equity</tspan>  <tspan fill="{MUTED}">buy and hold</tspan></text>'
    )
    return _svg("equity", plot, body, "equity curve")


def drawdown_chart(data: ReportData) -> str:
    """The underwater curve: how far below its last peak the equity was at each bar."""
    curve = np.concatenate([[float(data.starting_cash)], data.equity])
    under = -drawdown_series(curve)[1:]
    idx = downsample(under)
    plot = _Plot(data.bars, min(float(under.min()), -1e-9) * 1.05, 0.0)
    xs, ys = plot.x(idx), plot.y(under[idx])
    zero = float(plot.y(np.zeros(1))[0])
    area = f"{xs[0]:.1f},{zero:.1f} {_points(xs, ys)} {xs[-1]:.1f},{zero:.1f}"
    body = _axes(plot, data, lambda v: f"{v * 100:.1f} %")
    body.append(f'<polygon class="underwater" points="{area}"/>')
    return _svg("drawdown", plot, body, "drawdown")


def price_chart(data: ReportData) -> str:
    """Closing prices with the trades' entries (green up) and exits (red down)."""
    idx = downsample(data.close)
    plot = _Plot(data.bars, *_bounds(data.close[idx]))
    body = _axes(plot, data, _money_label)
    body.append(
        f'<polyline class="price" points="{_points(plot.x(idx), plot.y(data.close[idx]))}"/>'
    )
    body.extend(_markers(data, plot))
    return _svg("price", plot, body, "price and trades")


def _markers(data: ReportData, plot: _Plot) -> list[str]:
    """Trade markers, merged per slice of bars so at most ``MAX_MARKERS`` are drawn."""
    entries = [(t.entry_ts, t.entry_price) for t in data.trades]
    exits = [(t.exit_ts, t.exit_price) for t in data.trades if t.exit_ts and t.exit_price]
    width = max(1, math.ceil(data.bars / (MAX_MARKERS // 2)))
    out: list[str] = []
    for kind, events in (("entry", entries), ("exit", exits)):
        if not events:
            continue
        bars = _bar_index(data.timestamps, [ts for ts, _ in events])
        prices = np.array([float(p) for _, p in events])
        _, where, counts = np.unique(bars // width, return_inverse=True, return_counts=True)
        mean_bar = np.bincount(where, bars) / counts
        mean_price = np.bincount(where, prices) / counts
        xs, ys = plot.x(mean_bar), plot.y(mean_price)
        for x, y, count in zip(xs.tolist(), ys.tolist(), counts.tolist(), strict=True):
            out.append(_triangle(kind, x, y, count, small=len(counts) > 150))
    return out


def _triangle(kind: str, x: float, y: float, count: int, *, small: bool) -> str:
    label = f"{count} {kind}{'s' if count > 1 else ''}"
    w, h = (2.5, 5) if small else (5, 9)  # crowded charts get smaller marks
    # an entry sits below the price pointing up, an exit above it pointing down
    up = f"M{x:.1f} {y + 2:.1f}l{-w} {h}h{2 * w}z"
    down = f"M{x:.1f} {y - 2:.1f}l{-w} {-h}h{2 * w}z"
    d = up if kind == "entry" else down
    return f'<path class="{kind}" d="{d}"><title>{label}</title></path>'


def _bar_index(timestamps: IntArray, when: Sequence[datetime]) -> IntArray:
    ns = np.array([_ns(ts) for ts in when], dtype=np.int64)
    return np.clip(np.searchsorted(timestamps, ns, side="right") - 1, 0, len(timestamps) - 1)


def _ns(ts: datetime) -> int:
    return int(ts.timestamp()) * 1_000_000_000 + ts.microsecond * 1000


# ------------------------------------------------------------------------- tables


def _pct(value: object) -> str:
    return (
        "—" if not isinstance(value, float) or not math.isfinite(value) else f"{value * 100:.2f} %"
    )


def _ratio(value: object) -> str:
    return "—" if not isinstance(value, float) or not math.isfinite(value) else f"{value:.2f}"


def _money(value: object) -> str:
    return f"{value:,.2f}" if isinstance(value, Decimal) else "—"


def _plain(value: object) -> str:
    if isinstance(value, timedelta):
        return _span(value)
    return "—" if value is None else str(value)


def _span(value: timedelta) -> str:
    days, rest = divmod(int(value.total_seconds()), 86_400)
    hours, rest = divmod(rest, 3600)
    return f"{days} d {hours} h {rest // 60} min"


#: (field of BacktestMetrics, label, formatter): the rows of the metrics table.
METRIC_ROWS: tuple[tuple[str, str, Callable[[object], str]], ...] = (
    ("total_return", "Total return", _pct),
    ("cagr", "Annualized return (CAGR)", _pct),
    ("buy_and_hold_return", "Buy and hold return", _pct),
    ("net_profit", "Net profit", _money),
    ("volatility", "Annualized volatility", _pct),
    ("sharpe", "Sharpe ratio", _ratio),
    ("sortino", "Sortino ratio", _ratio),
    ("calmar", "Calmar ratio", _ratio),
    ("max_drawdown", "Max drawdown", _pct),
    ("max_drawdown_bars", "Longest drawdown (bars)", _plain),
    ("max_drawdown_duration", "Longest drawdown (time)", _plain),
    ("var_95", "VaR 95 % (per bar)", _pct),
    ("cvar_95", "CVaR 95 % (per bar)", _pct),
    ("alpha", "Alpha (annualized)", _pct),
    ("beta", "Beta", _ratio),
    ("round_trips", "Round trips", _plain),
    ("open_trades", "Open at end", _plain),
    ("win_rate", "Win rate", _pct),
    ("profit_factor", "Profit factor", _ratio),
    ("expectancy", "Expectancy (per trade)", _money),
    ("expectancy_pct", "Expectancy (per trade, %)", _pct),
    ("best_trade", "Best trade", _money),
    ("worst_trade", "Worst trade", _money),
    ("max_win_streak", "Longest winning streak", _plain),
    ("max_loss_streak", "Longest losing streak", _plain),
    ("exposure", "Exposure", _pct),
    ("turnover", "Turnover (x equity)", _ratio),
    ("fees_paid", "Fees paid", _money),
    ("slippage_paid", "Slippage paid", _money),
)


def metrics_table(metrics: BacktestMetrics) -> str:
    """The metrics as a two-column table; each row names its field in ``data-metric``."""
    rows = "".join(
        f'<tr data-metric="{name}"><th>{label}</th><td>{fmt(getattr(metrics, name))}</td></tr>'
        for name, label, fmt in METRIC_ROWS
    )
    return f'<table class="metrics">{rows}</table>'


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def monthly_heatmap(data: ReportData) -> str:
    """Years x months of returns from the equity curve, green up and red down."""
    months = monthly_returns(data.timestamps, data.equity, float(data.starting_cash))
    scale = max((abs(r) for r in months.values()), default=0.0) or 1.0
    head = "".join(f"<th>{m}</th>" for m in _MONTHS)
    rows = []
    for year in sorted({y for y, _ in months}):
        cells = [_heat_cell(year, m, months.get((year, m)), scale) for m in range(1, 13)]
        total = math.prod(1 + r for (y, _), r in months.items() if y == year) - 1
        rows.append(
            f"<tr><th>{year}</th>{''.join(cells)}<td class='year'>{total * 100:+.1f} %</td></tr>"
        )
    return f'<table class="heatmap"><tr><th></th>{head}<th>Year</th></tr>{"".join(rows)}</table>'


def _heat_cell(year: int, month: int, value: float | None, scale: float) -> str:
    if value is None:
        return '<td class="na"></td>'
    rgb = "62,207,142" if value >= 0 else "239,83,80"
    alpha = 0.15 + 0.75 * min(abs(value) / scale, 1.0)
    return (
        f'<td data-month="{year}-{month:02d}" style="background:rgba({rgb},{alpha:.2f})">'
        f"{value * 100:+.1f} %</td>"
    )


_TRADE_HEAD = (
    "#", "Side", "Entry", "Exit", "Quantity", "Entry price", "Exit price",
    "P&amp;L", "Return", "Bars", "Entry reason", "Exit reason",
)  # fmt: skip


def trades_table(trades: Sequence[Trade], limit: int = MAX_TABLE_ROWS) -> str:
    """The first ``limit`` trades as rows, with a note pointing to the CSV for the rest."""
    head = "".join(f"<th>{h}</th>" for h in _TRADE_HEAD)
    rows = "".join(_trade_row(i, t) for i, t in enumerate(trades[:limit], start=1))
    note = ""
    if len(trades) > limit:
        note = (
            f'<p class="note">Showing the first {limit:,} of {len(trades):,} trades; '
            "the .trades.csv file next to this report has all of them.</p>"
        )
    return f'{note}<table class="trades"><tr>{head}</tr>{rows}</table>'


def _trade_row(number: int, t: Trade) -> str:
    tone = "pos" if t.pnl > 0 else "neg" if t.pnl < 0 else ""
    cells = (
        str(number),
        t.side,
        _when(t.entry_ts),
        _when(t.exit_ts) if t.exit_ts else "open",
        _price(t.quantity),
        _price(t.entry_price),
        _price(t.exit_price) if t.exit_price is not None else "—",
        f"{t.pnl:,.2f}",
        f"{t.return_pct * 100:+.2f} %",
        _plain(t.bars_held),
        escape(t.entry_reason),
        escape(t.exit_reason),
    )
    tds = "".join(f"<td>{c}</td>" for c in cells)
    return f'<tr class="{tone}">{tds}</tr>'


def _when(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%d %H:%M")


def _price(value: Decimal) -> str:
    """At most 8 decimals, trailing zeros dropped (the CSV keeps every digit)."""
    text = f"{value:,.8f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


# --------------------------------------------------------------------------- page

_CSS = f"""
body{{background:#1b1f27;color:#e4e7ee;font:14px/1.45 system-ui,-apple-system,"Segoe UI",
sans-serif;margin:0;padding:24px 32px}}
h1{{color:{ACCENT};margin:0 0 4px;font-size:24px}}
h2{{color:{ACCENT};font-size:16px;margin:28px 0 8px;border-bottom:1px solid #323946;
padding-bottom:4px}}
.sub{{color:{MUTED}}} code{{color:#ffd58a}}
table{{border-collapse:collapse}} th,td{{padding:3px 10px;text-align:right}}
th{{color:{MUTED};font-weight:500}}
table.metrics th{{text-align:left}}
table.metrics tr:nth-child(odd),table.trades tr:nth-child(even){{background:#222733}}
table.heatmap td{{min-width:56px;color:#fff}} table.heatmap td.na{{background:#20242d}}
td.year{{font-weight:600}} tr.pos td:nth-child(8){{color:{UP}}}
tr.neg td:nth-child(8){{color:{DOWN}}} .note{{color:{ACCENT}}}
svg{{width:100%;height:260px;background:#20242d;border-radius:6px}}
svg text{{fill:{MUTED};font-size:11px}} .grid{{stroke:#2e3440;stroke-width:1}}
.equity{{fill:none;stroke:{ACCENT};stroke-width:1.5}}
.hold{{fill:none;stroke:{MUTED};stroke-width:1;stroke-dasharray:4 3}}
.price{{fill:none;stroke:#9fb3d1;stroke-width:1}}
.underwater{{fill:rgba(239,83,80,.35);stroke:{DOWN};stroke-width:1}}
.entry{{fill:{UP}}} .exit{{fill:{DOWN}}} .legend{{font-size:12px}}
"""


def _header(data: ReportData) -> str:
    params = ", ".join(f"{escape(str(k))}={escape(str(v))}" for k, v in data.params.items())
    start = _iso(data.start_ns)
    end = _iso(data.end_ns)
    return (
        f"<h1>{escape(data.title)}</h1>"
        f'<p class="sub"><b>{escape(data.strategy)}</b> (<code>{params or "defaults"}</code>) '
        f"on <b>{escape(data.symbol)}</b> {escape(data.timeframe)} &middot; {start} → {end} "
        f"({data.bars:,} bars) &middot; {_money(data.starting_cash)} → "
        f"<b>{_money(data.final_equity)}</b></p>"
    )


def _iso(ns: int) -> str:
    return str(np.datetime_as_string(np.datetime64(ns, "ns"), unit="m")).replace("T", " ")


def render_html(data: ReportData) -> str:
    """The whole report as one self-contained HTML page (no script, no external file)."""
    sections = (
        _header(data),
        "<h2>Metrics</h2>" + metrics_table(data.metrics),
        "<h2>Equity</h2>" + equity_chart(data),
        "<h2>Drawdown</h2>" + drawdown_chart(data),
        "<h2>Price and trades</h2>" + price_chart(data),
        "<h2>Monthly returns</h2>" + monthly_heatmap(data),
        f"<h2>Trades ({len(data.trades):,})</h2>" + trades_table(data.trades),
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(data.title)}</title><style>{_CSS}</style></head><body>"
        + "\n".join(sections)
        + "</body></html>\n"
    )


# ------------------------------------------------------------------- data files

CSV_COLUMNS = (
    "symbol", "side", "entry_time", "exit_time", "quantity", "entry_price", "exit_price",
    "pnl", "return_pct", "fees", "bars_held", "entry_reason", "exit_reason",
)  # fmt: skip


def _trade_record(t: Trade) -> dict[str, object]:
    return {
        "symbol": t.symbol,
        "side": t.side,
        "entry_time": t.entry_ts.isoformat(),
        "exit_time": t.exit_ts.isoformat() if t.exit_ts else None,
        "quantity": str(t.quantity),
        "entry_price": str(t.entry_price),
        "exit_price": None if t.exit_price is None else str(t.exit_price),
        "pnl": str(t.pnl),
        "return_pct": t.return_pct if math.isfinite(t.return_pct) else None,
        "fees": str(t.fees),
        "bars_held": t.bars_held,
        "entry_reason": t.entry_reason,
        "exit_reason": t.exit_reason,
    }


def trades_csv(trades: Iterable[Trade]) -> str:
    """Every trade as CSV; Decimals printed exactly, an empty cell for None."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for trade in trades:
        record = _trade_record(trade)
        writer.writerow({k: "" if v is None else v for k, v in record.items()})
    return out.getvalue()


def report_json(data: ReportData) -> dict[str, object]:
    """The report as JSON-ready data: metrics, parameters, every trade, the monthly
    returns and the equity curve downsampled like the chart (no NaN anywhere)."""
    idx = downsample(data.equity)
    months = monthly_returns(data.timestamps, data.equity, float(data.starting_cash))
    return {
        "title": data.title,
        "strategy": data.strategy,
        "params": {str(k): _json_safe(v) for k, v in data.params.items()},
        "symbol": data.symbol,
        "timeframe": data.timeframe,
        "bars": data.bars,
        "start": _iso(data.start_ns),
        "end": _iso(data.end_ns),
        "starting_cash": str(data.starting_cash),
        "final_equity": str(data.final_equity),
        "metrics": data.metrics.to_json(),
        "monthly_returns": {f"{y}-{m:02d}": _json_safe(r) for (y, m), r in months.items()},
        "trades": [_trade_record(t) for t in data.trades],
        "equity_curve": {
            "ts": [_iso(int(t)) for t in data.timestamps[idx].tolist()],
            "equity": [_json_safe(v) for v in data.equity[idx].tolist()],
        },
    }


def _json_safe(value: object) -> object:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return str(value)  # Decimal and anything else: its exact text


def report_paths(path: Path) -> tuple[Path, Path, Path]:
    """Where ``write_report`` puts the HTML, the JSON and the trades CSV."""
    return path, path.with_name(f"{path.stem}.json"), path.with_name(f"{path.stem}.trades.csv")


def write_report(data: ReportData, path: Path) -> list[Path]:
    """Write the HTML report to ``path`` with ``<stem>.json`` and ``<stem>.trades.csv``.

    Each file is written to a temporary file in the same folder and then renamed over
    its target, so a failure never leaves a half-written report behind.

    Raises
    ------
    ValidationError
        The folder does not exist, ``path`` is a folder, or the folder is not writable.
    """
    path = Path(path)
    _check_target(path)
    html_path, json_path, csv_path = report_paths(path)
    texts = {
        html_path: render_html(data),
        json_path: json.dumps(report_json(data), allow_nan=False, indent=1) + "\n",
        csv_path: trades_csv(data.trades),
    }
    staged: list[tuple[Path, Path]] = []
    try:
        for target, text in texts.items():
            staged.append((_stage(target, text), target))
        for temp, target in staged:
            os.replace(temp, target)
    except OSError as exc:
        for temp, _ in staged:
            temp.unlink(missing_ok=True)
        raise ValidationError(
            f"could not write the backtest report to {path.parent}: {exc.strerror or exc}; "
            "check that the folder is writable and the disk is not full"
        ) from exc
    return list(texts)


def _check_target(path: Path) -> None:
    folder = path.parent
    if not folder.is_dir():
        raise ValidationError(
            f"cannot write the backtest report to {path}: the folder {folder} does not "
            "exist; create it or choose another folder"
        )
    for target in report_paths(path):
        if target.is_dir():
            raise ValidationError(
                f"cannot write the backtest report: {target} is a folder; move it away or "
                "give another file name such as report.html"
            )


def _stage(target: Path, text: str) -> Path:
    """Write ``text`` to a new hidden temporary file beside ``target`` (umask honoured)."""
    temp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    handle = temp.open("x", encoding="utf-8", newline="")  # "x": never someone else's file
    try:
        with handle:
            handle.write(text)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp
