"""The viewer's Qt-free core: store, filters, analytics, trace layout. Plain pytest."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import run_script

from viewer.core import SessionFilter, SessionStore, all_tags, compute
from viewer.core.trace import FLAG_OPEN


def record_three(rec):
    from recorder.decorators import agent, operation, tool

    @tool(cost=0.5)
    def lookup(x):
        return x

    @agent(name="Helper")
    class Helper:
        @operation(name="work")
        def work(self):
            lookup(1)
            rec.record(rec.LLMEvent(model="gpt-4o", prompt_tokens=100, completion_tokens=20, cost=0.25))

    with rec.start_session(tags=["prod", "vip"], name="alpha"):
        Helper().work()
    s = rec.start_session(tags=["prod"], name="beta")
    rec.record(rec.LLMEvent(model="claude", prompt_tokens=10, completion_tokens=2))
    s.end("Fail", "quota exceeded")
    rec.start_session(tags=["staging"], name="gamma")  # left running
    rec.flush()


def test_core_imports_and_works_without_qt(tmp_path):
    run_script(
        f"""
        import sys
        for name in ("PySide6", "pyqtgraph", "shiboken6"):
            sys.modules[name] = None
        import viewer.core
        from viewer.core import SessionStore, SessionFilter, compute
        store = SessionStore([{str(tmp_path)!r}])
        update = store.poll()
        assert update.full and update.rows == ()
        print(compute([]).sessions)
        """
    )


def test_store_reports_only_what_changed(rec, folder):
    store = SessionStore([folder])
    assert store.poll().full
    record_three(rec)
    update = store.poll()
    assert {r.name for r in update.rows} == {"alpha", "beta", "gamma"} and not update.full
    assert store.poll().rows == ()
    running = next(r for r in update.rows if r.name == "gamma")
    rec.current_session().end("Success")
    rec.flush()
    again = store.poll()
    assert [r.name for r in again.rows] == ["gamma"] and again.rows[0].status_text == "Success"
    assert running.status == "running"


def test_filters_tags_any_all_states_text_time(rec, folder):
    record_three(rec)
    rows = SessionStore([folder]).poll().rows
    names = lambda f: sorted(r.name for r in f.apply(rows))  # noqa: E731
    assert names(SessionFilter(tags=frozenset({"vip", "staging"}))) == ["alpha", "gamma"]
    assert names(SessionFilter(tags=frozenset({"prod", "vip"}), match_all_tags=True)) == ["alpha"]
    assert names(SessionFilter(states=frozenset({"Fail"}))) == ["beta"]
    assert names(SessionFilter(states=frozenset({"running", "Success"}))) == ["alpha", "gamma"]
    assert names(SessionFilter(text="claude")) == ["beta"]  # models are searchable
    assert names(SessionFilter(text="QUOTA")) == [
        "beta"
    ]  # and reasons, case-insensitively (no hex letters: ids are searched too)
    assert names(SessionFilter(since_ns=max(r.start for r in rows))) == ["gamma"]
    assert all_tags(rows) == [("prod", 2), ("staging", 1), ("vip", 1)]


def test_analytics_totals_and_breakdowns(rec, folder):
    record_three(rec)
    rows = SessionStore([folder]).poll().rows
    a = compute(rows)
    assert (a.sessions, a.llm_calls, a.tool_calls) == (3, 2, 1)
    assert a.tokens == 132 and a.cost == 0.75
    assert (a.failed, a.ended, a.failure_rate) == (1, 2, 0.5)
    assert sum(sum(v) for v in a.over_time.values()) == 3
    assert a.over_time["Fail"] and sum(a.over_time["running"]) == 1
    assert sum(a.duration_counts) == 3
    by_model = {b.key: b for b in a.by_model}
    assert by_model["gpt-4o"].calls == 1 and by_model["gpt-4o"].tokens == 120 and by_model["gpt-4o"].cost == 0.25
    assert by_model["claude"].cost is None  # unknown cost stays unknown, not 0
    (helper,) = a.by_agent
    assert (helper.key, helper.calls, helper.tokens, helper.cost) == ("Helper", 1, 120, 0.25)
    assert [b.key for b in a.by_tag] == ["prod", "staging", "vip"]
    only_prod = compute(SessionFilter(tags=frozenset({"prod"})).apply(rows))
    assert only_prod.sessions == 2 and only_prod.failure_rate == 0.5


def test_trace_lanes_never_overlap_and_search_keeps_ancestors(rec, folder):
    import asyncio

    from recorder.decorators import operation, tool

    @tool
    async def call(i):
        await asyncio.sleep(0.001 * (i % 3))
        rec.record(rec.ActionEvent(action_type=f"note-{i}"))

    @operation
    async def fan_out():
        await asyncio.gather(*(call(i) for i in range(12)))

    async def main():
        with rec.start_session():
            await fan_out()

    asyncio.run(main())
    rec.flush()
    store = SessionStore([folder])
    (row,) = store.poll().rows
    trace = store.trace(row.id)
    assert len(trace) == 1 + 12 + 12
    for lane in range(trace.lane_count):
        rows = trace.lane_rows[lane]
        starts, ends = trace.x0[rows], trace.x1[rows]
        assert np.all(starts[1:] >= ends[:-1]), f"overlap in lane {lane}"
    depths_in_lane: dict[int, set[int]] = {}
    for n in trace.nodes:
        depths_in_lane.setdefault(int(trace.lane[n.row]), set()).add(n.depth)
    assert all(len(d) == 1 for d in depths_in_lane.values())  # a lane holds one nesting depth
    assert trace.lane_count > 3  # the overlapping calls took lanes of their own
    visible = trace.visible_rows("note-7")
    names = sorted(trace.nodes[r].name for r in visible)
    assert names == ["call", "fan_out", "note-7"]
    assert trace.visible_rows("  ") is None
    hit = trace.row_at(float(trace.x0[0]) + 1e-9, int(trace.lane[0]))
    assert hit == 0


def test_open_spans_of_a_running_session_end_at_the_last_record(rec, folder):
    from recorder import _clock
    from recorder.decorators import operation

    s = rec.start_session()

    @operation
    def slow():
        rec.record(rec.ActionEvent(action_type="inside"))
        rec.flush()
        store = SessionStore([folder])
        store.poll()
        trace = store.trace(s.id)
        (span,) = [n for n in trace.nodes if n.kind == "operation"]
        assert span.open and span.status == "running" and trace.flags[span.row] & FLAG_OPEN
        inside = next(n for n in trace.nodes if n.name == "inside")
        assert span.end >= inside.start
        assert _clock.now_ns() >= span.end

    slow()
    s.end()


def test_a_trace_is_a_snapshot_so_tree_and_timeline_agree(rec, folder):
    """A span that ends after the trace was built stays as the trace drew it (running, open),
    in the tree's nodes as on the timeline, until the next trace is built."""
    from recorder import _clock, _state
    from recorder._format import T_SPAN_END, T_SPAN_START

    store = SessionStore([folder], index=False)
    session = rec.start_session(name="live")
    _state.submit([T_SPAN_START, _clock.now_ns(), session.id, 42, None, "operation", "slow", None])
    rec.flush()
    store.poll()
    trace = store.trace(session.id)
    (row,) = trace.rows_of_kind("operation").tolist()
    assert trace.nodes[row].status == "running" and trace.flags[row] & FLAG_OPEN

    _state.submit([T_SPAN_END, _clock.now_ns(), session.id, 42, "error", None])
    rec.flush()
    store.poll()  # the worker folds the end into the live table
    node = trace.nodes[row]
    assert node.status == "running" and node.open and trace.flags[row] & FLAG_OPEN  # as drawn
    fresh = store.trace(session.id)
    assert fresh.nodes[row].status == "error" and not fresh.flags[row] & FLAG_OPEN


