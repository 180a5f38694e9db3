"""Aligning two runs (recorder/compare.py): two sessions of N nodes each (a few agents, each
with a long run of tool and LLM calls; the second run with calls inserted, removed and
failed), aligned as ``sessiontrail diff`` does. Prints figures; asserts nothing.

    python bench/compare_bench.py [--nodes N]
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

from recorder._format import T_EVENT, T_SESSION_START, T_SPAN_END, T_SPAN_START  # noqa: E402
from recorder.catalog import Catalog  # noqa: E402
from recorder.compare import SessionTree, align, diff  # noqa: E402
from recorder.reader import Batch, FileRecords  # noqa: E402


def session_records(sid: str, nodes: int, rng: random.Random, variant: bool) -> list[list]:
    t = 1_800_000_000_000_000_000
    records: list[list] = [[T_SESSION_START, t, sid, "run", [], {}]]
    node_id = 1
    agents = 10
    for a in range(agents):
        agent = node_id
        node_id += 1
        records.append([T_SPAN_START, t + node_id, sid, agent, None, "agent", f"agent {a}", None])
        for i in range(nodes // agents // 2):
            if variant and rng.random() < 0.02:
                continue  # a call removed
            for kind, name in (("tool", f"tool {i % 7}"), ("llm", "gpt-4o")):
                attrs = {"model": "gpt-4o", "prompt_tokens": rng.randint(10, 99)} if kind == "llm" else None
                records.append(
                    [T_EVENT, t + node_id, sid, node_id, agent, kind, name, t + node_id + 5, msgpack.packb(attrs)]
                )
                node_id += 1
            if variant and rng.random() < 0.02:
                records.append([T_EVENT, t + node_id, sid, node_id, agent, "tool", "inserted", None, None])
                node_id += 1
        records.append([T_SPAN_END, t + node_id, sid, agent, "error" if variant and a == 3 else "ok", None])
    return records


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=10_000)
    args = parser.parse_args()
    rng = random.Random(3)
    for factor in (100, 10, 1):
        nodes = args.nodes // factor
        catalog = Catalog()
        a, b = "00000000-0000-4000-8000-00000000000a", "00000000-0000-4000-8000-00000000000b"
        records = session_records(a, nodes, rng, False) + session_records(b, nodes, rng, True)
        catalog.apply(Batch(files=[FileRecords(Path("bench.trail"), records)]))
        left, right = catalog.sessions[a], catalog.sessions[b]
        started = time.perf_counter()
        pairs = align(SessionTree(left), SessionTree(right))
        aligned = time.perf_counter() - started
        started = time.perf_counter()
        diff(left, right)
        whole = time.perf_counter() - started
        changed = sum(p.change != "same" for p in pairs)
        print(
            f"align two sessions of {len(left.table):,} / {len(right.table):,} nodes: {aligned * 1000:7.1f} ms "
            f"({changed:,} lines differ); whole diff report {whole * 1000:7.1f} ms"
        )
        report(bench="compare", nodes=len(left.table), align_seconds=aligned, diff_seconds=whole)


if __name__ == "__main__":
    main()
