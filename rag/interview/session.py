"""A mock interview: planned questions, graded answers, a summary, a transcript on disk.

Everything a session needs to resume is in its JSON file (the planned concepts with their key points),
so a re-ingest between two sittings changes nothing about a session already under way.
"""

from __future__ import annotations

import json
import random
import secrets
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rag.answer.citations import excerpt
from rag.errors import InterviewError
from rag.interview.concepts import Concept, company_concepts, company_notes, concepts_from_chunks, matches_topic
from rag.interview.grading import Feedback, KeyPoint, grade, llm_judge
from rag.interview.leitner import LeitnerBoxes
from rag.interview.phrasing import llm_question, template_question
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


@dataclass
class Turn:
    question: Question
    answer: str | None = None
    feedback: Feedback | None = None


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

    def to_json(self) -> dict:
        return asdict(self)


def topic_group(heading: str) -> str:
    """Scores are reported per note section: "ml-fundamentals > Parts of a DNN", not per sub-sub-heading."""
    return " > ".join(heading.split(" > ")[:2])


class InterviewSession:
    def __init__(
        self,
        assistant: Assistant,
        plan: list[Concept],
        mode: str,
        topic: str | None,
        phrasing: str,
        session_id: str | None = None,
    ):
        self.assistant = assistant
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
            pool = concepts_from_chunks(chunks)
        candidates = [c for c in pool if matches_topic(c, topic) and (difficulty is None or c.difficulty == difficulty)]
        if not candidates:
            biggest = [t for t, _ in Counter(topic_group(c.heading) for c in pool).most_common(8)]
            raise InterviewError(
                f"no questions match topic {topic!r}"
                + (f" at difficulty {difficulty}" if difficulty else "")
                + f"; try one of: {'; '.join(biggest)}"
            )
        plan: list[Concept] = []
        seen: set[tuple[str, str]] = set()
        for concept in cls.boxes_for(assistant).order(candidates, random.Random(seed)):
            # one question per term and per chunk: "Forward Pass" twice, or two questions answered by
            # the same passage, would repeat within the session
            asked = (concept.term.lower(), concept.kind)
            if asked in seen or any(c.chunk_ids == concept.chunk_ids for c in plan):
                continue
            seen.add(asked)
            plan.append(concept)
            if len(plan) == n:
                break
        return cls(assistant, plan, mode, topic, phrasing)

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
    def done(self) -> bool:
        return self.current is None and len(self.turns) >= len(self.plan)

    def next_question(self) -> Question | None:
        """The question waiting for an answer, or the next one; None when the session is over."""
        if self.current is not None:
            return self.current.question
        if self.done:
            return None
        concept = self.plan[len(self.turns)]
        text, by = self._phrase(concept)
        question = Question(
            number=len(self.turns) + 1,
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
        concept = self.plan[turn.question.number - 1]
        client = self.assistant.judge_client()
        feedback = grade(
            concept,
            turn.question.text,
            text or "",
            self.assistant.embedder,
            self._sources(concept),
            llm_judge(client) if client else None,
        )
        turn.answer = text or ""
        turn.feedback = feedback
        self.boxes_for(self.assistant).record(concept, feedback.score, self.assistant.settings.interview_pass_score)
        self.save()
        return feedback

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
        return [Source(n, c.source, c.heading, excerpt(c.text), c.id, True, c.text) for n, c in enumerate(found, 1)]

    # ---- results ---------------------------------------------------------------------------------
    def summary(self) -> Summary:
        graded = [t for t in self.turns if t.feedback is not None]
        by_topic: dict[str, list[float]] = {}
        for t in graded:
            by_topic.setdefault(t.question.topic, []).append(t.feedback.score)
        per_topic = {k: round(sum(v) / len(v), 1) for k, v in by_topic.items()}
        pass_score = self.assistant.settings.interview_pass_score
        return Summary(
            session_id=self.id,
            mode=self.mode,
            asked=len(self.turns),
            answered=len(graded),
            planned=len(self.plan),
            mean_score=round(sum(t.feedback.score for t in graded) / len(graded), 1) if graded else None,
            per_topic=per_topic,
            weak_topics=sorted(k for k, v in per_topic.items() if v < pass_score),
            scores=[
                {"number": t.question.number, "question": t.question.text, "score": t.feedback.score} for t in graded
            ],
        )

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "mode": self.mode,
            "topic": self.topic,
            "phrasing": self.phrasing,
            "plan": [c.to_json() for c in self.plan],
            "turns": [
                {
                    "question": asdict(t.question),
                    "answer": t.answer,
                    "feedback": t.feedback.to_json() if t.feedback else None,
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
        )
        for t in data["turns"]:
            fb = t["feedback"]
            feedback = None
            if fb:
                points = {k: [KeyPoint(**p) for p in fb[k]] for k in ("covered", "missed")}
                sources = [Source(**s) for s in fb["sources"]]
                feedback = Feedback(**{**fb, **points, "sources": sources})
            session.turns.append(Turn(Question(**t["question"]), t["answer"], feedback))
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
            lines += [f"## {q.number}. {q.text}", "", f"*{q.kind}, {q.difficulty} · {q.source} > {q.heading}*", ""]
            if t.feedback is None:
                lines += ["(not answered yet)", ""]
                continue
            fb = t.feedback
            lines += [
                "**Your answer:** " + (t.answer.strip() or "(empty)"),
                "",
                f"**Score:** {fb.score}/10" + ("" if fb.verdict == "graded" else f" ({fb.verdict.replace('_', ' ')})"),
                "",
            ]
            lines += [f"- ✓ {k.text} — *{k.cite}*" for k in fb.covered]
            lines += [f"- ✗ {k.text} — *{k.cite}*" for k in fb.missed]
            lines += ["", f"**Model answer** (from your notes): {fb.model_answer}", ""]
        if s.per_topic:
            lines += ["## Per topic", "", *[f"- {k}: {v}/10" for k, v in sorted(s.per_topic.items())], ""]
        if s.weak_topics:
            lines += ["Weak topics (they come back next session): " + "; ".join(s.weak_topics), ""]
        return "\n".join(lines)

    def export_markdown(self, path: Path | None = None) -> Path:
        path = path or self.path.with_suffix(".md")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_markdown())
        return path
