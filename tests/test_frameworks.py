"""Real LLM clients and agent frameworks, recorded with nothing but ``recorder.init()``, against
a local OpenAI/Anthropic-compatible server (tests/llm_server.py) on 127.0.0.1. No network.

Each run happens in a child process, as a user's program would; what was recorded is read
back through ``sessiontrail ls/show --json`` and compared with what the server served.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import cli, run_script
from llm_server import LLMServer, failure, text, tools

from recorder.prices import cost_of

HEADER = """
import sys
import recorder
recorder.init(directory={folder!r}, tags=["fw"])
"""


@pytest.fixture
def server():
    with LLMServer() as running:
        yield running


def recorded(folder: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The one session in folder, as ``ls --json`` and ``show --json`` print it."""
    (summary,) = json.loads(cli("ls", str(folder), "--json").stdout)
    shown = json.loads(cli("show", summary["id"], "--dir", str(folder), "--json").stdout)
    return summary, shown["events"]


def shape(events: list[dict[str, Any]]) -> list[tuple[int, str, str]]:
    """(depth, kind, name) in tree order (children by start)."""
    by_parent: dict[Any, list[dict[str, Any]]] = {}
    ids = {e["id"] for e in events}
    for event in sorted(events, key=lambda e: e["start_time"]):
        by_parent.setdefault(event["parent_id"] if event["parent_id"] in ids else None, []).append(event)
    out: list[tuple[int, str, str]] = []

    def walk(parent: Any, depth: int) -> None:
        for event in by_parent.get(parent, []):
            out.append((depth, event["kind"], event["name"]))
            walk(event["id"], depth + 1)

    walk(None, 0)
    return out


def assert_billed(summary: dict[str, Any], server: LLMServer) -> None:
    """llm_calls, tokens and cost equal what the server served."""
    calls, prompt, completion = server.billed()
    assert (summary["llm_calls"], summary["prompt_tokens"], summary["completion_tokens"]) == (calls, prompt, completion)
    expected = sum(cost_of(s.model, *s.reply.usage) or 0.0 for s in server.served if s.reply.status == 200)
    assert summary["cost"] == pytest.approx(expected)


def llm_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted((e for e in events if e["kind"] == "llm"), key=lambda e: e["start_time"])


# ---------------------------------------------------------------------------- clients


def test_openai_imported_after_init_plain_streamed_tools_and_failures(tmp_path, server):
    pytest.importorskip("openinference.instrumentation.openai")
    server.play(
        text("Paris.", usage=(14, 3)),
        text("Bonjour !", usage=(9, 4)),
        tools(("call_a", "get_weather", {"city": "Paris"}), usage=(40, 18)),
        failure(429, "Rate limit reached for gpt-4o-mini"),
        failure(500, "The server had an error while processing your request"),
    )
    run_script(
        HEADER.format(folder=str(tmp_path))
        + f"""
import openai   # imported after init(): recorded all the same
client = openai.OpenAI(base_url="{server.url}/v1", api_key="sk-test", max_retries=0)
ask = lambda text, **kw: client.chat.completions.create(model="gpt-4o-mini", messages=[{{"role": "user", "content": text}}], **kw)
assert ask("Capital of France?").choices[0].message.content == "Paris."
stream = ask("Hello in French", stream=True, stream_options={{"include_usage": True}})
assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "Bonjour !"
tool = {{"type": "function", "function": {{"name": "get_weather", "parameters": {{"type": "object", "properties": {{"city": {{"type": "string"}}}}}}}}}}
assert ask("Weather?", tools=[tool]).choices[0].message.tool_calls[0].function.name == "get_weather"
for status in (429, 500):
    try:
        ask("again")
    except openai.APIStatusError as exc:
        assert exc.status_code == status
"""
    )
    summary, events = recorded(tmp_path)
    assert_billed(summary, server)
    assert summary["llm_calls"] == 5 and summary["error_count"] == 2  # failed calls are calls, and errors
    plain, streamed, asked, limited, broken = llm_events(events)
    assert plain["attributes"]["completion"] == {"role": "assistant", "content": "Paris."}
    assert streamed["attributes"]["completion"]["content"] == "Bonjour !"
    assert asked["attributes"]["tool_calls"] == [
        {"id": "call_a", "name": "get_weather", "arguments": {"city": "Paris"}}
    ]
    assert limited["status"] == broken["status"] == "error"
    assert "Rate limit reached" in limited["attributes"]["error"]["message"]
    assert "had an error" in broken["attributes"]["error"]["message"]


