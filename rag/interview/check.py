"""One way to grade an answer, for an interview turn and for any question (`Assistant.grade`).

The grader itself is `rag.interview.grading`; this module picks the note section to grade against (the
one retrieval finds, or the one named), brings in the judge model when one is configured, and says in
the feedback what the candidate should know about the grading: which section it used, and a judge whose
reply could not be used (the score is then the grader's alone, which must not pass silently).
"""

from __future__ import annotations

import difflib
import hashlib
from typing import TYPE_CHECKING

from ingest.chunking import Chunk
from rag.answer.citations import excerpt
from rag.answer.retrieve import resolve_sources
from rag.errors import BadRequest
from rag.interview.concepts import Concept, key_points
from rag.interview.grading import Feedback, grade, llm_judge
from rag.types import Source

if TYPE_CHECKING:
    from rag.assistant import Assistant

# sections tried, best first, when the best match holds no sentence to grade against (a lone label)
SECTIONS_TRIED = 5


def grade_answer(assistant: Assistant, concept: Concept, question: str, answer: str, sources: list) -> Feedback:
    client = assistant.judge_client()
    failures: list[str] = []
    judge = _watched(llm_judge(client), failures) if client else None
    feedback = grade(concept, question, answer, assistant.embedder, sources, judge)
    if client and feedback.verdict == "graded" and "llm" not in feedback.judged_by:
        name = assistant.settings.judge_model or assistant.settings.judge_base_url
        why = failures[0] if failures else "its reply held no verdict for each key point"
        feedback.notices.append(
            f"The judge model {name} gave no usable verdict ({why}); this score is the note comparison's alone."
        )
    return feedback


def _watched(judge, failures: list[str]):
    """The judge, with a failure (the judge server down, a timeout) kept for the notice instead of ending
    the grading: an answer is still graded without it."""

    def watched(*args, **kwargs):
        try:
            return judge(*args, **kwargs)
        except Exception as e:  # noqa: BLE001 - whatever the judge's client raises, the answer is graded
            failures.append(f"{type(e).__name__}: {e}".splitlines()[0][:200])
            return []

    return watched


def sources_for(assistant: Assistant, chunks: list[Chunk]) -> list[Source]:
    return [
        Source(
            n,
            c.source,
            c.heading,
            excerpt(c.text),
            c.id,
            True,
            c.text,
            path=str(assistant.notes_dir / c.source),
            line_start=c.line_start,
            line_end=c.line_end,
        )
        for n, c in enumerate(chunks, 1)
    ]


def grade_free(
    assistant: Assistant, question: str, answer: str, source: str | None = None, heading: str | None = None
) -> Feedback:
    """`Assistant.grade`: the answer against the whole section of the notes the question is about."""
    if not (question or "").strip():
        raise BadRequest("give the question the answer is for: the question is empty")
    if not (answer or "").strip():
        raise BadRequest("write an answer to grade: the answer is empty")
    section = _section(assistant, question, source, heading)
    concept = section_concept(section)
    if not concept.key_points:
        raise BadRequest(f"{concept.heading} holds no sentence to grade against; name another section or note")
    feedback = grade_answer(assistant, concept, question, answer, sources_for(assistant, section))
    if heading is None:
        where = " › ".join([concept.source, *section[0].heading_path])
        feedback.notices.insert(0, f"Graded against {where}: the section of your notes that matches the question best.")
    return feedback


def section_concept(section: list[Chunk]) -> Concept:
    """A section (one heading's chunks) as what the grader grades against: all of its sentences."""
    first = section[0]
    lines = [line for c in section for line in c.text.splitlines()]
    return Concept(
        key="section:" + hashlib.sha1(first.heading.encode()).hexdigest()[:12],
        term=first.heading_path[-1] if first.heading_path else first.title,
        kind="definition",
        topic=" > ".join(first.heading_path),
        source=first.source,
        heading=first.heading,
        chunk_ids=[c.id for c in section],
        key_points=key_points(lines),
    )


def _section(assistant: Assistant, question: str, source: str | None, heading: str | None) -> list[Chunk]:
    """The chunks of the section to grade against, in note order."""
    notes = set(resolve_sources(assistant.index, [source])) if source else None  # an unknown name: BadRequest
    hits = assistant.retrieve(
        question, k=SECTIONS_TRIED if heading is None else 50, sources=[source] if source else None
    )
    chunks = assistant.index.chunks
    whole = lambda c: [x for x in chunks if x.source == c.source and x.heading_path == c.heading_path]
    if heading is not None:
        named = _named(chunks, notes, heading)
        ids = {c.id for c in named}
        return whole(next((h.chunk for h in hits if h.chunk_id in ids), named[0]))
    if not hits:
        raise BadRequest("nothing in your notes matches the question; name a note with source=")
    sections = [whole(h.chunk) for h in hits]
    return next((s for s in sections if section_concept(s).key_points), sections[0])


def _named(chunks: list[Chunk], notes: set[str] | None, heading: str) -> list[Chunk]:
    """The chunks under a heading: its name, or the end of its path ("Regularization > Dropout")."""
    wanted = " > ".join(part.strip() for part in heading.lower().split(">"))
    scope = [c for c in chunks if not notes or c.source in notes]
    named = [c for c in scope if c.heading.lower() == wanted or c.heading.lower().endswith(" > " + wanted)]
    if not named:
        headings = sorted({c.heading_path[-1] for c in scope if c.heading_path})
        close = difflib.get_close_matches(heading, headings, n=3)
        where = f"in {', '.join(sorted(notes))}" if notes else "in the notes"
        hint = f"closest: {', '.join(close)}" if close else "give a heading as the note writes it"
        raise BadRequest(f"no heading {heading!r} {where}; {hint}")
    return named
