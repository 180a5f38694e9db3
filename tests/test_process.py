"""Real processes: exit paths, SIGKILL, fork, threads, rotation and unwritable folders."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

from conftest import ROOT, cli, load, only_session, run_script


def test_normal_exit_ends_open_sessions_indeterminate(folder):
    run_script(
        f"""
        import recorder
        recorder.init(directory={str(folder)!r}, tags=["exit-test"])
        recorder.record(recorder.ActionEvent(action_type="before-exit"))
        """
    )
    info = only_session(folder)
    assert info.end_state == "Indeterminate" and "exited" in info.reason
    assert [n.name for n in info.nodes.values()] == ["before-exit"]


def test_uncaught_exception_ends_sessions_fail_with_traceback_and_chains_the_hook(folder):
    proc = run_script(
        f"""
        import sys
        import recorder
        def previous_hook(*exc_info):
            print("previous hook called", file=sys.stderr)
        sys.excepthook = previous_hook
        recorder.init(directory={str(folder)!r})
        def deep():
            raise LookupError("no such customer")
        deep()
        """,
        check=False,
    )
    assert proc.returncode == 1 and "previous hook called" in proc.stderr
    info = only_session(folder)
    assert info.end_state == "Fail"
    assert "Traceback" in info.reason and "LookupError: no such customer" in info.reason
    (error,) = [n for n in info.nodes.values() if n.kind == "error"]
    assert error.attrs["message"] == "no such customer"


def test_sigterm_flushes_ends_sessions_and_still_terminates(folder):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"""
import time, recorder
recorder.init(directory={str(folder)!r}, flush_interval=10)
recorder.record(recorder.ActionEvent(action_type="queued-not-yet-flushed"))
print("ready", flush=True)
time.sleep(60)
""",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    with proc:
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == -signal.SIGTERM  # the default action still happens
    info = only_session(folder)
    assert info.end_state == "Indeterminate" and "SIGTERM" in info.reason
    assert [n.name for n in info.nodes.values()] == ["queued-not-yet-flushed"]


def test_sigterm_chains_a_previous_python_handler(folder):
    proc = run_script(
        f"""
        import os, signal, recorder
        seen = []
        signal.signal(signal.SIGTERM, lambda *a: seen.append("user handler"))
        recorder.init(directory={str(folder)!r})
        os.kill(os.getpid(), signal.SIGTERM)
        print(seen)
        """
    )
    assert "['user handler']" in proc.stdout
    assert only_session(folder).end_state == "Indeterminate"


def test_kill_9_keeps_everything_flushed_before_it(folder):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"""
import itertools, sys, recorder
from recorder.decorators import operation
recorder.init(directory={str(folder)!r}, heartbeat_interval=0.2, flush_interval=0.05)
@operation
def step(i):
    recorder.record(recorder.ActionEvent(action_type="tick", params=i))
for i in range(1000):
    step(i)
recorder.flush()
print("flushed", flush=True)
for i in itertools.count(1000):   # keeps recording until killed
    step(i)
