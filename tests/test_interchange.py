"""Export to OTLP/JSON, Chrome trace JSON and JSON lines, checked against their specs, and the
OTLP round trip through `sessiontrail import`."""

from __future__ import annotations

import json

import pytest
from conftest import cli, load


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    cli("demo", str(folder), "--live-seconds", "0")
    listed = json.loads(cli("ls", str(folder), "--json").stdout)
    return folder, listed


def node_shape(info):
    """Everything the round trip must keep: tree, times, names, kinds, statuses, LLM fields."""
    out = []
    for n in info.nodes.values():
        llm = (
            {k: n.attrs.get(k) for k in ("model", "prompt", "completion", "prompt_tokens", "completion_tokens", "cost")}
            if n.kind == "llm"
            else None
        )
        out.append(
            (n.id, n.parent, n.kind, n.name, n.start, n.end, n.status, n.is_span, json.dumps(llm, sort_keys=True))
        )
    return sorted(out)


def test_otlp_json_is_valid_otlp_and_round_trips(demo, tmp_path):
    pb = pytest.importorskip("opentelemetry.proto.collector.trace.v1.trace_service_pb2")
    from google.protobuf import json_format

    folder, listed = demo
    failed = next(s for s in listed if s["end_state"] == "Fail")
    biggest = max(listed, key=lambda s: s["event_count"])
    out = tmp_path / "trace.otlp.json"
    cli("export", failed["id"], biggest["id"], "--dir", str(folder), "--format", "otlp-json", "-o", str(out))
    document = json.loads(out.read_text())
    request = json_format.Parse(json.dumps(document), pb.ExportTraceServiceRequest())  # the OTLP/JSON mapping
    spans = [span for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans]
    assert len(spans) == failed["event_count"] + biggest["event_count"] + 2  # + a root span per session
    raw = document["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert all(len(s["traceId"]) == 32 and len(s["spanId"]) == 16 for s in raw)
    assert all(isinstance(s["startTimeUnixNano"], str) and s["startTimeUnixNano"].isdigit() for s in raw)
    assert {s["status"]["code"] for s in raw} <= {1, 2} and all(s["kind"] == 1 for s in raw)
    llm = next(s for s in raw if any(a["key"] == "gen_ai.request.model" for a in s["attributes"]))
    keys = {a["key"]: a["value"] for a in llm["attributes"]}
    assert "intValue" in keys["gen_ai.usage.input_tokens"] and "gen_ai.prompt.0.content" in keys

    target = tmp_path / "imported"
    result = cli("import", str(out), "--dir", str(target))
    assert "imported 2 sessions" in result.stdout
    original, _ = load(folder)
    back, problems = load(target)
    assert not problems
    for sid in (failed["id"], biggest["id"]):
        a, b = original.sessions[sid], back.sessions[sid]
        assert (b.name, b.tags, b.end_state, b.start, b.end) == (a.name, a.tags, a.end_state, a.start, a.end)
        assert node_shape(b) == node_shape(a)
        assert (b.llm_calls, b.prompt_tokens, b.completion_tokens, b.cost) == (
            a.llm_calls,
            a.prompt_tokens,
            a.completion_tokens,
            a.cost,
        )


def test_foreign_otlp_traces_import_as_sessions(tmp_path):
    document = {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "other-app"}}]},
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": "5b8efff798038103d269b633813fc60c",
                                "spanId": "eee19b7ec3c1b174",
                                "name": "agent run",
                                "startTimeUnixNano": "1700000000000000000",
                                "endTimeUnixNano": "1700000002000000000",
                                "kind": 1,
                                "attributes": [{"key": "openinference.span.kind", "value": {"stringValue": "AGENT"}}],
                                "status": {},
                            },
                            {
                                "traceId": "5b8efff798038103d269b633813fc60c",
                                "spanId": "eee19b7ec3c1b175",
                                "parentSpanId": "eee19b7ec3c1b174",
                                "name": "chat",
                                "startTimeUnixNano": "1700000000500000000",
                                "endTimeUnixNano": "1700000001500000000",
                                "kind": 3,
                                "attributes": [
                                    {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                                    {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o-mini"}},
                                    {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "1000"}},
                                    {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "200"}},
                                ],
                                "status": {"code": 1},
                            },
                        ]
                    }
                ],
            }
        ]
    }
    source = tmp_path / "foreign.json"
    source.write_text(json.dumps(document))
    cli("import", str(source), "--dir", str(tmp_path / "out"))
    catalog, _ = load(tmp_path / "out")
    (info,) = catalog.sessions.values()
    assert info.name == "agent run" and info.end_state == "Success" and info.tags == ["otlp-import"]
    agent = next(n for n in info.nodes.values() if n.kind == "agent")
    llm = next(n for n in info.nodes.values() if n.kind == "llm")
    assert llm.parent == agent.id and (llm.end - llm.start) == 1_000_000_000
    assert info.prompt_tokens == 1000 and info.cost == pytest.approx((1000 * 0.15 + 200 * 0.6) / 1e6)
    bad = tmp_path / "bad.json"
    bad.write_text('{"hello": 1}')
    refused = cli("import", str(bad), "--dir", str(tmp_path / "out"), check=False)
    assert refused.returncode == 2 and "not an OTLP/JSON traces document" in refused.stderr


