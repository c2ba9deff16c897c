"""The interview's concepts as an Anki deck (genanki): front the question, back the model answer and
where in the notes it comes from.

Anki matches notes on import by their guid, so each guid comes from the concept's key (file, term and
kind: stable across re-ingests) and the deck and note-type ids are fixed: exporting again after the
notes changed updates the cards already studied instead of adding a second copy.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from html import escape
from pathlib import Path

import genanki

from rag.interview.concepts import Concept, matches_topic
from rag.interview.grading import cite_for, model_answer
from rag.interview.phrasing import template_question
from rag.interview.session import InterviewError

# fixed once: changing them makes Anki treat every card as new
MODEL_ID = 1_734_506_191
DECK_ID = 1_734_506_192
DECK_NAME = "notes-rag"
GUID_NAMESPACE = "notes-rag"

MODEL = genanki.Model(
    MODEL_ID,
    "notes-rag question",
    fields=[{"name": "Question"}, {"name": "Answer"}, {"name": "Source"}],
    templates=[
        {
            "name": "Question → answer",
            "qfmt": "{{Question}}",
            "afmt": '{{FrontSide}}<hr id="answer">{{Answer}}<div class="source">{{Source}}</div>',
        }
    ],
    css=".card { font-family: sans-serif; font-size: 20px; text-align: left; } .source { margin-top: 1em; "
    "font-size: 14px; color: #666; }",
)


@dataclass
class AnkiExport:
    path: Path
    deck: str
    cards: int

    def to_json(self) -> dict:
        return {"path": str(self.path), "deck": self.deck, "cards": self.cards}


def deck_for(topic: str | None) -> tuple[int, str]:
    """One deck for everything, a sub-deck per topic; a topic's id follows from its name, so the same
    topic exported again lands in the same deck."""
    if not topic:
        return DECK_ID, DECK_NAME
    digest = int(hashlib.sha1(topic.strip().lower().encode()).hexdigest()[:7], 16)
    return DECK_ID + 1 + digest, f"{DECK_NAME}::{topic.strip()}"


def note_for(concept: Concept) -> genanki.Note:
    # the question is the template's: an LLM phrasing would change between exports and cost a call per card
    fields = [escape(template_question(concept)), escape(model_answer(concept)), escape(cite_for(concept))]
    tags = [concept.kind, re.sub(r"[^\w.-]+", "_", concept.source)]
    return genanki.Note(model=MODEL, fields=fields, tags=tags, guid=genanki.guid_for(GUID_NAMESPACE, concept.key))


def export_deck(concepts: list[Concept], path: Path, topic: str | None = None) -> AnkiExport:
    """Write the concepts matching `topic` (all when None) to an .apkg."""
    chosen = [c for c in concepts if matches_topic(c, topic)]
    if not chosen:
        raise InterviewError(f"no interview concepts match topic {topic!r}; try a heading or file name from your notes")
    deck_id, name = deck_for(topic)
    deck = genanki.Deck(deck_id, name, description="Questions from your own notes, by notes-rag")
    for concept in chosen:
        deck.add_note(note_for(concept))
    path.parent.mkdir(parents=True, exist_ok=True)
    genanki.Package(deck).write_to_file(path)
    return AnkiExport(path, name, len(chosen))
