"""Incremental reading of sessiontrail files: poll a folder, get only what is new.

``FolderReader.poll()`` returns the records appended since the previous poll (including the
growth of files still being written), the files that disappeared, and every problem found.
It never raises because of what is in a file: damage is skipped, reported and read around.
"""

from __future__ import annotations

import gc
import os
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._format import (
    FILE_HEADER_SIZE,
    FILE_SUFFIX,
    FRAME_HEADER,
    FRAME_HEADER_SIZE,
    MAX_FRAME_PAYLOAD,
    SESSION_AT,
    SUMMARY_AT_SIZE,
    T_DROPPED,
    T_FILE,
    T_HEARTBEAT,
    T_SUMMARY,
    T_SUMMARY_AT,
    TYPE_NAMES,
    FormatError,
    Summary,
    decode_file_header,
    decode_heads,
    decode_payload,
    decode_summary,
    describe_tail,
    is_summary_frame,
    is_writer_id,
    record_dict,
    record_issues,
    scan_frames,
    summary_offset,
    summary_ranges,
)

READ_CHUNK = 4 << 20  # bytes decoded per step: bounds the memory of records in flight
# The first bytes of a file: its header and the first frame's header, whose CRC covers the
# writer's `file` record (writer id, sequence number, time), unique to each file.
FINGERPRINT_BYTES = 64
SETTLE_SECONDS = 2.0  # a file unmodified this long with an unfinished tail is torn


class Wanted:
    """The sessions a read keeps (``FolderReader(wanted=...)``): those whose id is one of
    ``ids``, or with ``prefixes`` starts with one. A session's id is in a file's bytes as they
    are (msgpack strings are UTF-8), so a file or a summary whose bytes hold none of them is
    passed over undecoded."""

    SCAN_AT_MOST = 16  # more ids than this: scanning bytes for each would cost more than it saves

    __slots__ = ("_ids", "_prefixes", "_texts")

    def __init__(self, ids: Iterable[str], *, prefixes: bool = False) -> None:
        self._ids = frozenset(ids)
        self._prefixes = tuple(self._ids) if prefixes else None
        texts = [sid.encode("utf-8", "surrogatepass") for sid in self._ids]
        self._texts = texts if len(texts) <= self.SCAN_AT_MOST and all(texts) else None

    def __call__(self, sid: str) -> bool:
        return sid.startswith(self._prefixes) if self._prefixes is not None else sid in self._ids

    def named_in(self, data: bytes) -> bool:
        """False only if no wanted session can have a record in data."""
        return self._texts is None or any(text in data for text in self._texts)

    def in_file(self, path: Path, size: int) -> bool:
        """False only if no wanted session can have a record in the file's first size bytes."""
        if self._texts is None:
            return True
        overlap = max(map(len, self._texts)) - 1
        with open(path, "rb") as fh:
            tail = b""
            while fh.tell() < size:
                data = tail + fh.read(min(READ_CHUNK, size - fh.tell()))
                if self.named_in(data):
                    return True
                if len(data) == len(tail):
                    return False
                tail = data[-overlap:] if overlap else b""
        return False


@dataclass(frozen=True)
class Problem:
    """Something wrong with a file or a span of its bytes. ``kind`` is one of:
    missing, unreadable, empty, foreign, newer_version, damaged, torn_tail, invalid_record
    (a record dropped or repaired because a field has the wrong type). ``empty`` (a file of 0
    bytes) is a note, not damage: nothing was lost."""

    path: Path
    kind: str
    message: str
    offset: int | None = None
    length: int | None = None

    def __str__(self) -> str:
        where = f" (bytes {self.offset}-{self.offset + self.length})" if self.offset is not None and self.length else ""
        return f"{self.path}: {self.message}{where}"

    @property
    def is_damage(self) -> bool:
        return self.kind != "empty"


@dataclass
class FileRecords:
    """Records of one file in their on-disk form: lists whose first element is the type code
    (``_format.FIELDS``); ``record_dict`` names their fields."""

    path: Path
    records: list[list[Any]]


