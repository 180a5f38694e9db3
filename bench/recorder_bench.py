"""Recorder benchmarks: caller cost per record() and per decorated call, write and read throughput.

    python bench/recorder_bench.py [--calls N]

Prints figures; asserts nothing. Caller cost is (instrumented - plain) per call, best of 5.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

from figures import report

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import recorder  # noqa: E402
from recorder import _state  # noqa: E402
from recorder.decorators import operation, tool  # noqa: E402
from recorder.reader import FolderReader  # noqa: E402


def best_of(fn, n: int, repeat: int = 5) -> float:
    """Seconds per call of fn(n) (which runs n calls), best of repeat."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn(n)
        best = min(best, (time.perf_counter() - started) / n)
    return best


def plain(x):
    return x


@operation
def decorated_op(x):
    return x


@tool
def decorated_tool(x):
    return x


def loop_plain(n):
    for i in range(n):
        plain(i)


def loop_op(n):
    for i in range(n):
        decorated_op(i)


def loop_tool(n):
    for i in range(n):
        decorated_tool(i)


EVENT = recorder.ActionEvent(action_type="step", params={"i": 1}, returns="ok")


def loop_record(n):
    record = recorder.record
    for _ in range(n):
        record(EVENT)


def loop_noop(n):
    for _ in range(n):
        pass


def machine() -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--write-seconds", type=float, default=3.0)
    args = parser.parse_args()
    n = args.calls
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        recorder.init(directory=folder, auto_start_session=False)
        recorder.start_session(tags=["bench"])
        base = best_of(loop_plain, n)
        noop = best_of(loop_noop, n)
        op = best_of(loop_op, n) - base
        tl = best_of(loop_tool, n) - base
        rec = best_of(loop_record, n) - noop
        recorder.flush(60)
        print(f"machine: {machine()}")
        print(f"caller cost, @operation call:   {op * 1e6:6.2f} us  (over {n:,} calls, decorated - plain)")
        print(f"caller cost, @tool call:        {tl * 1e6:6.2f} us")
        print(f"caller cost, record(event):     {rec * 1e6:6.2f} us")

        # Sustained write: record as fast as one thread can for a while, then flush.
        _state.reset()
        write_dir = folder / "write"
        recorder.init(directory=write_dir, auto_start_session=False)
        recorder.start_session(tags=["write"])
        count = 0
        started = time.perf_counter()
        deadline = started + args.write_seconds
        record = recorder.record
        while time.perf_counter() < deadline:
            for _ in range(1000):
                record(EVENT)
            count += 1000
        recorder.flush(120)
        elapsed = time.perf_counter() - started
        dropped = _state.writer.dropped
        size = sum(p.stat().st_size for p in write_dir.glob("*.trail"))
        print(
            f"sustained write: {count / elapsed:,.0f} events/s for {elapsed:.1f} s, {dropped:,} dropped, "
            f"{size / elapsed / 1e6:.1f} MB/s, peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
        )
        report(bench="write", events_per_s=count / elapsed, dropped=dropped)
        _state.reset()

        # Read: decode every record of what was just written, a chunk at a time as the viewer
        # and the CLI read (poll(apply=...)); records are dropped once counted.
        started = time.perf_counter()
        batch = FolderReader(write_dir).poll(apply=lambda part: None)
        elapsed = time.perf_counter() - started
        print(
            f"read: {batch.record_count / elapsed:,.0f} records/s ({batch.record_count:,} records, {size / 1e6:.0f} MB in {elapsed:.2f} s)"
        )
        report(bench="read", records_per_s=batch.record_count / elapsed)


if __name__ == "__main__":
    main()
