"""AgentOps code runs unchanged: ``import recorder.compat.agentops`` once, then AgentOps'
imports and APIs from v0.3 to v0.4+ anywhere in the program record into sessiontrail."""

from __future__ import annotations

from conftest import load, run_script, tree


def test_one_line_makes_agentops_imports_and_apis_record_here(tmp_path):
    run_script(
        f"""
import recorder.compat.agentops   # the one line
import agentops
from agentops.sdk.decorators import agent, operation, tool, trace

agentops.init(api_key="not-used", directory={str(tmp_path)!r}, auto_start_session=False, default_tags=["compat"])

@agent
class Researcher:
    @operation
    def research(self, topic):
        return lookup(topic)

@tool
def lookup(topic: str) -> str:
    return topic.upper()

@trace(name="v04-trace")
def run_v04():
    return Researcher().research("otel")

assert run_v04() == "OTEL"

ctx = agentops.start_trace("manual-trace", tags={{"team": "search"}})
agentops.add_tags(["extra"])
with_op = agentops.operation(lambda: 1)
with_op()
agentops.end_trace(ctx, end_state="Success")

@agentops.record_action("fetch")
def fetch(url):
    return len(url)

@agentops.record_tool("calculator")
def add(a, b):
    return a + b

@agentops.track_agent(name="OldAgent")
class OldAgent:
    def act(self):
        return add(1, fetch("https://x"))

session = agentops.start_session(tags=["v03"])
OldAgent().act()
trigger = agentops.ActionEvent(action_type="parse")
agentops.record(agentops.ErrorEvent(trigger_event=trigger, error_type="ParseError", details="bad json"))
agentops.set_tags(["v03", "replaced"])
agentops.end_session("Fail", "parse error")
"""
    )
    catalog, problems = load(tmp_path)
    assert not problems
    by_name = {s.name: s for s in catalog.sessions.values()}
    assert sorted(by_name) == ["manual-trace", "session", "v04-trace"]
    v04 = by_name["v04-trace"]
    assert v04.tags == ["compat"] and v04.end_state == "Success"
    assert [(d, k, n) for d, k, n, _ in tree(v04)] == [
        (0, "agent", "Researcher"),
        (1, "operation", "Researcher.research"),
        (2, "tool", "lookup"),
    ]
    manual = by_name["manual-trace"]
    assert manual.tags == ["compat", "team:search", "extra"] and manual.event_count == 1
    v03 = by_name["session"]
    assert v03.tags == ["v03", "replaced"] and v03.end_state == "Fail"
    kinds = [(k, n) for _, k, n, _ in tree(v03)]
    assert ("agent", "OldAgent") in kinds and ("tool", "calculator") in kinds and ("action", "fetch") in kinds
    nodes = {n.name: n for n in v03.nodes.values()}
    error = nodes["ParseError"]
    assert error.attrs["trigger_event"] == nodes["parse"].id  # points at an event that was recorded
    assert v03.error_count == 1
