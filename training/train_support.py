"""Fine-tune the packaged MiniLM as the support head (issues #24, #21), or the contradiction head (#21), and
ship it as int8 ONNX.

    python -m training.train_support                        # after `python -m training.support_pairs`
    python -m training.train_support --head contradiction   # after `python -m training.contradiction_pairs`

The reader's recipe (training/train_reader.py: seed, one thread, frozen lowest layers, binary cross-entropy,
length-sorted batches, ONNX export quantised per channel) on (claim, note sentence) pairs; the epoch with
the best validation ROC-AUC is kept and written to rag/answer/models/ (support-int8.onnx with support.json,
or contradiction-int8.onnx with contradiction.json: not shipped, grading does not use it).
"""

from __future__ import annotations

import copy
import json
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from rag.answer.reader import GRAPH as READER_GRAPH
from rag.answer.reader import MAX_TOKENS, MODEL_DIR
from rag.answer.support import FORMAT_VERSION, SupportModel
from training.contradiction_pairs import OUT as CONTRADICTION_PAIRS
from training.cross_encoder import arguments, fit_epoch, fitting, run_record, trial
from training.eval_reader import roc_auc
from training.support_pairs import OUT as SUPPORT_PAIRS
from training.train_reader import BATCH, THREADS, batches, export, fingerprint, load_model, seeded

SEED = 21
EPOCHS = 2
LEARNING_RATE = 5e-5


class ContradictionModel(SupportModel):
    """P(the claim states the opposite of the note sentence). An experiment, not shipped: on the tuning
    answers it found no more reversed facts than grading's word-level `clashes` (training/results/contradiction.md)."""

    graph, meta = "contradiction-int8.onnx", "contradiction.json"


HEADS = {"support": (SupportModel, SUPPORT_PAIRS), "contradiction": (ContradictionModel, CONTRADICTION_PAIRS)}
NEIGHBOURS = 0.35  # of the neighbour negatives, the share each epoch draws: they are a third of the pairs
# pairs an epoch: on two shared cores a step took ~0.1 s a pair, and training must stay under ten minutes
PER_EPOCH = 2200


def as_read(rows: list[dict]) -> list[dict]:
    """The pairs in the reader's terms: the claim in the question's place, the note sentence as candidate."""
    return [{"question": r["claim"], "candidate": r["note"], "label": r["label"]} for r in rows]


def epoch_pairs(pairs: list[dict], rng: random.Random) -> list[dict]:
    """PER_EPOCH pairs: every pair from a real answer (the few of the kind grading meets), the rest drawn."""
    answers = [p for p in pairs if p["kind"].startswith("answer_")]
    rest = [
        p
        for p in pairs
        if not p["kind"].startswith("answer_") and (p["kind"] != "neighbour" or rng.random() < NEIGHBOURS)
    ]
    return answers + rng.sample(rest, min(PER_EPOCH - len(answers), len(rest)))


def auc(rows: list[dict], scores: np.ndarray) -> float:
    labels = np.array([r["label"] for r in rows])
    return roc_auc(scores[labels == 1], scores[labels == 0])


def train(model, pairs: list[dict], val: list[dict], epochs: int, lr: float, seed: int) -> tuple[dict, list[dict]]:
    """Train for `epochs`; the best epoch's weights (by validation ROC-AUC) and every epoch's figures."""
    rng = random.Random(seed)
    chosen = [epoch_pairs(pairs, rng) for _ in range(epochs)]
    fit = fitting(model, lr, sum(-(-len(e) // BATCH) for e in chosen))
    best, history = None, []
    for epoch, rows in enumerate(chosen, 1):
        started = time.perf_counter()
        fit_epoch(model, fit, batches(as_read(rows), rng))
        trained = time.perf_counter()
        scores = model.predict([(r["claim"], r["note"]) for r in val], batch_size=64, show_progress_bar=False)
        found = {
            "epoch": epoch,
            "pairs": len(rows),
            "train_seconds": round(trained - started, 1),
            "val_seconds": round(time.perf_counter() - trained, 1),
            "val_auc": round(auc(val, np.asarray(scores)), 4),
        }
        history.append(found)
        print(json.dumps(found), flush=True)
        if best is None or found["val_auc"] > best[0]:
            best = (found["val_auc"], copy.deepcopy(model.model.state_dict()))
    return best[1], history


def ship(model, directory: Path, graph: str) -> None:
    """The reader's export (ONNX, int8, tokenizer), its graph renamed to the head's."""
    with tempfile.TemporaryDirectory(prefix="support-export-") as tmp:
        export(model, Path(tmp))
        directory.mkdir(parents=True, exist_ok=True)
        shutil.move(str(Path(tmp) / READER_GRAPH), directory / graph)
        if not (directory / "tokenizer.json").is_file():
            shutil.move(str(Path(tmp) / "tokenizer.json"), directory / "tokenizer.json")


def main(argv: list[str] | None = None) -> None:
    args = arguments(
        "python -m training.train_support", __doc__, argv, EPOCHS, LEARNING_RATE, SEED, MODEL_DIR, tuple(HEADS)
    )
    head, pairs_file = HEADS[args.head]
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    started, cpu = time.perf_counter(), time.process_time()
    seeded(args.seed)
    rows = [json.loads(line) for line in pairs_file.read_text().splitlines()]
    pairs, val = [r for r in rows if r["split"] == "train"], [r for r in rows if r["split"] == "val"]
    pairs, val = trial(pairs, args.limit, args.seed), trial(val, args.val_limit, 0)
    model = load_model()
    state, history = train(model, pairs, val, args.epochs, args.lr, args.seed)
    model.model.load_state_dict(state)
    recipe = {"format_version": FORMAT_VERSION, "max_tokens": MAX_TOKENS, "threads": THREADS, "batch_size": BATCH}
    meta = run_record("python -m training.train_support", argv, args, recipe, len(pairs), len(val), pairs_file)
    meta["epoch_kept"] = max(history, key=lambda h: h["val_auc"])["epoch"]
    meta["trained_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    meta["validation_by_epoch"] = history
    ship(model, args.out, head.graph)
    (args.out / head.meta).write_text(json.dumps(meta, indent=2) + "\n")
    scores = head.load(args.out).scores([r["claim"] for r in val], [r["note"] for r in val])
    meta["validation_int8"] = {"val_auc": round(auc(val, scores), 4)}
    meta["val_score_fingerprint"] = fingerprint(scores)
    meta["wall_seconds"] = round(time.perf_counter() - started, 1)
    meta["cpu_seconds"] = round(time.process_time() - cpu, 1)
    (args.out / head.meta).write_text(json.dumps(meta, indent=2) + "\n")
    print(json.dumps({k: meta[k] for k in ("epoch_kept", "validation_int8", "wall_seconds", "cpu_seconds")}))


if __name__ == "__main__":
    main()
