"""Events: what happened at a point in a session (field names as in AgentOps so code ports unchanged)."""

from __future__ import annotations

import random
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from . import _clock
from ._format import T_EVENT
from .prices import cost_of


def new_id() -> int:
    """A random 63-bit id for a span or event (unique within a session with overwhelming odds)."""
    return random.getrandbits(63) or 1


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

    def to_record(self, session_id: str, parent: int | None) -> list[Any]:
        """This event as an ``event`` record in its on-disk form (``_format.FIELDS``)."""
        now = _clock.now_ns()
        init = self.init_timestamp
        if self._recorded:  # the same object recorded again is a new event, happening now
            event_id, start = new_id(), now if init is None else (_to_ns(init) or now)
        else:
            self._recorded = True
            event_id, start = self.id, self._start_ns if init is None else (_to_ns(init) or self._start_ns)
        end = now if self.end_timestamp is None else (_to_ns(self.end_timestamp) or now)
        return [
            T_EVENT,
            start,
            session_id,
            event_id,
            parent,
            self.kind,
            self.name,
            end if end > start else None,
            self.attributes(),
        ]


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

    def to_record(self, session_id: str, parent: int | None) -> list[Any]:
        record = super().to_record(session_id, parent)
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
            # priced from the table when not given (None when the model or a count is unknown)
            "cost": self.cost
            if self.cost is not None
            else cost_of(self.model, self.prompt_tokens, self.completion_tokens),
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
