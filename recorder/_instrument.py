"""Recording what other instrumentation sees: the program's OpenTelemetry SDK provider, and
the LLM clients instrumented through OpenInference.

State lives in ``_state`` (``otel_provider``, ``instrumented``, ``import_hooks``).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
from types import ModuleType
from typing import Any

from . import _state

log = logging.getLogger("sessiontrail")

# library (the module a program imports) -> the OpenInference instrumentor that records it,
# and the package that provides the instrumentor (named in the hint when it is missing).
LLM_INSTRUMENTATIONS = {
    "openai": ("openinference.instrumentation.openai", "OpenAIInstrumentor", "openinference-instrumentation-openai"),
    "anthropic": (
        "openinference.instrumentation.anthropic",
        "AnthropicInstrumentor",
        "openinference-instrumentation-anthropic",
    ),
    "agents": (
        "openinference.instrumentation.openai_agents",
        "OpenAIAgentsInstrumentor",
        "openinference-instrumentation-openai-agents",
    ),
    "langchain_core": (
        "openinference.instrumentation.langchain",
        "LangChainInstrumentor",
        "openinference-instrumentation-langchain",
    ),
    "crewai": ("openinference.instrumentation.crewai", "CrewAIInstrumentor", "openinference-instrumentation-crewai"),
    "litellm": (
        "openinference.instrumentation.litellm",
        "LiteLLMInstrumentor",
        "openinference-instrumentation-litellm",
    ),
    "llama_index": (
        "openinference.instrumentation.llama_index",
        "LlamaIndexInstrumentor",
        "openinference-instrumentation-llama-index",
    ),
}


def attach_to_opentelemetry() -> None:
    """If the program has an OpenTelemetry SDK TracerProvider, record its spans too."""
    if _state.otel_provider is not None:
        return
    try:
        from opentelemetry import trace

        provider = trace.get_tracer_provider()
        if not hasattr(provider, "add_span_processor"):
            return  # no SDK provider configured (the API's no-op one)
        from .otel import SessionTrailSpanProcessor

        provider.add_span_processor(SessionTrailSpanProcessor())
        _state.otel_provider = provider
    except Exception:  # OpenTelemetry absent or unusual: recording works without it
        return


def instrument_llm_clients() -> None:
    """Record the calls of every supported LLM client and agent framework, whether the
    program imported it already or imports it later (a post-import hook instruments it the
    moment its import finishes). A library whose instrumentation is not installed gets one
    logged hint naming the package."""
    wrapt: ModuleType | None
    try:
        import wrapt  # what the instrumentations themselves are built on
    except ImportError:
        wrapt = None
    for library in LLM_INSTRUMENTATIONS:
        if wrapt is None:
            if library in sys.modules:
                _instrument_on_import(sys.modules[library])
            continue
        if library not in _state.import_hooks:
            _state.import_hooks.add(library)  # wrapt cannot take a hook back: once a process
            wrapt.register_post_import_hook(_instrument_on_import, library)  # runs now if imported
        elif library in sys.modules:  # instrumented before, then reset()
            _instrument_on_import(sys.modules[library])


def _instrument_on_import(module: ModuleType) -> None:
    library = module.__name__
    if not _state.instrument_llm or library in _state.instrumented:
        return
    module_name, class_name, package = LLM_INSTRUMENTATIONS[library]
    try:
        if _missing(module_name):
            if library not in _state.hinted:
                _state.hinted.add(library)
                log.warning(
                    "sessiontrail: %s is used but not recorded: pip install %s (or 'sessiontrail[frameworks]')",
                    library,
                    package,
                )
            return
        instrumentor = getattr(importlib.import_module(module_name), class_name)()
        instrumentor.instrument(tracer_provider=_tracer_provider())
        _state.instrumented[library] = instrumentor
    except Exception as exc:  # an instrumentation that does not fit the installed client
        log.warning("sessiontrail: %s calls are not recorded automatically: %s", library, exc)


def _missing(module_name: str) -> bool:
    try:
        return importlib.util.find_spec(module_name) is None
    except ModuleNotFoundError:  # a parent package is missing
        return True


def _tracer_provider() -> Any:
    """The provider LLM spans go to: the program's SDK provider (already feeding us), else a
    private one that feeds only us (the global provider is left alone)."""
    if _state.otel_provider is not None:
        return _state.otel_provider
    if _state.private_provider is None:
        from opentelemetry.sdk.trace import TracerProvider

        from .otel import SessionTrailSpanProcessor

        provider = TracerProvider()
        provider.add_span_processor(SessionTrailSpanProcessor())
        _state.private_provider = provider
    return _state.private_provider


def _uninstrument() -> None:
    for instrumentor in _state.instrumented.values():
        try:
            instrumentor.uninstrument()
        except Exception:
            pass
    _state.instrumented.clear()


_state.on_reset(_uninstrument)
