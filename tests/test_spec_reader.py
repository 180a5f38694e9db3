"""format_spec.md is the contract: its minimal reader, run as printed, reads our files."""

from __future__ import annotations

import re

from conftest import ROOT

from recorder.reader import read_file


def spec_reader():
    text = (ROOT / "format_spec.md").read_text(encoding="utf-8")
    (code,) = re.findall(r"## 6\. A minimal reader\s+```python\n(.*?)```", text, re.S)
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
