"""Process exit wiring: atexit, sys.excepthook and SIGTERM end open sessions and flush.

Each hook chains to whatever was installed before it, and only sessions started by this
process are ended (a forked child leaves its parent's sessions open).
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
import traceback
from types import TracebackType
from typing import Any

from . import _state
from ._events import ErrorEvent, mark_recorded

_installed = False
_previous_excepthook: Any = None
_previous_sigterm: Any = None


def install() -> None:
    global _installed, _previous_excepthook, _previous_sigterm
    if _installed:
        return
    _installed = True
    atexit.register(_at_exit)
    _previous_excepthook = sys.excepthook
    sys.excepthook = _excepthook
    if threading.current_thread() is threading.main_thread():
        try:
            previous = signal.getsignal(signal.SIGTERM)
            if previous is not signal.SIG_IGN:
                _previous_sigterm = previous
                signal.signal(signal.SIGTERM, _on_sigterm)
        except (ValueError, OSError):  # not allowed here (embedded interpreter)
            pass


def uninstall() -> None:
    """Put the hooks back as they were (``reset()`` for tests)."""
    global _installed
    if not _installed:
        return
    _installed = False
    atexit.unregister(_at_exit)
    if sys.excepthook is _excepthook:
        sys.excepthook = _previous_excepthook
    if threading.current_thread() is threading.main_thread():
        try:
            if signal.getsignal(signal.SIGTERM) is _on_sigterm:
                signal.signal(signal.SIGTERM, _previous_sigterm or signal.SIG_DFL)
        except (ValueError, OSError):
            pass


def end_owned_sessions(end_state: str, reason: str) -> None:
    """End every open session this process started."""
    with _state._lock:
        sessions = [s for s in _state.open_sessions.values() if s.owner_pid == _state.pid()]
    for session in sessions:
        session.end(end_state, reason)


def _at_exit() -> None:
    try:
        _state.run_exit_hooks()
        end_owned_sessions("Indeterminate", "the process exited while the session was still open")
        _state.shutdown()
    except Exception:
        pass


def _excepthook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    try:
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        with _state._lock:
            sessions = [s for s in _state.open_sessions.values() if s.owner_pid == _state.pid()]
        first = mark_recorded(exc)
        for session in sessions:
            if first:
                session.record(ErrorEvent(exception=exc))
            session.end("Fail", f"uncaught exception:\n{text}")
        _state.shutdown()
    except Exception:
        pass
    (_previous_excepthook or sys.__excepthook__)(exc_type, exc, tb)


def _on_sigterm(signum: int, frame: Any) -> None:
    try:
        end_owned_sessions("Indeterminate", "the process received SIGTERM")
        _state.shutdown()
    except Exception:
        pass
    previous = _previous_sigterm
    if callable(previous):
        previous(signum, frame)
        return
    # The default action: die of SIGTERM, so the parent sees the usual exit status.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


_state.on_reset(uninstall)
