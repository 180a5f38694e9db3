"""The viewer, driven through its real widgets offscreen (pytest-qt), on folders written by
the real recorder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, cli
from PySide6.QtCore import QMimeData, QPoint, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDropEvent, QImage

pytest.importorskip("pytestqt")


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    cli("demo", str(folder), "--live-seconds", "0")
    return folder


@pytest.fixture
def demo_copy(demo, tmp_path) -> Path:
    folder = tmp_path / "demo"
    shutil.copytree(demo, folder)
    return folder


@pytest.fixture
def open_window(qtbot, tmp_path):
    from viewer import MainWindow

    def opener(*paths):
        settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(list(paths), settings=settings)
        qtbot.addWidget(window)
        window.resize(1600, 1000)
        window.show()
        qtbot.waitUntil(lambda: window.loaded, timeout=20_000)
        return window

    return opener


def open_in_window(open_window, tmp_path, folder: Path) -> tuple[Any, list]:
    """A window showing an empty folder, then opening folder: the window, and the list the
    worker's updates for it arrive in."""
    empty = tmp_path / "empty"
    empty.mkdir()
    window = open_window(empty)
    updates: list = []
    window.worker.worker.updated.connect(updates.append)
    window.open_paths([folder])
    return window, updates


def listed(folder: Path) -> list[dict]:
    return json.loads(cli("ls", str(folder), "--json").stdout)


def select_session(qtbot, window, session_id: str) -> None:
    with qtbot.waitSignal(window.traceShown, timeout=10_000):
        assert window.session_list.select(session_id)


def test_models_pass_qt_model_tester(qtbot, qtmodeltester, open_window, demo):
    window = open_window(demo)
    qtmodeltester.check(window.session_list.model)
    qtmodeltester.check(window.session_list.proxy)
    biggest = max(listed(demo), key=lambda s: s["event_count"])
    select_session(qtbot, window, biggest["id"])
    qtmodeltester.check(window.tree.model)
    assert window.analytics.analytics is None  # computed when its tab is shown
    window.show_view("analytics")
    qtbot.waitUntil(lambda: window.analytics.analytics is not None, timeout=5000)
    qtmodeltester.check(window.analytics.by_model)


def test_session_list_shows_every_session_with_its_columns(open_window, demo):
    window = open_window(demo)
    expected = listed(demo)
    table = window.session_list
    assert table.model.rowCount() == len(expected)
    assert table.count.text() == f"{len(expected)} sessions"
    from viewer.models.session_table import COLUMNS

    by_name = {}
    for r in range(table.proxy.rowCount()):
        cells = [table.proxy.index(r, c).data() for c in range(len(COLUMNS))]
        by_name[cells[0]] = dict(zip(COLUMNS, cells, strict=True))
    failed = next(s for s in expected if s["end_state"] == "Fail")
    row = by_name[failed["name"]]
    assert row["Status"] == "Fail" and row["Errors"] == str(failed["error_count"])
    assert (
        row["LLM"] == str(failed["llm_calls"])
        and row["Tokens"] == f"{failed['prompt_tokens'] + failed['completion_tokens']:,}"
    )
    assert set(row["Tags"].split(", ")) == set(failed["tags"])
    # Sorting is numeric: by Events, descending, the biggest session comes first.
    table.table.sortByColumn(COLUMNS.index("Events"), Qt.SortOrder.DescendingOrder)
    events = [
        int(table.proxy.index(r, COLUMNS.index("Events")).data().replace(",", ""))
        for r in range(table.proxy.rowCount())
    ]
    assert events == sorted((s["event_count"] for s in expected), reverse=True)


