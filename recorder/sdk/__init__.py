"""AgentOps-compatible import path: ``from recorder.sdk.decorators import session``."""
