"""Arize Phoenix as a peer (optional): the same OpenTelemetry workload into Phoenix's local
server and into sessiontrail, and how long each takes until every span can be queried, and
to fetch one trace.

    python bench/phoenix_peer.py [--spans 10000]       (or: python bench/run.py --peers phoenix)

The first run installs Phoenix into ``.venv-phoenix`` (a few minutes; it is a large package
with its own server and database) and reuses it afterwards. The server runs on 127.0.0.1 with a
fresh working folder (SQLite) and is stopped at the end. The workload: sessions of 100 spans (an
agent, 66 LLM calls with OpenInference attributes, 33 tool calls) produced through the OTel SDK;
Phoenix gets them through the SDK's BatchSpanProcessor and OTLP/HTTP exporter, sessiontrail
through SessionTrailSpanProcessor. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from figures import report

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv-phoenix"
PACKAGES = ["arize-phoenix", "opentelemetry-sdk", "opentelemetry-exporter-otlp-proto-http"]

# The workload, run by both producers: argv = [root, sink, spans, endpoint or folder].
PRODUCER = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from opentelemetry.sdk.trace import TracerProvider

sink, spans, target = sys.argv[2], int(sys.argv[3]), sys.argv[4]
provider = TracerProvider()
if sink == "phoenix":
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    # A queue that holds the whole run: the default (2,048 spans) drops most of a fast burst
    # before Phoenix ever sees it, which would measure the SDK, not Phoenix.
    exporter = OTLPSpanExporter(endpoint=target + "/v1/traces")
    provider.add_span_processor(BatchSpanProcessor(exporter, max_queue_size=spans + 1000))
else:
    import recorder
    from recorder.otel import SessionTrailSpanProcessor
    recorder.init(directory=target, auto_start_session=False)
    provider.add_span_processor(SessionTrailSpanProcessor())
tracer = provider.get_tracer("peer-bench")
prompt, completion = "Summarise the findings. " * 20, "The findings are these. " * 8
traces = []
started = time.perf_counter()
for s in range(spans // 100):
    with tracer.start_as_current_span("research", attributes={"openinference.span.kind": "AGENT", "session.id": f"s{s}"}) as root:
        for i in range(33):
            for _ in range(2):
                call = {"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o-mini", "input.value": prompt,
                        "output.value": completion, "llm.token_count.prompt": 180, "llm.token_count.completion": 40}
                with tracer.start_as_current_span("llm", attributes=call):
                    pass
            with tracer.start_as_current_span("search", attributes={"openinference.span.kind": "TOOL", "input.value": str(i)}):
                pass
    traces.append(format(root.get_span_context().trace_id, "032x"))
produced = time.perf_counter() - started
provider.shutdown() if sink == "phoenix" else recorder.shutdown()
print(json.dumps({"produced_s": produced, "flushed_s": time.perf_counter() - started, "trace": traces[len(traces) // 2]}))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def install() -> Path:
    python = VENV / "bin" / "python"
    if not python.exists():
        print(f"installing Phoenix into {VENV} (once; a few minutes)...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PACKAGES], check=True)
    return python


def request(url: str, body: dict | None = None, timeout: float = 30) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if body is not None else {}
    with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers), timeout=timeout) as r:
        return json.loads(r.read())


def healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=5) as r:
            return r.status == 200
    except Exception:  # not listening yet, or starting up
        return False


def phoenix_spans(base: str) -> int:
    answer = request(base + "/graphql", {"query": "{ projects { edges { node { name recordCount } } } }"})
    return sum(edge["node"]["recordCount"] for edge in answer["data"]["projects"]["edges"])


def wait_until(condition, deadline_s: float) -> float | None:
    """Seconds until condition() holds (polled), or None at the deadline."""
    started = time.perf_counter()
    while time.perf_counter() - started < deadline_s:
        try:
            if condition():
                return time.perf_counter() - started
        except OSError:
            pass
        time.sleep(0.2)
    return None


def run_phoenix(python: Path, spans: int, deadline_s: float) -> dict:
    work = Path(tempfile.mkdtemp(prefix="phoenix-bench-"))
    port = free_port()
    env = {
        **os.environ,
        "PHOENIX_WORKING_DIR": str(work),
        "PHOENIX_PORT": str(port),
        "PHOENIX_GRPC_PORT": str(free_port()),
        "PHOENIX_HOST": "127.0.0.1",
    }
    server = subprocess.Popen(
        [str(python), "-m", "phoenix.server.main", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        if wait_until(lambda: healthy(base), 180) is None:
            raise SystemExit("Phoenix did not start")
        produced = json.loads(
            subprocess.run(
                [str(python), "-c", PRODUCER, str(ROOT), "phoenix", str(spans), base],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        queryable = wait_until(lambda: phoenix_spans(base) >= spans, deadline_s)
        seen = phoenix_spans(base)
        started = time.perf_counter()
        found = request(f"{base}/v1/projects/default/spans?limit=1000&trace_id={produced['trace']}")
        lookup = time.perf_counter() - started
        rss = _rss_mb(server.pid)
        return produced | {
            "queryable_s": queryable,
            "seen": seen,
            "lookup_s": lookup,
            "lookup_spans": len(found["data"]),
            "server_mb": rss,
        }
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)


def run_ours(spans: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        produced = json.loads(
            subprocess.run(
                [sys.executable, "-c", PRODUCER, str(ROOT), "sessiontrail", str(spans), folder],
                capture_output=True,
                text=True,
                check=True,
                env=env,
            ).stdout
        )
        started = time.perf_counter()
        listed = json.loads(
            subprocess.run(
                [sys.executable, "-m", "recorder", "ls", folder, "--json"], capture_output=True, text=True, env=env
            ).stdout
        )
        queryable = time.perf_counter() - started
        seen = sum(s["event_count"] for s in listed)
        one = listed[len(listed) // 2]["id"]
        started = time.perf_counter()
        shown = json.loads(
            subprocess.run(
                [sys.executable, "-m", "recorder", "show", "--dir", folder, one, "--json"],
                capture_output=True,
                text=True,
                env=env,
            ).stdout
        )
        command = time.perf_counter() - started
        # The same lookup in a running process, as Phoenix's is (a request to its server).
        sys.path.insert(0, str(ROOT))
        from recorder.catalog import load
        from recorder.summary import node_summary, session_summary

        started = time.perf_counter()
        catalog, _ = load(folder, sessions=[one])
        session = catalog.sessions[one]
        _ = session_summary(session), [node_summary(session, n) for n in session.nodes.values()]
        lookup = time.perf_counter() - started
        return produced | {
            "queryable_s": queryable,
            "seen": seen,
            "lookup_s": lookup,
            "lookup_command_s": command,
            "lookup_spans": len(shown["events"]),
        }


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as fh:
            return next(int(line.split()[1]) / 1024 for line in fh if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=10_000)
    parser.add_argument("--deadline", type=float, default=600, help="seconds to wait for Phoenix to ingest")
    args = parser.parse_args()
    python = install()
    print(f"machine: {os.uname().machine}, {os.cpu_count()} cores; {args.spans:,} spans in sessions of 100")
    for name, result in (
        ("sessiontrail", run_ours(args.spans)),
        ("phoenix", run_phoenix(python, args.spans, args.deadline)),
    ):
        queryable = "not within the deadline" if result["queryable_s"] is None else f"{result['queryable_s']:.2f} s"
        print(
            f"{name:>12}: produced in {result['produced_s']:.1f} s (flushed {result['flushed_s']:.1f} s); "
            f"all spans queryable {queryable} after ({result['seen']:,} seen); one trace in "
            f"{result['lookup_s'] * 1000:.0f} ms ({result['lookup_spans']} spans"
            + (
                f"; as a `show` command {result['lookup_command_s'] * 1000:.0f} ms"
                if "lookup_command_s" in result
                else ""
            )
            + ")"
            + (f"; server {result['server_mb']:.0f} MB" if "server_mb" in result else "")
        )
        report(bench="peer_phoenix", sink=name, spans=args.spans, **{k: v for k, v in result.items() if k != "trace"})


if __name__ == "__main__":
    main()
