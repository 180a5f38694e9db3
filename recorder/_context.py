"""The current session and span, carried by ContextVars so threads and asyncio tasks stay apart.

Values held here are never mutated: a new value is set with a token and reset with that token.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from ._session import Session

F = TypeVar("F", bound=Callable[..., Any])

current_session_var: ContextVar[Session | None] = ContextVar("sessiontrail_session", default=None)
# (session, span id): the innermost open span of that session in this context.
current_span_var: ContextVar[tuple[Session, int] | None] = ContextVar("sessiontrail_span", default=None)


def parent_span_of(session: Session) -> int | None:
    """The id of the innermost open span in this context, if it belongs to session."""
    span = current_span_var.get()
    if span is not None and span[0] is session:
        return span[1]
    return None


def bind_context(fn: F) -> F:
    """Wrap fn so that, wherever it runs (a thread, an executor), it records into the session
    and under the span that were current when bind_context was called."""
    session = current_session_var.get()
    span = current_span_var.get()

    @functools.wraps(fn)
    def bound(*args: Any, **kwargs: Any) -> Any:
        session_token = current_session_var.set(session)
        span_token = current_span_var.set(span)
        try:
            return fn(*args, **kwargs)
        finally:
            current_span_var.reset(span_token)
            current_session_var.reset(session_token)

    return bound  # type: ignore[return-value]
