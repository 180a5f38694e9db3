"""Which sessions the list shows: free text, tags (any or all), status / end state, time range."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from .store import SessionRow

# Values of SessionFilter.states: the statuses of sessions not ended, and the end states.
STATE_CHOICES = ("running", "abandoned", "Success", "Fail", "Indeterminate")


@dataclass(frozen=True)
class SessionFilter:
    text: str = ""
    tags: frozenset[str] = field(default_factory=frozenset)
    match_all_tags: bool = False
    states: frozenset[str] = field(default_factory=frozenset)  # empty: every state
    since_ns: int | None = None  # sessions that started at or after
    until_ns: int | None = None  # and at or before
    # When the text is a query (recorder.query), the ids of the sessions it matched, as the
    # worker evaluated it over every session's spans and events; the text is then not words.
    query_ids: frozenset[str] | None = None
    # Review state by the ``review_name`` annotation: "good", "bad", "unsure" (its value) or
    # "unreviewed" (none yet); empty: any.
    reviews: frozenset[str] = field(default_factory=frozenset)
    review_name: str = "quality"

    @property
    def active(self) -> bool:
        return bool(
            self.text.strip()
            or self.tags
            or self.states
            or self.since_ns
            or self.until_ns
            or self.query_ids is not None
            or self.reviews
        )

    def matches(self, row: SessionRow) -> bool:
        if self.tags:
            have = set(row.tags)
            if self.match_all_tags and not self.tags <= have:
                return False
            if not self.match_all_tags and not self.tags & have:
                return False
        if self.states and row.status_text not in self.states:
            return False
        if self.since_ns is not None and (row.start is None or row.start < self.since_ns):
            return False
        if self.until_ns is not None and (row.start is None or row.start > self.until_ns):
            return False
        if self.reviews:
            value = row.annotation(self.review_name)
            state = "unreviewed" if value is None else str(value).lower()
            if state not in self.reviews:
                return False
        if self.query_ids is not None:
            return row.id in self.query_ids
        needle = self.text.strip().lower()
        if needle:
            haystack = " ".join(
                (
                    row.id,
                    row.name,
                    " ".join(row.tags),
                    row.status_text,
                    row.reason or "",
                    row.hostname or "",
                    " ".join(m[0] for m in row.models),
                    " ".join(f"{name} {value} {note or ''}" for name, value, _, note, _ in row.annotations),
                )
            ).lower()
            if not all(word in haystack for word in needle.split()):
                return False
        return True

    def apply(self, rows: Iterable[SessionRow]) -> list[SessionRow]:
        return [row for row in rows if self.matches(row)]


def all_tags(rows: Iterable[SessionRow]) -> list[tuple[str, int]]:
    """Every tag in use with the number of sessions carrying it, most used first."""
    counts: dict[str, int] = {}
    for row in rows:
        for tag in row.tags:
            counts[tag] = counts.get(tag, 0) + 1
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))
