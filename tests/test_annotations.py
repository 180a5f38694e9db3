"""Annotations: written as records beside the sessions (the API, the CLI, into a reviewer's own
file), the newest per target, name and author in force with the history kept, in ls/show
--json, kept by export, redacted like everything else, loaded for analysis."""

from __future__ import annotations

import json

import pytest
from conftest import cli, run_script


@pytest.fixture
def recorded(tmp_path):
    """A folder with one finished session holding an LLM call; returns (folder, session id, llm id)."""
    folder = tmp_path / "shared"
    out = run_script(
        f"""
import recorder
recorder.init(directory={str(folder)!r}, auto_start_session=False)
with recorder.start_session(name="reviewed") as s:
    recorder.record(recorder.LLMEvent(model="gpt-4o-mini", prompt="hi", completion="hello", prompt_tokens=3, completion_tokens=1))
print(s.id)
"""
    )
    sid = out.stdout.strip().splitlines()[-1]
    shown = json.loads(cli("show", sid, "--dir", str(folder), "--json").stdout)
    return folder, sid, shown["events"][0]["id"]


def test_the_cli_annotates_a_shared_folder_without_touching_its_files(recorded):
    folder, sid, llm = recorded
    before = {p: p.read_bytes() for p in folder.glob("*.trail")}
    cli("annotate", sid[:8], "quality", "bad", "--dir", str(folder), "--author", "ana", "--note", "too short")
    cli("annotate", sid[:8], "quality", "good", "--dir", str(folder), "--author", "ana")  # newer: in force
    cli("annotate", sid[:8], "quality", "bad", "--dir", str(folder), "--author", "ben")
    cli("annotate", sid[:8], "faithfulness", "0.82", "--dir", str(folder), "--author", "eval-v3")
    cli("annotate", sid[:8], "correct", "true", "--dir", str(folder), "--span", llm[:6], "--author", "eval-v3")
    assert {p: p.read_bytes() for p in before} == before  # the originals are untouched
    assert len(list(folder.glob("*.trail"))) == len(before) + 5  # each annotation in a file of its own
    (summary,) = json.loads(cli("ls", str(folder), "--json").stdout)
    got = {(a["name"], a["author"]): a["value"] for a in summary["annotations"]}
    assert got == {("quality", "ana"): "good", ("quality", "ben"): "bad", ("faithfulness", "eval-v3"): 0.82}
    (event,) = json.loads(cli("show", sid, "--dir", str(folder), "--json").stdout)["events"]
    assert [(a["name"], a["value"], a["span_id"]) for a in event["annotations"]] == [("correct", True, llm)]
    bad = cli("annotate", sid[:8], "quality", "x", "--dir", str(folder), "--span", "zzzz", check=False)
    assert bad.returncode == 2 and "matches 0 spans" in bad.stderr


def test_the_api_from_an_evaluation_script_and_load(recorded):
    folder, sid, llm = recorded
    run_script(
        f"""
import recorder
data = recorder.load({str(folder)!r})
for session in data.sessions:   # an evaluation script: load, compute, annotate
    score = 1.0 if session["error_count"] == 0 else 0.0
    recorder.annotate(session["id"], "no_errors", score, author="eval-v1", directory={str(folder)!r})
recorder.annotate({sid!r}, "quality", "good", note="fine", directory={str(folder)!r})
recorder.annotate({sid!r}, "quality", "great", directory={str(folder)!r})
"""
    )
    import recorder

    data = recorder.load(folder)
    (session,) = data.sessions
    in_force = {a["name"]: a["value"] for a in session["annotations"]}
    assert in_force == {"no_errors": 1.0, "quality": "great"}
    assert [a["value"] for a in data.annotations if a["name"] == "quality"] == ["good", "great"]  # history kept
    assert data.nodes[0]["kind"] == "llm" and data.nodes[0]["session_id"] == sid
    with pytest.raises(ValueError, match="label, a number or a boolean"):
        recorder.annotate(sid, "quality", ["not", "a", "value"], directory=folder)


def test_to_pandas(recorded):
    pd = pytest.importorskip("pandas")
    folder, sid, _ = recorded
    cli("annotate", sid[:8], "quality", "good", "--dir", str(folder))
    import recorder

    sessions, nodes = recorder.load(folder).to_pandas()
    assert isinstance(sessions, pd.DataFrame) and list(sessions["quality"]) == ["good"]
    assert list(nodes["model"]) == ["gpt-4o-mini"] and list(nodes["prompt_tokens"]) == [3]


