"""Backtest runs side by side: one column per run, one row per figure, grouped by section.

The table is ``BacktestService.compare``'s answer as it is; the dialog only formats the
cells (money from exact Decimal text, ratios as percentages where a trader reads them so)
and marks the best value of each figure that has a better direction.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from task_station.gui.formatting import DASH, fmt_money, fmt_time
from task_station.gui.palette import COLORS
from task_station.services.backtests import BacktestComparison, BacktestRun, ComparisonRow

#: Figures shown as percentages (the service keeps them as fractions: 0.25 = 25 %).
PERCENT = frozenset(
    {
        "total_return", "cagr", "volatility", "max_drawdown", "var_95", "cvar_95",
        "win_rate", "expectancy_pct", "exposure", "buy_and_hold_return",
    }
)  # fmt: skip
#: Figures where more is better, and where less is.
HIGHER_BETTER = frozenset(
    {
        "final_equity", "net_profit", "total_return", "cagr", "sharpe", "sortino", "calmar",
        "win_rate", "profit_factor", "expectancy", "expectancy_pct", "best_trade",
        "worst_trade", "alpha", "max_win_streak",
    }
)  # fmt: skip
LOWER_BETTER = frozenset(
    {
        "max_drawdown", "max_drawdown_bars", "max_drawdown_duration", "volatility", "var_95",
        "cvar_95", "fees_paid", "slippage_paid", "max_loss_streak",
    }
)  # fmt: skip
SECTION_TITLES = {"run": "Run", "param": "Parameters", "result": "Result", "metric": "Metrics"}
NAME_ROLE = Qt.ItemDataRole.UserRole


def as_number(value: object) -> Decimal | None:
    """``value`` as an exact number when it is one (numeric text included), else None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def fmt_pct(value: object, places: int = 2) -> str:
    """``0.1234`` -> ``"12.34 %"``; None or text that is not a number -> a dash."""
    number = as_number(value)
    return DASH if number is None else f"{fmt_money(number * 100, places)} %"


def fmt_ratio(value: object, places: int = 2) -> str:
    number = as_number(value)
    return DASH if number is None else fmt_money(number, places)


def fmt_duration(seconds: object) -> str:
    """``93600`` -> ``"1d 2h"``; spans under an hour keep their minutes."""
    number = as_number(seconds)
    if number is None:
        return DASH
    minutes = int(number) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {mins:02d}m" if hours else f"{mins}m"


def fmt_figure(section: str, name: str, value: object) -> str:
    """One comparison cell as a trader reads it."""
    if value is None:
        return DASH
    if section == "param" or isinstance(value, bool):
        return str(value).lower() if isinstance(value, bool) else str(value)
    if name in PERCENT:
        return fmt_pct(value)
    if name == "max_drawdown_duration":
        return fmt_duration(value)
    number = as_number(value)
    if number is None:
        return str(value)
    if isinstance(value, int) or name in ("bars", "fee_bps") or number == number.to_integral():
        return f"{number:,.0f}" if name != "fee_bps" else str(value)
    return fmt_money(number, 2 if isinstance(value, (Decimal, str)) else 3)


def best_columns(name: str, values: Sequence[object]) -> set[int]:
    """The columns holding the best value of figure ``name`` (none when it has no better
    direction, fewer than two values, or every value is the same)."""
    if name in HIGHER_BETTER:
        sign = 1
    elif name in LOWER_BETTER:
        sign = -1
    else:
        return set()
    numbers = {i: n for i, v in enumerate(values) if (n := as_number(v)) is not None}
    if len(numbers) < 2 or len(set(numbers.values())) < 2:
        return set()
    best = max(n * sign for n in numbers.values())
    return {i for i, n in numbers.items() if n * sign == best}


