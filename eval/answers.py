"""Answer quality: faithfulness, relevance, correctness, citations and abstention.

Without a judge model every score is a documented proxy, checked against hand labels (eval/labels.py):
- a sentence is *supported* by a block by the verifier's rule (`rag.answer.verify.support`); the first proxy
  (`overlap_proxy`: cosine >= SUPPORT_COSINE or half the content words) is kept for comparison;
- relevance is the cosine between question and answer;
- correctness is token F1, ROUGE-L (rouge-score) and embedding cosine against the reference answer.
With `judge_model` set, support is asked of the judge instead ("yes"/"no" per sentence and block), RAGAS
style, through the same OpenAI-compatible client; the report says which was used.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from eval.dataset import Question
from rag.answer.citations import CITATION, SENTENCE

# extractive answers written before issue #24 opened with this line (the transcripts in eval/results/)
EXTRACTIVE_LEAD = "From your notes:"

SUPPORT_COSINE = 0.6
ABSTAIN = re.compile(
    r"(notes (don'?t|do not|doesn'?t) (cover|contain|mention)|not (covered|mentioned) in (the|your|my) notes|"
    r"no information|can(no|')t answer|cannot be answered|don'?t know)",
    re.IGNORECASE,
)


def sentences(text: str) -> list[str]:
    """The claims of an answer: sentences of three words or more, without an extractive answer's lead-in."""
    return [s.strip() for s in SENTENCE.split(text) if len(re.findall(r"\w+", s)) >= 3 and s.strip() != EXTRACTIVE_LEAD]


def _tokens(text: str) -> list[str]:
    return re.findall(r"\w+", CITATION.sub("", text).lower())


def token_f1(prediction: str, reference: str) -> float:
    pred, ref = _tokens(prediction), _tokens(reference)
    common = sum((Counter(pred) & Counter(ref)).values())
    if not pred or not ref or not common:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def rouge_l(prediction: str, reference: str) -> float:
    from rouge_score import rouge_scorer

    return (
        rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
        .score(reference, CITATION.sub("", prediction))["rougeL"]
        .fmeasure
    )


def abstains(text: str) -> bool:
    return bool(ABSTAIN.search(text))


def overlap_proxy(sentence: str, passage: str, embedder) -> bool:
    """The first automatic support test (until 2026-11): cosine >= SUPPORT_COSINE with the passage or
    one of its sentences, or half the content words. Kept to report how far it disagrees with the
    hand labels (it counted on-topic nonsense as supported)."""
    from ingest.store import bm25_tokenize

    words = set(bm25_tokenize([sentence])[0])
    if words and len(words & set(bm25_tokenize([passage])[0])) / len(words) >= 0.5:
        return True
    pieces = [passage] + sentences(passage)
    vectors = embedder.embed([sentence] + pieces)
    return float(np.max(vectors[1:] @ vectors[0])) >= SUPPORT_COSINE


class Support:
    """Does a passage support a sentence? The verifier's rule by default, a judge model when one is given."""

    def __init__(self, embedder, judge: Callable[[str, str], bool] | None = None):
        self.embedder = embedder
        self.judge = judge
        self.passages: dict = {}  # unit vectors of each passage seen, for `rag.answer.verify.supports`

    @property
    def method(self) -> str:
        return (
            "judge model"
            if self.judge
            else "the verifier's rule (numbers in the passage, cosine >= 0.6 with one of its sentences, at "
            "most one new content word)"
        )

    def __call__(self, sentence: str, passage: str, question: str = "", heading: str = "") -> bool:
        if self.judge:
            return self.judge(sentence, passage)
        from rag.answer.verify import supports

        return supports(sentence, question, heading, passage, self.embedder, self.passages)


def llm_judge(client) -> Callable[[str, str], bool]:
    def judge(sentence: str, passage: str) -> bool:
        prompt = (
            "Passage:\n"
            + passage
            + "\n\nStatement: "
            + sentence
            + "\n\nIs the statement supported by the passage? Answer with one word: yes or no."
        )
        reply = client.complete([{"role": "user", "content": prompt}], temperature=0.0, max_tokens=3)
        return reply.strip().lower().startswith("yes")

    return judge


@dataclass
class AnswerScore:
    id: str
    answerable: bool
    text: str
    faithfulness: float | None  # share of sentences supported by some block given; None without sentences
    relevance: float
    token_f1: float | None
    rouge_l: float | None
    similarity: float | None
    citation_valid: bool  # no made-up block numbers
    citation_precision: float | None  # share of cited sentences whose block supports them
    abstained: bool
    seconds: float = 0.0
    mode: str = "generated"  # how the answer was made: generated | extractive | abstained
    record: dict = field(
        default_factory=dict
    )  # the answer as the API gives it, passages included: what labels are made from


