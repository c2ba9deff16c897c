"""Dense (FAISS) and BM25 retrieval over the on-disk index, fused.

Default fusion is a convex mix of min-max normalised scores with every candidate scored by both
retrievers; it beat reciprocal-rank fusion on the dev questions because a retriever that is sure of a
chunk (an acronym only BM25 knows) can carry it alone (README, "Retrieval quality"). RRF stays an option.
"""

from __future__ import annotations

from pathlib import Path

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
        fusion: str = "weighted",
        rrf_k: int = 60,
        dense_weight: float = 0.7,
        bm25_weight: float = 0.3,
    ):
        self.data = data
        self.embedder = embedder
        self.candidates = candidates
        self.fusion = fusion
        self.rrf_k = rrf_k
        self.dense_weight = dense_weight
        self.bm25_weight = bm25_weight

    @classmethod
    def from_settings(cls, data: IndexData, embedder: Embedder, settings) -> Retriever:
        s = settings
        return cls(data, embedder, s.candidates, s.fusion, s.rrf_k, s.dense_weight, s.bm25_weight)

    def _allowed(self, sources: list[str] | None, tags: list[str] | None) -> np.ndarray | None:
        if not sources and not tags:
            return None
        wanted_tags = {t.lstrip("#").lower() for t in tags or []}
        return np.array(
            [
                (not sources or c.source in sources)
                and (not wanted_tags or bool(wanted_tags & {t.lower() for t in c.tags}))
                for c in self.data.chunks
            ],
            dtype=bool,
        )

    def dense(self, query: np.ndarray, n: int, allowed: np.ndarray | None = None) -> dict[int, float]:
        """Chunk number -> cosine similarity with the query vector, best first."""
        import faiss

        if n <= 0:
            return {}
        params = None
        if allowed is not None:
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(np.flatnonzero(allowed).astype("int64")))
        scores, ids = self.data.dense.search(query[None, :], n, params=params)
        return {int(i): float(s) for i, s in zip(ids[0], scores[0]) if i >= 0}

    def bm25(self, tokens: list[str], n: int, allowed: np.ndarray | None = None) -> dict[int, float]:
        """Chunk number -> BM25 score, best first; chunks sharing no term with the question are left out."""
        if n <= 0 or not tokens:
            return {}
        docs, scores = self.data.bm25.retrieve(
            [tokens],
            k=n,
            show_progress=False,
            weight_mask=None if allowed is None else allowed.astype(np.float32),
        )
        return {int(d): float(s) for d, s in zip(docs[0], scores[0]) if s > 0}

    def _complete(
        self, query: np.ndarray, tokens: list[str], dense: dict[int, float], lexical: dict[int, float]
    ) -> None:
        """Score every candidate under both retrievers: a chunk only one of them ranked would
        otherwise count as zero for the other, however close it came."""
        union = list(dict.fromkeys([*dense, *lexical]))
        missing_dense = [i for i in union if i not in dense]
        if missing_dense:
            vectors = np.vstack([self.data.dense.reconstruct(i) for i in missing_dense])
            dense.update(zip(missing_dense, (vectors @ query).tolist()))
        missing_lexical = [i for i in union if i not in lexical]
        if missing_lexical and tokens:
            known = [t for t in tokens if t in self.data.bm25.vocab_dict]
            if known:
                scores = self.data.bm25.get_scores(known)
                lexical.update((i, float(scores[i])) for i in missing_lexical)

    def _fuse(self, dense: dict[int, float], lexical: dict[int, float]) -> dict[int, float]:
        if self.fusion == "weighted":
            # min-max per list, then a convex mix: a retriever that is sure (a large score gap) can win
            # on its own, which rank-only fusion cannot express
            total = self.dense_weight + self.bm25_weight
            fused: dict[int, float] = {}
            for scores, weight in ((dense, self.dense_weight / total), (lexical, self.bm25_weight / total)):
                if not scores:
                    continue
                lo, hi = min(scores.values()), max(scores.values())
                for i, value in scores.items():
                    fused[i] = fused.get(i, 0.0) + weight * ((value - lo) / (hi - lo) if hi > lo else 1.0)
            return fused
        fused = {}
        for scores, weight in ((dense, self.dense_weight), (lexical, self.bm25_weight)):
            for rank, i in enumerate(scores, 1):
                fused[i] = fused.get(i, 0.0) + weight / (self.rrf_k + rank)
        return fused

    def search(
        self, question: str, k: int = 5, sources: list[str] | None = None, tags: list[str] | None = None
    ) -> list[Hit]:
        total = len(self.data.chunks)
        if not total or not question.strip():
            return []
        allowed = self._allowed(sources, tags)
        pool = int(allowed.sum()) if allowed is not None else total
        n = min(max(self.candidates, k), pool)
        # the question is embedded and tokenized once; completion below reuses both
        query = self.embedder.embed_query(question) if self.fusion != "bm25" else None
        tokens = bm25_tokenize([question])[0] if self.fusion != "dense" else []
        dense = self.dense(query, n, allowed) if query is not None else {}
        lexical = self.bm25(tokens, n, allowed) if self.fusion != "dense" else {}
        dense_rank = {i: r for r, i in enumerate(dense, 1)}
        bm25_rank = {i: r for r, i in enumerate(lexical, 1)}
        if self.fusion == "weighted":
            self._complete(query, tokens, dense, lexical)
        scores = self._fuse(dense, lexical)
        best = sorted(scores, key=lambda i: (-scores[i], dense_rank.get(i, n + 1)))[:k]
        notes = Path(self.data.manifest.notes_dir)
        return [
            Hit(
                chunk=self.data.chunks[i],
                score=scores[i],
                rank=rank,
                dense_rank=dense_rank.get(i),
                bm25_rank=bm25_rank.get(i),
                path=str(notes / self.data.chunks[i].source),
            )
            for rank, i in enumerate(best, 1)
        ]