def test_export_keeps_annotations_and_redaction_covers_notes(tmp_path):
    folder = tmp_path / "s"
    run_script(
        f"""
import recorder
recorder.init(directory={str(folder)!r}, auto_start_session=False, redact=True)
with recorder.start_session(name="secret") as s:
    pass
recorder.annotate(s.id, "quality", "bad", note="it printed sk-abcdefghijklmnopqrstuvwx1234 in the answer")
"""
    )
    (summary,) = json.loads(cli("ls", str(folder), "--json").stdout)
    (note,) = [a["note"] for a in summary["annotations"]]
    assert "sk-abc" not in note and "[REDACTED]" in note
    out = tmp_path / "shared.trail"
    cli("export", summary["id"], "--dir", str(folder), "-o", str(out))
    (exported,) = json.loads(cli("ls", str(out), "--json").stdout)
    assert [(a["name"], a["value"]) for a in exported["annotations"]] == [("quality", "bad")]


def test_the_otlp_export_carries_annotations(recorded, tmp_path):
    from google.protobuf import json_format
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    folder, sid, llm = recorded
    cli("annotate", sid[:8], "quality", "good", "--dir", str(folder), "--note", "clear")
    cli("annotate", sid[:8], "correct", "false", "--dir", str(folder), "--span", llm)
    out = tmp_path / "otlp.json"
    cli("export", sid, "--dir", str(folder), "--format", "otlp-json", "-o", str(out))
    document = json.loads(out.read_text())
    json_format.ParseDict(document, ExportTraceServiceRequest())  # valid OTLP/JSON
    spans = document["resourceSpans"][0]["scopeSpans"][0]["spans"]
    root, call = spans[0], next(s for s in spans if s["spanId"] == llm)
    attributes = {a["key"]: a["value"] for a in root["attributes"]}
    assert attributes["sessiontrail.annotation.quality"] == {"stringValue": "good"}
    (event,) = root["events"]
    assert event["name"] == "sessiontrail.annotation"
    assert {a["key"]: a["value"] for a in event["attributes"]}["annotation.note"] == {"stringValue": "clear"}
    assert {a["key"]: a["value"] for a in call["attributes"]}["sessiontrail.annotation.correct"] == {"boolValue": False}


def test_reviewing_with_the_keyboard_in_the_viewer(qtbot, tmp_path):
    from PySide6.QtCore import QSettings, Qt

    from viewer import MainWindow
    from viewer.models.session_table import COLUMNS

    folder = tmp_path / "team"
    run_script(
        f"""
import recorder
recorder.init(directory={str(folder)!r}, auto_start_session=False)
for name in ("first", "second", "third"):
    with recorder.start_session(name=name):
        recorder.record(recorder.ActionEvent(action_type="step"))
"""
    )
    before = {p: p.read_bytes() for p in folder.glob("*.trail")}
    window = MainWindow(folder, settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.session_list.model.rowCount() == 3, timeout=10_000)
    table = window.session_list.table
    table.setFocus()
    table.setCurrentIndex(window.session_list.proxy.index(0, 0))
    top = window.session_list.current_row().name
    qtbot.keyClick(table, Qt.Key.Key_1)  # good, and on to the next session
    qtbot.keyClick(table, Qt.Key.Key_2)  # bad
    rows = lambda: {r.name: r.annotation("quality") for r in window.session_list.model.rows()}  # noqa: E731
    qtbot.waitUntil(lambda: sorted(v for v in rows().values() if v) == ["bad", "good"], timeout=10_000)
    assert rows()[top] == "good"
    review = COLUMNS.index("Review")
    shown = {
        window.session_list.proxy.index(i, 0).data(): window.session_list.proxy.index(i, review).data()
        for i in range(3)
    }
    assert sorted(shown.values()) == ["", "bad", "good"]
    assert {p: p.read_bytes() for p in before} == before  # the reviewed folder's files are untouched
    window.session_list.review_actions["unreviewed"].setChecked(True)
    assert [r.name for r in window.session_list.visible_rows()] == [n for n, v in rows().items() if v is None]
    window.session_list.review_actions["unreviewed"].setChecked(False)
    window.session_list.review_actions["good"].setChecked(True)
    assert [r.name for r in window.session_list.visible_rows()] == [top]
    window.session_list.review_actions["good"].setChecked(False)
    with qtbot.waitSignal(window.traceShown, timeout=10_000):
        window.session_list.select(next(r.id for r in window.session_list.model.rows() if r.name == top))
    window.show_view("tree")
    window.tree.view.setFocus()
    window.tree.view.setCurrentIndex(window.tree.model.index(0, 0))
    (step,) = [n.id for n in window.trace.nodes]
    qtbot.keyClick(window.tree.view, Qt.Key.Key_2)  # the step itself: bad
    qtbot.waitUntil(
        lambda: window.trace.annotations.get(step, [("", None)])[0][:2] == ("quality", "bad"), timeout=10_000
    )
    window.select_node(0)
    assert "quality: bad" in window.event_detail.summary.text()
    header = window.session_list.table.horizontalHeader()
    for name in ("correct", "faithfulness"):  # the column shows another annotation, its header whole
        window.session_list.set_review_name(name)
        assert window.session_list.model.headerData(review, Qt.Orientation.Horizontal) == f"Review: {name}"
        assert header.sectionSize(review) > header.fontMetrics().horizontalAdvance(f"Review: {name}")
    assert all(window.session_list.proxy.index(i, review).data() == "" for i in range(3))
    window.session_list.set_review_name("quality")
    window.show_view("analytics")
    qtbot.waitUntil(lambda: len(window.analytics.by_review.items) == 2, timeout=10_000)  # analytics follow
    assert sorted((b.key, b.sessions) for b in window.analytics.by_review.items) == [
        ("quality: bad", 1),
        ("quality: good", 1),
    ]
    window.close()


