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
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from typing import Any, TypeVar

from . import _clock, _state
from ._context import current_session_var, current_span_var, parent_span_of
from ._encode import pack_wire
from ._format import T_SPAN_END, T_SPAN_START
from ._session import EndState, ErrorEvent, Session, mark_recorded, new_id

F = TypeVar("F")

__all__ = ["session", "agent", "operation", "task", "workflow", "tool", "guardrail"]


def resolve_session() -> Session | None:
    """The current session: the innermost span's, else this context's, else the only open
    one, else None. (A span call sets only the span: it carries its session.)"""
    span = current_span_var.get()
    if span is not None and span[0]._end_ns is None:
        return span[0]
    session = current_session_var.get()
    if session is not None and session._end_ns is None:
        return session
    return _state.single_open_session()


def session_and_parent() -> tuple[Session, int | None] | None:
    """Where a new span or event goes: (its session, its parent span id), or None when there
    is no session. The first test is the common case: inside a span of a running session."""
    span = current_span_var.get()
    if span is not None and span[0]._end_ns is None:
        return span
    session = resolve_session()
    return None if session is None else (session, parent_span_of(session))


# ---------------------------------------------------------------------------- calls


class _Call:
    """One run of a wrapped callable: which context to set while it runs, and what to record."""

    __slots__ = ("session", "span_id")

    def __init__(self, session: Session, span_id: int | None) -> None:
        self.session = session
        self.span_id = span_id

    def activate(self) -> tuple[Any, Any]:
        span = (self.session, self.span_id) if self.span_id is not None else None
        return current_session_var.set(self.session), current_span_var.set(span)

    @staticmethod
    def deactivate(tokens: tuple[Any, Any]) -> None:
        current_span_var.reset(tokens[1])
        current_session_var.reset(tokens[0])

    def finish(self, result: Any = None, exc: BaseException | None = None) -> None:
        """Called once when the callable returns (result) or raises (exc)."""


class _SpanCall(_Call):
    __slots__ = ()

    def activate(self) -> Any:  # type: ignore[override]
        return current_span_var.set((self.session, self.span_id))  # type: ignore[arg-type]

    @staticmethod
    def deactivate(tokens: Any) -> None:  # type: ignore[override]
        current_span_var.reset(tokens)

    def finish(self, result: Any = None, exc: BaseException | None = None) -> None:
        if exc is None:
            status, attrs = "ok", {"output": result}
        elif isinstance(exc, GeneratorExit):
            status, attrs = "ok", {"closed_early": True}
        else:
            cancelled = isinstance(exc, asyncio.CancelledError)
            status = "cancelled" if cancelled else "error"
            attrs = {"error": {"exception_type": type(exc).__qualname__, "message": _str(exc)}}
            if not cancelled and mark_recorded(exc):
                _state.emit(ErrorEvent(exception=exc).to_record(self.session, self.span_id))
        record = [T_SPAN_END, _clock.now_ns(), self.session.id, self.span_id, status, attrs]
        fast = _state.fast_writer
        if fast is not None:
            fast.submit(pack_wire(record))
        else:
            _state.emit(record)


class _SessionCall(_Call):
    __slots__ = ()

    def finish(self, result: Any = None, exc: BaseException | None = None) -> None:
        if exc is None or isinstance(exc, GeneratorExit):
            self.session.end(EndState.SUCCESS)
            return
        if mark_recorded(exc):
            _state.emit(ErrorEvent(exception=exc).to_record(self.session, None))
        self.session.end(EndState.FAIL, f"{type(exc).__qualname__}: {_str(exc)}")


