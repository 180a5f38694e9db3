"""The alignment on hand-built trees (plain pytest), and ``sessiontrail diff`` on the demo's
pair of runs (text, JSON, --fail-on)."""

from __future__ import annotations

import json

import pytest
from conftest import cli
from hypothesis import given, settings
from hypothesis import strategies as st

from recorder.compare import ADDED, CHANGED, REMOVED, SAME, CompareNode, align, failing


class Tree:
    """A hand-built tree: (kind, name[, status, duration, attrs], [children])."""

    def __init__(self, *roots):
        self.nodes, self.kids = {}, {None: []}
        for root in roots:
            self._add(None, root)

    def _add(self, parent, spec):
        kind, name, *rest = spec
        children = rest.pop() if rest and isinstance(rest[-1], list) else []
        status, duration, attrs = (rest + ["ok", 1.0, {}][len(rest) :])[:3]
        key = len(self.nodes)
        self.nodes[key] = CompareNode(key, kind, name, status, duration, lambda a=attrs: a)
        self.kids.setdefault(parent, []).append(key)
        self.kids[key] = []
        for child in children:
            self._add(key, child)

    def roots(self):
        return self.kids[None]

    def children(self, key):
        return self.kids[key]

    def node(self, key):
        return self.nodes[key]


def lines(left, right):
    return [
        (
            p.depth,
            (left if p.left is not None else right).node(p.left if p.left is not None else p.right).name,
            p.change,
        )
        for p in align(left, right)
    ]


LLM = ("llm", "gpt-4o", "ok", 1.0, {"model": "gpt-4o"})
PIPELINE = ("agent", "a", [("tool", "search"), ("tool", "fetch"), LLM])


def test_identical_runs_have_no_differences():
    assert {change for _, _, change in lines(Tree(PIPELINE), Tree(PIPELINE))} == {SAME}


def test_an_inserted_call_and_a_removed_call_shift_nothing_after_them():
    inserted = Tree(("agent", "a", [("tool", "search"), ("tool", "search"), ("tool", "fetch"), LLM]))
    assert lines(Tree(PIPELINE), inserted) == [
        (0, "a", SAME),
        (1, "search", SAME),
        (1, "search", ADDED),
        (1, "fetch", SAME),
        (1, "gpt-4o", SAME),
    ]
    removed = Tree(("agent", "a", [("tool", "fetch"), LLM]))
    assert lines(Tree(PIPELINE), removed) == [
        (0, "a", SAME),
        (1, "search", REMOVED),
        (1, "fetch", SAME),
        (1, "gpt-4o", SAME),
    ]


def test_a_reordered_pair_is_one_kept_and_one_moved():
    swapped = Tree(("agent", "a", [("tool", "fetch"), ("tool", "search"), LLM]))
    changes = lines(Tree(PIPELINE), swapped)
    assert sorted(c for _, _, c in changes) == sorted([SAME, SAME, SAME, REMOVED, ADDED])
    assert [(n, c) for _, n, c in changes if c != SAME] in (
        [("search", REMOVED), ("search", ADDED)],
        [("fetch", REMOVED), ("fetch", ADDED)],
    )


def test_a_renamed_model_is_a_change_not_a_new_call():
    other = Tree(
        ("agent", "a", [("tool", "search"), ("tool", "fetch"), ("llm", "gpt-5", "ok", 1.0, {"model": "gpt-5"})])
    )
    pairs = align(Tree(PIPELINE), other)
    (llm,) = [p for p in pairs if p.change != SAME]
    assert llm.change == CHANGED and llm.reasons == ("model gpt-4o → gpt-5",)


def test_a_subtree_that_failed():
    failed = Tree(
        (
            "agent",
            "a",
            "error",
            1.0,
            {},
            [("tool", "search"), ("tool", "fetch", "error", 1.0, {}, [("error", "Timeout")]), LLM],
        )
    )
    changes = lines(Tree(PIPELINE), failed)
    assert changes == [
        (0, "a", CHANGED),
        (1, "search", SAME),
        (1, "fetch", CHANGED),
        (2, "Timeout", ADDED),
        (1, "gpt-4o", SAME),
    ]


