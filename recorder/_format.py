"""Bytes <-> frames for sessiontrail files: header, framing, checksum, record encoding.

Pure functions only; every constant here has the same name in ``format_spec.md``.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import msgpack

MAGIC = b"\x89STRAIL\n"
FORMAT_MAJOR = 2
FORMAT_MINOR = 4
FILE_HEADER = struct.Struct("<8sHH")
FILE_HEADER_SIZE = FILE_HEADER.size  # 12

FRAME_SYNC = b"\xf5\x7e\x5a\x17"
FRAME_HEADER = struct.Struct("<4sII")  # sync, payload length, CRC-32 of payload
FRAME_HEADER_SIZE = FRAME_HEADER.size  # 12
MAX_FRAME_PAYLOAD = 1 << 20  # readers reject a length above this as damage
FRAME_TARGET = 32 * 1024  # writers close a frame once its payload reaches this
MAX_RECORD_SIZE = 64 * 1024  # writers shrink a record larger than this

FILE_SUFFIX = ".trail"

# Record types: the name of each (the "type" of a record written as a map, as in
# `sessiontrail export --format jsonl`) and its code (the first element of a record on disk).
REC_FILE = "file"
REC_SESSION_START = "session_start"
REC_SESSION_END = "session_end"
REC_SESSION_TAGS = "session_tags"
REC_SPAN_START = "span_start"
REC_SPAN_END = "span_end"
REC_EVENT = "event"
REC_HEARTBEAT = "heartbeat"
REC_DROPPED = "dropped"
REC_ANNOTATION = "annotation"

T_FILE, T_SESSION_START, T_SESSION_END, T_SESSION_TAGS, T_SPAN_START, T_SPAN_END, T_EVENT, T_HEARTBEAT, T_DROPPED = (
    range(1, 10)
)
T_ANNOTATION = 10  # since 2.2
T_SUMMARY, T_SUMMARY_AT = 11, 12  # since 2.3
T_HEADS = 13  # since 2.4
REC_SUMMARY = "summary"
REC_SUMMARY_AT = "summary_at"
REC_HEADS = "heads"
TYPE_CODES = {
    REC_FILE: T_FILE,
    REC_SESSION_START: T_SESSION_START,
    REC_SESSION_END: T_SESSION_END,
    REC_SESSION_TAGS: T_SESSION_TAGS,
    REC_SPAN_START: T_SPAN_START,
    REC_SPAN_END: T_SPAN_END,
    REC_EVENT: T_EVENT,
    REC_HEARTBEAT: T_HEARTBEAT,
    REC_DROPPED: T_DROPPED,
    REC_ANNOTATION: T_ANNOTATION,
    REC_SUMMARY: T_SUMMARY,
    REC_SUMMARY_AT: T_SUMMARY_AT,
    REC_HEADS: T_HEADS,
}
TYPE_NAMES = {code: name for name, code in TYPE_CODES.items()}

# A record on disk is a msgpack array: [type code, *FIELDS[code], more]. ``more`` is a map of
# any further fields, or nil, and may be left out; elements after it are reserved for later
# minor versions and ignored. ``attrs`` is a msgpack bin holding a msgpack map (or nil), so a
# reader that does not need a record's attributes never decodes them.
FIELDS: dict[int, tuple[str, ...]] = {
    T_FILE: ("ts",),
    T_SESSION_START: ("ts", "session", "name", "tags"),
    T_SESSION_END: ("ts", "session", "end_state", "reason"),
    T_SESSION_TAGS: ("ts", "session", "tags"),
    T_SPAN_START: ("ts", "session", "span", "parent", "kind", "name", "attrs"),
    T_SPAN_END: ("ts", "session", "span", "status", "attrs"),
    T_EVENT: ("ts", "session", "id", "parent", "kind", "name", "end_ts", "attrs"),
    T_HEARTBEAT: ("ts", "sessions", "interval"),
    T_DROPPED: ("ts", "sessions", "count"),
    # a judgement of a session, or of one of its spans or events (target): name, value, author
    T_ANNOTATION: ("ts", "session", "target", "name", "value", "author"),
    # the last two frames of a closed file (section 3.2): where each session's records are
    T_SUMMARY: ("ts", "size", "sessions"),
    T_SUMMARY_AT: ("ts", "offset"),
    # copies of a closed file's session records, just before its summary (section 3.3)
    T_HEADS: ("ts", "records"),
}
SESSION_AT = 2  # where a record that belongs to one session holds its id
ATTRS_AT = {code: 1 + names.index("attrs") for code, names in FIELDS.items() if "attrs" in names}


class FormatError(ValueError):
    """The bytes are not a sessiontrail file this reader can read."""


def encode_file_header(major: int = FORMAT_MAJOR, minor: int = FORMAT_MINOR) -> bytes:
    return FILE_HEADER.pack(MAGIC, major, minor)


def decode_file_header(data: bytes) -> tuple[int, int]:
    """Return (major, minor) of a file header, or raise FormatError saying what is wrong."""
    if len(data) < FILE_HEADER_SIZE:
        raise FormatError(f"file is {len(data)} bytes, shorter than the {FILE_HEADER_SIZE}-byte header")
    magic, major, minor = FILE_HEADER.unpack_from(data, 0)
    if magic != MAGIC:
        raise FormatError(f"not a sessiontrail file (starts with {bytes(data[:8])!r})")
    if major != FORMAT_MAJOR:
        raise FormatError(
            f"format version {major}.{minor} is not readable by this version "
            f"(reads {FORMAT_MAJOR}.x); upgrade sessiontrail"
        )
    return major, minor


def encode_frame(payload: bytes) -> bytes:
    return FRAME_HEADER.pack(FRAME_SYNC, len(payload), _crc32_holding_gil(payload)) + payload


CRC_STEP = 5 * 1024  # zlib.crc32 releases the GIL for anything longer


def _crc32_holding_gil(data: bytes) -> int:
    """zlib.crc32 of data, in steps short enough that the GIL is never released: the writer
    thread computes one per frame, and each release while the recording thread is busy costs
    the writer a whole switch interval (5 ms) to get the GIL back (measured: 0.5-3 ms per
    32 KiB frame instead of 0.014 ms, so a burst of recording outran the writer)."""
    if len(data) <= CRC_STEP:
        return zlib.crc32(data)
    view = memoryview(data)
    crc = 0
    for at in range(0, len(view), CRC_STEP):
        crc = zlib.crc32(view[at : at + CRC_STEP], crc)
    return crc


@dataclass(frozen=True, slots=True)
class Damage:
    """A span of bytes that held no valid frame."""

    offset: int
    length: int
    reason: str


@dataclass(slots=True)
class FrameScan:
    """What one pass over a buffer found: complete frames, damaged spans and where it stopped.

    ``end`` is the offset (within the buffer) up to which everything was accounted for; bytes
    from ``end`` on may be a frame still being written, a torn tail, or garbage with no valid
    frame after it. Callers decide which, knowing whether the file is still growing.
    """

    frames: list[tuple[int, memoryview]]
    damage: list[Damage]
    end: int


def _valid_frame_at(buf: memoryview, pos: int) -> int:
    """Return the end offset of a complete, checksummed frame starting at pos, or -1."""
    if len(buf) - pos < FRAME_HEADER_SIZE:
        return -1
    sync, length, crc = FRAME_HEADER.unpack_from(buf, pos)
    if sync != FRAME_SYNC or length == 0 or length > MAX_FRAME_PAYLOAD:
        return -1
    end: int = pos + FRAME_HEADER_SIZE + length
    if end > len(buf) or zlib.crc32(buf[pos + FRAME_HEADER_SIZE : end]) != crc:
        return -1
    return end


def _next_valid_frame(buf: memoryview, raw: bytes, start: int) -> int:
    """Offset of the next complete valid frame at or after start, or -1."""
    pos = start
    while True:
        pos = raw.find(FRAME_SYNC, pos)
        if pos < 0:
            return -1
        if _valid_frame_at(buf, pos) >= 0:
            return pos
        pos += 1


def scan_frames(data: bytes, start: int = 0) -> FrameScan:
    """Split data[start:] into frames, skipping damaged bytes up to the next valid frame.

    Never raises on any input. A frame whose bytes run past the end of data is left
    unconsumed unless a valid frame follows it, which proves it damaged.
    """
    buf = memoryview(data)
    frames: list[tuple[int, memoryview]] = []
    damage: list[Damage] = []
    pos = start
    n = len(buf)
    while pos < n:
        end = _valid_frame_at(buf, pos)
        if end >= 0:
            frames.append((pos, buf[pos + FRAME_HEADER_SIZE : end]))
            pos = end
            continue
        # Not a valid frame here. If a valid one follows, everything up to it is damage.
        nxt = _next_valid_frame(buf, data, pos + 1)
        if nxt < 0:
            if n - pos >= FRAME_HEADER_SIZE:
                sync, length, _ = FRAME_HEADER.unpack_from(buf, pos)
                if sync == FRAME_SYNC and 0 < length <= MAX_FRAME_PAYLOAD:
                    if pos + FRAME_HEADER_SIZE + length <= n:
                        # Complete but failing its checksum: damaged, and nothing valid follows.
                        damage.append(Damage(pos, FRAME_HEADER_SIZE + length, "frame checksum mismatch"))
                        pos += FRAME_HEADER_SIZE + length
                        continue
            break
        damage.append(Damage(pos, nxt - pos, describe_bad_bytes(buf[pos:nxt])))
        pos = nxt
    return FrameScan(frames, damage, pos)


def describe_bad_bytes(chunk: memoryview | bytes) -> str:
    """A short human reason for bytes that are not a valid frame."""
    chunk = bytes(chunk)
    if not chunk.strip(b"\x00"):
        return "zero-filled bytes"
    if len(chunk) >= FRAME_HEADER_SIZE and chunk[:4] == FRAME_SYNC:
        _, length, _ = FRAME_HEADER.unpack_from(chunk, 0)
        if length == 0 or length > MAX_FRAME_PAYLOAD:
            return f"frame length field {length} is out of range"
        if FRAME_HEADER_SIZE + length > len(chunk):
            return f"frame cut short ({len(chunk) - FRAME_HEADER_SIZE} of {length} payload bytes)"
        return "frame checksum mismatch"
    return "bytes that are not a frame"


def describe_tail(chunk: memoryview | bytes) -> str:
    """Why unconsumed bytes at the end of a file that stopped growing are a torn tail."""
    reason = describe_bad_bytes(chunk)
    if (
        reason == "bytes that are not a frame"
        and len(chunk) < FRAME_HEADER_SIZE
        and bytes(chunk) == FRAME_SYNC[: len(chunk)]
    ):
        return "frame header cut short"
    return reason


def payload_header(n: int) -> bytes:
    """The msgpack array header for a payload of n records."""
    if n < 16:
        return bytes((0x90 | n,))
    if n < 0x10000:
        return b"\xdc" + n.to_bytes(2, "big")
    return b"\xdd" + n.to_bytes(4, "big")


def encode_payload(packed_records: list[bytes]) -> bytes:
    """A frame payload: one msgpack array whose elements are the already-packed records."""
    return payload_header(len(packed_records)) + b"".join(packed_records)


def encode_frames(packed_records: list[bytes], target: int = FRAME_TARGET) -> list[tuple[bytes, int]]:
    """Frames holding packed_records in order, each closed once its payload reaches target;
    with each frame, how many records it holds."""
    return [(encode_frame(encode_payload(run)), len(run)) for run in _chunks(packed_records, target)]


def decode_payload(payload: memoryview | bytes) -> list[Any]:
    """Return the records of one frame payload; raise ValueError if it is not a msgpack array.

    Lengths are bounded by the payload size, extension types are refused and invalid UTF-8
    is replaced, so a hostile payload costs no more than its own size to reject.
    """
    try:
        records = msgpack.unpackb(payload, raw=False, strict_map_key=False, max_ext_len=0, unicode_errors="replace")
    except Exception as exc:  # msgpack raises several unrelated types on bad input
        raise ValueError(f"undecodable payload: {type(exc).__name__}: {exc}") from None
    if not isinstance(records, list):
        raise ValueError(f"payload is a {type(records).__name__}, not an array of records")
    return records


# ---------------------------------------------------------------------------- summaries
# A closed file ends with two frames (format_spec.md 3.2): a `summary` record saying which
# byte ranges hold each session's records, then a fixed-size `summary_at` record saying where
# the summary frame starts, so a reader finds it from the end of the file.
SUMMARY_AT_PAYLOAD = struct.Struct(">4sQBQ")  # [[12, ts, offset]], both integers as uint64
SUMMARY_AT_SIZE = FRAME_HEADER_SIZE + SUMMARY_AT_PAYLOAD.size  # 33
_SUMMARY_AT_HEAD = bytes((0x91, 0x93, T_SUMMARY_AT, 0xCF))


# What a list of sessions shows of them (name, tags, how they ended, reviews) comes from these
# records; a closed file repeats its own in `heads` frames (section 3.3), so a reader can list
# the sessions of a big folder before it has read every record.
HEAD_CODES = frozenset((T_SESSION_START, T_SESSION_END, T_SESSION_TAGS, T_ANNOTATION))


def encode_summary(ts_ns: int, size: int, sessions: dict[str, list[int]], heads: Sequence[bytes] = ()) -> bytes | None:
    """The closing frames of a file whose frames end at ``size``: its ``heads`` (packed copies
    of its session records, in `heads` frames), the summary (``sessions`` maps each session id
    to the flat list ``[start, end, start, end, ...]`` of the byte ranges, frames merged when
    adjacent, holding its records) and the `summary_at` trailer. None if the summary would not
    fit a frame."""
    copies = b"".join(encode_frame(_heads_payload(ts_ns, chunk)) for chunk in _chunks(heads))
    at = size + len(copies)
    record: list[Any] = [T_SUMMARY, ts_ns, at, sessions, {"heads": size}]  # none: at the summary itself
    payload = encode_payload([msgpack.packb(record)])
    if len(payload) > MAX_FRAME_PAYLOAD:
        return None
    trailer = SUMMARY_AT_PAYLOAD.pack(_SUMMARY_AT_HEAD, ts_ns, 0xCF, at)
    return copies + encode_frame(payload) + encode_frame(trailer)


def _chunks(packed: Sequence[bytes], target: int = FRAME_TARGET) -> list[list[bytes]]:
    """Packed records in runs of about ``target`` bytes (each record is under MAX_RECORD_SIZE,
    so a run always fits a frame)."""
    runs: list[list[bytes]] = []
    run: list[bytes] = []
    size = 0
    for record in packed:
        run.append(record)
        size += len(record)
        if size >= target:
            runs.append(run)
            run, size = [], 0
    if run:
        runs.append(run)
    return runs


def _heads_payload(ts_ns: int, records: list[bytes]) -> bytes:
    """A frame payload holding one `heads` record: ``[[13, ts, [record, ...]]]``."""
    code_and_ts: bytes = msgpack.packb([T_HEADS, ts_ns])[1:]  # the elements without their array header
    return b"\x91\x93" + code_and_ts + payload_header(len(records)) + b"".join(records)


def summary_offset(tail: bytes, size: int) -> int | None:
    """Where the summary frame starts, from the last ``SUMMARY_AT_SIZE`` bytes of a file of
    ``size`` bytes; None if they are not a valid `summary_at` frame."""
    if len(tail) != SUMMARY_AT_SIZE or _valid_frame_at(memoryview(tail), 0) != SUMMARY_AT_SIZE:
        return None
    head, _, marker, offset = SUMMARY_AT_PAYLOAD.unpack_from(tail, FRAME_HEADER_SIZE)
    if head != _SUMMARY_AT_HEAD or marker != 0xCF:
        return None
    return offset if FILE_HEADER_SIZE <= offset < size - SUMMARY_AT_SIZE else None


@dataclass(frozen=True, slots=True)
class Summary:
    """A file's summary (section 3.2): each session's flat byte ranges, checked when used
    (``summary_ranges``), and where the file's `heads` frames start (None: it has none)."""

    sessions: dict[str, list[int]]
    heads_at: int | None


