"""Two runs side by side: their totals and differences, their trees aligned node by node, and
word-level differences of what an LLM call was asked and answered. Qt-free.

Nodes are matched by their path of (kind, name) (LLM calls by kind: their name is the model):
among the children of two matched nodes, the
longest common subsequence of (kind, name) pairs matches repeated siblings in order, so one
inserted tool call does not shift everything after it.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from typing import Any

from recorder import rules
from recorder.display import format_cost, format_duration

from .store import SessionRow
from .trace import Trace, TraceNode

SAME, CHANGED, ADDED, REMOVED = "same", "changed", "added", "removed"
SLOWER_OR_FASTER = 0.25  # a duration changed when it differs by more than this fraction...
MIN_DURATION_CHANGE = 0.005  # ...and by more than this many seconds


@dataclass(frozen=True)
class Pair:
    """One line of the aligned trees: a node of the left run, of the right run, or both."""

    left: int | None  # trace row in the left run
    right: int | None  # trace row in the right run
    depth: int
    change: str  # same | changed | added | removed
    reasons: tuple[str, ...] = ()  # what changed, for a matched pair


def totals(left: SessionRow, right: SessionRow, now_ns: int | None = None) -> list[tuple[str, str, str, str]]:
    """(what, left, right, difference) for the figures a person compares first."""

    def number(a: float, b: float, fmt: Any = "{:,.0f}".format) -> tuple[str, str, str]:
        delta = b - a
        sign = "+" if delta > 0 else ("−" if delta < 0 else "±")
        return fmt(a), fmt(b), (f"{sign}{fmt(abs(delta))}" if delta else "=")

    da, db = left.duration(now_ns) or 0.0, right.duration(now_ns) or 0.0
    rows = [
        ("duration", *number(da, db, format_duration)),
        ("spans and events", *number(left.event_count, right.event_count)),
        ("LLM calls", *number(left.llm_calls, right.llm_calls)),
        ("tool calls", *number(left.tool_calls, right.tool_calls)),
        ("errors", *number(left.error_count, right.error_count)),
        ("tokens", *number(left.tokens, right.tokens)),
    ]
    if left.cost is None and right.cost is None:
        rows.append(("cost", "-", "-", "="))
    else:
        rows.append(("cost", *number(left.cost or 0.0, right.cost or 0.0, format_cost)))
    a_state, b_state = left.status_text, right.status_text
    rows.append(("end state", a_state, b_state, "=" if a_state == b_state else f"{a_state} → {b_state}"))
    return rows


def align(left: Trace, right: Trace) -> list[Pair]:
    """Both runs' nodes in tree order, matched where their paths of (kind, name) agree."""
    out: list[Pair] = []
    _align_children(left, right, -1, -1, 0, out)
    return out


def _key(trace: Trace, row: int) -> tuple[str, str]:
    """What matches a node with its counterpart. An LLM call is named after its model, so it
    matches by kind alone: a run that switched models shows the model change, not a call
    removed and another added."""
    node = trace.nodes[row]
    return (node.kind, "") if node.kind == "llm" else (node.kind, node.name)


def _align_children(left: Trace, right: Trace, lrow: int, rrow: int, depth: int, out: list[Pair]) -> None:
    lkids = left.children(lrow).tolist() if lrow is not None else []
    rkids = right.children(rrow).tolist() if rrow is not None else []
    lkeys = [_key(left, r) for r in lkids]
    rkeys = [_key(right, r) for r in rkids]
    for tag, i1, i2, j1, j2 in _opcodes(lkeys, rkeys):
        if tag == "equal":
            for li, ri in zip(range(i1, i2), range(j1, j2), strict=True):
                a, b = int(lkids[li]), int(rkids[ri])
                reasons = differences(left.nodes[a], right.nodes[b])
                out.append(Pair(a, b, depth, CHANGED if reasons else SAME, reasons))
                _align_children(left, right, a, b, depth + 1, out)
            continue
        for li in range(i1, i2):  # replaced or deleted: the left's are removed...
            _subtree(left, int(lkids[li]), depth, out, REMOVED)
        for ri in range(j1, j2):  # ...and the right's added
            _subtree(right, int(rkids[ri]), depth, out, ADDED)


LCS_UP_TO = 400  # siblings; more than this on both sides: difflib's faster, less exact matching


