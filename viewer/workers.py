"""Loading off the GUI thread: a worker object living in its own QThread owns the store.

The GUI thread sends requests as queued signals (open paths, select a session) and receives
immutable results (StoreUpdate, Trace). Watchdog hints and a size-poll timer both trigger a
debounced poll, so growth shows within a poll interval even when events are missed.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Collection, Iterable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal, Slot

from recorder import _annotate
from recorder.catalog import SessionInfo
from recorder.prune import PrunePlan, plan_prune
from recorder.query import QueryError, reads_nodes, session_query

from .core.analytics import compute, latencies
from .core.filters import SessionFilter
from .core.store import SessionStore
from .watcher import FolderWatcher

POLL_MS = 250  # size poll: the upper bound on how late an update can be
DEBOUNCE_MS = 40  # after a watchdog hint, wait this long for the burst to end
INDEX_DELAY_MS = 3000  # after the first load, write the index cache this much later
# A selected session that grows is rebuilt at most every TRACE_GAP_MS, and never so often that
# rebuilding it takes more than TRACE_SHARE of this thread: a big session that keeps growing
# costs a bounded part of a core instead of every poll's worth of a full rebuild. (Measured
# following 720k nodes: 250 ms gave 0.29 cores, 330 ms 0.25, 400 ms 0.23 with every update
# within 427 ms at p95.)
TRACE_GAP_MS = 400
TRACE_SHARE = 0.2
# A big folder opened cold is listed from its files' heads at once and then counted in steps
# of this many seconds, so a click or a filter waits at most about this long behind it.
COUNT_STEP = 0.1
# Qt's calls into Python (a row's cells, a paint) each wait for the worker to let go of the
# GIL, which it does every switch interval: Python's 5 ms made a click on a big folder still
# being counted take 0.8 s; 1 ms, 0.4 s (bench/big_folder.py). The cost is a few more switches.
SWITCH_INTERVAL = 0.001


class StoreWorker(QObject):
    updated = Signal(object)  # StoreUpdate
    traced = Signal(str, object)  # session id, Trace or None
    hostInfo = Signal(str, object)  # session id, dict or None
    progress = Signal(int, int)  # files read, total (during the first load)
    loaded = Signal()  # the first poll of the current paths finished
    analyzed = Signal(object, int)  # Analytics of the filtered sessions, number of all sessions
    queried = Signal(str, object)  # a query, the ids of the sessions it matched (frozenset)
    compared = Signal(object, object, object, object)  # two SessionRows and their Traces (None: gone)
    prunePlanned = Signal(object)  # recorder.prune.PrunePlan
    pruned = Signal(int, list)  # bytes freed, what could not be removed

    def __init__(self) -> None:
        super().__init__()
        self._store: SessionStore | None = None
        self._selected: str | None = None
        self._first = True
        self._poll_timer: QTimer | None = None
        self._debounce: QTimer | None = None
        self._index_timer: QTimer | None = None
        self._watcher: FolderWatcher | None = None
        self._existing: list[bool] = []
        self._query: str | None = None
        self._query_hits: frozenset[str] = frozenset()
        self._stopped = False
        self._trace_timer: QTimer | None = None
        self._trace_due = 0.0  # monotonic time before which a changed selection waits
        self._count_timer: QTimer | None = None  # the next step of counting a big folder
        self._pending_prune: float | None = None  # a prune asked for while counting: planned after
        # After sending a preview (or a trace, while counting), counting waits until the
        # window has shown it: Qt's calls into Python wait for this thread to let go of the
        # GIL, call by call, so showing 100,000 rows took 5 s instead of 0.6 s with counting
        # going on.
        self._held = False

    @Slot()
    def start(self) -> None:
        """Runs in the worker thread: timers created here fire here."""
        self._poll_timer = QTimer(self)
        self._poll_timer.setInterval(POLL_MS)
        self._poll_timer.timeout.connect(self.poll)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.poll)
        # The index is written a little after the first load, not right after it: writing it
        # holds the GIL for a while, and the window is busy showing what was just loaded.
        self._index_timer = QTimer(self)
        self._index_timer.setSingleShot(True)
        self._index_timer.setInterval(INDEX_DELAY_MS)
        self._index_timer.timeout.connect(self._save_index)
        self._trace_timer = QTimer(self)
        self._trace_timer.setSingleShot(True)
        self._trace_timer.timeout.connect(self._emit_trace)
        self._count_timer = QTimer(self)
        self._count_timer.setSingleShot(True)
        self._count_timer.setInterval(0)  # right after whatever requests are waiting
        self._count_timer.timeout.connect(self.poll)
        self._watcher = FolderWatcher(self)
        self._watcher.changed.connect(self._hint)

    @Slot()
    def _hint(self) -> None:
        """A watchdog event: poll soon (hints already queued when stop() ran are ignored)."""
        if not self._stopped and self._debounce is not None:
            self._debounce.start()

    @Slot(list)
    def open(self, paths: list) -> None:
        self._store = SessionStore([Path(p) for p in paths])
        self._selected = None
        self._first = True
        self._held = False
        self._pending_prune = None
        self._existing = [p.exists() for p in self._store.paths]
        if self._watcher is not None:
            self._watcher.watch(self._store.paths)
        self.poll()
        if self._poll_timer is not None:
            self._poll_timer.start()

    @Slot(str)
    def select(self, session_id: str) -> None:
        self._selected = session_id or None
        if self._trace_timer is not None:
            self._trace_timer.stop()
        if self._store is not None and self._selected:
            self._emit_trace()
            self.hostInfo.emit(self._selected, self._store.host_info(self._selected))

    @Slot()
    def _emit_trace(self) -> None:
        """Build and send the selected session's trace, and say when the next may be built."""
        selected, store = self._selected, self._store
        if not selected or store is None or self._stopped:
            return
        started = time.monotonic()
        trace = store.trace(selected)
        took = time.monotonic() - started
        self._trace_due = started + max(TRACE_GAP_MS / 1000, took / TRACE_SHARE)
        if store.counting:
            self._held = True  # until the window has shown it, as for the preview
        self.traced.emit(selected, trace)

    def _trace_changed(self) -> None:
        """The selected session changed: rebuild now if its time has come, else once it has."""
        timer = self._trace_timer
        wait = self._trace_due - time.monotonic()
        if wait <= 0 or timer is None:
            self._emit_trace()
        elif not timer.isActive():
            timer.start(max(1, round(wait * 1000)))

    @Slot(str, str, object, str, object)
    def annotate(self, session_id: str, name: str, value: object, note: str, span_id: object = None) -> None:
        """Write a reviewer's annotation into the opened folder (a file of this viewer's own:
        the folder's files are never changed), then read it back at once."""
        if self._store is None:
            return
        root = next((p for p in self._store.paths if p.is_dir()), None) or self._store.paths[0].parent
        record = _annotate.annotation_record(session_id, name, value, note=note or None, span_id=span_id)  # type: ignore[arg-type]
        _annotate.write(record, root)
        self.poll()

    @Slot(str, str)
    def compare(self, left_id: str, right_id: str) -> None:
        """Both sessions' rows and traces, for the Compare view."""
        if self._store is None:
            return
        rows = {r.id: r for r in self._store.rows() if r.id in (left_id, right_id)}
        self.compared.emit(
            rows.get(left_id), rows.get(right_id), self._store.trace(left_id), self._store.trace(right_id)
        )

    @Slot(str)
    def query(self, text: str) -> None:
        """Evaluate a session query over the catalog (spans and events included); it is
        evaluated again as sessions change, until another replaces it."""
        self._query = text or None
        self._answer_query()

    def _answer_query(self, changed: Collection[str] | None = None) -> None:
        """Evaluate the query over every session, or only over those that changed (a clause
        over nodes reads the nodes of sessions let go of, so it is not run again for all)."""
        if self._store is None or self._query is None or self._store.counting:
            return  # evaluated when the counted rows arrive
        try:
            matches = session_query(self._query)
        except QueryError:
            return  # the list shows why; nothing to evaluate
        now = time.time_ns()
        catalog = self._store.catalog
        ids = list(catalog.sessions) if changed is None else [sid for sid in changed if sid in catalog.sessions]
        if reads_nodes(self._query):  # nodes are needed: read them back a chunk at a time
            sessions: Iterable[SessionInfo] = self._store.with_nodes(ids)
        else:
            sessions = (catalog.sessions[sid] for sid in ids)
        hits = {s.id for s in sessions if matches(s, now)}
        if changed is not None:
            hits |= {sid for sid in self._query_hits if sid not in changed and sid in catalog.sessions}
        self._query_hits = frozenset(hits)
        self.queried.emit(self._query, self._query_hits)

    @Slot(float)
    def plan_prune(self, age_seconds: float) -> None:
        """What removing the sessions over more than age_seconds ago would remove (the files
        are this worker's to read, so it plans; the window asks the user). While the folder is
        still being counted, once it is: a plan needs every record."""
        if self._store is None:
            return
        if self._store.counting:
            self._pending_prune = age_seconds
            return
        now = time.time_ns()
        ours = [p for p, state in self._store.reader.files.items() if state.version is not None]
        self.prunePlanned.emit(plan_prune(self._store.catalog, ours, now - int(age_seconds * 1e9), now_ns=now))

    @Slot(object)
    def prune(self, plan: PrunePlan) -> None:
        freed, failures = plan.remove()
        self.pruned.emit(freed, failures)
        self.poll()  # the removed files' sessions leave the list now

    @Slot(object)
    def analyze(self, session_filter: SessionFilter) -> None:
        if self._store is None or self._store.counting:
            return  # asked again when the counted rows arrive
        rows = self._store.rows()
        chosen = session_filter.apply(rows)
        sessions = self._store.catalog.sessions
        latency = latencies(sessions[r.id] for r in chosen if r.id in sessions)
        self.analyzed.emit(compute(chosen, latency=latency), len(rows))

    @Slot()
    def resume(self) -> None:
        """The window shows the preview: counting goes on."""
        self._held = False
        self.poll()

    @Slot()
    def poll(self) -> None:
        store = self._store
        if store is None or self._stopped or self._held:
            return
        first = self._first
        existing = [p.exists() for p in store.paths]
        if existing != self._existing and self._watcher is not None:
            self._existing = existing  # a missing path appeared (or went): watch it as it is now
            self._watcher.watch(store.paths)
        update = store.poll(progress=self.progress.emit if first else None, step=COUNT_STEP)
        if update.counting:
            if update.full:  # the preview: the list is usable while counting goes on
                self._held = True
                self.updated.emit(update)
            elif self._count_timer is not None:
                self._count_timer.start()
            return
        self._first = False
        if first or update.rows or update.removed or update.records:
            self.updated.emit(update)
            if self._query is not None and (update.rows or update.removed):
                self._answer_query(None if update.full else {r.id for r in update.rows} | set(update.removed))
        if first:
            self.loaded.emit()
            if self._index_timer is not None:
                self._index_timer.start()
            if self._pending_prune is not None:
                self.plan_prune(self._pending_prune)
                self._pending_prune = None
        selected = self._selected
        if selected and (any(r.id == selected for r in update.rows) or selected in update.removed):
            self._trace_changed()

    @Slot()
    def _save_index(self) -> None:
        if self._store is not None and not self._stopped:
            self._store.save_index()

    @Slot()
    def stop(self) -> None:
        """Runs in the worker thread: stop the timers and the watcher here (timers cannot be
        stopped from another thread), and have Qt delete this object, with its timers, in
        this thread when it finishes."""
        self._stopped = True
        if self._store is not None:
            self._store.save_index()
        if self._poll_timer is not None:
            self._poll_timer.stop()
        if self._debounce is not None:
            self._debounce.stop()
        if self._index_timer is not None:
            self._index_timer.stop()
        if self._trace_timer is not None:
            self._trace_timer.stop()
        if self._count_timer is not None:
            self._count_timer.stop()
        if self._watcher is not None:
            self._watcher.stop()
        self.deleteLater()