def test_anthropic_plain_streamed_tool_use_and_overload(tmp_path, server):
    pytest.importorskip("openinference.instrumentation.anthropic")
    server.play(
        text("Paris.", usage=(12, 4)),
        text("Bonjour", usage=(8, 2)),
        tools(("toolu_1", "get_weather", {"city": "Lyon"}), usage=(50, 20)),
        failure(529, "Overloaded"),
    )
    run_script(
        HEADER.format(folder=str(tmp_path))
        + f"""
import anthropic
client = anthropic.Anthropic(base_url="{server.url}", api_key="sk-ant-test", max_retries=0)
send = lambda text, **kw: client.messages.create(model="claude-sonnet-4-5", max_tokens=100, messages=[{{"role": "user", "content": text}}], **kw)
assert send("Capital of France?").content[0].text == "Paris."
with client.messages.stream(model="claude-sonnet-4-5", max_tokens=100, messages=[{{"role": "user", "content": "Hi in French"}}]) as stream:
    assert "".join(stream.text_stream) == "Bonjour"
tool = {{"name": "get_weather", "input_schema": {{"type": "object", "properties": {{"city": {{"type": "string"}}}}}}}}
assert send("Weather?", tools=[tool]).content[0].name == "get_weather"
try:
    send("again")
except anthropic.APIStatusError as exc:
    assert exc.status_code == 529
"""
    )
    summary, events = recorded(tmp_path)
    assert_billed(summary, server)
    assert summary["llm_calls"] == 4 and summary["error_count"] == 1 and summary["cost"] > 0
    plain, streamed, asked, overloaded = llm_events(events)
    assert plain["name"] == "claude-sonnet-4-5" and "Paris." in json.dumps(plain["attributes"]["completion"])
    assert "Bonjour" in json.dumps(streamed["attributes"]["completion"])
    assert asked["attributes"]["tool_calls"][0]["name"] == "get_weather"
    assert asked["attributes"]["tool_calls"][0]["arguments"] == {"city": "Lyon"}
    assert overloaded["status"] == "error" and "Overloaded" in overloaded["attributes"]["error"]["message"]


# ---------------------------------------------------------------------------- frameworks


def test_openai_agents_with_a_handoff_and_a_function_tool(tmp_path, server):
    pytest.importorskip("agents")
    pytest.importorskip("openinference.instrumentation.openai_agents")
    server.play(
        tools(("call_1", "transfer_to_weather_agent", {})),
        tools(("call_2", "get_weather", {"city": "Paris"})),
        text("It is sunny in Paris."),
    )
    run_script(
        HEADER.format(folder=str(tmp_path))
        + f"""
import openai
from agents import Agent, Runner, function_tool, set_default_openai_client
set_default_openai_client(openai.AsyncOpenAI(base_url="{server.url}/v1", api_key="sk-test", max_retries=0), use_for_tracing=False)

@function_tool
def get_weather(city: str) -> str:
    \"\"\"The weather in a city.\"\"\"
    return f"sunny in {{city}}"

weather = Agent(name="Weather agent", instructions="Answer weather questions.", tools=[get_weather], model="gpt-4o-mini")
triage = Agent(name="Triage", instructions="Hand weather questions over.", handoffs=[weather], model="gpt-4o-mini")
assert Runner.run_sync(triage, "Weather in Paris?").final_output == "It is sunny in Paris."
""",
        timeout=120,
    )
    summary, events = recorded(tmp_path)
    assert_billed(summary, server)  # one LLM call per request: the client's span folded into the SDK's
    assert summary["llm_calls"] == 3 and summary["tool_calls"] == 1 and summary["error_count"] == 0
    tree = shape(events)
    assert [(k, n) for _, k, n in tree if k in ("agent", "llm", "tool", "handoff")] == [
        ("agent", "Agent workflow"),
        ("agent", "Triage"),
        ("llm", "gpt-4o-mini"),
        ("handoff", "handoff to Weather agent"),
        ("agent", "Weather agent"),
        ("llm", "gpt-4o-mini"),
        ("tool", "get_weather"),
        ("llm", "gpt-4o-mini"),
    ]
    depth = {n: d for d, _, n in tree if n in ("Triage", "Weather agent", "get_weather")}
    assert depth["get_weather"] > depth["Weather agent"]  # the tool ran inside the agent that called it
    first, second, _ = llm_events(events)
    assert first["attributes"]["tool_calls"][0]["name"] == "transfer_to_weather_agent"
    assert second["attributes"]["tool_calls"] == [
        {"id": "call_2", "name": "get_weather", "arguments": {"city": "Paris"}}
    ]


