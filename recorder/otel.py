"""OpenTelemetry spans into sessiontrail files: ``SessionTrailSpanProcessor``.

Add it to a ``TracerProvider`` (``provider.add_span_processor(SessionTrailSpanProcessor())``;
``init()`` does so for the program's SDK provider and for the instrumentations it turns on)
and every OTel span becomes a span of the current sessiontrail session, nested under the
sessiontrail span that was current when it started, with its children, timing, status,
attributes and events. The conventions are read by ``_semconv``:

- A span's kind is decided from its attributes when it starts and again when it ends (some
  instrumentations say what a span is only at its end); a span whose kind or name changed
  ends with a ``span_end`` that restates them (format_spec.md, 5.6).
- LLM calls are recorded whole when they end, with model, messages, the tool calls the model
  asked for, tokens and cost; a failed call has status error and the API's message.
- One model call, one LLM call: when two instrumentations describe the same call (the
  OpenAI Agents SDK's ``response`` span and the openai client's span inside it, LangChain's
  model span and the client's), the inner one is folded into the outer as ``client_call``.
- A span with no sessiontrail session around it joins the session of its ``session.id``
  (one session per id, named by it), else a session for its trace.

Importing this module needs ``opentelemetry-sdk``; the rest of the recorder does not.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import SpanKind, StatusCode

from . import _state
from ._context import context_session, parent_span_of
from ._events import new_id
from ._format import T_EVENT, T_SPAN_END, T_SPAN_START
from ._semconv import OPERATION, error_message, llm_fields, session_key, span_kind, tool_call_id
from ._session import EndState, Session, open_session

ID_MASK = (1 << 63) - 1
_KIND_NAMES = {kind: kind.name for kind in SpanKind}  # Enum's .name is a property: 0.14 µs
LLM = "llm"


def _attributes_of(span: ReadableSpan) -> dict[str, Any]:
    """A copy of a span's attributes. The SDK keeps them in a ``BoundedAttributes`` over a
    dict; copying that dict is 0.06 µs, copying through the mapping interface
    (``span.attributes`` is a read-only view of it) 1.7 µs, twice a span."""
    inner = getattr(getattr(span, "_attributes", None), "_dict", None)
    if type(inner) is dict:
        return inner.copy()
    return dict(span.attributes or {})


@dataclass(slots=True)
class _Open:
    """An OTel span between its start and its end."""

    session: Session
    parent: int | None  # our parent span id
    kind: str  # as decided at start
    name: str
    scope: str
    written: bool  # its span_start is on disk (LLM calls are written whole at their end)
    start: int
    inner_calls: list[_Call] = field(default_factory=list)  # LLM spans folded into this one

    @property
    def undecided(self) -> bool:
        """A span of an instrumentation that says what it is only at its end (LangChain's)."""
        return self.kind == OPERATION and self.scope.startswith("openinference.instrumentation")

    @property
    def may_be_llm(self) -> bool:
        return self.kind == LLM or self.undecided


@dataclass(slots=True)
class _Call:
    """An LLM span folded into an outer one, until the outer one ends."""

    fields: dict[str, Any]
    start: int
    end: int


class SessionTrailSpanProcessor(SpanProcessor):
    """Records OTel spans into the current sessiontrail session (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[int, _Open] = {}  # OTel span id -> what its end needs
        self._trace_sessions: dict[int, tuple[Session, int]] = {}  # trace id -> (session, root span)
        self._keyed_sessions: dict[str, Session] = {}  # session.id -> its session, until exit
        self._keyed_failed: set[str] = set()
        self._last_trace: tuple[int, str] = (-1, "")
        _state.on_exit(self.end_sessions)

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

    def end_sessions(self) -> None:
        """End the sessions opened for a ``session.id`` (at exit: more traces could join them
        while the program ran). Fail if any of their traces failed."""
        with self._lock:
            keyed, self._keyed_sessions = self._keyed_sessions, {}
        for key, session in keyed.items():
            session.end(EndState.FAIL if key in self._keyed_failed else EndState.SUCCESS, None)

    # -------------------------------------------------------------- start
    def _start(self, span: Span) -> None:
        context = span.get_span_context()
        if context is None:
            return
        span_id = context.span_id & ID_MASK
        parent = span.parent
        otel_parent = parent.span_id & ID_MASK if parent is not None else None
        attributes = _attributes_of(span)
        scope = span.instrumentation_scope.name if span.instrumentation_scope is not None else ""
        kind = span_kind(attributes, span.name, scope)
        with self._lock:
            outer = self._open.get(otel_parent) if otel_parent is not None else None
            if outer is not None:
                session, parent_id = outer.session, otel_parent
            else:
                session = self._session_for(context.trace_id, span, attributes)
                parent_id = parent_span_of(session)
            self._open[span_id] = _Open(session, parent_id, kind, span.name, scope, kind != LLM, span.start_time or 0)
        if kind == LLM:
            return  # recorded whole at its end
        attrs = {
            "otel_attributes": attributes,
            "otel_kind": _KIND_NAMES.get(span.kind) or span.kind.name,
            "trace_id": self._trace_hex(context.trace_id),
        }
        _state.submit([T_SPAN_START, span.start_time, session.id, span_id, parent_id, kind, span.name, attrs])

    def _trace_hex(self, trace_id: int) -> str:
        """A trace id as the 32 hex digits OTel shows; a trace's spans come together, so the
        last one is kept."""
        last = self._last_trace
        if last[0] != trace_id:
            last = self._last_trace = (trace_id, format(trace_id, "032x"))
        return last[1]

    def _session_for(self, trace_id: int, span: Span, attributes: dict[str, Any]) -> Session:
        """The session of a span that starts a trace here (lock held): this context's session,
        else its ``session.id``'s, else the only open session (one this processor did not
        open), else its trace's own."""
        current = context_session()
        if current is not None:
            return current
        key = session_key(attributes)
        if key is not None:
            keyed = self._keyed_sessions.get(key)
            if keyed is None:
                keyed = self._keyed_sessions[key] = open_session(["otel", f"session.id:{key}"], name=key)
            return keyed
        known = self._trace_sessions.get(trace_id)
        if known is not None:
            return known[0]
        only = _state.single_open_session()
        ours = [*self._keyed_sessions.values(), *(s for s, _ in self._trace_sessions.values())]
        if only is not None and all(only is not s for s in ours):
            return only
        session = open_session(["otel"], name=span.name)
        self._trace_sessions[trace_id] = (session, span.get_span_context().span_id & ID_MASK)
        return session

    # -------------------------------------------------------------- end
    def _end(self, span: ReadableSpan) -> None:
        context = span.get_span_context()
        if context is None:
            return
        span_id = context.span_id & ID_MASK
        otel_parent = span.parent.span_id & ID_MASK if span.parent is not None else None
        with self._lock:
            opened = self._open.pop(span_id, None)
            outer = self._open.get(otel_parent) if otel_parent is not None else None
            if outer is None and opened is not None and opened.kind == LLM:
                outer = self._wrapper_of(opened)
        if opened is None:
            return
        attributes = _attributes_of(span)
        span_events = span.events
        events = [(e.name, dict(e.attributes or {})) for e in span_events]
        kind = span_kind(attributes, span.name, opened.scope)
        failed = span.status.status_code == StatusCode.ERROR
        error = {"message": error_message(span.status.description, events)} if failed else None
        if kind == LLM:
            call = llm_fields(attributes, events)
            if error is not None:
                call["error"] = error
            if outer is not None and outer.may_be_llm and not opened.written:
                # the same model call, seen from inside: one call
                outer.inner_calls.append(_Call(call, span.start_time or 0, span.end_time or 0))
                return
            self._end_llm(span, span_id, opened, call, failed)
        else:
            if opened.inner_calls:
                self._write_inner_calls(span, span_id, opened)
            for event, (name, event_attributes) in zip(span_events, events, strict=True):
                self._event(opened.session, span_id, name, event_attributes, event.timestamp)
            attrs: dict[str, Any] = {"otel_attributes": attributes}
            if error is not None:
                attrs["error"] = error
            call_id = tool_call_id(attributes)
            if call_id is not None:
                attrs["tool_call_id"] = call_id
            more = self._restated(opened, kind, span.name)
            record = [T_SPAN_END, span.end_time, opened.session.id, span_id, "error" if failed else "ok", attrs]
            _state.submit(record + [more] if more else record)
        self._end_session_of(context.trace_id, span_id, opened.session, attributes, failed, span)

    def _end_llm(self, span: ReadableSpan, span_id: int, opened: _Open, call: dict[str, Any], failed: bool) -> None:
        """Write an LLM call, with what the spans folded into it knew and it did not."""
        for inner in (c.fields for c in opened.inner_calls):
            for key in (
                "model",
                "prompt",
                "completion",
                "prompt_tokens",
                "completion_tokens",
                "cost",
                "tool_calls",
                "error",
            ):
                if call.get(key) is None and inner.get(key) is not None:
                    call[key] = inner[key]
        if opened.inner_calls:
            inner_fields = [c.fields for c in opened.inner_calls]
            # the other instrumentation's view, as detail: what it saw that this one repeats is left out
            details = [
                {k: v for k, v in f.items() if k not in ("prompt", "completion", "tool_calls")} for f in inner_fields
            ]
            call["client_call"] = details[0] if len(details) == 1 else details
            failed = failed or any("error" in inner for inner in inner_fields)
        status = "error" if failed else "ok"
        session = opened.session
        name = call.get("model") or span.name
        if opened.written:  # it started as something else: its end says what it was
            more = self._restated(opened, LLM, name)
            _state.submit([T_SPAN_END, span.end_time, session.id, span_id, status, call, more])
            return
        _state.submit([T_SPAN_START, span.start_time, session.id, span_id, opened.parent, LLM, name, call])
        _state.submit([T_SPAN_END, span.end_time, session.id, span_id, status, None])

    def _write_inner_calls(self, span: ReadableSpan, span_id: int, opened: _Open) -> None:
        """LLM calls folded into a span that turned out not to be an LLM call: written as its
        children after all."""
        session = opened.session
        for call in opened.inner_calls:
            child = new_id()
            name = call.fields.get("model") or "llm"
            status = "error" if "error" in call.fields else "ok"
            _state.submit([T_SPAN_START, call.start, session.id, child, span_id, LLM, name, call.fields])
            _state.submit([T_SPAN_END, call.end, session.id, child, status, None])

    def _wrapper_of(self, call: _Open) -> _Open | None:
        """For an LLM span with no parent we know (LangChain does not make its spans current,
        so the client's span inside its model span has no parent): the open span of the same
        session, still undecided, that started last before it; that is the model span whose
        call it is. Lock held."""
        best: _Open | None = None
        for other in self._open.values():
            if other.session is call.session and other.undecided and other.start <= call.start:
                if best is None or other.start > best.start:
                    best = other
        return best

    @staticmethod
    def _restated(opened: _Open, kind: str, name: str) -> dict[str, str] | None:
        """The kind and name a span_end restates when they changed since the span started."""
        more = {}
        if kind != opened.kind:
            more["kind"] = kind
        if name != opened.name:
            more["name"] = name
        return more or None

    def _end_session_of(
        self,
        trace_id: int,
        span_id: int,
        session: Session,
        attributes: dict[str, Any],
        failed: bool,
        span: ReadableSpan,
    ) -> None:
        if not failed and trace_id not in self._trace_sessions:
            return  # the common case: neither ends a session nor marks one failed
        with self._lock:
            root = self._trace_sessions.get(trace_id)
            ends_trace_session = root is not None and root[1] == span_id
            if ends_trace_session:
                del self._trace_sessions[trace_id]
            key = session_key(attributes)
            if failed and key is not None and self._keyed_sessions.get(key) is session:
                self._keyed_failed.add(key)
        if ends_trace_session:
            session.end(EndState.FAIL if failed else EndState.SUCCESS, span.status.description if failed else None)

    def _event(self, session: Session, span_id: int, name: str, attrs: dict[str, Any], timestamp: int) -> None:
        is_exception = name == "exception"
        if is_exception:
            attrs = {
                "exception_type": attrs.get("exception.type"),
                "message": attrs.get("exception.message"),
                "traceback": attrs.get("exception.stacktrace"),
                "error_type": attrs.get("exception.type"),
            }
            name = str(attrs.get("exception_type") or "exception")
        kind = "error" if is_exception else "action"
        _state.submit([T_EVENT, timestamp, session.id, new_id(), span_id, kind, name, None, attrs])


__all__ = ["SessionTrailSpanProcessor"]
