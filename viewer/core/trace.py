"""A session laid out for viewing: its nodes as a tree and as timeline lanes, in numpy arrays.

Qt-free. Built on the worker thread from a catalog SessionInfo; immutable afterwards, so the
GUI thread can read it freely. Everything per node is an array (a million spans lay out in
about a second and cost tens of bytes each); ``TraceNode`` objects are made for the few rows
someone looks at, and their attributes are decoded only then.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from recorder import rules
from recorder._format import decode_attrs
from recorder._nodes import NO_ID, NO_STATUS, OPEN, NodeTable
from recorder.catalog import SessionInfo
from recorder.display import format_cost, format_tokens
from recorder.lanes import assign_lanes
from recorder.query import looks_like_query, node_query

KINDS = (
    "agent",
    "operation",
    "task",
    "workflow",
    "tool",
    "llm",
    "error",
    "action",
    "guardrail",
    "handoff",
    "retriever",
    "embedding",
    "reranker",
    "evaluator",
    "other",
)
KIND_INDEX = {kind: i for i, kind in enumerate(KINDS)}

FLAG_FAILED = 1
FLAG_OPEN = 2
FLAG_POINT = 4
POINT_NS = 1_000_000  # events shorter than this are drawn as markers, not bars


class TraceNode:
    """One row of a Trace, made when asked for."""

    __slots__ = (
        "row",
        "id",
        "parent_row",
        "depth",
        "kind",
        "name",
        "start",
        "end",
        "open",
        "status",
        "is_span",
        "_trace",
        "_table",
        "_source",
    )

    def __init__(self, trace: Trace, row: int) -> None:
        table = trace.table
        source = int(trace.source[row])
        self.row = row
        self.id = int(trace.ids[row])
        self.parent_row = int(trace.parent_row[row])
        self.depth = int(trace.depth[row])
        self.kind = table.kind(source)
        self.name = table.name(source)
        self.start = int(table.starts[source])
        # Open when the trace was built (it may have ended since: the trace shows it as drawn).
        # A span ends once, so the end, status and end attributes of a closed one never change.
        self.open = bool(trace.flags[row] & FLAG_OPEN)
        self.end = max(self.start, trace.end if self.open else table.ends[source])  # open: the last record seen
        if self.open:
            self.status = rules.open_span_status(trace.status)
        else:
            status = table.statuses[source]
            self.status = "ok" if status == NO_STATUS else table.strings.values[status]
        self.is_span = bool(table.spans[source])
        self._trace = trace
        self._table = table
        self._source = source

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TraceNode) and (self._table, self._source) == (other._table, other._source)

    def __hash__(self) -> int:
        return hash((id(self._table), self._source))

    def __repr__(self) -> str:
        return f"<TraceNode row {self.row} {self.kind} {self.name!r}>"

    @property
    def trace(self) -> Trace:
        return self._trace

    @property
    def attrs(self) -> dict[str, Any]:
        """Start and end attributes as they were when the trace was built."""
        table, source = self._table, self._source
        attrs = decode_attrs(table.packed(table.attr_at[source]))
        end_attrs = None if self.open else table.packed(table.end_attr_at[source])
        return {**attrs, **decode_attrs(end_attrs)} if end_attrs else attrs

    @property
    def duration(self) -> float:
        return max(0, self.end - self.start) / 1e9

    @property
    def failed(self) -> bool:
        return self.status == "error"

    def preview(self, width: int = 80) -> str:
        """One short line about what this node did."""
        a = self.attrs
        if self.kind == "llm":
            text = format_tokens(rules.as_int(a.get("prompt_tokens")), rules.as_int(a.get("completion_tokens")))
            cost = rules.as_number(a.get("cost"))
            if cost is not None:
                text += f" · {format_cost(cost)}"
            error = a.get("error")
            completion = a.get("completion")
            if isinstance(error, dict) and error.get("message"):
                text += f" · {error['message']}"
            elif isinstance(completion, dict):
                calls = completion.get("tool_calls")
                names = [str(c.get("name")) for c in calls if isinstance(c, dict)] if isinstance(calls, list) else []
                said = completion.get("content") or ""
                text += f" · {said}" if said else ""
                text += f" · calls {', '.join(names)}" if names else ""
            elif completion:
                text += f" · {completion}"
        elif self.kind == "error":
            text = str(a.get("message") or a.get("details") or "")
        elif "error" in a and isinstance(a["error"], dict):
            text = ": ".join(str(a["error"][k]) for k in ("exception_type", "message") if a["error"].get(k))
        elif "output" in a:
            text = "→ " + _compact(a["output"])
        elif "returns" in a and a["returns"] is not None:
            text = "→ " + _compact(a["returns"])
        elif "input" in a:
            text = _compact(a["input"].get("args") if isinstance(a["input"], dict) else a["input"])
        elif "params" in a:
            text = _compact(a["params"])
        elif isinstance(a.get("otel_attributes"), dict) and "output.value" in a["otel_attributes"]:
            text = "→ " + str(a["otel_attributes"]["output.value"])
        else:
            text = ""
        text = " ".join(text.split())
        return text if len(text) <= width else text[: width - 1] + "…"


def _compact(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, default=repr)
    except (TypeError, ValueError):
        text = repr(value)
    return text[:200]


class _Nodes(Sequence[TraceNode]):
    """``trace.nodes[row]``: TraceNode objects made on demand."""

    def __init__(self, trace: Trace) -> None:
        self._trace = trace

    def __len__(self) -> int:
        return len(self._trace.ids)

    def __getitem__(self, row: int) -> TraceNode:  # type: ignore[override]
        if not -len(self) <= row < len(self):
            raise IndexError(row)
        return TraceNode(self._trace, row % len(self))

    def __iter__(self) -> Iterator[TraceNode]:
        return (TraceNode(self._trace, row) for row in range(len(self)))


SEARCH_PREVIEWS_UP_TO = 200_000  # nodes; above this a search looks at names and kinds only


class Trace:
    """A session's nodes in rows sorted by start, with their tree and their timeline lanes.

    A snapshot: it keeps copies of the columns it lays out, never views of the table's arrays
    (the worker thread keeps appending to those, and an array with a live view cannot grow),
    and which spans were open (``FLAG_OPEN``). A row's start, and the end, status and end
    attributes of a span that had ended, never change, so nodes read those from the table;
    a span open at layout stays open in this trace. So the timeline and the tree, both drawn
    from one trace, always agree.
    """

    def __init__(
        self, session_id: str, start: int, end: int, status: str, table: NodeTable, source: np.ndarray
    ) -> None:
        self.session_id = session_id
        self._tool_runs: dict[str, int] | None = None
        # node id -> its annotations in force: (name, value, author, note), oldest first
        self.annotations: dict[int, list[tuple[str, Any, str | None, str | None, int | None]]] = {}
        self.start = start  # ns: the session start (x = 0 on the timeline)
        self.end = end  # ns: the session end, or the last record seen
        self.status = status
        self.table = table
        self.source = source  # table row of each trace row
        cols = _columns(table)
        self.ids = cols["ids"][source]
        n = len(source)
        rows = np.arange(n, dtype=np.int64)
        # Parents: found by id; a parent must come first (start earlier), so the tree has no cycles.
        # (Sorting the ids costs 60 ms at 720k nodes: done only when some node has a parent;
        # else when row_of() first needs it.)
        parents = cols["parents"][source]
        self._by_id: np.ndarray | None = None
        if n and bool((parents != NO_ID).any()):
            by_id = self._ids_sorted()
            sorted_ids = self.ids[by_id]
            pos = np.minimum(np.searchsorted(sorted_ids, parents), n - 1)
            found = (parents != NO_ID) & (sorted_ids[pos] == parents)
            parent_row = np.where(found, by_id[pos], -1)
            self.parent_row = np.where(parent_row < rows, parent_row, -1).astype(np.int32)
            del sorted_ids, pos, found, parent_row
        else:
            self.parent_row = np.full(n, -1, dtype=np.int32)
        del parents
        depth = np.zeros(n, dtype=np.int16)
        has_parent = self.parent_row >= 0
        for _ in range(1024):  # one pass per level of nesting
            deeper = np.where(has_parent, depth[self.parent_row] + 1, 0).astype(np.int16)
            if np.array_equal(deeper, depth):
                break
            depth = deeper
        self.depth = depth
        # Children of each row, by start: rows grouped by parent (CSR); a stable sort of the
        # parents keeps each group in row order.
        order = np.argsort(self.parent_row, kind="stable")
        self._child_rows = order.astype(np.int32)
        self._child_bounds = np.searchsorted(self.parent_row[order], np.arange(-1, n + 1)).astype(np.int32)
        del order
        starts = cols["starts"][source]
        ends = cols["ends"][source]
        is_open = ends == OPEN
        ends = np.maximum(np.where(is_open, end, ends), starts)
        self.x0 = (starts - start) / 1e9
        self.x1 = (ends - start) / 1e9
        strings = table.strings.values
        self._kind_codes = cols["kinds"][source]
        self._name_codes = cols["names"][source]
        self.kind = np.full(n, KIND_INDEX["other"], dtype=np.int8)
        for code in np.unique(self._kind_codes).tolist():
            self.kind[self._kind_codes == code] = KIND_INDEX.get(strings[code], KIND_INDEX["other"])
        self.span_count = int(np.count_nonzero(cols["spans"][source]))
        status_codes = cols["statuses"][source]
        error_code = table.strings._index.get("error", -2)  # one lookup, not a scan
        spans = cols["spans"][source].astype(bool)
        self.flags = (
            np.where((status_codes == error_code) & ~is_open, FLAG_FAILED, 0)
            | np.where(is_open, FLAG_OPEN, 0)
            | np.where(~spans & (ends - starts < POINT_NS), FLAG_POINT, 0)
        ).astype(np.uint8)
        finish = np.where(self.flags & FLAG_POINT, self.x0, self.x1)  # markers take no room in a lane
        self.lane, self.lane_count = assign_lanes(depth, self.x0, finish)
        lane_order = np.argsort(self.lane, kind="stable").astype(np.int32)  # rows are by start already
        bounds = np.searchsorted(self.lane[lane_order], np.arange(self.lane_count + 1))
        self.lane_rows = [lane_order[bounds[i] : bounds[i + 1]] for i in range(self.lane_count)]
        # Per lane, by start (nodes in a lane do not overlap, so ends are sorted too): what the
        # timeline needs to draw a lane of a million spans without gathering them per frame.
        self.lane_x0 = [self.x0[r] for r in self.lane_rows]
        self.lane_x1 = [np.maximum(self.x1[r], self.lane_x0[i]) for i, r in enumerate(self.lane_rows)]
        self.lane_kind = [self.kind[r] for r in self.lane_rows]
        self.lane_flags = [self.flags[r] for r in self.lane_rows]
        self.lane_failed = [  # failures among a lane's first i nodes
            np.concatenate([[0], np.cumsum(f & FLAG_FAILED, dtype=np.int32)]) for f in self.lane_flags
        ]

    @property
    def nodes(self) -> _Nodes:
        """``trace.nodes[row]``: TraceNode objects made on demand. (Made per use, not kept: a
        trace and a helper pointing at each other would wait for the cycle collector.)"""
        return _Nodes(self)

    def __len__(self) -> int:
        return len(self.ids)

    def children(self, row: int) -> np.ndarray:
        """Rows whose parent is row (-1: the roots), by start."""
        return self._child_rows[self._child_bounds[row + 1] : self._child_bounds[row + 2]]

    @property
    def roots(self) -> np.ndarray:
        return self.children(-1)

    def _ids_sorted(self) -> np.ndarray:
        """Rows in order of their ids (for finding a node by id), made once."""
        if self._by_id is None:
            self._by_id = np.argsort(self.ids, kind="stable").astype(np.int32)
        return self._by_id

    def row_of(self, node_id: int) -> int | None:
        by_id = self._ids_sorted()
        sorted_ids = self.ids[by_id]  # made per call (a few ms at 1M): kept, it would cost 8 bytes a node
        i = int(np.searchsorted(sorted_ids, node_id))
        if i < len(sorted_ids) and sorted_ids[i] == node_id:
            return int(by_id[i])
        return None

    def tool_runs(self) -> dict[str, int]:
        """Rows of the tool (and handoff) spans that ran a tool call the model asked for, by
        the call's id (``tool_call_id``, where the instrumentation gave it)."""
        if self._tool_runs is None:
            runs: dict[str, int] = {}
            for kind in ("tool", "handoff"):
                for row in self.rows_of_kind(kind).tolist():
                    call_id = self.nodes[int(row)].attrs.get("tool_call_id")
                    if isinstance(call_id, str):
                        runs.setdefault(call_id, int(row))
            self._tool_runs = runs
        return self._tool_runs

    def rows_of_kind(self, kind: str) -> np.ndarray:
        return np.flatnonzero(self.kind == KIND_INDEX.get(kind, KIND_INDEX["other"]))

    def visible_rows(self, text: str) -> set[int] | None:
        """Rows matching text (name, kind or, up to SEARCH_PREVIEWS_UP_TO nodes, the preview),
        or the clause of a ``has(...)`` query (``kind = tool and status = error``), plus all
        their ancestors; None = all. A malformed clause raises ``QueryError``."""
        needle = text.strip().lower()
        if not needle:
            return None
        if looks_like_query(text):
            clause = node_query(text)
            table = self.table
            hits = [row for row, source in enumerate(self.source.tolist()) if clause(table, source)]
            return self._with_ancestors(hits)
        strings = self.table.strings.values
        codes = np.unique(np.concatenate([self._name_codes, self._kind_codes])).tolist()
        hits = [c for c in codes if isinstance(strings[c], str) and needle in strings[c].lower()]
        kinds = [c for c in codes if strings[c] == needle]
        match = np.isin(self._name_codes, hits) | np.isin(self._kind_codes, kinds)
        if len(self) <= SEARCH_PREVIEWS_UP_TO:
            for miss in np.flatnonzero(~match).tolist():
                if needle in self.nodes[int(miss)].preview(200).lower():
                    match[miss] = True
        return self._with_ancestors(np.flatnonzero(match).tolist())

    def _with_ancestors(self, hits: list[int]) -> set[int]:
        keep: set[int] = set()
        for hit in hits:
            row = int(hit)
            while row >= 0 and row not in keep:
                keep.add(row)
                row = int(self.parent_row[row])
        return keep

    def row_at(self, x: float, lane: int, tolerance: float = 0.0) -> int | None:
        """The node drawn at time x (seconds) in lane, preferring the latest start."""
        if not 0 <= lane < self.lane_count or not len(self.lane_rows[lane]):
            return None
        starts = self.lane_x0[lane]
        rows = self.lane_rows[lane]
        i = bisect_right(starts, x + tolerance) - 1
        best = None
        while i >= 0:
            row = int(rows[i])
            if self.x1[row] + tolerance >= x:
                best = row
                break
            if x - starts[i] > 3600 * 24:  # spans in one lane never overlap; stop early
                break
            i -= 1
        return best