def test_filters_by_tag_status_and_text_and_analytics_follow(qtbot, open_window, demo):
    window = open_window(demo)
    window.show_view("analytics")
    expected = listed(demo)
    sl = window.session_list
    qtbot.waitUntil(lambda: window.analytics.stats["sessions"].text() == str(len(expected)), timeout=5000)

    sl.set_tags(["staging"])
    staging = [s for s in expected if "staging" in s["tags"]]
    assert sl.proxy.rowCount() == len(staging)
    assert sl.count.text() == f"{len(staging)} of {len(expected)} sessions"
    qtbot.waitUntil(lambda: window.analytics.stats["sessions"].text() == str(len(staging)), timeout=5000)
    assert window.analytics.analytics.tokens == sum(s["prompt_tokens"] + s["completion_tokens"] for s in staging)

    sl.set_tags(["staging", "batch"], match_all=True)
    both = [s for s in expected if {"staging", "batch"} <= set(s["tags"])]
    assert sl.proxy.rowCount() == len(both) > 0

    sl.set_tags([])
    sl.set_states(["Fail"])
    assert sl.proxy.rowCount() == 1
    qtbot.waitUntil(lambda: window.analytics.stats["failure"].text().startswith("100%"), timeout=5000)
    sl.set_states([])

    qtbot.keyClicks(sl.search, "offshore wind")
    qtbot.waitUntil(lambda: sl.proxy.rowCount() == 1, timeout=3000)
    assert "offshore wind" in sl.proxy.index(0, 0).data()
    sl.search.clear()
    qtbot.waitUntil(lambda: sl.proxy.rowCount() == len(expected), timeout=3000)


def test_opening_a_session_fills_details_timeline_and_tree(qtbot, open_window, demo):
    window = open_window(demo)
    session = max(listed(demo), key=lambda s: s["event_count"])
    select_session(qtbot, window, session["id"])
    d = window.details
    assert d.fields["Name"].text() == session["name"]
    assert d.id_label.text() == session["id"]
    assert d.fields["Status"].text() == session["end_state"]
    assert f"{session['llm_calls']} LLM calls" in d.fields["Totals"].text()
    errors = session["error_count"]
    assert d.fields["Totals"].text().endswith(f"· {errors} error" if errors == 1 else f"· {errors:,} errors")
    assert d.files_model.stringList() == session["files"]
    qtbot.waitUntil(lambda: d.host_model.rowCount() > 5, timeout=5000)
    qtbot.mouseClick(d.copy_button, Qt.MouseButton.LeftButton)
    from PySide6.QtGui import QGuiApplication

    assert QGuiApplication.clipboard().text() == session["id"]

    trace = window.trace
    assert len(trace) == session["event_count"]
    item = window.timeline.item
    window.show_view("timeline")
    window.timeline.plot.grab()  # paints the item
    assert item.last_paint_rects > 0
    tree = window.tree.model
    top = [tree.index(i, 0).data() for i in range(tree.rowCount())]
    assert top[0] == "research_pipeline"
    kinds = set()

    def walk(parent):
        for i in range(tree.rowCount(parent)):
            child = tree.index(i, 0, parent)
            kinds.add(tree.index(i, 1, parent).data())
            while tree.canFetchMore(child):
                tree.fetchMore(child)
            walk(child)

    walk(tree.index(-1, -1))
    assert {"workflow", "agent", "operation", "task", "tool", "llm", "action"} <= kinds


