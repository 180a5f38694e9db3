"""Sessions out of a folder into a file to share (``sessiontrail export``), and files of other
tools into a folder (``sessiontrail import``).

Export formats: ``trail`` (ours: opens in the viewer), ``jsonl`` (a record per line, bytes as
``{"base64": ...}``), ``otlp-json`` and ``chrome`` (see ``interchange``). Import reads
OTLP/JSON traces and our own JSON lines.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._encode import pack_record, unpack_record
from ._format import encode_file_header, encode_frames, file_name, file_record, record_dict
from .catalog import Catalog, SessionInfo
from .reader import Batch, FileRecords

SUFFIXES = {"trail": "trail", "jsonl": "jsonl", "otlp-json": "otlp.json", "chrome": "chrome.json"}


@dataclass
class Export:
    """Selected sessions: their records (by time, the ``file`` record first in ``head``) and
    the sessions as folded from exactly these records."""

    head: dict[str, Any]
    records: list[dict[str, Any]]
    catalog: Catalog
    sessions: list[SessionInfo]


def select(
    catalog: Catalog, batch: Batch, sessions: list[SessionInfo], *, redact_keys: set[str] | None = None
) -> Export:
    """The records of sessions from a batch read by a FolderReader. With ``redact_keys`` (a
    set, maybe empty) secrets are masked first: the built-in keys and formats plus these keys."""
    ids = {s.id for s in sessions}
    records = sorted(
        (r for r in batch.records() if r.get("session") in ids and r.get("type") != "heartbeat"),
        key=lambda r: r["ts"] if isinstance(r.get("ts"), int) else 0,
    )
    meta = next((catalog.file_meta[s.start_file] for s in sessions if s.start_file in catalog.file_meta), {})
    head = record_dict(
        file_record(
            time.time_ns(),
            "export",
            exported=sorted(ids),
            host_info=meta.get("host_info"),
            heartbeat_interval=meta.get("heartbeat_interval"),
        )
    )
    if redact_keys is None:
        return Export(head, records, catalog, sessions)
    from .redact import DEFAULT_KEYS, Redactor

    redact = Redactor(DEFAULT_KEYS | redact_keys)
    head, records = redact(head), [redact(r) for r in records]
    # Sessions for the JSON formats and OTLP come from the redacted records, not the originals.
    redacted = Catalog()
    redacted.apply(
        Batch(files=[FileRecords(Path("export"), [unpack_record(pack_record(r)) for r in [head, *records]])])
    )
    return Export(head, records, redacted, [redacted.sessions[s.id] for s in sessions if s.id in redacted.sessions])


def write(export: Export, format: str, output: Path) -> None:
    """Write an export to a new file (never over an existing one) in one of ``SUFFIXES``."""
    if format == "jsonl":
        with open(output, "x", encoding="utf-8") as fh:
            for record in [export.head, *export.records]:
                fh.write(json.dumps(record, ensure_ascii=False, default=json_default) + "\n")
    elif format in ("otlp-json", "chrome"):
        from .interchange import to_chrome, to_otlp_json

        if format == "otlp-json":
            document = to_otlp_json(export.catalog, export.sessions)
        else:
            document = to_chrome(export.sessions)
        with open(output, "x", encoding="utf-8") as fh:
            json.dump(document, fh, ensure_ascii=False, default=json_default)
    else:
        write_trail(output, [export.head, *export.records])


def write_trail(path: Path, records: list[dict[str, Any]]) -> None:
    """A new session file holding records (the first should be a ``file`` record)."""
    frames = encode_frames([pack_record(r) for r in records])
    with open(path, "xb") as fh:
        fh.write(encode_file_header() + b"".join(frame for frame, _ in frames))


def import_text(source_name: str, text: str, folder: Path) -> tuple[Path, int, int]:
    """Write the traces in text (OTLP/JSON, or our JSON lines) as a new file in folder;
    return the file, how many sessions and how many records it holds. ValueError if text is
    neither."""
    records = records_from_text(text)
    folder.mkdir(parents=True, exist_ok=True)
    now = time.time_ns()
    head = record_dict(file_record(now, "import", imported_from=source_name))
    output = folder / file_name(now, "import", uuid.uuid4().hex[:8], 0)
    write_trail(output, [head, *records])
    sessions = {r["session"] for r in records if r.get("type") == "session_start"}
    return output, len(sessions), len(records)


def records_from_text(text: str) -> list[dict[str, Any]]:
    """Records from an OTLP/JSON document or from our own JSON lines (``export --format jsonl``)."""
    from .interchange import records_from_otlp_json

    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if isinstance(document, dict) and "resourceSpans" in document:
        return records_from_otlp_json(document)
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line, object_hook=_from_json_bytes)
        except ValueError:
            record = None
        if not isinstance(record, dict) or not isinstance(record.get("type"), str):
            raise ValueError(
                f"line {number} is not a sessiontrail record, and the file is not an OTLP/JSON traces document (no resourceSpans)"
            )
        if record["type"] != "file":
            records.append(record)
    return records


def _from_json_bytes(value: dict[str, Any]) -> Any:
    """Undo json_default for bytes ({"base64": ...})."""
    if len(value) == 1 and isinstance(value.get("base64"), str):
        try:
            return base64.b64decode(value["base64"])
        except ValueError:
            return value
    return value


def json_default(value: Any) -> Any:
    """How values JSON has no type for are written: bytes as ``{"base64": ...}``, else repr."""
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode("ascii")}
    return repr(value)
