"""The query language (recorder/query.py): sessions found by what happened inside them, through
``sessiontrail ls --where`` and the viewer's search box; malformed queries say where."""

from __future__ import annotations

import json

import pytest
from conftest import cli

from recorder.query import QueryError, looks_like_query, session_query


@pytest.fixture
def sessions(rec, folder):
    """Four sessions with different insides; returns their ids by name."""
    from recorder import _clock, _state
    from recorder._format import T_SPAN_END, T_SPAN_START
    from recorder.decorators import tool

    @tool(name="web_search")
    def search(query, fail=False):
        if fail:
            raise TimeoutError("search backend timed out")
        return [query]

    ids = {}
    with rec.start_session(name="research run", tags=["prod"]) as s:
        ids["research"] = s.id
        search("otel")
        try:
            search("agents", fail=True)
        except TimeoutError:
            pass
        rec.record(rec.LLMEvent(model="gpt-4o", prompt_tokens=5200, completion_tokens=300))
    with rec.start_session(name="cheap run", tags=["staging"]) as s:
        ids["cheap"] = s.id
        search("ok")
        rec.record(rec.LLMEvent(model="gpt-4o-mini", prompt_tokens=100, completion_tokens=20))
    s = rec.start_session(name="retrieval", tags=["prod"])
    ids["retrieval"] = s.id
    now = _clock.now_ns()
    otel = {"otel_attributes": {"retrieval.k": 12, "llm.token_count.prompt": 7}, "params": {"query": "sessiontrail"}}
    _state.submit([T_SPAN_START, now, s.id, 5, None, "retriever", "lookup", otel])
    _state.submit([T_SPAN_END, now + 1000, s.id, 5, "ok", None])
    s.end("Fail", "nothing found")
    with rec.start_session(name="empty") as s:
        ids["empty"] = s.id
    rec.flush()
    return ids


def where(folder, expression):
    out = cli("ls", str(folder), "--json", "--where", expression)
    return sorted(s["name"] for s in json.loads(out.stdout))


def test_session_fields_and_has_clauses(folder, sessions):
    assert where(folder, "tag = prod") == ["research run", "retrieval"]
    assert where(folder, "status = Fail") == ["retrieval"]
    assert where(folder, 'name ~ "RUN"') == ["cheap run", "research run"]
    assert where(folder, "model = gpt-4o and cost > 0.01") == ["research run"]
    assert where(folder, "has(kind = tool and name = web_search and status = error)") == ["research run"]
    assert where(folder, "has(kind = llm and prompt_tokens > 4000)") == ["research run"]
    assert where(folder, "has(attr.retrieval.k >= 10)") == ["retrieval"]  # a dotted OTel name
    assert where(folder, "has(attr.llm.token_count.prompt = 7)") == ["retrieval"]
    assert where(folder, "has(attr.params.query ~ session)") == ["retrieval"]  # nested keys
    assert where(folder, "has(error ~ timed)") == ["research run"]
    assert where(folder, "not has(kind = tool) and (tag = prod or events = 0)") == ["empty", "retrieval"]
    assert where(folder, "duration < 1h and errors >= 1") == ["research run"]


def test_a_malformed_query_says_where_it_is_wrong(folder, sessions):
    out = cli("ls", str(folder), "--where", "cost > and tag = prod", check=False)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "expected a value after '>'" in out.stderr and out.stderr.endswith("cost > and tag = prod\n         ^\n")
    for bad, words in [
        ("has(kind = tool", "not closed"),
        ("colour = red", "unknown field 'colour'"),
        ("cost >> 3", "expected a value"),
        ("has()", "needs a clause"),
        ("tag = prod tag = dev", "expected 'and', 'or'"),
    ]:
        with pytest.raises(QueryError, match=words):
            session_query(bad)


def test_words_stay_a_text_search():
    assert not looks_like_query("research prod")
    assert looks_like_query("cost > 1") and looks_like_query("has(kind = llm)")


def test_precedence_not_then_and_then_or(folder, sessions):
    # and binds tighter than or: "tag = staging or (tag = prod and status = Fail)"
    assert where(folder, "tag = staging or tag = prod and status = Fail") == ["cheap run", "retrieval"]
    assert where(folder, "(tag = staging or tag = prod) and status = Fail") == ["retrieval"]
    # not binds tighter than and
    assert where(folder, "not tag = prod and events > 0") == ["cheap run"]


def test_reads_nodes_says_whether_a_query_looks_inside_sessions():
    from recorder.query import reads_nodes

    assert reads_nodes("has(kind = tool)") and reads_nodes("cost > 1 and not HAS (kind = llm)")
    assert not reads_nodes('name ~ "hash"') and not reads_nodes("has = 1") and not reads_nodes("cost > $0.05")
