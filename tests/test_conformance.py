"""sessiontrail against the conformance files (conformance/, format_spec.md section 7): every
case read again gives exactly its expected.json."""

from __future__ import annotations

import importlib.util
import json

import pytest
from conftest import ROOT

CASES = sorted(p for p in (ROOT / "conformance" / "cases").iterdir() if p.is_dir())


def _make():
    spec = importlib.util.spec_from_file_location("conformance_make", ROOT / "conformance" / "make.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make = _make()


def test_every_case_has_its_files_and_expectation():
    assert len(CASES) >= 20
    for case in CASES:
        assert (case / "expected.json").is_file() and any(case.rglob("*.trail")), case.name


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case):
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    assert make.expected(case) == expected


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_session_read_alone_is_as_in_the_full_read(case):
    """What `show ID` reads (the session's frames, through summaries where files have them)
    gives each session exactly as the full read does."""
    from recorder.catalog import Catalog, wanted_sessions
    from recorder.reader import FolderReader
    from recorder.summary import node_summary, session_summary

    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    for session in expected["sessions"]:
        reader = FolderReader([case], wanted=wanted_sessions([session["id"]]))
        catalog = Catalog()
        reader.poll(final=True, apply=catalog.apply)
        alone = catalog.sessions[session["id"]]
        summary = session_summary(alone, make.NOW)
        summary.pop("files")
        nodes = [node_summary(alone, n, make.NOW) for n in sorted(alone.nodes.values(), key=lambda n: (n.start, n.id))]
        for node in nodes:
            node.pop("tags")
        assert summary | {"nodes": nodes} == session
        if case.name == "summary":
            assert reader.summaries_used == 1
