"""A rebuildable cache of what a folder's files held, so a second open skips decoding them.

The cache is a snapshot of a ``FolderReader`` (how far each file was read) and the ``Catalog``
built from it (sessions and their node columns), written after a big folder was read, led by
a listing of every session (what a session list shows: ``SessionInfo.listed``). Opening the
folder again reads the reader's part and the listing at once (``open_snapshot``), so a list
can be shown before the sessions are made (``Snapshot.restore``), and then polls as usual:
files that grew are read from where the snapshot stopped, files that disappeared are removed,
and a file whose identity (device, inode) no longer matches, or that is shorter than what was
read, is read again from its start. So the result is exactly what a cold read gives; the
cache only saves time.

It is stored beside the data (``.sessiontrail-index`` in the folder) or, when the folder is
not writable or several paths are open, in the user's cache directory. Any problem with it
(missing, damaged, written by another version, for other paths) means a cold read, never an
error.
"""

from __future__ import annotations

import gc
import hashlib
import io
import logging
import os
import struct
import tempfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import fields
from operator import itemgetter
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import msgpack

from ._nodes import OPEN, NodeTable, Strings
from ._version import __version__
from .catalog import LISTED, Breakdown, Catalog, SessionInfo
from .reader import FileState, FolderReader, Problem, gc_paused
from .summary import listed_summary, summary_line

log = logging.getLogger("sessiontrail")

INDEX_NAME = ".sessiontrail-index"
MAGIC = b"STRAIL-INDEX\n"
VERSION = 16
# After the snapshot: the `ls --json` line of each ended session (``summary.listed_summary``,
# which no longer changes with time), in the listing's order, compressed, then a trailer saying where the
# snapshot ends, its CRC, the lines' CRC. A second open reads only the snapshot; `ls` of a
# folder unchanged since writes the lines as they are (encoding 100,000 summaries took 0.66 s).
TRAILER = struct.Struct("<QII8s")
# The lines (compressed) are kept when they take at most this share of the files' size (0.3%
# at 100,000 sessions of 100 nodes): the index stays a small fraction of the data however
# small the sessions are; without them `ls` encodes each line.
LINES_SHARE = 0.02
TRAILER_MAGIC = b"STLINES\n"
COLUMNS = NodeTable.COLUMNS
_PATH_FIELDS = ("start_file", "end_file")
Row = TypeVar("Row", bound=tuple[Any, ...])  # what a caller keeps of a listed session
MAX_SESSION_BYTES = 1 << 30  # a session saved with its nodes (one running, say, of 10M nodes)
_LISTED_TAGS, _LISTED_FILES, _LISTED_MODELS, _LISTED_AGENTS, _LISTED_HOST, _LISTED_END_STATE = (
    LISTED.index(name) for name in ("tags", "files", "models", "agents", "hostname", "end_state")
)


def cache_path(roots: list[Path]) -> Path:
    """Where the index of these roots lives: in the folder if it is the only root and writable."""
    if len(roots) == 1 and roots[0].is_dir() and os.access(roots[0], os.W_OK):
        return roots[0] / INDEX_NAME
    key = hashlib.sha256("\0".join(str(r.resolve()) for r in roots).encode()).hexdigest()[:24]
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sessiontrail"
    return base / f"index-{key}"


# ---------------------------------------------------------------------------- saving