@dataclass
class Batch:
    """What one poll found."""

    files: list[FileRecords] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)
    streamed: int = 0  # records handed to poll(apply=...) instead of kept in files
    complete: bool = True  # False: the poll's deadline passed before every file was read

    @property
    def record_count(self) -> int:
        return self.streamed + sum(len(f.records) for f in self.files)

    def records(self) -> Iterator[dict[str, Any]]:
        """Every record as a map with named fields and decoded attributes."""
        for f in self.files:
            for record in f.records:
                yield record_dict(record)


@dataclass
class FileState:
    """How far one file has been read, and what is known about it."""

    path: Path
    identity: tuple[int, int]
    offset: int = 0
    size: int = 0
    version: tuple[int, int] | None = None
    records: int = 0
    problems: list[Problem] = field(default_factory=list)
    dead: bool = False  # foreign or unreadable: skipped until it changes
    tail_reported: int = -1  # offset of the tail already reported as torn
    # (length, CRC-32) of the file's first bytes when first read: a file deleted and replaced
    # can get the same inode number back, so identity alone does not prove it is the same file.
    fingerprint: tuple[int, int] | None = None
    mtime_ns: int = 0  # when last read: a file whose size and mtime are unchanged is not re-checked
    frame_keys: set[tuple[int, bytes, bytes]] = field(default_factory=set)  # to skip repeated frames
    # (writer, seq, ts) of its `file` record: files with the same one are copies of one file
    writer_key: tuple[Any, ...] | None = None

    @property
    def damaged(self) -> bool:
        return any(p.kind in ("damaged", "torn_tail") for p in self.problems)


