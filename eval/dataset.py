"""Question sets: JSONL, one question per line (format in the README)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path

from rag import RagError

DEFAULT_DATASET = Path(__file__).parent / "datasets" / "notes_qa.jsonl"
# what the one line says a question set looks like (the README's "Evaluating your own questions")
SHAPE = (
    'a question set has one JSON object a line with "id", "question" and, when answerable, "quote" (optional: '
    '"answerable", "source", "answer", "split"); see the README, "Evaluating your own questions"'
)


class NotAQuestionSet(RagError, ValueError):
    """A file given as a question set that is not one: which file, which line, and what one looks like."""


@dataclass
class Question:
    id: str
    question: str
    answerable: bool = True
    source: str | None = None  # gold note, relative to the notes folder
    quote: str | None = None  # text that must appear in what is retrieved
    answer: str | None = None  # short reference answer
    split: str = "test"  # "dev" and "test" were used while tuning; "holdout" was written after, and is not
    # study_qa.jsonl's labels (eval/datasets/README.md): the question's kind ("two_part", "not_covered", …),
    # every sentence that answers it, each part's ask and quotes, and why a question is not covered
    kind: str | None = None
    answer_quotes: list[str] = field(default_factory=list)
    parts: list[dict] | None = None
    why: str | None = None


FIELDS = {f.name for f in fields(Question)}


def parse_question(path: Path, number: int, line: str) -> Question:
    """One line of a question set, or `NotAQuestionSet` naming the file (another JSONL of this project,
    such as interview answers, is the likely mistake)."""
    try:
        row = json.loads(line)
    except ValueError:
        raise NotAQuestionSet(f"{path} is not a question set: line {number} is not JSON; {SHAPE}") from None
    if not isinstance(row, dict):
        raise NotAQuestionSet(f"{path} is not a question set: line {number} is not a JSON object; {SHAPE}")
    unknown, missing = sorted(set(row) - FIELDS), [f for f in ("id", "question") if f not in row]
    if unknown or missing:
        wrong = f"has other fields ({', '.join(unknown)})" if unknown else f"lacks {' and '.join(missing)}"
        raise NotAQuestionSet(f"{path} is not a question set: line {number} {wrong}; {SHAPE}")
    q = Question(**row)
    if q.answerable and not q.quote:
        raise NotAQuestionSet(f"{path}:{number}: answerable question {q.id} has no quote")
    return q


def load_questions(path: Path | None = None, split: str | None = None) -> list[Question]:
    path = path or DEFAULT_DATASET
    questions = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            q = parse_question(path, number, line)
            if split in (None, "all") or q.split == split:
                questions.append(q)
    return questions
