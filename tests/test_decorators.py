"""Decorators: spans with nesting, inputs/outputs, failures, every kind of callable, classes."""

from __future__ import annotations

import asyncio

import pytest
from conftest import load, only_session, tree

from recorder.decorators import agent, operation, session, task, tool, workflow


def test_nested_spans_with_inputs_outputs_and_cost(rec, folder):
    @tool(cost=0.25)
    def search(query, limit=3):
        return [f"{query}-{i}" for i in range(limit)]

    @task
    def summarise(items):
        return len(items)

    @operation(name="research-step")
    def step(q):
        return summarise(search(q, limit=2))

    @workflow
    def pipeline():
        return step("cats")

    with rec.start_session():
        assert pipeline() == 2
    rec.flush()
    info = only_session(folder)
    assert tree(info) == [
        (0, "workflow", "pipeline", "ok"),
        (1, "operation", "research-step", "ok"),
        (2, "tool", "search", "ok"),
        (2, "task", "summarise", "ok"),
    ]
    search_node = next(n for n in info.nodes.values() if n.kind == "tool")
    assert search_node.attrs["input"] == {"args": ["cats"], "kwargs": {"limit": 2}}
    assert search_node.end_attrs == {"output": ["cats-0", "cats-1"]}
    assert search_node.attrs["cost"] == 0.25 and info.cost == pytest.approx(0.25)
    assert info.tool_calls == 1
    assert all(n.end >= n.start for n in info.nodes.values())


def test_an_exception_fails_every_span_it_crosses_and_is_recorded_once(rec, folder):
    @tool
    def flaky():
        raise ConnectionError("upstream reset")

    @operation
    def outer():
        flaky()

    with pytest.raises(ConnectionError):
        with rec.start_session():
            outer()
    rec.flush()
    info = only_session(folder)
    assert tree(info) == [
        (0, "operation", "outer", "error"),
        (1, "tool", "flaky", "error"),
        (2, "error", "ConnectionError", "error"),
    ]
    assert info.error_count == 1 and info.end_state == "Fail"
    flaky_node = next(n for n in info.nodes.values() if n.kind == "tool")
    assert flaky_node.end_attrs["error"] == {"exception_type": "ConnectionError", "message": "upstream reset"}


def test_session_decorator_success_and_failure(rec, folder):
    @session(tags=["batch"])
    def good(x):
        return x + 1

    @session(name="bad-run")
    def bad():
        raise ValueError("bad input")

    assert good(1) == 2
    with pytest.raises(ValueError, match="bad input"):
        bad()
    rec.flush()
    catalog, _ = load(folder)
    by_name = {s.name: s for s in catalog.sessions.values()}
    assert by_name["good"].end_state == "Success"
    assert by_name["good"].tags == ["batch"]
    failed = by_name["bad-run"]
    assert failed.end_state == "Fail" and failed.reason == "ValueError: bad input"
    assert [n.kind for n in failed.nodes.values()] == ["error"]


def test_generators_keep_their_span_open_until_exhausted_and_do_not_leak(rec, folder):
    @operation
    def produce(n):
        yield from range(n)

    @tool
    def consume(x):
        return x

    with rec.start_session():
        for value in produce(3):
            consume(value)  # runs in the consumer's context, not under produce's span
        closed_early = produce(10)
        next(closed_early)
        closed_early.close()
    rec.flush()
    info = only_session(folder)
    shape = [(d, k, s) for d, k, _, s in tree(info)]
    assert shape == [
        (0, "operation", "ok"),
        (0, "tool", "ok"),
        (0, "tool", "ok"),
        (0, "tool", "ok"),
        (0, "operation", "ok"),
    ]
    produce_node = min((n for n in info.nodes.values() if n.kind == "operation"), key=lambda n: n.start)
    last_consume = max((n for n in info.nodes.values() if n.kind == "tool"), key=lambda n: n.start)
    assert produce_node.end >= last_consume.start  # the span lasted until the generator finished
    early = max((n for n in info.nodes.values() if n.kind == "operation"), key=lambda n: n.start)
    assert early.end_attrs == {"closed_early": True}


