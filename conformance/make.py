"""Writes the conformance cases (``cases/NAME/*.trail``) and, from sessiontrail's own reader,
their expected results (``cases/NAME/expected.json``): ``python conformance/make.py``.

The files are built byte by byte from format_spec.md (header, frames, positional records),
not by the recorder, so every case is exactly what its name says, with fixed ids and times.
tests/test_conformance.py reads every case again and compares with expected.json.
"""

from __future__ import annotations

import json
import shutil
import struct
import sys
import zlib
from pathlib import Path
from typing import Any

import msgpack

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

CASES = HERE / "cases"
NOW = 1_800_000_100_000_000_000  # the "now" statuses are judged at (ns)
T0 = 1_800_000_000_000_000_000  # when the sessions of the cases start (2027-01-15T08:00:00Z)
S1 = "11111111-1111-4111-8111-111111111111"
S2 = "22222222-2222-4222-8222-222222222222"
MAGIC = b"\x89STRAIL\n"
SYNC = b"\xf5\x7e\x5a\x17"


def header(major: int = 2, minor: int = 1) -> bytes:
    return MAGIC + struct.pack("<HH", major, minor)


def frame(*records: Any, raw: bytes | None = None) -> bytes:
    """A frame holding records (packed here), or a raw payload."""
    if raw is None:
        count = len(records)
        head = bytes((0x90 | count,)) if count < 16 else b"\xdc" + count.to_bytes(2, "big")
        raw = head + b"".join(msgpack.packb(r) for r in records)
    return SYNC + struct.pack("<II", len(raw), zlib.crc32(raw)) + raw


def attrs(value: dict[str, Any]) -> bytes:
    return msgpack.packb(value)


def file_record(writer: str = "0a0b0c0d", seq: int = 0, ts: int = T0, **more: Any) -> list[Any]:
    return [
        1,
        ts,
        {
            "format": [2, 1],
            "writer": writer,
            "pid": 4242,
            "host": "conformance",
            "seq": seq,
            "heartbeat_interval": 2.0,
            "host_info": None,
            **more,
        },
    ]


def start(sid: str = S1, ts: int = T0, name: str = "case", tags: list[Any] | None = None, **more: Any) -> list[Any]:
    return [2, ts, sid, name, ["conformance"] if tags is None else tags, {"pid": 4242, "host": "conformance", **more}]


def end(sid: str = S1, ts: int = T0 + 5_000_000_000, state: str = "Success", reason: str | None = None) -> list[Any]:
    return [3, ts, sid, state, reason]


def span(
    span_id: int,
    ts: int,
    kind: str = "operation",
    name: str = "step",
    parent: int | None = None,
    sid: str = S1,
    a: dict[str, Any] | None = None,
) -> list[Any]:
    return [5, ts, sid, span_id, parent, kind, name, None if a is None else attrs(a)]


def span_end(
    span_id: int,
    ts: int,
    status: str = "ok",
    sid: str = S1,
    a: dict[str, Any] | None = None,
    more: dict[str, Any] | None = None,
) -> list[Any]:
    record = [6, ts, sid, span_id, status, None if a is None else attrs(a)]
    return record + [more] if more is not None else record


def event(
    event_id: int,
    ts: int,
    kind: str,
    name: str,
    parent: int | None = None,
    end_ts: int | None = None,
    sid: str = S1,
    a: dict[str, Any] | None = None,
) -> list[Any]:
    return [7, ts, sid, event_id, parent, kind, name, end_ts, None if a is None else attrs(a)]


def ms(n: float) -> int:
    return T0 + int(n * 1_000_000)


