"""Fine-tune the packaged MiniLM as the reader (issue #24) and ship it as int8 ONNX.

    python -m training.train_reader     # after `python -m training.reader_pairs`

CrossEncoder(num_labels=1) from the packaged weights, binary cross-entropy on the training pairs, a few
epochs; the epoch with the best validation MAP is kept, exported to ONNX, quantised to int8 and written,
with its tokenizer and reader.json, to rag/answer/models/. The loop is our own around the library's
CrossEncoder and BinaryCrossEntropyLoss: CrossEncoderTrainer and CrossEncoder.fit both need the
`datasets` package, which this project does not install.

Deterministic: one seed for Python, NumPy and torch, torch's deterministic algorithms, a fixed thread count
(THREADS), a batch order drawn from the seed; the same seed gives the same scores (reader.json keeps a
fingerprint of the validation scores to compare runs by).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from rag.answer.reader import FORMAT_VERSION, GRAPH, MAX_TOKENS, MODEL_DIR, Reader
from training.cross_encoder import arguments, fit_epoch, fitting, run_record, trial
from training.eval_reader import Scored, figures
from training.reader_pairs import OUT as PAIRS

SEED = 24
# one thread: on two cores shared with other work, two threads that wait on each other ran a step 5x
# slower than one; and a fixed count, since the count can change float sums
THREADS = 1
EPOCHS = 3
LEARNING_RATE = 5e-5
BATCH = 16
# each epoch: every positive and near miss, and this many of a question's other negatives, drawn anew
# (an unanswerable question has only negatives, and they teach abstention)
OTHERS, OTHERS_UNANSWERABLE = 1, 2


def seeded(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(THREADS)


def load_model():
    from sentence_transformers import CrossEncoder

    from ingest.embed import resolve_model

    return CrossEncoder(resolve_model("all-MiniLM-L6-v2"), num_labels=1, max_length=MAX_TOKENS, device="cpu")


def sample(pairs: list[dict], rng: random.Random) -> list[dict]:
    """One epoch's pairs (OTHERS): ten minutes on one core do not go through every negative three times."""
    by_question: dict[str, list[dict]] = {}
    for p in pairs:
        by_question.setdefault(p["qid"], []).append(p)
    chosen = []
    for group in by_question.values():
        others = [p for p in group if not p["label"] and not p["near_miss"]]
        k = OTHERS if group[0]["answerable"] else OTHERS_UNANSWERABLE
        chosen += [p for p in group if p["label"] or p["near_miss"]] + rng.sample(others, min(k, len(others)))
    return chosen


def batches(pairs: list[dict], rng: random.Random) -> list[list[dict]]:
    """Shuffled batches of similar length: pairs are shuffled, sorted by length within windows of 32
    batches, cut into batches, and the batches shuffled, so little of each step is padding."""
    order = pairs[:]
    rng.shuffle(order)
    window = 32 * BATCH
    cut = []
    for start in range(0, len(order), window):
        piece = sorted(order[start : start + window], key=lambda p: len(p["question"]) + len(p["candidate"]))
        cut += [piece[i : i + BATCH] for i in range(0, len(piece), BATCH)]
    rng.shuffle(cut)
    return cut


