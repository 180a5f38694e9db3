"""``sessiontrail demo``: a realistic folder of sessions for trying the viewer.

Multi-agent research runs with LLM calls, tool calls and nested operations, laid out over
the past three days with a simulated clock; a failed run, a cancelled one, one whose process
is killed with SIGKILL (abandoned), and one left running live in a background process.
It uses only the public API, so it doubles as an example of it.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import recorder
from recorder import _clock
from recorder.decorators import agent, operation, session, task, tool, workflow
from recorder.prices import cost_of

TOPICS = [
    ("solid-state battery recycling", ["production", "customer-query"]),
    ("EU AI Act obligations for chatbots", ["production", "customer-query", "high-priority"]),
    ("sodium-ion vs LFP cost curves", ["production", "batch"]),
    ("kelp farming carbon accounting", ["staging", "eval"]),
    ("heat pumps in cold climates", ["production", "customer-query"]),
    ("RISC-V adoption in automotive", ["production", "batch"]),
    ("urban flood early-warning systems", ["staging", "eval"]),
    ("small modular reactor licensing", ["production", "high-priority"]),
    ("protein folding model benchmarks", ["staging", "batch"]),
    ("microplastics in drinking water", ["production", "customer-query"]),
]

SOURCES = ["arxiv.org", "nature.com", "iea.org", "europa.eu", "github.com", "ourworldindata.org", "nrel.gov"]


class SimClock:
    """A clock that only moves when the demo says time passes."""

    def __init__(self, start_ns: int, rng: random.Random) -> None:
        self.ns = start_ns
        self.rng = rng

    def now_ns(self) -> int:
        self.ns += 1000  # a microsecond per reading, so nothing has zero length
        return self.ns

    def sleep(self, low: float, high: float | None = None) -> None:
        seconds = low if high is None else self.rng.uniform(low, high)
        self.ns += int(seconds * 1e9)


class Demo:
    def __init__(self, clock: SimClock, rng: random.Random) -> None:
        self.clock = clock
        self.rng = rng

    def llm(self, model: str, prompt: str, completion: str) -> str:
        start = self.clock.now_ns()
        self.clock.sleep(0.6, 4.0)
        prompt_tokens = len(prompt.split()) * 4 + self.rng.randint(200, 1800)
        completion_tokens = len(completion.split()) * 2 + self.rng.randint(40, 600)
        recorder.record(
            recorder.LLMEvent(
                model=model,
                prompt=[
                    {"role": "system", "content": "You are a careful research assistant. Cite sources."},
                    {"role": "user", "content": prompt},
                ],
                completion={"role": "assistant", "content": completion},
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                cost=cost_of(model, prompt_tokens, completion_tokens),
                init_timestamp=start / 1e9,
                end_timestamp=self.clock.now_ns() / 1e9,
            )
        )
        return completion


def _build_agents(
    demo: Demo,
    fail_fetch: bool,
    *,
    plan_prompt: str = "Plan research steps for: {question}",
    extra_search: bool = False,
    flaky_fetch: bool = False,
) -> tuple[type, type, type]:
    """The demo's agents. ``plan_prompt``, ``extra_search`` and ``flaky_fetch`` (the first
    fetch fails, the run goes on) make a second run of a pipeline worth comparing."""
    clock, rng = demo.clock, demo.rng
    flaky = {"left": flaky_fetch}

    @tool(cost=0.001)
    def web_search(query: str) -> list[str]:
        clock.sleep(0.3, 1.2)
        return [f"https://{rng.choice(SOURCES)}/{query.split()[0].lower()}-{rng.randint(100, 999)}" for _ in range(3)]

    @tool
    def fetch_page(url: str) -> dict[str, Any]:
        clock.sleep(0.2, 2.5)
        if flaky["left"]:
            flaky["left"] = False
            raise ConnectionError(f"GET {url}: connection reset by peer")
        if fail_fetch and "europa" not in url:
            raise TimeoutError(f"GET {url} timed out after 30 s")
        return {"url": url, "status": 200, "bytes": rng.randint(8_000, 240_000)}

    @agent
    class Planner:
        def __init__(self, model: str) -> None:
            self.model = model

        @operation
        def plan(self, question: str) -> list[str]:
            steps = ["find recent primary sources", "extract key figures", "compare and summarise"]
            demo.llm(self.model, plan_prompt.format(question=question), "1. " + "\n2. ".join(steps))
            return steps

    @agent
    class Researcher:
        def __init__(self, model: str) -> None:
            self.model = model

        @operation
        def research(self, question: str) -> list[str]:
            notes = []
            urls = web_search(question)
            if extra_search:
                urls += web_search(f"{question} independent verification")[:1]
            for url in urls:
                try:
                    page = fetch_page(url)
                except ConnectionError:
                    continue  # one source fewer
                notes.append(self.extract(page))
            return notes

        @task
        def extract(self, page: dict[str, Any]) -> str:
            return demo.llm(
                self.model,
                f"Extract the three most important figures from {page['url']} ({page['bytes']} bytes).",
                f"From {page['url']}: capacity grew {rng.randint(5, 60)}% year on year; cost fell to "
                f"${rng.randint(40, 140)}/kWh; {rng.randint(2, 9)} pilot plants announced.",
            )

    @agent
    class Writer:
        def __init__(self, model: str) -> None:
            self.model = model

        @operation
        def draft(self, question: str, notes: list[str]) -> str:
            text = demo.llm(
                self.model,
                f"Write a 200-word brief on {question} from:\n" + "\n".join(notes),
                f"Brief: {question}. " + " ".join(n.split(":", 1)[1] for n in notes),
            )
            return self.review(text)

        @operation
        def review(self, text: str) -> str:
            demo.llm("gpt-4o-mini", f"Check this brief for unsupported claims:\n{text}", "No unsupported claims found.")
            return text

    return Planner, Researcher, Writer


def _research_run(
    demo: Demo,
    question: str,
    *,
    fail_fetch: bool = False,
    models: tuple[str, str] = ("gpt-4o", "claude-3-5-sonnet"),
    **variant: Any,
) -> str:
    Planner, Researcher, Writer = _build_agents(demo, fail_fetch, **variant)

    @workflow(name="research_pipeline")
    def pipeline(q: str) -> str:
        steps = Planner(models[0]).plan(q)
        demo.clock.sleep(0.05, 0.2)
        notes = Researcher(models[1]).research(q)
        recorder.record(recorder.ActionEvent(action_type="select_notes", params={"steps": steps}, returns=len(notes)))
        brief: str = Writer(models[0]).draft(q, notes)
        return brief

    return pipeline(question)


def record_demo(folder: str | Path, *, live_seconds: float = 120.0, seed: int = 7) -> str:
    """Record the demo sessions into folder; return a one-paragraph summary."""
    folder = Path(folder)
    rng = random.Random(seed)
    clock = SimClock(time.time_ns() - 3 * 86400 * 10**9, rng)
    demo = Demo(clock, rng)
    recorder.init(directory=folder, auto_start_session=False, tags=["demo"])
    real_clock = _clock.now_ns
    _clock.now_ns = clock.now_ns
    try:
        for i, (topic, tags) in enumerate(TOPICS):
            models = ("gpt-4o", "claude-3-5-sonnet") if i % 3 else ("claude-3-5-haiku", "gpt-4o-mini")
            if i % 2 == 0:
                # Manual control, as in the brief: start_session(tags=[...]) ... end_session().
                s = recorder.start_session(tags=tags, name=f"research: {topic}")
                _research_run(demo, topic, models=models)
                recorder.end_session("Success", session=s)
            else:
                # The @session decorator: one call is one session.
                session(name=f"research: {topic}", tags=tags)(
                    lambda t=topic, m=models: _research_run(demo, t, models=m)
                )()
            clock.sleep(1800, 14000)

        failing = session(name="research: offshore wind supply chain", tags=["production", "customer-query"])(
            lambda: _research_run(demo, "offshore wind supply chain", fail_fetch=True)
        )
        try:
            failing()
        except TimeoutError:
            pass
        clock.sleep(3000, 9000)

        # The same pipeline twice, the second with a changed prompt, an extra tool call and a
        # failure it survives: a pair worth comparing (sessiontrail diff, the Compare view).
        for version in (1, 2):
            run = recorder.start_session(tags=["nightly", f"v{version}"], name="nightly brief: grid-scale storage")
            _research_run(
                demo,
                "grid-scale storage",
                plan_prompt="Plan research steps for: {question}"
                if version == 1
                else "Plan research steps, citing at least five primary sources, for: {question}",
                extra_search=version == 2,
                flaky_fetch=version == 2,
            )
            recorder.end_session("Success", session=run)
            clock.sleep(2000, 6000)

        cancelled = recorder.start_session(tags=["staging", "eval"], name="eval: citation accuracy")
        for _ in range(3):
            demo.llm("gpt-4o-mini", "Does the brief cite its sources correctly?", "Yes, 4 of 4 citations resolve.")
        cancelled.end("Indeterminate", "cancelled by the operator")
    finally:
        _clock.now_ns = real_clock
    recorder.flush()

    _abandoned_run(folder)
    live = ""
    if live_seconds > 0:
        proc = start_live_session(folder, live_seconds)
        live = f" One session keeps running for {live_seconds:.0f} s in process {proc.pid}."
        proc.returncode = 0  # detached on purpose: nobody waits for it
    return (
        f"Recorded {len(TOPICS) + 4} demo sessions into {folder}, plus one abandoned "
        f"(its process was killed with SIGKILL).{live}\n"
        f"List them: sessiontrail ls {folder}\nView them: sessiontrail view {folder}"
    )


_ABANDONED = """
import os, signal, sys, time
sys.path[:0] = {path!r}
import recorder
from recorder.decorators import agent, operation, tool
recorder.init(directory={folder!r}, tags=["demo", "production", "batch"], heartbeat_interval=0.5,
              session_name="nightly re-index (killed)")

