"""Viewer benchmarks: opening a big folder, timeline paint time and memory, record-to-visible latency.

    python bench/viewer_bench.py [--only open|files|timeline|live] [--sessions 1000] [--events 1000000]
                                 [--spans 100000] [--files 0]

``--files N`` records the sessions into about N files (rotating by size), to measure a folder of
many files. Prints figures; asserts nothing. Runs Qt offscreen; each benchmark is best run in a
process of its own (``--only``) so memory figures are not mixed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from figures import report

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RECORD_FOLDER = """
import sys, recorder
folder, sessions, per, rotate, every = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
recorder.init(directory=folder, auto_start_session=False, max_queue_size=2_000_000, rotate_bytes=rotate or 16 << 20)
event = recorder.ActionEvent(action_type="step", params={"i": 1}, returns="ok")
for s in range(sessions):
    session = recorder.start_session(tags=["bench", f"group-{s % 7}"], name=f"bench session {s}")
    for _ in range(per):
        recorder.record(event)
    session.end("Success" if s % 10 else "Fail")
    if s % every == 0:
        recorder.flush(60)  # a file rotates only between writes: flushing often makes small files
recorder.flush(120)
"""

RECORD_SPANS = """
import sys, recorder
from recorder.decorators import operation
folder, count = sys.argv[1], int(sys.argv[2])
recorder.init(directory=folder, auto_start_session=False, max_queue_size=2_000_000)

@operation
def leaf(i):
    return i

@operation
def batch(n):
    for i in range(n):
        leaf(i)