def test_langgraph_graph_with_a_tool_node(tmp_path, server):
    pytest.importorskip("langgraph")
    pytest.importorskip("langchain_openai")
    pytest.importorskip("openinference.instrumentation.langchain")
    server.play(tools(("call_9", "search", {"query": "sessiontrail"})), text("Found it."))
    run_script(
        HEADER.format(folder=str(tmp_path))
        + f"""
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

@tool
def search(query: str) -> str:
    \"\"\"Search the web.\"\"\"
    return f"results for {{query}}"

model = ChatOpenAI(model="gpt-4o-mini", base_url="{server.url}/v1", api_key="sk-test", max_retries=0).bind_tools([search])
graph = StateGraph(MessagesState)
graph.add_node("agent", lambda state: {{"messages": [model.invoke(state["messages"])]}})
graph.add_node("tools", ToolNode([search]))
graph.add_edge(START, "agent")
graph.add_conditional_edges("agent", tools_condition)
graph.add_edge("tools", "agent")
out = graph.compile().invoke({{"messages": [("user", "find sessiontrail")]}})
assert out["messages"][-1].content == "Found it."
""",
        timeout=120,
    )
    summary, events = recorded(tmp_path)
    assert_billed(summary, server)  # LangChain's model span and the client's span: one call
    assert summary["llm_calls"] == 2 and summary["tool_calls"] == 1
    tree = shape(events)
    assert tree[0][1:] == ("workflow", "LangGraph")
    nodes = [(d, k, n) for d, k, n in tree if n in ("agent", "tools", "search", "gpt-4o-mini")]
    assert nodes == [
        (1, "agent", "agent"),
        (2, "llm", "gpt-4o-mini"),
        (1, "workflow", "tools"),
        (2, "tool", "search"),
        (1, "agent", "agent"),
        (2, "llm", "gpt-4o-mini"),
    ]
    first, _ = llm_events(events)
    assert first["attributes"]["tool_calls"] == [
        {"id": "call_9", "name": "search", "arguments": {"query": "sessiontrail"}}
    ]


# ---------------------------------------------------------------------------- OTel conventions


def test_a_span_that_says_it_is_an_llm_call_only_after_it_started(tmp_path):
    """An OTel app sets gen_ai attributes after the span started (and OpenInference's LangChain
    sets its kind at the end): the kind is decided again at the end."""
    run_script(
        f"""
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
trace.set_tracer_provider(TracerProvider())
import recorder
recorder.init(directory={str(tmp_path)!r}, tags=["otel-app"])
tracer = trace.get_tracer("app")
with tracer.start_as_current_span("chat") as span:
    span.set_attribute("gen_ai.request.model", "gpt-4.1-mini")
    span.set_attribute("gen_ai.usage.input_tokens", 1000)
    span.set_attribute("gen_ai.usage.output_tokens", 200)
    span.set_attribute("gen_ai.input.messages", '[{{"role": "user", "parts": [{{"type": "text", "content": "Hi"}}]}}]')
    span.set_attribute("gen_ai.output.messages", '[{{"role": "assistant", "parts": [{{"type": "text", "content": "Hello"}}, {{"type": "tool_call", "id": "t1", "name": "lookup", "arguments": {{"q": 1}}}}]}}]')
    span.set_attribute("gen_ai.system_instructions", '[{{"type": "text", "content": "Be brief."}}]')
with tracer.start_as_current_span("step") as span:
    span.set_attribute("openinference.span.kind", "TOOL")
"""
    )
    summary, events = recorded(tmp_path)
    assert summary["llm_calls"] == 1 and summary["tool_calls"] == 1
    assert (summary["prompt_tokens"], summary["completion_tokens"]) == (1000, 200)
    assert summary["cost"] == pytest.approx(cost_of("gpt-4.1-mini", 1000, 200))
    (llm,) = llm_events(events)
    assert llm["attributes"]["prompt"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
    ]
    assert llm["attributes"]["completion"] == {
        "role": "assistant",
        "content": "Hello",
        "tool_calls": [{"id": "t1", "name": "lookup", "arguments": {"q": 1}}],
    }