def test_two_teammates_annotate_copies_and_the_folders_merge(recorded, tmp_path):
    """Two reviewers, each with a copy of the folder, annotate on their own machines (two writers,
    two hosts); their folders are then combined: every annotation once, the newest per author in
    force, the session files byte-identical, and a reader that knows no annotations still reads."""
    import shutil

    from test_spec_reader import spec_reader

    folder, sid, _ = recorded
    originals = {p.name: p.read_bytes() for p in folder.glob("*.trail")}
    ana, ben = tmp_path / "ana", tmp_path / "ben"
    shutil.copytree(folder, ana)
    shutil.copytree(folder, ben)
    for who, copy, values in (("ana@laptop", ana, ("bad", "good")), ("ben@desk", ben, ("unsure",))):
        for value in values:
            run_script(
                f"""
import recorder
recorder.annotate({sid!r}, "quality", {value!r}, author={who!r}, directory={str(copy)!r})
"""
            )  # (a process of its own each: a writer of its own, as on each teammate's machine)
    merged = tmp_path / "merged"
    shutil.copytree(ana, merged)
    shutil.copytree(ben, merged, dirs_exist_ok=True)  # the same session files, and each one's own
    (summary,) = json.loads(cli("ls", str(merged), "--json").stdout)
    in_force = sorted((a["author"], a["value"]) for a in summary["annotations"])
    assert in_force == [("ana@laptop", "good"), ("ben@desk", "unsure")]
    import recorder

    history = recorder.load(merged).annotations
    assert sorted((a["author"], a["value"]) for a in history) == [
        ("ana@laptop", "bad"),
        ("ana@laptop", "good"),
        ("ben@desk", "unsure"),
    ]  # each once, though the session's files are in both copies
    assert {name: (merged / name).read_bytes() for name in originals} == originals
    read_trail = spec_reader()  # the spec's reader knows record types 1 to 9 only
    for path in merged.glob("*.trail"):
        records, damaged = read_trail(path)
        assert damaged == [] and all(r["type"] != "annotation" for r in records)


def test_load_to_pandas_agrees_with_ls_json(recorded):
    pytest.importorskip("pandas")
    folder, sid, _ = recorded
    import recorder

    sessions, nodes = recorder.load(folder).to_pandas()
    (listed,) = json.loads(cli("ls", str(folder), "--json").stdout)
    row = sessions.iloc[0]
    for column in ("id", "event_count", "llm_calls", "prompt_tokens", "completion_tokens", "error_count"):
        assert row[column] == listed[column], column
    assert row["cost"] == pytest.approx(listed["cost"]) and len(nodes) == listed["event_count"]
