"""Privacy (redaction, API keys never written, redacted export) and hostile input
(property-based encoding, strangers' files in the viewer)."""

from __future__ import annotations

import json
import os
import random
import time

import msgpack
from conftest import cli, load, run_script
from hypothesis import given, settings
from hypothesis import strategies as st

from recorder._encode import pack_record
from recorder._format import record_dict, to_wire
from recorder.redact import MASK, Redactor, make_redactor

SECRET = "sk-proj-" + "A1b2C3d4" * 5


def all_bytes(folder) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*.trail")))


def test_api_key_given_to_init_is_never_written(tmp_path):
    run_script(
        f"""
        import recorder
        recorder.init({SECRET!r}, directory={str(tmp_path)!r}, tags=["p"])
        recorder.record(recorder.ActionEvent(action_type="x"))
        """
    )
    data = all_bytes(tmp_path)
    assert data and SECRET.encode() not in data


def test_redact_masks_secret_keys_and_key_formats_before_writing(tmp_path):
    run_script(
        f"""
        import recorder
        from recorder.decorators import tool
        recorder.init(directory={str(tmp_path)!r}, redact=["customer_email"])

        @tool
        def call_api(url, api_key=None, headers=None):
            return {{"ok": True, "echo": "used " + api_key}}

        call_api("https://x", api_key={SECRET!r}, headers={{"Authorization": "Bearer abcdefghijklmnopqrstuvwxyz012345"}})
        recorder.record(recorder.LLMEvent(model="m", prompt="my key is {SECRET} please", completion="ok"))
        recorder.record(recorder.ActionEvent(action_type="signup", params={{"customer_email": "ann@example.com", "plan": "pro"}}))
        recorder.end_session("Success")
        """
    )
    data = all_bytes(tmp_path)
    for secret in (SECRET.encode(), b"abcdefghijklmnopqrstuvwxyz012345", b"ann@example.com"):
        assert secret not in data
    catalog, problems = load(tmp_path)
    (info,) = catalog.sessions.values()
    nodes = {n.kind: n for n in info.nodes.values()}
    assert nodes["tool"].attrs["input"]["kwargs"]["api_key"] == MASK
    assert nodes["tool"].attrs["input"]["kwargs"]["headers"]["Authorization"] == MASK
    assert nodes["tool"].end_attrs["output"]["echo"] == f"used {MASK}"
    assert nodes["llm"].attrs["prompt"] == f"my key is {MASK} please"
    assert nodes["action"].attrs["params"] == {"customer_email": MASK, "plan": "pro"}  # the rest is kept
    assert info.end_state == "Success"


def test_redact_with_a_function_and_a_failing_function(tmp_path):
    run_script(
        f"""
        import recorder

        def drop_prompts(record):
            attrs = record.get("attrs")
            if isinstance(attrs, dict) and "prompt" in attrs:
                record = {{**record, "attrs": {{**attrs, "prompt": "<removed>"}}}}
            return record

        recorder.init(directory={str(tmp_path / "fn")!r}, redact=drop_prompts)
        recorder.record(recorder.LLMEvent(model="m", prompt="private words", completion="fine"))
        """
    )
    (info,) = load(tmp_path / "fn")[0].sessions.values()
    (llm,) = info.nodes.values()
    assert llm.attrs["prompt"] == "<removed>" and llm.attrs["completion"] == "fine"
    broken = make_redactor(lambda record: 1 / 0)
    out = record_dict(
        broken(to_wire({"type": "event", "ts": 1, "session": "s", "id": 1, "attrs": {"prompt": "private"}}))
    )
    assert "private" not in json.dumps(out) and out["redaction_failed"] is True


def test_redactor_never_modifies_its_input():
    record = {"type": "event", "attrs": {"password": "hunter2", "nested": [{"token_count": 3, "secret": "x"}]}}
    before = json.dumps(record)
    out = Redactor()(record)
    assert json.dumps(record) == before
    assert out["attrs"]["password"] == MASK and out["attrs"]["nested"][0] == {"token_count": 3, "secret": MASK}


