"""The one module that owns process-global state: configuration, the writer, open sessions.

``reset()`` puts everything back to the import-time state (for tests).
"""

from __future__ import annotations

import logging
import os
import platform
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ._encode import pack_wire
from ._home import default_directory
from ._writer import Writer, WriterConfig

if TYPE_CHECKING:
    from ._session import Session

log = logging.getLogger("sessiontrail")

HOSTNAME = socket.gethostname()


@dataclass(frozen=True)
class Config:
    directory: Path = field(default_factory=default_directory)
    tags: tuple[str, ...] = ()
    capture_env: bool = True
    writer: WriterConfig = field(default_factory=WriterConfig)
    redact: Callable[[list[Any]], list[Any]] | None = None  # recorder.redact.make_redactor


_lock = threading.RLock()
_pid = os.getpid()
config: Config | None = None
writer: Writer | None = None
# The writer when records need nothing but packing (no redaction): submit() tests this one
# name and hands the packed record straight to it.
fast_writer: Writer | None = None
_redact: Callable[[list[Any]], list[Any]] | None = None  # config.redact
open_sessions: dict[str, Session] = {}
recently_ended: deque[tuple[float, Session]] = deque(maxlen=256)
RECENT_SECONDS = 60.0  # how long an ended session is remembered at most, for the above
auto_session: Session | None = None
internal_errors = 0
unattributed = 0
_warned_unattributed = False
_host_info: dict[str, Any] | None = None
live_exporter: LiveExporter | None = None  # init(otlp_endpoint=...)
# Instrumentation (recorder._instrument): whether init() asked for it, the program's OTel SDK
# provider our span processor was added to, else the private provider LLM spans go to, the
# libraries whose instrumentation is on, and those with a post-import hook (kept by reset():
# a hook cannot be taken back).
instrument_llm = False
otel_provider: Any = None
private_provider: Any = None
instrumented: dict[str, Any] = {}  # library -> the instrumentor turned on for it
import_hooks: set[str] = set()
hinted: set[str] = set()  # libraries whose missing instrumentation was logged once
# Functions run by reset(): the modules that keep state of their own outside this one
# (context variables, process hooks) register them, so nothing here imports them.
_reset_hooks: list[Callable[[], None]] = []
# Functions run at exit before open sessions are ended (the OTel processor ends the sessions
# it keeps open for a session.id).
_exit_hooks: list[Callable[[], None]] = []


class LiveExporter(Protocol):
    def close(self) -> None: ...


def pid() -> int:
    return _pid


def configure(new: Config) -> None:
    """Install a configuration and its writer (the first call wins until reset())."""
    global config, writer, _redact, fast_writer
    with _lock:
        if config is not None:
            return
        config = new
        _redact = new.redact
        host_info()  # now, on the caller's thread: on a busy writer thread its syscalls cost ~0.5 s
        writer = Writer(new.directory, new.writer, open_session_records, host_info=host_info)
        fast_writer = writer if _redact is None else None


def ensure_configured() -> Config:
    if config is None:
        configure(Config())
    assert config is not None
    return config


def submit(record: list[Any], wake: bool = False, essential: bool = False) -> None:
    """Queue a record (its on-disk form, ``_format.FIELDS``, attributes not yet packed),
    packed now on the caller's thread so it is a snapshot. The one way records reach the
    writer. Never raises.

    ``wake``: write soon (a session started or ended). ``essential``: never dropped for a full
    queue (session start, end and tags, rare and small)."""
    try:
        fast = fast_writer
        if fast is not None:
            fast.submit(pack_wire(record), wake, essential)
            return
        if writer is None:
            ensure_configured()
        if _redact is not None:
            record = _redact(record)
        if writer is not None:
            writer.submit(pack_wire(record), wake, essential)
    except Exception:
        count_internal_error()


def count_internal_error() -> None:
    global internal_errors
    internal_errors += 1
    if internal_errors == 1:
        log.warning("sessiontrail: an internal error occurred while recording; it was counted and ignored")


def count_unattributed() -> None:
    global unattributed, _warned_unattributed
    unattributed += 1
    if not _warned_unattributed:
        _warned_unattributed = True
        log.warning(
            "sessiontrail: an event was recorded with no current session (%d open); it was dropped. "
            "Start a session, or carry the context into threads with recorder.bind_context().",
            len(open_sessions),
        )


def session_started(session: Session) -> None:
    with _lock:
        open_sessions[session.id] = session
    submit(session.start_record(), wake=True, essential=True)


