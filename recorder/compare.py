"""Two runs side by side (``sessiontrail diff`` and the viewer's Compare view): their totals and
differences, their trees aligned node by node, word-level differences of LLM text.

Nodes are matched by their path of (kind, name) (LLM calls by kind alone: their name is the
model, and a model change is a change, not a call removed and another added). Among the
children of two matched nodes, a longest common subsequence of those keys matches repeated
siblings in order, so one inserted tool call does not shift everything after it.
Qt-free; trees are anything with ``roots``, ``children`` and ``node`` (``SessionTree`` here,
the viewer's ``TraceTree``).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from . import rules
from ._nodes import Node
from .catalog import SessionInfo
from .summary import hex_id

SAME, CHANGED, ADDED, REMOVED = "same", "changed", "added", "removed"
SLOWER_OR_FASTER = 0.25  # a duration changed when it differs by more than this fraction...
MIN_DURATION_CHANGE = 0.005  # ...and by more than this many seconds
TOTALS = (
    "duration",
    "event_count",
    "llm_calls",
    "tool_calls",
    "error_count",
    "prompt_tokens",
    "completion_tokens",
    "cost",
)

K = TypeVar("K", bound=Hashable)


@dataclass
class CompareNode:
    """What the comparison needs of a span or event."""

    id: int
    kind: str
    name: str
    status: str
    duration: float  # seconds
    attrs_of: Callable[[], dict[str, Any]] = field(repr=False)
    _attrs: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def attrs(self) -> dict[str, Any]:
        """Decoded when first asked for (only matched LLM calls need theirs)."""
        if self._attrs is None:
            self._attrs = self.attrs_of()
        return self._attrs


class Tree(Protocol[K]):
    def roots(self) -> list[K]: ...
    def children(self, key: K) -> list[K]: ...
    def node(self, key: K) -> CompareNode: ...


@dataclass(frozen=True)
class Pair:
    """One line of the aligned trees: a node of the left run, of the right run, or both."""

    left: Any  # the left tree's key, or None
    right: Any  # the right tree's key, or None
    depth: int
    change: str  # same | changed | added | removed
    reasons: tuple[str, ...] = ()  # what changed, for a matched pair


def align(left: Tree[Any], right: Tree[Any]) -> list[Pair]:
    """Both runs' nodes in tree order, matched where their paths of (kind, name) agree."""
    out: list[Pair] = []
    _align(left, right, left.roots(), right.roots(), 0, out)
    return out


def key_of(node: CompareNode) -> tuple[str, str]:
    return (node.kind, "") if node.kind == rules.LLM_KIND else (node.kind, node.name)


def _align(left: Tree[Any], right: Tree[Any], lkids: list[Any], rkids: list[Any], depth: int, out: list[Pair]) -> None:
    lkeys = [key_of(left.node(k)) for k in lkids]
    rkeys = [key_of(right.node(k)) for k in rkids]
    for tag, i1, i2, j1, j2 in opcodes(lkeys, rkeys):
        if tag == "equal":
            for a, b in zip(lkids[i1:i2], rkids[j1:j2], strict=True):
                reasons = differences(left.node(a), right.node(b))
                out.append(Pair(a, b, depth, CHANGED if reasons else SAME, reasons))
                _align(left, right, left.children(a), right.children(b), depth + 1, out)
            continue
        for a in lkids[i1:i2]:  # replaced or deleted: the left's are removed...
            _subtree(left, a, depth, out, REMOVED)
        for b in rkids[j1:j2]:  # ...and the right's added
            _subtree(right, b, depth, out, ADDED)


def _subtree(tree: Tree[Any], key: Any, depth: int, out: list[Pair], change: str) -> None:
    out.append(Pair(key if change == REMOVED else None, key if change == ADDED else None, depth, change))
    for child in tree.children(key):
        _subtree(tree, child, depth + 1, out, change)


