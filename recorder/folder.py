"""A folder opened for reading and kept current, in memory that does not grow with its events.

``Folder`` is what the viewer's store and ``sessiontrail ls`` read through: it starts from
the folder's index cache (``index_cache``) when there is one, polls the incremental reader for
what is new, and lets go of the nodes of sessions that ended (``Catalog.unload``), keeping
what the session list shows of them. A let-go session's nodes are read back from its own
files when something uses them (through the files' summaries: only its frames), and a
session that records are read for after it was let go is read again whole.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from . import index_cache
from ._format import HEAD_CODES, SESSION_AT, T_DROPPED, T_FILE, T_HEARTBEAT
from ._nodes import NodeTable
from .catalog import Catalog, SessionInfo, read_sessions
from .reader import Batch, FileRecords, FolderReader, Problem, read_heads

# A folder read cold (no index) with more than this in files is listed first from what its
# closed files' heads say (``preview``) and read whole in steps, between other work.
PREVIEW_MIN_BYTES = 128 << 20
# What a preview folds of a file read whole: the records a list shows, and what says a
# session is still alive (a span or event adds only a little to how late it was last seen).
LISTED_CODES = HEAD_CODES | {T_FILE, T_HEARTBEAT, T_DROPPED}
INDEX_MIN_RECORDS = 50_000  # folders smaller than this read fast enough without an index
KEEP_SHOWN = 2  # sessions last shown (or compared) whose nodes stay in memory
NODES_CHUNK = 1000  # sessions whose nodes are read back at once for analytics and queries
FREEZE_AFTER = 10_000  # sessions read or changed after which what was read is frozen (gc)


class Folder:
    """Folders and files read incrementally into a ``Catalog``."""

    def __init__(self, paths: Iterable[str | Path], *, index: bool = True) -> None:
        """``index``: start from the folder's index cache if it has one and write one after
        reading many records, so the next open is fast."""
        self.paths = [Path(p) for p in paths]
        self.reader = FolderReader(self.paths)
        self._catalog = Catalog()
        self.index_path = index_cache.cache_path(self.paths) if index else None
        # An index cache opened: its listing at hand, its sessions made when first used.
        self._snapshot: index_cache.Snapshot | None = None
        if self.index_path is not None:
            self._snapshot = index_cache.open_snapshot(self.index_path, self.paths)
            if self._snapshot is not None:
                self.reader = self._snapshot.reader
        self.from_index = self._snapshot is not None
        self._unindexed = 0  # records read since the index was last written
        self._shown: list[str] = []  # the sessions last shown, newest last
        self._read_back: set[str] = set()  # let-go sessions whose nodes were read again since
        self._frozen = 0  # sessions when the collector was last told to leave what is read alone
        # While a big folder is first read in steps (``preview``): the files of each session
        # the preview listed, to read one on its own; None once every file was read.
        self.previewed: dict[str, tuple[Path, ...]] | None = None
        self._last_read: Catalog | None = None  # the session last read on its own while counting

    @property
    def catalog(self) -> Catalog:
        """The folder's sessions (made from the index cache when first asked for)."""
        snapshot = self._snapshot
        if snapshot is not None:
            self._snapshot = None
            catalog = snapshot.restore(self._read_back_into)
            if catalog is None:  # read cold instead
                self.reader = FolderReader(self.paths)
                self.from_index = False
            else:
                self._catalog = catalog
                gc.freeze()  # as after a big read (``poll``): scanning 100,000 sessions took 0.25 s
        return self._catalog

    def listing(self) -> Sequence[tuple[Any, ...]] | None:
        """What the list shows of every session (``SessionInfo.listed``), from the index cache,
        before its sessions are made, in the order `ls` lists them (by start, then id); None
        when there is none or they are made already."""
        return self._snapshot.listing if self._snapshot is not None else None

    def ended_lines(self) -> list[str | None] | None:
        """With the listing: the `ls --json` line of each ended session, in the listing's order
        (``index_cache.ended_lines``); None when there are none to be had."""
        if self._snapshot is None or self.index_path is None:
            return None
        return index_cache.ended_lines(self.index_path, self._snapshot)

    def listing_as(self, make: Callable[[tuple[Any, ...]], index_cache.Row]) -> list[index_cache.Row] | None:
        """The listing, each made into what the caller keeps (``Snapshot.keep_as``)."""
        return self._snapshot.keep_as(make) if self._snapshot is not None else None

    @property
    def counting(self) -> bool:
        """A preview or the index's listing stands for the folder: its first read, or making
        its sessions from the index, is not finished."""
        return self.previewed is not None or self._snapshot is not None

    def preview(self, min_bytes: int | None = None) -> Catalog | None:
        """The folder's sessions as a list shows them, made without reading every record, when
        a first read would be long (no index, ``min_bytes`` or more in files): from the
        `heads` of its closed files (format_spec.md 3.3), and the files without (still being
        written, cut short by a crash, older) read for their session records. Their names,
        tags, times, how they ended and their reviews are known; their totals (zero here) only
        once ``poll`` has read every file. The folder keeps only each session's files (for
        ``show``). None when the folder is read whole at once instead, as when half of it or
        more has no heads (files from before 2.4): the preview would take about as long."""
        if self.from_index or self.reader.files:
            return None
        if min_bytes is None:
            min_bytes = PREVIEW_MIN_BYTES
        found = sorted(self.reader.discover(), key=lambda item: item[0].name)
        total = sum(st.st_size for _, st in found)
        if total < min_bytes:
            return None
        heads = {path: read_heads(path) for path, _ in found}
        whole = [(path, st.st_size) for path, st in found if heads[path] is None]
        if 2 * sum(size for _, size in whole) > total:
            return None
        catalog = Catalog(self._catalog.strings, tables=False)
        holding: dict[Path, set[str]] = {}  # the sessions each file has records of
        for path, said in heads.items():
            if said is not None:
                catalog.apply(Batch([FileRecords(path, said[0])]))
                holding[path] = set(said[1])
        if whole:  # read for what a list shows: their spans and events wait for the count

            def skim(batch: Batch) -> None:
                for part in batch.files:
                    records = part.records
                    named = {r[SESSION_AT] for r in records if len(r) > SESSION_AT and type(r[SESSION_AT]) is str}
                    holding.setdefault(part.path, set()).update(named)
                    catalog.apply(Batch([FileRecords(part.path, [r for r in records if r[0] in LISTED_CODES])]))

            FolderReader([path for path, _ in whole]).poll(apply=skim)
        for path, sids in holding.items():  # once every session is known, whichever file named it first
            catalog.note_file(path, sids)
        self.previewed = {sid: tuple(session.files) for sid, session in catalog.sessions.items()}
        return catalog

    def poll(
        self, progress: Callable[[int, int], None] | None = None, deadline: float | None = None
    ) -> tuple[set[str], Batch]:
        """Read what is new; return the ids of the sessions that changed (or went) and the
        batch (its problems, how many records it read). ``deadline``: as
        ``FolderReader.poll``; the preview goes once a poll has read every file."""
        changed: set[str] = set()
        catalog = self.catalog  # made from the index cache first, if it was not yet

        def apply(part: Batch) -> None:
            found = catalog.apply(part)
            changed.update(found)
            self._let_go(found)  # as it goes: a cold read of a big folder never holds it all

        batch = self.reader.poll(progress=progress, apply=apply, deadline=deadline)
        if batch.complete:
            self.previewed = self._last_read = None
        changed |= self._read_stale()
        self._let_go(self._read_back - set(self._shown))
        self._unindexed += batch.record_count + len(batch.removed)
        if len(changed) + len(self.catalog.sessions) - self._frozen >= FREEZE_AFTER:
            self._frozen = len(self.catalog.sessions)
            # What a big read leaves (the sessions) lives as long as the folder is open: the
            # cyclic collector need not scan it again and again (it made every later step
            # that allocates slow: sorting 100,000 sessions took 0.9 s instead of 0.05 s).
            # Objects still go when nothing refers to them; only cycles among them would stay.
            gc.freeze()
        return changed, batch

    def save_index(self, min_records: int = INDEX_MIN_RECORDS) -> bool:
        """Write the index cache if at least min_records were read since it was last written."""
        if self.index_path is None or self._unindexed < min_records:
            return False
        self._unindexed = 0
        return index_cache.save(self.reader, self.catalog, self.index_path)

    def host_info(self, session_id: str) -> dict[str, Any] | None:
        """The host environment the session was recorded in, if its files say."""
        catalog = self._last_read if self.previewed is not None else self.catalog
        if catalog is None or session_id not in catalog.sessions:
            return None
        return catalog.host_info(catalog.sessions[session_id])

    def problems(self) -> list[Problem]:
        return [p for state in self.reader.files.values() for p in state.problems]

    def show(self, session_id: str) -> SessionInfo | None:
        """The session, its nodes kept in memory while it is among the last KEEP_SHOWN shown
        (while counting, read from its files on its own)."""
        if self.previewed is not None:
            files = self.previewed.get(session_id)
            if files is None:
                return None
            self._last_read = read_sessions(files, {session_id}, self.catalog.strings)
            return self._last_read.sessions.get(session_id)
        session = self.catalog.sessions.get(session_id)
        if session is None:
            return None
        if session_id in self._shown:
            self._shown.remove(session_id)
        self._shown.append(session_id)
        older = self._shown[:-KEEP_SHOWN]
        del self._shown[:-KEEP_SHOWN]
        self._let_go(older)
        return session

    def with_nodes(self, ids: Iterable[str], chunk: int = NODES_CHUNK) -> Iterator[SessionInfo]:
        """The sessions with their nodes at hand (for analytics and queries over nodes): those
        let go are read back a chunk at a time, in one read per chunk, and let go again."""
        catalog = self.catalog
        pending: list[SessionInfo] = []

        def flush() -> Iterator[SessionInfo]:
            away = {s.id for s in pending if not s.table.loaded}
            if away:
                fresh = self._read_whole(away)
                for s in pending:
                    if s.id in away and s.id in fresh.sessions:
                        s.table.take(fresh.sessions[s.id].table)
            yield from pending
            for s in pending:
                if s.id in away and s.id not in self._shown and catalog.sessions.get(s.id) is s:
                    catalog.unload(s.id, self._read_back_into)
            pending.clear()

        for sid in ids:
            session = catalog.sessions.get(sid)
            if session is not None:
                pending.append(session)
                if len(pending) >= chunk:
                    yield from flush()
        yield from flush()

    # -------------------------------------------------------------- letting go
    def _let_go(self, sids: Iterable[str]) -> None:
        """Unload the nodes of those sessions that ended and are not among the last shown."""
        catalog = self.catalog
        for sid in sids:
            session = catalog.sessions.get(sid)
            if session is None or sid in self._shown or not catalog.settled(sid):
                continue
            if session.folded or session.table.loaded:
                catalog.unload(sid, self._read_back_into)
                self._read_back.discard(sid)

    def _read_whole(self, sids: set[str]) -> Catalog:
        """These sessions read again from their own files, into a catalog sharing this one's
        strings (so their tables can be swapped in)."""
        sessions = self.catalog.sessions
        files = (path for sid in sids if sid in sessions for path in sessions[sid].files)
        return read_sessions(files, sids, self.catalog.strings)

    def _read_back_into(self, table: NodeTable) -> None:
        """Fill a let-go session's table when something uses it: its files, read for it."""
        sid = table.key
        fresh = self._read_whole({sid}).sessions.get(sid)
        if fresh is not None:
            table.take(fresh.table)
        self._read_back.add(sid)

    def _read_stale(self) -> set[str]:
        """Read again whole the let-go sessions that records were read for."""
        catalog = self.catalog
        stale = {sid for sid in catalog.stale if sid in catalog.sessions}
        catalog.stale.clear()
        if not stale:
            return set()
        fresh = self._read_whole(stale)
        for sid in stale:
            if sid in fresh.sessions:
                catalog.replace(fresh.sessions[sid])
        catalog._pending_ends.update((key, end) for key, end in fresh._pending_ends.items() if key[0] in stale)
        for path, meta in fresh.file_meta.items():
            catalog.file_meta.setdefault(path, meta)
        self._let_go(stale)
        return stale