def save(reader: FolderReader, catalog: Catalog, path: Path) -> bool:
    """Write the snapshot atomically (a temporary file renamed over the old one), a session at
    a time: the whole document is never in memory at once (built whole, it raised the
    viewer's peak by a quarter at 100,000 sessions)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    except OSError as exc:
        log.info("sessiontrail: index cache not written to %s: %s", path, exc)
        return False
    try:
        with os.fdopen(fd, "wb") as fh:
            crc = 0

            def put(data: bytes) -> None:
                nonlocal crc
                crc = zlib.crc32(data, crc)
                fh.write(data)

            fh.write(MAGIC + VERSION.to_bytes(2, "little") + b"\0\0\0\0")  # the CRC, once known
            pack = msgpack.Packer(use_bin_type=True).pack
            put(msgpack.Packer().pack_map_header(8))
            for key, value in (
                ("roots", [str(r) for r in reader.roots]),
                ("files", [_file_state(state) for state in reader.files.values()]),
                ("file_meta", [[str(p), meta] for p, meta in catalog.file_meta.items()]),
                ("pending", [[sid, span, rec, str(p)] for (sid, span), (rec, p) in catalog._pending_ends.items()]),
                ("session_fields", list(SAVED_FIELDS)),
            ):
                put(pack(key) + pack(value))
            # The strings first (every path a session names included), the sessions last: a
            # load can then make each session as it decodes it, never holding them all decoded.
            # Sessions in the order `ls` lists them (by start, then id), which it then keeps.
            sessions = catalog.ordered()
            code = catalog.strings.code
            for session in sessions:
                for p in (*session.files, session.start_file, session.end_file):
                    if p is not None:
                        code(p)
            strings = [["p", str(v)] if isinstance(v, Path) else ["s", v] for v in catalog.strings.values]
            put(pack("strings") + pack(strings))
            # What the list shows of each session, in the sessions' order: a second open lists
            # the folder from it before the sessions are made (``Snapshot.listing``).
            put(pack("listing") + msgpack.Packer().pack_array_header(len(sessions)))
            for session in sessions:
                listed = session.listed()
                files = tuple(code(p) for p in listed[_LISTED_FILES])
                put(pack((*listed[:_LISTED_FILES], files, *listed[_LISTED_FILES + 1 :])))
            put(pack("sessions") + msgpack.Packer().pack_array_header(len(sessions)))
            for session in sessions:
                put(pack(_session(session, catalog.strings)))
            if len(catalog.strings.values) != len(strings):
                raise ValueError("a session named a string written after the strings")
            snapshot_end, snapshot_crc = fh.tell(), crc
            crc = 0
            squeeze = zlib.compressobj(1)  # JSON lines repeat their keys: ~8x smaller
            put(squeeze.compress(pack(_lines_key()) + msgpack.Packer().pack_array_header(len(sessions))))
            for session in sessions:
                ended = session.end_state is not None
                put(squeeze.compress(pack(summary_line(listed_summary(session.listed())) if ended else None)))
            put(squeeze.flush())
            if fh.tell() - snapshot_end > LINES_SHARE * sum(state.size for state in reader.files.values()):
                fh.seek(snapshot_end)  # many tiny sessions: the lines would outweigh the index
                fh.truncate()
                crc = 0
                put(zlib.compress(pack(_lines_key()) + msgpack.Packer().pack_array_header(0), 1))
            fh.write(TRAILER.pack(snapshot_end, snapshot_crc, crc, TRAILER_MAGIC))
            fh.seek(len(MAGIC) + 2)
            fh.write(snapshot_crc.to_bytes(4, "little"))
        os.replace(tmp, path)
        return True
    except (OSError, ValueError, TypeError) as exc:
        log.info("sessiontrail: index cache not written to %s: %s", path, exc)
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return False


def _file_state(state: FileState) -> list[Any]:
    return [
        str(state.path),
        list(state.identity),
        state.offset,
        state.size,
        list(state.version) if state.version else None,
        state.records,
        [[str(p.path), p.kind, p.message, p.offset, p.length] for p in state.problems],
        state.dead,
        state.tail_reported,
        list(state.fingerprint) if state.fingerprint else None,
        state.mtime_ns,
        list(state.writer_key) if state.writer_key else None,
    ]


SESSION_FIELDS = tuple(f.name for f in fields(SessionInfo))
# A session is saved as its listing (``SessionInfo.listed``) and, apart, the fields the listing
# does not hold (its tags and files it holds as tuples; its breakdowns only as entries, its
# annotations only those in force); a restored session shares the listing's values.
SAVED_FIELDS = tuple(f for f in SESSION_FIELDS if f not in LISTED or f in ("models", "agents", "annotations"))


def _session(session: SessionInfo, strings: Strings) -> list[Any]:
    """A session's fields in SAVED_FIELDS order; its paths as numbers in the strings table."""
    out: list[Any] = []
    for name in SAVED_FIELDS:
        value = getattr(session, name)
        if name == "table":
            pending = object.__getattribute__(value, "_load")
            if not session.folded:
                value = None  # let go of (recorder.folder): read from its files when shown
            elif pending is not None:  # restored from an index and never opened: the same bytes
                value = pending.saved
            else:
                source = value.source
                value = {column: getattr(value, column).tobytes() for column in COLUMNS} | {
                    "blob": bytes(value.blob),
                    "source": ["p", str(source)] if isinstance(source, Path) else ["s", source],
                    "multi": value.seen is not None,
                }
        elif name in ("models", "agents"):
            value = dict(value.items()) if session.folded else None  # else: the listing's entries
        elif name in _PATH_FIELDS:
            value = None if value is None else strings.code(value)
        out.append(value)
    return out