def opcodes(a: list[Any], b: list[Any]) -> list[tuple[str, int, int, int, int]]:
    """difflib-style opcodes of a shortest edit script (Myers' O((N+M)·D) algorithm, so two
    long runs that differ in a few places align fast): items match greedily from the start,
    so repeated items pair in order (the first ``search`` with the first), and where a
    deletion or an insertion would do, the deletion (the old) comes first."""
    n, m = len(a), len(b)
    furthest: dict[int, int] = {1: 0}
    history: list[dict[int, int]] = []
    for d in range(n + m + 1):
        history.append(dict(furthest))
        for k in range(-d, d + 1, 2):
            if k == -d or (k != d and furthest[k - 1] < furthest[k + 1]):
                x = furthest[k + 1]  # down: an insertion
            else:
                x = furthest[k - 1] + 1  # right: a deletion
            y = x - k
            while x < n and y < m and a[x] == b[y]:
                x, y = x + 1, y + 1
            furthest[k] = x
            if x >= n and y >= m:
                return _script(history, a, b, d)
    return []


def _script(history: list[dict[int, int]], a: list[Any], b: list[Any], d: int) -> list[tuple[str, int, int, int, int]]:
    """Walk the furthest points back from the end into opcodes, one item each."""
    ops: list[tuple[str, int, int, int, int]] = []
    x, y = len(a), len(b)
    for step in range(d, 0, -1):
        furthest = history[step]
        k = x - y
        down = k == -step or (k != step and furthest[k - 1] < furthest[k + 1])
        previous_k = k + 1 if down else k - 1
        previous_x = furthest[previous_k]
        previous_y = previous_x - previous_k
        while x > previous_x + (0 if down else 1) and y > previous_y + (1 if down else 0):
            x, y = x - 1, y - 1
            ops.append(("equal", x, x + 1, y, y + 1))
        if down:
            y -= 1
            ops.append(("insert", x, x, y, y + 1))
        else:
            x -= 1
            ops.append(("delete", x, x + 1, y, y))
    while x > 0 and y > 0:
        x, y = x - 1, y - 1
        ops.append(("equal", x, x + 1, y, y + 1))
    ops.reverse()
    return ops


def differences(a: CompareNode, b: CompareNode) -> tuple[str, ...]:
    """What changed between two matched nodes: status, model, tokens, cost, duration."""
    reasons: list[str] = []
    if a.status != b.status:
        reasons.append(f"status {a.status} → {b.status}")
    if a.kind == rules.LLM_KIND:
        fa, fb = a.attrs, b.attrs
        if fa.get("model") != fb.get("model"):
            reasons.append(f"model {fa.get('model')} → {fb.get('model')}")
        if _plain(fa.get("prompt")) != _plain(fb.get("prompt")):
            reasons.append("prompt changed")
        ta, tb = tokens(fa), tokens(fb)
        if ta != tb:
            reasons.append(f"tokens {'+' if tb > ta else '−'}{abs(tb - ta):,} ({ta:,} → {tb:,})")
        ca, cb = rules.as_number(fa.get("cost")), rules.as_number(fb.get("cost"))
        if ca is not None and cb is not None and ca != cb:
            reasons.append(f"cost {'+' if cb > ca else '−'}${abs(cb - ca):.6f}".rstrip("0"))
    da, db = a.duration, b.duration
    if abs(db - da) > MIN_DURATION_CHANGE and abs(db - da) > SLOWER_OR_FASTER * max(da, db):
        reasons.append(f"{'slower' if db > da else 'faster'} {da:.3f} s → {db:.3f} s")
    return tuple(reasons)


def tokens(attrs: dict[str, Any]) -> int:
    return (rules.as_int(attrs.get("prompt_tokens")) or 0) + (rules.as_int(attrs.get("completion_tokens")) or 0)


# ---------------------------------------------------------------------------- totals


def totals(left: Any, right: Any, now_ns: int | None = None) -> dict[str, dict[str, Any]]:
    """For each of TOTALS: the two sessions' values and the difference (b - a). Works on
    anything with the fields of a catalog session (the CLI's) or a session row (the viewer's)."""
    out: dict[str, dict[str, Any]] = {}
    for name in TOTALS:
        a = left.duration(now_ns) if name == "duration" else getattr(left, name)
        b = right.duration(now_ns) if name == "duration" else getattr(right, name)
        delta = None if a is None and b is None else (b or 0) - (a or 0)
        out[name] = {"a": a, "b": b, "delta": delta}
    return out


# ---------------------------------------------------------------------------- the CLI's trees


