"""sessiontrail's recording API, as ``recorder`` offers it (``recorder/__init__.py`` imports
this module when a name of it is first used)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from . import _instrument, _lifecycle, _state
from ._compat import (
    add_tags as add_tags,
)
from ._compat import (
    end_trace as end_trace,
)
from ._compat import (
    record_action as record_action,
)
from ._compat import (
    record_tool as record_tool,
)
from ._compat import (
    set_tags as set_tags,
)
from ._compat import (
    start_trace as start_trace,
)
from ._compat import (
    trace as trace,
)
from ._compat import (
    track_agent as track_agent,
)
from ._context import bind_context as bind_context
from ._context import resolve_session, session_and_parent
from ._events import ActionEvent as ActionEvent
from ._events import ErrorEvent as ErrorEvent
from ._events import Event as Event
from ._events import LLMEvent as LLMEvent
from ._events import ToolEvent as ToolEvent
from ._home import default_directory as default_directory
from ._session import EndState as EndState
from ._session import Session as Session
from ._session import _unique_tags
from ._session import start_session as start_session
from ._state import Config
from ._writer import FSYNC_POLICIES, WriterConfig
from .decorators import (
    agent as agent,
)
from .decorators import (
    guardrail as guardrail,
)
from .decorators import (
    operation as operation,
)
from .decorators import (
    task as task,
)
from .decorators import (
    tool as tool,
)
from .decorators import (
    workflow as workflow,
)
from .redact import make_redactor

log = logging.getLogger("sessiontrail")


def init(
    api_key: str | None = None,
    *,
    directory: str | Path | None = None,
    tags: Iterable[str] | None = None,
    default_tags: Iterable[str] | None = None,
    auto_start_session: bool = True,
    session_name: str | None = None,
    env_data_opt_out: bool = False,
    flush_interval: float | None = None,
    heartbeat_interval: float | None = None,
    fsync: str | None = None,
    rotate_bytes: int | None = None,
    rotate_seconds: float | None = None,
    max_queue_size: int | None = None,
    redact: bool | Iterable[str] | Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    instrument_llm_calls: bool = True,
    otlp_endpoint: str | None = None,
    otlp_interval: float = 5.0,
    **agentops_options: Any,
) -> Session | None:
    """Configure recording and, unless ``auto_start_session=False``, start a session.

    ``api_key`` and AgentOps' server options are accepted and ignored: there is no server, and
    the key is never stored or written. ``redact`` removes secrets before anything is written:
    ``True`` for the built-in rules (see :mod:`recorder.redact`), a list of extra keys, or a
    function of a record returning the record to write. ``instrument_llm_calls`` (default, as
    in AgentOps) records every OpenAI and Anthropic client call as an LLM event when the
    client library and its OpenInference instrumentation are installed
    (``pip install 'sessiontrail[llm]'``). ``otlp_endpoint`` (e.g. ``http://localhost:4318``)
    also streams this process's sessions to an OpenTelemetry Collector every
    ``otlp_interval`` seconds while they are recorded.
    Tags given here apply to every session this process starts. A second call changes
    nothing and returns the session the first one started, if it is still open.
    """
    if agentops_options:
        log.debug("sessiontrail: ignoring options with no meaning locally: %s", sorted(agentops_options))
    with _state._lock:
        if _state.config is None:
            writer = WriterConfig()
            overrides: dict[str, Any] = {
                "flush_interval": flush_interval,
                "heartbeat_interval": heartbeat_interval,
                "rotate_bytes": rotate_bytes,
                "rotate_seconds": rotate_seconds,
                "max_queue_records": max_queue_size,
            }
            if fsync is not None:
                if fsync not in FSYNC_POLICIES:
                    raise ValueError(f"fsync must be one of {FSYNC_POLICIES}, not {fsync!r}")
                overrides["fsync"] = fsync
            writer = WriterConfig(**{**writer.__dict__, **{k: v for k, v in overrides.items() if v is not None}})
            _state.configure(
                Config(
                    directory=Path(directory).expanduser() if directory is not None else default_directory(),
                    tags=tuple(_unique_tags(list(tags or ()) + list(default_tags or ()))),
                    capture_env=not env_data_opt_out,
                    writer=writer,
                    redact=make_redactor(redact),
                )
            )
        elif directory is not None and Path(directory).expanduser() != _state.config.directory:
            log.warning("sessiontrail: init() was already called; still recording into %s", _state.config.directory)
        _lifecycle.install()
        _instrument.attach_to_opentelemetry()
        _state.instrument_llm = instrument_llm_calls
        if otlp_endpoint and _state.live_exporter is None and _state.writer is not None:
            from ._live_otlp import LiveOtlpExporter

            _state.live_exporter = LiveOtlpExporter(otlp_endpoint, _state.writer.files, otlp_interval)
        if instrument_llm_calls:
            _instrument.instrument_llm_clients()
        if not auto_start_session:
            return None
        if _state.auto_session is not None and _state.auto_session.is_running:
            return _state.auto_session
        _state.auto_session = start_session(name=session_name)
        return _state.auto_session


def end_session(
    end_state: EndState | str = EndState.SUCCESS,
    end_state_reason: str | None = None,
    *,
    session: Session | None = None,
    **_ignored: Any,
) -> None:
    """End the given session, else the current one. Unknown end states become Indeterminate."""
    target = session or current_session()
    if target is None:
        log.warning("sessiontrail: end_session() called with no current session")
        return
    target.end(end_state, end_state_reason)


def current_session() -> Session | None:
    """This context's session, else the only open session, else None."""
    return resolve_session()


def record(event: Event) -> None:
    """Record an event in the current session, under the current span. Never raises."""
    try:
        where = session_and_parent()
        if where is None:
            _state.count_unattributed()
            return
        session, parent = where
        if type(event) in _PLAIN_EVENTS:  # the common case, per event: no error to mark
            _state.submit(event.to_record(session.id, parent))
            return
        session._record(event, parent)
    except Exception:
        _state.count_internal_error()


_PLAIN_EVENTS = frozenset({Event, ActionEvent, ToolEvent, LLMEvent})


def annotate(
    session_id: str,
    name: str,
    value: str | int | float | bool,
    *,
    span_id: int | str | None = None,
    note: str | None = None,
    author: str | None = None,
    directory: str | Path | None = None,
) -> None:
    """Record a judgement of a session, or of one of its spans or events (``span_id``, an int
    or 16 hex digits): ``annotate(sid, "quality", "good", note="...")``, ``annotate(sid,
    "faithfulness", 0.82, author="eval-v3")``. The newest per (target, name, author) counts;
    the history is kept. Written by this process's recorder, or into a file of its own in
    ``directory`` (a shared folder's files are never touched). Raises ValueError for a value
    that is not a label, a number or a boolean."""
    from . import _annotate

    _annotate.write(
        _annotate.annotation_record(session_id, name, value, span_id=span_id, note=note, author=author), directory
    )


def load(*paths: str | Path) -> Any:
    """Every session, node and annotation of folders or files, for analysis:
    ``recorder.load(DIR).to_pandas()`` (pandas installed) gives (sessions, nodes) DataFrames."""
    from .dataset import Dataset

    return Dataset.read(paths or (default_directory(),))


def flush(timeout: float = 5.0) -> bool:
    """Write everything recorded so far; True if done within timeout."""
    writer = _state.writer
    if writer is None:
        return True
    return writer.flush(timeout)


def shutdown(timeout: float = 5.0) -> None:
    """Flush and close the current file (recording later reopens a new one)."""
    _state.shutdown(timeout)
