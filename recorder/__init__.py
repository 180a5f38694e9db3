"""sessiontrail's recorder: record sessions, spans and events into a folder of files.

``import recorder as agentops`` makes AgentOps' session snippets work unchanged.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

__all__ = [
    "init",
    "start_session",
    "end_session",
    "current_session",
    "record",
    "flush",
    "shutdown",
    "bind_context",
    "default_directory",
    "Session",
    "EndState",
    "Event",
    "ActionEvent",
    "ToolEvent",
    "LLMEvent",
    "ErrorEvent",
    "__version__",
    # decorators, at the top level as in AgentOps
    "agent",
    "operation",
    "task",
    "workflow",
    "tool",
    "guardrail",
    "trace",
    # the rest of AgentOps' API (recorder._compat)
    "start_trace",
    "end_trace",
    "set_tags",
    "add_tags",
    "record_action",
    "record_tool",
    "track_agent",
    # annotations and analysis
    "annotate",
    "load",
]

if TYPE_CHECKING:
    from ._api import (
        ActionEvent as ActionEvent,
    )
    from ._api import (
        EndState as EndState,
    )
    from ._api import (
        ErrorEvent as ErrorEvent,
    )
    from ._api import (
        Event as Event,
    )
    from ._api import (
        LLMEvent as LLMEvent,
    )
    from ._api import (
        Session as Session,
    )
    from ._api import (
        ToolEvent as ToolEvent,
    )
    from ._api import (
        add_tags as add_tags,
    )
    from ._api import (
        agent as agent,
    )
    from ._api import (
        annotate as annotate,
    )
    from ._api import (
        bind_context as bind_context,
    )
    from ._api import (
        current_session as current_session,
    )
    from ._api import (
        default_directory as default_directory,
    )
    from ._api import (
        end_session as end_session,
    )
    from ._api import (
        end_trace as end_trace,
    )
    from ._api import (
        flush as flush,
    )
    from ._api import (
        guardrail as guardrail,
    )
    from ._api import (
        init as init,
    )
    from ._api import (
        load as load,
    )
    from ._api import (
        operation as operation,
    )
    from ._api import (
        record as record,
    )
    from ._api import (
        record_action as record_action,
    )
    from ._api import (
        record_tool as record_tool,
    )
    from ._api import (
        set_tags as set_tags,
    )
    from ._api import (
        shutdown as shutdown,
    )
    from ._api import (
        start_session as start_session,
    )
    from ._api import (
        start_trace as start_trace,
    )
    from ._api import (
        task as task,
    )
    from ._api import (
        tool as tool,
    )
    from ._api import (
        trace as trace,
    )
    from ._api import (
        track_agent as track_agent,
    )
    from ._api import (
        workflow as workflow,
    )


def __getattr__(name: str) -> Any:
    """The recording API and the package's modules, imported when first used: the
    ``sessiontrail`` command lives in this package and starts without loading the recorder
    (0.13 s of imports before a command did anything)."""
    if name in _API:
        from . import _api

        globals().update((n, getattr(_api, n)) for n in _API)
        return globals()[name]
    if not name.startswith("__"):
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_API = frozenset(__all__) - {"__version__"}