class SessionTree:
    """A catalog session as a tree for ``align``: keys are node ids, children by start."""

    def __init__(self, session: SessionInfo, now_ns: int | None = None) -> None:
        self.session = session
        nodes = sorted(session.nodes.values(), key=lambda n: (n.start, n.id))
        self._nodes: dict[int, Node] = {n.id: n for n in nodes}
        self._children: dict[int | None, list[int]] = {}
        for node in nodes:
            parent = node.parent if node.parent in self._nodes else None
            self._children.setdefault(parent, []).append(node.id)
        self._open_status = rules.open_span_status(session.status(now_ns))
        self._made: dict[int, CompareNode] = {}

    def roots(self) -> list[int]:
        return self._children.get(None, [])

    def children(self, key: int) -> list[int]:
        return self._children.get(key, [])

    def node(self, key: int) -> CompareNode:
        made = self._made.get(key)
        if made is None:
            n = self._nodes[key]
            end = n.end if n.end is not None else max(n.start, self.session.last_seen)
            duration = max(0, end - n.start) / 1e9
            made = self._made[key] = CompareNode(
                n.id, n.kind, n.name, n.status or self._open_status, duration, n.all_attrs
            )
        return made


def diff(left: SessionInfo, right: SessionInfo, now_ns: int | None = None) -> dict[str, Any]:
    """``sessiontrail diff --json``: totals and the aligned nodes of two sessions."""
    a, b = SessionTree(left, now_ns), SessionTree(right, now_ns)
    nodes = []
    for pair in align(a, b):
        shown = a.node(pair.left) if pair.left is not None else b.node(pair.right)
        item: dict[str, Any] = {
            "change": pair.change,
            "a": hex_id(pair.left),
            "b": hex_id(pair.right),
            "kind": shown.kind,
            "name": shown.name,
            "depth": pair.depth,
        }
        if pair.left is not None and pair.right is not None:
            na, nb = a.node(pair.left), b.node(pair.right)
            ca, cb = rules.as_number(na.attrs.get("cost")), rules.as_number(nb.attrs.get("cost"))
            item |= {
                "status_a": na.status,
                "status_b": nb.status,
                "duration_delta": nb.duration - na.duration,
                "tokens_delta": tokens(nb.attrs) - tokens(na.attrs),
                "cost_delta": None if ca is None and cb is None else (cb or 0.0) - (ca or 0.0),
                "reasons": list(pair.reasons),
            }
        nodes.append(item)
    return {"a": left.id, "b": right.id, "totals": totals(left, right, now_ns), "nodes": nodes}


_FAIL_ON = re.compile(r"^(cost|duration|tokens|errors|llm_calls|tool_calls)\+(\d+(?:\.\d+)?)%$|^new-errors$")


def failing(report: dict[str, Any], conditions: list[str]) -> list[str]:
    """Which ``--fail-on`` conditions hold for a diff report (``cost+20%``: b's cost is more
    than 20% above a's; ``new-errors``: b has errors a did not). ValueError for a bad one."""
    names = {
        "cost": "cost",
        "duration": "duration",
        "tokens": None,
        "errors": "error_count",
        "llm_calls": "llm_calls",
        "tool_calls": "tool_calls",
    }
    held = []
    t = report["totals"]
    for condition in conditions:
        match = _FAIL_ON.match(condition.strip())
        if match is None:
            raise ValueError(f"--fail-on {condition!r}: use e.g. cost+20%, duration+50%, tokens+10%, new-errors")
        if condition.strip() == "new-errors":
            if (t["error_count"]["b"] or 0) > (t["error_count"]["a"] or 0):
                held.append(f"new errors: {t['error_count']['a']} → {t['error_count']['b']}")
            continue
        what, percent = match.group(1), float(match.group(2))
        if what == "tokens":
            a = (t["prompt_tokens"]["a"] or 0) + (t["completion_tokens"]["a"] or 0)
            b = (t["prompt_tokens"]["b"] or 0) + (t["completion_tokens"]["b"] or 0)
        else:
            a, b = t[names[what] or what]["a"] or 0, t[names[what] or what]["b"] or 0
        if b > a * (1 + percent / 100) and b > a:
            held.append(f"{what} {a:g} → {b:g} (more than +{percent:g}%)")
    return held


# ---------------------------------------------------------------------------- text


def llm_text(attrs: dict[str, Any]) -> tuple[str, str]:
    """What an LLM call was asked and what it answered, as plain text."""
    return _plain(attrs.get("prompt")), _plain(attrs.get("completion"))


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