def test_generator_send_and_throw_pass_through(rec):
    @operation
    def echo():
        received = []
        try:
            while True:
                received.append((yield len(received)))
        except KeyError:
            yield f"caught after {received}"

    with rec.start_session():
        gen = echo()
        assert next(gen) == 0
        assert gen.send("a") == 1
        assert gen.throw(KeyError("k")) == "caught after ['a']"


def test_async_functions_and_async_generators(rec, folder):
    @tool
    async def fetch(i):
        await asyncio.sleep(0.001)
        return i * 10

    @operation
    async def stream(n):
        for i in range(n):
            yield await fetch(i)

    @agent
    async def run():
        return [x async for x in stream(3)]

    async def main():
        with rec.start_session():
            return await run()

    assert asyncio.run(main()) == [0, 10, 20]
    rec.flush()
    info = only_session(folder)
    assert [(d, k, s) for d, k, _, s in tree(info)] == [
        (0, "agent", "ok"),
        (1, "operation", "ok"),
        (2, "tool", "ok"),
        (2, "tool", "ok"),
        (2, "tool", "ok"),
    ]


def test_concurrent_asyncio_tasks_each_record_into_their_own_session(rec, folder):
    @tool
    async def step(i):
        await asyncio.sleep(0)
        return i

    @session
    async def job(n):
        for i in range(5):
            await step(i)
            await asyncio.sleep(0)
        rec.record(rec.ActionEvent(action_type=f"done-{n}"))
        return n

    async def main():
        return await asyncio.gather(*(job(n) for n in range(50)))

    assert asyncio.run(main()) == list(range(50))
    rec.flush()
    catalog, problems = load(folder)
    assert not problems and len(catalog.sessions) == 50
    for s in catalog.sessions.values():
        nodes = list(s.nodes.values())
        assert [n.kind for n in nodes].count("tool") == 5
        (done,) = [n for n in nodes if n.kind == "action"]
        own_arg = next(n for n in nodes if n.kind == "tool")  # every step of this session
        assert s.end_state == "Success"
        n = int(done.name.split("-")[1])
        assert all(node.parent is None for node in nodes)
        assert own_arg.attrs["input"]["args"] == [0]
        assert s.name.endswith("job") and n in range(50)
    names = sorted(
        int(n.name.split("-")[1]) for s in catalog.sessions.values() for n in s.nodes.values() if n.kind == "action"
    )
    assert names == list(range(50))


def test_agent_class_instances_are_spans_and_context_does_not_leak(rec, folder):
    @agent(name="Researcher")
    class Researcher:
        def __init__(self, topic):
            self.topic = topic
            rec.record(rec.ActionEvent(action_type="init"))

        @operation
        def research(self):
            return self.helper()

        def helper(self):
            rec.record(rec.ActionEvent(action_type="helper"))
            return self.topic

    with rec.start_session():
        a = Researcher("cats")
        b = Researcher("dogs")
        rec.record(rec.ActionEvent(action_type="outside"))  # between method calls: at the root
        assert a.research() == "cats" and b.research() == "dogs"
        rec.record(rec.ActionEvent(action_type="outside-again"))
    rec.flush()
    info = only_session(folder)
    assert [(d, k, n) for d, k, n, _ in tree(info)] == [
        (0, "agent", "Researcher"),
        (1, "action", "init"),
        (1, "operation", "Researcher.research"),
        (2, "action", "helper"),
        (0, "agent", "Researcher"),
        (1, "action", "init"),
        (1, "operation", "Researcher.research"),
        (2, "action", "helper"),
        (0, "action", "outside"),
        (0, "action", "outside-again"),
    ]
    agents = [n for n in info.nodes.values() if n.kind == "agent"]
    assert all(n.status == "ok" for n in agents)  # ended with the session at the latest
    assert agents[0].attrs["input"] == {"args": ["cats"]}


def test_decorators_without_a_session_just_call_through(rec, folder):
    @operation
    def plain(x):
        return x * 2

    @operation
    def gen():
        yield 1

    assert plain(4) == 8 and list(gen()) == [1]
    rec.flush()
    catalog, _ = load(folder)
    assert catalog.sessions == {}


def test_decorated_functions_keep_their_metadata():
    @tool(name="x")
    def documented(a: int) -> int:
        """Docs."""
        return a

    assert documented.__name__ == "documented" and documented.__doc__ == "Docs."
    assert asyncio.iscoroutinefunction(operation(_coro))


async def _coro():
    return 1
