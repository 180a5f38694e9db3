"""The main window: session list on the left; details, trace (timeline, tree, event) and
analytics on the right; problems in a dock; loading in a worker thread."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import QSettings, QStringListModel, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QInputDialog,
    QLabel,
    QListView,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTabWidget,
)

from recorder.prune import PrunePlan

from .core.analytics import Analytics
from .core.store import StoreUpdate
from .core.trace import Trace
from .widgets.analytics import AnalyticsWidget
from .widgets.compare import CompareWidget
from .widgets.event_detail import EventDetailWidget
from .widgets.event_tree import EventTreeWidget
from .widgets.session_details import SessionDetailsWidget
from .widgets.session_list import SessionListWidget
from .widgets.timeline import TimelineWidget
from .workers import WorkerThread

MAX_RECENT = 10
VIEW_TABS = {"details": 0, "timeline": 1, "tree": 1, "analytics": 2, "compare": 3}


class MainWindow(QMainWindow):
    """``MainWindow(folder)`` opens a folder (or a list of folders and files) and watches it."""

    loadFinished = Signal()  # the first read of the opened paths is done
    traceShown = Signal(str)  # the selected session's trace is on screen
    analyticsShown = Signal()
    compareShown = Signal()

    def __init__(self, paths: str | Path | Iterable[str | Path], *, settings: QSettings | None = None) -> None:
        super().__init__()
        self.settings = settings if settings is not None else QSettings("sessiontrail", "viewer")
        self.setWindowTitle("sessiontrail")
        self.setAcceptDrops(True)
        self.paths: list[Path] = []
        self.trace: Trace | None = None
        self.loaded = False
        self.counting = False  # a big folder opened cold is shown while its totals are counted
        self._selected_node: int | None = None
        self._session_id: str | None = None

        self.session_list = SessionListWidget()
        self.details = SessionDetailsWidget()
        self.timeline = TimelineWidget()
        self.tree = EventTreeWidget()
        self.event_detail = EventDetailWidget()
        self.analytics = AnalyticsWidget()
        self.compare = CompareWidget()

        lower = QSplitter(Qt.Orientation.Horizontal)
        lower.addWidget(self.tree)
        lower.addWidget(self.event_detail)
        lower.setSizes([620, 420])
        trace = QSplitter(Qt.Orientation.Vertical)
        trace.setObjectName("trace")
        trace.addWidget(self.timeline)
        trace.addWidget(lower)
        trace.setSizes([420, 480])
        self.tabs = QTabWidget()
        self.tabs.setObjectName("views")
        self.tabs.addTab(self.details, "Details")
        self.tabs.addTab(trace, "Timeline && Tree")
        self.tabs.addTab(self.analytics, "Analytics")
        self.tabs.addTab(self.compare, "Compare")
        main = QSplitter(Qt.Orientation.Horizontal)
        main.addWidget(self.session_list)
        main.addWidget(self.tabs)
        main.setSizes([760, 920])
        self.setCentralWidget(main)

        self.problems_model = QStringListModel(self)
        problems_view = QListView()
        problems_view.setObjectName("problems")
        problems_view.setModel(self.problems_model)
        problems_view.setWordWrap(True)
        self.problems_dock = QDockWidget("Problems with files", self)
        self.problems_dock.setObjectName("problemsDock")
        self.problems_dock.setWidget(problems_view)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.problems_dock)
        self.problems_dock.hide()

        self.status_label = QLabel()
        self.status_label.setObjectName("statusText")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(200)
        self.progress.hide()
        self.problems_button = QPushButton()
        self.problems_button.setObjectName("problemsButton")
        self.problems_button.setFlat(True)
        self.problems_button.clicked.connect(lambda: self.problems_dock.setVisible(not self.problems_dock.isVisible()))
        self.problems_button.hide()
        self.statusBar().addWidget(self.status_label, 1)
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().addPermanentWidget(self.problems_button)

        self.prune_dialog: QMessageBox | None = None  # the confirmation, while it is open
        self._build_menus()

        self.worker = WorkerThread(self)
        w = self.worker.worker
        w.updated.connect(self._on_update)
        w.traced.connect(self._on_trace)
        w.hostInfo.connect(self._on_host)
        w.progress.connect(self._on_progress)
        w.loaded.connect(self._on_loaded)
        w.analyzed.connect(self._on_analytics)
        w.queried.connect(self.session_list.set_query_result)
        w.compared.connect(self._on_compared)
        self.session_list.compareRequested.connect(self.compare_sessions)
        self.session_list.annotateRequested.connect(self.worker.requestAnnotate.emit)
        self.tree.annotateRequested.connect(
            lambda node_id, value, note: (
                self._session_id and self.worker.requestAnnotate.emit(self._session_id, "quality", value, note, node_id)
            )
        )
        w.prunePlanned.connect(self._confirm_prune)
        w.pruned.connect(self._on_pruned)
        self.session_list.sessionSelected.connect(self._on_session_selected)
        self.session_list.filterChanged.connect(self._request_analytics)
        self.session_list.queryChanged.connect(self.worker.requestQuery.emit)
        self.tree.nodeSelected.connect(self._on_tree_node)
        self.timeline.nodeSelected.connect(self._on_timeline_node)
        self._analytics_stale = True  # sessions or filters changed since analytics were computed
        self.tabs.currentChanged.connect(self._on_tab)
        self._analytics_debounce = QTimer(self)
        self._analytics_debounce.setSingleShot(True)
        self._analytics_debounce.setInterval(200)
        self._analytics_debounce.timeout.connect(
            lambda: self.worker.requestAnalytics.emit(self.session_list.current_filter())
        )

        if isinstance(paths, (str, Path)):
            paths = [paths]
        self.open_paths(list(paths))

    # -------------------------------------------------------------- menus
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        open_folder = QAction("Open &Folder…", self)
        open_folder.setShortcut(QKeySequence.StandardKey.Open)
        open_folder.triggered.connect(self._choose_folder)
        file_menu.addAction(open_folder)
        open_files = QAction("Open F&iles…", self)
        open_files.triggered.connect(self._choose_files)
        file_menu.addAction(open_files)
        self.recent_menu = file_menu.addMenu("&Recent Folders")
        file_menu.addSeparator()
        prune_action = QAction("&Remove Old Sessions…", self)
        prune_action.triggered.connect(self.ask_prune)
        file_menu.addAction(prune_action)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        view_menu = self.menuBar().addMenu("&View")
        view_menu.addAction(self.problems_dock.toggleViewAction())
        self.review_menu = view_menu.addMenu("&Review Column")
        self.review_menu.aboutToShow.connect(self._fill_review_menu)
        self._refresh_recent()

    def _fill_review_menu(self) -> None:
        """The annotation names in use (and quality), the one shown checked."""
        self.review_menu.clear()
        model = self.session_list.model
        for name in dict.fromkeys(["quality", *model.annotation_names()]):
            action = self.review_menu.addAction(name)
            action.setCheckable(True)
            action.setChecked(name == model.review_name)
            action.triggered.connect(lambda _=False, n=name: self.session_list.set_review_name(n))

    # -------------------------------------------------------------- compare
    def compare_sessions(self, left_id: str, right_id: str) -> None:
        """Open the Compare view on two sessions (the worker builds both traces)."""
        self.worker.requestCompare.emit(left_id, right_id)

    def _on_compared(self, left, right, left_trace, right_trace) -> None:
        if left is None or right is None or left_trace is None or right_trace is None:
            self.statusBar().showMessage("Those sessions are gone; nothing to compare", 10_000)
            return
        self.compare.show_runs(left, right, left_trace, right_trace)
        self.show_view("compare")
        self.compareShown.emit()

    # -------------------------------------------------------------- retention
    def ask_prune(self, days: int | None = None) -> None:
        """File > Remove Old Sessions: how old (days), then the worker plans and we confirm."""
        if days is None:
            days, ok = QInputDialog.getInt(
                self,
                "Remove old sessions",
                "Remove the files of sessions over more than this many days ago:",
                90,
                1,
                36500,
            )
            if not ok:
                return
        if self.counting:  # the worker plans it once every file is read: say so meanwhile
            self.statusBar().showMessage(
                "Old sessions: what to remove is shown once every file of the folder is counted", 10_000
            )
        self.worker.requestPrunePlan.emit(days * 86400.0)

    def _confirm_prune(self, plan: PrunePlan) -> None:
        if not plan.files:
            QMessageBox.information(self, "Remove old sessions", "No session is that old: nothing to remove.")
            return

        def count(n: int, word: str) -> str:
            return f"{n:,} {word}{'' if n == 1 else 's'}"

        kept = f"\n{count(plan.kept_whole, 'older session')} stay: they share files with newer ones."
        text = (
            f"Remove {count(len(plan.files), 'file')} holding {count(len(plan.sessions), 'session')} "
            f"({plan.size / 1e6:.1f} MB)? This cannot be undone.{kept if plan.kept_whole else ''}"
        )
        box = QMessageBox(QMessageBox.Icon.Warning, "Remove old sessions", text, parent=self)
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setStandardButtons(QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        self.prune_dialog = box
        box.finished.connect(
            lambda result: self.worker.requestPrune.emit(plan) if result == QMessageBox.StandardButton.Ok else None
        )
        box.open()

    def _on_pruned(self, freed: int, failures: list) -> None:
        self.prune_dialog = None
        message = f"Removed old sessions: {freed / 1e6:.1f} MB freed"
        if failures:
            message += f"; {len(failures)} files could not be removed"
        self.statusBar().showMessage(message, 10_000)

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Open a folder of session files", str(self.paths[0] if self.paths else Path.home())
        )
        if folder:
            self.open_paths([folder])

    def _choose_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self, "Open session files", "", "Session files (*.trail);;All files (*)"
        )
        if files:
            self.open_paths(files)

    def recent_folders(self) -> list[str]:
        value = self.settings.value("recentFolders", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def _remember(self, paths: list[Path]) -> None:
        if len(paths) != 1 or not paths[0].is_dir():
            return
        folder = str(paths[0].resolve())
        recent = [folder] + [f for f in self.recent_folders() if f != folder]
        self.settings.setValue("recentFolders", recent[:MAX_RECENT])
        self._refresh_recent()

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.recent_folders()
        for folder in recent:
            action = self.recent_menu.addAction(folder)
            action.triggered.connect(lambda _=False, f=folder: self.open_paths([f]))
        self.recent_menu.setEnabled(bool(recent))

    # -------------------------------------------------------------- drag and drop
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_paths(paths)

    # -------------------------------------------------------------- opening
    def open_paths(self, paths: Iterable[str | Path]) -> None:
        """Show these folders and files instead of the current ones (read in the worker)."""
        self.paths = [Path(p) for p in paths]
        self.loaded = False
        self._session_id = None
        self._selected_node = None
        self.setWindowTitle("sessiontrail: " + ", ".join(str(p) for p in self.paths))
        self.status_label.setText("Reading " + ", ".join(str(p) for p in self.paths) + "…")
        self.progress.setRange(0, 0)
        self.progress.show()
        self._remember(self.paths)
        self.worker.requestOpen.emit([str(p) for p in self.paths])

    # -------------------------------------------------------------- worker results
    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def _on_loaded(self) -> None:
        self.loaded = True
        self.progress.hide()
        self.loadFinished.emit()

    def _on_update(self, update: StoreUpdate) -> None:
        self.session_list.apply(update)
        current = self.session_list.current_row()
        if current is not None and any(r.id == current.id for r in update.rows):
            self.details.show_row(current)
        elif current is None and self._session_id in update.removed:
            self._clear_session()
        self._show_problems(update)
        total = self.session_list.model.rowCount()
        running = sum(1 for r in self.session_list.model.rows() if r.status == "running")
        where = ", ".join(str(p) for p in self.paths)
        if update.listed:
            what = "opening (listed from the index)"
        elif update.counting:
            what = "counting events, calls, tokens and costs (shown as … until every file is read)"
        else:
            what = "watching for changes"
        self.status_label.setText(f"{total:,} sessions ({running} running) in {where} · {what}")
        self.counting = update.counting
        self.session_list.set_counting(update.counting)
        if update.counting:  # the preview: once it is on screen, the worker goes on counting
            self.analytics.show_counting(total, update.listed)
            QTimer.singleShot(0, self.worker.requestResume.emit)
        self._request_analytics()

    def _show_problems(self, update: StoreUpdate) -> None:
        lines = [str(p) for p in update.problems]
        if lines != self.problems_model.stringList():
            self.problems_model.setStringList(lines)
        if lines:
            self.problems_button.setText(f"⚠ {len(lines)} problem{'s' if len(lines) != 1 else ''} with files")
            self.problems_button.setToolTip("Show what is wrong with which file")
            self.problems_button.show()
        else:
            self.problems_button.hide()

    def _request_analytics(self) -> None:
        """Analytics follow the sessions and the filters while they are in view; otherwise
        they are computed when their tab is shown (over 100,000 sessions a computation takes
        the worker half a second, which it would otherwise spend after every change)."""
        if self.tabs.currentWidget() is self.analytics:
            self._analytics_debounce.start()
        else:
            self._analytics_stale = True

    def _on_tab(self, index: int) -> None:
        if self.tabs.widget(index) is self.analytics and self._analytics_stale:
            self._analytics_stale = False
            self._analytics_debounce.start()

    def _on_analytics(self, analytics: Analytics, total: int) -> None:
        self.analytics.show_analytics(analytics, total)
        self.analyticsShown.emit()

    def _on_session_selected(self, session_id: str) -> None:
        if session_id == self._session_id:
            return
        self._session_id = session_id or None
        self._selected_node = None
        self.details.show_row(self.session_list.current_row())
        self.event_detail.show_node(None)
        self.worker.requestSelect.emit(session_id)  # "" tells the worker to stop following one
        if not session_id:
            self._clear_session()

    def _clear_session(self) -> None:
        self._session_id = None
        self.trace = None
        self.details.show_row(None)
        self.details.show_host(None)
        self.timeline.set_trace(None)
        self.tree.set_trace(None)
        self.event_detail.show_node(None)

    def _on_host(self, session_id: str, info: dict | None) -> None:
        if session_id == self._session_id:
            self.details.show_host(info)

    def _on_trace(self, session_id: str, trace: Trace | None) -> None:
        if self.counting:  # the worker waits for it to be shown before it goes on counting
            QTimer.singleShot(0, self.worker.requestResume.emit)
        if session_id != self._session_id:
            return  # a late answer for a session no longer selected
        if trace is None:
            self._clear_session()
            return
        self.trace = trace
        self.timeline.set_trace(trace)
        self.tree.set_trace(trace)
        row = trace.row_of(self._selected_node) if self._selected_node is not None else None
        if row is not None:
            self.timeline.select_row(row)
            self.tree.select_row(row)
            self.event_detail.show_node(trace.nodes[row])
        self.traceShown.emit(session_id)

    # -------------------------------------------------------------- selection sync
    def select_node(self, row: int) -> None:
        """Select a trace row everywhere: timeline, tree and event detail."""
        if self.trace is None or not 0 <= row < len(self.trace):
            return
        self._selected_node = self.trace.nodes[row].id
        self.timeline.select_row(row)
        self.tree.select_row(row)
        self.event_detail.show_node(self.trace.nodes[row])

    def _on_tree_node(self, row: int) -> None:
        self.select_node(row)

    def _on_timeline_node(self, row: int) -> None:
        self.select_node(row)

    def show_view(self, view: str) -> None:
        self.tabs.setCurrentIndex(VIEW_TABS[view])

    # -------------------------------------------------------------- closing
    def closeEvent(self, event) -> None:
        self.worker.shutdown()
        super().closeEvent(event)
