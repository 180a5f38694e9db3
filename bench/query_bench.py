"""Query speed: sessions found by what happened inside them (recorder/query.py), over a catalog
of 10,000 sessions and 1,000,000 spans and events (and 10x, 100x smaller).

    python bench/query_bench.py [--sessions N] [--events N]

Prints figures; asserts nothing. The catalog is built in memory from records, as the reader
would fold them, so the figure is the query alone.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import msgpack

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from figures import report  # noqa: E402

from recorder._format import T_EVENT, T_SESSION_END, T_SESSION_START, T_SPAN_END, T_SPAN_START  # noqa: E402
from recorder.catalog import Catalog  # noqa: E402
from recorder.query import session_query  # noqa: E402
from recorder.reader import Batch, FileRecords  # noqa: E402

QUERIES = [
    "cost > 0.05 and status = Fail",
    "has(kind = tool and name = web_search and status = error)",
    "has(kind = llm and prompt_tokens > 4000)",
    "has(attr.retrieval.k >= 10)",
]


def build(sessions: int, events: int) -> Catalog:
    rng = random.Random(7)
    catalog = Catalog()
    per = max(1, events // sessions)
    records: list[list] = []
    t = 1_800_000_000_000_000_000
    for n in range(sessions):
        sid = f"00000000-0000-4000-8000-{n:012d}"
        records.append([T_SESSION_START, t, sid, f"run {n}", ["prod" if n % 3 else "dev"], {}])
        for i in range(0, per, 3):  # three nodes each: a tool span, an LLM call in it, a note
            span = i + 1
            records.append(
                [
                    T_SPAN_START,
                    t + i,
                    sid,
                    span,
                    None,
                    "tool",
                    rng.choice(["web_search", "fetch"]),
                    msgpack.packb({"input": {"args": [i]}, "retrieval.k": rng.randint(1, 12)}),
                ]
            )
            records.append([T_SPAN_END, t + i + 2, sid, span, "error" if rng.random() < 0.01 else "ok", None])
            tokens = rng.randint(100, 4100)
            records.append(
                [
                    T_EVENT,
                    t + i + 1,
                    sid,
                    i + 2,
                    span,
                    "llm",
                    "gpt-4o",
                    t + i + 2,
                    msgpack.packb(
                        {"model": "gpt-4o", "prompt_tokens": tokens, "completion_tokens": 50, "cost": tokens * 2.5e-6}
                    ),
                ]
            )
            records.append([T_EVENT, t + i + 1, sid, i + 3, span, "action", "note", None, None])
        records.append([T_SESSION_END, t + per, sid, "Fail" if n % 17 == 0 else "Success", None])
        if len(records) > 200_000:
            catalog.apply(Batch(files=[FileRecords(Path("bench.trail"), records)]))
            records = []
    catalog.apply(Batch(files=[FileRecords(Path("bench.trail"), records)]))
    return catalog


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    for factor in (100, 10, 1):
        sessions, events = args.sessions // factor, args.events // factor
        catalog = build(sessions, events)
        nodes = sum(len(s.table) for s in catalog.sessions.values())
        now = time.time_ns()
        for query in QUERIES:
            matches = session_query(query)
            started = time.perf_counter()
            found = sum(1 for s in catalog.sessions.values() if matches(s, now))
            seconds = time.perf_counter() - started
            print(
                f"query over {sessions:,} sessions / {nodes:,} nodes: {seconds * 1000:8.1f} ms, {found:,} found  {query}"
            )
            report(bench="query", sessions=sessions, nodes=nodes, query=query, seconds=seconds, found=found)


if __name__ == "__main__":
    main()
