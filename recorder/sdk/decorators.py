"""Same decorators as :mod:`recorder.decorators`, at AgentOps' import path."""

from .._compat import trace
from ..decorators import agent, guardrail, operation, session, task, tool, workflow

__all__ = ["session", "trace", "agent", "operation", "task", "workflow", "tool", "guardrail"]
