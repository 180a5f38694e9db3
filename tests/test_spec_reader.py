"""format_spec.md is the contract: its minimal reader, run as printed, reads our files."""

from __future__ import annotations

import re

from conftest import ROOT

from recorder.reader import read_file


def spec_reader():
    text = (ROOT / "format_spec.md").read_text(encoding="utf-8")
    (code,) = re.findall(r"## 6\. A minimal reader.*?```python\n(.*?)```", text, re.S)
    namespace: dict = {}
    exec(compile(code, "format_spec.md", "exec"), namespace)  # our own document
    return namespace["read_trail"]


def test_the_spec_reader_reads_what_the_recorder_writes(rec, folder):
    from recorder.decorators import operation

    @operation
    def work(i):
        rec.record(rec.LLMEvent(model="m", prompt="p" * i, prompt_tokens=i))

    with rec.start_session(tags=["spec"]):
        for i in range(500):
            work(i)
    rec.flush()
    read_trail = spec_reader()
    for path in folder.glob("*.trail"):
        records, damaged = read_trail(path)
        ours, problems = read_file(path)
        assert damaged == [] and problems == []
        assert records == ours
        assert {r["type"] for r in records} >= {
            "file",
            "session_start",
            "span_start",
            "span_end",
            "event",
            "session_end",
        }


def test_the_spec_reader_recovers_around_damage_like_ours(rec, folder):
    with rec.start_session():
        for i in range(3000):
            rec.record(rec.ActionEvent(action_type="tick", params=i))
            if i % 300 == 0:
                rec.flush()
    rec.flush()
    (path,) = folder.glob("*.trail")
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x01
    path.write_bytes(bytes(data[:-5]))
    records, damaged = spec_reader()(path)
    ours, problems = read_file(path)
    assert records == ours
    assert [d[2] for d in damaged] == ["damaged", "torn tail"]
    assert [p.kind for p in problems] == ["damaged", "torn_tail"]
    assert [(d[0], d[1]) for d in damaged] == [(p.offset, p.length) for p in problems]


def test_the_spec_reader_handles_every_hostile_case_like_ours(tmp_path):
    """The cases the prose says to handle, each in a frame between two sound ones."""
    import msgpack

    from recorder._format import encode_file_header, encode_frame, encode_payload

    sid = "00000000-0000-4000-8000-000000000001"
    sound = msgpack.packb([2, 1, sid, "s", ["t"], {}])
    cases = {
        "non-array records": encode_payload([msgpack.packb("text"), msgpack.packb({"a": 1}), sound]),
        "invalid UTF-8": encode_payload([b"\x95\x07\x02\xa3\xff\xfe\xfd" + msgpack.packb(sid)[0:0] + b"\xc0\xc0"]),
        "garbage payload, valid CRC": b"\xc1\xc1\xc1garbage",
        "undecodable attrs": encode_payload([msgpack.packb([5, 2, sid, 9, None, "tool", "t", b"\xc1\xc1"])]),
        "attrs as a map": encode_payload([msgpack.packb([5, 3, sid, 10, None, "tool", "t", {"plain": "map"}])]),
        "non-map more": encode_payload([msgpack.packb([3, 4, sid, "Success", None, ["not", "a", "map"]])]),
        "ext type": encode_payload([msgpack.packb([2, 5, sid, msgpack.ExtType(5, b"xyz"), [], {}])]),
        "unknown record type": encode_payload([msgpack.packb([99, 6, "from a later version"])]),
    }
    for name, payload in cases.items():
        frame = encode_frame(payload)
        path = tmp_path / f"{name}.trail"
        path.write_bytes(
            encode_file_header()
            + encode_frame(encode_payload([sound]))
            + frame
            + frame
            + encode_frame(encode_payload([sound]))
            + b"\x00" * 7
        )
        records, damaged = spec_reader()(path)
        ours, problems = read_file(path)
        assert records == [r for r in ours if not r["type"].startswith("unknown:")], name  # later types: skipped
        assert [(d[0], d[1]) for d in damaged] == [(p.offset, p.length) for p in problems], name
        assert damaged[-1][2] == "torn tail" and any(d[2] == "repeated frame" for d in damaged), name