def _columns(table: NodeTable) -> dict[str, np.ndarray]:
    """numpy views of a table's columns (no copies)."""

    def view(column: Any, dtype: Any) -> np.ndarray:
        return np.frombuffer(column, dtype=dtype) if len(column) else np.zeros(0, dtype)

    return {
        "ids": view(table.ids, np.int64),
        "parents": view(table.parents, np.int64),
        "starts": view(table.starts, np.int64),
        "ends": view(table.ends, np.int64),
        "kinds": view(table.kinds, np.int32),
        "names": view(table.names, np.int32),
        "statuses": view(table.statuses, np.int32),
        "spans": view(table.spans, np.int8),
    }


def _by_start_then_id(starts: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Table rows by start, then id. Rows are nearly in start order already (records are
    written as things happen), which a stable sort (timsort) handles in linear time; the
    general two-key sort (127 ms at 720k nodes with random ids) only when starts tie."""
    order = np.argsort(starts, kind="stable")
    ordered = starts[order]
    if len(ordered) > 1 and bool((ordered[1:] == ordered[:-1]).any()):
        order = np.lexsort((ids, starts))
    return order.astype(np.int32)


def build_trace(session: SessionInfo, now_ns: int | None = None) -> Trace:
    status = session.status(now_ns)
    table = session.table
    cols = _columns(table)
    starts = cols["starts"]
    start = session.start if session.start is not None else (int(starts.min()) if len(starts) else 0)
    end = rules.data_end(start, session.end, session.last_seen) or start
    source = _by_start_then_id(starts, cols["ids"])
    trace = Trace(session.id, start, end, status, table, source)
    for e in rules.current_annotations(session.annotations):
        if e[1] is not None:
            trace.annotations.setdefault(e[1], []).append((e[2], e[3], e[4], e[5], e[0]))
    return trace
