"""Test setup: Qt renders offscreen, and every test gets a fresh recorder and folder."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
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