def short_params(params: dict[str, object], limit: int = 48) -> str:
    """``{"fast": 5, "slow": 20}`` -> ``"fast=5 slow=20"``, cut at ``limit`` characters."""
    text = " ".join(f"{k}={_param_text(v)}" for k, v in params.items())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _param_text(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return '""' if value == "" else str(value)


def run_label(number: int, run: BacktestRun) -> str:
    return f"#{number} {run.strategy}\n{run.symbol} · {short_params(run.params, 28) or 'defaults'}"


class BacktestCompareDialog(QDialog):
    """The comparison of two or more runs (non-modal; ``Copy`` puts it on the clipboard
    as tab-separated text for a spreadsheet)."""

    def __init__(self, comparison: BacktestComparison, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("backtestCompareDialog")
        self.setWindowTitle(f"Compare {len(comparison.runs)} backtest runs")
        self.comparison = comparison
        self.table = QTableWidget(0, len(comparison.runs), self)
        self.table.setObjectName("compareTable")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ContiguousSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self._fill()
        note = QLabel("Best value of each figure in teal. Hover a column for the run.")
        note.setObjectName("subtitleLabel")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = buttons.addButton("Copy", QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.setObjectName("compareCopy")
        self.copy_button.setToolTip("Copy the table as tab-separated text (for a spreadsheet)")
        self.copy_button.clicked.connect(self.copy_to_clipboard)
        buttons.rejected.connect(self.reject)
        self.copy_button.setAutoDefault(False)  # Enter closes; it does not copy
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(note)
        layout.addWidget(buttons)
        width = 220 + 170 * len(comparison.runs)
        self.resize(min(width, 1400), 640)

    # -- building ----------------------------------------------------------------------

    def _fill(self) -> None:
        for column, run in enumerate(self.comparison.runs):
            item = QTableWidgetItem(run_label(column + 1, run))
            item.setToolTip(
                f"run {run.id}\nstarted {fmt_time(run.started_at or run.created_at)} UTC\n"
                f"{run.data_source}\nparameters: {short_params(run.params, 400) or 'none'}"
            )
            self.table.setHorizontalHeaderItem(column, item)
        section = None
        for row in self.comparison.rows:
            if row.section != section:
                section = row.section
                self._add_section(SECTION_TITLES.get(section, section.title()))
            self._add_row(row)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(140)
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)

    def _add_section(self, title: str) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        label = QTableWidgetItem(title.upper())
        label.setForeground(QColor(COLORS["accent"]))
        self.table.setVerticalHeaderItem(row, label)
        cell = QTableWidgetItem("")
        cell.setFlags(Qt.ItemFlag.NoItemFlags)
        cell.setBackground(QColor(COLORS["surface"]))
        self.table.setItem(row, 0, cell)
        if self.table.columnCount() > 1:
            self.table.setSpan(row, 0, 1, self.table.columnCount())

    def _add_row(self, figure: ComparisonRow) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        header = QTableWidgetItem("  " + figure.name.replace("_", " "))
        header.setData(NAME_ROLE, figure.name)
        header.setToolTip(figure.name)
        self.table.setVerticalHeaderItem(row, header)
        best = best_columns(figure.name, figure.values)
        for column, value in enumerate(figure.values):
            item = QTableWidgetItem(fmt_figure(figure.section, figure.name, value))
            numeric = as_number(value) is not None  # numbers right, words left
            align = Qt.AlignmentFlag.AlignRight if numeric else Qt.AlignmentFlag.AlignLeft
            item.setTextAlignment(align | Qt.AlignmentFlag.AlignVCenter)
            if column in best:
                item.setForeground(QColor(COLORS["teal"]))
                font = QFont(item.font())
                font.setBold(True)
                item.setFont(font)
                item.setToolTip("best of the compared runs")
            self.table.setItem(row, column, item)

    # -- reading (tests, clipboard) ----------------------------------------------------

    def row_names(self) -> list[str]:
        """The figures' names (as the service names them), top to bottom."""
        names = []
        for row in range(self.table.rowCount()):
            item = self.table.verticalHeaderItem(row)
            if item is not None and item.data(NAME_ROLE):
                names.append(str(item.data(NAME_ROLE)))
        return names

    def row_of(self, name: str) -> int | None:
        for row in range(self.table.rowCount()):
            item = self.table.verticalHeaderItem(row)
            if item is not None and item.data(NAME_ROLE) == name:
                return row
        return None

    def text(self, name: str, column: int) -> str:
        """The text shown for figure ``name`` of the run in ``column``."""
        row = self.row_of(name)
        if row is None:
            raise KeyError(name)
        item = self.table.item(row, column)
        return "" if item is None else item.text()

    def is_best(self, name: str, column: int) -> bool:
        row = self.row_of(name)
        item = None if row is None else self.table.item(row, column)
        return item is not None and item.font().bold()

    def as_tsv(self) -> str:
        """The whole table as tab-separated text, a header line first."""
        runs = self.comparison.runs
        lines = [
            "\t".join(["figure", *(f"#{i + 1} {r.strategy} {r.id}" for i, r in enumerate(runs))])
        ]
        for row in self.comparison.rows:
            cells = [fmt_figure(row.section, row.name, v) for v in row.values]
            lines.append("\t".join([f"{row.section}.{row.name}", *cells]))
        return "\n".join(lines) + "\n"

    def copy_to_clipboard(self) -> None:
        QGuiApplication.clipboard().setText(self.as_tsv())
