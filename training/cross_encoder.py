"""What training a cross-encoder head from the packaged MiniLM takes, whatever the pairs: the optimiser
over the layers that train, and one epoch of steps. Written for the support head (training/train_support.py)
from the loop inside training/train_reader.py's `train`, which is to be folded onto it."""

from __future__ import annotations

from dataclasses import dataclass

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
