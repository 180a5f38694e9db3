"""Sessions out to the formats other tools read, and OTLP/JSON back in.

- ``to_otlp_json``: the OTLP/JSON encoding of OpenTelemetry traces (hex trace and span ids,
  integer enums, 64-bit integers as decimal strings). One trace per session; the session is the
  root span; every span and event is a span, LLM calls with GenAI attributes
  (``gen_ai.request.model``, ``gen_ai.usage.input_tokens``/``output_tokens``, messages).
- ``to_chrome``: Chrome trace-event JSON for Perfetto UI and ``chrome://tracing``: complete
  events (``ph: "X"``) and instant events, microseconds, one track per timeline lane so that
  overlapping siblings never hide each other.
- ``records_from_otlp_json``: OTLP/JSON to sessiontrail records (our own exports come back with
  the same tree, times, names, statuses and LLM fields; foreign traces become one session per
  trace, LLM spans mapped from GenAI or OpenInference attributes).
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Iterable
from typing import Any

from . import rules
from ._nodes import Node
from ._semconv import error_message, llm_fields, span_kind
from ._version import __version__
from .catalog import Catalog, SessionInfo
from .lanes import assign_lanes

SCOPE = {"name": "sessiontrail", "version": __version__}
STATUS_OK, STATUS_ERROR = 1, 2
SPAN_KIND_INTERNAL = 1
SESSION_KIND = "session"


# ---------------------------------------------------------------------------- OTLP values


def any_value(value: Any) -> dict[str, Any]:
    """An OTLP/JSON AnyValue."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, (bytes, bytearray)):
        return {"bytesValue": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, (list, tuple)):
        return {"arrayValue": {"values": [any_value(v) for v in value]}}
    if isinstance(value, dict):
        return {"kvlistValue": {"values": [{"key": str(k), "value": any_value(v)} for k, v in value.items()]}}
    return {"stringValue": "" if value is None else repr(value)}


def from_any_value(value: dict[str, Any]) -> Any:
    if "stringValue" in value:
        return value["stringValue"]
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "bytesValue" in value:
        return base64.b64decode(value["bytesValue"])
    if "arrayValue" in value:
        return [from_any_value(v) for v in value["arrayValue"].get("values", [])]
    if "kvlistValue" in value:
        return {kv["key"]: from_any_value(kv.get("value", {})) for kv in value["kvlistValue"].get("values", [])}
    return None


