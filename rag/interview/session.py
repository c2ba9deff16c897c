"""A mock interview: planned questions, graded answers, a summary, a transcript on disk.

Everything a session needs to resume is in its JSON file (the planned concepts with their key points),
so a re-ingest between two sittings changes nothing about a session already under way.
"""

from __future__ import annotations

import json
import random
import re
import secrets
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.store import bm25_tokenize
from rag.answer.citations import excerpt
from rag.errors import InterviewError
from rag.interview.check import grade_answer, sources_for
from rag.interview.concepts import (
    Concept,
    company_concepts,
    company_notes,
    concepts_from_chunks,
    matches_topic,
    substantive,
)
from rag.interview.grading import Feedback, KeyPoint
from rag.interview.leitner import MARKS, UNSURE, WEAK_MARKS, LeitnerBoxes, unsure
from rag.interview.phrasing import answerable, llm_question, template_question
from rag.types import Source

if TYPE_CHECKING:
    from rag.assistant import Assistant

MODES = ("concepts", "company")
DIFFICULTIES = ("easy", "medium", "hard")


@dataclass
class Question:
    number: int
    text: str
    topic: str
    source: str
    heading: str
    kind: str
    difficulty: str
    concept_key: str
    phrased_by: str  # "llm" or "template"
    follow_up: str | None = None  # the key point a follow-up asks about; it shares its question's number
    gap: str | None = None  # the word of that point the follow-up leaves out, to be filled in

    @property
    def label(self) -> str:
        return f"Q{self.number} follow-up" if self.follow_up else f"Q{self.number}"


@dataclass
class Turn:
    question: Question
    answer: str | None = None
    feedback: Feedback | None = None
    mark: str | None = None  # the candidate's own Again/Hard/Good/Easy, where the grader was unsure

    def weak(self, pass_score: float) -> bool:
        """Weak is what scored below the pass score, unless the candidate marked it Good or Easy; a mark
        Again or Hard makes any answer weak."""
        if self.feedback is None:
            return False
        if self.mark:
            return self.mark in WEAK_MARKS
        return self.feedback.score < pass_score


@dataclass
class Summary:
    session_id: str
    mode: str
    asked: int
    answered: int
    planned: int
    mean_score: float | None
    per_topic: dict[str, float]
    weak_topics: list[str]
    scores: list[dict] = field(default_factory=list)
    weak_answers: int = 0

    def to_json(self) -> dict:
        return asdict(self)


def topic_group(heading: str) -> str:
    """Scores are reported per note section: "ml-fundamentals > Parts of a DNN", not per sub-sub-heading."""
    return " > ".join(heading.split(" > ")[:2])


def follow_up_point(feedback: Feedback, pass_score: float) -> str | None:
    """A point worth a follow-up: one the answer contradicted, else one it missed while it got another
    right but not enough to pass. An answer that got nothing right has the model answer to learn from, not
    a follow-up; one that passed has nothing to chase."""
    if feedback.verdict != "graded":
        return None
    if feedback.contradicted:
        return feedback.contradicted[0].text
    return feedback.missed[0].text if feedback.covered and feedback.missed and feedback.score < pass_score else None


def gap_word(term: str, point: str, idf: dict[str, float]) -> str:
    """The word a follow-up leaves out of its point: the rarest (a term of the topic, not a filler word)
    that the question's own term does not name; "" when there is none."""
    named = {w for w in bm25_tokenize([term])[0]}
    prose = re.sub(r"\$[^$]*\$", " ", point)  # LaTeX's \dots or \frac is no word of the point
    words = [w for w in re.findall(r"[A-Za-z][\w-]{3,}", prose) if not set(bm25_tokenize([w])[0]) & named]
    return max(words, key=lambda w: max((idf.get(t, 0.0) for t in bm25_tokenize([w])[0]), default=0.0), default="")


