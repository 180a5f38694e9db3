"""The file format: header, framing, damage detection and recovery (pure functions)."""

from __future__ import annotations

import os
import struct
import time
import zlib

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recorder._format import (
    FILE_HEADER_SIZE,
    FORMAT_MAJOR,
    FORMAT_MINOR,
    FRAME_HEADER_SIZE,
    FRAME_SYNC,
    MAGIC,
    T_HEARTBEAT,
    FormatError,
    decode_file_header,
    decode_payload,
    encode_file_header,
    encode_frame,
    encode_payload,
    scan_frames,
)
from recorder.reader import FolderReader, read_file


def x(i: int, pad: str = "") -> list:
    """A valid record (a heartbeat of no session) carrying i and pad in its map of further fields."""
    return [T_HEARTBEAT, i, [], 1.0, {"i": i, "pad": pad}]


def frames_of(records_per_frame: list[list[list]]) -> bytes:
    return b"".join(encode_frame(encode_payload([msgpack.packb(r) for r in recs])) for recs in records_per_frame)


def write_file(path, body: bytes, *, old: bool = True) -> None:
    path.write_bytes(encode_file_header() + body)
    if old:  # looks like a file nobody writes any more
        past = time.time() - 60
        os.utime(path, (past, past))


def test_header_round_trip_and_rejections():
    assert decode_file_header(encode_file_header()) == (FORMAT_MAJOR, FORMAT_MINOR)
    assert decode_file_header(encode_file_header(2, 7)) == (2, 7)  # a newer minor is readable
    with pytest.raises(FormatError, match="upgrade"):
        decode_file_header(encode_file_header(3, 0))
    with pytest.raises(FormatError, match="not a sessiontrail file"):
        decode_file_header(b"PK\x03\x04" + b"\x00" * 20)
    with pytest.raises(FormatError, match="shorter"):
        decode_file_header(MAGIC[:5])


def test_frame_layout_is_what_the_spec_says():
    payload = encode_payload([msgpack.packb(x(1))])
    frame = encode_frame(payload)
    sync, length, crc = struct.unpack_from("<4sII", frame)
    assert sync == FRAME_SYNC and length == len(payload) and crc == zlib.crc32(payload)
    assert frame[FRAME_HEADER_SIZE:] == payload
    assert msgpack.unpackb(payload) == [x(1)]


@pytest.mark.parametrize("size", [1, 5 * 1024 - 1, 5 * 1024, 5 * 1024 + 1, 10 * 1024, 32 * 1024 + 7, 1 << 20])
def test_frame_checksum_is_zlib_crc32_at_every_size(size):
    """The writer computes the CRC in steps (so it keeps the GIL); the result is the spec's."""
    payload = os.urandom(size)
    _, _, crc = struct.unpack_from("<4sII", encode_frame(payload))
    assert crc == zlib.crc32(payload)


def test_scan_recovers_around_a_corrupt_middle_frame():
    body = frames_of([[{"i": 1}], [{"i": 2}], [{"i": 3}]])
    first_len = len(frames_of([[{"i": 1}]]))
    damaged = bytearray(body)
    damaged[first_len + FRAME_HEADER_SIZE + 2] ^= 0xFF  # a bit flip in frame 2's payload
    scan = scan_frames(bytes(damaged))
    records = [r for _, p in scan.frames for r in decode_payload(p)]
    assert records == [{"i": 1}, {"i": 3}]
    assert len(scan.damage) == 1 and scan.damage[0].offset == first_len
    assert "checksum" in scan.damage[0].reason
    assert scan.end == len(body)


def test_scan_leaves_a_partial_last_frame_unconsumed():
    body = frames_of([[{"i": 1}], [{"i": 2}]])
    cut = body[:-3]
    scan = scan_frames(cut)
    assert [r for _, p in scan.frames for r in decode_payload(p)] == [{"i": 1}]
    assert scan.damage == [] and scan.end == len(frames_of([[{"i": 1}]]))


def test_a_damaged_length_field_costs_one_frame_not_the_rest():
    body = bytearray(frames_of([[{"i": 1}], [{"i": 2}], [{"i": 3}]]))
    first_len = len(frames_of([[{"i": 1}]]))
    struct.pack_into("<I", body, first_len + 4, 900_000)  # frame 2 now claims 900 kB
    scan = scan_frames(bytes(body))
    assert [r for _, p in scan.frames for r in decode_payload(p)] == [{"i": 1}, {"i": 3}]
    assert len(scan.damage) == 1


