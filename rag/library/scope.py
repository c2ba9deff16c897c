"""What a question or an interview can be limited to: notes, folders and tags, as pickers list them,
and the notes a `sources`/`tags` pair leaves in play (an interview filters its plan by them)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from rag.answer.retrieve import resolve_sources, resolve_tags
from rag.errors import InterviewError

if TYPE_CHECKING:
    from ingest.store import IndexData
    from rag.assistant import Assistant
    from rag.interview.session import InterviewSession


@dataclass
class Scopes:
    notes: list[str]  # paths in the notes folder, as `--source` and the pickers take them
    folders: list[str]  # "deep/": every note under it
    tags: list[str]  # without "#", lower case

    def to_json(self) -> dict:
        return asdict(self)


def scopes(data: IndexData) -> Scopes:
    notes = sorted(data.manifest.files)
    folders = sorted({f"{p.as_posix()}/" for n in notes for p in PurePosixPath(n).parents if p.name})
    tags = sorted({t.lower() for c in data.chunks for t in c.tags})
    return Scopes(notes, folders, tags)


def notes_in_scope(data: IndexData, sources: list[str] | None, tags: list[str] | None) -> set[str] | None:
    """The notes a question limited to `sources` and `tags` may draw on (None: all of them); a name or
    tag that matches nothing is a BadRequest naming the closest."""
    named, tagged = resolve_sources(data, sources), resolve_tags(data, tags)
    if named is None and tagged is None:
        return None
    wanted = set(tagged or [])
    return {
        c.source
        for c in data.chunks
        if (named is None or c.source in named) and (tagged is None or wanted & {t.lower() for t in c.tags})
    }


def start_in_scope(
    assistant: Assistant, sources: list[str] | None, tags: list[str] | None, n: int = 5, **options
) -> InterviewSession:
    """An interview drawn only from the notes `sources` and `tags` name. The session plans every
    candidate in its spaced-repetition order and the first `n` of the scope are kept: still the most due."""
    from rag.interview.session import InterviewSession

    allowed = notes_in_scope(assistant.index, sources, tags)
    session = InterviewSession.start(assistant, n=n if allowed is None or n < 1 else 10**9, **options)
    if allowed is not None:
        session.plan = [c for c in session.plan if c.source in allowed][:n]
    if not session.plan:
        said = ", ".join([*(sources or []), *(f"#{t.lstrip('#')}" for t in tags or [])])
        raise InterviewError(f"no interview questions come from {said}; widen the scope or leave out --source/--tag")
    return session
