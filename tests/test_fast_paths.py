"""Each fast path kept for speed gives what its general path gives, on generated inputs.

- ``catalog._fast_node`` (spans and events of a session already known in a chunk) against
  ``Catalog._apply_record`` (every record, every case);
- counting a node's totals without decoding attributes that cannot hold what totals read
  (``catalog._holds_totals``) against always decoding them;
- the plain-function span wrapper (``decorators._span_function``) against the general wrapper
  (``decorators._wrap`` with ``_span_opener``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from recorder._format import T_EVENT, T_SESSION_START, T_SPAN_END, T_SPAN_START
from recorder.catalog import Catalog, SessionInfo
from recorder.reader import Batch, FileRecords, FolderReader

SESSIONS = ["s1", "s2"]


def mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Well-formed values most of the time (the fast path's case), ill-formed ones at times."""
    return st.integers(0, 5).flatmap(lambda pick: bad if pick == 0 else good)


ids = mostly(st.integers(0, 12), st.one_of(st.just(-1), st.just(1 << 63), st.none(), st.text(max_size=2)))
parents = mostly(st.one_of(st.none(), st.integers(0, 12)), st.one_of(st.just(-1), st.text(max_size=1)))
times = mostly(st.integers(0, 10_000), st.one_of(st.just(-(1 << 63) - 5), st.floats(0, 10), st.none()))
end_times = mostly(st.one_of(st.none(), st.integers(0, 10_000)), st.one_of(st.floats(0, 10), st.text(max_size=1)))
texts = mostly(
    st.sampled_from(["tool", "llm", "agent", "error", "operation", "x"]), st.one_of(st.integers(), st.none())
)
attrs = st.one_of(
    st.none(),
    st.just(msgpack.packb({"prompt_tokens": 5, "completion_tokens": 2, "cost": 0.01, "model": "m"})),
    st.just(msgpack.packb({"cost": "free"})),
    st.just(b"\xc1garbage"),
    st.just({"a": 1}),
)
session_ids = mostly(st.just("s1"), st.just("s2"))

span_starts = st.builds(lambda *f: [T_SPAN_START, *f], times, session_ids, ids, parents, texts, texts, attrs)
events = st.builds(lambda *f: [T_EVENT, *f], times, session_ids, ids, parents, texts, texts, end_times, attrs)
span_ends = st.builds(lambda *f: [T_SPAN_END, *f], times, session_ids, ids, st.sampled_from(["ok", "error", 3]), attrs)
starts = st.builds(lambda t, s: [T_SESSION_START, t, s, "name", ["tag"], {}], st.integers(0, 100), session_ids)
records = st.lists(st.one_of(span_starts, events, span_ends, starts), max_size=40)


def folded(catalog: Catalog) -> dict[str, Any]:
    """Everything the catalog knows of each session, as plain values."""
    out = {}
    for sid, s in sorted(catalog.sessions.items()):
        nodes = [
            (n.id, n.parent, n.kind, n.name, n.start, n.end, n.status, n.packed_attrs, n.is_span, n.packed_end_attrs)
            for n in s.nodes.values()
        ]
        out[sid] = (_totals(s), s.start, s.last_seen, sorted(s.table.open_rows.items()), nodes)
    return out


def _totals(s: SessionInfo) -> tuple[Any, ...]:
    return (
        s.event_count,
        s.error_count,
        s.llm_calls,
        s.tool_calls,
        s.prompt_tokens,
        s.completion_tokens,
        s.cost,
        sorted(s.models.items()),
        sorted(s.agents.items()),
    )


@settings(max_examples=300, deadline=None)
@given(head=st.lists(starts, min_size=1, max_size=2), body=records)
def test_catalog_fast_node_folds_like_the_general_path(head, body):
    chunk = head + body
    fast = Catalog()
    fast.apply(Batch(files=[FileRecords(Path("f.trail"), [list(r) for r in chunk])]))
    general = Catalog()
    for record in chunk:
        general._apply_record(list(record), Path("f.trail"))
    assert folded(fast) == folded(general)


@pytest.fixture
def reader(rec, folder):
    return FolderReader([folder])


values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=5)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    args=st.lists(values, max_size=3),
    kwargs=st.dictionaries(st.sampled_from(["a", "b"]), values, max_size=2),
    result=values,
    raises=st.booleans(),
    decorator_attrs=st.dictionaries(st.sampled_from(["team", "retries"]), values, max_size=2),
)
def test_plain_function_wrapper_records_like_the_general_wrapper(
    rec, reader, args, kwargs, result, raises, decorator_attrs
):
    from recorder.decorators import _span_function, _span_opener, _wrap

    def work(*a: Any, **k: Any) -> Any:
        if raises:
            raise ValueError("no")
        return result

    fast = _span_function(work, "tool", "work", decorator_attrs)
    general = _wrap(work, _span_opener("tool", "work", decorator_attrs))
    with rec.start_session(name="compare") as session:
        for wrapper in (fast, general):
            try:
                wrapper(*args, **kwargs)
            except ValueError:
                pass
    rec.flush()
    catalog = Catalog()
    catalog.apply(reader.poll())
    info = catalog.sessions[session.id]
    spans = [n for n in info.nodes.values() if n.is_span]
    errors = [n for n in info.nodes.values() if n.kind == "error"]
    assert len(spans) == 2 and len(errors) == (2 if raises else 0)
    a, b = sorted(spans, key=lambda n: n.start)
    assert (a.kind, a.name, a.parent, a.status, a.attrs, a.end_attrs) == (
        b.kind,
        b.name,
        b.parent,
        b.status,
        b.attrs,
        b.end_attrs,
    )


