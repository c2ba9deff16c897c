"""How well the support head (rag/answer/support.py) tells a note sentence that states a claim from one
that does not (issues #24, #21), written to training/results/support_eval.md.

    python -m training.eval_support

1. The threshold is chosen on the validation split of training/data/support_pairs.jsonl (the one that
   keeps the most positives and drops the most negatives together: max of kept + dropped), and each
   negative kind's separation from the positives is reported there.
2. eval/datasets/capable_answers.jsonl, scored once at that threshold: a sentence's score is the best over
   the units of the passages it was given, beside today's verifier rule (`rag.answer.verify.supports`,
   as eval/labels.py calls it) on the same sentences.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from training.eval_reader import roc_auc
from training.support_pairs import OUT as PAIRS
from training.support_pairs import ROOT

CAPABLE = ROOT / "eval" / "datasets" / "capable_answers.jsonl"
REPORT = ROOT / "training" / "results" / "support_eval.md"
KINDS = ("negation", "antonym", "number", "entity", "neighbour")


def threshold(positive: np.ndarray, negative: np.ndarray) -> float:
    """The score that maximises kept positives + dropped negatives (Youden's J) on validation."""
    candidates = np.unique(np.concatenate([positive, negative]))
    return float(max(candidates, key=lambda t: (positive >= t).mean() + (negative < t).mean()))


def validation(model) -> tuple[float, list[str]]:
    rows = [r for r in map(json.loads, PAIRS.read_text().splitlines()) if r["split"] == "val"]
    scores = model.scores([r["claim"] for r in rows], [r["note"] for r in rows])
    kinds = np.array([r["kind"] for r in rows])
    labels = np.array([r["label"] for r in rows])
    positive = scores[labels == 1]
    cut = threshold(positive, scores[labels == 0])
    lines = [
        f"Threshold chosen here: **{cut:.3f}** (positives: {len(positive)}, kept {(positive >= cut).mean():.3f}).",
        "",
        "| negative kind | pairs | ROC-AUC vs positives | dropped at threshold |",
        "|---|---|---|---|",
    ]
    for kind in (*KINDS, "all negatives"):
        negative = scores[labels == 0] if kind == "all negatives" else scores[kinds == kind]
        lines.append(
            f"| {kind} | {len(negative)} | {roc_auc(positive, negative):.3f} | {(negative < cut).mean():.3f} |"
        )
    return cut, lines


def headings() -> dict[str, str]:
    """A shipped passage's heading path, found by its text in an index of the shipped notes (the capable
    answers keep only the passage's note and text)."""
    from training.reader_pairs import Collection

    with tempfile.TemporaryDirectory(prefix="support-eval-") as tmp:
        collection = Collection("shipped", Path(tmp))
    return {c.text.strip(): c.heading for c in collection.chunks}


def capable(model, cut: float) -> tuple[list[str], list[tuple[str, list[str]]]]:
    from ingest.embed import Embedder
    from rag.answer.evidence import split_units
    from rag.answer.reader import passage_candidates
    from rag.answer.verify import supports

    known, embedder, cache = headings(), Embedder(), {}
    truth, ours, rule, asked = [], [], [], []
    for answer in map(json.loads, CAPABLE.read_text().splitlines()):
        passages = [(known.get(p["text"].strip(), Path(p["source"]).stem), p["text"]) for p in answer["passages"]]
        notes = [c for heading, text in passages for c in passage_candidates(heading, split_units(text))]
        for s in answer["sentences"]:
            truth.append(s["supported"])
            ours.append(float(model.scores([s["text"]] * len(notes), notes).max()))
            rule.append(any(supports(s["text"], answer["question"], h, t, embedder, cache) for h, t in passages))
            asked.append((s["text"], notes))
    truth, ours, rule = np.array(truth), np.array(ours), np.array(rule)
    kept = lambda verdict: verdict[truth].mean()  # noqa: E731
    dropped = lambda verdict: (~verdict[~truth]).mean()  # noqa: E731
    lines = [
        f"{len(truth)} sentences: {truth.sum()} supported, {(~truth).sum()} not.",
        "",
        "| test | faithful kept | wrong dropped | ROC-AUC |",
        "|---|---|---|---|",
        f"| support head, score >= {cut:.3f} | {kept(ours >= cut):.3f} | {dropped(ours >= cut):.3f} "
        f"| {roc_auc(ours[truth], ours[~truth]):.3f} |",
        f"| verifier rule (verify.supports) | {kept(rule):.3f} | {dropped(rule):.3f} | - |",
    ]
    return lines, asked


def latency(model, asked: list[tuple[str, list[str]]], n: int = 40) -> float:
    """Median ms to score n (claim, sentence) pairs: one claim against its passages' sentences."""
    times = []
    for claim, notes in asked[:60]:
        batch = (notes * (n // len(notes) + 1))[:n]
        started = time.perf_counter()
        model.scores([claim] * n, batch)
        times.append(time.perf_counter() - started)
    return 1000 * float(np.median(times))


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from rag.answer.support import GRAPH, SupportModel

    model = SupportModel.load()
    if model is None:
        raise SystemExit("no support model in rag/answer/models/: run `python -m training.train_support` first")
    cut, val_lines = validation(model)
    capable_lines, asked = capable(model, cut)
    graph = Path(model.session._model_path) if hasattr(model.session, "_model_path") else None
    size = (graph or Path(__file__).parents[1] / "rag" / "answer" / "models" / GRAPH).stat().st_size / 1e6
    text = "\n".join(
        [
            "# Support head: evaluation",
            "",
            "`python -m training.support_pairs && python -m training.train_support && python -m training.eval_support`",
            "",
            "## 1. Validation split (held-out notes), by negative kind",
            "",
            *val_lines,
            "",
            "## 2. eval/datasets/capable_answers.jsonl (held out; scored once at the threshold above)",
            "",
            *capable_lines,
            "",
            f"Model: {size:.1f} MB int8; {latency(model, asked):.0f} ms (median) to score 40 pairs on this machine.",
            "",
        ]
    )
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
