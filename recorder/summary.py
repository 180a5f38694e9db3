"""Sessions and nodes as ``sessiontrail ls --json`` / ``show --json`` print them."""

from __future__ import annotations

import json
import time
from typing import Any

from . import rules
from ._nodes import Node
from .catalog import SessionInfo


def iso(ns: int | None) -> str | None:
    """ISO-8601 UTC with microseconds and a Z, or None (also for a time outside years
    1-9999). The stored nanoseconds are cut to microseconds (never rounded, never through a
    float), as format_spec.md states. (time.gmtime and %-formatting: 1.4 µs, where an
    f-string of the same fields took 2.0; ``ls --json`` formats two a session.)"""
    if ns is None:
        return None
    seconds, rest = divmod(ns, 1_000_000_000)
    try:
        t = time.gmtime(seconds)
    except (OverflowError, OSError, ValueError):
        return None
    if not 1 <= t.tm_year <= 9999:
        return None
    return "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ" % (*t[:6], rest // 1000)  # noqa: UP031  # faster here


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
    return listed_summary(session.listed(), now_ns)


def listed_summary(listed: tuple[Any, ...], now_ns: int | None = None) -> dict[str, Any]:
    """``session_summary`` of a session as ``SessionInfo.listed`` gave it (``LISTED`` order)."""
    (sid, name, tags, start, end, last_seen, end_state, reason, events, errors, llm_calls, tool_calls,
     prompt_tokens, completion_tokens, cost, dropped, hostname, _, files, _, _, heartbeat, annotations) = listed  # fmt: skip
    status = rules.session_status(end_state, last_seen, heartbeat, now_ns)
    return {
        "id": sid,
        "name": name,
        "tags": list(tags),
        "start_time": iso(start),
        "end_time": iso(end),
        "duration": None if end is None else rules.duration(start, end, status, last_seen, now_ns),
        "end_state": end_state,
        "end_state_reason": reason,
        "status": status,
        "event_count": events,
        "error_count": errors,
        "llm_calls": llm_calls,
        "tool_calls": tool_calls,
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "cost": cost,
        "dropped": dropped,
        "host": hostname,
        "files": [str(p) for p in files],
        "annotations": [
            {"name": name, "value": value, "note": note, "author": author, "time": iso(ts), "span_id": None}
            for name, value, author, note, ts in annotations
        ],
    }


# A summary as `ls --json` writes it, on one line: json's C encoder, one encoder for every call
# (json.dumps with an option makes a new one per call: a third of the time of 100,000).
summary_line = json.JSONEncoder(ensure_ascii=False).encode


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
