"""The index cache makes a second open fast and never changes what is shown."""

from __future__ import annotations

import json
import os
import shutil
import time
import zlib

from conftest import cli

from recorder import index_cache
from recorder._format import FILE_HEADER_SIZE, FRAME_HEADER, FRAME_HEADER_SIZE
from recorder.decorators import agent, operation
from recorder.reader import read_file
from recorder.summary import node_summary, session_summary


def record_some(rec, tag: str, n: int = 30) -> None:
    @agent
    class Worker:
        @operation
        def step(self, i):
            rec.record(rec.LLMEvent(model="gpt-4o-mini", prompt_tokens=i, completion_tokens=2, cost=0.001))
            if i % 7 == 0:
                rec.record(rec.ErrorEvent(error_type="Flaky", details=i))
            return i

    with rec.start_session(tags=[tag], name=f"session {tag}"):
        worker = Worker()
        for i in range(n):
            worker.step(i)
    rec.flush()


def snapshot(store) -> dict:
    """Everything a person sees of a folder: each session's summary, every node, the problems."""
    update = store.poll()
    assert update.full
    catalog = store.catalog
    sessions = {}
    for session in catalog.sessions.values():
        summary = session_summary(session, now_ns=0)
        summary["files"] = sorted(summary["files"])
        nodes = sorted((node_summary(session, n) for n in session.nodes.values()), key=lambda d: d["id"])
        sessions[session.id] = (summary, nodes, session.models, session.agents)
    problems = sorted((p.path.name, p.kind, p.offset) for p in update.problems)
    return {"sessions": sessions, "problems": problems}


def test_second_open_starts_from_the_index_and_sees_exactly_what_a_cold_read_sees(rec, folder):
    from viewer.core import SessionStore

    for tag in ("a", "b", "c"):
        record_some(rec, tag)
    rec.shutdown()  # close this file: the next records go to a new one
    record_some(rec, "d")
    first = SessionStore([folder])
    assert not first.from_index
    snapshot(first)
    assert first.save_index(min_records=0)
    assert (folder / index_cache.INDEX_NAME).exists()

    # The folder changes after the index was written: a file grows, one is added, one is
    # deleted, one is replaced by different content under the same name.
    files = sorted(folder.glob("*.trail"))
    record_some(rec, "e")  # appends to the newest file
    rec.shutdown()
    record_some(rec, "f")  # a new file
    files[0].unlink()
    other = folder.parent / "other"
    other.mkdir()
    shutil.copy(sorted(folder.glob("*.trail"))[-1], other / "x.trail")
    replaced = sorted(folder.glob("*.trail"))[0]
    replaced.unlink()
    shutil.copy(other / "x.trail", replaced)  # new inode, other content
    past = time.time() - 60
    for p in folder.glob("*.trail"):
        os.utime(p, (past, past))

    warm = SessionStore([folder])
    assert warm.from_index
    cold = SessionStore([folder], index=False)
    assert not cold.from_index
    assert snapshot(warm) == snapshot(cold)
    # What is left: f, in its file and in the copy that replaced another (read once). Files
    # restate only sessions that may still have records to write, so no stubs of a..e remain.
    (only,) = snapshot(SessionStore([folder], index=False))["sessions"].values()
    assert only[0]["name"] == "session f" and only[0]["event_count"] > 30


