"""Grade an answer against the key points of the note it is about.

Two embedding signals, with the concept's own name masked on both sides (naming it earns nothing):
- *the gist*: the whole answer against the whole section (its key points joined). A terse answer that
  gets the idea right is close to the section as a whole, though it matches few single sentences;
- *coverage*: each key point gets its best credit from a sentence or a pair of sentences: its cosine
  similarity, credited from `FLOOR` (another fact of the same topic) to `FULL` (a paraphrase), or the
  support head's P that the sentence states it; the mean of the best `TOP_POINTS` credits counts, since a
  good answer states the section's main ideas, not each of its sentences (a section has up to eight).
Each point is then covered, contradicted or missing, as an examiner marks it (SemEval-2013 task 7): a
sentence on the point's topic that the support head does not find stating it, and that turns it round
in words, contradicts it; such a point earns nothing and takes most of the score, so a wrong fact costs
more than a missing one, while detail beyond the note costs nothing.
The score is the weighted sum, 0-10; the weights and thresholds were chosen on
`eval/datasets/interview_answers.jsonl` (`python -m eval.interview`). When a judge model is configured,
its share of key points stated is averaged with that score.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from ingest.chunking import SENTENCE_END
from ingest.embed import Embedder
from rag.answer.reader import candidate_text
from rag.answer.support import SupportModel
from rag.interview.concepts import Concept
from rag.interview.gloss import english, is_german

# all-MiniLM-L6-v2: unrelated sentences sit around 0.0-0.25, two different facts of one ML topic up to
# about 0.45, paraphrases of one fact 0.6 and above
FLOOR, FULL = 0.45, 0.65
TOP_POINTS = 3
GIST_FLOOR, GIST_FULL, GIST_WEIGHT = 0.5, 0.7, 0.75
# the support head (rag/answer/support.py): it reads the candidate's sentence as the claim and the point
# as the note sentence; it rates near-copies high and most paraphrases low (0.05-0.3), so it adds credit
# from SUPPORT_FLOOR up and only a sentence on the point's topic (TOPICAL) is read at all
TOPICAL = 0.4
SUPPORT_FLOOR, SUPPORT_FULL = 0.3, 0.6
SUPPORTED = 0.5
COVERED_CREDIT = 0.5  # half the credit: shown as covered
# a score this high with the counted points covered: what else the section says is further reading, not missed
GOOD = 0.8
# contradicted: a sentence about the point (embedding similarity), which the support head does not find
# stating it, and which turns it around in words (`clashes`)
CONTRADICTS, UNSUPPORTED = 0.55, 0.4
CONTRADICTION_KEEPS = 0.3
YES_OR_NO = re.compile(r"\byes\s*(?:or|/)\s*no\b")  # a kind of question, no negation
NEGATIONS = {"not", "no", "never", "without", "cannot", "none", "neither", "nor"}
OPPOSITES = [
    tuple(pair.split())
    for pair in """higher lower|more less|increase decrease|increases decreases|larger smaller|large small|
    faster slower|before after|overfit underfit|overfitting underfitting|maximize minimize|high low|
    positive negative|longer shorter|above below|better worse|easier harder|always never|reduces increases|
    reduce increase|same different|own same|own share|own shared|deeper shallower|purer impure|pure impure|
    sparse dense|independent dependent|global local|most least|all none|simple complex|slow fast|
    supervised unsupervised|linear non-linear|robust sensitive|first last|smaller bigger|lower bigger|
    purer lower|add subtract|grows shrinks|grows prunes|removes adds""".replace("\n", " ").split("|")
]
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
    support: float = 0.0  # the support head's best P that a sentence of the answer states it
    said: str | None = None  # the candidate's sentence that states the opposite (a contradicted point)


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
    # the section's other points, once a good answer (GOOD) has covered the TOP_POINTS the score counts:
    # shown as "also in your notes", not as missed, or a 10/10 would list what it "missed"
    further: list[KeyPoint] = field(default_factory=list)

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


@functools.cache
def support_model() -> SupportModel | None:
    """The shipped support head, loaded once per process; None where it has not been trained."""
    return SupportModel.load()


def negated_terms(text: str) -> set[str]:
    """The words a negation governs ("no maximum depth", "trained not on the original dataset"): the
    first content word after each, by its first five letters. Not a word the text also counts: in "6 birds
    on one side, no birds on the other", "no birds" is a count of another group, not a denial of "6 birds"."""
    text = YES_OR_NO.sub("", text.lower())
    words = re.findall(r"[a-z]+(?:'t)?", text)
    found = set()
    for n, word in enumerate(words):
        if word in NEGATIONS or word.endswith("n't"):
            after = [w for w in words[n + 1 : n + 4] if len(w) > 3 and w not in NEGATIONS]
            found.update(w[:5] for w in after[:1])
    return found - {w[:5] for w in re.findall(r"\b\d+(?:\.\d+)?\s+([a-z]+)", text)}


def clashes(said: str, point: str) -> bool:
    """The sentence turns the point around in words: a word of one facing its opposite in the other
    ("higher" where the note says "lower", "share" for "own"), or one of them negating a term the other
    states without a negation."""
    a, b = set(re.findall(r"[a-z]+", said.lower())), set(re.findall(r"[a-z]+", point.lower()))
    for this, other, other_words in ((said, point, b), (point, said, a)):
        if negated_terms(this) & {w[:5] for w in other_words} and not negated_terms(other):
            return True
    return any((x in a and y in b and x not in b and y not in a) for x, y in OPPOSITES + [(y, x) for x, y in OPPOSITES])


