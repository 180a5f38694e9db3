"""The incremental reader on a growing folder, and the sessiontrail command end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from conftest import ROOT, cli, load, write_aged_sessions

from recorder.catalog import Catalog
from recorder.reader import FolderReader


def age(path, seconds=60):
    past = time.time() - seconds
    os.utime(path, (past, past))


def test_reader_returns_only_what_is_new_and_follows_growth_and_deletion(rec, folder):
    reader = FolderReader(folder)
    catalog = Catalog()
    assert reader.poll().record_count == 0
    s = rec.start_session(tags=["live"])
    rec.record(rec.ActionEvent(action_type="one"))
    rec.flush()
    first = reader.poll()
    catalog.apply(first)
    assert [r["type"] for r in first.records() if r["type"] != "heartbeat"] == ["file", "session_start", "event"]
    assert reader.poll().record_count == 0  # nothing new, nothing returned
    rec.record(rec.ActionEvent(action_type="two"))
    s.end()
    rec.flush()
    second = reader.poll()
    changed = catalog.apply(second)
    assert [r.get("name", r["type"]) for r in second.records() if r["type"] != "heartbeat"] == ["two", "session_end"]
    assert changed == {s.id}
    info = catalog.sessions[s.id]
    assert [n.name for n in info.nodes.values()] == ["one", "two"] and info.end_state == "Success"
    (path,) = info.files
    path.unlink()
    gone = reader.poll()
    assert gone.removed == [path] and catalog.apply(gone) == {s.id}
    assert catalog.sessions == {}


def test_reader_sees_a_partial_frame_only_once_it_is_complete(tmp_path):
    import msgpack

    from recorder._format import T_EVENT, encode_file_header, encode_frame, encode_payload

    path = tmp_path / "grow.trail"
    frame = encode_frame(encode_payload([msgpack.packb([T_EVENT, 5, "s", 1, None, "action", "a", None, None])]))
    path.write_bytes(encode_file_header() + frame[:10])
    reader = FolderReader(tmp_path)
    batch = reader.poll()
    assert batch.record_count == 0 and batch.problems == []  # still being written: no complaint
    with open(path, "ab") as fh:
        fh.write(frame[10:])
    batch = reader.poll()
    assert [r["id"] for r in batch.records()] == [1] and batch.problems == []


def test_ls_json_filters_by_tag_and_status(rec, folder):
    for tags, state in [(["a", "b"], "Success"), (["a"], "Fail"), (["c"], None)]:
        s = rec.start_session(tags=tags)
        if state:
            s.end(state)
    rec.flush()
    assert {tuple(x["tags"]) for x in json.loads(cli("ls", str(folder), "--json", "--tag", "a").stdout)} == {
        ("a", "b"),
        ("a",),
    }
    assert [x["tags"] for x in json.loads(cli("ls", str(folder), "--json", "--tag", "a", "--tag", "b").stdout)] == [
        ["a", "b"]
    ]
    running = json.loads(cli("ls", str(folder), "--json", "--status", "running").stdout)
    assert (
        [x["tags"] for x in running] == [["c"]] and running[0]["end_state"] is None and running[0]["end_time"] is None
    )
    table = cli("ls", str(folder)).stdout
    assert "Success" in table and "Fail" in table and "running" in table and table.startswith("ID")


def test_show_prints_the_tree_and_json_events(rec, folder):
    from recorder.decorators import operation, tool

    @tool(name="lookup")
    def lookup(x):
        return x

    @operation(name="answer")
    def answer():
        lookup(1)
        rec.record(rec.LLMEvent(model="gpt-4o", prompt_tokens=10, completion_tokens=3, cost=0.5))

    with rec.start_session(name="show-me") as s:
        answer()
    rec.flush()
    text = cli("show", s.id, "--dir", str(folder)).stdout
    assert "Session  show-me" in text and "Success" in text
    lines = [line for line in text.splitlines() if line.startswith(("operation", "  tool", "  llm"))]
    assert [line.split()[0] for line in lines] == ["operation", "tool", "llm"]
    data = json.loads(cli("show", s.id[:6], "--dir", str(folder), "--json").stdout)
    ops = {e["name"]: e for e in data["events"]}
    assert ops["lookup"]["parent_id"] == ops["answer"]["id"] and ops["gpt-4o"]["parent_id"] == ops["answer"]["id"]
    assert data["llm_calls"] == 1 and data["cost"] == 0.5 and data["host_info"]["python"]


def test_verify_names_torn_tails_and_damaged_frames(rec, folder):
    s = rec.start_session()
    for i in range(200):
        rec.record(rec.ActionEvent(action_type="tick", params={"i": i, "pad": "z" * 200}))
        if i % 20 == 0:
            rec.flush()
    s.end()
    rec.flush()
    (path,) = folder.glob("*.trail")
    assert cli("verify", str(path)).stdout.startswith("ok")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x40  # a flipped bit in the middle
    path.write_bytes(bytes(data[:-7]))  # and a torn tail
    out = cli("verify", str(folder), check=False)
    assert out.returncode == 1
    assert "DAMAGED" in out.stdout and "torn tail" in out.stdout and "checksum" in out.stdout
    assert "records recovered" in out.stdout
    catalog, problems = load(folder)
    ticks = [n.attrs["params"]["i"] for n in catalog.sessions[s.id].nodes.values()]
    assert 150 < len(ticks) < 200 and ticks == sorted(ticks)  # only the damaged frames are lost


def test_bad_input_gets_one_line_not_a_traceback(tmp_path):
    missing = cli("ls", str(tmp_path / "nope"), check=False)
    assert (
        missing.returncode == 2
        and missing.stderr.strip() == f"sessiontrail: {tmp_path / 'nope'}: no such file or folder"
    )
    (tmp_path / "junk.trail").write_bytes(b"GIF89a junk")
    (tmp_path / "empty.trail").write_bytes(b"")
    age(tmp_path / "junk.trail")
    age(tmp_path / "empty.trail")
    listed = cli("ls", str(tmp_path))
    assert listed.stdout.strip() == "no sessions"
    assert "not a sessiontrail file" in listed.stderr and "empty file" in listed.stderr
    assert "Traceback" not in listed.stderr
    verify = cli("verify", str(tmp_path / "junk.trail"), check=False)
    assert verify.returncode == 1 and "not a sessiontrail file" in verify.stdout
    unknown = cli("show", "deadbeef", "--dir", str(tmp_path), check=False)
    assert unknown.returncode == 2 and "no session with id" in unknown.stderr and "Traceback" not in unknown.stderr


def test_tail_prints_events_as_they_are_recorded(folder):
    tail = subprocess.Popen(
        [sys.executable, "-m", "recorder", "tail", str(folder), "--interval", "0.05", "--exit-after", "8"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    with tail:
        time.sleep(0.5)
        cli_code = f"""
