"""The reader against today's scorer (`select_evidence`'s unit.score), on labelled sentences.

Candidates are built exactly as for training (`training.reader_pairs`). Per answerable question: is the
top-ranked unit a positive (P@1), and what share of its positives is in the top 3 / top 8; ROC-AUC over all
pairs. As an abstention feature, each question's best score over the units of the retrieved passages only
(the passages added for their quote exist only because the question is answerable): ROC-AUC of answerable
vs unanswerable, and points of the curve, none of them tuned here.

    python -m training.eval_reader                # the validation split of the training pairs; any time
    python -m training.eval_reader --split study  # eval/datasets/study_qa.jsonl, held out: ONCE, at the end
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.answer.evidence import READER_WEIGHT
from training.reader_pairs import ROOT, Collection, Question, label, load_questions, read_jsonl

OUT = ROOT / "training" / "results" / "reader_eval.md"
FALSE_ABSTENTION = (0.02, 0.04, 0.1, 0.2)  # curve points: abstention on unanswerable at these rates


@dataclass
class Scored:
    """One question's candidates: labels, scores, and which came from the retrieved passages."""

    answerable: bool
    labels: np.ndarray
    scores: np.ndarray
    retrieved: np.ndarray


def roc_auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """P(a random positive outscores a random negative), ties counting half."""
    if not len(positive) or not len(negative):
        return float("nan")
    greater = (positive[:, None] > negative[None, :]).sum() + 0.5 * (positive[:, None] == negative[None, :]).sum()
    return float(greater / (len(positive) * len(negative)))


def ranking(groups: list[Scored]) -> dict:
    judged = [g for g in groups if g.answerable and g.labels.any()]
    p1, r3, r8, ap = [], [], [], []
    for g in judged:
        ranked = g.labels[np.argsort(-g.scores, kind="stable")]
        p1.append(ranked[0])
        r3.append(ranked[:3].sum() / ranked.sum())
        r8.append(ranked[:8].sum() / ranked.sum())
        hits = np.cumsum(ranked)
        ap.append(float((hits / np.arange(1, len(ranked) + 1))[ranked == 1].mean()))
    labels = np.concatenate([g.labels for g in groups])
    scores = np.concatenate([g.scores for g in groups])
    return {
        "questions": len(judged),
        "no_positive": sum(g.answerable and not g.labels.any() for g in groups),
        "p@1": float(np.mean(p1)),
        "recall@3": float(np.mean(r3)),
        "recall@8": float(np.mean(r8)),
        "map": float(np.mean(ap)),
        "pair_auc": roc_auc(scores[labels == 1], scores[labels == 0]),
    }


def best_retrieved(g: Scored) -> float:
    return float(g.scores[g.retrieved].max()) if g.retrieved.any() else 0.0


def abstention(groups: list[Scored]) -> dict:
    answerable = np.array([best_retrieved(g) for g in groups if g.answerable])
    unanswerable = np.array([best_retrieved(g) for g in groups if not g.answerable])
    points = {}
    for rate in FALSE_ABSTENTION:
        threshold = np.quantile(answerable, rate)  # below it: abstain; `rate` of the answerable are lost
        points[f"abstain@{rate}"] = float((unanswerable < threshold).mean()) if len(unanswerable) else float("nan")
    return {"unanswerable": len(unanswerable), "abstain_auc": roc_auc(answerable, unanswerable), **points}


def figures(groups: list[Scored]) -> dict:
    return ranking(groups) | abstention(groups)


def score_question(collection: Collection, reader, q: Question) -> tuple[dict[str, Scored], list[str], float]:
    """One question's candidates scored by the reader and by today's scorer, plus today's coverage score
    (the abstention rule in use, over the retrieved passages); the candidates; the reader's seconds."""
    from rag.answer.evidence import select_evidence

    hits, retrieved = collection.passages(q)
    candidates = collection.candidates(q, (hits, retrieved))
    texts = [c.text for c in candidates]
    labels = np.array([label(c.unit, c.hit.source, q.quotes, q.source) for c in candidates], dtype=int)
    in_top = np.array([c.retrieved for c in candidates], dtype=bool)
    started = time.perf_counter()
    read = reader.scores(q.question, texts).astype(np.float64)
    seconds = time.perf_counter() - started
    a = collection.assistant
    # today's scorer over the same passages; those added for a quote enter with passage score 0
    units = select_evidence(q.question, hits, a.embedder, a.term_idf()).units
    by_place = {(u.hit.chunk_id, u.position): u.score for u in units}
    today = np.array([by_place[c.hit.chunk_id, c.position] for c in candidates])
    coverage = select_evidence(q.question, hits[:retrieved], a.embedder, a.term_idf()).score
    answerable = bool(q.quotes)
    scored = {
        "reader": Scored(answerable, labels, read, in_top),
        "today": Scored(answerable, labels, today, in_top),
        "combined": Scored(answerable, labels, today + READER_WEIGHT * read, in_top),
        "coverage": Scored(answerable, labels, np.full(len(labels), coverage), in_top),
    }
    return scored, texts, seconds


