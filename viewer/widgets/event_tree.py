"""The tree view: agents, operations, tools and events as a hierarchy, with a search box."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from ..core.trace import Trace
from ..models.event_tree import EventTreeModel

EXPAND_ON_OPEN = 400  # nodes of a new trace expanded at once (more stay collapsed)


class EventTreeWidget(QWidget):
    nodeSelected = Signal(int)  # trace row
    annotateRequested = Signal(object, object, str)  # node id, value, note ("" none): keys 1 2 3 n

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.search = QLineEdit()
        self.search.setObjectName("treeSearch")
        self.search.setPlaceholderText("Search spans and events, or a clause: kind = llm and tokens > 4000")
        self.search_error = QLabel()
        self.search_error.setObjectName("treeSearchError")
        self.search_error.setTextFormat(Qt.TextFormat.PlainText)
        self.search_error.setStyleSheet("color: #b00020; font-family: monospace;")
        self.search_error.hide()
        self.search.setClearButtonEnabled(True)
        self.model = EventTreeModel(self)
        self.view = QTreeView()
        self.view.setObjectName("eventTree")
        self.view.setModel(self.model)
        self.view.setUniformRowHeights(True)
        self.view.setAlternatingRowColors(True)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.view.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(0, 300)
        for column, width in ((1, 80), (2, 80), (3, 80)):
            header.resizeSection(column, width)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.search)
        layout.addWidget(self.search_error)
        layout.addWidget(self.view, 1)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(150)
        self._debounce.timeout.connect(self._apply_search)
        self.search.textChanged.connect(self._debounce.start)
        self.view.selectionModel().currentRowChanged.connect(self._current_changed)
        for key, label in (("1", "good"), ("2", "bad"), ("3", "unsure")):
            shortcut = QShortcut(QKeySequence(key), self.view, context=Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(lambda label=label: self._review(label))
        note = QShortcut(QKeySequence("N"), self.view, context=Qt.ShortcutContext.WidgetShortcut)
        note.activated.connect(self._ask_note)
        self._session: str | None = None
        self._quiet = False

    def set_trace(self, trace: Trace | None) -> None:
        same = trace is not None and trace.session_id == self._session
        selected = self.selected_row() if same else None
        self._session = trace.session_id if trace is not None else None
        self._quiet = True
        try:
            self.model.set_trace(trace, self.search.text())
            self._show_search_error()
            self._expand_first()
            if selected is not None:
                self.select_row(selected)
        finally:
            self._quiet = False

    def _expand_first(self) -> None:
        """Expand from the top until EXPAND_ON_OPEN nodes are shown."""
        budget = EXPAND_ON_OPEN
        queue = [QModelIndex()]
        while queue and budget > 0:
            parent = queue.pop(0)
            while self.model.canFetchMore(parent) and self.model.rowCount(parent) < budget:
                self.model.fetchMore(parent)
            for i in range(self.model.rowCount(parent)):
                child = self.model.index(i, 0, parent)
                if self.model.hasChildren(child):
                    self.view.expand(child)
                    queue.append(child)
                budget -= 1

    def _show_search_error(self) -> None:
        """Why the search does not read, or that nothing matches it (an empty tree says neither)."""
        error = self.model.search_error
        nothing = error is None and self.model.matches_nothing()
        self.search_error.setStyleSheet(f"color: {'#b00020' if error else '#666666'}; font-family: monospace;")
        self.search_error.setText(error or ("No span or event matches." if nothing else ""))
        self.search_error.setVisible(error is not None or nothing)

    def _apply_search(self) -> None:
        selected = self.selected_row()
        self._quiet = True
        try:
            self.model.set_search(self.search.text())
            self._show_search_error()
            self._expand_first() if not self.search.text().strip() else self.view.expandAll()
            if selected is not None:
                self.select_row(selected)
        finally:
            self._quiet = False

    def _review(self, label: str, note: str = "") -> None:
        node = self.model.node(self.view.currentIndex())
        if node is not None:
            self.annotateRequested.emit(node.id, label, note)

    def _ask_note(self) -> None:
        node = self.model.node(self.view.currentIndex())
        if node is None:
            return
        text, ok = QInputDialog.getText(self, "Note", f"A note on {node.kind} “{node.name}”:")
        if ok and text.strip():
            current = [a[1] for a in node.trace.annotations.get(node.id, []) if a[0] == "quality"]
            self.annotateRequested.emit(node.id, current[-1] if current else "unsure", text.strip())

    def selected_row(self) -> int | None:
        node = self.model.node(self.view.currentIndex())
        return node.row if node is not None else None

    def select_row(self, row: int | None) -> None:
        """Select a trace row (from the timeline) without echoing it back."""
        if row is None:
            return
        index = self.model.index_of_row(row)
        if not index.isValid():
            return
        self._quiet = True
        try:
            self.view.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
            )
            self.view.scrollTo(index)
        finally:
            self._quiet = False

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        node = self.model.node(current)
        if node is not None and not self._quiet:
            self.nodeSelected.emit(node.row)
