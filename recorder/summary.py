"""Sessions and nodes as ``sessiontrail ls --json`` / ``show --json`` print them."""

from __future__ import annotations

import time
from typing import Any

from . import rules
from ._nodes import Node
from .catalog import SessionInfo


def iso(ns: int | None) -> str | None:
    """ISO-8601 UTC with microseconds and a Z, or None (also for a time outside years
    1-9999). The stored nanoseconds are cut to microseconds (never rounded, never through a
    float), as format_spec.md states. (time.gmtime and an f-string: a fifth of the cost of
    datetime's strftime; ``ls --json`` formats two a session.)"""
    if ns is None:
        return None
    seconds, rest = divmod(ns, 1_000_000_000)
    try:
        t = time.gmtime(seconds)
    except (OverflowError, OSError, ValueError):
        return None
    if not 1 <= t.tm_year <= 9999:
        return None
    year, month, day, hour, minute, second = t[:6]
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}.{rest // 1000:06d}Z"


def hex_id(value: int | None) -> str | None:
    """A span or event id as 16 hex digits."""
    return None if value is None else format(value & 0xFFFFFFFFFFFFFFFF, "016x")


def annotations_of(session: SessionInfo, target: int | None) -> list[dict[str, Any]]:
    """The annotations in force on a session (target None) or on one of its nodes: the newest
    per name and author, each with ``name``, ``value``, ``note``, ``author``, ``time``,
    ``span_id``."""
    if not session.annotations:  # most sessions: nothing to sort out
        return []
    return [
        {"name": e[2], "value": e[3], "note": e[5], "author": e[4], "time": iso(e[0]), "span_id": hex_id(e[1])}
        for e in rules.current_annotations(session.annotations)
        if e[1] == target
    ]


def session_summary(session: SessionInfo, now_ns: int | None = None) -> dict[str, Any]:
    """The fields of ``sessiontrail ls --json``."""
    status = session.status(now_ns)
    return {
        "id": session.id,
        "name": session.name,
        "tags": list(session.tags),
        "start_time": iso(session.start),
        "end_time": iso(session.end),
        "duration": rules.duration(session.start, session.end, status, session.last_seen, now_ns)
        if session.end is not None
        else None,
        "end_state": session.end_state,
        "end_state_reason": session.reason,
        "status": status,
        "event_count": session.event_count,
        "error_count": session.error_count,
        "llm_calls": session.llm_calls,
        "tool_calls": session.tool_calls,
        "prompt_tokens": session.prompt_tokens,
        "completion_tokens": session.completion_tokens,
        "cost": session.cost,
        "dropped": session.dropped,
        "host": session.hostname,
        "files": [str(p) for p in session.files],
        "annotations": annotations_of(session, None),
    }


def node_summary(session: SessionInfo, node: Node, now_ns: int | None = None) -> dict[str, Any]:
    """One node as ``sessiontrail show --json`` prints it."""
    status = node.status if node.status is not None else rules.open_span_status(session.status(now_ns))
    return {
        "id": hex_id(node.id),
        "parent_id": hex_id(node.parent),
        "kind": node.kind,
        "name": node.name,
        "span": node.is_span,
        "start_time": iso(node.start),
        "end_time": iso(node.end),
        "duration": None if node.end is None else max(0, node.end - node.start) / 1e9,
        "status": status,
        "tags": list(session.tags),
        "attributes": node.all_attrs(),
        "annotations": annotations_of(session, node.id),
    }