def test_chrome_trace_has_complete_and_instant_events_on_non_overlapping_tracks(demo, tmp_path):
    folder, listed = demo
    biggest = max(listed, key=lambda s: s["event_count"])
    out = tmp_path / "trace.chrome.json"
    cli("export", biggest["id"], "--dir", str(folder), "--format", "chrome", "-o", str(out))
    events = json.loads(out.read_text())["traceEvents"]
    complete = [e for e in events if e["ph"] == "X"]
    instants = [e for e in events if e["ph"] == "i"]
    assert len(complete) + len(instants) == biggest["event_count"]
    assert all(e["dur"] >= 0 and e["ts"] >= 0 for e in complete)
    assert {e["name"] for e in events if e["ph"] == "M"} == {"process_name", "thread_name"}
    by_track: dict = {}
    for e in complete:
        by_track.setdefault((e["pid"], e["tid"]), []).append((e["ts"], e["ts"] + e["dur"]))
    for spans in by_track.values():  # nothing hidden: no two events of one track overlap
        spans.sort()
        assert all(a[1] <= b[0] + 1e-6 for a, b in zip(spans, spans[1:], strict=False))
    assert {"workflow", "agent", "llm", "tool"} <= {e["cat"] for e in complete}


def test_export_to_an_otlp_http_endpoint(demo, tmp_path):
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    received = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, self.headers["Content-Type"], json.loads(body)))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        folder, listed = demo
        session = listed[0]
        url = f"http://127.0.0.1:{server.server_port}"
        out = cli("export", session["id"], "--dir", str(folder), "--otlp-endpoint", url)
        assert "HTTP 200" in out.stdout
        ((path, content_type, document),) = received
        assert path == "/v1/traces" and content_type == "application/json"
        spans = document["resourceSpans"][0]["scopeSpans"][0]["spans"]
        assert len(spans) == session["event_count"] + 1
    finally:
        server.shutdown()
        server.server_close()
    refused = cli("export", session["id"], "--dir", str(folder), "--otlp-endpoint", url, check=False)
    assert refused.returncode == 2 and "cannot reach" in refused.stderr


def test_init_streams_sessions_live_to_an_otlp_endpoint(tmp_path):
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from conftest import run_script

    posts = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        run_script(
            f"""
            import time, recorder
            from recorder.decorators import operation
            recorder.init(directory={str(tmp_path)!r}, otlp_endpoint="http://127.0.0.1:{server.server_port}",
                          otlp_interval=0.1, flush_interval=0.02, tags=["live"])

            @operation
            def step(i):
                time.sleep(0.02)

            for i in range(30):
                step(i)
            recorder.end_session("Success")
            """
        )
    finally:
        server.shutdown()
        server.server_close()
    spans = [s for doc in posts for rs in doc["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]
    assert len(posts) >= 3  # sent while recording, not only at the end
    ids = [s["spanId"] for s in spans]
    assert len(ids) == len(set(ids)) == 31  # 30 spans and the session's root span, each once

    def is_root(span):
        return any(
            a["key"] == "sessiontrail.kind" and a["value"].get("stringValue") == "session" for a in span["attributes"]
        )

    first_posts = [
        s for doc in posts[:-1] for rs in doc["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]
    ]
    assert not any(is_root(s) for s in first_posts)  # the root goes out once the session has ended...
    assert sum(is_root(s) for s in spans) == 1  # ...exactly once


def test_jsonl_export_imports_back(demo, tmp_path):
    folder, listed = demo
    session = max(listed, key=lambda s: s["event_count"])
    out = tmp_path / "s.jsonl"
    cli("export", session["id"], "--dir", str(folder), "--format", "jsonl", "-o", str(out))
    cli("import", str(out), "--dir", str(tmp_path / "back"))
    original, _ = load(folder)
    back, problems = load(tmp_path / "back")
    assert not problems
    a, b = original.sessions[session["id"]], back.sessions[session["id"]]
    assert (b.name, b.tags, b.end_state, b.start, b.end) == (a.name, a.tags, a.end_state, a.start, a.end)
    assert node_shape(b) == node_shape(a)