def test_a_damaged_or_foreign_index_means_a_cold_read(rec, folder):
    from viewer.core import SessionStore

    record_some(rec, "a")
    store = SessionStore([folder])
    expected = snapshot(store)
    assert store.save_index(min_records=0)
    path = folder / index_cache.INDEX_NAME
    data = bytearray(path.read_bytes())
    end = index_cache.TRAILER.unpack_from(data, len(data) - index_cache.TRAILER.size)[0]
    data[end // 2] ^= 0xFF  # in the snapshot (the ended sessions' `ls` lines follow it)
    path.write_bytes(bytes(data))
    damaged = SessionStore([folder])
    assert not damaged.from_index and snapshot(damaged) == expected

    path.write_bytes(b"not an index at all")
    assert not SessionStore([folder]).from_index

    store = SessionStore([folder])
    snapshot(store)
    assert store.save_index(min_records=0)
    moved = folder.parent / "moved"
    shutil.copytree(folder, moved)  # the index names the folder it was made for
    elsewhere = SessionStore([moved])
    assert not elsewhere.from_index and snapshot(elsewhere)["sessions"].keys() == expected["sessions"].keys()


def test_small_folders_write_no_index(rec, folder):
    from viewer.core import SessionStore

    record_some(rec, "a")
    store = SessionStore([folder])
    snapshot(store)
    assert not store.save_index()
    assert not (folder / index_cache.INDEX_NAME).exists()


# ---------------------------------------------------------------- duplicates


def counts(folder) -> dict:
    from viewer.core import SessionStore

    store = SessionStore([folder], index=False)
    return {row.name: (row.event_count, row.llm_calls, row.error_count) for row in store.poll().rows}


def test_a_copied_file_an_export_beside_the_originals_and_a_repeated_frame_count_once(rec, folder):
    record_some(rec, "a")
    record_some(rec, "b")
    rec.shutdown()
    expected = counts(folder)
    assert expected["session a"][0] > 30

    # A teammate's copy of the whole folder in a subfolder: the same writer's files twice.
    backup = folder / "backup"
    backup.mkdir()
    for path in folder.glob("*.trail"):
        shutil.copy(path, backup / path.name)
    assert counts(folder) == expected

    # An export of one session (another writer, the same span and event ids) dropped beside them.
    from viewer.core import SessionStore

    (row,) = [r for r in SessionStore([folder], index=False).poll().rows if r.name == "session a"]
    cli("export", row.id, "--dir", str(folder), "-o", str(folder / "exported.trail"))
    assert counts(folder) == expected

    # A frame repeated inside a file (a disk or a copy tool): reported, and counted once.
    (path,) = [p for p in sorted(folder.glob("*.trail")) if p.name != "exported.trail"][:1]
    data = path.read_bytes()
    frames, pos = [], FILE_HEADER_SIZE
    while pos < len(data):
        _, length, _ = FRAME_HEADER.unpack_from(data, pos)
        frames.append(data[pos : pos + FRAME_HEADER_SIZE + length])
        pos += FRAME_HEADER_SIZE + length
    path.write_bytes(data + frames[-1])
    assert counts(folder) == expected
    assert any("repeated frame" in p.message for p in read_file(path)[1])


def test_ls_reads_from_the_index_and_lists_what_a_cold_read_lists(rec, folder):
    from recorder.folder import Folder

    for tag in ("a", "b"):
        record_some(rec, tag)
    rec.shutdown()
    cold = cli("ls", str(folder), "--json")
    first = Folder([folder])
    first.poll()
    assert first.save_index(min_records=0)
    record_some(rec, "c")  # read from where the index stopped
    rec.flush()
    warm = json.loads(cli("ls", str(folder), "--json").stdout)
    (folder / index_cache.INDEX_NAME).unlink()
    again = json.loads(cli("ls", str(folder), "--json").stdout)
    assert warm == again
    assert [s["name"] for s in warm][:2] == [s["name"] for s in json.loads(cold.stdout)]
    where = cli("ls", str(folder), "--json", "--where", "has(kind = error)")
    assert {s["name"] for s in json.loads(where.stdout)} == {"session a", "session b", "session c"}


# ---------------------------------------------------------------- listed first


def rows_by_id(rows) -> dict:
    return {row.id: row for row in rows}


def test_a_second_open_in_steps_lists_from_the_index_then_sends_only_what_changed(rec, folder):
    from viewer.core import SessionStore

    for tag in ("a", "b", "c"):
        record_some(rec, tag)
    rec.annotate(SessionStore([folder], index=False).poll().rows[0].id, "quality", "good")
    rec.flush()
    first = SessionStore([folder])
    first.poll()
    assert first.save_index(min_records=0)
    saved = rows_by_id(first.rows())
    record_some(rec, "d")  # after the index was written

    warm = SessionStore([folder])
    listed = warm.poll(step=0.1)
    assert warm.from_index and listed.counting and listed.full
    assert rows_by_id(listed.rows) == saved  # field by field, annotations and breakdowns included
    assert warm.counting and rows_by_id(warm.rows()) == saved

    made = warm.poll(step=0.1)  # the sessions made from the index, the folder read on from it
    assert not made.counting and not made.full and not warm.counting
    shown = rows_by_id(listed.rows) | rows_by_id(made.rows)
    cold = SessionStore([folder], index=False)
    assert shown == rows_by_id(cold.poll().rows)
    assert {row.name for row in made.rows} == {"session d"}  # nothing else changed
    summaries = [{sid: session_summary(s, now_ns=0) for sid, s in x.catalog.sessions.items()} for x in (warm, cold)]
    assert summaries[0] == summaries[1]


def test_an_index_whose_sessions_cannot_be_made_is_read_cold_after_its_listing(rec, folder):
    """Fewer sessions saved than listed (CRC intact: written so)."""
    from viewer.core import SessionStore

    for tag in ("a", "b"):
        record_some(rec, tag)
    first = SessionStore([folder])
    assert len(first.poll().rows) == 2
    assert first.save_index(min_records=0)
    path = folder / index_cache.INDEX_NAME
    data = bytearray(path.read_bytes())
    at = data.rindex(b"\xa8sessions\x92") + len(b"\xa8sessions")  # the key, then the array of 2
    data[at] = 0x91
    head = len(index_cache.MAGIC) + 6
    end = index_cache.TRAILER.unpack_from(data, len(data) - index_cache.TRAILER.size)[0]
    data[len(index_cache.MAGIC) + 2 : head] = zlib.crc32(data[head:end]).to_bytes(4, "little")
    path.write_bytes(bytes(data))

    store = SessionStore([folder])
    listed = store.poll(step=0.1)
    assert listed.counting and len(listed.rows) == 2 and store.from_index
    made = store.poll(step=0.1)
    assert made.full and not store.from_index
    assert rows_by_id(made.rows) == rows_by_id(SessionStore([folder], index=False).poll().rows)


def test_ls_of_a_folder_unchanged_since_its_index_lists_from_it(rec, folder, monkeypatch):
    """Nothing new since the index was written: `ls` answers from its listing (no session made)
    and the lines it keeps for ended sessions, and says exactly what a cold read says; once a
    file grows, it reads on as before."""
    from recorder.folder import Folder

    for tag in ("a", "b"):
        record_some(rec, tag)
    cold = Folder([folder], index=False)
    cold.poll()
    rec.annotate(cold.catalog.ordered()[0].id, "quality", "good", note="fine")
    rec.shutdown()
    first = Folder([folder])
    first.poll()
    assert first.save_index(min_records=0)
    again = Folder([folder])
    assert again.listing() is not None and again.reader.unchanged()

    def listings(*options):
        warm = cli("ls", str(folder), *options).stdout
        index = folder / index_cache.INDEX_NAME
        saved = index.read_bytes()
        index.unlink()
        cold = cli("ls", str(folder), *options).stdout
        index.write_bytes(saved)
        return warm, cold

    lines = again.ended_lines()  # what the index wrote for ended sessions, as `ls` writes them
    assert lines is not None and [json.loads(line)["name"] for line in lines if line] == ["session a", "session b"]
    for options in (("--json",), (), ("--json", "--tag", "b"), ("--json", "--status", "ended")):
        warm, cold = listings(*options)
        assert warm == cold

    # No room for lines (sessions so small that theirs would weigh more than LINES_SHARE of
    # the data): none kept, `ls` makes them.
    monkeypatch.setattr(index_cache, "LINES_SHARE", 0.0)
    assert first.save_index(min_records=0)
    assert Folder([folder]).ended_lines() is None and Folder([folder]).listing() is not None
    warm, cold = listings("--json")
    assert warm == cold
    monkeypatch.undo()
    assert first.save_index(min_records=0)

    # Lines damaged (the snapshot before them intact): `ls` makes them again, the viewer's
    # open still lists from the index.
    index = folder / index_cache.INDEX_NAME
    data = bytearray(index.read_bytes())
    end = index_cache.TRAILER.unpack_from(data, len(data) - index_cache.TRAILER.size)[0]
    data[end + 5] ^= 0xFF
    index.write_bytes(bytes(data))
    damaged = Folder([folder])
    assert damaged.listing() is not None and damaged.ended_lines() is None
    warm, cold = listings("--json")
    assert warm == cold
    warm = json.loads(listings("--json")[0])
    assert [s["name"] for s in warm] == ["session a", "session b"]
    assert warm[0]["annotations"][0]["note"] == "fine" and warm[0]["annotations"][0]["time"].endswith("Z")

    record_some(rec, "c")  # a new file: not the index's listing any more
    rec.flush()
    assert not Folder([folder]).reader.unchanged()
    warm, cold = listings("--json")
    assert [s["name"] for s in json.loads(warm)] == ["session a", "session b", "session c"] and warm == cold
