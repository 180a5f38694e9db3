"""The conventions other instrumentation writes in, mapped onto ours: OpenInference
(``openinference.span.kind``, ``llm.*``) and OpenTelemetry GenAI (``gen_ai.*``).

Used where spans from other tools come in: the OTel span processor and the OTLP import.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

OPENINFERENCE_KINDS = {
    "LLM": "llm",
    "TOOL": "tool",
    "AGENT": "agent",
    "CHAIN": "workflow",
    "RETRIEVER": "task",
    "EMBEDDING": "llm",
    "RERANKER": "task",
    "GUARDRAIL": "guardrail",
    "EVALUATOR": "task",
}
GENAI_OPERATIONS = {
    "chat": "llm",
    "text_completion": "llm",
    "generate_content": "llm",
    "embeddings": "llm",
    "execute_tool": "tool",
    "invoke_agent": "agent",
    "create_agent": "agent",
}


def span_kind(attributes: Mapping[str, Any]) -> str:
    """Our kind for an OTel span, from the GenAI or OpenInference attributes it starts with
    (instrumentations set the operation and model when a span starts, results later)."""
    kind = attributes.get("openinference.span.kind")
    if isinstance(kind, str) and kind.upper() in OPENINFERENCE_KINDS:
        return OPENINFERENCE_KINDS[kind.upper()]
    operation = attributes.get("gen_ai.operation.name")
    if isinstance(operation, str) and operation in GENAI_OPERATIONS:
        return GENAI_OPERATIONS[operation]
    if "gen_ai.request.model" in attributes or "llm.model_name" in attributes:
        return "llm"
    return "operation"
