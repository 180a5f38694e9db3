"""Find sessions by what happened inside them: a small query language, used by
``sessiontrail ls --where`` and the viewer's search boxes (one parser, Qt-free).

    cost > 0.05 and status = Fail
    tag = prod and duration > 30s
    name ~ "research" or model = gpt-4o
    has(kind = tool and name = web_search and status = error)
    has(kind = llm and prompt_tokens > 4000)
    not has(attr.retrieval.k >= 10)

Session fields: ``name``, ``id``, ``status`` (Success, Fail, Indeterminate, running,
abandoned), ``tag``, ``model``, ``agent``, ``host``, ``reason``, ``cost``, ``duration``,
``tokens``, ``prompt_tokens``, ``completion_tokens``, ``llm_calls``, ``tool_calls``,
``errors``, ``events``. ``has(...)`` holds when some span or event of the session matches its
clause, over ``kind``, ``name``, ``status``, ``model``, ``duration``, ``cost``, ``tokens``,
``prompt_tokens``, ``completion_tokens``, ``error`` (a failure's message) and ``attr.a.b``
(an attribute, nested keys and dotted names such as ``attr.llm.token_count.prompt`` alike).

Operators: ``=``, ``!=``, ``>``, ``>=``, ``<``, ``<=``, ``~`` (contains, ignoring case);
``and``, ``or``, ``not``, parentheses. Values: numbers, durations (``250ms``, ``30s``,
``5m``, ``2h``), money (``$0.05``), words and "quoted strings". Text compares without case.
A malformed query raises ``QueryError`` saying where.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import rules
from ._format import decode_attrs
from ._nodes import NO_STATUS, OPEN, NodeTable
from .catalog import SessionInfo

OPERATORS = ("!=", ">=", "<=", "=", ">", "<", "~")
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op>!=|>=|<=|=|>|<|~)
      | (?P<paren>[()])
      | (?P<word>[^\s()=<>!~"']+)
    )""",
    re.VERBOSE,
)
_NUMBER = re.compile(r"^\$?(-?\d+(?:\.\d+)?)(ms|s|m|h|d)?$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}

SESSION_FIELDS = frozenset(
    {
        "name",
        "id",
        "status",
        "tag",
        "model",
        "agent",
        "host",
        "reason",
        "cost",
        "duration",
        "tokens",
        "prompt_tokens",
        "completion_tokens",
        "llm_calls",
        "tool_calls",
        "errors",
        "events",
    }
)
NODE_FIELDS = frozenset(
    {"kind", "name", "status", "model", "duration", "cost", "tokens", "prompt_tokens", "completion_tokens", "error"}
)


class QueryError(ValueError):
    """A malformed query: ``position`` is the character where it goes wrong."""

    def __init__(self, message: str, query: str, position: int) -> None:
        super().__init__(message)
        self.query = query
        self.position = position

    def __str__(self) -> str:
        return f"{self.args[0]} (at character {self.position + 1})\n  {self.query}\n  {' ' * self.position}^"


def looks_like_query(text: str) -> bool:
    """Whether text is meant as a query rather than words to search for."""
    return bool(re.search(r"[=<>~]|\bhas\s*\(", text))


def reads_nodes(query: str) -> bool:
    """Whether a session query looks inside sessions (a ``has(...)`` clause, as the parser
    reads one), so their spans and events must be at hand to evaluate it."""
    try:
        tokens = _tokens(query)
    except QueryError:
        return False
    return any(
        t.kind == "word" and t.text.lower() == "has" and after.text == "("
        for t, after in zip(tokens, tokens[1:], strict=False)
    )


@dataclass(frozen=True)
class _Token:
    kind: str  # string, op, paren, word, end
    text: str
    position: int


def _tokens(query: str) -> list[_Token]:
    out: list[_Token] = []
    pos = 0
    while pos < len(query):
        if query[pos:].strip() == "":
            break
        match = _TOKEN.match(query, pos)
        if match is None or match.end() == pos:
            raise QueryError(f"unexpected {query[pos:].strip()[:1]!r}", query, pos)
        kind = match.lastgroup or "word"
        text = match.group(kind)
        out.append(_Token(kind, text, match.start(kind)))
        pos = match.end()
    out.append(_Token("end", "", len(query)))
    return out


Predicate = Callable[[Any], bool]


class _Parser:
    def __init__(self, query: str, fields: frozenset[str], in_node: bool) -> None:
        self.query = query
        self.tokens = _tokens(query)
        self.at = 0
        self.fields = fields
        self.in_node = in_node

    def peek(self) -> _Token:
        return self.tokens[self.at]

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def fail(self, message: str, token: _Token | None = None) -> QueryError:
        return QueryError(message, self.query, (token or self.peek()).position)

    def parse(self) -> Predicate:
        predicate = self.disjunction()
        if self.peek().kind != "end":
            raise self.fail(f"expected 'and', 'or' or the end, not {self.peek().text!r}")
        return predicate

    def disjunction(self) -> Predicate:
        return self._chain("or", self.conjunction, any_true=True)

    def conjunction(self) -> Predicate:
        return self._chain("and", self.negation, any_true=False)

    def _chain(self, word: str, operand: Callable[[], Predicate], *, any_true: bool) -> Predicate:
        """operand (word operand)*: true when any (``or``) or every (``and``) operand is,
        testing no further than needed."""
        parts = [operand()]
        while self.peek().kind == "word" and self.peek().text.lower() == word:
            self.take()
            parts.append(operand())
        if len(parts) == 1:
            return parts[0]
        chain = tuple(parts)

        def combined(x: Any) -> bool:
            for f in chain:
                if bool(f(x)) is any_true:
                    return any_true
            return not any_true

        return combined

    def negation(self) -> Predicate:
        token = self.peek()
        if token.kind == "word" and token.text.lower() == "not":
            self.take()
            inner = self.negation()
            return lambda x: not inner(x)
        return self.atom()

    def atom(self) -> Predicate:
        token = self.peek()
        if token.kind == "paren" and token.text == "(":
            self.take()
            inner = self.disjunction()
            self.expect(")")
            return inner
        if token.kind == "word" and token.text.lower() == "has" and self.tokens[self.at + 1].text == "(":
            if self.in_node:
                raise self.fail("has(...) cannot be nested")
            self.take()
            self.take()
            start = self.at
            depth = 1
            while depth:  # the clause's tokens, parsed as a node query
                t = self.take()
                if t.kind == "end":
                    raise self.fail("has( is not closed", token)
                depth += {"(": 1, ")": -1}.get(t.text, 0) if t.kind == "paren" else 0
            inner_tokens = self.tokens[start : self.at - 1] + [_Token("end", "", self.tokens[self.at - 1].position)]
            sub = _Parser.__new__(_Parser)
            sub.query, sub.tokens, sub.at, sub.fields, sub.in_node = self.query, inner_tokens, 0, NODE_FIELDS, True
            if inner_tokens[0].kind == "end":
                raise self.fail("has() needs a clause, e.g. has(kind = tool)", token)
            node_predicate = sub.parse()
            kinds = _required_kinds(inner_tokens)
            return lambda session: any_node(session, node_predicate, kinds)
        return self.comparison()

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text != text:
            raise self.fail(f"expected {text!r}", token)

    def comparison(self) -> Predicate:
        name = self.take()
        if name.kind != "word":
            raise self.fail("expected a field name", name)
        field = name.text.lower()
        if not (field in self.fields or (self.in_node and field.startswith("attr."))):
            known = ", ".join(sorted(self.fields)) + (", attr.NAME" if self.in_node else "")
            where = "in has(...)" if self.in_node else "for sessions"
            raise self.fail(f"unknown field {name.text!r} {where}; fields: {known}", name)
        op = self.take()
        if op.kind != "op":
            raise self.fail(f"expected an operator ({' '.join(OPERATORS)}) after {name.text!r}", op)
        value = self.take()
        keyword = value.kind == "word" and value.text.lower() in ("and", "or", "not")
        if value.kind not in ("word", "string") or keyword:
            hint = f' ("{value.text}" in quotes if it is the value)' if keyword else ""
            raise self.fail(f"expected a value after {op.text!r}{hint}", value)
        text = value.text[1:-1] if value.kind == "string" else value.text
        return _compare(field, op.text, text, value.kind == "string")


def _number(text: str) -> float | None:
    match = _NUMBER.match(text)
    if match is None:
        return None
    return float(match.group(1)) * _UNITS[match.group(2)]


_ORDER = {"=": operator.eq, "!=": operator.ne, ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


def _compare(field: str, op: str, text: str, quoted: bool) -> Predicate:
    """``field op value`` as a predicate: numbers compare as numbers, text without case, a
    list (tags, models) when any of its items does (all of them, for ``!=``)."""
    number = None if quoted else _number(text)
    wanted = text.lower()
    order = _ORDER.get(op)

    def test(value: Any) -> bool:
        if value is None:
            return op == "!="
        kind = type(value)
        if kind is list or kind is tuple or kind is set or kind is frozenset:
            return any(test(v) for v in value) if op != "!=" else all(test(v) for v in value)
        if op == "~":
            return wanted in str(value).lower()
        if number is not None and (kind is int or kind is float):
            return bool(order(value, number))  # type: ignore[misc]
        have = str(value).lower()
        return bool(order(have, wanted))  # type: ignore[misc]

    return lambda subject: test(subject.get(field))


# ---------------------------------------------------------------------------- what fields are


class _SessionFields:
    """A session's fields by query name, computed when asked for."""

    def __init__(self, session: SessionInfo, now_ns: int) -> None:
        self.s, self.now = session, now_ns

    def get(self, field: str) -> Any:
        s = self.s
        if field == "status":
            return rules.status_text(s.status(self.now), s.end_state)
        if field == "tag":
            return s.tags
        if field == "model":
            return list(s.models)
        if field == "agent":
            return list(s.agents)
        if field == "duration":
            return s.duration(self.now)
        if field == "tokens":
            return s.prompt_tokens + s.completion_tokens
        if field == "errors":
            return s.error_count
        if field == "events":
            return s.event_count
        if field == "host":
            return s.hostname
        return getattr(s, field if field != "reason" else "reason", None)


class _NodeFields:
    """One row of a session's node table, by query name; attributes decoded when asked for."""

    __slots__ = ("table", "row", "_attrs")

    def __init__(self, table: NodeTable, row: int) -> None:
        self.table, self.row = table, row
        self._attrs: dict[Any, Any] | None = None

    def attrs(self) -> dict[Any, Any]:
        if self._attrs is None:
            table, row = self.table, self.row
            attrs = decode_attrs(table.attrs(row))
            end = table.end_attrs(row)
            self._attrs = merged = {**attrs, **decode_attrs(end)} if end else attrs
            return merged
        return self._attrs

    def get(self, field: str) -> Any:
        table, row = self.table, self.row
        if field == "kind":
            return table.kind(row)
        if field == "name":
            return table.name(row)
        if field == "status":
            code = table.statuses[row]
            return "running" if code == NO_STATUS else table.strings.values[code]
        if field == "duration":
            end = table.ends[row]
            return None if end == OPEN else (end - table.starts[row]) / 1e9
        if field.startswith("attr."):
            return attribute(self.attrs(), field[5:].split("."))
        a = self.attrs()
        if field == "tokens":
            p, c = rules.as_int(a.get("prompt_tokens")), rules.as_int(a.get("completion_tokens"))
            return None if p is None and c is None else (p or 0) + (c or 0)
        if field == "error":
            error = a.get("error")
            return (
                error.get("message")
                if isinstance(error, dict)
                else (a.get("message") if table.kind(row) == "error" else None)
            )
        return a.get(field)


def attribute(attrs: Any, parts: list[str]) -> Any:
    """``attr.a.b.c``: nested keys, or keys that contain dots (``llm.token_count.prompt``), or
    both; an OTel span's own attributes (under ``otel_attributes``) are looked in too."""
    found = _lookup(attrs, parts)
    if found is None and isinstance(attrs, dict) and isinstance(attrs.get("otel_attributes"), dict):
        found = _lookup(attrs["otel_attributes"], parts)
    return found


def _lookup(value: Any, parts: list[str]) -> Any:
    if not parts:
        return value
    if isinstance(value, list) and parts[0].isdigit():
        index = int(parts[0])
        return _lookup(value[index], parts[1:]) if index < len(value) else None
    if not isinstance(value, dict):
        return None
    for cut in range(len(parts), 0, -1):  # the longest dotted key first
        key = ".".join(parts[:cut])
        if key in value:
            found = _lookup(value[key], parts[cut:])
            if found is not None:
                return found
    return None


def _required_kinds(tokens: list[_Token]) -> frozenset[str] | None:
    """The kinds a clause's nodes must have, when it says so plainly (``kind = x and ...`` at
    its top level, no ``or`` or ``not``): only rows of those kinds need looking at."""
    words = [t.text.lower() for t in tokens if t.kind == "word"]
    if "or" in words or "not" in words or any(t.kind == "paren" for t in tokens):
        return None
    kinds = [
        tokens[i + 2].text.strip("\"'").lower()
        for i in range(len(tokens) - 2)
        if tokens[i].kind == "word" and tokens[i].text.lower() == "kind" and tokens[i + 1].text == "="
    ]
    return frozenset(kinds) if len(kinds) == 1 else None


def any_node(session_fields: _SessionFields, predicate: Predicate, kinds: frozenset[str] | None = None) -> bool:
    """Whether a node of the session matches: rows of the required kinds only (found in the
    kind column, without looking at the others), one reused view of a row."""
    table = session_fields.s.table
    if not len(table):
        return False
    if kinds is not None:
        index = table.strings._index
        codes = [index[k] for k in kinds if k in index] + [
            index[k] for k in index if isinstance(k, str) and k.lower() in kinds
        ]
        if not codes:
            return False
        column = np.frombuffer(table.kinds, dtype=np.int32)
        rows = np.flatnonzero(np.isin(column, codes)).tolist()
    else:
        rows = range(len(table))
    view = _NodeFields(table, 0)
    for row in rows:
        view.row, view._attrs = row, None
        if predicate(view):
            return True
    return False


def session_query(query: str) -> Callable[[SessionInfo, int], bool]:
    """A predicate of (session, now in ns) for a query; QueryError if it is malformed."""
    if not query.strip():
        return lambda session, now: True
    predicate = _Parser(query, SESSION_FIELDS, in_node=False).parse()
    return lambda session, now: bool(predicate(_SessionFields(session, now)))


def node_query(query: str) -> Callable[[NodeTable, int], bool]:
    """A predicate of (node table, row) for the clause of a ``has(...)``, as the viewer's
    tree search uses it; QueryError if it is malformed."""
    predicate = _Parser(query, NODE_FIELDS, in_node=True).parse()
    return lambda table, row: bool(predicate(_NodeFields(table, row)))
