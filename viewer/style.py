"""Colours and number formats shared by every view, so a kind or a status looks the same everywhere."""

from __future__ import annotations

import html

from recorder.display import format_cost, format_count, format_duration, format_tokens

__all__ = [
    "KIND_COLORS",
    "STATUS_COLORS",
    "OUTCOME_COLORS",
    "format_cost",
    "format_count",
    "format_duration",
    "format_tokens",
    "plain_tooltip",
    "elide",
]

# Kinds of spans and events (Okabe-Ito-like hues: distinguishable, also for colour-blind eyes).
KIND_COLORS = {
    "agent": "#7b4fd6",
    "workflow": "#455a64",
    "operation": "#1f78d1",
    "task": "#13a3a3",
    "tool": "#e69f00",
    "llm": "#2ca02c",
    "error": "#d62728",
    "action": "#7f7f7f",
    "guardrail": "#a6611a",
    "handoff": "#cc79a7",
    "retriever": "#56b4e9",
    "embedding": "#8bc34a",
    "reranker": "#0097a7",
    "evaluator": "#795548",
    "other": "#a0a0a0",
}

STATUS_COLORS = {
    "Success": "#1e8c3a",
    "Fail": "#c62828",
    "Indeterminate": "#b26a00",
    "running": "#1565c0",
    "abandoned": "#6d4c41",
    "ended": "#444444",
}

OUTCOME_COLORS = {
    "Success": "#43a047",
    "Fail": "#e53935",
    "Indeterminate": "#fb8c00",
    "running": "#1e88e5",
    "abandoned": "#8d6e63",
}


def plain_tooltip(text: str) -> str:
    """A tooltip that shows text literally: Qt would otherwise guess rich text from tags."""
    return "<p style='white-space:pre-wrap'>" + html.escape(text) + "</p>"


MAX_SHOWN_CHARS = 2000


def elide(text: str, limit: int = MAX_SHOWN_CHARS) -> str:
    """Huge strings from files are shortened in views (the full value stays in the file)."""
    return text if len(text) <= limit else text[:limit] + f"… [{len(text) - limit:,} more characters]"