def is_summary_frame(frame: bytes, offset: int) -> bool:
    """Whether frame is exactly one valid frame holding a `summary` record that says it
    starts at ``offset``, as far as telling it costs no decoding of its sessions."""
    if _valid_frame_at(memoryview(frame), 0) != len(frame) or len(frame) < FRAME_HEADER_SIZE + 3:
        return False
    head = frame[FRAME_HEADER_SIZE : FRAME_HEADER_SIZE + 3]
    if head[0] != 0x91 or head[1] not in (0x94, 0x95) or head[2] != T_SUMMARY:
        return False
    try:  # [11, ts, size, ...]: ts and size are the next two values
        unpacker = msgpack.Unpacker(max_buffer_size=len(frame))
        unpacker.feed(frame[FRAME_HEADER_SIZE + 3 : FRAME_HEADER_SIZE + 3 + 18])
        unpacker.unpack()
        return bool(unpacker.unpack() == offset)
    except Exception:  # msgpack raises several unrelated types on bad input
        return False


def decode_summary(frame: bytes, offset: int) -> Summary | None:
    """The summary in the frame found at ``offset``, which must be exactly the bytes between
    there and the `summary_at` frame; None if anything is off (the file is then read in full:
    a summary only ever saves time)."""
    if _valid_frame_at(memoryview(frame), 0) != len(frame):
        return None
    try:
        records = decode_payload(frame[FRAME_HEADER_SIZE:])
    except ValueError:
        return None
    if len(records) != 1 or type(records[0]) is not list or len(records[0]) < 4:
        return None
    code, _, size, sessions = records[0][:4]
    if code != T_SUMMARY or size != offset or type(sessions) is not dict:
        return None
    more = records[0][4] if len(records[0]) > 4 else None
    heads_at = more.get("heads") if type(more) is dict else None
    if type(heads_at) is not int or not FILE_HEADER_SIZE <= heads_at <= offset:
        heads_at = None
    return Summary(sessions, heads_at)


