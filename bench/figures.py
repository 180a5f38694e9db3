"""How the benchmark scripts hand their figures to bench/run.py: besides the lines people read,
each measurement prints one ``figures {json}`` line, which run.py reads back."""

from __future__ import annotations

import json
from typing import Any

PREFIX = "figures "


def report(**values: Any) -> None:
    """Print one measurement's figures (numbers, by name) for run.py."""
    print(PREFIX + json.dumps(values), flush=True)


def collect(stdout: str) -> list[dict[str, Any]]:
    """Every measurement a script reported, in order."""
    return [json.loads(line[len(PREFIX) :]) for line in stdout.splitlines() if line.startswith(PREFIX)]