def score_answer(q: Question, answer, support: Support) -> AnswerScore:
    raw_sentences = sentences(answer.text)
    blocks = {s.n: s.text for s in answer.sources}
    headings = {s.n: f"{s.source} > {s.heading}" for s in answer.sources}
    supported = (
        [any(support(s, b, q.question, headings[n]) for n, b in blocks.items()) for s in raw_sentences]
        if blocks
        else [False] * len(raw_sentences)
    )
    cited_checks = []
    for sentence in raw_sentences:
        numbers = [int(n) for n in re.findall(r"\[(\d+)\]", sentence) if int(n) in blocks]
        if numbers:
            clean = CITATION.sub("", sentence)
            cited_checks.append(any(support(clean, blocks[n], q.question, headings[n]) for n in numbers))
    embedder = support.embedder
    vectors = embedder.embed([q.question, CITATION.sub("", answer.text) or "-"] + ([q.answer] if q.answer else []))
    reference = q.answer if q.answerable else None
    return AnswerScore(
        id=q.id,
        answerable=q.answerable,
        text=answer.text,
        faithfulness=sum(supported) / len(supported) if supported else None,
        relevance=float(vectors[0] @ vectors[1]),
        token_f1=token_f1(answer.text, reference) if reference else None,
        rouge_l=rouge_l(answer.text, reference) if reference else None,
        similarity=float(vectors[1] @ vectors[2]) if reference else None,
        citation_valid=not answer.invalid_citations,
        citation_precision=sum(cited_checks) / len(cited_checks) if cited_checks else None,
        abstained=answer.mode == "abstained" or abstains(answer.text),
        seconds=answer.timings.get("total", 0.0),
        mode=answer.mode,
        record={
            **answer.to_json(),
            "question": q.question,
            "passages": {s.n: {"heading": f"{s.source} > {s.heading}", "text": s.text} for s in answer.sources},
        },
    )


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.fmean(values) if values else None


@dataclass
class AnswerSummary:
    name: str
    method: str
    n: int
    faithfulness: float | None
    relevance: float | None
    token_f1: float | None
    rouge_l: float | None
    similarity: float | None
    citation_validity: float | None
    citation_precision: float | None
    abstention: float | None  # unanswerable questions where it said the notes don't cover it
    false_abstention: float | None  # answerable questions where it wrongly said so
    seconds: float | None
    per_question: list[AnswerScore] = field(default_factory=list)

    @classmethod
    def of(cls, name: str, method: str, scores: list[AnswerScore]) -> AnswerSummary:
        answerable = [s for s in scores if s.answerable]
        unanswerable = [s for s in scores if not s.answerable]
        return cls(
            name=name,
            method=method,
            n=len(scores),
            faithfulness=_mean(s.faithfulness for s in answerable),
            relevance=_mean(s.relevance for s in answerable),
            token_f1=_mean(s.token_f1 for s in answerable),
            rouge_l=_mean(s.rouge_l for s in answerable),
            similarity=_mean(s.similarity for s in answerable),
            citation_validity=_mean(float(s.citation_valid) for s in scores),
            citation_precision=_mean(s.citation_precision for s in scores),
            abstention=_mean(float(s.abstained) for s in unanswerable),
            false_abstention=_mean(float(s.abstained) for s in answerable),
            seconds=_mean(s.seconds for s in scores),
            per_question=scores,
        )

    def to_json(self) -> dict:
        return asdict(self)


# name -> how the assistant is asked; `no-retrieval` is the same LLM with no notes at all
CONFIGURATIONS = {
    "verified": {"mode": "verified"},
    "extractive": {"mode": "extractive"},
    "raw": {"mode": "raw"},
    "no-retrieval": {"mode": "closed-book"},
}


def evaluate_answers(
    assistant,
    questions: list[Question],
    judge=None,
    progress: Callable[[str, int, int], None] | None = None,
    configs: list[str] | tuple[str, ...] = tuple(CONFIGURATIONS),
) -> list[AnswerSummary]:
    """Each configuration's answers to the same questions, scored the same way."""
    unknown = [c for c in configs if c not in CONFIGURATIONS]
    if unknown:
        raise ValueError(f"unknown answer configuration {', '.join(unknown)}; choose from {', '.join(CONFIGURATIONS)}")
    support = Support(assistant.embedder, judge)
    report = progress or (lambda stage, done, total: None)
    summaries = []
    for name in configs:
        scores = []
        for n, q in enumerate(questions, 1):
            report(name, n, len(questions))
            # log=False: a benchmark's questions are not the user's, nor what their notes failed to answer
            answer = assistant.ask(q.question, **CONFIGURATIONS[name], log=False)
            if answer.error:
                raise RuntimeError(f"cannot evaluate answers: {answer.error}")
            scores.append(score_answer(q, answer, support))
        summaries.append(AnswerSummary.of(name, support.method, scores))
    return summaries