class WorkerThread(QObject):
    """Owns the thread and the worker; ``requestOpen``/``requestSelect`` cross into it."""

    requestOpen = Signal(list)
    requestSelect = Signal(str)
    requestResume = Signal()  # a preview is shown: go on counting
    requestAnalytics = Signal(object)
    requestQuery = Signal(str)
    requestCompare = Signal(str, str)
    requestAnnotate = Signal(str, str, object, str, object)  # session, name, value, note, span id or None
    requestPrunePlan = Signal(float)
    requestPrune = Signal(object)
    requestStop = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL))
        self.thread = QThread()
        self.thread.setObjectName("sessiontrail-loader")
        self.worker = StoreWorker()
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.start)
        self.requestOpen.connect(self.worker.open)
        self.requestSelect.connect(self.worker.select)
        self.requestResume.connect(self.worker.resume)
        self.requestAnalytics.connect(self.worker.analyze)
        self.requestQuery.connect(self.worker.query)
        self.requestCompare.connect(self.worker.compare)
        self.requestAnnotate.connect(self.worker.annotate)
        self.requestPrunePlan.connect(self.worker.plan_prune)
        self.requestPrune.connect(self.worker.prune)
        self.requestStop.connect(self.worker.stop, Qt.ConnectionType.BlockingQueuedConnection)
        self.thread.start()

    def shutdown(self) -> None:
        if self.thread.isRunning():
            self.requestStop.emit()
            self.thread.quit()
            self.thread.wait(5000)
