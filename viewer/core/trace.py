"""A session laid out for viewing: its nodes as a tree and as timeline lanes (numpy arrays).

Qt-free. Built on the worker thread from a catalog SessionInfo; immutable afterwards, so the
GUI thread can read it freely.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any

import numpy as np

from recorder.catalog import ENDED, RUNNING, Node, SessionInfo, assign_lanes

KINDS = ("agent", "operation", "task", "workflow", "tool", "llm", "error", "action", "guardrail", "other")
KIND_INDEX = {kind: i for i, kind in enumerate(KINDS)}

FLAG_FAILED = 1
FLAG_OPEN = 2
FLAG_POINT = 4
POINT_NS = 1_000_000  # events shorter than this are drawn as markers, not bars


@dataclass(frozen=True, slots=True)
class TraceNode:
    row: int
    id: int
    parent_row: int  # -1 for a root
    depth: int
    kind: str
    name: str
    start: int  # ns
    end: int  # ns; for an open span, the last record seen
    open: bool  # a span that never ended (still running, or cut off)
    status: str  # ok | error | cancelled | running | unfinished
    is_span: bool
    attrs: dict[str, Any]

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
            tokens = f"{a.get('prompt_tokens') or 0}+{a.get('completion_tokens') or 0} tok"
            cost = a.get("cost")
            text = f"{tokens}" + (f" · ${cost:.4f}" if isinstance(cost, (int, float)) and not isinstance(cost, bool) else "")
            completion = a.get("completion")
            if isinstance(completion, dict):
                completion = completion.get("content")
            if completion:
                text += f" · {completion}"
        elif self.kind == "error":
            text = str(a.get("message") or a.get("details") or "")
        elif "error" in a and isinstance(a["error"], dict):
            text = f"{a['error'].get('exception_type')}: {a['error'].get('message')}"
        elif "output" in a:
            text = "→ " + _compact(a["output"])
        elif "returns" in a and a["returns"] is not None:
            text = "→ " + _compact(a["returns"])
        elif "input" in a:
            text = _compact(a["input"].get("args") if isinstance(a["input"], dict) else a["input"])
        elif "params" in a:
            text = _compact(a["params"])
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


@dataclass(frozen=True)
class Trace:
    session_id: str
    start: int  # ns: the session start (x = 0 on the timeline)
    end: int  # ns: the session end, or the last record seen
    status: str
    nodes: list[TraceNode]  # sorted by start
    children: list[list[int]]  # rows of each row's children, by start
    roots: list[int]
    row_of: dict[int, int]  # node id -> row
    lane: np.ndarray  # int32 per row
    lane_count: int
    x0: np.ndarray  # float64 seconds from start
    x1: np.ndarray
    kind: np.ndarray  # int8 index into KINDS
    flags: np.ndarray  # uint8 FLAG_*
    lane_rows: list[np.ndarray]  # rows in each lane, by start
    lane_x0: list[np.ndarray]  # their starts, for bisecting

    def __len__(self) -> int:
        return len(self.nodes)

    @property
    def span_count(self) -> int:
        return int(np.count_nonzero((self.flags & FLAG_POINT) == 0))

    def visible_rows(self, text: str) -> set[int] | None:
        """Rows matching text (name, kind or preview) plus all their ancestors; None = all."""
        needle = text.strip().lower()
        if not needle:
            return None
        keep: set[int] = set()
        for node in self.nodes:
            if needle in node.name.lower() or needle == node.kind or needle in node.preview(200).lower():
                row = node.row
                while row >= 0 and row not in keep:
                    keep.add(row)
                    row = self.nodes[row].parent_row
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


def build_trace(session: SessionInfo, now_ns: int | None = None) -> Trace:
    status = session.status(now_ns)
    start = session.start if session.start is not None else (min((n.start for n in session.nodes.values()), default=0))
    last = max(session.last_seen, start)
    end = session.end if (session.end is not None and status == ENDED) else last
    ordered: list[Node] = sorted(session.nodes.values(), key=lambda n: (n.start, n.id))
    row_of = {node.id: row for row, node in enumerate(ordered)}
    n = len(ordered)
    depth = [0] * n
    parent_rows = [-1] * n
    children: list[list[int]] = [[] for _ in range(n)]
    roots: list[int] = []
    for row, node in enumerate(ordered):  # parents start no later than children: one pass
        parent = row_of.get(node.parent) if node.parent is not None else None
        if parent is None or parent == row:
            roots.append(row)
        else:
            parent_rows[row] = parent
            children[parent].append(row)
            depth[row] = depth[parent] + 1 if parent < row else 0
    nodes: list[TraceNode] = []
    open_status = RUNNING if status == RUNNING else "unfinished"
    for row, node in enumerate(ordered):
        is_open = node.end is None
        nodes.append(
            TraceNode(
                row=row,
                id=node.id,
                parent_row=parent_rows[row],
                depth=depth[row],
                kind=node.kind,
                name=node.name,
                start=node.start,
                end=max(node.start, end if is_open else node.end),  # type: ignore[arg-type]
                open=is_open,
                status=open_status if is_open else (node.status or "ok"),
                is_span=node.is_span,
                attrs=node.all_attrs(),
            )
        )
    x0 = np.fromiter(((nd.start - start) / 1e9 for nd in nodes), dtype=np.float64, count=n)
    x1 = np.fromiter(((nd.end - start) / 1e9 for nd in nodes), dtype=np.float64, count=n)
    kind = np.fromiter((KIND_INDEX.get(nd.kind, KIND_INDEX["other"]) for nd in nodes), dtype=np.int8, count=n)
    flags = np.fromiter(
        (
            (FLAG_FAILED if nd.status == "error" else 0)
            | (FLAG_OPEN if nd.open else 0)
            | (FLAG_POINT if not nd.is_span and nd.end - nd.start < POINT_NS else 0)
            for nd in nodes
        ),
        dtype=np.uint8,
        count=n,
    )
    finish = np.where(flags & FLAG_POINT, x0, x1)  # markers take no room in a lane
    lanes, lane_count = assign_lanes(depth, x0.tolist(), finish.tolist())
    lane = np.asarray(lanes, dtype=np.int32)
    order = np.argsort(lane, kind="stable")  # rows are by start already
    bounds = np.searchsorted(lane[order], np.arange(lane_count + 1))
    lane_rows = [order[bounds[i] : bounds[i + 1]] for i in range(lane_count)]
    lane_x0 = [x0[r] for r in lane_rows]
    return Trace(
        session_id=session.id,
        start=start,
        end=end,
        status=status,
        nodes=nodes,
        children=children,
        roots=roots,
        row_of=row_of,
        lane=lane,
        lane_count=lane_count,
        x0=x0,
        x1=x1,
        kind=kind,
        flags=flags,
        lane_rows=lane_rows,
        lane_x0=lane_x0,
    )
