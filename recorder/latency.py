"""How long LLM calls and tool calls took: a small sketch per session, summed across sessions.

Analytics shows p50 and p95 durations by model and by tool over thousands of sessions. Their
nodes are not all in memory (``recorder.folder`` lets go of ended sessions' nodes), so each
session keeps a sketch instead: per (kind, name), a count per duration bin, the bins growing
by ``GAMMA`` (as DDSketch does). A session's sketch has a few bins however many calls it made,
sketches add up, and a quantile read from the sum is within ``ACCURACY`` of the exact one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

import msgpack
import numpy as np

from ._nodes import OPEN, NodeTable

if TYPE_CHECKING:
    from .catalog import SessionInfo

KINDS = ("llm", "tool")
GAMMA = 1.02
ACCURACY = (GAMMA - 1) / (GAMMA + 1)  # relative error of a quantile: under 1%
_LOG_GAMMA = math.log(GAMMA)
ZERO = -(1 << 31)  # the bin of calls that took no time at all

Sketch = dict[tuple[str, str], dict[int, int]]  # (kind, name) -> bin -> calls


def sketch_of(table: NodeTable) -> bytes:
    """The packed sketch of a session's nodes: ``[[kind, name, [bin, count, ...]], ...]``."""
    out: list[list[object]] = []
    if len(table):
        index = table.strings._index
        kinds = np.frombuffer(table.kinds, dtype=np.int32)
        names = np.frombuffer(table.names, dtype=np.int32)
        starts = np.frombuffer(table.starts, dtype=np.int64)
        ends = np.frombuffer(table.ends, dtype=np.int64)
        for kind in KINDS:
            code = index.get(kind)
            if code is None:
                continue
            rows = np.flatnonzero((kinds == code) & (ends != OPEN))
            if not len(rows):
                continue
            nanoseconds = np.maximum(ends[rows] - starts[rows], 0).astype(np.float64)
            with np.errstate(divide="ignore"):
                bins = np.where(nanoseconds > 0, np.ceil(np.log(nanoseconds) / _LOG_GAMMA), ZERO).astype(np.int64)
            row_names = names[rows]
            for name_code in np.unique(row_names).tolist():
                found, counts = np.unique(bins[row_names == name_code], return_counts=True)
                flat = np.column_stack((found, counts)).ravel().tolist()
                out.append([kind, str(table.strings.values[name_code]), flat])
    packed: bytes = msgpack.packb(out)
    return packed


def of_session(session: SessionInfo) -> bytes:
    """A session's packed sketch: the one kept since its nodes were let go, else made from
    its nodes (those in memory, or read back)."""
    if session.latency is not None and not session.table.loaded:
        return session.latency
    return sketch_of(session.table)


def add(total: Sketch, packed: bytes) -> None:
    """Add a session's packed sketch to a sum."""
    for kind, name, flat in msgpack.unpackb(packed):
        bins = total.setdefault((kind, name), {})
        for i in range(0, len(flat), 2):
            bins[flat[i]] = bins.get(flat[i], 0) + flat[i + 1]


def merged(sketches: Iterable[bytes]) -> Sketch:
    total: Sketch = {}
    for packed in sketches:
        add(total, packed)
    return total


def quantile(bins: dict[int, int], q: float) -> float:
    """The q-quantile (0..1) in seconds of the durations counted in bins: the value at rank
    q * (n - 1), as numpy's 'lower' percentile takes it, within ACCURACY."""
    n = sum(bins.values())
    rank = math.floor(q * (n - 1))
    seen = 0
    for b in sorted(bins):
        seen += bins[b]
        if seen > rank:
            return 0.0 if b == ZERO else 2 * GAMMA**b / (GAMMA + 1) / 1e9
    return 0.0
