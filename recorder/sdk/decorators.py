"""Same decorators as :mod:`recorder.decorators`, at AgentOps' import path."""

from ..decorators import agent, guardrail, operation, session, task, tool, workflow

__all__ = ["session", "agent", "operation", "task", "workflow", "tool", "guardrail"]
