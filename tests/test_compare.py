"""Two runs compared (viewer/core/compare.py): totals, trees aligned by (kind, name) paths with
repeated siblings matched in order, word-level differences of LLM text."""

from __future__ import annotations

from viewer.core import SessionStore
from viewer.core.compare import ADDED, CHANGED, SAME, align, llm_text, totals, word_diff


def run(rec, name, *, extra_tool=False, model="gpt-4o-mini", prompt="Summarise the report on wind farms", fail=False):
    from recorder.decorators import agent, tool

    @tool(name="search")
    def search(q):
        return [q]

    @tool(name="fetch")
    def fetch(url):
        if fail:
            raise ConnectionError("reset")
        return url

    @agent(name="Researcher")
    def research():
        search("a")
        if extra_tool:
            search("b")  # one inserted call
        try:
            fetch("https://x")
        except ConnectionError:
            pass
        rec.record(
            rec.LLMEvent(
                model=model, prompt=prompt, completion="Wind farms grew.", prompt_tokens=50, completion_tokens=5
            )
        )

    with rec.start_session(name=name) as session:
        research()
    return session.id


def test_totals_and_trees_line_up_with_an_inserted_call(rec, folder):
    a = run(rec, "yesterday")
    b = run(
        rec,
        "today",
        extra_tool=True,
        model="gpt-4o",
        prompt="Summarise the long report on offshore wind farms",
        fail=True,
    )
    rec.flush()
    store = SessionStore([folder], index=False)
    rows = {r.id: r for r in store.poll().rows}
    figures = {what: (old, new, delta) for what, old, new, delta in totals(rows[a], rows[b])}
    assert figures["tool calls"] == ("2", "3", "+1") and figures["LLM calls"] == ("1", "1", "=")
    assert figures["errors"][2] == "+1" and figures["end state"] == ("Success", "Success", "=")
    left, right = store.trace(a), store.trace(b)
    pairs = align(left, right)

    def name(p):
        trace, row = (left, p.left) if p.left is not None else (right, p.right)
        return trace.nodes[row].name

    shape = [(p.depth, name(p), p.change) for p in pairs if not (p.change == ADDED and name(p) == "ConnectionError")]
    assert shape == [
        (0, "Researcher", SAME),
        (1, "search", SAME),
        (1, "search", ADDED),  # the inserted call; what follows still matches
        (1, "fetch", CHANGED),
        (1, "gpt-4o-mini", CHANGED),  # LLM calls match by kind: the model change is a change
    ]
    fetch, llm = (p for p in pairs if p.change == CHANGED)
    assert "status ok → error" in fetch.reasons and "model gpt-4o-mini → gpt-4o" in llm.reasons


def test_llm_text_differs_word_by_word(rec, folder):
    a = run(rec, "a", prompt="Summarise the report on wind farms")
    b = run(rec, "b", prompt="Summarise the long report on offshore wind farms")
    rec.flush()
    store = SessionStore([folder], index=False)
    store.poll()
    ta, tb = store.trace(a), store.trace(b)
    (la,), (lb,) = ta.rows_of_kind("llm").tolist(), tb.rows_of_kind("llm").tolist()
    pair = next(p for p in align(ta, tb) if p.left == la)
    assert pair.right == lb and pair.reasons == ("prompt changed",)  # same model, tokens and status
    (pa, _), (pb, _) = llm_text(ta.nodes[la]), llm_text(tb.nodes[lb])
    pieces = word_diff(pa, pb)
    assert [t.strip() for op, t in pieces if op == "+"] == ["long", "offshore"]  # the words, not the line
    assert not [t for op, t in pieces if op == "-"]
    assert "".join(t for op, t in pieces if op != "+") == pa and "".join(t for op, t in pieces if op != "-") == pb


def test_the_compare_view_on_the_demo_pair(qtbot, tmp_path):
    """The demo's two nightly runs (the second with a changed prompt, an extra tool call and a
    failure) in the real Compare view."""
    import json

    from conftest import cli
    from PySide6.QtCore import QSettings

    from viewer import MainWindow

    folder = tmp_path / "demo"
    cli("demo", str(folder), "--live-seconds", "0", timeout=120)
    runs = json.loads(cli("ls", str(folder), "--json", "--where", "tag = nightly").stdout)
    a, b = (r["id"] for r in sorted(runs, key=lambda r: r["start_time"]))
    window = MainWindow(folder, settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.loaded and window.session_list.model.rowCount() > 10, timeout=20_000)
    later = next(r for r in window.session_list.model.rows() if r.id == b)
    choices = dict(window.session_list.compare_candidates(later))
    assert choices["Compare with the previous session of this name"].id == a
    with qtbot.waitSignal(window.compareShown, timeout=10_000):
        window.compare_sessions(a, b)
    view = window.compare
    assert window.tabs.currentWidget() is view
    figures = {what: (old, new, delta) for what, old, new, delta in totals(later, later)}
    assert figures["tool calls"][2] == "="  # (the same session: no differences)
    shown = [
        view.figures.itemAtPosition(r, c).widget().text()
        for r in range(1, 11)
        for c in range(4)
        if view.figures.itemAtPosition(r, c)
    ]
    assert ["tool calls", "4", "6", "+2"] == shown[shown.index("tool calls") : shown.index("tool calls") + 4]
    assert ["errors", "0", "1", "+1"] == shown[shown.index("errors") : shown.index("errors") + 4]
    marks = [(view.model.node(p).kind, view.model.node(p).name, p.change) for p in view.model.pairs]
    assert marks[0] == ("workflow", "research_pipeline", SAME)
    assert ("tool", "web_search", ADDED) in marks and ("error", "ConnectionError", ADDED) in marks
    assert sum(change == ADDED for *_, change in marks) == 3
    planner = next(i for i, p in enumerate(view.model.pairs) if p.left is not None and view.model.node(p).kind == "llm")
    view.table.selectRow(planner)  # the planner's call: its prompt changed
    assert "five primary sources" in view.right_text.toPlainText()
    assert "five primary sources" not in view.left_text.toPlainText()
    pair = view.model.pairs[planner]
    assert view.left_timeline.item.selected == pair.left and view.right_timeline.item.selected == pair.right
    added = next(i for i, p in enumerate(view.model.pairs) if p.change == ADDED)
    view.right_timeline.nodeSelected.emit(view.model.pairs[added].right)  # picked on the right timeline...
    assert view.table.currentIndex().row() == added  # ...its line is selected
    everything = len(view.model.pairs)
    view.hide_unchanged.setChecked(True)
    assert 0 < len(view.model.pairs) < everything
    window.close()
