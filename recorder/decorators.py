"""``@session``, ``@agent``, ``@operation``, ``@task``, ``@workflow``, ``@tool``.

Each works bare or with arguments, on sync and async functions, generators and async
generators, and on classes (each instance becomes a span its methods run under). Context is
set only while the wrapped code runs: a suspended generator never leaks its span to the
code that iterates it.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import weakref
from collections.abc import Callable, Iterable
from contextvars import ContextVar, Token
from typing import Any, ParamSpec, Protocol, TypeVar, cast, overload

from . import _clock, _state
from ._context import current_session_var, current_span_var, session_and_parent
from ._events import ErrorEvent, mark_recorded, new_id
from ._format import T_SPAN_END, T_SPAN_START
from ._session import EndState, Session, open_session

P = ParamSpec("P")
R = TypeVar("R")
F = TypeVar("F", bound=Callable[..., Any])
Opener = Callable[[tuple[Any, ...], dict[str, Any]], "_Call | None"]

__all__ = ["session", "agent", "operation", "task", "workflow", "tool", "guardrail"]


# ---------------------------------------------------------------------------- calls


class _Call:
    """One run of a wrapped callable: which context to set while it runs, and what to record.

    ``activate`` sets the context and returns what ``deactivate`` needs to put it back."""

    __slots__ = ("session", "span_id")

    def __init__(self, session: Session, span_id: int | None) -> None:
        self.session = session
        self.span_id = span_id

    def activate(self) -> object:
        span = (self.session, self.span_id) if self.span_id is not None else None
        return current_session_var.set(self.session), current_span_var.set(span)

    def deactivate(self, tokens: object) -> None:
        session_token, span_token = cast("tuple[Token[Session | None], Token[tuple[Session, int] | None]]", tokens)
        current_span_var.reset(span_token)
        current_session_var.reset(session_token)

    def finish(self, result: object = None, exc: BaseException | None = None) -> None:
        """Called once when the callable returns (result) or raises (exc)."""


class _SpanCall(_Call):
    """A call recorded as a span (``span_id`` is set): the span is the only context it sets."""

    __slots__ = ()

    def activate(self) -> object:
        return current_span_var.set((self.session, cast(int, self.span_id)))

    def deactivate(self, tokens: object) -> None:
        current_span_var.reset(cast("Token[tuple[Session, int] | None]", tokens))

    def finish(self, result: object = None, exc: BaseException | None = None) -> None:
        end_span(self.session, cast(int, self.span_id), result, exc)


def end_span(session: Session, span_id: int, result: object = None, exc: BaseException | None = None) -> None:
    """Record the end of a span that returned result or raised exc (with an error event for
    an exception seen here first)."""
    attrs: dict[str, Any]
    if exc is None:
        status, attrs = "ok", {"output": result}
    elif isinstance(exc, GeneratorExit):
        status, attrs = "ok", {"closed_early": True}
    else:
        cancelled = isinstance(exc, asyncio.CancelledError)
        status = "cancelled" if cancelled else "error"
        attrs = {"error": {"exception_type": type(exc).__qualname__, "message": _str(exc)}}
        if not cancelled and mark_recorded(exc):
            _state.submit(ErrorEvent(exception=exc).to_record(session.id, span_id))
    _state.submit([T_SPAN_END, _clock.now_ns(), session.id, span_id, status, attrs])


class _SessionCall(_Call):
    __slots__ = ()

    def finish(self, result: object = None, exc: BaseException | None = None) -> None:
        if exc is None or isinstance(exc, GeneratorExit):
            self.session.end(EndState.SUCCESS)
            return
        if mark_recorded(exc):
            _state.submit(ErrorEvent(exception=exc).to_record(self.session.id, None))
        self.session.end(EndState.FAIL, f"{type(exc).__qualname__}: {_str(exc)}")


def _str(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:
        return "<str() failed>"


def span_inputs(args: tuple[Any, ...], kwargs: dict[str, Any], attrs: dict[str, Any]) -> dict[str, Any]:
    """The attributes a span starts with: the call's arguments and the decorator's attributes."""
    inputs: dict[str, Any] = {"input": {"args": args, "kwargs": kwargs} if kwargs else {"args": args}}
    if attrs:
        inputs.update(attrs)
    return inputs


def _span_opener(kind: str, name: str, attrs: dict[str, Any]) -> Opener:
    def open_span(args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Call | None:
        where = session_and_parent()
        if where is None:
            return None
        session, parent = where
        span_id = new_id()
        _state.submit(
            [T_SPAN_START, _clock.now_ns(), session.id, span_id, parent, kind, name, span_inputs(args, kwargs, attrs)]
        )
        return _SpanCall(session, span_id)

    return open_span


def _session_opener(name: str, tags: Iterable[str] | None) -> Opener:
    def open_call(args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Call | None:
        return _SessionCall(open_session(tags, name=name), None)

    return open_call


# ---------------------------------------------------------------------------- wrappers


def _wrap(fn: Callable[P, R], opener: Opener) -> Callable[P, R]:
    """A wrapper of fn's own kind that runs each call inside opener's call."""
    if inspect.isasyncgenfunction(fn):
        agen_fn = cast(Callable[..., Any], fn)

        @functools.wraps(fn)
        async def async_gen_wrapper(*args: Any, **kwargs: Any) -> Any:
            call = opener(args, kwargs)
            if call is None:
                async for item in agen_fn(*args, **kwargs):
                    yield item
                return
            agen = agen_fn(*args, **kwargs)
            to_send: Any = None
            to_throw: BaseException | None = None
            while True:
                tokens = call.activate()
                try:
                    if to_throw is not None:
                        item = await agen.athrow(to_throw)
                    else:
                        item = await agen.asend(to_send)
                except StopAsyncIteration:
                    call.finish(None)
                    return
                except BaseException as exc:
                    call.finish(exc=exc)
                    raise
                finally:
                    call.deactivate(tokens)
                try:
                    to_send, to_throw = (yield item), None
                except GeneratorExit as exc:
                    await agen.aclose()
                    call.finish(exc=exc)
                    raise
                except BaseException as exc:
                    to_send, to_throw = None, exc

        return cast(Callable[P, R], async_gen_wrapper)

    if inspect.iscoroutinefunction(fn):
        coro_fn = cast(Callable[..., Any], fn)

        @functools.wraps(fn)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            call = opener(args, kwargs)
            if call is None:
                return await coro_fn(*args, **kwargs)
            tokens = call.activate()
            try:
                result = await coro_fn(*args, **kwargs)
            except BaseException as exc:
                call.finish(exc=exc)
                raise
            finally:
                call.deactivate(tokens)
            call.finish(result)
            return result

        return cast(Callable[P, R], async_wrapper)

    if inspect.isgeneratorfunction(fn):
        gen_fn = cast(Callable[..., Any], fn)

        @functools.wraps(fn)
        def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
            call = opener(args, kwargs)
            if call is None:
                return (yield from gen_fn(*args, **kwargs))
            gen = gen_fn(*args, **kwargs)
            to_send: Any = None
            to_throw: BaseException | None = None
            while True:
                tokens = call.activate()
                try:
                    item = gen.throw(to_throw) if to_throw is not None else gen.send(to_send)
                except StopIteration as stop:
                    call.finish(stop.value)
                    return stop.value
                except BaseException as exc:
                    call.finish(exc=exc)
                    raise
                finally:
                    call.deactivate(tokens)
                try:
                    to_send, to_throw = (yield item), None
                except GeneratorExit as exc:
                    gen.close()
                    call.finish(exc=exc)
                    raise
                except BaseException as exc:
                    to_send, to_throw = None, exc

        return cast(Callable[P, R], gen_wrapper)

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        call = opener(args, kwargs)
        if call is None:
            return fn(*args, **kwargs)
        tokens = call.activate()
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            call.finish(exc=exc)
            raise
        finally:
            call.deactivate(tokens)
        call.finish(result)
        return result

    return wrapper


def _is_plain_function(fn: Callable[..., Any]) -> bool:
    return not (inspect.isasyncgenfunction(fn) or inspect.iscoroutinefunction(fn) or inspect.isgeneratorfunction(fn))


def _span_function(fn: Callable[P, R], kind: str, name: str, attrs: dict[str, Any]) -> Callable[P, R]:
    """The span wrapper of a plain function: what ``_wrap(fn, _span_opener(...))`` does, with
    the opener and the call object inlined. It is the most common decorated callable and this
    runs on every call (bench: 0.5 us a call less); tests/test_fast_paths.py checks that
    both record the same."""

    @functools.wraps(fn)
    def span_wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        where = session_and_parent()
        if where is None:
            return fn(*args, **kwargs)
        session, parent = where
        span_id = new_id()
        _state.submit(
            [T_SPAN_START, _clock.now_ns(), session.id, span_id, parent, kind, name, span_inputs(args, kwargs, attrs)]
        )
        token = current_span_var.set((session, span_id))
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            end_span(session, span_id, exc=exc)
            raise
        finally:
            current_span_var.reset(token)
        _state.submit([T_SPAN_END, _clock.now_ns(), session.id, span_id, "ok", {"output": result}])
        return result

    return span_wrapper


# ---------------------------------------------------------------------------- classes

_INSTANCE_SPAN = "__sessiontrail_span__"


# (session, span id) of the decorated instance whose method is running in this context.
_current_instance_var: ContextVar[tuple[Session, int] | None] = ContextVar("sessiontrail_instance", default=None)


class _InstanceCall(_Call):
    """A method call of a decorated instance: it runs under the instance's span."""

    __slots__ = ()

    def activate(self) -> object:
        owner = (self.session, cast(int, self.span_id))
        return (
            current_session_var.set(self.session),
            current_span_var.set(owner),
            _current_instance_var.set(owner),
        )

    def deactivate(self, tokens: object) -> None:
        session_token, span_token, instance_token = cast(
            "tuple[Token[Session | None], Token[tuple[Session, int] | None], Token[tuple[Session, int] | None]]", tokens
        )
        _current_instance_var.reset(instance_token)
        current_span_var.reset(span_token)
        current_session_var.reset(session_token)


