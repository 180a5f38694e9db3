"""AgentOps' API beyond the session basics, so AgentOps code runs unchanged: v0.4+ traces
(``start_trace``/``end_trace``, ``@trace``), v0.3 decorators (``record_action``,
``record_tool``, ``track_agent``) and the tag functions."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from . import _state
from ._context import resolve_session
from ._session import EndState, Session, start_session
from .decorators import _make_decorator, agent, session, tool

F = TypeVar("F", bound=Callable[..., Any])

trace = session  # AgentOps 0.4+: @trace makes each call a trace, ours a session
_action = _make_decorator("action")


def start_trace(trace_name: str | None = None, tags: Iterable[str] | dict[str, Any] | None = None) -> Session:
    """AgentOps 0.4+: start a trace, here a session (dict tags become ``key:value`` tags)."""
    if isinstance(tags, dict):
        tags = [f"{key}:{value}" for key, value in tags.items()]
    return start_session(tags, name=trace_name)


def end_trace(trace_context: Session | None = None, end_state: EndState | str = EndState.SUCCESS) -> None:
    """AgentOps 0.4+: end one trace, or with none given every trace this process started."""
    if trace_context is not None:
        trace_context.end(end_state)
        return
    with _state._lock:
        sessions = [s for s in _state.open_sessions.values() if s.owner_pid == _state.pid()]
    for open_session in sessions:
        open_session.end(end_state)


def set_tags(tags: Iterable[str] | str) -> None:
    """Replace the current session's tags."""
    current = resolve_session()
    if current is not None:
        current.set_tags(tags)


def add_tags(tags: Iterable[str] | str) -> None:
    """Add tags to the current session."""
    current = resolve_session()
    if current is not None:
        current.add_tags(tags)


def record_action(event_name: str | None = None) -> Callable[[F], F]:
    """AgentOps 0.3: record each call as an action named event_name."""
    return _action(name=event_name)


def record_tool(tool_name: str | None = None) -> Callable[[F], F]:
    """AgentOps 0.3: record each call as a tool call named tool_name."""
    return tool(name=tool_name)


def track_agent(name: str | None = None) -> Callable[[F], F]:
    """AgentOps 0.3: each instance of the class is an agent named name."""
    return agent(name=name)