@tool
def embed(chunk):
    time.sleep(0.01)
    return [0.1, 0.2, 0.3]

@agent
class Indexer:
    @operation
    def index(self, n):
        for i in range(n):
            embed(f"chunk {{i}}")

Indexer().index(12)
recorder.flush()
os.kill(os.getpid(), signal.SIGKILL)
"""


def _abandoned_run(folder: Path) -> None:
    """A session whose process dies by SIGKILL mid-run: it stays open and turns abandoned."""
    code = _ABANDONED.format(path=sys.path, folder=str(folder))
    subprocess.run([sys.executable, "-c", code], check=False, timeout=60)


def start_live_session(folder: Path, seconds: float) -> subprocess.Popen[bytes]:
    """Start a detached process that keeps one session recording for `seconds`."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "recorder.demo", str(folder), str(seconds)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
    )
    return proc


def live_session(folder: Path, seconds: float) -> None:
    """Record a support-bot session in real time: a conversation turn every second or so."""
    rng = random.Random()
    demo = Demo(SimClock(0, rng), rng)
    recorder.init(directory=folder, tags=["demo", "production", "live"], session_name="support bot (live)")

    def real_llm(model: str, prompt: str, completion: str) -> str:
        start = time.time()
        time.sleep(rng.uniform(0.2, 0.8))
        tokens_in, tokens_out = rng.randint(300, 1500), rng.randint(50, 400)
        recorder.record(
            recorder.LLMEvent(
                model=model,
                prompt=prompt,
                completion=completion,
                prompt_tokens=tokens_in,
                completion_tokens=tokens_out,
                cost=cost_of(model, tokens_in, tokens_out),
                init_timestamp=start,
                end_timestamp=time.time(),
            )
        )
        return completion

    demo.llm = real_llm  # type: ignore[method-assign]

    @tool
    def lookup_order(order_id: str) -> dict[str, Any]:
        time.sleep(rng.uniform(0.05, 0.3))
        return {"order": order_id, "status": rng.choice(["shipped", "packing", "delivered"])}

    @operation
    def answer(turn: int) -> str:
        order = lookup_order(f"A-{rng.randint(10000, 99999)}")
        return demo.llm("gpt-4o-mini", f"Customer turn {turn}: where is my order?", f"Your order is {order['status']}.")

    deadline = time.monotonic() + seconds
    turn = 0
    while time.monotonic() < deadline:
        turn += 1
        answer(turn)
        time.sleep(rng.uniform(0.3, 1.0))
    recorder.end_session("Success")


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    live_session(Path(sys.argv[1]), float(sys.argv[2]))