@settings(max_examples=300, deadline=None)
@given(record=st.one_of(span_starts, events))
def test_verify_reports_as_dropped_exactly_the_records_the_catalog_drops(record):
    """``_format.record_issues`` (what verify reports) states the catalog's rules: a node record
    it calls dropped adds no node; any other adds one."""
    from recorder._format import record_issues

    catalog = Catalog()
    catalog.apply(Batch(files=[FileRecords(Path("f.trail"), [list(record)])]))
    added = sum(len(s.table) for s in catalog.sessions.values())
    dropped = any(issue.startswith("dropped") for issue in record_issues(list(record)))
    assert added == (0 if dropped else 1), (record, record_issues(list(record)))


total_keys = st.sampled_from(
    ["cost", "prompt_tokens", "completion_tokens", "model", "costs", "x_tokens", "modelx", "a"]
)
values = st.one_of(st.integers(-5, 5000), st.floats(allow_nan=False), st.text(max_size=6), st.binary(max_size=6))
maps = st.dictionaries(
    st.one_of(total_keys, st.text(max_size=5)), st.one_of(values, st.dictionaries(total_keys, values))
)
packed_maps = st.one_of(st.none(), maps.map(msgpack.packb), st.binary(max_size=12))


@settings(max_examples=400, deadline=None)
@given(kind=st.sampled_from(["llm", "tool", "embedding", "agent", "error", "x"]), start=packed_maps, end=packed_maps)
@example(kind="llm", start=msgpack.packb({"model": "m"}), end=None)  # each key the totals read, alone
@example(kind="llm", start=None, end=msgpack.packb({"prompt_tokens": 3}))
@example(kind="llm", start=msgpack.packb({"completion_tokens": 3}), end=msgpack.packb({"a": 1}))
@example(kind="tool", start=msgpack.packb({"a": 1}), end=msgpack.packb({"cost": 0.5}))
@example(kind="embedding", start=msgpack.packb({"cost": 2}), end=None)
def test_counting_without_decoding_gives_the_decoded_totals(kind, start, end):
    from recorder import catalog

    def totals(always_decode: bool) -> tuple:
        info = SessionInfo("s")
        with pytest.MonkeyPatch.context() as patch:
            if always_decode:
                patch.setattr(catalog, "_holds_totals", lambda packed, kind: packed is not None)
            info._count(kind, "n", -1, start, 1, end)
        return (info.cost, info.llm_calls, info.tool_calls, info.prompt_tokens, info.completion_tokens, info.models)

    assert totals(False) == totals(True)


@settings(max_examples=2000, deadline=None)
@given(
    ns=st.one_of(st.integers(-(1 << 63), (1 << 63) - 1), st.integers(-62_135_596_800 * 10**9, 253_402_300_799 * 10**9))
)
@example(ns=1_800_000_000_999_999_999)  # cut, not rounded
@example(ns=-1)
@example(ns=253_402_300_800 * 10**9)  # year 10000: none
def test_iso_times_are_datetimes_cut_to_microseconds(ns):
    """``summary.iso`` (time.gmtime, for speed) says what datetime says."""
    from datetime import datetime, timedelta, timezone

    from recorder.summary import iso

    seconds, rest = divmod(ns, 1_000_000_000)
    try:
        moment = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=seconds, microseconds=rest // 1000)
    except OverflowError:
        assert iso(ns) is None
        return
    assert iso(ns) == f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S.%f}Z"


@settings(max_examples=300, deadline=None)
@given(
    durations=st.lists(st.integers(0, 10**13), min_size=1, max_size=300),
    q=st.sampled_from([0.0, 0.5, 0.95, 1.0]),
)
def test_latency_sketch_quantiles_are_within_their_accuracy(durations, q):
    """``recorder.latency``: a quantile read from a session's sketch is within ACCURACY of the
    exact one (numpy's 'lower' percentile), also summed over several sessions."""
    import numpy as np

    from recorder import latency
    from recorder._nodes import NodeTable, Strings

    def table_of(part):
        table = NodeTable(Strings())
        for i, d in enumerate(part):
            table.add(i, -1, "llm", "m", 1_000, 1_000 + d, "ok", None, True, Path("f"))
        return table

    half = len(durations) // 2
    total = latency.merged(
        [latency.sketch_of(table_of(durations[:half])), latency.sketch_of(table_of(durations[half:]))]
    )
    got = latency.quantile(total[("llm", "m")], q)
    exact = float(np.percentile(np.array(durations, dtype=np.float64), q * 100, method="lower")) / 1e9
    assert abs(got - exact) <= exact * latency.ACCURACY + 1e-12


@settings(max_examples=300, deadline=None)
@given(
    starts=st.lists(st.integers(0, 50), max_size=60).map(lambda xs: xs),
    sorted_first=st.booleans(),
)
def test_trace_order_is_by_start_then_id(starts, sorted_first):
    """``trace._by_start_then_id`` (a stable sort, two keys only on ties) is numpy's lexsort."""
    import numpy as np

    from viewer.core.trace import _by_start_then_id

    if sorted_first:
        starts = sorted(starts)
    start_array = np.array(starts, dtype=np.int64)
    ids = np.array([(i * 7919) % 101 for i in range(len(starts))], dtype=np.int64)
    expected = np.lexsort((ids, start_array))
    assert _by_start_then_id(start_array, ids).tolist() == expected.tolist()