def _attributes(mapping: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": k, "value": any_value(v)} for k, v in mapping.items() if v is not None]


def _from_attributes(items: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {kv["key"]: from_any_value(kv.get("value", {})) for kv in items if isinstance(kv, dict) and "key" in kv}


def _hex(value: int, digits: int = 16) -> str:
    return format(value & ((1 << (4 * digits)) - 1), f"0{digits}x")


def _session_span_id(session_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(session_id.encode(), digest_size=8).digest(), "big") & ((1 << 63) - 1) or 1


# ---------------------------------------------------------------------------- export


def _genai(node: Node) -> dict[str, Any]:
    a = node.all_attrs()
    out: dict[str, Any] = {"gen_ai.operation.name": "chat", "gen_ai.request.model": a.get("model")}
    if isinstance(a.get("prompt_tokens"), int):
        out["gen_ai.usage.input_tokens"] = a["prompt_tokens"]
    if isinstance(a.get("completion_tokens"), int):
        out["gen_ai.usage.output_tokens"] = a["completion_tokens"]
    prompt = a.get("prompt")
    messages = (
        prompt if isinstance(prompt, list) else ([{"role": "user", "content": prompt}] if prompt is not None else [])
    )
    for i, message in enumerate(messages):
        if isinstance(message, dict):
            out[f"gen_ai.prompt.{i}.role"] = str(message.get("role", "user"))
            out[f"gen_ai.prompt.{i}.content"] = _text(message.get("content"))
    completion = a.get("completion")
    if completion is not None:
        content = completion.get("content") if isinstance(completion, dict) else completion
        out["gen_ai.completion.0.role"] = (
            completion.get("role", "assistant") if isinstance(completion, dict) else "assistant"
        )
        out["gen_ai.completion.0.content"] = _text(content)
    return out


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=repr)


def otlp_span(session: SessionInfo, node: Node, trace_id: str, root_id: int) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "sessiontrail.kind": node.kind,
        "sessiontrail.span": node.is_span,
        "sessiontrail.attributes": json.dumps(node.all_attrs(), ensure_ascii=False, default=repr),
    }
    if node.kind == "llm":
        attrs |= _genai(node)
        if isinstance(node.attrs.get("cost"), (int, float)):
            attrs["sessiontrail.cost"] = float(node.attrs["cost"])
    end = (
        node.end
        if node.end is not None
        else max(rules.data_end(session.start, session.end, session.last_seen) or 0, node.start)
    )
    events, in_force = _annotations(session, node.id)
    attributes = _attributes(attrs | in_force)
    if node.end is None:
        attributes.append({"key": "sessiontrail.unfinished", "value": {"boolValue": True}})
    span: dict[str, Any] = {
        "traceId": trace_id,
        "spanId": _hex(node.id),
        "parentSpanId": _hex(node.parent if node.parent is not None and node.parent in session.nodes else root_id),
        "name": node.name,
        "kind": SPAN_KIND_INTERNAL,
        "startTimeUnixNano": str(node.start),
        "endTimeUnixNano": str(end),
        "attributes": attributes,
        "status": {"code": STATUS_ERROR if node.status == "error" else STATUS_OK},
    }
    if events:
        span["events"] = events
    return span


