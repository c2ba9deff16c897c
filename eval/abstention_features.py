"""Can retrieval evidence tell answerable from unanswerable questions better than `Evidence.score`?

Each feature (and a logistic regression over all of them, fitted on the tuning questions) is thresholded
where it refuses at most 10% of the tuning set's answerable questions; the table gives its abstention and
false abstention there and on the held-out questions. `python -m eval.abstention_features [OUT_DIR]`
writes OUT_DIR/features.md (default eval/results/abstention)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from eval.abstention import HELD_OUT, TUNING
from eval.dataset import load_questions
from rag.answer.evidence import term_weights

FEATURES = {
    "Evidence.score (the rule in use)": lambda ev, hits, unseen: ev.score,
    "coverage: idf share of the question's terms in the passages": lambda ev, hits, unseen: ev.coverage,
    "best unit's cosine with the question": lambda ev, hits, unseen: ev.best_similarity,
    "best unit's idf share of the question's terms": lambda ev, hits, unseen: max(
        (u.overlap for u in ev.units), default=0.0
    ),
    "best unit's selection score": lambda ev, hits, unseen: max((u.score for u in ev.units), default=0.0),
    "top passage's fused retrieval score": lambda ev, hits, unseen: hits[0].score if hits else 0.0,
    "minus the idf share of terms the notes never use": lambda ev, hits, unseen: -unseen,
}


def measure(assistant, splits: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    rows, answerable = [], []
    for q in (q for q in load_questions() if q.split in splits):
        hits = assistant.retrieve(q.question)
        evidence = assistant.evidence(q.question, hits)
        idf = assistant.term_idf()
        weights = term_weights(q.question, idf)
        unseen = sum(v for t, v in weights.items() if t not in idf) / (sum(weights.values()) or 1.0)
        rows.append([f(evidence, hits, unseen) for f in FEATURES.values()])
        answerable.append(q.answerable)
    return np.array(rows), np.array(answerable)


def at_ten_percent(tune: np.ndarray, tune_ok: np.ndarray, held: np.ndarray, held_ok: np.ndarray) -> str:
    # the highest threshold that refuses at most 10% of the tuning set's answerable questions
    threshold = max(t for t in np.sort(tune) if np.mean(tune[tune_ok] < t) <= 0.10)
    cell = lambda x, ok: f"{np.mean(x[~ok] < threshold):.2f} / {np.mean(x[ok] < threshold):.2f}"
    return f"{cell(tune, tune_ok)} | {cell(held, held_ok)}"


def main(argv: list[str] | None = None) -> None:
    from sklearn.linear_model import LogisticRegression

    from rag import Assistant

    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else Path("eval/results/abstention")
    assistant = Assistant()
    assistant.ensure_index()
    tune, tune_ok = measure(assistant, TUNING)
    held, held_ok = measure(assistant, HELD_OUT)
    lines = [
        "# Abstention: other evidence features",
        "",
        "Command: `python -m eval.abstention_features`. Each feature is thresholded where it refuses at most "
        "10% of the",
        f"tuning set's answerable questions (dev + test: {tune_ok.sum()} answerable, {(~tune_ok).sum()} unanswerable);",
        f"held out: holdout ({held_ok.sum()} answerable, {(~held_ok).sum()} unanswerable). Cells: abstention / "
        "false abstention.",
        "",
        "| feature | tuning | held out |",
        "|---|---|---|",
    ]
    for i, name in enumerate(FEATURES):
        lines.append(f"| {name} | {at_ten_percent(tune[:, i], tune_ok, held[:, i], held_ok)} |")
    model = LogisticRegression(C=10, max_iter=1000).fit(tune, tune_ok)
    lines.append(
        "| logistic regression over all of them | "
        f"{at_ten_percent(model.decision_function(tune), tune_ok, model.decision_function(held), held_ok)} |"
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / "features.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
