"""The public recording API: sessions, events, tags, end states, and the brief's snippets."""

from __future__ import annotations

import json

import pytest
from conftest import cli, load, only_session, run_script


def test_the_three_ways_from_the_brief_work_as_written(folder):
    # Each snippet runs unchanged except for the import line, in its own real process.
    run_script(
        """
        import recorder as agentops

        # Initialize with automatic session creation (default)
        agentops.init(api_key="YOUR_API_KEY", tags=["production"])
        """,
        env={"SESSIONTRAIL_DIR": str(folder)},
    )
    run_script(
        """
        import recorder as agentops

        # Initialize without auto-starting a session
        agentops.init(api_key="YOUR_API_KEY", auto_start_session=False)

        # Later, manually start a session when needed
        agentops.start_session(tags=["customer-query", "high-priority"])
        """,
        env={"SESSIONTRAIL_DIR": str(folder)},
    )
    run_script(
        """
        from recorder.sdk.decorators import session

        def analyze_data(customer_id):
            return {"customer": customer_id, "score": 0.93}

        @session
        def process_customer_data(customer_id):
            # This entire function execution will be tracked as a session
            return analyze_data(customer_id)

        assert process_customer_data(42) == {"customer": 42, "score": 0.93}
        """,
        env={"SESSIONTRAIL_DIR": str(folder)},
    )
    listed = json.loads(cli("ls", str(folder), "--json").stdout)
    by_tags = {tuple(s["tags"]): s for s in listed}
    assert set(by_tags) == {("production",), ("customer-query", "high-priority"), ()}
    for tags in [("production",), ("customer-query", "high-priority")]:
        s = by_tags[tags]
        assert s["end_state"] == "Indeterminate" and s["status"] == "ended"
        assert "exited" in s["end_state_reason"]
    decorated = by_tags[()]
    assert decorated["name"] == "process_customer_data"
    assert decorated["end_state"] == "Success" and decorated["status"] == "ended"
    for s in listed:
        assert set(s) >= {
            "id",
            "name",
            "tags",
            "start_time",
            "end_time",
            "duration",
            "end_state",
            "end_state_reason",
            "status",
            "event_count",
            "error_count",
            "llm_calls",
            "tool_calls",
            "prompt_tokens",
            "completion_tokens",
            "cost",
        }
        assert s["start_time"].endswith("Z") and s["duration"] >= 0


def test_events_belong_to_the_current_session_and_inherit_its_tags(rec, folder):
    s = rec.start_session(tags=["customer-query", "high-priority"], name="support")
    assert rec.current_session() is s
    rec.record(rec.ActionEvent(action_type="lookup", params={"q": "order 7"}, returns="shipped"))
    rec.record(rec.ToolEvent(name="crm", params={"id": 7}, returns={"vip": True}))
    rec.record(
        rec.LLMEvent(
            model="gpt-4o", prompt="hi", completion="hello", prompt_tokens=12, completion_tokens=5, cost=0.0002
        )
    )
    rec.record(rec.ErrorEvent(error_type="RateLimit", details="429 from provider"))
    s.add_tags(["escalated"])
    rec.end_session("Success", "answered")
    rec.flush()
    info = only_session(folder)
    assert info.name == "support" and info.tags == ["customer-query", "high-priority", "escalated"]
    assert (info.end_state, info.reason) == ("Success", "answered")
    assert (info.event_count, info.llm_calls, info.tool_calls, info.error_count) == (4, 1, 1, 1)
    assert (info.prompt_tokens, info.completion_tokens, info.cost) == (12, 5, pytest.approx(0.0002))
    shown = json.loads(cli("show", info.id[:8], "--dir", str(folder), "--json").stdout)
    kinds = [e["kind"] for e in shown["events"]]
    assert kinds == ["action", "tool", "llm", "error"]
    assert all(e["tags"] == info.tags for e in shown["events"])
    llm = shown["events"][2]
    assert llm["attributes"]["model"] == "gpt-4o" and llm["attributes"]["completion"] == "hello"
    assert {"id", "parent_id", "kind", "name", "start_time", "end_time", "status"} <= set(llm)