def _str(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:
        return "<str() failed>"


def _span_opener(kind: str, name: str, attrs: dict[str, Any]) -> Callable[[tuple, dict], _Call | None]:
    def open_span(args: tuple, kwargs: dict) -> _Call | None:
        where = session_and_parent()
        if where is None:
            return None
        session, parent = where
        span_id = new_id()
        inputs = {"input": {"args": args, "kwargs": kwargs} if kwargs else {"args": args}}
        if attrs:
            inputs.update(attrs)
        record = [T_SPAN_START, _clock.now_ns(), session.id, span_id, parent, kind, name, inputs]
        fast = _state.fast_writer
        if fast is not None:
            fast.submit(pack_wire(record))
        else:
            _state.emit(record)
        return _SpanCall(session, span_id)

    return open_span


def _session_opener(name: str, tags: Iterable[str] | None) -> Callable[[tuple, dict], _Call | None]:
    def open_session(args: tuple, kwargs: dict) -> _Call | None:
        from . import start_session  # the public function applies init() tags

        return _SessionCall(start_session(tags=tags, name=name, _make_current=False), None)

    return open_session


# ---------------------------------------------------------------------------- wrappers


def _wrap(fn: Callable[..., Any], opener: Callable[[tuple, dict], _Call | None]) -> Callable[..., Any]:
    """A wrapper of fn's own kind that runs each call inside opener's call."""
    if inspect.isasyncgenfunction(fn):

        @functools.wraps(fn)
        async def async_gen_wrapper(*args: Any, **kwargs: Any) -> Any:
            call = opener(args, kwargs)
            if call is None:
                async for item in fn(*args, **kwargs):
                    yield item
                return
            agen = fn(*args, **kwargs)
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

        return async_gen_wrapper

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            call = opener(args, kwargs)
            if call is None:
                return await fn(*args, **kwargs)
            tokens = call.activate()
            try:
                result = await fn(*args, **kwargs)
            except BaseException as exc:
                call.finish(exc=exc)
                raise
            finally:
                call.deactivate(tokens)
            call.finish(result)
            return result

        return async_wrapper

    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
            call = opener(args, kwargs)
            if call is None:
                return (yield from fn(*args, **kwargs))
            gen = fn(*args, **kwargs)
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

        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
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


def _span_function(fn: Callable[..., Any], kind: str, name: str, attrs: dict[str, Any]) -> Callable[..., Any]:
    """The span wrapper of a plain function, with what ``_wrap`` and ``_span_opener`` do
    inlined: it is the most common decorated callable, and this runs on every call."""
    generic = _wrap(fn, _span_opener(kind, name, attrs))  # with redaction on, or no writer yet

    @functools.wraps(fn)
    def span_wrapper(*args: Any, **kwargs: Any) -> Any:
        fast = _state.fast_writer
        if fast is None:
            return generic(*args, **kwargs)
        where = session_and_parent()
        if where is None:
            return fn(*args, **kwargs)
        session, parent = where
        span_id = new_id()
        inputs = {"input": {"args": args, "kwargs": kwargs} if kwargs else {"args": args}}
        if attrs:
            inputs.update(attrs)
        fast.submit(pack_wire([T_SPAN_START, _clock.now_ns(), session.id, span_id, parent, kind, name, inputs]))
        token = current_span_var.set((session, span_id))
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            _SpanCall(session, span_id).finish(exc=exc)
            raise
        finally:
            current_span_var.reset(token)
        end = [T_SPAN_END, _clock.now_ns(), session.id, span_id, "ok", {"output": result}]
        fast = _state.fast_writer  # read again: recording may have been shut down meanwhile
        if fast is not None:
            fast.submit(pack_wire(end))
        else:
            _state.emit(end)
        return result

    return span_wrapper


# ---------------------------------------------------------------------------- classes

_INSTANCE_SPAN = "__sessiontrail_span__"


# (session, span id) of the decorated instance whose method is running in this context.
_current_instance_var: ContextVar[tuple[Session, int] | None] = ContextVar("sessiontrail_instance", default=None)


class _InstanceCall(_Call):
    """A method call of a decorated instance: it runs under the instance's span."""

    __slots__ = ()

    def activate(self) -> tuple[Any, Any, Any]:  # type: ignore[override]
        owner = (self.session, self.span_id)
        return (
            current_session_var.set(self.session),
            current_span_var.set(owner),  # type: ignore[arg-type]
            _current_instance_var.set(owner),  # type: ignore[arg-type]
        )

    @staticmethod
    def deactivate(tokens: tuple[Any, ...]) -> None:
        _current_instance_var.reset(tokens[2])
        current_span_var.reset(tokens[1])
        current_session_var.reset(tokens[0])


def _instance_opener(args: tuple, kwargs: dict) -> _Call | None:
    """Run a method under its instance's span (args[0] is self), unless this context is
    already inside one of that instance's methods (then the inner spans stay the parents)."""
    owner = getattr(args[0], _INSTANCE_SPAN, None) if args else None
    if owner is None or _current_instance_var.get() == owner:
        return None
    return _InstanceCall(owner[0], owner[1])


def _decorate_class(cls: type, kind: str, name: str, attrs: dict[str, Any]) -> type:
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
        try:
            object.__setattr__(self, _INSTANCE_SPAN, (call.session, call.span_id))
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
        call.session.track_instance_span(call.span_id)  # type: ignore[arg-type]
        try:
            import weakref

            weakref.finalize(self, call.session.end_instance_span, call.span_id)
        except TypeError:  # not weakly referenceable: it ends with its session
            pass

    cls.__init__ = __init__  # type: ignore[misc]
    return cls


def _methods(cls: type) -> Iterable[tuple[str, Callable[..., Any]]]:
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


def _default_name(wrapped: Any) -> str:
    """The qualified name without the ``<locals>`` of enclosing functions: ``Planner.plan``."""
    qualname = getattr(wrapped, "__qualname__", None) or getattr(wrapped, "__name__", None) or repr(wrapped)
    return qualname.rsplit("<locals>.", 1)[-1]


def _make_decorator(kind: str) -> Callable[..., Any]:
    def decorator(
        wrapped: Any = None, *, name: str | None = None, tags: Iterable[str] | None = None, **attrs: Any
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
    return decorator


def session(wrapped: Any = None, *, name: str | None = None, tags: Iterable[str] | None = None) -> Any:
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