def test_a_requested_tool_call_is_linked_to_the_span_that_ran_it(rec, folder):
    from recorder import _clock, _state
    from recorder._format import T_SPAN_END, T_SPAN_START

    with rec.start_session(name="linked") as session:
        asked = {"role": "assistant", "tool_calls": [{"id": "call_7", "name": "search", "arguments": {"q": "x"}}]}
        fields = {"model": "gpt-4o-mini", "completion": asked, "prompt_tokens": 5, "completion_tokens": 2}
        now = _clock.now_ns()
        _state.submit([T_SPAN_START, now, session.id, 1, None, "llm", "gpt-4o-mini", fields])
        _state.submit([T_SPAN_END, now + 10, session.id, 1, "ok", None])
        _state.submit([T_SPAN_START, now + 20, session.id, 2, None, "tool", "search", None])
        _state.submit([T_SPAN_END, now + 30, session.id, 2, "ok", {"tool_call_id": "call_7"}])
    rec.flush()
    store = SessionStore([folder], index=False)
    (row,) = store.poll().rows
    trace = store.trace(row.id)
    (tool_row,) = trace.rows_of_kind("tool").tolist()
    assert trace.tool_runs() == {"call_7": tool_row}


def test_trends_and_latency_percentiles(rec, folder):
    from viewer.core.analytics import latencies

    record_three(rec)
    store = SessionStore([folder], index=False)
    rows = list(store.poll().rows)
    a = compute(rows, latency=latencies(store.catalog.sessions.values()))
    assert sum(a.trends["tokens"]) == sum(r.tokens for r in rows)
    assert sum(a.trends["cost"]) == pytest.approx(sum(r.cost or 0 for r in rows))
    rates = [r for r in a.trends["error_rate"] if r is not None]
    assert rates and all(0 <= r <= 1 for r in rates) and max(rates) > 0  # beta failed
    calls = {(e.kind, e.name): e for e in a.latency}
    assert set(calls) == {("tool", "lookup"), ("llm", "gpt-4o"), ("llm", "claude")}
    assert all(0 <= e.p50 <= e.p95 for e in a.latency) and calls[("tool", "lookup")].calls == 1


