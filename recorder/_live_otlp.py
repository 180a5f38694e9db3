"""Streaming this process's sessions to an OpenTelemetry Collector while they are recorded.

``init(otlp_endpoint=URL)`` starts it: every ``otlp_interval`` seconds a daemon thread reads
the files this process wrote (the same incremental reader the viewer uses) and sends the spans
and events that finished since the last send, and each session's root span once it has ended,
over OTLP/HTTP (JSON). Nothing is sent twice; a collector that is down costs a warning, never
an exception, and the next send carries what the failed one had.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from .catalog import Catalog
from .interchange import otlp_document, post_otlp
from .reader import FolderReader

log = logging.getLogger("sessiontrail")


class LiveOtlpExporter:
    def __init__(self, endpoint: str, files: list[Path], interval: float = 5.0) -> None:
        self.endpoint = endpoint
        self._files = files  # the writer's list of files; it grows as files rotate
        self.interval = interval
        self._catalog = Catalog()
        self._reader: FolderReader | None = None
        self._sent_nodes: set[tuple[str, int]] = set()
        self._sent_roots: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._warned = False
        self.sent_spans = 0
        self._thread = threading.Thread(target=self._run, name="sessiontrail-otlp", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.send()

    def send(self) -> None:
        """Send what finished since the last send. Never raises."""
        with self._lock:
            try:
                self._send()
            except Exception as exc:  # a collector that is down, or anything unexpected
                if not self._warned:
                    self._warned = True
                    log.warning("sessiontrail: cannot stream to %s (%s); will retry", self.endpoint, exc)

    def _send(self) -> None:
        paths = list(self._files)
        if not paths:
            return
        if self._reader is None or set(self._reader.roots) != set(paths):
            reader = FolderReader(paths)
            if self._reader is not None:  # keep what was read already
                reader.files = {p: s for p, s in self._reader.files.items() if p in set(paths)}
            self._reader = reader
        self._catalog.apply(self._reader.poll())
        parts = []
        pending_nodes: list[tuple[str, int]] = []
        pending_roots: list[str] = []
        for session in self._catalog.sessions.values():
            nodes = [
                n for n in session.nodes.values() if n.end is not None and (session.id, n.id) not in self._sent_nodes
            ]
            with_root = session.end_state is not None and session.id not in self._sent_roots
            if nodes or with_root:
                parts.append((session, sorted(nodes, key=lambda n: n.start), with_root))
                pending_nodes += [(session.id, n.id) for n in nodes]
                if with_root:
                    pending_roots.append(session.id)
        if not parts:
            return
        post_otlp(self.endpoint, otlp_document(self._catalog, parts), timeout=10)
        self._sent_nodes.update(pending_nodes)
        self._sent_roots.update(pending_roots)
        self.sent_spans += len(pending_nodes) + len(pending_roots)
        if self._warned:
            log.warning("sessiontrail: streaming to %s works again", self.endpoint)
            self._warned = False

    def close(self) -> None:
        """Stop the thread after a last send (called at exit, after the writer's last flush)."""
        self._stop.set()
        self.send()
