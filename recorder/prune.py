"""Retention: removing the files of sessions older than a cutoff (``sessiontrail prune``, and
the viewer's File > Remove Old Sessions).

Only whole files go, and only files whose every session is over before the cutoff (ended, or
abandoned with nothing recorded since) and that hold no newer record. A session with files on
both sides of the line is kept whole, so nothing is left half-removed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from . import rules
from .catalog import Catalog, SessionInfo

_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_age(text: str) -> float:
    """Seconds in an age such as ``90d``, ``12h``, ``2w``, ``30m``; ValueError otherwise."""
    match = _AGE.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not an age such as 90d, 12h, 2w or 30m")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


@dataclass
class PrunePlan:
    """What removing sessions older than ``cutoff`` (ns) would remove."""

    cutoff: int
    files: list[Path] = field(default_factory=list)
    sessions: list[str] = field(default_factory=list)  # ids of the sessions whose files all go
    size: int = 0  # bytes freed
    kept_whole: int = 0  # sessions over before the cutoff kept because they share a file with a newer one

    def remove(self) -> tuple[int, list[str]]:
        """Delete the files; return the bytes freed and what could not be removed."""
        freed, failures = 0, []
        for path in self.files:
            try:
                size = path.stat().st_size
                path.unlink()
                freed += size
            except FileNotFoundError:
                continue
            except OSError as exc:
                failures.append(f"{path}: {exc.strerror or exc}")
        return freed, failures


def _over_before(session: SessionInfo, cutoff: int, tag: str | None, now_ns: int) -> bool:
    if tag is not None and tag not in session.tags:
        return False
    status = session.status(now_ns)
    if status == rules.RUNNING:
        return False
    last = session.end if status == rules.ENDED else session.last_seen
    return last is not None and last < cutoff


def plan_prune(
    catalog: Catalog, files: Iterable[Path], cutoff: int, *, tag: str | None = None, now_ns: int | None = None
) -> PrunePlan:
    """The files to remove so that every session over before cutoff (with the tag, if given)
    goes, and nothing else: a file goes when all its sessions go and it was last written before
    the cutoff; a session keeping one of its files keeps all of them (repeated until stable)."""
    now = now_ns if now_ns is not None else cutoff
    by_file: dict[Path, list[SessionInfo]] = {Path(p): [] for p in files}
    for session in catalog.sessions.values():
        for path in session.files:
            by_file.setdefault(path, []).append(session)
    kept: set[Path] = set()
    for path, sessions in by_file.items():
        try:
            written = path.stat().st_mtime_ns
        except OSError:
            kept.add(path)
            continue
        if written >= cutoff or not all(_over_before(s, cutoff, tag, now) for s in sessions):
            kept.add(path)
    keep_sessions = {s.id for path in kept for s in by_file[path]}
    while True:  # a session kept in one file is kept in all its files
        newly = {p for sid in keep_sessions for p in catalog.sessions[sid].files if p not in kept}
        if not newly:
            break
        kept |= newly
        keep_sessions |= {s.id for path in newly for s in by_file.get(path, [])}
    plan = PrunePlan(cutoff)
    plan.files = sorted(p for p in by_file if p not in kept)
    plan.sessions = sorted({s.id for p in plan.files for s in by_file[p]})
    plan.kept_whole = sum(1 for sid in keep_sessions if _over_before(catalog.sessions[sid], cutoff, tag, now))
    for path in plan.files:
        try:
            plan.size += os.stat(path).st_size
        except OSError:
            pass
    return plan