import recorder
recorder.init(directory={str(folder)!r}, tags=["tailed"], session_name="tail-me")
recorder.record(recorder.ToolEvent(name="live-tool"))
recorder.end_session("Success")
"""
        subprocess.run([sys.executable, "-c", cli_code], check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        lines = []
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline and not any("session end" in line for line in lines):
            lines.append(tail.stdout.readline())
        tail.kill()
    text = "".join(lines)
    assert "session start  tail-me  tags=tailed" in text
    assert "tool      live-tool" in text
    assert "session end    Success" in text


def test_demo_records_every_kind_of_session(tmp_path):
    out = cli("demo", str(tmp_path), "--live-seconds", "0")
    assert "Recorded" in out.stdout
    listed = json.loads(cli("ls", str(tmp_path), "--json").stdout)
    states = [s["end_state"] for s in listed]
    assert states.count("Success") >= 8 and "Fail" in states and "Indeterminate" in states
    killed = [s for s in listed if s["end_state"] is None]
    assert len(killed) == 1 and killed[0]["status"] in ("running", "abandoned")
    assert sum(s["llm_calls"] for s in listed) > 50 and sum(s["tool_calls"] for s in listed) > 30
    assert any(s["error_count"] for s in listed)
    assert {"production", "staging", "customer-query"} <= {t for s in listed for t in s["tags"]}
    shown = json.loads(cli("show", listed[0]["id"], "--dir", str(tmp_path), "--json").stdout)
    kinds = {e["kind"] for e in shown["events"]}
    assert {"workflow", "agent", "operation", "task", "tool", "llm", "action"} <= kinds
    depth = {e["id"]: e["parent_id"] for e in shown["events"]}

    def level(i):
        return 0 if depth[i] is None else 1 + level(depth[i])

    assert max(level(i) for i in depth) >= 4  # workflow > agent > operation > task > llm


def test_demo_live_session_is_running_while_its_process_lives(tmp_path):
    from recorder.demo import start_live_session

    proc = start_live_session(tmp_path, 30)
    try:
        deadline = time.monotonic() + 20
        live = []
        while time.monotonic() < deadline and not live:
            time.sleep(0.2)
            listed = json.loads(cli("ls", str(tmp_path), "--json").stdout)
            live = [s for s in listed if s["status"] == "running" and s["event_count"] > 0]
        assert live and "live" in live[0]["tags"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_verify_reports_every_record_it_drops_or_repairs_with_where(tmp_path):
    import msgpack

    from recorder._format import encode_file_header, encode_frame, encode_payload

    sid = "00000000-0000-4000-8000-000000000001"
    good = [
        [2, 1_000, sid, "s", ["a"], {}],
        [5, 2_000, sid, 7, None, "tool", "t", None],
        [6, 3_000, sid, 7, "ok", None],
    ]
    bad = [[7, 2.5, sid, 8, None, "action", "float-ts", None, None], [4, 4_000, sid, 5]]
    first = encode_frame(encode_payload([msgpack.packb(r) for r in good]))
    second = encode_frame(encode_payload([msgpack.packb(r) for r in bad]))
    path = tmp_path / "odd.trail"
    path.write_bytes(encode_file_header() + first + second)
    out = cli("verify", str(path), check=False)
    assert out.returncode == 1, out.stdout
    start, length = 12 + len(first), len(second)
    assert f"bytes {start}-{start + length}: event record dropped: ts is a float, not an integer" in out.stdout
    assert "session_tags record repaired: tags is 5, not an array (ignored)" in out.stdout
    (summary,) = json.loads(cli("ls", str(path), "--json").stdout)
    assert summary["tags"] == ["a"] and summary["event_count"] == 1  # what verify said: dropped, tags kept


def test_copies_of_a_file_read_as_the_union_of_their_valid_frames(rec, folder):
    from recorder._format import FILE_HEADER_SIZE, scan_frames

    with rec.start_session(name="copied"):
        for i in range(6):
            rec.record(rec.ActionEvent(action_type="step", params=i))
            rec.flush()  # one frame per step
    (original,) = folder.glob("*.trail")
    data = original.read_bytes()
    frames = scan_frames(data, FILE_HEADER_SIZE).frames
    assert len(frames) >= 6
    copy = folder / "backup" / original.name
    copy.parent.mkdir()
    last_offset = frames[-1][0]
    copy.write_bytes(data[:last_offset])  # a copy cut short: it lacks the last frame
    damaged = bytearray(data)
    damaged[frames[2][0] + 20] ^= 0xFF  # the original's third frame fails its checksum
    original.write_bytes(bytes(damaged))
    catalog, problems = load(folder)
    (info,) = catalog.sessions.values()
    steps = sorted(n.attrs["params"] for n in info.nodes.values() if n.kind == "action")
    assert steps == list(range(6))  # every record once: the copy supplies what the original lost
    assert [p.path for p in problems] == [original] and problems[0].kind == "damaged"


def test_prune_removes_whole_files_of_old_sessions_and_keeps_straddlers_whole(tmp_path):
    old, b, c, live = write_aged_sessions(tmp_path)
    dry = cli("prune", str(tmp_path), "--older-than", "90d", "--dry-run")
    assert f"would remove {old}" in dry.stdout and old.exists()
    assert "would remove 1 file of 2 sessions" in dry.stdout and "1 older kept whole" in dry.stdout
    done = cli("prune", str(tmp_path), "--older-than", "90d")
    assert f"removed {old}" in done.stdout and not old.exists()
    assert b.exists() and c.exists() and live.exists() and (tmp_path / "notes.trail").exists()
    names = sorted(s["name"] for s in json.loads(cli("ls", str(tmp_path), "--json").stdout))
    assert names == ["live", "new", "old3"]  # old3 straddles b and c, and c holds a newer session
    assert cli("prune", str(tmp_path), "--older-than", "ninety days", check=False).returncode == 2
