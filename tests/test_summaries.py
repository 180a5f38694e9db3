"""File summaries (format_spec.md 3.2) only save time: reading one session through them gives
exactly what a full read of the folder gives, also after a crash, truncation, damage, and
when a summary is stale or corrupt."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import msgpack
import pytest
from conftest import cli, summarized
from hypothesis import given, settings
from hypothesis import strategies as st

from recorder import rules
from recorder._format import SUMMARY_AT_SIZE, decode_summary, encode_summary, summary_offset
from recorder.catalog import Catalog, load
from recorder.folder import Folder
from recorder.reader import FolderReader, Wanted, read_file, read_heads
from recorder.summary import node_summary, session_summary


def seen(catalog: Catalog, sid: str) -> tuple:
    """Everything a person is shown of one session: its summary, every node, its breakdowns."""
    session = catalog.sessions[sid]
    summary = session_summary(session, now_ns=0)
    summary["files"] = sorted(summary["files"])
    nodes = sorted((node_summary(session, n, 0) for n in session.nodes.values()), key=lambda d: d["id"])
    return summary, nodes, session.models, session.agents, catalog.host_info(session)


def read_one(folder: Path, sid: str) -> tuple[Catalog, FolderReader]:
    # Wanted: files and summaries whose bytes do not name the session are passed over undecoded
    reader = FolderReader([folder], wanted=Wanted([sid]))
    catalog = Catalog()
    reader.poll(final=True, apply=catalog.apply)
    return catalog, reader


def check_equivalent(folder: Path) -> int:
    """Read every session of the folder alone and compare it with the full read; return how
    many files were read through their summary."""
    full, _ = load(folder)
    used = 0
    for sid in full.sessions:
        one, reader = read_one(folder, sid)
        assert seen(one, sid) == seen(full, sid), sid
        used = max(used, reader.summaries_used)
    return used


def test_closed_files_end_with_a_summary_and_the_crashed_one_does_not(recorded):
    files = sorted(recorded.glob("*.trail"))
    with_summary = set(summarized(recorded))
    assert len(files) > 10 and len(with_summary) == len(files) - 1, (len(files), len(with_summary))
    (crashed,) = set(files) - with_summary
    catalog, _ = load([crashed])
    assert any(s.name == "still running" for s in catalog.sessions.values())


def test_one_session_read_through_summaries_equals_the_full_read(recorded):
    full, _ = load(recorded)
    assert len(full.sessions) == 3 + 4 + 5 + 2 + 1
    assert check_equivalent(recorded) > 0
    # Every closed file is read through its summary, and only a small part of the bytes.
    sid = next(s.id for s in full.sessions.values() if s.name == "clean 2.0")
    _, reader = read_one(recorded, sid)
    everything = FolderReader([recorded])
    everything.poll(final=True)
    assert reader.summaries_used == len(summarized(recorded))
    assert 0 < reader.bytes_read < everything.bytes_read / 3, (reader.bytes_read, everything.bytes_read)


def damaged_copy(recorded: Path, tmp_path: Path, damage) -> Path:
    folder = tmp_path / "copy"
    shutil.copytree(recorded, folder)
    damage(summarized(folder))
    return folder


def flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x5A
    path.write_bytes(bytes(data))


def summary_at(path: Path) -> int:
    data = path.read_bytes()
    at = summary_offset(data[-SUMMARY_AT_SIZE:], len(data))
    assert at is not None
    return at


def bad_ranges(path: Path) -> None:
    """A summary that passes its checksum but whose ranges point outside the frames (its
    heads written again as they were)."""
    data = path.read_bytes()
    at = summary_at(path)
    summary = decode_summary(data[at:-SUMMARY_AT_SIZE], at)
    said = read_heads(path)
    assert summary is not None and summary.heads_at is not None and said is not None
    sessions = {sid: [at + 5, at + 50] for sid in summary.sessions}
    copies = [msgpack.packb(r) for r in said[0] if r[0] != 1]  # the `file` record is not a copy
    closing = encode_summary(1, summary.heads_at, sessions, copies)
    assert closing is not None
    path.write_bytes(data[: summary.heads_at] + closing)


DAMAGE = {
    # a frame in the middle of a file fails its checksum: both reads skip it
    "frame damaged": lambda files: flip(files[0], summary_at(files[0]) // 2),
    # the summary's own bytes, or the frame that says where it is
    "summary corrupt": lambda files: flip(files[0], summary_at(files[0]) + 20),
    "summary_at corrupt": lambda files: flip(files[1], files[1].stat().st_size - 5),
    # a summary that checks out but says where nothing is
    "summary lies": lambda files: bad_ranges(files[0]),
    # cut short (copied half-written): the summary is gone
    "truncated": lambda files: os.truncate(files[0], files[0].stat().st_size * 2 // 3),
    # stale: bytes appended after the summary, or another file's bytes put in front
    "appended": lambda files: files[0].write_bytes(files[0].read_bytes() + files[2].read_bytes()[12:]),
    "inserted": lambda files: files[0].write_bytes(
        files[0].read_bytes()[:12] + files[2].read_bytes()[12:-100] + files[0].read_bytes()[12:]
    ),
}


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_damaged_stale_or_corrupt_summaries_change_nothing(recorded, tmp_path, case):
    folder = damaged_copy(recorded, tmp_path, DAMAGE[case])
    check_equivalent(folder)


def test_a_copy_of_a_file_beside_it_counts_once_through_summaries(recorded, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(recorded, folder)
    files = summarized(folder)
    shutil.copy(files[0], folder / "copy-of-one.trail")
    data = files[1].read_bytes()
    (folder / "half-copy.trail").write_bytes(data[: len(data) // 2])  # no summary: read in full
    assert check_equivalent(folder) > 0


def test_a_writer_that_cannot_finish_its_summary_leaves_no_torn_tail(tmp_path, monkeypatch):
    """A summary that fails to write part-way is cut off again: the file reads as it did."""
    import recorder
    from recorder import _state, _writer

    real = _writer._write_all
    calls = []

    def failing(fd, data):
        if data[-21:-17] == b"\x91\x93\x0c\xcf":  # a summary, ending with its summary_at frame
            calls.append(len(data))
            os.write(fd, data[:7])
            return 7, "No space left on device"
        return real(fd, data)

    monkeypatch.setattr(_writer, "_write_all", failing)
    _state.reset()
    folder = tmp_path / "s"
    recorder.init(directory=folder, auto_start_session=False)
    with recorder.start_session(name="one"):
        recorder.record(recorder.ActionEvent(action_type="x"))
    _state.reset()
    catalog, batch = load(folder)
    assert not batch.problems
    assert [s.name for s in catalog.sessions.values()] == ["one"]
    assert calls and summarized(folder) == []


def test_verify_finds_nothing_wrong_with_summarized_files(recorded):
    clean = recorded.parent / "clean"
    if not clean.exists():
        shutil.copytree(recorded, clean)
        for path in set(clean.glob("*.trail")) - set(summarized(clean)):
            path.unlink()  # the crashed writer's last file, whose tail was cut by the kill
    cli("verify", str(clean))


def test_show_and_export_of_one_session_match_the_full_read(recorded, tmp_path):
    full, _ = load(recorded)
    session = next(s for s in full.sessions.values() if s.name == "crash 4.1")
    shown = json.loads(cli("show", "--dir", str(recorded), session.id[:8], "--json").stdout)
    expected = session_summary(session, now_ns=0)
    assert {k: shown[k] for k in ("id", "name", "event_count", "error_count", "llm_calls", "cost")} == {
        k: expected[k] for k in ("id", "name", "event_count", "error_count", "llm_calls", "cost")
    }
    assert sorted(e["id"] for e in shown["events"]) == sorted(f"{i:016x}" for i in session.nodes)
    out = tmp_path / "one.trail"
    cli("export", "--dir", str(recorded), session.id, "-o", str(out))
    exported, _ = load(out)
    assert seen(exported, session.id)[1] == seen(full, session.id)[1]


session_ids = st.one_of(
    st.uuids().map(str),  # what the recorder writes: str8, at the fast path's offset
    st.text(min_size=1, max_size=20),  # fixstr, other lengths
    st.text(min_size=256, max_size=300),  # str16
)


@settings(max_examples=40, deadline=None)
@given(
    writes=st.lists(
        st.tuples(st.integers(0, 5), st.sampled_from(["event", "span", "end", "tags"]), st.integers(0, 3000)),
        min_size=1,
        max_size=200,
    ),
    ids=st.lists(session_ids, min_size=6, max_size=6, unique=True),
    ts_small=st.booleans(),
)
def test_a_writers_summary_names_exactly_the_frames_of_each_session(tmp_path_factory, writes, ids, ts_small):
    """Whatever the ids and timestamps look like (the writer reads each record's session from
    its bytes), the summary of every closed file lists, for each session, exactly the frames
    holding its records."""
    from recorder._encode import pack_wire
    from recorder._format import FIELDS, T_EVENT, T_SESSION_TAGS, T_SPAN_END, T_SPAN_START, scan_frames
    from recorder._writer import Writer, WriterConfig

    folder = tmp_path_factory.mktemp("w")
    writer = Writer(folder, WriterConfig(rotate_bytes=4096, fsync="never", flush_interval=60))
    for n, (who, what, size) in enumerate(writes):
        sid, ts = ids[who], (n if ts_small else 1_800_000_000_000_000_000 + n)
        record = {
            "event": [T_EVENT, ts, sid, n + 1, None, "action", "x", None, {"p": "x" * size}],
            "span": [T_SPAN_START, ts, sid, n + 1, None, "tool", "t", None],
            "end": [T_SPAN_END, ts, sid, n + 1, "ok", None],
            "tags": [T_SESSION_TAGS, ts, sid, ["a"]],
        }[what]
        assert len(record) <= len(FIELDS[record[0]]) + 1
        writer.submit(pack_wire(record))
        if n % 7 == 0:
            writer.flush()
    writer.close()
    for path in sorted(folder.glob("*.trail")):
        data = path.read_bytes()
        at = summary_offset(data[-SUMMARY_AT_SIZE:], len(data))
        assert at is not None, path
        summary = decode_summary(data[at:-SUMMARY_AT_SIZE], at)
        assert summary is not None
        heads_at = summary.heads_at if summary.heads_at is not None else at
        actual: dict[str, list[int]] = {}
        for offset, payload in scan_frames(data[:heads_at], 12).frames:
            start, end = offset, offset + 12 + len(payload)
            in_frame = set()
            for record in msgpack.unpackb(payload, raw=False):
                named = record[2] if len(record) > 2 else None
                in_frame |= {sid for sid in (named if isinstance(named, list) else [named]) if isinstance(sid, str)}
            for sid in in_frame:
                spans = actual.setdefault(sid, [])
                if spans and spans[-1] == start:
                    spans[-1] = end
                else:
                    spans += [start, end]
        assert summary.sessions == actual, path


def listed(catalog: Catalog, now: int) -> dict[str, tuple]:
    """What the session list shows of each session, counted totals aside."""
    return {
        sid: (
            s.name,
            s.tags,
            s.start,
            s.end,
            s.end_state,
            s.reason,
            s.status(now),
            s.hostname,
            s.pid,
            rules.current_annotations(s.annotations),
        )
        for sid, s in catalog.sessions.items()
    }


@pytest.mark.parametrize("case", ["as written", "heads corrupt", *sorted(DAMAGE)])
def test_heads_list_every_session_as_the_full_read_does(recorded, tmp_path, case):
    """The preview (format_spec.md 3.3: closed files' heads, the others read whole) shows every
    session's name, tags, times, end, status, host, files and reviews as reading every record
    does, also when heads or summaries are damaged, stale or missing."""
    damage = {"as written": lambda files: None, "heads corrupt": lambda files: flip(files[0], heads_at(files[0]) + 30)}
    folder = damaged_copy(recorded, tmp_path, {**DAMAGE, **damage}[case])
    full, _ = load(folder)
    preview = Folder([folder], index=False).preview(min_bytes=0)
    assert preview is not None
    now = time.time_ns()
    assert listed(preview, now) == listed(full, now)
    # Every file a session has records in is known, so it can be read while counting goes on
    # (a file read whole can add one a full read dedups as a copy: read again, it counts once).
    for sid, session in full.sessions.items():
        assert set(session.files) <= set(preview.sessions[sid].files), sid


def heads_at(path: Path) -> int:
    data = path.read_bytes()
    at = summary_at(path)
    summary = decode_summary(data[at:-SUMMARY_AT_SIZE], at)
    assert summary is not None and summary.heads_at is not None
    return summary.heads_at


def test_the_preview_reads_a_small_part_of_a_folder_of_closed_files(recorded):
    files = summarized(recorded)
    total = sum(p.stat().st_size for p in files)
    heads = sum(summary_at(p) - heads_at(p) for p in files)
    assert 0 < heads < total / 20, (heads, total)
    assert all(read_heads(p) is not None for p in files)
    unfinished = set(recorded.glob("*.trail")) - set(files)
    assert unfinished and all(read_heads(p) is None for p in unfinished)


def test_a_full_read_skips_heads(tmp_path):
    """Heads are copies: a file read whole counts each session record once."""
    import recorder
    from recorder import _state

    _state.reset()
    recorder.init(directory=tmp_path, auto_start_session=False)
    with recorder.start_session(name="one", tags=["a"]) as session:
        recorder.record(recorder.ActionEvent(action_type="x"))
        session.add_tags(["b"])
    _state.reset()
    (path,) = tmp_path.glob("*.trail")
    records, _ = read_file(path)
    assert [r["type"] for r in records].count("session_start") == 1
    said = read_heads(path)
    assert said is not None
    assert [r[0] for r in said[0]] == [1, 2, 4, 3]  # file, session_start, session_tags, session_end
    catalog, _ = load(tmp_path)
    (one,) = catalog.sessions.values()
    assert (one.name, one.tags, one.event_count, one.end_state) == ("one", ["a", "b"], 1, "Success")


def test_the_preview_knows_files_holding_a_sessions_events_without_its_session_records(tmp_path):
    """A second writer's file with only events of a session (a forked child's, say) has empty
    heads; the preview still lists that file among the session's, so a session shown while
    counting is read whole."""
    from recorder._encode import pack_wire
    from recorder._format import T_EVENT, T_SESSION_END, T_SESSION_START
    from recorder._writer import Writer, WriterConfig

    sid, config = "4f8c2a8e-0000-4000-8000-000000000001", WriterConfig(fsync="never")
    first = Writer(tmp_path, config)
    first.submit(pack_wire([T_SESSION_START, 10, sid, "parent", ["a"], {"pid": 1}]))
    first.submit(pack_wire([T_SESSION_END, 90, sid, "Success", None]))
    first.close()
    second = Writer(tmp_path, config)
    for n in range(5):
        second.submit(pack_wire([T_EVENT, 20 + n, sid, n + 1, None, "action", "child", None, None]))
    second.close()
    files = sorted(tmp_path.glob("*.trail"))
    assert len(files) == 2 and all(read_heads(p) is not None for p in files)
    assert sorted(len(read_heads(p)[0]) for p in files) == [1, 3]  # type: ignore[index]
    preview = Folder([tmp_path], index=False).preview(min_bytes=0)
    assert preview is not None
    assert sorted(preview.sessions[sid].files) == files
    folder = Folder([tmp_path], index=False)
    folder.preview(min_bytes=0)
    shown = folder.show(sid)
    assert shown is not None and shown.event_count == 5 and shown.name == "parent"