# ---------------------------------------------------------------------------- loading


def open_snapshot(path: Path, roots: list[Path]) -> Snapshot | None:
    """The index cache at path for these roots, checked and opened: its reader and listing at
    once, its sessions when restored. None if there is none or it is not usable."""
    try:
        with open(path, "rb") as fh:
            trailer = _trailer(fh)
            if trailer is None:
                return None
            data = fh.read(trailer[0])
    except OSError:
        return None
    try:
        with gc_paused():
            snapshot = Snapshot.open(data, roots)
            # what it holds lives until the sessions are made; the collector would scan it
            # first thing (0.14 s at 100,000 sessions) and find nothing to collect
            gc.freeze()
            return snapshot
    except Exception as exc:  # a damaged or foreign cache is only a slower open
        log.info("sessiontrail: index cache %s ignored: %s", path, exc)
        return None


def ended_lines(path: Path, snapshot: Snapshot) -> list[str | None] | None:
    """The `ls --json` line of each ended session of the snapshot opened from path (None for
    the others), in its listing's order; None if the file no longer holds that snapshot, was
    written by another version, or its lines are damaged."""
    try:
        with open(path, "rb") as fh:
            trailer = _trailer(fh)
            if trailer is None or trailer[1] != snapshot.crc:
                return None
            end, _, crc = trailer
            fh.seek(end)
            raw = fh.read(os.fstat(fh.fileno()).st_size - TRAILER.size - end)
        if zlib.crc32(raw) != crc:
            return None
        inflate = zlib.decompressobj()
        plain = inflate.decompress(raw, 64 * len(raw) + (1 << 20))  # JSON squeezes ~10x, not 64x
        if inflate.unconsumed_tail:
            return None
        unpacker = msgpack.Unpacker(raw=False, max_buffer_size=len(plain) + 1)
        unpacker.feed(plain)
        if unpacker.unpack() != _lines_key():
            return None
        lines: list[str | None] = unpacker.unpack()
    except Exception:  # unreadable or foreign: the lines are made again
        return None
    if not isinstance(lines, list) or len(lines) != len(snapshot.listing):
        return None
    return lines if all(line is None or type(line) is str for line in lines) else None


def _lines_key() -> str:
    """What the lines were made by: another version's may differ in what `ls` prints."""
    return f"ls --json lines, sessiontrail {__version__}"


def _trailer(fh: BinaryIO) -> tuple[int, int, int] | None:
    """(where the snapshot ends, its CRC, the lines' CRC) from the end of an index file."""
    size = fh.seek(0, os.SEEK_END)
    if size < TRAILER.size:
        return None
    fh.seek(size - TRAILER.size)
    end, snapshot_crc, lines_crc, magic = TRAILER.unpack(fh.read(TRAILER.size))
    if magic != TRAILER_MAGIC or end > size - TRAILER.size:
        return None
    fh.seek(0)
    return end, snapshot_crc, lines_crc


