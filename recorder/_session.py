"""Session, EndState and ``start_session``: one run of work, its tags and how it ended."""

from __future__ import annotations

import enum
import threading
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from . import _clock, _lifecycle, _state
from ._context import current_session_var, parent_span_of, restore_previous
from ._context import make_current as _make_current
from ._events import ActionEvent, ErrorEvent, Event, mark_recorded, ns_to_datetime
from ._format import T_SESSION_END, T_SESSION_START, T_SESSION_TAGS, T_SPAN_END


class EndState(str, enum.Enum):
    SUCCESS = "Success"
    FAIL = "Fail"
    INDETERMINATE = "Indeterminate"

    @classmethod
    def coerce(cls, value: EndState | str | None) -> EndState:
        if isinstance(value, EndState):
            return value
        text = str(value or "").strip().lower()
        for state in cls:
            if state.value.lower() == text or state.name.lower() == text:
                return state
        if text in ("failure", "failed", "error"):
            return cls.FAIL
        return cls.INDETERMINATE

    def __str__(self) -> str:
        return self.value


class Session:
    """One run of work: a root of spans and events, with tags and an end state."""

    def __init__(self, *, name: str | None = None, tags: Iterable[str] | None = None) -> None:
        self.id = str(uuid.uuid4())
        self.name = name or "session"
        self._tags = _unique_tags(tags)
        self._start_ns = _clock.now_ns()
        self._end_ns: int | None = None
        self.end_state: EndState | None = None
        self.end_state_reason: str | None = None
        self.owner_pid = _state.pid()
        self._lock = threading.Lock()
        self._instance_spans: dict[int, None] = {}  # spans of @agent-style instances still open
        self._previous: Session | None = None  # the context's session before start_session()

    # -- state ------------------------------------------------------------------------
    @property
    def tags(self) -> list[str]:
        return list(self._tags)

    @property
    def start_time(self) -> datetime:
        return ns_to_datetime(self._start_ns)  # type: ignore[return-value]

    @property
    def end_time(self) -> datetime | None:
        return ns_to_datetime(self._end_ns)

    @property
    def is_running(self) -> bool:
        return self._end_ns is None

    session_id = property(lambda self: self.id)
    init_timestamp = property(lambda self: self.start_time.isoformat())

    def __repr__(self) -> str:
        state = self.end_state.value if self.end_state else "running"
        return f"<Session {self.name!r} {self.id} {state} tags={self._tags!r}>"

    # -- recording --------------------------------------------------------------------
    def start_record(self, *, continued: bool = False) -> list[Any]:
        """This session's ``session_start`` record; ``continued`` when a new file restates it."""
        more: dict[str, Any] = {"pid": self.owner_pid, "host": _state.HOSTNAME}
        if continued:
            more["continued"] = True
        return [T_SESSION_START, self._start_ns, self.id, self.name, list(self._tags), more]

    def record(self, event: Event) -> None:
        """Record an event in this session, under the current span if it belongs here."""
        self._record(event, parent_span_of(self))

    def _record(self, event: Event, parent: int | None) -> None:
        try:
            if not isinstance(event, Event):
                event = ActionEvent(action_type=type(event).__name__, params=event)
            if isinstance(event, ErrorEvent) and event.trigger_event is not None and not event.trigger_event._recorded:
                self._record(event.trigger_event, parent)  # so the error points at an event that exists
            _state.submit(event.to_record(self.id, parent))
            if isinstance(event, ErrorEvent) and event.exception is not None:
                mark_recorded(event.exception)
        except Exception:
            _state.count_internal_error()

    def add_tags(self, tags: Iterable[str] | str) -> None:
        self.set_tags(self._tags + _unique_tags([tags] if isinstance(tags, str) else tags))

    def set_tags(self, tags: Iterable[str] | str) -> None:
        with self._lock:
            self._tags = _unique_tags([tags] if isinstance(tags, str) else tags)
        _state.submit([T_SESSION_TAGS, _clock.now_ns(), self.id, list(self._tags)], essential=True)

    def track_instance_span(self, span_id: int) -> None:
        self._instance_spans[span_id] = None

    def end_instance_span(self, span_id: int) -> None:
        """End the span of a decorated instance (when it is collected or the session ends)."""
        if self._instance_spans.pop(span_id, 0) is None:
            _state.submit([T_SPAN_END, _clock.now_ns(), self.id, span_id, "ok", None])

    def end(
        self,
        end_state: EndState | str = EndState.SUCCESS,
        end_state_reason: str | None = None,
    ) -> None:
        """End the session; a second call does nothing."""
        with self._lock:
            if self._end_ns is not None:
                return
            for span_id in list(self._instance_spans):
                self.end_instance_span(span_id)
            self._end_ns = max(_clock.now_ns(), self._start_ns)
            self.end_state = EndState.coerce(end_state)
            self.end_state_reason = None if end_state_reason is None else str(end_state_reason)
        _state.session_ended(self)
        record = [T_SESSION_END, self._end_ns, self.id, self.end_state.value, self.end_state_reason]
        _state.submit(record, wake=True, essential=True)
        restore_previous(self, self._previous)

    end_session = end

    def forget(self) -> None:
        """Stop recording into this session without ending it (``reset()`` for tests)."""
        self._end_ns = self._start_ns

    def __enter__(self) -> Session:
        if self.is_running and current_session_var.get() is not self:
            self._previous = _make_current(self)
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if exc is None:
            self.end(EndState.SUCCESS)
            return
        if mark_recorded(exc):
            self.record(ErrorEvent(exception=exc))
        self.end(EndState.FAIL, f"{type(exc).__name__}: {exc}")


def start_session(tags: Iterable[str] | str | None = None, *, name: str | None = None) -> Session:
    """Start a new root session (never nested in another) and make it current in this context.

    Usable as a context manager: ``with start_session(tags=[...]) as s:`` ends it Success,
    or Fail if an exception escapes.
    """
    session = open_session(tags, name=name)
    session._previous = _make_current(session)
    return session


def open_session(tags: Iterable[str] | str | None = None, *, name: str | None = None) -> Session:
    """Start a session with the tags init() gave plus these, without making it current.
    Unnamed sessions are named after the program."""
    config = _state.ensure_configured()
    _lifecycle.install()
    extra = [tags] if isinstance(tags, str) else list(tags or ())
    session = Session(name=name or _state.program_name(), tags=list(config.tags) + extra)
    _state.session_started(session)
    return session


def _unique_tags(tags: Iterable[Any] | None) -> list[str]:
    if tags is None:
        return []
    if isinstance(tags, str):
        tags = [tags]
    seen: dict[str, None] = {}
    try:
        for tag in tags:
            seen[str(tag)] = None
    except TypeError:
        seen[str(tags)] = None
    return list(seen)
