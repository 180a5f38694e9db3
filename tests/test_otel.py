"""OpenTelemetry spans recorded through SessionTrailSpanProcessor, with the real OTel SDK."""

from __future__ import annotations

import pytest

pytest.importorskip("opentelemetry.sdk")

from conftest import load, tree  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.trace import Status, StatusCode  # noqa: E402

from recorder.otel import SessionTrailSpanProcessor  # noqa: E402
from recorder.prices import cost_of  # noqa: E402


@pytest.fixture
def tracer(rec):
    provider = TracerProvider()
    provider.add_span_processor(SessionTrailSpanProcessor())
    yield provider.get_tracer("test")
    provider.shutdown()


def test_an_otel_trace_without_a_session_becomes_its_own_session(rec, folder, tracer):
    with tracer.start_as_current_span("handle_request") as root:
        root.set_attribute("http.route", "/answer")
        with tracer.start_as_current_span("lookup") as child:
            child.add_event("cache_miss", {"key": "k1"})
        with pytest.raises(ValueError), tracer.start_as_current_span("parse"):
            raise ValueError("bad json")
    rec.flush()
    catalog, problems = load(folder)
    (info,) = catalog.sessions.values()
    assert info.name == "handle_request" and info.tags == ["otel"] and info.end_state == "Success"
    assert tree(info) == [
        (0, "operation", "handle_request", "ok"),
        (1, "operation", "lookup", "ok"),
        (2, "action", "cache_miss", "ok"),
        (1, "operation", "parse", "error"),
        (2, "error", "ValueError", "error"),
    ]
    root_node = next(n for n in info.nodes.values() if n.name == "handle_request")
    assert root_node.all_attrs()["otel_attributes"] == {"http.route": "/answer"}
    error = next(n for n in info.nodes.values() if n.kind == "error")
    assert error.attrs["message"] == "bad json" and "Traceback" in error.attrs["traceback"]


def test_otel_spans_nest_under_the_current_sessiontrail_span(rec, folder, tracer):
    from recorder.decorators import operation

    @operation(name="ours")
    def ours():
        with tracer.start_as_current_span("theirs"):
            rec.record(rec.ActionEvent(action_type="inside-theirs"))

    with rec.start_session(tags=["mixed"]):
        ours()
    rec.flush()
    catalog, _ = load(folder)
    (info,) = catalog.sessions.values()
    assert info.tags == ["mixed"]
    # OTel's own context is not ours: an event recorded inside an OTel span nests under the
    # sessiontrail span around it, beside the OTel span.
    assert [(d, k, n) for d, k, n, _ in tree(info)] == [
        (0, "operation", "ours"),
        (1, "operation", "theirs"),
        (1, "action", "inside-theirs"),
    ]


def test_genai_and_openinference_llm_spans_become_llm_events(rec, folder, tracer):
    with rec.start_session():
        # Instrumentations set what kind of call it is when the span starts, results later.
        genai_start = {"gen_ai.operation.name": "chat", "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o"}
        with tracer.start_as_current_span("chat gpt-4o", attributes=genai_start) as span:  # OTel GenAI
            span.set_attribute("gen_ai.response.model", "gpt-4o-2024-08-06")
            span.set_attribute("gen_ai.usage.input_tokens", 1200)
            span.set_attribute("gen_ai.usage.output_tokens", 300)
            span.add_event("gen_ai.user.message", {"content": "What is 2+2?"})
            span.add_event("gen_ai.choice", {"message": '{"role": "assistant", "content": "4"}'})
        oi_start = {"openinference.span.kind": "LLM", "llm.model_name": "claude-3-5-haiku"}
        with tracer.start_as_current_span("ChatCompletion", attributes=oi_start) as span:  # OpenInference
            span.set_attribute("llm.token_count.prompt", 100)
            span.set_attribute("llm.token_count.completion", 50)
            span.set_attribute("llm.input_messages.0.message.role", "user")
            span.set_attribute("llm.input_messages.0.message.content", "hello")
            span.set_attribute("llm.output_messages.0.message.role", "assistant")
            span.set_attribute("llm.output_messages.0.message.content", "hi there")
        with tracer.start_as_current_span("search_web", attributes={"openinference.span.kind": "TOOL"}):
            pass
        with tracer.start_as_current_span(
            "unknown-model", attributes={"gen_ai.operation.name": "chat", "gen_ai.request.model": "house-model-7"}
        ) as span:
            span.set_attribute("gen_ai.usage.input_tokens", 10)
            span.set_attribute("gen_ai.usage.output_tokens", 10)
            span.set_status(Status(StatusCode.ERROR, "rate limited"))
    rec.flush()
    catalog, _ = load(folder)
    (info,) = catalog.sessions.values()
    llms = {n.name: n for n in info.nodes.values() if n.kind == "llm"}
    genai = llms["gpt-4o-2024-08-06"].attrs
    assert (genai["prompt_tokens"], genai["completion_tokens"]) == (1200, 300)
    assert genai["cost"] == pytest.approx(cost_of("gpt-4o", 1200, 300)) and genai["cost"] == pytest.approx(0.006)
    assert genai["prompt"] == [{"role": "user", "content": "What is 2+2?"}]
    assert genai["completion"] == {"role": "assistant", "content": "4"}
    oi = llms["claude-3-5-haiku"].attrs
    assert oi["prompt"] == [{"role": "user", "content": "hello"}]
    assert oi["completion"] == {"role": "assistant", "content": "hi there"}
    assert oi["cost"] == pytest.approx((100 * 0.8 + 50 * 4.0) / 1e6)
    unknown = llms["house-model-7"].attrs
    assert unknown["cost"] is None and unknown["error"] == {"message": "rate limited"}  # unknown, not 0
    assert llms["house-model-7"].status == "error" and info.error_count == 1  # a failed call is an error
    assert info.llm_calls == 3 and info.tool_calls == 1
    assert (info.prompt_tokens, info.completion_tokens) == (1310, 360)
    assert all(n.end > n.start for n in llms.values())


def test_init_attaches_to_an_existing_tracer_provider(tmp_path):
    from conftest import run_script

    run_script(
        f"""
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        trace.set_tracer_provider(TracerProvider())   # the app's own OpenTelemetry set-up
        import recorder
        recorder.init(directory={str(tmp_path)!r}, tags=["app"])
        tracer = trace.get_tracer("app")
        with tracer.start_as_current_span("instrumented-by-otel"):
            pass
        recorder.end_session("Success")
        """
    )
    catalog, _ = load(tmp_path)
    (info,) = catalog.sessions.values()
    assert info.tags == ["app"] and [n.name for n in info.nodes.values()] == ["instrumented-by-otel"]