class FolderReader:
    """Reads ``*.trail`` files under folders (recursively) and explicitly named files."""

    def __init__(
        self,
        paths: Iterable[str | os.PathLike[str]] | str | os.PathLike[str],
        *,
        settle_seconds: float = SETTLE_SECONDS,
        validate: bool = False,
        wanted: Callable[[str], bool] | None = None,
    ) -> None:
        """``validate``: also report every record a reader must drop or repair because a field
        has the wrong type (``_format.record_issues``; what ``sessiontrail verify`` does).

        ``wanted``: read only the sessions whose id it accepts. Their records are exactly the
        ones a full read gives, but of a file that ends with a summary (format_spec.md 3.2)
        only the frames holding them are read; problems are found only in what is read."""
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        self.roots = [Path(p) for p in paths]
        self.settle_seconds = settle_seconds
        self.validate = validate
        self.wanted = wanted
        self.summaries_used = 0  # files of which only the summary and the wanted frames were read
        self.bytes_read = 0
        # Copies of one file (the same writer, seq and ts in their `file` records) are read as
        # one file: the union of their valid frames, each frame once (format_spec.md 4.2).
        # writer key -> frame key -> the file it was first read from.
        self._copy_frames: dict[tuple[Any, ...], dict[tuple[int, bytes, bytes], Path]] = {}
        self.files: dict[Path, FileState] = {}
        self._missing_reported: set[Path] = set()
        self._apply: Callable[[Batch], Any] | None = None
        self._deadline: float | None = None  # of the current poll (``poll(deadline=...)``)

    def poll(
        self,
        *,
        final: bool = False,
        progress: Callable[[int, int], None] | None = None,
        apply: Callable[[Batch], Any] | None = None,
        deadline: float | None = None,
    ) -> Batch:
        """Read what is new. An unfinished tail is reported as torn once the file has not been
        modified for ``settle_seconds``, or at once with ``final=True``. ``progress(done, total)``
        is called as files are read, and at the end with the files read to their end.

        With ``apply`` (for example ``Catalog.apply``), records are handed over as they are
        decoded, a chunk at a time, in small batches (removed files first), instead of being
        collected: a folder of millions of records never sits in memory as decoded records.

        ``deadline`` (a ``time.monotonic()`` value): once it has passed, files not yet read are
        left for the next poll (``Batch.complete`` is then False), so a long first read can be
        done in steps with other work between them.
        """
        batch = Batch()
        self._apply = apply
        self._deadline = deadline
        # By name: a writer's files then come in the order it wrote them (names start with the
        # time and end with a sequence number), so spans mostly end after they start.
        found = dict(sorted(self._discover(batch), key=lambda item: item[0].name))
        for path in [p for p in self.files if p not in found]:
            del self.files[path]
            self._removed(batch, path)
        started = 0  # files read for the first time in this poll: at least one is, whatever the deadline
        for done, (path, st) in enumerate(found.items()):
            if progress is not None and done % 50 == 0 and done and deadline is None:
                progress(done, len(found))
            state = self.files.get(path)
            if deadline is not None:
                if not batch.complete:
                    continue  # the deadline passed: the rest waits for the next poll
                if state is None:
                    if started and time.monotonic() > deadline:
                        batch.complete = False
                        continue
                    started += 1
            identity = (st.st_dev, st.st_ino)
            if state is not None and (
                state.identity != identity
                or st.st_size < state.offset
                or (
                    (st.st_size, st.st_mtime_ns) != (state.size, state.mtime_ns)
                    and not _same_start(path, state.fingerprint)
                )
            ):
                del self.files[path]  # replaced or truncated: read it again from the start
                self._removed(batch, path)
                state = None
            if state is None:
                state = self.files[path] = FileState(path, identity)
            state.mtime_ns = st.st_mtime_ns
            settled = final or time.time() - st.st_mtime >= self.settle_seconds
            self._read(state, st.st_size, batch, settled)
        self._apply = self._deadline = None
        if progress is not None:
            done = sum(1 for path, st in found.items() if path in self.files and self.files[path].offset >= st.st_size)
            progress(done, len(found))
        return batch

    def _removed(self, batch: Batch, path: Path) -> None:
        for frames in self._copy_frames.values():
            for key in [k for k, owner in frames.items() if owner == path]:
                del frames[key]
        batch.removed.append(path)
        if self._apply is not None:
            self._apply(Batch(removed=[path]))

    def _deliver(self, batch: Batch, state: FileState, records: list[list[Any]]) -> None:
        if not records:
            return
        state.records += len(records)
        if self._apply is not None:
            batch.streamed += len(records)
            self._apply(Batch(files=[FileRecords(state.path, records)]))
        else:
            batch.files.append(FileRecords(state.path, records))

    # ------------------------------------------------------------------ discovery
    def discover(self) -> list[tuple[Path, os.stat_result]]:
        """The files under the reader's paths now, with their stat results (what is missing
        is reported by ``poll``, not here)."""
        return list(self._discover(None))

    def unchanged(self) -> bool:
        """Whether a poll would read nothing and report nothing new: every path there, the
        same files, each with the identity, size and mtime it had when last read, read to its
        end or its cut-short tail already reported."""
        if not all(root.exists() for root in self.roots):
            return False
        found = dict(self._discover(None))
        if found.keys() != self.files.keys():
            return False
        for path, st in found.items():
            state = self.files[path]
            if (st.st_dev, st.st_ino) != state.identity or (st.st_size, st.st_mtime_ns) != (state.size, state.mtime_ns):
                return False
            if not state.dead and state.offset < st.st_size and state.tail_reported != state.offset:
                return False
        return True

    def _discover(self, batch: Batch | None) -> Iterator[tuple[Path, os.stat_result]]:
        for root in self.roots:
            try:
                st = root.stat()
            except OSError as exc:
                if batch is not None and root not in self._missing_reported:
                    self._missing_reported.add(root)
                    reason = (
                        "does not exist" if isinstance(exc, FileNotFoundError) else f"cannot be read ({exc.strerror})"
                    )
                    batch.problems.append(Problem(root, "missing", f"{root} {reason}"))
                continue
            if batch is not None:
                self._missing_reported.discard(root)
            if root.is_dir():
                yield from _walk(root)
            else:
                yield root, st

    # ------------------------------------------------------------------ reading
    def _read(self, state: FileState, size: int, batch: Batch, settled: bool) -> None:
        """Read new bytes; ``settled`` means the file stopped changing, so its tail is final."""
        if state.dead and size == state.size:
            return
        if size != state.size:
            state.problems = [p for p in state.problems if p.kind != "torn_tail"]
        state.size = size
        state.dead = False
        tail = b""
        try:
            if self.wanted is not None and state.offset == 0:
                if self._read_summarized(state, size, batch):
                    return
                if isinstance(self.wanted, Wanted) and not self.wanted.in_file(state.path, size):
                    state.offset = size  # no record of a wanted session can be in it
                    return
            if state.offset < size:
                with open(state.path, "rb") as fh, gc_paused():
                    if not self._read_from(fh, state, size, batch):
                        return  # the poll's deadline passed: the rest is read by the next poll
                    if settled and state.offset < size and state.tail_reported != state.offset:
                        fh.seek(state.offset)
                        tail = fh.read(min(size - state.offset, FRAME_HEADER_SIZE + MAX_FRAME_PAYLOAD))
        except OSError as exc:
            state.dead = True
            self._problem(state, batch, Problem(state.path, "unreadable", f"cannot read: {exc.strerror or exc}"))
            return
        if state.dead or not settled:
            return
        if tail:
            state.tail_reported = state.offset
            what = "file header cut short" if state.version is None else describe_tail(tail)
            problem = Problem(state.path, "torn_tail", f"torn tail: {what}", state.offset, size - state.offset)
            self._problem(state, batch, problem)
        elif size == 0 and not state.problems:
            # A file just created, or copied while empty: not damage, nothing in it was lost.
            # (A header with nothing after it is a writer that just started: no problem at all.)
            self._problem(state, batch, Problem(state.path, "empty", "empty file (0 bytes)"))

    def _read_summarized(self, state: FileState, size: int, batch: Batch) -> bool:
        """Read the header, the first frame and the frames of the wanted sessions of a file
        that ends with a valid summary; False (nothing read) if it does not have one."""
        assert self.wanted is not None
        with open(state.path, "rb") as fh:
            found = _summary_of(fh, size, self.wanted if isinstance(self.wanted, Wanted) else None)
            fh.seek(FILE_HEADER_SIZE)
            first = fh.read(FRAME_HEADER_SIZE)
            if found is None or len(first) < FRAME_HEADER_SIZE:
                return False
            at, summary = found
            # The first frame holds the `file` record: who wrote the file, which copies are of it.
            ranges = [(FILE_HEADER_SIZE, min(at, FILE_HEADER_SIZE + FRAME_HEADER_SIZE + FRAME_HEADER.unpack(first)[1]))]
            wanted = self.wanted
            for sid, flat in summary.sessions.items():
                if type(sid) is str and wanted(sid):
                    spans = summary_ranges(flat, at)
                    if spans is None:
                        return False  # a summary that does not read: the file is read in full
                    ranges += spans
            if len(ranges) == 1:  # none of the wanted sessions is in this file: nothing to read
                state.offset = state.size = size
                self.summaries_used += 1
                return True
            with gc_paused():
                fh.seek(0)
                self._read_from(fh, state, FILE_HEADER_SIZE, batch)  # the header
                if state.dead:
                    return True
                for start, end in sorted(ranges):
                    if end <= state.offset:
                        continue
                    state.offset = max(state.offset, start)
                    self._read_from(fh, state, end, batch)
                    if state.offset < end:
                        self._problem(
                            state,
                            batch,
                            Problem(
                                state.path,
                                "damaged",
                                "skipped bytes that are not frames",
                                state.offset,
                                end - state.offset,
                            ),
                        )
            state.offset = size
        self.summaries_used += 1
        return True

    def _read_from(self, fh: Any, state: FileState, size: int, batch: Batch) -> bool:
        """Read from state.offset to size, delivering the records of each chunk; False if the
        poll's deadline passed first (``batch.complete`` is then False)."""
        if state.fingerprint is None or state.fingerprint[0] < min(size, FINGERPRINT_BYTES):
            start = fh.read(min(size, FINGERPRINT_BYTES))
            state.fingerprint = (len(start), zlib.crc32(start))
            fh.seek(state.offset)
        if state.version is None:
            head = fh.read(FILE_HEADER_SIZE)
            if len(head) < FILE_HEADER_SIZE:
                if not head.startswith(b"\x89STRAIL\n"[: len(head)]):
                    state.dead = True
                    self._problem(
                        state,
                        batch,
                        Problem(state.path, "foreign", f"not a sessiontrail file (starts with {head[:8]!r})"),
                    )
                return True
            try:
                state.version = decode_file_header(head)
            except FormatError as exc:
                state.dead = True
                kind = "newer_version" if head.startswith(b"\x89STRAIL\n") else "foreign"
                self._problem(state, batch, Problem(state.path, kind, str(exc)))
                return True
            state.offset = FILE_HEADER_SIZE
        while state.offset < size:
            fh.seek(state.offset)
            data = fh.read(min(READ_CHUNK, size - state.offset))
            self.bytes_read += len(data)
            if not data:
                break
            scan = scan_frames(data)
            base = state.offset
            records: list[list[Any]] = []

            def damaged(reason: str, offset: int, length: int, base: int = base, kind: str = "damaged") -> None:
                self._problem(state, batch, Problem(state.path, kind, reason, base + offset, length))

            for damage in scan.damage:
                damaged(f"skipped {damage.reason}", damage.offset, damage.length)
            for frame_offset, payload in scan.frames:
                frame_length = FRAME_HEADER_SIZE + len(payload)
                # A frame seen before in this file (a copy tool or a disk repeated it): a writer
                # never writes the same frame twice, and its records must not count twice.
                key = (
                    len(payload),
                    data[frame_offset + 8 : frame_offset + 12],
                    bytes(payload[:16]),
                )  # length, CRC, start
                if key in state.frame_keys:
                    damaged("skipped a repeated frame", frame_offset, frame_length)
                    continue
                state.frame_keys.add(key)
                copies = self._copy_frames.get(state.writer_key) if state.writer_key is not None else None
                if copies is not None and copies.setdefault(key, state.path) != state.path:
                    continue  # this frame was read from another copy of the file
                try:
                    decoded = decode_payload(payload)
                except ValueError as exc:
                    damaged(str(exc), frame_offset, frame_length)
                    continue
                if state.writer_key is None and decoded and type(decoded[0]) is list and decoded[0][:1] == [T_FILE]:
                    state.writer_key = _writer_key(decoded[0])
                    if state.writer_key is not None:
                        copies = self._copy_frames.setdefault(state.writer_key, {})
                        if copies.setdefault(key, state.path) != state.path:
                            continue  # a copy's first frame: the same as the original's
                for record in decoded:
                    if type(record) is list and record and type(record[0]) is int:
                        if self.wanted is not None:
                            record = _of_wanted(record, self.wanted)
                            if record is None:
                                continue
                        records.append(record)
                        if self.validate:
                            for issue in record_issues(record):
                                name = TYPE_NAMES.get(record[0], record[0])
                                damaged(f"{name} record {issue}", frame_offset, frame_length, kind="invalid_record")
                    else:
                        damaged(
                            f"a record that is not an array with a type code: {_short(record)}",
                            frame_offset,
                            frame_length,
                        )
            state.offset = base + scan.end
            self._deliver(batch, state, records)
            if len(data) < READ_CHUNK:
                break
            # A full chunk: any frame that starts in it ends within this distance of its end.
            limit = len(data) - (FRAME_HEADER_SIZE + MAX_FRAME_PAYLOAD)
            if scan.end < limit:
                self._problem(
                    state,
                    batch,
                    Problem(state.path, "damaged", "skipped bytes that are not frames", state.offset, limit - scan.end),
                )
                state.offset = base + limit
            if self._deadline is not None and time.monotonic() > self._deadline:
                batch.complete = False
                return False
        return True

    @staticmethod
    def _problem(state: FileState, batch: Batch, problem: Problem) -> None:
        state.problems.append(problem)
        batch.problems.append(problem)