def decode_heads(data: bytes) -> list[list[Any]] | None:
    """The session records copied in a file's `heads` frames, ``data`` being exactly those
    frames; None if they are not that (a damaged or foreign frame, another record type)."""
    buf = memoryview(data)
    records: list[list[Any]] = []
    pos = 0
    while pos < len(data):
        end = _valid_frame_at(buf, pos)
        if end < 0:
            return None
        try:
            payload = decode_payload(buf[pos + FRAME_HEADER_SIZE : end])
        except ValueError:
            return None
        for record in payload:
            if type(record) is not list or len(record) < 3 or record[0] != T_HEADS or type(record[2]) is not list:
                return None
            records += (r for r in record[2] if type(r) is list and r and r[0] in HEAD_CODES)
        pos = end
    return records


def summary_ranges(flat: object, offset: int) -> list[tuple[int, int]] | None:
    """A session's ranges from a summary whose frame starts at ``offset``: pairs of integers,
    each within the file's frames, in increasing order, not overlapping; None if not so."""
    if type(flat) is not list or len(flat) % 2:
        return None
    pairs = list(zip(flat[::2], flat[1::2], strict=True))
    previous = FILE_HEADER_SIZE
    for start, end in pairs:
        if type(start) is not int or type(end) is not int or not previous <= start < end <= offset:
            return None
        previous = end
    return pairs


