"""Aggregates across sessions: totals, sessions over time by end state, durations, breakdowns."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from recorder import latency
from recorder.catalog import SessionInfo

from .store import SessionRow

OUTCOMES = ("Success", "Fail", "Indeterminate", "running", "abandoned")


@dataclass(frozen=True)
class Breakdown:
    """One row of a by-tag / by-model / by-agent table."""

    key: str
    sessions: int
    calls: int  # LLM calls for models and tags, agent spans for agents
    failed: int  # sessions that ended Fail
    tokens: int
    cost: float | None


@dataclass(frozen=True)
class Latency:
    """How long the calls of one model or tool took, across the sessions analysed."""

    kind: str  # llm | tool
    name: str
    calls: int
    p50: float  # seconds
    p95: float


@dataclass(frozen=True)
class Analytics:
    sessions: int
    events: int
    duration: float  # seconds, summed
    tokens: int
    cost: float | None
    failed: int
    ended: int
    failure_rate: float | None  # failed / ended
    llm_calls: int
    tool_calls: int
    errors: int
    bin_edges: list[float] = field(default_factory=list)  # epoch seconds, len = bins + 1
    over_time: dict[str, list[int]] = field(default_factory=dict)  # outcome -> count per bin
    duration_edges: list[float] = field(default_factory=list)  # seconds, log-spaced
    duration_counts: list[int] = field(default_factory=list)
    by_tag: list[Breakdown] = field(default_factory=list)
    by_model: list[Breakdown] = field(default_factory=list)
    by_agent: list[Breakdown] = field(default_factory=list)
    by_review: list[Breakdown] = field(default_factory=list)  # sessions by annotation value
    # per bin of bin_edges: "tokens", "cost" (USD) and "error_rate" (sessions with an error or
    # that failed, over the sessions of the bin; None for an empty bin)
    trends: dict[str, list[float | None]] = field(default_factory=dict)
    latency: list[Latency] = field(default_factory=list)  # by model and by tool, most calls first


def outcome(row: SessionRow) -> str:
    return row.status_text if row.status_text in OUTCOMES else "Indeterminate"


def compute(
    rows: Iterable[SessionRow], *, bins: int = 24, now_ns: int | None = None, latency: list[Latency] | None = None
) -> Analytics:
    """Aggregates of rows; ``latency`` comes from the sessions' nodes (``latencies``), which
    rows do not carry."""
    rows = list(rows)
    durations = [d for d in (r.duration(now_ns) for r in rows) if d is not None]
    costs = [r.cost for r in rows if r.cost is not None]
    ended = [r for r in rows if r.end_state is not None]
    failed = sum(1 for r in ended if r.end_state == "Fail")
    edges, over_time, trends = _over_time(rows, bins)
    d_edges, d_counts = _durations(durations)
    return Analytics(
        sessions=len(rows),
        events=sum(r.event_count for r in rows),
        duration=sum(durations),
        tokens=sum(r.tokens for r in rows),
        cost=sum(costs) if costs else None,
        failed=failed,
        ended=len(ended),
        failure_rate=failed / len(ended) if ended else None,
        llm_calls=sum(r.llm_calls for r in rows),
        tool_calls=sum(r.tool_calls for r in rows),
        errors=sum(r.error_count for r in rows),
        bin_edges=edges,
        over_time=over_time,
        trends=trends,
        latency=latency or [],
        duration_edges=d_edges,
        duration_counts=d_counts,
        by_tag=_by_tag(rows),
        by_model=_by_pairs(rows, lambda r: r.models),
        by_agent=_by_pairs(rows, lambda r: r.agents),
        by_review=_by_review(rows),
    )


def _over_time(
    rows: list[SessionRow], bins: int
) -> tuple[list[float], dict[str, list[int]], dict[str, list[float | None]]]:
    """Sessions per bin of start time by outcome, and the trends reviewers watch per bin."""
    starts = [r.start / 1e9 for r in rows if r.start is not None]
    if not starts:
        return [], {}, {}
    lo, hi = min(starts), max(starts)
    if hi - lo < 1:
        lo, hi = lo - 0.5, hi + 0.5
    width = (hi - lo) / bins
    edges = [lo + i * width for i in range(bins + 1)]
    counts = {name: [0] * bins for name in OUTCOMES}
    tokens, cost, sessions, erring = [0.0] * bins, [0.0] * bins, [0] * bins, [0] * bins
    for row in rows:
        if row.start is None:
            continue
        i = min(bins - 1, int((row.start / 1e9 - lo) / width))
        counts[outcome(row)][i] += 1
        tokens[i] += row.tokens
        cost[i] += row.cost or 0.0
        sessions[i] += 1
        erring[i] += row.error_count > 0 or row.end_state == "Fail"
    rate: list[float | None] = [e / n if n else None for e, n in zip(erring, sessions, strict=True)]
    trends: dict[str, list[float | None]] = {"tokens": list(tokens), "cost": list(cost), "error_rate": rate}
    return edges, counts, trends


def latencies(sessions: Iterable[SessionInfo]) -> list[Latency]:
    """p50 and p95 durations of the LLM calls by model and of the tool calls by tool, over the
    sessions: their sketches summed (``recorder.latency``, within 1% of the exact figures),
    made from the nodes of sessions in memory and kept by those whose nodes were let go."""
    total: latency.Sketch = {}
    for session in sessions:
        latency.add(total, latency.of_session(session))
    out = []
    for (kind, name), bins in total.items():
        out.append(Latency(kind, name, sum(bins.values()), latency.quantile(bins, 0.5), latency.quantile(bins, 0.95)))
    return sorted(out, key=lambda entry: (-entry.calls, entry.kind, entry.name))


def _durations(durations: list[float]) -> tuple[list[float], list[int]]:
    """A histogram on log-spaced bins (durations span milliseconds to hours)."""
    if not durations:
        return [], []
    lo = max(min(durations), 1e-3)
    hi = max(max(durations), lo * 10)
    lo_exp, hi_exp = math.floor(math.log10(lo) * 2) / 2, math.ceil(math.log10(hi) * 2) / 2
    steps = max(1, round((hi_exp - lo_exp) * 2))
    edges = [10 ** (lo_exp + i / 2) for i in range(steps + 1)]
    counts = [0] * steps
    for d in durations:
        d = max(d, edges[0])
        i = min(steps - 1, int((math.log10(d) - lo_exp) * 2))
        counts[max(0, i)] += 1
    return edges, counts


def _by_tag(rows: list[SessionRow]) -> list[Breakdown]:
    return _by_labels(rows, lambda row: row.tags)


def _by_review(rows: list[SessionRow]) -> list[Breakdown]:
    """Sessions by the values of their annotations in force (``quality: good``; a score in
    tenths, ``faithfulness: 0.8``), one per session and name; unreviewed ones by name too."""

    def labels(row: SessionRow) -> list[str]:
        seen: dict[str, str] = {}
        for name, value, *_ in row.annotations:  # oldest first: the newest of a name wins
            shown = f"{math.floor(value * 10) / 10:g}" if isinstance(value, float) else str(value).lower()
            seen[name] = f"{name}: {shown}"
        return list(seen.values())

    return _by_labels(rows, labels)


def _by_labels(rows: list[SessionRow], labels: Callable[[SessionRow], Iterable[str]]) -> list[Breakdown]:
    acc: dict[str, list[Any]] = {}
    for row in rows:
        for tag in labels(row):
            a = acc.setdefault(tag, [0, 0, 0, 0, None])
            a[0] += 1
            a[1] += row.llm_calls
            a[2] += row.end_state == "Fail"
            a[3] += row.tokens
            if row.cost is not None:
                a[4] = (a[4] or 0.0) + row.cost
    return sorted((Breakdown(k, *v) for k, v in acc.items()), key=lambda b: (-b.sessions, b.key))


def _by_pairs(rows: list[SessionRow], entries: Callable[[SessionRow], Iterable[tuple[Any, ...]]]) -> list[Breakdown]:
    """Breakdown by the (name, calls, tokens, cost) entries each row carries (models or agents)."""
    acc: dict[str, list[Any]] = {}
    for row in rows:
        for key, calls, tokens, cost in entries(row):
            a = acc.setdefault(key, [0, 0, 0, 0, None])
            a[0] += 1
            a[1] += calls
            a[2] += row.end_state == "Fail"
            a[3] += tokens
            if cost is not None:
                a[4] = (a[4] or 0.0) + cost
    return sorted((Breakdown(k, *v) for k, v in acc.items()), key=lambda b: (-b.calls, -b.sessions, b.key))
