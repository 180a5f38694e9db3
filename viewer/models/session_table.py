"""The session list: a table model of SessionRows and a proxy that applies a SessionFilter."""

from __future__ import annotations

import time
from datetime import datetime

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor

from ..core.filters import SessionFilter
from ..core.store import SessionRow, StoreUpdate
from ..style import STATUS_COLORS, elide, format_cost, format_duration, plain_tooltip

ROW_ROLE = Qt.ItemDataRole.UserRole

COLUMNS = (
    "Name",
    "Status",
    "Started",
    "Duration",
    "Tags",
    "Review",
    "Events",
    "LLM",
    "Tools",
    "Errors",
    "Tokens",
    "Cost",
)
REVIEW_NAME = "quality"  # the annotation the Review column shows at first (SessionTableModel.review_name)
NUMERIC = {"Duration", "Events", "LLM", "Tools", "Errors", "Tokens", "Cost"}
COUNTED = NUMERIC - {"Duration"}  # shown once a big folder's first read has counted them
NOT_COUNTED = "…"
TAGS_COLUMN = COLUMNS.index("Tags")
DURATION_COLUMN = COLUMNS.index("Duration")

Index = QModelIndex | QPersistentModelIndex


class SessionTableModel(QAbstractTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list[SessionRow] = []
        self._index: dict[str, int] = {}
        # The model keeps its rows sorted itself (a Python sort of 10,000 rows takes ~10 ms);
        # a QSortFilterProxyModel sorting them called data() 184,000 times, 2 s at 10,000 sessions.
        self._sort_column = COLUMNS.index("Started")
        self._sort_order = Qt.SortOrder.DescendingOrder
        self.review_name = REVIEW_NAME  # the annotation the Review column shows

    def set_review_name(self, name: str) -> None:
        """Show another annotation (e.g. ``correct``, ``faithfulness``) in the Review column."""
        self.review_name = name
        column = COLUMNS.index("Review")
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, column, column)
        if self._rows:
            self.dataChanged.emit(self.index(0, column), self.index(len(self._rows) - 1, column))

    def annotation_names(self) -> list[str]:
        """The names of the annotations the sessions carry, most used first."""
        counts: dict[str, int] = {}
        for row in self._rows:
            for name in {a[0] for a in row.annotations}:
                counts[name] = counts.get(name, 0) + 1
        return sorted(counts, key=lambda n: (-counts[n], n))

    # -------------------------------------------------------------- sorting
    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(COLUMNS):
            return
        self._sort_column, self._sort_order = column, order
        self._resort()

    def _sorted(self, rows: list[SessionRow]) -> list[SessionRow]:
        column = COLUMNS[self._sort_column]
        descending = self._sort_order == Qt.SortOrder.DescendingOrder
        if column == "Started":  # the usual order, and the one 100,000 rows arrive in: no call per row
            return sorted(rows, key=lambda r: (r.start or 0, r.id), reverse=descending)
        return sorted(rows, key=lambda r: (_sort_key(r, column, self.review_name), r.id), reverse=descending)

    def _resort(self) -> None:
        """Put the rows in order, moving persistent indexes (the selection) with them."""
        old = self._rows
        new = self._sorted(old)
        if [r.id for r in new] == [r.id for r in old]:
            return
        self.layoutAboutToBeChanged.emit()
        self._rows = new
        self._index = {row.id: i for i, row in enumerate(new)}
        before = self.persistentIndexList()
        after = [
            self.index(self._index[old[p.row()].id], p.column()) if 0 <= p.row() < len(old) else QModelIndex()
            for p in before
        ]
        self.changePersistentIndexList(before, after)
        self.layoutChanged.emit()

    def row_at(self, i: int) -> SessionRow:
        return self._rows[i]

    # -------------------------------------------------------------- updates
    def apply(self, update: StoreUpdate) -> None:
        """Fold a StoreUpdate in: insert, change and remove rows with the proper signals."""
        if update.full:
            self.beginResetModel()
            self._rows = self._sorted(list(update.rows))
            self._index = {row.id: i for i, row in enumerate(self._rows)}
            self.endResetModel()
            return
        self._apply_changes(update)
        self._resort()

    def _apply_changes(self, update: StoreUpdate) -> None:
        if update.removed:
            for sid in update.removed:
                i = self._index.get(sid)
                if i is None:
                    continue
                self.beginRemoveRows(QModelIndex(), i, i)
                del self._rows[i]
                self._index = {row.id: j for j, row in enumerate(self._rows)}
                self.endRemoveRows()
        new = []
        for row in update.rows:
            i = self._index.get(row.id)
            if i is None:
                new.append(row)
            else:
                self._rows[i] = row
                self.dataChanged.emit(self.index(i, 0), self.index(i, len(COLUMNS) - 1))
        if new:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
            for row in new:
                self._index[row.id] = len(self._rows)
                self._rows.append(row)
            self.endInsertRows()

    def tick(self) -> None:
        """Running sessions' durations grow: repaint that column for them."""
        for i, row in enumerate(self._rows):
            if row.status == "running":
                idx = self.index(i, DURATION_COLUMN)
                self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DisplayRole])

    def rows(self) -> list[SessionRow]:
        return list(self._rows)

    def row_for(self, session_id: str) -> int | None:
        return self._index.get(session_id)

    # -------------------------------------------------------------- Qt API
    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(COLUMNS):
            if role == Qt.ItemDataRole.DisplayRole:
                return f"Review: {self.review_name}" if COLUMNS[section] == "Review" else COLUMNS[section]
            if role == Qt.ItemDataRole.TextAlignmentRole and COLUMNS[section] in NUMERIC:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        column = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return _display(row, column, self.review_name)
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.TextAlignmentRole and column in NUMERIC:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and column == "Status":
            return QColor(STATUS_COLORS.get(row.status_text, "#444444"))
        if role == Qt.ItemDataRole.ForegroundRole and column == "Errors" and row.error_count:
            return QColor(STATUS_COLORS["Fail"])
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == "Status" and row.reason:
                return plain_tooltip(f"{row.status_text}: {elide(row.reason)}")
            if column == "Name":
                return plain_tooltip(f"{row.name}\n{row.id}")
            if column in COUNTED and not row.counted:
                return "Counting: shown once every file of the folder is read"
            if column == "Started" and row.start is not None:
                return datetime.fromtimestamp(row.start / 1e9).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
        return None


