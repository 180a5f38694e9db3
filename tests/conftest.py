"""Test setup: Qt renders offscreen, and every test gets a fresh recorder and folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ.pop("SESSIONTRAIL_DIR", None)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "sessions"
    path.mkdir()
    return path


@pytest.fixture
def rec(folder: Path):
    """The recorder, reset, initialised on a fresh folder with no automatic session."""
    import recorder
    from recorder import _state

    _state.reset()
    recorder.init(directory=folder, auto_start_session=False)
    yield recorder
    _state.reset()


def load(folder: Path):
    """(catalog, problems) of a folder, read as a fresh reader would."""
    from recorder.catalog import load as load_catalog

    catalog, batch = load_catalog(folder)
    return catalog, batch.problems


def only_session(folder: Path):
    catalog, problems = load(folder)
    assert not problems, problems
    assert len(catalog.sessions) == 1, catalog.sessions.keys()
    return next(iter(catalog.sessions.values()))


def tree(info) -> list[tuple[int, str, str, str | None]]:
    """A session's nodes as (depth, kind, name, status), depth-first in start order."""
    children: dict = {}
    for node in sorted(info.nodes.values(), key=lambda n: n.start):
        children.setdefault(node.parent, []).append(node)
    out = []

    def walk(parent, depth):
        for node in children.get(parent, []):
            out.append((depth, node.kind, node.name, node.status))
            walk(node.id, depth + 1)

    walk(None, 0)
    return out


def run_script(
    code: str, *args: str, timeout: float = 60, check: bool = True, env: dict | None = None
) -> subprocess.CompletedProcess:
    """Run Python code in a real child process with this checkout importable."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"child exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def cli(*args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run the sessiontrail command (python -m recorder) in a child process."""
    proc = subprocess.run(
        [sys.executable, "-m", "recorder", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"sessiontrail {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def pytest_addoption(parser):
    parser.addoption("--long", action="store_true", help="run the long kill/fuzz loops (also SESSIONTRAIL_LONG=1)")


@pytest.fixture
def long_run(request) -> bool:
    return bool(request.config.getoption("--long") or os.environ.get("SESSIONTRAIL_LONG"))


def write_aged_sessions(folder: Path) -> tuple[Path, Path, Path, Path]:
    """Files of sessions of several ages, for retention: a.trail (two sessions over 95 and 100
    days ago), b.trail and c.trail (one writer: a session over 99 days ago straddling into c,
    which also holds a session of yesterday), d.trail (a session started 200 days ago, still
    running), and notes.trail (not a session file). Returns a, b, c, d."""
    import time

    from recorder.transfer import write_trail

    day = 86_400 * 10**9
    now = time.time_ns()

    def session(sid, name, start, end=None):
        records = [{"type": "session_start", "ts": start, "session": sid, "name": name, "tags": ["t"]}]
        records.append({"type": "event", "ts": start + 1, "session": sid, "id": 1, "kind": "action", "name": "x"})
        if end is not None:
            records.append({"type": "session_end", "ts": end, "session": sid, "end_state": "Success"})
        return records

    def file(name, writer, seq, records, written):
        path = folder / name
        write_trail(path, [{"type": "file", "ts": written, "writer": writer, "seq": seq}, *records])
        os.utime(path, ns=(written, written))
        return path

    ids = {n: f"00000000-0000-4000-8000-00000000000{i}" for i, n in enumerate(["old1", "old2", "old3", "new", "live"])}
    old = file(
        "a.trail",
        "aaaaaaaa",
        0,
        session(ids["old1"], "old1", now - 100 * day, now - 100 * day + 5)
        + session(ids["old2"], "old2", now - 95 * day, now - 95 * day + 5),
        now - 95 * day,
    )
    b = file("b.trail", "bbbbbbbb", 0, session(ids["old3"], "old3", now - 100 * day), now - 99 * day)
    c = file(
        "c.trail",
        "bbbbbbbb",
        1,
        [{"type": "session_end", "ts": now - 99 * day, "session": ids["old3"], "end_state": "Success"}]
        + session(ids["new"], "new", now - day, now - day + 5),
        now - day,
    )
    live = file(
        "d.trail",
        "dddddddd",
        0,
        session(ids["live"], "live", now - 200 * day)
        + [{"type": "heartbeat", "ts": now, "sessions": [ids["live"]], "interval": 2.0}],
        now - 200 * day,
    )
    (folder / "notes.trail").write_bytes(b"not ours, never removed")
    os.utime(folder / "notes.trail", ns=(now - 300 * day, now - 300 * day))

    return old, b, c, live


CHILD_ENV = {**os.environ, "PYTHONPATH": str(ROOT)}

# Several threads record sessions into small files (many rotations, sessions crossing files,
# interleaved frames), one session is annotated, one is still running when the process is
# killed; a second process writes a few sessions and exits cleanly.
CHILD = r"""
import sys, threading, time
import recorder
from recorder import agent, operation, tool

folder, mode = sys.argv[1], sys.argv[2]
recorder.init(directory=folder, auto_start_session=False, rotate_bytes=12 * 1024,
              flush_interval=0.01, heartbeat_interval=0.05)

@tool
def search(q):
    return q * 3

@agent
class Worker:
    @operation
    def step(self, i):
        recorder.record(recorder.LLMEvent(model="gpt-4o-mini", prompt_tokens=i, completion_tokens=2, cost=0.001))
        if i % 5 == 0:
            recorder.record(recorder.ErrorEvent(error_type="Flaky", details="x" * (i % 40)))
        return search(str(i))

def run(n, steps, end):
    for k in range(n):
        session = recorder.start_session(tags=[f"t{n}", mode], name=f"{mode} {n}.{k}")
        worker = Worker()
        for i in range(steps):
            worker.step(i)
        if end:
            session.end_session("Fail" if k % 3 == 0 else "Success")
        recorder.flush()
        print(session.id, flush=True)

if mode == "crash":
    running = recorder.start_session(tags=["running"], name="still running")
    Worker().step(1)
    recorder.annotate(running.id, "quality", 2, note="looked at while running")
    threads = [threading.Thread(target=run, args=(n, 40, True)) for n in (3, 4, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("done", flush=True)
    time.sleep(60)  # killed here, with a session still open and the last file unfinished
else:
    run(2, 120, True)
"""


@pytest.fixture(scope="session")
def recorded(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("summaries") / "sessions"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(folder), "crash"], stdout=subprocess.PIPE, text=True, env=CHILD_ENV
    )
    with proc:
        for line in proc.stdout:  # type: ignore[union-attr]
            if line.strip() == "done":
                break
        # Killed while it writes heartbeats of the running session into a file not yet closed.
        deadline = time.monotonic() + 30
        while len(summarized(folder)) == len(list(folder.glob("*.trail"))) and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
    subprocess.run([sys.executable, "-c", CHILD, str(folder), "clean"], check=True, env=CHILD_ENV, timeout=120)
    return folder


def summarized(folder: Path) -> list[Path]:
    """Files that end with a valid summary, biggest first."""
    from recorder._format import SUMMARY_AT_SIZE, decode_summary, summary_offset

    found = []
    for path in folder.glob("*.trail"):
        data = path.read_bytes()
        at = summary_offset(data[-SUMMARY_AT_SIZE:], len(data))
        if at is not None and decode_summary(data[at:-SUMMARY_AT_SIZE], at) is not None:
            found.append(path)
    return sorted(found, key=lambda p: -p.stat().st_size)
