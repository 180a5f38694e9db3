"""The session list: a sortable table with search, tag, status and time filters."""

from __future__ import annotations

import time

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMenu,
    QStyle,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from recorder.query import QueryError, looks_like_query, session_query

from ..core.filters import STATE_CHOICES, SessionFilter, all_tags
from ..core.store import SessionRow, StoreUpdate
from ..models.session_table import COLUMNS, ROW_ROLE, TAGS_COLUMN, SessionFilterProxy, SessionTableModel
from .tags import TagChipDelegate

TIME_RANGES = (
    ("Any time", None),
    ("Last hour", 3600),
    ("Last 24 hours", 86400),
    ("Last 7 days", 7 * 86400),
    ("Last 30 days", 30 * 86400),
)


REVIEW_CHOICES = (
    ("good", "labelled good"),
    ("bad", "labelled bad"),
    ("unsure", "unsure"),
    ("unreviewed", "not yet reviewed"),
)
QUICK_LABELS = {"1": "good", "2": "bad", "3": "unsure"}  # keys on the list: annotate the selected session


class SessionListWidget(QWidget):
    sessionSelected = Signal(str)  # session id ("" when none)
    filterChanged = Signal()
    queryChanged = Signal(str)  # a query to evaluate over the sessions' spans and events
    compareRequested = Signal(str, str)  # left (older) and right session ids
    annotateRequested = Signal(str, str, object, str, object)  # session id, name, value, note ("" none), None

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = SessionTableModel(self)
        self.proxy = SessionFilterProxy(self)
        self.proxy.setSourceModel(self.model)

        self.search = QLineEdit()
        self.search.setObjectName("searchBox")
        self.search.setPlaceholderText("Search words, or a query: cost > 0.05 and has(kind = tool and status = error)")
        self._query_ids: dict[str, frozenset[str]] = {}
        self.counting = False  # a big folder's first read is not finished (queries wait for it)
        self.query_error = QLabel()
        self.query_error.setObjectName("queryError")
        self.query_error.setTextFormat(Qt.TextFormat.PlainText)
        self.query_error.setStyleSheet("color: #b00020; font-family: monospace;")
        self.query_error.hide()
        self.search.setClearButtonEnabled(True)

        self.tag_button = QToolButton()
        self.tag_button.setObjectName("tagFilter")
        self.tag_button.setText("Tags")
        self.tag_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.tag_menu = QMenu(self.tag_button)
        self.tag_button.setMenu(self.tag_menu)
        self.match_all = QAction("Match all selected tags", self)  # not the menu's: clear() deletes those
        self.match_all.setCheckable(True)
        self.match_all.toggled.connect(self._filters_changed)
        self.tag_actions: dict[str, QAction] = {}

        self.status_button = QToolButton()
        self.status_button.setObjectName("statusFilter")
        self.status_button.setText("Status")
        self.status_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        status_menu = QMenu(self.status_button)
        self.status_actions: dict[str, QAction] = {}
        for state in STATE_CHOICES:
            action = status_menu.addAction(state)
            action.setCheckable(True)
            action.toggled.connect(self._filters_changed)
            self.status_actions[state] = action
        # Review state by the annotation the Review column shows (keys 1 2 3 n on the list).
        status_menu.addSection("Review (the Review column's annotation)")
        self.review_actions: dict[str, QAction] = {}
        for state, label in REVIEW_CHOICES:
            action = status_menu.addAction(label)
            action.setCheckable(True)
            action.toggled.connect(self._filters_changed)
            self.review_actions[state] = action
        self.status_button.setMenu(status_menu)

        self.time_combo = QComboBox()
        self.time_combo.setObjectName("timeFilter")
        for label, seconds in TIME_RANGES:
            self.time_combo.addItem(label, seconds)
        self.time_combo.currentIndexChanged.connect(self._filters_changed)

        self.count = QLabel()
        self.count.setObjectName("sessionCount")

        self.table = QTableView()
        self.table.setObjectName("sessionList")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(COLUMNS.index("Started"), Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)  # Ctrl-click two to compare
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        for key, label in QUICK_LABELS.items():
            shortcut = QShortcut(QKeySequence(key), self.table, context=Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(lambda label=label: self.review_current(label))
        note = QShortcut(QKeySequence("N"), self.table, context=Qt.ShortcutContext.WidgetShortcut)
        note.activated.connect(self.ask_note)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.setWordWrap(False)
        self.table.setItemDelegateForColumn(TAGS_COLUMN, TagChipDelegate(self.table))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in {
            "Name": 210,
            "Status": 96,
            "Started": 118,
            "Duration": 64,
            "Tags": 190,
            "Tokens": 64,
            "Cost": 64,
        }.items():
            header.resizeSection(COLUMNS.index(column), width)
        for column in ("Events", "LLM", "Tools", "Errors"):
            header.resizeSection(COLUMNS.index(column), 50)
        header.setStretchLastSection(False)
        self._fit_review_header()
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)

        bar = QHBoxLayout()
        bar.addWidget(self.search, 1)
        bar.addWidget(self.tag_button)
        bar.addWidget(self.status_button)
        bar.addWidget(self.time_combo)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.query_error)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.count)

        self._search_debounce = QTimer(self)
        self._search_debounce.setSingleShot(True)
        self._search_debounce.setInterval(120)
        self._search_debounce.timeout.connect(self._filters_changed)
        self.search.textChanged.connect(self._search_debounce.start)
        self._ticker = QTimer(self)  # running sessions' durations grow
        self._ticker.setInterval(1000)
        self._ticker.timeout.connect(self.model.tick)
        self._ticker.start()
        self._update_count()

    # -------------------------------------------------------------- data
    def apply(self, update: StoreUpdate) -> None:
        current = self.current_id()
        self.model.apply(update)
        self._refresh_tags()
        if current and self.current_id() != current:
            self.select(current)
        self._update_count()

    def _refresh_tags(self) -> None:
        tags = all_tags(self.model.rows())
        if [t for t, _ in tags] == list(self.tag_actions) and all(
            self.tag_actions[t].text() == f"{t} ({n})" for t, n in tags
        ):
            return
        checked = {t for t, a in self.tag_actions.items() if a.isChecked()}
        self.tag_menu.clear()
        self.tag_menu.addAction(self.match_all)
        clear = self.tag_menu.addAction("Clear tag filter")
        clear.triggered.connect(self.clear_tags)
        self.tag_menu.addSeparator()
        self.tag_actions = {}
        for tag, count in tags:
            action = QAction(f"{tag} ({count})", self.tag_menu)
            action.setCheckable(True)
            action.setChecked(tag in checked)
            action.toggled.connect(self._filters_changed)
            self.tag_menu.addAction(action)
            self.tag_actions[tag] = action

    # -------------------------------------------------------------- filters
    def current_filter(self) -> SessionFilter:
        seconds = self.time_combo.currentData()
        text = self.search.text()
        query = looks_like_query(text)
        return SessionFilter(
            text="" if query else text,
            query_ids=(self._query_ids.get(text, frozenset()) if query else None),
            tags=frozenset(t for t, a in self.tag_actions.items() if a.isChecked()),
            match_all_tags=self.match_all.isChecked(),
            states=frozenset(s for s, a in self.status_actions.items() if a.isChecked()),
            reviews=frozenset(s for s, a in self.review_actions.items() if a.isChecked()),
            review_name=self.model.review_name,
            since_ns=None if seconds is None else time.time_ns() - int(seconds * 1e9),
        )

    def set_tags(self, tags: set[str] | list[str], *, match_all: bool = False) -> None:
        """Check exactly these tags in the tag filter (for automation and tests)."""
        self.match_all.setChecked(match_all)
        for tag, action in self.tag_actions.items():
            action.setChecked(tag in tags)
        self._filters_changed()

    def set_states(self, states: set[str] | list[str]) -> None:
        for state, action in self.status_actions.items():
            action.setChecked(state in states)
        self._filters_changed()

    def clear_tags(self) -> None:
        self.set_tags([])

    def set_query_result(self, query: str, ids: frozenset[str]) -> None:
        """The sessions a query matched (evaluated by the worker over spans and events)."""
        self._query_ids = {query: ids}
        if self.search.text() == query:
            self._filters_changed()

    def _filters_changed(self) -> None:
        text = self.search.text()
        if looks_like_query(text):
            try:
                session_query(text)
            except QueryError as exc:
                self.query_error.setText(str(exc))
                self.query_error.show()
                return  # the list stays as it was until the query reads
            self.query_error.hide()
            if text not in self._query_ids:
                self.queryChanged.emit(text)  # the worker answers with set_query_result
        else:
            self.query_error.hide()
        f = self.current_filter()
        self.proxy.set_filter(f)
        self.tag_button.setText(f"Tags ({len(f.tags)})" if f.tags else "Tags")
        chosen = len(f.states) + len(f.reviews)
        self.status_button.setText(f"Status ({chosen})" if chosen else "Status")
        self._update_count()
        self.filterChanged.emit()

    def set_counting(self, counting: bool) -> None:
        self.counting = counting
        self._update_count()

    def _update_count(self) -> None:
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        text = self.search.text()
        if self.counting and looks_like_query(text) and text not in self._query_ids:
            self.count.setText(f"{total:,} sessions · the query is answered once every file is counted")
            return
        self.count.setText(f"{shown:,} of {total:,} sessions" if shown != total else f"{total:,} sessions")

    def _fit_review_header(self) -> None:
        """The Review column at least as wide as its header ("Review: quality"), which says
        which annotation it shows: narrower, the header was cut on both sides."""
        header = self.table.horizontalHeader()
        column = COLUMNS.index("Review")
        text = str(self.model.headerData(column, Qt.Orientation.Horizontal))
        style = header.style()
        margins = 2 * style.pixelMetric(QStyle.PixelMetric.PM_HeaderMargin)
        arrow = style.pixelMetric(QStyle.PixelMetric.PM_HeaderMarkSize)  # when sorted by it
        wanted = header.fontMetrics().horizontalAdvance(text) + margins + arrow
        if header.sectionSize(column) < wanted:
            header.resizeSection(column, wanted)

    def visible_rows(self) -> list[SessionRow]:
        return self.proxy.visible_rows()

    # -------------------------------------------------------------- review
    def set_review_name(self, name: str) -> None:
        """Which annotation the Review column, its filter and the keys 1 2 3 n are about."""
        self.model.set_review_name(name)
        self._fit_review_header()
        self._filters_changed()

    def review_current(self, label: str, note: str = "") -> None:
        """Label the selected session (keys 1 good, 2 bad, 3 unsure) and move to the next, so a
        reviewer goes through the list with the keyboard."""
        row = self.current_row()
        if row is None:
            return
        self.annotateRequested.emit(row.id, self.model.review_name, label, note, None)
        index = self.table.currentIndex()
        below = index.sibling(index.row() + 1, 0)
        if below.isValid():
            self.table.setCurrentIndex(below)

    def ask_note(self) -> None:
        """Key n: a note on the selected session's review (its label stays, or becomes unsure)."""
        row = self.current_row()
        if row is None:
            return
        text, ok = QInputDialog.getText(self, "Note", f"A note on “{row.name}”:")
        if ok and text.strip():
            label = row.annotation(self.model.review_name)
            self.annotateRequested.emit(
                row.id, self.model.review_name, label if label is not None else "unsure", text.strip(), None
            )

    # -------------------------------------------------------------- compare
    def selected_rows(self) -> list[SessionRow]:
        """The selected sessions (Ctrl-click selects several), oldest first."""
        rows = [i.data(ROW_ROLE) for i in self.table.selectionModel().selectedRows()]
        return sorted((r for r in rows if r is not None), key=lambda r: (r.start or 0, r.id))

    def compare_candidates(self, row: SessionRow) -> list[tuple[str, SessionRow]]:
        """What a session can be compared with: the other selected session, the previous
        session with its name, the last successful one with its name."""
        out: list[tuple[str, SessionRow]] = []
        selected = [r for r in self.selected_rows() if r.id != row.id]
        if len(selected) == 1:
            out.append((f"Compare with the selected “{selected[0].name}”", selected[0]))
        same_name = [r for r in self.model.rows() if r.name == row.name and r.id != row.id]
        earlier = [r for r in same_name if (r.start or 0) < (row.start or 0)]
        if earlier:
            out.append(("Compare with the previous session of this name", max(earlier, key=lambda r: r.start or 0)))
        succeeded = [r for r in same_name if r.status_text == "Success"]
        if succeeded:
            out.append(
                ("Compare with the last successful session of this name", max(succeeded, key=lambda r: r.start or 0))
            )
        return out

    def _context_menu(self, position) -> None:
        row = self.table.indexAt(position).data(ROW_ROLE)
        if row is None:
            return
        menu = QMenu(self)
        for label, other in self.compare_candidates(row):
            older, newer = sorted((row, other), key=lambda r: (r.start or 0, r.id))
            action = menu.addAction(label)
            action.triggered.connect(lambda _=False, a=older.id, b=newer.id: self.compareRequested.emit(a, b))
        if menu.isEmpty():
            menu.addAction("Nothing to compare with: select a second session (Ctrl-click)").setEnabled(False)
        menu.exec(self.table.viewport().mapToGlobal(position))

    # -------------------------------------------------------------- selection
    def current_id(self) -> str | None:
        row = self.table.currentIndex().data(ROW_ROLE)
        return row.id if row is not None else None

    def current_row(self) -> SessionRow | None:
        return self.table.currentIndex().data(ROW_ROLE)

    def select(self, session_id: str) -> bool:
        source_row = self.model.row_for(session_id)
        if source_row is None:
            return False
        index = self.proxy.mapFromSource(self.model.index(source_row, 0))
        if not index.isValid():
            return False
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        )
        self.table.scrollTo(index)
        return True

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        row = current.data(ROW_ROLE)
        self.sessionSelected.emit(row.id if row is not None else "")