with recorder.start_session(name="spans"):
    for _ in range(count // 100):
        batch(99)
recorder.flush(120)
"""

LIVE_WRITER = """
import json, sys, time, recorder
folder, rate, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
recorder.init(directory=folder, session_name="live", flush_interval=0.1)
event = recorder.ActionEvent(action_type="tick")
deadline = time.monotonic() + seconds
per_ms = rate / 1000
sent = 0
start = time.monotonic()
while time.monotonic() < deadline:
    due = (time.monotonic() - start) * 1000 * per_ms
    while sent < due:
        recorder.record(event)
        sent += 1
    time.sleep(0.001)
recorder.end_session("Success")
recorder.flush()
from recorder import _state
print(json.dumps({"sent": sent, "dropped": _state.writer.dropped}), flush=True)
"""


def run_child(code: str, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], check=True, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def bench_open(folder: Path, label: str) -> None:
    from PySide6.QtCore import QEventLoop, QSettings, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from viewer import MainWindow

    app = QApplication.instance() or QApplication([])
    files = list(folder.glob("*.trail"))
    size = sum(p.stat().st_size for p in files)
    settings = QSettings(str(folder.parent / f"{folder.name}-settings.ini"), QSettings.Format.IniFormat)
    started = time.perf_counter()
    window = MainWindow(folder, settings=settings)
    window.show()
    # Wait in Qt's event loop, as the application does: a Python polling loop here would hold
    # the GIL against the loader thread and slow it down several times.
    loop = QEventLoop()
    window.worker.worker.loaded.connect(loop.quit, Qt.ConnectionType.QueuedConnection)
    QTimer.singleShot(600_000, loop.quit)
    if not window.loaded:
        loop.exec()
    app.processEvents()
    opened = time.perf_counter() - started
    rows = window.session_list.model.rowCount()
    window.close()
    print(f"open {label}: {rows:,} sessions in {len(files):,} files, {size / 1e6:.0f} MB: window usable {opened:.2f} s")
    report(bench="open", seconds=opened, sessions=rows, files=len(files))


def bench_timeline(folder: Path, spans: int) -> None:
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    from viewer.core import SessionStore
    from viewer.widgets.timeline import TimelineWidget

    app = QApplication.instance() or QApplication([])
    size = sum(p.stat().st_size for p in folder.glob("*.trail"))
    before = rss_mb()
    store = SessionStore([folder])
    (row,) = store.poll().rows
    started = time.perf_counter()
    trace = store.trace(row.id)
    built = time.perf_counter() - started
    widget = TimelineWidget()
    widget.resize(1600, 600)
    widget.show()
    widget.set_trace(trace)
    app.processEvents()
    view = widget.plot.getPlotItem().getViewBox()
    full = float(trace.x1.max())
    frames = []
    item = widget.item
    for zoom in (1, 1, 4, 16, 64, 256, 1024):
        for pan in range(4):
            width = full / zoom
            left = (full - width) * pan / 3
            view.setRange(xRange=(left, left + width), padding=0)
            t = time.perf_counter()
            widget.plot.viewport().repaint()  # a synchronous repaint of the plot, as after a real zoom
            frames.append(((time.perf_counter() - t) * 1000, item.last_paint_ms, item.last_paint_rects))
    data = rss_mb() - before
    ms = sorted(f for f, _, _ in frames[1:])
    items = sorted(f for _, f, _ in frames[1:])
    drawn = max(r for _, _, r in frames)
    print(
        f"timeline {len(trace):,} spans in {trace.lane_count} lanes: build {built:.2f} s; repaint after zoom/pan "
        f"median {statistics.median(ms):.1f} ms, p95 {ms[int(len(ms) * 0.95) - 1]:.1f} ms, max {ms[-1]:.1f} ms "
        f"(of which the spans: median {statistics.median(items):.1f} ms, p95 {items[int(len(items) * 0.95) - 1]:.1f} ms); "
        f"at most {drawn:,} shapes drawn per frame; memory {data:.0f} MB for {size / 1e6:.0f} MB of files "
        f"({data / max(size / 1e6, 1e-9):.2f}x; process RSS {rss_mb():.0f} MB with Qt and Python)"
    )
    report(bench="timeline", p95_ms=ms[int(len(ms) * 0.95) - 1], data_mb=data, files_mb=size / 1e6, rss_mb=rss_mb())
    widget.close()
    pg.QtWidgets.QApplication.processEvents()


def bench_latency(folder: Path, rate: float, seconds: float, writers: int = 1) -> None:
    """Processes writing rate events/s in all, each its own session, while the viewer shows
    the folder: how old the newest record is when the session list gets it, and whether every
    event written reached the viewer (none dropped by the writers)."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from viewer import MainWindow

    app = QApplication.instance() or QApplication([])
    window = MainWindow(folder, settings=QSettings(str(folder / "bench-settings.ini"), QSettings.Format.IniFormat))
    window.show()
    samples: list[float] = []

    def on_update(update) -> None:
        now = time.time_ns()
        for row in update.rows:
            if row.name == "live" and row.status == "running":
                samples.append((now - row.last_seen) / 1e6)

    window.worker.worker.updated.connect(on_update)
    children = [
        subprocess.Popen(
            [sys.executable, "-c", LIVE_WRITER, str(folder), str(rate / writers), str(seconds)],
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(writers)
    ]
    while any(child.poll() is None for child in children):
        app.processEvents()
        time.sleep(0.002)
    results = [json.loads(child.stdout.read().strip().splitlines()[-1]) for child in children]  # type: ignore[union-attr]
    sent, dropped = sum(r["sent"] for r in results), sum(r["dropped"] for r in results)
    deadline = time.monotonic() + 30  # until the last records are read
    while time.monotonic() < deadline:
        app.processEvents()
        live = [r for r in window.session_list.model.rows() if r.name == "live"]
        if len(live) == writers and all(r.status != "running" for r in live):
            break
        time.sleep(0.01)
    seen = sum(r.event_count for r in window.session_list.model.rows() if r.name == "live")
    window.close()
    samples.sort()
    if samples:
        p95 = samples[int(len(samples) * 0.95) - 1]
        print(
            f"record-to-visible while {writers} process(es) write {rate:,.0f} events/s in all: p50 "
            f"{statistics.median(samples):.0f} ms, p95 {p95:.0f} ms over {len(samples)} updates; "
            f"{sent:,} events sent, {dropped:,} dropped by the writers, {seen:,} seen by the viewer"
        )
        report(bench="live", p95_ms=p95, writers=writers, rate=rate, sent=sent, dropped=dropped, seen=seen)


def bench_follow(folder: Path, rate: float, seconds: float) -> None:
    """One session growing at rate events/s, selected in the viewer for seconds: how much CPU
    the viewer uses, how often the tree and timeline get its new trace, and its memory."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from viewer import MainWindow

    app = QApplication.instance() or QApplication([])
    window = MainWindow(folder, settings=QSettings(str(folder / "bench-settings.ini"), QSettings.Format.IniFormat))
    window.show()
    shown: list[tuple[float, int]] = []  # when a trace reached the window, its size
    window.worker.worker.traced.connect(lambda _id, trace: shown.append((time.monotonic(), len(trace or ()))))
    child = subprocess.Popen(
        [sys.executable, "-c", LIVE_WRITER, str(folder), str(rate), str(seconds)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    selected = False
    cpu_before = wall_before = 0.0
    while child.poll() is None:
        app.processEvents()
        if not selected:
            live = [r.id for r in window.session_list.model.rows() if r.name == "live"]
            if live and window.session_list.select(live[0]):
                selected = True
                usage = resource.getrusage(resource.RUSAGE_SELF)
                cpu_before, wall_before = usage.ru_utime + usage.ru_stime, time.monotonic()
        time.sleep(0.002)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cores = (usage.ru_utime + usage.ru_stime - cpu_before) / max(time.monotonic() - wall_before, 1e-9)
    window.close()
    gaps = sorted(b[0] - a[0] for a, b in zip(shown, shown[1:], strict=False))
    if gaps:
        print(
            f"following a session growing at {rate:,.0f} events/s for {seconds:.0f} s ({shown[-1][1]:,} nodes at the end): "
            f"{cores:.2f} cores, trace shown every {statistics.median(gaps) * 1000:.0f} ms (p95 "
            f"{gaps[int(len(gaps) * 0.95) - 1] * 1000:.0f} ms, {len(shown)} times), RSS {rss_mb():.0f} MB"
        )
        report(bench="follow", cores=cores, gap_p95_ms=gaps[int(len(gaps) * 0.95) - 1] * 1000, rss_mb=rss_mb())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=("open", "files", "timeline", "live", "follow"), help="one benchmark")
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--spans", type=int, default=100_000)
    parser.add_argument("--follow-seconds", type=float, default=60.0)
    parser.add_argument("--files", type=int, default=0, help="spread the sessions over about this many files")
    parser.add_argument("--rate", type=float, default=10_000, help="live: events/s written in all")
    parser.add_argument("--writers", type=int, default=1, help="live: processes writing them")
    parser.add_argument("--live-seconds", type=float, default=8.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.only in (None, "open", "files"):
            big = tmp / "big"
            per = max(1, args.events // args.sessions)
            # ~150 bytes per record on disk: rotate so the folder ends up in about --files files
            rotate = max(16 << 10, args.sessions * per * 150 // args.files) if args.files else 0
            started = time.perf_counter()
            every = max(1, args.sessions // args.files) if args.files else 20
            run_child(RECORD_FOLDER, big, args.sessions, per, rotate, every)
            print(
                f"(recorded {args.sessions:,} sessions / {args.sessions * per:,} events in {time.perf_counter() - started:.1f} s)"
            )
            bench_open(big, f"{args.sessions:,} sessions / {args.sessions * per:,} events")
            if args.files:  # a second open reads the same files again (the OS has them cached)
                bench_open(big, f"{args.sessions:,} sessions / {args.sessions * per:,} events, second open")
        if args.only in (None, "timeline"):
            spans = tmp / "spans"
            run_child(RECORD_SPANS, spans, args.spans)
            bench_timeline(spans, args.spans)
        if args.only in (None, "live"):
            bench_latency(tmp / "live", args.rate, args.live_seconds, args.writers)
        if args.only in (None, "follow"):
            bench_follow(tmp / "follow", 1_500, args.follow_seconds)


if __name__ == "__main__":
    main()
