"""Retrieval metrics with relevance by quote containment, so chunkings of any size compare fairly.

Rank metrics (recall@k, MRR, nDCG) come from ranx; hit@chars is ours because no library measures a
budget in characters.
"""

from __future__ import annotations

import re

RANX_METRICS = ["recall@1", "recall@3", "recall@5", "recall@10", "hit_rate@1", "hit_rate@5", "mrr@10", "ndcg@10"]


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def contains(text: str, quote: str) -> bool:
    return normalise(quote) in normalise(text)


def hit_at_chars(texts: list[str], quote: str, budget: int = 2000) -> bool:
    """Is the quote inside the first `budget` characters of the ranked texts joined in order?"""
    joined = normalise("\n\n".join(texts))[:budget]
    return normalise(quote) in joined


def rank_metrics(
    qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]], metrics: list[str] = RANX_METRICS
) -> dict[str, float]:
    """ranx over questions with at least one relevant chunk; a run with no hits scores 0 for that question."""
    from ranx import Qrels, Run, evaluate

    judged = {q: docs for q, docs in qrels.items() if docs}
    if not judged:
        return {m: 0.0 for m in metrics}
    # ranx refuses empty rankings; a placeholder that is never relevant scores the honest zero
    filled = {q: (run.get(q) or {"__none__": 0.0}) for q in judged}
    scores = evaluate(Qrels(judged), Run(filled), metrics, make_comparable=True)
    return {m: float(scores[m]) for m in metrics} if isinstance(scores, dict) else {metrics[0]: float(scores)}
