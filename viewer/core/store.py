"""SessionStore: a folder's sessions, kept current by polling the incremental reader.

Qt-free. The viewer's worker thread owns one store; the GUI thread only ever sees the
immutable ``SessionRow`` and ``Trace`` values it produces.
"""

from __future__ import annotations

import ctypes
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recorder import rules
from recorder._nodes import NodeTable
from recorder.catalog import Catalog, SessionInfo, read_sessions
from recorder.reader import FolderReader, Problem

from . import index_cache
from .trace import Trace, build_trace


@dataclass(frozen=True, slots=True)
class SessionRow:
    """What the session list, filters and analytics need of one session, frozen in time."""

    id: str
    name: str
    tags: tuple[str, ...]
    start: int | None  # ns
    end: int | None  # ns, None while not ended
    last_seen: int  # ns
    status: str  # running | ended | abandoned
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
    annotations: tuple[tuple[str, Any, str | None, str | None, int | None], ...] = ()

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
    def of(cls, session: SessionInfo, now_ns: int) -> SessionRow:
        return cls(
            id=session.id,
            name=session.name,
            tags=tuple(session.tags),
            start=session.start,
            end=session.end,
            last_seen=session.last_seen,
            status=session.status(now_ns),
            end_state=session.end_state,
            reason=session.reason,
            event_count=session.event_count,
            error_count=session.error_count,
            llm_calls=session.llm_calls,
            tool_calls=session.tool_calls,
            prompt_tokens=session.prompt_tokens,
            completion_tokens=session.completion_tokens,
            cost=session.cost,
            dropped=session.dropped,
            hostname=session.hostname,
            pid=session.pid,
            files=tuple(session.files),  # Paths, made text only when shown
            models=tuple((k, *v) for k, v in sorted(session.models.items())),
            agents=tuple((k, *v) for k, v in sorted(session.agents.items())),
            heartbeat_interval=session.heartbeat_interval,
            annotations=tuple(
                (e[2], e[3], e[4], e[5], e[0]) for e in rules.current_annotations(session.annotations) if e[1] is None
            ),
        )


@dataclass(frozen=True)
class StoreUpdate:
    """What changed in one poll."""

    rows: tuple[SessionRow, ...]  # new or changed sessions
    removed: tuple[str, ...]  # ids of sessions that are gone
    problems: tuple[Problem, ...]  # all current problems (not only new ones)
    records: int  # records read in this poll
    full: bool  # rows holds every session (first load or a reset)


INDEX_MIN_RECORDS = 50_000  # folders smaller than this read fast enough without an index
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


KEEP_TRACED = 2  # sessions last traced (shown, compared) whose nodes stay in memory
NODES_CHUNK = 1000  # sessions whose nodes are read back at once for analytics and queries


