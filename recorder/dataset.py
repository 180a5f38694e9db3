"""A folder loaded for analysis: ``recorder.load(DIR)``.

    data = recorder.load("sessions/")
    sessions, nodes = data.to_pandas()          # pandas is an optional extra
    for s in data.sessions:                     # or plain dicts, without pandas
        if s["error_count"]:
            recorder.annotate(s["id"], "quality", "bad", note="errors", author="eval-v1")

Sessions are ``sessiontrail ls --json``'s dicts with their current annotations; nodes are
``show --json``'s with the session id; annotations are every one read (history included).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import rules
from .catalog import Catalog, SessionInfo
from .reader import FolderReader, Problem
from .summary import hex_id, iso, node_summary, session_summary


def all_annotations(session: SessionInfo) -> list[dict[str, Any]]:
    """Every annotation read for a session, the history included, oldest first."""
    return [
        {"name": e[2], "value": e[3], "note": e[5], "author": e[4], "time": iso(e[0]), "span_id": hex_id(e[1])}
        for e in sorted(session.annotations, key=lambda e: e[0] or 0)
    ]


@dataclass
class Dataset:
    sessions: list[dict[str, Any]] = field(default_factory=list)
    nodes: list[dict[str, Any]] = field(default_factory=list)
    annotations: list[dict[str, Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @classmethod
    def read(cls, paths: Iterable[str | Path]) -> Dataset:
        reader = FolderReader([Path(p) for p in paths])
        catalog = Catalog()
        batch = reader.poll(apply=catalog.apply)
        now = time.time_ns()
        data = cls(problems=batch.problems)
        for session in catalog.ordered():
            summary = session_summary(session, now)
            data.sessions.append(summary)
            for node in sorted(session.nodes.values(), key=lambda n: (n.start, n.id)):
                data.nodes.append({"session_id": session.id} | node_summary(session, node, now))
            data.annotations += [{"session_id": session.id} | a for a in all_annotations(session)]
        return data

    def to_pandas(self) -> tuple[Any, Any]:
        """(sessions, nodes) DataFrames. Sessions: one row each, totals, tags, status, and a
        column per annotation name with its latest value on the session. Nodes: kind, name,
        times, model, tokens, cost, status, attributes. Needs pandas
        (``pip install 'sessiontrail[analysis]'``)."""
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError("to_pandas() needs pandas: pip install 'sessiontrail[analysis]'") from exc
        rows = []
        for s in self.sessions:
            row = {k: v for k, v in s.items() if k not in ("annotations", "files")}
            for a in sorted(s["annotations"], key=lambda a: a["time"] or ""):
                row[a["name"]] = a["value"]  # the latest of that name on the session
            rows.append(row)
        sessions = pd.DataFrame(rows)
        nodes = pd.DataFrame(
            [
                {k: v for k, v in n.items() if k != "attributes"}
                | {
                    "model": n["attributes"].get("model"),
                    "prompt_tokens": rules.as_int(n["attributes"].get("prompt_tokens")),
                    "completion_tokens": rules.as_int(n["attributes"].get("completion_tokens")),
                    "cost": rules.as_number(n["attributes"].get("cost")),
                    "attributes": n["attributes"],
                }
                for n in self.nodes
            ]
        )
        return sessions, nodes
