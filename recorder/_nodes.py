"""The spans and events of one session, stored by column.

A session can hold millions of nodes. As objects (a dataclass, its ints, a dict entry) each
cost about 400 bytes; here a node costs its fixed-width columns (49 bytes), its packed
attributes and an entry in a set of ids, so a session in memory stays near its size on disk.
``Node`` objects are made on demand for the code that wants one; ``columns()`` hands the
columns to numpy without copying.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._format import decode_attrs

NO_ID = -1  # parent of a root
OPEN = -(1 << 63)  # end of a span still open
MAX_ID = (1 << 63) - 1
NO_STATUS = -1


@dataclass(slots=True)
class Node:
    """A span (has a start and, once finished, an end) or a point event, in one session.

    Attributes stay in their packed form until asked for: most nodes of a big session are
    never looked at, and a packed map is a fraction of the size of a decoded one.
    """

    id: int
    parent: int | None
    kind: str
    name: str
    start: int
    end: int | None
    status: str | None  # ok | error | cancelled; None while a span is open
    packed_attrs: bytes | None
    is_span: bool
    file: Path
    packed_end_attrs: bytes | None = None

    @property
    def attrs(self) -> dict[str, Any]:
        """The attributes recorded when the node started (an event's only ones)."""
        return decode_attrs(self.packed_attrs)

    @property
    def end_attrs(self) -> dict[str, Any]:
        """The attributes recorded when a span ended."""
        return decode_attrs(self.packed_end_attrs)

    def all_attrs(self) -> dict[str, Any]:
        attrs = decode_attrs(self.packed_attrs)
        return {**attrs, **decode_attrs(self.packed_end_attrs)} if self.packed_end_attrs else attrs


class Strings:
    """Each distinct string once, numbered: kinds, names, statuses and file paths repeat."""

    __slots__ = ("values", "_index")

    def __init__(self) -> None:
        self.values: list[Any] = []
        self._index: dict[Any, int] = {}

    def code(self, value: Any) -> int:
        code = self._index.get(value)
        if code is None:
            code = self._index[value] = len(self.values)
            self.values.append(value)
        return code


class NodeTable:
    """Columns of one session's nodes, in the order they were read."""

    COLUMNS = (  # one value per node, saved by the index cache as arrays
        "ids",
        "parents",
        "starts",
        "ends",
        "kinds",
        "names",
        "statuses",
        "spans",
        "files",
        "attr_at",
        "end_attr_at",
    )
    __slots__ = ("strings", *COLUMNS, "blob", "source", "seen", "open_rows", "_row_index", "_load", "key")
    key: Any  # a deferred table's owner, for its load function (set by deferred() only)

    def __init__(self, strings: Strings) -> None:
        self.strings = strings  # shared by every session of a catalog
        self._load: Callable[[NodeTable], None] | None = None
        self.ids = array("q")
        self.parents = array("q")
        self.starts = array("q")
        self.ends = array("q")
        self.kinds = array("i")
        self.names = array("i")
        self.statuses = array("i")
        self.spans = array("b")
        self.files = array("i")
        # Packed attributes, all in one buffer: (offset << 24 | length) per node, -1 for none.
        # One bytes object per node would cost ~50 bytes of object header each, twice.
        self.blob = bytearray()
        self.attr_at = array("q")
        self.end_attr_at = array("q")
        # Duplicates (the same span or event read twice) can only come from two sources: one
        # writer never writes an id twice, and copies of its files are recognised whole by the
        # catalog. So the set of ids read, ~64 bytes a node, exists only once a second source
        # (another writer, an export) adds nodes to the session.
        self.source: Any = None
        self.seen: set[int] | None = None
        self.open_rows: dict[int, int] = {}  # span id -> row, for spans waiting for their end
        self._row_index: dict[int, int] | None = None  # id -> row, built when asked for

    @classmethod
    def deferred(cls, strings: Strings, load: Callable[[NodeTable], None], key: Any = None) -> NodeTable:
        """A table whose columns load(table) fills the first time any of them is used (the
        index cache restores thousands of sessions; most are never opened). ``key`` says
        whose table it is, so one load function can serve many tables."""
        table = cls.__new__(cls)
        table.strings = strings
        table._load = load
        table.key = key
        return table

    @property
    def loaded(self) -> bool:
        """False for a deferred table whose columns were never used."""
        return object.__getattribute__(self, "_load") is None

    def take(self, other: NodeTable) -> None:
        """Become other (a table read separately with the same strings): fills a deferred
        table in place, so whoever holds it sees the nodes."""
        self._load = None
        for name in NodeTable.__slots__:
            if name not in ("strings", "_load", "key"):
                setattr(self, name, getattr(other, name))

    def __getattr__(self, name: str) -> Any:
        # Called only for a slot not yet set: the columns of a deferred table.
        load = object.__getattribute__(self, "_load")
        if load is None or name not in NodeTable.__slots__ or name == "key":
            raise AttributeError(name)
        self._load = None
        NodeTable.__init__(self, self.strings)
        load(self)
        return object.__getattribute__(self, name)

    def __len__(self) -> int:
        return len(self.ids)

    def add(
        self,
        node_id: int,
        parent: int,
        kind: str,
        name: str,
        start: int,
        end: int,
        status: str | None,
        packed: bytes | None,
        is_span: bool,
        file: Path,
    ) -> int:
        """Append a node (the caller checked that node_id is new); return its row."""
        row = len(self.ids)
        code = self.strings.code
        self.ids.append(node_id)
        self.parents.append(parent)
        self.starts.append(start)
        self.ends.append(end)
        self.kinds.append(code(kind))
        self.names.append(code(name))
        self.statuses.append(NO_STATUS if status is None else code(status))
        self.spans.append(is_span)
        self.files.append(code(file))
        self.attr_at.append(self._store(packed))
        self.end_attr_at.append(-1)
        if self.seen is not None:
            self.seen.add(node_id)
        if end == OPEN:
            self.open_rows[node_id] = row
        if self._row_index is not None:
            self._row_index[node_id] = row
        return row

    def note_source(self, source: Any) -> None:
        """Nodes are about to come from source (a writer id, or a file for other writers)."""
        if self.source is None:
            self.source = source
        elif self.seen is None and source != self.source:
            self.seen = set(self.ids)

    def has(self, node_id: int) -> bool:
        """Whether a node with this id was already read (only tracked across sources)."""
        return self.seen is not None and node_id in self.seen

    def restate(self, row: int, kind: str, name: str | None) -> None:
        """A span's end said what it was after all (its kind, maybe a new name)."""
        self.kinds[row] = self.strings.code(kind)
        if name is not None:
            self.names[row] = self.strings.code(name)

    def status(self, row: int) -> str | None:
        code = self.statuses[row]
        return None if code == NO_STATUS else str(self.strings.values[code])

    def end_attrs(self, row: int) -> bytes | None:
        """The packed attributes a span ended with."""
        return self.packed(self.end_attr_at[row])

    def finish(self, row: int, end: int, status: str, packed: bytes | None) -> None:
        self.ends[row] = max(end, self.starts[row])
        self.statuses[row] = self.strings.code(status)
        self.end_attr_at[row] = self._store(packed)
        self.open_rows.pop(self.ids[row], None)

    def _store(self, packed: bytes | None) -> int:
        if packed is None or len(packed) >= 1 << 24:
            return -1
        at = len(self.blob)
        self.blob += packed
        return at << 24 | len(packed)

    def packed(self, at: int) -> bytes | None:
        """The packed attributes stored at ``at`` (an ``attr_at``/``end_attr_at`` entry)."""
        if at < 0:
            return None
        start = at >> 24
        return bytes(self.blob[start : start + (at & 0xFFFFFF)])

    def attrs(self, row: int) -> bytes | None:
        """The packed attributes a node started with."""
        return self.packed(self.attr_at[row])

    def row(self, node_id: int) -> int | None:
        """The row of a node. Open spans are found at once (the ancestors of whatever is being
        read usually are); anything else builds an index of every id on first use."""
        row = self.open_rows.get(node_id)
        if row is not None:
            return row
        index = self._row_index
        if index is None:
            index = self._row_index = {node_id: row for row, node_id in enumerate(self.ids)}
        return index.get(node_id)

    def node(self, row: int) -> Node:
        s = self.strings.values
        parent, end, status = self.parents[row], self.ends[row], self.statuses[row]
        return Node(
            id=self.ids[row],
            parent=None if parent == NO_ID else parent,
            kind=s[self.kinds[row]],
            name=s[self.names[row]],
            start=self.starts[row],
            end=None if end == OPEN else end,
            status=None if status == NO_STATUS else s[status],
            packed_attrs=self.packed(self.attr_at[row]),
            is_span=bool(self.spans[row]),
            file=s[self.files[row]],
            packed_end_attrs=self.packed(self.end_attr_at[row]),
        )

    def kind(self, row: int) -> str:
        return str(self.strings.values[self.kinds[row]])

    def name(self, row: int) -> str:
        return str(self.strings.values[self.names[row]])

    def without_file(self, file: Path) -> NodeTable:
        """A copy without the nodes read from file."""
        table = NodeTable(self.strings)
        table.source, table.seen = self.source, (set() if self.seen is not None else None)
        gone = self.strings.code(file)
        for row in range(len(self.ids)):
            if self.files[row] != gone:
                node = self.node(row)
                new = table.add(
                    node.id,
                    self.parents[row],
                    node.kind,
                    node.name,
                    node.start,
                    self.ends[row],
                    node.status,
                    node.packed_attrs,
                    node.is_span,
                    node.file,
                )
                table.end_attr_at[new] = table._store(node.packed_end_attrs)
        return table


class NodesView(Mapping[int, Node]):
    """A session's nodes by id, as ``Node`` objects made when asked for."""

    __slots__ = ("_table",)

    def __init__(self, table: NodeTable) -> None:
        self._table = table

    def __getitem__(self, node_id: int) -> Node:
        row = self._table.row(node_id)
        if row is None:
            raise KeyError(node_id)
        return self._table.node(row)

    def __contains__(self, node_id: object) -> bool:
        return isinstance(node_id, int) and self._table.row(node_id) is not None

    def __iter__(self) -> Iterator[int]:
        return iter(self._table.ids)

    def __len__(self) -> int:
        return len(self._table.ids)

    def values(self) -> _Values:  # type: ignore[override]
        return _Values(self._table)


class _Values:
    """The nodes of a table in row order; iterable any number of times."""

    __slots__ = ("_table",)

    def __init__(self, table: NodeTable) -> None:
        self._table = table

    def __iter__(self) -> Iterator[Node]:
        table = self._table
        return (table.node(row) for row in range(len(table)))

    def __len__(self) -> int:
        return len(self._table)
