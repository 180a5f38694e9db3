"""The viewer's Qt-free core: the session store, filters, analytics and trace layout."""

from .analytics import Analytics, Breakdown, compute
from .filters import STATE_CHOICES, SessionFilter, all_tags
from .store import SessionRow, SessionStore, StoreUpdate
from .trace import KINDS, Trace, TraceNode, build_trace

__all__ = [
    "Analytics",
    "Breakdown",
    "compute",
    "STATE_CHOICES",
    "SessionFilter",
    "all_tags",
    "SessionRow",
    "SessionStore",
    "StoreUpdate",
    "KINDS",
    "Trace",
    "TraceNode",
    "build_trace",
]
