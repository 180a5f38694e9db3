"""Checked by mypy (``files`` in pyproject.toml), not run: decorated functions and classes keep
their signatures, as a user's editor sees them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import recorder
from recorder.decorators import agent, operation, session, tool

if TYPE_CHECKING:
    from typing_extensions import assert_type


@tool
def search(query: str, limit: int = 3) -> list[str]:
    return [query] * limit


@operation(name="plan", retries=2)
async def plan(goal: str) -> dict[str, int]:
    return {goal: 1}


@agent
class Researcher:
    def __init__(self, model: str) -> None:
        self.model = model


@session(tags=["nightly"])
def run(n: int) -> float:
    return n / 2


if TYPE_CHECKING:
    assert_type(search("q"), list[str])
    assert_type(Researcher("gpt-4o").model, str)
    assert_type(run(3), float)
    assert_type(recorder.bind_context(search)("q", 2), list[str])
    # Wrong arguments are errors (strict mypy would call these ignores unused otherwise).
    search(1)  # type: ignore[arg-type]
    run("three")  # type: ignore[arg-type]