def _summary_of(fh: Any, size: int, wanted: Wanted | None = None) -> tuple[int, Summary] | None:
    """Where a file of ``size`` bytes open in ``fh`` has its summary frame, and the summary;
    None if it does not end with a valid one (format_spec.md 3.2). With ``wanted``, a summary
    naming none of its sessions is not decoded: it is returned empty."""
    if size < FILE_HEADER_SIZE + SUMMARY_AT_SIZE:
        return None
    fh.seek(size - SUMMARY_AT_SIZE)
    at = summary_offset(fh.read(SUMMARY_AT_SIZE), size)
    if at is None:
        return None
    fh.seek(at)
    frame = fh.read(size - SUMMARY_AT_SIZE - at)
    if wanted is not None and not wanted.named_in(frame) and is_summary_frame(frame, at):
        return at, Summary({}, None)
    summary = decode_summary(frame, at)
    return None if summary is None else (at, summary)


def read_heads(path: Path) -> tuple[list[list[Any]], list[str]] | None:
    """What a closed file says of its sessions without reading them (format_spec.md 3.3): the
    records of its first frame (its `file` record) and the session records its `heads` repeat,
    and the ids of every session with records in it. None if it has no valid summary with
    heads (a file still being written, cut short, damaged, or older than 2.4)."""
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            found = _summary_of(fh, size)
            if found is None:
                return None
            at, summary = found
            heads_at = summary.heads_at
            if heads_at is None:
                return None
            fh.seek(0)
            decode_file_header(fh.read(FILE_HEADER_SIZE))
            head = fh.read(FRAME_HEADER_SIZE)
            length = FRAME_HEADER.unpack(head)[1] if len(head) == FRAME_HEADER_SIZE else 0
            first = scan_frames(head + fh.read(min(length, at))).frames[:1]
            fh.seek(heads_at)
            heads = decode_heads(fh.read(at - heads_at))
    except (OSError, FormatError):
        return None
    if heads is None or not first:
        return None
    try:  # the first frame's `file` record: who wrote the file
        records = [r for r in decode_payload(first[0][1]) if type(r) is list and r and r[0] == T_FILE]
    except ValueError:
        return None
    return records + heads, [sid for sid in summary.sessions if type(sid) is str]


