"""Turn records holding arbitrary user values into msgpack bytes, never raising.

Runs on the caller's thread so a record is a snapshot of the values at the moment they were
recorded. The fast path is one C-level ``Packer.pack``; only records that fail to pack or are
too large take the slow path, which walks the value and caps it.
"""

from __future__ import annotations

import threading
from typing import Any

import msgpack

from ._format import ATTRS_AT, FIELDS, MAX_RECORD_SIZE, decode_attrs, to_wire

MAX_REPR = 1000  # characters kept of the repr() of a value msgpack cannot store
MAX_DEPTH = 32
MAX_ITEMS = 1000
TRUNCATION_MARK = "…[truncated {} more]"

_INT_MIN = -(1 << 63)
_UINT_MAX = (1 << 64) - 1


def _repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception as exc:  # a user __repr__ may raise anything
        return f"<unrepresentable {type(value).__qualname__}: {type(exc).__name__}>"
    if len(text) > MAX_REPR:
        return text[:MAX_REPR] + TRUNCATION_MARK.format(f"{len(text) - MAX_REPR} chars")
    return text


_local = threading.local()
MAX_ATTRS_SIZE = MAX_RECORD_SIZE - 4096  # room left for a record's other fields
MAX_HEAD_STR = 1024  # a name or kind longer than this is cut when a record is too large


def _pack() -> Any:
    """This thread's ``Packer.pack`` (a Packer keeps a buffer, so one per thread)."""
    try:
        return _local.pack
    except AttributeError:
        _reset_packer()
        return _local.pack


def _reset_packer() -> None:
    _local.pack = msgpack.Packer(default=_repr).pack  # a failed pack may leave a partial buffer


def pack_attrs(attrs: Any) -> tuple[bytes | None, bool]:
    """The packed attributes map for a record's ``attrs`` bin, and whether it had to be cut.

    The fast path is one thread-local Packer call. Strings with lone surrogates, integers
    beyond 64 bits, deep nesting and oversized maps fail or overflow it and take the slow
    path, which walks the value and caps it; unstorable values become their repr().
    """
    if attrs is None:
        return None, False
    oversized = False
    try:
        data = _pack()(attrs)
    except Exception:
        _reset_packer()
    else:
        if len(data) <= MAX_ATTRS_SIZE:
            return data, False
        oversized = True
    limit = MAX_ATTRS_SIZE
    while True:
        capped = sanitize(attrs, max_str=limit)
        try:
            data = msgpack.packb(capped, default=_repr, unicode_errors="surrogatepass")
        except Exception as exc:
            data = msgpack.packb({"error": _repr(exc)})
        if len(data) <= MAX_ATTRS_SIZE:
            return data, oversized or limit < MAX_ATTRS_SIZE
        if limit < 64:
            return msgpack.packb({"error": "attributes too large to store"}), True
        limit //= 4


def pack_wire(record: list[Any]) -> bytes:
    """msgpack bytes of a record in its on-disk form (``_format.FIELDS``), its attributes
    packed into their bin. Never raises; the result is at most MAX_RECORD_SIZE.

    Runs for every record on the recording thread, so the common case is two C-level
    ``pack`` calls and almost nothing else; anything unusual takes ``_pack_slow``.
    """
    at = ATTRS_AT.get(record[0])
    try:
        pack = _local.pack
        if at is not None and record[at] is not None:  # no attributes: nil, not a bin holding nil
            record[at] = pack(record[at])
        data: bytes = pack(record)
        if len(data) <= MAX_RECORD_SIZE:
            return data
    except Exception:  # AttributeError on a thread's first record; anything msgpack refuses
        _reset_packer()
    return _pack_slow(record, at)


def _pack_slow(record: list[Any], at: int | None) -> bytes:
    if at is not None and at < len(record):
        attrs = record[at]
        if isinstance(attrs, bytes) and len(attrs) > MAX_ATTRS_SIZE:
            attrs = decode_attrs(attrs)
        if not isinstance(attrs, bytes):
            record[at], truncated = pack_attrs(attrs)
            if truncated:
                _mark_truncated(record)
    data: bytes
    try:
        data = _pack()(record)
    except Exception:
        _reset_packer()
        data = b""
    if data and len(data) <= MAX_RECORD_SIZE:
        return data
    # A head field (a name, a tag list) that cannot be stored as is, or is huge.
    head = [sanitize(v, max_str=MAX_HEAD_STR) if not isinstance(v, bytes) else v for v in record]
    _mark_truncated(head)
    try:
        data = msgpack.packb(head, default=_repr, unicode_errors="surrogatepass")
    except Exception as exc:
        data = msgpack.packb([record[0], None, None, {"error": _repr(exc), "truncated": True}])
    if len(data) > MAX_RECORD_SIZE and at is not None and at < len(head):
        head[at] = msgpack.packb({"error": "attributes too large to store"})
        data = msgpack.packb(head, default=_repr, unicode_errors="surrogatepass")
    return data


def _mark_truncated(record: list[Any]) -> None:
    """Set ``truncated: true`` in the record's map of further fields."""
    more_at = 1 + len(FIELDS.get(record[0], ()))
    while len(record) < more_at:
        record.append(None)
    if len(record) == more_at:
        record.append({})
    if not isinstance(record[more_at], dict):
        record[more_at] = {}
    record[more_at]["truncated"] = True


def pack_record(record: dict[str, Any]) -> bytes:
    """msgpack bytes of a record given as a map with named fields (see ``to_wire``)."""
    return pack_wire(to_wire(record))


def unpack_record(data: bytes) -> list[Any]:
    """A packed record back in its on-disk form, as a reader returns it."""
    record: list[Any] = msgpack.unpackb(data, raw=False, strict_map_key=False)
    return record


def sanitize(value: Any, *, max_str: int = MAX_RECORD_SIZE // 4, _depth: int = 0) -> Any:
    """A copy of value made only of msgpack-native types, with long strings and lists capped."""
    if value is None or isinstance(value, (bool, float)):
        return value
    if isinstance(value, int):
        return value if _INT_MIN <= value <= _UINT_MAX else str(value)
    if isinstance(value, str):
        if len(value) > max_str:
            return value[:max_str] + TRUNCATION_MARK.format(f"{len(value) - max_str} chars")
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        return data if len(data) <= max_str else data[:max_str]
    if _depth >= MAX_DEPTH:
        return _repr(value)[:max_str]
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for i, (key, item) in enumerate(value.items()):
            if i >= MAX_ITEMS:
                out["…"] = TRUNCATION_MARK.format(f"{len(value) - MAX_ITEMS} items")
                break
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                key = _repr(key)
            out[key] = sanitize(item, max_str=max_str, _depth=_depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        items = [sanitize(v, max_str=max_str, _depth=_depth + 1) for v in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            items.append(TRUNCATION_MARK.format(f"{len(value) - MAX_ITEMS} items"))
        return items
    return _repr(value)[:max_str]
