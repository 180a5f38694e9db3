"""The values derived from a session's records, each defined once (format_spec.md, section
"Derived values", states the same rules): status, where a session ends, its status text, what
an unfinished span shows, and what its totals count.

Pure functions of plain values, so the catalog, the CLI, the viewer's frozen rows and its
traces all call the same code.
"""

from __future__ import annotations

import time
from typing import Any

RUNNING, ENDED, ABANDONED = "running", "ended", "abandoned"
UNFINISHED = "unfinished"  # a span that never ended in a session no longer running
INDETERMINATE = "Indeterminate"

DEFAULT_HEARTBEAT = 2.0  # seconds, when neither the file nor a heartbeat says
HEARTBEATS_BEFORE_ABANDONED = 3

# What the totals of a session count (format_spec.md, "Derived values"; SessionInfo._count):
# - event_count: every span and event, once;
# - error_count: events of kind error, plus spans that ended with status error and have no
#   error event directly under them (a failure reported both ways counts once);
# - llm_calls: nodes of kind llm; prompt_tokens / completion_tokens: their integer
#   attributes of those names (start and end attributes merged; missing counts add nothing);
# - tool_calls: nodes of kind tool;
# - cost: the numeric ``cost`` attributes of nodes of the kinds that are billed (COST_KINDS);
#   None when none has one.
ERROR_KIND, LLM_KIND, TOOL_KIND, AGENT_KIND = "error", "llm", "tool", "agent"
COST_KINDS = frozenset({LLM_KIND, TOOL_KIND, "embedding", "reranker"})
ATTRIBUTE_KINDS = COST_KINDS  # kinds whose totals read the node's attributes
COUNTED_KINDS = frozenset({ERROR_KIND, AGENT_KIND}) | COST_KINDS


def session_status(end_state: str | None, last_seen: int, heartbeat_interval: float, now_ns: int | None = None) -> str:
    """``ended`` once a session_end was read; else ``running`` while its last record or
    heartbeat is at most HEARTBEATS_BEFORE_ABANDONED intervals old (by the reader's clock);
    else ``abandoned`` (the process died or lost its disk)."""
    if end_state is not None:
        return ENDED
    now_ns = time.time_ns() if now_ns is None else now_ns
    grace = heartbeat_interval * HEARTBEATS_BEFORE_ABANDONED * 1e9
    return RUNNING if now_ns - last_seen <= grace else ABANDONED


def data_end(start: int | None, end: int | None, last_seen: int) -> int | None:
    """Where a session's records end: its end once ended, else the last record seen. Spans
    that never ended are drawn up to here."""
    if end is not None:
        return end
    if start is None:
        return last_seen or None
    return max(last_seen, start)


def effective_end(
    start: int | None, end: int | None, status: str, last_seen: int, now_ns: int | None = None
) -> int | None:
    """Where a session's duration ends: its end, now while it runs, else its last record."""
    if end is None and status == RUNNING:
        return time.time_ns() if now_ns is None else now_ns
    return data_end(start, end, last_seen)


def duration(
    start: int | None, end: int | None, status: str, last_seen: int, now_ns: int | None = None
) -> float | None:
    """Seconds from start to ``effective_end``; a running session's grows with now."""
    stop = effective_end(start, end, status, last_seen, now_ns)
    if start is None or stop is None:
        return None
    return max(0, stop - start) / 1e9


def status_text(status: str, end_state: str | None) -> str:
    """What a person reads: ``running``, ``abandoned``, or how an ended session ended."""
    return (end_state or INDETERMINATE) if status == ENDED else status


def open_span_status(session_status: str) -> str:
    """The status shown for a span with no end: running while its session runs, else
    unfinished (the session ended, or its process died, before the span did)."""
    return RUNNING if session_status == RUNNING else UNFINISHED


def current_annotations(history: list[list[Any]]) -> list[list[Any]]:
    """The annotations in force: for each (target, name, author) the newest by time (ties: the
    later read). ``history`` holds [ts, target, name, value, author, note] in read order."""
    newest: dict[tuple[Any, Any, Any], list[Any]] = {}
    for entry in history:
        key = (entry[1], entry[2], entry[4])
        kept = newest.get(key)
        if kept is None or (entry[0] or 0) >= (kept[0] or 0):
            newest[key] = entry
    return sorted(newest.values(), key=lambda e: (e[0] or 0, str(e[2])))


def as_int(value: Any) -> int | None:
    """value if it is an integer (token counts are integers; a bool or a float is not one)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def as_number(value: Any) -> float | None:
    """value as a float if it is a real number (a cost), else None."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
