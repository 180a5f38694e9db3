"""Big folders (issue 16): a folder of months of sessions, built by real recording processes,
and what it costs to use it: one session (`show`, `export`), the list (`ls --json`), and the
session store the viewer opens (cold, then from its index cache), with peak memory.

    python bench/big_folder.py [--sessions 100000] [--scales 1,10,100] [--writers 4]

The folder: ``--writers`` processes record sessions of 100 spans and events (an agent, 33
steps each with an LLM call and a tool call) into files rotated every ``--rotate-mb``; the
last writer is killed with SIGKILL while its last sessions are still running, so its last file
is unfinished and has no summary. Each scale is 1/N of ``--sessions``. Folders are kept under
``--keep`` (default: the system's temporary folder) and reused when they already hold the
sessions asked for. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from figures import report  # noqa: E402

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
STEPS = 33  # 3 nodes a step, with the agent span: 100 nodes a session

WRITER = r"""
import sys, time
import recorder
from recorder import agent, operation, tool

folder, first, count, running, rotate = sys.argv[1], *map(int, sys.argv[2:6])
recorder.init(directory=folder, auto_start_session=False, rotate_bytes=rotate, env_data_opt_out=True)

@tool
def search(query):
    return query

@agent
class Planner:
    @operation
    def step(self, i):
        recorder.record(recorder.LLMEvent(model="gpt-4o-mini", prompt_tokens=100 + i, completion_tokens=20, cost=0.0001))
        return search(i)

if first == 0:  # one big session: what clicking a session of 10,000 nodes costs
    session = recorder.start_session(tags=["big"], name="big")
    planner = Planner()
    for i in range(3333):
        planner.step(i)
    session.end_session("Success")

for n in range(first, first + count):
    session = recorder.start_session(tags=["prod" if n % 3 else "dev", f"team{n % 7}"], name=f"run {n}")
    planner = Planner()
    for i in range(STEPS):
        planner.step(i)
    if n < first + count - running:
        session.end_session("Fail" if n % 11 == 0 else "Success")
recorder.flush()
print("done", flush=True)
if running:
    time.sleep(3600)  # killed here
""".replace("STEPS", str(STEPS))

STORE = r"""
import json, sys, time
from viewer.core.store import SessionStore

def peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

started = time.perf_counter()
store = SessionStore([sys.argv[1]])
update = store.poll(step=0.2)  # as the viewer polls: a big folder opened cold is listed first
listed = time.perf_counter() - started
peak_listed = peak_mb()
click_counting = None
if update.counting and not update.listed:  # a click while counting: the session read from its files alone
    big = next(r.id for r in update.rows if r.name == "big")
    clicked = time.perf_counter()
    click_counting = len(store.trace(big)), time.perf_counter() - clicked
while update.counting:
    update = store.poll(step=0.2)
opened = time.perf_counter() - started
peak_open = peak_mb()
rows = store.rows()  # (from the index, the last poll sent only what changed since its listing)
sid = max(rows, key=lambda r: r.event_count).id
loaded = store.catalog.sessions[sid].table.loaded
started = time.perf_counter()
trace = store.trace(sid)  # its nodes read back from its files (through their summaries)
shown = time.perf_counter() - started
saved = store.save_index(min_records=0) if sys.argv[2] == "save" else False
print(json.dumps({"seconds": opened, "listed_s": listed, "listed_peak_mb": peak_listed, "click_counting": click_counting,
                  "sessions": len(rows), "from_index": store.from_index, "was_loaded": loaded,
                  "peak_mb": peak_open, "peak_after_mb": peak_mb(), "trace_s": shown, "nodes": len(trace),
                  "saved": saved}))
"""


# The whole viewer (Qt included) on the folder, from its index, with the biggest session
# selected: seconds until its tree and timeline are shown, and the process's peak memory.
VIEWER = r"""
import json, os, sys, time
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6.QtCore import QEventLoop, QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication
from viewer import MainWindow

def wait(signal, ms):
    loop = QEventLoop()
    signal.connect(loop.quit, Qt.ConnectionType.QueuedConnection)
    QTimer.singleShot(ms, loop.quit)
    loop.exec()

def click(session_id):  # seconds from selecting a session until its tree and timeline are shown
    clicked = time.perf_counter()
    window.session_list.select(session_id)
    if window.trace is None or window.trace.session_id != session_id:
        wait(window.traceShown, 60_000)
    for _ in range(3):
        app.processEvents()
    return time.perf_counter() - clicked