def test_large_sessions_align():
    wide = Tree(("agent", "a", [("tool", f"t{i % 50}") for i in range(10_000)]))
    other = Tree(("agent", "a", [("tool", f"t{i % 50}") for i in range(10_000) if i != 5_000]))
    pairs = align(wide, other)  # (the time is bench/compare_bench.py's figure)
    assert sum(p.change == REMOVED for p in pairs) == 1 and len(pairs) == 10_001


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    cli("demo", str(folder), "--live-seconds", "0", timeout=120)
    runs = sorted(
        json.loads(cli("ls", str(folder), "--json", "--where", "tag = nightly").stdout), key=lambda s: s["start_time"]
    )
    return folder, runs[0]["id"], runs[1]["id"]


def test_diff_of_the_demo_pair_as_text_and_json(demo):
    folder, a, b = demo
    text = cli("diff", a[:8], b[:8], "--dir", str(folder)).stdout
    assert "+       tool      web_search" in text and "+         error     ConnectionError" in text
    assert "~       llm       gpt-4o" in text or "~       llm" in text
    report = json.loads(cli("diff", a, b, "--dir", str(folder), "--json").stdout)
    assert (report["a"], report["b"]) == (a, b)
    assert set(report["totals"]) == {
        "duration",
        "event_count",
        "llm_calls",
        "tool_calls",
        "error_count",
        "prompt_tokens",
        "completion_tokens",
        "cost",
    }
    assert report["totals"]["tool_calls"]["delta"] == 2 and report["totals"]["error_count"] == {
        "a": 0,
        "b": 1,
        "delta": 1,
    }
    changes = [n["change"] for n in report["nodes"]]
    assert changes.count(ADDED) == 3 and REMOVED not in changes  # a search, a fetch and its error
    planner_llm = next(n for n in report["nodes"] if n["kind"] == "llm")
    assert planner_llm["status_a"] == planner_llm["status_b"] == "ok" and "tokens_delta" in planner_llm


def test_diff_fails_a_ci_job_on_regressions(demo):
    folder, a, b = demo
    assert cli("diff", a, b, "--dir", str(folder), "--fail-on", "new-errors", check=False).returncode == 1
    assert cli("diff", b, a, "--dir", str(folder), "--fail-on", "new-errors", check=False).returncode == 0
    assert cli("diff", a, a, "--dir", str(folder), "--fail-on", "cost+20%", "--fail-on", "duration+50%").returncode == 0
    bad = cli("diff", a, b, "--dir", str(folder), "--fail-on", "cost up a lot", check=False)
    assert bad.returncode == 2 and "use e.g. cost+20%" in bad.stderr
    assert cli("diff", a, "nope", "--dir", str(folder), check=False).returncode == 2


def test_fail_on_conditions():
    report = {
        "totals": {
            k: {"a": 10, "b": 13, "delta": 3}
            for k in (
                "cost",
                "duration",
                "error_count",
                "llm_calls",
                "tool_calls",
                "prompt_tokens",
                "completion_tokens",
            )
        }
    }
    assert failing(report, ["cost+20%"]) and not failing(report, ["cost+50%"])
    assert failing(report, ["tokens+10%"]) and failing(report, ["new-errors"])
    with pytest.raises(ValueError):
        failing(report, ["cost>20"])


@settings(max_examples=400, deadline=None)
@given(a=st.lists(st.sampled_from("abc"), max_size=14), b=st.lists(st.sampled_from("abc"), max_size=14))
def test_the_edit_script_is_a_longest_common_subsequence(a, b):
    """opcodes (Myers) turns a into b and keeps as many items as a longest common subsequence
    (checked against the textbook dynamic programme)."""
    from recorder.compare import opcodes

    rebuilt, kept = [], 0
    for tag, i1, i2, j1, j2 in opcodes(a, b):
        if tag == "equal":
            assert a[i1:i2] == b[j1:j2]
            rebuilt += a[i1:i2]
            kept += i2 - i1
        elif tag == "insert":
            rebuilt += b[j1:j2]
    longest = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) - 1, -1, -1):
        for j in range(len(b) - 1, -1, -1):
            longest[i][j] = longest[i + 1][j + 1] + 1 if a[i] == b[j] else max(longest[i + 1][j], longest[i][j + 1])
    assert rebuilt == b and kept == longest[0][0]