def test_export_redact_writes_a_shareable_copy_of_selected_sessions(tmp_path):
    folder = tmp_path / "src"
    run_script(
        f"""
        import recorder
        recorder.init(directory={str(folder)!r}, auto_start_session=False)
        for name in ("keep", "other"):
            with recorder.start_session(name=name, tags=[name]):
                recorder.record(recorder.ToolEvent(name="http", params={{"password": "pw-{{name}}", "q": "{SECRET}"}}))
        """
    )
    listed = {s["name"]: s for s in json.loads(cli("ls", str(folder), "--json").stdout)}
    out = tmp_path / "share.trail"
    result = cli("export", listed["keep"]["id"][:8], "--dir", str(folder), "-o", str(out), "--redact")
    assert "(redacted)" in result.stdout
    data = out.read_bytes()
    assert SECRET.encode() not in data and b"pw-keep" not in data
    shared = json.loads(cli("ls", str(out), "--json").stdout)
    assert [s["name"] for s in shared] == ["keep"] and shared[0]["end_state"] == "Success"
    assert cli("verify", str(out)).stdout.startswith("ok")
    jsonl = tmp_path / "share.jsonl"
    cli("export", listed["other"]["id"], "--dir", str(folder), "-o", str(jsonl), "--format", "jsonl")
    lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert lines[0]["type"] == "file" and {r["type"] for r in lines[1:]} == {"session_start", "event", "session_end"}
    again = cli("export", listed["other"]["id"], "--dir", str(folder), "-o", str(jsonl), check=False)
    assert again.returncode == 2 and "exists" in again.stderr


# ---------------------------------------------------------------- property-based encoding

values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary(max_size=64),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5) | st.tuples(inner, inner)
    ),
    max_leaves=25,
)


def expected(value):
    """What the format promises to give back for a value."""
    if isinstance(value, bool) or value is None or isinstance(value, (float, str, bytes)):
        return value
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**64 else str(value)
    if isinstance(value, (list, tuple)):
        return [expected(v) for v in value]
    return {k: expected(v) for k, v in value.items()}


@settings(max_examples=300, deadline=None)
@given(values)
def test_any_value_round_trips_or_becomes_its_string(value):
    record = {"type": "event", "ts": 1, "attrs": {"v": value}}
    data = pack_record(record)
    back = record_dict(msgpack.unpackb(data, raw=False, strict_map_key=False))
    if back.get("truncated"):
        return  # capped to MAX_RECORD_SIZE, marked as such
    assert back["attrs"]["v"] == expected(value)


# ---------------------------------------------------------------- strangers' files in the viewer


def test_viewer_on_a_folder_of_fuzzed_files_shows_problems_and_stays_responsive(qtbot, tmp_path):
    from PySide6.QtCore import QSettings
    from test_reliability import MUTATIONS, mutate, real_file

    from viewer import MainWindow

    original, _ = real_file(tmp_path / "orig")
    data = original.read_bytes()
    folder = tmp_path / "fuzzed"
    folder.mkdir()
    rng = random.Random(5)
    for n in range(40):
        (folder / f"f{n:02d}.trail").write_bytes(mutate(data, MUTATIONS[n % len(MUTATIONS)], rng))
    (folder / "huge-claim.trail").write_bytes(
        b"\x89STRAIL\n\x01\x00\x00\x00" + b"\xf5\x7e\x5a\x17" + (2**31).to_bytes(4, "little") + b"\0" * 16
    )
    past = time.time() - 60
    for p in folder.iterdir():
        os.utime(p, (past, past))
    window = MainWindow(folder, settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.show()
    # The worker reads off the GUI thread (how responsive the window stays is bench/'s figure).
    qtbot.waitUntil(lambda: window.loaded, timeout=20_000)
    assert window.isVisible()
    problems = window.problems_model.stringList()
    assert problems and window.problems_button.isVisible()
    assert any("huge-claim.trail" in p for p in problems)
    assert window.session_list.model.rowCount() >= 1  # what was readable is shown


def test_huge_strings_are_elided_in_views(qtbot, rec, folder, tmp_path):
    from PySide6.QtCore import QSettings

    from viewer import MainWindow

    with rec.start_session(name="n" * 50_000) as s:
        rec.record(rec.ToolEvent(name="big", returns="r" * 60_000))
    rec.flush()
    window = MainWindow(folder, settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.loaded, timeout=10_000)
    with qtbot.waitSignal(window.traceShown, timeout=10_000):
        window.session_list.select(s.id)
    assert len(window.details.fields["Name"].text()) < 400
    window.select_node(0)
    model = window.event_detail.attrs_model
    texts = [model.item(r, 1).text() for r in range(model.rowCount())]
    assert max(len(t) for t in texts) < 1200 and any("more characters" in t for t in texts)
