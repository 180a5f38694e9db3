"""Analytics across the sessions that pass the current filters."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..core.analytics import OUTCOMES, Analytics, Breakdown, Latency
from ..style import OUTCOME_COLORS, format_cost, format_duration

Index = QModelIndex | QPersistentModelIndex


class _TableModel(QAbstractTableModel):
    """Rows of one table of the analytics: ``headers``, and ``values(item)`` for each row
    (the first column left-aligned, the others numbers)."""

    headers: tuple[str, ...] = ()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.items: list = []

    def values(self, item) -> tuple[str, ...]:
        raise NotImplementedError

    def set_items(self, items: list) -> None:
        self.beginResetModel()
        self.items = list(items)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.items)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.headers)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.headers[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.values(self.items[index.row()])[index.column()]
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() >= self.first_number:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    first_number = 1


class BreakdownModel(_TableModel):
    """Rows of a by-tag / by-model / by-agent / by-annotation breakdown."""

    def __init__(self, key_title: str, calls_title: str, parent=None) -> None:
        super().__init__(parent)
        self.headers = (key_title, "Sessions", calls_title, "Failed", "Tokens", "Cost")

    def values(self, b: Breakdown) -> tuple[str, ...]:
        return (b.key, f"{b.sessions:,}", f"{b.calls:,}", f"{b.failed:,}", f"{b.tokens:,}", format_cost(b.cost))


class LatencyModel(_TableModel):
    """Rows of the latency table: p50 and p95 of each model's and each tool's calls."""

    headers = ("Model or tool", "Kind", "Calls", "p50", "p95")
    first_number = 2

    def values(self, e: Latency) -> tuple[str, ...]:
        return (e.name, e.kind, f"{e.calls:,}", format_duration(e.p50), format_duration(e.p95))


# What the over-time chart shows: sessions by end state, or one of the trends.
METRICS = (  # key, in the chooser, above the chart
    ("sessions", "Sessions over time, by end state", "Sessions by end state"),
    ("tokens", "Tokens over time", "Tokens"),
    ("cost", "Cost over time", "Cost (USD)"),
    ("error_rate", "Error rate over time (sessions with an error or that failed)", "Error rate"),
)
CHART_TITLES = {key: title for key, _, title in METRICS}


class DateAxis(pg.AxisItem):
    def tickStrings(self, values, scale, spacing):
        if spacing >= 86400:
            fmt = "%b %d"
        elif spacing >= 3600:
            fmt = "%b %d %H:%M"
        elif spacing >= 60:
            fmt = "%H:%M"
        else:
            fmt = "%H:%M:%S"
        out = []
        for v in values:
            try:
                out.append(datetime.fromtimestamp(v).strftime(fmt))
            except (OverflowError, OSError, ValueError):
                out.append("")
        return out


class DurationAxis(pg.AxisItem):
    """Ticks at log10(seconds), labelled as durations."""

    def tickStrings(self, values, scale, spacing):
        return [format_duration(10**v) for v in values]


def _stat(title: str) -> tuple[QWidget, QLabel]:
    box = QWidget()
    box.setObjectName("statCard")
    box.setStyleSheet("#statCard { background: #f4f6f8; border-radius: 6px; }")
    value = QLabel("-")
    value.setTextFormat(Qt.TextFormat.PlainText)
    font = value.font()
    font.setPointSizeF(font.pointSizeF() * 1.6)
    font.setBold(True)
    value.setFont(font)
    caption = QLabel(title)
    caption.setStyleSheet("color: #555;")
    layout = QVBoxLayout(box)
    layout.setContentsMargins(10, 6, 10, 6)
    layout.addWidget(value)
    layout.addWidget(caption)
    return box, value


class AnalyticsWidget(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("analytics")
        self.analytics: Analytics | None = None
        self.stats: dict[str, QLabel] = {}
        cards = QHBoxLayout()
        for key, title in (
            ("sessions", "sessions"),
            ("events", "spans and events"),
            ("duration", "total duration"),
            ("tokens", "tokens"),
            ("cost", "cost"),
            ("failure", "failure rate"),
        ):
            box, label = _stat(title)
            self.stats[key] = label
            cards.addWidget(box)
        self.scope = QLabel()
        self.scope.setStyleSheet("color: #555;")

        self.time_plot = pg.PlotWidget(background="w", axisItems={"bottom": DateAxis("bottom")})
        self.time_plot.setObjectName("sessionsOverTime")
        self.time_plot.setTitle("Sessions over time, by end state", color="#222")
        self.time_plot.getPlotItem().setMenuEnabled(False)
        self.time_plot.setMouseEnabled(x=True, y=False)
        self.time_legend = self.time_plot.addLegend(offset=(-10, 5), labelTextColor="#222", brush="#ffffffd0")
        self.duration_plot = pg.PlotWidget(background="w", axisItems={"bottom": DurationAxis("bottom")})
        self.duration_plot.setObjectName("durationHistogram")
        self.duration_plot.setTitle("Session durations", color="#222")
        self.duration_plot.getPlotItem().setMenuEnabled(False)
        self.duration_plot.setMouseEnabled(x=False, y=False)

        self.by_tag = BreakdownModel("Tag", "LLM calls", self)
        self.by_model = BreakdownModel("Model", "LLM calls", self)
        self.by_agent = BreakdownModel("Agent", "Agent spans", self)
        self.by_review = BreakdownModel("Annotation", "LLM calls", self)
        self.latency = LatencyModel(self)
        tables = QVBoxLayout()
        for row in (
            (("By tag", self.by_tag, "byTag"), ("By model", self.by_model, "byModel")),
            (("By agent", self.by_agent, "byAgent"), ("By annotation", self.by_review, "byAnnotation")),
            (("Latency by model and tool", self.latency, "latency"),),
        ):
            tabs = QTabWidget()
            for title, model, name in row:
                view = QTableView()
                view.setObjectName(name)
                view.setModel(model)
                view.verticalHeader().setVisible(False)
                view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
                view.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
                tabs.addTab(view, title)
            tables.addWidget(tabs)

        self.metric = QComboBox()
        self.metric.setObjectName("overTimeMetric")
        for key, choice, _ in METRICS:
            self.metric.addItem(choice, key)
        self.metric.currentIndexChanged.connect(lambda _: self.analytics and self._plot_over_time(self.analytics))
        charts = QVBoxLayout()
        charts.addWidget(self.metric)
        charts.addWidget(self.time_plot, 3)
        charts.addWidget(self.duration_plot, 2)
        body = QGridLayout()
        body.addLayout(charts, 0, 0)
        body.addLayout(tables, 0, 1)
        body.setColumnStretch(0, 1)
        body.setColumnStretch(1, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(cards)
        layout.addWidget(self.scope)
        layout.addLayout(body, 1)

    def show_counting(self, sessions: int, listed: bool = False) -> None:
        """A big folder's first read (or, ``listed``, making its sessions from the index) is
        not finished: what is known is shown, the rest waits."""
        for key, label in self.stats.items():
            label.setText(f"{sessions:,}" if key == "sessions" else "…")
        if listed:
            self.scope.setText(f"Opening {sessions:,} sessions from the folder's index: analytics follow.")
            return
        self.scope.setText(
            f"Counting the events, calls, tokens and costs of {sessions:,} sessions: analytics"
            " are shown once every file of the folder is read."
        )

    def show_analytics(self, analytics: Analytics, total_sessions: int) -> None:
        self.analytics = analytics
        a = analytics
        s = self.stats
        s["sessions"].setText(f"{a.sessions:,}")
        s["events"].setText(f"{a.events:,}")
        s["duration"].setText(format_duration(a.duration))
        s["tokens"].setText(f"{a.tokens:,}")
        s["cost"].setText(format_cost(a.cost))
        s["failure"].setText("-" if a.failure_rate is None else f"{a.failure_rate:.0%} ({a.failed} of {a.ended})")
        scope = (
            "all sessions"
            if a.sessions == total_sessions
            else f"the {a.sessions:,} of {total_sessions:,} sessions that pass the filters"
        )
        self.scope.setText(
            f"Across {scope}: {a.llm_calls:,} LLM calls, {a.tool_calls:,} tool calls, {a.errors:,} errors."
        )
        self._plot_over_time(a)
        self._plot_durations(a)
        self.by_tag.set_items(a.by_tag)
        self.by_model.set_items(a.by_model)
        self.by_agent.set_items(a.by_agent)
        self.by_review.set_items(a.by_review)
        self.latency.set_items(a.latency)

    def _plot_over_time(self, a: Analytics) -> None:
        plot = self.time_plot
        plot.clear()
        self.time_legend.clear()
        metric = self.metric.currentData()
        plot.setTitle(CHART_TITLES[metric], color="#222")
        if not a.bin_edges:
            return
        edges = np.array(a.bin_edges)
        centers = (edges[:-1] + edges[1:]) / 2
        width = (edges[1] - edges[0]) * 0.85
        if metric != "sessions":
            self._plot_trend(a, metric, edges, centers, width)
            return
        bottom = np.zeros(len(centers))
        for outcome in OUTCOMES:
            counts = np.array(a.over_time.get(outcome, []), dtype=float)
            if not counts.any():
                continue
            bars = pg.BarGraphItem(
                x=centers, height=counts, y0=bottom, width=width, brush=OUTCOME_COLORS[outcome], pen=None
            )
            plot.addItem(bars)
            self.time_legend.addItem(bars, outcome)
            bottom = bottom + counts
        plot.setXRange(edges[0], edges[-1], padding=0.02)
        plot.setYRange(0, max(bottom.max(), 1) * 1.15, padding=0)
        plot.setLabel("left", "sessions")

    def _plot_trend(self, a: Analytics, metric: str, edges: np.ndarray, centers: np.ndarray, width: float) -> None:
        plot = self.time_plot
        values = a.trends.get(metric, [])
        if metric == "error_rate":  # percent per bin; no line across bins without sessions
            ys = np.array([np.nan if v is None else v * 100 for v in values], dtype=float)
            plot.plot(
                centers,
                ys,
                connect="finite",
                pen=pg.mkPen("#c62828", width=2),
                symbol="o",
                symbolSize=6,
                symbolBrush="#c62828",
                symbolPen=None,
            )
            plot.setYRange(0, 105, padding=0)
            plot.setLabel("left", "% of sessions")
        else:
            heights = np.array([v or 0.0 for v in values], dtype=float)
            color = "#5c6bc0" if metric == "tokens" else "#2e7d32"
            plot.addItem(pg.BarGraphItem(x=centers, height=heights, width=width, brush=color, pen=None))
            plot.setYRange(0, max(float(heights.max()) if len(heights) else 0.0, 1e-9) * 1.15, padding=0)
            plot.setLabel("left", "tokens" if metric == "tokens" else "USD")
        plot.setXRange(edges[0], edges[-1], padding=0.02)

    def _plot_durations(self, a: Analytics) -> None:
        plot = self.duration_plot
        plot.clear()
        if not a.duration_edges:
            return
        logs = np.log10(np.array(a.duration_edges))
        centers = (logs[:-1] + logs[1:]) / 2
        counts = np.array(a.duration_counts, dtype=float)
        plot.addItem(
            pg.BarGraphItem(x=centers, height=counts, width=(logs[1] - logs[0]) * 0.9, brush="#5c6bc0", pen=None)
        )
        plot.setXRange(logs[0], logs[-1], padding=0.02)
        plot.setYRange(0, max(counts.max(), 1) * 1.15, padding=0)
        plot.setLabel("left", "sessions")
