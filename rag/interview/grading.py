"""Grade an answer against the key points of the note it is about.

Two embedding signals, with the concept's own name masked on both sides (naming it earns nothing):
- *the gist*: the whole answer against the whole section (its key points joined). A terse answer that
  gets the idea right is close to the section as a whole, though it matches few single sentences;
- *coverage*: each key point gets its best cosine similarity to a sentence, a pair of sentences or the
  whole answer, credited from `FLOOR` (another fact of the same topic) to `FULL` (a paraphrase); the mean
  of the best `TOP_POINTS` credits counts, since a good answer states the section's main ideas, not
  each of its sentences (a section continued over several chunks has up to eight).
The score is the weighted sum, 0-10; the weights and thresholds were chosen on the tuning half of
`eval/datasets/interview_answers.jsonl` (`python -m eval.interview`). When a judge model is configured,
its share of key points stated is averaged with that score: embeddings reward the right words, the
judge catches a right-sounding answer that says the opposite.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from ingest.chunking import SENTENCE_END
from ingest.embed import Embedder
from rag.interview.concepts import Concept

# all-MiniLM-L6-v2: unrelated sentences sit around 0.0-0.25, two different facts of one ML topic up to
# about 0.45, paraphrases of one fact 0.6 and above
FLOOR, FULL = 0.45, 0.65
COVERED = (FLOOR + FULL) / 2  # half the credit: shown as covered
TOP_POINTS = 3
GIST_FLOOR, GIST_FULL, GIST_WEIGHT = 0.5, 0.7, 0.75
OFF_TOPIC = 0.3  # below this for every key point the answer is about something else
DONT_KNOW = re.compile(
    r"\b(i\s+(?:do\s*n[o']?t|dunno|have\s+no)\s+(?:know|idea|clue)|no\s+idea|not\s+sure|no\s+clue|dunno|"
    r"can'?t\s+remember|don'?t\s+remember|forgot|keine\s+ahnung|wei(?:ß|ss)\s+(?:ich\s+)?nicht|pass|skip)\b",
    re.I,
)

Judge = Callable[[str, str, list[str]], list[bool]]


@dataclass
class KeyPoint:
    text: str
    cite: str  # "file > heading": where in the notes it comes from
    similarity: float
    judged: bool | None = None  # the judge model's verdict, when one is configured


@dataclass
class Feedback:
    score: float  # 0-10
    covered: list[KeyPoint]
    missed: list[KeyPoint]
    model_answer: str
    sources: list  # rag.types.Source of the gold chunk(s)
    verdict: str = "graded"  # graded | empty | dont_know | off_topic
    judged_by: list[str] = field(default_factory=lambda: ["embedding"])
    contradicted: list[KeyPoint] = field(default_factory=list)  # points the answer states the opposite of
    notices: list[str] = field(default_factory=list)  # what the candidate should know about this grading

    def to_json(self) -> dict:
        return asdict(self)  # sources with their whole text: a transcript reads without the index


def without_term(text: str, term: str) -> str:
    """Naming the concept earns nothing: the question already named it. Masking its words (and their
    inflections: normalization, normalizes) leaves what the answer says about it to be compared."""
    stems = {
        w.lower()[: max(4, len(w) - 3)]
        for w in re.findall(r"[A-Za-z][A-Za-z\-]{2,}", term)
        if w.lower() not in {"and", "the", "with", "for"}
    }
    if not stems:
        return text
    return re.sub(r"\b(?:" + "|".join(map(re.escape, sorted(stems))) + r")[\w\-]*", "it", text, flags=re.I)


def answer_units(answer: str) -> list[str]:
    sentences = [s.strip() for part in re.split(r"\n+|;\s+", answer) for s in SENTENCE_END.split(part) if s.strip()]
    pairs = [f"{a} {b}" for a, b in zip(sentences, sentences[1:])]
    return sentences + pairs + ([answer.strip()] if len(sentences) > 1 else [])


def verdict_for(answer: str) -> str | None:
    words = re.findall(r"\w+", answer)
    if not words:
        return "empty"
    if len(words) <= 8 and DONT_KNOW.search(answer):
        return "dont_know"
    return None


def cite_for(concept: Concept) -> str:
    """ "ml-fundamentals.md > Neural Network Terminologies > Patience": the file, then the headings."""
    _, _, path = concept.heading.partition(" > ")
    return f"{concept.source} > {path}" if path else concept.source


def model_answer(concept: Concept, words: int = 90) -> str:
    """The note's points in order, about a paragraph's worth: a count of points would stop a definition
    made of short sentences after its first line."""
    kept: list[str] = []
    for point in concept.key_points:
        if kept and sum(len(k.split()) for k in kept) + len(point.split()) > words:
            break
        kept.append(point if point.endswith((".", "!", "?", ":")) else point + ".")
    return " ".join(kept)


def grade(
    concept: Concept, question: str, answer: str, embedder: Embedder, sources: list, judge: Judge | None = None
) -> Feedback:
    points = concept.key_points
    verdict = verdict_for(answer) if points else "empty"
    similarity = np.zeros(len(points))
    score = 0.0
    if verdict is None:
        units = [without_term(u, concept.term) for u in answer_units(answer)]
        section = without_term(" ".join(points), concept.term)
        vectors = embedder.embed([without_term(p, concept.term) for p in points] + [section] + units)
        similarity = (vectors[: len(points)] @ vectors[len(points) + 1 :].T).max(axis=1)
        gist = float(vectors[len(points)] @ vectors[-1])  # the last unit is the whole answer
        if similarity.max() < OFF_TOPIC:
            verdict = "off_topic"
        credit = np.clip((similarity - FLOOR) / (FULL - FLOOR), 0.0, 1.0)
        coverage = np.sort(credit)[::-1][:TOP_POINTS].mean()
        score = (1 - GIST_WEIGHT) * coverage + GIST_WEIGHT * np.clip(
            (gist - GIST_FLOOR) / (GIST_FULL - GIST_FLOOR), 0.0, 1.0
        )
    covered_mask = similarity >= COVERED
    judged: list[bool | None] = [None] * len(points)
    judged_by = ["embedding"]
    if verdict is None and judge is not None:
        verdicts = judge(question, answer, points)
        if len(verdicts) == len(points):
            judged = list(verdicts)
            score = (score + float(np.mean(verdicts))) / 2
            covered_mask = np.array(verdicts, dtype=bool)
            judged_by.append("llm")
    if verdict is not None:
        score = 0.0
        covered_mask[:] = False
    cite = cite_for(concept)
    keypoints = [KeyPoint(p, cite, round(float(s), 3), j) for p, s, j in zip(points, similarity, judged)]
    return Feedback(
        score=round(10 * float(score), 1),
        covered=[k for k, c in zip(keypoints, covered_mask) if c],
        missed=[k for k, c in zip(keypoints, covered_mask) if not c],
        model_answer=model_answer(concept),
        sources=sources,
        verdict=verdict or "graded",
        judged_by=judged_by,
    )


JUDGE_PROMPT = """You grade an interview answer against key points from the candidate's own notes.
Question: {question}
Answer: {answer}
Key points:
{points}
For each key point, say whether the answer states it (in any wording) and does not contradict it.
Reply with JSON only: {{"covered": [true or false for each key point, in order]}}"""


def llm_judge(client) -> Judge:
    """A judge over an `LLMClient`; an unreadable reply counts as no verdict (similarity alone grades)."""

    def judge(question: str, answer: str, points: list[str]) -> list[bool]:
        listed = "\n".join(f"{n}. {p}" for n, p in enumerate(points, 1))
        prompt = JUDGE_PROMPT.format(question=question, answer=answer, points=listed)
        reply = client.complete([{"role": "user", "content": prompt}], temperature=0.0, max_tokens=30 + 8 * len(points))
        match = re.search(r"\{.*\}", reply, re.S)
        try:
            covered = json.loads(match.group(0))["covered"] if match else []
        except (ValueError, KeyError, TypeError):
            return []
        return [bool(v) for v in covered] if isinstance(covered, list) else []

    return judge