def test_selection_follows_between_tree_timeline_and_detail(qtbot, open_window, demo):
    window = open_window(demo)
    session = max(listed(demo), key=lambda s: s["event_count"])
    select_session(qtbot, window, session["id"])
    window.show_view("tree")
    trace = window.trace
    llm = next(n for n in trace.nodes if n.kind == "llm")
    # Tree -> timeline and detail: click the row in the real tree view.
    index = window.tree.model.index_of_row(llm.row)
    window.tree.view.scrollTo(index)
    rect = window.tree.view.visualRect(index)
    qtbot.mouseClick(window.tree.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.timeline.item.selected == llm.row
    assert window.event_detail.node == llm
    assert window.event_detail.tabs.tabText(0) == "Conversation"
    assert "ASSISTANT (" in window.event_detail.text.toPlainText()
    # Timeline -> tree: click the middle of another bar on the real plot.
    tool = next(n for n in trace.nodes if n.kind == "tool")
    plot = window.timeline.plot
    vb = plot.getPlotItem().getViewBox()
    vb.setRange(
        xRange=(float(trace.x0[tool.row]) - 0.5, float(trace.x1[tool.row]) + 0.5),
        yRange=(0, trace.lane_count),
        padding=0,
    )
    plot.grab()
    scene_point = vb.mapViewToScene(
        QPointF((trace.x0[tool.row] + trace.x1[tool.row]) / 2, int(trace.lane[tool.row]) + 0.5)
    )
    widget_point = plot.mapFromScene(scene_point)
    qtbot.mouseClick(
        plot.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(int(widget_point.x()), int(widget_point.y()))
    )
    qtbot.waitUntil(lambda: window.timeline.item.selected == tool.row, timeout=3000)
    assert window.tree.selected_row() == tool.row
    assert window.event_detail.node == tool
    assert "kind: tool" in window.timeline.item.tooltip_for(tool.row)


def test_tree_search_keeps_ancestors(qtbot, open_window, demo):
    window = open_window(demo)
    session = max((s for s in listed(demo) if "nightly" not in s["tags"]), key=lambda s: s["event_count"])  # one search
    select_session(qtbot, window, session["id"])
    qtbot.keyClicks(window.tree.search, "web_search")
    model = window.tree.model

    def names():
        out = []

        def walk(parent, depth):
            for i in range(model.rowCount(parent)):
                child = model.index(i, 0, parent)
                out.append((depth, child.data()))
                while model.canFetchMore(child):
                    model.fetchMore(child)
                walk(child, depth + 1)

        walk(model.index(-1, -1), 0)
        return out

    qtbot.waitUntil(lambda: len(names()) == 4, timeout=3000)
    assert names() == [(0, "research_pipeline"), (1, "Researcher"), (2, "Researcher.research"), (3, "web_search")]


def test_error_event_shows_its_traceback(qtbot, open_window, demo):
    window = open_window(demo)
    failed = next(s for s in listed(demo) if s["end_state"] == "Fail")
    select_session(qtbot, window, failed["id"])
    error = next(n for n in window.trace.nodes if n.kind == "error")
    window.select_node(error.row)
    assert window.event_detail.tabs.tabText(0) == "Traceback"
    text = window.event_detail.text.toPlainText()
    assert text.startswith("TimeoutError: GET") and "Traceback (most recent call last)" in text
    failed_spans = [n for n in window.trace.nodes if n.status == "error"]
    assert failed_spans and all(window.trace.flags[n.row] & 1 for n in failed_spans)


def test_text_from_files_is_shown_as_plain_text(qtbot, open_window, rec, folder):
    s = rec.start_session(tags=["<i>tag</i>"], name="<b>not bold</b><img src=x onerror=alert(1)>")
    rec.record(rec.ToolEvent(name="<script>x</script>", returns="<h1>big</h1>"))
    s.end("Fail", "<u>reason</u>")
    rec.flush()
    window = open_window(folder)
    select_session(qtbot, window, s.id)
    name = window.details.fields["Name"]
    assert name.textFormat() == Qt.TextFormat.PlainText and name.text() == s.name
    assert window.details.fields["Reason"].text() == "<u>reason</u>"
    node = window.trace.nodes[0]
    window.select_node(0)
    assert window.event_detail.title.text() == "tool: <script>x</script>"
    assert window.event_detail.title.textFormat() == Qt.TextFormat.PlainText
    tip = window.tree.model.data(window.tree.model.index_of_row(0), Qt.ItemDataRole.ToolTipRole)
    assert "&lt;script&gt;" in tip and "<script>" not in tip
    table_tip = window.session_list.proxy.index(0, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert "&lt;b&gt;" in table_tip
    assert node.name == "<script>x</script>"


def test_live_session_appears_and_grows(qtbot, open_window, folder):
    window = open_window(folder)
    assert window.session_list.model.rowCount() == 0
    code = f"""
import sys, time, recorder
recorder.init(directory={str(folder)!r}, tags=["live"], session_name="growing", flush_interval=0.05)
for i in range(400):
    recorder.record(recorder.ActionEvent(action_type="tick", params=i))
    time.sleep(0.02)
"""
    proc = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        qtbot.waitUntil(lambda: window.session_list.model.rowCount() == 1, timeout=10_000)
        row = window.session_list.model.rows()[0]
        assert row.name == "growing" and row.status == "running"
        select_session(qtbot, window, row.id)
        first = len(window.trace)
        qtbot.waitUntil(lambda: window.trace is not None and len(window.trace) > first + 10, timeout=10_000)
        assert window.session_list.proxy.index(0, 1).data().endswith("running")
        window.show_view("timeline")
        window.timeline.plot.grab()
        assert window.timeline.item.last_paint_rects > 0
    finally:
        proc.kill()
        proc.wait()


def test_a_followed_session_ends_up_shown_whole(qtbot, open_window, folder):
    """The selected session's trace is rebuilt at a bounded rate while it grows: the changes
    that come within the wait are not lost, the last trace shows every event."""
    window = open_window(folder)
    code = f"""
import time, recorder
recorder.init(directory={str(folder)!r}, session_name="bursty", flush_interval=0.01)
time.sleep(0.5)
for burst in range(40):
    for i in range(10):
        recorder.record(recorder.ActionEvent(action_type="tick", params=i))
    recorder.flush()
    time.sleep(0.02)
recorder.end_session("Success")
"""
    proc = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        qtbot.waitUntil(lambda: window.session_list.model.rowCount() == 1, timeout=10_000)
        select_session(qtbot, window, window.session_list.model.rows()[0].id)
        assert proc.wait(timeout=30) == 0
        qtbot.waitUntil(lambda: window.trace is not None and len(window.trace) == 400, timeout=10_000)
    finally:
        proc.kill()
        proc.wait()


def test_damaged_and_foreign_files_are_listed_and_the_rest_is_shown(qtbot, open_window, demo_copy):
    files = sorted(demo_copy.glob("*.trail"))
    victim = max(files, key=lambda p: p.stat().st_size)
    data = bytearray(victim.read_bytes())
    for offset in range(len(data) // 2, len(data) // 2 + 40):
        data[offset] ^= 0xFF
    victim.write_bytes(bytes(data))
    (demo_copy / "holiday.trail").write_bytes(b"\xff\xd8\xff\xe0 a JPEG, not a session file")
    (demo_copy / "empty.trail").write_bytes(b"")
    past = time.time() - 60
    for p in demo_copy.iterdir():
        os.utime(p, (past, past))
    window = open_window(demo_copy)
    assert window.problems_button.isVisible()
    problems = window.problems_model.stringList()
    assert any("holiday.trail" in p and "not a sessiontrail file" in p for p in problems)
    assert any("empty.trail" in p and "empty" in p for p in problems)
    assert any(victim.name in p and "skipped" in p for p in problems)
    assert window.session_list.model.rowCount() == len(listed(demo_copy)) >= 10


def test_deleting_files_removes_their_sessions(qtbot, open_window, demo_copy):
    window = open_window(demo_copy)
    before = window.session_list.model.rowCount()
    killed = next(p for p in demo_copy.glob("*.trail") if len(listed_names(p)) == 1)
    killed.unlink()
    qtbot.waitUntil(lambda: window.session_list.model.rowCount() == before - 1, timeout=5000)


def listed_names(path: Path) -> list[str]:
    return [s["name"] for s in json.loads(cli("ls", str(path), "--json").stdout)]


def test_drop_a_folder_and_recent_folders(qtbot, open_window, demo, folder):
    window = open_window(folder)
    assert window.session_list.model.rowCount() == 0
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(demo))])
    event = QDropEvent(
        QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    window.dropEvent(event)
    qtbot.waitUntil(lambda: window.session_list.model.rowCount() == len(listed(demo)), timeout=10_000)
    assert window.recent_folders()[:2] == [str(demo.resolve()), str(folder.resolve())]
    assert [a.text() for a in window.recent_menu.actions()][:2] == [str(demo.resolve()), str(folder.resolve())]


def test_timeline_level_of_detail_bounds_what_is_drawn(qtbot, open_window, rec, folder):
    from recorder.decorators import operation

    @operation
    def tiny(i):
        return i

    with rec.start_session() as s:
        for i in range(20_000):
            tiny(i)
    rec.flush()
    window = open_window(folder)
    select_session(qtbot, window, s.id)
    window.show_view("timeline")
    image = window.timeline.plot.grab()
    assert len(window.trace) == 20_000
    width = image.width()
    assert 0 < window.timeline.item.last_paint_rects <= 2 * width  # merged per pixel column


def test_screenshot_command_renders_a_real_picture(tmp_path, demo):
    out = tmp_path / "shot.png"
    proc = subprocess.run(
        [sys.executable, "-m", "viewer", str(demo), "--screenshot", str(out), "--view", "timeline"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"},
    )
    assert proc.returncode == 0, proc.stderr
    image = QImage(str(out))
    assert image.width() >= 1200 and image.height() >= 800
    colors = {image.pixel(x, y) for x in range(0, image.width(), 37) for y in range(0, image.height(), 37)}
    assert len(colors) > 20  # not a blank window
    via_cli = cli("view", str(demo), "--screenshot", str(tmp_path / "two.png"), "--view", "analytics")
    assert "wrote" in via_cli.stdout and (tmp_path / "two.png").stat().st_size > 10_000


def test_missing_paths_and_unknown_sessions_are_one_line_messages(tmp_path, demo):
    missing = cli("view", str(tmp_path / "nowhere"), "--screenshot", str(tmp_path / "a.png"), check=False)
    assert missing.returncode == 2 and "nowhere does not exist" in missing.stderr and "Traceback" not in missing.stderr
    unknown = cli("view", str(demo), "--session", "ffffffff", "--screenshot", str(tmp_path / "b.png"), check=False)
    assert (
        unknown.returncode == 2
        and unknown.stderr.strip().splitlines()[-1] == "sessiontrail: no session with id 'ffffffff'"
    )
    assert not (tmp_path / "a.png").exists() and not (tmp_path / "b.png").exists()


def test_watches_are_scoped_to_what_was_opened(tmp_path):
    from viewer.watcher import watch_plan

    folder, file = tmp_path / "sessions", tmp_path / "home" / "one.trail"
    folder.mkdir()
    file.parent.mkdir()
    file.write_bytes(b"")
    assert watch_plan([folder]) == [(folder, True, None)]  # an opened folder: all of it
    assert watch_plan([file]) == [(file.parent, False, file)]  # a file: by itself, not its folder's tree
    assert watch_plan([tmp_path / "not" / "yet"]) == [(tmp_path, False, None)]  # nearest parent, not recursive


def test_a_missing_folder_is_shown_once_it_appears(qtbot, open_window, tmp_path):
    folder = tmp_path / "later" / "sessions"
    window = open_window(folder)
    qtbot.waitUntil(lambda: any("does not exist" in p for p in window.problems_model.stringList()), timeout=10_000)
    run = f"""
import recorder
recorder.init(directory={str(folder)!r}, session_name="arrived")
recorder.end_session("Success")
"""
    subprocess.run([sys.executable, "-c", run], env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True, timeout=60)
    qtbot.waitUntil(lambda: window.session_list.model.rowCount() == 1, timeout=10_000)
    assert window.session_list.model.rows()[0].name == "arrived"


def test_clearing_the_selection_stops_the_worker_following_the_session(qtbot, open_window, demo):
    window = open_window(demo)
    biggest = max(listed(demo), key=lambda s: s["event_count"])
    select_session(qtbot, window, biggest["id"])
    assert window.worker.worker._selected == biggest["id"]
    window.session_list.table.selectionModel().clearCurrentIndex()  # nothing selected any more
    qtbot.waitUntil(lambda: window.worker.worker._selected is None, timeout=5_000)
    assert window.trace is None


def test_remove_old_sessions_from_the_file_menu_asks_first(qtbot, open_window, tmp_path):
    from conftest import write_aged_sessions
    from PySide6.QtWidgets import QMessageBox

    folder = tmp_path / "aged"
    folder.mkdir()
    old, *_ = write_aged_sessions(folder)
    window = open_window(folder)
    qtbot.waitUntil(lambda: window.session_list.model.rowCount() == 5, timeout=10_000)
    window.ask_prune(days=90)
    qtbot.waitUntil(lambda: window.prune_dialog is not None, timeout=10_000)
    assert "Remove 1 file holding 2 sessions" in window.prune_dialog.text()
    window.prune_dialog.button(QMessageBox.StandardButton.Ok).click()
    qtbot.waitUntil(lambda: window.session_list.model.rowCount() == 3, timeout=10_000)
    assert not old.exists() and sorted(r.name for r in window.session_list.model.rows()) == ["live", "new", "old3"]


def test_the_search_boxes_take_queries(qtbot, open_window, demo):
    """The session search box takes the query language (evaluated over spans and events by
    the worker, the same result as ls --where); the tree's search box takes has()'s clause."""
    query = "has(kind = llm and prompt_tokens > 1000) and tag = demo"
    expected = sorted(s["id"] for s in json.loads(cli("ls", str(demo), "--json", "--where", query).stdout))
    assert 0 < len(expected) < len(listed(demo))
    window = open_window(demo)
    window.session_list.search.setText(query)
    qtbot.waitUntil(lambda: sorted(r.id for r in window.session_list.visible_rows()) == expected, timeout=10_000)
    window.session_list.search.setText("cost >")
    qtbot.waitUntil(lambda: window.session_list.query_error.isVisible(), timeout=5_000)
    assert "expected a value after '>'" in window.session_list.query_error.text()
    window.session_list.search.setText("")
    biggest = max(listed(demo), key=lambda s: s["event_count"])
    select_session(qtbot, window, biggest["id"])
    window.tree.search.setText("kind = llm")
    qtbot.waitUntil(lambda: window.tree.model.rowCount() > 0 and window.tree.model._visible is not None, timeout=5_000)
    shown = [window.trace.nodes[r].kind for r in window.tree.model._visible]
    assert "llm" in shown and all(k == "llm" or k in ("agent", "workflow", "operation", "task") for k in shown)
    window.tree.search.setText("kind =")
    qtbot.waitUntil(lambda: not window.tree.search_error.isHidden(), timeout=5_000)  # (its tab may be hidden)
    assert "expected a value after '='" in window.tree.search_error.text()


def test_a_big_folder_opened_cold_shows_its_list_before_its_totals(qtbot, tmp_path, recorded, monkeypatch, open_window):
    """The first thing shown of a big folder opened cold is its sessions from the files' heads,
    totals shown as not yet counted; the counted rows replace them once every file is read."""
    from recorder import folder as folder_module
    from viewer import workers
    from viewer.models.session_table import COLUMNS, NOT_COUNTED, _display

    monkeypatch.setattr(folder_module, "PREVIEW_MIN_BYTES", 0)
    monkeypatch.setattr(workers, "COUNT_STEP", 0.0)  # a file a step
    folder = tmp_path / "big"
    shutil.copytree(recorded, folder)
    window, updates = open_in_window(open_window, tmp_path, folder)
    qtbot.waitUntil(lambda: window.loaded, timeout=30_000)
    preview = next(u for u in updates if u.rows)
    assert preview.counting and preview.full and len(preview.rows) == 15
    assert {_display(r, "Events") for r in preview.rows} == {NOT_COUNTED}
    assert {_display(r, "Name") for r in preview.rows} >= {"still running", "clean 2.0"}
    counted = updates[-1]
    assert not counted.counting and counted.full and all(r.counted for r in counted.rows)
    model = window.session_list.model
    assert model.rowCount() == 15
    assert NOT_COUNTED not in {model.data(model.index(i, COLUMNS.index("Events"))) for i in range(15)}
    assert "watching for changes" in window.status_label.text()


def test_a_folder_with_an_index_is_listed_from_it_then_its_sessions_made(qtbot, tmp_path, recorded, open_window):
    """A second open shows the index's listing first (counted rows), then only what changed."""
    from viewer.core import SessionStore

    folder = tmp_path / "indexed"
    shutil.copytree(recorded, folder)
    store = SessionStore([folder])
    expected = {r.id: r for r in store.poll().rows}
    assert store.save_index(min_records=0)
    window, updates = open_in_window(open_window, tmp_path, folder)
    qtbot.waitUntil(lambda: window.loaded and len(updates) >= 2, timeout=30_000)
    listed, made = updates[0], updates[-1]
    assert listed.listed and listed.counting and listed.full and all(r.counted for r in listed.rows)
    assert {r.id: r for r in listed.rows} == expected
    assert not made.counting and not made.full and not made.rows  # nothing changed since
    qtbot.waitUntil(lambda: "watching for changes" in window.status_label.text(), timeout=5_000)
    assert {r.id: r for r in window.session_list.model.rows()} == expected


def test_queries_and_analytics_say_they_wait_for_the_count(qtbot):
    from viewer.widgets.analytics import AnalyticsWidget
    from viewer.widgets.session_list import SessionListWidget

    sessions = SessionListWidget()
    qtbot.addWidget(sessions)
    sessions.set_counting(True)
    sessions.search.setText("cost > 0.05")
    qtbot.waitUntil(lambda: "answered once every file is counted" in sessions.count.text(), timeout=3000)
    sessions.set_counting(False)
    sessions.set_query_result("cost > 0.05", frozenset())
    assert sessions.count.text() == "0 sessions"
    analytics = AnalyticsWidget()
    qtbot.addWidget(analytics)
    analytics.show_counting(100_001)
    assert analytics.stats["sessions"].text() == "100,001" and analytics.stats["tokens"].text() == "…"
    assert "once every file of the folder is read" in analytics.scope.text()
    analytics.show_counting(100_001, listed=True)
    assert "from the folder's index" in analytics.scope.text() and analytics.stats["tokens"].text() == "…"


def test_a_prune_asked_for_while_counting_is_planned_over_every_record(qtbot, tmp_path, recorded, monkeypatch):
    """Removing old sessions needs every record: asked for while a big folder is counted, the
    plan comes once the count ends, and covers the whole folder."""
    from recorder import folder as folder_module
    from recorder.catalog import load
    from recorder.prune import plan_prune
    from viewer import workers

    monkeypatch.setattr(folder_module, "PREVIEW_MIN_BYTES", 0)
    folder = tmp_path / "big"
    shutil.copytree(recorded, folder)
    worker = workers.StoreWorker()
    worker.start()
    plans, updates = [], []
    worker.prunePlanned.connect(plans.append)
    worker.updated.connect(updates.append)
    worker.open([str(folder)])
    assert updates and updates[-1].counting  # the preview, and counting held until it is shown
    worker.plan_prune(0.0)  # everything that ended before now
    assert plans == []
    worker.resume()
    qtbot.waitUntil(lambda: bool(plans), timeout=30_000)
    assert not updates[-1].counting
    full, _ = load(folder)
    plan = plans[0]
    expected = plan_prune(full, sorted(folder.glob("*.trail")), plan.cutoff, now_ns=plan.cutoff)
    assert plan.files and sorted(plan.files) == sorted(expected.files)
    assert sorted(plan.sessions) == sorted(expected.sessions)
    worker.stop()
