"""The current session and span, carried by ContextVars so threads and asyncio tasks stay apart.

Values held here are never mutated: a new value is set with a token and reset with that token.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from . import _state

if TYPE_CHECKING:
    from ._session import Session

P = ParamSpec("P")
R = TypeVar("R")

current_session_var: ContextVar[Session | None] = ContextVar("sessiontrail_session", default=None)
# (session, span id): the innermost open span of that session in this context.
current_span_var: ContextVar[tuple[Session, int] | None] = ContextVar("sessiontrail_span", default=None)


def parent_span_of(session: Session) -> int | None:
    """The id of the innermost open span in this context, if it belongs to session."""
    span = current_span_var.get()
    if span is not None and span[0] is session:
        return span[1]
    return None


def context_session() -> Session | None:
    """This context's session: the innermost span's, else the current session, if running.
    (A span call sets only the span: it carries its session.)"""
    span = current_span_var.get()
    if span is not None and span[0].is_running:
        return span[0]
    session = current_session_var.get()
    if session is not None and session.is_running:
        return session
    return None


def resolve_session() -> Session | None:
    """The current session: this context's, else the only open one, else None."""
    return context_session() or _state.single_open_session()


def session_and_parent() -> tuple[Session, int | None] | None:
    """Where a new span or event goes: (its session, its parent span id), or None when there
    is no session. The first tests are the common cases, in a span or a session of this context."""
    span = current_span_var.get()
    if span is not None:
        if span[0]._end_ns is None:
            return span
    else:  # the next most common: in a running session, outside any span
        session = current_session_var.get()
        if session is not None and session._end_ns is None:
            return session, None
    session = resolve_session()
    return None if session is None else (session, parent_span_of(session))


def make_current(session: Session) -> Session | None:
    """Make session this context's current session, outside any span; return the one it
    replaces, for ``restore_previous``. (Sessions are not scopes: one started here may end
    anywhere, in any order, so they keep what they replaced instead of a token.)"""
    previous = current_session_var.get()
    current_session_var.set(session)
    current_span_var.set(None)
    return previous


def restore_previous(session: Session, previous: Session | None) -> None:
    """After session ended: if it is still this context's current session, the session it
    replaced becomes current again if that one is still running."""
    if current_session_var.get() is session:
        current_session_var.set(previous if previous is not None and previous.is_running else None)


def bind_context(fn: Callable[P, R]) -> Callable[P, R]:
    """Wrap fn so that, wherever it runs (a thread, an executor), it records into the session
    and under the span that were current when bind_context was called."""
    session = current_session_var.get()
    span = current_span_var.get()

    @functools.wraps(fn)
    def bound(*args: P.args, **kwargs: P.kwargs) -> R:
        session_token = current_session_var.set(session)
        span_token = current_span_var.set(span)
        try:
            return fn(*args, **kwargs)
        finally:
            current_span_var.reset(span_token)
            current_session_var.reset(session_token)

    return bound


def _forget_context() -> None:
    current_session_var.set(None)
    current_span_var.set(None)


_state.on_reset(_forget_context)
