"""The viewer's store lets go of the nodes of ended sessions and reads them back from their
files when they are shown: what it shows is exactly what a full read shows."""

from __future__ import annotations

import shutil

from conftest import cli
from test_summaries import seen

from recorder import transfer
from recorder.catalog import Catalog, load
from viewer.core.analytics import latencies
from viewer.core.store import SessionRow, SessionStore


def rows_of(catalog: Catalog) -> dict[str, SessionRow]:
    return {sid: SessionRow.of(s, 0) for sid, s in catalog.sessions.items()}


def check_store(store: SessionStore, folder) -> None:
    full, _ = load(folder)
    assert rows_of(store.catalog) == rows_of(full)
    for sid in full.sessions:
        assert seen(store.catalog, sid) == seen(full, sid), sid  # reads the nodes back
        trace = store.trace(sid)
        assert trace is not None and len(trace) == len(full.sessions[sid].table)


def test_ended_sessions_are_let_go_and_read_back_exactly(recorded):
    store = SessionStore([recorded], index=False)
    store.poll()
    sessions = store.catalog.sessions.values()
    let_go = [s for s in sessions if not s.folded]
    assert let_go and all(s.end_state is not None for s in let_go)
    assert all(not s.table.loaded for s in let_go)  # no nodes in memory
    assert all(s.folded for s in sessions if s.end_state is None)  # running: kept, still folding
    check_store(store, recorded)
    # Only the sessions last shown keep their nodes once the next poll comes.
    store.poll()
    assert sum(1 for s in store.catalog.sessions.values() if s.end_state and s.table.loaded) <= 2


def test_records_for_a_let_go_session_make_it_read_again_whole(recorded, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(recorded, folder)
    store = SessionStore([folder], index=False)
    store.poll()
    ended = next(s for s in store.catalog.sessions.values() if s.name == "clean 2.1")
    assert not ended.folded
    # An export of the session into the folder (another source of the same nodes), and an
    # annotation of it: the session is read again whole and counts each node once.
    cli("export", "--dir", str(recorded), ended.id, "-o", str(folder / "export.trail"))
    cli("annotate", ended.id[:8], "quality", "good", "--dir", str(folder))
    update = store.poll()
    assert ended.id in {r.id for r in update.rows}
    check_store(store, folder)
    assert store.catalog.sessions[ended.id].annotations
    # A late LLM call of the session from another writer changes its totals.
    late = {"type": "event", "ts": ended.end, "session": ended.id, "id": 424242, "parent": None, "kind": "llm"}
    late |= {"name": "late", "end_ts": None, "attrs": {"model": "gpt-4o-mini", "prompt_tokens": 7, "cost": 1.5}}
    transfer.write_trail(folder / "late.trail", [late])
    update = store.poll()
    assert ended.id in {r.id for r in update.rows}
    check_store(store, folder)
    assert store.catalog.sessions[ended.id].llm_calls == ended.llm_calls + 1


def test_the_index_keeps_no_nodes_of_let_go_sessions(recorded, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(recorded, folder)
    first = SessionStore([folder])
    first.poll()
    assert first.save_index(min_records=0)
    data = sum(p.stat().st_size for p in folder.glob("*.trail"))
    assert first.index_path is not None and first.index_path.stat().st_size < data / 10
    second = SessionStore([folder])
    assert second.from_index
    second.poll()
    check_store(second, folder)


def test_analytics_over_let_go_sessions_equal_the_full_read(recorded):
    store = SessionStore([recorded], index=False)
    store.poll()
    full, _ = load(recorded)
    ids = sorted(full.sessions)
    expected = latencies(full.sessions[sid] for sid in ids)
    assert expected and latencies(store.folder.with_nodes(ids, chunk=4)) == expected
    # From the sketches the let-go sessions keep: no node is read back.
    assert latencies(store.catalog.sessions[sid] for sid in ids) == expected
    assert all(not s.table.loaded for s in store.catalog.sessions.values() if not s.folded)
