"""Leitner boxes on disk: a concept answered well moves up a box, one answered badly goes back to box 1,
and sessions ask from the lowest boxes first, so weak topics come back.

Where the grader is unsure (a score in `UNSURE`), the candidate's own mark decides instead: Again sends
the concept back to box 1, Hard keeps it in the box it was in, Good moves it up one box, Easy two.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from rag.interview.concepts import Concept

TOP_BOX = 5
# scores from 4 to 7 are where the grader is least reliable (a right answer in other words, or a fluent
# wrong one, lands here), so the candidate is asked to mark them
UNSURE = (4.0, 7.0)
MARKS = ("again", "hard", "good", "easy")
WEAK_MARKS = ("again", "hard")
STEP = {"again": None, "hard": 0, "good": 1, "easy": 2}  # None: back to box 1


def unsure(score: float) -> bool:
    return UNSURE[0] <= score <= UNSURE[1]


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def due_date(card: dict) -> date:
    """A card in box n comes back 2**(n-1) days after its last answer: box 1 the next day, box 5 after
    16 days (`rag progress`'s cards due today)."""
    return datetime.fromisoformat(card["seen"]).date() + timedelta(days=2 ** (card["box"] - 1))


class LeitnerBoxes:
    def __init__(self, path: Path):
        self.path = path

    def _read(self) -> dict[str, dict]:
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except ValueError:
            # a damaged box file costs the schedule, never the session
            return {}

    def record(self, concept: Concept, score: float, pass_score: float) -> int:
        # read now, not when the session began: another session (a UI tab) may have written since
        cards = self._read()
        old = cards.get(concept.key, {}).get("box", 1)  # a new card sits in box 1; answered well, it leaves it
        new = min(old + 1, TOP_BOX) if score >= pass_score else 1
        cards[concept.key] = {
            "box": new,
            "from_box": old,  # a mark given afterwards moves the concept from here
            "term": concept.term,
            "topic": concept.topic,
            "last_score": score,
            "seen": now(),
        }
        self._write(cards)
        return new

    def mark(self, concept: Concept, mark: str) -> int:
        """Move the concept as the candidate's mark says, from the box it was in before the answer was
        recorded: marking twice (Hard, then Good) counts only the last mark."""
        cards = self._read()
        card = cards.get(concept.key) or {"box": 1, "term": concept.term, "topic": concept.topic, "seen": now()}
        before = card.get("from_box", card["box"])
        step = STEP[mark]
        card.update(box=1 if step is None else min(max(before, 1) + step, TOP_BOX), mark=mark, from_box=before)
        cards[concept.key] = card
        self._write(cards)
        return card["box"]

    def cards(self) -> dict[str, dict]:
        """Every card by concept key. A card without the date of its last answer (marked before it was
        ever recorded) is dated today, and that date is stored, so it falls due from a fixed day."""
        cards = self._read()
        undated = [card for card in cards.values() if "seen" not in card]
        for card in undated:
            card["seen"] = now()
        if undated:
            self._write(cards)
        return cards

    def _write(self, cards: dict[str, dict]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".leitner-")
        with os.fdopen(fd, "w") as f:
            json.dump(cards, f, indent=1, ensure_ascii=False)
        os.replace(tmp, self.path)

    def order(self, concepts: list[Concept], rng: random.Random) -> list[Concept]:
        """Box 1 (missed before) first, then never asked, then boxes 2-5; oldest first within a box."""
        cards = self._read()

        def rank(c: Concept) -> tuple:
            card = cards.get(c.key)
            if card is None:
                return (1, 0, rng.random())
            return (0 if card["box"] == 1 else card["box"], card["seen"], rng.random())

        return sorted(concepts, key=rank)