def session_ended(session: Session) -> None:
    global auto_session
    with _lock:
        open_sessions.pop(session.id, None)
        recently_ended.append((time.monotonic(), session))
        if auto_session is session:
            auto_session = None


def open_session_records(*, since: float | None = None, continued: bool = False) -> list[list[Any]]:
    """Start records of the open sessions and, with ``since`` (a time.monotonic()), of the
    sessions that ended since then: the writer passes the moment it last took records from its
    queue, so these are exactly the ended sessions that may have records still unwritten (a new
    file must restate them, and drops must be charged to them). ``continued`` marks them as
    restated."""
    with _lock:
        sessions = list(open_sessions.values())
        if since is not None:
            horizon = time.monotonic() - RECENT_SECONDS
            while recently_ended and recently_ended[0][0] < horizon:
                recently_ended.popleft()
            sessions += [s for ended, s in recently_ended if ended >= since]
    return [s.start_record(continued=continued) for s in sessions]


def single_open_session() -> Session | None:
    """The open session when exactly one is open (for threads that have no current session)."""
    with _lock:
        if len(open_sessions) == 1:
            return next(iter(open_sessions.values()))
    return None


def program_name() -> str:
    """What the running program is called, for naming its sessions: the module of
    ``python -m module``, else the script's file name without ``.py``, else ``session``."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and getattr(spec, "name", None):
        name = str(spec.name)
        return name.removesuffix(".__main__")
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] not in ("", "-c", "-") else ""
    if argv0:
        return Path(argv0).name.removesuffix(".py") or "session"
    return "session"


def host_info() -> dict[str, Any] | None:
    """The host environment, computed once per process on the writer thread; None if opted out."""
    global _host_info
    if config is not None and not config.capture_env:
        return None
    if _host_info is None:
        info: dict[str, Any] = {
            "hostname": HOSTNAME,
            "os": platform.system(),
            "os_release": platform.release(),
            # not platform.platform(): it reads the Python binary to find the libc version
            "platform": f"{platform.system()}-{platform.release()}-{platform.machine()}",
            "machine": platform.machine(),
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "python_implementation": platform.python_implementation(),
            "executable": sys.executable,
        }
        info["packages"] = installed_packages()
        _host_info = info
    return _host_info


def installed_packages(limit: int = 1000) -> list[str]:
    """``name==version`` of installed distributions, from their *.dist-info folder names.

    Reading folder names costs a few milliseconds; parsing every METADATA file (what
    importlib.metadata does) cost about a second here.
    """
    found: set[str] = set()
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if name.endswith(".dist-info") and "-" in name:
                dist, _, version = name[: -len(".dist-info")].partition("-")
                found.add(f"{dist}=={version}")
    return sorted(found)[:limit]


def _after_fork_in_child() -> None:
    global _pid, _lock
    _pid = os.getpid()
    _lock = threading.RLock()
    if writer is not None:
        writer.after_fork_in_child()


os.register_at_fork(after_in_child=_after_fork_in_child)


def shutdown(timeout: float = 5.0) -> None:
    if writer is not None:
        writer.close(timeout)
    if live_exporter is not None:
        live_exporter.close()  # after the writer's last flush, so the end of everything is sent


def on_exit(hook: Callable[[], None]) -> None:
    """Have the exit handler call hook before it ends the sessions still open."""
    _exit_hooks.append(hook)


def run_exit_hooks() -> None:
    for hook in list(_exit_hooks):
        try:
            hook()
        except Exception:
            count_internal_error()


def on_reset(hook: Callable[[], None]) -> None:
    """Have reset() call hook (for modules that keep state of their own)."""
    if hook not in _reset_hooks:
        _reset_hooks.append(hook)


def reset() -> None:
    """Close the writer and forget every session and setting (for tests)."""
    global config, writer, auto_session, internal_errors, unattributed, _warned_unattributed, _redact
    global live_exporter, fast_writer, instrument_llm
    if writer is not None:
        writer.close()  # outside _lock: the writer thread takes it to list open sessions
    if live_exporter is not None:
        live_exporter.close()
    with _lock:
        for session in open_sessions.values():
            session.forget()
        config = None
        live_exporter = None
        _redact = None
        fast_writer = None
        writer = None
        open_sessions.clear()
        auto_session = None
        recently_ended.clear()
        internal_errors = 0
        unattributed = 0
        _warned_unattributed = False
        instrument_llm = False
        # otel_provider stays: an SDK provider cannot drop a span processor, and ours records
        # into whatever the current configuration is. _instrument's hook turns the
        # instrumentations off and clears `instrumented`.
    for hook in _reset_hooks:
        hook()