def test_a_huge_length_field_is_rejected_without_reading_that_far():
    body = FRAME_SYNC + struct.pack("<II", 2_000_000_000, 0) + b"x" * 100
    scan = scan_frames(body)
    assert scan.frames == [] and scan.end == 0  # nothing consumed: not a frame, not 2 GB awaited


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.dictionaries(
            st.text(max_size=8),
            st.recursive(
                st.none()
                | st.booleans()
                | st.integers(-(2**63), 2**64 - 1)
                | st.floats(allow_nan=False)
                | st.text()
                | st.binary(),
                lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
                max_leaves=12,
            ),
            max_size=6,
        ),
        min_size=1,
        max_size=20,
    )
)
def test_payload_round_trip(records):
    payload = encode_payload([msgpack.packb(r) for r in records])
    scan = scan_frames(encode_frame(payload))
    assert [decode_payload(p) for _, p in scan.frames] == [records]


# ---------------------------------------------------------------- through the reader, on real files


def records_in(path):
    records, problems = read_file(path)
    return [r for r in records if r.get("type") == "heartbeat"], problems


def test_truncation_at_every_offset_never_raises_and_keeps_whole_frames(tmp_path):
    recs = [[x(i, "p" * (i * 7))] for i in range(6)]
    body = frames_of(recs)
    full = encode_file_header() + body
    ends = []  # file offsets at which each frame ends
    pos = FILE_HEADER_SIZE
    for r in recs:
        pos += len(frames_of([r]))
        ends.append(pos)
    path = tmp_path / "t.trail"
    for cut in range(len(full) + 1):
        path.write_bytes(full[:cut])
        got, problems = records_in(path)
        whole = sum(1 for e in ends if e <= cut)
        assert [r["i"] for r in got] == list(range(whole)), cut
        if cut in ends or cut == FILE_HEADER_SIZE:  # cut exactly between frames: nothing shows it
            assert problems == [], cut  # (a header alone is also a writer that just started)
        elif cut == 0:
            assert [p.kind for p in problems] == ["empty"] and not problems[0].is_damage
        else:
            assert problems, f"no problem reported for a file cut at {cut}"


def test_zero_filled_tail_is_a_torn_tail(tmp_path):
    path = tmp_path / "z.trail"
    write_file(path, frames_of([[x(1)]]) + b"\x00" * 4096)
    got, problems = records_in(path)
    assert [r["i"] for r in got] == [1]
    assert [p.kind for p in problems] == ["torn_tail"]
    assert "zero-filled" in problems[0].message


def test_garbage_between_frames_is_skipped_and_reported(tmp_path):
    path = tmp_path / "g.trail"
    write_file(path, frames_of([[x(1)]]) + os.urandom(300).replace(FRAME_SYNC, b"") + frames_of([[x(2)]]))
    got, problems = records_in(path)
    assert [r["i"] for r in got] == [1, 2]
    assert [p.kind for p in problems] == ["damaged"] and problems[0].length > 0


def test_foreign_empty_and_newer_files_are_reported_not_read(tmp_path):
    (tmp_path / "foreign.trail").write_bytes(b"%PDF-1.7 not ours at all")
    (tmp_path / "empty.trail").write_bytes(b"")
    (tmp_path / "newer.trail").write_bytes(encode_file_header(9, 0) + frames_of([[x(0)]]))
    (tmp_path / "notes.txt").write_text("ignored: not a .trail file")
    past = time.time() - 60
    for p in tmp_path.iterdir():
        os.utime(p, (past, past))
    reader = FolderReader(tmp_path)
    batch = reader.poll()
    kinds = {p.path.name: p.kind for p in batch.problems}
    assert kinds == {"foreign.trail": "foreign", "empty.trail": "empty", "newer.trail": "newer_version"}
    assert batch.record_count == 0
    assert reader.poll().problems == []  # reported once, not on every poll


def test_a_record_that_is_not_an_array_with_a_type_code_is_reported(tmp_path):
    path = tmp_path / "m.trail"
    payload = encode_payload([msgpack.packb(x(1)), msgpack.packb({"type": "event"}), msgpack.packb(["event", 2, 3])])
    write_file(path, encode_frame(payload))
    got, problems = records_in(path)
    assert [r["i"] for r in got] == [1]
    assert len(problems) == 2 and all("not an array with a type code" in p.message for p in problems)
