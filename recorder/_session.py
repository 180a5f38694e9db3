"""Session, EndState and the event classes (field names as in AgentOps so code ports unchanged)."""

from __future__ import annotations

import enum
import random
import threading
import traceback
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from . import _clock, _state
from ._context import current_session_var, current_span_var, parent_span_of
from ._encode import pack_wire
from ._format import (
    REC_SESSION_END,
    REC_SESSION_START,
    REC_SESSION_TAGS,
    REC_SPAN_END,
    T_EVENT,
)


def new_id() -> int:
    """A random 63-bit id for a span or event (unique within a session with overwhelming odds)."""
    return random.getrandbits(63) or 1



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


def _to_ns(value: Any) -> int | None:
    """Nanoseconds since the epoch from a datetime, an epoch number or an ISO-8601 string."""
    if value is None:
        return None
    try:
        if isinstance(value, datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=timezone.utc)
            return int(value.timestamp() * 1e9)
        if isinstance(value, (int, float)):
            return int(value * 1e9) if value < 1e12 else int(value)
        if isinstance(value, str):
            return _to_ns(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except (ValueError, OverflowError, OSError):
        return None
    return None


def ns_to_datetime(ns: int | None) -> datetime | None:
    if ns is None:
        return None
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc)


# ---------------------------------------------------------------------------- events


@dataclass
class Event:
    """Base of all events. ``init_timestamp`` defaults to creation, ``end_timestamp`` to recording."""

    init_timestamp: Any = None
    end_timestamp: Any = None
    id: int = field(default_factory=new_id)
    _start_ns: int = field(default_factory=lambda: _clock.now_ns(), repr=False)
    _recorded: bool = field(default=False, repr=False, compare=False)

    kind = "event"

    @property
    def name(self) -> str:
        return self.kind

    def attributes(self) -> dict[str, Any]:
        return {}

    def to_record(self, session: Session, parent: int | None) -> list[Any]:
        """This event as an ``event`` record in its on-disk form (``_format.FIELDS``)."""
        now = _clock.now_ns()
        init = self.init_timestamp
        if self._recorded:  # the same object recorded again is a new event, happening now
            event_id, start = new_id(), now if init is None else (_to_ns(init) or now)
        else:
            self._recorded = True
            event_id, start = self.id, self._start_ns if init is None else (_to_ns(init) or self._start_ns)
        end = now if self.end_timestamp is None else (_to_ns(self.end_timestamp) or now)
        return [T_EVENT, start, session.id, event_id, parent, self.kind, self.name, end if end > start else None, self.attributes()]


@dataclass
class ActionEvent(Event):
    action_type: str | None = None
    params: Any = None
    returns: Any = None
    logs: Any = None

    kind = "action"

    @property
    def name(self) -> str:
        return self.action_type or "action"

    def attributes(self) -> dict[str, Any]:
        return {"action_type": self.action_type, "params": self.params, "returns": self.returns, "logs": self.logs}


@dataclass
class ToolEvent(Event):
    name: str | None = None  # type: ignore[assignment]
    params: Any = None
    returns: Any = None
    logs: Any = None

    kind = "tool"

    def attributes(self) -> dict[str, Any]:
        return {"params": self.params, "returns": self.returns, "logs": self.logs}

    def to_record(self, session: Session, parent: int | None) -> list[Any]:
        record = super().to_record(session, parent)
        record[6] = self.name or "tool"  # the event's name field
        return record


@dataclass
class LLMEvent(Event):
    model: str | None = None
    prompt: Any = None
    completion: Any = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost: float | None = None
    thread_id: Any = None
    params: Any = None
    returns: Any = None

    kind = "llm"

    @property
    def name(self) -> str:
        return self.model or "llm"

    def attributes(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "prompt": self.prompt,
            "completion": self.completion,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost": self.cost,
            "params": self.params,
            "returns": self.returns,
        }


