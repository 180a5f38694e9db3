"""The timeline view: a pyqtgraph plot holding one TimelineItem, with a legend of kinds."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ..core.trace import KINDS, Trace
from ..plots.timeline_item import TimelineItem
from ..style import KIND_COLORS


class TimelineWidget(QWidget):
    nodeSelected = Signal(int)  # trace row

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("timeline")
        self.plot = pg.PlotWidget(background="w")
        self.plot.setObjectName("timelinePlot")
        self.item = TimelineItem()
        self.plot.addItem(self.item)
        item = self.plot.getPlotItem()
        item.invertY(True)
        item.hideAxis("left")
        # Grid lines are drawn by the TimelineItem at the axis' major ticks: pyqtgraph's own grid
        # (every tick level, alpha-blended through a QPicture) took 15 ms of each 19 ms repaint.
        self.item.grid_axis = item.getAxis("bottom")
        item.setLabel("bottom", "seconds since the session started")
        item.getViewBox().setMouseEnabled(x=True, y=True)
        item.setMenuEnabled(False)
        self.item.sigSelected.connect(self.nodeSelected)
        self.legend = QHBoxLayout()
        self.legend.setSpacing(12)
        self.caption = QLabel()
        self.caption.setTextFormat(Qt.TextFormat.PlainText)
        header = QHBoxLayout()
        header.addWidget(self.caption)
        header.addStretch(1)
        header.addLayout(self.legend)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(header)
        layout.addWidget(self.plot, 1)
        self._session: str | None = None

    def set_trace(self, trace: Trace | None) -> None:
        same_session = trace is not None and trace.session_id == self._session
        view = self.plot.getPlotItem().getViewBox()
        old_range = view.viewRange()
        following = same_session and self.item.boundingRect().right() <= old_range[0][1] * 1.001
        self.item.set_trace(trace)
        self._session = trace.session_id if trace is not None else None
        self._update_legend(trace)
        if trace is None or not len(trace):
            self.caption.setText("No spans or events in this session." if trace is not None else "Select a session.")
            return
        bounds = self.item.boundingRect()
        lanes = max(trace.lane_count, 1)
        view.setLimits(xMin=-bounds.width() * 0.05, xMax=bounds.width() * 1.5 + 1, yMin=-0.5, yMax=lanes + 0.5)
        if not same_session or following:
            # Frame what happened: a program that spent its first seconds importing would
            # otherwise show its work squeezed at the right edge.
            first, last = float(trace.x0.min()), float(max(trace.x1.max(), trace.x0.max()))
            if last - first < bounds.width() * 0.5:
                pad = max((last - first) * 0.03, 1e-6)
                x_range = (max(0.0, first - pad), last + pad)
            else:
                x_range = (0, bounds.width() * 1.02)
            view.setRange(xRange=x_range, yRange=(0, min(lanes, 40)), padding=0.01)
        else:
            view.setRange(xRange=old_range[0], yRange=old_range[1], padding=0)
        spans = trace.span_count
        self.caption.setText(
            f"{spans:,} spans and {len(trace) - spans:,} events in {lanes} lanes · drag to pan, wheel to zoom"
        )

    def select_row(self, row: int | None) -> None:
        self.item.select(row)
        trace = self.item.trace
        if row is None or trace is None:
            return
        view = self.plot.getPlotItem().getViewBox()
        (x_lo, x_hi), (y_lo, y_hi) = view.viewRange()
        x0, x1, lane = float(trace.x0[row]), float(trace.x1[row]), int(trace.lane[row])
        if x1 < x_lo or x0 > x_hi or not y_lo <= lane <= y_hi:
            width = max(x_hi - x_lo, (x1 - x0) * 1.5)
            height = y_hi - y_lo
            center = (x0 + x1) / 2
            view.setRange(
                xRange=(center - width / 2, center + width / 2),
                yRange=(lane - height / 2, lane + height / 2),
                padding=0,
            )

    def _update_legend(self, trace: Trace | None) -> None:
        while self.legend.count():
            widget = self.legend.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        if trace is None:
            return
        present = {KINDS[int(k)] for k in np.unique(trace.kind)}
        for kind in KINDS:
            if kind in present:
                swatch = QLabel(f"■ {kind}")
                swatch.setTextFormat(Qt.TextFormat.PlainText)
                swatch.setStyleSheet(f"color: {KIND_COLORS[kind]}; font-weight: 600;")
                self.legend.addWidget(swatch)
        for text, color in (("▨ unfinished", "#222222"), ("▭ failed", "#b00020")):
            mark = QLabel(text)
            mark.setTextFormat(Qt.TextFormat.PlainText)
            mark.setStyleSheet(f"color: {color};")
            self.legend.addWidget(mark)