def test_traces_sharing_a_session_id_are_one_session(tmp_path):
    run_script(
        f"""
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
trace.set_tracer_provider(TracerProvider())
import recorder
recorder.init(directory={str(tmp_path)!r}, auto_start_session=False)
tracer = trace.get_tracer("chatbot")
for turn in range(3):
    with tracer.start_as_current_span(f"turn {{turn}}", attributes={{"session.id": "conversation-42"}}):
        pass
with tracer.start_as_current_span("other", attributes={{"session.id": "conversation-43"}}):
    pass
"""
    )
    sessions = json.loads(cli("ls", str(tmp_path), "--json").stdout)
    by_name = {s["name"]: s for s in sessions}
    assert sorted(by_name) == ["conversation-42", "conversation-43"]
    assert by_name["conversation-42"]["event_count"] == 3 and by_name["conversation-42"]["end_state"] == "Success"


def test_instrumentation_can_be_turned_off(tmp_path, server):
    server.play(text("hi"))
    run_script(
        f"""
import recorder
recorder.init(directory={str(tmp_path)!r}, instrument_llm_calls=False)
import openai
openai.OpenAI(base_url="{server.url}/v1", api_key="sk-test", max_retries=0).chat.completions.create(
    model="gpt-4o-mini", messages=[{{"role": "user", "content": "hi"}}])
recorder.end_session("Success")
"""
    )
    summary, _ = recorded(tmp_path)
    assert summary["llm_calls"] == 0 and len(server.served) == 1


def test_prices_match_exact_ids_and_dated_variants_never_a_looser_prefix():
    assert cost_of("claude-opus-4-5", 1_000_000, 0) == 5.0  # not claude-opus-4's 15.0
    assert cost_of("claude-sonnet-4-5-20250929", 0, 1_000_000) == 15.0
    assert cost_of("gpt-4o-2024-08-06", 1_000_000, 1_000_000) == 12.5
    assert cost_of("openai/gpt-4.1-mini", 1_000_000, 0) == 0.4
    assert cost_of("claude-opus-4-7", 10, 10) is None  # unknown model: unknown cost, never 0
    assert cost_of("gpt-4o", None, 10) is None


def test_a_manual_llm_event_with_a_model_and_tokens_gets_a_cost(rec, folder):
    from conftest import only_session

    with rec.start_session():
        rec.record(rec.LLMEvent(model="gpt-4o-mini", prompt_tokens=10, completion_tokens=5))
    rec.flush()
    info = only_session(folder)
    assert info.cost == pytest.approx(cost_of("gpt-4o-mini", 10, 5)) and info.cost > 0


def test_a_supported_library_without_its_instrumentation_gets_one_hint(tmp_path):
    # A stand-in for an installed framework whose OpenInference package is not installed.
    package = tmp_path / "lib" / "llama_index"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("VERSION = '0'\n")
    proc = run_script(
        f"""
import sys
sys.path.insert(0, {str(tmp_path / "lib")!r})
sys.modules["openinference.instrumentation.llama_index"] = None  # not installed, whatever the machine has
import recorder
recorder.init(directory={str(tmp_path / "sessions")!r})
import llama_index
import importlib; importlib.reload(llama_index)
"""
    )
    hints = [line for line in proc.stderr.splitlines() if "llama_index is used but not recorded" in line]
    assert len(hints) == 1 and "openinference-instrumentation-llama-index" in hints[0], proc.stderr