def judge_points(
    concept: Concept, points: list[str], units: list[str], similarity: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each point's credit (0-1), the support head's best score for it, and the sentence that states
    its opposite (-1 for none). Only pairs on the point's topic go to the support head: one batch."""
    support = np.zeros_like(similarity)
    model = support_model()
    pairs = list(zip(*np.nonzero(similarity >= TOPICAL)))
    if model is not None and pairs:
        scored = model.scores(
            [units[j] for _, j in pairs], [candidate_text(concept.heading, points[i]) for i, _ in pairs]
        )
        for (i, j), p in zip(pairs, scored):
            support[i, j] = p
    credit = np.maximum(
        np.clip((similarity - FLOOR) / (FULL - FLOOR), 0.0, 1.0),
        np.clip((support - SUPPORT_FLOOR) / (SUPPORT_FULL - SUPPORT_FLOOR), 0.0, 1.0),
    ).max(axis=1)
    opposed = np.full(len(points), -1)
    sentences = (len(units) + 1) // 2  # `answer_units`: the sentences, then each two in a row
    for i, point in enumerate(points):
        if credit[i] >= COVERED_CREDIT and support[i].max() >= SUPPORTED:
            continue  # stated right somewhere: another sentence turning part of it round does not undo that
        said = [
            j
            for j in np.argsort(-similarity[i, :sentences])
            if similarity[i, j] >= CONTRADICTS and support[i, j] < UNSUPPORTED and clashes(units[j], point)
        ]
        if said:
            opposed[i] = said[0]
    return credit, support.max(axis=1), opposed


def compared(concept: Concept, answer: str, embedder: Embedder) -> tuple[list[str], list[str], np.ndarray, float]:
    """The key points and the answer's units (`answer_units`) as the models read them, each point's cosine
    with each unit, and the gist: the whole answer's cosine with the whole section. The models read English:
    a German section (or answer) is compared in its word-for-word gloss."""
    german = is_german(" ".join(concept.key_points))
    read = [english(p, german) for p in concept.key_points]
    units = answer_units(english(answer))
    masked = [without_term(u, concept.term) for u in units]
    section = without_term(" ".join(read), concept.term)
    vectors = embedder.embed([without_term(p, concept.term) for p in read] + [section] + masked)
    pairwise = vectors[: len(read)] @ vectors[len(read) + 1 :].T
    return read, units, pairwise, float(vectors[len(read)] @ vectors[-1])  # the last unit: the whole answer


def grade(
    concept: Concept, question: str, answer: str, embedder: Embedder, sources: list, judge: Judge | None = None
) -> Feedback:
    points = concept.key_points
    verdict = verdict_for(answer) if points else "empty"
    similarity = np.zeros(len(points))
    support = np.zeros(len(points))
    opposed = np.full(len(points), -1)
    credit = np.zeros(len(points))
    units: list[str] = []
    score = 0.0
    if verdict is None:
        read, units, pairwise, gist = compared(concept, answer, embedder)
        similarity = pairwise.max(axis=1)
        if similarity.max() < OFF_TOPIC:
            verdict = "off_topic"
        parts = max(1, len(units) - 1)  # sentences and pairs of them: the whole answer is read by its parts
        credit, support, opposed = judge_points(concept, read, units[:parts], pairwise[:, :parts])
        credit[opposed >= 0] = 0.0
        coverage = np.sort(credit)[::-1][:TOP_POINTS].mean()
        score = (1 - GIST_WEIGHT) * coverage + GIST_WEIGHT * np.clip(
            (gist - GIST_FLOOR) / (GIST_FULL - GIST_FLOOR), 0.0, 1.0
        )
        # a wrong fact stated costs more than a right one left out: each takes most of what is left
        score *= CONTRADICTION_KEEPS ** int((opposed >= 0).sum())
    covered_mask = (credit >= COVERED_CREDIT) & (opposed < 0)
    judged: list[bool | None] = [None] * len(points)
    judged_by = ["embedding", "support"] if support_model() is not None else ["embedding"]
    if verdict is None and judge is not None:
        verdicts = judge(question, answer, points)
        if len(verdicts) == len(points):
            judged = list(verdicts)
            score = (score + float(np.mean(verdicts))) / 2
            covered_mask = np.array(verdicts, dtype=bool) & (opposed < 0)
            judged_by.append("llm")
    if verdict is not None:
        score = 0.0
        covered_mask[:] = False
        opposed[:] = -1
    cite = cite_for(concept)
    keypoints = [
        KeyPoint(p, cite, round(float(s), 3), j, round(float(u), 3), units[o] if o >= 0 else None)
        for p, s, j, u, o in zip(points, similarity, judged, support, opposed)
    ]
    left_out = [k for k, c, o in zip(keypoints, covered_mask, opposed) if not c and o < 0]
    enough = int(covered_mask.sum()) >= TOP_POINTS and score >= GOOD
    return Feedback(
        score=round(10 * float(score), 1),
        covered=[k for k, c in zip(keypoints, covered_mask) if c],
        missed=[] if enough else left_out,
        further=left_out if enough else [],
        model_answer=model_answer(concept),
        sources=sources,
        verdict=verdict or "graded",
        judged_by=judged_by,
        contradicted=[k for k, o in zip(keypoints, opposed) if o >= 0],
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
