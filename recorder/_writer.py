"""The background writer: callers enqueue packed records; one thread frames, writes and rotates.

The caller's cost is a length check and a deque append (atomic, so no lock). Framing, checksums
and writes happen on the writer thread, whose zlib and write calls release the GIL, so on a
machine with two cores they overlap the caller's work. Everything that touches the disk
happens on the writer thread (or in ``flush()``/``close()`` when no thread runs), and every
OSError becomes a drop count and one logged warning, never an exception in the caller.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._encode import pack_wire
from ._format import (
    FILE_HEADER_SIZE,
    SESSION_AT,
    T_DROPPED,
    T_HEARTBEAT,
    encode_file_header,
    encode_summary,
    file_name,
    file_record,
    framed,
)

log = logging.getLogger("sessiontrail")

FSYNC_POLICIES = ("never", "session", "always")
WRITE_GROUP = 16 << 20  # bytes per write call: each call waits for the GIL again afterwards


@dataclass(frozen=True, slots=True)
class _Ticket:
    """A flush request in the queue: written once every record before it is."""

    number: int
    fsync: bool


@dataclass(frozen=True)
class WriterConfig:
    flush_interval: float = 0.1  # seconds between writes of what is queued
    heartbeat_interval: float = 2.0  # seconds between heartbeats while sessions are open
    max_queue_records: int = 200_000
    max_queue_bytes: int = 64 << 20
    rotate_bytes: int = 16 << 20
    rotate_seconds: float = 3600.0
    fsync: str = "session"  # never | session (at session end, rotation, close) | always


def _safe_host() -> str:
    host = socket.gethostname() or "host"
    return "".join(c if c.isalnum() or c in "-." else "-" for c in host)[:40]


class Writer:
    """Appends records to rotating files in one folder; one instance per process (per fork)."""

    def __init__(
        self,
        directory: Path,
        config: WriterConfig,
        open_session_records: Callable[..., list[list[Any]]] = lambda since=None, continued=False: [],
        host_info: Callable[[], dict[str, Any] | None] = lambda: None,
    ) -> None:
        self.directory = Path(directory)
        self.config = config
        self._max_records = config.max_queue_records
        self._max_bytes = config.max_queue_bytes
        self._open_session_records = open_session_records
        self._host_info = host_info
        self._init_process_state()

    def _init_process_state(self) -> None:
        """State that a forked child must not share with its parent."""
        # Callers append packed records (and flush tickets) to _queue: deque.append is atomic, so
        # recording takes no lock. The writer thread pops them and builds the frames.
        self._queue: deque[bytes | _Ticket] = deque()
        self._queue_limit = self._max_records  # lowered by the writer when records are big
        self._yield_at = self._queue_limit // 2  # from here on, callers yield the GIL once per record
        # Guards the counters below. Reentrant: a finalizer run by the garbage collector inside
        # a locked region may record too.
        self._lock = threading.RLock()
        self._io_lock = threading.Lock()  # one writer of the file at a time
        self._flush_requests = 0
        self._flushed = 0
        self._done = threading.Condition(threading.Lock())
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.pid = os.getpid()
        self.writer_id = secrets.token_hex(4)
        self._fd: int | None = None
        self._path: Path | None = None
        self._seq = 0
        self._file_bytes = 0
        # session id (UTF-8) -> [start, end, start, end...]: the byte ranges of the frames holding
        # its records in the current file, for the summary written when the file is closed;
        # None when the file cannot have one (a write failed part-way).
        self._ranges: dict[bytes, list[int]] | None = None
        self._heads: list[bytes] = []  # its session records (packed), repeated before the summary
        self._file_opened = 0.0
        self._retry_at = 0.0
        self._last_heartbeat = 0.0
        self.dropped = 0
        self._taken = (0.0, 0.0)  # monotonic times of the previous and the latest take from the queue
        self._dropped_reported = 0
        self._drop_sessions: set[str] = set()  # sessions open while records were dropped
        self._warned = False
        self._outage = False
        self._resumed_logged = False
        self.files: list[Path] = []

    # ------------------------------------------------------------------ caller side
    def submit(self, data: bytes, wake: bool = False, essential: bool = False) -> None:
        """Queue one packed record. Never blocks, never raises, takes no lock.

        When the queue is half full the caller yields the GIL once per record, so the
        writer thread gets to drain it (a busy recording thread otherwise keeps it for whole
        switch intervals). When it is full the record is dropped and counted, unless it is essential (a
        session's start or end, rare and small, without which the session could not be shown
        right). The bound is on records; the writer lowers it when records are large so the
        queue also stays within ``max_queue_bytes``."""
        queue = self._queue
        if len(queue) >= self._yield_at:
            if len(queue) >= self._queue_limit and not essential:
                self._count_full()
                return
            time.sleep(0)  # nearly full: give the writer thread the GIL instead of dropping later
        queue.append(data)
        if wake:
            self._wake.set()
        if self._thread is None:
            self._start()

    def _count_full(self) -> None:
        with self._lock:
            self.dropped += 1
        if not self._warned:
            self._warn("recording queue is full (the disk is slower than the events)")

    def flush(self, timeout: float = 5.0, fsync: bool = False) -> bool:
        """Write everything queued before this call; True if it was written within timeout."""
        with self._lock:
            self._flush_requests += 1
            ticket = self._flush_requests
            self._queue.append(_Ticket(ticket, fsync))
        thread = self._thread
        if thread is None or not thread.is_alive() or thread is threading.current_thread():
            self._write_cycle()
            return True
        self._wake.set()
        deadline = time.monotonic() + timeout
        with self._done:
            while self._flushed < ticket:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not thread.is_alive():
                    break
                self._done.wait(min(remaining, 0.5))
        if self._flushed >= ticket:
            return True
        # The thread died or is stuck: write it ourselves if the file is free.
        if not self._io_lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            return False
        try:
            return self._locked_cycle()
        finally:
            self._io_lock.release()

    def close(self, timeout: float = 5.0) -> None:
        """Flush, fsync (unless the policy is never), stop the thread and close the file."""
        self.flush(timeout, fsync=self.config.fsync != "never")
        self._stopping = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(timeout)
        if self._io_lock.acquire(timeout=timeout):
            try:
                self._close_file()
            finally:
                self._io_lock.release()

    def after_fork_in_child(self) -> None:
        """A forked child gets a fresh queue, lock, thread and file; the parent keeps its own."""
        fd = self._fd
        self._init_process_state()
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass

    # ------------------------------------------------------------------ writer thread
    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="sessiontrail-writer", daemon=True)
        try:
            self._thread.start()
        except RuntimeError:  # interpreter shutting down: flush() writes inline instead
            pass

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(self.config.flush_interval)
            self._wake.clear()
            if self._stopping:
                break
            self._write_cycle()

    def _write_cycle(self) -> None:
        with self._io_lock:
            self._locked_cycle()

    def _take_queued(self) -> tuple[list[_Frame], int, bool]:
        """Everything queued so far as frames, the last flush ticket among it, and whether a
        flush asked for fsync. Only what is queued when this starts is taken: callers keep
        appending meanwhile."""
        # Records of a session that ended before the previous take are all written (or dropped):
        # only sessions that ended since may have records in what is taken now.
        self._taken = (self._taken[1], time.monotonic())
        pop = self._queue.popleft
        records: list[bytes] = []
        ticket, fsync = 0, False
        for _ in range(len(self._queue)):
            item = pop()
            if isinstance(item, bytes):
                records.append(item)
            else:
                ticket, fsync = max(ticket, item.number), fsync or item.fsync
        frames = framed(records)
        if frames:  # keep the queue within max_queue_bytes at the records' current size
            biggest = max(len(frame) // count for frame, count, *_ in frames)
            self._queue_limit = max(1000, min(self._max_records, self._max_bytes // biggest))
            self._yield_at = self._queue_limit // 2
        return frames, ticket, fsync

    def _locked_cycle(self) -> bool:
        """Write what is queued (caller holds _io_lock). Returns True when nothing was dropped."""
        sealed, ticket, fsync = self._take_queued()
        try:
            now = time.time()
            extra: list[list[Any]] = []
            if now - self._last_heartbeat >= self.config.heartbeat_interval:
                sessions = [r[SESSION_AT] for r in self._open_session_records()]
                if sessions:
                    extra.append([T_HEARTBEAT, time.time_ns(), sessions, self.config.heartbeat_interval])
                self._last_heartbeat = now
            dropped = self.dropped
            if dropped != self._dropped_reported:
                self._drop_sessions.update(r[SESSION_AT] for r in self._open_session_records(since=self._taken[0]))
                extra.append([T_DROPPED, time.time_ns(), sorted(self._drop_sessions), dropped])
            ok = True
            if sealed or extra:
                self._check_file_still_there()
                ok = self._write_frames(sealed, _frames_of_records(extra))
                if ok and extra and extra[-1][0] == T_DROPPED:
                    self._dropped_reported = dropped
                    self._drop_sessions.clear()
            if fsync or self.config.fsync == "always":
                self._fsync()
            self._maybe_rotate_by_age()
            return ok
        except Exception as exc:  # never let the writer thread die
            self._warn(f"internal error while writing: {exc!r}")
            return False
        finally:
            with self._done:
                self._flushed = max(self._flushed, ticket)
                self._done.notify_all()

    def _write_frames(self, frames: list[_Frame], extra: list[_Frame]) -> bool:
        """Write the callers' frames then the writer's own, a few MiB per write call (each call
        releases the GIL once), rotating between calls when a file is full. A failed write
        drops only the callers' records in frames not completely written; the file is then
        closed, so nothing is ever appended after a partial frame."""
        queued = sum(count for _, count, *_ in frames)
        frames = frames + extra
        written_records = 0
        i = 0
        while i < len(frames):
            if self._fd is None and not self._open_file():
                self._count_drop(max(0, queued - written_records), "cannot open a file")
                return False
            group_end, group_bytes = i, 0
            while group_end < len(frames) and (group_end == i or group_bytes < WRITE_GROUP):
                group_bytes += len(frames[group_end][0])
                group_end += 1
            data = b"".join(frame for frame, *_ in frames[i:group_end])
            done, error = _write_all(self._fd, data)  # type: ignore[arg-type]
            for frame, count, sessions, heads in frames[i:group_end]:
                if done < len(frame):
                    break
                done -= len(frame)
                written_records += count
                self._note_frame(len(frame), sessions, heads)
                i += 1
            if i < group_end:  # the write failed part-way
                self._count_drop(max(0, queued - written_records), f"cannot write {self._path}: {error}")
                self._ranges = None  # part of a frame may be in the file: no summary after it
                self._close_file()
                return False
            if self._file_bytes >= self.config.rotate_bytes:
                self._close_file()
        return True

    # ------------------------------------------------------------------ files
    def _open_file(self) -> bool:
        now = time.monotonic()
        if now < self._retry_at:
            return False
        record = file_record(
            time.time_ns(),
            self.writer_id,
            pid=self.pid,
            host=socket.gethostname(),
            seq=self._seq,
            host_info=self._host_info(),
            heartbeat_interval=self.config.heartbeat_interval,
        )
        head = [record]
        # Later files restate the sessions of this process, so one file read alone is whole.
        if self._seq:
            head += self._open_session_records(since=self._taken[0], continued=True)
        frames = _frames_of_records(head)
        data = encode_file_header() + b"".join(frame for frame, *_ in frames)
        path = self.directory / file_name(time.time_ns(), f"{_safe_host()}_{self.pid}", self.writer_id, self._seq)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | getattr(os, "O_BINARY", 0), 0o644)
        except OSError as exc:
            self._retry_at = now + 1.0
            self._warn(f"cannot create a session file in {self.directory}: {exc.strerror or exc}")
            return False
        # Header and first frames in one write: a file never exists without its header for long.
        done, error = _write_all(fd, data)
        if error is not None:
            os.close(fd)
            if done == 0:
                _unlink_quietly(path)  # nothing of ours in it: do not leave an empty file behind
            self._retry_at = now + 1.0
            self._warn(f"cannot write {path}: {error}")
            return False
        self._fd, self._path = fd, path
        self._file_bytes, self._ranges, self._heads = FILE_HEADER_SIZE, {}, []
        for frame, _, sessions, heads in frames:
            self._note_frame(len(frame), sessions, heads)
        self._file_opened = now
        self._seq += 1
        self.files.append(path)
        if self._outage:
            self._outage = False
            if not self._resumed_logged:
                self._resumed_logged = True
                log.warning("sessiontrail: recording resumed into %s (%d records dropped so far)", path, self.dropped)
        return True

    def _check_file_still_there(self) -> None:
        """If our file was deleted (or its folder was), start a new one instead of writing
        into a file nobody can open."""
        if self._fd is None:
            return
        try:
            gone = os.fstat(self._fd).st_nlink == 0
        except OSError:
            gone = True
        if gone:
            log.warning("sessiontrail: %s was deleted; recording continues in a new file", self._path)
            self._close_file()

    def _fsync(self) -> None:
        if self._fd is not None:
            try:
                os.fsync(self._fd)
            except OSError:
                pass

    def _note_frame(self, length: int, sessions: set[bytes], heads: list[bytes]) -> None:
        """A frame of ``length`` bytes holding records of ``sessions`` (``heads`` among them)
        was appended."""
        start = self._file_bytes
        self._file_bytes = end = start + length
        ranges = self._ranges
        if ranges is None:
            return
        if heads:
            self._heads += heads
        for sid in sessions:
            spans = ranges.get(sid)
            if spans is None:
                ranges[sid] = [start, end]
            elif spans[-1] == start:
                spans[-1] = end  # the frame follows the previous one of this session
            else:
                spans += (start, end)

    def _write_summary(self) -> None:
        """End the file with its summary (format_spec.md 3.2). It only saves readers time, so
        any problem means a file without one; a partly written one is cut off again."""
        ranges, self._ranges = self._ranges, None
        heads, self._heads = self._heads, []
        if ranges is None or self._fd is None:
            return
        try:
            sessions = {sid.decode(): spans for sid, spans in ranges.items()}
        except UnicodeDecodeError:
            return
        data = encode_summary(time.time_ns(), self._file_bytes, sessions, heads)
        if data is None:
            return
        done, error = _write_all(self._fd, data)
        if error is not None and done:
            try:
                os.ftruncate(self._fd, self._file_bytes)
            except OSError:
                pass

    def _close_file(self) -> None:
        if self._fd is not None:
            self._write_summary()
            if self.config.fsync != "never":
                self._fsync()
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None

    def _maybe_rotate_by_age(self) -> None:
        if self._fd is not None and time.monotonic() - self._file_opened >= self.config.rotate_seconds:
            self._close_file()

    # ------------------------------------------------------------------ problems
    def _count_drop(self, count: int, reason: str) -> None:
        with self._lock:
            self.dropped += count
        self._drop_sessions.update(r[SESSION_AT] for r in self._open_session_records(since=self._taken[0]))
        self._warn(reason)

    def _warn(self, message: str) -> None:
        """Log the first problem of this process; later ones are only counted."""
        self._outage = True
        if not self._warned:
            self._warned = True
            log.warning("sessiontrail: %s; records are being dropped and counted", message)


# a frame, how many records it holds, their sessions, and those of its records a summary repeats
_Frame = tuple[bytes, int, set[bytes], list[bytes]]


def _frames_of_records(records: list[list[Any]]) -> list[_Frame]:
    """The writer's own records (not yet packed) as frames with their sessions: a heartbeat or
    a `dropped` record belongs to every session it names."""
    frames: list[_Frame] = []
    at = 0
    for frame, count, _, heads in framed([pack_wire(r) for r in records]):
        sessions = set()
        for record in records[at : at + count]:
            named = record[SESSION_AT] if len(record) > SESSION_AT else None
            for sid in named if isinstance(named, list) else [named]:
                if isinstance(sid, str):
                    sessions.add(sid.encode("utf-8", "surrogatepass"))
        frames.append((frame, count, sessions, heads))
        at += count
    return frames


def _unlink_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _write_all(fd: int, data: bytes) -> tuple[int, str | None]:
    """Write data; return how many bytes were written and the error that stopped it, if any."""
    view = memoryview(data)
    done = 0
    while done < len(data):
        try:
            written = os.write(fd, view[done:])
        except OSError as exc:
            return done, exc.strerror or str(exc)
        if written == 0:
            return done, "nothing written"
        done += written
    return done, None
