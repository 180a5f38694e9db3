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