class SessionStore:
    """Reads a set of folders/files incrementally into a Catalog.

    Memory does not grow with the events of a folder: once a session has ended, the store
    lets go of its nodes and keeps what the session list shows (``Catalog.unload``); its nodes
    are read again from its files when it is shown (through the files' summaries, only its own
    frames). Running sessions, and the sessions last shown, keep their nodes.
    """

    def __init__(self, paths: Iterable[str | Path], *, index: bool = True) -> None:
        """``index``: start from the folder's index cache if it has one (viewer.core.index_cache)
        and write one after reading many records, so the next open is fast."""
        self.paths = [Path(p) for p in paths]
        self.reader = FolderReader(self.paths)
        self.catalog = Catalog()
        self.index_path = index_cache.cache_path(self.paths) if index else None
        self.from_index = False
        if self.index_path is not None:
            cached = index_cache.load(self.index_path, self.paths)
            if cached is not None:
                self.reader, self.catalog = cached
                self.from_index = True
        self._unindexed = 0  # records read since the index was last written
        self._status: dict[str, str] = {}
        self._polled = False
        self._missing: list[Problem] = []
        self._kept: list[str] = []  # the sessions last traced, newest last
        self._read_back: set[str] = set()  # let-go sessions whose nodes were read again since
        for sid, session in self.catalog.sessions.items():
            if not session.folded:  # restored from the index without its nodes
                self.catalog.unload(sid, self._loader(sid))

    def poll(self, progress: Callable[[int, int], None] | None = None) -> StoreUpdate:
        """Read what is new; report changed sessions, including status changes with time."""
        changed: set[str] = set()

        def apply(part: Any) -> None:
            found = self.catalog.apply(part)
            changed.update(found)
            self._let_go(found)  # as it goes: a cold read of a big folder never holds it all

        batch = self.reader.poll(progress=progress, apply=apply)
        changed |= self._read_stale()
        self._let_go(self._read_back - set(self._kept))
        self._missing = [p for p in batch.problems if p.kind == "missing"] or (
            self._missing if any(not p.exists() for p in self.paths) else []
        )
        now = time.time_ns()
        for sid, session in self.catalog.sessions.items():
            status = session.status(now)
            if self._status.get(sid) != status:
                changed.add(sid)
                self._status[sid] = status
        removed = tuple(sid for sid in changed if sid not in self.catalog.sessions)
        for sid in removed:
            self._status.pop(sid, None)
        full = not self._polled
        self._polled = True
        ids = self.catalog.sessions.keys() if full else (changed - set(removed))
        rows = tuple(SessionRow.of(self.catalog.sessions[sid], now) for sid in ids)
        self._unindexed += batch.record_count + len(batch.removed)
        if batch.record_count >= TRIM_AFTER:
            release_free_memory()
        return StoreUpdate(rows, removed, self.problems(), batch.record_count, full)

    def save_index(self, min_records: int = INDEX_MIN_RECORDS) -> bool:
        """Write the index cache if at least min_records were read since it was last written."""
        if self.index_path is None or self._unindexed < min_records:
            return False
        self._unindexed = 0
        return index_cache.save(self.reader, self.catalog, self.index_path)

    def rows(self) -> list[SessionRow]:
        now = time.time_ns()
        return [SessionRow.of(session, now) for session in self.catalog.sessions.values()]

    def problems(self) -> tuple[Problem, ...]:
        found = [p for state in self.reader.files.values() for p in state.problems]
        return tuple(self._missing + found)

    # -------------------------------------------------------------- nodes in memory
    def _let_go(self, sids: Iterable[str]) -> None:
        """Unload the nodes of those sessions that ended and are not among the last traced."""
        catalog = self.catalog
        for sid in sids:
            session = catalog.sessions.get(sid)
            if session is None or sid in self._kept or not catalog.settled(sid):
                continue
            if session.folded or session.table.loaded:
                catalog.unload(sid, self._loader(sid))
                self._read_back.discard(sid)

    def _loader(self, sid: str) -> Callable[[NodeTable], None]:
        """What fills a let-go session's table when something uses it: its files, read for it."""
        files = tuple(self.catalog.sessions[sid].files)
        strings, read_back = self.catalog.strings, self._read_back

        def load(table: NodeTable) -> None:
            fresh = read_sessions(files, {sid}, strings).sessions.get(sid)
            if fresh is not None:
                table.take(fresh.table)
            read_back.add(sid)

        return load

    def _read_stale(self) -> set[str]:
        """Read again whole the let-go sessions that records were read for."""
        catalog = self.catalog
        stale = {sid for sid in catalog.stale if sid in catalog.sessions}
        catalog.stale.clear()
        if not stale:
            return set()
        fresh = read_sessions((p for sid in stale for p in catalog.sessions[sid].files), stale, catalog.strings)
        for sid in stale:
            if sid in fresh.sessions:
                catalog.replace(fresh.sessions[sid])
        catalog._pending_ends.update((key, end) for key, end in fresh._pending_ends.items() if key[0] in stale)
        for path, meta in fresh.file_meta.items():
            catalog.file_meta.setdefault(path, meta)
        self._let_go(stale)
        return stale

    def with_nodes(self, ids: Iterable[str], chunk: int = NODES_CHUNK) -> Iterator[SessionInfo]:
        """The sessions with their nodes at hand (for analytics and queries over nodes): those
        let go are read back a chunk at a time, in one read per chunk, and let go again."""
        catalog = self.catalog
        pending: list[SessionInfo] = []

        def flush() -> Iterator[SessionInfo]:
            away = {s.id for s in pending if not s.table.loaded}
            if away:
                fresh = read_sessions((p for s in pending if s.id in away for p in s.files), away, catalog.strings)
                for s in pending:
                    if s.id in away and s.id in fresh.sessions:
                        s.table.take(fresh.sessions[s.id].table)
            yield from pending
            for s in pending:
                if s.id in away and s.id not in self._kept and catalog.sessions.get(s.id) is s:
                    catalog.unload(s.id, self._loader(s.id))
            pending.clear()

        for sid in ids:
            session = catalog.sessions.get(sid)
            if session is not None:
                pending.append(session)
                if len(pending) >= chunk:
                    yield from flush()
        yield from flush()

    def trace(self, session_id: str) -> Trace | None:
        session = self.catalog.sessions.get(session_id)
        if session is None:
            return None
        if session_id in self._kept:
            self._kept.remove(session_id)
        self._kept.append(session_id)
        older = self._kept[:-KEEP_TRACED]
        del self._kept[:-KEEP_TRACED]
        self._let_go(older)
        trace = build_trace(session)
        if len(trace) >= TRIM_AFTER:
            release_free_memory()  # the layout's temporary arrays
        return trace

    def host_info(self, session_id: str) -> dict[str, Any] | None:
        session = self.catalog.sessions.get(session_id)
        return None if session is None else self.catalog.host_info(session)
