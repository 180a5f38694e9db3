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


class FolderWatcher(QObject):
    """Emits ``changed`` (from watchdog's thread; Qt queues it) when anything under the paths changes."""

    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._observer = None

    def watch(self, paths: Iterable[Path]) -> None:
        self.stop()
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError:  # polling alone still works
            return
        signal = self.changed

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event) -> None:
                # Only changes to session files (or folders) are hints. Opens and reads are not:
                # the reader's own reads would wake it again, and at 2,000 files their events
                # kept this thread busy enough to slow loading threefold.
                if event.event_type not in HINT_EVENTS:
                    return
                if not event.is_directory and not str(getattr(event, "dest_path", "") or event.src_path).endswith(
                    FILE_SUFFIX
                ):
                    return
                signal.emit()

        observer = Observer()
        handler = Handler()
        folders = {p if p.is_dir() else p.parent for p in paths}
        for folder in folders:
            try:
                observer.schedule(handler, str(folder), recursive=True)
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
