"""Annotations: a person's or an evaluation script's judgement of a session or of one of its
spans or events (``quality = good``, ``correct = True``, ``faithfulness = 0.82``), written as
records into the folder like everything else, so they travel with the sessions.

A reviewer's annotations go into the reviewer's own files (this process's writer, or a file of
their own in another folder): annotating a shared folder never touches the files in it.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any

from . import _clock, _state
from ._encode import pack_wire
from ._format import T_ANNOTATION
from ._home import default_directory
from ._writer import Writer, WriterConfig

Value = str | int | float | bool


def default_author() -> str:
    """user@host of whoever runs this."""
    try:
        user = getpass.getuser()
    except Exception:  # no user name in this environment
        user = "someone"
    return f"{user}@{_state.HOSTNAME}"


def annotation_record(
    session_id: str,
    name: str,
    value: Value,
    *,
    span_id: int | str | None = None,
    note: str | None = None,
    author: str | None = None,
) -> list[Any]:
    """The ``annotation`` record (format_spec.md 4.1); ValueError for what it cannot hold."""
    if not isinstance(name, str) or not name:
        raise ValueError("an annotation needs a name, e.g. 'quality'")
    if not isinstance(value, (str, int, float, bool)):
        raise ValueError(f"an annotation's value is a label, a number or a boolean, not {type(value).__name__}")
    target = int(span_id, 16) if isinstance(span_id, str) else span_id
    record: list[Any] = [
        T_ANNOTATION,
        _clock.now_ns(),
        str(session_id),
        target,
        name,
        value,
        author or default_author(),
    ]
    if note:
        record.append({"note": str(note)})
    return record


def write(record: list[Any], directory: str | Path | None = None) -> None:
    """Write an annotation: through this process's recorder when it records into directory
    (or none is given), else into a new file of its own in directory, flushed at once."""
    config = _state.config
    folder = Path(directory).expanduser() if directory is not None else None
    if folder is None and config is None:
        folder = default_directory()
    if folder is None or (config is not None and folder == config.directory):
        _state.submit(record, wake=True, essential=True)
        return
    if _state._redact is not None:
        record = _state._redact(record)
    writer = Writer(folder, WriterConfig(fsync="always"))
    writer.submit(pack_wire(record), wake=True, essential=True)
    writer.close()
