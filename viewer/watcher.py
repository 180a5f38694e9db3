"""Folder watching: watchdog events become one Qt signal, nothing else.

Events are hints (inotify coalesces appends, FSEvents can miss them); the worker also polls
file sizes on a timer, so a missed event only delays an update until the next poll.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from recorder._format import FILE_SUFFIX

log = logging.getLogger("sessiontrail.viewer")

HINT_EVENTS = frozenset({"created", "modified", "deleted", "moved", "closed"})


def watch_plan(paths: Iterable[Path]) -> list[tuple[Path, bool, Path | None]]:
    """What to watch for paths the user opened: (folder, recursive, only this file or None).

    A folder is watched with everything below it; a file by itself (its folder, not
    recursively, for that one name); a path that does not exist yet by its nearest existing
    parent, not recursively, so its creation is noticed without watching a whole tree."""
    plan: list[tuple[Path, bool, Path | None]] = []
    for path in paths:
        if path.is_dir():
            plan.append((path, True, None))
        elif path.exists():
            plan.append((path.parent, False, path))
        else:
            parent = path.parent
            while not parent.exists() and parent != parent.parent:
                parent = parent.parent
            plan.append((parent, False, None))
    return plan


class FolderWatcher(QObject):
    """Emits ``changed`` (from watchdog's thread; Qt queues it) when anything under the paths changes."""

    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._observer = None

    def watch(self, paths: Iterable[Path]) -> None:
        """Watch paths as ``watch_plan`` says (again after a missing path appeared)."""
        self.stop()
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError:  # polling alone still works
            return
        signal = self.changed

        class Handler(FileSystemEventHandler):
            def __init__(self, only: Path | None) -> None:
                self.only = str(only) if only is not None else None

            def on_any_event(self, event) -> None:
                # Only changes to session files (or folders) are hints. Opens and reads are not:
                # the reader's own reads would wake it again, and at 2,000 files their events
                # kept this thread busy enough to slow loading threefold.
                if event.event_type not in HINT_EVENTS:
                    return
                name = str(getattr(event, "dest_path", "") or event.src_path)
                if self.only is not None and self.only not in (name, str(event.src_path)):
                    return
                if not event.is_directory and not name.endswith(FILE_SUFFIX) and self.only is None:
                    return
                signal.emit()

        observer = Observer()
        for folder, recursive, only in watch_plan(paths):
            try:
                observer.schedule(Handler(only), str(folder), recursive=recursive)
            except (OSError, ValueError) as exc:
                log.info("not watching %s (%s); polling only", folder, exc)
        try:
            observer.start()
        except (OSError, RuntimeError) as exc:
            log.info("folder watching unavailable (%s); polling only", exc)
            return
        self._observer = observer

    def stop(self) -> None:
        observer, self._observer = self._observer, None
        if observer is not None:
            observer.stop()
            observer.join(timeout=2)