def test_a_big_folder_opened_cold_is_listed_first_then_counted_in_steps(recorded, monkeypatch):
    """A folder opened cold is listed from its files' heads (format_spec.md 3.3), then read a
    file or so a step; a session shown meanwhile is read from its own files, whole."""
    from recorder import folder as folder_module
    from recorder.catalog import load

    monkeypatch.setattr(folder_module, "PREVIEW_MIN_BYTES", 0)
    full, _ = load(recorded)
    store = SessionStore([recorded], index=False)
    update = store.poll(step=0.0)
    assert update.counting and update.full and store.counting
    assert not any(r.counted for r in update.rows)
    assert {r.id: (r.name, r.tags, r.end_state) for r in update.rows} == {
        sid: (s.name, tuple(s.tags), s.end_state) for sid, s in full.sessions.items()
    }
    big = max(full.sessions.values(), key=lambda s: s.event_count)
    trace = store.trace(big.id)
    assert trace is not None and len(trace) == big.event_count
    assert store.rows()[0].counted is False
    steps = 1
    while update.counting:
        update = store.poll(step=0.0)  # a deadline already past: one new file a step
        steps += 1
    assert steps > len(list(recorded.glob("*.trail"))) // 2
    assert update.full and all(r.counted for r in update.rows) and not store.counting
    totals = {r.id: (r.event_count, r.error_count, r.llm_calls, r.tokens, r.cost) for r in update.rows}
    assert totals == {
        sid: (s.event_count, s.error_count, s.llm_calls, s.prompt_tokens + s.completion_tokens, s.cost)
        for sid, s in full.sessions.items()
    }
    trace = store.trace(big.id)
    assert trace is not None and len(trace) == big.event_count


def test_a_small_or_indexed_folder_is_read_whole_at_once(recorded):
    store = SessionStore([recorded], index=False)
    update = store.poll(step=0.0)  # the folder is far below PREVIEW_MIN_BYTES
    assert not update.counting and update.full and all(r.counted for r in update.rows)
