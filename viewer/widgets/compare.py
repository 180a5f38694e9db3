"""Compare two runs: totals side by side, the two trees aligned (added, removed and changed
nodes coloured, unchanged ones hideable), the two timelines stacked on one time axis, and for a
matched LLM call its prompt and completion as a word-level diff. Selecting a node on one side
selects its match on the other."""

from __future__ import annotations

import html

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableView,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from ..core.compare import ADDED, CHANGED, REMOVED, SAME, Pair, align, llm_text, totals, word_diff
from ..core.store import SessionRow
from ..core.trace import Trace
from ..style import KIND_COLORS, elide, format_duration, plain_tooltip
from .timeline import TimelineWidget

CHANGE_COLORS = {ADDED: "#e3f4e5", REMOVED: "#fbe3e3", CHANGED: "#fff4d6", SAME: "#ffffff"}
CHANGE_TEXT = {ADDED: "added", REMOVED: "removed", CHANGED: "changed", SAME: ""}
COLUMNS = ("Node", "Left", "Right", "Change")
Index = QModelIndex | QPersistentModelIndex


class ComparisonModel(QAbstractTableModel):
    """The aligned pairs as rows; with ``hide_unchanged``, only changed nodes and their parents."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.left: Trace | None = None
        self.right: Trace | None = None
        self._all: list[Pair] = []
        self.pairs: list[Pair] = []
        self.hide_unchanged = False

    def set_runs(self, left: Trace, right: Trace) -> None:
        self.beginResetModel()
        self.left, self.right = left, right
        self._all = align(left, right)
        self._apply()
        self.endResetModel()

    def set_hide_unchanged(self, hide: bool) -> None:
        self.beginResetModel()
        self.hide_unchanged = hide
        self._apply()
        self.endResetModel()

    def _apply(self) -> None:
        if not self.hide_unchanged:
            self.pairs = list(self._all)
            return
        keep = [False] * len(self._all)
        for i, pair in enumerate(self._all):  # a change keeps its ancestors (the lines above it of lower depth)
            if pair.change != SAME:
                keep[i] = True
                depth = pair.depth
                for j in range(i - 1, -1, -1):
                    if self._all[j].depth < depth:
                        keep[j] = True
                        depth = self._all[j].depth
                        if depth == 0:
                            break
        self.pairs = [p for p, k in zip(self._all, keep, strict=True) if k]

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.pairs)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def node(self, pair: Pair):
        if pair.left is not None and self.left is not None:
            return self.left.nodes[pair.left]
        assert self.right is not None and pair.right is not None
        return self.right.nodes[pair.right]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or self.left is None or self.right is None:
            return None
        pair = self.pairs[index.row()]
        column = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            if column == "Node":
                node = self.node(pair)
                return "    " * pair.depth + f"{node.kind}  {elide(node.name, 120)}"
            if column == "Left":
                return self._summary(self.left, pair.left)
            if column == "Right":
                return self._summary(self.right, pair.right)
            return "; ".join(pair.reasons) if pair.reasons else CHANGE_TEXT[pair.change]
        if role == Qt.ItemDataRole.BackgroundRole:
            return QColor(CHANGE_COLORS[pair.change])
        if role == Qt.ItemDataRole.DecorationRole and column == "Node":
            return QColor(KIND_COLORS.get(self.node(pair).kind, KIND_COLORS["other"]))
        if role == Qt.ItemDataRole.ToolTipRole and column == "Change" and pair.reasons:
            return plain_tooltip("\n".join(pair.reasons))
        return None

    @staticmethod
    def _summary(trace: Trace, row: int | None) -> str:
        if row is None:
            return "—"
        node = trace.nodes[row]
        return f"{format_duration(node.duration)} · {node.status}"


class CompareWidget(QWidget):
    """``show_runs(left_row, right_row, left_trace, right_trace)`` fills every part."""

    nodeSelected = Signal(object)  # the selected Pair

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("Select two sessions (Ctrl-click) and choose Compare, or right-click a session.")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setWordWrap(True)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.figures = QGridLayout()
        self.figures.setHorizontalSpacing(18)
        self.model = ComparisonModel(self)
        self.table = QTableView()
        self.table.setObjectName("comparison")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(0, 360)
        header.resizeSection(1, 120)
        header.resizeSection(2, 120)
        header.setStretchLastSection(True)
        self.hide_unchanged = QCheckBox("Hide what is unchanged")
        self.hide_unchanged.toggled.connect(self.model.set_hide_unchanged)
        self.left_timeline = TimelineWidget()
        self.right_timeline = TimelineWidget()
        # One time axis (each run from its own start): a step that got slower shows at a glance.
        self.right_timeline.plot.getPlotItem().getViewBox().setXLink(self.left_timeline.plot.getPlotItem().getViewBox())
        self.left_text = QTextEdit()
        self.right_text = QTextEdit()
        for text in (self.left_text, self.right_text):
            text.setReadOnly(True)
            text.setPlaceholderText("Select a matched LLM call to see its prompt and completion side by side.")
        texts = QSplitter(Qt.Orientation.Horizontal)
        texts.addWidget(self.left_text)
        texts.addWidget(self.right_text)
        # The aligned trees above the two timelines (stacked, one time axis) and the text diff.
        body = QSplitter(Qt.Orientation.Vertical)
        body.addWidget(self.table)
        body.addWidget(self.left_timeline)
        body.addWidget(self.right_timeline)
        body.addWidget(texts)
        for index, stretch in enumerate((4, 2, 2, 2)):
            body.setStretchFactor(index, stretch)
        top = QHBoxLayout()
        top.addLayout(self.figures)
        top.addStretch(1)
        top.addWidget(self.hide_unchanged, 0, Qt.AlignmentFlag.AlignBottom)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(top)
        layout.addWidget(body, 1)
        self.table.selectionModel().currentRowChanged.connect(self._pair_selected)
        self.left_timeline.nodeSelected.connect(lambda row: self.select_node("left", row))
        self.right_timeline.nodeSelected.connect(lambda row: self.select_node("right", row))
        self._syncing = False

    def show_runs(self, left: SessionRow, right: SessionRow, left_trace: Trace, right_trace: Trace) -> None:
        self.title.setText(f"{left.name} ({left.id[:8]})  →  {right.name} ({right.id[:8]})")
        while self.figures.count():
            item = self.figures.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        for column, heading in enumerate(("", "left", "right", "difference")):
            self._cell(0, column, heading, bold=True)
        for row, (what, a, b, delta) in enumerate(totals(left, right), start=1):
            for column, text in enumerate((what, a, b, delta)):
                self._cell(row, column, text, bold=column == 0, changed=column == 3 and delta != "=")
        self.model.set_runs(left_trace, right_trace)
        self.left_timeline.set_trace(left_trace)
        self.right_timeline.set_trace(right_trace)
        self._frame_both(left_trace, right_trace)
        self.left_text.clear()
        self.right_text.clear()

    def _frame_both(self, left: Trace, right: Trace) -> None:
        """The shared time axis shows what happened in either run (each from its own start)."""
        present = [t for t in (left, right) if len(t)]
        if not present:
            return
        first = min(float(t.x0.min()) for t in present)
        last = max(float(max(t.x1.max(), t.x0.max())) for t in present)
        pad = max((last - first) * 0.03, 1e-6)
        view = self.left_timeline.plot.getPlotItem().getViewBox()
        view.setXRange(max(0.0, first - pad), last + pad, padding=0)

    def _cell(self, row: int, column: int, text: str, *, bold: bool = False, changed: bool = False) -> None:
        label = QLabel(text)
        label.setTextFormat(Qt.TextFormat.PlainText)
        style = "font-weight: 600;" if bold else ""
        if changed:
            style += "color: #b35c00;"
        label.setStyleSheet(style)
        self.figures.addWidget(label, row, column)

    # -------------------------------------------------------------- selection
    def select_node(self, side: str, row: int) -> None:
        """A node picked on one side: select its line, and its match on the other side."""
        if self._syncing:
            return
        for i, pair in enumerate(self.model.pairs):
            if (pair.left if side == "left" else pair.right) == row:
                self.table.selectRow(i)
                return

    def _pair_selected(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            return
        pair = self.model.pairs[current.row()]
        self._syncing = True
        try:
            self.left_timeline.select_row(pair.left)
            self.right_timeline.select_row(pair.right)
        finally:
            self._syncing = False
        self._show_text(pair)
        self.nodeSelected.emit(pair)

    def _show_text(self, pair: Pair) -> None:
        left, right = self.model.left, self.model.right
        if left is None or right is None or pair.left is None or pair.right is None:
            self.left_text.clear()
            self.right_text.clear()
            return
        a, b = left.nodes[pair.left], right.nodes[pair.right]
        if a.kind != "llm":
            self.left_text.clear()
            self.right_text.clear()
            return
        (pa, ca), (pb, cb) = llm_text(a), llm_text(b)
        model_a, model_b = a.attrs.get("model"), b.attrs.get("model")
        heading_a = f"{model_a}" + (f"  (now {model_b})" if model_a != model_b else "")
        self.left_text.setHtml(_diff_html(heading_a, pa, pb, ca, cb, side="-"))
        self.right_text.setHtml(_diff_html(str(model_b), pa, pb, ca, cb, side="+"))


def _diff_html(heading: str, prompt_a: str, prompt_b: str, completion_a: str, completion_b: str, *, side: str) -> str:
    """One side of the word diff: what both have plain, what only this side has marked.
    Everything from the files is escaped: it is data, never markup."""
    style = {"-": "background:#fbd0d0;text-decoration:line-through;", "+": "background:#c9efcc;"}[side]

    def part(title: str, a: str, b: str) -> str:
        out = [f"<p><b>{html.escape(title)}</b></p><p style='white-space:pre-wrap'>"]
        for op, text in word_diff(a, b):
            if op == "=":
                out.append(html.escape(text))
            elif op == side:
                out.append(f"<span style='{style}'>{html.escape(text)}</span>")
        out.append("</p>")
        return "".join(out)

    return (
        f"<p><b>{html.escape(heading)}</b></p>"
        + part("PROMPT", prompt_a, prompt_b)
        + part("COMPLETION", completion_a, completion_b)
    )
