"""OpenTelemetry spans into sessiontrail files: ``SessionTrailSpanProcessor``.

Add it to a ``TracerProvider`` (``provider.add_span_processor(SessionTrailSpanProcessor())``)
and every OTel span becomes a span of the current sessiontrail session, nested under the
sessiontrail span that was current when it started, with its children, timing, status,
attributes and events. LLM calls in the two conventions in use today, OpenTelemetry GenAI
(``gen_ai.*``) and OpenInference (``llm.*``, ``openinference.span.kind``), become LLM events
with model, messages, tokens and cost; tool and agent spans become tool and agent spans.
A span with no sessiontrail session around it starts a session for its trace.

Importing this module needs ``opentelemetry-sdk``; the rest of the recorder does not.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import StatusCode

from . import _state
from ._context import parent_span_of, resolve_session
from ._events import new_id
from ._format import T_EVENT, T_SPAN_END, T_SPAN_START
from ._semconv import span_kind
from ._session import Session, open_session
from .prices import cost_of

ID_MASK = (1 << 63) - 1

# ---------------------------------------------------------------------------- LLM fields


def _messages(attributes: Mapping[str, Any], prefix: str, role_key: str, content_key: str) -> list[dict[str, Any]]:
    """Indexed messages such as ``gen_ai.prompt.0.role`` / ``llm.input_messages.0.message.content``;
    OpenInference's content parts (``message.contents.N.message_content.text``) are joined."""
    found: dict[int, dict[str, Any]] = {}
    parts: dict[int, dict[int, str]] = {}
    parts_prefix = content_key + "s."  # "message.contents."
    for key, value in attributes.items():
        if not key.startswith(prefix):
            continue
        number, _, field = key[len(prefix) :].partition(".")
        if not number.isdigit():
            continue
        index = int(number)
        if field == role_key:
            found.setdefault(index, {})["role"] = value
        elif field == content_key:
            found.setdefault(index, {})["content"] = value
        elif field.startswith(parts_prefix) and field.endswith(".message_content.text"):
            part = field[len(parts_prefix) :].split(".", 1)[0]
            if part.isdigit():
                parts.setdefault(index, {})[int(part)] = str(value)
    for index, texts in parts.items():
        message = found.setdefault(index, {})
        message.setdefault("content", "".join(texts[i] for i in sorted(texts)))
    return [found[i] for i in sorted(found)]


