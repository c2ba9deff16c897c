"""Interview grading against hand-labelled answers (`eval/datasets/interview_answers.jsonl`).

Each answer is graded as a session would grade it (its concept as the project's extraction finds it in
the notes, the real embedding model) and compared with the human score: the mean for correct answers
(paraphrased and terse), for wrong-but-on-topic ones, and Spearman's rank correlation over all answers
of the split. `python -m eval.interview` prints the figures for both splits.
"""

from __future__ import annotations

import argparse
import json
import statistics
from dataclasses import dataclass
from pathlib import Path

from scipy.stats import spearmanr

from rag.interview.concepts import Concept
from rag.interview.grading import grade

DATASET = Path(__file__).parent / "datasets" / "interview_answers.jsonl"
CORRECT = ("correct_paraphrase", "correct_terse")
WRONG = ("wrong_on_topic",)  # empty answers score 0 by rule: counting them would flatter the figure
BARS = {"correct": 7.5, "wrong": 2.0, "spearman": 0.8}  # issue #13: correct >= 7.5, wrong <= 2, rho >= 0.8


@dataclass
class LabelledAnswer:
    id: str
    split: str
    concept: str  # the concept's key (stable across re-ingests)
    term: str
    kind: str
    source: str
    heading: str
    question: str
    answer: str
    label: str
    human_score: float


@dataclass
class GradingReport:
    split: str
    n: int
    by_label: dict[str, float]  # mean grader score per label
    correct: float
    wrong: float
    spearman: float

    @property
    def passes(self) -> bool:
        return self.correct >= BARS["correct"] and self.wrong <= BARS["wrong"] and self.spearman >= BARS["spearman"]


def load_answers(path: Path = DATASET, split: str | None = None) -> list[LabelledAnswer]:
    rows = [LabelledAnswer(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in rows if split in (None, "all", r.split)]


def grade_answers(answers: list[LabelledAnswer], concepts: list[Concept], embedder) -> list[float]:
    by_key = {c.key: c for c in concepts}
    missing = sorted({a.id for a in answers if a.concept not in by_key})
    if missing:
        raise ValueError(
            f"{DATASET.name}: the notes no longer have the concept of {', '.join(missing)}; re-label those rows "
            "or restore the note"
        )
    return [grade(by_key[a.concept], a.question, a.answer, embedder, []).score for a in answers]


def report(split: str, answers: list[LabelledAnswer], scores: list[float]) -> GradingReport:
    def mean(labels) -> float:
        return round(statistics.mean(s for a, s in zip(answers, scores) if a.label in labels), 2)

    labels = dict.fromkeys(a.label for a in answers)
    rho = spearmanr([a.human_score for a in answers], scores).statistic
    return GradingReport(
        split,
        len(answers),
        {label: mean((label,)) for label in labels},
        mean(CORRECT),
        mean(WRONG),
        round(float(rho), 3),
    )


def evaluate(
    concepts: list[Concept], embedder, path: Path = DATASET, splits: list[str] | None = None
) -> list[GradingReport]:
    reports = []
    for split in splits or dict.fromkeys(a.split for a in load_answers(path)):
        answers = load_answers(path, split)
        reports.append(report(split, answers, grade_answers(answers, concepts, embedder)))
    return reports


def main(argv: list[str] | None = None) -> int:
    from rag import Assistant
    from rag.interview.concepts import concepts_from_chunks

    parser = argparse.ArgumentParser(prog="python -m eval.interview", description=__doc__.split("\n\n")[0])
    parser.add_argument("--notes", default="notes", help="the notes folder the answers were written for")
    parser.add_argument("--index", default=None, help="index folder (default: the notes folder's own)")
    parser.add_argument("--dataset", type=Path, default=DATASET)
    parser.add_argument("--verbose", action="store_true", help="print every answer's human and grader score")
    args = parser.parse_args(argv)
    assistant = Assistant(notes_dir=args.notes, **({"index_dir": args.index} if args.index else {}))
    assistant.ingest()  # incremental: nothing to do when the index is current
    concepts = concepts_from_chunks(assistant.index.chunks)
    if args.verbose:
        answers = load_answers(args.dataset)
        for a, s in zip(answers, grade_answers(answers, concepts, assistant.embedder)):
            print(f"{a.id} {a.split:8} {a.label:18} human {a.human_score:4.1f} grader {s:4.1f}  {a.term}")
    print(f"bars: correct >= {BARS['correct']}, wrong <= {BARS['wrong']}, Spearman >= {BARS['spearman']}")
    for r in evaluate(concepts, assistant.embedder, args.dataset):
        labels = ", ".join(f"{k} {v}" for k, v in r.by_label.items())
        print(
            f"{r.split:8} n={r.n}  correct {r.correct}  wrong {r.wrong}  Spearman {r.spearman}  "
            f"{'PASS' if r.passes else 'FAIL'}  ({labels})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
