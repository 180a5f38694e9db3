"""LLM prices: a dated data file in the package (``prices.json``), overridable by the user.

A model is priced by its exact id, else by the id with a provider prefix left out
(``openai/gpt-4o``, ``models/gemini-2.5-pro``), else with a trailing date or ``-latest`` left
out (``gpt-4o-2024-08-06``, ``claude-sonnet-4-5-20250929``). Never by a looser prefix:
``claude-opus-4-5`` is not ``claude-opus-4``, and a model not in the table costs None.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

_DATED = re.compile(r"(?:-\d{4}-\d{2}-\d{2}|-\d{8}|@\d{8}|-latest)$")

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
    price = price_of(model)
    if price is None:
        return None
    return round((prompt_tokens * price[0] + completion_tokens * price[1]) / 1e6, 10)


def price_of(model: str) -> tuple[float, float] | None:
    """(input, output) USD per million tokens of a model by the matching rule above."""
    table = prices()
    for candidate in (model, model.rsplit("/", 1)[-1]):
        price = table.get(candidate) or table.get(_DATED.sub("", candidate))
        if price is not None:
            return price
    return None
