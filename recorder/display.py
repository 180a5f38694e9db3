"""Numbers formatted for people, the same in the CLI and the viewer."""

from __future__ import annotations

import math


def format_duration(seconds: float | None) -> str:
    """A duration for people: ``850 ms``, ``12.4 s``, ``3m 05s``, ``2h 10m``."""
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def format_cost(cost: float | None) -> str:
    """US dollars: cents from a cent up; below that, two significant digits (a single small
    LLM call costs $0.000045, which four decimals would show as $0.0000); ``-`` if unknown."""
    if cost is None or not math.isfinite(cost):
        return "-"
    if cost == 0:
        return "$0.00"
    if abs(cost) >= 0.01:
        return f"${cost:,.2f}"
    digits = -math.floor(math.log10(abs(cost))) + 1
    return f"${cost:.{digits}f}"


def format_tokens(prompt: int | None, completion: int | None) -> str:
    """``1,200 + 85 tokens``; a count that was not recorded reads ``?``, not 0."""

    def count(value: int | None) -> str:
        return "?" if value is None else f"{value:,}"

    return f"{count(prompt)} + {count(completion)} tokens"


def format_count(n: int, one: str, many: str) -> str:
    """``1 error``, ``2 errors``, ``1,024 LLM calls``."""
    return f"{n:,} {one if n == 1 else many}"