def _of_wanted(record: list[Any], wanted: Callable[[str], bool]) -> list[Any] | None:
    """The record as a read of the wanted sessions sees it: None if it is about none of them,
    a heartbeat or `dropped` record naming only them; `file` records are always kept."""
    code = record[0]
    if code == T_FILE:
        return record
    if code in (T_SUMMARY, T_SUMMARY_AT) or len(record) <= SESSION_AT:
        return None
    named = record[SESSION_AT]
    if code in (T_HEARTBEAT, T_DROPPED):
        if type(named) is not list:
            return None
        kept = [sid for sid in named if type(sid) is str and wanted(sid)]
        return [code, record[1], kept, *record[3:]] if kept else None
    return record if type(named) is str and wanted(named) else None


def _same_start(path: Path, fingerprint: tuple[int, int] | None) -> bool:
    """Whether the file still starts with the bytes it started with when first read."""
    if fingerprint is None:
        return True
    length, crc = fingerprint
    try:
        with open(path, "rb") as fh:
            start = fh.read(length)
    except OSError:
        return True  # unreadable now: _read reports it
    return len(start) == length and zlib.crc32(start) == crc


@contextmanager
def gc_paused() -> Iterator[None]:
    """Suspend the cyclic garbage collector while millions of records are decoded or folded.

    Each decoded record is a list the collector tracks; with it running, reading slowed to
    half speed (it rescans the growing heap of records, none of which is garbage).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _walk(root: Path) -> Iterator[tuple[Path, os.stat_result]]:
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                elif entry.name.endswith(FILE_SUFFIX) and entry.is_file():
                    yield Path(entry.path), entry.stat()
            except OSError:
                continue


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def read_file(path: str | os.PathLike[str]) -> tuple[list[dict[str, Any]], list[Problem]]:
    """Every readable record of one file and every problem in it, treating the tail as final."""
    reader = FolderReader([path])
    batch = reader.poll(final=True)
    return list(batch.records()), batch.problems


def _writer_key(record: list[Any]) -> tuple[Any, ...] | None:
    """(writer, seq, ts) of a `file` record of a sessiontrail writer, which names the file it
    opens whatever it is called or wherever it was copied; None for exports and imports."""
    more = record[2] if len(record) > 2 and type(record[2]) is dict else {}
    writer, seq, ts = more.get("writer"), more.get("seq"), record[1] if len(record) > 1 else None
    return (writer, seq, ts) if is_writer_id(writer) and type(seq) is int and type(ts) is int else None