# Bytes a msgpack integer or nil takes, by its first byte (0: not an integer).
_INT_BYTES = bytes(
    1
    if b < 0x80 or b >= 0xE0 or b == 0xC0
    else {0xCC: 2, 0xCD: 3, 0xCE: 5, 0xCF: 9, 0xD0: 2, 0xD1: 3, 0xD2: 5, 0xD3: 9}.get(b, 0)
    for b in range(256)
)
_SESSION_CODES = frozenset(
    (T_SESSION_START, T_SESSION_END, T_SESSION_TAGS, T_SPAN_START, T_SPAN_END, T_EVENT, T_ANNOTATION)
)


def packed_session(data: bytes) -> bytes | None:
    """The session id (its UTF-8 bytes) of a packed record that belongs to one session, read
    from the bytes without decoding the record; None for other records. The writer calls it
    for every record, so it reads only the few bytes it needs."""
    if len(data) < 4 or data[0] & 0xF0 != 0x90 or data[1] not in _SESSION_CODES:
        return None
    at = 2 + _INT_BYTES[data[2]]
    if at == 2 or at >= len(data):
        return None
    head = data[at]
    if 0xA0 <= head <= 0xBF:
        start, length = at + 1, head & 0x1F
    elif head == 0xD9 and at + 1 < len(data):
        start, length = at + 2, data[at + 1]
    elif head == 0xDA:
        start, length = at + 3, int.from_bytes(data[at + 1 : at + 3], "big")
    elif head == 0xDB:
        start, length = at + 5, int.from_bytes(data[at + 1 : at + 5], "big")
    else:
        return None
    return data[start : start + length]


