"""SessionStore: a folder's sessions, kept current by polling the incremental reader.

Qt-free. The viewer's worker thread owns one store; the GUI thread only ever sees the
immutable ``SessionRow`` and ``Trace`` values it produces.
"""

from __future__ import annotations

import ctypes
import gc
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, cast

from recorder import rules
from recorder.catalog import LISTED, Catalog, SessionInfo
from recorder.folder import FREEZE_AFTER, INDEX_MIN_RECORDS, Folder
from recorder.reader import FolderReader, Problem, gc_paused

from .trace import Trace, build_trace


class SessionRow(NamedTuple):
    """What the session list, filters and analytics need of one session, frozen in time:
    ``SessionInfo.listed`` (the same fields, in ``LISTED`` order) and its status. (A named
    tuple: made 100,000 at a time, in ~1 µs each where a frozen dataclass took 4.3.)"""

    id: str
    name: str
    tags: tuple[str, ...]
    start: int | None  # ns
    end: int | None  # ns, None while not ended
    last_seen: int  # ns
    end_state: str | None
    reason: str | None
    event_count: int
    error_count: int
    llm_calls: int
    tool_calls: int
    prompt_tokens: int
    completion_tokens: int
    cost: float | None
    dropped: int
    hostname: str | None
    pid: int | None
    files: tuple[Path, ...]
    models: tuple[tuple[str, int, int, float | None], ...]  # name, calls, tokens, cost
    agents: tuple[tuple[str, int, int, float | None], ...]  # name, spans, tokens, cost
    heartbeat_interval: float
    # the session's annotations in force: (name, value, author, note, time in ns), oldest first
    annotations: tuple[tuple[str, Any, str | None, str | None, int | None], ...]
    status: str  # running | ended | abandoned
    # False while a big folder is first read: the row comes from the files' heads, and its
    # totals (events, errors, calls, tokens, cost, models, agents) are not counted yet
    counted: bool = True

    def annotation(self, name: str) -> Any:
        """The newest value in force of an annotation of the session (any author), or None."""
        values = [value for n, value, *_ in self.annotations if n == name]
        return values[-1] if values else None

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def status_text(self) -> str:
        """``running``, ``abandoned``, or how an ended session ended."""
        return rules.status_text(self.status, self.end_state)

    def duration(self, now_ns: int | None = None) -> float | None:
        """Seconds; a running session's duration grows with now."""
        return rules.duration(self.start, self.end, self.status, self.last_seen, now_ns)

    @classmethod
    def of(cls, session: SessionInfo, now_ns: int, counted: bool = True) -> SessionRow:
        return _new_row(cls, (*session.listed(), session.status(now_ns), counted))

    @classmethod
    def of_listed(cls, listed: tuple[Any, ...], now_ns: int) -> SessionRow:
        """The row of a session as ``SessionInfo.listed`` gave it (kept in the index cache)."""
        status = rules.session_status(listed[_END_STATE], listed[_LAST_SEEN], listed[_HEARTBEAT], now_ns)
        return _new_row(cls, (*listed, status, True))


# A row from its values in order, without the generated __new__'s argument binding.
_new_row = cast("Callable[[type[SessionRow], tuple[Any, ...]], SessionRow]", tuple.__new__)
_END_STATE, _LAST_SEEN, _HEARTBEAT = (LISTED.index(f) for f in ("end_state", "last_seen", "heartbeat_interval"))
assert SessionRow._fields[: len(LISTED)] == LISTED


@dataclass(frozen=True)
class StoreUpdate:
    """What changed in one poll."""

    rows: tuple[SessionRow, ...]  # new or changed sessions
    removed: tuple[str, ...]  # ids of sessions that are gone
    problems: tuple[Problem, ...]  # all current problems (not only new ones)
    records: int  # records read in this poll
    full: bool  # rows holds every session (first load or a reset)
    counting: bool = False  # the folder's first read is not finished: rows are not counted yet
    listed: bool = False  # the rows (counted) are the index's listing: the sessions are being made


TRIM_AFTER = 100_000  # records read, or nodes laid out, after which freed memory is handed back

_libc: Any = None


def release_free_memory() -> None:
    """Hand memory freed after a big read back to the OS. glibc keeps freed heap pages for
    reuse, so the decoded records of a big folder, gone once folded, still counted in the
    viewer's memory (measured: 60 MB of a 1M-span session). No-op where there is no glibc."""
    global _libc
    if _libc is None:
        try:
            _libc = ctypes.CDLL("libc.so.6")
            _libc.malloc_trim.argtypes = [ctypes.c_size_t]
        except (OSError, AttributeError):
            _libc = False
    if _libc:
        _libc.malloc_trim(0)


