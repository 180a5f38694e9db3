"""One pyqtgraph GraphicsObject that draws every span and event of a Trace.

x is seconds since the session start, y is the lane (0 at the top). Each paint draws only
what is in view, and merges everything narrower than a pixel in a lane into one pixel-wide
bar per pixel column (level of detail), so the number of rectangles drawn is bounded by the
screen, not by the trace: 100k spans paint as fast as 100.
"""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPainter, QPen, QPolygonF

from ..core.trace import FLAG_FAILED, FLAG_OPEN, FLAG_POINT, KINDS, Trace
from ..style import KIND_COLORS, format_duration, plain_tooltip

BAR_HEIGHT = 0.72  # of a lane
LABEL_MIN_PX = 48  # bars at least this wide get their name written on them
GRID_COLOR = QColor(0, 0, 0, 40)
DENSE_FACTOR = 1  # a lane with more visible nodes than pixel columns (times this) is drawn per column
MAX_LABELS = 400


class TimelineItem(pg.GraphicsObject):
    sigSelected = Signal(int)  # trace row clicked

    def __init__(self) -> None:
        super().__init__()
        self.trace: Trace | None = None
        self.grid_axis = None  # a pyqtgraph AxisItem whose major ticks get grid lines
        self.selected: int | None = None
        self._brushes = [QBrush(QColor(KIND_COLORS.get(k, KIND_COLORS["other"]))) for k in KINDS]
        self._open_brushes = [
            QBrush(QColor(KIND_COLORS.get(k, KIND_COLORS["other"])), Qt.BrushStyle.Dense4Pattern) for k in KINDS
        ]
        self._bounds = QRectF()
        self.last_paint_rects = 0  # rectangles drawn by the last paint (for tests and benchmarks)
        self.last_paint_ms = 0.0  # how long the last paint took (for benchmarks)
        self.dense_lanes: set[int] = set()  # lanes the last paint drew per pixel column
        self.setAcceptHoverEvents(True)

    # -------------------------------------------------------------- data
    def set_trace(self, trace: Trace | None) -> None:
        self.prepareGeometryChange()
        self.trace = trace
        if trace is None or not len(trace):
            self._bounds = QRectF(0, 0, 1, 1)
        else:
            width = max(float(trace.x1.max()), (trace.end - trace.start) / 1e9, 1e-6)
            self._bounds = QRectF(0, 0, width, max(trace.lane_count, 1))
        if self.selected is not None and (trace is None or self.selected >= len(trace)):
            self.selected = None
        self.update()

    def select(self, row: int | None) -> None:
        self.selected = row
        self.update()

    def boundingRect(self) -> QRectF:
        return QRectF(self._bounds)

    # -------------------------------------------------------------- drawing
    def visible_bars(
        self, x_lo: float, x_hi: float, px: float, lanes: range
    ) -> list[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """Per lane: (lane, x0, x1, kind, flags) of the bars to draw after level of detail.

        A lane showing no more nodes than it has pixel columns (times DENSE_FACTOR) is drawn
        node by node, sub-pixel nodes merged per pixel column. A denser lane is drawn per pixel
        column straight from its sorted starts and ends (a few binary searches per column,
        whatever the number of nodes): a column is covered if a node starts in it or one that
        started before reaches into it; it takes that node's kind, and the failed flag if any
        node in it failed. Adjacent columns that look the same become one bar."""
        trace = self.trace
        out = []
        self.dense_lanes = set()  # their bars are pixel columns, not single nodes: no labels
        if trace is None:
            return out
        columns = max(1, int(np.ceil((x_hi - x_lo) / px)))
        for lane in lanes:
            if not 0 <= lane < trace.lane_count:
                continue
            starts, ends = trace.lane_x0[lane], trace.lane_x1[lane]
            hi = int(np.searchsorted(starts, x_hi, side="right"))
            lo = int(np.searchsorted(ends, x_lo, side="left"))
            if hi <= lo:
                continue
            if hi - lo > DENSE_FACTOR * columns:
                out.append((lane, *self._dense_lane(lane, x_lo, px, columns)))
                self.dense_lanes.add(lane)
                continue
            x0, x1 = starts[lo:hi], ends[lo:hi]
            kind, flags = trace.lane_kind[lane][lo:hi], trace.lane_flags[lane][lo:hi]
            narrow = (x1 - x0) < px
            if narrow.sum() > 1:
                cols = np.floor((x0[narrow] - x_lo) / px).astype(np.int64)
                uniq, first = np.unique(cols, return_index=True)
                failed = np.zeros(len(uniq), dtype=np.uint8)
                np.maximum.at(failed, np.searchsorted(uniq, cols), flags[narrow] & FLAG_FAILED)
                m_x0 = x_lo + uniq * px
                m_flags = (flags[narrow][first] & ~np.uint8(FLAG_FAILED)) | failed
                wide = ~narrow
                x0 = np.concatenate([x0[wide], m_x0])
                x1 = np.concatenate([x1[wide], m_x0 + px])
                kind = np.concatenate([kind[wide], kind[narrow][first]])
                flags = np.concatenate([flags[wide], m_flags])
            out.append((lane, x0, x1, kind, flags))
        return out

    def _dense_lane(self, lane: int, x_lo: float, px: float, columns: int) -> tuple[np.ndarray, ...]:
        trace = self.trace
        starts, ends = trace.lane_x0[lane], trace.lane_x1[lane]  # type: ignore[union-attr]
        kinds, flags, failures = trace.lane_kind[lane], trace.lane_flags[lane], trace.lane_failed[lane]  # type: ignore[union-attr]
        edges = x_lo + np.arange(columns + 1) * px
        first = np.searchsorted(starts, edges[:-1], side="left")  # first node starting in the column
        after = np.searchsorted(starts, edges[1:], side="left")  # first node starting after it
        before = np.maximum(first - 1, 0)  # the node that started before the column
        reaches = (first > 0) & (ends[before] > edges[:-1])
        covered = reaches | (after > first)
        rep = np.where(reaches, before, np.minimum(first, len(starts) - 1))
        failed = (failures[after] - failures[first] > 0) | (reaches & (flags[before] & FLAG_FAILED > 0))
        col_flags = (flags[rep] & FLAG_OPEN) | np.where(failed, FLAG_FAILED, 0).astype(np.uint8)
        key = np.where(covered, kinds[rep].astype(np.int32) * 256 + col_flags, -1)
        change = np.flatnonzero(np.diff(key)) + 1
        run_start = np.concatenate([[0], change])
        run_end = np.concatenate([change, [columns]])
        keep = key[run_start] >= 0
        run_start, run_end = run_start[keep], run_end[keep]
        return edges[run_start], edges[run_end], kinds[rep[run_start]], col_flags[run_start].astype(np.uint8)

    def paint(self, p: QPainter, *args) -> None:
        started = time.perf_counter()
        try:
            self._paint(p)
        finally:
            self.last_paint_ms = (time.perf_counter() - started) * 1000

    def _paint(self, p: QPainter) -> None:
        trace = self.trace
        self.last_paint_rects = 0
        if trace is None or not len(trace):
            return
        view = self.viewRect()
        px = self.pixelWidth() or 1e-9
        py = self.pixelHeight() or 1e-9
        if view is None or view.width() <= 0:
            return
        self._paint_grid(p, view, px)
        lanes = range(max(0, int(view.top()) - 1), min(trace.lane_count, int(view.bottom()) + 2))
        bars = self.visible_bars(view.left() - px, view.right() + px, px, lanes)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        no_pen = QPen(Qt.PenStyle.NoPen)
        fail_pen = QPen(QColor("#b00020"), 0)
        fail_pen.setCosmetic(True)
        fail_pen.setWidthF(2.0)
        open_pen = QPen(QColor("#222222"), 0, Qt.PenStyle.DashLine)
        open_pen.setCosmetic(True)
        by_kind: dict[tuple[int, bool], list[QRectF]] = {}
        failed_rects: list[QRectF] = []
        open_rects: list[QRectF] = []
        points: list[tuple[float, float, int]] = []
        top_pad = (1 - BAR_HEIGHT) / 2
        for lane, x0, x1, kind, flags in bars:
            y = lane + top_pad
            for a, b, k, f in zip(x0.tolist(), x1.tolist(), kind.tolist(), flags.tolist(), strict=True):
                if f & FLAG_POINT:
                    points.append((a, lane + 0.5, k))
                    continue
                rect = QRectF(a, y, max(b - a, px), BAR_HEIGHT)
                by_kind.setdefault((k, bool(f & FLAG_OPEN)), []).append(rect)
                if f & FLAG_FAILED:
                    failed_rects.append(rect)
                if f & FLAG_OPEN:
                    open_rects.append(rect)
        p.setPen(no_pen)
        for (k, is_open), rects in by_kind.items():
            p.setBrush(self._open_brushes[k] if is_open else self._brushes[k])
            p.drawRects(rects)
            self.last_paint_rects += len(rects)
        p.setBrush(Qt.BrushStyle.NoBrush)
        if open_rects:
            p.setPen(open_pen)
            p.drawRects(open_rects)
        if failed_rects:
            p.setPen(fail_pen)
            p.drawRects(failed_rects)
        if points:
            self._paint_points(p, points, px, py)
        self._paint_selection(p, px, py)
        self._paint_labels(p, bars, px)

    def _paint_grid(self, p: QPainter, view: QRectF, px: float) -> None:
        """Vertical lines at the bottom axis' major ticks, behind the bars."""
        axis = self.grid_axis
        if axis is None:
            return
        try:
            levels = axis.tickValues(view.left(), view.right(), view.width() / px)
        except Exception:  # an axis in an odd state (zero width): no grid this frame
            return
        if not levels:
            return
        pen = QPen(GRID_COLOR, 0)
        pen.setCosmetic(True)
        p.setPen(pen)
        top, bottom = view.top(), view.bottom()
        p.drawLines([QLineF(x, top, x, bottom) for x in levels[0][1]])

    def _paint_points(self, p: QPainter, points: list[tuple[float, float, int]], px: float, py: float) -> None:
        """Point events as diamonds of a fixed size on screen."""
        w, h = 5 * px, 5 * py
        outline = QPen(QColor("#ffffff"), 0)
        outline.setCosmetic(True)
        p.setPen(outline)
        for x, y, k in points:
            p.setBrush(self._brushes[k])
            p.drawPolygon(QPolygonF([QPointF(x, y - h), QPointF(x + w, y), QPointF(x, y + h), QPointF(x - w, y)]))
        self.last_paint_rects += len(points)

    def _paint_selection(self, p: QPainter, px: float, py: float) -> None:
        trace = self.trace
        row = self.selected
        if trace is None or row is None or not 0 <= row < len(trace):
            return
        lane = int(trace.lane[row])
        x0, x1 = float(trace.x0[row]), float(trace.x1[row])
        pen = QPen(QColor("#000000"), 0)
        pen.setCosmetic(True)
        pen.setWidthF(2.5)
        p.setPen(pen)
        p.setBrush(Qt.BrushStyle.NoBrush)
        if trace.flags[row] & FLAG_POINT:
            p.drawRect(QRectF(x0 - 7 * px, lane + 0.5 - 7 * py, 14 * px, 14 * py))
        else:
            p.drawRect(QRectF(x0 - 2 * px, lane + 0.08, max(x1 - x0, px) + 4 * px, 0.84))

    def _paint_labels(self, p: QPainter, bars, px: float) -> None:
        """Names on bars wide enough to hold them, in screen coordinates (text is not scaled)."""
        trace = self.trace
        if trace is None:
            return
        labels = []
        for lane, x0, x1, _kind, flags in bars:
            if lane in self.dense_lanes:
                continue
            wide = np.nonzero(((x1 - x0) / px >= LABEL_MIN_PX) & ((flags & FLAG_POINT) == 0))[0]
            for i in wide[:MAX_LABELS]:
                labels.append((lane, float(x0[i]), float(x1[i])))
            if len(labels) >= MAX_LABELS:
                break
        if not labels:
            return
        transform = p.transform()
        p.save()
        p.resetTransform()
        p.setPen(QColor("#ffffff"))
        font = p.font()
        font.setPointSizeF(8.5)
        p.setFont(font)
        metrics = p.fontMetrics()
        for lane, a, b in labels:
            row = trace.row_at((a + b) / 2, lane)
            if row is None:
                continue
            rect = transform.mapRect(QRectF(a, lane + 0.14, b - a, BAR_HEIGHT)).adjusted(4, 0, -4, 0)
            if rect.width() < 20:
                continue
            text = metrics.elidedText(trace.nodes[row].name, Qt.TextElideMode.ElideRight, int(rect.width()))
            p.drawText(rect, int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), text)
        p.restore()

    # -------------------------------------------------------------- interaction
    def row_at(self, pos: QPointF) -> int | None:
        if self.trace is None:
            return None
        return self.trace.row_at(pos.x(), int(np.floor(pos.y())), tolerance=4 * (self.pixelWidth() or 0))

    def tooltip_for(self, row: int) -> str:
        node = self.trace.nodes[row]  # type: ignore[union-attr]
        lines = [f"{node.name}", f"kind: {node.kind}", f"status: {node.status}"]
        if node.is_span or node.end > node.start:
            lines.append(f"duration: {format_duration(node.duration)}" + (" (unfinished)" if node.open else ""))
        preview = node.preview(120)
        if preview:
            lines.append(preview)
        return "\n".join(lines)

    def hoverEvent(self, ev) -> None:
        if ev.isExit():
            self.setToolTip("")
            return
        row = self.row_at(ev.pos())
        self.setToolTip(plain_tooltip(self.tooltip_for(row)) if row is not None else "")

    def mouseClickEvent(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        row = self.row_at(ev.pos())
        if row is not None:
            ev.accept()
            self.select(row)
            self.sigSelected.emit(row)