def split_questions(split: str) -> dict[str, list[Question]]:
    """Per collection: the validation questions of the training pairs, or the held-out study questions."""
    if split == "study":
        rows = read_jsonl(ROOT / "eval" / "datasets" / "study_qa.jsonl")
        return {
            "shipped": [Question(r["id"], "shipped", r["question"], r["source"], r["answer_quotes"], []) for r in rows]
        }
    from training.reader_pairs import OUT as PAIRS

    val = {r["qid"] for r in read_jsonl(PAIRS) if r["split"] == "val"}
    return {name: [q for q in load_questions(name) if q.id in val] for name in ("shipped", "slides", "terse")}


def latency(reader, asked: list[tuple[str, list[str]]], n: int = 40) -> float:
    """Median ms to score n candidates for one question (its own candidates, repeated up to n)."""
    times = []
    for question, candidates in asked:
        batch = (candidates * (n // len(candidates) + 1))[:n]
        started = time.perf_counter()
        reader.scores(question, batch)
        times.append(time.perf_counter() - started)
    return 1000 * float(np.median(times))


def evaluate(split: str, reader) -> dict:
    scored: dict[str, list[Scored]] = {key: [] for key in SCORERS}
    asked, seconds = [], []
    with tempfile.TemporaryDirectory(prefix="reader-eval-") as tmp:
        for name, questions in split_questions(split).items():
            collection = Collection(name, Path(tmp))
            for q in questions:
                found, texts, took = score_question(collection, reader, q)
                for key, s in found.items():
                    scored[key].append(s)
                asked.append((q.question, texts))
                seconds.append(took)
    return {
        "reader": figures(scored["reader"]),
        "today": figures(scored["today"]),
        "combined": figures(scored["combined"]),
        "coverage": abstention(scored["coverage"]),
        "candidates_median": float(np.median([len(t) for _, t in asked])),
        "latency_ms_own": 1000 * float(np.median(seconds)),
        "latency_ms_40": latency(reader, [a for a in asked if a[1]]),
    }


METHOD = """\
Candidates: the units of the top_k passages `Assistant.retrieve` returns, plus every unit of the passages
holding an answer quote (`training.reader_pairs`, as for training). Sentence ranking, over answerable
questions with a positive candidate: P@1 (the top unit is a positive), recall@3/8 (share of the positives in
the top 3/8), MAP, and ROC-AUC over all pairs. Today's unit.score gives a passage added for its quote a
passage score of 0 (retrieval did not find it). Abstention: a question's best score over the units of the
retrieved passages only (an added passage exists only because the question is answerable); "abstains at
x false" is the share of unanswerable questions abstained on when the threshold abstains on x of the
answerable ones: points of the curve, no threshold chosen here."""

SCORERS = {
    "reader": "reader (int8)",
    "today": "today: unit.score",
    "combined": f"in use with the reader: unit.score + {READER_WEIGHT} × reader",
    "coverage": "today: evidence.score (rule in use)",
}


def section(split: str, found: dict) -> str:
    r = found["reader"]
    lines = [
        f"## {split}: {r['questions']} answerable questions with a positive candidate "
        f"({r['no_positive']} without), {r['unanswerable']} unanswerable; "
        f"median {found['candidates_median']:.0f} candidates a question",
        "",
        "| sentence ranking | P@1 | recall@3 | recall@8 | MAP | pair ROC-AUC |",
        "|---|---|---|---|---|---|",
    ]
    for key in ("reader", "today", "combined"):
        f = found[key]
        cells = " | ".join(f"{f[m]:.3f}" for m in ("p@1", "recall@3", "recall@8", "map", "pair_auc"))
        lines.append(f"| {SCORERS[key]} | {cells} |")
    rates = " | ".join(f"abstains at {r:.0%} false" for r in FALSE_ABSTENTION)
    lines += ["", f"| abstention feature | ROC-AUC | {rates} |", "|---" * (2 + len(FALSE_ABSTENTION)) + "|"]
    for key in SCORERS:
        f = found[key]
        points = " | ".join(f"{f[f'abstain@{r}']:.3f}" for r in FALSE_ABSTENTION)
        lines.append(f"| {SCORERS[key]}{' max' if key != 'coverage' else ''} | {f['abstain_auc']:.3f} | {points} |")
    lines += [
        "",
        f"Reader latency: median {found['latency_ms_own']:.0f} ms for a question's own candidates, "
        f"{found['latency_ms_40']:.0f} ms for 40.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    from rag.answer.reader import MODEL_DIR, Reader

    parser = argparse.ArgumentParser(prog="python -m training.eval_reader", description=__doc__.split("\n")[0])
    parser.add_argument("--split", nargs="+", choices=("val", "study"), default=["val"])
    parser.add_argument("--model", type=Path, default=MODEL_DIR)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    reader = Reader.load(args.model)
    if reader is None:
        raise SystemExit(f"no reader in {args.model}: run python -m training.train_reader first")
    meta = json.loads((args.model / "reader.json").read_text())
    command = " ".join(["python -m training.eval_reader", *(argv if argv is not None else sys.argv[1:])])
    parts = [
        "# The reader against today's scorer",
        "",
        f"`{command}`, reader trained by `{meta['command']}` (epoch {meta['epoch_kept']}, data sha256 "
        f"{meta['data_sha256'][:12]}).",
        "",
        METHOD,
    ]
    for split in args.split:
        found = evaluate(split, reader)
        print(json.dumps({split: found}))
        parts += ["", section(split, found)]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(parts) + "\n")


if __name__ == "__main__":
    main()
