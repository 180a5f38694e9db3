"""Removing secrets from records before they are written or shared.

``init(redact=True)`` masks the values of well-known secret keys (``api_key``, ``password``,
``authorization``, ...) at any depth and well-known API key formats inside any string;
``init(redact=["customer_email"])`` adds keys; ``init(redact=fn)`` applies the built-in rules,
hands the result (a copy, as a map with named fields) to ``fn`` and writes what it returns.
``sessiontrail export --redact`` uses the same rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from ._format import record_dict, to_wire

MASK = "[REDACTED]"

DEFAULT_KEYS = frozenset(
    {
        "api_key",
        "apikey",
        "api-key",
        "x-api-key",
        "authorization",
        "proxy-authorization",
        "password",
        "passwd",
        "secret",
        "client_secret",
        "secret_key",
        "access_token",
        "refresh_token",
        "id_token",
        "private_key",
        "cookie",
        "set-cookie",
    }
)

# Formats that are secrets wherever they appear.
SECRET_PATTERNS = (
    re.compile(r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_\-]{16,}"),  # OpenAI, Anthropic
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),  # AWS access key id
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"),  # GitHub tokens
    re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),  # Slack tokens
    re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b"),  # Google API keys
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/\-]{16,}=*"),  # bearer tokens in headers
)

Record = dict[str, Any]
WireRecord = list[Any]


class Redactor:
    """Returns a redacted copy of a record, in either form (a map with named fields or the
    on-disk array, attributes not yet packed); the input is never modified."""

    def __init__(
        self, keys: Iterable[str] = DEFAULT_KEYS, patterns: Iterable[re.Pattern[str]] = SECRET_PATTERNS
    ) -> None:
        self.keys = frozenset(k.lower() for k in keys)
        self.patterns = tuple(patterns)

    def __call__(self, record: Any) -> Any:
        return self._value(record, 0)

    def _value(self, value: Any, depth: int) -> Any:
        if isinstance(value, str):
            for pattern in self.patterns:
                if pattern.search(value):
                    value = pattern.sub(MASK, value)
            return value
        if depth > 64:
            return value
        if isinstance(value, dict):
            return {
                k: (
                    MASK
                    if isinstance(k, str) and k.lower() in self.keys and v is not None
                    else self._value(v, depth + 1)
                )
                for k, v in value.items()
            }
        if isinstance(value, (list, tuple)):
            return [self._value(v, depth + 1) for v in value]
        return value


def make_redactor(
    spec: bool | Iterable[str] | Callable[[Record], Record] | None,
) -> Callable[[WireRecord], WireRecord] | None:
    """The redaction function for ``init(redact=...)``, applied to records in their on-disk
    form before they are packed: None for no redaction."""
    if spec is None or spec is False:
        return None
    if spec is True:
        return Redactor()
    if callable(spec):
        return _guarded(spec)
    if isinstance(spec, str):
        spec = [spec]
    return Redactor(DEFAULT_KEYS | {str(k) for k in spec})


def _guarded(fn: Callable[[Record], Record]) -> Callable[[WireRecord], WireRecord]:
    """A user's redaction function gets a copy with named fields and must return a map; if
    it fails, the record is written with its content masked rather than unredacted."""
    builtin = Redactor()

    def redact(record: WireRecord) -> WireRecord:
        named = record_dict(builtin(record), packed=False)
        try:
            result = fn(named)
        except Exception:
            result = None
        if isinstance(result, dict) and result.get("type") == named["type"]:
            return to_wire(result)
        return to_wire(_mask_all(named))

    return redact


def _mask_all(record: Record) -> Record:
    keep = ("type", "ts", "session", "span", "id", "parent", "kind", "end_ts", "status")
    return {k: v for k, v in record.items() if k in keep} | {"redaction_failed": True}