def _event_messages(span: ReadableSpan) -> tuple[list[dict[str, Any]], Any]:
    """GenAI messages recorded as span events (``gen_ai.user.message``, ``gen_ai.choice``, ...)."""
    prompt: list[dict[str, Any]] = []
    completion = None
    for event in span.events:
        attrs = dict(event.attributes or {})
        if event.name in (
            "gen_ai.system.message",
            "gen_ai.user.message",
            "gen_ai.assistant.message",
            "gen_ai.tool.message",
        ):
            prompt.append({"role": event.name.split(".")[1], "content": _maybe_json(attrs.get("content"))})
        elif event.name == "gen_ai.choice":
            message = _maybe_json(attrs.get("message"))
            completion = message.get("content", message) if isinstance(message, dict) else message
    return prompt, completion


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def llm_attributes(span: ReadableSpan) -> dict[str, Any]:
    """model, prompt, completion, tokens and cost of an LLM span, in either convention."""
    a = dict(span.attributes or {})
    model = a.get("gen_ai.response.model") or a.get("gen_ai.request.model") or a.get("llm.model_name")
    prompt_tokens = _first_int(a, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt")
    completion_tokens = _first_int(
        a, "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.token_count.completion"
    )
    prompt: Any = _messages(a, "gen_ai.prompt.", "role", "content") or _messages(
        a, "llm.input_messages.", "message.role", "message.content"
    )
    completion: Any = _messages(a, "gen_ai.completion.", "role", "content") or _messages(
        a, "llm.output_messages.", "message.role", "message.content"
    )
    if not prompt or not completion:
        event_prompt, event_completion = _event_messages(span)
        prompt = prompt or event_prompt
        completion = completion or event_completion
    if not prompt and "input.value" in a:
        prompt = _maybe_json(a["input.value"])
    if not completion and "output.value" in a:
        completion = _maybe_json(a["output.value"])
    if isinstance(completion, list) and len(completion) == 1 and isinstance(completion[0], dict):
        completion = completion[0]
    return {
        "model": model,
        "prompt": prompt or None,
        "completion": completion or None,
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "cost": cost_of(model, prompt_tokens, completion_tokens),
        "system": a.get("gen_ai.system") or a.get("llm.provider") or a.get("llm.system"),
        "otel_attributes": a,
    }


def _first_int(attributes: Mapping[str, Any], *keys: str) -> int | None:
    for key in keys:
        value = attributes.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


# ---------------------------------------------------------------------------- processor


class SessionTrailSpanProcessor(SpanProcessor):
    """Records OTel spans into the current sessiontrail session (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # OTel span id -> (session, our parent id, our kind); filled at start, used at end.
        self._open: dict[int, tuple[Session, int | None, str]] = {}
        self._trace_sessions: dict[int, tuple[Session, int]] = {}  # trace id -> (session, root span)

    def on_start(self, span: Span, parent_context: Any = None) -> None:
        try:
            self._start(span)
        except Exception:
            _state.count_internal_error()

    def on_end(self, span: ReadableSpan) -> None:
        try:
            self._end(span)
        except Exception:
            _state.count_internal_error()

    def shutdown(self) -> None:
        self.force_flush()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return _state.writer.flush(timeout_millis / 1000) if _state.writer is not None else True

    # -------------------------------------------------------------- mapping
    def _start(self, span: Span) -> None:
        context = span.get_span_context()
        span_id = context.span_id & ID_MASK
        parent = span.parent
        parent_id = parent.span_id & ID_MASK if parent is not None else None
        with self._lock:
            known_parent = parent_id is not None and parent_id in self._open
            if parent_id is not None and known_parent:
                session = self._open[parent_id][0]
            else:
                session = resolve_session() or self._session_for_trace(context.trace_id, span)
                parent_id = parent_span_of(session)
            attributes = dict(span.attributes or {})
            kind = span_kind(attributes)
            self._open[span_id] = (session, parent_id, kind)
        if kind == "llm":
            return  # recorded whole at its end, as an LLM event
        attrs = {
            "otel_attributes": attributes,
            "otel_kind": span.kind.name,
            "trace_id": format(context.trace_id, "032x"),
        }
        _state.submit([T_SPAN_START, span.start_time, session.id, span_id, parent_id, kind, span.name, attrs])

    def _session_for_trace(self, trace_id: int, span: Span) -> Session:
        """A session per OTel trace when no sessiontrail session is current (lock held)."""
        known = self._trace_sessions.get(trace_id)
        if known is not None:
            return known[0]
        session = open_session(["otel"], name=span.name)
        self._trace_sessions[trace_id] = (session, span.get_span_context().span_id & ID_MASK)
        return session

    def _end(self, span: ReadableSpan) -> None:
        context = span.get_span_context()
        if context is None:
            return
        span_id = context.span_id & ID_MASK
        with self._lock:
            opened = self._open.pop(span_id, None)
        if opened is None:
            return
        session, parent_id, kind = opened
        status_code = span.status.status_code
        failed = status_code == StatusCode.ERROR
        if kind == "llm":
            attrs = llm_attributes(span)
            if failed:
                attrs["error"] = {"message": span.status.description}
            end = span.end_time if span.end_time and span.start_time and span.end_time > span.start_time else None
            _state.submit(
                [
                    T_EVENT,
                    span.start_time,
                    session.id,
                    span_id,
                    parent_id,
                    "llm",
                    attrs["model"] or span.name,
                    end,
                    attrs,
                ]
            )
        else:
            for event in span.events:
                self._emit_event(session, span_id, event)
            attrs = {"otel_attributes": dict(span.attributes or {})}
            if failed:
                attrs["error"] = {"message": span.status.description}
            _state.submit([T_SPAN_END, span.end_time, session.id, span_id, "error" if failed else "ok", attrs])
        with self._lock:
            root = self._trace_sessions.get(context.trace_id)
            if root is not None and root[1] == span_id:
                del self._trace_sessions[context.trace_id]
                root[0].end("Fail" if failed else "Success", span.status.description if failed else None)

    def _emit_event(self, session: Session, span_id: int, event: Any) -> None:
        attrs = dict(event.attributes or {})
        is_exception = event.name == "exception"
        if is_exception:
            attrs = {
                "exception_type": attrs.get("exception.type"),
                "message": attrs.get("exception.message"),
                "traceback": attrs.get("exception.stacktrace"),
                "error_type": attrs.get("exception.type"),
            }
        name = str(attrs.get("exception_type") or "exception") if is_exception else event.name
        _state.submit(
            [
                T_EVENT,
                event.timestamp,
                session.id,
                new_id(),
                span_id,
                "error" if is_exception else "action",
                name,
                None,
                attrs,
            ]
        )


__all__ = ["SessionTrailSpanProcessor", "span_kind", "llm_attributes"]