""",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    with proc:
        assert proc.stdout.readline().strip() == "flushed"
        time.sleep(0.3)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    catalog, problems = load(folder)
    assert all(p.kind == "torn_tail" for p in problems)
    (info,) = catalog.sessions.values()
    ticks = sorted(n.attrs["params"] for n in info.nodes.values() if n.kind == "action")
    assert ticks[:1000] == list(range(1000))  # everything before the flush
    assert ticks == list(range(len(ticks)))  # and no gaps after it
    assert info.end_state is None
    assert info.status(info.last_seen + 4 * 200_000_000) == "abandoned"  # past three heartbeats of 0.2 s
    # verify treats the file as finished: a torn tail (if the kill tore a write) is named.
    out = cli("verify", str(folder), check=False)
    assert out.returncode in (0, 1)
    if out.returncode == 1:
        assert "torn tail" in out.stdout


def test_forked_child_records_into_the_same_session_in_its_own_file(folder):
    run_script(
        f"""
        import os, recorder
        s = recorder.init(directory={str(folder)!r}, tags=["fork"])
        recorder.record(recorder.ActionEvent(action_type="parent-before"))
        recorder.flush()
        pid = os.fork()
        if pid == 0:
            recorder.record(recorder.ActionEvent(action_type="child"))
            recorder.flush()
            os._exit(0)
        os.waitpid(pid, 0)
        recorder.record(recorder.ActionEvent(action_type="parent-after"))
        recorder.end_session("Success")
        """
    )
    info = only_session(folder)
    assert sorted(n.name for n in info.nodes.values()) == ["child", "parent-after", "parent-before"]
    assert len(info.files) == 2 and info.end_state == "Success"
    child = next(n for n in info.nodes.values() if n.name == "child")
    assert child.file != next(n for n in info.nodes.values() if n.name == "parent-before").file


def test_a_forked_child_exiting_normally_does_not_end_the_parents_session(folder):
    run_script(
        f"""
        import os, sys, recorder
        recorder.init(directory={str(folder)!r})
        pid = os.fork()
        if pid == 0:
            recorder.record(recorder.ActionEvent(action_type="child"))
            sys.exit(0)   # runs atexit in the child
        os.waitpid(pid, 0)
        recorder.record(recorder.ActionEvent(action_type="parent"))
        recorder.end_session("Success", "parent decides")
        """
    )
    info = only_session(folder)
    assert (info.end_state, info.reason) == ("Success", "parent decides")
    assert sorted(n.name for n in info.nodes.values()) == ["child", "parent"]


def test_eight_threads_record_at_once_and_nothing_is_lost(rec, folder):
    session = rec.start_session(tags=["threads"])
    per_thread = 2000

    def work(t):
        for i in range(per_thread):
            rec.record(rec.ActionEvent(action_type="tick", params=[t, i]))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    session.end()
    assert rec.flush()
    info = only_session(folder)
    got = sorted(tuple(n.attrs["params"]) for n in info.nodes.values())
    assert got == [(t, i) for t in range(8) for i in range(per_thread)]


def test_threads_without_context_use_the_single_open_session_and_bind_context_carries_it(rec, folder):
    from concurrent.futures import ThreadPoolExecutor

    from recorder.decorators import operation

    only = rec.start_session(tags=["only"])
    t = threading.Thread(target=lambda: rec.record(rec.ActionEvent(action_type="from-thread")))
    t.start()
    t.join()
    second = rec.start_session(tags=["second"])  # now two are open: a bare thread has no session

    @operation
    def parent():
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(rec.bind_context(lambda i: rec.record(rec.ActionEvent(action_type=f"bound-{i}"))), range(3)))

    parent()
    second.end()
    only.end()
    rec.flush()
    catalog, _ = load(folder)
    by_tag = {s.tags[0]: s for s in catalog.sessions.values()}
    assert [n.name for n in by_tag["only"].nodes.values()] == ["from-thread"]
    nodes = by_tag["second"].nodes.values()
    (op,) = [n for n in nodes if n.kind == "operation"]
    assert sorted(n.name for n in nodes if n.kind == "action") == ["bound-0", "bound-1", "bound-2"]
    assert all(n.parent == op.id for n in nodes if n.kind == "action")


def test_rotation_by_size_and_every_file_reads_alone(folder):
    run_script(
        f"""
        import recorder
        recorder.init(directory={str(folder)!r}, rotate_bytes=64 * 1024, flush_interval=0.01)
        for i in range(3000):
            recorder.record(recorder.ActionEvent(action_type="tick", params={{"i": i, "pad": "x" * 50}}))
            if i % 300 == 0:
                recorder.flush()
        recorder.end_session("Success")
        """
    )
    files = sorted(folder.glob("*.trail"))
    assert len(files) >= 3
    assert all(f.stat().st_size < 200 * 1024 for f in files)
    info = only_session(folder)
    assert sorted(n.attrs["params"]["i"] for n in info.nodes.values()) == list(range(3000))
    assert info.end_state == "Success" and len(info.files) == len(files)
    # A later file alone still knows its session (rotated files restate open sessions).
    catalog, _ = load(files[1])
    (alone,) = catalog.sessions.values()
    assert alone.id == info.id and alone.tags == info.tags and alone.name == info.name


def test_rotation_by_age(folder):
    run_script(
        f"""
        import time, recorder
        recorder.init(directory={str(folder)!r}, rotate_seconds=0.2, flush_interval=0.02)
        for i in range(4):
            recorder.record(recorder.ActionEvent(action_type="tick"))
            time.sleep(0.3)
        """
    )
    assert len(list(folder.glob("*.trail"))) >= 3
    assert only_session(folder).event_count == 4


def test_a_full_disk_never_raises_counts_drops_and_resumes(folder):
    # RLIMIT_FSIZE makes writes past 20 kB fail with EFBIG, like a full disk.
    proc = run_script(
        f"""
        import json, resource, signal, sys, logging
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        logging.basicConfig(level=logging.WARNING)
        import recorder
        from recorder import _state
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, resource.RLIM_INFINITY))
        recorder.init(directory={str(folder)!r}, rotate_bytes=10_000_000)
        for i in range(2000):
            recorder.record(recorder.ActionEvent(action_type="tick", params={{"i": i, "pad": "y" * 40}}))
            if i % 100 == 0:
                recorder.flush()
        recorder.flush()
        dropped = _state.writer.dropped
        resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        recorder.record(recorder.ActionEvent(action_type="after-space-returns"))
        recorder.end_session("Success")
        recorder.flush()
        print(json.dumps({{"dropped": dropped}}))
        """
    )
    dropped = json.loads(proc.stdout.strip().splitlines()[-1])["dropped"]
    assert dropped > 0
    assert proc.stderr.count("records are being dropped") == 1  # warned once
    assert "recording resumed" in proc.stderr
    catalog, problems = load(folder)
    (info,) = catalog.sessions.values()
    names = [n.name for n in info.nodes.values()]
    assert "after-space-returns" in names and info.end_state == "Success"
    assert info.dropped >= dropped  # the count is recorded in the files
    assert len([n for n in names if n == "tick"]) + dropped >= 2000


def test_an_unwritable_folder_never_raises(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    proc = run_script(
        f"""
        import recorder
        from recorder import _state
        recorder.init(directory={str(blocker / "sessions")!r})
        for i in range(100):
            recorder.record(recorder.ActionEvent(action_type="tick"))
        recorder.flush()
        print("dropped", _state.writer.dropped)
        """
    )
    assert int(proc.stdout.split()[-1]) >= 100
    assert proc.stderr.count("cannot create a session file") == 1  # warned once