def framed(
    packed_records: Sequence[bytes], target: int = FRAME_TARGET
) -> list[tuple[bytes, int, set[bytes], list[bytes]]]:
    """Packed records as frames, each closed once its payload reaches target; with each frame,
    how many records it holds, the session ids they belong to (as ``packed_session`` reads
    them) and those of them a file's `heads` repeat (``HEAD_CODES``). One pass over the
    records: the writer calls it for every record it writes. A record of ours nearly always
    starts ``[code, uint64 ts, str8 session, ...]``: its id is then at a fixed place, and
    mostly the previous record's (~0.3 µs a record in all, where three passes took 0.37)."""
    frames = []
    run: list[bytes] = []
    size = 0
    sessions: set[bytes] = set()
    heads: list[bytes] = []
    last = b""
    for r in packed_records:
        run.append(r)
        size += len(r)
        if len(r) > 13 and r[11] == 0xD9 and r[2] == 0xCF:
            if r[12] != len(last) or not r.startswith(last, 13):
                last = r[13 : 13 + r[12]]
                sessions.add(last)
        elif (sid := packed_session(r)) is not None:
            sessions.add(sid)
        if r[1] in HEAD_CODES:  # a record's code follows its array header: every record has both
            heads.append(r)
        if size >= target:
            frames.append((encode_frame(encode_payload(run)), len(run), sessions, heads))
            run, size, sessions, heads, last = [], 0, set(), [], b""
    if run:
        frames.append((encode_frame(encode_payload(run)), len(run), sessions, heads))
    return frames


