"""Question sets: JSONL, one question per line (format in the README)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATASET = Path(__file__).parent / "datasets" / "notes_qa.jsonl"


@dataclass
class Question:
    id: str
    question: str
    answerable: bool = True
    source: str | None = None  # gold note, relative to the notes folder
    quote: str | None = None  # text that must appear in what is retrieved
    answer: str | None = None  # short reference answer
    split: str = "test"  # "dev" and "test" were used while tuning; "holdout" was written after, and is not


def load_questions(path: Path | None = None, split: str | None = None) -> list[Question]:
    path = path or DEFAULT_DATASET
    questions = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            q = Question(**row)
        except (ValueError, TypeError) as e:
            raise ValueError(f"{path}:{number}: not a question record ({e}); see the README for the format") from None
        if q.answerable and not q.quote:
            raise ValueError(f"{path}:{number}: answerable question {q.id} has no quote")
        if split in (None, "all") or q.split == split:
            questions.append(q)
    return questions