def a_session(sid: str = S1, offset_ms: float = 0) -> list[list[Any]]:
    """A small finished session: an agent, an LLM call, a tool, a failing step with its error."""
    o = offset_ms
    return [
        start(sid, ms(o), name="research"),
        span(1, ms(o + 1), "agent", "Researcher", sid=sid),
        event(
            2,
            ms(o + 2),
            "llm",
            "gpt-4o-mini",
            parent=1,
            end_ts=ms(o + 40),
            sid=sid,
            a={
                "model": "gpt-4o-mini",
                "prompt_tokens": 120,
                "completion_tokens": 30,
                "cost": 0.000036,
                "prompt": [{"role": "user", "content": "hi"}],
                "completion": {"role": "assistant", "content": "hello"},
            },
        ),
        span(3, ms(o + 41), "tool", "search", parent=1, sid=sid, a={"input": {"args": ["q"]}, "cost": 0.001}),
        span_end(3, ms(o + 60), sid=sid, a={"output": "found"}),
        span(4, ms(o + 61), "operation", "parse", parent=1, sid=sid),
        event(5, ms(o + 62), "error", "ValueError", parent=4, sid=sid, a={"message": "bad json"}),
        span_end(4, ms(o + 63), "error", sid=sid, a={"error": {"exception_type": "ValueError", "message": "bad json"}}),
        span_end(1, ms(o + 70), sid=sid),
        end(sid, ms(o + 80), "Fail", "ValueError: bad json"),
    ]


def write(name: str, files: dict[str, bytes]) -> None:
    folder = CASES / name
    folder.mkdir(parents=True)
    for file_name, data in files.items():
        path = folder / file_name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def intact(records: list[list[Any]], **file: Any) -> bytes:
    return header() + frame(file_record(**file)) + frame(*records)


def summarized(heads: bool = False) -> bytes:
    """Two sessions in alternating frames, closed with a summary (section 3.2) of where each
    one's records are: the first frame, then S1 in frames 2 and 3, S2 in frames 4 and 5. With
    ``heads`` (2.4, section 3.3), their session records repeated in a `heads` frame first."""
    first, second = a_session(S1), a_session(S2, offset_ms=100)
    data = header(2, 4 if heads else 3) + frame(file_record())
    ranges: dict[str, list[int]] = {S1: [], S2: []}
    for sid, records in ((S1, first[:5]), (S1, first[5:]), (S2, second[:5]), (S2, second[5:])):
        start = len(data)
        data += frame(*records)
        ranges[sid] += [start, len(data)] if not ranges[sid] or ranges[sid][-1] != start else []
        ranges[sid][-1] = len(data)
    more: list[Any] = []
    if heads:
        copies = [r for r in first + second if r[0] in (2, 3, 4, 10)]
        more = [{"heads": len(data)}]
        data += frame([13, ms(300), copies])
    summary_at = struct.pack(">4sQBQ", bytes((0x91, 0x93, 12, 0xCF)), ms(300), 0xCF, len(data))
    return data + frame([11, ms(300), len(data), ranges, *more]) + frame(raw=summary_at)