def _annotations(session: SessionInfo, target: int | None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A target's annotations for OTLP: every one as a span event ``sessiontrail.annotation``
    (history included), and the ones in force as ``sessiontrail.annotation.NAME`` attributes."""
    events = [
        {
            "timeUnixNano": str(e[0] or 0),
            "name": "sessiontrail.annotation",
            "attributes": _attributes(
                {"annotation.name": e[2], "annotation.value": e[3], "annotation.author": e[4], "annotation.note": e[5]}
            ),
        }
        for e in session.annotations
        if e[1] == target
    ]
    in_force = {
        f"sessiontrail.annotation.{e[2]}": e[3]
        for e in rules.current_annotations(session.annotations)
        if e[1] == target
    }
    return events, in_force


def to_otlp_json(catalog: Catalog, sessions: Iterable[SessionInfo]) -> dict[str, Any]:
    """Whole sessions as one OTLP/JSON document."""
    return otlp_document(catalog, [(s, sorted(s.nodes.values(), key=lambda n: n.start), True) for s in sessions])


def otlp_document(catalog: Catalog, parts: Iterable[tuple[SessionInfo, list[Node], bool]]) -> dict[str, Any]:
    """An OTLP/JSON document of some nodes of some sessions: (session, nodes, with its root span)."""
    resource_spans = []
    for session, nodes, with_root in parts:
        trace_id = uuid.UUID(session.id).hex if _is_uuid(session.id) else hashlib.md5(session.id.encode()).hexdigest()
        root_id = _session_span_id(session.id)
        spans = [otlp_span(session, n, trace_id, root_id) for n in nodes]
        if with_root:
            spans.insert(0, _root_span(session, trace_id, root_id))
        if not spans:
            continue
        info = catalog.host_info(session) or {}
        resource = {
            "service.name": "sessiontrail",
            "host.name": session.hostname or info.get("hostname"),
            "process.pid": session.pid,
        }
        resource_spans.append(
            {"resource": {"attributes": _attributes(resource)}, "scopeSpans": [{"scope": SCOPE, "spans": spans}]}
        )
    return {"resourceSpans": resource_spans}


def _root_span(session: SessionInfo, trace_id: str, root_id: int) -> dict[str, Any]:
    start = session.start or 0
    end = rules.data_end(start, session.end, session.last_seen) or start
    events, in_force = _annotations(session, None)
    span = {
        "traceId": trace_id,
        "spanId": _hex(root_id),
        "name": session.name,
        "kind": SPAN_KIND_INTERNAL,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(end),
        "attributes": _attributes(
            {
                "sessiontrail.kind": SESSION_KIND,
                "sessiontrail.session.id": session.id,
                "sessiontrail.session.tags": list(session.tags),
                "sessiontrail.session.end_state": session.end_state,
                "sessiontrail.session.end_state_reason": session.reason,
            }
            | in_force
        ),
        "status": {"code": STATUS_ERROR if session.end_state == "Fail" else STATUS_OK},
    }
    if events:
        span["events"] = events
    return span


def post_otlp(url: str, document: dict[str, Any], timeout: float = 30.0) -> int:
    """POST an OTLP/JSON document to a collector's /v1/traces; the HTTP status. Raises OSError."""
    import urllib.request

    if not url.rstrip("/").endswith("/v1/traces"):
        url = url.rstrip("/") + "/v1/traces"
    body = json.dumps(document, default=repr).encode("utf-8")
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return int(response.status)


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def to_chrome(sessions: Iterable[SessionInfo]) -> dict[str, Any]:
    events: list[dict[str, Any]] = []
    for pid, session in enumerate(sessions, start=1):
        events.append(
            {
                "ph": "M",
                "name": "process_name",
                "pid": pid,
                "tid": 0,
                "args": {"name": f"{session.name} ({session.id[:8]})"},
            }
        )
        nodes = sorted(session.nodes.values(), key=lambda n: (n.start, n.id))
        depth: dict[int, int] = {}
        for node in nodes:
            depth[node.id] = depth.get(node.parent, -1) + 1 if node.parent in depth else 0
        origin = session.start or (nodes[0].start if nodes else 0)
        last = max(session.last_seen, origin)
        ends = [(n.end if n.end is not None else last) for n in nodes]
        lanes, count = assign_lanes([depth[n.id] for n in nodes], [n.start for n in nodes], ends)
        for lane in range(count):
            events.append(
                {"ph": "M", "name": "thread_name", "pid": pid, "tid": lane + 1, "args": {"name": f"lane {lane}"}}
            )
        for node, end, lane in zip(nodes, ends, lanes.tolist(), strict=True):
            base = {
                "name": node.name,
                "cat": node.kind,
                "pid": pid,
                "tid": lane + 1,
                "ts": (node.start - origin) / 1000,
                "args": {"status": node.status or "unfinished", "id": _hex(node.id)} | _chrome_args(node),
            }
            if node.is_span or end > node.start:
                events.append(base | {"ph": "X", "dur": max(0, end - node.start) / 1000})
            else:
                events.append(base | {"ph": "i", "s": "t"})
    return {"traceEvents": events, "displayTimeUnit": "ms"}


def _chrome_args(node: Node) -> dict[str, Any]:
    a = node.all_attrs()
    if node.kind == "llm":
        return {k: a.get(k) for k in ("model", "prompt_tokens", "completion_tokens", "cost")}
    if node.kind == "error":
        return {k: a.get(k) for k in ("exception_type", "message")}
    return {}


# ---------------------------------------------------------------------------- import


def records_from_otlp_json(data: dict[str, Any]) -> list[dict[str, Any]]:
    """sessiontrail records for the traces in an OTLP/JSON document."""
    by_trace: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    for resource_spans in data.get("resourceSpans", []) or []:
        resource = _from_attributes((resource_spans.get("resource") or {}).get("attributes", []))
        for scope_spans in resource_spans.get("scopeSpans", []) or []:
            for span in scope_spans.get("spans", []) or []:
                by_trace.setdefault(span.get("traceId", ""), []).append((span, resource))
    records: list[dict[str, Any]] = []
    for trace_id, spans in by_trace.items():
        spans.sort(key=lambda item: int(item[0].get("startTimeUnixNano", 0)))
        attrs_of = [_from_attributes(s.get("attributes", [])) for s, _ in spans]
        root_index = next((i for i, a in enumerate(attrs_of) if a.get("sessiontrail.kind") == SESSION_KIND), None)
        if root_index is not None:
            root, root_attrs = spans[root_index][0], attrs_of[root_index]
            session_id = str(root_attrs.get("sessiontrail.session.id") or uuid.UUID(trace_id))
            name, tags = root.get("name", "session"), list(root_attrs.get("sessiontrail.session.tags") or [])
            end_state, reason = (
                root_attrs.get("sessiontrail.session.end_state"),
                root_attrs.get("sessiontrail.session.end_state_reason"),
            )
            root_span_id = root.get("spanId")
        else:
            root = spans[0][0]
            session_id = str(uuid.UUID(trace_id)) if len(trace_id) == 32 else trace_id
            name, tags, root_span_id = root.get("name", "trace"), ["otlp-import"], None
            failed = any(
                (s.get("status") or {}).get("code") == STATUS_ERROR for s, _ in spans if not s.get("parentSpanId")
            )
            end_state, reason = ("Fail" if failed else "Success"), None
        start = int(root.get("startTimeUnixNano", 0))
        end = max(int(s.get("endTimeUnixNano", 0)) for s, _ in spans)
        resource = spans[0][1]
        records.append(
            {
                "type": "session_start",
                "ts": start,
                "session": session_id,
                "name": name,
                "tags": tags,
                "host": resource.get("host.name"),
                "pid": resource.get("process.pid"),
            }
        )
        for (span, _), attrs in zip(spans, attrs_of, strict=True):
            if span.get("spanId") == root_span_id:
                continue
            records.extend(_node_records(span, attrs, session_id, root_span_id))
        if end_state is not None:
            records.append(
                {"type": "session_end", "ts": end, "session": session_id, "end_state": end_state, "reason": reason}
            )
    return records


def _node_records(
    span: dict[str, Any], attrs: dict[str, Any], session_id: str, root_span_id: str | None
) -> list[dict[str, Any]]:
    span_id = int(span.get("spanId", "0"), 16) & ((1 << 63) - 1)
    parent_hex = span.get("parentSpanId") or None
    parent = None if parent_hex in (None, "", root_span_id) else int(parent_hex, 16) & ((1 << 63) - 1)
    start, end = int(span.get("startTimeUnixNano", 0)), int(span.get("endTimeUnixNano", 0))
    failed = (span.get("status") or {}).get("code") == STATUS_ERROR
    node = {"ts": start, "session": session_id, "parent": parent}
    finish = {
        "type": "span_end",
        "ts": end,
        "session": session_id,
        "span": span_id,
        "status": "error" if failed else "ok",
    }
    ours = attrs.get("sessiontrail.attributes")
    if isinstance(ours, str):  # our own export: the original attributes, exactly
        kind = str(attrs.get("sessiontrail.kind", "operation"))
        node |= {"kind": kind, "name": span.get("name", kind), "attrs": json.loads(ours)}
        if attrs.get("sessiontrail.span") is False:
            return [{"type": "event", "id": span_id, "end_ts": end, **node}]
        unfinished = attrs.get("sessiontrail.unfinished")
        return [{"type": "span_start", "span": span_id, **node}] + ([] if unfinished else [finish])
    kind = span_kind(attrs, span.get("name", ""))
    events = [(str(e.get("name", "")), _from_attributes(e.get("attributes", []))) for e in span.get("events") or []]
    if kind == "llm":
        llm = llm_fields(attrs, events) | {"otel_attributes": attrs}
        if failed:
            llm["error"] = {"message": error_message((span.get("status") or {}).get("message"), events)}
        node |= {"kind": "llm", "name": llm["model"] or span.get("name", "llm"), "attrs": llm}
    else:
        node |= {"kind": kind, "name": span.get("name", kind), "attrs": {"otel_attributes": attrs}}
    return [{"type": "span_start", "span": span_id, **node}, finish]