def file_name(ts_ns: int, label: str, writer: str, seq: int) -> str:
    """The name a writer gives a new file: ``<UTC time>_<label>_<writer>_<seq>.trail``.

    Readers never rely on it (section 1 of the spec); it only sorts a writer's files by time."""
    stamp = datetime.fromtimestamp(ts_ns // 1_000_000_000, tz=timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}_{label}_{writer}_{seq:04d}{FILE_SUFFIX}"


def is_writer_id(value: Any) -> bool:
    """A recording process's writer id in a `file` record: 8 hex digits (exports and imports
    write other names, so their files are never taken for copies of one another)."""
    return isinstance(value, str) and len(value) == 8 and all(c in "0123456789abcdef" for c in value)


def file_record(ts_ns: int, writer: str, **fields: Any) -> list[Any]:
    """The ``file`` record that opens every file, in its on-disk form: who wrote it (a
    recording process, ``export`` or ``import``) and, in ``fields``, whatever else it knows
    (``pid``, ``host``, ``seq``, ``host_info``, ``heartbeat_interval``...)."""
    return [T_FILE, ts_ns, {"format": [FORMAT_MAJOR, FORMAT_MINOR], "writer": writer, **fields}]


def to_wire(record: dict[str, Any]) -> list[Any]:
    """The on-disk form of a record given as a map (attributes still a map, packed later)."""
    code = TYPE_CODES[record["type"]]
    names = FIELDS[code]
    wire = [code, *(record.get(name) for name in names)]
    more = {k: v for k, v in record.items() if k != "type" and k not in names}
    if more:
        wire.append(more)
    return wire


def decode_attrs(raw: Any) -> dict[Any, Any]:
    """The attributes map held in a record's ``attrs`` bin; {} if absent or undecodable."""
    if isinstance(raw, dict):
        return raw
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        return {}
    try:
        value = msgpack.unpackb(raw, raw=False, strict_map_key=False, max_ext_len=0, unicode_errors="replace")
    except Exception:  # damaged bytes inside a valid frame: shown as no attributes
        return {}
    return value if isinstance(value, dict) else {}


def record_dict(wire: list[Any], *, packed: bool = True) -> dict[str, Any]:
    """A record as a map with named fields and decoded attributes (what ``export --format
    jsonl`` prints). A record of an unknown type keeps its elements under ``fields``.
    ``packed``: the record was read from a file, where attributes that are not a bin are no
    attributes (format_spec.md 4.4); False for a record built in memory, attributes a map."""
    code = wire[0] if wire else None
    names = FIELDS.get(code) if isinstance(code, int) else None
    if names is None or not isinstance(code, int):
        return {"type": f"unknown:{code!r}", "fields": list(wire[1:])}
    record: dict[str, Any] = {"type": TYPE_NAMES[code]}
    for i, name in enumerate(names, 1):
        value = wire[i] if i < len(wire) else None
        if name == "attrs" and value is not None:
            value = decode_attrs(value) if not packed or isinstance(value, bytes) else {}
        record[name] = value
    more = wire[len(names) + 1] if len(wire) > len(names) + 1 else None
    if isinstance(more, dict):
        for key, value in more.items():
            record.setdefault(str(key), value)
    return record


_MAX_ID = (1 << 63) - 1
_ID_FIELDS = {T_SPAN_START: 3, T_SPAN_END: 3, T_EVENT: 3}  # where a record holds its span or event id


def _is_int(value: Any, low: int = -(1 << 63), high: int = _MAX_ID) -> bool:
    return type(value) is int and low <= value <= high


def record_issues(record: list[Any]) -> list[str]:
    """What a reader must drop or repair in a record whose fields have the wrong type
    (format_spec.md 4.4), each as ``"dropped: why"`` or ``"repaired: why"``; [] for a sound
    record or one of a type from a later minor version (skipped, not an error)."""
    code = record[0]
    names = FIELDS.get(code)
    if names is None:
        return []
    values = dict(zip(names, record[1:], strict=False))
    issues: list[str] = []
    node = code in (T_SPAN_START, T_EVENT)
    if not _is_int(values.get("ts")):
        if node:
            return [f"dropped: ts is {_type(values.get('ts'))}, not an integer"]
        if code != T_FILE:
            issues.append(f"repaired: ts is {_type(values.get('ts'))}, not an integer (time unknown)")
    if code == T_ANNOTATION:
        return _annotation_issues(values)
    if code in (T_SESSION_START, T_SESSION_END, T_SESSION_TAGS, T_SPAN_START, T_SPAN_END, T_EVENT):
        if type(values.get("session")) is not str:
            return [f"dropped: session is {_type(values.get('session'))}, not a string"]
    if code in _ID_FIELDS:
        node_id = record[_ID_FIELDS[code]] if len(record) > _ID_FIELDS[code] else None
        if not _is_int(node_id, 0):
            return [f"dropped: id is {_type(node_id)}, not an integer in 0..2^63-1"]
    parent = values.get("parent")
    if node and parent is not None and not _is_int(parent, 0):
        issues.append(f"repaired: parent is {_type(parent)}; read as a root")
    for field in ("kind", "name", "status", "end_state"):
        if field in values and values[field] is not None and type(values[field]) is not str:
            issues.append(f"repaired: {field} is {_type(values[field])}, not a string")
    for field in ("kind", "name", "status"):
        if field in values and values[field] is None and node | (code == T_SPAN_END and field == "status"):
            issues.append(f"repaired: {field} is nil")
    tags = values.get("tags", [])
    if code in (T_SESSION_START, T_SESSION_TAGS):
        if type(tags) is not list:
            issues.append(f"repaired: tags is {_type(tags)}, not an array (ignored)")
        elif any(type(t) is not str for t in tags):
            issues.append("repaired: tags holds values that are not strings (read as their text)")
    end_ts = values.get("end_ts")
    if code == T_EVENT and end_ts is not None and not (_is_int(end_ts) and end_ts >= values["ts"]):
        issues.append(f"repaired: end_ts is {_type(end_ts)} or before ts; read as a point event")
    attrs = values.get("attrs")
    if "attrs" in values and attrs is not None:
        if type(attrs) is not bytes:
            issues.append(f"repaired: attrs is {_type(attrs)}, not a bin (no attributes)")
        elif not isinstance(_decoded_attrs(attrs), dict):
            issues.append("repaired: attrs does not hold a msgpack map (no attributes)")
    more = record[len(names) + 1] if len(record) > len(names) + 1 else None
    if more is not None and type(more) is not dict:
        issues.append(f"repaired: more is {_type(more)}, not a map (ignored)")
    if code in (T_HEARTBEAT, T_DROPPED) and type(values.get("sessions")) is not list:
        issues.append(f"repaired: sessions is {_type(values.get('sessions'))}, not an array (ignored)")
    return issues


def _annotation_issues(values: dict[str, Any]) -> list[str]:
    if type(values.get("session")) is not str:
        return [f"dropped: session is {_type(values.get('session'))}, not a string"]
    target = values.get("target")
    if target is not None and not _is_int(target, 0):
        return [f"dropped: target is {_type(target)}, not nil or a span or event id"]
    if type(values.get("name")) is not str or not values["name"]:
        return [f"dropped: name is {_type(values.get('name'))}, not a string"]
    if type(values.get("value")) not in (str, int, float, bool):
        return [f"dropped: value is {_type(values.get('value'))}, not a label, a number or a boolean"]
    issues = []
    if not _is_int(values.get("ts")):
        issues.append(f"repaired: ts is {_type(values.get('ts'))}, not an integer (time unknown)")
    if values.get("author") is not None and type(values.get("author")) is not str:
        issues.append(f"repaired: author is {_type(values.get('author'))}, not a string")
    return issues


def _decoded_attrs(raw: bytes) -> Any:
    try:
        return msgpack.unpackb(raw, raw=False, strict_map_key=False, max_ext_len=0, unicode_errors="replace")
    except Exception:
        return None


def _type(value: Any) -> str:
    """How a message names a value of the wrong type: its kind, and an integer as itself."""
    if value is None:
        return "nil"
    if type(value) is int:
        return str(value)
    names = {
        "str": "a string",
        "float": "a float",
        "bool": "a bool",
        "bytes": "a bin",
        "list": "an array",
        "dict": "a map",
    }
    return names.get(type(value).__name__, f"a {type(value).__name__}")
