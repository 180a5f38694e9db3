"""The tree of agents, operations, tools and events of one Trace, fetched lazily.

Children are handed to the view in batches (``canFetchMore``/``fetchMore``), so a session
with 100k events under one parent opens at once. A search keeps the matches and their
ancestors (computed by the Qt-free Trace) and hides the rest.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from recorder.query import QueryError

from ..core.trace import Trace, TraceNode
from ..style import KIND_COLORS, STATUS_COLORS, elide, format_duration, plain_tooltip

FETCH_BATCH = 500
COLUMNS = ("Name", "Kind", "Duration", "Status", "Preview")

Index = QModelIndex | QPersistentModelIndex


class EventTreeModel(QAbstractItemModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._trace: Trace | None = None
        self._visible: set[int] | None = None
        self.search_error: str | None = None  # why the search text, a query clause, does not read
        self._kids: dict[int, np.ndarray] = {}  # parent row (-1 = root) -> visible child rows, sorted
        self._fetched: dict[int, int] = {}  # parent row -> children handed to the view

    @property
    def trace(self) -> Trace | None:
        return self._trace

    def set_trace(self, trace: Trace | None, search: str = "") -> None:
        self.beginResetModel()
        self._trace = trace
        self.search_error = None
        try:
            self._visible = trace.visible_rows(search) if trace is not None else None
        except QueryError as exc:
            self._visible, self.search_error = set(), str(exc)  # nothing matches a clause that does not read
        self._kids, self._fetched = {}, {}
        self.endResetModel()

    def matches_nothing(self) -> bool:
        """A search is on and no row matched it."""
        return self._trace is not None and self._visible is not None and not self._visible

    def set_search(self, text: str) -> None:
        self.set_trace(self._trace, text)

    # -------------------------------------------------------------- structure
    def _children(self, parent_row: int) -> list[int]:
        kids = self._kids.get(parent_row)
        if kids is None:
            trace = self._trace
            if trace is None:
                return []
            rows = trace.children(parent_row)
            if self._visible is not None:
                rows = rows[np.fromiter((r in self._visible for r in rows.tolist()), dtype=bool, count=len(rows))]
            kids = self._kids[parent_row] = rows
        return kids

    def _position_of(self, row: int, parent_row: int) -> int | None:
        """Where row is among its parent's (visible) children, which are sorted by row."""
        kids = self._children(parent_row)
        i = int(np.searchsorted(kids, row))
        return i if i < len(kids) and kids[i] == row else None

    @staticmethod
    def _row_of(index: Index) -> int:
        return index.internalId() - 1 if index.isValid() else -1

    def node(self, index: Index) -> TraceNode | None:
        if not index.isValid() or self._trace is None:
            return None
        return self._trace.nodes[self._row_of(index)]

    def index_of_row(self, row: int) -> QModelIndex:
        """The index of a trace row, fetching its ancestors' children as needed;
        invalid if the row is hidden by the search."""
        trace = self._trace
        if trace is None or not 0 <= row < len(trace.nodes):
            return QModelIndex()
        if self._visible is not None and row not in self._visible:
            return QModelIndex()
        chain = []
        r = row
        while r >= 0:
            chain.append(r)
            r = int(trace.parent_row[r])
        parent = QModelIndex()
        parent_row = -1
        for r in reversed(chain):
            pos = self._position_of(r, parent_row)
            if pos is None:
                return QModelIndex()
            while self._fetched.get(parent_row, 0) <= pos:
                self.fetchMore(parent)
            parent = self.index(pos, 0, parent)
            parent_row = r
        return parent

    # -------------------------------------------------------------- Qt API
    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:
        kids = self._children(self._row_of(parent))
        if not 0 <= row < self._fetched.get(self._row_of(parent), 0) or not 0 <= column < len(COLUMNS):
            return QModelIndex()
        return self.createIndex(row, column, int(kids[row]) + 1)

    def parent(self, index: Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]
        if not index.isValid() or self._trace is None:
            return QModelIndex()
        parent_row = int(self._trace.parent_row[self._row_of(index)])
        if parent_row < 0:
            return QModelIndex()
        grandparent = int(self._trace.parent_row[parent_row])
        return self.createIndex(self._position_of(parent_row, grandparent) or 0, 0, parent_row + 1)

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        if parent.column() > 0:
            return 0
        return self._fetched.get(self._row_of(parent), 0)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return len(COLUMNS)

    def hasChildren(self, parent: Index = QModelIndex()) -> bool:
        if parent.column() > 0:
            return False
        return len(self._children(self._row_of(parent))) > 0

    def canFetchMore(self, parent: Index) -> bool:
        if parent.column() > 0:
            return False
        row = self._row_of(parent)
        return self._fetched.get(row, 0) < len(self._children(row))

    def fetchMore(self, parent: Index) -> None:
        row = self._row_of(parent)
        total = len(self._children(row))
        have = self._fetched.get(row, 0)
        more = min(FETCH_BATCH, total - have)
        if more <= 0:
            return
        self.beginInsertRows(parent, have, have + more - 1)
        self._fetched[row] = have + more
        self.endInsertRows()

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(COLUMNS)
        ):
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        node = self.node(index)
        if node is None:
            return None
        column = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            if column == "Name":
                return elide(node.name, 200)
            if column == "Kind":
                return node.kind
            if column == "Duration":
                return (
                    format_duration(node.duration) + ("+" if node.open else "")
                    if node.is_span or node.end > node.start
                    else ""
                )
            if column == "Status":
                return node.status
            if column == "Preview":
                return node.preview()
        if role == Qt.ItemDataRole.DecorationRole and column == "Name":
            return QColor(KIND_COLORS.get(node.kind, KIND_COLORS["other"]))
        if role == Qt.ItemDataRole.ForegroundRole and column == "Status":
            if node.status == "error":
                return QColor(STATUS_COLORS["Fail"])
            if node.open:
                return QColor(STATUS_COLORS["running" if node.status == "running" else "abandoned"])
        if role == Qt.ItemDataRole.ToolTipRole and column in ("Name", "Preview"):
            return plain_tooltip(f"{node.kind} {elide(node.name, 500)}\n{node.preview(500)}")
        return None