def _instance_opener(args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Call | None:
    """Run a method under its instance's span (args[0] is self), unless this context is
    already inside one of that instance's methods (then the inner spans stay the parents)."""
    owner = getattr(args[0], _INSTANCE_SPAN, None) if args else None
    if owner is None or _current_instance_var.get() == owner:
        return None
    return _InstanceCall(owner[0], owner[1])


def _decorate_class(cls: type[Any], kind: str, name: str, attrs: dict[str, Any]) -> type[Any]:
    """Each instance is a span from construction until it is collected or its session ends;
    methods (and everything they call) run under it."""
    for attr, value in _methods(cls):
        setattr(cls, attr, _wrap(value, _instance_opener))

    original_init = cls.__init__
    open_span = _span_opener(kind, name, attrs)

    @functools.wraps(original_init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        call = open_span(args, kwargs)
        if call is None:
            original_init(self, *args, **kwargs)
            return
        span_id = cast(int, call.span_id)
        try:
            object.__setattr__(self, _INSTANCE_SPAN, (call.session, span_id))
        except (AttributeError, TypeError):  # __slots__ without room for the span
            pass
        tokens = call.activate()
        try:
            original_init(self, *args, **kwargs)
        except BaseException as exc:
            call.finish(exc=exc)
            raise
        finally:
            call.deactivate(tokens)
        call.session.track_instance_span(span_id)
        try:
            weakref.finalize(self, call.session.end_instance_span, span_id)
        except TypeError:  # not weakly referenceable: it ends with its session
            pass

    cls.__init__ = __init__
    return cls


def _methods(cls: type[Any]) -> Iterable[tuple[str, Callable[..., Any]]]:
    seen: set[str] = set()
    for klass in cls.__mro__:
        if klass is object:
            continue
        for attr, value in vars(klass).items():
            if attr in seen:
                continue
            seen.add(attr)
            if attr.startswith("__") and attr != "__call__":
                continue
            if inspect.isfunction(value):
                yield attr, value


# ---------------------------------------------------------------------------- decorators


def _default_name(wrapped: object) -> str:
    """The qualified name without the ``<locals>`` of enclosing functions: ``Planner.plan``."""
    qualname = getattr(wrapped, "__qualname__", None) or getattr(wrapped, "__name__", None) or repr(wrapped)
    return str(qualname).rsplit("<locals>.", 1)[-1]


class SpanDecorator(Protocol):
    """``@kind``, ``@kind("name")`` or ``@kind(name=..., tags=..., **attributes)`` on a
    function, method, coroutine, generator or class; what it decorates keeps its signature."""

    @overload
    def __call__(self, wrapped: F, /) -> F: ...

    @overload
    def __call__(
        self, wrapped: str | None = None, /, *, name: str | None = None, tags: Iterable[str] | None = None, **attrs: Any
    ) -> Callable[[F], F]: ...


def _make_decorator(kind: str) -> SpanDecorator:
    def decorator(
        wrapped: Any = None, /, *, name: str | None = None, tags: Iterable[str] | None = None, **attrs: Any
    ) -> Any:
        if wrapped is None:
            return functools.partial(decorator, name=name, tags=tags, **attrs)
        if isinstance(wrapped, str):  # @operation("name")
            return functools.partial(decorator, name=wrapped, tags=tags, **attrs)
        span_name = name or _default_name(wrapped)
        span_attrs = {k: v for k, v in attrs.items() if v is not None}
        if tags:
            span_attrs["tags"] = list(tags)
        if inspect.isclass(wrapped):
            return _decorate_class(wrapped, kind, span_name, span_attrs)
        if _is_plain_function(wrapped):
            return _span_function(wrapped, kind, span_name, span_attrs)
        return _wrap(wrapped, _span_opener(kind, span_name, span_attrs))

    decorator.__name__ = kind
    decorator.__qualname__ = kind
    decorator.__doc__ = f"Record each call (or each instance, for a class) as a {kind!r} span."
    return cast(SpanDecorator, decorator)


@overload
def session(wrapped: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def session(
    wrapped: str | None = None, /, *, name: str | None = None, tags: Iterable[str] | None = None
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def session(
    wrapped: Callable[P, R] | str | None = None, /, *, name: str | None = None, tags: Iterable[str] | None = None
) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
    """Make each call of the function its own session: Success on return, Fail on raise."""
    if wrapped is None:
        return functools.partial(session, name=name, tags=tags)
    if isinstance(wrapped, str):
        return functools.partial(session, name=wrapped, tags=tags)
    return _wrap(wrapped, _session_opener(name or _default_name(wrapped), tags))


agent = _make_decorator("agent")
operation = _make_decorator("operation")
task = _make_decorator("task")
workflow = _make_decorator("workflow")
tool = _make_decorator("tool")
guardrail = _make_decorator("guardrail")