@dataclass
class ErrorEvent(Event):
    exception: BaseException | None = None
    error_type: str | None = None
    code: str | None = None
    details: Any = None
    logs: Any = None
    trigger_event: Event | None = None

    kind = "error"

    @property
    def name(self) -> str:
        if self.error_type:
            return self.error_type
        if self.exception is not None:
            return type(self.exception).__name__
        return "error"

    def attributes(self) -> dict[str, Any]:
        return exception_attributes(self.exception) | {
            key: value
            for key, value in (
                ("error_type", self.name),
                ("code", self.code),
                ("details", self.details),
                ("logs", self.logs),
                ("trigger_event", self.trigger_event.id if self.trigger_event else None),
            )
            if value is not None or key == "error_type"
        }


def exception_attributes(exc: BaseException | None) -> dict[str, Any]:
    if exc is None:
        return {}
    try:
        message = str(exc)
    except Exception:
        message = "<str() of the exception failed>"
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return {"exception_type": type(exc).__qualname__, "message": message, "traceback": tb}


def mark_recorded(exc: BaseException) -> bool:
    """True the first time an exception is seen, so one exception is recorded once."""
    if getattr(exc, "__sessiontrail_recorded__", False):
        return False
    try:
        exc.__sessiontrail_recorded__ = True  # type: ignore[attr-defined]
    except Exception:
        pass
    return True


# ---------------------------------------------------------------------------- session


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
    def start_record(self) -> dict[str, Any]:
        return {
            "type": REC_SESSION_START,
            "ts": self._start_ns,
            "session": self.id,
            "name": self.name,
            "tags": list(self._tags),
            "pid": self.owner_pid,
            "host": _state.HOSTNAME,
        }

    def record(self, event: Event) -> None:
        """Record an event in this session, under the current span if it belongs here."""
        self._record(event, parent_span_of(self))

    def _record(self, event: Event, parent: int | None) -> None:
        try:
            if not isinstance(event, Event):
                event = ActionEvent(action_type=type(event).__name__, params=event)
            fast = _state.fast_writer
            if fast is not None:
                fast.submit(pack_wire(event.to_record(self, parent)))
            else:
                _state.emit(event.to_record(self, parent))
            if event.kind == "error" and isinstance(event, ErrorEvent) and event.exception is not None:
                mark_recorded(event.exception)
        except Exception:
            _state.count_internal_error()

    def add_tags(self, tags: Iterable[str] | str) -> None:
        self.set_tags(self._tags + _unique_tags([tags] if isinstance(tags, str) else tags))

    def set_tags(self, tags: Iterable[str] | str) -> None:
        with self._lock:
            self._tags = _unique_tags([tags] if isinstance(tags, str) else tags)
        _state.emit(
            {"type": REC_SESSION_TAGS, "ts": _clock.now_ns(), "session": self.id, "tags": list(self._tags)}, essential=True
        )

    def track_instance_span(self, span_id: int) -> None:
        self._instance_spans[span_id] = None

    def end_instance_span(self, span_id: int) -> None:
        """End the span of a decorated instance (when it is collected or the session ends)."""
        if self._instance_spans.pop(span_id, 0) is None:
            _state.emit(
                {"type": REC_SPAN_END, "ts": _clock.now_ns(), "session": self.id, "span": span_id, "status": "ok"}
            )

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
        _state.emit(
            {
                "type": REC_SESSION_END,
                "ts": self._end_ns,
                "session": self.id,
                "end_state": self.end_state.value,
                "reason": self.end_state_reason,
            },
            wake=True,
            essential=True,
        )
        if current_session_var.get() is self:
            previous = self._previous
            current_session_var.set(previous if previous is not None and previous.is_running else None)

    end_session = end

    def __enter__(self) -> Session:
        self._tokens = (current_session_var.set(self), current_span_var.set(None))
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        tokens = getattr(self, "_tokens", None)
        if tokens is not None:
            try:
                current_span_var.reset(tokens[1])
                current_session_var.reset(tokens[0])
            except ValueError:  # exited in a different context than entered
                current_session_var.set(None)
        if exc is None:
            self.end(EndState.SUCCESS)
        else:
            if mark_recorded(exc):
                self.record(ErrorEvent(exception=exc))
            self.end(EndState.FAIL, f"{type(exc).__name__}: {exc}")


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