def train(model, pairs: list[dict], val: list[dict], epochs: int, lr: float, seed: int) -> tuple[dict, list[dict]]:
    """Train for `epochs`; the best epoch's weights (by validation MAP) and every epoch's figures."""
    rng = random.Random(seed)
    epochs_pairs = [sample(pairs, rng) for _ in range(epochs)]
    fit = fitting(model, lr, sum(-(-len(e) // BATCH) for e in epochs_pairs))
    best, history = None, []
    for epoch, chosen in enumerate(epochs_pairs, 1):
        started = time.perf_counter()
        fit_epoch(model, fit, batches(chosen, rng))
        trained = time.perf_counter()
        scores = model.predict([(p["question"], p["candidate"]) for p in val], batch_size=64, show_progress_bar=False)
        seconds = {"train_seconds": round(trained - started, 1), "val_seconds": round(time.perf_counter() - trained, 1)}
        found = {"epoch": epoch, "pairs": len(chosen), **seconds, **rounded(val_figures(val, scores))}
        history.append(found)
        print(json.dumps(found), flush=True)
        if best is None or found["map"] > best[0]:
            best = (found["map"], copy.deepcopy(model.model.state_dict()))
    return best[1], history


def val_figures(val: list[dict], scores) -> dict:
    groups: dict[str, list[int]] = {}
    for i, p in enumerate(val):
        groups.setdefault(p["qid"], []).append(i)
    scores = np.asarray(scores, dtype=np.float64)
    return figures(
        [
            Scored(
                val[rows[0]]["answerable"],
                np.array([val[i]["label"] for i in rows]),
                scores[rows],
                np.array([val[i]["retrieved"] for i in rows]),
            )
            for rows in groups.values()
        ]
    )


def rounded(found: dict) -> dict:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in found.items()}


def export(model, directory: Path) -> None:
    """The trained network as ONNX (logits), its weights quantised to int8, and the tokenizer it reads with."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from ingest.embed import resolve_model

    network = model.model.eval()

    class Logits(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.network = network

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.network(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).logits

    names = ["input_ids", "attention_mask", "token_type_ids"]
    example = torch.ones((2, 8), dtype=torch.long)
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="reader-export-") as tmp, torch.no_grad():
        fp32 = Path(tmp) / "reader.onnx"
        torch.onnx.export(
            Logits(),
            (example, example, torch.zeros_like(example)),
            str(fp32),
            input_names=names,
            output_names=["logits"],
            dynamic_axes={name: {0: "batch", 1: "tokens"} for name in names} | {"logits": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
        # per channel: one scale per output column kept int8 scores closer to fp32 than one per matrix
        quantize_dynamic(str(fp32), str(directory / GRAPH), weight_type=QuantType.QInt8, per_channel=True)
    shutil.copy(Path(resolve_model("all-MiniLM-L6-v2")) / "tokenizer.json", directory / "tokenizer.json")


def fingerprint(scores: np.ndarray) -> str:
    """Of the validation scores to 4 decimals: two runs with one seed must give the same."""
    return hashlib.sha256(np.round(np.asarray(scores, dtype=np.float64), 4).tobytes()).hexdigest()[:16]


def main(argv: list[str] | None = None) -> None:
    args = arguments("python -m training.train_reader", __doc__, argv, EPOCHS, LEARNING_RATE, SEED, MODEL_DIR)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    started, cpu = time.perf_counter(), time.process_time()
    seeded(args.seed)
    rows = [json.loads(line) for line in PAIRS.read_text().splitlines()]
    pairs = [r for r in rows if r["split"] == "train"]
    val = [r for r in rows if r["split"] == "val"]
    pairs, val = trial(pairs, args.limit, args.seed), trial(val, args.val_limit, 0)
    model = load_model()
    state, history = train(model, pairs, val, args.epochs, args.lr, args.seed)
    model.model.load_state_dict(state)
    export(model, args.out)
    best = max(history, key=lambda h: h["map"])
    recipe = {"format_version": FORMAT_VERSION, "max_tokens": MAX_TOKENS, "threads": THREADS, "batch_size": BATCH}
    meta = run_record("python -m training.train_reader", argv, args, recipe, len(pairs), len(val), PAIRS)
    meta["epoch_kept"] = best["epoch"]
    meta["validation_by_epoch"] = history
    (args.out / "reader.json").write_text(json.dumps(meta, indent=2) + "\n")
    scores = score_pairs(Reader.load(args.out), val)
    meta["validation_int8"] = rounded(val_figures(val, scores))
    meta["val_score_fingerprint"] = fingerprint(scores)
    # wall time depends on what else the machine runs; CPU time much less so
    meta["wall_seconds"] = round(time.perf_counter() - started, 1)
    meta["cpu_seconds"] = round(time.process_time() - cpu, 1)
    (args.out / "reader.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(
        json.dumps(
            {
                k: meta[k]
                for k in ("epoch_kept", "validation_int8", "val_score_fingerprint", "wall_seconds", "cpu_seconds")
            }
        )
    )


def score_pairs(reader: Reader, pairs: list[dict]) -> np.ndarray:
    """The shipped (int8) reader's scores, question by question as the answer path will ask."""
    out = np.zeros(len(pairs))
    groups: dict[str, list[int]] = {}
    for i, p in enumerate(pairs):
        groups.setdefault(p["question"], []).append(i)
    for question, rows in groups.items():
        out[rows] = reader.scores(question, [pairs[i]["candidate"] for i in rows])
    return out


if __name__ == "__main__":
    main()