class SessionStore:
    """A folder's sessions as the viewer shows them, kept current by polling ``Folder`` (which
    keeps memory bounded: ended sessions keep only what the list shows; their nodes are read
    back from their files when shown)."""

    def __init__(self, paths: Iterable[str | Path], *, index: bool = True) -> None:
        """``index``: start from the folder's index cache if it has one and write one after
        reading many records, so the next open is fast."""
        self.folder = Folder(paths, index=index)
        self.paths = self.folder.paths
        self._status: dict[str, str] = {}
        self._unended: set[str] = set()  # sessions whose status may still change with time
        self._polled = False
        self._missing: list[Problem] = []
        self._preview_rows: tuple[SessionRow, ...] = ()  # what is shown while counting
        self._listed = False  # the rows shown come from the index's listing

    @property
    def catalog(self) -> Catalog:
        return self.folder.catalog

    @property
    def reader(self) -> FolderReader:
        return self.folder.reader

    @property
    def from_index(self) -> bool:
        return self.folder.from_index

    @property
    def index_path(self) -> Path | None:
        return self.folder.index_path

    @property
    def counting(self) -> bool:
        """The folder's first read is not finished: its rows are a preview, not counted."""
        return self.folder.counting

    def poll(self, progress: Callable[[int, int], None] | None = None, step: float | None = None) -> StoreUpdate:
        """Read what is new; report changed sessions, including status changes with time.

        A big folder opened cold is first listed from its files' heads (``Folder.preview``:
        rows with ``counted`` False, at once) and then read in steps of about ``step``
        seconds, one per poll, so other requests are served between them; the poll that
        finishes reports every session counted."""
        now = time.time_ns()
        if not self._polled and step is not None and self.folder.listing() is not None:
            # Opened from the index cache: listed from it at once, its sessions made next poll
            # (sharing the rows' values: the folder keeps the rows as its listing meanwhile)
            with gc_paused():
                rows = tuple(self.folder.listing_as(lambda listed: SessionRow.of_listed(listed, now)) or ())
                if len(rows) >= FREEZE_AFTER:
                    gc.freeze()
            self._polled = self._listed = True
            self._note_statuses(rows)
            self._preview_rows = rows
            return StoreUpdate(rows, (), self.problems(), 0, full=True, counting=True, listed=True)
        if not self._polled and step is not None and not self.folder.counting:
            preview = self.folder.preview()
            if preview is not None:
                with gc_paused():
                    rows = tuple(SessionRow.of(s, now, counted=False) for s in preview.sessions.values())
                self._preview_rows = rows
                return StoreUpdate(rows, (), self.problems(), 0, full=True, counting=True)
        deadline = None if step is None or not self.folder.counting else time.monotonic() + step
        changed, batch = self.folder.poll(progress, deadline)
        if self.folder.counting:
            return StoreUpdate((), (), self.problems(), batch.record_count, full=False, counting=True)
        self._preview_rows = ()
        self._missing = [p for p in batch.problems if p.kind == "missing"] or (
            self._missing if any(not p.exists() for p in self.paths) else []
        )
        now = time.time_ns()
        sessions = self.catalog.sessions
        if self._listed and not self.folder.from_index:  # its sessions could not be made: read cold
            self._polled = False
        self._listed = False
        full = not self._polled
        if full:  # every session's row, its status noted for the polls to come
            self._polled = True
            removed: tuple[str, ...] = ()
            ids: Iterable[str] = sessions.keys()
        else:
            # An ended session's status never changes again: only the others (and what
            # changed) are looked at, not 100,000 sessions on every poll.
            for sid in self._unended | changed:
                session = sessions.get(sid)
                if session is None:
                    self._unended.discard(sid)
                    continue
                status = session.status(now)
                if self._status.get(sid) != status:
                    changed.add(sid)
                    self._status[sid] = status
                if session.end_state is None:
                    self._unended.add(sid)
                else:
                    self._unended.discard(sid)
            removed = tuple(sid for sid in changed if sid not in sessions)
            for sid in removed:
                self._status.pop(sid, None)
            ids = changed - set(removed)
        with gc_paused():  # 100,000 rows at a first open: the collector would rescan them as they come
            rows = tuple(SessionRow.of(sessions[sid], now) for sid in ids)
            if len(rows) >= FREEZE_AFTER:
                gc.freeze()  # they live as long as the list shows them (tuples: no cycles to find)
        if full:
            self._note_statuses(rows)
        if batch.record_count >= TRIM_AFTER:
            release_free_memory()
        return StoreUpdate(rows, removed, self.problems(), batch.record_count, full)

    def _note_statuses(self, rows: Iterable[SessionRow]) -> None:
        """The status each session was last reported with, and which may still change."""
        self._status = {row.id: row.status for row in rows}
        self._unended = {row.id for row in rows if row.end_state is None}

    def save_index(self, min_records: int = INDEX_MIN_RECORDS) -> bool:
        """Write the index cache if at least min_records were read since it was last written."""
        return self.folder.save_index(min_records)

    def rows(self) -> list[SessionRow]:
        if self.folder.counting:
            return list(self._preview_rows)
        now = time.time_ns()
        with gc_paused():
            return [SessionRow.of(session, now) for session in self.catalog.sessions.values()]

    def problems(self) -> tuple[Problem, ...]:
        return tuple(self._missing + self.folder.problems())

    def with_nodes(self, ids: Iterable[str]) -> Iterator[SessionInfo]:
        """The sessions with their nodes at hand (``Folder.with_nodes``)."""
        return self.folder.with_nodes(ids)

    def trace(self, session_id: str) -> Trace | None:
        session = self.folder.show(session_id)
        if session is None:
            return None
        trace = build_trace(session)
        if len(trace) >= TRIM_AFTER:
            release_free_memory()  # the layout's temporary arrays
        return trace

    def host_info(self, session_id: str) -> dict[str, Any] | None:
        return self.folder.host_info(session_id)
