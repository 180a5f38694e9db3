"""LLM prices: a data file in the package (``prices.json``), overridable by the user."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

_prices: dict[str, tuple[float, float]] | None = None


def prices() -> dict[str, tuple[float, float]]:
    """Model -> (USD per million input tokens, per million output tokens)."""
    global _prices
    if _prices is None:
        table = json.loads(resources.files("recorder").joinpath("prices.json").read_text(encoding="utf-8"))
        _prices = {name: (float(p[0]), float(p[1])) for name, p in table["models"].items()}
    return _prices


def set_prices(table: dict[str, tuple[float, float]], *, replace: bool = False) -> None:
    """Add or change prices (USD per million tokens); ``replace=True`` drops the built-in ones."""
    global _prices
    _prices = dict(table) if replace else {**prices(), **table}


def cost_of(model: Any, prompt_tokens: int | None, completion_tokens: int | None) -> float | None:
    """USD for a call; None when the model or a token count is unknown (never 0 for unknown)."""
    if not isinstance(model, str) or prompt_tokens is None or completion_tokens is None:
        return None
    table = prices()
    price = table.get(model)
    if price is None:  # "gpt-4o-2024-08-06" is priced as "gpt-4o"
        bases = [name for name in table if model.startswith(name + "-")]
        price = table[max(bases, key=len)] if bases else None
    if price is None:
        return None
    return round((prompt_tokens * price[0] + completion_tokens * price[1]) / 1e6, 8)
