"""The Compare view's data: ``recorder.compare``'s alignment over two Traces (keys are trace
rows), and the totals formatted for people. Qt-free."""

from __future__ import annotations

from typing import Any

from recorder.compare import (
    ADDED,
    CHANGED,
    REMOVED,
    SAME,
    CompareNode,
    Pair,
    word_diff,
)
from recorder.compare import align as align_trees
from recorder.compare import llm_text as _llm_text
from recorder.compare import totals as total_figures
from recorder.display import format_cost, format_duration

from .store import SessionRow
from .trace import Trace, TraceNode

__all__ = ["ADDED", "CHANGED", "REMOVED", "SAME", "Pair", "TraceTree", "align", "llm_text", "totals", "word_diff"]


class TraceTree:
    """A trace as a tree for ``recorder.compare.align``: keys are trace rows."""

    def __init__(self, trace: Trace) -> None:
        self.trace = trace
        self._made: dict[int, CompareNode] = {}

    def roots(self) -> list[int]:
        return [int(r) for r in self.trace.roots.tolist()]

    def children(self, key: int) -> list[int]:
        return [int(r) for r in self.trace.children(key).tolist()]

    def node(self, key: int) -> CompareNode:
        made = self._made.get(key)
        if made is None:
            node = self.trace.nodes[key]
            made = self._made[key] = CompareNode(
                node.id, node.kind, node.name, node.status, node.duration, lambda: node.attrs
            )
        return made


def align(left: Trace, right: Trace) -> list[Pair]:
    """The two traces' rows aligned (``Pair.left``/``right`` are trace rows)."""
    return align_trees(TraceTree(left), TraceTree(right))


def llm_text(node: TraceNode) -> tuple[str, str]:
    return _llm_text(node.attrs)


LABELS = {
    "duration": "duration",
    "event_count": "spans and events",
    "llm_calls": "LLM calls",
    "tool_calls": "tool calls",
    "error_count": "errors",
    "prompt_tokens": "prompt tokens",
    "completion_tokens": "completion tokens",
    "cost": "cost",
}


def totals(left: SessionRow, right: SessionRow, now_ns: int | None = None) -> list[tuple[str, str, str, str]]:
    """(what, left, right, difference) as the Compare view shows them, and the end states."""
    rows = []
    for name, figures in total_figures(left, right, now_ns).items():
        fmt: Any = {"duration": format_duration, "cost": format_cost}.get(name, "{:,.0f}".format)
        a, b, delta = figures["a"], figures["b"], figures["delta"]
        shown_a, shown_b = ("-" if a is None else fmt(a)), ("-" if b is None else fmt(b))
        if not delta:
            change = "="
        else:
            change = f"{'+' if delta > 0 else '−'}{fmt(abs(delta))}"
        rows.append((LABELS[name], shown_a, shown_b, change))
    a_state, b_state = left.status_text, right.status_text
    rows.append(("end state", a_state, b_state, "=" if a_state == b_state else f"{a_state} → {b_state}"))
    return rows