def build() -> None:
    shutil.rmtree(CASES, ignore_errors=True)
    body = a_session()
    whole = intact(body)
    write("intact", {"a.trail": whole})
    frames = header() + frame(file_record()) + b"".join(frame(r) for r in body)  # a frame per record
    write("torn-tail", {"a.trail": frames[:-7]})
    write("zero-filled-tail", {"a.trail": frames + b"\x00" * 4096})
    broken = bytearray(frames)
    broken[len(frames) // 2] ^= 0xFF
    write("damaged-frame", {"a.trail": bytes(broken)})
    huge = SYNC + struct.pack("<II", 0xFFFFFFF0, 0) + b"junk"
    write(
        "length-out-of-range", {"a.trail": header() + frame(file_record()) + frame(*body[:5]) + huge + frame(*body[5:])}
    )
    repeated = frame(*body[:3])
    write("repeated-frame", {"a.trail": header() + frame(file_record()) + repeated + repeated + frame(*body[3:])})
    write(
        "not-records",
        {
            "a.trail": header()
            + frame(file_record())
            + frame(raw=b"\xc1 garbage with a valid CRC")
            + frame(raw=msgpack.packb({"a": "map, not an array"}))
            + frame("text", 17, *body)
        },
    )
    write(
        "ext-type",
        {
            "a.trail": header()
            + frame(file_record())
            + frame(raw=msgpack.packb([msgpack.ExtType(3, b"x")]))
            + frame(*body)
        },
    )
    wrong = [
        start(ts=ms(0)),
        span(10, ms(1)),
        span_end(10, ms(2)),
        [5, 1.5, S1, 11, None, "operation", "float ts", None],
        [5, ms(3), 7, 12, None, "operation", "session not a string", None],
        [5, ms(4), S1, -5, None, "operation", "negative id", None],
        [7, ms(5), S1, 1 << 63, None, "action", "id too large", None, None],
        [5, ms(6), S1, 13, "nope", 9, None, None],
        span_end(13, ms(7), status=None),
        [7, ms(8), S1, 14, None, "action", "ends before it starts", ms(7), None],
        [7, ms(9), S1, 15, None, "action", "attrs as a map", None, {"plain": "map"}],
        [7, ms(10), S1, 16, None, "action", "undecodable attrs", None, b"\xc1\xc1"],
        [7, ms(11), S1, 17, None, "action", "more not a map", None, None, [1, 2]],
        [4, ms(12), S1, "not a list"],
        [4, ms(13), S1, ["ok", 3]],
        [8, ms(14), "not a list", 2.0],
        end(ts=ms(20)),
    ]
    write("wrong-types", {"a.trail": intact(wrong)})
    later = [
        [42, ms(0), "a record type from a later minor version"],
        start(ts=ms(0), shiny="a field from a later minor version") + [None, "a later element"],
        event(20, ms(1), "action", "tick"),
        end(ts=ms(2)),
    ]
    write("newer-minor-version", {"a.trail": header(2, 9) + frame(file_record()) + frame(*later)})
    write("newer-major-version", {"a.trail": header(3, 0) + frame(file_record()) + frame(*body)})
    write("foreign", {"a.trail": b"PK\x03\x04 this is a zip file, not a session file" * 3})
    write("empty", {"a.trail": b""})
    write("header-only", {"a.trail": header()})
    write("header-cut-short", {"a.trail": header()[:7]})
    copy_full = header() + frame(file_record()) + b"".join(frame(r) for r in body)
    damaged_original = bytearray(copy_full)
    third = len(header() + frame(file_record()) + frame(body[0]) + frame(body[1])) + 14
    damaged_original[third] ^= 0xFF
    write("copies", {"a.trail": bytes(damaged_original), "backup/a.trail": copy_full[:-30]})
    rotated = [
        header() + frame(file_record(seq=0)) + frame(*body[:4]),
        header()
        + frame(file_record(seq=1, ts=ms(45)), start(ts=ms(0), name="research", continued=True))
        + frame(*body[4:7]),
        header()
        + frame(file_record(seq=2, ts=ms(62)), start(ts=ms(0), name="research", continued=True))
        + frame(*body[7:]),
    ]
    write("rotation", {f"w_{i:04d}.trail": data for i, data in enumerate(rotated)})
    export = header() + frame([1, ms(100), {"format": [2, 1], "writer": "export", "exported": [S1]}]) + frame(*body)
    second_writer = [start(S1, ms(0), name="research", continued=True), event(30, ms(90), "action", "from writer two")]
    write(
        "several-writers",
        {"one.trail": whole, "two.trail": intact(second_writer, writer="0f0f0f0f"), "export.trail": export},
    )
    conflicts = [
        start(ts=ms(0)),
        [4, ms(30), S1, ["newest"]],
        end(ts=ms(50), state="Success"),
        [4, ms(10), S1, ["older, read last"]],
        end(ts=ms(40), state="Fail", reason="older end, read last"),
    ]
    write("repeated-records", {"a.trail": intact(conflicts)})
    orphan = [span_end(50, ms(5)), span(51, ms(6)), span_end(51, ms(7)), event(52, ms(8), "action", "tick", sid=S2)]
    write("without-start", {"a.trail": intact(orphan)})
    abandoned = [start(ts=ms(0)), span(60, ms(1), "agent", "worker"), [8, ms(2), [S1], 2.0]]
    write("abandoned", {"a.trail": intact(abandoned)})
    running = [start(ts=NOW - 3_000_000_000), span(70, NOW - 2_000_000_000), [8, NOW - 1_000_000_000, [S1], 2.0]]
    write("running", {"a.trail": intact(running)})
    restated = [
        start(ts=ms(0)),
        span(80, ms(1), "operation", "ChatOpenAI"),
        span_end(
            80,
            ms(30),
            a={"model": "gpt-4o-mini", "prompt_tokens": 10, "completion_tokens": 5, "cost": 0.0000045},
            more={"kind": "llm", "name": "gpt-4o-mini"},
        ),
        span(81, ms(31), "operation", "handoff"),
        span_end(81, ms(32), more={"kind": "handoff", "name": "handoff to Weather agent"}),
        end(ts=ms(40)),
    ]
    write("kind-restated", {"a.trail": intact(restated)})
    dropped = [
        start(ts=ms(0)),
        event(90, ms(1), "action", "kept"),
        [9, ms(2), [S1, S2], 7],
        [9, ms(3), [S1], 12],
        end(ts=ms(4)),
    ]
    write("dropped", {"a.trail": intact(dropped)})
    awkward = [
        start(ts=T0 + 999_999_999),
        event(95, T0 + 1_999_999_999, "action", "cut, not rounded", end_ts=T0 + 2_000_000_500),
        end(ts=T0 + 2_999_999_999),
    ]
    write("nanoseconds", {"a.trail": intact(awkward)})
    note = {"note": "the summary misses the 2025 figures"}
    judged = [
        start(ts=ms(0)),
        event(96, ms(1), "llm", "gpt-4o-mini", end_ts=ms(5), a={"model": "gpt-4o-mini"}),
        end(ts=ms(10)),
        [10, ms(20), S1, None, "quality", "bad", "ana@laptop", note],
        [10, ms(30), S1, None, "quality", "good", "ana@laptop"],  # newer: in force
        [10, ms(25), S1, None, "quality", "bad", "ben@desk"],  # another author: also in force
        [10, ms(26), S1, 96, "correct", True, "eval-v3"],  # on the LLM call
        [10, ms(27), S1, None, "faithfulness", 0.82, "eval-v3"],
        [10, ms(28), S2, None, "quality", "good", "ana@laptop"],  # a session not in the folder: waits
        [10, ms(29), S1, None, "quality", [1, 2], "ana@laptop"],  # a value that is none of the three: dropped
    ]
    write("annotations", {"a.trail": header(2, 2) + frame(file_record()) + frame(*judged)})
    write("summary", {"a.trail": summarized()})
    stale = summarized() + frame(event(97, ms(200), "action", "appended after the summary", sid=S2))
    write("summary-stale", {"a.trail": stale})
    write("summary-heads", {"a.trail": summarized(heads=True)})
    for folder in sorted(CASES.iterdir()):
        (folder / "expected.json").write_text(json.dumps(expected(folder), indent=1, ensure_ascii=False) + "\n")


def expected(folder: Path) -> dict[str, Any]:
    """What sessiontrail reads in a case: sessions with totals and status at NOW, their nodes,
    and what verify reports (file, kind, byte range, message)."""
    from recorder.catalog import Catalog
    from recorder.reader import FolderReader
    from recorder.summary import node_summary, session_summary

    reader = FolderReader([folder], validate=True)
    catalog = Catalog()
    batch = reader.poll(final=True, apply=catalog.apply)
    sessions = []
    for session in catalog.ordered():
        summary = session_summary(session, NOW)
        summary.pop("files")
        nodes = [node_summary(session, n, NOW) for n in sorted(session.nodes.values(), key=lambda n: (n.start, n.id))]
        for node in nodes:
            node.pop("tags")
        sessions.append(summary | {"nodes": nodes})
    problems = [
        {
            "file": p.path.relative_to(folder).as_posix(),
            "kind": p.kind,
            "offset": p.offset,
            "length": p.length,
            "message": p.message,
            "damage": p.is_damage,
        }
        for p in batch.problems
    ]
    return {"now": NOW, "sessions": sessions, "verify": problems}


if __name__ == "__main__":
    build()
    print(f"wrote {len(list(CASES.iterdir()))} cases to {CASES}")