def _opcodes(a: list[Any], b: list[Any]) -> list[tuple[str, int, int, int, int]]:
    """difflib-style opcodes of a longest common subsequence that matches repeated items in
    order (the first ``search`` with the first), so an inserted item is the one marked."""
    if len(a) * len(b) > LCS_UP_TO * LCS_UP_TO:
        return list(difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes())
    n, m = len(a), len(b)
    suffix = [[0] * (m + 1) for _ in range(n + 1)]  # suffix[i][j]: LCS of a[i:], b[j:]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            suffix[i][j] = suffix[i + 1][j + 1] + 1 if a[i] == b[j] else max(suffix[i + 1][j], suffix[i][j + 1])
    ops: list[tuple[str, int, int, int, int]] = []
    i = j = 0
    while i < n or j < m:
        if i < n and j < m and a[i] == b[j] and suffix[i][j] == suffix[i + 1][j + 1] + 1:
            ops.append(("equal", i, i + 1, j, j + 1))
            i, j = i + 1, j + 1
        elif i < n and (j == m or suffix[i + 1][j] >= suffix[i][j + 1]):
            ops.append(("delete", i, i + 1, j, j))  # the old before the new, where either would do
            i += 1
        else:
            ops.append(("insert", i, i, j, j + 1))
            j += 1
    return ops


def _subtree(trace: Trace, row: int, depth: int, out: list[Pair], change: str) -> None:
    out.append(Pair(row if change == REMOVED else None, row if change == ADDED else None, depth, change))
    for child in trace.children(row).tolist():
        _subtree(trace, int(child), depth + 1, out, change)


def differences(a: TraceNode, b: TraceNode) -> tuple[str, ...]:
    """What changed between two matched nodes: status, model, tokens, cost, duration."""
    reasons: list[str] = []
    if a.status != b.status:
        reasons.append(f"status {a.status} → {b.status}")
    if a.kind == "llm":
        fa, fb = a.attrs, b.attrs
        if fa.get("model") != fb.get("model"):
            reasons.append(f"model {fa.get('model')} → {fb.get('model')}")
        ta, tb = _tokens(fa), _tokens(fb)
        if ta != tb:
            reasons.append(f"tokens {_signed(ta, tb)}")
        ca, cb = rules.as_number(fa.get("cost")), rules.as_number(fb.get("cost"))
        if ca != cb and ca is not None and cb is not None:
            reasons.append(f"cost {'+' if cb > ca else '−'}{format_cost(abs(cb - ca))}")
    da, db = a.duration, b.duration
    if abs(db - da) > MIN_DURATION_CHANGE and abs(db - da) > SLOWER_OR_FASTER * max(da, db):
        reasons.append(f"{'slower' if db > da else 'faster'} {format_duration(da)} → {format_duration(db)}")
    return tuple(reasons)


def _tokens(attrs: dict[str, Any]) -> int:
    return (rules.as_int(attrs.get("prompt_tokens")) or 0) + (rules.as_int(attrs.get("completion_tokens")) or 0)


def _signed(a: int, b: int) -> str:
    return f"{'+' if b > a else '−'}{abs(b - a):,} ({a:,} → {b:,})"


# ---------------------------------------------------------------------------- text


def llm_text(node: TraceNode) -> tuple[str, str]:
    """What an LLM call was asked and what it answered, as plain text."""
    a = node.attrs
    return _plain(a.get("prompt")), _plain(a.get("completion"))


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n\n".join(_plain(v) for v in value)
    if isinstance(value, dict):
        role = value.get("role")
        content = _plain(value.get("content")) if "content" in value else ""
        calls = value.get("tool_calls")
        text = f"{str(role).upper()}: {content}" if role else content
        if isinstance(calls, list) and calls:
            text += "".join(
                f"\n→ {c.get('name')}({json.dumps(c.get('arguments'), ensure_ascii=False)})"
                for c in calls
                if isinstance(c, dict)
            )
        return text if (role or content or calls) else json.dumps(value, ensure_ascii=False, default=repr)
    return str(value)


_WORDS = re.compile(r"\s+|[^\s]+")


def word_diff(a: str, b: str) -> list[tuple[str, str]]:
    """The two texts as (op, text) pieces: ``=`` in both, ``-`` only in a, ``+`` only in b;
    compared word by word (whitespace kept), so a changed word is marked, not its line."""
    wa, wb = _WORDS.findall(a), _WORDS.findall(b)
    pieces: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=wa, b=wb, autojunk=False).get_opcodes():
        if tag == "equal":
            pieces.append(("=", "".join(wa[i1:i2])))
            continue
        if i2 > i1:
            pieces.append(("-", "".join(wa[i1:i2])))
        if j2 > j1:
            pieces.append(("+", "".join(wb[j1:j2])))
    return pieces