def test_error_event_from_an_exception_has_type_message_traceback(rec, folder):
    s = rec.start_session()
    try:
        {}["missing"]
    except KeyError as exc:
        rec.record(rec.ErrorEvent(exception=exc, details="while loading"))
    s.end()
    rec.flush()
    (node,) = only_session(folder).nodes.values()
    assert node.kind == "error" and node.name == "KeyError"
    assert node.attrs["exception_type"] == "KeyError" and node.attrs["message"] == "'missing'"
    assert "Traceback" in node.attrs["traceback"] and node.attrs["details"] == "while loading"


def test_start_session_always_starts_a_new_root_session(rec, folder):
    outer = rec.start_session(tags=["outer"])
    inner = rec.start_session(tags=["inner"])
    assert inner is not outer and rec.current_session() is inner
    rec.record(rec.ActionEvent(action_type="in-inner"))
    inner.end()
    assert rec.current_session() is outer  # ending the inner one gives the context back
    rec.record(rec.ActionEvent(action_type="in-outer"))
    outer.end("Fail", "went wrong")
    rec.flush()
    catalog, _ = load(folder)
    got = {s.tags[0]: [n.name for n in s.nodes.values()] for s in catalog.sessions.values()}
    assert got == {"inner": ["in-inner"], "outer": ["in-outer"]}
    assert {s.tags[0]: s.end_state for s in catalog.sessions.values()} == {"inner": "Success", "outer": "Fail"}


def test_session_as_context_manager(rec, folder):
    with rec.start_session(tags=["ok"]) as good:
        rec.record(rec.ActionEvent(action_type="work"))
    with pytest.raises(RuntimeError):
        with rec.start_session(tags=["bad"]) as bad:
            raise RuntimeError("model refused")
    assert good.end_state == rec.EndState.SUCCESS and bad.end_state == rec.EndState.FAIL
    rec.flush()
    catalog, _ = load(folder)
    failed = next(s for s in catalog.sessions.values() if s.tags == ["bad"])
    assert failed.reason == "RuntimeError: model refused"
    assert [n.kind for n in failed.nodes.values()] == ["error"]  # the exception, recorded once


def test_init_tags_apply_to_every_session_and_init_twice_is_harmless(folder):
    import recorder
    from recorder import _state

    _state.reset()
    try:
        first = recorder.init(directory=folder, tags=["production"], default_tags=["team-a"])
        again = recorder.init(directory=folder, tags=["ignored"])
        assert again is first and first.tags == ["production", "team-a"]
        other = recorder.start_session(tags=["customer-query"])
        assert other.tags == ["production", "team-a", "customer-query"]
        other.end()
        first.end()
        recorder.flush()
        catalog, problems = load(folder)
        assert not problems and len(catalog.sessions) == 2
    finally:
        _state.reset()


def test_end_states_and_session_fields(rec):
    s = rec.start_session(name="fields", tags="single-tag")
    assert s.tags == ["single-tag"] and len(s.id) == 36 and s.end_time is None and s.is_running
    s.set_tags(["a", "b", "a"])
    assert s.tags == ["a", "b"]
    rec.end_session(rec.EndState.INDETERMINATE, "unsure", session=s)
    assert s.end_state is rec.EndState.INDETERMINATE and s.end_state == "Indeterminate"
    assert s.end_time >= s.start_time and s.end_state_reason == "unsure"
    s.end("Success")  # a second end changes nothing
    assert s.end_state == "Indeterminate"
    assert rec.EndState.coerce("fail") is rec.EndState.FAIL
    assert rec.EndState.coerce("whatever") is rec.EndState.INDETERMINATE


