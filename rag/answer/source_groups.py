"""Sources as a reader sees them: the passages of one section (same file, same heading) are one entry
listing all its block numbers, so a section cut into four chunks is not listed four times."""

from __future__ import annotations

from dataclasses import dataclass

from rag.types import Source

LEGEND = "[n] cited in the answer · (n) retrieved, not cited"


def mark(s: Source) -> str:
    return f"[{s.n}]" if s.cited else f"({s.n})"


@dataclass
class SourceGroup:
    members: list[Source]  # cited first, then by block number

    @property
    def source(self) -> str:
        return self.members[0].source

    @property
    def heading(self) -> str:
        return self.members[0].heading

    @property
    def path(self) -> str:
        return self.members[0].path

    @property
    def line_start(self) -> int:
        """Where the first of its passages starts in the file (0 when unknown)."""
        return min((s.line_start for s in self.members if s.line_start), default=0)

    @property
    def cited(self) -> bool:
        return any(s.cited for s in self.members)

    @property
    def marks(self) -> str:
        return " ".join(mark(s) for s in self.members)


def group_sources(sources: list[Source], cited_only: bool = False) -> list[SourceGroup]:
    """In the order the sections first appear (an answer's sources list the cited ones first)."""
    groups: dict[tuple[str, str], list[Source]] = {}
    for s in sources:
        if s.cited or not cited_only:
            groups.setdefault((s.source, s.heading), []).append(s)
    return [SourceGroup(sorted(members, key=lambda s: (not s.cited, s.n))) for members in groups.values()]