def _display(row: SessionRow, column: str, review_name: str = REVIEW_NAME) -> str:
    if column == "Name":
        return row.name
    if column == "Status":
        return ("● " if row.status == "running" else "") + row.status_text
    if column == "Started":
        return "-" if row.start is None else datetime.fromtimestamp(row.start / 1e9).strftime("%m-%d %H:%M:%S")
    if column == "Duration":
        return format_duration(row.duration())
    if column == "Tags":
        return ", ".join(row.tags)
    if column == "Review":
        value = row.annotation(review_name)
        return "" if value is None else str(value)
    if column in COUNTED and not row.counted:
        return NOT_COUNTED
    if column == "Events":
        return f"{row.event_count:,}"
    if column == "LLM":
        return f"{row.llm_calls:,}"
    if column == "Tools":
        return f"{row.tool_calls:,}"
    if column == "Errors":
        return f"{row.error_count:,}"
    if column == "Tokens":
        return f"{row.tokens:,}"
    if column == "Cost":
        return format_cost(row.cost)
    return ""


def _sort_key(row: SessionRow, column: str, review_name: str = REVIEW_NAME):
    """Numbers sort as numbers; missing values sort first."""
    if column == "Name":
        return row.name.lower()
    if column == "Status":
        return row.status_text
    if column == "Started":
        return row.start or 0
    if column == "Duration":
        return row.duration(time.time_ns()) or 0.0
    if column == "Tags":
        return ",".join(row.tags)
    if column == "Review":
        return str(row.annotation(review_name) or "")
    if not row.counted:
        return -2.0  # before every counted value, a cost of None (-1) included
    return float(
        {
            "Events": row.event_count,
            "LLM": row.llm_calls,
            "Tools": row.tool_calls,
            "Errors": row.error_count,
            "Tokens": row.tokens,
            "Cost": row.cost if row.cost is not None else -1.0,
        }[column]
    )


class SessionFilterProxy(QSortFilterProxyModel):
    """Shows the rows a SessionFilter accepts; sorting is the source model's."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._filter = SessionFilter()
        self._accepts_all = True  # not self._filter.active, asked once, not once per row
        self.setDynamicSortFilter(True)  # re-filters rows whose data changed

    @property
    def session_filter(self) -> SessionFilter:
        return self._filter

    def set_filter(self, session_filter: SessionFilter) -> None:
        self.beginFilterChange()
        self._filter = session_filter
        self._accepts_all = not session_filter.active
        self.endFilterChange()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sorting is the source model's (see SessionTableModel.sort); this proxy only filters."""
        self.sourceModel().sort(column, order)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        if self._accepts_all:
            return True
        return self._filter.matches(self.sourceModel().row_at(source_row))

    def visible_rows(self) -> list[SessionRow]:
        return [self.index(i, 0).data(ROW_ROLE) for i in range(self.rowCount())]