class Snapshot:
    """An index cache opened: the reader (how far each file was read) and the listing (what
    the list shows of every session: ``SessionInfo.listed``, its paths as ``Path`` objects),
    read at once; the catalog's sessions made by ``restore``, when wanted (at 100,000
    sessions the listing takes ~0.15 s, the sessions ~0.45 s more)."""

    def __init__(
        self, reader: FolderReader, listing: Sequence[tuple[Any, ...]], sessions: io.BytesIO, document: dict[str, Any]
    ):
        self.reader = reader
        self.listing = listing
        self._sessions = sessions  # the file's bytes, at its sessions
        self._document = document
        self._paths: dict[str, Path] = {}  # one Path object per distinct path
        self.crc = 0  # of the snapshot's bytes: which lines belong to it (``ended_lines``)

    def path_of(self, text: str) -> Path:
        found = self._paths.get(text)
        if found is None:
            found = self._paths[text] = Path(text)
        return found

    @classmethod
    def open(cls, data: bytes, roots: list[Path]) -> Snapshot | None:
        head = len(MAGIC) + 6
        if not data.startswith(MAGIC) or int.from_bytes(data[len(MAGIC) : len(MAGIC) + 2], "little") != VERSION:
            return None
        body = memoryview(data)[head:]
        crc = zlib.crc32(body)
        if crc != int.from_bytes(data[len(MAGIC) + 2 : head], "little"):
            return None
        # Decoded a part at a time: the listing on its own (into tuples), the sessions, last,
        # only by ``restore``, one by one as each is made into a SessionInfo (decoded whole,
        # the document added ~100 MB to the peak at 100,000 sessions). Read from the bytes in
        # place (fed them, an unpacker copies them whole: +50 MB at 100,000 sessions); the
        # offsets it tells are relative to body.
        stream = io.BytesIO(data)
        stream.seek(head)
        unpacker = msgpack.Unpacker(stream, raw=False, strict_map_key=False, max_buffer_size=len(body) + 1)
        document: dict[str, Any] = {}
        listing_at = listing_end = None
        for _ in range(unpacker.read_map_header()):
            key = unpacker.unpack()
            if key == "sessions":
                break
            if key == "listing":
                listing_at = unpacker.tell()
                unpacker.skip()
                listing_end = unpacker.tell()
            else:
                document[key] = unpacker.unpack()
        else:
            return None
        if document["roots"] != [str(r) for r in roots] or document["session_fields"] != list(SAVED_FIELDS):
            return None  # other paths, or written by a version whose sessions had other fields
        if listing_at is None or listing_end is None:
            return None
        # the sessions, made by ``restore``: a copy of their part, so the rest of data goes now
        snapshot = cls(FolderReader(roots), [], io.BytesIO(body[unpacker.tell() :]), document)
        snapshot.crc = crc
        path_of = snapshot.path_of
        for entry in document.pop("files"):
            p, identity, offset, size, version, records, problems, dead, tail, fingerprint, mtime_ns, writer_key = entry
            snapshot.reader.files[path_of(p)] = FileState(
                path_of(p),
                tuple(identity),
                offset,
                size,
                tuple(version) if version else None,
                records,
                [Problem(path_of(a), b, c, d, e) for a, b, c, d, e in problems],
                dead,
                tail,
                tuple(fingerprint) if fingerprint else None,
                mtime_ns,
                writer_key=tuple(writer_key) if writer_key else None,
            )
        document["strings"] = [path_of(value) if kind == "p" else value for kind, value in document["strings"]]
        snapshot.listing = _listing(body[listing_at:listing_end], document["strings"])
        return snapshot

    def keep_as(self, make: Callable[[tuple[Any, ...]], Row]) -> list[Row]:
        """The listing made into what the caller keeps of it (``make(listed)``: a tuple that
        starts with the listed fields, such as a session list's row), kept in its place so the
        sessions made later share it and the listing is not held twice."""
        kept = [make(listed) for listed in self.listing]
        self.listing = kept
        return kept

    def restore(self, read_back: Callable[[NodeTable], None] | None = None) -> Catalog | None:
        """The catalog saved, its sessions sharing the listing's values; None if it cannot be
        made. ``read_back(table)`` fills the tables of sessions saved without their nodes (let
        go of: ``recorder.folder``) when something uses them; ``table.key`` is the session's
        id. Once only: what it was made from is let go."""
        sessions, document, listing = self._sessions, self._document, self.listing
        self._sessions, self._document = io.BytesIO(), {}
        try:
            with gc_paused():
                return _restore(sessions, document, listing, read_back or _nothing, self.path_of)
        except Exception as exc:  # the CRC passed, so only a bug gets here
            log.warning("sessiontrail: index cache: sessions not restored (%s)", exc)
            return None


def _listing(raw: memoryview, strings: list[Any]) -> list[tuple[Any, ...]]:
    """The listing section: tuples, their files as Paths; values that repeat across sessions
    (sets of files and of tags, hosts, end states) as one object each, which rows and
    sessions then share (msgpack makes one per occurrence)."""
    saved = msgpack.unpackb(raw, raw=False, strict_map_key=False, use_list=False)
    file_sets: dict[tuple[int, ...], tuple[Path, ...]] = {}
    same: dict[Any, Any] = {}
    one = same.setdefault
    tags_at, files_at, host_at, state_at = _LISTED_TAGS, _LISTED_FILES, _LISTED_HOST, _LISTED_END_STATE
    assert tags_at < state_at < host_at < files_at
    listing = []
    for row in saved:
        codes = row[files_at]
        files = file_sets.get(codes)
        if files is None:
            files = file_sets[codes] = tuple(strings[i] for i in codes)
        listing.append(
            (
                *row[:tags_at],
                one(row[tags_at], row[tags_at]),
                *row[tags_at + 1 : state_at],
                one(row[state_at], row[state_at]),
                *row[state_at + 1 : host_at],
                one(row[host_at], row[host_at]),
                *row[host_at + 1 : files_at],
                files,
                *row[files_at + 1 :],
            )
        )
    return listing