app = QApplication([])
settings = QSettings(sys.argv[2], QSettings.Format.IniFormat)
started = time.perf_counter()
window = MainWindow(sys.argv[1], settings=settings)
window.show()
deadline = time.monotonic() + 600
while window.session_list.model.rowCount() == 0 and time.monotonic() < deadline:
    app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 50)
listed = time.perf_counter() - started
clicked_counting = None
if window.counting and not window.session_list.model.rows()[0].counted:  # a cold open, counting: click meanwhile
    for _ in range(5):
        app.processEvents()
    clicked_counting = click(next(r.id for r in window.session_list.model.rows() if r.name == "big"))
if not window.loaded:
    wait(window.loadFinished, 600_000)
loaded = time.perf_counter() - started
shown = click(max(window.session_list.visible_rows(), key=lambda r: r.event_count).id)
peak = next(int(l.split()[1]) / 1024 for l in open("/proc/self/status") if l.startswith("VmHWM:"))
window.close()
print(json.dumps({"listed_s": listed, "clicked_counting_s": clicked_counting, "loaded_s": loaded, "shown_s": shown, "nodes": len(window.trace or ()), "peak_mb": peak}))
"""


def build(folder: Path, sessions: int, writers: int, rotate: int) -> float:
    """Record the folder; return the seconds it took."""
    started = time.perf_counter()
    per = sessions // writers
    procs = []
    for w in range(writers):
        count = per if w < writers - 1 else sessions - per * (writers - 1)
        running = max(1, count // 1000) if w == writers - 1 else 0
        args = [str(folder), str(w * per), str(count), str(running), str(rotate)]
        procs.append(
            subprocess.Popen([sys.executable, "-c", WRITER, *args], stdout=subprocess.PIPE, text=True, env=ENV)
        )
    for proc in procs:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.strip() == "done":
                break
        if proc.poll() is None:
            time.sleep(0.5)  # let its writer thread write the running sessions' heartbeats
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    return time.perf_counter() - started


def timed(*args: str) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=ENV)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{args} failed: {result.stderr[-2000:]}")
    return elapsed, result.stdout


def store_child(folder: Path, save: bool) -> dict:
    _, out = timed("-c", STORE, str(folder), "save" if save else "keep")
    return json.loads(out)


def measure(folder: Path, label: str) -> None:
    files = list(folder.glob("*.trail"))
    data = sum(p.stat().st_size for p in files)
    print(f"\n{label}: {len(files):,} files, {data / 1e6:.0f} MB")
    startup, _ = timed("-c", "import recorder.cli")
    index = folder / ".sessiontrail-index"
    index.unlink(missing_ok=True)
    elapsed, out = timed("-m", "recorder", "ls", str(folder), "--json")
    sessions = json.loads(out)
    again, _ = timed("-m", "recorder", "ls", str(folder), "--json")
    print(f"  ls --json, cold          {elapsed:6.2f} s   ({len(sessions):,} sessions)")
    print(f"  ls --json, again         {again:6.2f} s   (from the index the first one wrote)")
    report(bench="big_ls", label=label, seconds=elapsed, again_s=again, sessions=len(sessions))
    sid = sessions[len(sessions) // 2]["id"]
    elapsed, _ = timed("-m", "recorder", "show", "--dir", str(folder), sid, "--json")
    print(f"  show ID --json           {elapsed:6.2f} s   (Python and imports alone: {startup:.2f} s)")
    report(bench="big_show", label=label, seconds=elapsed, startup=startup)
    with tempfile.TemporaryDirectory() as out_dir:
        elapsed, _ = timed(
            "-m", "recorder", "export", "--dir", str(folder), sid, "-o", str(Path(out_dir) / "one.trail")
        )
    print(f"  export ID                {elapsed:6.2f} s")
    report(bench="big_export", label=label, seconds=elapsed)
    index.unlink(missing_ok=True)
    cold = store_child(folder, save=True)
    warm = store_child(folder, save=False)
    index_mb = index.stat().st_size / 1e6 if index.exists() else 0.0
    print(
        f"  open, cold: listed       {cold['listed_s']:6.2f} s   peak {cold['listed_peak_mb']:.0f} MB"
        " (names, tags, status, times: from the files' heads)"
    )
    if cold["click_counting"]:
        nodes, seconds = cold["click_counting"]
        print(f"  click while counting     {seconds * 1000:6.0f} ms  ({nodes:,} nodes read from its files alone)")
    print(
        f"  open, cold: counted      {cold['seconds']:6.2f} s   peak {cold['peak_mb']:.0f} MB"
        f" ({cold['peak_after_mb']:.0f} MB after writing the index)"
    )
    print(
        f"  open, second: listed     {warm['listed_s']:6.2f} s   peak {warm['listed_peak_mb']:.0f} MB"
        f" (from the index's listing: {warm['from_index']})"
    )
    print(f"  open, second: made       {warm['seconds']:6.2f} s   peak {warm['peak_mb']:.0f} MB (every session made)")
    print(
        f"  click the biggest session {warm['trace_s'] * 1000:5.0f} ms  ({warm['nodes']:,} nodes read back"
        f" and laid out; peak then {warm['peak_after_mb']:.0f} MB)"
    )
    print(f"  index cache              {index_mb:6.1f} MB  ({index_mb * 1e6 / data:.2f}x the data)")
    kept = index.read_bytes()
    index.unlink()
    _, out = timed("-c", VIEWER, str(folder), str(folder.parent / "bench-viewer.ini"))
    viewer_cold = json.loads(out.strip().splitlines()[-1])
    index.write_bytes(kept)
    print(
        f"  the viewer, cold         {viewer_cold['listed_s']:6.2f} s to the list, {viewer_cold['loaded_s']:.2f} s"
        f" to every total; peak {viewer_cold['peak_mb']:.0f} MB"
    )
    if viewer_cold["clicked_counting_s"] is not None:
        print(f"  its click while counting {viewer_cold['clicked_counting_s'] * 1000:6.0f} ms to the tree and timeline")
    report(bench="big_viewer_cold", label=label, **viewer_cold)
    _, out = timed("-c", VIEWER, str(folder), str(folder.parent / "bench-viewer.ini"))
    viewer = json.loads(out.strip().splitlines()[-1])
    print(
        f"  the viewer (Qt included) {viewer['listed_s']:6.2f} s to the list on screen, {viewer['loaded_s']:.2f} s to"
        f" every session made; the biggest session shown in {viewer['shown_s'] * 1000:.0f} ms; peak {viewer['peak_mb']:.0f} MB"
    )
    report(bench="big_viewer", label=label, **viewer)
    report(
        bench="big_open",
        label=label,
        cold_s=cold["seconds"],
        listed_s=cold["listed_s"],
        listed_peak_mb=cold["listed_peak_mb"],
        click_counting=cold["click_counting"],
        cold_peak_mb=cold["peak_mb"],
        cold_peak_after_index_mb=cold["peak_after_mb"],
        second_s=warm["seconds"],
        second_listed_s=warm["listed_s"],
        second_listed_peak_mb=warm["listed_peak_mb"],
        second_peak_mb=warm["peak_mb"],
        index_ratio=index_mb * 1e6 / data,
        trace_ms=warm["trace_s"] * 1000,
        trace_nodes=warm["nodes"],
        peak_after_trace_mb=warm["peak_after_mb"],
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--scales", default="1,10,100", help="divisors of --sessions to run")
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--rotate-mb", type=float, default=16)
    parser.add_argument("--keep", type=Path, default=Path(tempfile.gettempdir()) / "sessiontrail-big")
    args = parser.parse_args()
    print(f"machine: {os.uname().machine}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    for divisor in sorted((int(d) for d in args.scales.split(",")), reverse=True):
        sessions = args.sessions // divisor
        folder = args.keep / f"sessions-{sessions}-{args.writers}w-{args.rotate_mb:g}mb-v3"
        marker = folder / ".built"
        if not marker.exists():
            if folder.exists():
                for path in folder.iterdir():
                    path.unlink()
            folder.mkdir(parents=True, exist_ok=True)
            seconds = build(folder, sessions, args.writers, int(args.rotate_mb * (1 << 20)))
            marker.write_text(str(seconds))
            print(f"built {sessions:,} sessions with {args.writers} writers in {seconds:.1f} s")
        measure(folder, f"{sessions:,} sessions, {sessions * (3 * STEPS + 1):,} nodes")


if __name__ == "__main__":
    main()
