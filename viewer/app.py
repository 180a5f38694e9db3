"""Starting the viewer: ``sessiontrail view [PATH...]`` and ``python -m viewer [PATH...]``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

VIEWS = ("timeline", "tree", "details", "analytics", "compare")


def _wait(signal, timeout_ms: int) -> bool:
    """Run the event loop until signal fires or timeout; True if it fired."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    fired = []
    signal.connect(lambda *a: (fired.append(True), loop.quit()))
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()
    return bool(fired)


def _qt_messages(mode, context, message: str) -> None:
    """Qt's own messages to stderr, less the offscreen platform's note about size hints,
    which it prints for every window and which says nothing about this program."""
    if "does not support propagateSizeHints" not in message:
        print(message, file=sys.stderr)


def run(
    paths: Sequence[str | Path], *, screenshot: Path | None = None, session: str | None = None, view: str | None = None
) -> int:
    """Open the window on paths; with screenshot, render it to a PNG after loading and exit.
    A path that does not exist is named on stderr; the window shows it once it appears (a
    screenshot of nothing but missing paths is refused with exit status 2)."""
    missing = [p for p in paths if not Path(p).exists()]
    for path in missing:
        later = "" if screenshot is not None else "; the window shows it once it appears"
        print(f"sessiontrail: {path} does not exist{later}", file=sys.stderr)
    if screenshot is not None and missing and len(missing) == len(paths):
        return 2
    if screenshot is not None and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    from .main_window import MainWindow

    qInstallMessageHandler(_qt_messages)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("sessiontrail")
    app.setOrganizationName("sessiontrail")
    window = MainWindow([Path(p) for p in paths])
    window.resize(1680, 1020)
    window.show()
    if screenshot is None:
        return app.exec()
    if not window.loaded:
        _wait(window.loadFinished, 60_000)
    rows = window.session_list.visible_rows()
    target = None
    if session:
        target = next((r for r in rows if r.id.startswith(session)), None)
        if target is None:
            print(f"sessiontrail: no session with id {session!r}", file=sys.stderr)
            window.close()  # stops the loader thread before the application goes away
            return 2
    elif rows:
        target = max(rows, key=lambda r: r.event_count)
    if target is not None:
        window.session_list.select(target.id)
        if window.trace is None or window.trace.session_id != target.id:
            _wait(window.traceShown, 30_000)
        trace = window.trace
        if trace is not None and len(trace):
            llm_rows = trace.rows_of_kind("llm")
            llm = int(llm_rows[0]) if len(llm_rows) else 0
            window.select_node(llm)
    if view == "compare" and len(rows) >= 2:
        # the two latest runs of the name that ran most often (else the two latest sessions)
        names: dict[str, list] = {}
        for row in rows:
            names.setdefault(row.name, []).append(row)
        runs = max(names.values(), key=len)
        runs = runs if len(runs) >= 2 else rows
        older, newer = sorted(runs, key=lambda r: r.start or 0)[-2:]
        window.compare_sessions(older.id, newer.id)
        _wait(window.compareShown, 30_000)
        window.compare.table.selectRow(
            next((i for i, p in enumerate(window.compare.model.pairs) if p.change != "same"), 0)
        )
    elif view:
        window.show_view(view)
    _wait(window.analyticsShown, 60_000 if view == "analytics" else 1500)
    for _ in range(5):
        app.processEvents()
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    ok = window.grab().save(str(screenshot))
    window.close()
    if not ok:
        print(f"sessiontrail: could not write {screenshot}", file=sys.stderr)
        return 1
    print(f"wrote {screenshot}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    from recorder import default_directory

    parser = argparse.ArgumentParser(
        prog="python -m viewer", description="Open the sessiontrail viewer on folders or files."
    )
    parser.add_argument("paths", nargs="*", type=Path, help="folders or .trail files (default: the recording folder)")
    parser.add_argument(
        "--screenshot", type=Path, help="render the window offscreen to this PNG after loading, then exit"
    )
    parser.add_argument("--session", help="the session to select (an id or a prefix)")
    parser.add_argument("--view", choices=VIEWS, help="the view to show")
    args = parser.parse_args(argv)
    return run(args.paths or [default_directory()], screenshot=args.screenshot, session=args.session, view=args.view)
