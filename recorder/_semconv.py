"""The conventions other instrumentation writes in, mapped onto ours: OpenInference
(``openinference.span.kind``, ``llm.*``, ``tool.*``) and OpenTelemetry GenAI (``gen_ai.*``, the
older indexed ``gen_ai.prompt.N`` fields and message events, and the current JSON
``gen_ai.input.messages`` / ``gen_ai.output.messages`` / ``gen_ai.system_instructions``).

Used wherever spans from other tools come in: the OTel span processor and the OTLP import.
Pure functions of an attribute mapping (and a span's events), never raising on odd values.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .prices import cost_of

OPERATION = "operation"
OPENINFERENCE_KINDS = {
    "LLM": "llm",
    "TOOL": "tool",
    "AGENT": "agent",
    "CHAIN": "workflow",
    "RETRIEVER": "retriever",
    "EMBEDDING": "embedding",
    "RERANKER": "reranker",
    "GUARDRAIL": "guardrail",
    "EVALUATOR": "evaluator",
}
GENAI_OPERATIONS = {
    "chat": "llm",
    "text_completion": "llm",
    "generate_content": "llm",
    "embeddings": "embedding",
    "execute_tool": "tool",
    "invoke_agent": "agent",
    "create_agent": "agent",
}
# Attributes that carry a session id across traces (no sessiontrail session around them).
SESSION_ID_KEYS = ("session.id", "gen_ai.conversation.id", "langfuse.session.id")

Event = tuple[str, Mapping[str, Any]]  # a span event: (name, attributes)


def span_kind(attributes: Mapping[str, Any], name: str = "", scope: str = "") -> str:
    """Our kind for a span, from its attributes as they are now (instrumentations set some
    at start and some, OpenInference's LangChain kind among them, only at the end).
    ``operation`` when nothing says more."""
    kind = attributes.get("openinference.span.kind")
    if isinstance(kind, str) and kind.upper() in OPENINFERENCE_KINDS:
        ours = OPENINFERENCE_KINDS[kind.upper()]
        if ours == "tool" and scope.endswith("openai_agents") and name.startswith("handoff"):
            return "handoff"  # the Agents SDK's handoff, reported as a tool call
        return ours
    operation = attributes.get("gen_ai.operation.name")
    if isinstance(operation, str) and operation in GENAI_OPERATIONS:
        return GENAI_OPERATIONS[operation]
    if "gen_ai.request.model" in attributes or "llm.model_name" in attributes:
        return "llm"
    return OPERATION


def session_key(attributes: Mapping[str, Any]) -> str | None:
    """The session id a span carries (``session.id``, GenAI's conversation id, Langfuse's)."""
    for key in SESSION_ID_KEYS:
        value = attributes.get(key)
        if isinstance(value, str) and value:
            return value
    return None


# ---------------------------------------------------------------------------- LLM calls


def llm_fields(attributes: Mapping[str, Any], events: Iterable[Event] = ()) -> dict[str, Any]:
    """model, messages, the tool calls the model asked for, tokens and cost of an LLM span in
    any of the conventions above. A missing count stays None (unknown, not 0)."""
    a = attributes
    events = list(events)
    model = _first_str(a, "gen_ai.response.model", "gen_ai.request.model", "llm.model_name")
    if model is None:  # a failed call has no response: the model it asked for
        parameters = _json(a.get("llm.invocation_parameters"))
        if isinstance(parameters, dict) and isinstance(parameters.get("model"), str):
            model = parameters["model"]
    prompt_tokens = _first_int(a, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt")
    completion_tokens = _first_int(
        a, "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.token_count.completion"
    )
    prompt = input_messages(a, events)
    completion = output_message(a, events)
    fields: dict[str, Any] = {
        "model": model,
        "prompt": prompt or None,
        "completion": completion,
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "cost": cost_of(model, prompt_tokens, completion_tokens),
        "system": _first_str(a, "gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system"),
    }
    if isinstance(completion, dict) and completion.get("tool_calls"):
        fields["tool_calls"] = completion["tool_calls"]
    return fields


def input_messages(a: Mapping[str, Any], events: Sequence[Event] = ()) -> list[Any]:
    """The prompt as messages ``{"role", "content"[, "tool_calls"]}``, from the first
    convention that has it."""
    system = _json(a.get("gen_ai.system_instructions"))
    messages = _genai_messages(_json(a.get("gen_ai.input.messages")))
    if isinstance(system, list) and system:
        messages = [{"role": "system", "content": _parts_text(system)}, *messages]
    if messages:
        return messages
    found = _indexed(a, "gen_ai.prompt.", "role", "content") or _indexed(
        a, "llm.input_messages.", "message.role", "message.content"
    )
    if found:
        return found
    from_events = [
        {"role": name.split(".")[1], "content": _json(attrs.get("content"))}
        for name, attrs in events
        if name in ("gen_ai.system.message", "gen_ai.user.message", "gen_ai.assistant.message", "gen_ai.tool.message")
    ]
    if from_events:
        return from_events
    value = _json(a.get("input.value"))
    return [value] if value not in (None, "") else []


def output_message(a: Mapping[str, Any], events: Sequence[Event] = ()) -> Any:
    """The completion: one assistant message ``{"role", "content"[, "tool_calls"]}`` (a list
    when the model returned several choices), or the raw output when nothing else says."""
    messages = _genai_messages(_json(a.get("gen_ai.output.messages")))
    if not messages:
        messages = _indexed(a, "gen_ai.completion.", "role", "content") or _indexed(
            a, "llm.output_messages.", "message.role", "message.content"
        )
    if not messages:
        for name, attrs in events:
            if name == "gen_ai.choice":
                message = _json(attrs.get("message"))
                messages.append(message if isinstance(message, dict) else {"role": "assistant", "content": message})
    if messages:
        return messages[0] if len(messages) == 1 else messages
    value = _json(a.get("output.value"))
    return None if value in (None, "") else value


def _genai_messages(value: Any) -> list[dict[str, Any]]:
    """GenAI JSON messages (``[{"role", "parts": [{"type": "text", "content"}, {"type":
    "tool_call", "id", "name", "arguments"}, ...]}]``) in our form."""
    if not isinstance(value, list):
        return []
    out = []
    for message in value:
        if not isinstance(message, dict):
            continue
        parts = message.get("parts")
        ours: dict[str, Any] = {"role": str(message.get("role") or "assistant")}
        if isinstance(parts, list):
            ours["content"] = _parts_text(parts)
            calls = [
                _tool_call(p.get("id"), p.get("name"), p.get("arguments"))
                for p in parts
                if isinstance(p, dict) and p.get("type") == "tool_call"
            ]
            if calls:
                ours["tool_calls"] = calls
            results = [p for p in parts if isinstance(p, dict) and p.get("type") == "tool_call_response"]
            if results and not ours["content"]:
                ours["content"] = "\n".join(_text(p.get("response")) for p in results)
        else:
            ours["content"] = _text(message.get("content"))
        out.append(ours)
    return out


def _parts_text(parts: list[Any]) -> str:
    texts = [
        _text(p.get("content", p.get("text")))
        for p in parts
        if isinstance(p, dict) and p.get("type") in ("text", None) and (p.get("content") or p.get("text"))
    ]
    return "\n".join(texts)


def _indexed(a: Mapping[str, Any], prefix: str, role_key: str, content_key: str) -> list[dict[str, Any]]:
    """Indexed messages such as ``gen_ai.prompt.0.role`` or ``llm.output_messages.0.message.content``;
    OpenInference content parts (``message.contents.N.message_content.text``) are joined and
    tool calls (``message.tool_calls.N.tool_call.{id,function.name,function.arguments}``, or
    GenAI's ``tool_calls.N.{id,name,arguments}``) gathered."""
    keys = [key for key in a if key.startswith(prefix)]
    if not keys:  # the common case: this convention is not the span's
        return []
    found: dict[int, dict[str, Any]] = {}
    parts: dict[int, dict[int, str]] = {}
    calls: dict[int, dict[int, dict[str, Any]]] = {}
    parts_prefix = content_key + "s."  # "message.contents."
    calls_prefix = role_key.rsplit("role", 1)[0] + "tool_calls."  # "message.tool_calls." or "tool_calls."
    for key in keys:
        value = a[key]
        number, _, field = key[len(prefix) :].partition(".")
        if not number.isdigit():
            continue
        index = int(number)
        if field == role_key:
            found.setdefault(index, {})["role"] = value
        elif field == content_key:
            found.setdefault(index, {})["content"] = value
        elif field.startswith(parts_prefix) and field.endswith(".message_content.text"):
            part = field[len(parts_prefix) :].split(".", 1)[0]
            if part.isdigit():
                parts.setdefault(index, {})[int(part)] = str(value)
        elif field.startswith(calls_prefix):
            call, _, what = field[len(calls_prefix) :].partition(".")
            if call.isdigit():
                what = what.removeprefix("tool_call.").removeprefix("function.")
                calls.setdefault(index, {}).setdefault(int(call), {})[what] = value
    for index, texts in parts.items():
        found.setdefault(index, {}).setdefault("content", "".join(texts[i] for i in sorted(texts)))
    for index, by_number in calls.items():
        found.setdefault(index, {})["tool_calls"] = [
            _tool_call(c.get("id"), c.get("name"), c.get("arguments")) for _, c in sorted(by_number.items())
        ]
    return [{"role": "assistant", **found[i]} if "role" not in found[i] else found[i] for i in sorted(found)]


def _tool_call(call_id: Any, name: Any, arguments: Any) -> dict[str, Any]:
    """A requested tool call: id, name, and arguments decoded from JSON when they are JSON."""
    return {"id": call_id, "name": name, "arguments": _json(arguments)}


def tool_call_id(attributes: Mapping[str, Any]) -> str | None:
    """The id of the model's tool call that a tool span ran, where the instrumentation says
    (GenAI's attribute, or the tool message LangChain returns as the span's output)."""
    found = _first_str(attributes, "gen_ai.tool.call.id", "tool_call.id", "tool.call_id")
    if found is not None:
        return found
    output = _json(attributes.get("output.value"))
    if isinstance(output, dict):
        data = output.get("data")
        value = (data if isinstance(data, dict) else output).get("tool_call_id")
        if isinstance(value, str) and value:
            return value
    return None


def error_message(status_description: str | None, events: Iterable[Event]) -> str:
    """What went wrong in a failed span: the status description, else the exception's."""
    if status_description:
        return status_description
    for name, attrs in events:
        if name == "exception":
            return f"{attrs.get('exception.type') or 'Exception'}: {attrs.get('exception.message') or ''}".rstrip(": ")
    return "failed"


# ---------------------------------------------------------------------------- values


def _json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=repr)
    except (TypeError, ValueError):
        return repr(value)


def _first_int(a: Mapping[str, Any], *keys: str) -> int | None:
    for key in keys:
        value = a.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.isdigit():
            return int(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
    return None


def _first_str(a: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = a.get(key)
        if isinstance(value, str) and value:
            return value
    return None