def fills_gap(answer: str, word: str) -> bool:
    """The answer opens with the missing word ("Birds", "6 birds, because…"), singular or plural."""
    stem = word[:-1] if len(word) > 4 and word[-1].lower() == "s" else word
    return bool(word) and re.match(rf"\W*(?:(?:the|an?|\d+)\s+)?{re.escape(stem)}", answer, re.IGNORECASE) is not None


def follow_up_question(term: str, point: str, word: str, feedback: Feedback) -> str:
    """The point with its gap word left out, to be filled in and explained: asking it outright would give
    the answer away."""
    gap = re.sub(rf"\b{re.escape(word)}\b", "____", point, count=1) if word else point
    said = "contradicts" if feedback.contradicted and feedback.contradicted[0].text == point else "did not cover"
    return f"Follow-up on {term}: your answer {said} this point of your notes — fill the gap and explain it: “{gap}”"


def mixed_plan(ordered: list[Concept], n: int, check: bool) -> list[Concept]:
    """The first n concepts of `ordered` worth asking: first no kind more than half the session while
    others are due (a mix of definitions, why/when, scenarios...), then whatever is left in order. With
    `check`, a concept whose question its section does not answer (the reader model) is left out."""
    plan: list[Concept] = []
    seen: set[tuple[str, str]] = set()
    for limit in (-(-n // 2), n):
        for concept in ordered:
            # one question per term and per chunk: "Forward Pass" twice, or two questions answered by
            # the same passage, would repeat within the session
            asked = (concept.term.lower(), concept.kind)
            if len(plan) == n or asked in seen or any(c.chunk_ids == concept.chunk_ids for c in plan):
                continue
            if sum(c.kind == concept.kind for c in plan) >= limit:
                continue
            seen.add(asked)  # asked or not answerable from its section: not tried twice
            if check and not answerable(concept, template_question(concept)):
                continue
            plan.append(concept)
    return plan


class InterviewSession:
    def __init__(
        self,
        assistant: Assistant,
        plan: list[Concept],
        mode: str,
        topic: str | None,
        phrasing: str,
        session_id: str | None = None,
        follow_ups: bool = True,
    ):
        self.assistant = assistant
        self.follow_ups = follow_ups
        self.plan = plan
        self.mode = mode
        self.topic = topic
        self.phrasing = phrasing
        self.id = session_id or datetime.now().strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)
        self.turns: list[Turn] = []

    # ---- planning ------------------------------------------------------------------------------
    @classmethod
    def start(
        cls,
        assistant: Assistant,
        topic: str | None = None,
        n: int = 5,
        mode: str = "concepts",
        difficulty: str | None = None,
        phrasing: str = "auto",
        seed: int | None = None,
        follow_ups: bool = True,
    ) -> InterviewSession:
        if mode not in MODES:
            raise InterviewError(f"unknown interview mode {mode!r}; choose one of {', '.join(MODES)}")
        if difficulty not in (None, *DIFFICULTIES):
            raise InterviewError(f"unknown difficulty {difficulty!r}; choose one of {', '.join(DIFFICULTIES)}")
        if n < 1:
            raise InterviewError(f"a session needs at least one question (got n={n})")
        s = assistant.settings
        chunks = assistant.index.chunks
        if mode == "company":
            notes = company_notes(chunks, s.interview_company_notes)
            if not notes:
                patterns = ", ".join(s.interview_company_notes)
                raise InterviewError(
                    f"no interview-prep notes found (file names matching {patterns}, or tag #interview); add "
                    "one or set interview_company_notes"
                )
            pool = company_concepts(notes)
        else:
            pool = [c for c in concepts_from_chunks(chunks) if substantive(c)]
        candidates = [c for c in pool if matches_topic(c, topic) and (difficulty is None or c.difficulty == difficulty)]
        if not candidates:
            biggest = [t for t, _ in Counter(topic_group(c.heading) for c in pool).most_common(8)]
            raise InterviewError(
                f"no questions match topic {topic!r}"
                + (f" at difficulty {difficulty}" if difficulty else "")
                + f"; try one of: {'; '.join(biggest)}"
            )
        ordered = cls.boxes_for(assistant).order(candidates, random.Random(seed))
        plan = mixed_plan(ordered, n, check=mode == "concepts")
        # start_in_scope plans with n beyond the pool and keeps its scope's first n: no shortage there
        if difficulty and len(plan) < n <= len(pool):
            where = f" on topic {topic!r}" if topic else ""
            raise InterviewError(
                f"only {len(plan)} {difficulty} question(s){where} can be asked from your notes, {n} asked: "
                f"ask for n={len(plan)} or another difficulty"
            )
        return cls(assistant, plan, mode, topic, phrasing, follow_ups=follow_ups)

    @staticmethod
    def folder(assistant: Assistant) -> Path:
        # beside the index, not inside a generation: a re-ingest must not forget what was practised
        return assistant.settings.interview_dir or assistant.index_dir / "interview"

    @classmethod
    def session_file(cls, assistant: Assistant, session_id: str) -> Path:
        return cls.folder(assistant) / "sessions" / f"{session_id}.json"

    @property
    def path(self) -> Path:
        return self.session_file(self.assistant, self.id)

    @classmethod
    def boxes_for(cls, assistant: Assistant) -> LeitnerBoxes:
        return LeitnerBoxes(cls.folder(assistant) / "leitner.json")

    # ---- asking and grading ----------------------------------------------------------------------
    @property
    def current(self) -> Turn | None:
        return self.turns[-1] if self.turns and self.turns[-1].feedback is None else None

    @property
    def asked(self) -> int:
        """Planned questions asked so far (follow-ups come on top of the plan)."""
        return sum(1 for t in self.turns if not t.question.follow_up)

    @property
    def done(self) -> bool:
        return self.current is None and self.asked >= len(self.plan) and self._follow_up() is None

    def next_question(self) -> Question | None:
        """The question waiting for an answer, or the next one; None when the session is over."""
        if self.current is not None:
            return self.current.question
        if self.done:
            return None
        if point := self._follow_up():
            last = self.turns[-1].question
            concept = self.concept_of(last)
            word = gap_word(concept.term, point, self.assistant.term_idf())
            text = follow_up_question(concept.term, point, word, self.turns[-1].feedback)
            question = replace(last, text=text, kind="follow-up", phrased_by="template", follow_up=point, gap=word)
        else:
            concept = self.plan[self.asked]
            text, by = self._phrase(concept)
            question = Question(
                number=self.asked + 1,
                text=text,
                topic=topic_group(concept.heading),
                source=concept.source,
                heading=concept.heading,
                kind=concept.kind,
                difficulty=concept.difficulty,
                concept_key=concept.key,
                phrased_by=by,
            )
        self.turns.append(Turn(question))
        self.save()
        return question

    def _follow_up(self) -> str | None:
        """The point the next question follows up on: after a planned question's answer that contradicted
        a point, or got some right and missed one; never a second follow-up on one concept."""
        if not (self.follow_ups and self.turns) or self.turns[-1].feedback is None:
            return None
        last = self.turns[-1]
        if last.question.follow_up:
            return None
        return follow_up_point(last.feedback, self.assistant.settings.interview_pass_score)

    def concept_of(self, question: Question) -> Concept:
        return self.plan[question.number - 1]

    def _phrase(self, concept: Concept) -> tuple[str, str]:
        try:
            if self.phrasing == "llm":
                self.assistant.ensure_llm()  # checks the server, starts it if needed
            if self.phrasing == "llm" or (self.phrasing == "auto" and self.assistant.llm.is_up()):
                if text := llm_question(self.assistant.llm, concept):
                    return text, "llm"
        except Exception as e:  # noqa: BLE001 - a failed phrasing must not end the session
            if self.phrasing == "llm":
                raise InterviewError(f"the LLM could not phrase a question ({e}); use --phrasing template") from e
        return template_question(concept), "template"

    def answer(self, text: str) -> Feedback:
        turn = self.current
        if turn is None:
            raise InterviewError("no question is waiting for an answer; call next_question() first")
        concept = self.concept_of(turn.question)
        graded = text or ""
        if point := turn.question.follow_up:  # graded on the point it asks about
            # the gap filled right is the point stated: "Birds" alone says "6 Birds, 0 Mammals" here
            if fills_gap(graded, turn.question.gap or ""):
                graded = f"{point} {graded}"
            concept = replace(concept, key_points=[point])
        feedback = grade_answer(self.assistant, concept, turn.question.text, graded, self._sources(concept))
        turn.answer = text or ""
        turn.feedback = feedback
        if not turn.question.follow_up:  # the concept's box follows its own question
            self.boxes_for(self.assistant).record(concept, feedback.score, self.assistant.settings.interview_pass_score)
        self.save()
        return feedback

    def mark(self, mark: str, number: int | None = None) -> int:
        """The candidate's own mark (again | hard | good | easy) for the answer to question `number` (by
        default the last one answered), allowed where the grader was unsure (a score in UNSURE): the
        concept's Leitner box follows the mark, and so does the summary's count of weak answers. Returns
        the concept's new box."""
        if mark not in MARKS:
            raise InterviewError(f"unknown mark {mark!r}; choose one of {', '.join(MARKS)}")
        answered = [t for t in self.turns if t.feedback is not None and not t.question.follow_up]
        chosen = [t for t in answered if number in (None, t.question.number)][-1:]
        if not chosen:
            raise InterviewError(
                f"question {number} has no answer to mark yet" if number else "answer a question first"
            )
        turn = chosen[0]
        if not self.markable(turn):
            low, high = UNSURE
            raise InterviewError(
                f"{turn.question.label} scored {turn.feedback.score}/10: marks are for scores {low:g}-{high:g}, "
                "where the grader is unsure"
            )
        turn.mark = mark
        box = self.boxes_for(self.assistant).mark(self.concept_of(turn.question), mark)
        self.save()
        return box

    @staticmethod
    def markable(turn: Turn) -> bool:
        fb = turn.feedback
        return fb is not None and not turn.question.follow_up and fb.verdict == "graded" and unsure(fb.score)

    def _sources(self, concept: Concept) -> list[Source]:
        chunks = {c.id: c for c in self.assistant.index.chunks}
        found = [chunks[i] for i in concept.chunk_ids if i in chunks]
        if not found:  # the note changed since the session was planned: cite what the plan kept
            return [
                Source(
                    1,
                    concept.source,
                    concept.heading,
                    excerpt(" ".join(concept.key_points)),
                    concept.chunk_ids[0],
                    True,
                )
            ]
        return sources_for(self.assistant, found)

    # ---- results ---------------------------------------------------------------------------------
    def summary(self) -> Summary:
        """Scores, topics and weak answers of the planned questions; a follow-up is listed with its score
        but grades one point of its question, not the topic, so it counts towards none of them."""
        graded = [t for t in self.turns if t.feedback is not None]
        planned = [t for t in graded if not t.question.follow_up]
        by_topic: dict[str, list[float]] = {}
        for t in planned:
            by_topic.setdefault(t.question.topic, []).append(t.feedback.score)
        pass_score = self.assistant.settings.interview_pass_score
        weak = [t for t in planned if t.weak(pass_score)]
        return Summary(
            session_id=self.id,
            mode=self.mode,
            asked=self.asked,
            answered=len(planned),
            planned=len(self.plan),
            mean_score=round(sum(t.feedback.score for t in planned) / len(planned), 1) if planned else None,
            per_topic={k: round(sum(v) / len(v), 1) for k, v in by_topic.items()},
            weak_topics=sorted({t.question.topic for t in weak}),
            scores=[
                {
                    "number": t.question.number,
                    "label": t.question.label,
                    "question": t.question.text,
                    "score": t.feedback.score,
                    "mark": t.mark,
                    "weak": t in weak,
                }
                for t in graded
            ],
            weak_answers=len(weak),
        )

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "mode": self.mode,
            "topic": self.topic,
            "phrasing": self.phrasing,
            "follow_ups": self.follow_ups,
            "plan": [c.to_json() for c in self.plan],
            "turns": [
                {
                    "question": asdict(t.question),
                    "answer": t.answer,
                    "feedback": t.feedback.to_json() if t.feedback else None,
                    "mark": t.mark,
                }
                for t in self.turns
            ],
            "summary": self.summary().to_json(),
        }

    def save(self) -> Path:
        path = self.path
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False))
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, assistant: Assistant, session_id: str) -> InterviewSession:
        path = cls.session_file(assistant, session_id)
        if not path.is_file():
            known = sorted(p.stem for p in path.parent.glob("*.json"))[-5:]
            raise InterviewError(
                f"no interview session {session_id!r} in {path.parent}"
                + (f"; recent: {', '.join(known)}" if known else "")
            )
        data = json.loads(path.read_text())
        session = cls(
            assistant,
            [Concept.from_json(c) for c in data["plan"]],
            data["mode"],
            data["topic"],
            data["phrasing"],
            data["id"],
            data.get("follow_ups", False),  # sessions saved before follow-ups existed go on without them
        )
        for t in data["turns"]:
            fb = t["feedback"]
            feedback = None
            if fb:
                points = {
                    k: [KeyPoint(**p) for p in fb[k]]
                    for k in ("covered", "missed", "contradicted", "further")
                    if k in fb
                }
                sources = [Source(**s) for s in fb["sources"]]
                feedback = Feedback(**{**fb, **points, "sources": sources})
            session.turns.append(Turn(Question(**t["question"]), t["answer"], feedback, t.get("mark")))
        return session

    def to_markdown(self) -> str:
        s = self.summary()
        mean = "—" if s.mean_score is None else f"{s.mean_score}/10"
        lines = [
            f"# Mock interview {self.id}",
            "",
            f"Mode: {self.mode} · topic: {self.topic or 'any'} · answered {s.answered} of {s.planned} · mean "
            f"score {mean}",
            "",
        ]
        for t in self.turns:
            q = t.question
            lines += [f"## {q.label}. {q.text}", "", f"*{q.kind}, {q.difficulty} · {q.source} > {q.heading}*", ""]
            if t.feedback is None:
                lines += ["(not answered yet)", ""]
                continue
            fb = t.feedback
            lines += [
                "**Your answer:** " + (t.answer.strip() or "(empty)"),
                "",
                f"**Score:** {fb.score}/10"
                + ("" if fb.verdict == "graded" else f" ({fb.verdict.replace('_', ' ')})")
                + (f" · you marked it {t.mark.capitalize()}" if t.mark else ""),
                "",
            ]
            lines += [f"- ✓ {k.text} — *{k.cite}*" for k in fb.covered]
            lines += [
                f"- ✗ contradicted: {f'you said “{k.said}”; ' if k.said else ''}your notes say {k.text} — *{k.cite}*"
                for k in fb.contradicted
            ]
            lines += [f"- ✗ {k.text} — *{k.cite}*" for k in fb.missed]
            lines += [f"- · also in your notes: {k.text} — *{k.cite}*" for k in fb.further]
            lines += [f"> {n}" for n in fb.notices]
            lines += ["", f"**Model answer** (from your notes): {fb.model_answer}", ""]
        if s.per_topic:
            lines += ["## Per topic", "", *[f"- {k}: {v}/10" for k, v in sorted(s.per_topic.items())], ""]
        if s.weak_topics:
            lines += [
                f"Weak answers: {s.weak_answers}. Weak topics (they come back next session): "
                + "; ".join(s.weak_topics),
                "",
            ]
        return "\n".join(lines)

    def export_markdown(self, path: Path | None = None) -> Path:
        path = path or self.path.with_suffix(".md")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_markdown())
        return path
