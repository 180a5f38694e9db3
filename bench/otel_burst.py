"""A burst through the OTel path: one process emits OpenInference spans of ~1 KB as fast as it
can (sessions of 100 spans: an agent and 99 LLM calls), through SessionTrailSpanProcessor.
Each run is a fresh child process; after it, the folder is read back and its spans counted.

    python bench/otel_burst.py [--runs 20] [--spans 100000] [--threads 1]

Prints, per run, spans per second, records the writer dropped, spans missing from the folder
and the child's peak memory; then the totals. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from figures import report

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import json, sys, threading, time
sys.path.insert(0, sys.argv[1])
from opentelemetry.sdk.trace import TracerProvider
import recorder
from recorder import _state
from recorder.otel import SessionTrailSpanProcessor

folder, spans, threads = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
recorder.init(directory=folder, auto_start_session=False)
provider = TracerProvider()
provider.add_span_processor(SessionTrailSpanProcessor())
tracer = provider.get_tracer("burst")
prompt, completion = "p" * 700, "c" * 150

def produce(first, sessions):
    for s in range(first, first + sessions):
        root = {"openinference.span.kind": "AGENT", "session.id": f"burst-{s}"}
        with tracer.start_as_current_span("agent", attributes=root):
            for _ in range(99):
                call = {"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o-mini", "input.value": prompt,
                        "output.value": completion, "llm.token_count.prompt": 180, "llm.token_count.completion": 40}
                with tracer.start_as_current_span("llm", attributes=call):
                    pass

def peak_mb():  # VmHWM: this process's own peak (ru_maxrss would include the parent's, from before exec)
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmHWM:"))

per_thread = spans // 100 // threads
started = time.perf_counter()
workers = [threading.Thread(target=produce, args=(i * per_thread, per_thread)) for i in range(threads)]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
elapsed = time.perf_counter() - started
dropped = _state.writer.dropped
recorder.flush(60)
print(json.dumps({"spans": per_thread * threads * 100, "seconds": elapsed, "dropped": dropped,
                  "peak_mb": peak_mb()}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--spans", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from recorder import load

    lossy = 0
    rates, peaks = [], []
    for run in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory() as folder:
            done = subprocess.run(
                [sys.executable, "-c", CHILD, str(ROOT), folder, str(args.spans), str(args.threads)],
                capture_output=True,
                text=True,
                timeout=1800,
            )
            if done.returncode != 0:
                print(f"run {run}: the child failed: {done.stderr.strip()[-500:]}")
                continue
            child = json.loads(done.stdout.strip().splitlines()[-1])
            stored = sum(1 for node in load(folder).nodes if node["kind"] in ("agent", "llm"))
        missing = child["spans"] - stored
        lossy += bool(child["dropped"] or missing)
        rates.append(child["spans"] / child["seconds"])
        peaks.append(child["peak_mb"])
        print(
            f"run {run}: {rates[-1]:,.0f} spans/s, {child['dropped']:,} records dropped, "
            f"{missing:,} spans missing, peak {child['peak_mb']:.0f} MB"
        )
    if rates:
        print(
            f"burst of {args.spans:,} OTel spans (~1 KB), {args.threads} thread(s): {lossy} of {len(rates)} runs lost data; "
            f"{min(rates):,.0f}-{max(rates):,.0f} spans/s; peak memory up to {max(peaks):.0f} MB"
        )
        report(
            bench="otel-burst",
            runs=len(rates),
            lossy_runs=lossy,
            spans_per_s=sum(rates) / len(rates),
            peak_mb=max(peaks),
        )


if __name__ == "__main__":
    main()
