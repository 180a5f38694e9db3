"""Fold records from a FolderReader into sessions: their spans, events, status and totals.

Qt-free and shared by the CLI and the viewer. Every field of a record is checked before use,
so a record from a hostile or newer file is skipped or shown as unknown, never a crash.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import rules
from ._format import (
    FIELDS,
    T_ANNOTATION,
    T_DROPPED,
    T_EVENT,
    T_FILE,
    T_HEARTBEAT,
    T_SESSION_END,
    T_SESSION_START,
    T_SESSION_TAGS,
    T_SPAN_END,
    T_SPAN_START,
    decode_attrs,
    is_writer_id,
    record_dict,
    record_issues,
)
from ._nodes import MAX_ID, NO_ID, NO_STATUS, OPEN, NodesView, NodeTable, Strings
from .reader import Batch, gc_paused

_int, _num = rules.as_int, rules.as_number


def _str(value: Any, default: str = "") -> str:
    return value if isinstance(value, str) else default


def _add(table: dict[str, list[Any]], key: str, calls: int, tokens: int, cost: float | None) -> None:
    entry = table.get(key)
    if entry is None:
        entry = table[key] = [0, 0, None]
    entry[0] += calls
    entry[1] += tokens
    if cost is not None:
        entry[2] = (entry[2] or 0.0) + cost


class Breakdown:
    """A let-go session's per-model or per-agent figures, no longer counted into: its
    ``entries`` (name, calls, tokens, cost) by name, read like the dict it replaces (name ->
    [calls, tokens, cost]). The dict and its lists took ~320 bytes a session each; the entries
    are also what the session list's row holds, so both share them."""

    __slots__ = ("entries",)

    def __init__(self, table: dict[str, list[Any]] | Breakdown) -> None:
        if isinstance(table, Breakdown):
            self.entries: tuple[tuple[Any, ...], ...] = table.entries
        elif len(table) == 1:  # the usual case, made 100,000 times at an open: no sort
            ((name, figures),) = table.items()
            self.entries = ((name, *figures),)
        else:
            self.entries = tuple((name, *figures) for name, figures in sorted(table.items()))

    @classmethod
    def of_entries(cls, entries: tuple[tuple[Any, ...], ...]) -> Breakdown:
        """A breakdown holding these entries (by name, as ``entries`` keeps them) themselves."""
        made = object.__new__(cls)
        made.entries = entries
        return made

    def __iter__(self) -> Iterator[str]:
        return (entry[0] for entry in self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def items(self) -> Iterator[tuple[str, list[Any]]]:
        return ((entry[0], list(entry[1:])) for entry in self.entries)

    def __eq__(self, other: object) -> bool:
        """The same figures, whichever form either side is in."""
        if isinstance(other, Breakdown):
            return self.entries == other.entries
        return isinstance(other, dict) and dict(self.items()) == other

    __hash__ = None  # type: ignore[assignment]  # equal to a dict, so not hashable either

    def __repr__(self) -> str:
        return f"Breakdown({dict(self.items())!r})"


def _entries(table: dict[str, list[Any]] | Breakdown) -> tuple[tuple[Any, ...], ...]:
    """Per-model or per-agent figures as (name, calls, tokens, cost) by name (a let-go
    session's own entries: whatever holds them shares them)."""
    return table.entries if isinstance(table, Breakdown) else Breakdown(table).entries


# The fields of ``SessionInfo.listed``.
LISTED = (
    "id",
    "name",
    "tags",
    "start",
    "end",
    "last_seen",
    "end_state",
    "reason",
    "event_count",
    "error_count",
    "llm_calls",
    "tool_calls",
    "prompt_tokens",
    "completion_tokens",
    "cost",
    "dropped",
    "hostname",
    "pid",
    "files",
    "models",
    "agents",
    "heartbeat_interval",
    "annotations",
)


@dataclass(slots=True)  # a folder can hold 100,000 sessions: no per-instance dict (1.2 KB each)
class SessionInfo:
    id: str
    name: str = "(unknown session)"
    tags: list[str] = field(default_factory=list)
    start: int | None = None
    end: int | None = None
    end_state: str | None = None
    reason: str | None = None
    hostname: str | None = None
    pid: int | None = None
    files: dict[Path, None] = field(default_factory=dict)
    start_file: Path | None = None
    start_continued: bool = False
    end_file: Path | None = None
    tags_ts: int = 0  # time of the session_tags record the tags come from
    last_seen: int = 0
    heartbeat_interval: float = rules.DEFAULT_HEARTBEAT
    dropped: int = 0
    table: NodeTable = field(default_factory=lambda: NodeTable(Strings()))
    event_count: int = 0
    error_count: int = 0
    llm_calls: int = 0
    tool_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None
    # name -> [calls, tokens, cost or None]: LLM calls per model; for agents, the agent's spans
    # and the tokens and cost of the LLM calls made under them.
    # (A ``Breakdown`` once the session's nodes are let go: it then counts nothing more.)
    models: dict[str, list[Any]] | Breakdown = field(default_factory=dict)
    agents: dict[str, list[Any]] | Breakdown = field(default_factory=dict)
    # [ts, target, name, value, author, note] of every annotation read (rules.current_annotations)
    annotations: list[list[Any]] = field(default_factory=list)
    # span id -> errors recorded inside it (error events, failed spans): a failed span with
    # one is not counted again, so one failure crossing several spans counts once.
    errors_inside: dict[int, int] = field(default_factory=dict)
    # Its table and totals were folded from its records as they were read. False once the
    # catalog let go of its nodes (``Catalog.unload``): it then folds no more records and is
    # read again whole instead (``Catalog.stale``).
    folded: bool = True
    # Its LLM and tool call durations as a packed sketch (``recorder.latency``), made when its
    # nodes are let go: analytics sums sketches instead of reading every node back.
    latency: bytes | None = None

    @property
    def nodes(self) -> NodesView:
        """The session's spans and events by id (``Node`` objects made on demand)."""
        return NodesView(self.table)

    def status(self, now_ns: int | None = None) -> str:
        return rules.session_status(self.end_state, self.last_seen, self.heartbeat_interval, now_ns)

    def listed(self) -> tuple[Any, ...]:
        """What a list of sessions shows of it, in ``LISTED`` order, as immutable values (the
        viewer's row is this plus its status; the index cache keeps it so a second open lists
        a folder before making its sessions): tags, files and per-model / per-agent entries
        (name, calls, tokens, cost) as tuples, and the annotations in force on the session
        itself as (name, value, author, note, time)."""
        return (
            self.id,
            self.name,
            tuple(self.tags),
            self.start,
            self.end,
            self.last_seen,
            self.end_state,
            self.reason,
            self.event_count,
            self.error_count,
            self.llm_calls,
            self.tool_calls,
            self.prompt_tokens,
            self.completion_tokens,
            self.cost,
            self.dropped,
            self.hostname,
            self.pid,
            tuple(self.files),
            _entries(self.models),
            _entries(self.agents),
            self.heartbeat_interval,
            tuple((e[2], e[3], e[4], e[5], e[0]) for e in rules.current_annotations(self.annotations) if e[1] is None)
            if self.annotations
            else (),
        )

    def duration(self, now_ns: int | None = None) -> float | None:
        return rules.duration(self.start, self.end, self.status(now_ns), self.last_seen, now_ns)

    # -------------------------------------------------------------- counting
    def _count(
        self, kind: str, name: str, parent: int, packed: bytes | None, sign: int = 1, end_packed: bytes | None = None
    ) -> None:
        """Add (sign 1) or take back (sign -1) a node's part of the totals, as rules.py defines
        them; its attributes are the start ones merged with the end ones."""
        self.event_count += sign
        if kind == rules.ERROR_KIND:
            self.error_count += sign
            if parent != NO_ID:
                self.errors_inside[parent] = self.errors_inside.get(parent, 0) + sign
            return
        if kind not in rules.COUNTED_KINDS:
            return
        if kind == rules.AGENT_KIND:
            _add(self.agents, name, sign, 0, None)  # type: ignore[arg-type]  # folding: a dict
            return
        if _holds_totals(packed, kind) or _holds_totals(end_packed, kind):
            attrs = decode_attrs(packed)
            if end_packed is not None:
                attrs = {**attrs, **decode_attrs(end_packed)}
        else:
            attrs = {}  # what decoding would give, as far as totals go (most tool spans)
        cost = _num(attrs.get("cost"))
        if cost is not None:
            cost *= sign
            self.cost = (self.cost or 0.0) + cost
        if kind == rules.TOOL_KIND:
            self.tool_calls += sign
            return
        if kind != rules.LLM_KIND:
            return
        self.llm_calls += sign
        prompt, completion = _int(attrs.get("prompt_tokens")) or 0, _int(attrs.get("completion_tokens")) or 0
        self.prompt_tokens += sign * prompt
        self.completion_tokens += sign * completion
        model = attrs.get("model")
        tokens = sign * (prompt + completion)
        # Only a session that folds records counts: its breakdowns are dicts (``Catalog.unload``).
        _add(self.models, model if isinstance(model, str) else "(unknown model)", sign, tokens, cost)  # type: ignore[arg-type]
        agent = self._agent_of(parent)
        if agent is not None:
            _add(self.agents, agent, 0, tokens, cost)  # type: ignore[arg-type]

    def _count_failure(self, span_id: int, parent: int) -> None:
        """A span ended with status error: an error, unless one was recorded inside it."""
        if not self.errors_inside.get(span_id):
            self.error_count += 1
        if parent != NO_ID:
            self.errors_inside[parent] = self.errors_inside.get(parent, 0) + 1

    def _agent_of(self, parent: int) -> str | None:
        """The name of the nearest agent span at or above the span parent, if any."""
        table = self.table
        for _ in range(64):
            row = table.row(parent) if parent != NO_ID else None
            if row is None:
                return None
            if table.kind(row) == "agent":
                return table.name(row)
            parent = table.parents[row]
        return None

    def _recount(self) -> None:
        self.event_count = self.error_count = self.llm_calls = self.tool_calls = 0
        self.prompt_tokens = self.completion_tokens = 0
        self.cost = None
        self.models = {}
        self.agents = {}
        self.errors_inside = {}
        table = self.table
        for row in range(len(table)):
            self._count(table.kind(row), table.name(row), table.parents[row], table.attrs(row), 1, table.end_attrs(row))
        failed = [row for row in range(len(table)) if table.spans[row] and table.status(row) == "error"]
        for row in sorted(failed, key=lambda r: table.ends[r]):  # inner spans end first
            self._count_failure(table.ids[row], table.parents[row])


class Catalog:
    """All sessions seen so far in a folder, updated by applying reader batches."""

    def __init__(self, strings: Strings | None = None, *, tables: bool = True) -> None:
        """``tables=False``: a session's node columns are made when a node is added (for a
        catalog of what lists show, whose sessions have none: 1.2 KB less each)."""
        self.tables = tables
        self.sessions: dict[str, SessionInfo] = {}
        self.file_meta: dict[Path, dict[str, Any]] = {}
        # kinds, names, statuses and paths, shared by all sessions (and by catalogs reading
        # some of them again: their tables can then be swapped in)
        self.strings = strings if strings is not None else Strings()
        # Unloaded sessions that records were read for since: to be read again whole.
        self.stale: set[str] = set()
        self._pending_ends: dict[tuple[str, int], tuple[list[Any], Path]] = {}
        self._waiting_annotations: dict[str, list[list[Any]]] = {}  # for sessions not read yet

    def apply(self, batch: Batch) -> set[str]:
        """Fold a batch in; return the ids of sessions that changed (or vanished)."""
        changed: set[str] = set()
        for path in batch.removed:
            changed |= self.remove_file(path)
        with gc_paused():
            for chunk in batch.files:
                self._apply_chunk(chunk.path, chunk.records, changed)
        return changed

    def _apply_chunk(self, path: Path, records: list[list[Any]], changed: set[str]) -> None:
        """Fold one file's records. Spans and events of a session already known in this file,
        with every field well-formed, take an inlined path (they are nearly all records);
        anything else goes through ``_apply_record``, which checks and handles every case."""
        code_of = self.strings.code
        index = self.strings._index  # read-only lookups, on the hot path
        file_code, ok_code, error_code = code_of(path), code_of("ok"), code_of("error")
        slow = self._apply_record
        last_sid: Any = None
        source: Any = None
        session: SessionInfo | None = None
        table: NodeTable | None = None
        for record in records:
            code = record[0]
            if session is not None and len(record) > 2 and record[2] == last_sid:
                ts = record[1]
                if type(ts) is int and -MAX_ID <= ts <= MAX_ID:
                    if code == T_EVENT and len(record) >= 9:
                        if _fast_node(session, table, record, ts, False, index, file_code, ok_code, error_code):  # type: ignore[arg-type]
                            continue
                    elif (
                        code == T_SPAN_START
                        and len(record) >= 8
                        and (not self._pending_ends or (last_sid, record[3]) not in self._pending_ends)
                    ):
                        if _fast_node(session, table, record, ts, True, index, file_code, ok_code, error_code):  # type: ignore[arg-type]
                            continue
                    elif code == T_SPAN_END and len(record) >= 6:
                        row = table.open_rows.get(record[3])  # type: ignore[union-attr]
                        if row is not None:
                            if ts > session.last_seen:
                                session.last_seen = ts
                            _finish(session, table, row, record, ts)  # type: ignore[arg-type]
                            continue
            elif code == T_SESSION_START and len(record) > 5 and type(record[5]) is dict and record[5].get("continued"):
                # A rotated file restating a session whose original start was read: it only
                # says the session has records in this file (half the records of a folder of
                # many small files).
                known = self.sessions.get(record[2]) if type(record[2]) is str else None
                if (
                    known is not None
                    and known.folded
                    and known.start_file is not None
                    and not known.start_continued
                    and known.start is not None
                ):
                    ts = record[1]
                    if type(ts) is int and ts <= MAX_ID and ts > known.last_seen:
                        known.last_seen = ts
                    if path not in known.files:
                        known.files[path] = None
                    changed.add(known.id)
                    session, table, last_sid = known, known.table, known.id
                    if source is None:
                        source = self._source_of(path)
                    table.note_source(source)
                    continue
            sid = slow(record, path)
            if sid is not None:
                changed.add(sid)
                candidate = self.sessions.get(sid)
                if candidate is not None and candidate.start is not None and candidate.folded:
                    session, table, last_sid = candidate, candidate.table, sid
                    if source is None:  # once per chunk: the file record comes first
                        source = self._source_of(path)
                    table.note_source(source)
            elif code in (T_HEARTBEAT, T_DROPPED) and len(record) > 2:
                changed.update(s for s in _list(record[2]) if isinstance(s, str) and s in self.sessions)

    def note_file(self, path: Path, sids: Iterable[str]) -> None:
        """Those of these sessions that are known have records in path (a file's summary says
        so, format_spec.md 3.2): reading them again reads it too."""
        for sid in sids:
            session = self.sessions.get(sid)
            if session is not None and path not in session.files:
                session.files[path] = None

    def host_info(self, session: SessionInfo) -> dict[str, Any] | None:
        for path in ([session.start_file] if session.start_file else []) + list(session.files):
            meta = self.file_meta.get(path)
            if meta and isinstance(meta.get("host_info"), dict):
                info: dict[str, Any] = meta["host_info"]
                return info
        return None

    def find(self, prefix: str) -> list[SessionInfo]:
        """Sessions whose id starts with prefix (an exact id matches alone)."""
        if prefix in self.sessions:
            return [self.sessions[prefix]]
        return [s for sid, s in self.sessions.items() if sid.startswith(prefix)]

    def ordered(self) -> list[SessionInfo]:
        return sorted(self.sessions.values(), key=lambda s: (s.start or 0, s.id))

    def _source_of(self, path: Path) -> Any:
        """Who wrote a file's nodes: the writer id for sessiontrail writers (whose files may
        be several, rotated), else the file itself (exports, imports, other tools)."""
        meta = self.file_meta.get(path)
        writer = meta.get("writer") if meta else None
        return writer if is_writer_id(writer) else path

    def remove_file(self, path: Path) -> set[str]:
        """Forget everything a file contributed (it was deleted or replaced)."""
        self.file_meta.pop(path, None)
        changed: set[str] = set()
        for sid, session in list(self.sessions.items()):
            if path not in session.files:
                continue
            changed.add(sid)
            del session.files[path]
            if not session.files:
                del self.sessions[sid]
                self.stale.discard(sid)
                continue
            if not session.folded:
                self.stale.add(sid)
                continue
            session.table = session.table.without_file(path)
            if session.end_file == path:
                session.end = session.end_state = session.reason = session.end_file = None
            session._recount()
        return changed

    def unload(self, sid: str, load: Callable[[NodeTable], None]) -> None:
        """Let go of a session's nodes, keeping what the session list shows of it; load(table)
        fills its table again when something uses it (``table.key`` is the session's id).
        Records read for it afterwards are not folded: it is marked stale, to be read again
        whole (``read_sessions``)."""
        session = self.sessions[sid]
        if session.table.loaded:
            from .latency import sketch_of  # numpy: only where nodes are let go

            session.latency = sketch_of(session.table)
        session.table = NodeTable.deferred(self.strings, load, sid)
        session.folded = False
        session.errors_inside = {}
        session.models, session.agents = Breakdown(session.models), Breakdown(session.agents)

    def settled(self, sid: str) -> bool:
        """Whether a session ended with nothing of it waiting (a span_end before its start):
        its nodes can be let go and read again when wanted."""
        session = self.sessions.get(sid)
        return (
            session is not None
            and session.end_state is not None
            and not (self._pending_ends and any(key[0] == sid for key in self._pending_ends))
        )

    def replace(self, fresh: SessionInfo) -> None:
        """Put a session read again whole in place of the stale one (keeping the annotations
        read so far, which come from files of their own)."""
        old = self.sessions.get(fresh.id)
        if old is not None:
            fresh.annotations = old.annotations
        self.sessions[fresh.id] = fresh
        self.stale.discard(fresh.id)

    def _unfolded(self, sid: str, path: Path) -> bool:
        """A record for sid was read: True (and sid marked stale) if sid no longer folds."""
        session = self.sessions.get(sid)
        if session is None or session.folded:
            return False
        if path not in session.files:
            session.files[path] = None
        self.stale.add(sid)
        return True

    # -------------------------------------------------------------- records
    def _session(self, sid: str, path: Path, ts: int | None) -> SessionInfo:
        session = self.sessions.get(sid)
        if session is None:
            if self.tables:
                table = NodeTable(self.strings)
            else:
                table = NodeTable.deferred(self.strings, _no_nodes)
                table.source = table.seen = None  # noting where nodes come from makes no columns
            session = self.sessions[sid] = SessionInfo(sid, table=table)
            session.annotations = self._waiting_annotations.pop(sid, [])
            meta = self.file_meta.get(path)
            if meta:
                session.heartbeat_interval = _num(meta.get("heartbeat_interval")) or rules.DEFAULT_HEARTBEAT
        if path not in session.files:
            session.files[path] = None
        if ts is not None and ts > session.last_seen:
            session.last_seen = ts
        return session

    def _apply_record(self, record: list[Any], path: Path) -> str | None:
        """Fold one record (on-disk form, ``_format.FIELDS``); return its session's id."""
        code = record[0]
        names = FIELDS.get(code)
        if names is None:
            return None  # a record type from a newer version: ignored
        if len(record) <= len(names):
            record = record + [None] * (len(names) + 1 - len(record))
        ts = record[1] if type(record[1]) is int else None
        if code == T_FILE:
            # The first one opens the file; another after it means files were concatenated
            # (copies of a file are merged by the reader).
            if path not in self.file_meta:
                self.file_meta[path] = record_dict(record)
            return None
        if code == T_HEARTBEAT:
            interval = _num(record[3])
            for sid in _list(record[2]):
                if isinstance(sid, str) and not self._unfolded(sid, path):
                    session = self._session(sid, path, ts)
                    if interval:
                        session.heartbeat_interval = interval
            return None
        if code == T_DROPPED:
            count = _int(record[3]) or 0
            for sid in _list(record[2]):
                if isinstance(sid, str) and sid in self.sessions and not self._unfolded(sid, path):
                    session = self.sessions[sid]
                    session.dropped = max(session.dropped, count)
                    if path not in session.files:
                        session.files[path] = None  # so a read of the session's files sees it
            return None
        if code == T_ANNOTATION:
            self._annotate(record)
            return record[2] if isinstance(record[2], str) and record[2] in self.sessions else None
        sid = record[2]
        if not isinstance(sid, str):
            return None
        if self._unfolded(sid, path):
            return sid
        session = self._session(sid, path, ts)
        if code == T_EVENT:
            self._add_node(session, record, path, ts, is_span=False)
        elif code == T_SPAN_START:
            self._add_node(session, record, path, ts, is_span=True)
        elif code == T_SPAN_END:
            span = record[3]
            if type(span) is int:
                row = session.table.open_rows.get(span)
                if row is not None:
                    _finish(session, session.table, row, record, ts)
                elif not session.table.has(span):
                    self._pending_ends[(sid, span)] = (record, path)
        elif code == T_SESSION_START:
            # Rotated files restate open sessions ("continued"); the original start wins.
            more = record[5] if len(record) > 5 and isinstance(record[5], dict) else {}
            continued = bool(more.get("continued"))
            if session.start_file is None or (session.start_continued and not continued):
                session.start_file = path
                session.start_continued = continued
                session.name = _str(record[3], session.name)
                if isinstance(record[4], list):
                    session.tags = [str(t) for t in record[4]]
                session.start = ts if ts is not None else session.start
                session.hostname = _str(more.get("host")) or session.hostname
                session.pid = _int(more.get("pid"))
        elif code == T_SESSION_END:
            # Two ends of one session (a copy of a file edited, two writers): the newest by time.
            if session.end_state is None or (ts is not None and (session.end is None or ts >= session.end)):
                session.end = ts
                session.end_state = _str(record[3], "Indeterminate")
                session.reason = None if record[4] is None else str(record[4])
                session.end_file = path
        elif code == T_SESSION_TAGS:
            # The newest by time (read order is not time order across files).
            if isinstance(record[3], list) and (ts is None or ts >= session.tags_ts):
                session.tags = [str(t) for t in record[3]]
                session.tags_ts = ts if ts is not None else session.tags_ts
        if session.start is None and ts is not None:
            session.start = ts
        return sid

    def _annotate(self, record: list[Any]) -> None:
        """An annotation joins its session's history (one not yet read waits for it: an
        annotation alone does not make a session)."""
        if any(issue.startswith("dropped") for issue in record_issues(record)):
            return
        sid = record[2]
        more = record[7] if len(record) > 7 and type(record[7]) is dict else {}
        note = more.get("note") if isinstance(more.get("note"), str) else None
        author = record[6] if isinstance(record[6], str) else None
        entry = [_int(record[1]), record[3], record[4], record[5], author, note]
        session = self.sessions.get(sid)
        if session is None:
            self._waiting_annotations.setdefault(sid, []).append(entry)
        else:
            session.annotations.append(entry)

    def _add_node(self, session: SessionInfo, record: list[Any], path: Path, ts: int | None, *, is_span: bool) -> None:
        # span_start: [code, ts, session, span, parent, kind, name, attrs]
        # event:      [code, ts, session, id, parent, kind, name, end_ts, attrs]
        node_id = record[3]
        if type(node_id) is not int or not 0 <= node_id <= MAX_ID or ts is None or not -MAX_ID <= ts <= MAX_ID:
            return
        table = session.table
        table.note_source(self._source_of(path))
        if table.has(node_id):
            return  # a duplicate (the same session exported or copied): the first one counts
        parent = record[4]
        if type(parent) is not int or not 0 <= parent <= MAX_ID:
            parent = NO_ID
        kind = record[5] if type(record[5]) is str else "event"
        name = record[6] if type(record[6]) is str else kind
        if is_span:
            end, status, packed = OPEN, None, record[7]
        else:
            end = record[7] if type(record[7]) is int and ts <= record[7] <= MAX_ID else ts
            status, packed = ("error" if kind == "error" else "ok"), record[8]
            if end > session.last_seen:
                session.last_seen = end
        if type(packed) is not bytes:
            packed = None
        row = table.add(node_id, parent, kind, name, ts, end, status, packed, is_span, path)
        session._count(kind, name, parent, packed)
        if is_span and self._pending_ends:
            pending = self._pending_ends.pop((session.id, node_id), None)
            if pending is not None:
                _finish(session, table, row, pending[0], _int(pending[0][1]))


def _fast_node(
    session: SessionInfo,
    table: NodeTable,
    record: list[Any],
    ts: int,
    is_span: bool,
    index: dict[Any, int],
    file_code: int,
    ok_code: int,
    error_code: int,
) -> bool:
    """Add a well-formed span start or event the quick way; False (nothing done) otherwise.
    Does exactly what ``Catalog._add_node`` does for such a record."""
    node_id, parent, kind, name = record[3], record[4], record[5], record[6]
    if type(node_id) is not int or not 0 <= node_id <= MAX_ID or (table.seen is not None and node_id in table.seen):
        return False
    if parent is None:
        parent = NO_ID
    elif type(parent) is not int or not 0 <= parent <= MAX_ID:
        return False
    if type(kind) is not str or type(name) is not str:
        return False
    kind_code, name_code = index.get(kind), index.get(name)
    if kind_code is None or name_code is None:
        return False  # a new string: the slow path adds it to the table
    if is_span:
        end, packed, status = OPEN, record[7], NO_STATUS
    else:
        end, packed = record[7], record[8]
        if end is None:
            end = ts
        elif type(end) is not int or not ts <= end <= MAX_ID:
            return False
        status = error_code if kind == "error" else ok_code
        if end > session.last_seen:
            session.last_seen = end
    if packed is not None and type(packed) is not bytes:
        return False
    if ts > session.last_seen:
        session.last_seen = ts
    row = len(table.ids)
    table.ids.append(node_id)
    table.parents.append(parent)
    table.starts.append(ts)
    table.ends.append(end)
    table.kinds.append(kind_code)
    table.names.append(name_code)
    table.statuses.append(status)
    table.spans.append(is_span)
    table.files.append(file_code)
    table.attr_at.append(table._store(packed))
    table.end_attr_at.append(-1)
    if table.seen is not None:
        table.seen.add(node_id)
    if is_span:
        table.open_rows[node_id] = row
    if table._row_index is not None:
        table._row_index[node_id] = row
    if kind in rules.COUNTED_KINDS:
        session._count(kind, name, parent, packed)
    else:
        session.event_count += 1
    return True


def _holds_totals(packed: bytes | None, kind: str) -> bool:
    """Whether packed attributes may hold a key the totals of a node of this kind read
    (``cost``; for LLM calls also the token counts and ``model``). msgpack keeps a key's text
    as its UTF-8 bytes, so a key that is not among the bytes is not in the map: most nodes are
    then counted without decoding their attributes, with the same result."""
    if packed is None:
        return False
    return b"cost" in packed or (kind == rules.LLM_KIND and (b"_tokens" in packed or b"model" in packed))


def _no_nodes(table: NodeTable) -> None:
    """What a table made only when needed starts with: nothing."""


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _finish(session: SessionInfo, table: NodeTable, row: int, record: list[Any], ts: int | None) -> None:
    """Fold a span_end: [code, ts, session, span, status, attrs, more]. ``more`` may restate
    the span's kind and name (format_spec.md 5.6); the totals then count it as what it was."""
    end = ts if ts is not None and ts <= MAX_ID else table.starts[row]
    status = _str(record[4], "ok")
    end_packed = record[5] if type(record[5]) is bytes else None
    more = record[6] if len(record) > 6 and type(record[6]) is dict else None
    kind = table.kind(row)
    new_kind, new_name = kind, None
    if more is not None:
        if type(more.get("kind")) is str:
            new_kind = more["kind"]
        if type(more.get("name")) is str:
            new_name = more["name"]
    if new_kind != kind or (kind in rules.ATTRIBUTE_KINDS and _holds_totals(end_packed, kind)):
        parent = table.parents[row]
        session._count(kind, table.name(row), parent, table.attrs(row), -1)
        table.finish(row, end, status, end_packed)
        table.restate(row, new_kind, new_name)
        session._count(new_kind, table.name(row), parent, table.attrs(row), 1, end_packed)
    else:
        table.finish(row, end, status, end_packed)
        if new_name is not None:
            table.restate(row, kind, new_name)
    if status == "error":
        session._count_failure(table.ids[row], table.parents[row])


def read_sessions(paths: Iterable[Path], wanted: set[str], strings: Strings | None = None) -> Catalog:
    """The wanted sessions read whole from paths (their files; through the files' summaries),
    into a catalog sharing ``strings`` so their tables can replace another catalog's."""
    from .reader import FolderReader, Wanted

    reader = FolderReader(sorted(set(paths)), wanted=Wanted(wanted))
    catalog = Catalog(strings)
    reader.poll(final=True, apply=catalog.apply)
    return catalog


def load(paths: Iterable[str | Path] | str | Path, *, sessions: Iterable[str] | None = None) -> tuple[Catalog, Batch]:
    """Read paths once into a Catalog; the batch holds the problems found. ``sessions``: ids
    or id prefixes; read only the sessions they match (through the files' summaries, so the
    cost is that of those sessions, not of the folder)."""
    from .reader import FolderReader

    reader = FolderReader(paths, wanted=None if sessions is None else wanted_sessions(sessions))
    catalog = Catalog()
    batch = reader.poll(apply=catalog.apply)
    return catalog, batch


def wanted_sessions(prefixes: Iterable[str]) -> Callable[[str], bool]:
    """A ``FolderReader(wanted=...)`` test accepting the ids that start with any of prefixes."""
    from .reader import Wanted

    return Wanted(prefixes, prefixes=True)