def _restore(
    sessions: io.BytesIO,
    document: dict[str, Any],
    listing: Sequence[tuple[Any, ...]],
    read_back: Callable[[NodeTable], None],
    path_of: Callable[[str], Path],
) -> Catalog:
    """The catalog: each session made from its listing and its saved fields."""
    catalog = Catalog()
    strings = catalog.strings
    for value in document["strings"]:
        strings.code(value)
    catalog.file_meta = {path_of(p): meta for p, meta in document["file_meta"]}
    catalog._pending_ends = {(sid, span): (record, path_of(p)) for sid, span, record, p in document["pending"]}
    values = strings.values
    at = {name: i for i, name in enumerate(SESSION_FIELDS)}
    table_at, tags_at, files_at, id_at = at["table"], at["tags"], at["files"], at["id"]
    paths_at = [at[name] for name in _PATH_FIELDS]
    tables_at = [(at["models"], _LISTED_MODELS), (at["agents"], _LISTED_AGENTS)]
    # Each of SessionInfo's fields in a listing entry (as long as its first) followed by the saved fields.
    width = len(listing[0]) if listing else len(LISTED)
    field_of = itemgetter(
        *(width + SAVED_FIELDS.index(f) if f in SAVED_FIELDS else LISTED.index(f) for f in SESSION_FIELDS)
    )
    names: dict[str, str] = {}  # model and agent names, one object each
    unpacker = msgpack.Unpacker(sessions, raw=False, strict_map_key=False, max_buffer_size=MAX_SESSION_BYTES)
    count = unpacker.read_array_header()
    if count != len(listing):
        raise ValueError(f"{count} sessions for {len(listing)} listed")
    for listed in listing:
        fields = list(field_of(listed + tuple(unpacker.unpack())))
        fields[tags_at] = list(fields[tags_at])
        fields[files_at] = dict.fromkeys(fields[files_at])
        table = fields[table_at]
        if table is None:  # let go of: counts nothing more (``Catalog.unload``)
            fields[table_at] = NodeTable.deferred(strings, read_back, fields[id_at])
            for i, listed_at in tables_at:
                fields[i] = Breakdown.of_entries(listed[listed_at])
        else:
            fields[table_at] = _table(table, strings)
            for i, _ in tables_at:
                fields[i] = {names.setdefault(k, k): v for k, v in fields[i].items()}
        for i in paths_at:
            if fields[i] is not None:
                fields[i] = values[fields[i]]
        session = SessionInfo(*fields)
        catalog.sessions[session.id] = session
    return catalog


def _nothing(table: NodeTable) -> None:
    """The nodes of a session saved without them, when the caller has nowhere to read them."""


def _table(saved: dict[str, Any], strings: Strings) -> NodeTable:
    def load(table: NodeTable) -> None:
        try:
            for name in COLUMNS:
                getattr(table, name).frombytes(saved[name])
            if len({len(getattr(table, name)) for name in COLUMNS}) != 1:
                raise ValueError("columns of different lengths")
        except (KeyError, ValueError, TypeError) as exc:  # the CRC passed, so only a bug gets here
            log.warning("sessiontrail: index cache: a session's nodes could not be restored (%s)", exc)
            NodeTable.__init__(table, strings)
            return
        table.blob = bytearray(saved["blob"])
        source_kind, source = saved["source"]
        table.source = Path(source) if source_kind == "p" else source
        table.seen = set(table.ids) if saved["multi"] else None
        ends = table.ends
        if OPEN in ends:
            table.open_rows = {table.ids[row]: row for row in range(len(ends)) if ends[row] == OPEN}

    load.saved = saved  # type: ignore[attr-defined]  # written back as is if never loaded
    return NodeTable.deferred(strings, load)