def test_recording_never_raises_into_user_code(rec, folder):
    class Hostile:
        def __repr__(self):
            raise RuntimeError("no repr for you")

    cyclic: list = []
    cyclic.append(cyclic)
    s = rec.start_session()
    rec.record(
        rec.ActionEvent(
            action_type="weird",
            params={"obj": Hostile(), "big": 2**100, "set": {1, 2}, "cycle": cyclic, (1, 2): "tuple key"},
        )
    )
    rec.record(rec.ToolEvent(name="huge", returns="x" * 1_000_000))
    rec.record("not even an event")  # type: ignore[arg-type]
    s.end()
    rec.flush()
    info = only_session(folder)
    weird, huge, odd = sorted(info.nodes.values(), key=lambda n: n.start)
    params = weird.attrs["params"]
    assert params["obj"].startswith("<unrepresentable") and "Hostile" in params["obj"]
    assert params["big"] == str(2**100) and params["set"] == "{1, 2}"
    assert "(1, 2)" in params
    assert huge.attrs["returns"].startswith("xxx") and "truncated" in huge.attrs["returns"]
    assert len(huge.attrs["returns"]) < 70_000
    assert odd.name == "str" and odd.attrs["params"] == "not even an event"


def test_values_are_recorded_as_they_were_when_recorded(rec, folder):
    s = rec.start_session()
    params = {"step": 1}
    rec.record(rec.ActionEvent(action_type="snap", params=params))
    params["step"] = 2  # mutating after record() must not change what was recorded
    s.end()
    rec.flush()
    (node,) = only_session(folder).nodes.values()
    assert node.attrs["params"] == {"step": 1}


def test_event_without_a_session_is_dropped_and_counted(rec, folder, caplog):
    from recorder import _state

    rec.record(rec.ActionEvent(action_type="orphan"))
    assert _state.unattributed == 1
    assert "no current session" in caplog.text
    rec.flush()
    catalog, _ = load(folder)
    assert catalog.sessions == {}


def test_llm_event_timestamps_give_it_a_duration(rec, folder):
    s = rec.start_session()
    rec.record(rec.LLMEvent(model="m", init_timestamp="2026-01-01T00:00:00Z", end_timestamp="2026-01-01T00:00:02.5Z"))
    s.end()
    rec.flush()
    (node,) = only_session(folder).nodes.values()
    assert (node.end - node.start) / 1e9 == pytest.approx(2.5)


def test_recording_the_same_event_object_twice_records_two_events(rec, folder):
    s = rec.start_session()
    event = rec.ActionEvent(action_type="again")
    rec.record(event)
    rec.record(event)
    s.end()
    rec.flush()
    nodes = list(only_session(folder).nodes.values())
    assert [n.name for n in nodes] == ["again", "again"] and nodes[0].id != nodes[1].id
    assert nodes[1].start >= nodes[0].start


def test_host_environment_is_captured_unless_opted_out(tmp_path):
    for opt_out in (False, True):
        folder = tmp_path / str(opt_out)
        run_script(
            f"""
            import recorder
            recorder.init(directory={str(folder)!r}, env_data_opt_out={opt_out})
            """
        )
        catalog, _ = load(folder)
        (session,) = catalog.sessions.values()
        info = catalog.host_info(session)
        if opt_out:
            assert info is None
        else:
            assert info["python"] and info["os"] and any(p.startswith("msgpack==") for p in info["packages"])


def test_rotated_files_restate_only_sessions_that_may_still_have_records(folder):
    """A new file restates the open sessions and those ended since the writer last took from
    its queue, not every session of the last seconds (a folder of small files would be mostly
    restatements)."""
    import recorder
    from recorder import _state
    from recorder.reader import read_file

    _state.reset()
    recorder.init(directory=folder, auto_start_session=False, rotate_bytes=8192)
    for n in range(60):
        with recorder.start_session(name=f"s{n}"):
            for i in range(20):
                recorder.record(recorder.ActionEvent(action_type="tick", params={"n": n, "i": i, "pad": "x" * 40}))
        recorder.flush()
    _state.reset()
    files = sorted(folder.glob("*.trail"))
    assert len(files) >= 10
    restated = 0
    for path in files:
        records, problems = read_file(path)
        assert not problems
        named = {r.get("session") for r in records if r["type"] != "session_start"}
        for r in records:
            if r["type"] == "session_start" and r.get("continued"):
                restated += 1
                assert r["session"] in named  # restated because it has records in this file
    assert restated <= len(files)
