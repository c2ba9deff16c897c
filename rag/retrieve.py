"""Dense (FAISS) and BM25 retrieval over the on-disk index, fused by reciprocal rank.

RRF needs no score calibration between cosine similarities and BM25 scores, which is why it won over
weighted score fusion in our measurements (README, "Retrieval quality").
"""

from __future__ import annotations

import numpy as np

from ingest.embed import Embedder
from ingest.store import IndexData, bm25_tokenize
from rag.types import Hit


class Retriever:
    def __init__(
        self,
        data: IndexData,
        embedder: Embedder,
        candidates: int = 50,
        fusion: str = "rrf",
        rrf_k: int = 60,
        dense_weight: float = 1.0,
        bm25_weight: float = 1.0,
    ):
        self.data = data
        self.embedder = embedder
        self.candidates = candidates
        self.fusion = fusion
        self.rrf_k = rrf_k
        self.dense_weight = dense_weight
        self.bm25_weight = bm25_weight

    def _allowed(self, sources: list[str] | None, tags: list[str] | None) -> np.ndarray | None:
        if not sources and not tags:
            return None
        wanted_tags = {t.lstrip("#").lower() for t in tags or []}
        return np.array(
            [
                (not sources or c.source in sources) and (not wanted_tags or bool(wanted_tags & {t.lower() for t in c.tags}))
                for c in self.data.chunks
            ],
            dtype=bool,
        )

    def dense(self, question: str, n: int, allowed: np.ndarray | None = None) -> list[int]:
        import faiss

        if n <= 0:
            return []
        query = self.embedder.embed_query(question)[None, :]
        params = None
        if allowed is not None:
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(np.flatnonzero(allowed).astype("int64")))
        _, ids = self.data.dense.search(query, n, params=params)
        return [int(i) for i in ids[0] if i >= 0]

    def bm25(self, question: str, n: int, allowed: np.ndarray | None = None) -> list[int]:
        tokens = bm25_tokenize([question])
        if n <= 0 or not tokens[0]:
            return []
        docs, scores = self.data.bm25.retrieve(
            tokens,
            k=n,
            show_progress=False,
            weight_mask=None if allowed is None else allowed.astype(np.float32),
        )
        return [int(d) for d, s in zip(docs[0], scores[0]) if s > 0]

    def search(self, question: str, k: int = 5, sources: list[str] | None = None, tags: list[str] | None = None) -> list[Hit]:
        total = len(self.data.chunks)
        if not total or not question.strip():
            return []
        allowed = self._allowed(sources, tags)
        pool = int(allowed.sum()) if allowed is not None else total
        n = min(max(self.candidates, k), pool)
        dense = self.dense(question, n, allowed) if self.fusion in ("rrf", "dense") else []
        lexical = self.bm25(question, n, allowed) if self.fusion in ("rrf", "bm25") else []
        dense_rank = {i: r for r, i in enumerate(dense, 1)}
        bm25_rank = {i: r for r, i in enumerate(lexical, 1)}
        scores: dict[int, float] = {}
        for ranks, weight in ((dense_rank, self.dense_weight), (bm25_rank, self.bm25_weight)):
            for i, r in ranks.items():
                scores[i] = scores.get(i, 0.0) + weight / (self.rrf_k + r)
        best = sorted(scores, key=lambda i: (-scores[i], dense_rank.get(i, n + 1)))[:k]
        return [
            Hit(
                chunk=self.data.chunks[i],
                score=scores[i],
                rank=rank,
                dense_rank=dense_rank.get(i),
                bm25_rank=bm25_rank.get(i),
            )
            for rank, i in enumerate(best, 1)
        ]
