"""A CrewAI crew recorded with nothing but ``recorder.init()``, against the local
OpenAI-compatible test server. Runs in its own environment (scripts/test-crewai.sh); the main
suite skips it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

pytest.importorskip("crewai")
pytest.importorskip("openinference.instrumentation.crewai")

from llm_server import LLMServer, text, tools  # noqa: E402

from recorder.prices import cost_of  # noqa: E402

SCRIPT = """
import os, sys
import recorder
recorder.init(directory=sys.argv[1], tags=["crewai"])
from crewai import LLM, Agent, Crew, Task
from crewai.tools import tool

@tool("search")
def search(query: str) -> str:
    "Search the web."
    return f"results for {query}"

llm = LLM(model="gpt-4o-mini", base_url=sys.argv[2] + "/v1", api_key="sk-test")
researcher = Agent(role="Researcher", goal="Find facts", backstory="Curious", llm=llm, tools=[search])
task = Task(description="Find what sessiontrail is", expected_output="One sentence", agent=researcher)
print(Crew(agents=[researcher], tasks=[task]).kickoff())
"""


def run(*args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CREWAI_DISABLE_TELEMETRY": "true", "CREWAI_TRACING_ENABLED": "false"}
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=240, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_a_crew_with_a_tool(tmp_path):
    with LLMServer() as server:
        server.play(
            tools(("call_c1", "search", {"query": "sessiontrail"})),
            text("Thought: I now know the final answer\nFinal Answer: sessiontrail records sessions."),
        )
        assert "sessiontrail records sessions" in run("-c", SCRIPT, str(tmp_path), server.url)
    (summary,) = json.loads(run("-m", "recorder", "ls", str(tmp_path), "--json"))
    shown = json.loads(run("-m", "recorder", "show", summary["id"], "--dir", str(tmp_path), "--json"))
    calls, prompt, completion = server.billed()
    assert (summary["llm_calls"], summary["prompt_tokens"], summary["completion_tokens"]) == (calls, prompt, completion)
    assert summary["cost"] == pytest.approx(sum(cost_of(s.model, *s.reply.usage) for s in server.served))
    assert summary["tool_calls"] == 1
    events = shown["events"]
    by_id = {e["id"]: e for e in events}
    kinds = {e["kind"] for e in events}
    assert {"workflow", "agent", "llm", "tool"} <= kinds
    agent = next(e for e in events if e["kind"] == "agent")
    for node in (e for e in events if e["kind"] in ("llm", "tool")):
        assert by_id.get(node["parent_id"]) is agent  # the agent's calls nest under it
    first = min((e for e in events if e["kind"] == "llm"), key=lambda e: e["start_time"])
    assert first["attributes"]["tool_calls"] == [
        {"id": "call_c1", "name": "search", "arguments": {"query": "sessiontrail"}}
    ]
